"""The asyncio face of Velocity.

:class:`Velocity` is the seed's API for whole folders::

    velocity = Velocity(None, USERNAME, API_KEY, REGION)
    velocity.authenticate()
    velocity.create_container("backups")
    results = await velocity.process("backups", "UPLOAD", "/data/backups")
    await velocity.close_session()
    for error in velocity.errors:
        print(error)

:class:`AsyncConnection`, :class:`AsyncContainer` and
:class:`AsyncStorageObject` are the cloudfiles object model with coroutine
methods, and listings as ``async for``.

How it works: Swift's client library blocks, so every blocking call (HTTP,
file I/O, hashing) runs in a bounded :class:`~concurrent.futures.ThreadPoolExecutor`
owned by the :class:`Velocity` (or :class:`AsyncConnection`) and is awaited
with :meth:`asyncio.loop.run_in_executor`.  Nothing here starts an event
loop, runs one, or keeps a private loop thread, so it works inside Jupyter
(whose cells already run in a loop), under any asyncio runner, and in
processes forked after the object was made (the pool is remade in the child).
Progress callbacks are delivered on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union

from velocity import errors as _errors
from velocity.auth import RACKSPACE_AUTH_URL, Credentials, build_credentials, env_defaults
from velocity.client import RetryPolicy, SwiftClient
from velocity.names import check_container_name
from velocity.progress import ProgressSubscriber, TqdmProgress

if TYPE_CHECKING:  # pragma: no cover - imported for annotations only
    from velocity.connection import Connection
    from velocity.container import Container
    from velocity.storage_object import StorageObject
    from velocity.transfer import TransferConfig, TransferManager, TransferResult

__all__ = [
    "Velocity",
    "ErrorEntry",
    "make_credentials",
    "AsyncConnection",
    "AsyncContainer",
    "AsyncStorageObject",
    "ACTIONS",
    "DEFAULT_MAX_WORKERS",
]

log = logging.getLogger("velocity")
T = TypeVar("T")

#: the actions :meth:`Velocity.process` knows (given in any case)
ACTIONS = ("HEAD", "DELETE", "UPLOAD", "DOWNLOAD")
#: threads in a Velocity's pool unless ``max_workers`` says otherwise; each
#: :meth:`Velocity.process` call holds one of them while the transfer engine
#: moves the objects with its own threads
DEFAULT_MAX_WORKERS = 8

#: ``identity=`` may also be a callable ``(username, key) -> payload dict``
PayloadFactory = Callable[[str, str], Mapping[str, Any]]
Identity = Union[str, Credentials, PayloadFactory]



# -- the bounded pool -----------------------------------------------------------


class _Pool:
    """A lazily made, bounded thread pool that is remade after ``fork()``
    (a pool's threads do not survive into a forked child) and after
    :meth:`shutdown`."""

    def __init__(self, max_workers: int, name: str) -> None:
        if not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1:
            raise _errors.ConfigurationError(
                "max_workers must be a positive integer, got %r" % (max_workers,))
        self.max_workers = max_workers
        self.name = name
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid = os.getpid()
        #: transfer-engine calls running in this pool
        self.transfers: set[_Transfer[Any]] = set()
        _POOLS.add(self)

    def _after_fork_in_child(self) -> None:
        # another thread may have held the lock at fork(); the child has one thread
        self._lock = threading.Lock()

    def executor(self) -> ThreadPoolExecutor:
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

    async def transfer(self, transfer: _Transfer[T]) -> T:
        """Run a transfer-engine call in the pool; cancelling the awaiting
        task cancels the transfer (it stops at its next block and cleans up)."""
        loop = asyncio.get_running_loop()
        future = self.executor().submit(transfer.run)
        self.transfers.add(transfer)
        transfer.future = future
        future.add_done_callback(lambda _: self.transfers.discard(transfer))
        try:
            return await asyncio.wrap_future(future, loop=loop)
        except asyncio.CancelledError:
            transfer.cancel()
            raise

    async def drain(self) -> None:
        """Cancel the running transfers and wait until their threads let go."""
        running = [t for t in list(self.transfers) if t.future is not None]
        for transfer in running:
            transfer.cancel()
        if running:
            await asyncio.gather(*(asyncio.wrap_future(t.future) for t in running),
                                 return_exceptions=True)

    def shutdown(self) -> None:
        """Stop accepting work; idle threads exit (never blocks)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None and self._pid == os.getpid():
            executor.shutdown(wait=False, cancel_futures=True)


_POOLS: weakref.WeakSet[_Pool] = weakref.WeakSet()


def _reset_pools_in_child() -> None:
    for pool in list(_POOLS):
        pool._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pools_in_child)


