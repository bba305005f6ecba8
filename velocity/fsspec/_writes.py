"""Whole objects moved through the transfer engine, writes, copies, deletes
and containers: the half of :class:`~velocity.fsspec.SwiftFileSystem` that
changes things (a mixin, so that each half stays readable)."""

from __future__ import annotations

import contextlib
import errno
import io
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.utils import isfilelike

from velocity import errors
from velocity.names import check_container_name, check_object_name
from velocity.progress import ProgressSubscriber
from velocity.transfer import TransferResult

if TYPE_CHECKING:
    from velocity.client import SwiftClient
    from velocity.fsspec._options import Shared
    from velocity.transfer import TransferManager

__all__ = ["TransfersMixin", "missing_is_not_found", "raise_failures"]


class _Progress(ProgressSubscriber):
    """An fsspec :class:`~fsspec.callbacks.Callback` fed by the transfer engine
    (on the calling thread)."""

    def __init__(self, callback: Callback) -> None:
        self.callback = callback

    def on_start(self, total_bytes: int | None, total_objects: int | None) -> None:
        if total_bytes is not None:
            self.callback.set_size(total_bytes)

    def on_progress(self, bytes_done_delta: int) -> None:
        self.callback.relative_update(bytes_done_delta)


@contextlib.contextmanager
def missing_is_not_found(path: str) -> Iterator[None]:
    """Swift's 404s as the :class:`FileNotFoundError` fsspec users expect."""
    try:
        yield
    except (errors.NoSuchObject, errors.NoSuchContainer) as exc:
        raise FileNotFoundError(errno.ENOENT, "no such object or container: %s" % exc,
                                path) from exc


def raise_failures(results: list[TransferResult], path: str) -> None:
    for result in results:
        if not result.ok:
            error = result.error or errors.VelocityError(str(result))
            if isinstance(error, (errors.NoSuchObject, errors.NoSuchContainer)):
                raise FileNotFoundError(errno.ENOENT, str(error), path) from error
            raise error


