"""Downloads: every object written to a
:class:`~velocity.transfer.partial.PartialFile` beside its destination,
verified (MD5 of a plain object, of each segment of a static large object,
the length always), then renamed into place.  Large objects come in parallel
parts: a static large object segment by segment, a large plain object as
byte ranges.

With :attr:`~velocity.transfer.TransferConfig.resume` (the default) an
interrupted download leaves its partial file and journal; the next run asks
for what is missing with ``Range`` + ``If-Match`` on the recorded ETag (a
changed object answers 412: it starts over), hashes what is already on disk,
and verifies the whole file exactly as a download in one go.  Data that fails
verification is discarded, never resumed."""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from velocity import errors
from velocity._log import log
from velocity.hashing import md5_hex, md5_of_fd, new_md5, unquote_etag
from velocity.transfer import cluster
from velocity.transfer.config import TransferResult
from velocity.transfer.coordinator import Coordinator, Parts
from velocity.transfer.localfs import file_mode
from velocity.transfer.partial import PartialFile, Partials, hash_range
from velocity.transfer.plan import DownloadJob, iter_download_plan

__all__ = ["Downloads", "write_body"]


#: one part of an object: offset, length, MD5 to check (``None``: checked with the whole)
Piece = tuple[int, int, "str | None"]


class Body(Protocol):
    """A streamed response body: blocks of bytes, then ``close()``."""

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None:
        """Abandon the rest of the body."""
        ...


class Writable(Protocol):
    """Where a body is written: :class:`~velocity.transfer.partial.PartialFile`
    or :class:`~velocity.transfer.localfs.AtomicFile`."""

    def write_at(self, offset: int, data: bytes | memoryview) -> None: ...


