"""The async object model: :class:`AsyncConnection`, :class:`AsyncContainer`,
:class:`AsyncStorageObject` and the listing results
:class:`AsyncObjectResults` / :class:`AsyncContainerResults`.

Each is generated from its synchronous class by :func:`~velocity.aio.mirror.mirror`:
the same public names and signatures, every method a coroutine that runs in
the pool, every returned model object or listing result given its twin.
Written here by hand is only what an async face does differently: opening
and closing, ``stream()`` as an async iterator, paged ``async for`` listings,
and folder transfers through the transfer engine.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

# the synchronous classes by their public names, wherever they are defined
from velocity import (
    Connection,
    Container,
    ContainerResults,
    ObjectResults,
    StorageObject,
    errors,
)
from velocity.aio.bridge import DEFAULT_MAX_WORKERS, Transfer, WorkerPool
from velocity.aio.mirror import AsyncTwin, face_of, mirror, run_in_new_pool

if TYPE_CHECKING:  # pragma: no cover - imported for annotations only
    from velocity.transfer import TransferConfig, TransferResult

__all__ = ["AsyncConnection", "AsyncContainer", "AsyncStorageObject", "AsyncObjectResults",
           "AsyncContainerResults"]

T = TypeVar("T")


def _check_page_size(page_size: int) -> None:
    if not isinstance(page_size, int) or page_size < 1:
        raise errors.ConfigurationError("page_size must be >= 1, got %r" % (page_size,))


@mirror(Connection)
class AsyncConnection(AsyncTwin):
    """:class:`~velocity.connection.Connection` with coroutine methods.

    Wrap an existing connection (``AsyncConnection(conn)``), open one with the
    arguments of :class:`~velocity.connection.Connection` (``await
    AsyncConnection.open(username, api_key, authurl=...)`` or ``await
    AsyncConnection.from_env()``: the login runs in the pool), or take
    :meth:`Velocity.connection() <velocity.aio.Velocity.connection>`.

    Every method of ``Connection`` is here under its name and signature, as
    a coroutine run in the bounded pool (``max_workers`` threads); what it
    returns comes as its twin (``AsyncContainer``,
    ``AsyncContainerResults``).  The properties ``storage_url``, ``token``,
    ``cdn_url`` and ``cdn_enabled`` may log in, so here they are awaited:
    ``await conn.cdn_url``.  Plain attributes (``client``, ``credentials``,
    ``timeout``, ...) are those of :attr:`sync`.  ``await conn[name]`` is the
    container; ``async for container in conn`` and :meth:`iter_containers`
    page through the account.

    ::

        async with await AsyncConnection.open(credentials=creds) as conn:
            container = await conn.create_container("photos")
            await (await container.create_object("cat.txt")).write(b"meow")
            async for entry in container.iter_objects(prefix="cat"):
                print(entry["name"], entry["bytes"])
    """

    __slots__ = ("_owns_pool", "_transfers")

    def __init__(self, connection: Connection, *, max_workers: int = DEFAULT_MAX_WORKERS,
                 pool: WorkerPool | None = None) -> None:
        if not isinstance(connection, Connection):
            raise errors.ConfigurationError(
                "AsyncConnection wraps a velocity.Connection (got %s); use "
                "await AsyncConnection.open(...) to make one" % type(connection).__name__)
        object.__setattr__(self, "sync", connection)
        object.__setattr__(self, "_parent", None)
        object.__setattr__(self, "_pool", pool or WorkerPool(max_workers))
        #: whether :meth:`close` shuts the pool down (it is not a Velocity's)
        self._owns_pool = pool is None
        #: transfers started through this connection's containers
        self._transfers: set[Transfer[Any]] = set()

    @classmethod
    def _adopt(cls, owner: Any, sync: Connection) -> AsyncConnection:
        return cls(sync, pool=owner._pool)

    @classmethod
    def _adopt_root(cls, sync: Connection, pool: WorkerPool) -> AsyncConnection:
        opened = cls(sync, pool=pool)
        opened._owns_pool = True
        return opened

    @classmethod
    async def open(cls, *args: Any, max_workers: int = DEFAULT_MAX_WORKERS,
                   **kwargs: Any) -> AsyncConnection:
        """Make a :class:`~velocity.connection.Connection` (which logs in)
        in a new pool of ``max_workers`` threads and wrap it; the other
        arguments are those of ``Connection``."""
        return await run_in_new_pool(cls, Connection, args, kwargs, max_workers)

    @face_of(Connection.close, note=(
        "On the async face it first cancels the transfers started through "
        "this connection's containers and waits for them, and afterwards shuts "
        "down the pool unless it is a :class:`~velocity.aio.Velocity`'s.  "
        "Everything opens again on next use."))
    async def close(self) -> None:
        await self._pool.drain(self._transfers)
        await self._pool.run(self.sync.close)
        if self._owns_pool:
            self._pool.shutdown()

    def iter_containers(self, *, prefix: str | None = None, marker: str = "",
                        limit: int | None = None, page_size: int = 1000
                        ) -> AsyncIterator[dict[str, Any]]:
        """``async for info in conn.iter_containers():`` every container's
        listing entry (``name``, ``count``, ``bytes``), one page of
        ``page_size`` per round trip to the pool."""
        _check_page_size(page_size)
        client = self.sync.client
        return self._pool.iterate(lambda: client.iter_account(
            prefix=prefix, marker=marker, limit=limit, page_size=page_size), page_size)

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run any blocking ``func(*args, **kwargs)`` (e.g. of :attr:`sync`) in the pool."""
        return await self._pool.run(func, *args, **kwargs)


