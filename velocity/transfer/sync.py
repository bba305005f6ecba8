"""Sync: make a container (under a prefix) hold what a local folder holds,
or a local folder what a container holds.

Both sides come as streams sorted by name (the folder walked in name order,
:func:`~velocity.transfer.localfs.iter_sorted`; the container listing, in the
same order), merged like two sorted files: memory stays flat whatever the
number of objects, and an unchanged tree costs the listing requests only.

What differs:

* present on one side only: copied (``"missing"``), or, with ``delete``,
  removed from the destination (``"extra"``);
* different sizes (``"size"``);
* by default, the same size but a different MD5 (``"checksum"``).  A plain
  object's MD5 is in the listing; a static large object's listing ETag is
  compared with the one the local file would have with the segment size an
  upload would use (no request when it matches), else with the MD5 of the
  whole content stored at upload time
  (:data:`~velocity.transfer.segments.CONTENT_MD5`, one HEAD), else segment
  by segment;
* with ``changed=True``, no content is read: the same size and a time that
  says nothing changed count as unchanged.  Uploading, a file modified after
  its object was written (its mtime later than the listing's
  ``last_modified``) is copied again; downloading, an object written after
  the local file last changed (its mtime or, for files written by a
  download, its ctime) is.

Deletions wait for the end of the comparison: a listing that fails half
way, or a missing container, never deletes anything.  Folder markers
(names ending in ``/``) and partial downloads are left alone.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple, Union

from velocity import errors
from velocity.hashing import manifest_etag, md5_of_file, new_md5, unquote_etag
from velocity.transfer import cluster, plan
from velocity.transfer.cluster import Entry
from velocity.transfer.config import TransferResult
from velocity.transfer.coordinator import Coordinator, Task
from velocity.transfer.delete import Deletes
from velocity.transfer.download import Downloads
from velocity.transfer.localfs import (
    LocalFile,
    LocalTree,
    PathLike,
    ignored,
    iter_sorted,
    relative_parts,
)
from velocity.transfer.partial import Partials, is_partial_name
from velocity.transfer.segments import CONTENT_MD5, segment_digests
from velocity.transfer.upload import FileUploads

__all__ = ["Remote", "SyncJob", "SyncResults", "SyncRun", "locations", "sync_plan",
           "sync_tasks", "same_content", "differs", "excluded"]

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


class Remote(NamedTuple):
    """A place in the object store: a container, and a prefix in it used as
    a folder (``Remote("backups", "photos/2024")`` is ``photos/2024/...``)."""

    container: str
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> Remote:
        """``"container"`` or ``"container/some/prefix"``."""
        container, _, prefix = text.partition("/")
        return cls(container, prefix)

    @property
    def folder(self) -> str:
        """The prefix as a folder: empty, or ending with ``/``."""
        return self.prefix if not self.prefix or self.prefix.endswith("/") else self.prefix + "/"


#: one side of a sync: a local folder, or a :class:`Remote`
Location = Union[PathLike, Remote]


def locations(src: Location, dst: Location) -> tuple[str, Remote, bool]:
    """``(local folder, remote, upward)`` of a sync from ``src`` to ``dst``;
    ``upward`` when the folder is the source.

    :raises velocity.errors.ConfigurationError: unless exactly one side is a
        :class:`Remote`
    """
    if isinstance(dst, Remote) and not isinstance(src, Remote):
        return os.path.abspath(os.fspath(src)), dst, True
    if isinstance(src, Remote) and not isinstance(dst, Remote):
        return os.path.abspath(os.fspath(dst)), src, False
    raise errors.ConfigurationError(
        "sync and check need a local folder and a Remote(container, prefix), one on each "
        "side; got %r and %r" % (src, dst))


@dataclass
class SyncJob:
    """One thing a sync does (picklable): ``action`` (``"upload"``,
    ``"download"`` or ``"delete"``) of object ``name`` / local file ``path``
    (a delete of a local file when ``local``), and why (``reason``); with
    ``compare`` the contents (MD5) decide first."""

    action: str
    name: str
    path: str | None
    reason: str
    size: int = 0
    mtime: float = 0.0
    entry: Entry | None = None
    compare: bool = False
    local: bool = False


class SyncResults(list):  # type: ignore[type-arg]
    """What a sync did, or (dry run) would do: a list of
    :class:`~velocity.transfer.TransferResult`, one per object copied or
    deleted (failures included), sorted by name with deletions last.
    Unchanged objects are only counted, in :attr:`unchanged`."""

    def __init__(self, dry_run: bool = False) -> None:
        super().__init__()
        #: objects found identical on both sides
        self.unchanged = 0
        #: whether nothing was done (the records say what would be)
        self.dry_run = dry_run

    def add(self, result: TransferResult) -> None:
        """Keep ``result``, or count it when it says "unchanged"."""
        if result.ok and result.skipped:
            self.unchanged += 1
        else:
            self.append(result)

    def finish(self) -> SyncResults:
        """Sort (copies by name, then deletions by name)."""
        self.sort(key=lambda r: (r.action == "delete", r.name or "", r.path or ""))
        return self

    @property
    def ok(self) -> bool:
        """Whether every item worked."""
        return all(result.ok for result in self)


# -- the plan -------------------------------------------------------------------------


def excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    """Left out like the folder walk leaves it out: the path or any of its
    folders matches a pattern, or it is a partial download."""
    parts = rel.split("/")
    if is_partial_name(parts[-1]):
        return True
    return bool(patterns) and any(ignored("/".join(parts[:i + 1]), patterns)
                                  for i in range(len(parts)))


def _remote(entries: Iterable[Entry], prefix: str, patterns: tuple[str, ...],
            seen: Callable[[str], None]) -> Iterator[tuple[str, Entry]]:
    for entry in entries:
        name = entry.get("name")
        if name is None:
            continue
        seen(name)
        rel = name[len(prefix):]
        if not rel or name.endswith("/") or excluded(rel, patterns):
            continue
        yield rel, entry


def _merge(local: Iterator[LocalFile], remote: Iterator[tuple[str, Entry]]
           ) -> Iterator[tuple[LocalFile | None, tuple[str, Entry] | None]]:
    """Pairs of the two sorted streams, matched by relative name."""
    last = ["", ""]

    def step(side: int, items: Iterator, key: Callable) -> object:
        item = next(items, None)
        if item is not None:
            name = key(item)
            if last[side] and name <= last[side]:
                raise errors.VelocityError(
                    "the %s is not sorted by name (%r came after %r): nothing is deleted"
                    % ("listing" if side else "folder walk", name, last[side]))
            last[side] = name
        return item

    here = step(0, local, lambda f: f.name)
    there = step(1, remote, lambda r: r[0])
    while here is not None or there is not None:
        if there is None or (here is not None and here.name < there[0]):  # type: ignore
            yield here, None  # type: ignore[misc]
            here = step(0, local, lambda f: f.name)
        elif here is None or there[0] < here.name:  # type: ignore[index,attr-defined]
            yield None, there  # type: ignore[misc]
            there = step(1, remote, lambda r: r[0])
        else:
            yield here, there  # type: ignore[misc]
            here = step(0, local, lambda f: f.name)
            there = step(1, remote, lambda r: r[0])


def _listing_time(value: str | None) -> float:
    """A listing's ``last_modified`` (UTC, ISO 8601) in seconds."""
    if not value:
        return 0.0
    try:
        return datetime.fromisoformat(value.rstrip("Z")).replace(
            tzinfo=timezone.utc).timestamp()
    except ValueError:
        return 0.0


