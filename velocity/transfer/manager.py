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

import dataclasses
import functools
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from velocity import errors
from velocity.auth import Credentials
from velocity.client import SwiftClient
from velocity.names import check_container_name, check_object_name
from velocity.progress import ProgressSubscriber, TqdmProgress
from velocity.transfer import cluster, plan, sync, upload
from velocity.transfer.bodies import ByteSource, Stream
from velocity.transfer.config import WINDOW, TransferConfig, TransferResult, call_options
from velocity.transfer.coordinator import Coordinator, Item, Task, drive, job_tasks
from velocity.transfer.delete import Deletes
from velocity.transfer.download import Downloads
from velocity.transfer.localfs import PathLike
from velocity.transfer.orphans import Orphan, find_orphans, removal
from velocity.transfer.partial import Partials
from velocity.transfer.sync import Location, SyncResults

__all__ = ["TransferManager", "SupportsClient"]

J = TypeVar("J", plan.UploadJob, plan.DownloadJob, plan.DeleteJob)


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

        Running items stop at their next block of data.  Partial downloads
        (hidden) and finished segments of unfinished uploads stay for the
        same call run again (removed without :attr:`TransferConfig.resume`).
        The interrupted calls return, with
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

    def _drive(self, run: Coordinator, subs: list[ProgressSubscriber], items: Iterable[Item],
               sink: Callable[[TransferResult], None] | None = None) -> list[TransferResult]:
        return drive(self._pools()[0], self.config.object_threads * WINDOW, run, subs, items,
                     sink)

    def _execute(self, run: Coordinator, subs: list[ProgressSubscriber], container: str,
                 items: Iterable[J | TransferResult],
                 work: Callable[[J, list[TransferResult]], None]) -> list[TransferResult]:
        """Run a plan: each job as ``work(job, its blank results)`` on the
        object pool; results known already are passed through."""
        return self._drive(run, subs, job_tasks(container, items, work))

    # -- upload ---------------------------------------------------------------------

    def upload(self, container: str, paths: PathLike | Sequence[PathLike],
               object_names: Sequence[str] | None = None, prefix: str | None = None,
               ignore: Iterable[str] = (), *,
               subscribers: Iterable[ProgressSubscriber] | None = None,
               progress: bool = False, headers: dict[str, str] | None = None,
               skip_identical: bool | None = None, changed: bool | None = None,
               leave_segments: bool | None = None, resume: bool | None = None
               ) -> list[TransferResult]:
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
        :param skip_identical: / :param changed: / :param leave_segments: /
            :param resume: override the :class:`TransferConfig` values
        :returns: one :class:`TransferResult` per file
        """
        check_container_name(container)
        config = call_options(self.config, skip_identical, changed, leave_segments, resume)
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
                 progress: bool = False, resume: bool | None = None) -> list[TransferResult]:
        """Download objects into ``out_dir`` (object ``a/b.txt`` becomes
        ``out_dir/a/b.txt``).

        :param names: the objects; all of the container's (under ``prefix``)
            when omitted
        :param prefix: only objects whose names start with it
        :param remove_prefix: leave ``prefix`` out of the local paths
        :param skip_identical: do not download an object whose local file
            already holds the same bytes (MD5 compared)
        :param resume: override :attr:`TransferConfig.resume` for this call
        :returns: one :class:`TransferResult` per object; a name that would
            land outside ``out_dir`` fails with
            :class:`~velocity.errors.UnsafePath`

        Each file is written to a hidden partial file in its destination
        folder, verified, then renamed into place; large objects come as
        parallel byte ranges (per segment for static large objects).  An
        interrupted download leaves its partial file for the same call run
        again (:attr:`TransferConfig.resume`).  The listing is streamed;
        progress totals are given when it holds at most 10,000 objects.
        """
        check_container_name(container)
        out = os.path.abspath(os.fspath(out_dir))
        prefix = prefix or ""
        config = call_options(self.config, resume=resume)
        run, subs = self._start(config, subscribers, progress, "download")
        try:
            downloads = Downloads(run, container, skip_identical,
                                  Partials(config.partial_max_age) if config.resume else None)
            try:
                total, count, items = downloads.items(names, out, prefix, remove_prefix)
            except errors.VelocityError as exc:
                for sub in subs:
                    sub.on_start(0, 0)
                return self._drive(run, subs, [
                    TransferResult("download", container, None, out, error=exc)])
            for sub in subs:
                sub.on_start(total, count)
            os.makedirs(out, exist_ok=True)
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
        run, subs = self._start(self.config, subscribers, progress, "delete")
        try:
            deletes = Deletes(run, container)
            jobs = deletes.plan([names] if isinstance(names, str) else names, prefix or "")
            for sub in subs:
                sub.on_start(None, sum(len(job.results(container)) for job in jobs)
                             if jobs is not None else 0)
            if jobs is None:
                return self._drive(run, subs, [TransferResult(
                    "delete", container, None, error=errors.NoSuchContainer(
                        "no container %r" % container, status=404, method="GET",
                        path="/" + container))])
            return self._execute(run, subs, container, jobs, deletes.run)
        finally:
            self._finish(run, subs)

    def head(self, container: str, names: Sequence[str], *,
             subscribers: Iterable[ProgressSubscriber] | None = None,
             progress: bool = False) -> list[TransferResult]:
        """HEAD every object in parallel: ``ok`` when it exists, with its size
        (``bytes``), ``etag`` and ``headers``; a missing one fails with
        :class:`~velocity.errors.NoSuchObject`."""
        check_container_name(container)
        names = [names] if isinstance(names, str) else names
        run, subs = self._start(self.config, subscribers, progress, "head")
        try:
            for sub in subs:
                sub.on_start(None, len(names))
            results = [TransferResult("head", container, name) for name in names]
            return self._drive(run, subs, [Task([r], functools.partial(
                cluster.head_into, self.client, r)) for r in results])
        finally:
            self._finish(run, subs)

    # -- sync, check, orphan segments ---------------------------------------------------

    def sync(self, src: Location, dst: Location, *, delete: bool = False,
             dry_run: bool = False, changed: bool = False, ignore: Iterable[str] = (),
             headers: dict[str, str] | None = None, resume: bool | None = None,
             subscribers: Iterable[ProgressSubscriber] | None = None,
             progress: bool = False) -> SyncResults:
        """Make ``dst`` hold what ``src`` holds: a local folder and a
        :class:`~velocity.transfer.sync.Remote` (container and prefix), in
        either order.

        Copies what is missing at ``dst`` or different (size and MD5; with
        ``changed``, size and time, reading no file); with ``delete``,
        removes from ``dst`` what ``src`` lacks, once the comparison is
        complete.  Memory stays flat and an unchanged tree costs listing
        requests only (see :mod:`velocity.transfer.sync`).

        :param dry_run: change nothing; the records say what would be done
        :param ignore: ``fnmatch`` patterns of relative paths or base names
            left alone on both sides (never copied, never deleted)
        :param headers: / :param resume: as for :meth:`upload`
        :returns: a :class:`~velocity.transfer.sync.SyncResults`: one
            :class:`TransferResult` per object copied or deleted (or failed),
            and the count of those ``unchanged``
        """
        root, remote, upward = sync.locations(src, dst)
        check_container_name(remote.container)
        config = call_options(self.config, skip_identical=False, changed=False, resume=resume)
        results = SyncResults(dry_run)
        run, subs = self._start(config, subscribers, progress, "sync")
        try:
            for sub in subs:
                sub.on_start(None, None)
            self._drive(run, subs, sync.sync_tasks(
                run, root, remote, upward, delete=delete, dry_run=dry_run, changed=changed,
                ignore=ignore, headers=headers), sink=results.add)
            return results.finish()
        finally:
            self._finish(run, subs)

    def check(self, src: Location, dst: Location, *, changed: bool = False,
              ignore: Iterable[str] = ()) -> SyncResults:
        """The differences between ``src`` and ``dst``, changing nothing (a
        dry run of ``sync(src, dst, delete=True)``): empty when they hold
        the same files, else a record per difference (see its ``reason``)
        and per failure (``ok`` false)."""
        return self.sync(src, dst, delete=True, dry_run=True, changed=changed, ignore=ignore)

    def orphans(self, container: str, *, older_than: float = 0.0) -> list[Orphan]:
        """The segments in ``<container>_segments`` that no manifest in
        ``container`` uses (uploads never finished, old segments left with
        ``leave_segments``), written more than ``older_than`` seconds ago.

        :raises velocity.errors.VelocityError: a listing or manifest could
            not be read (then nothing can be called an orphan)
        """
        check_container_name(container)
        return list(find_orphans(self.client, container, self._pools()[0], older_than))

    def cleanup(self, container: str, yes: bool = False, *, older_than: float = 0.0,
                subscribers: Iterable[ProgressSubscriber] | None = None,
                progress: bool = False) -> list[TransferResult]:
        """Remove the :meth:`orphans` of ``container``, only when ``yes``;
        without it, return what would be removed (records with ``dry_run``
        set).  One record per segment (``reason`` ``"orphan"``).

        :raises velocity.errors.VelocityError: as :meth:`orphans`
        """
        found = self.orphans(container, older_than=older_than)
        if not yes:
            return [orphan.record() for orphan in found]
        config = dataclasses.replace(self.config, leave_segments=True)
        run, subs = self._start(config, subscribers, progress, "cleanup")
        try:
            for sub in subs:
                sub.on_start(sum(o.bytes for o in found), len(found))
            jobs, work = removal(run, container + "_segments", found)
            return self._execute(run, subs, container + "_segments", jobs, work)
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
