"""How a :class:`~velocity.storage_object.StorageObject`'s bytes move.

Upload bodies that hash and count what they send (and can be rewound for a
retry), the download loop that checks what it receives against the ETag, the
checks a local destination gets before a download, and the hand-over of large
files to the transfer engine.  Hashing is :mod:`velocity.hashing`'s; the
temporary files are :class:`velocity.transfer.localfs.AtomicFile`'s.
"""

from __future__ import annotations

import errno
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

from velocity import errors
from velocity._headers import int_or_none, is_large_object, lower_keys
from velocity._log import log
from velocity.hashing import md5_hex, md5_of_stream, new_md5, unquote_etag

__all__ = ["CHUNK_SIZE", "Callback", "UploadBody", "ChunkedBody", "guess_type", "discard",
           "check_upload", "receive", "range_headers", "check_destination", "save_atomically",
           "use_transfer", "upload_with_transfer", "download_with_transfer"]


#: bytes read from a file or a response body at a time
CHUNK_SIZE = 65536

#: a python-cloudfiles progress callback: ``callback(bytes_so_far, total)``
Callback = Callable[[int, int], Any]


def _where(container: str, name: str) -> str:
    return "/%s/%s" % (container, name)


# -- uploads ------------------------------------------------------------------------

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


class _HashingReader:
    """Wraps a file-like object for an upload: reads it in chunks, hashes what
    is read, reports progress; rewinds (for a retry) to where it started."""

    def __init__(self, source: IO[Any], size: int | None, callback: Callback | None) -> None:
        self._source = source
        self._size = size
        self._callback = callback
        self._md5 = new_md5()
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
        self._md5 = new_md5()
        self.transferred = 0
        return offset


class UploadBody:
    """What :meth:`StorageObject.write` sends: bytes, a ``str`` (as UTF-8)
    or a file-like object (streamed in chunks, never read whole).

    :attr:`payload` is the body to PUT and :attr:`size` its length (``None``
    when a stream's size cannot be known: chunked encoding).  A bytes body
    reports ``callback(0, size)`` at once; a stream reports each chunk read.

    :raises ConfigurationError: ``data`` is none of these
    """

    def __init__(self, data: Any, callback: Callback | None) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._source: Any = None
        self._reader: _HashingReader | None = None
        if isinstance(data, (bytes, bytearray, memoryview)):
            self.payload: Any = bytes(data)
            self.size: int | None = len(self.payload)
            self._md5 = md5_hex(self.payload)
            if callback is not None:
                callback(0, self.size)
        elif hasattr(data, "read"):
            self._source = data
            self.size = _remaining_size(data)
            self._reader = self.payload = _HashingReader(data, self.size, callback)
        else:
            raise errors.ConfigurationError(
                "write() takes bytes, str or a file-like object, got %s; use send() for "
                "an iterable" % type(data).__name__)

    def md5_before(self) -> str | None:
        """The MD5 of what will be sent, when it can be known beforehand
        (bytes, seekable streams: read once, position restored)."""
        if self._reader is None:
            return self._md5
        if not _seekable(self._source):
            return None
        here = self._source.tell()
        digest = md5_of_stream(self._source)
        self._source.seek(here)
        return digest

    @property
    def sent(self) -> int:
        """Bytes sent so far."""
        return self._reader.transferred if self._reader is not None else len(self.payload)

    def md5(self) -> str:
        """The MD5 of what was sent."""
        return self._reader.hexdigest() if self._reader is not None else self._md5

    def check_complete(self, client: Any, container: str, name: str) -> None:
        """Make sure all of a known :attr:`size` was sent; otherwise the
        object is deleted and :class:`~velocity.errors.IncompleteSend` raised."""
        if self.size is not None and self.sent != self.size:
            discard(client, container, name)
            raise errors.IncompleteSend(
                "sent %d of %d bytes of %r" % (self.sent, self.size, name),
                method="PUT", path=_where(container, name))