# -- progress, delivered on the loop's thread ----------------------------------------


class _LoopForwarder(ProgressSubscriber):
    """A progress subscriber for the transfer engine that hands every
    callback to the event loop's thread (``call_soon_threadsafe``), so the
    user's subscribers never run on a worker thread and never touch the loop
    from one.  Byte counts that arrive faster than the loop takes them are
    added up into one ``on_progress`` call, so a fast transfer does not flood
    the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, targets: Sequence[Any]) -> None:
        self._loop = loop
        self._targets = list(targets)
        self._lock = threading.Lock()
        self._pending = 0
        self._flush_scheduled = False

    def _send(self, method: str, *args: Any) -> None:
        for target in self._targets:
            callback = getattr(target, method, None)
            if callback is None:
                continue
            try:
                self._loop.call_soon_threadsafe(callback, *args)
            except RuntimeError:  # the loop was closed under us: nobody to tell
                return

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
        try:
            self._loop.call_soon_threadsafe(self._flush)
        except RuntimeError:
            pass

    def on_object_done(self, result: Any) -> None:
        self._send("on_object_done", result)

    def on_done(self) -> None:
        self._send("on_done")


def _subscribers(subscribers: Any) -> list[Any]:
    if subscribers is None:
        return []
    if isinstance(subscribers, (list, tuple)):
        return list(subscribers)
    return [subscribers]


def _forwarder(progress: bool, subscribers: Any, desc: str) -> list[ProgressSubscriber] | None:
    """The subscriber list to give the transfer engine: one forwarder that
    replays every callback on the running loop's thread (call it on the loop)."""
    targets = _subscribers(subscribers)
    if progress:
        targets.append(TqdmProgress(desc=desc))
    if not targets:
        return None
    return [_LoopForwarder(asyncio.get_running_loop(), targets)]


# -- error entries ---------------------------------------------------------------


@dataclass
class ErrorEntry:
    """One failure that :meth:`Velocity.process` collected in
    ``velocity.errors``: ``str(entry)`` names the action, the object (or the
    folder, when the whole run failed) and the reason.

    :ivar action: ``"UPLOAD"``, ``"DOWNLOAD"``, ``"HEAD"`` or ``"DELETE"``
    :ivar container: the container
    :ivar name: the object name, or ``None`` when the whole run failed
    :ivar path: the local file or folder concerned, if any
    :ivar error: the :class:`~velocity.errors.VelocityError`
    :ivar result: the item's :class:`~velocity.transfer.TransferResult`, if any
    """

    action: str
    container: str | None
    name: str | None
    path: str | None
    error: _errors.VelocityError
    result: TransferResult | None = None

    def __str__(self) -> str:
        if self.name is not None:
            what = "%s of %r (container %r)" % (self.action, self.name, self.container)
        elif self.container is not None:
            what = "%s with container %r" % (self.action, self.container)
            if self.path:
                what += " and location %r" % self.path
        else:
            what = self.action
        return "%s failed: %s" % (what, self.error)


# -- credentials from the seed's options -----------------------------------------------


#: Keystone details a face taking only a user and a key fills from ``OS_*``
_KEYSTONE_FROM_ENV = ("project_name", "project_id", "user_domain_name", "user_domain_id",
                      "project_domain_name", "project_domain_id")


def make_credentials(username: str | None, key: str | None, region: str | None = None,
                     auth_url: str = RACKSPACE_AUTH_URL, internal: bool = False,
                     identity: Identity | None = None, **options: Any) -> Credentials:
    """The :class:`~velocity.auth.Credentials` that :class:`Velocity`'s
    options describe.

    :param identity: ``None`` (guessed from ``auth_url`` as every face
        guesses it: ``.../auth/v1.0`` is v1, Rackspace's identity an API key,
        other URLs Keystone), ``"rackspace"`` (API key), ``"password"``
        (Keystone v2 or v3, from the URL; project and domains from
        ``options`` or ``OS_*``), ``"v1"`` (tempauth / legacy Cloud Files),
        ``"application_credential"`` (``username`` is the credential id,
        ``key`` its secret; or pass ``credential_name=`` and ``username`` is
        its owner), ``"env"`` (everything from ``OS_*`` / ``ST_*``
        variables), a :class:`~velocity.auth.Credentials` (used as is), or a
        callable ``(username, key) -> payload dict`` for other identity
        services (the payload is POSTed to ``auth_url`` + ``/tokens``,
        Keystone v2 style).
    """
    if isinstance(identity, Credentials):
        return identity
    if isinstance(identity, str) and identity.lower() == "env":
        return Credentials.from_env(**options)
    if callable(identity):
        factory = identity
        return Credentials.from_payload(auth_url, lambda: factory(username, key),
                                        region=region, internal=internal, username=username,
                                        **options)
    if identity is not None and not isinstance(identity, str):
        raise _errors.ConfigurationError(
            "identity must be 'rackspace', 'password', 'v1', 'application_credential', "
            "a velocity.auth.Credentials or a callable, got %s" % type(identity).__name__)
    keystone = {name: value for name, value in env_defaults().items()
                if name in _KEYSTONE_FROM_ENV and not options.get(name)}
    options = {name: value for name, value in options.items() if value is not None}
    return build_credentials(identity, auth_url=auth_url, user=username, key=key,
                             region=region, internal=internal, **keystone, **options)


