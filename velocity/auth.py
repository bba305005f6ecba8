"""Credentials: every way Velocity users log in, each as a keystoneauth1 plugin.

Every flavour ends up as a :class:`keystoneauth1.session.Session`, made once per
:class:`Credentials` and shared by every connection built from it, so many
threads cause one authentication, and a token that expires is renewed once for
all of them.

========================  =====================================================
flavour                   constructor
========================  =====================================================
v1 / tempauth / legacy    :meth:`Credentials.v1` (``X-Auth-User`` / ``X-Auth-Key``)
Rackspace API key         :meth:`Credentials.rackspace`
Keystone password         :meth:`Credentials.password` (v2 or v3)
v3 application credential :meth:`Credentials.application_credential`
v3 token                  :meth:`Credentials.token`
pre-authenticated         :meth:`Credentials.preauthenticated` (storage URL + token)
environment               :meth:`Credentials.from_env` (``OS_*``, ``ST_*``)
========================  =====================================================

``repr()`` of a credential never shows a key, password, secret or token.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from keystoneauth1 import plugin as ksa_plugin
from keystoneauth1 import session as ksa_session

from velocity.errors import AuthenticationError, AuthenticationFailed, ConfigurationError

__all__ = ["Credentials", "V1Auth", "RACKSPACE_AUTH_URL", "RACKSPACE_V1_AUTH_URL"]

#: Rackspace's identity service (v2.0 with the RAX-KSKEY API-key extension)
RACKSPACE_AUTH_URL = "https://identity.api.rackspacecloud.com/v2.0"
#: python-cloudfiles' default (v1.0) authentication URL
RACKSPACE_V1_AUTH_URL = "https://auth.api.rackspacecloud.com/v1.0"

_INTERFACES = {"public": "public", "publicurl": "public", "internal": "internal",
               "internalurl": "internal", "admin": "admin", "adminurl": "admin"}


def _interface(value: str | None, internal: bool = False) -> str:
    if internal:
        return "internal"
    if not value:
        return "public"
    try:
        return _INTERFACES[value.lower()]
    except KeyError:
        raise ConfigurationError(
            "unknown endpoint interface %r: use public, internal or admin" % value) from None


class V1Auth(ksa_plugin.BaseAuthPlugin):
    """keystoneauth1 plugin for Swift's v1.0 protocol (tempauth, swauth,
    legacy Rackspace Cloud Files): ``GET auth_url`` with ``X-Auth-User`` and
    ``X-Auth-Key``, answered with ``X-Storage-Url`` and ``X-Auth-Token``.

    ``internal=True`` returns the ServiceNet form of a Rackspace storage URL
    (``https://snet-...``), as python-cloudfiles' ``servicenet=True`` did.
    """

    def __init__(self, auth_url: str, user: str, key: str, internal: bool = False) -> None:
        super().__init__()
        self.auth_url = auth_url
        self.user = user
        self._key = key
        self.internal = internal
        self._lock = threading.Lock()
        self._token: str | None = None
        self._storage_url: str | None = None
        #: how many times this plugin authenticated (for tests and diagnostics)
        self.auth_count = 0

    def __repr__(self) -> str:
        return "V1Auth(auth_url=%r, user=%r, key=<hidden>)" % (self.auth_url, self.user)

    def _authenticate(self, session: ksa_session.Session) -> None:
        with self._lock:
            if self._token is not None:
                return
            try:
                # log=False: keystoneauth does not redact X-Auth-Key in its debug log
                response = session.get(
                    self.auth_url, headers={"X-Auth-User": self.user, "X-Auth-Key": self._key},
                    authenticated=False, log=False, raise_exc=False)
            except Exception as exc:  # connection failures
                raise AuthenticationError("could not reach %s: %s" % (
                    self.auth_url, exc.__class__.__name__), method="GET",
                    path=self.auth_url) from None
            if response.status_code in (401, 403):
                raise AuthenticationFailed(
                    "the identity service refused user %r" % self.user,
                    status=response.status_code, reason=response.reason, method="GET",
                    path=self.auth_url, request_id=response.headers.get("X-Trans-Id"))
            if response.status_code >= 300:
                raise AuthenticationError(
                    "authentication failed", status=response.status_code,
                    reason=response.reason, method="GET", path=self.auth_url,
                    request_id=response.headers.get("X-Trans-Id"))
            url = response.headers.get("X-Storage-Url")
            token = response.headers.get("X-Auth-Token") or response.headers.get(
                "X-Storage-Token")
            if not url or not token:
                raise AuthenticationError(
                    "the v1 auth answer lacks X-Storage-Url or X-Auth-Token", method="GET",
                    path=self.auth_url)
            if self.internal and url.startswith("https://"):
                url = "https://snet-" + url[len("https://"):]
            self._storage_url, self._token = url, token
            self.auth_count += 1

    def get_token(self, session: ksa_session.Session) -> str | None:
        self._authenticate(session)
        return self._token

    def get_endpoint(self, session: ksa_session.Session, **kwargs: Any) -> str | None:
        self._authenticate(session)
        return self._storage_url

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
        return True


class _PreAuth(ksa_plugin.BaseAuthPlugin):
    """A fixed storage URL and token (nothing to renew)."""

    def __init__(self, storage_url: str, token: str) -> None:
        super().__init__()
        self.storage_url = storage_url
        self._token = token

    def __repr__(self) -> str:
        return "PreAuth(storage_url=%r, token=<hidden>)" % self.storage_url

    def get_token(self, session: ksa_session.Session) -> str | None:
        return self._token

    def get_endpoint(self, session: ksa_session.Session, **kwargs: Any) -> str | None:
        return self.storage_url

    def invalidate(self) -> bool:
        return False  # a fixed token cannot be renewed


class Credentials:
    """How to log in, and where the object store is.

    Build one with a class method (:meth:`v1`, :meth:`rackspace`,
    :meth:`password`, :meth:`application_credential`, :meth:`token`,
    :meth:`preauthenticated`, :meth:`from_env`).  :meth:`session` returns the
    one keystoneauth1 session every connection made from these credentials
    shares.

    :ivar kind: ``"v1"``, ``"rackspace"``, ``"password"``,
        ``"application_credential"``, ``"token"`` or ``"preauthenticated"``
    :ivar region: catalog region of the object store, or ``None`` for any
    :ivar interface: ``"public"`` or ``"internal"`` (ServiceNet)
    """

    def __init__(self, kind: str, plugin: ksa_plugin.BaseAuthPlugin, *,
                 auth_url: str | None = None, username: str | None = None,
                 region: str | None = None, interface: str = "public",
                 service_type: str = "object-store", timeout: float | None = None) -> None:
        self.kind = kind
        self.plugin = plugin
        self.auth_url = auth_url
        self.username = username
        self.region = region
        self.interface = _interface(interface)
        self.service_type = service_type
        self.timeout = timeout
        self._session: ksa_session.Session | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        fields = ["kind=%r" % self.kind]
        if self.auth_url:
            fields.append("auth_url=%r" % self.auth_url)
        if self.username:
            fields.append("username=%r" % self.username)
        if self.region:
            fields.append("region=%r" % self.region)
        fields.append("interface=%r" % self.interface)
        return "Credentials(%s)" % ", ".join(fields)

    # -- constructors --------------------------------------------------------

    @classmethod
    def v1(cls, auth_url: str, user: str, key: str, *, internal: bool = False,
           **options: Any) -> Credentials:
        """Swift v1.0 auth (tempauth, legacy Cloud Files): ``user`` is often
        ``account:user``."""
        _require(auth_url=auth_url, user=user, key=key)
        return cls("v1", V1Auth(auth_url, user, key, internal=internal), auth_url=auth_url,
                   username=user, interface="internal" if internal else "public", **options)

    @classmethod
    def preauthenticated(cls, storage_url: str, token: str, **options: Any) -> Credentials:
        """A storage URL and a token obtained elsewhere (``OS_STORAGE_URL`` +
        ``OS_AUTH_TOKEN``).  It cannot be renewed when it expires."""
        _require(storage_url=storage_url, token=token)
        return cls("preauthenticated", _PreAuth(storage_url, token), **options)

    @classmethod
    def password(cls, auth_url: str, username: str, password: str, *,
                 project_name: str | None = None, project_id: str | None = None,
                 user_domain_name: str | None = None, user_domain_id: str | None = None,
                 project_domain_name: str | None = None,
                 project_domain_id: str | None = None,
                 region: str | None = None, interface: str = "public",
                 internal: bool = False, **options: Any) -> Credentials:
        """Keystone password: identity v3 unless ``auth_url`` ends in ``/v2.0``."""
        _require(auth_url=auth_url, username=username, password=password)
        from keystoneauth1.identity import v2, v3

        plugin: ksa_plugin.BaseAuthPlugin
        if auth_url.rstrip("/").endswith("/v2.0"):
            plugin = v2.Password(auth_url=auth_url, username=username, password=password,
                                 tenant_name=project_name, tenant_id=project_id)
        else:
            if not (user_domain_name or user_domain_id):
                user_domain_id = "default"
            if (project_name and not (project_domain_name or project_domain_id)):
                project_domain_id = "default"
            plugin = v3.Password(
                auth_url=auth_url, username=username, password=password,
                user_domain_name=user_domain_name, user_domain_id=user_domain_id,
                project_name=project_name, project_id=project_id,
                project_domain_name=project_domain_name, project_domain_id=project_domain_id)
        return cls("password", plugin, auth_url=auth_url, username=username, region=region,
                   interface=_interface(interface, internal), **options)

    # -- the shared session ----------------------------------------------------

    def session(self) -> ksa_session.Session:
        """The keystoneauth1 session shared by every connection made from these
        credentials (a new one in a forked child: sockets are not shared across
        processes, the token is kept)."""
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                self._session = ksa_session.Session(auth=self.plugin, timeout=self.timeout)
                self._pid = os.getpid()
            return self._session

    @property
    def os_options(self) -> dict[str, Any]:
        """What python-swiftclient needs to pick the endpoint from the session."""
        return {"service_type": self.service_type, "endpoint_type": self.interface,
                "region_name": self.region}


def _require(**values: Any) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigurationError("missing credential setting(s): %s" % ", ".join(missing))


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env
