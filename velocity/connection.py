"""``Connection`` and ``ConnectionPool``: python-cloudfiles' entry points on Velocity's core.

``Connection`` keeps the constructor, method names, defaults and return shapes
of python-cloudfiles 1.7.11 (the users' reference: its ``Connection`` epydoc
page), and adds modern ways to log in (``credentials=``, ``region=``) and
retries.  Every request goes through one thread-safe
:class:`~velocity.client.SwiftClient` (``conn.client``).
"""

from __future__ import annotations

import ipaddress
import os
import queue
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

from velocity import consts, errors
from velocity._headers import (
    acl_is_public,
    int_or_none,
    lower_keys,
    meta_from,
    random_temp_url_key,
    raw_meta_headers,
    read_acl,
    temp_url_key,
)
from velocity._keystoneauth import plugin as ksa_plugin
from velocity._log import log
from velocity.auth import RACKSPACE_AUTH_URL, Credentials, StorageTokenAuth, build_credentials
from velocity.client import RetryPolicy, SwiftClient
from velocity.container import Container, ContainerResults
from velocity.names import as_container_name, decode_name, name_of

__all__ = ["Connection", "ConnectionPool", "get_connection", "parse_url", "unicode_quote"]


# host name or IPv4 address, or a bracketed IPv6 literal (RFC 3986, with an
# optional RFC 6874 zone "%25eth0"); then an optional port
_HOST = re.compile(r"^(?:(?P<name>[a-zA-Z0-9\-\.]+)|\[(?P<ipv6>[0-9A-Fa-f:.]+(?:%25[\w.~-]+)?)\])"
                   r"(?::(?P<port>[0-9]{0,5}))?$")
# python-cloudfiles keywords that need no action in Velocity
_ACCEPTED_LEGACY = ("debuglevel", "cdn_log_retention")


def parse_url(url: str) -> tuple[str, int, str, bool]:
    """python-cloudfiles' ``utils.parse_url``: ``(host, port, path, is_ssl)``,
    the path without leading or trailing slashes and the port defaulting to
    80 / 443.

    An IPv6 storage URL (``http://[::1]:8080/v1/AUTH_x``) gives the address
    without its brackets (``"::1"``), as :attr:`urllib.parse.SplitResult.hostname`
    and :class:`http.client.HTTPConnection` have it; a zone (``[fe80::1%25eth0]``)
    is returned as ``fe80::1%eth0``.  Host names keep their case.

    :raises InvalidUrl: the scheme is not http(s), or the host/port is invalid
        (not a host name, IPv4 address or bracketed IPv6 address; a port
        outside 1-65535; user info such as ``user@``)
    """
    try:
        parts = urlsplit(url or "")
    except ValueError as exc:  # e.g. "[::1" or "[not-an-address]"
        raise errors.InvalidUrl("Invalid host and/or port in %r: %s" % (url, exc)) from None
    if parts.scheme not in ("http", "https"):
        raise errors.InvalidUrl("Scheme must be one of http or https, got %r" % url)
    match = _HOST.match(parts.netloc)
    if not match:
        raise errors.InvalidUrl("Invalid host and/or port: %s" % parts.netloc)
    host = match.group("name")
    if host is None:
        host = match.group("ipv6").replace("%25", "%", 1)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise errors.InvalidUrl("Invalid IPv6 address in %s" % parts.netloc) from None
    is_ssl = parts.scheme == "https"
    port = int(match.group("port")) if match.group("port") else (443 if is_ssl else 80)
    if not 0 < port < 65536:
        raise errors.InvalidUrl("Invalid port %d in %s: ports are 1-65535" % (port,
                                                                             parts.netloc))
    return host, port, parts.path.strip("/"), is_ssl


def unicode_quote(value: Any) -> str:
    """python-cloudfiles' ``utils.unicode_quote``: percent-encode as UTF-8,
    keeping ``/``."""
    return quote(value if isinstance(value, (str, bytes)) else str(value), safe="/")


