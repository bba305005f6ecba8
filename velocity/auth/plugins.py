"""keystoneauth1 plugins for the logins keystoneauth1 does not know: Swift v1.0,
pre-authenticated tokens, Rackspace API keys and any identity v2 payload."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Union

from velocity._keystoneauth import access as ksa_access
from velocity._keystoneauth import identity_base as ksa_identity
from velocity._keystoneauth import plugin as ksa_plugin
from velocity._keystoneauth import session as ksa_session
from velocity._keystoneauth import v2 as ksa_v2
from velocity.consts import RACKSPACE_AUTH_URL
from velocity.errors import AuthenticationError, AuthenticationFailed, ConfigurationError

log = logging.getLogger("velocity")

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