class Downloads:
    """The downloads of one call from ``container``; ``partials`` (when
    resuming) sweeps the folders written into."""

    def __init__(self, coordinator: Coordinator, container: str, skip_identical: bool,
                 partials: Partials | None = None) -> None:
        self.coordinator = coordinator
        self.container = container
        self.skip_identical = skip_identical
        self.partials = partials
        self.mode = file_mode()  # of every file written: the umask is read once per call
        self._folders: set[str] = set()  # folders made (or found) already
        self._folders_lock = threading.Lock()

    def planned(self, job: DownloadJob) -> None:
        """On the caller's thread, as the plan comes: the job's folder is
        swept of stale partial files (once), its object counts as existing."""
        if self.partials is not None:
            self.partials.prepare(job.dest)
            self.partials.listed(self.container, job.name)

    def items(self, names: Sequence[str] | None, out: str, prefix: str, remove_prefix: bool
              ) -> tuple[int | None, int | None, Iterator[DownloadJob | TransferResult]]:
        """The plan of a download call into ``out``: of ``names`` (those
        under ``prefix``), or of the container's listing under ``prefix``,
        streamed; with the progress totals when known.

        :raises velocity.errors.VelocityError: the listing cannot be had
        """
        listing: cluster.Listing | None = None
        if names is None:
            listing = cluster.Listing(self.coordinator.client, self.container, prefix)
            total, count = listing.totals()
            entries: Iterable[tuple[str, cluster.Entry | None]] = (
                (entry["name"], entry) for entry in listing)
        else:
            names = [names] if isinstance(names, str) else names
            given = [(name, None) for name in names if name.startswith(prefix)]
            total, count, entries = None, len(given), given
        jobs = iter_download_plan(self.container, entries, out, prefix, remove_prefix)
        return total, count, self.plan(jobs, listing, prefix)

    def plan(self, items: Iterable[DownloadJob | TransferResult], listing: cluster.Listing | None,
             prefix: str) -> Iterator[DownloadJob | TransferResult]:
        """``items`` passed through :meth:`planned`; after a complete
        ``listing`` (when the call listed the container), the partial files
        of objects it no longer has are removed, and a listing cut short
        ends the plan with its failure."""
        for item in items:
            if isinstance(item, DownloadJob):
                self.planned(item)
            yield item
        if listing is None:
            return
        if listing.error is not None:
            yield TransferResult("download", self.container, None, None, error=listing.error)
        elif self.partials is not None:
            self.partials.remove_unlisted(self.container, prefix)

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
        folder = os.path.dirname(dest) or "."
        with self._folders_lock:
            known = folder in self._folders
        if not known:
            os.makedirs(folder, exist_ok=True)
            with self._folders_lock:
                self._folders.add(folder)
        target = PartialFile(dest, self.container, name, resume=self.coordinator.config.resume,
                             mode=self.mode, folder_exists=True)
        try:
            self._fetch_into(target, name, result)
        except (errors.ChecksumMismatch, errors.NoSuchObject, errors.UnsafePath):
            target.discard()  # damaged, gone or in the way of a folder: never resumed
            raise
        except errors.IncompleteSend as exc:
            if exc.status == 412:  # the object changed while it was read
                target.discard()
            else:
                target.keep()
            raise
        except BaseException:
            target.keep()  # interrupted: the next run takes it up
            raise

    def _fetch_into(self, target: PartialFile, name: str, result: TransferResult) -> None:
        result.resumed = 0
        first = target.next_range()
        headers, body = self._first_get(target, name, first)
        try:
            if headers.get("x-static-large-object", "").lower() == "true":
                self._slo(target, name, headers, body, result)
            elif headers.get("x-object-manifest"):
                _close(body)
                body = self._dlo(target, name, result)
            else:
                resumed = first if "content-range" in headers and first is not None else None
                self._plain(target, name, headers, body, result, resumed)
            target.commit(headers.get("x-object-meta-mtime"))
        finally:
            _close(body)
        result.ok = True

    def _first_get(self, target: PartialFile, name: str,
                   first: tuple[int, int, int] | None) -> tuple[dict[str, str], Body]:
        """The first request: the manifest or the object, from where an
        earlier run stopped when it left a plain object half done."""
        client = self.coordinator.client
        if first is not None and target.prior is not None:
            ask = {"Range": "bytes=%d-%d" % (first[1], first[2]),
                   "If-Match": target.prior["etag"]}
            try:
                headers, body = client.call("get_object_stream", self.container, name,
                                            query_string="multipart-manifest=get",
                                            headers=ask)
            except errors.ResponseError as exc:
                if exc.status not in (412, 416):
                    raise
                log.info("%s/%s changed since its partial download: starting over",
                         self.container, name)
                target.forget()
            else:
                if "content-range" not in headers:
                    target.forget()  # the whole object came: start over with it
                return headers, body
        return client.call("get_object_stream", self.container, name,
                           query_string="multipart-manifest=get")

    def _layout(self, size: int) -> list[tuple[int, int]]:
        """A plain object's parts: byte ranges of ``segment_size`` when it is
        large enough to gain from parallel GETs, else one."""
        config = self.coordinator.config
        part = config.segment_size
        if size > 2 * part and config.segment_threads > 1:
            return [(off, min(part, size - off)) for off in range(0, size, part)]
        return [(0, size)]

    def _plain(self, target: PartialFile, name: str, headers: dict[str, str], body: Body,
               result: TransferResult, resumed: tuple[int, int, int] | None) -> None:
        co = self.coordinator
        etag_header = unquote_etag(headers.get("etag"))
        modified = headers.get("last-modified")
        if resumed is not None:
            size = int(headers["content-range"].rsplit("/", 1)[1])
            layout = [(p[0], p[1]) for p in target.prior["parts"]]  # type: ignore[index]
            done = target.begin("plain", etag_header, size, modified, layout)
            first = resumed[0]
            if not any(done) or layout[first][0] + done[first] != resumed[1]:
                raise errors.IncompleteSend("the partial download of %s/%s cannot be taken up"
                                            % (self.container, name), status=412)
        else:
            size = int(headers["content-length"])
            layout = self._layout(size)
            done = target.begin("plain", etag_header, size, modified, layout)
            first = 0
        etag = etag_header if co.config.checksum else None
        self._resumed(result, sum(done))
        if len(layout) == 1:
            digest = new_md5() if etag else None
            if digest is not None and done[0]:
                hash_range(target.fd, 0, done[0], digest, co.check)
            write_body(co.check, co.progress, body, target, done[0], size - done[0], etag,
                       digest=digest, advance=functools.partial(target.advance, 0))
        else:
            os.ftruncate(target.fd, size)
            self._fetch_parts(name, target, [(off, length, None) for off, length in layout],
                              (first, body))
            if etag and md5_of_fd(target.fd, size, co.check) != etag:
                raise errors.ChecksumMismatch(
                    "the data of %s/%s does not match its ETag" % (self.container, name),
                    method="GET", path="/%s/%s" % (self.container, name))
        result.etag = etag or etag_header
        result.bytes = size

    def _slo(self, target: PartialFile, name: str, headers: dict[str, str], body: Body,
             result: TransferResult) -> None:
        info = cluster.manifest_info(self._manifest(name, headers, body), headers)
        layout, offset = [], 0
        for _, _, length in info.segments:
            layout.append((offset, length))
            offset += length
        done = target.begin("slo", unquote_etag(headers.get("etag")), info.size,
                            headers.get("last-modified"), layout)
        self._resumed(result, sum(done))
        os.ftruncate(target.fd, info.size)
        whole = all(etag is not None and path.count("/") >= 2
                    for path, etag, _ in info.segments)
        checksum = self.coordinator.config.checksum
        pieces = [(off, length, etag if checksum else None)
                  for (off, length), (_, etag, _) in zip(layout, info.segments)]
        self._fetch_parts(name, target, pieces, None,
                          [p for p, _, _ in info.segments] if whole else None)
        result.segments = len(info.segments)
        result.etag = info.etag
        result.bytes = info.size

    def _manifest(self, name: str, headers: dict[str, str], body: Body) -> list[Any]:
        """The segments a static large object's manifest lists, checked: read
        with ``multipart-manifest=get``, a manifest is an object whose ETag
        is its MD5 on Swift; a server whose ETag says otherwise says so for
        a second read too, while a manifest damaged on the way differs.

        :raises velocity.errors.ChecksumMismatch: the manifest arrived
            damaged (the download is tried again from its manifest)
        """
        # blocks may be views of one reused buffer: copy each
        data = b"".join(bytes(block) for block in body)
        etag = unquote_etag(headers.get("etag"))
        where = "/%s/%s" % (self.container, name)
        if self.coordinator.config.checksum and etag and md5_hex(data) != etag:
            _, again = self.coordinator.client.call(
                "get_object", self.container, name, query_string="multipart-manifest=get")
            if bytes(again) != data:
                raise errors.ChecksumMismatch(
                    "the manifest of %s/%s arrived damaged (it does not match its ETag)"
                    % (self.container, name), method="GET", path=where)
        try:
            segments = json.loads(data)
        except ValueError:
            segments = None
        if not isinstance(segments, list) or not all(isinstance(s, dict) for s in segments):
            raise errors.ChecksumMismatch(
                "the manifest of %s/%s is not a list of segments in JSON (damaged on the way?)"
                % (self.container, name), method="GET", path=where)
        return segments

    def _dlo(self, target: PartialFile, name: str, result: TransferResult) -> Body:
        """A dynamic large object: its concatenation in one GET (its parts
        may change at any time, so it is never resumed)."""
        co = self.coordinator
        headers, body = co.client.call("get_object_stream", self.container, name)
        size = int(headers.get("content-length", -1))
        target.begin("dlo", None, size, headers.get("last-modified"), [(0, size)],
                     resumable=False)
        write_body(co.check, co.progress, body, target, 0, size, None)
        result.etag = unquote_etag(headers.get("etag"))
        result.bytes = size
        return body

    def _resumed(self, result: TransferResult, amount: int) -> None:
        if amount:
            log.info("resuming %s/%s: %d bytes are there already", self.container,
                     result.name, amount)
            result.resumed = amount
            self.coordinator.progress(amount)

    def _fetch_parts(self, name: str, target: PartialFile, pieces: list[Piece],
                     first: tuple[int, Body] | None, sources: list[str] | None = None) -> None:
        """Fetch what is missing of ``pieces`` in parallel: from ``sources``
        (segment paths ``/container/object``) when given, else as byte ranges
        of the object; piece ``first[0]`` comes from the body ``first[1]``."""
        co = self.coordinator
        group: Parts[None] = co.parts()
        first_index = first[0] if first is not None else None
        for index, (offset, length, etag) in enumerate(pieces):
            if length == 0 or index == first_index:
                continue
            if etag is None and target.done(index) >= length:
                continue  # there already; checked with the whole file
            group.submit(self._get_part, group, name, target, index, offset, length, etag,
                         sources[index] if sources else None)
        error: BaseException | None = None
        if first is not None:
            offset, length, _ = pieces[first[0]]
            done = target.done(first[0])
            try:
                write_body(group.check, co.progress, _limited(first[1], length - done), target,
                           offset + done, length - done, None,
                           advance=functools.partial(target.advance, first[0]))
                _close(first[1])
            except BaseException as exc:  # noqa: BLE001 - raised by wait()
                error = exc
        group.wait(error)

    def _get_part(self, group: Parts[None], name: str, target: PartialFile, index: int,
                  offset: int, length: int, etag: str | None, source: str | None) -> None:
        """One part: the whole segment ``source`` when given (one plain GET,
        no manifest work for the proxy), else a byte range of the object;
        in both cases from where an earlier run or attempt stopped."""
        client = self.coordinator.client
        where = [source]

        def get(done: int) -> tuple[dict[str, str], Body]:
            if where[0] is not None:
                seg_container, _, seg_name = where[0].lstrip("/").partition("/")
                options: dict[str, Any] = {}
                if done:
                    options["headers"] = {"Range": "bytes=%d-%d" % (done, length - 1)}
                    if etag:
                        options["headers"]["If-Match"] = etag
                try:
                    return client.call("get_object_stream", seg_container, seg_name, **options)
                except (errors.NoSuchObject, errors.NoSuchContainer):
                    raise
                except errors.ResponseError as exc:
                    if exc.status in (412, 416):
                        target.restart(index)
                        raise errors.IncompleteSend("segment %s changed; fetching it again"
                                                    % where[0]) from None
                    if exc.status not in (401, 403):
                        raise
                    where[0] = None  # no read access to the segments: through the manifest
            return client.call("get_object_stream", self.container, name, headers={
                "Range": "bytes=%d-%d" % (offset + done, offset + length - 1)})

        def attempt() -> None:
            done = target.done(index)
            digest = new_md5() if etag else None
            if done and digest is not None:
                hash_range(target.fd, offset, done, digest, group.check)
                if done == length and digest.hexdigest() == etag:
                    return  # there already, and verified
                if done == length:
                    target.restart(index)
                    done, digest = 0, new_md5()
            elif done == length:
                return
            headers, body = get(done)
            try:
                if done and not headers.get("content-range", "").startswith(
                        "bytes %d-" % ((offset if where[0] is None else 0) + done)):
                    raise errors.IncompleteSend("the server did not answer the range asked for")
                write_body(group.check, self.coordinator.progress, body, target, offset + done,
                           length - done, etag, digest=digest,
                           advance=functools.partial(target.advance, index))
            except errors.ChecksumMismatch:
                target.restart(index)
                raise
            finally:
                _close(body)

        self.coordinator.retry_damaged("%d bytes at %d of %s/%s" % (
            length, offset, self.container, name), attempt, group.check)