class _LegacyAuth(StorageTokenAuth):
    """keystoneauth1 plugin around a python-cloudfiles style authenticator:
    any object whose ``authenticate()`` returns ``(storage_url, cdn_url, token)``.
    It is asked again when the token expires."""

    def __init__(self, authenticator: Any, servicenet: bool = False) -> None:
        super().__init__(internal=servicenet)
        if not callable(getattr(authenticator, "authenticate", None)):
            raise errors.ConfigurationError(
                "auth= needs an object with an authenticate() method returning "
                "(storage_url, cdn_url, token)")
        self.authenticator = authenticator

    def __repr__(self) -> str:
        return "LegacyAuth(%s)" % type(self.authenticator).__name__

    def _login(self, session: Any) -> tuple[str, str, str | None]:
        try:
            answer = self.authenticator.authenticate()
        except errors.VelocityError:
            raise
        except Exception as exc:  # noqa: BLE001 - any legacy authenticator
            raise errors.AuthenticationError(
                "the auth= object failed: %s: %s" % (exc.__class__.__name__, exc)) from None
        try:
            url, cdn_url, token = answer
        except (TypeError, ValueError):
            raise errors.AuthenticationError(
                "auth.authenticate() must return (storage_url, cdn_url, token)") from None
        if not url or not token:
            raise errors.AuthenticationError(
                "Invalid response from the authentication service: no storage URL or token")
        return url, token, cdn_url


class _CDNAuth(ksa_plugin.BaseAuthPlugin):
    """The storage login, pointed at the CDN management URL."""

    def __init__(self, credentials: Credentials, cdn_url: str) -> None:
        super().__init__()
        self.credentials = credentials
        self.cdn_url = cdn_url

    def __repr__(self) -> str:
        return "CDNAuth(%r)" % self.cdn_url

    def get_token(self, session: Any) -> str | None:
        return self.credentials.session().get_token()

    def get_endpoint(self, session: Any, **kwargs: Any) -> str | None:
        return self.cdn_url

    def current_token(self) -> str | None:
        current = getattr(self.credentials.plugin, "current_token", None)
        return current() if callable(current) else None

    def invalidate(self) -> bool:
        return bool(self.credentials.invalidate())


