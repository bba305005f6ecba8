"""Progress reporting for transfers.

A *subscriber* is any object with the four methods of
:class:`ProgressSubscriber` (subclass it and override what you need).  The
:class:`~velocity.transfer.TransferManager` calls them **on the thread that
called** ``upload`` / ``download`` / ``delete`` (never on a worker thread), so a
subscriber may touch a GUI, a notebook widget or non-thread-safe state::

    class Printer(ProgressSubscriber):
        def on_object_done(self, result):
            print(result)

    manager.upload("photos", "holiday/", subscribers=[Printer()])

``progress=True`` adds a :class:`TqdmProgress`: a ``tqdm.auto`` bar, shown as a
widget in Jupyter and as a text bar in terminals.

This module imports nothing of velocity.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ProgressSubscriber", "TqdmProgress"]


class ProgressSubscriber:
    """Receives progress of one transfer call; every method is optional.

    Calls arrive in this order: one :meth:`on_start`, then any number of
    :meth:`on_progress` and :meth:`on_object_done`, then one :meth:`on_done`
    (also after a failure or cancellation).
    """

    def on_start(self, total_bytes: int | None, total_objects: int | None) -> None:
        """The transfer begins; totals are ``None`` when not known in advance
        (for example a stream of unknown length)."""

    def on_progress(self, bytes_done_delta: int) -> None:
        """``bytes_done_delta`` more bytes were sent or received (skipped
        objects count as done: their size is reported too)."""

    def on_object_done(self, result: Any) -> None:
        """One object finished (successfully, skipped or failed): ``result`` is
        its :class:`~velocity.transfer.TransferResult`."""

    def on_done(self) -> None:
        """The transfer call is over."""


class TqdmProgress(ProgressSubscriber):
    """A ``tqdm.auto`` progress bar of bytes, with the objects done (and
    failed) in its postfix.

    :param desc: label in front of the bar, e.g. ``"upload"``
    :param kwargs: passed on to ``tqdm.auto.tqdm`` (``file=``, ``leave=``, ...)
    """

    def __init__(self, desc: str = "", **kwargs: Any) -> None:
        self.desc = desc
        self.kwargs = kwargs
        self.bar: Any = None
        self.objects = 0
        self.failed = 0
        self.total_objects: int | None = None

    def on_start(self, total_bytes: int | None, total_objects: int | None) -> None:
        from tqdm.auto import tqdm

        options: dict[str, Any] = {"unit": "B", "unit_scale": True, "unit_divisor": 1024,
                                   "desc": self.desc, "dynamic_ncols": True}
        options.update(self.kwargs)
        self.total_objects = total_objects
        self.bar = tqdm(total=total_bytes, **options)

    def on_progress(self, bytes_done_delta: int) -> None:
        if self.bar is not None and bytes_done_delta:
            self.bar.update(bytes_done_delta)

    def on_object_done(self, result: Any) -> None:
        self.objects += 1
        if not getattr(result, "ok", True):
            self.failed += 1
        if self.bar is not None:
            done = "%d/%s" % (self.objects, self.total_objects if self.total_objects is not None
                              else "?")
            postfix = {"objects": done}
            if self.failed:
                postfix["failed"] = str(self.failed)
            self.bar.set_postfix(postfix, refresh=False)

    def on_done(self) -> None:
        if self.bar is not None:
            self.bar.refresh()
            self.bar.close()
            self.bar = None
