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

from velocity.auth.credentials import Credentials
from velocity.auth.options import build_credentials, env_defaults, guess_identity
from velocity.auth.plugins import Payload, PayloadAuth, RackspaceAuth, StorageTokenAuth, V1Auth
from velocity.consts import CDN_SERVICE_TYPE, RACKSPACE_AUTH_URL, RACKSPACE_V1_AUTH_URL

__all__ = ["Credentials", "StorageTokenAuth", "V1Auth", "RackspaceAuth", "PayloadAuth",
           "Payload", "build_credentials", "guess_identity", "env_defaults",
           "RACKSPACE_AUTH_URL", "RACKSPACE_V1_AUTH_URL", "CDN_SERVICE_TYPE"]
