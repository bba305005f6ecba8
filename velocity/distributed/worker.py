"""What runs on a Dask worker: one login and one
:class:`~velocity.transfer.TransferManager` per worker process, and the
tasks of a job.

:func:`state_for` keeps, per process, one :class:`WorkerState` per
:class:`~velocity.distributed.Recipe`: the credentials built from it, the
one :class:`~velocity.client.SwiftClient` (one login for every thread of
the process, its token renewed by the client when it expires) and a
manager per :class:`~velocity.transfer.TransferConfig`.  Every task of
every job that uses the same recipe reuses them.

:func:`run_task` is the one function the client submits: it runs a shard
(:mod:`velocity.distributed.shards`) and answers with a
:class:`~velocity.distributed.shards.ShardReport`.  Shards are idempotent:
run again (Dask retries a failed task and reschedules the tasks of a worker
that died), they skip what is in place already.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from velocity import errors
from velocity._log import log
from velocity.auth import Credentials
from velocity.client import SwiftClient
from velocity.distributed.compare import differs, excluded, same
from velocity.distributed.ranges import cut_entries, iter_range, list_page, split_rest
from velocity.distributed.recipe import Recipe
from velocity.distributed.shards import (
    Context,
    FilesShard,
    Listed,
    ListTask,
    RangeShard,
    SegmentDone,
    SegmentPart,
    Shard,
    ShardReport,
)
from velocity.hashing import md5_of_file
from velocity.progress import ProgressSubscriber
from velocity.transfer import TransferConfig, TransferManager, TransferResult
from velocity.transfer.localfs import LocalTree, relative_parts
from velocity.transfer.plan import UploadJob
from velocity.transfer.segments import put_file_segment

__all__ = ["WorkerState", "state_for", "process_logins", "run_task", "Relay"]

T = TypeVar("T")

#: seconds between two progress events of one task
INTERVAL = 0.25


class WorkerState:
    """The login and the transfer engine of one process for one recipe."""

    def __init__(self, recipe: Recipe) -> None:
        self.pid = os.getpid()
        self.credentials: Credentials = recipe.build()
        self.client = SwiftClient(self.credentials)
        self._managers: dict[tuple[Any, ...], TransferManager] = {}
        self._lock = threading.Lock()
        self._tokens: set[str] = set()

    def manager(self, config: TransferConfig) -> TransferManager:
        """The process's manager for ``config`` (made on first use)."""
        key = dataclasses.astuple(config)
        with self._lock:
            manager = self._managers.get(key)
            if manager is None:
                manager = self._managers[key] = TransferManager(self.client, config)
            return manager

    def logins(self) -> int:
        """How many times this process logged in with the recipe: the
        plugin's own count where it keeps one (v1, Rackspace), otherwise the
        distinct tokens seen after each task (a renewal shows as a second)."""
        plugin = self.credentials.plugin
        count = getattr(plugin, "auth_count", None)
        if isinstance(count, int):
            return count
        access = getattr(plugin, "auth_ref", None)
        token = getattr(access, "auth_token", None)
        if token:
            digest = hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
            with self._lock:
                self._tokens.add(digest)
        with self._lock:
            return len(self._tokens)


_STATES: dict[Recipe, WorkerState] = {}
_STATES_LOCK = threading.Lock()


def state_for(recipe: Recipe) -> WorkerState:
    """This process's :class:`WorkerState` for ``recipe`` (made once; made
    afresh in a forked child)."""
    with _STATES_LOCK:
        state = _STATES.get(recipe)
        if state is None or state.pid != os.getpid():
            state = _STATES[recipe] = WorkerState(recipe)
        return state


def process_logins() -> dict[str, int]:
    """``{"pid": ..., "logins": ..., "recipes": ...}`` of this process (for
    ``dask_client.run(process_logins)``: one login per worker process)."""
    with _STATES_LOCK:
        states = [s for s in _STATES.values() if s.pid == os.getpid()]
    return {"pid": os.getpid(), "logins": sum(s.logins() for s in states),
            "recipes": len(states)}


