"""SwiftClient: real requests against LocalSwift, and faults (401 mid-work,
503 storms, 429 with Retry-After, dropped connections) injected by the fault
proxy in front of it, on the direct transport and through swiftclient;
``responses`` plays the Keystone and Rackspace identity services."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import os
import pickle
import socket
import threading
import uuid

import pytest
import requests
import responses
import swiftclient
from scripted import ScriptedServer

from velocity import errors
from velocity.auth import Credentials
from velocity.client import RetryPolicy, SwiftClient

AUTH = "https://auth.example.test/auth/v1.0"
KS3 = "http://keystone.example.test:5000/v3"


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def sleeps(monkeypatch):
    """The delays the client asked for (nothing really sleeps)."""
    asked: list[float] = []
    monkeypatch.setattr("velocity.client.time.sleep", asked.append)
    return asked


def body_of(request) -> bytes:
    body = request.body
    if body is None or isinstance(body, bytes):
        return body or b""
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        return body.read()
    return b"".join(body)


# -- real requests ------------------------------------------------------------------------


def test_round_trip_against_localswift(client, raw_conn, container_name, tmp_path):
    client.put_container(container_name, headers={"X-Container-Meta-Kind": "test"})
    etag = client.put_object(container_name, "a/bytes.txt", b"hello")
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(70000))
    with open(path, "rb") as handle:
        client.put_object(container_name, "a/file.bin", handle,
                          content_length=path.stat().st_size)
    assert raw_conn.get_object(container_name, "a/file.bin")[1] == path.read_bytes()
    headers, body = client.get_object(container_name, "a/bytes.txt")
    assert body == b"hello" and headers["etag"] == etag
    assert client.head_object(container_name, "a/bytes.txt")["content-length"] == "5"
    assert client.head_container(container_name)["x-container-meta-kind"] == "test"
    names = [entry["name"] for entry in client.get_container(container_name)[1]]
    assert names == ["a/bytes.txt", "a/file.bin"]
    client.post_object(container_name, "a/bytes.txt", {"X-Object-Meta-Color": "blue"})
    assert raw_conn.head_object(container_name, "a/bytes.txt")["x-object-meta-color"] == "blue"
    client.copy_object(container_name, "a/bytes.txt", "/%s/b.txt" % container_name)
    assert raw_conn.get_object(container_name, "b.txt")[1] == b"hello"
    client.delete_object(container_name, "b.txt")
    assert container_name in [c["name"] for c in client.iter_account(prefix=container_name)]


def test_errors_are_mapped_with_details(client, container_name):
    missing = "nope-" + uuid.uuid4().hex
    with pytest.raises(errors.NoSuchContainer) as info:
        client.head_container(missing)
    assert (info.value.status, info.value.method) == (404, "HEAD")
    assert info.value.path.endswith("/" + missing)
    assert info.value.request_id and info.value.request_id.startswith("tx")
    client.put_container(container_name)
    with pytest.raises(errors.NoSuchObject) as info:
        client.get_object(container_name, "ghost")
    assert info.value.status == 404 and "ghost" in str(info.value)
    client.put_object(container_name, "x", b"1")
    with pytest.raises(errors.ContainerNotEmpty) as info:
        client.delete_container(container_name)
    assert info.value.status == 409
    with pytest.raises(errors.ChecksumMismatch):
        client.put_object(container_name, "bad-etag", b"data", etag="0" * 32)


def test_iter_container_pages_past_the_page_size(client, container_name):
    client.put_container(container_name)
    for i in range(7):
        client.put_object(container_name, "o%02d" % i, b"")
    names = [e["name"] for e in client.iter_container(container_name, page_size=3)]
    assert names == ["o%02d" % i for i in range(7)]
    assert len(list(client.iter_container(container_name, page_size=3, limit=4))) == 4
    assert [e["name"] for e in client.iter_container(container_name, prefix="o0",
                                                     marker="o04", page_size=2)] == [
        "o05", "o06"]


def test_capabilities_come_from_info(client):
    assert "swift" in client.capabilities()
    assert client.capabilities() is client.capabilities()


def test_user_agent_reaches_the_server(credentials, swift_server):
    agent = "velocity-test/" + uuid.uuid4().hex[:8]
    with SwiftClient(credentials, user_agent=agent) as swift:
        swift.head_account()
    assert agent in swift_server.log("proxy")


# -- retries, through the fault proxy in front of LocalSwift, on both transports -----------

ACCOUNT = r"^/v1/AUTH_[^/]+$"


@pytest.fixture
def faults(proxy):
    """The module's fault proxy, clean before and after the test."""
    proxy.clear()
    proxy.reset_stats()
    yield proxy
    proxy.clear()
    proxy.reset_stats()


