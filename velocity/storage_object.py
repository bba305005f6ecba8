"""``StorageObject`` and ``ObjectResults``: python-cloudfiles' ``Object`` on Velocity's core.

A :class:`StorageObject` is one object in a :class:`~velocity.container.Container`.
It carries the names, signatures and return values of python-cloudfiles 1.7.11's
``cloudfiles.storage_object.Object`` (the drop-in module calls it ``Object``),
with its bugs fixed (see ``docs/migrating-from-cloudfiles.rst``):

* uploads stream (a file is never read whole into memory), send an ``ETag``
  when it can be known in advance and always check the server's;
* downloads to a file land in a temporary file next to the destination and are
  renamed only once complete and verified;
* every failure is a :mod:`velocity.errors` exception.

Every request goes through the connection's thread-safe
:class:`~velocity.client.SwiftClient`, so it is retried and error-mapped there.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import quote

from velocity import consts, errors
from velocity.names import (
    as_container_name,
    as_object_name,
    check_container_name,
    check_object_name,
    decode_name,
)

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from velocity.container import Container

__all__ = ["StorageObject", "ObjectResults", "check_object_name", "check_metadata"]

log = logging.getLogger("velocity")

#: bytes read from a file or a response body at a time
CHUNK_SIZE = 65536

Callback = Callable[[int, int], Any]

# headers Swift resets on an object POST unless they are sent again: keep them
_KEPT_HEADERS = ("content-encoding", "content-disposition", "x-delete-at")


# -- validation ------------------------------------------------------------------

def _utf8_len(value: str) -> int:
    return len(value.encode("utf-8"))


def check_metadata(metadata: Mapping[str, Any]) -> None:
    """Check metadata names and values against Swift's limits before any
    request (:class:`~velocity.errors.InvalidMetaName` /
    :class:`~velocity.errors.InvalidMetaValue`)."""
    for key, value in metadata.items():
        check_meta_item(key, value)


def check_meta_item(key: Any, value: Any) -> None:
    if not isinstance(key, str) or not key:
        raise errors.InvalidMetaName("a metadata name must be a non-empty str, got %r" % (key,))
    if _utf8_len(key) > consts.meta_name_limit:
        raise errors.InvalidMetaName(
            "metadata name %r is %d bytes long in UTF-8; the limit is %d bytes"
            % (key[:40] + "...", _utf8_len(key), consts.meta_name_limit))
    if any(ch in key for ch in ":\r\n\x00 \t"):
        raise errors.InvalidMetaName(
            "metadata name %r must not contain ':', whitespace or control characters" % key)
    text = value if isinstance(value, str) else str(value)
    if _utf8_len(text) > consts.meta_value_limit:
        raise errors.InvalidMetaValue(
            "metadata value of %r is %d bytes long in UTF-8; the limit is %d bytes"
            % (key, _utf8_len(text), consts.meta_value_limit))
    if any(ch in text for ch in "\r\n\x00"):
        raise errors.InvalidMetaValue(
            "metadata value of %r must not contain CR, LF or NUL" % key)


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _meta_from(headers: Mapping[str, str], prefix: str) -> dict[str, str]:
    prefix = prefix.lower()
    return {k.lower()[len(prefix):]: v for k, v in headers.items()
            if k.lower().startswith(prefix)}


def _is_large(headers: Mapping[str, str]) -> bool:
    """Segmented objects (SLO / DLO) have an ETag that is not the MD5 of the data."""
    lowered = _lower(headers)
    return "x-object-manifest" in lowered or "x-static-large-object" in lowered


# -- streaming helpers ------------------------------------------------------------

class _HashingReader:
    """Wraps a file-like object for an upload: reads it in chunks, hashes what
    is read, reports progress; rewinds (for a retry) to where it started."""

    def __init__(self, source: IO[Any], size: int | None, callback: Callback | None) -> None:
        self._source = source
        self._size = size
        self._callback = callback
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.transferred = 0
        try:
            self._start: int | None = source.tell() if _seekable(source) else None
        except (OSError, ValueError):
            self._start = None

    def __bool__(self) -> bool:  # swiftclient treats a falsy body as empty
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(CHUNK_SIZE if size is None or size < 0 else size)
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        if chunk:
            self._md5.update(chunk)
            self.transferred += len(chunk)
            if self._callback is not None:
                self._callback(self.transferred, self._size if self._size is not None
                               else self.transferred)
        return chunk

    def hexdigest(self) -> str:
        return self._md5.hexdigest()

    # SwiftClient rewinds a seekable body before retrying it
    def seekable(self) -> bool:
        return self._start is not None

    def tell(self) -> int:
        if self._start is None:
            raise OSError("not seekable")
        return self._start + self.transferred

    def seek(self, offset: int, whence: int = 0) -> int:
        if self._start is None or whence != 0 or offset != self._start:
            raise OSError("an upload body can only be rewound to its start")
        self._source.seek(offset)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.transferred = 0
        return offset


class _IterReader:
    """A file-like view of an iterator of byte chunks (for a streamed PUT)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def __bool__(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self._buffer + b"".join(self._chunks)
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _seekable(source: Any) -> bool:
    try:
        if hasattr(source, "seekable"):
            return bool(source.seekable())
        return hasattr(source, "seek") and hasattr(source, "tell")
    except (OSError, ValueError):
        return False


def _remaining_size(source: Any) -> int | None:
    """Bytes left in a file-like object, without reading it (``None`` if unknown)."""
    try:
        if hasattr(source, "fileno"):
            if hasattr(source, "flush"):
                try:
                    source.flush()
                except (OSError, ValueError):
                    pass
            total = os.fstat(source.fileno()).st_size
            return max(total - source.tell(), 0) if _seekable(source) else None
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    if hasattr(source, "getbuffer"):  # io.BytesIO
        return len(source.getbuffer()) - source.tell()
    if _seekable(source):
        try:
            here = source.tell()
            end = source.seek(0, os.SEEK_END)
            source.seek(here)
            return end - here
        except (OSError, ValueError):
            return None
    return None


def _md5_of(source: IO[Any]) -> str:
    """MD5 of the rest of a seekable file, read in chunks, position restored."""
    here = source.tell()
    md5 = hashlib.md5(usedforsecurity=False)
    while True:
        chunk = source.read(CHUNK_SIZE)
        if not chunk:
            break
        md5.update(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    source.seek(here)
    return md5.hexdigest()


class _CallbackSubscriber:
    """A progress subscriber (velocity.progress protocol) that calls a
    python-cloudfiles style ``callback(bytes_so_far, total)``."""

    def __init__(self, callback: Callback | None, total: int) -> None:
        self._callback = callback
        self._total = total
        self._done = 0

    def on_start(self, total_bytes: int | None, total_objects: int | None) -> None:
        if total_bytes:
            self._total = total_bytes

    def on_progress(self, bytes_done_delta: int) -> None:
        self._done += bytes_done_delta
        if self._callback is not None:
            self._callback(min(self._done, self._total), self._total)

    def on_object_done(self, result: Any) -> None:
        pass

    def on_done(self) -> None:
        pass


def _transfer_module() -> Any:
    """velocity.transfer if it is importable, else None (imported lazily)."""
    try:
        from velocity import transfer
    except ImportError:
        return None
    return transfer if hasattr(transfer, "TransferManager") else None


# -- the object ---------------------------------------------------------------------

class StorageObject:
    """One object of a container (python-cloudfiles' ``Object``).

    Usually obtained from a container: ``container.create_object(name)`` (the
    object may not exist yet), ``container.get_object(name)`` /
    ``container[name]`` (raises :class:`~velocity.errors.NoSuchObject`), or by
    iterating ``container.get_objects()``.

    :param container: the :class:`~velocity.container.Container`
    :param name: the object name (validated when used): a ``str``, or UTF-8
        ``bytes`` as python-cloudfiles took them (decoded; :attr:`name` is
        always a ``str``)
    :param force_exists: raise :class:`~velocity.errors.NoSuchObject` when it
        does not exist
    :param object_record: a listing entry (``name``, ``bytes``, ``hash``,
        ``content_type``, ``last_modified``): no request is made

    :ivar content_type: MIME type (sent on upload; guessed from the name when ``None``)
    :ivar size: size in bytes, or ``None`` when unknown
    :ivar last_modified: the server's timestamp string (ISO 8601 from a listing,
        RFC 1123 from a HEAD, as in python-cloudfiles)
    :ivar metadata: ``X-Object-Meta-*`` values, keys without the prefix;
        change it and call :meth:`sync_metadata`
    :ivar headers: extra headers sent with :meth:`write` and :meth:`sync_metadata`
        (e.g. ``Content-Encoding``); filled from the server's answer for the
        headers Swift would otherwise drop on a metadata update
    :ivar manifest: ``X-Object-Manifest`` (``container/prefix``) of a dynamic
        large object, or ``None``; set it and call :meth:`sync_manifest` to
        make this object a dynamic large object
    """

    def __init__(self, container: Container, name: str | bytes | None = None,
                 force_exists: bool = False,
                 object_record: Mapping[str, Any] | None = None) -> None:
        self.container = container
        self.last_modified: str | None = None
        self.metadata: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.manifest: str | None = None
        self._etag: str | None = None
        self._etag_override = False
        self.content_type: str | None = None
        self.size: int | None = None
        if object_record is not None:
            self.name = object_record["name"]
            self.content_type = object_record.get("content_type")
            self.size = object_record.get("bytes")
            self.last_modified = object_record.get("last_modified")
            self._etag = object_record.get("hash")
            return
        self.name = name  # decoded by the setter
        if not self._initialize() and force_exists:
            raise errors.NoSuchObject("no object %r in container %r"
                                      % (self.name, container.name), status=404)

    # -- identity -------------------------------------------------------------

    @property
    def name(self) -> str:
        """The object name: a ``str`` (``None`` only for an object made
        without one).  ``bytes`` assigned are decoded from UTF-8, and
        :class:`~velocity.errors.InvalidObjectName` is raised if they are not
        UTF-8.  The naming rules are checked when the name is used."""
        return self._name

    @name.setter
    def name(self, value: str | bytes | None) -> None:
        self._name = decode_name(value, errors.InvalidObjectName, "object name")

    def __str__(self) -> str:
        return self.name or ""

    def __repr__(self) -> str:
        return "<StorageObject %r in container %r>" % (self.name, self.container.name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorageObject):
            return NotImplemented
        return (self.name, self.container.name) == (other.name, other.container.name)

    def __hash__(self) -> int:
        return hash((self.name, self.container.name))

    @property
    def etag(self) -> str | None:
        """The MD5 ETag; assigning one makes :meth:`write` send it (and not
        recompute it), as in python-cloudfiles."""
        return self._etag

    @etag.setter
    def etag(self, value: str | None) -> None:
        self._etag = value
        self._etag_override = value is not None

    @property
    def objsum(self) -> str | None:
        """python-cloudfiles' alias of :attr:`etag`."""
        return self._etag

    @property
    def _client(self) -> Any:
        return self.container.conn.client

    def _checked_name(self) -> str:
        return check_object_name(self.name)

    def _container_name(self) -> str:
        return check_container_name(self.container.name)

    def _initialize(self) -> bool:
        if not self.name:
            return False
        name = self._checked_name()
        try:
            headers = self._client.head_object(self._container_name(), name)
        except errors.NoSuchObject:
            return False
        self._load_headers(headers)
        return True

    def _load_headers(self, headers: Mapping[str, str]) -> None:
        lowered = _lower(headers)
        self.manifest = lowered.get("x-object-manifest")
        self.content_type = lowered.get("content-type")
        self.metadata = _meta_from(lowered, "x-object-meta-")
        if not self._etag_override:
            etag = lowered.get("etag")
            self._etag = etag.strip('"') if etag else None
        self.size = _int(lowered.get("content-length"))
        self.last_modified = lowered.get("last-modified")
        for key in _KEPT_HEADERS:
            if key in lowered:
                self.headers[key] = lowered[key]

    def _make_headers(self) -> dict[str, str]:
        """Headers sent with an upload or a metadata update (validated)."""
        check_metadata(self.metadata)
        headers: dict[str, str] = {}
        if self.manifest:
            headers["X-Object-Manifest"] = _manifest_header(self.manifest)
        for key, value in self.metadata.items():
            headers["X-Object-Meta-" + key] = value if isinstance(value, str) else str(value)
        headers.update(self.headers)
        return headers

    # -- reading ----------------------------------------------------------------

    def _range_headers(self, size: int, offset: int, hdrs: Mapping[str, str] | None
                       ) -> dict[str, str]:
        headers = dict(hdrs or {})  # never mutate the caller's dict
        if size is not None and size > 0:
            headers["Range"] = "bytes=%d-%d" % (offset, offset + size - 1)
        elif offset:
            headers["Range"] = "bytes=%d-" % offset
        return headers

    def read(self, size: int = -1, offset: int = 0, hdrs: Mapping[str, str] | None = None,
             buffer: IO[bytes] | None = None, callback: Callback | None = None
             ) -> bytes | None:
        """The object's content, or ``size`` bytes of it from ``offset``.

        With ``buffer`` (anything with ``write``), the content is copied into it
        in chunks, ``callback(bytes_so_far, total)`` is called after each chunk,
        and ``None`` is returned.  A whole-object read is checked against the
        ETag (:class:`~velocity.errors.ChecksumMismatch`).

        :raises NoSuchObject: the object does not exist (a
            :class:`~velocity.errors.ResponseError`, as python-cloudfiles raised)
        """
        name = self._checked_name()
        headers = self._range_headers(size, offset, hdrs)
        resp_headers, body = self._client.get_object(
            self._container_name(), name, headers=headers, resp_chunk_size=CHUNK_SIZE)
        verify = "Range" not in headers and not _is_large(resp_headers)
        expected = _lower(resp_headers).get("etag", "").strip('"')
        total = _int(_lower(resp_headers).get("content-length")) or 0
        md5 = hashlib.md5(usedforsecurity=False)
        parts: list[bytes] = []
        done = 0
        try:
            for chunk in body:
                md5.update(chunk)
                done += len(chunk)
                if buffer is not None:
                    buffer.write(chunk)
                else:
                    parts.append(chunk)
                if callback is not None:
                    callback(done, total)
        except errors.VelocityError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken body stream
            raise errors.IncompleteSend(
                "reading %r failed after %d bytes: %s" % (name, done, exc.__class__.__name__),
                method="GET", path="/%s/%s" % (self.container.name, name)) from None
        if verify and expected and md5.hexdigest() != expected:
            raise errors.ChecksumMismatch(
                "the content of %r does not match its ETag" % name, method="GET",
                path="/%s/%s" % (self.container.name, name))
        if "Range" not in headers:
            self._load_headers(resp_headers)
        return None if buffer is not None else b"".join(parts)

    def stream(self, chunksize: int = 8192, hdrs: Mapping[str, str] | None = None
               ) -> Iterator[bytes]:
        """The content as an iterator of chunks of at most ``chunksize`` bytes.

        The request is made (and a missing object reported) when ``stream()``
        is called, not on the first ``next()``.
        """
        name = self._checked_name()
        if chunksize <= 0:
            raise errors.ConfigurationError("chunksize must be > 0, got %r" % chunksize)
        _, body = self._client.get_object(self._container_name(), name,
                                          headers=dict(hdrs or {}), resp_chunk_size=chunksize)
        return iter(body)

    def save_to_filename(self, filename: str | os.PathLike[str],
                         callback: Callback | None = None) -> None:
        """Download to ``filename``: written to a temporary file in the same
        folder and renamed only once complete and verified, so ``filename`` is
        never left half-written.  Large objects go through the transfer engine
        (parallel, resumable) when :mod:`velocity.transfer` is available."""
        name = self._checked_name()
        target = os.path.abspath(os.fspath(filename))
        folder = os.path.dirname(target)
        transfer = _transfer_module()
        if transfer is not None and self.size is not None \
                and self.size > self._transfer_config(transfer).segment_threshold:
            self._download_with_transfer(transfer, target, callback)
            return
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(target),
                                   suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                self.read(buffer=handle, callback=callback)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        log.debug("saved %s/%s to %s", self.container.name, name, target)

    def _download_with_transfer(self, transfer: Any, target: str,
                                callback: Callback | None) -> None:
        import shutil

        folder = os.path.dirname(target)
        scratch = tempfile.mkdtemp(dir=folder, prefix=".velocity-")
        try:
            with transfer.TransferManager(self.container.conn,
                                          self._transfer_config(transfer)) as manager:
                results = manager.download(
                    self.container.name, names=[self.name], out_dir=scratch,
                    subscribers=[_CallbackSubscriber(callback, self.size or 0)])
            result = results[0]
            if not result.ok:
                raise result.error or errors.IncompleteSend("download of %r failed" % self.name)
            os.replace(result.path, target)
            if callback is not None:
                callback(result.bytes, result.bytes)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # -- writing ------------------------------------------------------------------

    def _guess_type(self, data: Any = None) -> str:
        if self.content_type:
            return self.content_type
        for candidate in (getattr(data, "name", None), self.name):
            if isinstance(candidate, str):
                guessed = mimetypes.guess_type(candidate)[0]
                if guessed:
                    return guessed
        return "application/octet-stream"

    def write(self, data: bytes | str | IO[Any] = b"", verify: bool = True,
              callback: Callback | None = None) -> None:
        """Upload ``data`` (bytes, str (sent as UTF-8) or a file-like object)
        as the object's content, with :attr:`metadata` and :attr:`headers`.

        File-like objects are streamed in chunks, never read whole.  With
        ``verify=True`` the MD5 is sent as ``ETag`` when it can be known before
        sending (bytes, str, seekable files: the server then refuses corrupted
        data and nothing is stored) and the server's ETag is always compared;
        a mismatch raises :class:`~velocity.errors.ChecksumMismatch` and
        removes what was stored.  ``callback(bytes_sent, total)`` reports
        progress and ends with ``total, total``.
        """
        name = self._checked_name()
        container = self._container_name()
        headers = self._make_headers()
        content_type = self._guess_type(data)
        etag: str | None = self._etag if self._etag_override else None
        if isinstance(data, str):
            data = data.encode("utf-8")
        if isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
            size = len(payload)
            local_md5 = hashlib.md5(payload, usedforsecurity=False).hexdigest()
            if verify and etag is None:
                etag = local_md5
            if callback is not None:
                callback(0, size)
            returned = self._put(container, name, payload, size, etag, content_type, headers)
        elif hasattr(data, "read"):
            size = _remaining_size(data)
            if verify and etag is None and _seekable(data):
                etag = _md5_of(data)
            reader = _HashingReader(data, size, callback)
            returned = self._put(container, name, reader, size, etag, content_type, headers)
            local_md5 = reader.hexdigest()
            if size is not None and reader.transferred != size:
                self._discard(container, name)
                raise errors.IncompleteSend(
                    "sent %d of %d bytes of %r" % (reader.transferred, size, name),
                    method="PUT", path="/%s/%s" % (container, name))
            size = reader.transferred
        else:
            raise errors.ConfigurationError(
                "write() takes bytes, str or a file-like object, got %s; use send() for "
                "an iterable" % type(data).__name__)
        self._finish_upload(container, name, returned, local_md5, verify, size, content_type)
        if callback is not None:
            callback(size, size)

    def _put(self, container: str, name: str, body: Any, size: int | None,
             etag: str | None, content_type: str, headers: dict[str, str]) -> str:
        return self._client.put_object(container, name, body, content_length=size, etag=etag,
                                       content_type=content_type, headers=headers)

    def _finish_upload(self, container: str, name: str, returned: str | None,
                       local_md5: str, verify: bool, size: int, content_type: str) -> None:
        returned = (returned or "").strip('"')
        if verify and not self._etag_override and returned and returned != local_md5:
            self._discard(container, name)
            raise errors.ChecksumMismatch(
                "the server's ETag of %r (%s) does not match the data sent (%s); the object "
                "was removed" % (name, returned, local_md5), method="PUT",
                path="/%s/%s" % (container, name))
        self._etag = returned or local_md5
        self._etag_override = False
        self.size = size
        self.content_type = content_type

    def _discard(self, container: str, name: str) -> None:
        try:
            self._client.delete_object(container, name)
        except errors.VelocityError:
            log.warning("could not remove the unverified object %s/%s", container, name)

    def send(self, iterable: Iterable[bytes | str] | bytes | str | IO[Any]) -> None:
        """Upload from an iterable of chunks (bytes or str), e.g. a generator.

        When :attr:`size` is set it is sent as ``Content-Length`` and a shorter
        iterable raises :class:`~velocity.errors.IncompleteSend` (nothing is
        stored); otherwise the body is sent with chunked transfer encoding.
        A str or bytes is sent once, as by :meth:`write`.  The server's ETag
        is compared with the MD5 of what was sent.
        """
        name = self._checked_name()
        container = self._container_name()
        if isinstance(iterable, (str, bytes, bytearray, memoryview)):
            if self.size is not None and len(iterable) != self.size:
                raise errors.IncompleteSend(
                    "size is %d but %d bytes were given" % (self.size, len(iterable)))
            self.write(iterable)
            return
        headers = self._make_headers()
        content_type = self.content_type or "application/octet-stream"
        etag = self._etag if self._etag_override else None
        expected = self.size
        md5 = hashlib.md5(usedforsecurity=False)
        sent = [0]

        if hasattr(iterable, "read"):
            source: Iterable[Any] = iter(lambda: iterable.read(CHUNK_SIZE), b"")
            source = (c for c in source if c)
        else:
            source = iterable

        def body() -> Iterator[bytes]:
            for chunk in source:
                if isinstance(chunk, str):
                    chunk = chunk.encode("utf-8")
                if not chunk:
                    continue
                if expected is not None and sent[0] + len(chunk) > expected:
                    raise errors.InvalidObjectSize(
                        "the iterable gave more than the announced %d bytes" % expected)
                md5.update(chunk)
                sent[0] += len(chunk)
                yield chunk
            if expected is not None and sent[0] < expected:
                raise errors.IncompleteSend(
                    "the iterable ended after %d of the announced %d bytes; nothing was "
                    "stored" % (sent[0], expected), method="PUT",
                    path="/%s/%s" % (container, name))

        returned = self._put(container, name, _IterReader(body()), expected, etag,
                             content_type, headers)
        self._finish_upload(container, name, returned, md5.hexdigest(), True, sent[0],
                            content_type)

    def load_from_filename(self, filename: str | os.PathLike[str], verify: bool = True,
                           callback: Callback | None = None) -> None:
        """Upload the file ``filename`` (streamed; see :meth:`write`).  Files
        above the transfer engine's ``segment_threshold`` are uploaded as a
        segmented large object through :mod:`velocity.transfer`."""
        self._checked_name()
        path = os.fspath(filename)
        size = os.path.getsize(path)
        transfer = _transfer_module()
        if transfer is not None and size > self._transfer_config(transfer).segment_threshold:
            self._upload_with_transfer(transfer, path, size, callback)
            return
        with open(path, "rb") as handle:
            self.write(handle, verify=verify, callback=callback)

    def _upload_with_transfer(self, transfer: Any, path: str, size: int,
                              callback: Callback | None) -> None:
        container = self._container_name()
        headers = self._make_headers()
        headers["Content-Type"] = self._guess_type(path)
        with transfer.TransferManager(self.container.conn,
                                      self._transfer_config(transfer)) as manager:
            results = manager.upload(container, [path], object_names=[self.name],
                                     headers=headers,
                                     subscribers=[_CallbackSubscriber(callback, size)])
        result = results[0]
        if not result.ok:
            raise result.error or errors.IncompleteSend("upload of %r failed" % self.name)
        self._etag = (result.etag or "").strip('"') or None
        self._etag_override = False
        self.size = size
        self.content_type = headers["Content-Type"]
        if callback is not None:
            callback(size, size)

    def _transfer_config(self, transfer: Any) -> Any:
        config = getattr(self.container.conn, "transfer_config", None)
        return config if config is not None else transfer.TransferConfig()

    # -- metadata and copies -------------------------------------------------------

    def sync_metadata(self) -> None:
        """Store :attr:`metadata` (and :attr:`headers`, :attr:`content_type`) on
        the server.  An empty :attr:`metadata` removes all metadata."""
        name = self._checked_name()
        headers = self._make_headers()
        if self.content_type:
            headers["Content-Type"] = self.content_type
        self._client.post_object(self._container_name(), name, headers)

    def sync_manifest(self) -> None:
        """Make this object a dynamic large object (DLO) whose content is the
        concatenation of the objects named by :attr:`manifest`, python-cloudfiles'
        way::

            for n, chunk in enumerate(chunks):
                container.create_object("movie.%04d" % n).write(chunk)
            movie = container.create_object("movie")
            movie.manifest = "%s/movie." % container.name   # "container/prefix"
            movie.sync_manifest()
            movie.read()                                    # every segment, in name order

        It uploads an empty object with ``X-Object-Manifest: <manifest>`` (and
        :attr:`metadata`, :attr:`headers`, :attr:`content_type`, which the
        upload replaces); Swift then serves the segments whose names start
        with the prefix, in name order, as the object's content.  The
        segments may be uploaded before or after.  Nothing is done when
        :attr:`manifest` is ``None`` or empty, as in python-cloudfiles.
        Afterwards :attr:`size` and :attr:`etag` are those of the whole object.

        ``manifest`` is text, as Velocity reads it back (``"videos/clip
        été/"``); it is percent-encoded for the header, as Swift expects, so
        do not encode it yourself.  Only the manifest is stored, so the
        object is not verified against its segments; reads of a large object
        are not checked against its ETag either.

        :raises ConfigurationError: ``manifest`` is not ``container/prefix``
            with a valid container name and a non-empty prefix
        """
        if not self.manifest:
            return
        name = self._checked_name()
        container = self._container_name()
        manifest = _check_manifest(self.manifest)
        headers = self._make_headers()
        headers["X-Object-Manifest"] = manifest
        content_type = self._guess_type()
        self._client.put_object(container, name, b"", content_length=0,
                                content_type=content_type, headers=headers)
        self._initialize()

    def _copy_headers(self) -> dict[str, str]:
        headers = {"X-Object-Meta-" + k: str(v) for k, v in self.metadata.items()}
        check_metadata(self.metadata)
        return headers

    def copy_to(self, container_name: str | bytes | Container, name: str | bytes) -> None:
        """Server-side copy of this object to ``container_name/name`` (content
        and metadata; nothing goes through the client).  Names may be ``str``
        or UTF-8 ``bytes``."""

        source = self._checked_name()
        dest_container = as_container_name(_name_of(container_name))
        dest = as_object_name(name)
        self._client.copy_object(self._container_name(), source,
                                 destination="/%s/%s" % (dest_container, dest))

    def copy_from(self, container_name: str | bytes | Container, name: str | bytes) -> None:
        """Make this object a server-side copy of ``container_name/name``;
        :attr:`metadata` set on this object is added to the copy's.  Names may
        be ``str`` or UTF-8 ``bytes``."""

        target = self._checked_name()
        src_container = as_container_name(_name_of(container_name))
        src = as_object_name(name)
        headers = self._copy_headers()
        headers["X-Copy-From"] = quote("/%s/%s" % (src_container, src))
        response: dict[str, Any] = {}
        self._client.put_object(self._container_name(), target, None, headers=headers,
                                response_dict=response)
        self._initialize()

    # -- public access -------------------------------------------------------------------

    def public_uri(self) -> str:
        """The object's public URL (its container must be public)."""
        return "%s/%s" % (self.container.public_uri().rstrip("/"),
                          quote(self._checked_name()))

    def public_ssl_uri(self) -> str:
        """The object's HTTPS CDN URL (Rackspace CDN only)."""
        return "%s/%s" % (self.container.public_ssl_uri().rstrip("/"),
                          quote(self._checked_name()))

    def public_streaming_uri(self) -> str:
        """The object's streaming CDN URL (Rackspace CDN only)."""
        return "%s/%s" % (self.container.public_streaming_uri().rstrip("/"),
                          quote(self._checked_name()))

    def purge_from_cdn(self, email: str | None = None) -> None:
        """Ask the CDN to drop its cached copy of this object (Rackspace CDN;
        :class:`~velocity.errors.CDNNotEnabled` without one)."""
        name = self._checked_name()
        headers = {"X-Purge-Email": email} if email else {}
        self.container.conn._cdn_client().delete_object(
            self._container_name(), name, headers=headers)

    def get_temp_url(self, method: str = "GET", seconds: int = 3600) -> str:
        """A temporary URL for this object (see :meth:`Container.get_temp_url`)."""
        return self.container.get_temp_url(self, method, seconds)

    @classmethod
    def compute_md5sum(cls, fobj: IO[bytes]) -> str:
        """MD5 hex digest of a file object, read in chunks; rewinds it to the start."""
        md5 = hashlib.md5(usedforsecurity=False)
        for chunk in iter(lambda: fobj.read(CHUNK_SIZE), b""):
            md5.update(chunk)
        fobj.seek(0)
        return md5.hexdigest()


T = TypeVar("T")


class ListingResults(Sequence[T]):
    """One listing's records as a real sequence (the base of
    :class:`ObjectResults` and :class:`~velocity.container.ContainerResults`).

    ``len()``, iteration, indexing (negative too), slicing (a results object
    of the same kind), ``name in results`` (by name or by item), ``index``
    and ``count``.  Items are built from the listing, with no extra request.
    """

    _what = "items"

    def __init__(self, records: Iterable[Mapping[str, Any]] | None = None) -> None:
        self._records = [dict(r) for r in (records or ()) if "name" in r]
        self._names = [r["name"] for r in self._records]

    def _make(self, record: dict[str, Any]) -> T:
        raise NotImplementedError

    def _derive(self, records: list[dict[str, Any]]) -> ListingResults[T]:
        raise NotImplementedError

    @overload
    def __getitem__(self, key: int) -> T: ...

    @overload
    def __getitem__(self, key: slice) -> ListingResults[T]: ...

    def __getitem__(self, key: int | slice) -> T | ListingResults[T]:
        if isinstance(key, slice):
            return self._derive(self._records[key])
        return self._make(self._records[key])

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[T]:
        for record in self._records:
            yield self._make(record)

    def __contains__(self, item: object) -> bool:
        return _listed_name(item) in self._names

    def index(self, value: Any, *args: int) -> int:
        return self._names.index(_listed_name(value), *args)

    def count(self, value: Any) -> int:
        return self._names.count(_listed_name(value))

    @property
    def names(self) -> list[str]:
        """The names, in listing order."""
        return list(self._names)

    def __repr__(self) -> str:
        return "%s: %s %s" % (type(self).__name__, len(self._records), self._what)

    __str__ = __repr__


class ObjectResults(ListingResults[StorageObject]):
    """The objects of one listing: a real sequence of :class:`StorageObject`
    (see :class:`ListingResults`); slicing gives an ``ObjectResults``.
    Pseudo-directory entries of a ``delimiter`` listing are left out, as in
    python-cloudfiles.
    """

    _what = "objects"

    def __init__(self, container: Container, objects: Iterable[Mapping[str, Any]] | None = None
                 ) -> None:
        self.container = container
        super().__init__(objects)

    def _make(self, record: dict[str, Any]) -> StorageObject:
        return StorageObject(self.container, object_record=record)

    def _derive(self, records: list[dict[str, Any]]) -> ObjectResults:
        return ObjectResults(self.container, records)


def _name_of(item: Any) -> Any:
    """The name of a Container / StorageObject, or ``item`` itself (a name)."""
    return item.name if hasattr(item, "name") and not isinstance(item, str) else item


def _listed_name(item: Any) -> Any:
    """What to look ``item`` up by in a listing: its name, UTF-8 ``bytes``
    decoded (bytes that are not UTF-8 match nothing)."""
    name = _name_of(item)
    if isinstance(name, (bytes, bytearray)):
        try:
            return bytes(name).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return name


def _manifest_header(manifest: Any) -> str:
    """``manifest`` (``container/prefix`` as text, as Velocity reads it back)
    encoded for the ``X-Object-Manifest`` header: percent-encoded except ``/``,
    which Swift's DLO middleware decodes again."""
    value = decode_name(manifest, errors.ConfigurationError, "manifest")
    if not isinstance(value, str):
        raise errors.ConfigurationError(
            "manifest must be a str 'container/prefix', got %s" % type(value).__name__)
    return quote(value, safe="/")


def _check_manifest(manifest: Any) -> str:
    """:func:`_manifest_header`, after checking that ``manifest`` is what
    Swift accepts on a PUT: ``container/prefix`` with a valid container name
    and a non-empty prefix not starting with ``/``."""
    header = _manifest_header(manifest)
    value = decode_name(manifest, errors.ConfigurationError, "manifest")
    container, _, prefix = value.partition("/")
    if not container or not prefix or prefix.startswith("/"):
        raise errors.ConfigurationError(
            "manifest must be 'container/prefix' (the segments' container and the "
            "prefix of their names), got %r" % value)
    try:
        check_container_name(container)
    except errors.InvalidContainerName as exc:
        raise errors.ConfigurationError("manifest %r: %s" % (value, exc)) from None
    return header
