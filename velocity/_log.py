"""Velocity's logger: ``logging.getLogger("velocity")``, looked up when used.

Importing :mod:`logging` (with :mod:`traceback`, :mod:`linecache`,
:mod:`tokenize` and :mod:`string` behind it) is a measurable share of a
``velocity stat`` that never logs a line.  :data:`log` stands for the
``velocity`` logger everywhere in the package.  Until :mod:`logging` has been
imported (by the application, or by any library that uses it) nobody can have
configured a handler or lowered a level, so a ``debug`` or ``info`` call is
dropped without importing it; a ``warning`` or worse imports it and is handled
as usual (by :data:`logging.lastResort` when nothing is configured).  Once
:mod:`logging` is loaded every call goes to the real logger, so ``caplog``,
``logging.basicConfig`` and handlers see exactly what they always saw, with the
caller's file and line.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

_muted = False  # muted(): only errors get through
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40,
           "critical": 50, "fatal": 50}


def _drop(*args: object, **kwargs: object) -> None:
    """A log call nothing could show."""


class _VelocityLogger:
    """Attribute access is forwarded to ``logging.getLogger("velocity")``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        level = _LEVELS.get(name, 99)
        logging = sys.modules.get("logging")
        if (logging is None and level < 30) or (_muted and level < 40):
            return _drop
        if logging is None:
            import logging as loaded

            logging = loaded
        return getattr(logging.getLogger("velocity"), name)

    def __repr__(self) -> str:
        return "<velocity logger (logging.getLogger('velocity'), looked up on use)>"


log = _VelocityLogger()


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Meanwhile only errors of the ``velocity`` logger get through (the
    command line's first login: its one error line says it all)."""
    global _muted
    before, _muted = _muted, True
    try:
        yield
    finally:
        _muted = before
