"""Velocity: OpenStack Swift and Rackspace Cloud Files for Python.

One thread-safe core with several faces:

* the python-cloudfiles object model: :class:`Connection`, :class:`Container`,
  :class:`StorageObject` (and the drop-in module :mod:`velocity.cloudfiles`),
* the :class:`TransferManager` for many or large objects,
* the asyncio :class:`Velocity` API for whole folders,
* the :class:`Downloader` for CloudEvent-triggered downloads,
* the ``velocity`` command line.

Public names are imported on first use, so ``import velocity`` stays cheap.
"""

from __future__ import annotations

from velocity import errors
from velocity._version import __version__
from velocity.errors import VelocityError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

# public name -> module that defines it
_LAZY = {
    "Credentials": "velocity.auth",
    "SwiftClient": "velocity.client",
    "RetryPolicy": "velocity.client",
    "Connection": "velocity.connection",
    "ConnectionPool": "velocity.connection",
    "get_connection": "velocity.connection",
    "Container": "velocity.container",
    "ContainerResults": "velocity.container",
    "StorageObject": "velocity.storage_object",
    "ObjectResults": "velocity.storage_object",
    "TransferManager": "velocity.transfer",
    "TransferConfig": "velocity.transfer",
    "TransferResult": "velocity.transfer",
    "Velocity": "velocity.aio",
    "Downloader": "velocity.events",
    "LocalSwift": "velocity.server",
}

__all__ = ["__version__", "errors", "VelocityError", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'velocity' has no attribute %r" % name)
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