def differs(local: LocalFile, entry: Entry, upward: bool,
             changed: bool) -> tuple[str | None, bool]:
    """``(reason, compare)``: why the pair differs (``None``: unchanged) or
    whether the contents must be compared to tell."""
    size = int(entry.get("bytes", 0))
    if size == 0 and local.size > 0 and "slo_etag" not in entry:
        return None, True  # maybe a dynamic large object: its listing says 0 bytes
    if size != local.size:
        return "size", False
    if changed:
        written = _listing_time(entry.get("last_modified"))
        newer = local.mtime > written if upward else written > max(local.mtime, local.ctime)
        return ("mtime" if newer else None), False
    if size == 0:
        return (None if entry.get("hash") in (EMPTY_MD5, None) else "checksum"), False
    return None, True


def sync_plan(container: str, root: str, remote: Remote, upward: bool,
              local: Iterable[LocalFile], listing: Iterable[Entry], *, delete: bool = False,
              changed: bool = False, ignore: Iterable[str] = (),
              seen: Callable[[str], None] = lambda name: None
              ) -> Iterator[SyncJob | TransferResult]:
    """What a sync between the folder ``root`` (its files ``local``, sorted,
    named relative to it) and ``remote`` (its ``listing``) does, one item
    at a time: copies as the comparison finds them, deletions (with
    ``delete``) once it is complete.  Unchanged pairs come as results with
    ``skipped`` set; ``seen`` is told every object name listed."""
    prefix = remote.folder
    patterns = tuple(ignore)
    action = "upload" if upward else "download"
    deletes: list[SyncJob] = []
    tree = LocalTree(root)  # where downloads go: each folder resolved once
    for here, there in _merge(iter(local), _remote(listing, prefix, patterns, seen)):
        if here is not None and here.error is not None:
            yield TransferResult(action, container, prefix + here.name, here.path,
                                 error=here.error)
        elif there is None:
            assert here is not None
            if upward:
                yield SyncJob("upload", prefix + here.name, here.path, "missing", here.size,
                              here.mtime)
            elif delete:
                deletes.append(SyncJob("delete", prefix + here.name, here.path, "extra",
                                       here.size, local=True))
        elif here is None:
            rel, entry = there
            size = int(entry.get("bytes", 0))
            if upward:
                if delete:
                    deletes.append(SyncJob("delete", entry["name"], None, "extra", size,
                                           entry=entry))
                continue
            try:
                dest = _destination(tree, rel)
            except errors.UnsafePath as exc:
                yield TransferResult("download", container, entry["name"], None, error=exc)
                continue
            yield SyncJob("download", entry["name"], dest, "missing", size, entry=entry)
        else:
            rel, entry = there
            reason, compare = differs(here, entry, upward, changed)
            if reason is None and not compare:
                yield TransferResult(action, container, entry["name"], here.path, ok=True,
                                     skipped=True, bytes=here.size)
            else:
                yield SyncJob(action, entry["name"], here.path, reason or "checksum",
                              here.size, here.mtime, entry, compare)
    yield from deletes


