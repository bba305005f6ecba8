"""``Container`` and ``ContainerResults``: python-cloudfiles' containers on Velocity's core.

Names, signatures and return values follow python-cloudfiles 1.7.11's
``cloudfiles.container``; listings page past Swift's 10,000-entry limit, and
publishing works on any Swift (a public read ACL) as well as on Rackspace's CDN.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from velocity import consts, errors
from velocity._headers import (
    PUBLIC_LISTINGS_ACL,
    PUBLIC_READ_ACL,
    acl_is_public,
    cdn_attributes,
    check_temp_url_request,
    int_or_none,
    lower_keys,
    meta_from,
    private_acl,
    public_acl,
    read_acl,
    sign_temp_url,
)
from velocity._headers import (  # importable from here, as before
    random_temp_url_key as random_temp_url_key,
)
from velocity._headers import (
    raw_meta_headers as raw_meta_headers,
)
from velocity.names import (
    as_container_name,
    as_object_name,
    check_container_name,
    decode_name,
    name_of,
)
from velocity.results import ListingResults
from velocity.storage_object import ObjectResults, StorageObject

if TYPE_CHECKING:  # pragma: no cover
    from velocity.connection import Connection

__all__ = ["Container", "ContainerResults", "check_container_name", "PUBLIC_READ_ACL",
           "PUBLIC_LISTINGS_ACL"]


class Container:
    """One container (python-cloudfiles' ``Container``).

    Get one from a :class:`~velocity.connection.Connection`:
    ``conn.get_container(name)`` / ``conn[name]`` (raises
    :class:`~velocity.errors.NoSuchContainer`), ``conn.create_container(name)``,
    or by iterating ``conn.get_all_containers()``.

    :ivar name: the container name (validated when assigned; UTF-8 ``bytes``
        are accepted and stored as ``str``)
    :ivar conn: the :class:`~velocity.connection.Connection`
    :ivar object_count: number of objects when last read from the server (or ``None``)
    :ivar size_used: bytes used when last read from the server (or ``None``)
    :ivar metadata: ``X-Container-Meta-*`` values, keys lower-case without the prefix
    :ivar headers: every header of the last HEAD (lower-case keys)
    """

    def __init__(self, connection: Connection, name: str | bytes | None = None,
                 count: int | None = None, size: int | None = None,
                 metadata: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        if connection is None:
            raise errors.ConfigurationError("a Container needs a Connection")
        self.conn = connection
        self.name = name  # type: ignore[assignment]  # validated by the setter
        self.object_count = count
        self.size_used = size
        self.metadata: dict[str, str] = dict(metadata or {})
        self.headers: dict[str, str] = lower_keys(headers or {})
        self._cdn: dict[str, Any] | None = None

    # -- name ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The container name."""
        return self._name  # type: ignore[return-value]  # None only before it is named

    @name.setter
    def name(self, value: str | bytes | None) -> None:
        self._name = None if value is None else as_container_name(value)  # type: ignore[assignment]

    def _checked_name(self) -> str:
        return check_container_name(self._name)

    def __str__(self) -> str:
        return self._name or ""

    def __repr__(self) -> str:
        return "<Container %r>" % (self._name,)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Container):
            return NotImplemented
        return self._name == other._name and self.conn is other.conn

    def __hash__(self) -> int:
        return hash(self._name)

    @property
    def _client(self) -> Any:
        return self.conn.client

    def refresh(self) -> Container:
        """Re-read ``object_count``, ``size_used``, ``metadata`` and ``headers``
        from the server; returns ``self``."""
        headers = self._client.head_container(self._checked_name())
        self._load(headers)
        return self

    def _load(self, headers: Mapping[str, str]) -> None:
        lowered = lower_keys(headers)
        self.headers = lowered
        self.object_count = int_or_none(lowered.get("x-container-object-count"))
        self.size_used = int_or_none(lowered.get("x-container-bytes-used"))
        self.metadata = meta_from(lowered, "x-container-meta-")

    # -- metadata, static web, versioning --------------------------------------

    def update_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Set container metadata.  Keys are either bare names (``"color"``,
        sent as ``X-Container-Meta-Color``) or raw headers as in
        python-cloudfiles (``"X-Container-Meta-Color"``); an empty value removes
        the item.  :attr:`metadata` is updated too."""
        headers = raw_meta_headers(metadata, "X-Container-Meta-")
        self._client.post_container(self._checked_name(), headers)
        for short, value in meta_from(headers, "x-container-meta-").items():
            if value:
                self.metadata[short] = value
            else:
                self.metadata.pop(short, None)

    def enable_static_web(self, index: str | None = None, listings: bool | None = None,
                          error: str | None = None, listings_css: str | None = None) -> None:
        """Serve the container as a web site (Swift's ``staticweb``): ``index``
        page, HTML ``listings``, ``error`` page suffix and ``listings_css``.
        A ``None`` setting is cleared."""
        self.update_metadata({
            "X-Container-Meta-Web-Index": index or "",
            "X-Container-Meta-Web-Listings": "" if listings is None else str(listings),
            "X-Container-Meta-Web-Error": error or "",
            "X-Container-Meta-Web-Listings-CSS": listings_css or "",
        })

    def disable_static_web(self) -> None:
        """Stop serving the container as a web site."""
        self.enable_static_web()

    def enable_object_versioning(self, container_name: str | bytes | Container) -> None:
        """Keep every overwritten version of an object in ``container_name``
        (Swift's ``X-Versions-Location``); that container must exist."""
        target = as_container_name(name_of(container_name))
        self._client.post_container(self._checked_name(), {"X-Versions-Location": target})

    def disable_object_versioning(self) -> None:
        """Stop keeping old versions (those already kept stay)."""
        self._client.post_container(self._checked_name(), {"X-Remove-Versions-Location": "x"})

    # -- publishing (Rackspace CDN, or a public read ACL) ------------------------

    def _cdn_data(self, refresh: bool = False) -> dict[str, Any]:
        if self._cdn is None or refresh:
            try:
                headers = self.conn._cdn_client().head_container(self._checked_name())
            except errors.NoSuchContainer:
                headers = {}
            self._cdn = cdn_attributes(headers)
        return self._cdn

    def _cdn_attr(self, key: str) -> Any:
        if not self.conn.cdn_enabled:
            return None
        return self._cdn_data()[key]

    @property
    def cdn_uri(self) -> str | None:
        """The CDN URL (Rackspace CDN; ``None`` without CDN or when private)."""
        return self._cdn_attr("cdn_uri")

    @property
    def cdn_ssl_uri(self) -> str | None:
        """The HTTPS CDN URL (Rackspace CDN)."""
        return self._cdn_attr("cdn_ssl_uri")

    @property
    def cdn_streaming_uri(self) -> str | None:
        """The streaming CDN URL (Rackspace CDN)."""
        return self._cdn_attr("cdn_streaming_uri")

    @property
    def cdn_ttl(self) -> int | None:
        """Seconds the CDN caches objects (Rackspace CDN)."""
        return self._cdn_attr("cdn_ttl")

    @property
    def cdn_log_retention(self) -> bool | None:
        """Whether CDN access logs are kept (Rackspace CDN)."""
        return self._cdn_attr("cdn_log_retention")

    def _read_acl(self) -> list[str]:
        return read_acl(self._client.head_container(self._checked_name()))

    def make_public(self, ttl: int = consts.default_cdn_ttl, listings: bool = False) -> None:
        """Let anyone read the container's objects, by URL and without a token.

        With Rackspace's CDN (when the account's catalog has one), the container
        is CDN-enabled with this ``ttl``, as in python-cloudfiles.

        Without a CDN, Swift's read ACL ``.r:*`` is added (other ACL entries
        are kept; ``ttl`` does not apply) and :meth:`public_uri` is the
        container's storage URL.  Anyone who knows an object's URL can then
        read it, but nobody can list the container: Cloud Files' CDN never
        served listings either.

        :param ttl: seconds the CDN caches the objects (CDN only)
        :param listings: also let anyone list the object names (Swift's
            ``.rlistings``).  ``False`` (the default) removes ``.rlistings``
            if an earlier call had set it, so a public container is readable
            and not listable unless asked for.
        :raises ConfigurationError: ``listings=True`` with Rackspace's CDN,
            which has no public listings
        """
        name = self._checked_name()
        if self.conn.cdn_enabled:
            if listings:
                raise errors.ConfigurationError(
                    "make_public(listings=True) needs a Swift read ACL; Rackspace's CDN "
                    "does not serve container listings")
            if int(ttl) < 0:
                raise errors.ConfigurationError("ttl must be >= 0 seconds, got %r" % ttl)
            headers = {"X-TTL": str(int(ttl)), "X-CDN-Enabled": "True"}
            cdn = self.conn._cdn_client()
            if self.cdn_uri:
                cdn.post_container(name, headers)
            else:
                cdn.put_container(name, headers=headers)
            self._cdn = None
            return
        acl = public_acl(self._read_acl(), listings)
        self._client.post_container(name, {"X-Container-Read": ",".join(acl)})

    def make_private(self) -> None:
        """Stop public access: CDN-disable the container (Rackspace CDN; the
        edge keeps cached copies until their TTL ends), or remove the public
        read ACL entries ``.r:*`` and ``.rlistings`` (other entries are kept)."""
        name = self._checked_name()
        if self.conn.cdn_enabled:
            self.conn._cdn_client().post_container(name, {"X-CDN-Enabled": "False"})
            self._cdn = None
            return
        acl = private_acl(self._read_acl())
        if acl:
            self._client.post_container(name, {"X-Container-Read": ",".join(acl)})
        else:
            self._client.post_container(name, {"X-Remove-Container-Read": "x"})

    def is_public(self) -> bool:
        """Whether anyone may read the container's objects (CDN-enabled, or
        ``.r:*`` in its read ACL), whether or not its listing is public."""
        if self.conn.cdn_enabled:
            return self._cdn_data(refresh=True)["cdn_uri"] is not None
        return acl_is_public(self._read_acl())

    def public_uri(self) -> str:
        """The container's public URL: its CDN URL, or without CDN its storage
        URL.  :class:`~velocity.errors.ContainerNotPublic` if it is private."""
        if not self.is_public():
            raise errors.ContainerNotPublic("container %r is not public: call make_public()"
                                            % self._name)
        if self.conn.cdn_enabled:
            return self._cdn_data()["cdn_uri"]
        return "%s/%s" % (self.conn.storage_url.rstrip("/"), quote(self._checked_name()))

    def _cdn_only_uri(self, key: str) -> str:
        if not self.conn.cdn_enabled:
            raise errors.CDNNotEnabled("%s needs Rackspace's CDN; this account has none"
                                       % key.replace("cdn_", "public_"))
        if not self.is_public():
            raise errors.ContainerNotPublic("container %r is not public" % self._name)
        return self._cdn_data()[key]

    def public_ssl_uri(self) -> str:
        """The HTTPS CDN URL (Rackspace CDN only)."""
        return self._cdn_only_uri("cdn_ssl_uri")

    def public_streaming_uri(self) -> str:
        """The streaming CDN URL (Rackspace CDN only)."""
        return self._cdn_only_uri("cdn_streaming_uri")

    def purge_from_cdn(self, email: str | None = None) -> None:
        """Ask the CDN to drop every cached object of this container (Rackspace)."""
        headers = {"X-Purge-Email": email} if email else {}
        self.conn._cdn_client().call("delete_container", self._checked_name(),
                                     headers=headers)

    def log_retention(self, log_retention: bool = consts.cdn_log_retention) -> None:
        """Keep (or stop keeping) CDN access logs (Rackspace CDN only)."""
        self.conn._cdn_client().post_container(
            self._checked_name(), {"X-Log-Retention": str(bool(log_retention))})
        self._cdn = None

    # -- temporary URLs --------------------------------------------------------

    def get_temp_url(self, obj: str | bytes | StorageObject, method: str = "GET",
                     seconds: int = 3600, key: str | None = None) -> str:
        """A URL that allows ``method`` on ``obj`` without a token for
        ``seconds`` seconds (Swift's ``tempurl``).

        The key is ``key``, else the account's ``X-Account-Meta-Temp-URL-Key``
        (or ``-Key-2``), else the container's; when none is set, Velocity sets
        a random account key first (see :meth:`Connection.get_temp_url_key
        <velocity.connection.Connection.get_temp_url_key>`).
        """
        name = as_object_name(name_of(obj))
        method, seconds = check_temp_url_request(method, seconds)
        if key is None:
            key = self.conn.get_temp_url_key(container=self)
        return sign_temp_url(self.conn.storage_url, self._checked_name(), name, method,
                             seconds, key)

    # -- objects -----------------------------------------------------------------

    def create_object(self, object_name: str | bytes) -> StorageObject:
        """A :class:`StorageObject` for ``object_name``; it need not exist yet
        (write to it to create it).  Like every object name on this face it
        may be ``str`` or UTF-8 ``bytes`` (decoded; invalid UTF-8 raises
        :class:`~velocity.errors.InvalidObjectName`)."""
        self._checked_name()
        return StorageObject(self, as_object_name(object_name))

    def get_object(self, object_name: str | bytes) -> StorageObject:
        """The existing object ``object_name``
        (:class:`~velocity.errors.NoSuchObject` otherwise)."""
        self._checked_name()
        return StorageObject(self, as_object_name(object_name), force_exists=True)

    def __getitem__(self, key: str | bytes) -> StorageObject:
        return self.get_object(key)

    def __iter__(self) -> Iterator[StorageObject]:
        """Every object of the container (paged)."""
        for record in self._iter_listing():
            if "name" in record:
                yield StorageObject(self, object_record=record)

    def __contains__(self, item: object) -> bool:
        name = name_of(item)
        if not isinstance(name, (str, bytes, bytearray)):
            return False
        try:
            self._client.head_object(self._checked_name(), as_object_name(name))
        except errors.NoSuchObject:
            return False
        return True

    def delete_object(self, object_name: str | bytes | StorageObject) -> None:
        """Delete an object (by name or :class:`StorageObject`);
        :class:`~velocity.errors.NoSuchObject` if it does not exist."""
        name = as_object_name(name_of(object_name))
        self._client.delete_object(self._checked_name(), name)

    def _iter_listing(self, prefix: str | bytes | None = None, limit: int | None = None,
                      marker: str | bytes | None = None, path: str | bytes | None = None,
                      delimiter: str | bytes | None = None,
                      end_marker: str | bytes | None = None,
                      **parms: Any) -> Iterator[dict[str, Any]]:
        name = self._checked_name()
        if limit is not None and int(limit) < 0:
            raise errors.ConfigurationError("limit must be >= 0, got %r" % limit)
        prefix, marker, path, delimiter, end_marker = (
            decode_name(value, errors.InvalidObjectName, what)
            for value, what in ((prefix, "prefix"), (marker, "marker"), (path, "path"),
                                (delimiter, "delimiter"), (end_marker, "end_marker")))
        page_size = self.conn.page_size
        extra = {k: decode_name(v, errors.InvalidObjectName, k)
                 for k, v in parms.items() if v is not None}
        yield from self._client.iter_container(
            name, prefix=prefix or None, delimiter=delimiter or None, marker=marker or "",
            end_marker=end_marker or None, limit=limit, page_size=page_size, path=path,
            query_string=urlencode(extra) or None)

    def get_objects(self, prefix: str | bytes | None = None, limit: int | None = None,
                    marker: str | bytes | None = None, path: str | bytes | None = None,
                    delimiter: str | bytes | None = None, end_marker: str | bytes | None = None,
                    **parms: Any) -> ObjectResults:
        """The container's objects as :class:`~velocity.storage_object.ObjectResults`.

        :param prefix: only names starting with this
        :param limit: at most this many (``None``: every object, paging past
            Swift's 10,000-entry limit)
        :param marker: only names after this
        :param path: only the objects directly under this pseudo-folder
        :param delimiter: roll names up at this character (pseudo-folders are
            not objects, so they are left out here; see :meth:`list_objects`)
        :param end_marker: only names before this
        :param parms: further listing query parameters, passed through

        ``prefix``, ``marker``, ``path``, ``delimiter`` and ``end_marker`` may be
        ``str`` or UTF-8 ``bytes``, like object names; the names returned are
        always ``str``.
        """
        return ObjectResults(self, self.list_objects_info(
            prefix=prefix, limit=limit, marker=marker, path=path, delimiter=delimiter,
            end_marker=end_marker, **parms))

    def list_objects_info(self, prefix: str | bytes | None = None, limit: int | None = None,
                          marker: str | bytes | None = None, path: str | bytes | None = None,
                          delimiter: str | bytes | None = None,
                          end_marker: str | bytes | None = None,
                          **parms: Any) -> list[dict[str, Any]]:
        """Listing entries as dicts (``name``, ``hash``, ``bytes``,
        ``content_type``, ``last_modified``; ``subdir`` entries with a
        ``delimiter``).  Same arguments as :meth:`get_objects`."""
        return list(self._iter_listing(prefix=prefix, limit=limit, marker=marker, path=path,
                                       delimiter=delimiter, end_marker=end_marker, **parms))

    def list_objects(self, prefix: str | bytes | None = None, limit: int | None = None,
                     marker: str | bytes | None = None, path: str | bytes | None = None,
                     delimiter: str | bytes | None = None, end_marker: str | bytes | None = None,
                     **parms: Any) -> list[str]:
        """Object names (and pseudo-folder names ending in the ``delimiter``).
        Same arguments as :meth:`get_objects`."""
        return [entry.get("name") or entry["subdir"] for entry in self._iter_listing(
            prefix=prefix, limit=limit, marker=marker, path=path, delimiter=delimiter,
            end_marker=end_marker, **parms)]


class ContainerResults(ListingResults[Container]):
    """The containers of one listing: a real sequence of :class:`Container`
    (see :class:`~velocity.results.ListingResults`); slicing gives a
    ``ContainerResults``.  Items carry the listing's ``object_count`` and
    ``size_used`` with no extra request.
    """

    _what = "containers"

    def __init__(self, conn: Connection, containers: Iterable[Mapping[str, Any]] | None = None
                 ) -> None:
        self.conn = conn
        super().__init__(containers)

    def _make(self, record: dict[str, Any]) -> Container:
        return Container(self.conn, record["name"], record.get("count"), record.get("bytes"))

    def _derive(self, records: list[dict[str, Any]]) -> ContainerResults:
        return ContainerResults(self.conn, records)
