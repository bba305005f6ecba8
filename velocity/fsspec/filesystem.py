""":class:`SwiftFileSystem`: OpenStack Swift as an fsspec filesystem
(protocol ``swift``, paths ``container/object``); see :mod:`velocity.fsspec`."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import email.utils
import errno
import io
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractFileSystem
from fsspec.utils import isfilelike

from velocity import errors
from velocity.client import SwiftClient
from velocity.contrib import temp_url
from velocity.fsspec._file import SwiftFile
from velocity.fsspec._options import CREDENTIAL_OPTIONS, hide_secrets, reveal, shared
from velocity.hashing import md5_hex, unquote_etag
from velocity.names import check_container_name, check_object_name
from velocity.progress import ProgressSubscriber
from velocity.transfer import TransferConfig, TransferManager, TransferResult

__all__ = ["SwiftFileSystem"]

MiB = 1024 * 1024
#: options fsspec itself takes (listings cache, instance cache)
_FSSPEC_OPTIONS = frozenset({"use_listings_cache", "listings_expiry_time", "max_paths",
                             "skip_instance_cache", "asynchronous", "loop"})
_ALIASES = {"username": "user", "password": "key"}


class _HiddenSecrets(type(AbstractFileSystem)):  # type: ignore[misc]
    """fsspec's instance-caching metaclass, with the secrets of the options
    wrapped before fsspec hashes them (see :mod:`velocity.fsspec._options`)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        for alias, name in _ALIASES.items():
            if alias in kwargs and name not in kwargs:
                kwargs[name] = kwargs.pop(alias)
        return super().__call__(*args, **hide_secrets(kwargs))


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
def _missing_is_not_found(path: str) -> Iterator[None]:
    """Swift's 404s as the :class:`FileNotFoundError` fsspec users expect."""
    try:
        yield
    except (errors.NoSuchObject, errors.NoSuchContainer) as exc:
        raise FileNotFoundError(errno.ENOENT, "no such object or container: %s" % exc,
                                path) from exc


def _raise_failures(results: list[TransferResult], path: str) -> None:
    for result in results:
        if not result.ok:
            error = result.error or errors.VelocityError(str(result))
            if isinstance(error, (errors.NoSuchObject, errors.NoSuchContainer)):
                raise FileNotFoundError(errno.ENOENT, str(error), path) from error
            raise error


def _http_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def _listing_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


