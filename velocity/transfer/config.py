"""What a transfer is told (:class:`TransferConfig`) and what it answers
(:class:`TransferResult`), with the sizes every part of the engine shares."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from velocity import errors

__all__ = ["TransferConfig", "TransferResult", "MAX_OBJECT_SIZE"]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
#: Swift's default limit on one object (or one segment): 5 GiB
MAX_OBJECT_SIZE = 5 * GiB
#: bytes read or written at a time
CHUNK = 1 * MiB
#: files up to this size are read into memory and sent in one PUT
SMALL = 4 * MiB
#: a segment of a stream is buffered in memory up to this size, then on disk
SPOOL = 8 * MiB
#: jobs in flight per thread of the object pool
WINDOW = 2


@dataclass
class TransferConfig:
    """Settings of a :class:`~velocity.transfer.TransferManager` (validated
    when made).

    :param segment_size: size of each segment of a large upload (default
        64 MiB), and of each parallel byte range of a large download.  Raised
        automatically when a file would need more segments than the cluster
        allows in one manifest.
    :param segment_threshold: files larger than this are uploaded as segments
        (default 128 MiB; at most 5 GiB, Swift's limit for one object, so a
        6 GiB file is always segmented).
    :param object_threads: objects transferred at once (default 10)
    :param segment_threads: segments / byte ranges transferred at once, shared
        by all large objects of a call (default 10)
    :param use_slo: write static large object manifests (default); falls back
        to dynamic large objects when the cluster's ``/info`` lacks ``slo``
    :param leave_segments: keep the old segments when a segmented object is
        overwritten or deleted (default ``False``: they are removed)
    :param checksum: verify MD5 ETags of uploads and downloads (default ``True``;
        when off, only lengths are checked)
    :param content_md5: store the MD5 of a segmented upload's whole content
        as ``X-Object-Meta-X-Sdk-Md5`` (openstacksdk's name for it; a large
        object's ETag is not its content's MD5).  Default ``False``: it costs
        one more MD5 pass over every large file (about 1.5 s of CPU per GiB),
        and Velocity does not need it: every segment is verified on its own,
        and :meth:`~velocity.transfer.TransferManager.sync` compares large
        objects by their segments' MD5s.  Turn it on for tools that look for it.
    :param skip_identical: do not upload a file whose object already holds the
        same bytes (MD5 compared, segmented objects too)
    :param changed: do not upload a file whose object has the same size and
        modification time (stored as ``X-Object-Meta-Mtime``)
    :param resume: make interrupted transfers resumable (default ``True``).
        A download is written to the hidden file ``.<name>.velocity-part``
        beside its destination, with a small journal
        ``.<name>.velocity-part.json`` (the object's ETag, size,
        last-modified and how far each part got); when it is interrupted
        (Ctrl-C, cancel, a connection lost for good, even ``kill -9``) both
        stay, and the same download run again continues from there with
        ``Range`` + ``If-Match``, then verifies the whole file as usual.  A
        segmented upload names its segments after the file (see
        :func:`~velocity.transfer.segments.segment_base`) and keeps the
        finished ones when interrupted; run again, it sends only what is
        missing.  ``False``: partial downloads and segments are removed on
        failure, as without resume.
    :param partial_max_age: seconds after which a download's partial file is
        removed instead of resumed (default 7 days); see
        :doc:`/transfer` for when.
    :param retries: how many more times a segment, byte range or download is
        tried after its data arrived damaged (checksum or length mismatch).
        Single requests are retried by the
        :class:`~velocity.client.SwiftClient`'s own ``RetryPolicy``, and a
        connection dropped mid-body resumes where it stopped (``Range`` +
        ``If-Match``) under that policy too.
    """

    segment_size: int = 64 * MiB
    segment_threshold: int = 128 * MiB
    object_threads: int = 10
    segment_threads: int = 10
    use_slo: bool = True
    leave_segments: bool = False
    checksum: bool = True
    content_md5: bool = False
    skip_identical: bool = False
    changed: bool = False
    retries: int = 5
    resume: bool = True
    partial_max_age: float = 7 * 24 * 3600

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise errors.ConfigurationError(
                        "TransferConfig.%s must be True or False, got %r" % (item.name, value))
            elif item.type in ("float", float):
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise errors.ConfigurationError(
                        "TransferConfig.%s must be a number of seconds >= 0, got %r"
                        % (item.name, value))
            elif not isinstance(value, int) or isinstance(value, bool):
                raise errors.ConfigurationError(
                    "TransferConfig.%s must be an integer, got %r" % (item.name, value))
        if not 1 <= self.segment_size <= MAX_OBJECT_SIZE:
            raise errors.ConfigurationError(
                "TransferConfig.segment_size must be between 1 byte and 5 GiB, got %r"
                % self.segment_size)
        if not 0 <= self.segment_threshold <= MAX_OBJECT_SIZE:
            raise errors.ConfigurationError(
                "TransferConfig.segment_threshold must be between 0 and 5 GiB (Swift's limit "
                "for one object), got %r" % self.segment_threshold)
        for name in ("object_threads", "segment_threads"):
            if getattr(self, name) < 1:
                raise errors.ConfigurationError(
                    "TransferConfig.%s must be at least 1, got %r" % (name, getattr(self, name)))
        if self.retries < 0:
            raise errors.ConfigurationError(
                "TransferConfig.retries must be >= 0, got %r" % self.retries)


def call_options(config: TransferConfig, skip_identical: bool | None = None,
                 changed: bool | None = None, leave_segments: bool | None = None,
                 resume: bool | None = None) -> TransferConfig:
    """``config`` with the overrides one call was given (``None``: keep)."""
    overrides = {"skip_identical": skip_identical, "changed": changed,
                 "leave_segments": leave_segments, "resume": resume}
    given = {name: value for name, value in overrides.items() if value is not None}
    return dataclasses.replace(config, **given) if given else config


@dataclass
class TransferResult:
    """What happened to one object.

    :ivar action: ``"upload"``, ``"download"``, ``"delete"`` or ``"head"``
        (for :meth:`~velocity.transfer.TransferManager.sync`, ``"delete"``
        of a local file has ``path`` set)
    :ivar container: the container
    :ivar name: the object name (``None`` when the failure concerns the whole
        call, e.g. a missing container)
    :ivar path: the local file, or ``None``
    :ivar ok: ``True`` when it worked (or was skipped)
    :ivar bytes: bytes moved (or the object's size for ``head`` / skipped items)
    :ivar etag: the object's ETag (for segmented objects, the manifest's)
    :ivar error: the :class:`~velocity.errors.VelocityError`, when not ``ok``
    :ivar skipped: ``True`` when nothing needed doing (``skip_identical``,
        ``changed``)
    :ivar segments: number of segments written or read (0 for plain objects)
    :ivar headers: response headers (``head``), lower-case names
    :ivar resumed: bytes taken over from an interrupted earlier run (a
        download's partial file, an upload's segments already stored)
    :ivar reason: why a sync copies or deletes it: ``"missing"`` (not at the
        destination), ``"size"``, ``"checksum"`` or ``"mtime"`` (different),
        ``"extra"`` (only at the destination); ``None`` outside a sync
    :ivar dry_run: ``True`` for a record of what a dry run *would* do
        (nothing was done)
    """

    action: str
    container: str
    name: str | None
    path: str | None = None
    ok: bool = False
    bytes: int = 0
    etag: str | None = None
    error: errors.VelocityError | None = None
    skipped: bool = False
    segments: int = 0
    headers: dict[str, str] | None = field(default=None, repr=False)
    resumed: int = 0
    reason: str | None = None
    dry_run: bool = False

    def __str__(self) -> str:
        where = "%s/%s" % (self.container, self.name) if self.name is not None else (
            "container %s" % self.container)
        local = " (%s)" % self.path if self.path else ""
        if self.dry_run:
            return "would %s %s%s: %s" % (self.action, where, local, _REASONS.get(
                self.reason or "", self.reason or "requested"))
        if not self.ok:
            error = self.error
            detail = "%s: %s" % (type(error).__name__, error) if error else "unknown error"
            return "%s %s%s failed: %s" % (self.action, where, local, detail)
        if self.skipped:
            return "%s %s%s skipped: already up to date" % (self.action, where, local)
        extra = ", %d segments" % self.segments if self.segments else ""
        if self.resumed:
            extra += ", %d resumed" % self.resumed
        return "%s %s%s ok (%d bytes%s)" % (self.action, where, local, self.bytes, extra)


_REASONS = {"missing": "missing at the destination", "size": "sizes differ",
            "checksum": "contents differ (MD5)", "mtime": "modified since (size + time)",
            "extra": "not in the source"}
