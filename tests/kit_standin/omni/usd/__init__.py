"""Test-only stand-in for omni.usd: one UsdContext holding a pxr stage, its selection and stage events."""

from pxr import Usd


class _Selection:
    def __init__(self):
        self.paths: list[str] = []

    def get_selected_prim_paths(self) -> list[str]:
        return list(self.paths)

    def set_selected_prim_paths(self, paths, expand_in_stage: bool = False) -> None:
        self.paths = list(paths)

    def clear_selected_prim_paths(self) -> None:
        self.paths = []


class _Subscription:
    def __init__(self, owner, fn):
        self.owner, self.fn = owner, fn

    def unsubscribe(self):
        if self in self.owner.subscribers:
            self.owner.subscribers.remove(self)


class _EventStream:
    def __init__(self):
        self.subscribers: list[_Subscription] = []

    def create_subscription_to_pop(self, fn, name: str = ""):
        sub = _Subscription(self, fn)
        self.subscribers.append(sub)
        return sub

    def push(self, event_type: int) -> None:
        for sub in list(self.subscribers):
            sub.fn(type("Event", (), {"type": event_type})())


class StageEventType:
    OPENED = 1
    CLOSED = 2


class _Context:
    def __init__(self):
        self._stage = None
        self._selection = _Selection()
        self._events = _EventStream()

    def get_stage(self):
        return self._stage

    def open_stage(self, url: str) -> bool:
        stage = Usd.Stage.Open(str(url))
        self.set_stage(stage)
        return stage is not None

    def set_stage(self, stage) -> None:
        """Test helper: make ``stage`` the context's stage (what File > Open does) and send OPENED."""
        self._stage = stage
        self._events.push(StageEventType.OPENED)

    def get_selection(self) -> _Selection:
        return self._selection

    def get_stage_event_stream(self) -> _EventStream:
        return self._events


_context = _Context()


def get_context(name: str = "") -> _Context:
    return _context