# -- local files ---------------------------------------------------------------------


def _files_under(location: str) -> list[tuple[str, str]]:
    """``(path, object name)`` of every file under ``location`` (names are
    POSIX paths relative to it), sorted; a single file gives its own name."""
    if os.path.isfile(location):
        return [(location, os.path.basename(location))]
    found: list[tuple[str, str]] = []
    for folder, dirs, files in os.walk(location):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if not os.path.isfile(path):  # dangling links, sockets, fifos
                continue
            rel = os.path.relpath(path, location)
            found.append((path, rel.replace(os.sep, "/")))
    return found


# -- the seed's API -----------------------------------------------------------------------


class Velocity:
    """The seed's asyncio API: whole folders to and from a container.

    :param loop: an event loop or ``None``.  Kept for the seed's call
        ``Velocity(loop, ...)``; never required and never used to run
        blocking work (each coroutine uses the loop it is awaited in).
    :param username: user name (for ``identity="application_credential"``:
        the credential id)
    :param key: API key (Rackspace), password (Keystone) or key (v1)
    :param region: catalog region of the object store (``None``: any)
    :param auth_url: identity URL (default: Rackspace's
        ``https://identity.api.rackspacecloud.com/v2.0``)
    :param internal: use internal (ServiceNet) endpoints
    :param identity: how to log in: ``None`` (default: guessed from
        ``auth_url``, so Rackspace's API key for the default URL, v1 for
        ``.../auth/v1.0``, Keystone otherwise), ``"rackspace"`` (API key),
        ``"password"`` (Keystone v2 or v3, chosen from the URL; project and
        domains from keyword arguments such as ``project_name=`` and
        ``user_domain_name=`` or from ``OS_*`` variables), ``"v1"``
        (tempauth, legacy Cloud Files), ``"application_credential"``,
        ``"env"`` (an OpenStack RC file's ``OS_*`` variables, or ``ST_*``), a
        :class:`~velocity.auth.Credentials`, or a callable
        ``(username, key) -> payload dict`` for an identity service Velocity
        does not know
    :param max_workers: size of the thread pool every blocking call runs in
    :param config: :class:`~velocity.transfer.TransferConfig` for the
        transfers (threads, segment size, checksums, ...)
    :param retry: a :class:`~velocity.client.RetryPolicy` for every request
        (default: 5 retries with backoff)
    :param identity_options: passed on to the credentials (``project_name``,
        ``user_domain_name``, ``timeout``, ...)

    :ivar errors: every failure :meth:`process` collected, as
        :class:`ErrorEntry` objects (``print(entry)`` names the object and the
        reason); it grows across calls, clear it with ``velocity.errors.clear()``
    :ivar client: the :class:`~velocity.client.SwiftClient` under it

    Use ``async with Velocity(...) as velocity:`` or ``await
    velocity.close_session()`` when done.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None,
                 username: str | None = None, key: str | None = None,
                 region: str | None = None, auth_url: str = RACKSPACE_AUTH_URL,
                 internal: bool = False, identity: Identity | None = None, *,
                 max_workers: int = DEFAULT_MAX_WORKERS,
                 config: TransferConfig | None = None, retry: RetryPolicy | None = None,
                 **identity_options: Any) -> None:
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            raise _errors.ConfigurationError(
                "loop must be an asyncio event loop or None, got %s (the arguments are "
                "Velocity(loop, username, key, region, ...))" % type(loop).__name__)
        self.loop = loop
        self.username = username
        self.region = region
        self.auth_url = auth_url
        self.internal = internal
        self.config = config
        self.credentials = make_credentials(username, key, region, auth_url, internal,
                                            identity, **identity_options)
        #: how it logs in: the ``identity`` given, or the flavour guessed from ``auth_url``
        self.identity = identity if isinstance(identity, str) else (
            "credentials" if isinstance(identity, Credentials) else
            "callable" if callable(identity) else self.credentials.kind)
        self.client = SwiftClient(self.credentials, retry=retry)
        self.errors: list[ErrorEntry] = []
        self._pool = _Pool(max_workers, "velocity-aio")

    def __repr__(self) -> str:
        return "Velocity(%r)" % (self.credentials,)

    # -- plain calls, as in the seed ---------------------------------------------------

    def authenticate(self) -> None:
        """Log in now (a plain, blocking call, as in the seed); raises
        :class:`~velocity.errors.AuthenticationFailed` when refused (and
        records it in :attr:`errors`).  Inside a running loop prefer ``await
        velocity.authenticate_async()``."""
        try:
            self.client.get_auth()
        except _errors.VelocityError as error:
            self.errors.append(ErrorEntry("AUTHENTICATE", None, None, None, error))
            raise

    def create_container(self, name: str) -> None:
        """Create container ``name`` unless it exists (a plain, blocking
        call, as in the seed; see :meth:`create_container_async`).  A failure
        is raised and recorded in :attr:`errors`."""
        try:
            check_container_name(name)
            self.client.put_container(name)
        except _errors.VelocityError as error:
            self.errors.append(ErrorEntry("CREATE_CONTAINER", name if isinstance(name, str)
                                          else None, None, None, error))
            raise

    async def authenticate_async(self) -> None:
        """:meth:`authenticate`, run in the pool."""
        await self._pool.run(self.authenticate)

    async def create_container_async(self, name: str) -> None:
        """:meth:`create_container`, run in the pool."""
        await self._pool.run(self.create_container, name)

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run any blocking ``func(*args, **kwargs)`` in this Velocity's pool
        and await it (e.g. a :class:`~velocity.transfer.TransferManager` call)."""
        return await self._pool.run(func, *args, **kwargs)

    async def connection(self) -> AsyncConnection:
        """The async object model (:class:`AsyncConnection`) on this
        Velocity's credentials, client and pool."""
        from velocity.connection import Connection

        def make() -> Connection:
            connection = Connection(credentials=self.credentials)
            connection.client.close()
            connection.client = self.client  # one core: same client, same connections
            return connection

        return AsyncConnection(await self._pool.run(make), pool=self._pool)

    # -- the work -----------------------------------------------------------------------

    async def process(self, container: str, action: str, location: str | os.PathLike[str], *,
                      progress: bool = False, subscribers: Any = None,
                      ) -> list[TransferResult]:
        """Run ``action`` for the folder ``location`` against ``container``.

        :param action: ``"UPLOAD"`` every file under ``location`` (object
            names are POSIX paths relative to it); ``"DOWNLOAD"`` every object
            of ``container`` into ``location``; ``"HEAD"``: check that each file
            under ``location`` exists in ``container``; ``"DELETE"`` the objects
            named after the files under ``location``.  Any case.
        :param location: a folder (or a single file for UPLOAD, HEAD and
            DELETE); DOWNLOAD makes it when it does not exist yet
        :param progress: show a ``tqdm`` bar (a widget in notebooks)
        :param subscribers: progress subscriber(s) (see
            :mod:`velocity.progress`); their callbacks run on the event
            loop's thread
        :returns: one :class:`~velocity.transfer.TransferResult` per item

        A failed item does not stop the others: it is appended to
        :attr:`errors` (an :class:`ErrorEntry` naming the object and the
        reason) and its result has ``ok=False``.  What fails every item (a
        refused login, a missing container) shows as failed results and
        entries too.  What stops the run before any item (an unknown action,
        a location that does not exist, a bad container name) is appended to
        :attr:`errors` and raised as a :class:`~velocity.errors.VelocityError`.
        """
        verb = action.upper() if isinstance(action, str) else action
        where = os.fspath(location) if isinstance(location, (str, os.PathLike)) else location
        try:
            if verb not in ACTIONS:
                raise _errors.ConfigurationError(
                    "unknown action %r: use one of %s (any case)" % (action, ", ".join(ACTIONS)))
            if not isinstance(container, str):
                raise _errors.InvalidContainerName(
                    "container must be a str, got %s" % type(container).__name__)
            check_container_name(container)
            if not isinstance(where, str) or not where:
                raise _errors.ConfigurationError("location must be a folder path, got %r"
                                                 % (location,))
            where = os.path.abspath(os.path.expanduser(where))
        except _errors.VelocityError as error:
            self.errors.append(ErrorEntry(str(verb), str(container), None,
                                          where if isinstance(where, str) else None, error))
            raise

        forward = _forwarder(progress, subscribers, verb.lower())
        transfer = _Transfer(self.client, self.config,
                             _process_work(verb, container, where, forward))
        try:
            results = await self._pool.transfer(transfer)
        except _errors.VelocityError as error:
            self.errors.append(ErrorEntry(verb, container, None, where, error))
            raise
        except Exception as exc:  # noqa: BLE001 - a bug below us still becomes a clear error
            error = _errors.VelocityError("%s failed: %s: %s" % (
                verb, exc.__class__.__name__, exc))
            self.errors.append(ErrorEntry(verb, container, None, where, error))
            raise error from exc
        for result in results:
            if not result.ok:
                error = result.error or _errors.VelocityError("failed")
                self.errors.append(ErrorEntry(verb, container, result.name, result.path,
                                              error, result))
        return results

    # -- closing ---------------------------------------------------------------------------

    async def close_session(self) -> None:
        """Cancel unfinished transfers, wait for them, close the HTTP
        connections and the thread pool.  The object stays usable: a later
        call opens what it needs again."""
        await self._pool.drain()
        await self._pool.run(self.client.close)
        self._pool.shutdown()

    async def __aenter__(self) -> Velocity:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_session()


