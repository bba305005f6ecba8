"""Connection and ConnectionPool against a real Swift (LocalSwift).

Ports python-cloudfiles 1.7.11's AuthenticationTest, ConnectionTest and
ConnectionPoolTest, plus what that suite never checked (404 / 409, paging,
authentication failures, custom authenticators, threads).
"""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
import swiftclient

from velocity import errors
from velocity.auth import Credentials
from velocity.connection import Connection, ConnectionPool, get_connection
from velocity.container import Container, ContainerResults


class V1Authenticator:
    """A python-cloudfiles style custom authenticator (``auth=``)."""

    def __init__(self, server, cdn_url=None):
        self.server = server
        self.cdn_url = cdn_url
        self.calls = 0

    def authenticate(self):
        self.calls += 1
        url, token = swiftclient.get_auth(self.server.auth_url, self.server.user,
                                          self.server.key)
        return url, self.cdn_url, token


# -- construction and authentication ------------------------------------------

def test_connection_authenticates_in_the_constructor(swift_server, conn):
    assert conn.timeout == 15
    assert isinstance(conn.credentials, Credentials)
    assert conn.client.credentials is conn.credentials
    assert conn.storage_url.startswith(swift_server.proxy_url)
    assert conn.uri == conn.connection_args[2] and conn.uri.startswith("v1/AUTH_")
    assert conn.connection_args[0] == "127.0.0.1"
    assert conn.cdn_enabled is False and conn.cdn_url is None


def test_wrong_key_fails_at_construction(swift_server):
    with pytest.raises(errors.AuthenticationFailed):
        Connection(swift_server.user, "not-the-key", authurl=swift_server.auth_url)


def test_repr_hides_the_key_and_token(swift_server, conn):
    text = repr(conn) + repr(conn.credentials) + repr(conn.client)
    assert swift_server.key not in text
    assert conn.token not in text


def test_missing_arguments_are_refused():
    with pytest.raises(errors.ConfigurationError, match="username and api_key"):
        Connection()
    with pytest.raises(errors.ConfigurationError, match="username and api_key"):
        Connection("user")


def test_unknown_keyword_is_refused(swift_server):
    with pytest.raises(errors.ConfigurationError, match="bogus"):
        Connection(swift_server.user, swift_server.key, authurl=swift_server.auth_url,
                   bogus=1)


def test_default_authurl_is_rackspace_v1():
    from velocity import consts
    from velocity.auth import RACKSPACE_V1_AUTH_URL

    assert consts.default_authurl == consts.us_authurl == RACKSPACE_V1_AUTH_URL


def test_custom_authenticator_object(swift_server):
    auth = V1Authenticator(swift_server)
    conn = Connection(auth=auth, timeout=33)
    assert auth.calls == 1  # authenticated in the constructor
    assert conn.timeout == 33
    assert isinstance(conn.list_containers(), list)
    assert conn.cdn_enabled is False


def test_custom_authenticator_cdn_url_is_used(swift_server):
    # the CDN management URL an authenticator answers with is the account's CDN
    auth = V1Authenticator(swift_server, cdn_url="https://cdn.example.test/v1/acct")
    conn = Connection(auth=auth)
    assert conn.credentials.cdn_url() == "https://cdn.example.test/v1/acct"
    assert conn.cdn_enabled is True


def test_authenticator_answer_must_be_usable():
    class Broken:
        def authenticate(self):
            return None, None, None

    with pytest.raises(errors.AuthenticationError, match="Invalid response"):
        Connection(auth=Broken())


def test_credentials_keyword_and_get_connection(swift_server, credentials):
    conn = get_connection(credentials=credentials, retries=0)
    assert conn.credentials is credentials
    assert conn.client.retry.retries == 0
    assert conn.get_info()[0] is not None