class SwiftFileSystem(AbstractFileSystem, metaclass=_HiddenSecrets):
    """OpenStack Swift as an fsspec filesystem: ``swift://container/object``.

    Credentials, one of:

    * loose options, as :func:`velocity.auth.build_credentials` takes them:
      ``auth_url``, ``user``, ``key`` and for Keystone ``project_name``,
      ``user_domain_name``, ``project_domain_name``, ``region``,
      ``interface``, ``identity`` (``None``: guessed from the URL), ...;
    * ``credentials=`` a :class:`velocity.auth.Credentials`;
    * nothing: :meth:`velocity.auth.Credentials.from_env` (``OS_*`` / ``ST_*``).

    :param block_size: read-ahead of opened files, and segment size of
        large files written through :meth:`open` (default 8 MiB)
    :param config: a :class:`velocity.transfer.TransferConfig` for
        :meth:`put_file`, :meth:`get_file`, :meth:`rm` and writes
    :param temp_url_key: the account's or container's temp URL key, for
        :meth:`sign`
    :param threads: objects fetched at once by :meth:`cat` of many paths
        (default: the config's ``object_threads``)

    Every instance made with the same options shares one
    :class:`~velocity.client.SwiftClient` (one login, whatever the number of
    threads: fsspec makes one instance per thread) and one
    :class:`~velocity.transfer.TransferManager`.  Neither ``repr()`` nor
    fsspec's and Dask's tokens show a key, password or token.
    """

    protocol = "swift"
    root_marker = ""
    blocksize = 8 * MiB

    def __init__(self, *, credentials: Any = None, block_size: int | None = None,
                 config: TransferConfig | None = None, temp_url_key: str | None = None,
                 threads: int | None = None, **options: Any) -> None:
        unknown = set(options) - CREDENTIAL_OPTIONS - _FSSPEC_OPTIONS
        if unknown:
            raise TypeError("SwiftFileSystem got unknown options %s; it takes %s" % (
                ", ".join(sorted(unknown)),
                ", ".join(sorted(CREDENTIAL_OPTIONS | {"credentials", "block_size", "config",
                                                       "temp_url_key", "threads"}))))
        super().__init__(**{k: v for k, v in options.items() if k in _FSSPEC_OPTIONS})
        if config is not None and not isinstance(config, TransferConfig):
            raise errors.ConfigurationError("config must be a TransferConfig, got %s"
                                            % type(config).__name__)
        self.transfer_config = config or TransferConfig()
        self._shared = shared({"credentials": credentials, **options}, self.transfer_config)
        if block_size is not None:
            self.blocksize = int(block_size)
        self.temp_url_key = temp_url_key
        self.threads = threads or self.transfer_config.object_threads

    @property
    def client(self) -> SwiftClient:
        """The :class:`~velocity.client.SwiftClient` behind this filesystem."""
        return self._shared.client

    @property
    def manager(self) -> TransferManager:
        """The :class:`~velocity.transfer.TransferManager` behind this filesystem."""
        return self._shared.manager

    def __repr__(self) -> str:
        return "SwiftFileSystem(%r)" % (self.client.credentials,)

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """fsspec's JSON-able description; ``include_password=False`` leaves
        out every secret (``key``, ``token``, ``temp_url_key``)."""
        found = super().to_dict(include_password=include_password)
        if not include_password:
            for name in ("key", "token", "temp_url_key"):
                found.pop(name, None)
        return found

    # -- paths ----------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = super()._strip_protocol(path)
        return path.lstrip("/").rstrip("/")

    def split_path(self, path: str) -> tuple[str, str]:
        """``(container, object name)`` of a path (the name may be ``""``)."""
        container, _, name = self._strip_protocol(path).partition("/")
        return container, name

    def _object(self, path: str) -> tuple[str, str]:
        container, name = self.split_path(path)
        if not container:
            raise IsADirectoryError(errno.EISDIR, "the account is not a file", path)
        if not name:
            raise IsADirectoryError(errno.EISDIR, "%s is a container, not a file" % container,
                                    path)
        return check_container_name(container), check_object_name(name)

    # -- listing --------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, refresh: bool = False,
           **kwargs: Any) -> list[Any]:
        """Containers (``""``), or a container's or pseudo-folder's objects
        and pseudo-folders (every page of the listing)."""
        path = self._strip_protocol(path)
        entries = None if refresh else self.dircache.get(path)
        if entries is None:
            entries = self._list(path)
            if entries is not None:
                self.dircache[path] = entries
            else:
                entries = [self.info(path)]  # a file: fsspec lists it as itself
        return entries if detail else [entry["name"] for entry in entries]

    def _list(self, path: str) -> list[dict[str, Any]] | None:
        if not path:
            return [{"name": c["name"], "size": 0, "type": "directory",
                     "count": c.get("count"), "bytes": c.get("bytes")}
                    for c in self.client.iter_account()]
        container, name = self.split_path(path)
        prefix = name + "/" if name else None
        with _missing_is_not_found(path):
            listing = list(self.client.iter_container(container, prefix=prefix,
                                                      delimiter="/"))
        entries = []
        for entry in listing:
            if "subdir" in entry:
                entries.append({"name": "%s/%s" % (container, entry["subdir"].rstrip("/")),
                                "size": 0, "type": "directory"})
            elif entry.get("name") != prefix and not entry["name"].endswith("/"):
                entries.append(self._listed(container, entry))
        if not entries and name:
            return None  # a file, or nothing
        return entries

    @staticmethod
    def _listed(container: str, entry: dict[str, Any]) -> dict[str, Any]:
        return {"name": "%s/%s" % (container, entry["name"]), "size": int(entry["bytes"]),
                "type": "file", "etag": entry.get("hash"),
                "last_modified": _listing_time(entry.get("last_modified")),
                "content_type": entry.get("content_type")}

    def find(self, path: str, maxdepth: int | None = None, withdirs: bool = False,
             detail: bool = False, **kwargs: Any) -> Any:
        """Every object under ``path`` from one flat listing (all its pages);
        with ``maxdepth``, fsspec's walk."""
        path = self._strip_protocol(path)
        container, name = self.split_path(path)
        if maxdepth is not None or not container:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail,
                                **kwargs)
        prefix = name + "/" if name else None
        try:
            listing = list(self.client.iter_container(container, prefix=prefix))
        except errors.NoSuchContainer:
            listing = []
        found: dict[str, dict[str, Any]] = {}
        for entry in listing:
            if "name" not in entry or entry["name"].endswith("/"):
                continue
            info = self._listed(container, entry)
            found[info["name"]] = info
            if withdirs:
                parent = self._parent(info["name"])
                while len(parent) > len(path) and parent not in found:
                    found[parent] = {"name": parent, "size": 0, "type": "directory"}
                    parent = self._parent(parent)
        if withdirs and found and path:
            found.setdefault(path, {"name": path, "size": 0, "type": "directory"})
        if not found and name:
            with contextlib.suppress(FileNotFoundError):
                info = self.info(path)
                if info["type"] == "file":
                    found[path] = info
        names = sorted(found)
        return {n: found[n] for n in names} if detail else names

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Size, type, ETag, modification time of an object, a container or a
        pseudo-folder (one HEAD, or the cached listing of its parent)."""
        path = self._strip_protocol(path)
        if not path:
            return {"name": "", "size": 0, "type": "directory"}
        container, name = self.split_path(path)
        for entry in self.dircache.get(self._parent(path)) or ():
            if entry["name"] == path:
                return entry
        if not name:
            with _missing_is_not_found(path):
                headers = self.client.head_container(container)
            return {"name": container, "size": 0, "type": "directory",
                    "count": int(headers.get("x-container-object-count", 0)),
                    "bytes": int(headers.get("x-container-bytes-used", 0))}
        try:
            headers = self.client.head_object(container, name)
        except (errors.NoSuchObject, errors.NoSuchContainer):
            pass
        else:
            return self._headed(path, headers)
        with _missing_is_not_found(path):
            below = next(iter(self.client.iter_container(container, prefix=name + "/",
                                                         limit=1)), None)
        if below is None:
            raise FileNotFoundError(errno.ENOENT, "no such object or pseudo-folder", path)
        return {"name": path, "size": 0, "type": "directory"}

    @staticmethod
    def _headed(path: str, headers: dict[str, str]) -> dict[str, Any]:
        return {"name": path, "size": int(headers.get("content-length", 0)), "type": "file",
                "etag": unquote_etag(headers.get("etag")),
                "last_modified": _http_time(headers.get("last-modified")),
                "content_type": headers.get("content-type"),
                "large_object": "x-static-large-object" in headers or (
                    "x-object-manifest" in headers)}

    def ukey(self, path: str) -> str:
        """The object's ETag (from a fresh HEAD): changes whenever it does."""
        container, name = self._object(path)
        with _missing_is_not_found(path):
            return unquote_etag(self.client.head_object(container, name).get("etag")) or ""

    def modified(self, path: str) -> datetime.datetime:
        """When the object was last written (UTC)."""
        info = self.info(path)
        if info["type"] != "file" or info.get("last_modified") is None:
            raise IsADirectoryError(errno.EISDIR, "only objects have a modification time",
                                    path)
        return info["last_modified"]

    def invalidate_cache(self, path: str | None = None) -> None:
        if path is None:
            self.dircache.clear()
            return
        path = self._strip_protocol(path)
        while True:
            self.dircache.pop(path, None)
            if not path:
                break
            path = self._parent(path)

    # -- reading --------------------------------------------------------------

    def cat_file(self, path: str, start: int | None = None, end: int | None = None,
                 **kwargs: Any) -> bytes:
        """The object's bytes, or bytes ``[start, end)`` (negative: from the
        end) fetched with one ranged GET that asks for exactly those bytes."""
        container, name = self._object(path)
        if start is None and end is None:
            return self._get(container, name, None)
        if (start is not None and start < 0 and end is None):
            return self._get(container, name, "bytes=%d" % start)  # the last -start bytes
        if (start or 0) < 0 or (end is not None and end < 0):
            size = self.info(path)["size"]
            start = max(0, size + start) if start is not None and start < 0 else start
            end = max(0, size + end) if end is not None and end < 0 else end
        return self.read_range(container, name, start or 0, end)

    def read_range(self, container: str, name: str, start: int, end: int | None,
                   if_match: str | None = None) -> bytes:
        """Bytes ``[start, end)`` (``end=None``: to the end) of an object, in
        one ranged GET; with ``if_match``, only of that version."""
        if end is not None and end <= start:
            return b""
        byte_range = "bytes=%d-%s" % (start, "" if end is None else end - 1)
        return self._get(container, name, byte_range, if_match)

    def _get(self, container: str, name: str, byte_range: str | None,
             if_match: str | None = None) -> bytes:
        headers = {}
        if byte_range:
            headers["Range"] = byte_range
        if if_match:
            headers["If-Match"] = if_match
        path = "%s/%s" % (container, name)
        try:
            with _missing_is_not_found(path):
                answer, body = self.client.get_object_stream(container, name,
                                                             headers=headers)
        except errors.ResponseError as exc:
            if exc.status == 416:  # a range past the end: nothing there
                return b""
            if exc.status == 412:
                raise errors.IncompleteSend(
                    "%s changed while it was being read (its ETag is no longer %s)"
                    % (path, if_match), status=412, method="GET", path="/" + path) from None
            raise
        data = bytearray()
        try:
            for block in body:
                data += block
        finally:
            body.close()
        if not byte_range:
            self._check_whole(path, answer, data)
        return bytes(data)

    @staticmethod
    def _check_whole(path: str, headers: dict[str, str], data: bytearray) -> None:
        """A whole plain object is checked against its MD5 ETag; the length always."""
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) != len(data):
            raise errors.IncompleteSend("received %d of the %s bytes of %s"
                                        % (len(data), length, path))
        etag = unquote_etag(headers.get("etag"))
        if ("x-static-large-object" in headers or "x-object-manifest" in headers
                or not etag or len(etag) != 32):
            return
        if md5_hex(data) != etag:
            raise errors.ChecksumMismatch("the data received for %s does not match its ETag"
                                          % path, method="GET", path="/" + path)

    def cat(self, path: Any, recursive: bool = False, on_error: str = "raise",
            **kwargs: Any) -> Any:
        """Like fsspec's, with many objects fetched at once (``threads``)."""
        paths = self.expand_path(path, recursive=recursive)
        if recursive:  # the pseudo-folders found on the way hold no bytes
            folders = {self._parent(p) for p in paths}
            paths = [p for p in paths if p not in folders]
        if len(paths) == 1 and not isinstance(path, list) and paths[0] == (
                self._strip_protocol(path)):
            return self.cat_file(paths[0], **kwargs)
        out: dict[str, Any] = {}
        with concurrent.futures.ThreadPoolExecutor(
                min(self.threads, len(paths)), thread_name_prefix="velocity-fsspec") as pool:
            futures = {p: pool.submit(self.cat_file, p, **kwargs) for p in paths}
            for name, future in futures.items():
                try:
                    out[name] = future.result()
                except Exception as exc:  # noqa: BLE001 - on_error decides
                    if on_error == "raise":
                        for other in futures.values():
                            other.cancel()
                        raise
                    if on_error == "return":
                        out[name] = exc
        return out

    def _open(self, path: str, mode: str = "rb", block_size: int | None = None,
              autocommit: bool = True, cache_options: dict[str, Any] | None = None,
              **kwargs: Any) -> SwiftFile:
        return SwiftFile(self, path, mode, block_size=block_size, autocommit=autocommit,
                         cache_options=cache_options, **kwargs)

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
            _raise_failures(results, rpath)
            os.replace(os.path.join(staging, name.rpartition("/")[2]), lpath)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return None

    def _stream_into(self, rpath: str, outfile: Any, callback: Callback) -> None:
        container, name = self._object(rpath)
        with _missing_is_not_found(rpath):
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
        stream = io.BytesIO(data)
        result = self.manager.upload_stream(container, name, stream, size=len(stream.getbuffer()),
                                            headers=headers)
        _raise_failures([result], "%s/%s" % (container, name))
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
        _raise_failures(results, rpath)
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
        with _missing_is_not_found(path1):
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
                _raise_failures(self.manager.delete(container, names), container)
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
            with _missing_is_not_found(path):
                self.client.delete_container(check_container_name(container))
        except errors.ContainerNotEmpty as exc:
            raise OSError(errno.ENOTEMPTY, "container not empty", path) from exc
        self._shared.containers.discard(container)
        self.invalidate_cache(container)

    # -- signed URLs ----------------------------------------------------------

    def sign(self, path: str, expiration: float = 100, **kwargs: Any) -> str:
        """A temp URL (HMAC-SHA256, Swift's ``tempurl``) that lets anyone GET
        the object for ``expiration`` seconds; needs ``temp_url_key``."""
        container, name = self._object(path)
        return temp_url(self.client.storage_url, container, name, reveal(self.temp_url_key),
                        expiration, method=kwargs.get("method", "GET"))