def _destination(tree: LocalTree, rel: str) -> str:
    """The local path of relative name ``rel``, which must be a plain
    relative path (no empty, ``.`` or ``..`` parts, no backslash: anything
    else would not come back under the same name) staying under the tree's
    folder (see :func:`~velocity.transfer.localfs.safe_local_path`)."""
    parts = relative_parts(rel, "object name %r" % rel)
    if "/".join(parts) != rel or "\\" in rel:
        raise errors.UnsafePath("object name %r is not a plain relative path; it cannot be "
                                "synced to a file" % rel)
    return tree.path(rel)


# -- comparing contents ---------------------------------------------------------------


def same_content(coordinator: Coordinator, container: str, name: str, path: str, size: int,
                 entry: Entry) -> bool:
    """Whether the local file ``path`` holds the bytes of the listed object."""
    client, check = coordinator.client, coordinator.check
    if "slo_etag" in entry:
        seg_size = cluster.segment_size(client, coordinator.config, size)
        whole = new_md5()
        parts = list(segment_digests(path, size, seg_size, check, whole))
        if unquote_etag(entry["slo_etag"]) == manifest_etag(parts):
            return True  # the same segments an upload would make
        try:
            headers = client.call("head_object", container, name)
        except errors.NoSuchObject:
            return False
        stored = headers.get(CONTENT_MD5.lower())
        if stored:
            return bool(stored == whole.hexdigest())
    elif int(entry.get("bytes", 0)) > 0 or size == 0:
        return bool(md5_of_file(path, 0, size, check) == entry.get("hash"))
    info = cluster.inspect(client, container, name, entry, want_mtime=False)
    return info is not None and cluster.same_bytes(check, path, size, info)


# -- running it ----------------------------------------------------------------------


def sync_tasks(coordinator: Coordinator, root: str, remote: Remote, upward: bool, *,
               delete: bool, dry_run: bool, changed: bool, ignore: Iterable[str],
               headers: dict[str, str] | None) -> Iterator[Task | TransferResult]:
    """The whole of one sync as items for the manager's loop: the listing and
    the folder walk streamed through :func:`sync_plan` into a
    :class:`SyncRun`.  Anything that stops the comparison (a listing that
    fails, a missing source) ends it with one failed result, and no
    deletion."""
    client, config = coordinator.client, coordinator.config
    container = remote.container
    action = "upload" if upward else "download"
    uploads = downloads = None
    partials = Partials(config.partial_max_age) if config.resume and not upward else None

    def listing() -> Iterator[Entry]:
        try:
            yield from client.iter_container(container, prefix=remote.folder or None)
        except errors.NoSuchContainer:
            if not upward:
                raise
            if not dry_run:
                client.call("put_container", container)

    try:
        if upward:
            if not os.path.isdir(root):
                raise errors.VelocityError("%s is not a folder" % root)
            uploads = FileUploads(coordinator, container, headers)  # configured when used
        else:
            downloads = Downloads(coordinator, container, False, partials)
            if not dry_run:
                os.makedirs(root, exist_ok=True)
        runner = SyncRun(coordinator, container, upward, dry_run, uploads, downloads)
        seen: Callable[[str], None] = (
            functools.partial(partials.listed, container) if partials is not None
            else (lambda name: None))
        items = sync_plan(container, root, remote, upward, iter_sorted(root, ignore), listing(),
                          delete=delete, changed=changed, ignore=ignore, seen=seen)
        yield from runner.items(items)
    except errors.VelocityError as exc:
        yield TransferResult(action, container, None, root, error=exc)
        return
    except OSError as exc:
        yield TransferResult(action, container, None, root, error=errors.VelocityError(
            "cannot read %s: %s" % (root, exc.strerror)))
        return
    if partials is not None and not coordinator.cancelled.is_set():  # the listing was whole
        partials.remove_unlisted(container, remote.folder)