@pytest.fixture(params=[True, False], ids=["direct", "swiftclient"])
def via(request, faults, swift_server):
    """A function making a SwiftClient whose requests all go through the
    fault proxy, on the direct transport or through swiftclient."""
    made: list[SwiftClient] = []

    def make(**kwargs) -> SwiftClient:
        creds = Credentials.v1(faults.rewrite(swift_server.auth_url), swift_server.user,
                               swift_server.key)
        made.append(SwiftClient(creds, direct=request.param, **kwargs))
        return made[-1]

    yield make
    for client in made:
        client.close()


def sent(proxy, method, pattern=ACCOUNT):
    """The statuses the proxy gave to ``method`` requests whose path matches."""
    import re

    with proxy.stats.lock:
        return [status for m, path, status, _ in proxy.stats.log
                if m == method and re.search(pattern, path.split("?")[0])]


def test_503_storm_then_success(via, faults, sleeps):
    client = via(retry=RetryPolicy(retries=5, backoff=0.5))
    faults.add("status", method="HEAD", path=ACCOUNT, count=4)
    assert "x-account-object-count" in client.head_account()
    assert sent(faults, "HEAD") == [503, 503, 503, 503, 204]
    assert len(sleeps) == 4
    for attempt, delay in enumerate(sleeps):  # full jitter within the doubling bound
        assert 0 <= delay <= 0.5 * 2 ** attempt


def test_retries_exhausted_raise_response_error_with_status(via, faults, sleeps,
                                                            container_name):
    client = via(retry=RetryPolicy(retries=3, jitter=False, backoff=1))
    faults.add("status", method="HEAD", path="/" + container_name)
    with pytest.raises(errors.ResponseError) as info:
        client.head_container(container_name)
    assert info.value.status == 503 and info.value.method == "HEAD"
    assert sleeps == [1, 2, 4]
    assert sent(faults, "HEAD", container_name) == [503] * 4


def test_429_retry_after_is_honoured(via, faults, sleeps, raw_conn, container_name):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "o", b"ok")
    client = via()
    faults.add("status", method="GET", path="/o$", count=1, status=429, retry_after="7")
    assert client.get_object(container_name, "o")[1] == b"ok"
    assert sleeps == [7.0]


def test_retry_after_is_capped(via, faults, sleeps):
    client = via(retry=RetryPolicy(max_retry_after=30))
    faults.add("status", method="HEAD", path=ACCOUNT, count=1, retry_after="3600")
    client.head_account()
    assert sleeps == [30]


@pytest.mark.parametrize("status", [408, 498, 500, 502])
def test_other_transient_statuses_are_retried(via, faults, sleeps, status):
    client = via()
    faults.add("status", method="HEAD", path=ACCOUNT, count=1, status=status)
    client.head_account()
    assert len(sleeps) == 1 and sent(faults, "HEAD") == [status, 204]


def test_client_errors_are_not_retried(via, faults, sleeps, container_name):
    client = via()
    faults.add("status", method="PUT", status=400)
    with pytest.raises(errors.ResponseError) as info:
        client.put_container(container_name)
    assert info.value.status == 400 and sleeps == []


def test_connection_errors_are_retried(via, faults, sleeps):
    client = via()
    client.head_account()  # logged in, the connection kept alive
    faults.add("reset_request", method="HEAD", path=ACCOUNT, count=1)
    client.head_account()
    assert len(sleeps) == 1 and sent(faults, "HEAD") == [204, None, 204]


