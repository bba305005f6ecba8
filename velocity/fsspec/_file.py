"""The file objects of :class:`~velocity.fsspec.SwiftFileSystem`.

Reading: fsspec's buffered file; each block it needs is one ranged GET,
pinned to the ETag the file was opened with (``If-Match``), so a file never
mixes two versions of an object.

Writing: a file that stays within one block is one PUT when it is closed.
One that grows past its block size is handed, block by block, to the
transfer engine's :meth:`~velocity.transfer.TransferManager.upload_stream`
running on a helper thread: each full block becomes a segment in
``<container>_segments`` as soon as it is filled, the static large object
manifest is written last, on :meth:`close`.  At most about four blocks are
held in memory whatever the object's size.  Leaving a ``with`` block with an
exception, or :meth:`SwiftFile.discard`, deletes the segments sent so far and
no object appears.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from velocity import errors
from velocity.transfer import TransferManager, TransferResult

if TYPE_CHECKING:
    from velocity.fsspec.filesystem import SwiftFileSystem

__all__ = ["SwiftFile"]


class _Pipe:
    """Bytes handed from the writing thread to the engine's reading thread,
    at most ``limit`` bytes waiting at a time (the writer waits beyond that).

    ``read`` raises :class:`~velocity.errors.TransferCancelled` once the
    writer aborted, so the engine deletes what it stored; ``write`` raises
    once the reader stopped (the upload failed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pieces: collections.deque[memoryview] = collections.deque()
        self.waiting = 0
        self.ended = False
        self.aborted = False
        self.reader_gone = False
        self.cond = threading.Condition()

    def write(self, data: memoryview) -> None:
        with self.cond:
            while self.waiting and self.waiting + len(data) > self.limit and not (
                    self.reader_gone or self.aborted):
                self.cond.wait()
            if self.reader_gone:
                raise _ReaderGone()
            self.pieces.append(data)
            self.waiting += len(data)
            self.cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        with self.cond:
            while not self.pieces and not (self.ended or self.aborted):
                self.cond.wait()
            if self.aborted:
                raise errors.TransferCancelled("the file being written was discarded")
            if not self.pieces:
                return b""
            piece = self.pieces[0]
            if size is None or size < 0 or size >= len(piece):
                self.pieces.popleft()
                taken = piece
            else:
                taken, self.pieces[0] = piece[:size], piece[size:]
            self.waiting -= len(taken)
            self.cond.notify_all()
            return bytes(taken)

    def end(self) -> None:
        with self.cond:
            self.ended = True
            self.cond.notify_all()

    def abort(self) -> None:
        with self.cond:
            self.aborted = True
            self.pieces.clear()
            self.cond.notify_all()

    def reader_done(self) -> None:
        with self.cond:
            self.reader_gone = True
            self.pieces.clear()
            self.cond.notify_all()


class _ReaderGone(Exception):
    """The upload stopped reading (it failed); its result says why."""


class _StreamingUpload:
    """One object uploaded by the engine from a :class:`_Pipe`, on a helper
    thread, as segments of ``block_size`` bytes."""

    def __init__(self, fs: SwiftFileSystem, container: str, name: str, block_size: int,
                 headers: dict[str, str]) -> None:
        config = dataclasses.replace(fs.transfer_config, segment_size=block_size,
                                     object_threads=1, segment_threads=1)
        self.manager = TransferManager(fs.client, config)
        self.pipe = _Pipe(block_size)
        self.result: TransferResult | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(container, name, headers),
                                       name="velocity-fsspec-upload", daemon=True)
        self.thread.start()

    def _run(self, container: str, name: str, headers: dict[str, str]) -> None:
        try:
            self.result = self.manager.upload_stream(container, name, self.pipe,
                                                     headers=headers)
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
            self.error = exc
        finally:
            self.pipe.reader_done()

    def send(self, data: memoryview) -> None:
        """Queue ``data``; raises the upload's error when it failed."""
        try:
            self.pipe.write(data)
        except _ReaderGone:
            self._wait()

    def finish(self) -> TransferResult:
        """End the stream and wait for the manifest; raises on failure."""
        self.pipe.end()
        return self._wait()

    def abort(self) -> None:
        """Stop: the engine deletes the segments it stored; no object appears."""
        self.pipe.abort()
        self.manager.cancel()
        self.thread.join()
        self.manager.close()

    def _wait(self) -> TransferResult:
        self.thread.join()
        self.manager.close()
        if self.error is not None:
            raise self.error
        result = self.result
        if result is None or not result.ok:
            raise (result.error if result is not None and result.error is not None
                   else errors.IncompleteSend("the upload stopped"))
        return result


class SwiftFile(AbstractBufferedFile):
    """A file of a :class:`~velocity.fsspec.SwiftFileSystem` (``rb``, ``wb``
    or ``xb``); see the module documentation."""

    fs: SwiftFileSystem

    def __init__(self, fs: SwiftFileSystem, path: str, mode: str = "rb",
                 block_size: int | str | None = "default", autocommit: bool = True,
                 cache_type: str = "readahead", cache_options: dict[str, Any] | None = None,
                 size: int | None = None, **kwargs: Any) -> None:
        if mode == "ab":
            raise NotImplementedError("Swift objects cannot be appended to: write a new one")
        if not autocommit:
            raise NotImplementedError("writes to Swift cannot be deferred to a commit: "
                                      "an object appears when its file is closed")
        self.container, self.name = fs.split_path(path)
        if not self.name:
            raise IsADirectoryError("%s is a container, not a file" % path)
        if block_size in ("default", None):
            block_size = fs.blocksize
        if mode in ("wb", "xb"):
            fs.check_block_size(int(block_size))  # type: ignore[arg-type]
        if mode == "xb" and fs.exists(path):
            raise FileExistsError(path)
        self._upload: _StreamingUpload | None = None
        self.headers = dict(kwargs.pop("headers", None) or {})
        if mode == "rb" and size is None:
            # a fresh HEAD: the ETag every range is pinned to is the GET's own
            self._details = fs.info(path, refresh=True)
            if self._details["type"] != "file":
                raise IsADirectoryError(path)
            size = self._details["size"]
        super().__init__(fs, path, mode, block_size, autocommit, cache_type, cache_options,
                         size, **kwargs)

    # -- reading --------------------------------------------------------------

    def _fetch_range(self, start: int, end: int) -> bytes:
        etag = (self.details or {}).get("etag")
        return self.fs.read_range(self.container, self.name, start, end, if_match=etag)

    # -- writing --------------------------------------------------------------

    def _initiate_upload(self) -> None:
        """Nothing to do yet: the first full block starts the upload."""

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getbuffer()
        headers = self.fs.object_headers(self.name, self.headers)
        if self._upload is None and final:
            # it all fit in one block: one verified PUT
            self.fs.put_bytes(self.container, self.name, data, headers)
            return True
        if self._upload is None:
            self.fs.ensure_container(self.container)
            self._upload = _StreamingUpload(self.fs, self.container, self.name,
                                            self.blocksize, headers)
        self.fs.check_segments(self.offset + len(data), self.blocksize)
        try:
            if len(data):
                self._upload.send(data)
            if final:
                self._upload.finish()
        except BaseException:
            self.discard()
            raise
        return True

    def discard(self) -> None:
        """Abandon what was written: segments already stored are deleted and
        no object appears."""
        upload, self._upload = self._upload, None
        if upload is not None:
            upload.abort()
        if self.writable():
            self.buffer = type(self.buffer)()  # type: ignore[has-type]
            self.forced = True  # close() must not send anything now

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is not None and self.writable():
            self.discard()
        self.close()
