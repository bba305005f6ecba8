"""The client side of a distributed job: :func:`run` submits the shards of
a :class:`~velocity.distributed.shards.Plan` to a Dask cluster, feeds one
progress display from the workers' events, writes the manifests of large
files once their segments are in, and gathers the results.

Each shard is a Dask task with ``retries=`` (a task that raised is tried
again) and a key that names the job and the shard, never a secret.  A
worker that dies takes its running tasks with it; Dask reschedules them on
the others, and since shards skip what is in place (and segment names are
deterministic), nothing is sent twice into two places and nothing is lost.
Results are fetched as soon as each task ends, so a worker that dies later
loses nothing the client still needs.
"""

from __future__ import annotations

import itertools
import queue
from collections.abc import Iterable
from typing import Any

from velocity import errors
from velocity._log import log
from velocity.distributed import manifests
from velocity.distributed.compare import prune_local
from velocity.distributed.shards import (
    FilesShard,
    ListTask,
    Plan,
    RangeShard,
    SegmentDone,
    SegmentPart,
    Shard,
    ShardReport,
)
from velocity.distributed.worker import run_task, state_for
from velocity.progress import ProgressSubscriber, TqdmProgress
from velocity.transfer.config import TransferResult

__all__ = ["run", "Results", "RETRIES"]


#: how many more times Dask runs a shard that raised
RETRIES = 3
#: seconds the client waits for progress between two looks at finished tasks
POLL = 0.1


class Results(list):  # type: ignore[type-arg]
    """The :class:`~velocity.transfer.TransferResult`\\ s of a distributed
    job (a ``list``, as the :class:`~velocity.transfer.TransferManager`
    calls return), sorted by object name, with :attr:`shards`: a
    :class:`~velocity.distributed.shards.ShardReport` per task that ran
    (where it ran, its process, its logins, how long it took)."""

    def __init__(self, results: Iterable[TransferResult] = (),
                 shards: Iterable[ShardReport] = (), unchanged: int = 0) -> None:
        super().__init__(results)
        self.shards: list[ShardReport] = list(shards)
        #: (a sync) objects found the same on both sides: only counted
        self.unchanged = unchanged

    @property
    def failed(self) -> list[TransferResult]:
        """The results that did not work."""
        return [result for result in self if not result.ok]

    @property
    def workers(self) -> set[str]:
        """The addresses of the workers that ran tasks of the job."""
        return {report.worker for report in self.shards}


def run(dask_client: Any, plan: Plan, *, subscribers: Iterable[ProgressSubscriber] | None = None,
        progress: bool = False, retries: int = RETRIES) -> Results:
    """Run ``plan`` on the cluster of ``dask_client`` (a
    :class:`distributed.Client`) and return its results.

    :param subscribers: :class:`~velocity.progress.ProgressSubscriber`\\ s,
        called on this thread: bytes as the workers report them, each
        object's result as its shard ends
    :param progress: show one ``tqdm`` bar for the whole job
    :param retries: how many more times Dask runs a shard that raised
    :returns: :class:`Results`; a shard that failed for good makes failed
        results (for its files or names, or one for its whole range)

    Ctrl-C cancels the tasks not yet finished; the segments already sent
    stay (unseen) and a rerun of the same job uses them.
    """
    subs = list(subscribers or ())
    if progress:
        subs.append(TqdmProgress(desc=plan.context.action))
    return _Runner(dask_client, plan, subs, retries).run()


