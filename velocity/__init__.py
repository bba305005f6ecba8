"""Velocity: OpenStack Swift and Rackspace Cloud Files for Python.

One thread-safe core with several faces:

* the python-cloudfiles object model (:mod:`velocity.cloudfiles`),
* the asyncio :class:`Velocity` API for whole folders,
* the :class:`TransferManager` for many or large objects,
* the ``velocity`` command line.
"""

__version__ = "0.1.0"

from velocity import errors  # noqa: E402
from velocity.errors import VelocityError  # noqa: E402

__all__ = ["__version__", "errors", "VelocityError"]