def _read_chunks(reader: Any) -> Iterator[Any]:
    """A file-like object's content, :data:`CHUNK_SIZE` at a time, up to
    the first empty read (``b""`` or, from a text file, ``""``)."""
    while True:
        chunk = reader.read(CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


class ChunkedBody:
    """A file-like body over an iterable of chunks (``bytes`` or ``str``,
    sent as UTF-8) or over a file-like object read in :data:`CHUNK_SIZE`
    pieces, for :meth:`StorageObject.send`.  It hashes and counts what it
    gives out; with ``expected`` set, more data raises
    :class:`~velocity.errors.InvalidObjectSize` and less raises
    :class:`~velocity.errors.IncompleteSend`, so the upload fails and nothing
    is stored."""

    def __init__(self, source: Iterable[Any] | IO[Any], expected: int | None,
                 container: str, name: str) -> None:
        if hasattr(source, "read"):
            source = _read_chunks(source)
        self._chunks = self._counted(iter(source), expected, _where(container, name))
        self._buffer = b""
        self._md5 = new_md5()
        #: the body to PUT (this object) and its announced length
        self.payload = self
        self.size = expected
        #: bytes given out so far
        self.sent = 0

    def _counted(self, chunks: Iterator[Any], expected: int | None, path: str
                 ) -> Iterator[bytes]:
        for chunk in chunks:
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if not chunk:
                continue
            if expected is not None and self.sent + len(chunk) > expected:
                raise errors.InvalidObjectSize(
                    "the iterable gave more than the announced %d bytes" % expected)
            self._md5.update(chunk)
            self.sent += len(chunk)
            yield chunk
        if expected is not None and self.sent < expected:
            raise errors.IncompleteSend(
                "the iterable ended after %d of the announced %d bytes; nothing was "
                "stored" % (self.sent, expected), method="PUT", path=path)

    def __bool__(self) -> bool:  # swiftclient treats a falsy body as empty
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

    def md5(self) -> str:
        """The MD5 of what was given out."""
        return self._md5.hexdigest()

    def check_complete(self, client: Any, container: str, name: str) -> None:
        """Nothing to do: a short iterable already failed the upload."""


def guess_type(content_type: str | None, data: Any, name: str | None) -> str:
    """``content_type`` if set, else the MIME type guessed from the data's
    file name, then from the object name; ``application/octet-stream``
    when neither tells."""
    if content_type:
        return content_type
    for candidate in (getattr(data, "name", None), name):
        if isinstance(candidate, str):
            guessed = mimetypes.guess_type(candidate)[0]
            if guessed:
                return guessed
    return "application/octet-stream"


def discard(client: Any, container: str, name: str) -> None:
    """Delete an object that was stored but could not be verified (a
    failure to do so is logged, not raised)."""
    try:
        client.delete_object(container, name)
    except errors.VelocityError:
        log.warning("could not remove the unverified object %s/%s", container, name)


def check_upload(client: Any, container: str, name: str, returned: str,
                 local_md5: str) -> None:
    """Compare the ETag the server ``returned`` for an upload with the MD5
    of the data sent; on a mismatch the object is deleted and
    :class:`~velocity.errors.ChecksumMismatch` raised."""
    if returned and returned != local_md5:
        discard(client, container, name)
        raise errors.ChecksumMismatch(
            "the server's ETag of %r (%s) does not match the data sent (%s); the object "
            "was removed" % (name, returned, local_md5), method="PUT",
            path=_where(container, name))


# -- downloads ----------------------------------------------------------------------

def range_headers(size: int | None, offset: int, hdrs: Any) -> dict[str, str]:
    """A copy of the caller's headers ``hdrs`` with the ``Range`` of ``size``
    bytes from ``offset`` (the caller's dict is never changed)."""
    headers = dict(hdrs or {})
    if size is not None and size > 0:
        headers["Range"] = "bytes=%d-%d" % (offset, offset + size - 1)
    elif offset:
        headers["Range"] = "bytes=%d-" % offset
    return headers


def receive(headers: Mapping[str, str], body: Iterable[bytes], sink: Callable[[bytes], Any],
            callback: Callback | None, verify: bool, container: str, name: str) -> None:
    """Hand every chunk of a GET's ``body`` to ``sink``, reporting
    ``callback(bytes_so_far, total)`` (``total`` from the response
    ``headers``), and, with ``verify``, compare the MD5 of it all with the
    ETag (not for a large object, whose ETag is not an MD5 of its data).

    :raises IncompleteSend: the body broke off
    :raises ChecksumMismatch: the data does not match ``expected``
    """
    lowered = lower_keys(headers)
    total = int_or_none(lowered.get("content-length")) or 0
    expected = unquote_etag(lowered.get("etag")) if verify else None
    digest = new_md5()
    done = 0
    try:
        for chunk in body:
            digest.update(chunk)
            done += len(chunk)
            sink(chunk)
            if callback is not None:
                callback(done, total)
    except errors.VelocityError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken body stream
        raise errors.IncompleteSend(
            "reading %r failed after %d bytes: %s" % (name, done, exc.__class__.__name__),
            method="GET", path=_where(container, name)) from None
    if expected and not is_large_object(lowered) and digest.hexdigest() != expected:
        raise errors.ChecksumMismatch(
            "the content of %r does not match its ETag" % name, method="GET",
            path=_where(container, name))


def check_destination(target: str) -> None:
    """Refuse a download destination as ``open(target, "wb")`` would, before
    any request: a folder (:class:`IsADirectoryError`) or a path whose folder
    does not exist (:class:`FileNotFoundError`)."""
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), target)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), folder)