def test_identity_connection_failure_is_retried(mock, sleeps, swift_server):
    # Keystone is played by responses; the catalog names the real server, and
    # the token in the answer is one that server gave
    mock.add_passthru(swift_server.proxy_url)
    url, token = swiftclient.get_auth(swift_server.auth_url, swift_server.user,
                                      swift_server.key)
    mock.post(KS3 + "/auth/tokens", body=requests.ConnectionError("refused"))
    mock.post(KS3 + "/auth/tokens", status=201, headers={"X-Subject-Token": token}, json={
        "token": {"methods": ["password"], "expires_at": "2099-01-01T00:00:00Z",
                  "project": {"id": "p", "name": "p", "domain": {"id": "default"}},
                  "user": {"id": "u", "name": "u", "domain": {"id": "default"}},
                  "catalog": [{"type": "object-store", "id": "s", "endpoints": [
                      {"id": "e", "interface": "public", "region": "R", "url": url}]}]}})
    headers = SwiftClient(Credentials.password(KS3, "u", "pw", project_name="p")).head_account()
    assert "x-account-object-count" in headers
    assert len(sleeps) == 1


def test_retried_delete_that_finds_nothing_succeeded(via, faults, monkeypatch, raw_conn,
                                                      container_name):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "o", b"x")
    client = via()
    # a 503 from a proxy whose object server did delete it (it timed out on
    # the answer): by the time of the retry the object is gone
    monkeypatch.setattr("velocity.client.time.sleep",
                        lambda delay: raw_conn.delete_object(container_name, "o"))
    faults.add("status", method="DELETE", count=1)
    assert client.delete_object(container_name, "o") is None
    assert sent(faults, "DELETE", "/o$") == [503, 404]
    with pytest.raises(errors.NoSuchObject):
        client.delete_object(container_name, "gone")


def test_seekable_body_is_rewound_and_uploaded_whole(via, faults, sleeps, raw_conn,
                                                     container_name, tmp_path):
    raw_conn.put_container(container_name)
    data = os.urandom(300_000)
    path = tmp_path / "body.bin"
    path.write_bytes(b"HEADER----" + data)
    client = via()
    client.get_auth()
    faults.reset_stats()
    # half the body read, then the connection reset: the retry starts again where the
    # upload started, not where the first attempt stopped reading
    faults.add("reset_request", method="PUT", path="/obj$", count=1, at=0.5)
    with open(path, "rb") as handle:
        handle.seek(10)  # uploads start where the file position is
        client.put_object(container_name, "obj", handle, content_length=len(data))
    assert len(sleeps) == 1
    assert faults.stats.request_body_bytes >= len(data) * 3 // 2
    assert raw_conn.get_object(container_name, "obj")[1] == data


def test_iterator_body_is_never_sent_twice(via, faults, sleeps, raw_conn, container_name):
    raw_conn.put_container(container_name)
    client = via()
    client.get_auth()
    faults.add("status", method="PUT", count=1)

    def chunks():
        yield b"a" * 10
        yield b"b" * 10

    with pytest.raises(errors.ResponseError) as info:
        client.put_object(container_name, "o", chunks())
    assert info.value.status == 503 and sleeps == []
    assert sent(faults, "PUT", "/o$") == [503]


def test_iterator_body_waits_for_a_retried_login(via, faults, sleeps, raw_conn,
                                                 container_name):
    raw_conn.put_container(container_name)
    client = via()
    faults.add("status", method="GET", path="^/auth/", count=1)
    client.put_object(container_name, "o", iter([b"abc"]))
    assert client.credentials.plugin.auth_count == 1 and len(sleeps) == 1
    assert raw_conn.get_object(container_name, "o")[1] == b"abc"


# -- re-authentication ------------------------------------------------------------------------


def test_401_mid_work_renews_the_token_once(via, faults, sleeps, raw_conn, container_name):
    raw_conn.put_container(container_name)
    client = via()
    client.head_account()
    faults.add("expire_token", method="HEAD", count=1)
    client.head_account()
    assert client.credentials.plugin.auth_count == 2 and sleeps == []  # no backoff
    faults.add("expire_token", method="PUT", count=1)
    client.put_object(container_name, "o", io.BytesIO(b"payload"))
    assert client.credentials.plugin.auth_count == 3
    assert sent(faults, "PUT", "/o$") == [401, 201]
    assert raw_conn.get_object(container_name, "o")[1] == b"payload"  # rewound, whole