class Connection:
    """A connection to a Swift / Rackspace Cloud Files account (python-cloudfiles'
    ``Connection``), and the factory of :class:`~velocity.container.Container` objects.

    It authenticates in the constructor, so wrong credentials fail here with
    :class:`~velocity.errors.AuthenticationFailed`.  One ``Connection`` may be
    shared by many threads.

    :param username: account user name (v1.0 auth; ``account:user`` for tempauth)
    :param api_key: its API key / password
    :param timeout: seconds to wait for a server's answer (default 15)
    :keyword authurl: v1.0 authentication URL (default Rackspace US,
        :data:`velocity.consts.us_authurl`); Rackspace's v2.0 identity URL
        (:data:`velocity.auth.RACKSPACE_AUTH_URL`) logs in with the API key
        through the service catalog instead, as does a Rackspace URL with a
        ``region`` (v1.0 has no regions)
    :keyword auth: an authenticator object with ``authenticate() ->
        (storage_url, cdn_url, token)`` (python-cloudfiles' ``Authentication``
        interface), used instead of username/api_key
    :keyword servicenet: use Rackspace ServiceNet (default: ``True`` when the
        ``RACKSPACE_SERVICENET`` environment variable exists)
    :keyword useragent: ``User-Agent`` header
    :keyword credentials: a :class:`velocity.auth.Credentials` (any login Velocity
        supports).  They are used as given and never changed: with ``region``,
        the connection works on a copy for that region (sharing the login).
    :keyword region: catalog region of the object store (Keystone / Rackspace
        v2.0); with ``credentials=`` it takes precedence over their region
    :keyword retries: how often a failed request is retried (default 5)
    :raises AuthenticationFailed: the credentials were refused
    :raises ConfigurationError: no way to log in, or an unknown keyword

    :ivar client: the :class:`~velocity.client.SwiftClient` doing the requests
    :ivar credentials: the :class:`~velocity.auth.Credentials`
    """

    #: entries asked for per listing request; ``limit=None`` listings page by this
    page_size: int = consts.listing_limit
    #: a :class:`velocity.transfer.TransferConfig` for ``load_from_filename`` /
    #: ``save_to_filename`` of large files (``None``: the defaults)
    transfer_config: Any = None

    def __init__(self, username: str | None = None, api_key: str | None = None,
                 timeout: float = 15, **kwargs: Any) -> None:
        auth = kwargs.pop("auth", None)
        authurl = kwargs.pop("authurl", consts.default_authurl)
        servicenet = kwargs.pop("servicenet", None)
        if servicenet is None:
            servicenet = "RACKSPACE_SERVICENET" in os.environ
        useragent = kwargs.pop("useragent", consts.user_agent)
        credentials = kwargs.pop("credentials", None)
        region = kwargs.pop("region", None)
        retries = kwargs.pop("retries", None)
        self.debuglevel = int(kwargs.pop("debuglevel", 0))
        self.cdn_log_retention = bool(kwargs.pop("cdn_log_retention",
                                                 consts.cdn_log_retention))
        if kwargs:
            raise errors.ConfigurationError(
                "unknown Connection keyword(s): %s" % ", ".join(sorted(kwargs)))
        if timeout is None or float(timeout) <= 0:
            raise errors.ConfigurationError("timeout must be > 0 seconds, got %r" % (timeout,))

        self.timeout = timeout
        self.servicenet = bool(servicenet)
        self.user_agent = useragent
        self.auth = auth
        self.authurl = authurl
        if credentials is not None:
            if not isinstance(credentials, Credentials):
                raise errors.ConfigurationError(
                    "credentials= must be velocity.auth.Credentials, got %s"
                    % type(credentials).__name__)
            if region and region != credentials.region:
                credentials = credentials.replace(region=region)
        elif auth is not None:
            credentials = Credentials("legacy", _LegacyAuth(auth, self.servicenet),
                                      region=region, timeout=timeout)
        elif username and api_key and authurl:
            # python-cloudfiles spoke v1.0 only; a Rackspace URL with a region (v1.0 has
            # none) means its v2.0 identity, any other URL says what it speaks
            rackspace = region and "rackspacecloud.com" in authurl
            credentials = build_credentials(
                "rackspace" if rackspace else None,
                auth_url=RACKSPACE_AUTH_URL if rackspace else authurl, user=username,
                key=api_key, region=region, internal=self.servicenet, timeout=timeout)
        else:
            raise errors.ConfigurationError(
                "Incorrect or invalid arguments supplied: Connection needs username and "
                "api_key (and authurl), auth= or credentials=")
        self.credentials: Credentials = credentials
        retry = RetryPolicy(retries=retries) if retries is not None else None
        self.client = SwiftClient(credentials, retry=retry, timeout=float(timeout),
                                  user_agent=useragent)
        self._cdn: SwiftClient | None = None
        self._cdn_url: str | None = None
        self._cdn_known = False
        # authenticate now, as python-cloudfiles did: bad keys fail here
        storage_url, _ = self.client.get_auth()
        self.connection_args = parse_url(storage_url)
        self.uri = self.connection_args[2]

    def __repr__(self) -> str:
        return "<velocity.Connection %r>" % (self.credentials,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> Connection:
        """A connection configured from ``OS_*`` / ``ST_*`` environment
        variables (see :meth:`velocity.auth.Credentials.from_env`)."""
        return cls(credentials=Credentials.from_env(env), **kwargs)

    # -- session details -----------------------------------------------------

    @property
    def storage_url(self) -> str:
        """The account's storage URL."""
        return self.client.storage_url

    @property
    def token(self) -> str:
        """The current auth token (keep it secret; it is never logged)."""
        return self.client.get_auth()[1]

    @property
    def cdn_url(self) -> str | None:
        """Rackspace's CDN management URL, or ``None`` when the account has no CDN."""
        if not self._cdn_known:
            plugin = self.credentials.plugin
            url = getattr(plugin, "cdn_url", None) if isinstance(plugin, _LegacyAuth) else None
            if url is None:
                finder = getattr(self.credentials, "cdn_url", None)
                try:
                    url = finder() if callable(finder) else finder
                except errors.VelocityError:
                    url = None
            self._cdn_url, self._cdn_known = url or None, True
        return self._cdn_url

    @property
    def cdn_enabled(self) -> bool:
        """Whether the account has Rackspace's CDN service."""
        return self.cdn_url is not None

    def _cdn_client(self) -> SwiftClient:
        """A SwiftClient for the CDN management API (same token)."""
        if self.cdn_url is None:
            raise errors.CDNNotEnabled(
                "this account has no CDN service (no rax:object-cdn endpoint / "
                "X-CDN-Management-Url); public containers use a read ACL instead")
        if self._cdn is None:
            creds = Credentials("cdn", _CDNAuth(self.credentials, self.cdn_url),
                                timeout=self.timeout)
            # a handful of metadata requests to a Rackspace-only service:
            # swiftclient's well-trodden path, not the direct transport
            self._cdn = SwiftClient(creds, retry=self.client.retry,
                                    timeout=float(self.timeout), user_agent=self.user_agent,
                                    direct=False)
        return self._cdn

    def close(self) -> None:
        """Close the HTTP connections (the Connection stays usable)."""
        self.client.close()
        if self._cdn is not None:
            self._cdn.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- account --------------------------------------------------------------

    def get_info(self) -> tuple[int | None, int | None]:
        """``(container_count, bytes_used)`` of the account.  Swift updates
        these totals asynchronously, so they may lag a few seconds."""
        headers = lower_keys(self.client.head_account())
        return (int_or_none(headers.get("x-account-container-count")),
                int_or_none(headers.get("x-account-bytes-used")))

    def get_account_metadata(self) -> dict[str, str]:
        """The account's ``X-Account-Meta-*`` values, keys lower-case without
        the prefix (python-cloudfiles 1.7.11 returned this as a third item of
        ``get_info()``)."""
        return meta_from(lower_keys(self.client.head_account()), "x-account-meta-")

    def update_account_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Set account metadata: raw headers as in python-cloudfiles
        (``{"X-Account-Meta-Color": "red"}``) or bare names (``{"color":
        "red"}``); an empty value removes the item."""
        self.client.post_account(raw_meta_headers(metadata, "X-Account-Meta-"))

    def get_temp_url_key(self, container: Container | str | bytes | None = None) -> str:
        """The key that signs temporary URLs: the account's
        ``X-Account-Meta-Temp-URL-Key`` (or ``-Key-2``), else ``container``'s
        ``X-Container-Meta-Temp-URL-Key``; if none is set, a random key is
        set on the account and returned (never logged)."""
        key = temp_url_key(self.client.head_account(), "account")
        if key is None and container is not None:
            key = temp_url_key(self.client.head_container(
                as_container_name(name_of(container))), "container")
        if key:
            return key
        key = random_temp_url_key()
        self.client.post_account({"X-Account-Meta-Temp-URL-Key": key})
        log.info("set a new temp URL key on the account (X-Account-Meta-Temp-URL-Key)")
        return key

    # -- containers ---------------------------------------------------------------

    def create_container(self, container_name: str | bytes, error_on_existing: bool = False
                         ) -> Container:
        """Create ``container_name`` (or find it) and return it as a
        :class:`Container`.  With ``error_on_existing=True`` an existing
        container raises :class:`~velocity.errors.ContainerExists` (HTTP 202).

        Like every container name on this face, ``container_name`` may be a
        ``str`` or UTF-8 ``bytes`` (python-cloudfiles' Python 2 strings);
        bytes are decoded, and :class:`~velocity.errors.InvalidContainerName`
        is raised if they are not UTF-8."""
        name = as_container_name(container_name)
        response: dict[str, Any] = {}
        self.client.put_container(name, response_dict=response)
        if error_on_existing and response.get("status") == 202:
            raise errors.ContainerExists("container %r already exists" % name, status=202,
                                       reason="Accepted", method="PUT", path="/" + name)
        created = response.get("status") == 201
        return Container(self, name, 0 if created else None, 0 if created else None)

    def delete_container(self, container_name: str | bytes | Container) -> None:
        """Delete an empty container (by name or :class:`Container`).

        :raises ContainerNotEmpty: it still holds objects (HTTP 409)
        :raises NoSuchContainer: it does not exist (HTTP 404)
        """
        name = as_container_name(name_of(container_name))
        self.client.delete_container(name)
        if self.cdn_enabled:
            try:
                self._cdn_client().post_container(name, {"X-CDN-Enabled": "False"})
            except errors.VelocityError:
                log.debug("could not CDN-disable the deleted container %r", name)

    def get_container(self, container_name: str | bytes) -> Container:
        """The existing container ``container_name`` with its ``object_count``,
        ``size_used`` and ``metadata``.

        :raises NoSuchContainer: it does not exist
        """
        return Container(self, as_container_name(container_name)).refresh()

    def __getitem__(self, key: str | bytes) -> Container:
        return self.get_container(key)

    def __iter__(self) -> Iterator[Container]:
        """Every container of the account (paged)."""
        for record in self._iter_containers():
            yield Container(self, record["name"], record.get("count"), record.get("bytes"))

    def __contains__(self, item: object) -> bool:
        name = name_of(item)
        if not isinstance(name, (str, bytes, bytearray)):
            return False
        try:
            self.client.head_container(as_container_name(name))
        except errors.NoSuchContainer:
            return False
        return True

    def _iter_containers(self, limit: int | None = None, marker: str | bytes | None = None,
                         **parms: Any) -> Iterator[dict[str, Any]]:
        marker = decode_name(marker, errors.InvalidContainerName, "marker")
        prefix = decode_name(parms.pop("prefix", None), errors.InvalidContainerName, "prefix")
        end_marker = decode_name(parms.pop("end_marker", None), errors.InvalidContainerName,
                                 "end_marker")
        parms = {k: v for k, v in parms.items() if v is not None}
        if parms:
            raise errors.ConfigurationError(
                "unsupported account listing parameter(s): %s (use prefix, end_marker, "
                "limit or marker)" % ", ".join(sorted(parms)))
        if limit is not None and int(limit) < 0:
            raise errors.ConfigurationError("limit must be >= 0, got %r" % limit)
        return self.client.iter_account(prefix=prefix or None, marker=str(marker or ""),
                                        end_marker=end_marker or None, limit=limit,
                                        page_size=self.page_size)

    def get_all_containers(self, limit: int | None = None, marker: str | bytes | None = None,
                           **parms: Any) -> ContainerResults:
        """The account's containers as :class:`~velocity.container.ContainerResults`.

        :param limit: at most this many (``None``: all of them, paging past
            Swift's 10,000-per-request limit)
        :param marker: only names after this
        :param parms: ``prefix`` and ``end_marker`` are understood too
        """
        return ContainerResults(self, self._iter_containers(limit, marker, **parms))

    def list_containers_info(self, limit: int | None = None, marker: str | bytes | None = None,
                             **parms: Any) -> list[dict[str, Any]]:
        """Containers as dicts with ``name``, ``count`` (objects) and ``bytes``
        (plus whatever else Swift lists, e.g. ``last_modified``).  Arguments as
        for :meth:`get_all_containers`."""
        return list(self._iter_containers(limit, marker, **parms))

    def list_containers(self, limit: int | None = None, marker: str | bytes | None = None,
                        **parms: Any) -> list[str]:
        """Container names.  Arguments as for :meth:`get_all_containers`."""
        return [record["name"] for record in self._iter_containers(limit, marker, **parms)]

    def list_public_containers(self) -> list[str]:
        """Names of the public containers: CDN-enabled ones with Rackspace's
        CDN, otherwise those whose read ACL grants ``.r:*`` (one HEAD per
        container)."""
        if self.cdn_enabled:
            cdn = self._cdn_client()
            listing = cdn.iter_account(page_size=self.page_size)
            return [entry["name"] for entry in listing
                    if str(entry.get("cdn_enabled", True)).lower() == "true"]
        return [record["name"] for record in self._iter_containers()
                if acl_is_public(read_acl(self.client.head_container(record["name"])))]


def get_connection(*args: Any, **kwargs: Any) -> Connection:
    """``Connection(*args, **kwargs)`` (python-cloudfiles' ``get_connection``)."""
    return Connection(*args, **kwargs)


class ConnectionPool(queue.Queue):
    """A thread-safe pool of :class:`Connection` objects (python-cloudfiles'
    ``ConnectionPool``).

    ``get()`` never blocks: it returns an idle connection or makes a new one;
    ``put(conn)`` returns it (dropped when ``poolsize`` are already idle).
    Connections made by the pool share one login.

    :param poolsize: most idle connections kept (``pool.maxsize``)
    :param kwargs: passed to :class:`Connection` (``authurl``, ``auth``,
        ``timeout``, ``credentials``, ...)
    """

    def __init__(self, username: str | None = None, api_key: str | None = None,
                 poolsize: int = 10, **kwargs: Any) -> None:
        if int(poolsize) < 0:
            raise errors.ConfigurationError("poolsize must be >= 0, got %r" % poolsize)
        super().__init__(int(poolsize))
        self.connargs: dict[str, Any] = {"username": username, "api_key": api_key, **kwargs}
        # with region=, the first connection derives the regional credentials
        # (see Connection) and the others share them
        self._credentials: Credentials | None = (
            None if kwargs.get("region") else kwargs.get("credentials"))
        self._make_lock = threading.Lock()

    def _new_connection(self) -> Connection:
        with self._make_lock:
            shared = self._credentials
        if shared is None:
            conn = Connection(**self.connargs)
            with self._make_lock:
                self._credentials = self._credentials or conn.credentials
            return conn
        keep = {k: v for k, v in self.connargs.items()
                if k in ("timeout", "useragent", "retries", "debuglevel", "cdn_log_retention")}
        return Connection(credentials=shared, **keep)

    def get(self, block: bool = False, timeout: float | None = None) -> Connection:  # type: ignore[override]
        """An idle connection, or a new one (never waits)."""
        try:
            _, conn = super().get(block=False)
        except queue.Empty:
            return self._new_connection()
        return conn

    def put(self, connobj: Connection, block: bool = False,  # type: ignore[override]
            timeout: float | None = None) -> None:
        """Return a connection to the pool (it is closed and dropped if the
        pool already holds ``poolsize`` idle connections)."""
        try:
            super().put((time.time(), connobj), block=False)
        except queue.Full:
            connobj.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """``with pool.connection() as conn:`` gets a connection and puts it back."""
        conn = self.get()
        try:
            yield conn
        finally:
            self.put(conn)
