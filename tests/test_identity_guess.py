"""Every face reads loose login options the same way: one builder
(:func:`velocity.auth.build_credentials`) guesses the identity flavour from the
auth URL, and says what it guessed when the options do not make a login."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from velocity import Connection, Velocity, errors
from velocity.auth import Credentials, build_credentials, guess_identity
from velocity.client import SwiftClient


@pytest.mark.parametrize("url, kind", [
    ("http://127.0.0.1:8080/auth/v1.0", "v1"),
    ("http://127.0.0.1:8080/auth/v1.0/", "v1"),
    ("https://auth.api.rackspacecloud.com/v1.0", "v1"),
    ("https://swift.example.com/auth", "v1"),
    ("https://swift.example.com/v1", "v1"),
    ("https://identity.api.rackspacecloud.com/v2.0", "rackspace"),
    ("https://keystone.example.com/v2.0", "password"),
    ("https://keystone.example.com/v3", "password"),
    ("https://keystone.example.com:5000", "password"),
])
def test_the_flavour_is_guessed_from_the_url(url, kind):
    assert guess_identity(url) == kind
    if kind == "password":
        creds = build_credentials(auth_url=url, user="u", key="k", project_name="p")
    else:
        creds = build_credentials(auth_url=url, user="u", key="k")
    assert creds.kind == kind


def test_an_error_says_what_was_guessed():
    with pytest.raises(errors.ConfigurationError, match="v1 .*guessed from the auth URL "
                                                        "http://h/auth/v1.0.*key"):
        build_credentials(auth_url="http://h/auth/v1.0", user="u")
    with pytest.raises(errors.ConfigurationError, match="unknown identity 'ldap'"):
        build_credentials("ldap", auth_url="http://h/v3", user="u", key="k")


def _works(creds: Credentials) -> None:
    with SwiftClient(creds) as client:
        assert "x-account-object-count" in client.head_account()


def test_velocity_with_a_v1_url_logs_in_with_v1(swift_server):
    """Velocity(None, user, key, region, auth_url=".../auth/v1.0") used to
    post to .../auth/v1.0/tokens (Rackspace style) and fail with a bare 405."""
    async def main():
        async with Velocity(None, swift_server.user, swift_server.key, None,
                            auth_url=swift_server.auth_url) as velocity:
            await velocity.authenticate_async()
            return velocity.identity, velocity.credentials.kind

    assert asyncio.run(main()) == ("v1", "v1")


def test_os_variables_with_a_v1_url_log_in_with_v1(swift_server):
    creds = Credentials.from_env({"OS_AUTH_URL": swift_server.auth_url,
                                  "OS_USERNAME": swift_server.user,
                                  "OS_PASSWORD": swift_server.key})
    assert creds.kind == "v1"
    _works(creds)


def test_connection_with_a_v1_url(swift_server):
    with Connection(swift_server.user, swift_server.key, authurl=swift_server.auth_url) as conn:
        assert conn.credentials.kind == "v1"
        assert conn.get_info()[0] is not None


def test_cli_flags_with_a_v1_url(swift_server):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    proc = subprocess.run([sys.executable, "-m", "velocity.cli", "stat", "-A",
                           swift_server.auth_url, "-U", swift_server.user, "-K",
                           swift_server.key, "--json"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_same_options_make_the_same_credentials_on_every_face(swift_server):
    """Connection, Velocity and from_env agree on what one URL means."""
    url, user, key = swift_server.auth_url, swift_server.user, swift_server.key
    with Connection(user, key, authurl=url) as conn:
        from_connection = conn.credentials
    from_velocity = Velocity(None, user, key, auth_url=url).credentials
    from_env = Credentials.from_env({"OS_AUTH_URL": url, "OS_USERNAME": user,
                                     "OS_PASSWORD": key})
    described = {repr(c) for c in (from_connection, from_velocity, from_env)}
    assert len(described) == 1, described
