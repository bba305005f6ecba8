"""A Django file storage on OpenStack Swift: :class:`SwiftStorage`.

Configure it in ``STORAGES`` (Django 4.2+)::

    STORAGES = {
        "default": {
            "BACKEND": "velocity.contrib.django.SwiftStorage",
            "OPTIONS": {"container": "media", "auto_create": True,
                        "temp_url_key": os.environ["MEDIA_TEMP_URL_KEY"]},
        },
        "staticfiles": {
            "BACKEND": "velocity.contrib.django.SwiftStorage",
            "OPTIONS": {"container": "static", "public": True, "auto_create": True},
        },
    }

Each option not given in ``OPTIONS`` is read from the setting
``VELOCITY_<OPTION>`` (``VELOCITY_AUTH_URL``, ``VELOCITY_CONTAINER``, ...);
without any login option there, the login comes from the ``OS_*`` / ``ST_*``
environment (:meth:`velocity.auth.Credentials.from_env`).

Every request goes through one :class:`~velocity.client.SwiftClient` per
storage (thread-safe; one login, renewed when it expires), and uploads and
deletes through the :class:`~velocity.transfer.TransferManager` (verified;
segmented above ``segment_threshold``; segments deleted with their object).
See ``docs/django.rst``.
"""

from __future__ import annotations

import datetime
import email.utils
import io
import mimetypes
import threading
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible

from velocity import errors
from velocity.auth import Credentials, build_credentials, env_defaults
from velocity.client import SwiftClient
from velocity.contrib import temp_url
from velocity.hashing import md5_of_stream, unquote_etag
from velocity.names import check_object_name
from velocity.transfer import TransferConfig, TransferManager

__all__ = ["SwiftStorage", "SwiftObjectFile"]

#: login options, passed on to :func:`velocity.auth.build_credentials`
LOGIN_OPTIONS = ("identity", "auth_url", "user", "key", "region", "interface",
                 "project_name", "project_id", "user_id", "user_domain_name",
                 "user_domain_id", "project_domain_name", "project_domain_id", "version",
                 "credential_id", "credential_name", "token", "storage_url", "cacert",
                 "insecure", "cert", "cert_key")
#: options whose values are secrets: never in a migration, never in a repr
SECRETS = ("key", "token", "temp_url_key", "credentials")
#: storage options and their defaults
STORAGE_OPTIONS: dict[str, Any] = {
    "container": None, "prefix": "", "auto_create": False, "public": False,
    "temp_url_key": None, "temp_url_duration": 3600, "base_url": None, "overwrite": False,
    "segment_size": None, "segment_threshold": None, "object_threads": None,
}
CHUNK = 1024 * 1024


def _setting(name: str, default: Any = None) -> Any:
    return getattr(settings, "VELOCITY_" + name.upper(), default)


