"""The bridge between an event loop and Velocity's thread-based core.

Swift's client library blocks, so every blocking call of the asyncio face
(HTTP, file I/O, hashing) runs in a bounded :class:`WorkerPool` and is awaited
with :meth:`asyncio.loop.run_in_executor`.  Nothing here starts an event loop,
runs one or keeps a private loop thread: each coroutine uses the loop it is
awaited in, so it works under ``asyncio.run``, inside Jupyter's running loop
and in a process forked after the pool was made (the pool is made again in
the child).

Transfer-engine calls are :class:`Transfer` objects: cancelling the task that
awaits one cancels the transfer, which stops at its next block of data and
cleans up after itself.  Their progress callbacks, and the ``callback``
arguments of the object model, are handed to the loop's thread
(:func:`on_loop`, :class:`LoopForwarder`), so user code never runs on a worker
thread.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from velocity import errors
from velocity._log import log
from velocity.progress import ProgressSubscriber, TqdmProgress

if TYPE_CHECKING:  # pragma: no cover - imported for annotations only
    from velocity.client import SwiftClient
    from velocity.transfer import TransferConfig, TransferManager

__all__ = ["DEFAULT_MAX_WORKERS", "WorkerPool", "Transfer", "LoopForwarder", "on_loop"]

T = TypeVar("T")

#: threads in a pool unless ``max_workers`` says otherwise; a transfer holds
#: one of them while the transfer engine moves the objects with its own threads
DEFAULT_MAX_WORKERS = 8

#: what a transfer does on its pool thread: ``work(manager, subscribers)``
Work = Callable[["TransferManager", list[ProgressSubscriber]], T]


class WorkerPool:
    """A bounded thread pool, made on first use, made again after ``fork()``
    (a pool's threads do not survive into a forked child) and after
    :meth:`shutdown`.

    :ivar transfers: the :class:`Transfer` calls running in this pool
    """

    def __init__(self, max_workers: int = DEFAULT_MAX_WORKERS,
                 name: str = "velocity-aio") -> None:
        if not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1:
            raise errors.ConfigurationError(
                "max_workers must be a positive integer, got %r" % (max_workers,))
        self.max_workers = max_workers
        self.name = name
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid = os.getpid()
        self.transfers: set[Transfer[Any]] = set()
        _POOLS.add(self)

    def __repr__(self) -> str:
        return "WorkerPool(%d, %r)" % (self.max_workers, self.name)

    def _after_fork_in_child(self) -> None:
        # another thread may have held the lock at fork(); the child has one thread
        self._lock = threading.Lock()

    def executor(self) -> ThreadPoolExecutor:
        """The executor, made now if there is none in this process."""
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                # in a forked child the old executor's threads are gone: drop it
                self._executor = ThreadPoolExecutor(self.max_workers,
                                                    thread_name_prefix=self.name)
                if self._pid != os.getpid():
                    self.transfers = set()  # the parent's, not ours
                self._pid = os.getpid()
            return self._executor

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``func(*args, **kwargs)`` in the pool and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor(),
                                          functools.partial(func, *args, **kwargs))

    async def iterate(self, make: Callable[[], Iterable[T]], batch: int = 1
                      ) -> AsyncIterator[T]:
        """The items of the blocking iterable ``make()``, fetched in the pool
        ``batch`` items per round trip; ``make`` is called (in the pool) on
        the first ``__anext__``.  Stopping early closes the iterator."""
        if batch < 1:
            raise errors.ConfigurationError("batch must be >= 1, got %r" % (batch,))
        iterator = await self.run(lambda: iter(make()))
        taking: Future[list[T]] | None = None
        try:
            while True:
                taking = self.executor().submit(_take, iterator, batch)
                items = await asyncio.wrap_future(taking)
                taking = None
                for item in items:
                    yield item
                if len(items) < batch:
                    return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None and taking is None:
                await self.run(close)
            elif close is not None:  # cancelled while a thread takes items: close it there
                taking.add_done_callback(lambda _: close())  # type: ignore[union-attr]

    async def transfer(self, client: SwiftClient, config: TransferConfig | None, work: Work[T],
                       *, progress: bool = False, subscribers: Any = None, desc: str = "",
                       group: set[Transfer[Any]] | None = None) -> T:
        """Run ``work(manager, subscribers)`` on a pool thread with its own
        :class:`~velocity.transfer.TransferManager` on ``client``.

        ``subscribers`` (one or a list) and a ``progress`` bar get their
        callbacks on the loop's thread.  Cancelling the awaiting task cancels
        the transfer.  The transfer is listed in :attr:`transfers` and in
        ``group`` (a set the caller keeps, for :meth:`drain`) while it runs.
        """
        loop = asyncio.get_running_loop()
        targets = _as_list(subscribers)
        if progress:
            targets.append(TqdmProgress(desc=desc))
        forward = [LoopForwarder(loop, targets)] if targets else []
        transfer: Transfer[T] = Transfer(client, config, work, forward)
        groups = [self.transfers] if group is None else [self.transfers, group]
        future = self.executor().submit(transfer.run)
        transfer.future = future
        for where in groups:
            where.add(transfer)
        future.add_done_callback(lambda _: _forget(groups, transfer))
        try:
            return await asyncio.wrap_future(future, loop=loop)
        except asyncio.CancelledError:
            transfer.cancel()
            raise

    async def drain(self, group: set[Transfer[Any]] | None = None) -> None:
        """Cancel the running transfers (those of ``group``, or all) and wait
        until their threads let go."""
        running = [t for t in list(self.transfers if group is None else group)
                   if t.future is not None]
        for transfer in running:
            transfer.cancel()
        if running:
            await asyncio.gather(*(asyncio.wrap_future(t.future) for t in running
                                   if t.future is not None), return_exceptions=True)

    def shutdown(self) -> None:
        """Stop accepting work; idle threads exit (never blocks).  The next
        call makes a new executor."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None and self._pid == os.getpid():
            executor.shutdown(wait=False, cancel_futures=True)


def _take(iterator: Iterator[T], count: int) -> list[T]:
    return list(itertools.islice(iterator, count))


_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


def _reset_pools_in_child() -> None:
    for pool in list(_POOLS):
        pool._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pools_in_child)


