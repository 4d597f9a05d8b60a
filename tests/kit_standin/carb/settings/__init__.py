"""Test-only stand-in for carb.settings: one process-wide dictionary of setting paths."""


class _Settings:
    def __init__(self):
        self.values: dict[str, object] = {}

    def get(self, path: str):
        return self.values.get(path)

    def set(self, path: str, value) -> None:
        self.values[path] = value

    set_bool = set_int = set_float = set_string = set

    def get_as_bool(self, path: str) -> bool:
        return bool(self.values.get(path))

    def get_as_string(self, path: str) -> str:
        return str(self.values.get(path) or "")


_settings = _Settings()


def get_settings() -> _Settings:
    return _settings
