"""Plans: what a call will do, as plain picklable records.

A plan is a list whose items are jobs (:class:`UploadJob`,
:class:`DownloadJob`, :class:`DeleteJob`) or a
:class:`~velocity.transfer.TransferResult` already known (a file that cannot
be read, an object name that would land outside the destination folder).
Jobs hold names, paths, sizes and listing entries only: no client, no open
file, no lock, so a plan can be written to disk (to resume) or split across
processes; the :class:`~velocity.transfer.TransferManager` executes it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Union

from velocity import errors
from velocity.transfer.cluster import Entry
from velocity.transfer.config import TransferResult
from velocity.transfer.localfs import LocalTree, PathLike, walk

__all__ = ["UploadJob", "DownloadJob", "DeleteJob", "Job", "upload_plan", "download_plan",
           "iter_download_plan", "delete_plan", "common_prefix"]


@dataclass
class UploadJob:
    """Upload the local file ``path`` (``size`` bytes, modified at ``mtime``)
    as object ``name``."""

    path: str
    name: str
    size: int
    mtime: float

    def results(self, container: str) -> list[TransferResult]:
        """The blank result this job fills in."""
        return [TransferResult("upload", container, self.name, self.path)]


@dataclass
class DownloadJob:
    """Download object ``name`` to the local file ``dest``; ``entry`` is its
    container listing entry when the plan came from a listing."""

    name: str
    dest: str
    entry: Entry | None = None

    def results(self, container: str) -> list[TransferResult]:
        """The blank result this job fills in."""
        return [TransferResult("download", container, self.name, self.dest)]


@dataclass
class DeleteJob:
    """Delete the objects ``names`` (their listing ``entries``, ``None``
    where not listed), in one bulk-delete request when ``bulk``, with the
    segments of segmented ones."""

    names: list[str]
    entries: list[Entry | None]
    bulk: bool = False

    def results(self, container: str) -> list[TransferResult]:
        """The blank results this job fills in, one per name."""
        return [TransferResult("delete", container, name) for name in self.names]


Job = Union[UploadJob, DownloadJob, DeleteJob]


def common_prefix(names: Sequence[str]) -> str:
    """The longest prefix all ``names`` share (one listing covers them)."""
    return os.path.commonprefix(list(names)) if names else ""


def upload_plan(container: str, paths: PathLike | Sequence[PathLike],
                object_names: Sequence[str] | None, prefix: str | None,
                ignore: Iterable[str]) -> list[UploadJob | TransferResult]:
    """Every file under ``paths`` (see :func:`~velocity.transfer.localfs.walk`)
    as an :class:`UploadJob`, or as a failed result when it cannot be read."""
    return [UploadJob(f.path, f.name, f.size, f.mtime) if f.error is None else
            TransferResult("upload", container, f.name, f.path, error=f.error)
            for f in walk(paths, object_names, prefix, tuple(ignore))]


def download_plan(container: str, entries: Iterable[tuple[str, Entry | None]], out_dir: str,
                  prefix: str, remove_prefix: bool) -> list[DownloadJob | TransferResult]:
    """A :class:`DownloadJob` per ``(name, listing entry or None)`` into
    ``out_dir`` (without ``prefix`` when ``remove_prefix``); a name that
    would land outside ``out_dir`` is a failed result
    (:class:`~velocity.errors.UnsafePath`)."""
    return list(iter_download_plan(container, entries, out_dir, prefix, remove_prefix))


def iter_download_plan(container: str, entries: Iterable[tuple[str, Entry | None]],
                       out_dir: str, prefix: str, remove_prefix: bool
                       ) -> Iterator[DownloadJob | TransferResult]:
    """:func:`download_plan`, one item at a time as ``entries`` come (a
    listing streamed through it is never held whole)."""
    tree = LocalTree(out_dir)
    for name, entry in entries:
        local = name[len(prefix):] if remove_prefix and prefix else name
        try:
            yield DownloadJob(name, tree.path(local), entry)
        except errors.UnsafePath as exc:
            yield TransferResult("download", container, name, None, error=exc)


def delete_plan(targets: Sequence[str], listing: dict[str, Entry], bulk_size: int | None,
                threads: int) -> list[DeleteJob]:
    """Jobs that delete ``targets``: groups of listed names for the
    bulk-delete middleware (when ``bulk_size``, its largest request, is
    given), spread over ``threads``; one job per name otherwise, and for
    names that are not listed or hold a newline (bulk delete cannot name
    them)."""
    listed = [name for name in targets if name in listing and "\n" not in name]
    single = [name for name in targets if name not in listing or "\n" in name]
    jobs: list[DeleteJob] = []
    if bulk_size is not None:
        chunk = max(1, min(bulk_size, -(-len(targets) // threads), 1000))
        for start in range(0, len(listed), chunk):
            group = listed[start:start + chunk]
            jobs.append(DeleteJob(group, [listing.get(name) for name in group], bulk=True))
    else:
        single = listed + single
    jobs.extend(DeleteJob([name], [listing.get(name)]) for name in single)
    return jobs
