"""User-facing input errors: one message naming the file and the field, and CLI exit status 2."""

from __future__ import annotations


class InputError(Exception):
    """A problem with something the user gave us (recipe, USD file, path, CLI value).

    The CLI prints ``str(error)`` without a traceback and exits with status 2.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.source = source
        self.field = field
        self.message = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.source:
            where = f"{self.source}"
        if self.field:
            where = f"{where}: field '{self.field}'" if where else f"field '{self.field}'"
        return f"{where}: {self.message}" if where else self.message