def test_servicenet_rewrites_https_storage_urls():
    class HttpsAuth:
        def authenticate(self):
            return "https://storage.example.com/v1/acct", None, "tok"

    conn = Connection(auth=HttpsAuth(), servicenet=True)
    assert conn.connection_args[0].startswith("snet-")
    assert conn.connection_args[:3] == ("snet-storage.example.com", 443, "v1/acct")


def test_from_env(swift_server):
    env = {"ST_AUTH": swift_server.auth_url, "ST_USER": swift_server.user,
           "ST_KEY": swift_server.key}
    conn = Connection.from_env(env)
    assert conn.storage_url.startswith(swift_server.proxy_url)


def test_socket_default_timeout_is_left_alone(conn):
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(21)
    try:
        conn.list_containers()
        assert socket.getdefaulttimeout() == 21.0
    finally:
        socket.setdefaulttimeout(old)


# -- containers ---------------------------------------------------------------------

def test_create_get_delete_container(conn, container_name, raw_conn):
    created = conn.create_container(container_name)
    assert isinstance(created, Container) and created.name == container_name
    raw_conn.head_container(container_name)
    again = conn.create_container(container_name)  # existing: returned, no error
    assert again.name == container_name
    got = conn.get_container(container_name)
    assert isinstance(got, Container)
    assert (got.object_count, got.size_used, got.metadata) == (0, 0, {})
    assert conn[container_name].name == container_name
    assert container_name in conn
    conn.delete_container(got)
    with pytest.raises(swiftclient.ClientException):
        raw_conn.head_container(container_name)
    assert container_name not in conn


def test_create_container_error_on_existing(conn, container_name):
    conn.create_container(container_name, error_on_existing=True)
    with pytest.raises(errors.ContainerExists, match="already exists") as info:
        conn.create_container(container_name, error_on_existing=True)
    assert info.value.status == 202
    assert isinstance(info.value, errors.ResponseError)


def test_get_container_reports_counts_and_metadata(conn, container_name, raw_conn):
    raw_conn.put_container(container_name, headers={"X-Container-Meta-Color": "blue"})
    raw_conn.put_object(container_name, "a", b"12345")
    container = conn.get_container(container_name)
    assert container.object_count == 1 and container.size_used == 5
    assert container.metadata == {"color": "blue"}


def test_missing_container_404(conn):
    name = "missing-" + uuid.uuid4().hex
    with pytest.raises(errors.NoSuchContainer) as info:
        conn.get_container(name)
    assert info.value.status == 404
    assert isinstance(info.value, errors.ResponseError)
    with pytest.raises(errors.NoSuchContainer):
        conn[name]
    with pytest.raises(errors.NoSuchContainer):
        conn.delete_container(name)


def test_delete_non_empty_container_409(conn, container_name, raw_conn):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "keep", b"x")
    with pytest.raises(errors.ContainerNotEmpty) as info:
        conn.delete_container(container_name)
    assert info.value.status == 409
    raw_conn.head_object(container_name, "keep")


@pytest.mark.parametrize("bad", ["", "yougivelove/abadname", "a" * 257, "é" * 129, None])
def test_bad_container_names(conn, bad):
    for call in (conn.create_container, conn.get_container, conn.delete_container):
        with pytest.raises(errors.InvalidContainerName):
            call(bad)


def test_bad_container_name_messages_name_the_rule(conn):
    with pytest.raises(errors.InvalidContainerName, match="must not be empty"):
        conn.create_container("")
    with pytest.raises(errors.InvalidContainerName, match="'/'"):
        conn.create_container("a/b")
    with pytest.raises(errors.InvalidContainerName, match="256 bytes"):
        conn.create_container("é" * 129)  # 129 chars but 258 bytes


def test_container_name_of_256_bytes_is_fine(conn, raw_conn):
    name = "t-" + uuid.uuid4().hex[:10]
    name += "x" * (256 - len(name))
    try:
        assert conn.create_container(name).name == name
        raw_conn.head_container(name)
    finally:
        raw_conn.delete_container(name)


