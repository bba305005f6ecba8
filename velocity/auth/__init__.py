"""Credentials: every way Velocity users log in.

Each flavour is one login object (a keystoneauth1 plugin for the Keystone
and Rackspace identities, with its :class:`keystoneauth1.session.Session`;
a plugin of :mod:`velocity.auth.v1`, needing neither keystoneauth1 nor
``requests``, for v1 and pre-authenticated tokens), made once per
:class:`Credentials` and shared by every connection built from it, so many
threads cause one authentication, and a token that expires is renewed once
for all of them.

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

from velocity.auth.credentials import Credentials
from velocity.auth.options import build_credentials, env_defaults, guess_identity
from velocity.auth.v1 import StorageTokenAuth, V1Auth
from velocity.consts import CDN_SERVICE_TYPE, RACKSPACE_AUTH_URL, RACKSPACE_V1_AUTH_URL

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Credentials", "StorageTokenAuth", "V1Auth", "RackspaceAuth", "PayloadAuth",
           "Payload", "build_credentials", "guess_identity", "env_defaults",
           "RACKSPACE_AUTH_URL", "RACKSPACE_V1_AUTH_URL", "CDN_SERVICE_TYPE"]


def __getattr__(name: str) -> Any:
    # the identity v2 plugins need keystoneauth1: loaded when first asked for
    if name in ("Payload", "PayloadAuth", "RackspaceAuth"):
        from velocity.auth import plugins

        return getattr(plugins, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
