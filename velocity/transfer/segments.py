"""Large objects: segments uploaded into ``<container>_segments`` (in
parallel from a file, one after the other from a stream), then the manifest,
written last, so that no half object is ever visible.

A segment is registered with the work's :class:`~velocity.transfer.coordinator.Cleanup`
before it is sent: a failure or a cancel deletes every segment that may be
stored.  A manifest PUT that fails (or whose answer is lost) is looked at
before anything is deleted: see :func:`_after_failed_manifest`.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import NamedTuple
from urllib.parse import quote, unquote

from velocity import errors
from velocity.hashing import manifest_etag, unquote_etag
from velocity.transfer import cluster
from velocity.transfer.bodies import FileSlice, Spool, Stream, check_etag
from velocity.transfer.config import TransferResult
from velocity.transfer.coordinator import Cleanup, Coordinator, Parts

__all__ = ["Segment", "upload_file", "upload_stream"]

log = logging.getLogger("velocity")


class Segment(NamedTuple):
    """One stored segment: its name in the segment container, ETag, size."""

    name: str
    etag: str
    size: int


class _Target:
    """Where the segments of one large object go, and how they are named:
    ``<name>/<slo|dlo>/<time>/<size>/<segment size>/<8-digit index>``."""

    def __init__(self, coordinator: Coordinator, container: str, name: str,
                 size: int | None, seg_size: int, slo: bool) -> None:
        self.container = container
        self.name = name
        self.slo = slo
        self.seg_container = container + "_segments"
        coordinator.client.call("put_container", self.seg_container)
        self.base = "%s/%s/%.6f/%s/%d/" % (name, "slo" if slo else "dlo", time.time(),
                                           "unknown" if size is None else size, seg_size)

    def segment(self, index: int) -> str:
        """The name of segment ``index``."""
        return "%s%08d" % (self.base, index)

    def path(self, seg_name: str) -> str:
        """``/<segment container>/<seg_name>``."""
        return "/%s/%s" % (self.seg_container, seg_name)


def upload_file(coordinator: Coordinator, container: str, name: str, path: str, size: int,
                headers: dict[str, str], result: TransferResult, slo: bool) -> set[str]:
    """Upload a large file as segments, in parallel, then its manifest.

    :returns: the paths of the segments the object now uses (to be kept when
        the old ones are removed)
    """
    seg_size = cluster.segment_size(coordinator.client, coordinator.config, size)
    target = _Target(coordinator, container, name, size, seg_size, slo)
    with coordinator.cleanup() as cleanup:
        parts: Parts[Segment] = coordinator.parts()
        for index, offset in enumerate(range(0, size, seg_size)):
            parts.submit(_put_file_segment, coordinator, parts, cleanup, target,
                         target.segment(index), path, offset, min(seg_size, size - offset))
        segments = parts.wait()
        _commit_manifest(coordinator, cleanup, target, segments, headers, result)
    return {target.path(seg.name) for seg in segments}


def _put_file_segment(coordinator: Coordinator, parts: Parts[Segment], cleanup: Cleanup,
                      target: _Target, seg_name: str, path: str, offset: int,
                      length: int) -> Segment:
    checksum = coordinator.config.checksum

    def attempt() -> Segment:
        cleanup.stored(target.path(seg_name))
        # hashed while it is sent, checked against the ETag Swift computed: a
        # segment is invisible until the manifest names it, so a bad one is
        # simply sent again (one read of the file instead of two)
        with open(path, "rb") as handle:
            reader = FileSlice(handle, offset, length, parts.check, coordinator.progress,
                               hashing=checksum)
            returned = coordinator.client.call("put_object_stream", target.seg_container,
                                               seg_name, reader, length)
        etag = reader.md5()
        check_etag(etag, returned, target.seg_container, seg_name)
        return Segment(seg_name, unquote_etag(returned) or etag or "", length)

    return coordinator.retry_damaged("segment %s" % target.path(seg_name), attempt,
                                     parts.check)


def upload_stream(coordinator: Coordinator, container: str, name: str, source: Stream,
                  size: int | None, first: Spool, headers: dict[str, str],
                  result: TransferResult) -> set[str]:
    """Upload a stream as segments of ``first.size`` bytes as it comes
    (``first`` holds its first segment), then the manifest.

    :returns: the paths of the segments the object now uses
    """
    slo = cluster.use_slo(coordinator.client, coordinator.config)
    seg_size = first.size
    target = _Target(coordinator, container, name, size, seg_size, slo)
    segments: list[Segment] = []
    with coordinator.cleanup() as cleanup:
        spool = first
        while True:
            seg_name = target.segment(len(segments))
            cleanup.stored(target.path(seg_name))
            segments.append(coordinator.retry_damaged(
                "segment %s" % target.path(seg_name),
                functools.partial(_put_spool, coordinator, target, seg_name, spool)))
            coordinator.progress(spool.size)
            spool.discard()
            if spool.size < seg_size or source.at_end():
                break
            spool = cleanup.temp(Spool(source, seg_size, coordinator.check))
        total = sum(seg.size for seg in segments)
        if size is not None and total != size:
            raise errors.IncompleteSend("the stream gave %d bytes, not the %d announced"
                                        % (total, size))
        _commit_manifest(coordinator, cleanup, target, segments, headers, result)
    return {target.path(seg.name) for seg in segments}


def _put_spool(coordinator: Coordinator, target: _Target, seg_name: str,
               spool: Spool) -> Segment:
    etag = spool.md5 if coordinator.config.checksum else None
    spool.file.seek(0)
    returned = coordinator.client.call("put_object", target.seg_container, seg_name,
                                       spool.file, content_length=spool.size, etag=etag)
    check_etag(etag, returned, target.seg_container, seg_name)
    return Segment(seg_name, unquote_etag(returned) or spool.md5, spool.size)


def _commit_manifest(coordinator: Coordinator, cleanup: Cleanup, target: _Target,
                     segments: list[Segment], headers: dict[str, str],
                     result: TransferResult) -> None:
    """Write the manifest: the object becomes visible.  If that fails, never
    leave a visible object whose segments are gone (see
    :func:`_after_failed_manifest`)."""
    client = coordinator.client
    container, name = target.container, target.name
    paths = [target.path(seg.name) for seg in segments]
    dlo_manifest = "%s/%s" % (quote(target.seg_container), quote(target.base))
    expected = None
    if target.slo and all(seg.etag for seg in segments):
        expected = manifest_etag(seg.etag for seg in segments)
    coordinator.check()
    try:
        if target.slo:
            manifest = json.dumps([{"path": p, "etag": seg.etag or None,
                                    "size_bytes": seg.size}
                                   for p, seg in zip(paths, segments)])
            returned = client.call("put_object", container, name, manifest.encode("utf-8"),
                                   headers=headers, query_string="multipart-manifest=put")
            check_etag(expected, returned, container, name)
            etag = unquote_etag(returned)
        else:
            headers = dict(headers)
            headers["X-Object-Manifest"] = dlo_manifest
            client.call("put_object", container, name, b"", content_length=0,
                        headers=headers)
            etag = None
    except errors.ChecksumMismatch:
        # stored, but not what was sent: it goes with its segments
        cleanup.stored("/%s/%s" % (container, name))
        raise
    except BaseException:
        if not _after_failed_manifest(coordinator, cleanup, target, expected, dlo_manifest):
            raise
        etag = expected
    cleanup.keep()
    result.ok = True
    result.bytes = sum(seg.size for seg in segments)
    result.etag = etag
    result.segments = len(segments)


def _after_failed_manifest(coordinator: Coordinator, cleanup: Cleanup, target: _Target,
                           expected: str | None, dlo_manifest: str) -> bool:
    """The manifest PUT failed, or its answer was lost.  Look: if this
    manifest is in place after all, the upload succeeded (``True``); if it
    is not, the segments go (``False``, and the failure deletes them); if
    the object cannot be looked at, the segments are kept, unseen garbage
    rather than a visible object with missing parts (``False``)."""
    container, name = target.container, target.name
    try:
        headers = coordinator.client.call("head_object", container, name)
    except errors.NoSuchObject:
        headers = {}
    except BaseException:  # noqa: BLE001 - the store cannot be asked
        log.warning("the manifest of %s/%s may or may not be stored; its segments are kept",
                    container, name)
        cleanup.keep()
        return False
    if target.slo:
        ours = (headers.get("x-static-large-object", "").lower() == "true"
                and expected is not None and unquote_etag(headers.get("etag")) == expected)
    else:
        ours = headers.get("x-object-manifest") in (dlo_manifest, unquote(dlo_manifest))
    if ours:
        log.info("the manifest of %s/%s is stored although its PUT failed", container, name)
    return ours
