"""Downloads: every object written to a
:class:`~velocity.transfer.localfs.AtomicFile` beside its destination,
verified (MD5 of a plain object, of each segment of a static large object,
the length always), then renamed into place.  Large objects come in parallel
parts: a static large object segment by segment, a large plain object as
byte ranges."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from velocity import errors
from velocity.hashing import md5_of_fd, new_md5, unquote_etag
from velocity.transfer import cluster
from velocity.transfer.config import TransferResult
from velocity.transfer.coordinator import Coordinator, Parts
from velocity.transfer.localfs import AtomicFile
from velocity.transfer.plan import DownloadJob

__all__ = ["Downloads", "write_body"]

log = logging.getLogger("velocity")


class Body(Protocol):
    """A streamed response body: blocks of bytes, then ``close()``."""

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None:
        """Abandon the rest of the body."""
        ...


class Downloads:
    """The downloads of one call from ``container``."""

    def __init__(self, coordinator: Coordinator, container: str, skip_identical: bool) -> None:
        self.coordinator = coordinator
        self.container = container
        self.skip_identical = skip_identical

    def run(self, job: DownloadJob, results: list[TransferResult]) -> None:
        """Download one object (or skip it), filling in its result."""
        [result] = results
        co, name, dest, entry = self.coordinator, job.name, job.dest, job.entry
        if name.endswith("/") and entry is not None and int(entry.get("bytes", 0)) == 0:
            os.makedirs(dest, exist_ok=True)  # a folder marker
            result.ok = True
            return
        if self.skip_identical and os.path.isfile(dest):
            info = cluster.inspect(co.client, self.container, name, entry, want_mtime=False)
            if info is None:
                raise errors.NoSuchObject("no object %r in container %r"
                                          % (name, self.container), status=404,
                                          method="HEAD", path="/%s/%s" % (self.container, name))
            local_size = os.path.getsize(dest)
            if cluster.same_bytes(co.check, dest, local_size, info):
                return co.skip(result, local_size, info.etag)
        co.retry_damaged("download of %s/%s" % (self.container, name),
                         lambda: self._fetch(name, dest, result))

    def _fetch(self, name: str, dest: str, result: TransferResult) -> None:
        co, config, container = self.coordinator, self.coordinator.config, self.container
        headers, body = co.client.call("get_object_stream", container, name,
                                       query_string="multipart-manifest=get")
        try:
            with co.cleanup() as cleanup:
                if headers.get("x-static-large-object", "").lower() == "true":
                    # blocks may be views of one reused buffer: copy each
                    manifest = b"".join(bytes(block) for block in body)
                    info = cluster.manifest_info(json.loads(manifest), headers)
                    temp = cleanup.temp(AtomicFile(dest))
                    whole = all(etag is not None and path.count("/") >= 2
                                for path, etag, _ in info.segments)
                    self._fetch_parts(name, temp, info.size,
                                      [(etag, length) for _, etag, length in info.segments],
                                      None, [p for p, _, _ in info.segments] if whole else None)
                    result.segments = len(info.segments)
                    result.etag = info.etag
                    size = info.size
                elif headers.get("x-object-manifest"):
                    _close(body)
                    headers, body = co.client.call("get_object_stream", container, name)
                    size = int(headers.get("content-length", -1))
                    temp = cleanup.temp(AtomicFile(dest))
                    write_body(co.check, co.progress, body, temp, 0, size, None)
                    result.etag = unquote_etag(headers.get("etag"))
                else:
                    size = int(headers["content-length"])
                    etag = unquote_etag(headers.get("etag")) if config.checksum else None
                    temp = cleanup.temp(AtomicFile(dest))
                    self._fetch_plain(name, temp, size, etag, body)
                    result.etag = etag or unquote_etag(headers.get("etag"))
                temp.commit(headers.get("x-object-meta-mtime"))
        finally:
            _close(body)
        result.ok = True
        result.bytes = size

    def _fetch_plain(self, name: str, temp: AtomicFile, size: int, etag: str | None,
                     body: Body) -> None:
        co, part = self.coordinator, self.coordinator.config.segment_size
        if size > 2 * part and co.config.segment_threads > 1:
            os.ftruncate(temp.fd, size)
            self._fetch_parts(name, temp, size,
                              [(None, min(part, size - off)) for off in range(0, size, part)],
                              body)
            if etag and md5_of_fd(temp.fd, size, co.check) != etag:
                raise errors.ChecksumMismatch(
                    "the data of %s/%s does not match its ETag" % (self.container, name),
                    method="GET", path="/%s/%s" % (self.container, name))
        else:
            write_body(co.check, co.progress, body, temp, 0, size, etag)

    def _fetch_parts(self, name: str, temp: AtomicFile, size: int,
                     parts: list[tuple[str | None, int]], first_body: Body | None,
                     sources: list[str] | None = None) -> None:
        """Fetch ``parts`` (``(md5 or None, length)`` in order) in parallel:
        from ``sources`` (segment paths ``/container/object``) when given,
        else as byte ranges of the object; the first part comes from
        ``first_body`` when given."""
        co = self.coordinator
        listed = sum(length for _, length in parts)
        if listed != size:
            raise errors.IncompleteSend("the manifest of %s/%s lists %d bytes, not %d"
                                        % (self.container, name, listed, size))
        group: Parts[None] = co.parts()
        offset = 0
        first: int | None = None
        for index, (etag, length) in enumerate(parts):
            if length == 0:
                continue
            if index == 0 and first_body is not None:
                first = length
            else:
                group.submit(self._get_part, group, name, temp, offset, length,
                             etag if co.config.checksum else None,
                             sources[index] if sources else None)
            offset += length
        error: BaseException | None = None
        if first is not None and first_body is not None:
            try:
                write_body(group.check, co.progress, _limited(first_body, first), temp, 0,
                           first, None)
                _close(first_body)
            except BaseException as exc:  # noqa: BLE001 - raised by wait()
                error = exc
        group.wait(error)

    def _get_part(self, group: Parts[None], name: str, temp: AtomicFile, offset: int,
                  length: int, etag: str | None, source: str | None) -> None:
        """One part: the whole segment ``source`` when given (one plain GET,
        no manifest work for the proxy), else a byte range of the object."""
        client = self.coordinator.client
        where = [source]

        def get() -> tuple[dict[str, str], Body]:
            if where[0] is not None:
                seg_container, _, seg_name = where[0].lstrip("/").partition("/")
                try:
                    return client.call("get_object_stream", seg_container, seg_name)
                except (errors.NoSuchObject, errors.NoSuchContainer):
                    raise
                except errors.ResponseError as exc:
                    if exc.status not in (401, 403):
                        raise
                    where[0] = None  # no read access to the segments: through the manifest
            return client.call("get_object_stream", self.container, name, headers={
                "Range": "bytes=%d-%d" % (offset, offset + length - 1)})

        def attempt() -> None:
            _, body = get()
            try:
                write_body(group.check, self.coordinator.progress, body, temp, offset, length,
                           etag)
            finally:
                _close(body)

        self.coordinator.retry_damaged("%d bytes at %d of %s/%s" % (
            length, offset, self.container, name), attempt, group.check)


def write_body(check: Callable[[], None], progress: Callable[[int], None],
               body: Iterable[bytes], temp: AtomicFile, offset: int, length: int,
               etag: str | None) -> int:
    """Write a response body into ``temp`` at ``offset``, calling ``check``
    before every block and ``progress`` after it; verify its ``length``
    (unless negative: unknown) and its MD5 (when ``etag`` is given).
    Returns the bytes written."""
    digest = new_md5() if etag else None
    got = 0
    for chunk in body:
        check()
        if length >= 0 and got + len(chunk) > length:
            raise errors.IncompleteSend("received more bytes than announced")
        temp.write_at(offset + got, chunk)
        if digest is not None:
            digest.update(chunk)
        got += len(chunk)
        progress(len(chunk))
    if length >= 0 and got != length:
        raise errors.IncompleteSend("received %d of %d bytes" % (got, length))
    if digest is not None and digest.hexdigest() != etag:
        raise errors.ChecksumMismatch("received data does not match its ETag %s" % etag)
    return got


def _limited(body: Iterable[bytes], length: int) -> Iterator[bytes]:
    """The first ``length`` bytes of a streamed body (chunks may be split)."""
    left = length
    for chunk in body:
        if len(chunk) >= left:
            yield chunk[:left]
            return
        left -= len(chunk)
        yield chunk


def _close(body: object) -> None:
    try:
        body.close()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - closing is best effort
        log.debug("closing a response failed", exc_info=True)
