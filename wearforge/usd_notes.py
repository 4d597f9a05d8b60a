"""Warnings about what a twin asks for and the standalone renderer approximates or leaves out.

Each (prim, message) is logged once per process; callers that report (``wearforge validate``) also pass a
dict that collects every note per prim path.
"""

from __future__ import annotations

import logging

log = logging.getLogger("wearforge.usd")
_warned: set[tuple[str, str]] = set()


def warn_once(path: str, message: str, notes: dict[str, list[str]] | None = None) -> None:
    """Log ``message`` about ``path`` once per process; also collect it in ``notes`` when given."""
    if notes is not None:
        notes.setdefault(path, [])
        if message not in notes[path]:
            notes[path].append(message)
    if (path, message) not in _warned:
        _warned.add((path, message))
        log.warning("%s: %s", path, message)
