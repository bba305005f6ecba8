"""The :class:`TransferManager` (see :mod:`velocity.transfer` for what it
guarantees): its threads, its public calls, and the loop on the caller's
thread that schedules a call's jobs and delivers their reports.

The work itself is done elsewhere: :mod:`~velocity.transfer.plan` turns a
call into jobs; :mod:`~velocity.transfer.upload`,
:mod:`~velocity.transfer.segments`, :mod:`~velocity.transfer.download` and
:mod:`~velocity.transfer.delete` do them; a
:class:`~velocity.transfer.coordinator.Coordinator` per call owns its
cancellation and the clean-up after a failure.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar, Union

from velocity import errors
from velocity.auth import Credentials
from velocity.client import SwiftClient
from velocity.names import check_container_name, check_object_name
from velocity.progress import ProgressSubscriber, TqdmProgress
from velocity.transfer import cluster, plan, upload
from velocity.transfer.bodies import ByteSource, Stream
from velocity.transfer.config import WINDOW, TransferConfig, TransferResult, call_options
from velocity.transfer.coordinator import Coordinator, Task
from velocity.transfer.delete import Deletes
from velocity.transfer.download import Downloads
from velocity.transfer.localfs import PathLike

__all__ = ["TransferManager", "SupportsClient"]

J = TypeVar("J", plan.UploadJob, plan.DownloadJob, plan.DeleteJob)
#: a plan item, or a job made ready for the object pool
Item = Union[Task, TransferResult]


class SupportsClient(Protocol):
    """Anything that holds a :class:`~velocity.client.SwiftClient` as
    ``.client`` (such as :class:`velocity.Connection`)."""

    client: SwiftClient


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

    def __init__(self, connection_or_client: SwiftClient | Credentials | SupportsClient,
                 config: TransferConfig | None = None) -> None:
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
        self._runs: set[Coordinator] = set()
        self._object_pool: ThreadPoolExecutor | None = None
        self._segment_pool: ThreadPoolExecutor | None = None
        self._pid = os.getpid()
        self._current = threading.local()  # the call a thread works for

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
            run.cancel()

    # -- threads, and the loop on the caller's thread -------------------------------

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

    def _start(self, config: TransferConfig, subscribers: Iterable[ProgressSubscriber] | None,
               progress: bool, desc: str) -> tuple[Coordinator, list[ProgressSubscriber]]:
        subs = list(subscribers or ())
        if progress:
            subs.append(TqdmProgress(desc=desc))
        _, segment_pool = self._pools()
        run = Coordinator(self.client, config, segment_pool, self._current,
                          report_progress=bool(subs))
        run.bind()  # the caller's own requests heed cancel() too
        with self._lock:
            self._runs.add(run)
        return run, subs

    def _finish(self, run: Coordinator, subs: list[ProgressSubscriber]) -> None:
        run.unbind()
        with self._lock:
            self._runs.discard(run)
        for sub in subs:
            sub.on_done()

    def _drive(self, run: Coordinator, subs: list[ProgressSubscriber],
               items: Iterable[Item]) -> list[TransferResult]:
        return _drive(self._pools()[0], self.config.object_threads * WINDOW, run, subs, items)

    def _execute(self, run: Coordinator, subs: list[ProgressSubscriber], container: str,
                 items: Iterable[J | TransferResult],
                 work: Callable[[J, list[TransferResult]], None]) -> list[TransferResult]:
        """Run a plan: each job as ``work(job, its blank results)`` on the
        object pool; results known already are passed through."""

        def tasks() -> Iterable[Item]:
            for item in items:
                if isinstance(item, TransferResult):
                    yield item
                    continue
                results = item.results(container)
                yield Task(results, functools.partial(work, item, results))

        return self._drive(run, subs, tasks())

    # -- upload ---------------------------------------------------------------------

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
        config = call_options(self.config, skip_identical, changed, leave_segments)
        items = plan.upload_plan(container, paths, object_names, prefix, ignore)
        run, subs = self._start(config, subscribers, progress, "upload")
        try:
            jobs = [item for item in items if isinstance(item, plan.UploadJob)]
            for sub in subs:
                sub.on_start(sum(job.size for job in jobs), len(items))
            uploads = upload.FileUploads(run, container, headers)
            try:
                uploads.prepare([job.name for job in jobs])
            except errors.VelocityError as exc:
                return self._drive(run, subs, [
                    item if isinstance(item, TransferResult) else
                    TransferResult("upload", container, item.name, item.path, error=exc)
                    for item in items])
            return self._execute(run, subs, container, items, uploads.run)
        finally:
            self._finish(run, subs)

    def upload_stream(self, container: str, name: str, stream_or_iterable: ByteSource, *,
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
        config = call_options(self.config, leave_segments=leave_segments)
        run, subs = self._start(config, subscribers, progress, "upload")
        result = TransferResult("upload", container, name, None)
        try:
            for sub in subs:
                sub.on_start(size, 1)
            task = Task([result], lambda: upload.upload_stream(
                run, container, name, Stream(stream_or_iterable), size, dict(headers or {}),
                result))
            return self._drive(run, subs, [task])[0]
        finally:
            self._finish(run, subs)

    # -- download, delete, head -------------------------------------------------------

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
        run, subs = self._start(self.config, subscribers, progress, "download")
        try:
            total: int | None = None
            entries: list[tuple[str, cluster.Entry | None]]
            if names is None:
                try:
                    listing = list(self.client.iter_container(container, prefix=prefix or None))
                except errors.VelocityError as exc:
                    for sub in subs:
                        sub.on_start(0, 0)
                    return self._drive(run, subs, [
                        TransferResult("download", container, None, out, error=exc)])
                listed = [entry for entry in listing if "name" in entry]
                entries = [(entry["name"], entry) for entry in listed]
                total = sum(int(entry.get("bytes", 0)) for entry in listed)
            else:
                names = [names] if isinstance(names, str) else names
                entries = [(name, None) for name in names if name.startswith(prefix)]
            for sub in subs:
                sub.on_start(total, len(entries))
            os.makedirs(out, exist_ok=True)
            items = plan.download_plan(container, entries, out, prefix, remove_prefix)
            downloads = Downloads(run, container, skip_identical)
            return self._execute(run, subs, container, items, downloads.run)
        finally:
            self._finish(run, subs)

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
        run, subs = self._start(self.config, subscribers, progress, "delete")
        try:
            if isinstance(names, str):
                names = [names]
            look = prefix if names is None else plan.common_prefix(names)
            listing = cluster.listing(self.client, container, look)
            if listing is None:
                for sub in subs:
                    sub.on_start(None, 0)
                return self._drive(run, subs, [TransferResult(
                    "delete", container, None, error=errors.NoSuchContainer(
                        "no container %r" % container, status=404, method="GET",
                        path="/" + container))])
            targets = [name for name in (listing if names is None else names)
                       if name.startswith(prefix)]
            for sub in subs:
                sub.on_start(None, len(targets))
            bulk = cluster.capabilities(self.client).get("bulk_delete")
            bulk_size = int(bulk.get("max_deletes_per_request", 10000)) if bulk else None
            jobs = plan.delete_plan(targets, listing, bulk_size, self.config.object_threads)
            return self._execute(run, subs, container, jobs, Deletes(run, container).run)
        finally:
            self._finish(run, subs)

    def head(self, container: str, names: Sequence[str], *,
             subscribers: Iterable[ProgressSubscriber] | None = None,
             progress: bool = False) -> list[TransferResult]:
        """HEAD every object in parallel: ``ok`` when it exists, with its size
        (``bytes``), ``etag`` and ``headers``; a missing one fails with
        :class:`~velocity.errors.NoSuchObject`."""
        check_container_name(container)
        if isinstance(names, str):
            names = [names]
        run, subs = self._start(self.config, subscribers, progress, "head")
        try:
            for sub in subs:
                sub.on_start(None, len(names))
            tasks = []
            for name in names:
                result = TransferResult("head", container, name)
                tasks.append(Task([result], functools.partial(cluster.head_into,
                                                              self.client, result)))
            return self._drive(run, subs, tasks)
        finally:
            self._finish(run, subs)

    def exists(self, container: str, name: str) -> bool:
        """Whether the object exists (one HEAD request)."""
        check_container_name(container)
        try:
            self.client.call("head_object", container, name)
        except (errors.NoSuchObject, errors.NoSuchContainer):
            return False
        return True


def _drive(pool: ThreadPoolExecutor, limit: int, run: Coordinator,
           subs: list[ProgressSubscriber], items: Iterable[Item]) -> list[TransferResult]:
    """Run ``items`` (tasks, or results known already) on the object pool,
    at most ``limit`` tasks at once, while delivering the workers' reports
    to ``subs`` on this (the caller's) thread.  Returns every result, in the
    order the items came."""
    results: list[TransferResult] = []
    pending = iter(items)
    in_flight = 0
    exhausted = False

    def deliver(done: list[TransferResult]) -> None:
        for result in done:
            for sub in subs:
                sub.on_object_done(result)

    def handle(kind: str, value: object) -> None:
        nonlocal in_flight
        if kind == "progress":
            for sub in subs:
                sub.on_progress(value)  # type: ignore[arg-type]
        else:
            in_flight -= 1
            deliver(value)  # type: ignore[arg-type]

    try:
        while True:
            while not exhausted and in_flight < limit:
                if run.cancelled.is_set():
                    exhausted = True
                    break
                try:
                    item = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                if isinstance(item, TransferResult):
                    results.append(item)
                    deliver([item])
                    continue
                results.extend(item.results)
                pool.submit(run.work, item)
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
            for item in pending:
                done = [item] if isinstance(item, TransferResult) else item.results
                results.extend(done)
                run.fail(done, errors.TransferCancelled("cancelled before it started"))
                deliver(done)
    except KeyboardInterrupt:
        run.cancel()
        while in_flight:  # let the workers clean up before Ctrl-C propagates
            try:
                handle(*run.events.get(timeout=0.25))
            except queue.Empty:
                continue
        raise
    return results
