"""The client's share of a large file whose segments several workers sent:
check every segment, then write the manifest, once, last; or, when a
segment could not be sent, take back the segments nothing uses.

Segment names are deterministic
(:func:`~velocity.transfer.segments.segment_base`), so a segment sent twice
(a task retried, or rescheduled after its worker died) replaces itself, and
a rerun of an interrupted job finds the segments already sent.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from velocity import errors
from velocity._log import log
from velocity.client import SwiftClient
from velocity.distributed.shards import LargeFile, SegmentDone
from velocity.hashing import manifest_etag, unquote_etag
from velocity.transfer import cluster
from velocity.transfer.bodies import check_etag
from velocity.transfer.config import TransferConfig, TransferResult
from velocity.transfer.delete import delete_paths

__all__ = ["commit", "discard"]


def commit(client: SwiftClient, container: str, large: LargeFile, done: list[SegmentDone],
           headers: dict[str, str] | None, config: TransferConfig) -> TransferResult:
    """Verify the segments of ``large`` and write its manifest.

    Every segment must be there, its ETag equal to the MD5 the worker read
    from the local file, and the segment container's listing must show that
    ETag and size now.  When the stored object already is this manifest
    (same segments, same ETags) and ``skip_identical`` is set, nothing is
    written.  After the manifest, the segments of the object it replaced go
    (unless ``leave_segments``).

    :raises velocity.errors.VelocityError: a check failed or the manifest
        could not be written (the caller takes the segments back)
    """
    job = large.job
    parts = sorted(done, key=lambda part: part.number)
    _verify(client, large, parts)
    result = TransferResult("upload", container, job.name, job.path, reason=large.reason)
    paths = [part.path for part in parts]
    etags = [part.etag for part in parts]
    old = cluster.inspect(client, container, job.name, None, want_mtime=False)
    if (config.skip_identical and old is not None and old.kind == "slo"
            and old.segment_paths() == paths and [etag for _, etag, _ in old.segments] == etags):
        result.ok = result.skipped = True
        result.reason = None
        result.bytes, result.etag, result.segments = job.size, old.etag, len(parts)
        return result
    sent = dict(headers or {})
    sent["X-Object-Meta-Mtime"] = "%f" % job.mtime
    expected: str | None = None
    if large.slo:
        expected = manifest_etag(etags)
        body = json.dumps([{"path": part.path, "etag": part.etag, "size_bytes": part.size}
                           for part in parts]).encode("utf-8")
        try:
            returned = client.call("put_object", container, job.name, body, headers=sent,
                                   query_string="multipart-manifest=put")
            check_etag(expected, returned, container, job.name)
        except errors.ChecksumMismatch:
            raise
        except errors.VelocityError:
            if not _manifest_in_place(client, container, job.name, expected):
                raise
    else:
        sent["X-Object-Manifest"] = "%s/%s" % (quote(large.seg_container), quote(large.base))
        client.call("put_object", container, job.name, b"", content_length=0, headers=sent)
    if old is not None and not config.leave_segments:
        keep = set(paths)
        stale = [path for path in old.segment_paths() if path not in keep]
        for path, error in delete_paths(client, stale):
            log.warning("could not remove old segment %s: %s", path, error)
    result.ok = True
    result.bytes, result.etag, result.segments = job.size, expected, len(parts)
    return result


def _verify(client: SwiftClient, large: LargeFile, parts: list[SegmentDone]) -> None:
    job = large.job
    where = "%s (%s)" % (job.name, job.path)
    if [part.number for part in parts] != list(range(large.parts)):
        raise errors.IncompleteSend("segments of %s are missing" % where)
    if sum(part.size for part in parts) != job.size:
        raise errors.IncompleteSend("the segments of %s hold %d bytes, not %d"
                                    % (where, sum(part.size for part in parts), job.size))
    for part in parts:
        if part.etag != part.md5:
            raise errors.ChecksumMismatch(
                "segment %s of %s has ETag %s but the local bytes have MD5 %s"
                % (part.path, where, part.etag, part.md5), method="PUT", path=part.path)
    # what is stored now (a worker that died may have been mid-PUT): one
    # listing per folder of segments
    folders: dict[tuple[str, str], dict[str, cluster.Entry]] = {}
    for part in parts:
        seg_container, _, seg_name = part.path.lstrip("/").partition("/")
        folder = seg_name.rsplit("/", 1)[0] + "/" if "/" in seg_name else ""
        listed = folders.get((seg_container, folder))
        if listed is None:
            listed = folders[(seg_container, folder)] = cluster.listing(
                client, seg_container, folder) or {}
        entry = listed.get(seg_name)
        if entry is None or int(entry.get("bytes", -1)) != part.size or (
                unquote_etag(entry.get("hash")) != part.etag):
            raise errors.ChecksumMismatch(
                "segment %s of %s is not stored as it was sent" % (part.path, where),
                method="GET", path=part.path)


def _manifest_in_place(client: SwiftClient, container: str, name: str,
                       expected: str | None) -> bool:
    """After a manifest PUT whose answer was lost: whether it is stored."""
    try:
        headers = client.call("head_object", container, name)
    except errors.VelocityError:
        return False
    return (headers.get("x-static-large-object", "").lower() == "true"
            and expected is not None and unquote_etag(headers.get("etag")) == expected)


def discard(client: SwiftClient, container: str, large: LargeFile) -> None:
    """Delete the segments stored under ``large.base`` that the object as
    stored now does not use (a large file that could not be uploaded)."""
    stored = cluster.listing(client, large.seg_container, large.base) or {}
    old = cluster.inspect(client, container, large.job.name, None, want_mtime=False)
    used = set(old.segment_paths()) if old is not None else set()
    paths = ["/%s/%s" % (large.seg_container, name) for name in stored]
    for path, error in delete_paths(client, [p for p in paths if p not in used]):
        log.warning("could not remove segment %s after a failed upload: %s", path, error)
