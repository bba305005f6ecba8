"""Large objects: segments uploaded into ``<container>_segments`` (in
parallel from a file, one after the other from a stream), then the manifest,
written last, so that no half object is ever visible.

A file's segments are named after the file (:func:`segment_base`: its name,
size, modification time and the segment size), so an upload that was
interrupted (Ctrl-C, ``kill -9``, a lost connection) is taken up by the next
run: one listing of the segment container under that base tells what is
stored, and only the segments missing or whose ETag differs from the MD5 of
the local bytes are sent again.

Every segment that may be stored is registered with the work's
:class:`~velocity.transfer.coordinator.Cleanup` before it is sent.  When the
upload is only interrupted (cancel, Ctrl-C, a connection lost for good; see
:func:`~velocity.transfer.coordinator.interrupted`) the finished segments
stay for the next run (:mod:`velocity.transfer.orphans` lists and removes
those of uploads never finished); when it fails otherwise (the server
refuses it, data fails verification) they are deleted, as they are always
without :attr:`~velocity.transfer.TransferConfig.resume` and for streams
(whose segments get unique names).

Each segment is read from the page cache straight to the socket
(``sendfile``) on a plain connection, hashed meanwhile (once: by a thread
beside the send), and its MD5 checked against the ETag Swift answers; one
that arrived damaged is sent again.  When resuming, a segment already stored
is hashed to compare it, and, when sent again, that MD5 goes as ``ETag``.  With
:attr:`~velocity.transfer.TransferConfig.content_md5`, the MD5 of the whole
content is computed too, by one more thread reading the file in order, and
goes into the manifest's metadata (:data:`CONTENT_MD5`), since a large
object's ETag is not its content's MD5.
A manifest PUT that fails (or whose answer is lost) is looked at before
anything is deleted: see :func:`_after_failed_manifest`.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from velocity import errors
from velocity._log import log
from velocity.hashing import BLOCK, manifest_etag, md5_of_file, new_md5, unquote_etag
from velocity.transfer import cluster
from velocity.transfer.bodies import FileSlice, Spool, Stream, check_etag
from velocity.transfer.config import TransferResult
from velocity.transfer.coordinator import Cleanup, Coordinator, Parts

__all__ = ["Segment", "segment_base", "segment_name", "segment_digests", "upload_file",
           "upload_stream", "put_file_segment", "CONTENT_MD5"]


#: the metadata header holding the MD5 of a large object's whole content
#: (openstacksdk's name for it, so either tool recognises the other's uploads)
CONTENT_MD5 = "X-Object-Meta-X-Sdk-Md5"


def segment_base(name: str, size: int, mtime: float, segment_size: int,
                 use_slo: bool = True) -> str:
    """The deterministic prefix of the segments of a file uploaded as
    ``name``: ``"<name>/slo/<mtime>/<size>/<segment_size>/"`` (``dlo`` instead
    of ``slo`` for a dynamic large object), with ``mtime`` written with six
    decimals, as the ``swift`` command line tool does.

    The same file (same size and modification time) uploaded with the same
    segment size always gets the same names, which is what lets an
    interrupted upload be resumed by another run (or another machine).
    """
    return "%s/%s/%.6f/%d/%d/" % (name, "slo" if use_slo else "dlo", mtime, size, segment_size)


def segment_name(base: str, index: int) -> str:
    """The name of segment ``index`` (from 0) under ``base`` (see
    :func:`segment_base`): ``base`` followed by the index on 8 digits."""
    return "%s%08d" % (base, index)


class Segment(NamedTuple):
    """One stored segment: its name in the segment container, ETag, size."""

    name: str
    etag: str
    size: int


class _Target:
    """Where the segments of one large object go, and how they are named:
    ``<base><8-digit index>`` in ``<container>_segments``."""

    def __init__(self, container: str, name: str, base: str, slo: bool) -> None:
        self.container = container
        self.name = name
        self.slo = slo
        self.seg_container = container + "_segments"
        self.base = base

    @classmethod
    def unique(cls, coordinator: Coordinator, container: str, name: str, size: int | None,
               seg_size: int, slo: bool) -> _Target:
        """Names never used before (the time in them), the segment container
        made when missing: for streams, and uploads without resume."""
        base = "%s/%s/%.6f/%s/%d/" % (name, "slo" if slo else "dlo", time.time(),
                                      "unknown" if size is None else size, seg_size)
        target = cls(container, name, base, slo)
        coordinator.client.call("put_container", target.seg_container)
        return target

    def segment(self, index: int) -> str:
        """The name of segment ``index``."""
        return segment_name(self.base, index)

    def path(self, seg_name: str) -> str:
        """``/<segment container>/<seg_name>``."""
        return "/%s/%s" % (self.seg_container, seg_name)

    def stored(self, coordinator: Coordinator) -> dict[str, cluster.Entry]:
        """What is stored under the base already (one listing; the segment
        container is made when missing)."""
        client = coordinator.client
        try:
            return {entry["name"]: entry
                    for entry in client.iter_container(self.seg_container, prefix=self.base)
                    if "name" in entry}
        except errors.NoSuchContainer:
            client.call("put_container", self.seg_container)
            return {}


def segment_digests(path: str, size: int, seg_size: int, check: Any,
                    whole: Any = None) -> Iterator[str]:
    """The MD5 of each ``seg_size`` piece of the first ``size`` bytes of a
    file, read once in order; ``whole`` (a hash object) is fed every byte
    too.  ``check`` is called before every block.

    :raises velocity.errors.IncompleteSend: the file is shorter than ``size``
    """
    with open(path, "rb") as handle:
        for offset in range(0, size, seg_size):
            part, left = new_md5(), min(seg_size, size - offset)
            while left > 0:
                check()
                data = handle.read(min(4 * BLOCK, left))
                if not data:
                    raise errors.IncompleteSend("%s shrank while it was being read" % path)
                part.update(data)
                if whole is not None:
                    whole.update(data)
                left -= len(data)
            yield part.hexdigest()


class _WholeHasher(threading.Thread):
    """The MD5 of a whole file (:meth:`hexdigest`), read once in order on a
    thread of its own while its segments are sent; ``check`` is called
    before every block (a cancel, a failed part)."""

    def __init__(self, path: str, size: int, check: Any) -> None:
        super().__init__(name="velocity-hash", daemon=True)
        self.path, self.size, self.check = path, size, check
        self._result: Future[str] = Future()

    def run(self) -> None:
        try:
            self._result.set_result(md5_of_file(self.path, 0, self.size, self.check))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            self._result.set_exception(exc)

    def hexdigest(self) -> str:
        """The MD5 of the whole local file."""
        return self._result.result()


def upload_file(coordinator: Coordinator, container: str, name: str, path: str, size: int,
                mtime: float, headers: dict[str, str], result: TransferResult, slo: bool,
                live: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """Upload a large file as segments, in parallel, then its manifest.

    With :attr:`~velocity.transfer.TransferConfig.resume`, the segments get
    the file's deterministic names and those already stored with the right
    ETag are not sent again, unless the object being replaced (its segment
    paths ``live``) uses them: then fresh names, so that no visible object
    ever has a segment changed under it.

    :returns: the paths of the segments the object now uses (to be kept when
        the old ones are removed)
    """
    seg_size = cluster.segment_size(coordinator.client, coordinator.config, size)
    resume = coordinator.config.resume
    base = segment_base(name, size, mtime, seg_size, slo)
    stored: dict[str, cluster.Entry] = {}
    if resume and not any(p.startswith("/%s_segments/%s" % (container, base)) for p in live):
        target = _Target(container, name, base, slo)
        stored = target.stored(coordinator)
    else:
        resume = False
        target = _Target.unique(coordinator, container, name, size, seg_size, slo)
    with coordinator.cleanup(resumable=resume) as cleanup:
        parts: Parts[Segment] = coordinator.parts()
        hasher = None
        if coordinator.config.content_md5:
            hasher = _WholeHasher(path, size, parts.check)
            hasher.start()
        reused: list[int] = []
        for index, offset in enumerate(range(0, size, seg_size)):
            seg_name = target.segment(index)
            parts.submit(_file_segment, coordinator, parts, cleanup, target, seg_name, path,
                         offset, min(seg_size, size - offset), stored.get(seg_name), reused)
        try:
            segments = parts.wait()
        finally:
            if hasher is not None:
                hasher.join()
        result.resumed = sum(reused)
        headers = dict(headers)
        if hasher is not None:
            headers[CONTENT_MD5] = hasher.hexdigest()
        _commit_manifest(coordinator, cleanup, target, segments, headers, result)
    return {target.path(seg.name) for seg in segments}


def _file_segment(coordinator: Coordinator, parts: Parts[Segment], cleanup: Cleanup,
                  target: _Target, seg_name: str, path: str, offset: int, length: int,
                  stored: cluster.Entry | None, reused: list[int]) -> Segment:
    """One segment: taken as it is when stored with the MD5 of the local
    bytes, else sent (see :func:`put_file_segment`)."""
    checksum = coordinator.config.checksum
    local: list[str | None] = [None]  # the MD5 of the local bytes, once read
    if stored is not None and int(stored.get("bytes", -1)) == length:
        md5 = local[0] = md5_of_file(path, offset, length, parts.check)
        if stored.get("hash") == md5:
            parts.check()
            coordinator.progress(length)
            reused.append(length)
            return Segment(seg_name, md5, length)
        log.info("segment %s differs from the local bytes; sending it again",
                 target.path(seg_name))

    def attempt() -> Segment:
        cleanup.stored(target.path(seg_name))
        # a segment is invisible until the manifest names it, so a bad one is
        # simply sent again, hashed again in case it is the file that changed
        try:
            md5, returned = put_file_segment(
                coordinator.client, target.seg_container, seg_name, path, offset, length,
                parts.check, coordinator.progress, checksum=checksum, md5=local[0])
        except errors.ChecksumMismatch:
            local[0] = None
            cleanup.stored(target.path(seg_name), always=True)  # wrong data: it goes
            raise
        return Segment(seg_name, returned or md5 or "", length)

    return coordinator.retry_damaged("segment %s" % target.path(seg_name), attempt,
                                     parts.check)


def put_file_segment(client: Any, seg_container: str, seg_name: str, path: str, offset: int,
                     length: int, check: Callable[[], None], progress: Callable[[int], None],
                     *, checksum: bool = True, md5: str | None = None
                     ) -> tuple[str | None, str]:
    """PUT ``length`` bytes of the file ``path`` from ``offset`` as
    ``seg_container/seg_name``, from the page cache on a plain connection
    (see :class:`~velocity.transfer.bodies.FileSlice`), hashed while it is
    sent (unless ``checksum`` is off) and checked against the ETag Swift
    answers: a segment is invisible until a manifest names it, so it need
    not be refused before it is stored.  When its ``md5`` is known already
    (a resumed upload read it to compare), it goes as ``ETag`` and Swift
    checks it too.  ``check`` runs before every block, ``progress`` gets the
    bytes sent.

    :returns: ``(MD5 of the bytes sent, or None; ETag Swift answered)``
    :raises velocity.errors.ChecksumMismatch: Swift stored other bytes than
        were sent, or refused them (422) on every retry of the client: send
        it again
    """
    with open(path, "rb") as handle:
        reader = FileSlice(handle, offset, length, check, progress,
                           hashing=checksum and md5 is None)
        try:
            # a 422 (the bytes Swift got do not match the ETag sent) comes as
            # ChecksumMismatch from the client, after its own retries
            returned = client.call("put_object_stream", seg_container, seg_name, reader,
                                   length, etag=md5)
            if md5 is None:
                md5 = reader.md5()
        finally:
            reader.close()  # no hash goes on reading the file once it is closed
    check_etag(md5, returned, seg_container, seg_name)
    return md5, unquote_etag(returned) or ""


def upload_stream(coordinator: Coordinator, container: str, name: str, source: Stream,
                  size: int | None, first: Spool, headers: dict[str, str],
                  result: TransferResult, whole: Any) -> set[str]:
    """Upload a stream as segments of ``first.size`` bytes as it comes
    (``first`` holds its first segment), then the manifest.  ``whole`` is
    the hash object every spool of the stream feeds (its MD5 is stored with
    the manifest).  A stream cannot be resumed: its segments get unique
    names and go if the upload fails.

    :returns: the paths of the segments the object now uses
    """
    slo = cluster.use_slo(coordinator.client, coordinator.config)
    seg_size = first.size
    target = _Target.unique(coordinator, container, name, size, seg_size, slo)
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
            spool = cleanup.temp(Spool(source, seg_size, coordinator.check, whole))
        total = sum(seg.size for seg in segments)
        if size is not None and total != size:
            raise errors.IncompleteSend("the stream gave %d bytes, not the %d announced"
                                        % (total, size))
        headers = dict(headers)
        if whole is not None:
            headers[CONTENT_MD5] = whole.hexdigest()
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
        cleanup.stored("/%s/%s" % (container, name), always=True)
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
    is not, the segments go (``False``, and the failure deletes them, unless
    it was only an interruption of a resumable upload); if
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
