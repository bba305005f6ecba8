"""The transfer engine: many objects, or large ones, moved fast and verified.

:class:`TransferManager` uploads files, whole folders and streams, downloads
objects into folders, deletes and inspects objects, in parallel, over one
shared :class:`~velocity.client.SwiftClient` (so a whole transfer costs one
authentication, whatever its thread count)::

    from velocity import SwiftClient, TransferManager, Credentials

    client = SwiftClient(Credentials.from_env())
    with TransferManager(client) as manager:
        for result in manager.upload("backups", "photos/", prefix="2024/"):
            if not result.ok:
                print(result)
        manager.download("backups", prefix="2024/", out_dir="restore", remove_prefix=True)

Guarantees:

* **Verified.** Every PUT carries the MD5 of its data as ``ETag`` (Swift refuses
  the data if it differs) and the returned ETag is checked; downloads are
  checked against the object's MD5 (plain objects) or every segment's MD5
  (static large objects) and their length.
* **Nothing half-done is visible.** Files larger than
  :attr:`TransferConfig.segment_threshold` are uploaded as segments into
  ``<container>_segments`` in parallel, and the static large object manifest
  is written last; if anything fails, the uploaded segments are deleted.
  Downloads are written to a temporary file beside the destination, verified,
  then renamed into place: a failure leaves an existing file untouched.
* **Nothing lands outside the destination folder**: object names with ``..``
  components, absolute paths or NUL bytes are refused with
  :class:`~velocity.errors.UnsafePath`.
* **No request wasted.** One PUT per small object (existing objects are found
  with one container listing, not one HEAD per object), one GET per small
  download, bulk deletes.
* **Per-item results.** Every call returns a list of :class:`TransferResult`;
  one failure never stops the other items, and none is silent.
* **Cancellable.** :meth:`TransferManager.cancel` (from any thread) or Ctrl-C
  stops promptly and cleans up: no partial file, no orphan segment.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import queue
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any, BinaryIO, Union
from urllib.parse import quote, unquote

from velocity import errors
from velocity.client import SwiftClient, translate_error
from velocity.names import check_container_name, check_object_name
from velocity.progress import ProgressSubscriber, TqdmProgress

__all__ = ["TransferConfig", "TransferManager", "TransferResult", "MAX_OBJECT_SIZE"]

log = logging.getLogger("velocity")

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
#: Swift's default limit on one object (or one segment): 5 GiB
MAX_OBJECT_SIZE = 5 * GiB
_CHUNK = 1 * MiB          # read / write block
_SMALL = 4 * MiB          # files up to this size are read into memory for one PUT
_SPOOL = 8 * MiB          # stream segments are buffered in memory up to this, then on disk
_WINDOW = 2               # in-flight jobs per worker thread

PathLike = Union[str, "os.PathLike[str]"]


def _md5() -> Any:
    try:
        return hashlib.md5(usedforsecurity=False)
    except TypeError:  # pragma: no cover - Python built without the keyword
        return hashlib.md5()


# -- configuration and results ------------------------------------------------


@dataclass
class TransferConfig:
    """Settings of a :class:`TransferManager` (validated when made).

    :param segment_size: size of each segment of a large upload (default
        64 MiB), and of each parallel byte range of a large download.  Raised
        automatically when a file would need more segments than the cluster
        allows in one manifest.
    :param segment_threshold: files larger than this are uploaded as segments
        (default 128 MiB; at most 5 GiB, Swift's limit for one object, so a
        6 GiB file is always segmented).
    :param object_threads: objects transferred at once (default 10)
    :param segment_threads: segments / byte ranges transferred at once, shared
        by all large objects of a call (default 10)
    :param use_slo: write static large object manifests (default); falls back
        to dynamic large objects when the cluster's ``/info`` lacks ``slo``
    :param leave_segments: keep the old segments when a segmented object is
        overwritten or deleted (default ``False``: they are removed)
    :param checksum: verify MD5 ETags of uploads and downloads (default ``True``;
        when off, only lengths are checked)
    :param skip_identical: do not upload a file whose object already holds the
        same bytes (MD5 compared, segmented objects too)
    :param changed: do not upload a file whose object has the same size and
        modification time (stored as ``X-Object-Meta-Mtime``)
    :param retries: how many more times a segment, byte range or download is
        tried after its data arrived damaged (checksum or length mismatch).
        Single requests are retried by the
        :class:`~velocity.client.SwiftClient`'s own ``RetryPolicy``, and a
        connection dropped mid-body resumes where it stopped (``Range`` +
        ``If-Match``) under that policy too.
    """

    segment_size: int = 64 * MiB
    segment_threshold: int = 128 * MiB
    object_threads: int = 10
    segment_threads: int = 10
    use_slo: bool = True
    leave_segments: bool = False
    checksum: bool = True
    skip_identical: bool = False
    changed: bool = False
    retries: int = 5

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise errors.ConfigurationError(
                        "TransferConfig.%s must be True or False, got %r" % (item.name, value))
            elif not isinstance(value, int) or isinstance(value, bool):
                raise errors.ConfigurationError(
                    "TransferConfig.%s must be an integer, got %r" % (item.name, value))
        if not 1 <= self.segment_size <= MAX_OBJECT_SIZE:
            raise errors.ConfigurationError(
                "TransferConfig.segment_size must be between 1 byte and 5 GiB, got %r"
                % self.segment_size)
        if not 0 <= self.segment_threshold <= MAX_OBJECT_SIZE:
            raise errors.ConfigurationError(
                "TransferConfig.segment_threshold must be between 0 and 5 GiB (Swift's limit "
                "for one object), got %r" % self.segment_threshold)
        for name in ("object_threads", "segment_threads"):
            if getattr(self, name) < 1:
                raise errors.ConfigurationError(
                    "TransferConfig.%s must be at least 1, got %r" % (name, getattr(self, name)))
        if self.retries < 0:
            raise errors.ConfigurationError(
                "TransferConfig.retries must be >= 0, got %r" % self.retries)


@dataclass
class TransferResult:
    """What happened to one object.

    :ivar action: ``"upload"``, ``"download"``, ``"delete"`` or ``"head"``
    :ivar container: the container
    :ivar name: the object name (``None`` when the failure concerns the whole
        call, e.g. a missing container)
    :ivar path: the local file, or ``None``
    :ivar ok: ``True`` when it worked (or was skipped)
    :ivar bytes: bytes moved (or the object's size for ``head`` / skipped items)
    :ivar etag: the object's ETag (for segmented objects, the manifest's)
    :ivar error: the :class:`~velocity.errors.VelocityError`, when not ``ok``
    :ivar skipped: ``True`` when nothing needed doing (``skip_identical``,
        ``changed``)
    :ivar segments: number of segments written or read (0 for plain objects)
    :ivar headers: response headers (``head``), lower-case names
    """

    action: str
    container: str
    name: str | None
    path: str | None = None
    ok: bool = False
    bytes: int = 0
    etag: str | None = None
    error: errors.VelocityError | None = None
    skipped: bool = False
    segments: int = 0
    headers: dict[str, str] | None = field(default=None, repr=False)

    def __str__(self) -> str:
        where = "%s/%s" % (self.container, self.name) if self.name is not None else (
            "container %s" % self.container)
        local = " (%s)" % self.path if self.path else ""
        if not self.ok:
            error = self.error
            detail = "%s: %s" % (type(error).__name__, error) if error else "unknown error"
            return "%s %s%s failed: %s" % (self.action, where, local, detail)
        if self.skipped:
            return "%s %s%s skipped: already up to date" % (self.action, where, local)
        extra = ", %d segments" % self.segments if self.segments else ""
        return "%s %s%s ok (%d bytes%s)" % (self.action, where, local, self.bytes, extra)


# -- internal plumbing -----------------------------------------------------------------


class _Run:
    """State of one public call: its cancel flag and the queue through which
    workers report to the caller's thread."""

    def __init__(self, report_progress: bool) -> None:
        self.cancelled = threading.Event()
        self.events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.report_progress = report_progress
        self.outer: _Run | None = None  # a call this one runs inside of, on the same thread

    def check(self) -> None:
        if self.cancelled.is_set():
            raise errors.TransferCancelled("the transfer was cancelled")

    def progress(self, amount: int) -> None:
        if self.report_progress and amount:
            self.events.put(("progress", amount))