def test_a_token_refused_twice_is_authentication_failed(via, faults, sleeps):
    client = via()
    faults.add("status", method="HEAD", path=ACCOUNT, status=401)
    with pytest.raises(errors.AuthenticationFailed) as info:
        client.head_account()
    assert info.value.status == 401
    assert client.credentials.plugin.auth_count == 2
    assert sent(faults, "HEAD") == [401, 401]


def test_many_threads_seeing_an_expired_token_renew_it_once(via, faults, sleeps):
    client = via()
    barrier = threading.Barrier(16)
    failures: list[BaseException] = []

    def work():
        try:
            client.head_account()
            barrier.wait()
            if threading.current_thread().name == "w0":
                faults.add("expire_token", method="HEAD", count=1)
            barrier.wait()
            client.head_account()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, name="w%d" % i) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert client.credentials.plugin.auth_count == 2
    assert 401 in sent(faults, "HEAD")


@pytest.mark.parametrize("direct", [True, False])
def test_preauthenticated_token_refused_is_not_renewed(swift_server, faults, sleeps, direct):
    storage = faults.rewrite(swift_server.storage_url)
    client = SwiftClient(Credentials.preauthenticated(storage, "fixed-token"), direct=direct)
    with pytest.raises(errors.AuthenticationFailed, match="cannot renew"):
        client.head_account()
    assert sent(faults, "HEAD") == [401]


def test_metadata_copy_and_delete_requests_on_both_transports(via, faults, raw_conn,
                                                              container_name):
    """POST (account, container, object), COPY, bulk delete and DELETE of a
    container answer as swiftclient's do, whichever transport sends them."""
    client = via(retry=RetryPolicy(retries=2, backoff=0.01))
    client.put_container(container_name)
    client.put_object(container_name, "a b.txt", b"hello")
    answer: dict = {}
    client.post_container(container_name, {"X-Container-Meta-Colour": "blau \u00fc"},
                          response_dict=answer)
    assert answer["status"] == 204
    assert raw_conn.head_container(container_name)["x-container-meta-colour"] == "blau \u00fc"
    client.post_object(container_name, "a b.txt", {"X-Object-Meta-Owner": "ann"})
    assert raw_conn.head_object(container_name, "a b.txt")["x-object-meta-owner"] == "ann"
    client.copy_object(container_name, "a b.txt", "/%s/c%%d.txt" % container_name,
                       headers={"X-Object-Meta-Extra": "1"})
    copied = raw_conn.head_object(container_name, "c%d.txt")
    assert (copied["x-object-meta-owner"], copied["x-object-meta-extra"]) == ("ann", "1")
    client.copy_object(container_name, "c%d.txt", headers={"X-Object-Meta-Only": "this"},
                       fresh_metadata=True)  # onto itself, its metadata replaced
    fresh = raw_conn.head_object(container_name, "c%d.txt")
    assert "x-object-meta-owner" not in fresh and fresh["x-object-meta-only"] == "this"
    assert raw_conn.get_object(container_name, "c%d.txt")[1] == b"hello"
    headers, body = client.post_account(
        {"Content-Type": "text/plain", "Accept": "application/json"},
        query_string="bulk-delete", data=("/%s/a%%20b.txt\n/%s/c%%25d.txt" % (
            container_name, container_name)).encode())
    assert json.loads(body)["Number Deleted"] == 2 and "content-type" in headers
    assert raw_conn.get_container(container_name)[1] == []
    with pytest.raises(errors.NoSuchObject):
        client.copy_object(container_name, "gone", "/%s/x" % container_name)
    client.delete_container(container_name)
    with pytest.raises(swiftclient.ClientException):
        raw_conn.head_container(container_name)
    with pytest.raises(errors.NoSuchContainer):
        client.delete_container(container_name)
    methods = {m for m, _, _, _ in faults.stats.log}
    assert {"POST", "COPY", "DELETE"} <= methods  # through the proxy, both ways