class _ObjectReader(io.RawIOBase):
    """An object read as a stream: one GET from the current position, read
    as the caller reads; a seek elsewhere ends it and the next read sends a
    ranged GET from there.  Every GET names the ETag the object was opened
    with (``If-Match``): the bytes never mix two versions."""

    def __init__(self, client: SwiftClient, container: str, name: str, size: int,
                 etag: str | None) -> None:
        super().__init__()
        self.client = client
        self.container = container
        self.object_name = name
        self.size = size
        self.etag = etag
        self.position = 0
        self._body: Any = None
        self._blocks: Any = None
        self._left: memoryview = memoryview(b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError("negative seek position %d" % position)
        if position != self.position:
            self._stop()
            self.position = position
        return position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.position >= self.size or not len(view):
            return 0
        if not len(self._left):
            if self._blocks is None:
                self._start()
            block = next(self._blocks, None)
            if block is None:
                raise errors.IncompleteSend(
                    "%s/%s ended after %d of its %d bytes" % (
                        self.container, self.object_name, self.position, self.size))
            self._left = memoryview(block)
        count = min(len(view), len(self._left))
        view[:count] = self._left[:count]
        self._left = self._left[count:]
        self.position += count
        return count

    def _start(self) -> None:
        headers = {"Range": "bytes=%d-" % self.position}
        if self.etag:
            headers["If-Match"] = self.etag
        try:
            _, self._body = self.client.get_object_stream(self.container, self.object_name,
                                                          headers=headers, chunk=CHUNK)
        except errors.ResponseError as exc:
            if exc.status == 412:
                raise errors.IncompleteSend(
                    "%s/%s changed while it was being read" % (self.container,
                                                              self.object_name),
                    status=412, method="GET") from None
            raise
        self._blocks = iter(self._body)

    def _stop(self) -> None:
        body, self._body, self._blocks = self._body, None, None
        self._left = memoryview(b"")
        if body is not None:
            body.close()

    def close(self) -> None:
        self._stop()
        super().close()


class SwiftObjectFile(File):
    """What :meth:`SwiftStorage.open` returns: a Django ``File`` streaming the
    object (``size`` from its HEAD; nothing read before it is asked for)."""

    def __init__(self, reader: io.BufferedReader, name: str, size: int, mode: str) -> None:
        super().__init__(reader, name)
        self.size = size  # the cached property, known already
        self.mode = mode


@deconstructible(path="velocity.contrib.django.SwiftStorage")
class SwiftStorage(Storage):
    """Django files in a Swift container.

    :param container: the container (required; ``VELOCITY_CONTAINER``)
    :param prefix: put in front of every object name, e.g. ``"static/"``
    :param auto_create: create the container on first use (with the read
        ACL ``.r:*`` when ``public``, and ``temp_url_key`` as its
        ``X-Container-Meta-Temp-URL-Key``)
    :param public: :meth:`url` gives the plain object URL (the container
        must be readable by anyone)
    :param temp_url_key: :meth:`url` gives temp URLs signed with this key
        (HMAC-SHA256), valid ``temp_url_duration`` seconds (default 3600)
    :param base_url: :meth:`url` gives ``base_url`` + object name (a CDN)
    :param overwrite: saving under a taken name replaces the object instead
        of picking another name; an identical object is not sent again
    :param segment_size: / :param segment_threshold: / :param object_threads:
        :class:`~velocity.transfer.TransferConfig` settings of uploads
    :param credentials: a :class:`~velocity.auth.Credentials` instead of
        login options
    :param login options: ``auth_url``, ``user``, ``key``, ``identity``,
        ``project_name``, ``user_domain_name``, ``project_domain_name``,
        ``region``, ``interface``, ... as
        :func:`velocity.auth.build_credentials` takes them
    """

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(STORAGE_OPTIONS) - set(LOGIN_OPTIONS) - {"credentials"}
        if unknown:
            raise ImproperlyConfigured("SwiftStorage got unknown options: %s"
                                       % ", ".join(sorted(unknown)))
        values = {name: options.get(name, _setting(name, default))
                  for name, default in STORAGE_OPTIONS.items()}
        if not values["container"]:
            raise ImproperlyConfigured("SwiftStorage needs a container: set OPTIONS "
                                       "{'container': ...} or VELOCITY_CONTAINER")
        self.container: str = values["container"]
        self.prefix: str = (values["prefix"] or "").lstrip("/")
        self.auto_create = bool(values["auto_create"])
        self.public = bool(values["public"])
        self.temp_url_key: str | None = values["temp_url_key"]
        self.temp_url_duration = float(values["temp_url_duration"])
        self.base_url: str | None = values["base_url"]
        self.overwrite = bool(values["overwrite"])
        self._transfer = {k: values[k] for k in ("segment_size", "segment_threshold",
                                                 "object_threads") if values[k] is not None}
        self._login = {name: options.get(name, _setting(name)) for name in LOGIN_OPTIONS}
        self._credentials: Credentials | None = options.get("credentials")
        self._client: SwiftClient | None = None
        self._manager: TransferManager | None = None
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<SwiftStorage container=%r prefix=%r>" % (self.container, self.prefix)

    # -- the connection, made on first use ----------------------------------

    def _make_credentials(self) -> Credentials:
        if self._credentials is not None:
            return self._credentials
        given = {k: v for k, v in self._login.items() if v not in (None, "")}
        if not given:
            return Credentials.from_env()
        return build_credentials(**{**env_defaults(), **given})

    @property
    def client(self) -> SwiftClient:
        """The storage's :class:`~velocity.client.SwiftClient` (made on first
        use; the container is created then when ``auto_create``)."""
        if not self._ready:
            with self._lock:
                if self._client is None:
                    self._client = SwiftClient(self._make_credentials())
                if not self._ready:
                    if self.auto_create:
                        self._create_container(self._client)
                    self._ready = True
        return self._client  # type: ignore[return-value]

    @property
    def manager(self) -> TransferManager:
        """The storage's :class:`~velocity.transfer.TransferManager`."""
        client = self.client
        if self._manager is None:
            with self._lock:
                if self._manager is None:
                    self._manager = TransferManager(client, TransferConfig(**self._transfer))
        return self._manager

    def _create_container(self, client: SwiftClient) -> None:
        headers = {}
        if self.public:
            headers["X-Container-Read"] = ".r:*"
        if self.temp_url_key:
            headers["X-Container-Meta-Temp-URL-Key"] = self.temp_url_key
        client.put_container(self.container, headers=headers)

    # -- names --------------------------------------------------------------

    def _object(self, name: str) -> str:
        name = str(name).replace("\\", "/").lstrip("/")
        return check_object_name(self.prefix + name)

    def _folder(self, path: str) -> str:
        path = str(path).replace("\\", "/").strip("/")
        folder = self.prefix + (path + "/" if path else "")
        return folder

    def _head(self, name: str) -> dict[str, str] | None:
        try:
            return self.client.head_object(self.container, self._object(name))
        except (errors.NoSuchObject, errors.NoSuchContainer):
            return None

    def _need(self, name: str) -> dict[str, str]:
        headers = self._head(name)
        if headers is None:
            raise FileNotFoundError("no object %r in container %r" % (self._object(name),
                                                                     self.container))
        return headers

    # -- the Storage API ------------------------------------------------------

    def _open(self, name: str, mode: str = "rb") -> SwiftObjectFile:
        if set(mode) - set("rbt"):
            raise ValueError("SwiftStorage opens files for reading only, not %r" % mode)
        headers = self._need(name)
        size = int(headers.get("content-length", 0))
        reader = _ObjectReader(self.client, self.container, self._object(name), size,
                               headers.get("etag"))
        buffered = io.BufferedReader(reader, buffer_size=CHUNK)
        handle: Any = buffered if "b" in mode else io.TextIOWrapper(buffered)
        return SwiftObjectFile(handle, name, size, mode)

    def _save(self, name: str, content: File) -> str:
        obj = self._object(name)
        size = _size_of(content)
        if self.overwrite and size is not None and self._stored_already(obj, content, size):
            return name
        if hasattr(content, "seek") and _seekable(content):
            content.seek(0)
        content_type = mimetypes.guess_type(name)[0] or getattr(
            content, "content_type", None) or "application/octet-stream"
        result = self.manager.upload_stream(self.container, obj, content, size=size,
                                            headers={"Content-Type": content_type})
        if not result.ok:
            raise result.error or errors.VelocityError(str(result))
        return name

    def _stored_already(self, obj: str, content: File, size: int) -> bool:
        """Whether ``obj`` holds these very bytes (MD5 against its ETag)."""
        try:
            headers = self.client.head_object(self.container, obj)
        except (errors.NoSuchObject, errors.NoSuchContainer):
            return False
        etag = unquote_etag(headers.get("etag"))
        if (int(headers.get("content-length", -1)) != size or not etag or len(etag) != 32
                or "x-static-large-object" in headers or not _seekable(content)):
            return False
        content.seek(0)
        same = md5_of_stream(content) == etag
        content.seek(0)
        return same

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        """With ``overwrite``, the name itself (when it fits ``max_length``);
        otherwise Django's free name."""
        if not self.overwrite:
            return super().get_available_name(name, max_length)
        name = str(name).replace("\\", "/")
        if max_length is not None and len(name) > max_length:
            raise SuspiciousFileOperation("the name %r is longer than %d characters"
                                          % (name, max_length))
        return name

    def delete(self, name: str) -> None:
        """Delete the object (and its segments); a missing one is no error."""
        results = self.manager.delete(self.container, [self._object(name)])
        for result in results:
            if not result.ok and not isinstance(result.error, (errors.NoSuchObject,
                                                               errors.NoSuchContainer)):
                raise result.error or errors.VelocityError(str(result))

    def exists(self, name: str) -> bool:
        """Whether an object, or a folder of objects, has this name."""
        if name and self._head(name) is not None:
            return True
        try:
            below = next(iter(self.client.iter_container(
                self.container, prefix=self._folder(name) or None, limit=1)), None)
        except errors.NoSuchContainer:
            return False
        return below is not None

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        """The folders and files directly under ``path`` (every page)."""
        folder = self._folder(path)
        dirs, files = [], []
        try:
            for entry in self.client.iter_container(self.container, prefix=folder or None,
                                                    delimiter="/"):
                if "subdir" in entry:
                    dirs.append(entry["subdir"][len(folder):].rstrip("/"))
                elif not entry["name"].endswith("/"):
                    files.append(entry["name"][len(folder):])
        except errors.NoSuchContainer:
            pass
        return dirs, files

    def size(self, name: str) -> int:
        return int(self._need(name).get("content-length", 0))

    def url(self, name: str | None) -> str:
        """``base_url`` + name; the plain URL when ``public``; a temp URL
        when ``temp_url_key``; otherwise the plain URL."""
        obj = self._object(name or "")
        if self.base_url:
            return self.base_url.rstrip("/") + "/" + quote(obj, safe="/")
        storage_url = self.client.storage_url
        if self.temp_url_key and not self.public:
            return temp_url(storage_url, self.container, obj, self.temp_url_key,
                            self.temp_url_duration)
        return "%s/%s/%s" % (storage_url.rstrip("/"), quote(self.container, safe=""),
                             quote(obj, safe="/"))

    def get_modified_time(self, name: str) -> datetime.datetime:
        """When the object was stored (aware UTC with ``USE_TZ``, naive local
        time otherwise, as Django's own storages answer)."""
        headers = self._need(name)
        stamp = headers.get("x-timestamp")
        try:
            seconds = float(stamp) if stamp else email.utils.parsedate_to_datetime(
                headers["last-modified"]).timestamp()
        except (KeyError, TypeError, ValueError):
            raise OSError("no modification time for %r" % name) from None
        if getattr(settings, "USE_TZ", False):
            return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
        return datetime.datetime.fromtimestamp(seconds)

    def get_created_time(self, name: str) -> datetime.datetime:
        """Swift keeps no creation time: when this version was stored."""
        return self.get_modified_time(name)

    def get_accessed_time(self, name: str) -> datetime.datetime:
        """Swift keeps no access time: when this version was stored."""
        return self.get_modified_time(name)


_deconstruct = SwiftStorage.deconstruct


def _deconstruct_without_secrets(self: SwiftStorage) -> tuple[str, tuple[Any, ...],
                                                              dict[str, Any]]:
    """What migrations record: the options, never a secret (those come
    from the settings or the environment when the storage is made again)."""
    path, args, kwargs = _deconstruct(self)
    return path, args, {k: v for k, v in kwargs.items() if k not in SECRETS}


SwiftStorage.deconstruct = _deconstruct_without_secrets  # type: ignore[method-assign]


def _seekable(content: Any) -> bool:
    try:
        return bool(content.seekable()) if hasattr(content, "seekable") else hasattr(
            content, "seek")
    except (AttributeError, ValueError, OSError):
        return False


def _size_of(content: Any) -> int | None:
    try:
        size = content.size
    except (AttributeError, OSError, ValueError):
        return None
    return int(size) if isinstance(size, int) else None
