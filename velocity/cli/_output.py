"""What ``velocity`` prints: guarded streams, JSON records, binary units, the
progress bar and the summary line of a transfer."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping

from velocity.progress import ProgressSubscriber

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, TextIO

#: exit status after the reader of our output went away (128 + SIGPIPE, as a shell reports)
CLOSED_STATUS = 141


class OutputClosed(Exception):
    """The reader of standard output (or error) went away: ``velocity ... | head -1``.

    Not an ``OSError``, so that no error handler mistakes it for a failure of
    the work itself."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__("output closed")
        self.stream = stream


class GuardedStream(io.TextIOBase):
    """A text stream that replaces every secret it is given with ``<hidden>``
    and turns a closed pipe into :class:`OutputClosed`."""

    def __init__(self, stream: TextIO, secrets: list[str]) -> None:
        self.stream, self.secrets = stream, secrets

    def write(self, text: str) -> int:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "<hidden>")
        return self.write_unredacted(text)

    def write_unredacted(self, text: str) -> int:
        """Write ``text`` as it is: only for a secret the user asked to see."""
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise OutputClosed(self.stream) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise OutputClosed(self.stream) from None

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"


def silence(stream: TextIO) -> None:
    """Point the file descriptor behind ``stream`` at /dev/null, so that the
    interpreter's last flush of a closed pipe does not complain on exit."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def out(args: argparse.Namespace, line: str = "") -> None:
    """A human line on standard output (not with ``-q``)."""
    if not args.quiet:
        print(line)


def emit(record: Mapping[str, Any], stream: Any = None) -> None:
    """One JSON record on one line."""
    text = json.dumps(dict(record), sort_keys=True, default=str)
    if stream is None:
        print(text)
    else:
        stream.write(text + "\n")


def human(count: float) -> str:
    """``1536`` -> ``"1.5 KiB"``: binary units, in the bar and in the summary."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (count, unit)
        count /= 1024
    return str(count)  # pragma: no cover


def show_progress(args: argparse.Namespace) -> bool:
    """A bar only for a person watching: terminal on both outputs, no ``-q``/``--json``."""
    return not args.quiet and not args.json and sys.stderr.isatty() and sys.stdout.isatty()


def subscribers(args: argparse.Namespace, desc: str) -> list[ProgressSubscriber] | None:
    return [Bar(desc)] if show_progress(args) else None


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
    return "%02d:%02d" % (seconds // 60, seconds % 60)


class Bar(ProgressSubscriber):
    """A one-line progress bar on standard error, in the summary's units
    (``12.0 MiB/40.0 MiB 5.1 MiB/s``), redrawn at most ten times a second."""

    def __init__(self, desc: str, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.desc, self.stream, self.interval = desc, stream, interval
        self.total: int | None = None
        self.total_objects: int | None = None
        self.done = self.objects = self.failed = 0
        self.began = self.drawn = 0.0
        self.width = 0

    def on_start(self, total_bytes: int | None, total_objects: int | None) -> None:
        self.stream = self.stream or sys.stderr
        self.total, self.total_objects = total_bytes, total_objects
        self.began = time.monotonic()
        self._draw(force=True)

    def on_progress(self, bytes_done_delta: int) -> None:
        self.done += bytes_done_delta
        self._draw()

    def on_object_done(self, result: Any) -> None:
        self.objects += 1
        self.failed += not getattr(result, "ok", True)
        self._draw()

    def on_done(self) -> None:
        if self.stream is not None:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def line(self, columns: int) -> str:
        elapsed = max(time.monotonic() - self.began, 1e-6)
        rate = self.done / elapsed
        objects = "%d/%s" % (self.objects, "?" if self.total_objects is None
                             else self.total_objects)
        tail = " %s/s, objects %s%s" % (human(rate), objects,
                                        ", %d failed" % self.failed if self.failed else "")
        if not self.total and not self.done:  # deletes: objects only
            return "%s: objects %s%s [%s]" % (self.desc, objects, ", %d failed" % self.failed
                                              if self.failed else "", _clock(elapsed))
        if not self.total:
            return "%s: %s [%s,%s]" % (self.desc, human(self.done), _clock(elapsed), tail)
        fraction = min(self.done / self.total, 1.0)
        left = (self.total - self.done) / rate if rate else None
        stats = " %s/%s [%s<%s,%s]" % (human(self.done), human(self.total), _clock(elapsed),
                                       "?" if left is None else _clock(left), tail)
        head = "%s: %3d%%|" % (self.desc, int(fraction * 100))
        room = max(columns - len(head) - len(stats) - 2, 0)
        room = min(room, 40)
        fill = int(round(fraction * room))
        block = "\u2588" if "utf" in (getattr(self.stream, "encoding", "") or "").lower() else "#"
        return "%s%s%s|%s" % (head, block * fill, " " * (room - fill), stats)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.stream is None or (not force and now - self.drawn < self.interval):
            return
        self.drawn = now
        import shutil  # here: the commands that draw no bar never need it

        columns = shutil.get_terminal_size((80, 24)).columns
        text = self.line(columns)[:max(columns - 1, 20)]
        self.stream.write("\r" + text + " " * max(self.width - len(text), 0))
        self.stream.flush()
        self.width = len(text)


# -- per-item results -----------------------------------------------------------

DONE = {"upload": "uploaded", "download": "downloaded", "delete": "deleted",
        "head": "checked", "copy": "copied", "sync": "synced"}


def transfer_record(result: Any, facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON record of one :class:`~velocity.transfer.TransferResult`.

    ``etag`` is what Swift's HEAD answers for the object; for a static large
    object ``manifest_etag`` is the MD5 of its manifest and ``segments`` the
    number of segments (``facts`` corrects what the engine reported)."""
    error = result.error
    record: dict[str, Any] = {
        "action": result.action, "container": result.container, "name": result.name,
        "path": result.path, "ok": result.ok, "bytes": result.bytes, "etag": result.etag,
        "manifest_etag": None, "segments": result.segments, "skipped": result.skipped,
        "error": str(error) if error is not None else None}
    if facts:
        record.update(facts)
    if result.headers:
        record["headers"] = {str(k).lower(): str(v) for k, v in result.headers.items()}
    return record


def report(args: argparse.Namespace, results: Iterable[Any], began: float, action: str,
           facts: Mapping[str, Mapping[str, Any]] | None = None) -> int:
    """Print every result (``--json``) or the failures and one summary line;
    returns the exit status (1 when something failed)."""
    done = failed = skipped = total = segments = 0
    whole_call_failed = False
    for result in results:
        if args.json:
            emit(transfer_record(result, (facts or {}).get(result.name)))
        if not result.ok:
            failed += 1
            whole_call_failed |= result.name is None
            print("velocity: %s" % result, file=sys.stderr)
            continue
        if result.skipped:
            skipped += 1
        else:
            done += 1
            total += result.bytes or 0
            segments += result.segments or 0
        if args.verbose and not args.json:
            out(args, "%s%s" % (result.path if result.action == "download" and result.path
                                else result.name, " (unchanged)" if result.skipped else ""))
    if not args.json and not (whole_call_failed and failed == 1 and not done):
        seconds = max(time.monotonic() - began, 1e-6)
        line = "%s %d object(s)" % (DONE.get(action, action), done)
        if action in ("upload", "download"):
            line += ", %s in %.1f s (%s/s)" % (human(total), seconds, human(total / seconds))
        elif action == "delete" and segments:
            line += " and %d segment(s)" % segments
        if skipped:
            line += ", %d unchanged skipped" % skipped
        if failed:
            line += ", %d FAILED" % failed
        out(args, line)
    return 1 if failed else 0
