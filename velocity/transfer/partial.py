"""Resumable downloads: the hidden partial file beside a destination, and
its journal.

A download of object ``name`` to ``folder/file`` writes its bytes to
``folder/.file.velocity-part`` and, every 8 MiB or second, records in
``folder/.file.velocity-part.json`` what it is writing (container, object,
ETag, size, last-modified, kind) and how far each part got.  The journal
is replaced atomically (write, then rename), and only ever says a part got
as far as bytes already written to the partial file, so a
process killed at any instant (``kill -9`` included) leaves a journal that
can be trusted up to that point.  Nothing is ever written at the destination
name until the whole file is verified (:meth:`PartialFile.commit`).

Run again, the download takes up the partial file when the journal names the
same object with the same ETag (the request says ``If-Match``), and starts
over otherwise.  The data file is locked (``flock``) while a download writes
it, so two processes never write one partial file, and a sweep never removes
a partial file in use.

:class:`Partials` sweeps each folder a download writes into, once per call,
the first time the call plans a file in it: partial files older than
:attr:`~velocity.transfer.TransferConfig.partial_max_age` go, and those of
objects a listing-driven download no longer found go at the end of it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from velocity import errors
from velocity._log import log
from velocity.hashing import hash_fd
from velocity.transfer.config import MiB
from velocity.transfer.localfs import PART_SUFFIX, finish, pwrite_all

__all__ = ["PartialFile", "Partials", "partial_path", "JOURNAL_SUFFIX", "is_partial_name"]


#: the journal of a partial file is its name followed by this
JOURNAL_SUFFIX = ".json"
#: the journal is rewritten after this many new bytes ...
FLUSH_BYTES = 8 * MiB
#: ... or this many seconds, whichever comes first
FLUSH_SECONDS = 1.0
_VERSION = 1
#: a file name longer than this (in bytes) is shortened (with a hash) in the
#: partial file's name, so that it stays within the usual 255-byte limit
_LONGEST = 200

#: one part of the object: [offset, length, bytes done from its start]
Part = list[int]


def partial_path(dest: str) -> str:
    """The partial file of a download to ``dest``: ``.<base name>.velocity-part``
    in the same folder (a long base name is shortened, deterministically)."""
    folder, base = os.path.split(dest)
    if len(base.encode("utf-8", "surrogateescape")) > _LONGEST:
        digest = hashlib.sha1(base.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        base = base[:80] + "~" + digest
    return os.path.join(folder, "." + base + PART_SUFFIX)


def is_partial_name(name: str) -> bool:
    """Whether a base name is one of a partial download's files (a folder
    walk leaves these out: they are never uploaded, compared or deleted)."""
    return name.startswith(".") and (name.endswith(PART_SUFFIX) or name.endswith(
        PART_SUFFIX + JOURNAL_SUFFIX) or name.endswith(PART_SUFFIX + JOURNAL_SUFFIX + ".tmp"))


def hash_range(fd: int, offset: int, length: int, digest: Any,
               check: Callable[[], None]) -> None:
    """Feed ``length`` bytes of ``fd`` from ``offset`` to ``digest`` (the part
    of a resumed file already on disk)."""
    if hash_fd(digest, fd, offset, length, check) < length:
        raise errors.IncompleteSend("the partial file is shorter than its journal says")


class PartialFile:
    """Where one download is written until it is complete and verified.

    :param dest: the destination
    :param container: / :param name: the object (recorded in the journal)
    :param resume: with ``False`` the file gets a unique temporary name, no
        journal is written and :meth:`keep` removes it (the behaviour without
        resume)

    :attr:`prior` is the journal of an earlier run for the same object, if
    any; :meth:`begin` decides whether it is taken up.
    """

    def __init__(self, dest: str, container: str, name: str, resume: bool = True, *,
                 mode: int | None = None, folder_exists: bool = False) -> None:
        folder = os.path.dirname(dest) or "."
        if not folder_exists:
            os.makedirs(folder, exist_ok=True)
        self.dest = dest
        self.container = container
        self.name = name
        self.resume = resume
        self.mode = mode
        self.committed = False
        self.prior: dict[str, Any] | None = None
        self.parts: list[Part] = []
        self._meta: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._unflushed = 0
        self._flushed_at = time.monotonic()
        self._fresh = True  # the data file was made empty by this object
        self._journal_there = False  # whether a journal may be on disk
        if not resume:
            self.fd, self.path = tempfile.mkstemp(
                dir=folder, prefix=".%s." % os.path.basename(dest)[:40], suffix=PART_SUFFIX)
            self.journal = ""
            return
        self.path = partial_path(dest)
        self.journal = self.path + JOURNAL_SUFFIX
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:  # usually there is no partial file: then there is no journal to read either
            self.fd = os.open(self.path, flags | os.O_EXCL, 0o600)
        except FileExistsError:
            self.fd = os.open(self.path, flags, 0o600)
            self._fresh = False
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self.fd)
            self.fd = -1
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise errors.VelocityError(
                    "%s is being downloaded by another process right now" % dest) from None
            raise
        if not self._fresh:
            self._journal_there = True
            self.prior = self._load()

    # -- the journal ------------------------------------------------------------------

    def _load(self) -> dict[str, Any] | None:
        try:
            with open(self.journal, encoding="utf-8") as handle:
                prior = json.load(handle)
            parts = prior["parts"]
            valid = (prior.get("version") == _VERSION and prior["container"] == self.container
                     and prior["name"] == self.name and isinstance(prior["etag"], str)
                     and all(len(p) == 3 and 0 <= p[2] <= p[1] for p in parts))
            # the journal never runs ahead of the data, unless the data file was replaced
            written = max((p[0] + p[2] for p in parts), default=0)
            if valid and os.fstat(self.fd).st_size >= written:
                return prior
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            log.info("ignoring the unreadable journal %s", self.journal)
        return None

    def next_range(self) -> tuple[int, int, int] | None:
        """For a plain object, the part to ask for first and its byte range
        ``(index, first, last)``: the first part not complete (the last byte
        when all are); ``None`` when :attr:`prior` cannot be resumed that way."""
        prior = self.prior
        if prior is None or prior["kind"] != "plain" or not prior["size"] or not prior["parts"]:
            return None
        parts = prior["parts"]
        for index, (offset, length, done) in enumerate(parts):
            if done < length:
                return index, offset + done, offset + length - 1
        offset, length, _ = parts[-1]
        parts[-1][2] = length - 1  # all there: fetch the last byte again, then verify
        return len(parts) - 1, offset + length - 1, offset + length - 1

    def forget(self) -> None:
        """The earlier run's object is gone or changed: start over."""
        self.prior = None

    def begin(self, kind: str, etag: str | None, size: int, modified: str | None,
              layout: list[tuple[int, int]], resumable: bool = True) -> list[int]:
        """Start writing an object made of ``layout`` (``(offset, length)``
        parts), or take up :attr:`prior` when it describes the same object
        (``kind``, ``etag``, ``size``, parts).  Returns the bytes already
        there for each part (all 0 when starting over)."""
        prior, self.prior = self.prior, None
        same = (resumable and self.resume and prior is not None and etag is not None
                and prior["kind"] == kind and prior["etag"] == etag and prior["size"] == size
                and [(p[0], p[1]) for p in prior["parts"]] == list(layout))
        if same and prior is not None:
            self.parts = [list(p) for p in prior["parts"]]
        else:
            self.parts = [[offset, length, 0] for offset, length in layout]
            if not self._fresh:
                os.ftruncate(self.fd, 0)
            self._fresh = False  # written from now on
            if self._journal_there:
                self._remove(self.journal)
                self._journal_there = False
        self._meta = {"version": _VERSION, "container": self.container, "name": self.name,
                      "kind": kind, "etag": etag, "size": size, "last_modified": modified}
        self.resumable = resumable and self.resume and etag is not None
        return [p[2] for p in self.parts]

    def done(self, index: int) -> int:
        """Bytes of part ``index`` written from its start."""
        with self._lock:
            return self.parts[index][2]

    def advance(self, index: int, amount: int) -> None:
        """``amount`` more bytes of part ``index`` were written (in order)."""
        with self._lock:
            self.parts[index][2] += amount
            self._unflushed += amount
            if self._unflushed >= FLUSH_BYTES or (
                    time.monotonic() - self._flushed_at >= FLUSH_SECONDS):
                self._flush()

    def restart(self, index: int) -> None:
        """Part ``index`` came damaged: it is written again from its start."""
        with self._lock:
            self.parts[index][2] = 0
            self._flush()

    def _flush(self) -> None:
        """Write the journal (holding ``_lock``): to a temporary name, then
        renamed over the old one, so it is whole whenever it is read."""
        self._unflushed = 0
        self._flushed_at = time.monotonic()
        if not self.resume or not getattr(self, "resumable", False) or self.fd < 0:
            return
        record = dict(self._meta, parts=self.parts)
        temp = self.journal + ".tmp"
        self._journal_there = True
        try:
            with open(temp, "w", encoding="utf-8") as handle:
                json.dump(record, handle, separators=(",", ":"))
            os.replace(temp, self.journal)
        except OSError as exc:  # the download goes on; it is only less resumable
            log.warning("could not write %s: %s", self.journal, exc)

    # -- writing, and the end ------------------------------------------------------------

    def write_at(self, offset: int, data: bytes | memoryview) -> None:
        """Write ``data`` at ``offset`` (``pwrite``: parts that do not overlap
        may be written from several threads)."""
        pwrite_all(self.fd, offset, data)

    def commit(self, mtime: float | str | None = None) -> None:
        """Give the file the usual mode and ``mtime`` (if given), rename it
        to the destination, then remove the journal."""
        finish(self.fd, mtime, self.mode)
        try:
            os.replace(self.path, self.dest)
        except IsADirectoryError:
            raise errors.UnsafePath("%s is a folder; cannot write a file over it"
                                    % self.dest) from None
        self.committed = True
        self._close()
        if self._journal_there:
            self._remove(self.journal)

    def keep(self) -> None:
        """The download was interrupted: leave the partial file and its
        journal for the next run (without resume, or with nothing worth
        keeping, remove them)."""
        if self.committed:
            return
        with self._lock:
            worth = self.resume and getattr(self, "resumable", False) and any(
                p[2] for p in self.parts)
            if worth:
                self._flush()
        if worth:
            self._close()
        else:
            self.discard()

    def discard(self) -> None:
        """Remove the partial file and its journal (nothing happens to the
        destination, nor after :meth:`commit`)."""
        if self.committed:
            return
        self._remove(self.path)
        if self._journal_there:
            self._remove(self.journal)
        self._close()

    def _close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the lock
            self.fd = -1

    @staticmethod
    def _remove(path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _locked(path: str) -> bool:
    """Whether another download holds the partial file ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the lock just taken
    return False


class Partials:
    """The partial files one download call meets: each folder it writes into
    is swept once, the first time a file is planned in it."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._swept: set[str] = set()
        #: (container, object) -> (data file, journal) of young partial files found
        self._found: dict[tuple[str, str], tuple[str, str]] = {}

    def prepare(self, dest: str) -> None:
        """Before a download to ``dest``: sweep its folder if not done yet."""
        folder = os.path.dirname(dest)
        with self._lock:
            if folder in self._swept:
                return
            self._swept.add(folder)
        self._sweep(folder)

    def _sweep(self, folder: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return  # not there yet: nothing to sweep
        oldest = time.time() - self.max_age
        names = {entry.name for entry in entries}
        for entry in entries:
            if not is_partial_name(entry.name):
                continue
            try:
                modified = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            data = os.path.join(folder, _data_name(entry.name))
            if modified < oldest:
                if not _locked(data):
                    log.info("removing the stale partial download %s", entry.path)
                    for path in (data, data + JOURNAL_SUFFIX, data + JOURNAL_SUFFIX + ".tmp"):
                        PartialFile._remove(path)
                continue
            if entry.name.endswith(JOURNAL_SUFFIX) and _data_name(entry.name) in names:
                try:
                    with open(entry.path, encoding="utf-8") as handle:
                        record = json.load(handle)
                    key = (str(record["container"]), str(record["name"]))
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                with self._lock:
                    self._found[key] = (data, entry.path)

    def listed(self, container: str, name: str) -> None:
        """The object exists (it came in the listing)."""
        if self._found:
            with self._lock:
                self._found.pop((container, name), None)

    def remove_unlisted(self, container: str, prefix: str) -> None:
        """After a complete listing of ``container`` under ``prefix``: the
        partial files of its objects that were not listed go."""
        with self._lock:
            gone = [key for key in self._found
                    if key[0] == container and key[1].startswith(prefix)]
            paths = [self._found.pop(key) for key in gone]
        for data, journal in paths:
            if not _locked(data):
                log.info("removing %s: its object no longer exists", data)
                PartialFile._remove(data)
                PartialFile._remove(journal)


def _data_name(name: str) -> str:
    """The data file a partial download's file name belongs to."""
    for tail in (JOURNAL_SUFFIX + ".tmp", JOURNAL_SUFFIX):
        if name.endswith(PART_SUFFIX + tail):
            return name[:-len(tail)]
    return name