# -- listings ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def many_containers(swift_server):
    """25 containers with a common prefix (cheap paging tests)."""
    raw = swiftclient.Connection(authurl=swift_server.auth_url, user=swift_server.user,
                                 key=swift_server.key, retries=0)
    prefix = "pg-%s-" % uuid.uuid4().hex[:6]
    names = ["%s%02d" % (prefix, i) for i in range(25)]
    for name in names:
        raw.put_container(name)
    raw.put_object(names[2], "obj", b"abc")
    swift_server.run_updater()  # account listings show container totals after this
    yield prefix, names
    raw.delete_object(names[2], "obj")
    for name in names:
        raw.delete_container(name)
    raw.close()


def test_get_all_containers(conn, many_containers):
    prefix, names = many_containers
    results = conn.get_all_containers(prefix=prefix)
    assert isinstance(results, ContainerResults)
    assert len(results) == 25
    assert all(isinstance(c, Container) for c in results)
    assert results.count(names[0]) == 1
    assert results.index(names[2]) == 2
    third = results[2]
    assert (third.name, third.object_count, third.size_used) == (names[2], 1, 3)
    assert results[-1].name == names[-1]
    assert repr(results) == "ContainerResults: 25 containers"


def test_container_results_are_real_sequences(conn, many_containers):
    prefix, names = many_containers
    results = conn.get_all_containers(prefix=prefix)
    part = results[1:4]
    assert isinstance(part, ContainerResults)
    assert [c.name for c in part] == names[1:4]
    assert names[3] in results
    assert results[3] in results  # a Container works as well as its name
    assert "nope" not in results
    assert results.index(results[5]) == 5
    assert list(reversed(results))[0].name == names[-1]


def test_listings_page_past_the_page_size(conn, many_containers, monkeypatch):
    prefix, names = many_containers
    monkeypatch.setattr(conn, "page_size", 10)
    calls = []
    monkeypatch.setattr(conn.client, "call", _counting_call(conn.client, calls))
    assert conn.list_containers(prefix=prefix) == names
    # 10 + 10 + 5, then an empty page: a short page does not end a listing (Ceph RGW
    # returns them mid-listing)
    assert [call["limit"] for call in calls] == [10, 10, 10, 10]
    assert conn.get_all_containers(prefix=prefix).names == names


def _counting_call(client, calls):
    real_call = type(client).call

    def call(operation, *args, **kwargs):
        if operation == "get_account":
            calls.append(kwargs)
        return real_call(client, operation, *args, **kwargs)

    return call


def test_listing_limit_and_marker(conn, many_containers, monkeypatch):
    prefix, names = many_containers
    monkeypatch.setattr(conn, "page_size", 10)
    assert conn.list_containers(limit=12, prefix=prefix) == names[:12]
    assert conn.list_containers(marker=names[4], prefix=prefix) == names[5:]
    assert conn.list_containers(marker=names[4], limit=3, prefix=prefix) == names[5:8]
    assert conn.list_containers(prefix=prefix, end_marker=names[3]) == names[:3]
    info = conn.list_containers_info(prefix=prefix, limit=3)
    assert [d["name"] for d in info] == names[:3]
    assert {"name", "count", "bytes"} <= set(info[2])
    assert (info[2]["count"], info[2]["bytes"]) == (1, 3)


def test_list_containers_returns_lists(conn):
    assert isinstance(conn.list_containers(), list)
    assert isinstance(conn.list_containers_info(), list)


def test_iterating_a_connection_yields_containers(conn, many_containers):
    prefix, names = many_containers
    seen = [c.name for c in conn if c.name.startswith(prefix)]
    assert seen == names


def test_unknown_account_listing_parameter(conn):
    with pytest.raises(errors.ConfigurationError, match="offset"):
        conn.list_containers(offset=3)


# -- account ---------------------------------------------------------------------------

