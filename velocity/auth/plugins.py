"""keystoneauth1 plugins for the identity v2 logins keystoneauth1 does not
know (Rackspace API keys, any identity v2 payload), and the adapter through
which a keystoneauth1 session uses the logins of :mod:`velocity.auth.v1`."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Union

from velocity._keystoneauth import access as ksa_access
from velocity._keystoneauth import plugin as ksa_plugin
from velocity._keystoneauth import session as ksa_session
from velocity._keystoneauth import v2 as ksa_v2
from velocity._log import log
from velocity.auth.v1 import StorageTokenAuth, V1Auth
from velocity.consts import RACKSPACE_AUTH_URL
from velocity.errors import ConfigurationError

__all__ = ["PayloadAuth", "RackspaceAuth", "Payload", "StorageTokenAuth", "V1Auth"]


#: an identity v2 ``auth`` payload, or a function (no arguments) returning one
Payload = Union[Mapping[str, Any], Callable[[], Mapping[str, Any]]]

# -- the logins of velocity.auth.v1, as keystoneauth1 sees them ---------------------


class _Adapter(ksa_plugin.BaseAuthPlugin):
    """What a keystoneauth1 session made by :meth:`Credentials.session()
    <velocity.auth.Credentials.session>` sees of a login that is not a
    keystoneauth1 plugin (:mod:`velocity.auth.v1`): the credentials' own
    token and storage URL, and their renewal."""

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self.credentials = credentials

    def __repr__(self) -> str:
        return "Adapter(%r)" % (self.credentials.plugin,)

    def get_token(self, session: ksa_session.Session) -> str | None:
        return self.credentials.plugin.get_token(self.credentials)

    def get_endpoint(self, session: ksa_session.Session, **kwargs: Any) -> str | None:
        return self.credentials.plugin.get_endpoint(self.credentials, **kwargs)

    def invalidate(self) -> bool:
        return bool(self.credentials.plugin.invalidate())


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

