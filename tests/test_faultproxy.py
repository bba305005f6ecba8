"""The fault-injecting proxy of tests/faultproxy.py, against the real LocalSwift."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
from urllib.parse import urlsplit

import pytest
import requests
import swiftclient
import urllib3
from faultproxy import FaultProxy


@pytest.fixture(scope="module")
def proxy(swift_server):
    with FaultProxy(swift_server.proxy_url, seed=1) as fault_proxy:
        yield fault_proxy


@pytest.fixture(autouse=True)
def _fresh(proxy):
    proxy.clear()
    proxy.reset_stats()
    yield
    proxy.clear()


@pytest.fixture
def session(proxy, swift_server):
    """``(storage_path, token, connection)``: authenticated through the proxy
    with raw http.client; the connection (to the proxy) is closed afterwards."""
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(proxy.url).port, timeout=10)
    url, token = _auth(conn, swift_server)
    assert url.startswith(proxy.url + "/v1/")
    yield urlsplit(url).path, token, conn
    conn.close()


@pytest.fixture
def swift(proxy, swift_server):
    """A swiftclient connection whose auth and storage traffic goes through the proxy."""
    conn = swiftclient.Connection(authurl=proxy.rewrite(swift_server.auth_url),
                                  user=swift_server.user, key=swift_server.key, retries=0,
                                  starting_backoff=0.01)
    yield conn
    conn.close()


def _auth(conn: http.client.HTTPConnection, swift_server) -> tuple[str, str]:
    conn.request("GET", "/auth/v1.0", headers={"X-Auth-User": swift_server.user,
                                               "X-Auth-Key": swift_server.key})
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    return response.getheader("X-Storage-Url"), response.getheader("X-Auth-Token")


def _request(conn: http.client.HTTPConnection, method: str, path: str, token: str,
             body: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, dict[str, str], bytes]:
    conn.request(method, path, body=body, headers={"X-Auth-Token": token, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


@pytest.fixture
def stored(raw_conn, container_name):
    """``(container, name, data)``: a 1 MiB object stored directly in Swift."""
    data = os.urandom(1024 * 1024)
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "blob", data)
    return container_name, "blob", data


def test_auth_is_aliased_and_storage_goes_through_proxy(proxy, swift, swift_server,
                                                        raw_conn, container_name):
    url, token = swift.get_auth()
    assert url == proxy.url + "/v1/" + swift_server.account
    assert token.startswith("AUTH_tkfp") and token != raw_conn.get_auth()[1]
    swift.put_container(container_name)
    swift.put_object(container_name, "o", b"hello")
    assert swift.get_object(container_name, "o")[1] == b"hello"
    assert raw_conn.get_object(container_name, "o")[1] == b"hello"
    assert proxy.stats.requests == {"GET": 2, "PUT": 2}
    assert proxy.stats.request_body_bytes == 5
    assert proxy.stats.response_body_bytes >= 5
    assert [(m, s) for m, _, s, _ in proxy.stats.log] == [
        ("GET", 200), ("PUT", 201), ("PUT", 201), ("GET", 200)]


def test_unknown_token_passes_through(proxy, raw_conn):
    url, token = raw_conn.get_auth()
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(proxy.url).port, timeout=10)
    status, _, _ = _request(conn, "HEAD", urlsplit(url).path, token)
    conn.close()
    assert status == 204


def test_status_with_retry_after(proxy, swift, container_name):
    rule = proxy.add("status", method="PUT", path=container_name, status=503, retry_after="7")
    with pytest.raises(swiftclient.ClientException) as caught:
        swift.put_container(container_name)
    assert caught.value.http_status == 503
    assert caught.value.http_response_headers["retry-after"] == "7"
    assert rule.fired == 1 and proxy.stats.injected["status"] == 1
    with pytest.raises(swiftclient.ClientException) as caught:
        swift.head_container(container_name)  # not injected: HEAD, and really absent
    assert caught.value.http_status == 404


def test_status_answers_expect_100_continue_without_reading_body(proxy, session):
    path, token, _ = session
    proxy.add("status", status=507)
    with socket.create_connection(("127.0.0.1", urlsplit(proxy.url).port), timeout=5) as sock:
        sock.sendall(b"PUT %s/c HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
                     b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"
                     % (path.encode(), token.encode()))
        answer = sock.makefile("rb").read()  # the proxy closes after answering
    assert answer.startswith(b"HTTP/1.1 507 Insufficient Storage\r\n")
    assert b"\r\nConnection: close\r\n" in answer
    assert proxy.stats.request_body_bytes == 0


def test_expect_100_continue_is_handled(proxy, session, raw_conn, container_name):
    path, token, _ = session
    raw_conn.put_container(container_name)
    with socket.create_connection(("127.0.0.1", urlsplit(proxy.url).port), timeout=5) as sock:
        rfile = sock.makefile("rb")
        sock.sendall(b"PUT %s/%s/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
                     b"Content-Length: 3\r\nExpect: 100-continue\r\n\r\n"
                     % (path.encode(), container_name.encode(), token.encode()))
        assert rfile.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert rfile.readline() == b"\r\n"
        sock.sendall(b"abc")
        assert rfile.readline().startswith(b"HTTP/1.1 201 ")
    assert raw_conn.get_object(container_name, "o")[1] == b"abc"
    assert "expect" in proxy.stats.log[-1][3]


def test_reset_request_on_put(proxy, swift, raw_conn, container_name):
    raw_conn.put_container(container_name)
    swift.head_account()
    proxy.add("reset_request", method="PUT", at=0.25)
    with pytest.raises(requests.exceptions.ConnectionError):
        swift.put_object(container_name, "o", os.urandom(4 * 1024 * 1024))
    with pytest.raises(swiftclient.ClientException) as caught:
        raw_conn.head_object(container_name, "o")
    assert caught.value.http_status == 404
    assert proxy.stats.injected["reset_request"] == 1
    assert proxy.stats.request_body_bytes == 1024 * 1024
    assert proxy.stats.log[-1][:3] == ("PUT", urlsplit(swift.url).path + "/%s/o"
                                       % container_name, None)


def test_reset_response_on_get(proxy, session, stored):
    path, token, conn = session
    container, name, data = stored
    proxy.add("reset_response", method="GET", path="/blob$", at=0.5)
    conn.request("GET", "%s/%s/%s" % (path, container, name), headers={"X-Auth-Token": token})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Length") == str(len(data))
    with pytest.raises((ConnectionError, http.client.IncompleteRead)):
        response.read()


def test_truncate_on_get(proxy, session, stored):
    path, token, conn = session
    container, name, data = stored
    proxy.add("truncate", method="GET", at=0.25)
    conn.request("GET", "%s/%s/%s" % (path, container, name), headers={"X-Auth-Token": token})
    response = conn.getresponse()
    assert response.getheader("Content-Length") == str(len(data))
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    assert caught.value.partial == data[:len(data) // 4]


def test_response_faults_seen_by_swiftclient(proxy, swift, stored):
    container, name, data = stored
    swift.head_account()  # authenticated, so that the rules hit the object GETs
    for kind in ("truncate", "reset_response"):
        proxy.add(kind, method="GET", path="/blob$", count=1)
        # urllib3's error, not a requests one: swiftclient's retry loop lets it through
        with pytest.raises(urllib3.exceptions.ProtocolError):
            swift.get_object(container, name)
    assert swift.get_object(container, name)[1] == data
    assert proxy.stats.injected == {"truncate": 1, "reset_response": 1}


def test_corrupt_flips_one_byte(proxy, swift, stored):
    container, name, data = stored
    proxy.add("corrupt", method="GET", at=0.75)
    headers, body = swift.get_object(container, name)
    assert len(body) == len(data) and body != data
    differing = [i for i in range(0, len(data), 4096)
                 if body[i:i + 4096] != data[i:i + 4096]]
    index = 3 * len(data) // 4
    assert differing == [index - index % 4096]
    assert body[index] == data[index] ^ 0x01
    assert headers["etag"] == hashlib.md5(data).hexdigest()  # the client must check it


def test_corrupt_of_a_large_object_streams(proxy, swift, raw_conn, container_name):
    data = os.urandom(16 * 1024 * 1024)
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "big", data)
    proxy.add("corrupt", method="GET", at=0.9)
    _, body = swift.get_object(container_name, "big")
    assert len(body) == len(data) and body != data
    assert hashlib.md5(body).hexdigest() != hashlib.md5(data).hexdigest()
    assert proxy.stats.response_body_bytes == len(data)


def test_expire_token(proxy, session, swift_server):
    path, token, conn = session
    assert _request(conn, "HEAD", path, token)[0] == 204
    proxy.add("expire_token", count=1)
    status, headers, _ = _request(conn, "HEAD", path, token)
    assert status == 401 and headers["connection"] == "close"
    assert _request(conn, "HEAD", path, token)[0] == 401  # stays expired
    _, fresh = _auth(conn, swift_server)
    assert fresh != token
    assert _request(conn, "HEAD", path, fresh)[0] == 204
    assert _request(conn, "HEAD", path, token)[0] == 401
    assert proxy.stats.injected["expire_token"] == 1


def test_expire_token_swiftclient_reauthenticates(proxy, swift):
    swift.head_account()
    old_token = swift.token
    proxy.add("expire_token", method="HEAD", count=1)
    swift.head_account()  # swiftclient re-authenticates once on a 401, even with retries=0
    assert swift.token != old_token
    assert [(m, s) for m, _, s, _ in proxy.stats.log] == [
        ("GET", 200), ("HEAD", 204), ("HEAD", 401), ("GET", 200), ("HEAD", 204)]


def test_keep_alive(proxy, session):
    path, token, conn = session
    assert _request(conn, "HEAD", path, token)[0] == 204
    sock = conn.sock
    assert sock is not None
    assert _request(conn, "GET", path, token)[0] in (200, 204)
    assert conn.sock is sock  # http.client reconnects when the server closed
    assert proxy.stats.requests == {"GET": 2, "HEAD": 1}


def test_chunked_upload(proxy, session, raw_conn, container_name):
    path, token, conn = session
    raw_conn.put_container(container_name)
    parts = [os.urandom(100_000) for _ in range(5)]
    conn.request("PUT", "%s/%s/chunked" % (path, container_name), body=iter(parts),
                 headers={"X-Auth-Token": token}, encode_chunked=True)
    response = conn.getresponse()
    response.read()
    assert response.status == 201
    assert raw_conn.get_object(container_name, "chunked")[1] == b"".join(parts)
    assert proxy.stats.log[-1][3] == {"transfer-encoding": "chunked"}
    assert proxy.stats.request_body_bytes == 500_000


def test_count_fires_once(proxy, session):
    path, token, conn = session
    rule = proxy.add("status", method="HEAD", count=1, status=500)
    statuses = [_request(conn, "HEAD", path, token)[0] for _ in range(3)]
    assert statuses == [500, 204, 204]
    assert rule.fired == 1


def test_rate(proxy, session):
    path, token, conn = session
    never = proxy.add("status", method="HEAD", rate=0.0)
    half = proxy.add("status", method="HEAD", rate=0.5, status=502)
    statuses = [_request(conn, "HEAD", path, token)[0] for _ in range(20)]
    assert never.fired == 0 and 0 < half.fired < 20
    assert statuses.count(502) == half.fired and statuses.count(204) == 20 - half.fired