def write_body(check: Callable[[], None], progress: Callable[[int], None],
               body: Iterable[bytes], temp: Writable, offset: int, length: int,
               etag: str | None, *, digest: Any = None,
               advance: Callable[[int], None] | None = None) -> int:
    """Write a response body into ``temp`` at ``offset``, calling ``check``
    before every block, and ``advance`` then ``progress`` after it; verify its
    ``length`` (unless negative: unknown) and its MD5 (when ``etag`` is
    given; ``digest`` may already hold the bytes before ``offset``).
    Returns the bytes written."""
    if not etag:
        digest = None
    elif digest is None:
        digest = new_md5()
    got = 0
    for chunk in body:
        check()
        if length >= 0 and got + len(chunk) > length:
            raise errors.IncompleteSend("received more bytes than announced")
        temp.write_at(offset + got, chunk)
        if digest is not None:
            digest.update(chunk)
        got += len(chunk)
        if advance is not None:
            advance(len(chunk))
        progress(len(chunk))
    if length >= 0 and got != length:
        raise errors.IncompleteSend("received %d of %d bytes" % (got, length))
    if digest is not None and digest.hexdigest() != etag:
        raise errors.ChecksumMismatch("received data does not match its ETag %s" % etag)
    return got


def _limited(body: Iterable[bytes], length: int) -> Iterator[bytes]:
    """The first ``length`` bytes of a streamed body (chunks may be split)."""
    left = length
    if left <= 0:
        return
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