def test_put_object_and_get_object_answer_alike_on_both_transports(via, raw_conn,
                                                                  container_name):
    """swiftclient's put_object (bytes, a file of a given length, a stream of
    unknown length, text) and get_object, whole or streamed: the same objects
    stored and the same answers, percent-decoded metadata included."""
    client = via(retry=RetryPolicy(retries=2, backoff=0.01))
    client.put_container(container_name)
    meta = {"X-Object-Meta-Note": "50%25 off"}
    assert client.put_object(container_name, "bytes", b"hello", headers=meta) == hashlib.md5(
        b"hello").hexdigest()
    source = io.BytesIO(b"0123456789")
    source.seek(2)
    client.put_object(container_name, "slice", source, content_length=5,
                      content_type="text/x-digits")
    client.put_object(container_name, "stream", iter([b"ab", b"cd"]))  # chunked
    client.put_object(container_name, "text", "caf\u00e9")
    client.put_object(container_name, "empty", None)
    with pytest.raises(errors.ChecksumMismatch):
        client.put_object(container_name, "bad", b"data", etag='"%s"' % ("0" * 32))
    stored = {name: raw_conn.get_object(container_name, name)
              for name in ("bytes", "slice", "stream", "text", "empty")}
    assert {n: body for n, (_, body) in stored.items()} == {
        "bytes": b"hello", "slice": b"23456", "stream": b"abcd", "text": "caf\u00e9".encode(),
        "empty": b""}
    assert stored["slice"][0]["content-type"] == "text/x-digits"
    answer: dict = {}
    headers, body = client.get_object(container_name, "bytes", response_dict=answer)
    assert (body, answer["status"], headers["x-object-meta-note"]) == (b"hello", 200,
                                                                      "50% off")
    streamed, chunks = client.get_object_stream(container_name, "bytes")
    assert b"".join(bytes(c) for c in chunks) == b"hello"
    assert streamed["x-object-meta-note"] == "50% off"  # as swiftclient decodes it
    with pytest.raises(errors.NoSuchObject):
        client.get_object(container_name, "missing")


def test_a_body_shorter_than_its_content_length_fails_at_once(swift_server, raw_conn,
                                                              container_name):
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    with SwiftClient(creds, retry=RetryPolicy(retries=0)) as client:
        client.put_container(container_name)
        with pytest.raises(errors.IncompleteSend, match="7 bytes short"):
            client.put_object(container_name, "short", io.BytesIO(b"abc"), content_length=10)
        client.put_object(container_name, "after", b"fine")  # the next request is unharmed
    assert [o["name"] for o in raw_conn.get_container(container_name)[1]] == ["after"]


def test_retry_policy_is_validated():
    with pytest.raises(errors.ConfigurationError, match="retries"):
        RetryPolicy(retries=-1)
    with pytest.raises(errors.ConfigurationError, match="backoff"):
        RetryPolicy(backoff=-1)
    with pytest.raises(errors.ConfigurationError, match="RetryPolicy"):
        SwiftClient(Credentials.v1(AUTH, "a", "b"), retry=3)  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="Credentials"):
        SwiftClient("http://x")  # type: ignore[arg-type]


def test_a_retry_policy_is_a_value():
    policy = RetryPolicy(retries=3, backoff=0.1)
    assert policy == RetryPolicy(3, 0.1) and hash(policy) == hash(RetryPolicy(3, 0.1))
    assert policy != RetryPolicy(retries=4, backoff=0.1) and policy != (3, 0.1)
    assert repr(policy) == ("RetryPolicy(retries=3, backoff=0.1, max_backoff=20.0, "
                            "jitter=True, max_retry_after=120.0)")
    with pytest.raises(AttributeError, match="replace"):
        policy.retries = 9  # type: ignore[misc]
    quicker = policy.replace(retries=1, jitter=False)
    assert (quicker.retries, quicker.backoff, quicker.jitter, policy.retries) == (1, 0.1, False, 3)
    with pytest.raises(errors.ConfigurationError, match="retries"):
        policy.replace(retries=-2)
    with pytest.raises(errors.ConfigurationError, match="no tries"):
        policy.replace(tries=2)
    assert pickle.loads(pickle.dumps(policy)) == policy  # noqa: S301 - our own bytes
    assert copy.deepcopy(policy) == policy


# -- thread safety and fork, for real -----------------------------------------------------------