@mirror(Container, parent="conn", plain=("name",))
class AsyncContainer(AsyncTwin):
    """:class:`~velocity.container.Container` with coroutine methods.

    Every method of ``Container`` is here under its name and signature, as a
    coroutine run in the pool (``get_objects`` returns an
    :class:`AsyncObjectResults`).  ``name``, ``object_count``, ``size_used``,
    ``metadata`` and ``headers`` are plain attributes: what the container had
    when it was fetched (``await container.refresh()`` reads them again); the
    ``cdn_*`` properties ask the CDN, so they are awaited
    (``await container.cdn_uri``).  ``conn`` (also ``connection``) is the
    :class:`AsyncConnection`.  ``await container[name]`` is the object;
    ``async for obj in container`` and :meth:`iter_objects` page through it.
    """

    __slots__ = ()

    def __init__(self, container: Container, connection: AsyncConnection) -> None:
        super().__init__(container, connection)

    @property
    def connection(self) -> AsyncConnection:
        """The :class:`AsyncConnection` (as ``conn``)."""
        return self._parent  # type: ignore[return-value]

    def iter_objects(self, *, prefix: str | None = None, delimiter: str | None = None,
                     marker: str = "", limit: int | None = None, page_size: int = 1000
                     ) -> AsyncIterator[dict[str, Any]]:
        """``async for info in container.iter_objects(prefix="logs/"):``
        every listing entry (``name``, ``bytes``, ``hash``, ...; ``subdir``
        entries with a ``delimiter``), one page of ``page_size`` per round
        trip to the pool, past Swift's per-request limit."""
        _check_page_size(page_size)
        client, name = self.sync.conn.client, self.sync.name
        return self._pool.iterate(lambda: client.iter_container(
            name, prefix=prefix, delimiter=delimiter, marker=marker, limit=limit,
            page_size=page_size), page_size)

    async def _transfer(self, desc: str, progress: bool, subscribers: Any,
                        config: TransferConfig | None,
                        work: Callable[[Any, list[Any]], list[TransferResult]]
                        ) -> list[TransferResult]:
        return await self._pool.transfer(
            self.sync.conn.client, config, work, progress=progress, subscribers=subscribers,
            desc=desc, group=self.connection._transfers)

    async def upload(self, paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                     *, progress: bool = False, subscribers: Any = None,
                     config: TransferConfig | None = None, **kwargs: Any
                     ) -> list[TransferResult]:
        """Upload files or folders into this container through the transfer
        engine (the keyword arguments of
        :meth:`~velocity.transfer.TransferManager.upload`); progress callbacks
        run on the loop's thread, and cancelling the awaiting task cancels
        the upload."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        sources = [os.fspath(path) for path in paths]
        name = self.sync.name
        return await self._transfer("upload", progress, subscribers, config,
                                    lambda manager, subs: manager.upload(
                                        name, sources, subscribers=subs, **kwargs))

    async def download(self, out_dir: str | os.PathLike[str] = ".", *, progress: bool = False,
                       subscribers: Any = None, config: TransferConfig | None = None,
                       **kwargs: Any) -> list[TransferResult]:
        """Download objects (all by default; ``names=``, ``prefix=``, ...)
        into ``out_dir`` through the transfer engine; progress callbacks run
        on the loop's thread, and cancelling the awaiting task cancels the
        download."""
        target = os.fspath(out_dir)
        name = self.sync.name
        return await self._transfer("download", progress, subscribers, config,
                                    lambda manager, subs: manager.download(
                                        name, out_dir=target, subscribers=subs, **kwargs))


@mirror(StorageObject, parent="container", plain=("name", "etag", "objsum"))
class AsyncStorageObject(AsyncTwin):
    """:class:`~velocity.storage_object.StorageObject` with coroutine methods.

    Every method of ``StorageObject`` is here under its name and signature,
    as a coroutine run in the pool; ``callback`` arguments are called on the
    loop's thread.  The attributes (``name``, ``size``, ``etag``,
    ``content_type``, ``last_modified``, ``metadata``, ``headers``,
    ``manifest``) are plain, and assigning one assigns it on :attr:`sync`
    (``obj.metadata = {...}`` then ``await obj.sync_metadata()``).
    ``container`` is the :class:`AsyncContainer`.
    """

    __slots__ = ()

    def __init__(self, obj: StorageObject, container: AsyncContainer) -> None:
        super().__init__(obj, container)

    @face_of(StorageObject.stream, note=(
        "On the async face: ``async for chunk in obj.stream():``, one chunk per "
        "round trip to the pool.  The request is made on the first iteration."))
    def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        return self._pool.iterate(lambda: self.sync.stream(*args, **kwargs))


class _AsyncResults(AsyncTwin, Sequence[T]):
    """A listing's results, as the async face has them: the synchronous
    results' own sequence (``len``, indexing, slicing, iteration, ``in``,
    ``index``, ``count``, ``names``), with twins as items.  Everything is in
    memory already, so nothing here is awaited."""

    __slots__ = ()

    if TYPE_CHECKING:  # made by mirror()
        def __getitem__(self, key: Any) -> Any: ...

        def __len__(self) -> int: ...

        def __iter__(self) -> Iterator[T]: ...


@mirror(ObjectResults, parent="container", blocking=False)
class AsyncObjectResults(_AsyncResults[AsyncStorageObject]):
    """:class:`~velocity.storage_object.ObjectResults` of an
    :class:`AsyncContainer`: a sequence of :class:`AsyncStorageObject`;
    slicing gives an ``AsyncObjectResults``."""

    __slots__ = ()


@mirror(ContainerResults, parent="conn", blocking=False)
class AsyncContainerResults(_AsyncResults[AsyncContainer]):
    """:class:`~velocity.container.ContainerResults` of an
    :class:`AsyncConnection`: a sequence of :class:`AsyncContainer`;
    slicing gives an ``AsyncContainerResults``."""

    __slots__ = ()
