"""The asyncio face of Velocity.

:class:`Velocity` moves whole folders to and from a container::

    async with Velocity(None, USERNAME, API_KEY, REGION) as velocity:
        await velocity.authenticate_async()
        await velocity.create_container_async("backups")
        results = await velocity.process("backups", "UPLOAD", "/data/backups")
    for error in velocity.errors:
        print(error)

:class:`AsyncConnection`, :class:`AsyncContainer` and
:class:`AsyncStorageObject` are the object model of
:class:`~velocity.connection.Connection`, :class:`~velocity.container.Container`
and :class:`~velocity.storage_object.StorageObject`, generated from those
classes (:mod:`velocity.aio.mirror`): the same names and signatures, every
method a coroutine, every returned object its async twin.  The same
operation returns the same kind of result on both faces: ``get_objects()``
gives an :class:`AsyncObjectResults` and ``get_all_containers()`` an
:class:`AsyncContainerResults`, sequences that behave as
:class:`~velocity.storage_object.ObjectResults` and
:class:`~velocity.container.ContainerResults` do (``len``, indexing,
slicing, iteration, ``in``, ``names``), with twins as items; the other
listings are lists on both faces.

Attributes: those that do no I/O (``name``, ``size``, ``metadata``, ...) are
plain attributes on both faces.  Those that may do I/O are properties on the
synchronous face, kept for python-cloudfiles compatibility (``conn.cdn_url``,
``conn.cdn_enabled``, ``conn.storage_url``, ``conn.token``,
``container.cdn_uri`` ...); on the async face they keep their names and are
awaited as they are read: ``await conn.cdn_url``.  In the same way
``conn[name]`` is ``await conn[name]``, ``for c in conn`` is ``async for c
in conn``, ``with conn`` is ``async with conn``.  (``name in conn`` has no
async form: Python cannot await in ``in``; use ``await conn.get_container()``.)

Closing has one name on this face: ``await x.close()``, for every object
that holds connections or threads (:class:`Velocity`,
:class:`AsyncConnection`), and ``async with`` calls it.  It cancels the
transfers started through that object and waits for them, closes the HTTP
connections, and shuts down the thread pool the object owns; it may be
called twice, and the object stays usable (the next call opens what it
needs again).  :meth:`Velocity.close_session` is the same coroutine under
the name of the original Velocity API.  There is no ``aclose()``.

How it works (:mod:`velocity.aio.bridge`): every blocking call runs in a
bounded thread pool owned by the :class:`Velocity` (or
:class:`AsyncConnection`) and is awaited with
:meth:`asyncio.loop.run_in_executor`.  Nothing here starts an event loop,
runs one, or keeps a private loop thread, so it works inside Jupyter (whose
cells already run in a loop), under any asyncio runner, and in processes
forked after the object was made (the pool is made again in the child).
Progress callbacks are delivered on the event loop's thread.
"""

from __future__ import annotations

from velocity.aio.api import (
    ACTIONS,
    ErrorEntry,
    Identity,
    PayloadFactory,
    Velocity,
    make_credentials,
)
from velocity.aio.bridge import DEFAULT_MAX_WORKERS
from velocity.aio.model import (
    AsyncConnection,
    AsyncContainer,
    AsyncContainerResults,
    AsyncObjectResults,
    AsyncStorageObject,
)

__all__ = [
    "Velocity",
    "ErrorEntry",
    "make_credentials",
    "AsyncConnection",
    "AsyncContainer",
    "AsyncStorageObject",
    "AsyncObjectResults",
    "AsyncContainerResults",
    "ACTIONS",
    "DEFAULT_MAX_WORKERS",
    "Identity",
    "PayloadFactory",
]
