"""OpenStack Swift for fsspec, pandas, Dask and every tool built on them.

:class:`SwiftFileSystem` is registered under the ``fsspec.specs`` entry
point as protocol ``swift``, so with Velocity installed, and without
importing it::

    import pandas as pd

    df = pd.read_csv("swift://container/data.csv",
                     storage_options={"auth_url": ..., "user": ..., "key": ...})

Paths are ``container/object``; pseudo-folders (``/`` in object names) are
directories.  Every request goes through one
:class:`~velocity.client.SwiftClient` (retries, token renewal, error
mapping), and uploads, downloads and deletes of whole objects through the
:class:`~velocity.transfer.TransferManager` (verified, segmented, parallel).
See ``docs/fsspec.rst``.
"""

from __future__ import annotations

from velocity.fsspec._file import SwiftFile
from velocity.fsspec.filesystem import SwiftFileSystem

__all__ = ["SwiftFileSystem", "SwiftFile"]
