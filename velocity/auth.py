"""Credentials: every way Velocity users log in, each as a keystoneauth1 plugin.

Every flavour ends up as a :class:`keystoneauth1.session.Session`, made once per
:class:`Credentials` and shared by every connection built from it, so many
threads cause one authentication, and a token that expires is renewed once for
all of them.

=========================  ====================================================
flavour                    constructor
=========================  ====================================================
v1 / tempauth / legacy     :meth:`Credentials.v1` (``X-Auth-User`` / ``X-Auth-Key``)
Rackspace API key          :meth:`Credentials.rackspace`
Keystone password          :meth:`Credentials.password` (v2 or v3)
v3 application credential  :meth:`Credentials.application_credential`
Keystone token             :meth:`Credentials.token`
any identity v2 payload    :meth:`Credentials.from_payload`
pre-authenticated          :meth:`Credentials.preauthenticated` (storage URL + token)
environment                :meth:`Credentials.from_env` (``OS_*``, ``ST_*``)
=========================  ====================================================

``repr()`` of a credential never shows a key, password, secret or token.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Union
from urllib.parse import urlsplit

from keystoneauth1 import access as ksa_access
from keystoneauth1 import plugin as ksa_plugin
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import base as ksa_identity
from keystoneauth1.identity import v2 as ksa_v2

from velocity.errors import AuthenticationError, AuthenticationFailed, ConfigurationError

__all__ = ["Credentials", "StorageTokenAuth", "V1Auth", "RackspaceAuth", "PayloadAuth",
           "RACKSPACE_AUTH_URL", "RACKSPACE_V1_AUTH_URL", "CDN_SERVICE_TYPE"]

log = logging.getLogger("velocity")

#: Rackspace's identity service (v2.0 with the RAX-KSKEY API-key extension)
RACKSPACE_AUTH_URL = "https://identity.api.rackspacecloud.com/v2.0"
#: python-cloudfiles' default (v1.0) authentication URL
RACKSPACE_V1_AUTH_URL = "https://auth.api.rackspacecloud.com/v1.0"
#: catalog service type of the Rackspace Cloud Files CDN management API
CDN_SERVICE_TYPE = "rax:object-cdn"

#: an identity v2 ``auth`` payload, or a function (no arguments) returning one
Payload = Union[Mapping[str, Any], Callable[[], Mapping[str, Any]]]

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


# -- plugins -------------------------------------------------------------------


class StorageTokenAuth(ksa_plugin.BaseAuthPlugin):
    """Base of the keystoneauth1 plugins whose login answers with a storage
    URL and a token directly (Swift's v1.0 protocol, python-cloudfiles style
    authenticators): one login at a time, its answer kept until
    :meth:`invalidate`.  ``internal=True`` turns a Rackspace storage URL into
    its ServiceNet form (``https://snet-...``), as python-cloudfiles'
    ``servicenet=True`` did.  Subclasses write :meth:`_login`."""

    def __init__(self, internal: bool = False) -> None:
        super().__init__()
        self.internal = internal
        self._lock = threading.Lock()
        self._token: str | None = None
        self._storage_url: str | None = None
        #: the CDN management URL the login answered with, if any
        self.cdn_url: str | None = None
        #: how many times this plugin authenticated (for tests and diagnostics)
        self.auth_count = 0

    def _login(self, session: ksa_session.Session) -> tuple[str, str, str | None]:
        """Log in: ``(storage_url, token, cdn_url or None)``."""
        raise NotImplementedError

    def _authenticate(self, session: ksa_session.Session) -> None:
        with self._lock:
            if self._token is not None:
                return
            url, token, cdn_url = self._login(session)
            if self.internal and url.startswith("https://"):
                url = "https://snet-" + url[len("https://"):]
            self._storage_url, self._token, self.cdn_url = url, token, cdn_url or None
            self.auth_count += 1

    @property
    def storage_url(self) -> str | None:
        """The storage URL of the last login (``None`` before the first)."""
        return self._storage_url

    def get_token(self, session: ksa_session.Session) -> str | None:
        self._authenticate(session)
        return self._token

    def get_endpoint(self, session: ksa_session.Session, **kwargs: Any) -> str | None:
        self._authenticate(session)
        return self._storage_url

    def current_token(self) -> str | None:
        """The token held now, without authenticating."""
        return self._token

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
        return True


class V1Auth(StorageTokenAuth):
    """keystoneauth1 plugin for Swift's v1.0 protocol (tempauth, swauth,
    legacy Rackspace Cloud Files): ``GET auth_url`` with ``X-Auth-User`` and
    ``X-Auth-Key``, answered with ``X-Storage-Url`` and ``X-Auth-Token``.

    ``internal=True`` returns the ServiceNet form of a Rackspace storage URL
    (``https://snet-...``), as python-cloudfiles' ``servicenet=True`` did.
    """

    def __init__(self, auth_url: str, user: str, key: str, internal: bool = False) -> None:
        super().__init__(internal)
        self.auth_url = auth_url
        self.user = user
        self._key = key

    def __repr__(self) -> str:
        return "V1Auth(auth_url=%r, user=%r, key=<hidden>)" % (self.auth_url, self.user)

    def _login(self, session: ksa_session.Session) -> tuple[str, str, str | None]:
        # log=False: keystoneauth does not redact X-Auth-Key in its debug log.
        # Connection failures raise keystoneauth's ConnectFailure (retried by
        # SwiftClient); they name the URL only.
        response = session.get(
            self.auth_url, headers={"X-Auth-User": self.user, "X-Auth-Key": self._key},
            authenticated=False, log=False, raise_exc=False)
        request_id = response.headers.get("X-Trans-Id")
        if response.status_code in (401, 403):
            raise AuthenticationFailed(
                "the identity service refused user %r (check the user and key)" % self.user,
                status=response.status_code, reason=response.reason, method="GET",
                path=self.auth_url, request_id=request_id)
        if response.status_code >= 300:
            raise AuthenticationError(
                "authentication failed", status=response.status_code,
                reason=response.reason, method="GET", path=self.auth_url,
                request_id=request_id)
        url = response.headers.get("X-Storage-Url")
        token = response.headers.get("X-Auth-Token") or response.headers.get("X-Storage-Token")
        if not url or not token:
            raise AuthenticationError(
                "the v1 auth answer lacks X-Storage-Url or X-Auth-Token", method="GET",
                path=self.auth_url)
        log.debug("authenticated user %r at %s (v1)", self.user, self.auth_url)
        return url, token, response.headers.get("X-CDN-Management-Url")


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

    def current_token(self) -> str | None:
        return self._token

    def invalidate(self) -> bool:
        return False  # a fixed token cannot be renewed


class PayloadAuth(ksa_v2.Auth):
    """Identity v2 plugin that ``POST``\\ s ``{"auth": payload}`` to
    ``{auth_url}/tokens``: any v2 extension (Rackspace API key, a password,
    a custom payload).  The catalog, region and interface selection are
    keystoneauth1's v2 machinery.

    :param payload: the ``auth`` mapping, or a function with no arguments that
        returns it (called on every authentication, so a secret can be fetched
        when needed)
    """

    def __init__(self, auth_url: str, payload: Payload, *, tenant_id: str | None = None,
                 tenant_name: str | None = None) -> None:
        super().__init__(auth_url, tenant_id=tenant_id, tenant_name=tenant_name)
        if not (callable(payload) or isinstance(payload, Mapping)):
            raise ConfigurationError("payload must be a mapping or a function returning one, "
                                     "got %s" % type(payload).__name__)
        self._payload = payload
        #: the user's default region from the answer (Rackspace), if any
        self.default_region: str | None = None
        #: how many times this plugin authenticated (for tests and diagnostics)
        self.auth_count = 0

    def __repr__(self) -> str:
        return "%s(auth_url=%r, payload=<hidden>)" % (type(self).__name__, self.auth_url)

    def get_auth_data(self, headers: MutableMapping[str, str] | None = None
                      ) -> dict[str, object]:
        payload = self._payload() if callable(self._payload) else self._payload
        if not isinstance(payload, Mapping):
            raise ConfigurationError("the identity payload function returned %s, not a mapping"
                                     % type(payload).__name__)
        return copy.deepcopy(dict(payload))  # keystoneauth adds tenant keys to it

    def get_auth_ref(self, session: ksa_session.Session) -> ksa_access.AccessInfoV2:
        ref = super().get_auth_ref(session)
        self.auth_count += 1
        user = (getattr(ref, "_data", None) or {}).get("access", {}).get("user", {})
        self.default_region = user.get("RAX-AUTH:defaultRegion") or None
        log.debug("authenticated at %s (identity v2)", self.auth_url)
        return ref

    def current_token(self) -> str | None:
        return self.auth_ref.auth_token if self.auth_ref else None


class RackspaceAuth(PayloadAuth):
    """Rackspace Cloud identity with an API key: identity v2 with the
    ``RAX-KSKEY:apiKeyCredentials`` payload."""

    def __init__(self, username: str, api_key: str, auth_url: str = RACKSPACE_AUTH_URL) -> None:
        self.username = username
        self._api_key = api_key
        super().__init__(auth_url, self._rax_payload)

    def _rax_payload(self) -> dict[str, Any]:
        return {"RAX-KSKEY:apiKeyCredentials": {"username": self.username,
                                                 "apiKey": self._api_key}}

    def __repr__(self) -> str:
        return "RackspaceAuth(auth_url=%r, username=%r, api_key=<hidden>)" % (
            self.auth_url, self.username)


def _current_token(plugin: ksa_plugin.BaseAuthPlugin) -> str | None:
    current = getattr(plugin, "current_token", None)
    if current is not None:
        return current()
    if isinstance(plugin, ksa_identity.BaseIdentityPlugin):
        return plugin.auth_ref.auth_token if plugin.auth_ref else None
    return None


# every Credentials alive, so a forked child gets fresh locks
_ALL: weakref.WeakSet[Credentials] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for creds in list(_ALL):
        creds._lock = threading.Lock()
        creds._session = None
        if hasattr(creds.plugin, "_lock"):  # a lock held by a thread that is gone
            creds.plugin._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# -- Credentials -----------------------------------------------------------------


class Credentials:
    """How to log in, and where the object store is.

    Build one with a class method (:meth:`v1`, :meth:`rackspace`,
    :meth:`password`, :meth:`application_credential`, :meth:`token`,
    :meth:`from_payload`, :meth:`preauthenticated`, :meth:`from_env`).
    :meth:`session` returns the one keystoneauth1 session every connection made
    from these credentials shares; :meth:`endpoint` the storage URL.

    :ivar kind: ``"v1"``, ``"rackspace"``, ``"password"``,
        ``"application_credential"``, ``"token"``, ``"payload"`` or
        ``"preauthenticated"``
    :ivar region: catalog region of the object store, or ``None`` for the
        user's default region (Rackspace) or the first one in the catalog
    :ivar interface: ``"public"`` or ``"internal"`` (ServiceNet)
    :ivar endpoint_override: a storage URL used instead of the catalog's
    """

    def __init__(self, kind: str, plugin: ksa_plugin.BaseAuthPlugin, *,
                 auth_url: str | None = None, username: str | None = None,
                 region: str | None = None, interface: str = "public",
                 service_type: str = "object-store", timeout: float | None = None,
                 endpoint_override: str | None = None) -> None:
        self.kind = kind
        self.plugin = plugin
        self.auth_url = auth_url
        self.username = username
        self.region = region or None
        self.interface = _interface(interface)
        self.service_type = service_type
        self.timeout = timeout
        self.endpoint_override = endpoint_override or None
        self._session: ksa_session.Session | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        _ALL.add(self)

    def __repr__(self) -> str:
        fields = ["kind=%r" % self.kind]
        if self.auth_url:
            fields.append("auth_url=%r" % self.auth_url)
        if isinstance(self.plugin, _PreAuth):
            fields.append("storage_url=%r" % self.plugin.storage_url)
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
        """Swift v1.0 auth (tempauth, swauth, legacy Cloud Files at
        :data:`RACKSPACE_V1_AUTH_URL`): ``user`` is often ``account:user``.
        ``internal=True`` uses Rackspace ServiceNet (``snet-`` storage URL)."""
        _require(auth_url=auth_url, user=user, key=key)
        return cls("v1", V1Auth(auth_url, user, key, internal=internal), auth_url=auth_url,
                   username=user, interface="internal" if internal else "public", **options)

    @classmethod
    def rackspace(cls, username: str, api_key: str, auth_url: str = RACKSPACE_AUTH_URL, *,
                  region: str | None = None, interface: str = "public",
                  internal: bool = False, **options: Any) -> Credentials:
        """Rackspace Cloud identity with an API key (what the Velocity seed's
        default ``IDENTITY`` does).  ``region`` is e.g. ``"DFW"`` (any case;
        default: the user's default region); ``internal=True`` picks the
        ServiceNet (internal) URLs."""
        _require(username=username, api_key=api_key, auth_url=auth_url)
        if "://" in username:
            raise ConfigurationError("Credentials.rackspace(username, api_key, auth_url=...): "
                                     "the user name looks like a URL; check the argument order")
        return cls("rackspace", RackspaceAuth(username, api_key, auth_url), auth_url=auth_url,
                   username=username, region=region, interface=_interface(interface, internal),
                   **options)

    @classmethod
    def from_payload(cls, auth_url: str, payload: Payload, *, region: str | None = None,
                     interface: str = "public", internal: bool = False,
                     tenant_id: str | None = None, tenant_name: str | None = None,
                     username: str | None = None, **options: Any) -> Credentials:
        """Any identity v2 login: ``POST {auth_url}/tokens`` with
        ``{"auth": payload}``.  ``payload`` is a mapping, or a function with no
        arguments returning one (called at each authentication).  ``username``
        only labels the credentials in ``repr()`` and logs."""
        _require(auth_url=auth_url, payload=payload)
        plugin = PayloadAuth(auth_url, payload, tenant_id=tenant_id, tenant_name=tenant_name)
        return cls("payload", plugin, auth_url=auth_url, username=username, region=region,
                   interface=_interface(interface, internal), **options)

    @classmethod
    def preauthenticated(cls, storage_url: str, token: str, **options: Any) -> Credentials:
        """A storage URL and a token obtained elsewhere (``OS_STORAGE_URL`` +
        ``OS_AUTH_TOKEN``).  It cannot be renewed when it expires."""
        _require(storage_url=storage_url, token=token)
        return cls("preauthenticated", _PreAuth(storage_url, token), **options)

    @classmethod
    def password(cls, auth_url: str, username: str | None, password: str, *,
                 project_name: str | None = None, project_id: str | None = None,
                 user_domain_name: str | None = None, user_domain_id: str | None = None,
                 project_domain_name: str | None = None,
                 project_domain_id: str | None = None, user_id: str | None = None,
                 region: str | None = None, interface: str = "public",
                 internal: bool = False, version: str | None = None,
                 **options: Any) -> Credentials:
        """Keystone password login.

        Identity v3 unless ``auth_url`` ends in ``/v2.0`` or ``version="2"``;
        an ``auth_url`` without a version gets ``/v3`` (or ``/v2.0``) appended.
        The user's domain defaults to ``default``; the project's domain to the
        user's.  Without a project, Keystone scopes the token to the user's
        default project.
        """
        _require(auth_url=auth_url, password=password, **{"username or user_id":
                                                          username or user_id})
        from keystoneauth1.identity import v2, v3

        auth_url, major = _versioned_url(auth_url, version)
        plugin: ksa_plugin.BaseAuthPlugin
        if major == "2":
            plugin = v2.Password(auth_url=auth_url, username=username, password=password,
                                 user_id=user_id, tenant_name=project_name,
                                 tenant_id=project_id)
        else:
            user_domain_name, user_domain_id, project_domain_name, project_domain_id = \
                _domains(user_domain_name, user_domain_id, project_domain_name,
                         project_domain_id, project_name)
            plugin = v3.Password(
                auth_url=auth_url, username=username, user_id=user_id, password=password,
                user_domain_name=user_domain_name if username else None,
                user_domain_id=user_domain_id if username else None,
                project_name=project_name, project_id=project_id,
                project_domain_name=project_domain_name, project_domain_id=project_domain_id)
        return cls("password", plugin, auth_url=auth_url, username=username or user_id,
                   region=region, interface=_interface(interface, internal), **options)

    @classmethod
    def application_credential(
            cls, auth_url: str, credential_id: str | None = None, secret: str | None = None,
            *, credential_name: str | None = None, username: str | None = None,
            user_id: str | None = None, user_domain_name: str | None = None,
            user_domain_id: str | None = None, region: str | None = None,
            interface: str = "public", internal: bool = False,
            **options: Any) -> Credentials:
        """Keystone v3 application credential: by ``credential_id``, or by
        ``credential_name`` plus the owner (``user_id``, or ``username`` with
        its domain, default ``default``).  The token is scoped to the project
        the credential was made for."""
        _require(auth_url=auth_url, secret=secret)
        if not (credential_id or credential_name):
            raise ConfigurationError("an application credential needs credential_id "
                                     "(OS_APPLICATION_CREDENTIAL_ID) or credential_name "
                                     "(OS_APPLICATION_CREDENTIAL_NAME)")
        if not credential_id and not (user_id or username):
            raise ConfigurationError(
                "an application credential given by name needs its owner: username "
                "(OS_USERNAME) or user_id (OS_USER_ID)")
        from keystoneauth1.identity import v3

        auth_url, major = _versioned_url(auth_url, "3")
        if username and not (user_domain_name or user_domain_id):
            user_domain_id = "default"
        plugin = v3.ApplicationCredential(
            auth_url=auth_url, application_credential_secret=secret,  # type: ignore[arg-type]
            application_credential_id=credential_id,
            application_credential_name=None if credential_id else credential_name,
            user_id=user_id, username=username, user_domain_id=user_domain_id,
            user_domain_name=user_domain_name)
        return cls("application_credential", plugin, auth_url=auth_url,
                   username=username or user_id, region=region,
                   interface=_interface(interface, internal), **options)

    @classmethod
    def token(cls, auth_url: str, token: str, *, project_name: str | None = None,
              project_id: str | None = None, project_domain_name: str | None = None,
              project_domain_id: str | None = None, region: str | None = None,
              interface: str = "public", internal: bool = False, version: str | None = None,
              **options: Any) -> Credentials:
        """Log in with an existing Keystone token (identity v3 unless
        ``auth_url`` ends in ``/v2.0``), rescoped to a project if one is given.
        For a token plus a storage URL without an identity service use
        :meth:`preauthenticated`."""
        _require(auth_url=auth_url, token=token)
        from keystoneauth1.identity import v2, v3

        auth_url, major = _versioned_url(auth_url, version)
        plugin: ksa_plugin.BaseAuthPlugin
        if major == "2":
            plugin = v2.Token(auth_url=auth_url, token=token, tenant_name=project_name,
                              tenant_id=project_id)
        else:
            if project_name and not (project_domain_name or project_domain_id):
                project_domain_id = "default"
            plugin = v3.Token(auth_url=auth_url, token=token, project_name=project_name,
                              project_id=project_id, project_domain_name=project_domain_name,
                              project_domain_id=project_domain_id)
        return cls("token", plugin, auth_url=auth_url, region=region,
                   interface=_interface(interface, internal), **options)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> Credentials:
        """Credentials from environment variables (``os.environ`` by default).

        Understands an OpenStack RC file (``OS_AUTH_URL``, ``OS_USERNAME``,
        ``OS_PASSWORD``, ``OS_PROJECT_NAME`` ..., ``OS_APPLICATION_CREDENTIAL_*``,
        ``OS_AUTH_TOKEN``, ``OS_AUTH_TYPE``), a pre-authenticated
        ``OS_STORAGE_URL`` + ``OS_AUTH_TOKEN``, and the swift CLI's v1
        ``ST_AUTH``, ``ST_USER``, ``ST_KEY``.  ``OS_REGION_NAME`` and
        ``OS_INTERFACE`` (or ``OS_ENDPOINT_TYPE``) choose the endpoint.

        :raises ConfigurationError: settings are missing or contradict each
            other; the message names the variables to set.
        """
        return _from_env(cls, _Env(os.environ if env is None else env), options)

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

    def get_token(self) -> str:
        """The current token (authenticates if needed).  Keep it secret."""
        token = self.session().get_token()
        if not token:
            raise AuthenticationError("the identity service returned no token")
        return token

    def invalidate(self, token: str | None = None) -> bool:
        """Forget the token so the next request authenticates again.

        With ``token``, only if it is still the current one: when many threads
        see the same expired token, the first one renews it and the others
        reuse the new token.  Returns ``False`` if the token cannot be renewed
        (pre-authenticated credentials).
        """
        with self._lock:
            if token is not None:
                current = _current_token(self.plugin)
                if current is not None and current != token:
                    return True  # already renewed by another thread
                if current is None and not isinstance(self.plugin, _PreAuth):
                    return True  # already invalidated, renewal pending
            renewable = bool(self.plugin.invalidate())
        if renewable:
            log.info("token renewal: authenticating again as %r", self.username)
        return renewable

    def _access(self) -> ksa_access.AccessInfo | None:
        if isinstance(self.plugin, ksa_identity.BaseIdentityPlugin):
            return self.plugin.get_access(self.session())
        return None

    def endpoints(self, service_type: str | None = None) -> list[dict[str, str | None]]:
        """Every catalog endpoint (authenticates if needed), as dicts with
        ``service_type``, ``region``, ``interface`` and ``url``; filtered to
        one service type if given.  Empty for v1 and pre-authenticated
        credentials, which have no catalog."""
        access = self._access()
        if access is None or access.service_catalog is None:
            return []
        found = access.service_catalog.get_endpoints_data(service_type=service_type)
        return [{"service_type": stype, "region": data.region_name,
                 "interface": _interface(data.interface) if data.interface else None,
                 "url": data.catalog_url}
                for stype, items in found.items() for data in items]

    def regions(self, service_type: str | None = None) -> list[str]:
        """Regions the catalog offers ``service_type`` (default: the object
        store) in, in catalog order."""
        seen: list[str] = []
        for ep in self.endpoints(service_type or self.service_type):
            if ep["region"] and ep["region"] not in seen:
                seen.append(ep["region"])  # type: ignore[arg-type]
        return seen

    def endpoint(self, service_type: str | None = None, *, interface: str | None = None,
                 region: str | None = None) -> str:
        """The URL of ``service_type`` (default: the object store, i.e. the
        storage URL) for this region and interface; authenticates if needed.

        :raises AuthenticationError: the catalog has no such endpoint; the
            message lists the regions (or interfaces) it offers.
        """
        service_type = service_type or self.service_type
        interface = _interface(interface) if interface else self.interface
        region = region or self.region
        if self.endpoint_override and service_type == self.service_type:
            return self.endpoint_override
        if not isinstance(self.plugin, ksa_identity.BaseIdentityPlugin):
            url = self.plugin.get_endpoint(self.session(), service_type=service_type,
                                           interface=interface, region_name=region)
            if not url:
                raise AuthenticationError("no %s endpoint for %s credentials"
                                          % (service_type, self.kind))
            return url
        url = self._catalog_url(service_type, interface, region)
        if url is None:
            raise AuthenticationError(self._no_endpoint_message(service_type, interface, region))
        return url

    def cdn_url(self) -> str | None:
        """The Rackspace CDN management URL (service ``rax:object-cdn``, or a
        v1 answer's ``X-CDN-Management-Url``) for this region, or ``None``
        when the account has no CDN service."""
        if isinstance(self.plugin, StorageTokenAuth):
            self.plugin.get_token(self.session())
            return self.plugin.cdn_url
        if not isinstance(self.plugin, ksa_identity.BaseIdentityPlugin):
            return None
        # the CDN API has public URLs only
        return (self._catalog_url(CDN_SERVICE_TYPE, self.interface, self.region)
                or self._catalog_url(CDN_SERVICE_TYPE, "public", self.region))

    def _catalog_url(self, service_type: str, interface: str, region: str | None
                     ) -> str | None:
        access = self._access()
        if access is None or access.service_catalog is None:
            return None
        catalog = access.service_catalog
        if region is None and isinstance(self.plugin, PayloadAuth):
            region = self.plugin.default_region
        candidates = catalog.get_endpoints_data(service_type=service_type,
                                                interface=interface)
        matches = [data for items in candidates.values() for data in items]
        if region is not None:
            exact = [d for d in matches if d.region_name == region]
            # "dfw" finds "DFW"; regionless (global) endpoints serve every region
            matches = exact or [d for d in matches if d.region_name
                                and d.region_name.lower() == region.lower()] or [
                d for d in matches if not d.region_name]
        elif len({d.region_name for d in matches}) > 1:
            log.info("no region chosen: using %s of %s regions %s", matches[0].region_name,
                     service_type, ", ".join(sorted({str(d.region_name) for d in matches})))
        return matches[0].catalog_url if matches else None

    def _no_endpoint_message(self, service_type: str, interface: str,
                             region: str | None) -> str:
        all_eps = self.endpoints()
        offered = [ep for ep in all_eps if ep["service_type"] == service_type]
        if not offered:
            services = sorted({str(ep["service_type"]) for ep in all_eps})
            return ("the catalog has no %s service (services: %s); is the token scoped to a "
                    "project?" % (service_type, ", ".join(services) or "none"))
        regions = []
        for ep in offered:
            if ep["region"] and ep["region"] not in regions:
                regions.append(ep["region"])
        if region and not any((ep["region"] or "").lower() == region.lower()
                              for ep in offered):
            return "region %r not in catalog; %s regions: %s" % (
                region, service_type, ", ".join(str(r) for r in regions) or "(none named)")
        here = sorted({str(ep["interface"]) for ep in offered
                       if region is None or (ep["region"] or "").lower() == region.lower()})
        return "no %s %s endpoint%s; interfaces offered: %s" % (
            interface, service_type, " in region %r" % region if region else "",
            ", ".join(here))

    @property
    def os_options(self) -> dict[str, Any]:
        """What python-swiftclient needs to pick the endpoint from the session."""
        return {"service_type": self.service_type, "endpoint_type": self.interface,
                "region_name": self.region}


# -- helpers ---------------------------------------------------------------------


def _require(**values: Any) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigurationError("missing credential setting(s): %s" % ", ".join(missing))


def _versioned_url(auth_url: str, version: str | None) -> tuple[str, str]:
    """``(auth_url with a version path, "2" or "3")``."""
    url = auth_url.rstrip("/")
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1].lower()
    found = "2" if last in ("v2.0", "v2") else "3" if last in ("v3", "v3.0") else None
    wanted = None
    if version:
        wanted = str(version).lower().lstrip("v").split(".")[0]
        if wanted not in ("2", "3"):
            raise ConfigurationError("identity API version %r is not supported here: use 2 "
                                     "or 3 (or Credentials.v1 for v1.0)" % version)
    if found and wanted and found != wanted:
        raise ConfigurationError(
            "the auth URL %s is identity v%s but version %s was asked for "
            "(OS_IDENTITY_API_VERSION): make them agree" % (auth_url, found, wanted))
    major = found or wanted or "3"
    if not found:
        url += "/v2.0" if major == "2" else "/v3"
    return url, major


def _domains(user_domain_name: str | None, user_domain_id: str | None,
             project_domain_name: str | None, project_domain_id: str | None,
             project_name: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    if not (user_domain_name or user_domain_id):
        user_domain_id = "default"
    if project_name and not (project_domain_name or project_domain_id):
        project_domain_name, project_domain_id = user_domain_name, user_domain_id
    return user_domain_name, user_domain_id, project_domain_name, project_domain_id


class _Env:
    """Environment lookups that treat empty values as unset and spot
    contradicting aliases."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def get(self, *names: str) -> str | None:
        values = {name: self.env.get(name, "").strip() for name in names}
        given = {name: value for name, value in values.items() if value}
        if len(set(given.values())) > 1:
            raise ConfigurationError("contradictory settings: %s; set only one of them" % (
                ", ".join("%s=%r" % item for item in given.items())))
        return next(iter(given.values()), None)

    def has(self, *names: str) -> bool:
        return any(self.env.get(name, "").strip() for name in names)


_ENV_HELP = ("set OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME (source an "
             "OpenStack RC file), or OS_APPLICATION_CREDENTIAL_ID and "
             "OS_APPLICATION_CREDENTIAL_SECRET with OS_AUTH_URL, or OS_STORAGE_URL and "
             "OS_AUTH_TOKEN, or the swift CLI's ST_AUTH, ST_USER and ST_KEY")

_AUTH_TYPES = {
    "password": "password", "v2password": "password", "v3password": "password",
    "v3applicationcredential": "application_credential",
    "applicationcredential": "application_credential",
    "application_credential": "application_credential",
    "token": "token", "v2token": "token", "v3token": "token",
    "v1": "v1", "v1password": "v1", "tempauth": "v1",
    "rackspace": "rackspace", "rackspace_apikey": "rackspace", "rax": "rackspace",
}


def _missing(names: list[str], what: str) -> ConfigurationError:
    return ConfigurationError("%s: set %s" % (what, ", ".join(names)))


def _from_env(cls: type[Credentials], env: _Env, options: dict[str, Any]) -> Credentials:
    region = env.get("OS_REGION_NAME")
    interface = env.get("OS_INTERFACE", "OS_ENDPOINT_TYPE") or "public"
    storage_url = env.get("OS_STORAGE_URL")
    token = env.get("OS_AUTH_TOKEN")
    auth_url = env.get("OS_AUTH_URL")
    version = env.get("OS_IDENTITY_API_VERSION", "OS_AUTH_VERSION")
    auth_type = env.get("OS_AUTH_TYPE")
    where = {"region": region, "interface": interface, **options}

    if auth_type:
        kind = _AUTH_TYPES.get(auth_type.lower().replace("-", "_"))
        if kind is None:
            raise ConfigurationError("OS_AUTH_TYPE=%r is not supported: use one of %s" % (
                auth_type, ", ".join(sorted(_AUTH_TYPES))))
    elif storage_url and token:
        kind = "preauthenticated"
    elif env.has("ST_AUTH"):
        if auth_url:
            raise ConfigurationError("both ST_AUTH (swift v1 auth) and OS_AUTH_URL are set: "
                                     "unset one, or set OS_AUTH_TYPE to choose")
        kind = "st"
    elif version and version.lower().lstrip("v") in ("1", "1.0"):
        kind = "v1"
    elif env.has("OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_NAME",
                 "OS_APPLICATION_CREDENTIAL_SECRET"):
        if env.has("OS_PASSWORD"):
            raise ConfigurationError(
                "both OS_PASSWORD and OS_APPLICATION_CREDENTIAL_* are set: unset one, or set "
                "OS_AUTH_TYPE (password or v3applicationcredential) to choose")
        kind = "application_credential"
    elif env.has("OS_PASSWORD"):
        kind = "password"
    elif token and auth_url:
        kind = "token"
    elif storage_url or token:
        raise _missing(["OS_AUTH_TOKEN" if storage_url else "OS_STORAGE_URL"],
                       "pre-authenticated access needs both OS_STORAGE_URL and OS_AUTH_TOKEN")
    elif auth_url or env.has("OS_USERNAME"):
        raise _missing(["OS_PASSWORD"], "no password in the environment")
    else:
        raise ConfigurationError("no credentials in the environment: " + _ENV_HELP)

    if storage_url and kind != "preauthenticated":
        where["endpoint_override"] = storage_url

    if kind == "preauthenticated":
        _need(env, "pre-authenticated access", "OS_STORAGE_URL", "OS_AUTH_TOKEN")
        return cls.preauthenticated(storage_url, token, **options)  # type: ignore[arg-type]
    if kind == "st":
        _need(env, "swift v1 auth (ST_AUTH)", "ST_AUTH", "ST_USER", "ST_KEY")
        return cls.v1(env.get("ST_AUTH"), env.get("ST_USER"), env.get("ST_KEY"),  # type: ignore
                      internal=_interface(interface) == "internal", **options)
    if kind == "v1":
        _need(env, "v1 auth", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD")
        return cls.v1(auth_url, env.get("OS_USERNAME"), env.get("OS_PASSWORD"),  # type: ignore
                      internal=_interface(interface) == "internal", **options)
    if kind == "rackspace":
        key = env.get("OS_API_KEY", "OS_PASSWORD")
        if not (env.has("OS_USERNAME") and key):
            raise _missing(["OS_USERNAME", "OS_API_KEY (or OS_PASSWORD)"],
                           "Rackspace API-key login needs a user name and key")
        return cls.rackspace(env.get("OS_USERNAME"), key,  # type: ignore[arg-type]
                             auth_url or RACKSPACE_AUTH_URL, **where)
    if not auth_url:
        raise _missing(["OS_AUTH_URL"], "no identity service URL")
    if kind == "token":
        _need(env, "token login", "OS_AUTH_TOKEN")
        return cls.token(auth_url, token, version=version,  # type: ignore[arg-type]
                         project_name=env.get("OS_PROJECT_NAME", "OS_TENANT_NAME"),
                         project_id=env.get("OS_PROJECT_ID", "OS_TENANT_ID"),
                         project_domain_name=env.get("OS_PROJECT_DOMAIN_NAME"),
                         project_domain_id=env.get("OS_PROJECT_DOMAIN_ID"), **where)
    user_domain_name = env.get("OS_USER_DOMAIN_NAME") or (
        None if env.has("OS_USER_DOMAIN_ID") else env.get("OS_DEFAULT_DOMAIN_NAME"))
    user_domain_id = env.get("OS_USER_DOMAIN_ID") or (
        None if user_domain_name else env.get("OS_DEFAULT_DOMAIN_ID", "OS_DEFAULT_DOMAIN"))
    if kind == "application_credential":
        if not env.has("OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_NAME"):
            raise _missing(["OS_APPLICATION_CREDENTIAL_ID"],
                           "application credential login needs the credential's id")
        _need(env, "application credential login", "OS_APPLICATION_CREDENTIAL_SECRET")
        return cls.application_credential(
            auth_url, env.get("OS_APPLICATION_CREDENTIAL_ID"),
            env.get("OS_APPLICATION_CREDENTIAL_SECRET"),
            credential_name=env.get("OS_APPLICATION_CREDENTIAL_NAME"),
            username=env.get("OS_USERNAME"), user_id=env.get("OS_USER_ID"),
            user_domain_name=user_domain_name, user_domain_id=user_domain_id, **where)
    # password
    if not env.has("OS_USERNAME", "OS_USER_ID"):
        raise _missing(["OS_USERNAME (or OS_USER_ID)"], "password login needs a user")
    _need(env, "password login", "OS_PASSWORD")
    project_id = env.get("OS_PROJECT_ID", "OS_TENANT_ID")
    return cls.password(
        auth_url, env.get("OS_USERNAME"), env.get("OS_PASSWORD"),  # type: ignore[arg-type]
        user_id=env.get("OS_USER_ID"), version=version,
        project_name=None if project_id else env.get("OS_PROJECT_NAME", "OS_TENANT_NAME"),
        project_id=project_id,
        user_domain_name=user_domain_name, user_domain_id=user_domain_id,
        project_domain_name=env.get("OS_PROJECT_DOMAIN_NAME"),
        project_domain_id=env.get("OS_PROJECT_DOMAIN_ID"), **where)


def _need(env: _Env, what: str, *names: str) -> None:
    missing = [name for name in names if not env.has(name)]
    if missing:
        raise _missing(missing, "%s needs %s" % (what, " and ".join(names)))
