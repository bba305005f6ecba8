"""Logins answered with a storage URL and a token directly: Swift's v1.0
protocol (tempauth, swauth, legacy Cloud Files) and a pre-authenticated
token.  Standard library only: a command that logs in this way never loads
keystoneauth1 or ``requests`` (an HTTP proxy set in the environment for the
auth URL is the exception: then keystoneauth1's session sends the login, as
it does every other one).

These plugins are asked by :class:`~velocity.auth.Credentials`, which it
hands itself as ``via`` (for its timeout, TLS settings and session); a
keystoneauth1 session made with :meth:`Credentials.session()
<velocity.auth.Credentials.session>` sees them through an adapter.
"""

from __future__ import annotations

import threading

from velocity._log import log
from velocity._wire import env_proxies, request
from velocity.errors import AuthenticationError, AuthenticationFailed, ConfigurationError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["StorageTokenAuth", "V1Auth", "PreAuth", "interface"]


_INTERFACES = {"public": "public", "publicurl": "public", "internal": "internal",
               "internalurl": "internal", "admin": "admin", "adminurl": "admin"}


def interface(value: str | None, internal: bool = False) -> str:
    """``"public"``, ``"internal"`` or ``"admin"`` from any of their
    spellings (``publicURL`` ...); ``internal=True`` wins."""
    if internal:
        return "internal"
    if not value:
        return "public"
    try:
        return _INTERFACES[value.lower()]
    except KeyError:
        raise ConfigurationError(
            "unknown endpoint interface %r: use public, internal or admin" % value) from None


class StorageTokenAuth:
    """Base of the logins that answer with a storage URL and a token
    directly (Swift's v1.0 protocol, python-cloudfiles style
    authenticators): one login at a time, its answer kept until
    :meth:`invalidate`.  ``internal=True`` turns a Rackspace storage URL into
    its ServiceNet form (``https://snet-...``), as python-cloudfiles'
    ``servicenet=True`` did.  Subclasses write :meth:`_login`."""

    def __init__(self, internal: bool = False) -> None:
        self.internal = internal
        self._lock = threading.Lock()
        self._token: str | None = None
        self._storage_url: str | None = None
        #: the CDN management URL the login answered with, if any
        self.cdn_url: str | None = None
        #: how many times this plugin authenticated (for tests and diagnostics)
        self.auth_count = 0

    def _login(self, via: Any) -> tuple[str, str, str | None]:
        """Log in: ``(storage_url, token, cdn_url or None)``."""
        raise NotImplementedError

    def _authenticate(self, via: Any) -> None:
        with self._lock:
            if self._token is not None:
                return
            url, token, cdn_url = self._login(via)
            if self.internal and url.startswith("https://"):
                url = "https://snet-" + url[len("https://"):]
            self._storage_url, self._token, self.cdn_url = url, token, cdn_url or None
            self.auth_count += 1

    @property
    def storage_url(self) -> str | None:
        """The storage URL of the last login (``None`` before the first)."""
        return self._storage_url

    def get_token(self, via: Any = None) -> str | None:
        """The token (logs in first if there is none)."""
        self._authenticate(via)
        return self._token

    def get_endpoint(self, via: Any = None, **kwargs: Any) -> str | None:
        """The storage URL (logs in first if there is none)."""
        self._authenticate(via)
        return self._storage_url

    def current_token(self) -> str | None:
        """The token held now, without authenticating."""
        return self._token

    def invalidate(self) -> bool:
        """Forget the token: the next use logs in again."""
        with self._lock:
            self._token = None
        return True


class V1Auth(StorageTokenAuth):
    """Swift's v1.0 protocol (tempauth, swauth, legacy Rackspace Cloud
    Files): ``GET auth_url`` with ``X-Auth-User`` and ``X-Auth-Key``,
    answered with ``X-Storage-Url`` and ``X-Auth-Token``.

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

    def _login(self, via: Any) -> tuple[str, str, str | None]:
        sent = {"X-Auth-User": self.user, "X-Auth-Key": self._key}
        if via is not None and env_proxies(self.auth_url):
            # log=False: keystoneauth does not redact X-Auth-Key in its debug log
            response = via.session().get(self.auth_url, headers=sent, authenticated=False,
                                         log=False, raise_exc=False)
            status, reason, headers = response.status_code, response.reason, response.headers
        else:
            https = self.auth_url.lower().startswith("https:")
            status, reason, headers = request(
                "GET", self.auth_url, sent, timeout=getattr(via, "timeout", None),
                context=via.tls() if https and via is not None else None)
        request_id = headers.get("X-Trans-Id")
        if status in (401, 403):
            raise AuthenticationFailed(
                "the identity service refused user %r (check the user and key)" % self.user,
                status=status, reason=reason, method="GET", path=self.auth_url,
                request_id=request_id)
        if status >= 300:
            raise AuthenticationError("authentication failed", status=status, reason=reason,
                                      method="GET", path=self.auth_url, request_id=request_id)
        url = headers.get("X-Storage-Url")
        token = headers.get("X-Auth-Token") or headers.get("X-Storage-Token")
        if not url or not token:
            raise AuthenticationError(
                "the v1 auth answer lacks X-Storage-Url or X-Auth-Token", method="GET",
                path=self.auth_url)
        log.debug("authenticated user %r at %s (v1)", self.user, self.auth_url)
        return url, token, headers.get("X-CDN-Management-Url")


class PreAuth:
    """A fixed storage URL and token (nothing to renew)."""

    def __init__(self, storage_url: str, token: str) -> None:
        self.storage_url = storage_url
        self._token = token

    def __repr__(self) -> str:
        return "PreAuth(storage_url=%r, token=<hidden>)" % self.storage_url

    def get_token(self, via: Any = None) -> str | None:
        return self._token

    def get_endpoint(self, via: Any = None, **kwargs: Any) -> str | None:
        return self.storage_url

    def current_token(self) -> str | None:
        return self._token

    def invalidate(self) -> bool:
        return False  # a fixed token cannot be renewed
