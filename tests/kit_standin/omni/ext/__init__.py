"""Test-only stand-in for omni.ext.IExt."""


class IExt:
    def on_startup(self, ext_id: str) -> None:
        pass

    def on_shutdown(self) -> None:
        pass