def save_atomically(target: str, fill: Callable[[Any], object]) -> None:
    """Call ``fill(part)`` with a :class:`~velocity.transfer.localfs.AtomicFile`
    beside ``target`` (``part.write(data)`` appends), then flush it to disk
    and rename it to ``target``: ``target`` appears only complete, and when
    ``fill`` fails the temporary file is removed and an existing ``target``
    is left as it was.  The file gets the mode the umask gives new files."""
    # imported here: loading velocity.transfer loads the whole engine
    from velocity.transfer.localfs import AtomicFile

    with AtomicFile(target) as part:
        fill(part)
        os.fsync(part.fd)
        part.commit()


# -- large files: the transfer engine ---------------------------------------------------

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


def _engine() -> Any:
    """:mod:`velocity.transfer`, imported when first needed (it is large),
    or ``None`` when it cannot be imported."""
    try:
        from velocity import transfer
    except ImportError:
        return None
    return transfer if hasattr(transfer, "TransferManager") else None


def _config(engine: Any, conn: Any) -> Any:
    config = getattr(conn, "transfer_config", None)
    return config if config is not None else engine.TransferConfig()


def _manager(conn: Any) -> Any:
    engine = _engine()
    return engine.TransferManager(conn, _config(engine, conn))


def use_transfer(conn: Any, size: int | None) -> bool:
    """Whether a file of ``size`` bytes goes through the transfer engine:
    when it is above ``conn.transfer_config.segment_threshold`` (the
    engine's default without one) and the engine can be imported."""
    engine = _engine()
    return (engine is not None and size is not None
            and size > _config(engine, conn).segment_threshold)


def upload_with_transfer(conn: Any, container: str, name: str, path: str, size: int,
                         headers: dict[str, str], callback: Callback | None) -> str | None:
    """Upload the file ``path`` as ``container/name`` in segments; returns
    the ETag Swift gave it."""
    with _manager(conn) as manager:
        results = manager.upload(container, [path], object_names=[name], headers=headers,
                                 subscribers=[_CallbackSubscriber(callback, size)])
    result = results[0]
    if not result.ok:
        raise result.error or errors.IncompleteSend("upload of %r failed" % name)
    return unquote_etag(result.etag) or None


def download_with_transfer(conn: Any, container: str, name: str, size: int, target: str,
                           callback: Callback | None) -> None:
    """Download ``container/name`` to ``target`` with parallel ranges,
    verified, into a scratch folder beside ``target``, then renamed."""
    scratch = tempfile.mkdtemp(dir=os.path.dirname(target), prefix=".velocity-")
    try:
        with _manager(conn) as manager:
            results = manager.download(container, names=[name], out_dir=scratch,
                                       subscribers=[_CallbackSubscriber(callback, size)])
        result = results[0]
        if not result.ok:
            raise result.error or errors.IncompleteSend("download of %r failed" % name)
        os.replace(result.path, target)
        if callback is not None:
            callback(result.bytes, result.bytes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