class _Runner:
    """One run of a plan (the state of the loop on the caller's thread)."""

    def __init__(self, dask_client: Any, plan: Plan, subs: list[ProgressSubscriber],
                 retries: int) -> None:
        self.dask = dask_client
        self.plan = plan
        self.context = plan.context
        self.subs = subs
        self.retries = retries
        self.pending: dict[Any, Shard] = {}
        self.keys = itertools.count()
        self.results: list[TransferResult] = []
        self.reports: list[ShardReport] = []
        self.events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.shown: dict[str, int] = {}
        self.settled: set[str] = set()
        self.segments: dict[int, list[SegmentDone]] = {i: [] for i in range(len(plan.large))}
        self.left: dict[int, int] = {i: large.parts for i, large in enumerate(plan.large)}
        self.broken: dict[int, errors.VelocityError] = {}
        self.completed: Any = None

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> Results:
        try:
            from distributed import as_completed
        except ImportError:
            raise errors.ConfigurationError(
                "Dask is not installed: pip install 'velocity-swift[dask]'") from None

        for sub in self.subs:
            sub.on_start(self.plan.total_bytes, self.plan.total_objects)
        self.completed = as_completed(with_results=True, raise_errors=False)
        topic = self.context.topic
        try:
            self.dask.subscribe_topic(topic, self._on_event)
            for result in self.plan.known:
                self._deliver([result])
            for shard in self.plan.shards:
                self._submit(shard)
            while self.completed.count():
                batch = self.completed.next_batch(block=False)
                if not batch:
                    self._drain(POLL)
                    continue
                for future, value in batch:
                    self._finished(future, value)
                self._drain(0)
            if self.context.option("delete_local"):
                self._prune_local()
        except BaseException:
            self.dask.cancel(list(self.pending))
            raise
        finally:
            try:
                self.dask.unsubscribe_topic(topic)
            except Exception:  # noqa: BLE001 - the client may be closing
                log.debug("unsubscribing from %s failed", topic, exc_info=True)
            for sub in self.subs:
                sub.on_done()
        if self.context.action == "sync":
            # as TransferManager.sync answers: what was copied or deleted, by
            # name, deletions last; what was the same is counted
            same = [r for r in self.results if r.ok and r.skipped]
            ordered = sorted((r for r in self.results if not (r.ok and r.skipped)),
                             key=lambda r: (r.action == "delete", r.name or "", r.path or ""))
            return Results(ordered, self.reports, unchanged=len(same))
        ordered = sorted(self.results, key=lambda r: (r.name is not None, r.name or "",
                                                     r.action))
        return Results(ordered, self.reports)

    def _prune_local(self) -> None:
        """A sync down with ``delete``: the local files whose objects were
        not listed go, once every range was listed (never after a failed
        listing)."""
        if any(r.name is None and not r.ok for r in self.results):
            log.warning("a listing failed: no local file is deleted")
            return
        seen = {r.name for r in self.results if r.name is not None}
        self._deliver(prune_local(self.context.option("local_dir"),
                                  self.context.option("prefix", ""),
                                  tuple(self.context.option("ignore", ())), seen,
                                  self.context.container))

    def _submit(self, shard: Shard) -> None:
        kind = {FilesShard: "files", SegmentPart: "segment", RangeShard: "range",
                ListTask: "list"}[type(shard)]
        key = "velocity-%s-%s-%s-%06d" % (self.context.action, self.context.job, kind,
                                          next(self.keys))
        future = self.dask.submit(run_task, self.context, shard, key, key=key, pure=False,
                                  retries=self.retries)
        self.pending[future] = shard
        self.completed.add(future)

    # -- progress ------------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        """Called on the Dask client's event loop: hand over to the caller's thread."""
        try:
            self.events.put(event[1])
        except (TypeError, IndexError):
            log.debug("an unexpected progress event: %r", event)

    def _drain(self, timeout: float) -> None:
        try:
            message = self.events.get(timeout=timeout) if timeout else self.events.get_nowait()
        except queue.Empty:
            return
        while True:
            key, amount = message.get("key"), message.get("bytes")
            if isinstance(key, str) and isinstance(amount, int) and key not in self.settled:
                self._advance(key, amount)
            try:
                message = self.events.get_nowait()
            except queue.Empty:
                return

    def _advance(self, key: str, amount: int) -> None:
        """A task has moved ``amount`` bytes in all (a rerun does not count twice)."""
        delta = amount - self.shown.get(key, 0)
        if delta > 0:
            self.shown[key] = amount
            for sub in self.subs:
                sub.on_progress(delta)

    def _settle(self, key: str, amount: int) -> None:
        self._advance(key, amount)
        self.settled.add(key)

    def _deliver(self, results: list[TransferResult]) -> None:
        self.results.extend(results)
        for result in results:
            for sub in self.subs:
                sub.on_object_done(result)

    # -- finished tasks ------------------------------------------------------------------

    def _finished(self, future: Any, value: Any) -> None:
        shard = self.pending.pop(future)
        key = str(future.key)
        if future.status == "finished" and isinstance(value, ShardReport):
            self.reports.append(value)
            self._done(shard, value)
            return
        error = _failure(key, value)
        log.warning("task %s failed for good: %s", key, error)
        self._failed(shard, error)
        self.settled.add(key)

    def _done(self, shard: Shard, report: ShardReport) -> None:
        if isinstance(shard, ListTask):
            listed = report.listed
            self._settle(report.key, 0)
            for found in (listed.shards if listed else []):
                self._submit(found)
            for more in (listed.more if listed else []):
                self._submit(more)
            return
        if isinstance(shard, SegmentPart):
            assert report.segment is not None
            self._settle(report.key, report.segment.size)
            self.segments[shard.file].append(report.segment)
            self._part_over(shard.file)
            return
        self._settle(report.key, sum(r.bytes for r in report.results if r.ok))
        self._deliver(report.results)

    def _failed(self, shard: Shard, error: errors.VelocityError) -> None:
        container = self.context.container
        if isinstance(shard, FilesShard):
            self._deliver([TransferResult("upload", container, job.name, job.path, error=error)
                           for job in shard.jobs])
        elif isinstance(shard, SegmentPart):
            self.broken.setdefault(shard.file, error)
            self._part_over(shard.file)
        elif isinstance(shard, RangeShard) and shard.names is not None:
            action = "download" if shard.op == "download" else "delete"
            self._deliver([TransferResult(action, container, name, error=error)
                           for name in shard.names])
        else:
            op = shard.op  # type: ignore[union-attr]
            action = "download" if op == "download" else "delete"
            where = "(%r, %r]" % (shard.lo, shard.hi)  # type: ignore[union-attr]
            self._deliver([TransferResult(action, container, None, error=errors.VelocityError(
                "the names %s of container %s could not be worked on: %s"
                % (where, container, error)))])

    def _part_over(self, index: int) -> None:
        """One more segment of large file ``index`` is over: after the last,
        write its manifest (here, once), or take its segments back."""
        self.left[index] -= 1
        if self.left[index]:
            return
        large = self.plan.large[index]
        swift = state_for(self.context.recipe).client
        container = self.context.container
        error = self.broken.get(index)
        if error is None:
            try:
                result = manifests.commit(swift, container, large, self.segments[index],
                                          self.context.option("headers"), self.context.config)
            except errors.VelocityError as exc:
                error = exc
        if error is not None:
            try:
                manifests.discard(swift, container, large)
            except errors.VelocityError as exc:
                log.warning("the segments of %s/%s could not be removed: %s", container,
                            large.job.name, exc)
            result = TransferResult("upload", container, large.job.name, large.job.path,
                                    error=error)
        self._deliver([result])


def _failure(key: str, value: Any) -> errors.VelocityError:
    """The error of a task that failed for good (``value`` is what Dask gave)."""
    exc = value[1] if isinstance(value, tuple) and len(value) >= 2 else value
    if isinstance(exc, errors.VelocityError):
        return exc
    if isinstance(exc, BaseException):
        return errors.VelocityError("task %s failed on the cluster: %s: %s"
                                    % (key, type(exc).__name__, exc))
    return errors.VelocityError("task %s was lost (cancelled)" % key)
