"""The control of one transfer call: cancellation, the parts of one object,
the one retry loop for damaged data, and the one clean-up after a failure.

A :class:`Coordinator` is made for every public call of the
:class:`~velocity.transfer.TransferManager` and handed to every piece of work
the call runs.  It owns

* the cancel flag: :meth:`Coordinator.check` raises
  :class:`~velocity.errors.TransferCancelled` once :meth:`Coordinator.cancel`
  was called (from any thread), and the client's waits before a retry end at
  once on the threads that work for the call (:meth:`Coordinator.bind`);
* the reports to the caller's thread (progress, finished items) and the
  running of one task on a worker thread (:meth:`Coordinator.work`: every
  failure lands in the task's results, none is lost);
* :class:`Parts`: the pieces of one object running in parallel; when one
  fails, the others stop at their next block and those not started never
  start;
* :meth:`Coordinator.retry_damaged`: the one loop that checks for a cancel
  and sends or fetches a piece again when its data arrived damaged;
* :func:`drive`: the loop on the caller's thread that feeds a call's tasks
  to the object pool and delivers the workers' reports to its subscribers;
* :class:`Cleanup`: the one place that takes back what failed or cancelled
  work left behind: the objects it stored that no visible object uses yet
  (segments, a manifest that came back wrong) and its temporary files.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar, Union

from velocity import errors
from velocity._log import log
from velocity.client import SwiftClient, translate_error
from velocity.progress import ProgressSubscriber
from velocity.transfer.config import TransferConfig, TransferResult
from velocity.transfer.delete import delete_paths

__all__ = ["Coordinator", "Parts", "Cleanup", "Task", "Item", "drive", "job_tasks",
           "interrupted"]


T = TypeVar("T")
D = TypeVar("D", bound="_Discardable")
#: what a worker reports to the caller's thread: bytes moved, or finished results
Report = Union[tuple[str, int], tuple[str, list[TransferResult]]]


class _Discardable(Protocol):
    def discard(self) -> None: ...


class Task:
    """Work for one thread of the object pool: ``fn`` fills ``results``."""

    __slots__ = ("results", "fn")

    def __init__(self, results: list[TransferResult], fn: Callable[[], None]) -> None:
        self.results = results
        self.fn = fn


#: a plan item, or a job made ready for the object pool
Item = Union[Task, TransferResult]


class Coordinator:
    """The state of one public call, shared by everything that works for it.

    :param client: the one client of the manager
    :param config: the settings of this call (the manager's, with the call's
        overrides)
    :param parts_pool: the pool that runs the parts of large objects
    :param slot: the manager's thread-local record of which call a thread
        works for
    :param report_progress: whether anybody listens to progress
    """

    def __init__(self, client: SwiftClient, config: TransferConfig,
                 parts_pool: ThreadPoolExecutor, slot: threading.local,
                 report_progress: bool) -> None:
        self.client = client
        self.config = config
        self.parts_pool = parts_pool
        self.cancelled = threading.Event()
        self.events: queue.SimpleQueue[Report] = queue.SimpleQueue()
        self.report_progress = report_progress
        self._slot = slot
        #: the call this one runs inside of, on the same thread (or ``None``)
        self.outer: Coordinator | None = getattr(slot, "run", None)

    # -- cancel --------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop this call: its work stops at the next block of data."""
        self.cancelled.set()

    def check(self) -> None:
        """:raises velocity.errors.TransferCancelled: once the call is cancelled"""
        if self.cancelled.is_set():
            raise errors.TransferCancelled("the transfer was cancelled")

    def bind(self) -> None:
        """The calling thread now works for this call: a cancel also cuts
        short the client's waits before retries on it."""
        self._bind(self)

    def unbind(self) -> None:
        """The calling thread goes back to the call it worked for before."""
        self._bind(self.outer)

    def _bind(self, run: Coordinator | None) -> None:
        self._slot.run = run
        self.client.set_interrupt(run.cancelled if run is not None else None)

    # -- reports -------------------------------------------------------------------

    def progress(self, amount: int) -> None:
        """``amount`` more bytes were moved (reported on the caller's thread)."""
        if self.report_progress and amount:
            self.events.put(("progress", amount))

    def skip(self, result: TransferResult, size: int, etag: str | None) -> None:
        """Nothing needs doing for ``result``: it counts as done, ``size``
        bytes included."""
        result.ok = result.skipped = True
        result.bytes = size
        result.etag = etag
        self.progress(size)

    def work(self, task: Task) -> None:
        """Run ``task`` on this (a worker) thread; every item it leaves
        unfinished gets the error that stopped it, and the caller's thread is
        told the task is done, whatever happened."""
        self.bind()
        try:
            self.check()
            task.fn()
        except BaseException as exc:  # noqa: BLE001 - reported per item
            error = exc if isinstance(exc, errors.VelocityError) else translate_error(exc)
            self.fail(task.results, error)
            if not isinstance(exc, Exception):
                self.events.put(("done", task.results))
                raise
        self.fail(task.results, errors.VelocityError("failed without an error (a bug)"))
        self.events.put(("done", task.results))

    @staticmethod
    def fail(results: Iterable[TransferResult], error: errors.VelocityError) -> None:
        """Give ``error`` to every result that neither worked nor has one."""
        for result in results:
            if not result.ok and result.error is None:
                result.error = error

    # -- the parts of an object, retries, clean-up ------------------------------------

    def parts(self) -> Parts[T]:
        """A new group of parallel parts of one object."""
        return Parts(self)

    def cleanup(self, resumable: bool = False) -> Cleanup:
        """A new record of what to take back if a piece of work fails
        (``resumable``: not what it stored, when it was only interrupted)."""
        return Cleanup(self.client, resumable)

    def retry_damaged(self, what: str, attempt: Callable[[], T],
                      check: Callable[[], None] | None = None) -> T:
        """The one retry loop of the engine: ``attempt()`` until it returns,
        ``check()`` (this call's :meth:`check` by default) before every try,
        and again after data went or came damaged
        (:class:`~velocity.errors.ChecksumMismatch`,
        :class:`~velocity.errors.IncompleteSend`), up to ``config.retries``
        more times.  A failed request is retried by the client, not here."""
        check = check or self.check
        tries = 0
        while True:
            check()
            try:
                return attempt()
            except (errors.ChecksumMismatch, errors.IncompleteSend) as exc:
                if tries >= self.config.retries:
                    raise
                tries += 1
                log.info("%s failed verification (%s); retrying", what, exc)


