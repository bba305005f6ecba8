"""Shared fixtures.  ``swift_server`` (a session-wide LocalSwift) comes from
velocity's own pytest plugin, registered by the package's ``pytest11`` entry point."""

from __future__ import annotations

import uuid

import pytest
import swiftclient


@pytest.fixture
def raw_conn(swift_server):
    """A plain python-swiftclient connection to the session's LocalSwift, for
    checking what Velocity did from the outside."""
    conn = swiftclient.Connection(authurl=swift_server.auth_url, user=swift_server.user,
                                  key=swift_server.key, retries=0)
    yield conn
    conn.close()


@pytest.fixture
def container_name(raw_conn):
    """A fresh container name; the container and its segments are removed afterwards."""
    name = "t-" + uuid.uuid4().hex[:12]
    yield name
    for cname in (name, name + "_segments"):
        try:
            _, objects = raw_conn.get_container(cname, full_listing=True)
        except swiftclient.ClientException:
            continue
        for obj in objects:
            try:
                raw_conn.delete_object(cname, obj["name"])
            except swiftclient.ClientException:
                pass
        try:
            raw_conn.delete_container(cname)
        except swiftclient.ClientException:
            pass


@pytest.fixture(scope="session")
def credentials(swift_server):
    """tempauth v1 credentials for the session's LocalSwift."""
    from velocity.auth import Credentials

    return Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)


@pytest.fixture(scope="module")
def proxy(swift_server):
    """A fault-injecting (and request-counting) loopback proxy in front of
    the session's LocalSwift; injects nothing until a test adds a rule."""
    from faultproxy import FaultProxy

    with FaultProxy(swift_server.proxy_url) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def via_proxy(proxy, swift_server):
    """Credentials whose requests all go through :func:`proxy`."""
    from velocity.auth import Credentials

    return Credentials.v1(proxy.rewrite(swift_server.auth_url), swift_server.user,
                          swift_server.key)


@pytest.fixture(scope="session")
def client(credentials):
    """A SwiftClient shared by the session (it is thread-safe)."""
    from velocity.client import SwiftClient

    with SwiftClient(credentials) as swift:
        yield swift


@pytest.fixture(scope="module")
def conn(swift_server):
    """A cloudfiles-style ``velocity.Connection`` to the session's LocalSwift."""
    from velocity.connection import Connection

    with Connection(swift_server.user, swift_server.key,
                    authurl=swift_server.auth_url) as connection:
        yield connection


@pytest.fixture
def container(conn, container_name):
    """A fresh container (a ``velocity.Container``), removed afterwards."""
    return conn.create_container(container_name)