def test_32_threads_share_one_client_and_one_login(swift_server, raw_conn, container_name):
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    client = SwiftClient(creds)
    client.put_container(container_name)
    failures: list[str] = []
    start = threading.Barrier(32)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(10):  # 10 rounds x 5 operations = 50 requests
                name = "t%02d/o%d" % (n, i)
                body = ("%d-%d" % (n, i)).encode() * 10
                client.put_object(container_name, name, body)
                if client.get_object(container_name, name)[1] != body:
                    failures.append("%s: wrong body" % name)
                if client.head_object(container_name, name)["content-length"] != str(len(body)):
                    failures.append("%s: wrong length" % name)
                listed = [e["name"] for e in client.iter_container(container_name,
                                                                    prefix="t%02d/" % n)]
                if name not in listed:
                    failures.append("%s: not listed" % name)
                if i % 2:
                    client.delete_object(container_name, name)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append("%s: %r" % (n, exc))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert creds.plugin.auth_count == 1
    remaining = raw_conn.get_container(container_name, full_listing=True)[1]
    assert len(remaining) == 32 * 5
    client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_client_used_before_fork_works_in_the_child(swift_server, raw_conn, container_name):
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    client = SwiftClient(creds)
    client.put_container(container_name)
    parent_conn = client.connection()
    pid = os.fork()
    if pid == 0:  # child: a real request on fresh sockets, same token
        code = 1
        try:
            fresh = client.connection() is not parent_conn
            client.put_object(container_name, "from-child", b"child %d" % os.getpid())
            same_token = creds.plugin.auth_count == 1
            code = 0 if fresh and same_token else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert raw_conn.get_object(container_name, "from-child")[1] == b"child %d" % pid
    client.head_container(container_name)  # the parent's connection still works


# -- secrets never leak --------------------------------------------------------------------------