class Parts(Generic[T]):
    """The parts of one object (segments, byte ranges), run in parallel on
    the call's parts pool.  When one fails, :attr:`abort` stops the others
    at their next block (their reads and writes call :meth:`check`) and
    those not started are never run."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator
        self.abort = threading.Event()
        self._futures: list[Future[T]] = []

    def submit(self, fn: Callable[..., T], *args: object) -> None:
        """Run ``fn(*args)`` as one part, on a thread bound to the call."""
        self._futures.append(self.coordinator.parts_pool.submit(self._run, fn, args))

    def _run(self, fn: Callable[..., T], args: tuple[object, ...]) -> T:
        self.coordinator.bind()
        return fn(*args)

    def check(self) -> None:
        """:raises velocity.errors.TransferCancelled: when the call was
        cancelled or another part of this object failed"""
        self.coordinator.check()
        if self.abort.is_set():
            raise errors.TransferCancelled("stopped: another part of this object failed")

    def _stop(self) -> None:
        self.abort.set()
        for future in self._futures:
            future.cancel()

    def wait(self, error: BaseException | None = None) -> list[T]:
        """Wait for every part; their results, in order.  ``error`` is a
        failure of the caller's own share of the work: it stops the parts
        like a failed part does.

        :raises BaseException: the first failure (``error`` if given), once
            every running part has stopped
        """
        if error is not None:
            self._stop()
        done: list[T] = []
        for future in self._futures:
            try:
                done.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - raised below
                if error is None:
                    error = exc
                self._stop()
        if error is not None:
            raise error
        return done


def interrupted(exc: BaseException | None) -> bool:
    """Whether a failure merely interrupted the work (a cancel, Ctrl-C, a
    connection lost for good), so that a resumable transfer keeps what it
    did for the next run; rather than the server refusing it (an error
    answered: quota, permissions...) or the data failing verification."""
    if exc is None:
        return False
    if not isinstance(exc, Exception) or isinstance(exc, errors.TransferCancelled):
        return True
    return type(exc) is errors.ResponseError and exc.status is None


class Cleanup:
    """What a piece of work must take back if it fails or is cancelled.

    Used as a context manager around the work.  When the block ends, the
    temporary files registered with :meth:`temp` are discarded (a committed
    :class:`~velocity.transfer.localfs.AtomicFile` is left alone); when it
    ends with an exception, the objects registered with :meth:`stored` are
    deleted too, newest first, unless :meth:`keep` said they must stay, or
    the work is ``resumable`` and was only :func:`interrupted` (then only
    those stored ``always`` go).
    """

    def __init__(self, client: SwiftClient, resumable: bool = False) -> None:
        self._client = client
        self._resumable = resumable
        self._lock = threading.Lock()
        self._stored: dict[str, None] = {}
        self._always: set[str] = set()
        self._temps: list[_Discardable] = []

    def stored(self, path: str, always: bool = False) -> None:
        """The work (is about to) put object ``/container/name``; it goes
        again if the work fails (``always``: even when it was only
        interrupted: what it holds is wrong).  Callable from several threads."""
        with self._lock:
            self._stored[path] = None
            if always:
                self._always.add(path)

    def temp(self, item: D) -> D:
        """Discard ``item`` (a temporary file) when the block ends."""
        with self._lock:
            self._temps.append(item)
        return item

    def keep(self) -> None:
        """The stored objects stay, whatever happens next: a visible object
        uses them, or nobody can tell whether one does."""
        with self._lock:
            self._stored.clear()

    def undo(self, resume: bool = False) -> None:
        """Delete the stored objects (with ``resume``, only those stored
        ``always``; failures are logged: this is already the handling of a
        failure) and discard the temporary files."""
        with self._lock:
            paths = [path for path in reversed(self._stored)
                     if not resume or path in self._always]
            self._stored.clear()
        self._discard()
        for path, error in delete_paths(self._client, paths):
            log.warning("could not remove %s after a failed transfer: %s", path, error)

    def _discard(self) -> None:
        with self._lock:
            temps, self._temps = self._temps, []
        for item in temps:
            try:
                item.discard()
            except OSError as exc:
                log.warning("could not remove a temporary file: %s", exc)

    def __enter__(self) -> Cleanup:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 *rest: object) -> None:
        if kind is not None:
            self.undo(resume=self._resumable and interrupted(exc))
        else:
            self._discard()


def drive(pool: ThreadPoolExecutor, limit: int, run: Coordinator,
          subs: Sequence[ProgressSubscriber], items: Iterable[Item],
          sink: Callable[[TransferResult], None] | None = None) -> list[TransferResult]:
    """Run ``items`` (tasks, or results known already) on the object pool,
    at most ``limit`` tasks at once, while delivering the workers' reports
    to ``subs`` on this (the caller's) thread.  Returns every result, in the
    order the items came; with ``sink``, each finished result is handed to
    it instead (and none is kept here: memory stays flat however many
    items come)."""
    results: list[TransferResult] = []
    keep = sink is None
    pending = iter(items)
    in_flight = 0
    exhausted = False

    def deliver(done: list[TransferResult]) -> None:
        for result in done:
            for sub in subs:
                sub.on_object_done(result)
            if sink is not None:
                sink(result)

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
                    if keep:
                        results.append(item)
                    deliver([item])
                    continue
                if keep:
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
                if keep:
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


def job_tasks(container: str, items: Iterable[Any],
              work: Callable[[Any, list[TransferResult]], None]) -> Iterator[Item]:
    """The tasks of a plan (jobs with a ``results(container)`` method, or
    results known already, passed through): each job runs as
    ``work(job, its blank results)``."""
    for item in items:
        if isinstance(item, TransferResult):
            yield item
            continue
        results = item.results(container)
        yield Task(results, functools.partial(work, item, results))