# -- transfers ------------------------------------------------------------------------


class Transfer(Generic[T]):
    """One transfer-engine call, run on a pool thread with its own
    :class:`~velocity.transfer.TransferManager`, cancellable from the loop."""

    def __init__(self, client: SwiftClient, config: TransferConfig | None, work: Work[T],
                 subscribers: Sequence[ProgressSubscriber] = ()) -> None:
        self.client = client
        self.config = config
        self.work = work
        self.subscribers = list(subscribers)
        self.future: Future[T] | None = None
        self._lock = threading.Lock()
        self._cancelled = False
        self._manager: TransferManager | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop the transfer (from any thread): now if it runs, else as it starts."""
        with self._lock:
            self._cancelled = True
            manager = self._manager
        if manager is not None:
            manager.cancel()

    def run(self) -> T:
        from velocity.transfer import TransferManager

        manager = TransferManager(self.client, config=self.config)
        with self._lock:
            self._manager = manager
            cancelled = self._cancelled
        try:
            if cancelled:
                raise errors.TransferCancelled("cancelled before it started")
            return self.work(manager, [_CancelGuard(self, manager), *self.subscribers])
        finally:
            manager.close()


class _CancelGuard(ProgressSubscriber):
    """Closes the gap between making a manager and its call registering
    itself (planning a big upload takes a while): a cancel that came in
    between is passed on as soon as the call starts."""

    def __init__(self, transfer: Transfer[Any], manager: TransferManager) -> None:
        self._transfer = transfer
        self._manager = manager

    def on_start(self, total_bytes: int | None, total_objects: int | None) -> None:
        if self._transfer.cancelled:
            self._manager.cancel()


# -- callbacks, delivered on the loop's thread ---------------------------------------


def _as_list(subscribers: Any) -> list[Any]:
    if subscribers is None:
        return []
    if isinstance(subscribers, (list, tuple)):
        return list(subscribers)
    return [subscribers]


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any],
               *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop was closed under us: nobody to tell
        pass


def on_loop(callback: Callable[..., Any], loop: asyncio.AbstractEventLoop | None = None
            ) -> Callable[..., None]:
    """A thread-safe stand-in for ``callback`` that calls it on ``loop``'s
    thread (default: the running loop), in the order of the calls."""
    target = loop or asyncio.get_running_loop()

    def deliver(*args: Any) -> None:
        _call_soon(target, callback, *args)

    return deliver


class LoopForwarder(ProgressSubscriber):
    """A progress subscriber for the transfer engine that hands every
    callback to the event loop's thread, so the user's subscribers never run
    on a worker thread and never touch the loop from one.  Byte counts that
    arrive faster than the loop takes them are added up into one
    ``on_progress`` call, so a fast transfer does not flood the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, targets: Sequence[Any]) -> None:
        self._loop = loop
        self._targets = list(targets)
        self._lock = threading.Lock()
        self._pending = 0
        self._flush_scheduled = False

    def _send(self, method: str, *args: Any) -> None:
        for target in self._targets:
            callback = getattr(target, method, None)
            if callback is not None:
                _call_soon(self._loop, callback, *args)

    def _flush(self) -> None:  # runs on the loop's thread
        with self._lock:
            delta, self._pending, self._flush_scheduled = self._pending, 0, False
        if not delta:
            return
        for target in self._targets:  # now, so it comes before later callbacks
            callback = getattr(target, "on_progress", None)
            if callback is None:
                continue
            try:
                callback(delta)
            except Exception:  # noqa: BLE001 - one subscriber must not silence the others
                log.exception("progress subscriber %r failed", target)

    def on_start(self, total_bytes: int | None = None,
                 total_objects: int | None = None) -> None:
        self._send("on_start", total_bytes, total_objects)

    def on_progress(self, bytes_done_delta: int) -> None:
        with self._lock:
            self._pending += bytes_done_delta
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        _call_soon(self._loop, self._flush)

    def on_object_done(self, result: Any) -> None:
        self._send("on_object_done", result)

    def on_done(self) -> None:
        self._send("on_done")


def _forget(groups: list[set[Any]], transfer: Any) -> None:
    """Remove a finished transfer from the sets that track it."""
    for where in groups:
        where.discard(transfer)