def test_no_secret_in_logs_errors_or_reprs(swift_server, container_name, caplog, capfd,
                                           sleeps):
    secrets = {"ST-KEY-b3c9f1e0a2", "PASSWORD-9d8c7b6a5f", "RAX-APIKEY-0f1e2d3c4b",
               "TOKEN-v3-4a5b6c7d8e9f00112233", "TOKEN-pre-aa11bb22cc33dd44",
               "TOKEN-v1-first-0123456789", "TOKEN-v1-second-987654321",
               "TOKEN-rax-55aa66bb77cc88"}
    for name in ("velocity", "keystoneauth", "swiftclient", "urllib3", ""):
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []

    def record(obj) -> None:
        texts.append(str(obj))
        texts.append(repr(obj))

    # 1. tempauth against the real server, with its real token, on both transports
    # (swiftclient logs every request at DEBUG)
    real = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    for direct in (True, False):
        client = SwiftClient(real, direct=direct)
        client.put_container(container_name)
        client.put_object(container_name, "o", b"x")
        client.get_object(container_name, "o")
        try:
            client.get_object(container_name, "missing")
        except errors.VelocityError as exc:
            record(exc)
        record(client)
    secrets.add(real.get_token())
    record(real)

    # identity services are played by responses; the storage they name by a
    # scripted loopback server (the direct transport does not go through requests)
    fake = ScriptedServer()
    store = fake.url + "/v1/AUTH_a"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(fake.url)
        # 2. v1 with a token that expires, and a 503 on the way
        tokens = iter(["TOKEN-v1-first-0123456789", "TOKEN-v1-second-987654321"])
        fake.add("GET", "/auth/v1.0", lambda headers: (
            200, {"X-Storage-Url": store, "X-Auth-Token": next(tokens)}, b""))
        for status in (401, 503, 204):
            fake.add("HEAD", "/v1/AUTH_a", (status, {}, b""))
        v1 = Credentials.v1(fake.url + "/auth/v1.0", "a:b", "ST-KEY-b3c9f1e0a2")
        SwiftClient(v1).head_account()
        record(v1)
        record(v1.plugin)
        # 3. Keystone v3: a refused password, then a good one
        mock.post(KS3 + "/auth/tokens", status=401, json={"error": {"code": 401}})
        mock.post(KS3 + "/auth/tokens", status=201,
                  headers={"X-Subject-Token": "TOKEN-v3-4a5b6c7d8e9f00112233"}, json={
                      "token": {"methods": ["password"], "expires_at": "2099-01-01T00:00:00Z",
                                "project": {"id": "p", "name": "p", "domain": {"id": "d"}},
                                "user": {"id": "u", "name": "u", "domain": {"id": "d"}},
                                "catalog": [{"type": "object-store", "id": "s", "endpoints": [
                                    {"id": "e", "interface": "public", "region": "R",
                                     "url": store + "3"}]}]}})
        fake.add("HEAD", "/v1/AUTH_a3", (204, {}, b""))
        ks = Credentials.password(KS3, "alice", "PASSWORD-9d8c7b6a5f", project_name="p")
        try:
            SwiftClient(ks).head_account()
        except errors.VelocityError as exc:
            record(exc)
        SwiftClient(ks).head_account()
        record(ks)
        # 4. Rackspace: a refused key
        mock.post("https://identity.api.rackspacecloud.com/v2.0/tokens", status=401,
                  json={"unauthorized": {"code": 401, "message": "bad key"}})
        rax = Credentials.rackspace("alice", "RAX-APIKEY-0f1e2d3c4b")
        try:
            SwiftClient(rax).head_account()
        except errors.VelocityError as exc:
            record(exc)
        record(rax)
        # 5. Rackspace: a good key; identity v2 puts the token in the answer's body
        mock.post("https://identity.example.test/v2.0/tokens", json={"access": {
            "token": {"id": "TOKEN-rax-55aa66bb77cc88", "expires": "2099-01-01T00:00:00Z"},
            "serviceCatalog": [{"type": "object-store", "name": "cloudFiles", "endpoints": [
                {"region": "DFW", "publicURL": store + "rax"}]}],
            "user": {"id": "1", "name": "alice"}}})
        fake.add("HEAD", "/v1/AUTH_arax", (204, {}, b""))
        rax_ok = Credentials.rackspace("alice", "RAX-APIKEY-0f1e2d3c4b",
                                       "https://identity.example.test/v2.0")
        SwiftClient(rax_ok).head_account()
        record(rax_ok)
        # 6. a pre-authenticated token the server refuses
        fake.add("HEAD", "/v1/AUTH_p", (401, {}, b""))
        pre = Credentials.preauthenticated(fake.url + "/v1/AUTH_p",
                                           "TOKEN-pre-aa11bb22cc33dd44")
        try:
            SwiftClient(pre).head_account()
        except errors.VelocityError as exc:
            record(exc)
        record(pre)
    fake.stop()

    assert any(r.name.startswith("swiftclient") for r in caplog.records)  # DEBUG was on
    out, err = capfd.readouterr()
    haystack = "\n".join([caplog.text, out, err, *texts,
                          *(r.getMessage() for r in caplog.records)])
    leaked = sorted(s for s in secrets if s in haystack)
    assert leaked == []
    # not even a prefix (swiftclient logs 16 characters of a token by default)
    leaked_prefixes = sorted(s for s in secrets if s.startswith(("TOKEN-", "ST-KEY"))
                             and s[:10] in haystack)
    assert leaked_prefixes == []
    real_token = real.get_token()
    assert real_token[:16] not in haystack


def test_environment_proxies_are_still_honoured(swift_server, monkeypatch):
    # proxy settings are read once per HTTP connection, not per request; they
    # must still apply: a proxy that does not answer makes the request fail
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    creds = Credentials.preauthenticated(*SwiftClient(
        Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)).get_auth())
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = SwiftClient(creds, retry=RetryPolicy(retries=0))
    with pytest.raises(errors.ResponseError, match="connection failed"):
        client.head_account()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert "x-account-container-count" in SwiftClient(creds).head_account()


def test_raw_swiftclient_connection_fixture_still_agrees(raw_conn, client):
    # the shared client and a plain swiftclient see the same account
    assert client.storage_url == raw_conn.get_auth()[0]
    assert isinstance(client.connection(), swiftclient.Connection)


# -- the direct transport for small objects --------------------------------------------------


def body_bytes(body) -> bytes:
    return b"".join(bytes(block) for block in body)