def test_get_info_counts_containers_and_bytes(swift_server, container_name, raw_conn):
    # a fresh account, so the totals are exactly what this test stored
    user, key = "test2:tester2", "testing2"
    conn = Connection(user, key, authurl=swift_server.auth_url)
    raw = swiftclient.Connection(authurl=swift_server.auth_url, user=user, key=key, retries=0)
    raw.put_container(container_name)
    raw.put_object(container_name, "x", b"0123456789")
    try:
        swift_server.run_updater()
        count, used = conn.get_info()
        assert isinstance(count, int) and isinstance(used, int)
        assert len(conn.get_info()) == 2
        assert count == len(conn.list_containers())
        _, listing = raw.get_account(full_listing=True)
        assert used == sum(c["bytes"] for c in listing)
        assert count >= 1 and used >= 10
    finally:
        raw.delete_object(container_name, "x")
        raw.delete_container(container_name)
        raw.close()


def test_update_account_metadata(conn, raw_conn):
    conn.update_account_metadata({"X-Account-Meta-Velocity-Test": "one", "flavour": "two"})
    headers = raw_conn.head_account()
    assert headers["x-account-meta-velocity-test"] == "one"
    assert conn.get_account_metadata()["flavour"] == "two"
    conn.update_account_metadata({"X-Account-Meta-Velocity-Test": "", "flavour": ""})
    assert "flavour" not in conn.get_account_metadata()


def test_account_metadata_is_validated_before_any_request(conn):
    with pytest.raises(errors.InvalidMetaName, match="128 bytes"):
        conn.update_account_metadata({"k" * 129: "v"})
    with pytest.raises(errors.InvalidMetaValue, match="256 bytes"):
        conn.update_account_metadata({"k": "v" * 257})


def test_list_public_containers_without_cdn(conn, container_name):
    container = conn.create_container(container_name)
    assert container_name not in conn.list_public_containers()
    container.make_public()
    assert container_name in conn.list_public_containers()


# -- pool ---------------------------------------------------------------------------------

def test_connection_pool(swift_server):
    pool = ConnectionPool(swift_server.user, swift_server.key, poolsize=22, timeout=33,
                          authurl=swift_server.auth_url)
    assert pool.maxsize == 22
    conn = pool.get()
    assert isinstance(conn, Connection)
    assert conn.timeout == 33
    pool.put(conn)
    assert pool.get() is conn  # reused
    other = pool.get()  # the pool is empty: a new one, sharing the login
    assert other is not conn and other.credentials is conn.credentials
    assert other.timeout == 33


def test_connection_pool_with_custom_authenticator(swift_server):
    pool = ConnectionPool(auth=V1Authenticator(swift_server), poolsize=2)
    with pool.connection() as conn:
        assert isinstance(conn.list_containers(), list)
    assert pool.qsize() == 1


def test_connection_pool_drops_extra_connections(swift_server):
    pool = ConnectionPool(swift_server.user, swift_server.key, poolsize=1,
                          authurl=swift_server.auth_url)
    first, second = pool.get(), pool.get()
    pool.put(first)
    pool.put(second)  # full: dropped, no blocking
    assert pool.qsize() == 1


def test_connection_pool_under_threads(swift_server, container_name, raw_conn):
    raw_conn.put_container(container_name)
    pool = ConnectionPool(swift_server.user, swift_server.key, poolsize=4,
                          authurl=swift_server.auth_url)
    failures = []
    used = set()
    lock = threading.Lock()

    def work(i):
        try:
            for j in range(3):
                conn = pool.get()
                with lock:
                    used.add(id(conn))
                obj = conn[container_name].create_object("t%d-%d" % (i, j))
                obj.write(b"thread %d %d" % (i, j))
                pool.put(conn)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    _, listing = raw_conn.get_container(container_name)
    assert len(listing) == 18
    assert pool.qsize() <= 4
    assert raw_conn.get_object(container_name, "t5-2")[1] == b"thread 5 2"