class _Transfer(Generic[T]):
    """One transfer-engine call, run on a pool thread with its own
    :class:`~velocity.transfer.TransferManager`, cancellable from the loop."""

    def __init__(self, client: SwiftClient, config: TransferConfig | None,
                 work: Callable[[TransferManager, ProgressSubscriber], T]) -> None:
        self.client = client
        self.config = config
        self.work = work
        self.future: Future[T] | None = None
        self._lock = threading.Lock()
        self._cancelled = False
        self._manager: TransferManager | None = None

    def cancel(self) -> None:
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
                raise _errors.TransferCancelled("cancelled before it started")
            return self.work(manager, _CancelGuard(self, manager))
        finally:
            manager.close()


class _CancelGuard(ProgressSubscriber):
    """Closes the gap between making a manager and its call registering
    itself (planning a big upload takes a while): a cancel that came in
    between is passed on as soon as the call starts."""

    def __init__(self, transfer: _Transfer[Any], manager: TransferManager) -> None:
        self._transfer = transfer
        self._manager = manager

    def on_start(self, total_bytes: int | None, total_objects: int | None) -> None:
        if self._transfer._cancelled:
            self._manager.cancel()


def _process_work(action: str, container: str, location: str,
                  forward: list[ProgressSubscriber] | None
                  ) -> Callable[[TransferManager, ProgressSubscriber], list[TransferResult]]:
    """What :meth:`Velocity.process` does on its pool thread."""

    def work(manager: TransferManager, guard: ProgressSubscriber) -> list[TransferResult]:
        subscribers = [guard, *(forward or ())]
        if action == "DOWNLOAD":
            if os.path.exists(location) and not os.path.isdir(location):
                raise _errors.ConfigurationError(
                    "location %r is not a folder: DOWNLOAD needs a folder to write into"
                    % location)
            # a missing folder is made, as by TransferManager.download and the CLI
            return manager.download(container, out_dir=location, subscribers=subscribers)
        if not os.path.exists(location):
            raise _errors.ConfigurationError("location %r does not exist" % location)
        files = _files_under(location)
        if not files:
            log.info("%s: no files under %s", action, location)
            return []
        paths = [path for path, _ in files]
        names = [name for _, name in files]
        if action == "UPLOAD":
            return manager.upload(container, paths, object_names=names,
                                  subscribers=subscribers)
        if action == "DELETE":
            return _with_paths(manager.delete(container, names, subscribers=subscribers),
                               files)
        return _with_paths(manager.head(container, names, subscribers=subscribers), files)

    return work