def test_streamed_get_in_blocks_and_abandoned_half_way(client, container_name):
    client.put_container(container_name)
    data = os.urandom(3 * 1024 * 1024 + 5)
    client.put_small_object(container_name, "big", data)
    headers, body = client.get_object_stream(container_name, "big", chunk=1024 * 1024)
    assert int(headers["content-length"]) == len(data)
    blocks = [bytes(block) for block in body]
    assert [len(b) for b in blocks] == [1024 * 1024] * 3 + [5]
    assert b"".join(blocks) == data
    # give up after the first block: the next request on this thread still works
    headers, body = client.get_object_stream(container_name, "big", chunk=65536)
    first = bytes(next(iter(body)))
    body.close()
    assert first == data[:65536]
    _, body = client.get_object_stream(container_name, "big",
                                       headers={"Range": "bytes=10-19"})
    assert body_bytes(body) == data[10:20]


def test_small_object_put_and_get_round_trip_with_unicode_and_metadata(client, raw_conn,
                                                                       container_name):
    client.put_container(container_name)
    data = os.urandom(5000)
    name = "dossier/été 2024/ñ?#%.bin"
    etag = client.put_small_object(container_name, name, data,
                                   etag=hashlib.md5(data).hexdigest(),
                                   headers={"X-Object-Meta-Color": "vert foncé"})
    assert etag == hashlib.md5(data).hexdigest()
    # seen from outside, the object is exactly what was sent
    headers, body = raw_conn.get_object(container_name, name)
    assert body == data
    assert headers["x-object-meta-color"] == "vert foncé"
    headers, body = client.get_object_stream(container_name, name)
    assert body_bytes(body) == data
    assert headers["etag"] == etag
    assert headers["x-object-meta-color"] == "vert foncé"


def test_small_object_errors_are_mapped(client, container_name):
    client.put_container(container_name)
    with pytest.raises(errors.NoSuchObject, match="missing"):
        client.get_object_stream(container_name, "missing")
    with pytest.raises(errors.NoSuchContainer):
        client.put_small_object(container_name + "-nope", "o", b"x")
    # Swift refuses data whose MD5 differs from the ETag sent (HTTP 422)
    with pytest.raises(errors.ChecksumMismatch):
        client.put_small_object(container_name, "o", b"data", etag="0" * 32)
    with pytest.raises(errors.NoSuchObject):
        client.head_object(container_name, "o")


def test_small_object_requests_renew_an_expired_token(swift_server, container_name):
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    client = SwiftClient(creds)
    client.put_container(container_name)
    client.put_small_object(container_name, "o", b"first")
    assert creds.plugin.auth_count == 1
    # the server forgets nothing, so make the token this client holds a bad one
    creds.plugin._token = "AUTH_tk" + "0" * 32
    client.connection().token = creds.plugin._token
    assert body_bytes(client.get_object_stream(container_name, "o")[1]) == b"first"
    assert creds.plugin.auth_count == 2


def test_small_object_requests_honour_a_proxy(swift_server, monkeypatch):
    creds = Credentials.preauthenticated(*SwiftClient(
        Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)).get_auth())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = SwiftClient(creds, retry=RetryPolicy(retries=0))
    with pytest.raises(errors.ResponseError, match="connection failed"):
        client.get_object_stream("c", "o")


def test_direct_transport_retries_refusals_and_dropped_connections(monkeypatch):
    # a storage server that refuses (503), then drops the connection, then stores:
    # faults a healthy LocalSwift does not play, so a tiny loopback server does
    import http.server

    seen: list[bytes] = []

    class Flaky(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(body)
            if len(seen) == 1:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif len(seen) == 2:
                self.close_connection = True  # no answer at all
            else:
                self.send_response(201)
                self.send_header("Etag", hashlib.md5(body).hexdigest())
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sleeps: list[float] = []
    monkeypatch.setattr("velocity.client.time.sleep", sleeps.append)
    try:
        url = "http://127.0.0.1:%d/v1/AUTH_x" % server.server_address[1]
        client = SwiftClient(Credentials.preauthenticated(url, "token"),
                             retry=RetryPolicy(retries=3, backoff=0.01))
        etag = client.put_small_object("c", "o", b"payload",
                                       etag=hashlib.md5(b"payload").hexdigest())
    finally:
        server.shutdown()
        server.server_close()
    assert etag == hashlib.md5(b"payload").hexdigest()
    assert seen == [b"payload"] * 3  # the whole body, every time
    assert len(sleeps) == 2
