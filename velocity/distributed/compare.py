"""What a distributed sync copies: a local file and a listing entry compared
as :meth:`TransferManager.sync <velocity.transfer.TransferManager.sync>`
compares them (its reasons: ``"missing"``, ``"size"``, ``"mtime"``,
``"checksum"``; ``"extra"`` for what ``delete`` removes), one shard's range
at a time, on the worker that runs the shard."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence

from velocity import errors
from velocity.client import SwiftClient
from velocity.hashing import md5_of_file
from velocity.transfer import cluster
from velocity.transfer.cluster import Entry
from velocity.transfer.config import TransferResult
from velocity.transfer.localfs import LocalFile, iter_sorted
from velocity.transfer.sync import differs as sync_differs
from velocity.transfer.sync import excluded as sync_excluded

__all__ = ["differs", "same", "excluded", "prune_local"]


def differs(size: int, mtime: float, ctime: float, entry: Entry, upward: bool,
            changed: bool) -> tuple[str | None, bool]:
    """``(reason, look)`` for a local file (``size``, ``mtime``, ``ctime``)
    and its object's listing ``entry``, as the engine's sync decides it:
    why they differ (``None``: the same), or ``look`` when only their
    contents can tell (:func:`same`).  With ``changed``, times decide
    instead of contents."""
    return sync_differs(LocalFile("", "", size, mtime, ctime=ctime), entry, upward, changed)


def same(client: SwiftClient, container: str, name: str, path: str, size: int,
         entry: Entry) -> bool:
    """Whether the local file holds the object's bytes: its MD5 against the
    listing's for a plain object, segment by segment for a large one."""
    if "slo_etag" not in entry and int(entry.get("bytes", 0)) > 0:
        return md5_of_file(path, 0, size) == entry.get("hash")
    info = cluster.inspect(client, container, name, entry, want_mtime=False)
    return info is not None and cluster.same_bytes(_nothing, path, size, info)


def _nothing() -> None:
    """Nothing cancels a worker's comparison from inside."""


def excluded(rel: str, patterns: Sequence[str]) -> bool:
    """Whether a sync leaves the relative name ``rel`` alone on both sides:
    a folder marker, a partial download, or a path (or one of its folders)
    that matches an ``ignore`` pattern (the engine's sync rule)."""
    return not rel or rel.endswith("/") or sync_excluded(rel, tuple(patterns))


def prune_local(root: str, prefix: str, patterns: Sequence[str], seen: Collection[str],
                container: str) -> list[TransferResult]:
    """Delete the files under ``root`` whose object (``prefix`` + their
    relative name) was not ``seen`` in the container's listing (a sync down
    with ``delete``; run once every range was listed)."""
    done: list[TransferResult] = []
    for found in iter_sorted(root, patterns):
        name = prefix + found.name
        if found.error is not None or name in seen or excluded(found.name, patterns):
            continue
        result = TransferResult("delete", container, name, found.path, reason="extra")
        try:
            os.unlink(found.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            result.error = errors.VelocityError("cannot delete %s: %s"
                                                % (found.path, exc.strerror))
            done.append(result)
            continue
        result.ok = True
        result.bytes = found.size
        done.append(result)
    return done