class SyncRun:
    """The execution of one sync: plan items made tasks for the manager's
    object pool (a dry run makes records instead of changes)."""

    def __init__(self, coordinator: Coordinator, container: str, upward: bool, dry_run: bool,
                 uploads: FileUploads | None, downloads: Downloads | None) -> None:
        self.coordinator = coordinator
        self.container = container
        self.upward = upward
        self.dry_run = dry_run
        self.uploads = uploads
        self.downloads = downloads
        self._configured = False
        self._lock = threading.Lock()

    def items(self, items: Iterable[SyncJob | TransferResult]) -> Iterator[Task | TransferResult]:
        """Tasks and results for the manager's loop, as ``items`` come;
        deletions of objects are grouped for bulk deletes."""
        remote_deletes: list[SyncJob] = []
        for item in items:
            if self.coordinator.cancelled.is_set():
                return  # what is not compared yet is not an item yet
            if isinstance(item, TransferResult):
                yield item
            elif item.action == "delete" and not item.local and not self.dry_run:
                remote_deletes.append(item)
            else:
                if item.action == "download" and self.downloads is not None:
                    self.downloads.planned(plan.DownloadJob(item.name, item.path or ""))
                yield self._task(item)
        if remote_deletes:
            yield from self._deletes(remote_deletes)

    def _task(self, item: SyncJob) -> Task | TransferResult:
        result = TransferResult(item.action, self.container, item.name, item.path,
                                reason=item.reason)
        if self.dry_run and not item.compare:
            return _would(result, item.size)
        return Task([result], functools.partial(self._do, item, result))

    def _do(self, item: SyncJob, result: TransferResult) -> None:
        co = self.coordinator
        if item.compare:
            assert item.path is not None and item.entry is not None
            if same_content(co, self.container, item.name, item.path, item.size, item.entry):
                result.ok = result.skipped = True
                result.bytes = item.size
                return
            if self.dry_run:
                _would(result, item.size)
                return
        co.check()
        if item.action == "upload":
            assert self.uploads is not None and item.path is not None
            with self._lock:
                if not self._configured:  # the cluster's limits, once an upload needs them
                    self.uploads.configure()
                    self._configured = True
            job = plan.UploadJob(item.path, item.name, item.size, item.mtime)
            self.uploads.run_entry(job, item.entry, [result])
        elif item.action == "download":
            assert self.downloads is not None and item.path is not None
            self.downloads.run(plan.DownloadJob(item.name, item.path, item.entry), [result])
        else:  # a local file the source does not have
            assert item.path is not None
            try:
                os.unlink(item.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise errors.VelocityError("cannot delete %s: %s" % (item.path, exc.strerror)
                                           ) from None
            result.ok = True
            result.bytes = item.size

    def _deletes(self, jobs: list[SyncJob]) -> Iterator[Task]:
        entries = {job.name: job.entry or {"name": job.name} for job in jobs}
        deletes = Deletes(self.coordinator, self.container)
        threads = self.coordinator.config.object_threads
        bulk_size = cluster.bulk_size(self.coordinator.client)
        for job in plan.delete_plan(list(entries), entries, bulk_size, threads):
            results = job.results(self.container)
            for result in results:
                result.reason = "extra"
            yield Task(results, functools.partial(deletes.run, job, results))


def _would(result: TransferResult, size: int) -> TransferResult:
    """``result`` as a dry run's record."""
    result.ok = result.dry_run = True
    result.bytes = size
    return result
