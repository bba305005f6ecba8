"""The transfer engine: many objects, or large ones, moved fast and verified.

:class:`TransferManager` uploads files, whole folders and streams, downloads
objects into folders, deletes and inspects objects, in parallel, over one
shared :class:`~velocity.client.SwiftClient` (so a whole transfer costs one
authentication, whatever its thread count)::

    from velocity import SwiftClient, TransferManager, Credentials

    client = SwiftClient(Credentials.from_env())
    with TransferManager(client) as manager:
        for result in manager.upload("backups", "photos/", prefix="2024/"):
            if not result.ok:
                print(result)
        manager.download("backups", prefix="2024/", out_dir="restore", remove_prefix=True)

Guarantees:

* **Verified.** Every PUT carries the MD5 of its data as ``ETag`` (Swift refuses
  the data if it differs) and the returned ETag is checked; downloads are
  checked against the object's MD5 (plain objects) or every segment's MD5
  (static large objects) and their length.
* **Nothing half-done is visible.** Files larger than
  :attr:`TransferConfig.segment_threshold` are uploaded as segments into
  ``<container>_segments`` in parallel, and the static large object manifest
  is written last; if anything fails, the uploaded segments are deleted.
  Downloads are written to a hidden partial file beside the destination,
  verified, then renamed into place: a failure leaves an existing file
  untouched.
* **Nothing lands outside the destination folder**: object names with ``..``
  components, absolute paths or NUL bytes are refused with
  :class:`~velocity.errors.UnsafePath`.
* **No request wasted.** One PUT per small object (existing objects are found
  with one container listing, not one HEAD per object), one GET per small
  download, bulk deletes.
* **Per-item results.** Every call returns a list of :class:`TransferResult`;
  one failure never stops the other items, and none is silent.
* **Cancellable, and resumable.** :meth:`TransferManager.cancel` (from any
  thread) or Ctrl-C stops promptly.  What an interrupted transfer did (even
  one killed with ``kill -9``) is taken up by the same call run again: a
  download continues its hidden partial file (``Range`` + ``If-Match``, then
  the usual verification), a segmented upload sends only the segments not
  stored yet (:attr:`TransferConfig.resume`).
  :meth:`TransferManager.orphans` / :meth:`TransferManager.cleanup` list and
  remove segments of uploads never finished.
* **Sync.** :meth:`TransferManager.sync` and :meth:`TransferManager.check`
  compare a folder and a container (either way) from one streamed listing:
  an unchanged tree costs listing requests only.
"""

from __future__ import annotations

from velocity.transfer.config import MAX_OBJECT_SIZE, TransferConfig, TransferResult
from velocity.transfer.localfs import safe_local_path
from velocity.transfer.manager import TransferManager
from velocity.transfer.orphans import Orphan
from velocity.transfer.sync import Remote, SyncResults

__all__ = ["TransferConfig", "TransferManager", "TransferResult", "MAX_OBJECT_SIZE",
           "safe_local_path", "Remote", "SyncResults", "Orphan"]
