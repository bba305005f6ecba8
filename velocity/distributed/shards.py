"""A distributed job as plain, picklable records: what the client sends to
the workers, and what the workers send back.

* :class:`Context`: what every task of one job needs (the login recipe, the
  container, the settings and options of the call); small, sent with each
  task.
* :class:`FilesShard`: files to upload in one
  :meth:`TransferManager.upload <velocity.transfer.TransferManager.upload>`
  call on a worker.
* :class:`LargeFile` and its :class:`SegmentPart`\\ s: a file above the
  segment threshold, whose segments are tasks of their own (any worker may
  send any of them); the client writes the manifest last.
* :class:`RangeShard`: container-side work (download, delete, prune) on a
  range of names (or on given names) that the worker lists itself.
* :class:`ListTask`: a range not listed yet: a worker lists one page of it
  and answers with shards and the ranges still to list (:class:`Listed`).
* :class:`Plan`: the whole job; :func:`velocity.distributed.run` runs it.
* :class:`ShardReport`: a task's answer: its results, and who ran it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from velocity.distributed.recipe import Recipe
from velocity.transfer.config import TransferConfig, TransferResult
from velocity.transfer.plan import UploadJob

__all__ = ["Context", "FilesShard", "LargeFile", "SegmentPart", "SegmentDone", "RangeShard",
           "ListTask", "Listed", "Plan", "ShardReport", "Shard"]


@dataclass(frozen=True)
class Context:
    """What every task of one job needs.

    :ivar action: ``"upload"``, ``"download"``, ``"delete"`` or ``"sync"``
    :ivar options: the call's options: ``headers``, ``out_dir``, ``prefix``,
        ``remove_prefix``, ``skip_identical``, ``compare`` (sync: decide
        from the listing's size and ETag), ``local_dir`` and ``ignore``
        (prune)
    :ivar topic: the Dask event topic progress is reported on
    :ivar max_objects: / :ivar max_bytes: the most one shard cut from a
        listing may hold
    :ivar page: listing page size of a :class:`ListTask`
    """

    recipe: Recipe
    container: str
    config: TransferConfig
    action: str
    options: dict[str, Any]
    job: str
    topic: str
    max_objects: int
    max_bytes: int
    page: int

    def option(self, name: str, default: Any = None) -> Any:
        """One of :attr:`options`."""
        return self.options.get(name, default)


@dataclass
class FilesShard:
    """Upload ``jobs`` (sorted by object name).  For a sync, ``(lo, hi]`` is
    the range of names this shard compares against the container's listing."""

    index: int
    jobs: list[UploadJob]
    lo: str = ""
    hi: str | None = None

    @property
    def objects(self) -> int:
        """How many files."""
        return len(self.jobs)

    @property
    def bytes(self) -> int:
        """How many bytes."""
        return sum(job.size for job in self.jobs)


@dataclass
class SegmentPart:
    """Segment ``number`` of large file ``file`` (an index into
    :attr:`Plan.large`): ``length`` bytes of ``path`` from ``offset``, sent
    as ``/seg_container/seg_name``.  ``known`` is ``(path, md5)`` of a
    stored object that may already hold these bytes (this segment from an
    earlier, interrupted run, or the same segment of the object being
    replaced): when the local bytes have that MD5 nothing is sent."""

    index: int
    file: int
    number: int
    path: str
    offset: int
    length: int
    seg_container: str
    seg_name: str
    known: tuple[str, str] | None = None

    @property
    def objects(self) -> int:
        """Segments count as no object (the file is counted once)."""
        return 0

    @property
    def bytes(self) -> int:
        """The segment's length."""
        return self.length


@dataclass
class SegmentDone:
    """A segment in place: its ``/container/name`` path, the ETag Swift
    answered (or the listing gave), the MD5 of the local bytes, and whether
    it was sent (``False``: the bytes were there already)."""

    number: int
    path: str
    etag: str
    md5: str
    size: int
    sent: bool


@dataclass
class LargeFile:
    """A file uploaded as segments under ``base`` (see
    :func:`velocity.transfer.segments.segment_base`) in ``seg_container``,
    each ``seg_size`` bytes, with a static (``slo``) or dynamic manifest."""

    job: UploadJob
    seg_container: str
    base: str
    seg_size: int
    slo: bool
    parts: int
    #: why a sync sends it (``"missing"``, ``"size"``, ...), else ``None``
    reason: str | None = None


@dataclass
class RangeShard:
    """``op`` (``"download"``, ``"delete"`` or ``"prune"``: delete what has no
    local file) on the names in ``(lo, hi]`` (listed by the worker), or on
    ``names`` when given.  ``objects`` and ``bytes`` are what the listing
    showed when the shard was cut (0 when unknown)."""

    index: int
    op: str
    lo: str = ""
    hi: str | None = None
    names: list[str] | None = None
    objects: int = 0
    bytes: int = 0


@dataclass
class ListTask:
    """List one page of ``(lo, hi]`` and cut it into :class:`RangeShard`\\ s of ``op``."""

    index: int
    op: str
    lo: str
    hi: str | None

    objects = 0
    bytes = 0


@dataclass
class Listed:
    """What a :class:`ListTask` found: shards to run, ranges still to list."""

    shards: list[RangeShard]
    more: list[ListTask]


Shard = Union[FilesShard, SegmentPart, RangeShard, ListTask]


@dataclass
class Plan:
    """A distributed job, ready for :func:`velocity.distributed.run`.

    :ivar context: what every task needs
    :ivar shards: the tasks to start with
    :ivar large: files sent as segments (their :class:`SegmentPart`\\ s are
        in :attr:`shards`); the client writes their manifests
    :ivar known: results known at planning (unreadable files, a missing
        container, files found unchanged)
    :ivar total_bytes: / :ivar total_objects: what the job moves, when known
    """

    context: Context
    shards: list[Shard]
    large: list[LargeFile] = field(default_factory=list)
    known: list[TransferResult] = field(default_factory=list)
    total_bytes: int | None = None
    total_objects: int | None = None

    @property
    def container(self) -> str:
        """The container the job works on."""
        return self.context.container


@dataclass
class ShardReport:
    """What one task did, and where.

    :ivar key: the Dask key of the task
    :ivar kind: ``"files"``, ``"segment"``, ``"range"`` or ``"list"``
    :ivar worker: the address of the worker that ran it
    :ivar pid: its process id
    :ivar logins: how many times that worker process has logged in so far
    :ivar seconds: how long the task ran
    :ivar results: per-object results (none for segments and listings)
    :ivar segment: the segment in place (segment tasks)
    :ivar listed: what a listing task found
    """

    key: str
    kind: str
    worker: str
    pid: int
    logins: int
    seconds: float
    results: list[TransferResult] = field(default_factory=list)
    segment: SegmentDone | None = None
    listed: Listed | None = None