def _with_paths(results: list[TransferResult], files: list[tuple[str, str]]
                ) -> list[TransferResult]:
    """Fill in the local file each HEAD / DELETE result corresponds to."""
    paths = {name: path for path, name in files}
    for result in results:
        if getattr(result, "path", None) is None and result.name in paths:
            try:
                result.path = paths[result.name]
            except AttributeError:  # a frozen record: keep it as it is
                pass
    return results


# -- the async object model ---------------------------------------------------------------


class _AsyncBase:
    _pool: _Pool
    #: the synchronous object underneath
    sync: Any

    def __repr__(self) -> str:
        return "Async%r" % (self.sync,)

    async def _run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._pool.run(func, *args, **kwargs)


class AsyncConnection(_AsyncBase):
    """The cloudfiles :class:`~velocity.connection.Connection` with
    coroutine methods.

    Wrap an existing connection (``AsyncConnection(conn)``), open one with
    the same arguments as :class:`~velocity.connection.Connection` (``await
    AsyncConnection.open(username, api_key, authurl=...)``: the login runs in
    the pool), or take :meth:`Velocity.connection`.  Every blocking call runs
    in the bounded pool (``max_workers`` threads) on the connection's
    :class:`~velocity.client.SwiftClient`.

    ::

        async with await AsyncConnection.open(credentials=creds) as conn:
            container = await conn.create_container("photos")
            await (await container.create_object("cat.txt")).write(b"meow")
            async for entry in container.iter_objects(prefix="cat"):
                print(entry["name"], entry["bytes"])
    """

    def __init__(self, connection: Connection, *, max_workers: int = DEFAULT_MAX_WORKERS,
                 pool: _Pool | None = None) -> None:
        from velocity.connection import Connection

        if not isinstance(connection, Connection):
            raise _errors.ConfigurationError(
                "AsyncConnection wraps a velocity.Connection (got %s); use "
                "await AsyncConnection.open(...) to make one" % type(connection).__name__)
        #: the synchronous :class:`~velocity.connection.Connection` underneath
        self.sync = connection
        self._owns_pool = pool is None
        self._pool = pool or _Pool(max_workers, "velocity-aio")

    @classmethod
    async def open(cls, *args: Any, max_workers: int = DEFAULT_MAX_WORKERS,
                   **kwargs: Any) -> AsyncConnection:
        """Make a :class:`~velocity.connection.Connection` (which logs in)
        in the pool and wrap it; arguments as for ``Connection``."""
        from velocity.connection import Connection

        pool = _Pool(max_workers, "velocity-aio")
        connection = await pool.run(Connection, *args, **kwargs)
        opened = cls(connection, pool=pool)
        opened._owns_pool = True
        return opened

    @property
    def client(self) -> SwiftClient:
        return self.sync.client

    @property
    def credentials(self) -> Credentials:
        return self.sync.credentials

    def _wrap(self, container: Container) -> AsyncContainer:
        return AsyncContainer(container, self)

    async def get_info(self) -> tuple[int | None, int | None]:
        """``(container_count, bytes_used)`` of the account."""
        return await self._run(self.sync.get_info)

    async def create_container(self, name: str, error_on_existing: bool = False
                               ) -> AsyncContainer:
        """Create (or get) container ``name``."""
        return self._wrap(await self._run(self.sync.create_container, name,
                                          error_on_existing))

    async def get_container(self, name: str) -> AsyncContainer:
        """Container ``name`` (:class:`~velocity.errors.NoSuchContainer` if missing)."""
        return self._wrap(await self._run(self.sync.get_container, name))

    async def delete_container(self, container: str | AsyncContainer | Container) -> None:
        """Delete an empty container."""
        if isinstance(container, AsyncContainer):
            container = container.sync
        await self._run(self.sync.delete_container, container)

    async def list_containers(self, limit: int | None = None, marker: str | None = None,
                              **parms: Any) -> list[str]:
        """Container names (every one when ``limit`` is ``None``)."""
        return list(await self._run(self.sync.list_containers, limit, marker, **parms))

    async def list_containers_info(self, limit: int | None = None,
                                   marker: str | None = None, **parms: Any
                                   ) -> list[dict[str, Any]]:
        """Dicts with ``name``, ``count`` and ``bytes``."""
        return list(await self._run(self.sync.list_containers_info, limit, marker, **parms))

    async def get_all_containers(self, limit: int | None = None, marker: str | None = None,
                                 **parms: Any) -> list[AsyncContainer]:
        """Every container (or ``limit``), as :class:`AsyncContainer`."""
        found = await self._run(self.sync.get_all_containers, limit, marker, **parms)
        return [self._wrap(item) for item in found]

    async def iter_containers(self, *, prefix: str | None = None, marker: str = "",
                              limit: int | None = None, page_size: int = 1000
                              ) -> AsyncIterator[dict[str, Any]]:
        """``async for info in conn.iter_containers():`` every container's
        listing entry (``name``, ``count``, ``bytes``), fetched page by page
        in the pool."""
        async for entry in _pages(self._pool, self.client, None, prefix=prefix, marker=marker,
                                  limit=limit, page_size=page_size):
            yield entry

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run any blocking call (e.g. of :attr:`sync`) in the pool."""
        return await self._run(func, *args, **kwargs)

    async def close(self) -> None:
        """Close the HTTP connections, and the pool unless it is a
        :class:`Velocity`'s (both reopen on next use)."""
        await self._run(self.sync.close)
        if self._owns_pool:
            self._pool.shutdown()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncContainer(_AsyncBase):
    """A :class:`~velocity.container.Container` with coroutine methods.

    Attributes (``name``, ``object_count``, ``size_used``, ``metadata``) are
    those the container had when it was fetched; ``await container.refresh()``
    reads them again.
    """

    def __init__(self, container: Container, connection: AsyncConnection) -> None:
        #: the synchronous :class:`~velocity.container.Container` underneath
        self.sync = container
        self.connection = connection
        self._pool = connection._pool

    @property
    def name(self) -> str:
        return self.sync.name

    @property
    def object_count(self) -> int | None:
        return self.sync.object_count

    @property
    def size_used(self) -> int | None:
        return self.sync.size_used

    @property
    def metadata(self) -> dict[str, str]:
        return self.sync.metadata

    def _wrap(self, obj: StorageObject) -> AsyncStorageObject:
        return AsyncStorageObject(obj, self)

    async def refresh(self) -> AsyncContainer:
        """Read the container's counts and metadata again."""
        await self._run(self.sync.refresh)
        return self

    async def create_object(self, name: str) -> AsyncStorageObject:
        """A new (not yet written) object handle."""
        return self._wrap(await self._run(self.sync.create_object, name))

    async def get_object(self, name: str) -> AsyncStorageObject:
        """Object ``name`` (:class:`~velocity.errors.NoSuchObject` if missing)."""
        return self._wrap(await self._run(self.sync.get_object, name))

    async def delete_object(self, name: str | AsyncStorageObject | StorageObject) -> None:
        """Delete one object."""
        if isinstance(name, AsyncStorageObject):
            name = name.sync
        await self._run(self.sync.delete_object, name)

    async def list_objects(self, *args: Any, **kwargs: Any) -> list[str]:
        """Object names (cloudfiles' ``prefix``, ``limit``, ``marker``,
        ``path``, ``delimiter``, ``end_marker``; every object by default)."""
        return list(await self._run(self.sync.list_objects, *args, **kwargs))

    async def list_objects_info(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        """Listing dicts (``name``, ``bytes``, ``hash``, ``content_type``,
        ``last_modified``)."""
        return list(await self._run(self.sync.list_objects_info, *args, **kwargs))

    async def get_objects(self, *args: Any, **kwargs: Any) -> list[AsyncStorageObject]:
        """The objects, as :class:`AsyncStorageObject`."""
        found = await self._run(self.sync.get_objects, *args, **kwargs)
        return [self._wrap(item) for item in found]

    async def iter_objects(self, *, prefix: str | None = None, delimiter: str | None = None,
                           marker: str = "", limit: int | None = None, page_size: int = 1000
                           ) -> AsyncIterator[dict[str, Any]]:
        """``async for info in container.iter_objects(prefix="logs/"):``
        every listing entry (``name``, ``bytes``, ``hash``, ...), fetched page
        by page in the pool, past Swift's per-request limit."""
        async for entry in _pages(self._pool, self.connection.client, self.sync.name,
                                  prefix=prefix, delimiter=delimiter, marker=marker,
                                  limit=limit, page_size=page_size):
            yield entry

    async def update_metadata(self, metadata: Mapping[str, str], **kwargs: Any) -> None:
        await self._run(self.sync.update_metadata, metadata, **kwargs)

    async def make_public(self, *args: Any, **kwargs: Any) -> None:
        await self._run(self.sync.make_public, *args, **kwargs)

    async def make_private(self) -> None:
        await self._run(self.sync.make_private)

    async def is_public(self) -> bool:
        return await self._run(self.sync.is_public)

    async def public_uri(self) -> str:
        return await self._run(self.sync.public_uri)

    async def upload(self, paths: str | os.PathLike[str] | Iterable[str], *,
                     progress: bool = False, subscribers: Any = None,
                     config: TransferConfig | None = None, **kwargs: Any
                     ) -> list[TransferResult]:
        """Upload files or folders into this container through the transfer
        engine (:meth:`~velocity.transfer.TransferManager.upload`'s keyword
        arguments); progress callbacks run on the loop's thread."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [os.fspath(paths)]
        paths = list(paths)
        forward = _forwarder(progress, subscribers, "upload")
        return await self._pool.transfer(_Transfer(
            self.connection.client, config,
            lambda manager, guard: manager.upload(
                self.sync.name, paths, subscribers=[guard, *(forward or ())], **kwargs)))

    async def download(self, out_dir: str | os.PathLike[str] = ".", *, progress: bool = False,
                       subscribers: Any = None, config: TransferConfig | None = None,
                       **kwargs: Any) -> list[TransferResult]:
        """Download objects (all by default; ``names=``, ``prefix=``, ...)
        into ``out_dir`` through the transfer engine; progress callbacks run
        on the loop's thread."""
        target = os.fspath(out_dir)
        forward = _forwarder(progress, subscribers, "download")
        return await self._pool.transfer(_Transfer(
            self.connection.client, config,
            lambda manager, guard: manager.download(
                self.sync.name, out_dir=target, subscribers=[guard, *(forward or ())],
                **kwargs)))


class AsyncStorageObject(_AsyncBase):
    """A :class:`~velocity.storage_object.StorageObject` with coroutine methods."""

    def __init__(self, obj: StorageObject, container: AsyncContainer) -> None:
        #: the synchronous :class:`~velocity.storage_object.StorageObject` underneath
        self.sync = obj
        self.container = container
        self._pool = container._pool

    @property
    def name(self) -> str:
        return self.sync.name

    @property
    def size(self) -> int | None:
        return self.sync.size

    @property
    def etag(self) -> str | None:
        return self.sync.etag

    @property
    def content_type(self) -> str | None:
        return self.sync.content_type

    @property
    def last_modified(self) -> Any:
        return self.sync.last_modified

    @property
    def metadata(self) -> dict[str, str]:
        return self.sync.metadata

    async def read(self, size: int = -1, offset: int = 0, hdrs: Mapping[str, str] | None = None
                   ) -> bytes:
        """The object's bytes (``size`` bytes from ``offset``; all by default)."""
        return await self._run(self.sync.read, size, offset, hdrs)

    async def write(self, data: Any, verify: bool = True, callback: Any = None) -> None:
        """Write bytes, str or a file-like (streamed) as the object's content."""
        await self._run(self.sync.write, data, verify, callback)

    async def load_from_filename(self, filename: str, verify: bool = True,
                                 callback: Any = None) -> None:
        """Upload a local file as this object."""
        await self._run(self.sync.load_from_filename, filename, verify, callback)

    async def save_to_filename(self, filename: str, callback: Any = None) -> None:
        """Download this object to a local file (atomically)."""
        await self._run(self.sync.save_to_filename, filename, callback)

    async def sync_metadata(self) -> None:
        """Send :attr:`metadata` to the server."""
        await self._run(self.sync.sync_metadata)

    async def copy_to(self, container_name: str, name: str) -> None:
        await self._run(self.sync.copy_to, container_name, name)

    async def stream(self, chunksize: int = 65536) -> AsyncIterator[bytes]:
        """``async for chunk in obj.stream():`` the content, one chunk per
        pool round trip (never the whole object in memory)."""
        iterator = await self._run(lambda: iter(self.sync.stream(chunksize)))
        done = object()
        while True:
            chunk = await self._run(next, iterator, done)
            if chunk is done:
                return
            yield chunk


async def _pages(pool: _Pool, client: SwiftClient, container: str | None, *,
                 prefix: str | None, marker: str, limit: int | None, page_size: int,
                 delimiter: str | None = None) -> AsyncIterator[dict[str, Any]]:
    """Listing entries of ``container`` (or of the account), one page per
    pool round trip."""
    if page_size < 1:
        raise _errors.ConfigurationError("page_size must be >= 1, got %r" % page_size)
    remaining = limit
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        kwargs: dict[str, Any] = {"marker": marker, "limit": size, "prefix": prefix}
        if delimiter:
            kwargs["delimiter"] = delimiter
        if container is None:
            _, page = await pool.run(client.get_account, **kwargs)
        else:
            _, page = await pool.run(client.get_container, container, **kwargs)
        for entry in page:
            yield entry
        if remaining is not None:
            remaining -= len(page)
        if len(page) < size:
            return
        marker = page[-1].get("name") or page[-1].get("subdir")