class _Job:
    """Work for one thread of the object pool; ``fn`` fills ``results``."""

    __slots__ = ("results", "fn")

    def __init__(self, results: list[TransferResult],
                 fn: Callable[[list[TransferResult]], None]) -> None:
        self.results = results
        self.fn = fn


class _Reader:
    """A file-like view of ``length`` bytes of ``path`` from ``offset``:
    seekable (so retries rewind it), checks the cancel flag, reports progress,
    and raises instead of sending fewer bytes than announced."""

    def __init__(self, handle: BinaryIO, offset: int, length: int, run: _Run,
                 abort: threading.Event | None = None, hashing: bool = False) -> None:
        self.handle = handle
        self.offset = offset
        self.length = length
        self.position = 0
        self.run = run
        self.abort = abort
        self.reported = 0
        self.hashing = hashing
        #: MD5 of the bytes read so far (with ``hashing``), restarted by ``seek(0)``
        self.digest = _md5() if hashing else None
        handle.seek(offset)

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        self.run.check()
        if self.abort is not None and self.abort.is_set():
            raise errors.TransferCancelled("stopped: another part of this object failed")
        left = self.length - self.position
        if size is None or size < 0 or size > left:
            size = left
        if size == 0:
            return b""
        data = self.handle.read(min(size, _CHUNK))
        if not data:
            raise errors.IncompleteSend("the file shrank while it was being uploaded")
        self.position += len(data)
        if self.digest is not None:
            self.digest.update(data)
        if self.position > self.reported:
            self.run.progress(self.position - self.reported)
            self.reported = self.position
        return data

    def seek(self, position: int, whence: int = 0) -> int:
        if whence != 0:
            raise OSError("only absolute seeks")
        if self.hashing:
            if position != 0:
                raise OSError("a hashing reader only rewinds to its start")
            self.digest = _md5()
        self.position = position
        self.handle.seek(self.offset + position)
        return position

    def tell(self) -> int:
        return self.position

    def seekable(self) -> bool:
        return True


@dataclass
class _Existing:
    """What an object about to be overwritten (or deleted) is made of."""

    kind: str                    # "plain", "slo" or "dlo"
    size: int
    etag: str | None
    mtime: str | None = None
    # SLO: (segment path "/container/name", md5 or None when unverifiable, size)
    segments: list[tuple[str, str | None, int]] = field(default_factory=list)
    dlo_prefix: tuple[str, str] | None = None   # (container, prefix)


def _unquote_etag(value: str | None) -> str | None:
    return value.strip('"') if value else value


def _common_prefix(names: Sequence[str]) -> str:
    if not names:
        return ""
    return os.path.commonprefix(list(names))


def safe_local_path(out_dir: str, name: str) -> str:
    """The local path of object ``name`` under ``out_dir``.

    :raises velocity.errors.UnsafePath: when the name holds a NUL byte, is
        absolute, has a ``..`` component, or would resolve (through a symbolic
        link) outside ``out_dir``
    """
    if "\x00" in name:
        raise errors.UnsafePath("object name %r contains a NUL byte" % name)
    if name.startswith(("/", "\\")) or os.path.isabs(name) or (
            len(name) > 1 and name[1] == ":"):
        raise errors.UnsafePath("object name %r is an absolute path" % name)
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise errors.UnsafePath("object name %r has a '..' component" % name)
    if not parts:
        raise errors.UnsafePath("object name %r names no file" % name)
    root = os.path.realpath(out_dir)
    target = os.path.join(root, *parts)
    resolved = os.path.realpath(target)
    if os.path.commonpath([root, resolved]) != root:
        raise errors.UnsafePath("object name %r would be written outside %s (symbolic link)"
                                % (name, out_dir))
    return target


class _Stream:
    """``read(n)`` over a file-like object or an iterable of bytes."""

    def __init__(self, source: Any) -> None:
        if isinstance(source, (bytes, bytearray, memoryview)):
            import io

            source = io.BytesIO(bytes(source))
        self._read = getattr(source, "read", None)
        self._iter = None if self._read is not None else iter(source)
        self._pending = b""

    def read(self, size: int) -> bytes:
        if self._read is not None:
            data = self._read(size)
            if isinstance(data, str):
                raise errors.ConfigurationError("upload_stream needs bytes, got text; "
                                                "open the file in binary mode")
            return data or b""
        while not self._pending:
            try:
                chunk = next(self._iter)  # type: ignore[arg-type]
            except StopIteration:
                return b""
            if isinstance(chunk, str):
                raise errors.ConfigurationError("upload_stream needs an iterable of bytes, "
                                                "got text")
            self._pending = bytes(chunk)
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


class _TempFile:
    """A temporary file beside ``dest``, renamed over it on commit."""

    def __init__(self, dest: str) -> None:
        folder = os.path.dirname(dest)
        os.makedirs(folder, exist_ok=True)
        if os.path.isdir(dest):
            raise errors.UnsafePath("%s is a folder; cannot download a file over it" % dest)
        self.dest = dest
        self.fd, self.path = tempfile.mkstemp(
            dir=folder, prefix=".%s." % os.path.basename(dest)[:40], suffix=".velocity-part")

    def commit(self, mtime: str | None) -> None:
        os.close(self.fd)
        self.fd = -1
        if mtime:
            try:
                stamp = float(mtime)
                os.utime(self.path, (stamp, stamp))
            except (ValueError, OSError):
                pass
        os.replace(self.path, self.dest)

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# -- the manager -------------------------------------------------------------------------


