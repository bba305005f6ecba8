"""Segments no large object uses: those of uploads never finished (a
resumable upload keeps its finished segments when it is interrupted), and
those left behind with ``leave_segments``.

A segment of ``<container>_segments`` is an orphan when no manifest in
``<container>`` names it: the static large objects' manifests are read (one
GET each, in parallel) and the dynamic ones' prefixes are learnt (a HEAD of
each zero-byte object that is not a folder marker).  Manifests in other
containers that point into ``<container>_segments`` are not looked at.  If
any manifest cannot be read, nothing is called an orphan: listing one that a
visible object uses, for deletion, is the one mistake never allowed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote

from velocity import errors
from velocity.client import SwiftClient
from velocity.transfer import cluster
from velocity.transfer.cluster import Entry
from velocity.transfer.config import TransferResult
from velocity.transfer.coordinator import Coordinator
from velocity.transfer.delete import Deletes
from velocity.transfer.plan import DeleteJob, delete_plan
from velocity.transfer.sync import _listing_time

__all__ = ["Orphan", "find_orphans", "removal"]


@dataclass(frozen=True)
class Orphan:
    """A segment no manifest uses.

    :ivar container: the segment container (``<container>_segments``)
    :ivar name: the segment's name
    :ivar bytes: its size
    :ivar last_modified: when it was written (the listing's UTC time)
    :ivar upload: the object it was a segment of, when its name says so
        (``<object>/slo/...`` or ``<object>/dlo/...``)
    """

    container: str
    name: str
    bytes: int
    last_modified: str | None
    upload: str | None


    def record(self) -> TransferResult:
        """The dry-run record of its removal."""
        return TransferResult("delete", self.container, self.name, ok=True, bytes=self.bytes,
                              reason="orphan", dry_run=True)


def removal(coordinator: Coordinator, seg_container: str, found: list[Orphan]
            ) -> tuple[list[DeleteJob], Callable[[DeleteJob, list[TransferResult]], None]]:
    """The delete jobs that remove ``found`` (in bulk when the cluster can),
    and the work that runs one."""
    entries: dict[str, Entry] = {o.name: {"name": o.name, "bytes": o.bytes} for o in found}
    bulk_size = cluster.bulk_size(coordinator.client)
    deletes = Deletes(coordinator, seg_container)

    def work(job: DeleteJob, results: list[TransferResult]) -> None:
        for result in results:
            result.reason = "orphan"
        deletes.run(job, results)

    jobs = delete_plan(list(entries), entries, bulk_size, coordinator.config.object_threads)
    return jobs, work


def _uses(client: SwiftClient, container: str, name: str, entry: Entry
          ) -> tuple[list[str], list[str]]:
    """The segment paths and DLO prefix paths one object uses."""
    if "slo_etag" in entry:
        info = cluster.inspect(client, container, name, entry, want_mtime=False)
        return ([path for path, _, _ in info.segments] if info is not None else []), []
    try:
        headers = client.call("head_object", container, name)
    except errors.NoSuchObject:
        return [], []
    if headers.get("x-static-large-object", "").lower() == "true":
        return _uses(client, container, name, {"slo_etag": ""})
    manifest = headers.get("x-object-manifest")
    return [], (["/" + unquote(manifest)] if manifest else [])


def _referenced(client: SwiftClient, container: str, pool: ThreadPoolExecutor
                ) -> tuple[set[str], list[str]]:
    """Every segment path the objects of ``container`` use, and the DLO
    prefixes (``/container/prefix``)."""
    candidates: list[tuple[str, Entry]] = []
    for entry in client.iter_container(container):
        name = entry.get("name")
        if name is None:
            continue
        if "slo_etag" in entry or (int(entry.get("bytes", 0)) == 0 and not name.endswith("/")):
            candidates.append((name, entry))
    paths: set[str] = set()
    prefixes: list[str] = []
    for used, dlo in pool.map(lambda item: _uses(client, container, *item), candidates):
        paths.update(used)
        prefixes.extend(dlo)
    return paths, prefixes


def find_orphans(client: SwiftClient, container: str, pool: ThreadPoolExecutor,
                 older_than: float = 0.0) -> Iterator[Orphan]:
    """The orphan segments of ``container`` (see the module), written more
    than ``older_than`` seconds ago (an upload running right now has
    segments no manifest names *yet*).

    :raises velocity.errors.VelocityError: a listing or a manifest could not
        be read (nothing is reported then)
    """
    seg_container = container + "_segments"
    try:
        paths, prefixes = _referenced(client, container, pool)
    except errors.NoSuchContainer:
        paths, prefixes = set(), []
    newest = time.time() - older_than
    try:
        for entry in client.iter_container(seg_container):
            name = entry.get("name")
            if name is None:
                continue
            path = "/%s/%s" % (seg_container, name)
            if path in paths or any(path.startswith(prefix) for prefix in prefixes):
                continue
            written = entry.get("last_modified")
            if older_than and _listing_time(written) > newest:
                continue
            yield Orphan(seg_container, name, int(entry.get("bytes", 0)), written,
                         _upload_of(name))
    except errors.NoSuchContainer:
        return


def _upload_of(name: str) -> str | None:
    """``photos/a.bin`` for ``photos/a.bin/slo/<mtime>/<size>/<segment size>/00000003``."""
    parts = name.rsplit("/", 5)
    if len(parts) == 6 and parts[1] in ("slo", "dlo") and parts[5].isdigit():
        return parts[0]
    return None
