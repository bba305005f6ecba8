"""The bodies the engine sends, and the check of what Swift says it stored.

* :class:`FileSlice`: bytes of a local file, seekable (a retry rewinds it),
  sent with ``sendfile`` on a plain connection (or read), optionally hashed
  while they are sent, stopping at a cancel;
* :class:`Stream`: a caller's binary file-like object or iterable of bytes,
  read in pieces, with a look-ahead to tell whether it has ended;
* :class:`Spool`: one segment of a stream, buffered (in memory, then on disk)
  so that it can be verified and sent again;
* :func:`check_etag`: the ETag Swift answered against the MD5 of the data sent.
"""

from __future__ import annotations

import io
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import IO, Any, BinaryIO, Protocol, Union

from velocity import errors
from velocity.hashing import md5_of_fd, new_md5, unquote_etag
from velocity.transfer.config import CHUNK, SPOOL

__all__ = ["FileSlice", "Readable", "ByteSource", "Stream", "Spool", "check_etag"]

#: bytes handed to one ``sendfile`` call of :meth:`FileSlice.sendfile`
SENDFILE_BLOCK = 4 * 1024 * 1024


class Readable(Protocol):
    """Anything with a binary ``read(size)``."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...


#: what :meth:`~velocity.transfer.TransferManager.upload_stream` reads from
ByteSource = Union[Readable, Iterable[bytes], bytes, bytearray, memoryview]


class FileSlice:
    """A file-like view of ``length`` bytes of an open file from ``offset``.

    Calls ``check`` before every block (a cancel, another part's failure),
    reports new bytes to ``progress`` (a rewound retry does not count them
    twice) and raises :class:`~velocity.errors.IncompleteSend` instead of
    sending fewer bytes than announced.  With ``hashing``, :meth:`md5` is the
    MD5 of what was sent since the last rewind: hashed as it is read, or, when
    it goes by :meth:`sendfile`, by a thread reading the same bytes from the
    page cache meanwhile (so hashing and sending overlap).  A file changed
    while it is sent may then give a hash of other bytes than were sent:
    compared with the ETag the server answers, that is a mismatch, never a
    wrong match.
    """

    def __init__(self, handle: BinaryIO, offset: int, length: int,
                 check: Callable[[], None], progress: Callable[[int], None],
                 hashing: bool = False) -> None:
        self.handle = handle
        self.offset = offset
        self.length = length
        self.position = 0
        self.reported = 0
        self._check = check
        self._progress = progress
        self.hashing = hashing
        self._digest = new_md5() if hashing else None
        self._hasher: Future[str] | None = None  # hashing beside a sendfile ...
        self._hashing: tuple[threading.Thread, threading.Event] | None = None  # ... its thread
        handle.seek(offset)

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (1 MiB at most).  Once every byte was read,
        ``b""`` without ``check``: a body sent whole is never abandoned before
        its answer (the server may still store it, after a clean-up's DELETE
        that would then come too early)."""
        left = self.length - self.position
        if size is None or size < 0 or size > left:
            size = left
        if size == 0:
            return b""
        self._check()
        data = self.handle.read(min(size, CHUNK))
        if not data:
            raise errors.IncompleteSend("the file shrank while it was being uploaded")
        if self._digest is not None:
            self._digest.update(data)
        self._advance(len(data))
        return data

    def sendfile(self, sock: socket.socket) -> bool:
        """Send the rest of the slice on ``sock`` straight from the page
        cache (``sendfile``: the bytes are never copied into Python), in
        blocks of :data:`SENDFILE_BLOCK` with ``check`` before and
        ``progress`` after each; with ``hashing``, a thread hashes the slice
        meanwhile.  Returns ``False``, having sent nothing, when a hashing
        slice was partly read already; the caller then goes on with
        :meth:`read`.

        :raises velocity.errors.IncompleteSend: the file shrank
        """
        if self._digest is not None:
            if self.position:
                return False
            self._hasher, stop = Future(), threading.Event()
            thread = threading.Thread(target=self._hash, args=(self._hasher, stop),
                                      name="velocity-hash", daemon=True)
            self._hashing = (thread, stop)
            thread.start()
        while self.position < self.length:
            self._check()
            count = min(SENDFILE_BLOCK, self.length - self.position)
            sent = sock.sendfile(self.handle, self.offset + self.position, count)
            if not sent:
                raise errors.IncompleteSend("the file shrank while it was being uploaded")
            self._advance(sent)
        return True

    def _hash(self, future: Future[str], stop: threading.Event) -> None:
        def check() -> None:
            if stop.is_set():
                raise errors.TransferCancelled("the send this hash was for is over")
            self._check()

        try:
            future.set_result(md5_of_fd(self.handle.fileno(), self.length, check, self.offset))
        except BaseException as exc:  # noqa: BLE001 - raised by md5()
            future.set_exception(exc)

    def _stop_hashing(self) -> None:
        """End the hash beside an earlier send (it stops within a block)."""
        if self._hashing is not None:
            thread, stop = self._hashing
            self._hashing = None
            stop.set()
            thread.join()

    def close(self) -> None:
        """Stop the hash beside a send that was abandoned; the file stays
        open (it is the caller's).  Call it before closing the file."""
        self._stop_hashing()

    def _advance(self, count: int) -> None:
        self.position += count
        if self.position > self.reported:
            self._progress(self.position - self.reported)
            self.reported = self.position

    def seek(self, position: int, whence: int = 0) -> int:
        """Move to ``position`` (absolute; a hashing slice only rewinds to 0)."""
        if whence != 0:
            raise OSError("only absolute seeks")
        if self.hashing:
            if position != 0:
                raise OSError("a hashing reader only rewinds to its start")
            self._digest = new_md5()
            self._stop_hashing()
            self._hasher = None
        self.position = position
        self.handle.seek(self.offset + position)
        return position

    def tell(self) -> int:
        """The position within the slice."""
        return self.position

    def seekable(self) -> bool:
        """Always ``True``: a retry rewinds the slice."""
        return True

    def md5(self) -> str | None:
        """The MD5 of the bytes sent since the last rewind (``None`` unless
        hashing); waits for the hash beside a :meth:`sendfile`.  Call it
        before the file is closed."""
        if self._hasher is not None:
            digest = self._hasher.result()
            self._stop_hashing()  # it has ended: joined at once
            return digest
        return self._digest.hexdigest() if self._digest is not None else None


class Stream:
    """``read(n)`` over a binary file-like object, an iterable of ``bytes``
    or ``bytes`` themselves; :meth:`at_end` looks one byte ahead."""

    def __init__(self, source: ByteSource) -> None:
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = io.BytesIO(bytes(source))
        self._read: Callable[[int], bytes] | None = getattr(source, "read", None)
        self._iter: Iterator[bytes] | None = (
            None if self._read is not None else iter(source))  # type: ignore[arg-type]
        self._pending = b""

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        if self._read is not None:
            data = self._read(size)
            if isinstance(data, str):
                raise errors.ConfigurationError("upload_stream needs bytes, got text; "
                                                "open the file in binary mode")
            return data or b""
        while True:
            try:
                chunk = next(self._iter)  # type: ignore[arg-type]
            except StopIteration:
                return b""
            if isinstance(chunk, str):
                raise errors.ConfigurationError("upload_stream needs an iterable of bytes, "
                                                "got text")
            if chunk:
                data = bytes(chunk)
                self._pending = data[size:]
                return data[:size]

    def at_end(self) -> bool:
        """Whether nothing is left to read (one byte is read ahead and kept)."""
        ahead = self.read(1)
        self._pending = ahead + self._pending
        return not ahead


class Spool:
    """Up to ``limit`` bytes of a :class:`Stream`, buffered (in memory up
    to 8 MiB, beyond that in a temporary file) and rewound: :attr:`file`,
    :attr:`size`, :attr:`md5`.  ``check`` is called before every block;
    ``whole`` (a hash object), when given, is fed the bytes too (the MD5 of
    a whole stream, segment after segment)."""

    def __init__(self, source: Stream, limit: int, check: Callable[[], None],
                 whole: Any = None) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL)
        self.size = 0
        digest = new_md5()
        try:
            while self.size < limit:
                check()
                data = source.read(min(CHUNK, limit - self.size))
                if not data:
                    break
                digest.update(data)
                if whole is not None:
                    whole.update(data)
                self.file.write(data)
                self.size += len(data)
        except BaseException:
            self.file.close()
            raise
        self.file.seek(0)
        self.md5 = digest.hexdigest()

    def discard(self) -> None:
        """Free the buffer."""
        self.file.close()


def check_etag(expected: str | None, returned: str | None, container: str, name: str) -> None:
    """:raises velocity.errors.ChecksumMismatch: when Swift stored other data
    than was sent (``expected`` is its MD5; ``None`` checks nothing)"""
    if expected and unquote_etag(returned) != expected:
        raise errors.ChecksumMismatch(
            "the server stored %s/%s with ETag %s, but the data sent has MD5 %s"
            % (container, name, unquote_etag(returned), expected),
            method="PUT", path="/%s/%s" % (container, name))