class Relay(ProgressSubscriber):
    """Byte progress of one task, sent to the client as Dask events on the
    job's topic (at most every :data:`INTERVAL` seconds): the task's key and
    its bytes so far."""

    def __init__(self, topic: str, key: str) -> None:
        self.topic = topic
        self.key = key
        self.total = 0
        self._sent = 0
        self._last = 0.0
        try:
            from distributed import get_worker

            self._worker: Any = get_worker()
        except (ImportError, ValueError):
            self._worker = None

    def add(self, amount: int) -> None:
        """``amount`` more bytes were moved."""
        self.total += amount
        if time.monotonic() - self._last >= INTERVAL:
            self.flush()

    def on_progress(self, bytes_done_delta: int) -> None:
        self.add(bytes_done_delta)

    def on_done(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Send what is new."""
        self._last = time.monotonic()
        if self._worker is not None and self.total != self._sent:
            self._sent = self.total
            try:
                self._worker.log_event(self.topic, {"key": self.key, "bytes": self.total})
            except Exception:  # noqa: BLE001 - progress is best effort
                log.debug("a progress event could not be sent", exc_info=True)


# -- the task -----------------------------------------------------------------------


def run_task(context: Context, shard: Shard, key: str) -> ShardReport:
    """Run one shard of a job on this worker (the function the client submits)."""
    started = time.monotonic()
    state = state_for(context.recipe)
    relay = Relay(context.topic, key)
    report = ShardReport(key, "", _address(), os.getpid(), 0, 0.0)
    if isinstance(shard, FilesShard):
        report.kind = "files"
        report.results = _upload_files(state, context, shard, relay)
    elif isinstance(shard, SegmentPart):
        report.kind = "segment"
        report.segment = _put_segment(state, context, shard, relay)
    elif isinstance(shard, RangeShard):
        report.kind = "range"
        report.results = _range(state, context, shard, relay)
    elif isinstance(shard, ListTask):
        report.kind = "list"
        report.listed = _list(state, context, shard)
    else:
        raise errors.ConfigurationError("not a shard: %r" % (shard,))
    relay.flush()
    report.logins = state.logins()
    report.seconds = time.monotonic() - started
    return report


def _address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def _skipped(action: str, container: str, name: str, path: str | None, size: int,
             etag: str | None) -> TransferResult:
    return TransferResult(action, container, name, path, ok=True, bytes=size, etag=etag,
                          skipped=True)


def _upload_files(state: WorkerState, context: Context, shard: FilesShard,
                  relay: Relay) -> list[TransferResult]:
    manager = state.manager(context.config)
    container = context.container

    def upload(jobs: list[UploadJob], skip_identical: bool | None) -> list[TransferResult]:
        if not jobs:
            return []
        return manager.upload(container, [job.path for job in jobs],
                              object_names=[job.name for job in jobs],
                              headers=context.option("headers"), skip_identical=skip_identical,
                              subscribers=[relay])

    if not context.option("compare"):
        return upload(shard.jobs, None)
    # a sync: what is missing or differs, from this shard's own range of the listing
    listing = {entry["name"]: entry for entry in iter_range(
        state.client, container, context.option("prefix", ""), shard.lo, shard.hi)}
    changed = bool(context.option("changed"))
    send: dict[str, list[UploadJob]] = {}
    done: list[TransferResult] = []
    for job in shard.jobs:
        entry = listing.get(job.name)
        if entry is None:
            reason: str | None = "missing"
        else:
            reason, look = differs(job.size, job.mtime, 0.0, entry, True, changed)
            if look and not same(state.client, container, job.name, job.path, job.size, entry):
                reason = "checksum"
        if reason is None:
            done.append(_skipped("upload", container, job.name, job.path, job.size,
                                 entry.get("hash") if entry else None))
            relay.add(job.size)
        else:
            send.setdefault(reason, []).append(job)
    return _run_by_reason(send, upload, done)


def _run_by_reason(groups: dict[str, list[T]],
                   run: Callable[[list[T], bool], list[TransferResult]],
                   done: list[TransferResult]) -> list[TransferResult]:
    """The transfers a sync decided on: each group (all that differ for one
    reason) run with ``skip_identical`` off, the comparison being done, and
    its results tagged with the reason, after those in ``done``."""
    for reason, items in groups.items():
        for result in run(items, False):
            result.reason = reason
            done.append(result)
    return done


def _put_segment(state: WorkerState, context: Context, part: SegmentPart,
                 relay: Relay) -> SegmentDone:
    """Send one segment, unless the object ``part.known`` names holds its
    bytes already, as the engine sends one
    (:func:`~velocity.transfer.segments.put_file_segment`: hashed while it
    is sent, checked against the ETag Swift answers; the client checks it
    again before the manifest)."""
    client = state.client
    own = "/%s/%s" % (part.seg_container, part.seg_name)
    tries = context.config.retries
    md5: str | None = None
    if part.known is not None:
        md5 = md5_of_file(part.path, part.offset, part.length)
        if md5 == part.known[1]:
            relay.add(part.length)
            return SegmentDone(part.number, part.known[0], md5, md5, part.length, sent=False)
    while True:
        try:
            sent_md5, etag = put_file_segment(client, part.seg_container, part.seg_name,
                                              part.path, part.offset, part.length, _nothing,
                                              relay.add, md5=md5)
            return SegmentDone(part.number, own, etag, sent_md5 or "", part.length, sent=True)
        except errors.ChecksumMismatch:
            if tries <= 0:
                raise
            tries -= 1
            md5 = None  # read (and hashed) again
            log.info("segment %s arrived damaged; sending it again", own)


def _nothing() -> None:
    """A worker's task is not cancelled from inside (Dask cancels futures)."""


def _range(state: WorkerState, context: Context, shard: RangeShard,
           relay: Relay) -> list[TransferResult]:
    container = context.container
    prefix = context.option("prefix", "")
    listing: dict[str, Any] = {}
    if shard.names is not None:
        names = list(shard.names)
    else:
        entries = iter_range(state.client, container, prefix, shard.lo, shard.hi)
        listing = {entry["name"]: entry for entry in entries}
        names = [entry["name"] for entry in entries]
    manager = state.manager(context.config)
    if shard.op == "download":
        return _download(manager, context, names, listing, relay)
    if shard.op == "prune":
        names = [name for name in names if not _has_local_file(context, name)]
    elif shard.op != "delete":
        raise errors.ConfigurationError("unknown operation %r" % shard.op)
    if not names:
        return []
    results = manager.delete(container, names=names, subscribers=[relay])
    if shard.op == "prune":
        for result in results:
            result.reason = "extra"
    return results


def _download(manager: TransferManager, context: Context, names: list[str],
              listing: dict[str, Any], relay: Relay) -> list[TransferResult]:
    container = context.container
    prefix = context.option("prefix", "")
    out_dir = context.option("out_dir")
    remove_prefix = bool(context.option("remove_prefix"))

    def download(chosen: list[str], skip_identical: bool) -> list[TransferResult]:
        if not chosen:
            return []
        return manager.download(container, chosen, out_dir=out_dir, prefix=prefix or None,
                                remove_prefix=remove_prefix, skip_identical=skip_identical,
                                subscribers=[relay])

    if not context.option("compare"):
        return download(names, bool(context.option("skip_identical")))
    # a sync: the listing's entries against the local files
    changed = bool(context.option("changed"))
    patterns = tuple(context.option("ignore", ()))
    fetch: dict[str, list[str]] = {}
    done: list[TransferResult] = []
    tree = LocalTree(out_dir)  # each folder resolved once
    for name in names:
        entry = listing[name]
        rel = name[len(prefix):]
        if excluded(rel, patterns):
            continue
        try:
            dest = tree.path(rel)
        except errors.UnsafePath as exc:
            done.append(TransferResult("download", container, name, None, error=exc))
            continue
        try:
            info = os.stat(dest)
        except OSError:
            reason: str | None = "missing"
        else:
            reason, look = differs(info.st_size, info.st_mtime, info.st_ctime, entry, False,
                                   changed)
            if look and not same(manager.client, container, name, dest, info.st_size, entry):
                reason = "checksum"
        if reason is None:
            size = int(entry.get("bytes", 0))
            done.append(_skipped("download", container, name, dest, size, entry.get("hash")))
            relay.add(size)
        else:
            fetch.setdefault(reason, []).append(name)
    return _run_by_reason(fetch, download, done)


def _has_local_file(context: Context, name: str) -> bool:
    """Whether object ``name`` of a sync still has its local file (or is
    left alone by the sync: ``ignore`` patterns, folder markers, names that
    are no local path): only objects without one are pruned."""
    rel = name[len(context.option("prefix", "")):]
    if excluded(rel, tuple(context.option("ignore", ()))):
        return True
    try:
        parts = relative_parts(rel, "object name %r" % name)
    except errors.UnsafePath:
        return True  # not one of ours to judge
    return not parts or os.path.lexists(os.path.join(context.option("local_dir"), *parts))


def _list(state: WorkerState, context: Context, task: ListTask) -> Listed:
    """List one page of the task's range: shards of it, and the rest of the
    range as further listing tasks when the page was full."""
    prefix = context.option("prefix", "")
    page = list_page(state.client, context.container, prefix, task.lo, task.hi, context.page)
    full = len(page) >= context.page
    end = page[-1]["name"] if full else task.hi
    shards = [RangeShard(-1, task.op, lo, hi, objects=count, bytes=size)
              for lo, hi, count, size in cut_entries(page, task.lo, end, context.max_objects,
                                                     context.max_bytes)
              if count]
    more: list[ListTask] = []
    if full:
        more = [ListTask(-1, task.op, lo, hi) for lo, hi in
                split_rest(page[0]["name"], page[-1]["name"], task.hi, prefix)]
    return Listed(shards, more)
