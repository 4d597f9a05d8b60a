"""Test-only stand-in for omni.kit.app: the running app, its update loop and post_quit."""

import asyncio


class _App:
    def __init__(self):
        self._running = False
        self.quit_code = None

    def is_running(self) -> bool:
        return self._running

    async def next_update_async(self):
        await asyncio.sleep(0)
        return 0.0

    def update(self) -> None:
        pass

    def post_quit(self, return_code: int = 0) -> None:
        self.quit_code = return_code


_app = _App()


def get_app() -> _App:
    return _app