class TransfersMixin:
    """put/get of whole files, writes, server-side copies, deletes, containers."""

    client: SwiftClient
    manager: TransferManager
    _shared: Shared
    # provided by the filesystem class
    info: Any
    exists: Any
    expand_path: Any
    invalidate_cache: Any
    split_path: Any
    _object: Any
    _parent: Any

    def get_file(self, rpath: str, lpath: Any, callback: Callback = DEFAULT_CALLBACK,
                 outfile: Any = None, **kwargs: Any) -> None:
        """Download an object through the transfer engine: parallel byte
        ranges for a large one, verified, written to a hidden temporary file
        and renamed into place (or streamed into an open ``outfile``)."""
        if outfile is None and isfilelike(lpath):
            outfile = lpath
        if outfile is not None:
            return self._stream_into(rpath, outfile, callback)
        info = self.info(rpath)
        if info["type"] == "directory":
            os.makedirs(lpath, exist_ok=True)
            return None
        container, name = self._object(rpath)
        callback.set_size(info["size"])
        lpath = os.path.abspath(os.fspath(lpath))
        folder = os.path.dirname(lpath)
        os.makedirs(folder, exist_ok=True)
        # the engine names the file after the object: land it in a private
        # folder beside the destination, then rename it (same filesystem)
        staging = tempfile.mkdtemp(prefix=".velocity-get-", dir=folder)
        try:
            prefix = name.rpartition("/")[0]
            results = self.manager.download(
                container, [name], out_dir=staging, prefix=prefix + "/" if prefix else None,
                remove_prefix=bool(prefix), subscribers=[_Progress(callback)])
            raise_failures(results, rpath)
            os.replace(os.path.join(staging, name.rpartition("/")[2]), lpath)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return None

    def _stream_into(self, rpath: str, outfile: Any, callback: Callback) -> None:
        container, name = self._object(rpath)
        with missing_is_not_found(rpath):
            answer, body = self.client.get_object_stream(container, name)
        try:
            length = answer.get("content-length")
            if length and length.isdigit():
                callback.set_size(int(length))
            for block in body:
                outfile.write(block)
                callback.relative_update(len(block))
        finally:
            body.close()

    # -- writing --------------------------------------------------------------

    def object_headers(self, name: str, extra: dict[str, str] | None = None
                       ) -> dict[str, str]:
        """Headers of a new object: its content type guessed from its name."""
        headers = {}
        guessed = mimetypes.guess_type(name)[0]
        if guessed:
            headers["Content-Type"] = guessed
        headers.update(extra or {})
        return headers

    def ensure_container(self, container: str) -> None:
        """Create the container unless it is known to exist."""
        if container not in self._shared.containers:
            self.client.put_container(check_container_name(container))
            self._shared.containers.add(container)

    def put_bytes(self, container: str, name: str, data: Any,
                  headers: dict[str, str] | None = None) -> TransferResult:
        """Store ``data`` (bytes-like) as one object through the engine: one
        verified PUT (segments past its segment threshold); the container
        is created when missing."""
        check_container_name(container)
        check_object_name(name)
        size = memoryview(data).nbytes
        result = self.manager.upload_stream(container, name, io.BytesIO(data), size=size,
                                            headers=headers)
        raise_failures([result], "%s/%s" % (container, name))
        self._shared.containers.add(container)
        self.invalidate_cache("%s/%s" % (container, name))
        return result

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite",
                  **kwargs: Any) -> None:
        """Store ``value`` as the object ``path`` (one verified PUT)."""
        if mode == "create" and self.exists(path):
            raise FileExistsError(path)
        container, name = self._object(path)
        self.put_bytes(container, name, value, self.object_headers(name,
                                                                   kwargs.get("headers")))

    def put_file(self, lpath: Any, rpath: str, callback: Callback = DEFAULT_CALLBACK,
                 mode: str = "overwrite", **kwargs: Any) -> None:
        """Upload a local file through the transfer engine: one verified PUT,
        or parallel segments and a manifest written last past the segment
        threshold."""
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(rpath)
        container, name = self._object(rpath)
        results = self.manager.upload(container, [os.fspath(lpath)], object_names=[name],
                                      subscribers=[_Progress(callback)],
                                      headers=self.object_headers(name, kwargs.get("headers")))
        raise_failures(results, rpath)
        self._shared.containers.add(container)
        self.invalidate_cache(rpath)

    def check_block_size(self, block_size: int) -> None:
        """A written file's blocks become segments: at least Swift's minimum."""
        least = int(self._slo().get("min_segment_size", 1))
        if block_size < least:
            raise ValueError("block_size %d is below the cluster's minimum segment size %d"
                             % (block_size, least))

    def check_segments(self, size: int, block_size: int) -> None:
        """Refuse, before sending it, data a manifest could not hold."""
        most = int(self._slo().get("max_manifest_segments", 1000))
        if size > most * block_size:
            raise errors.InvalidObjectSize(
                "a file written with block_size=%d holds at most %d segments (%d bytes); "
                "open it with a larger block_size" % (block_size, most, most * block_size))

    def _slo(self) -> dict[str, Any]:
        return self.client.capabilities().get("slo") or {}

    # -- copy, delete, folders ------------------------------------------------

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """A server-side copy (Swift's COPY: no byte passes through here)."""
        container, name = self._object(path1)
        target, target_name = self._object(path2)
        self.ensure_container(target)
        with missing_is_not_found(path1):
            self.client.copy_object(container, name, "/%s/%s" % (target, target_name))
        self.invalidate_cache(path2)

    def rm_file(self, path: str) -> None:
        """Delete one object (with its segments)."""
        self.rm(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete objects (bulk deletes through the transfer engine, segments
        of large objects included); ``recursive`` on a container deletes it too."""
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        folders = {self._parent(p) for p in paths}  # pseudo-folders hold no object
        by_container: dict[str, list[str]] = {}
        containers = []
        for item in paths:
            container, name = self.split_path(item)
            if not name:
                containers.append(container)
            elif item not in folders:
                by_container.setdefault(container, []).append(name)
        try:
            for container, names in by_container.items():
                raise_failures(self.manager.delete(container, names), container)
            for container in containers:
                self.rmdir(container)
        finally:
            for item in paths:
                self.invalidate_cache(item)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a container (pseudo-folders need no creating)."""
        container, name = self.split_path(path)
        if not container:
            raise PermissionError(errno.EPERM, "the account exists already", path)
        if name and not create_parents:
            self.info(container)  # FileNotFoundError when missing
            return
        self.client.put_container(check_container_name(container),
                                  headers=kwargs.get("headers"))
        self._shared.containers.add(container)
        self.invalidate_cache(container)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create the container of ``path`` (and nothing else: pseudo-folders
        exist when objects are under them)."""
        container, name = self.split_path(path)
        if not exist_ok and not name and self.exists(container):
            raise FileExistsError(errno.EEXIST, "container exists", path)
        if container:
            self.mkdir(container)

    def rmdir(self, path: str) -> None:
        """Delete an empty container (a pseudo-folder goes with its last object)."""
        container, name = self.split_path(path)
        if name:
            return
        try:
            with missing_is_not_found(path):
                self.client.delete_container(check_container_name(container))
        except errors.ContainerNotEmpty as exc:
            raise OSError(errno.ENOTEMPTY, "container not empty", path) from exc
        self._shared.containers.discard(container)
        self.invalidate_cache(container)
