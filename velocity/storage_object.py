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
How the bytes move (upload bodies, the verified download loop, large files)
is in :mod:`velocity._object_io`; header and metadata rules are in
:mod:`velocity._headers`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from velocity import errors
from velocity._headers import (
    KEPT_OBJECT_HEADERS,
    check_manifest,
    check_metadata,
    int_or_none,
    lower_keys,
    meta_from,
    object_headers,
)
from velocity._headers import (
    check_meta_item as check_meta_item,  # importable from here, as before
)
from velocity._log import log
from velocity._object_io import (
    CHUNK_SIZE,
    Callback,
    ChunkedBody,
    UploadBody,
    check_destination,
    check_upload,
    download_with_transfer,
    guess_type,
    range_headers,
    receive,
    save_atomically,
    upload_with_transfer,
    use_transfer,
)
from velocity.hashing import md5_of_stream, unquote_etag
from velocity.names import (
    as_container_name,
    as_object_name,
    check_container_name,
    check_object_name,
    decode_name,
    name_of,
)
from velocity.results import ListingResults

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from velocity.container import Container

__all__ = ["StorageObject", "ObjectResults", "check_object_name", "check_metadata"]


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
        lowered = lower_keys(headers)
        self.manifest = lowered.get("x-object-manifest")
        self.content_type = lowered.get("content-type")
        self.metadata = meta_from(lowered, "x-object-meta-")
        if not self._etag_override:
            self._etag = unquote_etag(lowered.get("etag")) or None
        self.size = int_or_none(lowered.get("content-length"))
        self.last_modified = lowered.get("last-modified")
        for key in KEPT_OBJECT_HEADERS:
            if key in lowered:
                self.headers[key] = lowered[key]

    def _make_headers(self) -> dict[str, str]:
        """Headers sent with an upload or a metadata update (validated)."""
        return object_headers(self.metadata, self.manifest, self.headers)

    # -- reading ----------------------------------------------------------------

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
        headers = range_headers(size, offset, hdrs)
        resp_headers, body = self._client.get_object(
            self._container_name(), name, headers=headers, resp_chunk_size=CHUNK_SIZE)
        parts: list[bytes] = []
        receive(resp_headers, body, parts.append if buffer is None else buffer.write,
                callback, "Range" not in headers, self.container.name, name)
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
        """Download to ``filename`` through a temporary file in the same
        folder, renamed only once complete and verified: ``filename`` is never
        half-written, and a failure leaves an existing file as it was.  The
        file gets the mode the umask gives new files (0644 under umask 022).
        Large objects go through the transfer engine (parallel, resumable).

        :raises FileNotFoundError: the folder of ``filename`` does not exist
        :raises IsADirectoryError: ``filename`` is a folder
        """
        name = self._checked_name()
        target = os.path.abspath(os.fspath(filename))
        check_destination(target)
        if use_transfer(self.container.conn, self.size):
            download_with_transfer(self.container.conn, self._container_name(), name,
                                   self.size or 0, target, callback)
            return
        save_atomically(target, lambda part: self.read(buffer=part, callback=callback))
        log.debug("saved %s/%s to %s", self.container.name, name, target)

    # -- writing ------------------------------------------------------------------

    def _guess_type(self, data: Any = None) -> str:
        return guess_type(self.content_type, data, self.name)

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
        body = UploadBody(data, callback)
        etag = self._etag if self._etag_override else body.md5_before() if verify else None
        self._store(container, name, body, etag, content_type, headers, verify)
        if callback is not None:
            callback(body.sent, body.sent)

    def _store(self, container: str, name: str, body: UploadBody | ChunkedBody,
               etag: str | None, content_type: str, headers: dict[str, str], verify: bool
               ) -> None:
        """PUT ``body``, check what the server stored against it (with
        ``verify``, unless an :attr:`etag` was assigned) and take on its ETag."""
        returned = unquote_etag(self._client.put_object(
            container, name, body.payload, content_length=body.size, etag=etag,
            content_type=content_type, headers=headers)) or None
        body.check_complete(self._client, container, name)
        if verify and not self._etag_override:
            check_upload(self._client, container, name, returned or "", body.md5())
        self._stored(returned or body.md5(), body.sent, content_type)

    def _stored(self, etag: str | None, size: int, content_type: str) -> None:
        self._etag, self._etag_override = etag, False
        self.size, self.content_type = size, content_type

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
            self.write(bytes(iterable) if isinstance(iterable, memoryview) else iterable)
            return
        headers = self._make_headers()
        content_type = self.content_type or "application/octet-stream"
        etag = self._etag if self._etag_override else None
        body = ChunkedBody(iterable, self.size, container, name)
        self._store(container, name, body, etag, content_type, headers, True)

    def load_from_filename(self, filename: str | os.PathLike[str], verify: bool = True,
                           callback: Callback | None = None) -> None:
        """Upload the file ``filename`` (streamed; see :meth:`write`).  Files
        above the transfer engine's ``segment_threshold`` are uploaded as a
        segmented large object through :mod:`velocity.transfer`."""
        name = self._checked_name()
        path = os.fspath(filename)
        size = os.path.getsize(path)
        conn = self.container.conn
        if not use_transfer(conn, size):
            with open(path, "rb") as handle:
                self.write(handle, verify=verify, callback=callback)
            return
        container = self._container_name()
        headers = self._make_headers()
        headers["Content-Type"] = self._guess_type(path)
        self._stored(upload_with_transfer(conn, container, name, path, size, headers, callback),
                     size, headers["Content-Type"])
        if callback is not None:
            callback(size, size)

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
        """Make this object a dynamic large object (DLO), as in
        python-cloudfiles: set :attr:`manifest` to ``"container/prefix"`` and
        call this; reads then return every object whose name starts with the
        prefix, in name order (see ``docs/object-model.rst``).

        An empty object is uploaded with ``X-Object-Manifest`` (and
        :attr:`metadata`, :attr:`headers`, :attr:`content_type`, which it
        replaces); the segments may be uploaded before or after.  Nothing is
        done when :attr:`manifest` is empty.  Afterwards :attr:`size` and
        :attr:`etag` describe the whole object.  Give ``manifest`` as text
        (``"videos/clip été/"``): it is percent-encoded for the header.  A
        large object is not verified against its segments, on upload or read.

        :raises ConfigurationError: ``manifest`` is not ``container/prefix``
            with a valid container name and a non-empty prefix
        """
        if not self.manifest:
            return
        name = self._checked_name()
        container = self._container_name()
        manifest = check_manifest(self.manifest)
        headers = self._make_headers()
        headers["X-Object-Manifest"] = manifest
        content_type = self._guess_type()
        self._client.put_object(container, name, b"", content_length=0,
                                content_type=content_type, headers=headers)
        self._initialize()

    def copy_to(self, container_name: str | bytes | Container, name: str | bytes) -> None:
        """Server-side copy of this object to ``container_name/name`` (content
        and metadata; nothing goes through the client).  Names may be ``str``
        or UTF-8 ``bytes``."""
        source = self._checked_name()
        dest_container = as_container_name(name_of(container_name))
        dest = as_object_name(name)
        self._client.copy_object(self._container_name(), source,
                                 destination="/%s/%s" % (dest_container, dest))

    def copy_from(self, container_name: str | bytes | Container, name: str | bytes) -> None:
        """Make this object a server-side copy of ``container_name/name``;
        :attr:`metadata` set on this object is added to the copy's.  Names may
        be ``str`` or UTF-8 ``bytes``."""
        target = self._checked_name()
        src_container = as_container_name(name_of(container_name))
        src = as_object_name(name)
        headers = object_headers(self.metadata)
        headers["X-Copy-From"] = quote("/%s/%s" % (src_container, src))
        self._client.put_object(self._container_name(), target, None, headers=headers)
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
        digest = md5_of_stream(fobj)
        fobj.seek(0)
        return digest


class ObjectResults(ListingResults[StorageObject]):
    """The objects of one listing: a real sequence of :class:`StorageObject`
    (see :class:`~velocity.results.ListingResults`); slicing gives an
    ``ObjectResults``.  Pseudo-directory entries of a ``delimiter`` listing
    are left out, as in python-cloudfiles.
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