class TransferManager:
    """Upload, download, delete and inspect many or large objects in parallel.

    :param connection_or_client: a :class:`~velocity.client.SwiftClient`, any
        object with a ``.client`` attribute holding one (such as
        :class:`velocity.Connection`), or :class:`~velocity.auth.Credentials`
    :param config: a :class:`TransferConfig` (defaults when omitted)

    Thread-safe; one manager may run several calls at once.  The worker
    threads are started on first use and stopped by :meth:`close` (or the
    ``with`` block).
    """

    def __init__(self, connection_or_client: Any, config: TransferConfig | None = None) -> None:
        from velocity.auth import Credentials

        self._own_client = False
        if isinstance(connection_or_client, SwiftClient):
            client = connection_or_client
        elif isinstance(connection_or_client, Credentials):
            client = SwiftClient(connection_or_client)
            self._own_client = True  # made here, so closed here
        elif isinstance(getattr(connection_or_client, "client", None), SwiftClient):
            client = connection_or_client.client
        else:
            raise errors.ConfigurationError(
                "TransferManager needs a SwiftClient (or an object with a .client that is "
                "one), got %s" % type(connection_or_client).__name__)
        if config is not None and not isinstance(config, TransferConfig):
            raise errors.ConfigurationError("config must be a TransferConfig, got %s"
                                            % type(config).__name__)
        self.client = client
        self.config = config or TransferConfig()
        self._lock = threading.Lock()
        self._runs: set[_Run] = set()
        self._object_pool: ThreadPoolExecutor | None = None
        self._segment_pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._pid = os.getpid()
        self._current = threading.local()  # the _Run a worker thread works for

    def __repr__(self) -> str:
        return "TransferManager(%r)" % (self.client,)

    def __enter__(self) -> TransferManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Cancel running calls and stop the worker threads; a client the
        manager made itself (from :class:`~velocity.auth.Credentials`) has
        its connections closed too."""
        self.cancel()
        with self._lock:
            pools = (self._object_pool, self._segment_pool)
            self._object_pool = self._segment_pool = None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True)
        if self._own_client:
            self.client.close()

    def cancel(self) -> None:
        """Stop every running call of this manager (callable from any thread).

        Running items stop at their next block of data and clean up: partial
        downloads are removed, uploaded segments of unfinished objects are
        deleted.  The interrupted calls return, with
        :class:`~velocity.errors.TransferCancelled` as the error of every item
        that did not finish.
        """
        with self._lock:
            runs = list(self._runs)
        for run in runs:
            run.cancelled.set()

    # -- pools and the caller-side loop ---------------------------------------------

    def _after_fork(self) -> None:
        """In a forked child the parent's worker threads do not exist (and a
        lock may have been held): start afresh."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._runs = set()
            self._object_pool = self._segment_pool = None
            self._current = threading.local()

    def _pools(self) -> tuple[ThreadPoolExecutor, ThreadPoolExecutor]:
        self._after_fork()
        with self._lock:
            if self._object_pool is None:
                self._object_pool = ThreadPoolExecutor(
                    self.config.object_threads, thread_name_prefix="velocity-object")
            if self._segment_pool is None:
                self._segment_pool = ThreadPoolExecutor(
                    self.config.segment_threads, thread_name_prefix="velocity-segment")
            return self._object_pool, self._segment_pool

    def _call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        return self.client.call(operation, *args, **kwargs)

    def _bind(self, run: _Run | None) -> None:
        """This thread now works for ``run``: a cancel of it also cuts short
        the client's waits before retries."""
        self._current.run = run
        self.client.set_interrupt(run.cancelled if run is not None else None)

    def _start(self, subscribers: Iterable[ProgressSubscriber] | None, progress: bool,
               desc: str) -> tuple[_Run, list[ProgressSubscriber]]:
        self._after_fork()
        subs = list(subscribers or ())
        if progress:
            subs.append(TqdmProgress(desc=desc))
        run = _Run(report_progress=bool(subs))
        run.outer = getattr(self._current, "run", None)
        self._bind(run)  # the caller's own requests heed cancel() too
        with self._lock:
            self._runs.add(run)
        return run, subs

    def _finish(self, run: _Run, subs: list[ProgressSubscriber]) -> None:
        self._bind(run.outer)
        with self._lock:
            self._runs.discard(run)
        for sub in subs:
            sub.on_done()

    def _drive(self, run: _Run, subs: list[ProgressSubscriber], jobs: Iterable[Any]
               ) -> list[TransferResult]:
        """Run ``jobs`` (:class:`_Job` or ready :class:`TransferResult`) on the
        object pool, at most a window of them at once, while delivering the
        workers' reports to ``subs`` on this (the caller's) thread."""
        pool, _ = self._pools()
        limit = self.config.object_threads * _WINDOW
        results: list[TransferResult] = []   # in the order the jobs came
        pending = iter(jobs)
        in_flight = 0
        exhausted = False

        def deliver(done: list[TransferResult]) -> None:
            for result in done:
                for sub in subs:
                    sub.on_object_done(result)

        def handle(kind: str, value: Any) -> None:
            nonlocal in_flight
            if kind == "progress":
                for sub in subs:
                    sub.on_progress(value)
            else:
                in_flight -= 1
                deliver(value)

        try:
            while True:
                while not exhausted and in_flight < limit:
                    if run.cancelled.is_set():
                        exhausted = True
                        break
                    try:
                        job = next(pending)
                    except StopIteration:
                        exhausted = True
                        break
                    if isinstance(job, TransferResult):
                        results.append(job)
                        deliver([job])
                        continue
                    results.extend(job.results)
                    pool.submit(self._work, run, job)
                    in_flight += 1
                if in_flight == 0:
                    break
                try:
                    kind, value = run.events.get(timeout=0.25)
                except queue.Empty:
                    continue
                handle(kind, value)
            if run.cancelled.is_set():
                # what never started is reported too: nothing fails silently
                for job in pending:
                    done = [job] if isinstance(job, TransferResult) else job.results
                    results.extend(done)
                    for result in done:
                        if not result.ok and result.error is None:
                            result.error = errors.TransferCancelled(
                                "cancelled before it started")
                    deliver(done)
        except KeyboardInterrupt:
            run.cancelled.set()
            while in_flight:  # let the workers clean up before Ctrl-C propagates
                try:
                    handle(*run.events.get(timeout=0.25))
                except queue.Empty:
                    continue
            raise
        return results

    def _work(self, run: _Run, job: _Job) -> None:
        self._bind(run)
        try:
            run.check()
            job.fn(job.results)
        except BaseException as exc:  # noqa: BLE001 - reported per item
            error = exc if isinstance(exc, errors.VelocityError) else translate_error(exc)
            for result in job.results:
                if not result.ok and result.error is None:
                    result.error = error
            if not isinstance(exc, Exception):
                run.events.put(("done", job.results))
                raise
        for result in job.results:
            if not result.ok and result.error is None:
                result.error = errors.VelocityError("failed without an error (a bug)")
        run.events.put(("done", job.results))

    # -- cluster facts --------------------------------------------------------------

    def _capabilities(self) -> dict[str, Any]:
        try:
            return self.client.capabilities()
        except errors.VelocityError as exc:
            log.debug("no /info from the cluster: %s", exc)
            return {}

    def _segment_size(self, size: int) -> int:
        """The segment size for a ``size``-byte file, within the cluster's limits."""
        caps = self._capabilities()
        seg = self.config.segment_size
        limit = int(caps.get("swift", {}).get("max_file_size", MAX_OBJECT_SIZE))
        seg = min(seg, limit)
        slo = caps.get("slo") if self.config.use_slo else None
        if slo:
            most = int(slo.get("max_manifest_segments", 1000))
            if -(-size // seg) > most:
                seg = -(-size // most)
            seg = max(seg, int(slo.get("min_segment_size", 1)))
        return seg

    def _threshold(self) -> int:
        limit = int(self._capabilities().get("swift", {}).get("max_file_size", MAX_OBJECT_SIZE))
        return min(self.config.segment_threshold, limit)

    def _use_slo(self) -> bool:
        return self.config.use_slo and "slo" in self._capabilities()

    # -- existing objects -----------------------------------------------------------

    def _listing(self, container: str, prefix: str | None) -> dict[str, dict[str, Any]] | None:
        """Listing entries by name, or ``None`` when the container is missing."""
        try:
            return {entry["name"]: entry
                    for entry in self.client.iter_container(container, prefix=prefix or None)
                    if "name" in entry}
        except errors.NoSuchContainer:
            return None

    def _inspect(self, container: str, name: str, entry: dict[str, Any] | None,
                 want_mtime: bool) -> _Existing | None:
        """Find out whether an existing object is plain, SLO or DLO (and its
        segments); ``None`` when it does not exist."""
        if entry is not None and "slo_etag" in entry:
            return self._manifest(container, name)
        if entry is not None and int(entry.get("bytes", 0)) > 0 and not want_mtime:
            return _Existing("plain", int(entry["bytes"]), entry.get("hash"))
        try:
            headers = self._call("head_object", container, name)
        except errors.NoSuchObject:
            return None
        if headers.get("x-static-large-object", "").lower() == "true":
            return self._manifest(container, name)
        info = _Existing("plain", int(headers.get("content-length", 0)),
                         _unquote_etag(headers.get("etag")), headers.get("x-object-meta-mtime"))
        manifest = headers.get("x-object-manifest")
        if manifest and "/" in manifest:
            seg_container, seg_prefix = unquote(manifest).split("/", 1)
            info.kind = "dlo"
            info.dlo_prefix = (seg_container, seg_prefix)
            info.etag = None
            info.segments = [
                ("/%s/%s" % (seg_container, item["name"]), item.get("hash"),
                 int(item.get("bytes", 0)))
                for item in self.client.iter_container(seg_container, prefix=seg_prefix)
                if "name" in item]
        return info

    def _manifest(self, container: str, name: str) -> _Existing | None:
        try:
            headers, body = self._call("get_object", container, name,
                                       query_string="multipart-manifest=get")
        except errors.NoSuchObject:
            return None
        if headers.get("x-static-large-object", "").lower() != "true":
            return _Existing("plain", len(body), _unquote_etag(headers.get("etag")),
                             headers.get("x-object-meta-mtime"))
        return self._manifest_info(json.loads(body), headers)

    def _same_bytes(self, run: _Run, path: str, size: int, info: _Existing) -> bool:
        """Whether the local file holds exactly the object's bytes."""
        if info.size != size:
            return False
        if info.kind == "plain":
            return info.etag is not None and _file_md5(path, 0, size, run) == info.etag
        offset = 0
        with open(path, "rb") as handle:
            for _, etag, length in info.segments:
                if etag is None:
                    return False
                if _handle_md5(handle, offset, length, run) != etag:
                    return False
                offset += length
        return offset == size

    def _remove_old_segments(self, info: _Existing | None, keep: set[str]) -> None:
        if info is None or info.kind == "plain" or not info.segments:
            return
        paths = [p for p, _, _ in info.segments if p not in keep]
        failed = self._delete_paths(paths)
        for path, error in failed:
            log.warning("could not remove old segment %s: %s", path, error)

    # -- upload -------------------------------------------------------------------------

    def upload(self, container: str, paths: PathLike | Sequence[PathLike],
               object_names: Sequence[str] | None = None, prefix: str | None = None,
               ignore: Iterable[str] = (), *,
               subscribers: Iterable[ProgressSubscriber] | None = None,
               progress: bool = False, headers: dict[str, str] | None = None,
               skip_identical: bool | None = None, changed: bool | None = None,
               leave_segments: bool | None = None) -> list[TransferResult]:
        """Upload files and whole folders to ``container`` (created when missing).

        :param paths: a file or folder, or a list of them.  A file becomes the
            object named after its base name; a folder uploads every file
            under it, named by its POSIX path relative to that folder.
        :param object_names: one name per path, used instead (for a folder:
            as a folder name in front of the relative paths)
        :param prefix: put in front of every object name (e.g. ``"2024/"``)
        :param ignore: glob patterns (``fnmatch``) of relative paths or base
            names to leave out, e.g. ``("*.tmp", ".git")``
        :param subscribers: :class:`~velocity.progress.ProgressSubscriber`\\ s
        :param progress: show a ``tqdm`` progress bar
        :param headers: extra headers for every object (e.g. ``X-Object-Meta-*``)
        :param skip_identical: / :param changed: / :param leave_segments:
            override the :class:`TransferConfig` values for this call
        :returns: one :class:`TransferResult` per file
        """
        check_container_name(container)
        opts = self._options(skip_identical, changed, leave_segments)
        items = self._plan_upload(container, paths, object_names, prefix, tuple(ignore))
        run, subs = self._start(subscribers, progress, "upload")
        try:
            files = [item for item in items if not isinstance(item, TransferResult)]
            total = sum(size for _, _, size, _ in files)
            for sub in subs:
                sub.on_start(total, len(items))
            names = [name for _, name, _, _ in files]
            try:
                existing = self._prepare_container(container, _common_prefix(names))
            except errors.VelocityError as exc:
                return self._drive(run, subs, [
                    TransferResult("upload", container, name, path, error=exc)
                    for path, name, _, _ in files])
            thresholds = (self._threshold(), self._use_slo())
            extra = dict(headers or {})

            def jobs() -> Iterator[Any]:
                for item in items:
                    if isinstance(item, TransferResult):
                        yield item
                        continue
                    path, name, size, mtime = item
                    result = TransferResult("upload", container, name, path)
                    entry = existing.get(name)

                    def fn(done: list[TransferResult], path: str = path, name: str = name,
                           size: int = size, mtime: float = mtime,
                           entry: dict[str, Any] | None = entry) -> None:
                        self._upload_file(run, opts, thresholds, container, name, path, size,
                                          mtime, entry, extra, done[0])
                    yield _Job([result], fn)

            return self._drive(run, subs, jobs())
        finally:
            self._finish(run, subs)

    def _options(self, skip_identical: bool | None, changed: bool | None,
                 leave_segments: bool | None) -> TransferConfig:
        config = self.config
        return TransferConfig(
            segment_size=config.segment_size, segment_threshold=config.segment_threshold,
            object_threads=config.object_threads, segment_threads=config.segment_threads,
            use_slo=config.use_slo, checksum=config.checksum, retries=config.retries,
            skip_identical=config.skip_identical if skip_identical is None else skip_identical,
            changed=config.changed if changed is None else changed,
            leave_segments=config.leave_segments if leave_segments is None else leave_segments)

    def _prepare_container(self, container: str, prefix: str) -> dict[str, dict[str, Any]]:
        """One listing of what may be overwritten; creates the container when missing."""
        existing = self._listing(container, prefix)
        if existing is None:
            self._call("put_container", container)
            return {}
        return existing

    def _plan_upload(self, container: str, paths: Any, object_names: Sequence[str] | None,
                     prefix: str | None, ignore: tuple[str, ...]
                     ) -> list[tuple[str, str, int, float] | TransferResult]:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        paths = [os.fspath(p) for p in paths]
        if object_names is not None:
            if isinstance(object_names, str):
                object_names = [object_names]
            if len(object_names) != len(paths):
                raise errors.ConfigurationError(
                    "object_names has %d names for %d paths" % (len(object_names), len(paths)))
        prefix = prefix or ""
        items: list[tuple[str, str, int, float] | TransferResult] = []

        def add(path: str, name: str) -> None:
            try:
                check_object_name(name)
                st = os.stat(path)
                items.append((path, name, st.st_size, st.st_mtime))
            except errors.VelocityError as exc:
                items.append(TransferResult("upload", container, name, path, error=exc))
            except OSError as exc:
                items.append(TransferResult("upload", container, name, path,
                                            error=errors.VelocityError(
                                                "cannot read %s: %s" % (path, exc.strerror))))

        def ignored(rel: str) -> bool:
            base = rel.rsplit("/", 1)[-1]
            return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(base, pat) for pat in ignore)

        for index, path in enumerate(paths):
            given = object_names[index] if object_names is not None else None
            if os.path.isdir(path):
                base = prefix + (given.rstrip("/") + "/" if given else "")
                for root, dirs, files in os.walk(path):
                    rel_root = os.path.relpath(root, path)
                    rel_root = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
                    dirs[:] = sorted(d for d in dirs if not ignored(rel_root + d))
                    for name in sorted(files):
                        rel = rel_root + name
                        if ignored(rel):
                            continue
                        full = os.path.join(root, name)
                        if not os.path.isfile(full):
                            continue  # sockets, FIFOs, broken links
                        add(full, base + rel)
            elif os.path.exists(path):
                if ignored(os.path.basename(path)):
                    continue
                if not stat.S_ISREG(os.stat(path).st_mode):
                    items.append(TransferResult(
                        "upload", container, prefix + (given or os.path.basename(path)), path,
                        error=errors.VelocityError("%s is not a regular file" % path)))
                    continue
                add(path, prefix + (given or os.path.basename(path)))
            else:
                items.append(TransferResult(
                    "upload", container, prefix + (given or os.path.basename(path)), path,
                    error=errors.VelocityError("no such file or folder: %s" % path)))
        return items

    def _upload_file(self, run: _Run, opts: TransferConfig, thresholds: tuple[int, bool],
                     container: str, name: str, path: str, size: int, mtime: float,
                     entry: dict[str, Any] | None, extra: dict[str, str],
                     result: TransferResult) -> None:
        threshold, use_slo = thresholds
        headers = dict(extra)
        headers["X-Object-Meta-Mtime"] = "%f" % mtime
        info = None
        if entry is not None and (opts.skip_identical or opts.changed or not opts.leave_segments):
            need_inspect = (opts.skip_identical or opts.changed or "slo_etag" in entry
                            or int(entry.get("bytes", 0)) == 0)
            if need_inspect:
                info = self._inspect(container, name, entry,
                                     want_mtime=opts.changed and
                                     int(entry.get("bytes", -1)) == size)
        if info is not None:
            if opts.changed and info.size == size and info.mtime == headers["X-Object-Meta-Mtime"]:
                self._skipped(run, result, size, info)
                return
            if opts.skip_identical and self._same_bytes(run, path, size, info):
                self._skipped(run, result, size, info)
                return
        if size > threshold:
            keep = self._upload_segmented(run, opts, use_slo, container, name, path, size,
                                          headers, result)
        else:
            self._put_file(run, opts, container, name, path, size, headers, result)
            keep = set()
        if not opts.leave_segments:
            self._remove_old_segments(info, keep)

    @staticmethod
    def _skipped(run: _Run, result: TransferResult, size: int, info: _Existing) -> None:
        result.ok = result.skipped = True
        result.bytes = size
        result.etag = info.etag
        run.progress(size)

    def _put_file(self, run: _Run, opts: TransferConfig, container: str, name: str, path: str,
                  size: int, headers: dict[str, str], result: TransferResult) -> None:
        if size <= _SMALL:
            with open(path, "rb") as handle:
                data = handle.read(size + 1)
            if len(data) != size:
                raise errors.IncompleteSend("%s changed size while it was being uploaded" % path)
            run.check()
            etag = _md5_bytes(data) if opts.checksum else None
            returned = self._call("put_small_object", container, name, data, etag=etag,
                                  headers=headers)
            run.progress(size)
        else:
            # the ETag goes first, so Swift refuses damaged data before it replaces
            # the object: that costs a read of the file before sending it
            etag = _file_md5(path, 0, size, run) if opts.checksum else None
            with open(path, "rb") as handle:
                reader = _Reader(handle, 0, size, run)
                returned = self._call("put_object_stream", container, name, reader, size,
                                      etag=etag, headers=headers)
        self._check_etag(etag, returned, container, name)
        result.ok = True
        result.bytes = size
        result.etag = _unquote_etag(returned) or etag

    @staticmethod
    def _check_etag(expected: str | None, returned: str | None, container: str,
                    name: str) -> None:
        if expected and _unquote_etag(returned) != expected:
            raise errors.ChecksumMismatch(
                "the server stored %s/%s with ETag %s, but the data sent has MD5 %s"
                % (container, name, _unquote_etag(returned), expected),
                method="PUT", path="/%s/%s" % (container, name))

    def _segment_names(self, name: str, kind: str, size: int | None, seg_size: int) -> str:
        stamp = "%.6f" % time.time()
        return "%s/%s/%s/%s/%d/" % (name, kind, stamp, "unknown" if size is None else size,
                                    seg_size)

    def _upload_segmented(self, run: _Run, opts: TransferConfig, use_slo: bool, container: str,
                          name: str, path: str, size: int, headers: dict[str, str],
                          result: TransferResult) -> set[str]:
        seg_size = self._segment_size(size)
        seg_container = container + "_segments"
        self._call("put_container", seg_container)
        base = self._segment_names(name, "slo" if use_slo else "dlo", size, seg_size)
        _, segment_pool = self._pools()
        abort = threading.Event()
        plan = [(index, offset, min(seg_size, size - offset))
                for index, offset in enumerate(range(0, size, seg_size))]
        futures: list[Future[tuple[str, str, int]]] = [
            segment_pool.submit(self._put_segment, run, opts, abort, seg_container,
                                "%s%08d" % (base, index), path, offset, length)
            for index, offset, length in plan]
        names = ["%s%08d" % (base, index) for index, _, _ in plan]
        segments = self._gather(futures, abort, seg_container, names)
        self._commit_manifest(run, use_slo, container, name, seg_container, base, segments,
                              headers, result)
        return {"/%s/%s" % (seg_container, seg) for seg, _, _ in segments}

    def _gather(self, futures: list[Future[Any]], abort: threading.Event,
                seg_container: str, names: list[str]) -> list[Any]:
        """Wait for every segment; on any failure stop the others and delete
        every segment that was started (even a failed one may be stored),
        then raise the first error."""
        done, first = _wait_all(futures, abort)
        if first is not None:
            self._delete_paths(["/%s/%s" % (seg_container, name)
                                for name, future in zip(names, futures)
                                if not future.cancelled()])
            raise first
        return done

    def _put_segment(self, run: _Run, opts: TransferConfig, abort: threading.Event,
                     seg_container: str, seg_name: str, path: str, offset: int,
                     length: int) -> tuple[str, str, int]:
        self._bind(run)
        attempt = 0
        while True:
            run.check()
            if abort.is_set():
                raise errors.TransferCancelled("stopped: another segment failed")
            try:
                # hashed while it is sent, checked against the ETag Swift computed: a
                # segment is invisible until the manifest names it, so a bad one is
                # simply sent again (one read of the file instead of two)
                with open(path, "rb") as handle:
                    reader = _Reader(handle, offset, length, run, abort, hashing=opts.checksum)
                    returned = self._call("put_object_stream", seg_container, seg_name,
                                          reader, length)
                etag = reader.digest.hexdigest() if reader.digest is not None else None
                self._check_etag(etag, returned, seg_container, seg_name)
                return seg_name, _unquote_etag(returned) or etag or "", length
            except (errors.ChecksumMismatch, errors.IncompleteSend):
                if attempt >= opts.retries:
                    raise
                attempt += 1
                log.info("segment %s/%s failed verification; retrying", seg_container, seg_name)

    def _commit_manifest(self, run: _Run, use_slo: bool, container: str, name: str,
                         seg_container: str, base: str, segments: list[tuple[str, str, int]],
                         headers: dict[str, str], result: TransferResult) -> None:
        """Write the manifest (the object becomes visible).  On failure, never
        leave a visible object whose segments are gone: see
        :meth:`_after_failed_manifest`."""
        paths = ["/%s/%s" % (seg_container, seg) for seg, _, _ in segments]
        dlo_manifest = "%s/%s" % (quote(seg_container), quote(base))
        expected = None
        if use_slo and all(e for _, e, _ in segments):
            expected = _md5_bytes("".join(e for _, e, _ in segments).encode("ascii"))
        try:
            run.check()
            if use_slo:
                manifest = json.dumps([{"path": p, "etag": etag or None, "size_bytes": length}
                                       for p, (_, etag, length) in zip(paths, segments)])
                returned = self._call("put_object", container, name, manifest.encode("utf-8"),
                                      headers=headers, query_string="multipart-manifest=put")
                self._check_etag(expected, returned, container, name)
                etag = _unquote_etag(returned)
            else:
                headers = dict(headers)
                headers["X-Object-Manifest"] = dlo_manifest
                self._call("put_object", container, name, b"", content_length=0,
                           headers=headers)
                etag = None
        except errors.ChecksumMismatch:
            # stored, but not what was sent: take it down with its segments
            self._delete_paths(["/%s/%s" % (container, name)] + paths)
            raise
        except BaseException:
            if not self._after_failed_manifest(container, name, use_slo, expected,
                                               dlo_manifest, paths):
                raise
            etag = expected
        result.ok = True
        result.bytes = sum(length for _, _, length in segments)
        result.etag = etag
        result.segments = len(segments)

    def _after_failed_manifest(self, container: str, name: str, use_slo: bool,
                               expected: str | None, dlo_manifest: str,
                               paths: list[str]) -> bool:
        """The manifest PUT failed, or its answer was lost.  Look: if this
        manifest is in place after all, the upload succeeded (``True``); if
        it is not, delete the segments (``False``); if the object cannot be
        looked at, keep the segments, unseen garbage rather than a visible
        object with missing parts (``False``)."""
        try:
            headers = self._call("head_object", container, name)
        except errors.NoSuchObject:
            headers = {}
        except BaseException:  # noqa: BLE001 - the store cannot be asked
            log.warning("the manifest of %s/%s may or may not be stored; its %d segments "
                        "are kept", container, name, len(paths))
            return False
        if use_slo:
            ours = (headers.get("x-static-large-object", "").lower() == "true"
                    and expected is not None and _unquote_etag(headers.get("etag")) == expected)
        else:
            ours = headers.get("x-object-manifest") in (dlo_manifest, unquote(dlo_manifest))
        if ours:
            log.info("the manifest of %s/%s is stored although its PUT failed", container,
                     name)
            return True
        self._delete_paths(paths)
        return False

    # -- upload from a stream -------------------------------------------------------

    def upload_stream(self, container: str, name: str, stream_or_iterable: Any, *,
                      size: int | None = None, headers: dict[str, str] | None = None,
                      subscribers: Iterable[ProgressSubscriber] | None = None,
                      progress: bool = False, leave_segments: bool | None = None
                      ) -> TransferResult:
        """Upload from a binary file-like object or an iterable of ``bytes``.

        :param size: the length, when known.  A stream of unknown length is
            read one segment at a time: when it ends within the first
            ``segment_size`` bytes it becomes one plain object, otherwise it is
            uploaded as segments as it comes, with the manifest written last.
            A known ``size`` above ``segment_threshold`` is segmented too.
        :returns: one :class:`TransferResult` (never raises for a failed transfer)

        Each segment is buffered (in memory up to 8 MiB, beyond that in a
        temporary file), so it can be verified and retried.
        """
        check_container_name(container)
        check_object_name(name)
        if size is not None and (not isinstance(size, int) or size < 0):
            raise errors.InvalidObjectSize("size must be a non-negative integer, got %r" % size)
        opts = self._options(None, None, leave_segments)
        run, subs = self._start(subscribers, progress, "upload")
        result = TransferResult("upload", container, name, None)
        try:
            for sub in subs:
                sub.on_start(size, 1)

            def fn(done: list[TransferResult]) -> None:
                self._upload_stream(run, opts, container, name, _Stream(stream_or_iterable),
                                    size, dict(headers or {}), done[0])

            return self._drive(run, subs, [_Job([result], fn)])[0]
        finally:
            self._finish(run, subs)

    def _spool(self, run: _Run, source: _Stream, limit: int) -> tuple[Any, int, str]:
        """Read up to ``limit`` bytes into a rewound spool; ``(spool, size, md5)``."""
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)
        digest = _md5()
        got = 0
        try:
            while got < limit:
                run.check()
                data = source.read(min(_CHUNK, limit - got))
                if not data:
                    break
                digest.update(data)
                spool.write(data)
                got += len(data)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool, got, digest.hexdigest()

    def _upload_stream(self, run: _Run, opts: TransferConfig, container: str, name: str,
                       source: _Stream, size: int | None, headers: dict[str, str],
                       result: TransferResult) -> None:
        existing = self._prepare_container(container, name)
        entry = existing.get(name)
        info = None
        if entry is not None and not opts.leave_segments and (
                "slo_etag" in entry or int(entry.get("bytes", 0)) == 0):
            info = self._inspect(container, name, entry, want_mtime=False)
        threshold = self._threshold()
        if size is not None and size <= threshold:
            first_limit = size
        else:
            first_limit = self._segment_size(size or self.config.segment_size)
        spool, got, etag = self._spool(run, source, first_limit)
        try:
            more = source.read(1) if got == first_limit else b""
            if not more:
                if size is not None and got != size:
                    raise errors.IncompleteSend("the stream gave %d bytes, not the %d announced"
                                                % (got, size))
                returned = self._call("put_object", container, name, spool, content_length=got,
                                      etag=etag if opts.checksum else None, headers=headers)
                self._check_etag(etag if opts.checksum else None, returned, container, name)
                run.progress(got)
                result.ok, result.bytes = True, got
                result.etag = _unquote_etag(returned) or etag
                keep: set[str] = set()
            else:
                keep = self._stream_segments(run, opts, container, name, source, size, spool,
                                             got, etag, more, headers, result)
        finally:
            spool.close()
        if not opts.leave_segments:
            self._remove_old_segments(info, keep)

    def _stream_segments(self, run: _Run, opts: TransferConfig, container: str, name: str,
                         source: _Stream, size: int | None, spool: Any, got: int, etag: str,
                         carry: bytes, headers: dict[str, str], result: TransferResult
                         ) -> set[str]:
        use_slo = self._use_slo()
        seg_size = got
        seg_container = container + "_segments"
        self._call("put_container", seg_container)
        base = self._segment_names(name, "slo" if use_slo else "dlo", size, seg_size)
        segments: list[tuple[str, str, int]] = []
        total = 0
        try:
            index = 0
            while True:
                seg_name = "%s%08d" % (base, index)
                returned = self._call("put_object", seg_container, seg_name, spool,
                                      content_length=got, etag=etag if opts.checksum else None)
                self._check_etag(etag if opts.checksum else None, returned, seg_container,
                                 seg_name)
                segments.append((seg_name, _unquote_etag(returned) or etag, got))
                run.progress(got)
                total += got
                spool.close()
                if not carry:
                    break
                index += 1
                spool, got, etag = self._spool(run, _Prepend(carry, source), seg_size)
                carry = source.read(1) if got == seg_size else b""
            if size is not None and total != size:
                raise errors.IncompleteSend("the stream gave %d bytes, not the %d announced"
                                            % (total, size))
        except BaseException:
            self._delete_paths(["/%s/%s" % (seg_container, s) for s, _, _ in segments])
            raise
        self._commit_manifest(run, use_slo, container, name, seg_container, base, segments,
                              headers, result)
        return {"/%s/%s" % (seg_container, s) for s, _, _ in segments}

    # -- download -----------------------------------------------------------------------

    def download(self, container: str, names: Sequence[str] | None = None,
                 out_dir: PathLike = ".", prefix: str | None = None,
                 remove_prefix: bool = False, skip_identical: bool = False, *,
                 subscribers: Iterable[ProgressSubscriber] | None = None,
                 progress: bool = False) -> list[TransferResult]:
        """Download objects into ``out_dir`` (object ``a/b.txt`` becomes
        ``out_dir/a/b.txt``).

        :param names: the objects; all of the container's (under ``prefix``)
            when omitted
        :param prefix: only objects whose names start with it
        :param remove_prefix: leave ``prefix`` out of the local paths
        :param skip_identical: do not download an object whose local file
            already holds the same bytes (MD5 compared)
        :returns: one :class:`TransferResult` per object; a name that would
            land outside ``out_dir`` fails with
            :class:`~velocity.errors.UnsafePath`

        Each file is written to a temporary file in its destination folder,
        verified, then renamed into place; large objects are fetched as
        parallel byte ranges (per segment for static large objects).
        """
        check_container_name(container)
        out = os.path.abspath(os.fspath(out_dir))
        prefix = prefix or ""
        run, subs = self._start(subscribers, progress, "download")
        try:
            if names is None:
                try:
                    listing = list(self._listing_strict(container, prefix))
                except errors.VelocityError as exc:
                    for sub in subs:
                        sub.on_start(0, 0)
                    return self._drive(run, subs, [
                        TransferResult("download", container, None, out, error=exc)])
                entries: list[tuple[str, dict[str, Any] | None]] = [
                    (entry["name"], entry) for entry in listing if "name" in entry]
                total: int | None = sum(int(e.get("bytes", 0)) for _, e in entries if e)
            else:
                if isinstance(names, str):
                    names = [names]
                entries = [(n, None) for n in names if n.startswith(prefix)]
                total = None
            for sub in subs:
                sub.on_start(total, len(entries))
            os.makedirs(out, exist_ok=True)

            def jobs() -> Iterator[Any]:
                for name, entry in entries:
                    local = name[len(prefix):] if remove_prefix and prefix else name
                    try:
                        dest = safe_local_path(out, local)
                    except errors.UnsafePath as exc:
                        yield TransferResult("download", container, name, None, error=exc)
                        continue
                    result = TransferResult("download", container, name, dest)

                    def fn(done: list[TransferResult], name: str = name, dest: str = dest,
                           entry: dict[str, Any] | None = entry) -> None:
                        self._download_one(run, container, name, dest, entry, skip_identical,
                                           done[0])
                    yield _Job([result], fn)

            return self._drive(run, subs, jobs())
        finally:
            self._finish(run, subs)

    def _listing_strict(self, container: str, prefix: str) -> Iterator[dict[str, Any]]:
        return self.client.iter_container(container, prefix=prefix or None)

    def _download_one(self, run: _Run, container: str, name: str, dest: str,
                      entry: dict[str, Any] | None, skip_identical: bool,
                      result: TransferResult) -> None:
        if name.endswith("/") and entry is not None and int(entry.get("bytes", 0)) == 0:
            os.makedirs(dest, exist_ok=True)  # a folder marker
            result.ok = True
            return
        if skip_identical and os.path.isfile(dest):
            info = self._inspect(container, name, entry, want_mtime=False)
            if info is None:
                raise errors.NoSuchObject("no object %r in container %r" % (name, container),
                                          status=404, method="HEAD",
                                          path="/%s/%s" % (container, name))
            local_size = os.path.getsize(dest)
            if self._same_bytes(run, dest, local_size, info):
                result.ok = result.skipped = True
                result.bytes = local_size
                result.etag = info.etag
                run.progress(local_size)
                return
        attempt = 0
        while True:
            try:
                self._fetch(run, container, name, dest, result)
                return
            except (errors.ChecksumMismatch, errors.IncompleteSend) as exc:
                if attempt >= self.config.retries:
                    raise
                attempt += 1
                log.info("download of %s/%s failed verification (%s); retrying",
                         container, name, exc)

    def _fetch(self, run: _Run, container: str, name: str, dest: str,
               result: TransferResult) -> None:
        headers, body = self._call("get_object_stream", container, name,
                                   query_string="multipart-manifest=get")
        temp: _TempFile | None = None
        try:
            if headers.get("x-static-large-object", "").lower() == "true":
                # blocks may be views of one reused buffer: copy each
                manifest = b"".join(bytes(block) for block in body)
                info = self._manifest_info(json.loads(manifest), headers)
                temp = _TempFile(dest)
                whole = all(s[1] is not None and s[0].count("/") >= 2 for s in info.segments)
                self._fetch_ranges(run, container, name, temp, info.size,
                                   [(s[1], s[2]) for s in info.segments], None,
                                   [s[0] for s in info.segments] if whole else None)
                result.segments = len(info.segments)
                result.etag = info.etag
                size = info.size
            elif headers.get("x-object-manifest"):
                _close(body)
                headers, body = self._call("get_object_stream", container, name)
                size = int(headers.get("content-length", -1))
                temp = _TempFile(dest)
                self._write_body(run, body, temp.fd, 0, size, None)
                result.etag = _unquote_etag(headers.get("etag"))
            else:
                size = int(headers["content-length"])
                etag = _unquote_etag(headers.get("etag")) if self.config.checksum else None
                temp = _TempFile(dest)
                part = self.config.segment_size
                if size > 2 * part and self.config.segment_threads > 1:
                    os.ftruncate(temp.fd, size)
                    parts = [(None, min(part, size - off)) for off in range(0, size, part)]
                    self._fetch_ranges(run, container, name, temp, size, parts, body)
                    if etag and _fd_md5(temp.fd, size, run) != etag:
                        raise errors.ChecksumMismatch(
                            "the data of %s/%s does not match its ETag" % (container, name),
                            method="GET", path="/%s/%s" % (container, name))
                else:
                    got = self._write_body(run, body, temp.fd, 0, size, etag)
                    if got != size:
                        raise errors.IncompleteSend("got %d of %d bytes of %s/%s"
                                                    % (got, size, container, name))
                result.etag = etag or _unquote_etag(headers.get("etag"))
            temp.commit(headers.get("x-object-meta-mtime"))
            temp = None
            result.ok = True
            result.bytes = size
        finally:
            if temp is not None:
                temp.discard()
            _close(body)

    def _manifest_info(self, segments: list[dict[str, Any]], headers: dict[str, str]
                       ) -> _Existing:
        parts = []
        for item in segments:
            size = int(item.get("bytes", 0))
            checked = item.get("hash")
            if item.get("range"):
                first, _, last = str(item["range"]).partition("-")
                size = int(last) - int(first) + 1 if first and last else size
                checked = None
            if item.get("sub_slo"):
                checked = None
            parts.append((item.get("name", ""), checked, size))
        return _Existing("slo", sum(p[2] for p in parts),
                         _unquote_etag(headers.get("x-manifest-etag") or headers.get("etag")),
                         headers.get("x-object-meta-mtime"), parts)

    def _write_body(self, run: _Run, body: Iterable[bytes], fd: int, offset: int, length: int,
                    etag: str | None, abort: threading.Event | None = None) -> int:
        """Write a response body at ``offset``; verify its length and MD5."""
        digest = _md5() if etag else None
        got = 0
        for chunk in body:
            run.check()
            if abort is not None and abort.is_set():
                raise errors.TransferCancelled("stopped: another part of this object failed")
            if length >= 0 and got + len(chunk) > length:
                raise errors.IncompleteSend("received more bytes than announced")
            _pwrite_all(fd, chunk, offset + got)
            if digest is not None:
                digest.update(chunk)
            got += len(chunk)
            run.progress(len(chunk))
        if length >= 0 and got != length:
            raise errors.IncompleteSend("received %d of %d bytes" % (got, length))
        if digest is not None and digest.hexdigest() != etag:
            raise errors.ChecksumMismatch("received data does not match its ETag %s" % etag)
        return got

    def _fetch_ranges(self, run: _Run, container: str, name: str, temp: _TempFile, size: int,
                      parts: list[tuple[str | None, int]], first_body: Any,
                      sources: list[str] | None = None) -> None:
        """Fetch ``parts`` (``(md5 or None, length)`` in order) in parallel:
        from ``sources`` (segment paths ``/container/object``) when given,
        else as byte ranges of the object; the first part comes from
        ``first_body`` when given."""
        _, segment_pool = self._pools()
        abort = threading.Event()
        futures: list[Future[Any]] = []
        offset = 0
        first_task = None
        for index, (etag, length) in enumerate(parts):
            if length == 0:
                continue
            if index == 0 and first_body is not None:
                first_task = (offset, length)
            else:
                source = sources[index] if sources else None
                futures.append(segment_pool.submit(
                    self._get_range, run, abort, container, name, temp.fd, offset, length,
                    etag if self.config.checksum else None, source))
            offset += length
        if offset != size:
            abort.set()
            raise errors.IncompleteSend("the manifest of %s/%s lists %d bytes, not %d"
                                        % (container, name, offset, size))
        error: BaseException | None = None
        if first_task is not None:
            try:
                self._write_body(run, _limited(first_body, first_task[1]), temp.fd, 0,
                                 first_task[1], None, abort)
                _close(first_body)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                error = exc
                abort.set()
        _, error = _wait_all(futures, abort, error)
        if error is not None:
            raise error

    def _get_range(self, run: _Run, abort: threading.Event, container: str, name: str,
                   fd: int, offset: int, length: int, etag: str | None,
                   source: str | None = None) -> None:
        """One part: the whole segment ``source`` when given (one plain GET,
        no manifest work for the proxy), else a byte range of the object."""
        self._bind(run)
        attempt = 0
        while True:
            run.check()
            if abort.is_set():
                raise errors.TransferCancelled("stopped: another part of this object failed")
            if source is not None:
                seg_container, _, seg_name = source.lstrip("/").partition("/")
                try:
                    headers, body = self._call("get_object_stream", seg_container, seg_name)
                except (errors.NoSuchObject, errors.NoSuchContainer):
                    raise
                except errors.ResponseError as exc:
                    if exc.status not in (401, 403):
                        raise
                    source = None  # no read access to the segments: go through the manifest
                    continue
            else:
                headers, body = self._call(
                    "get_object_stream", container, name,
                    headers={"Range": "bytes=%d-%d" % (offset, offset + length - 1)})
            try:
                self._write_body(run, body, fd, offset, length, etag, abort)
                return
            except (errors.ChecksumMismatch, errors.IncompleteSend):
                if attempt >= self.config.retries:
                    raise
                attempt += 1
            finally:
                body.close()

    # -- delete ---------------------------------------------------------------------

    def delete(self, container: str, names: Sequence[str] | None = None,
               prefix: str | None = None, *,
               subscribers: Iterable[ProgressSubscriber] | None = None,
               progress: bool = False) -> list[TransferResult]:
        """Delete objects, with the segments of segmented ones (unless
        ``leave_segments``), through the cluster's bulk-delete middleware
        when it has one.

        :param names: the objects; every object under ``prefix`` (the whole
            container when no prefix) when omitted
        :returns: one :class:`TransferResult` per object
        """
        check_container_name(container)
        prefix = prefix or ""
        run, subs = self._start(subscribers, progress, "delete")
        try:
            if names is not None and isinstance(names, str):
                names = [names]
            look = prefix if names is None else _common_prefix(list(names))
            listing = self._listing(container, look)
            if listing is None:
                for sub in subs:
                    sub.on_start(None, 0)
                return self._drive(run, subs, [TransferResult(
                    "delete", container, None, error=errors.NoSuchContainer(
                        "no container %r" % container, status=404, method="GET",
                        path="/" + container))])
            if names is None:
                targets = [n for n in listing if n.startswith(prefix)]
            else:
                targets = [n for n in names if n.startswith(prefix)]
            for sub in subs:
                sub.on_start(None, len(targets))
            caps = self._capabilities()
            bulk = caps.get("bulk_delete")
            size = int(bulk.get("max_deletes_per_request", 10000)) if bulk else 1
            chunk = max(1, min(size, -(-len(targets) // self.config.object_threads), 1000))
            listed = [n for n in targets if n in listing and "\n" not in n]
            single = [n for n in targets if n not in listing or "\n" in n]
            jobs: list[Any] = []
            if bulk:
                for start in range(0, len(listed), chunk):
                    group = listed[start:start + chunk]
                    results = [TransferResult("delete", container, n) for n in group]
                    jobs.append(_Job(results, lambda done, group=group: self._bulk_job(
                        run, container, group, listing, done)))
            else:
                single = listed + single
            for name in single:
                jobs.append(_Job([TransferResult("delete", container, name)],
                                 lambda done, name=name: self._delete_one(
                                     run, container, name, listing.get(name), done[0])))
            return self._drive(run, subs, jobs)
        finally:
            self._finish(run, subs)

    def _segments_of(self, container: str, name: str, entry: dict[str, Any] | None
                     ) -> list[str]:
        if self.config.leave_segments:
            return []
        if entry is not None and "slo_etag" not in entry and int(entry.get("bytes", 0)) > 0:
            return []
        info = self._inspect(container, name, entry, want_mtime=False)
        if info is None or info.kind == "plain":
            return []
        return [p for p, _, _ in info.segments]

    def _bulk_job(self, run: _Run, container: str, group: list[str],
                  listing: dict[str, dict[str, Any]], done: list[TransferResult]) -> None:
        segments = {name: self._segments_of(container, name, listing.get(name))
                    for name in group}
        run.check()
        failed = dict(self._delete_paths(["/%s/%s" % (container, n) for n in group]))
        for name, result in zip(group, done):
            error = failed.get("/%s/%s" % (container, name))
            if error is not None:
                result.error = error
                continue
            seg_failed = self._delete_paths(segments[name])
            if seg_failed:
                result.error = errors.ResponseError(
                    "deleted %s but %d of its segments could not be removed: %s"
                    % (name, len(seg_failed), seg_failed[0][1]))
                continue
            result.ok = True
            result.segments = len(segments[name])
            bytes_ = listing.get(name, {}).get("bytes", 0)
            result.bytes = int(bytes_)

    def _delete_one(self, run: _Run, container: str, name: str, entry: dict[str, Any] | None,
                    result: TransferResult) -> None:
        segments = self._segments_of(container, name, entry)
        run.check()
        self._call("delete_object", container, name)
        failed = self._delete_paths(segments)
        if failed:
            raise errors.ResponseError("deleted %s but %d of its segments could not be "
                                       "removed: %s" % (name, len(failed), failed[0][1]))
        result.ok = True
        result.segments = len(segments)
        result.bytes = int((entry or {}).get("bytes", 0))

    def _delete_paths(self, paths: Sequence[str]) -> list[tuple[str, errors.VelocityError]]:
        """Delete ``/container/object`` paths (bulk when possible; missing ones
        count as deleted); returns the failures.  Ignores cancellation: this
        is the clean-up."""
        if not paths:
            return []
        bulk = self._capabilities().get("bulk_delete")
        failures: list[tuple[str, errors.VelocityError]] = []
        if bulk and len(paths) > 1:
            size = max(1, int(bulk.get("max_deletes_per_request", 10000)))
            for start in range(0, len(paths), size):
                failures += self._bulk_delete(paths[start:start + size])
            return failures
        for path in paths:
            cont, _, obj = path.lstrip("/").partition("/")
            try:
                self._call("delete_object", cont, obj)
            except errors.NoSuchObject:
                pass
            except errors.VelocityError as exc:
                failures.append((path, exc))
        return failures

    def _bulk_delete(self, paths: Sequence[str]) -> list[tuple[str, errors.VelocityError]]:
        body = "\n".join(quote(p) for p in paths).encode("utf-8")
        try:
            _, reply = self._call("post_account", headers={
                "Content-Type": "text/plain", "Accept": "application/json"},
                query_string="bulk-delete", data=body)
            answer = json.loads(reply)
        except errors.VelocityError as exc:
            return [(p, exc) for p in paths]
        except ValueError:
            error = errors.ResponseError("the bulk delete answer could not be read",
                                         method="POST", path="/?bulk-delete")
            return [(p, error) for p in paths]
        failures = []
        for path, status in answer.get("Errors") or []:
            code = int(str(status).split(" ", 1)[0]) if str(status)[:3].isdigit() else None
            failures.append((unquote(path), errors.ResponseError(
                "could not delete %s" % unquote(path), status=code, reason=str(status),
                method="DELETE", path=unquote(path))))
        status = str(answer.get("Response Status", "200"))
        if not failures and not status.startswith("2"):
            error = errors.ResponseError("bulk delete failed: %s" % status, method="POST",
                                         path="/?bulk-delete",
                                         reason=answer.get("Response Body") or status)
            return [(p, error) for p in paths]
        return failures

    # -- head / exists ----------------------------------------------------------------

    def head(self, container: str, names: Sequence[str], *,
             subscribers: Iterable[ProgressSubscriber] | None = None,
             progress: bool = False) -> list[TransferResult]:
        """HEAD every object in parallel: ``ok`` when it exists, with its size
        (``bytes``), ``etag`` and ``headers``; a missing one fails with
        :class:`~velocity.errors.NoSuchObject`."""
        check_container_name(container)
        if isinstance(names, str):
            names = [names]
        run, subs = self._start(subscribers, progress, "head")
        try:
            for sub in subs:
                sub.on_start(None, len(names))

            def fn(done: list[TransferResult]) -> None:
                result = done[0]
                headers = self._call("head_object", container, result.name)
                result.headers = headers
                result.bytes = int(headers.get("content-length", 0))
                result.etag = _unquote_etag(headers.get("etag"))
                result.ok = True

            return self._drive(run, subs, (
                _Job([TransferResult("head", container, name)], fn) for name in names))
        finally:
            self._finish(run, subs)

    def exists(self, container: str, name: str) -> bool:
        """Whether the object exists (one HEAD request)."""
        check_container_name(container)
        try:
            self._call("head_object", container, name)
        except (errors.NoSuchObject, errors.NoSuchContainer):
            return False
        return True


# -- helpers --------------------------------------------------------------------------


class _Prepend:
    """A reader that returns ``first`` before reading ``source``."""

    def __init__(self, first: bytes, source: _Stream) -> None:
        self.first = first
        self.source = source

    def read(self, size: int) -> bytes:
        if self.first:
            data, self.first = self.first[:size], self.first[size:]
            return data
        return self.source.read(size)


def _wait_all(futures: list[Future[Any]], abort: threading.Event,
              error: BaseException | None = None) -> tuple[list[Any], BaseException | None]:
    """Wait for every part of one object.  At a failure, set ``abort`` (the
    running parts stop at their next block) and cancel those not started.
    Returns the results of the parts that succeeded and the first error
    (``error`` if one came earlier)."""
    done: list[Any] = []
    for future in futures:
        try:
            done.append(future.result())
        except BaseException as exc:  # noqa: BLE001 - returned to the caller
            if error is None:
                error = exc
            abort.set()
            for other in futures:
                other.cancel()
    return done, error


def _limited(body: Iterable[bytes], length: int) -> Iterator[bytes]:
    """The first ``length`` bytes of a streamed body (chunks may be split)."""
    left = length
    for chunk in body:
        if len(chunk) >= left:
            yield chunk[:left]
            return
        left -= len(chunk)
        yield chunk


def _close(body: Any) -> None:
    try:
        body.close()
    except Exception:  # noqa: BLE001 - closing is best effort
        log.debug("closing a response failed", exc_info=True)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _md5_bytes(data: bytes) -> str:
    digest = _md5()
    digest.update(data)
    return digest.hexdigest()


def _handle_md5(handle: BinaryIO, offset: int, length: int, run: _Run | None) -> str:
    digest = _md5()
    handle.seek(offset)
    left = length
    while left > 0:
        if run is not None:
            run.check()
        data = handle.read(min(_CHUNK, left))
        if not data:
            raise errors.IncompleteSend("the file shrank while it was being read")
        digest.update(data)
        left -= len(data)
    return digest.hexdigest()


def _file_md5(path: str, offset: int, length: int, run: _Run | None) -> str:
    with open(path, "rb") as handle:
        return _handle_md5(handle, offset, length, run)


def _fd_md5(fd: int, length: int, run: _Run | None) -> str:
    digest = _md5()
    offset = 0
    while offset < length:
        if run is not None:
            run.check()
        data = os.pread(fd, min(_CHUNK * 4, length - offset), offset)
        if not data:
            break
        digest.update(data)
        offset += len(data)
    return digest.hexdigest()
