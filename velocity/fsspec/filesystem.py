""":class:`SwiftFileSystem`: OpenStack Swift as an fsspec filesystem
(protocol ``swift``, paths ``container/object``); see :mod:`velocity.fsspec`."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import email.utils
import errno
from typing import Any

from fsspec.spec import AbstractFileSystem

from velocity import errors
from velocity.client import SwiftClient
from velocity.contrib import temp_url
from velocity.fsspec._file import SwiftFile
from velocity.fsspec._options import CREDENTIAL_OPTIONS, hide_secrets, reveal, shared
from velocity.fsspec._writes import TransfersMixin, missing_is_not_found
from velocity.hashing import md5_hex, unquote_etag
from velocity.names import check_container_name, check_object_name
from velocity.transfer import TransferConfig, TransferManager

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


class SwiftFileSystem(TransfersMixin, AbstractFileSystem, metaclass=_HiddenSecrets):
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
    def client(self) -> SwiftClient:  # type: ignore[override]
        """The :class:`~velocity.client.SwiftClient` behind this filesystem."""
        return self._shared.client

    @property
    def manager(self) -> TransferManager:  # type: ignore[override]
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
        with missing_is_not_found(path):
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
        # a static large object's listing "hash" is its manifest's: its ETag is slo_etag
        etag = unquote_etag(entry["slo_etag"]) if "slo_etag" in entry else entry.get("hash")
        return {"name": "%s/%s" % (container, entry["name"]), "size": int(entry["bytes"]),
                "type": "file", "etag": etag,
                "last_modified": _listing_time(entry.get("last_modified")),
                "content_type": entry.get("content_type"),
                "large_object": "slo_etag" in entry}

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

    def info(self, path: str, refresh: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Size, type, ETag, modification time of an object, a container or a
        pseudo-folder (one HEAD, or the cached listing of its parent unless
        ``refresh``)."""
        path = self._strip_protocol(path)
        if not path:
            return {"name": "", "size": 0, "type": "directory"}
        container, name = self.split_path(path)
        for entry in () if refresh else self.dircache.get(self._parent(path)) or ():
            if entry["name"] == path:
                return entry
        if not name:
            with missing_is_not_found(path):
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
        with missing_is_not_found(path):
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
        with missing_is_not_found(path):
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
            with missing_is_not_found(path):
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
        if not byte_range and not self._whole(path, answer, data):
            # damaged on the way: the client's own verified GET reads it again
            return self.client.get_object(container, name)[1]
        return bytes(data)

    @staticmethod
    def _whole(path: str, headers: dict[str, str], data: bytearray) -> bool:
        """Whether a whole plain object matches its MD5 ETag (large objects:
        their length is checked only)."""
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) != len(data):
            raise errors.IncompleteSend("received %d of the %s bytes of %s"
                                        % (len(data), length, path))
        etag = unquote_etag(headers.get("etag"))
        if ("x-static-large-object" in headers or "x-object-manifest" in headers
                or not etag or len(etag) != 32):
            return True
        return md5_hex(data) == etag

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

    # -- signed URLs ----------------------------------------------------------

    def sign(self, path: str, expiration: float = 100, **kwargs: Any) -> str:
        """A temp URL (HMAC-SHA256, Swift's ``tempurl``) that lets anyone GET
        the object for ``expiration`` seconds; needs ``temp_url_key``."""
        container, name = self._object(path)
        return temp_url(self.client.storage_url, container, name, reveal(self.temp_url_key),
                        expiration, method=kwargs.get("method", "GET"))

