"""The faults users meet, injected between Velocity and a real Swift.

A :class:`~faultproxy.FaultProxy` in front of LocalSwift answers 503 (with and
without ``Retry-After``), resets connections mid-request and mid-response,
cuts bodies short, flips bytes and expires tokens, at 25% of the requests of
the kind each round is about.  Every face (``TransferManager``, the asyncio
``Velocity`` API, the ``velocity`` command line) must still move 200 small
files and a 64 MiB segmented object, byte-identical, with nothing broken
under a final name, no large object visible before its manifest and no orphan
segment.  The outcome is checked from outside, with a plain swiftclient
connection to the server and sha256 of the files on disk.

A token expires only after it served 20 requests, then at 25% of the
requests: all threads share one token, and one that died as soon as it was
issued would be a refused login, not an expiry.

The rounds use 10 retries instead of the default 5: at a 25% fault rate five
retries leave about one request in 4,000 failing, which a suite of thousands
of requests would meet now and then; ten leave one in four million.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid

import pytest
import swiftclient
from faultproxy import FaultProxy

from velocity import errors
from velocity.auth import Credentials
from velocity.client import RetryPolicy, SwiftClient
from velocity.transfer import TransferConfig, TransferManager

MiB = 1024 * 1024
RATE = 0.25
LARGE = 64 * MiB
SMALL_COUNT = 200
RETRIES = 10
FAST = RetryPolicy(retries=RETRIES, backoff=0.02, max_backoff=0.3)
CONFIG = TransferConfig(segment_threshold=16 * MiB, segment_size=4 * MiB, object_threads=8,
                        segment_threads=4, retries=RETRIES)

#: object requests only: a byte flipped in a container listing cannot be noticed
#: by any client (Swift sends no checksum of a listing; TLS guards it in real life)
OBJECTS = r"^/v1/[^/]+/[^/]+/."
#: (fault kind, options) injected into uploads
UPLOAD_FAULTS = {
    "503": ("status", {}),
    "503-retry-after": ("status", {"retry_after": "0"}),
    "reset-mid-request": ("reset_request", {}),
    "expired-token": ("expire_token", {"lifetime": 20}),
}
#: ... and into downloads
DOWNLOAD_FAULTS = {
    "503": ("status", {}),
    "reset-mid-response": ("reset_response", {}),
    "truncated": ("truncate", {}),
    "flipped-byte": ("corrupt", {"path": OBJECTS}),
    "expired-token": ("expire_token", {"lifetime": 20}),
}


@pytest.fixture(scope="module")
def proxy(swift_server):
    with FaultProxy(swift_server.proxy_url, seed=7) as fault_proxy:
        yield fault_proxy


@pytest.fixture(autouse=True)
def _no_rules_left(proxy, request):
    proxy.clear()
    proxy.reset_stats()
    started = time.monotonic()
    yield
    proxy.clear()
    stats = proxy.stats
    with stats.lock:  # one line per test, for `pytest -s tests/test_faults.py`
        ranged = sum(1 for _, _, _, headers in stats.log if "if-match" in headers)
        print("\n[faults] %s: injected %s; %d requests, %d resumed GETs (Range + If-Match); "
              "%.1f MiB sent, %.1f MiB received; %.1f s" % (
                  request.node.name, dict(stats.injected), len(stats.log), ranged,
                  stats.request_body_bytes / MiB, stats.response_body_bytes / MiB,
                  time.monotonic() - started))


@pytest.fixture
def container_name(swift_server, credentials):
    """A fresh container name; the container and its segments are removed
    afterwards, in bulk (faster than conftest's one DELETE per object)."""
    name = "f-" + uuid.uuid4().hex[:12]
    yield name
    with TransferManager(credentials) as manager:
        manager.delete(name)
        for cname in (name, name + "_segments"):
            try:
                manager.client.delete_container(cname)
            except errors.VelocityError:
                pass


@pytest.fixture(scope="module")
def faulty(proxy, swift_server):
    """tempauth credentials whose every request goes through the proxy."""
    return Credentials.v1(proxy.rewrite(swift_server.auth_url), swift_server.user,
                          swift_server.key)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """200 small files of 1 byte to 24 KiB and one 64 MiB file: ``(root,
    {object name: sha256})``."""
    root = tmp_path_factory.mktemp("tree")
    rng = random.Random(3)
    digests = {}
    for index in range(SMALL_COUNT):
        name = "small/%02d/file-%03d.bin" % (index % 10, index)
        data = rng.randbytes(rng.randint(1, 24 * 1024))
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digests[name] = hashlib.sha256(data).hexdigest()
    large = root / "big" / "large.bin"
    large.parent.mkdir()
    digest = hashlib.sha256()
    with open(large, "wb") as handle:
        for _ in range(LARGE // (4 * MiB)):
            block = os.urandom(4 * MiB)
            digest.update(block)
            handle.write(block)
    digests["big/large.bin"] = digest.hexdigest()
    return root, digests


@pytest.fixture(scope="module")
def source(swift_server, tree):
    """A container holding the tree, uploaded without faults."""
    root, digests = tree
    name = "src-" + uuid.uuid4().hex[:8]
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    with TransferManager(creds, CONFIG) as manager:
        results = manager.upload(name, str(root))
    assert all(r.ok for r in results), [str(r) for r in results if not r.ok]
    yield name
    with TransferManager(creds, CONFIG) as manager:
        manager.delete(name)
    raw = swiftclient.Connection(swift_server.auth_url, swift_server.user, swift_server.key)
    for cname in (name, name + "_segments"):
        try:
            raw.delete_container(cname)
        except swiftclient.ClientException:
            pass


def _sha256_of(conn: swiftclient.Connection, container: str, name: str) -> str:
    digest = hashlib.sha256()
    _, body = conn.get_object(container, name, resp_chunk_size=MiB)
    for block in body:
        digest.update(block)
    return digest.hexdigest()


def assert_stored(raw_conn, container: str, digests: dict[str, str], proxy: FaultProxy
                  ) -> None:
    """Every object is there with the right bytes, the large one as a static
    large object whose manifest was written after all its segments, and the
    segment container holds exactly the manifest's segments."""
    _, listing = raw_conn.get_container(container, full_listing=True)
    assert sorted(e["name"] for e in listing) == sorted(digests)
    for name, digest in digests.items():
        assert _sha256_of(raw_conn, container, name) == digest, name
    headers = raw_conn.head_object(container, "big/large.bin")
    assert headers["x-static-large-object"].lower() == "true"
    _, manifest = raw_conn.get_object(container, "big/large.bin",
                                      query_string="multipart-manifest=get")
    named = {item["name"] for item in json.loads(manifest)}
    _, segments = raw_conn.get_container(container + "_segments", full_listing=True)
    assert {"/%s_segments/%s" % (container, e["name"]) for e in segments} == named
    # the manifest PUT came after the last segment PUT: never visible half-made
    puts = [(index, path, status) for index, (method, path, status, _) in
            enumerate(proxy.stats.log) if method == "PUT"]
    manifest_at = [i for i, path, _ in puts if path.endswith("/%s/big/large.bin" % container)]
    segment_at = [i for i, path, status in puts
                  if "/%s_segments/" % container in path and status and status < 300]
    assert manifest_at and segment_at and min(manifest_at) > max(segment_at)


def assert_downloaded(out, digests: dict[str, str]) -> None:
    """The folder holds exactly the objects, byte-identical, and no partial file."""
    found = {}
    for folder, _, files in os.walk(out):
        for file in files:
            path = os.path.join(folder, file)
            with open(path, "rb") as handle:
                digest = hashlib.sha256()
                for block in iter(lambda: handle.read(MiB), b""):
                    digest.update(block)
            found[os.path.relpath(path, out).replace(os.sep, "/")] = digest.hexdigest()
    assert found == digests


def _inject(proxy: FaultProxy, kind: str, options: dict, method: str) -> None:
    proxy.add(kind, method=method, **{"path": r"^/v1/", "rate": RATE, **options})


def _cleanup(raw_conn, container: str) -> None:
    for cname in (container, container + "_segments"):
        try:
            _, objects = raw_conn.get_container(cname, full_listing=True)
        except swiftclient.ClientException:
            continue
        for obj in objects:
            raw_conn.delete_object(cname, obj["name"])
        raw_conn.delete_container(cname)


def _auth_count(proxy: FaultProxy) -> int:
    return sum(1 for method, path, _, _ in proxy.stats.log if path.startswith("/auth"))


def _check_token_renewals(proxy: FaultProxy, kind: str) -> None:
    if kind == "expire_token":
        expired = proxy.stats.injected["expire_token"]
        assert expired >= 1
        # renewed once per expired token, for all threads together
        assert _auth_count(proxy) <= expired + 1


# -- TransferManager ------------------------------------------------------------------


@pytest.mark.parametrize("fault", sorted(UPLOAD_FAULTS))
def test_transfer_manager_upload_survives(fault, proxy, faulty, tree, raw_conn,
                                          container_name):
    kind, options = UPLOAD_FAULTS[fault]
    root, digests = tree
    with SwiftClient(faulty, retry=FAST) as client, TransferManager(client, CONFIG) as manager:
        client.put_container(container_name)
        _inject(proxy, kind, options, "PUT")
        results = manager.upload(container_name, str(root))
    assert all(r.ok for r in results), [str(r) for r in results if not r.ok]
    assert proxy.stats.injected[kind] >= (4 if kind == "expire_token" else 20)
    proxy.clear()
    assert_stored(raw_conn, container_name, digests, proxy)
    _check_token_renewals(proxy, kind)


@pytest.mark.parametrize("fault", sorted(DOWNLOAD_FAULTS))
def test_transfer_manager_download_survives(fault, proxy, faulty, tree, source, tmp_path):
    kind, options = DOWNLOAD_FAULTS[fault]
    _, digests = tree
    _inject(proxy, kind, options, "GET")
    with SwiftClient(faulty, retry=FAST) as client, TransferManager(client, CONFIG) as manager:
        results = manager.download(source, out_dir=tmp_path / "out")
    assert all(r.ok for r in results), [str(r) for r in results if not r.ok]
    assert proxy.stats.injected[kind] >= (4 if kind == "expire_token" else 20)
    assert_downloaded(tmp_path / "out", digests)
    _check_token_renewals(proxy, kind)


# -- the asyncio Velocity face ----------------------------------------------------------


def test_velocity_process_upload_and_download_survive(proxy, faulty, tree, raw_conn,
                                                      container_name, tmp_path):
    from velocity import Velocity

    root, digests = tree

    async def main() -> tuple[list, list, list]:
        async with Velocity(None, identity=faulty, retry=FAST, config=CONFIG) as velocity:
            velocity.create_container(container_name)
            proxy.add("status", method="PUT", path=r"^/v1/", rate=0.1)
            proxy.add("reset_request", method="PUT", path=r"^/v1/", rate=0.1)
            proxy.add("expire_token", method="PUT", path=r"^/v1/", rate=0.1, lifetime=20)
            uploaded = await velocity.process(container_name, "UPLOAD", str(root))
            proxy.clear()
            proxy.add("reset_response", method="GET", path=r"^/v1/", rate=0.1)
            proxy.add("truncate", method="GET", path=r"^/v1/", rate=0.1)
            proxy.add("corrupt", method="GET", path=OBJECTS, rate=0.05)
            downloaded = await velocity.process(container_name, "DOWNLOAD",
                                                str(tmp_path / "out"))
            return uploaded, downloaded, list(velocity.errors)

    os.makedirs(tmp_path / "out")
    uploaded, downloaded, failures = asyncio.run(main())
    assert failures == []
    assert all(r.ok for r in uploaded + downloaded)
    assert len(uploaded) == len(downloaded) == len(digests)
    assert sum(proxy.stats.injected.values()) >= 60
    proxy.clear()
    assert_downloaded(tmp_path / "out", digests)
    _, listing = raw_conn.get_container(container_name, full_listing=True)
    assert sorted(e["name"] for e in listing) == sorted(digests)
    assert _sha256_of(raw_conn, container_name, "big/large.bin") == digests["big/large.bin"]


# -- the command line ----------------------------------------------------------------------


def _cli(proxy: FaultProxy, swift_server, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    env.update(ST_AUTH=proxy.rewrite(swift_server.auth_url), ST_USER=swift_server.user,
               ST_KEY=swift_server.key)
    extra = ["--segment-size", "4M"] if args[0] == "upload" else []
    return subprocess.run([sys.executable, "-m", "velocity.cli", *args, *extra,
                           "--retries", str(RETRIES), "--json"],
                          capture_output=True, text=True, env=env, timeout=600)


def test_cli_upload_and_download_survive(proxy, swift_server, tree, raw_conn, container_name,
                                         tmp_path):
    root, digests = tree
    proxy.add("status", method="PUT", path=r"^/v1/", rate=0.1, retry_after="0")
    proxy.add("reset_request", method="PUT", path=r"^/v1/", rate=0.1)
    proxy.add("expire_token", method="PUT", path=r"^/v1/", rate=0.1, lifetime=20)
    up = _cli(proxy, swift_server, "upload", container_name, str(root))
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
    upload_faults = sum(proxy.stats.injected.values())
    proxy.clear()
    proxy.add("reset_response", method="GET", path=r"^/v1/", rate=0.1)
    proxy.add("truncate", method="GET", path=r"^/v1/", rate=0.1)
    proxy.add("corrupt", method="GET", path=OBJECTS, rate=0.05)
    down = _cli(proxy, swift_server, "download", container_name, "-o", str(tmp_path / "out"))
    assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-2000:]
    assert upload_faults >= 30 and sum(proxy.stats.injected.values()) - upload_faults >= 30
    records = [json.loads(line) for line in (up.stdout + down.stdout).splitlines()
               if line.startswith("{")]
    assert sum(1 for r in records if r.get("ok")) >= 2 * len(digests)
    proxy.clear()
    assert_downloaded(tmp_path / "out", digests)
    assert _sha256_of(raw_conn, container_name, "big/large.bin") == digests["big/large.bin"]


def test_cli_ignore_checksum_is_what_it_says(proxy, swift_server, raw_conn, container_name,
                                             tmp_path):
    """``--ignore-checksum`` (the swift CLI's option) checks lengths only: a
    flipped byte gets through, where a normal download reads it again."""
    data = os.urandom(256 * 1024)
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "one.bin", data)
    outcomes = {}
    for flag in ("--ignore-checksum", None):
        proxy.clear()
        proxy.add("corrupt", method="GET", path=r"/one\.bin$", count=1)
        before = proxy.stats.injected["corrupt"]
        out = tmp_path / ("out-%s" % bool(flag))
        done = _cli(proxy, swift_server, "download", container_name, "-o", str(out),
                    *([flag] if flag else []))
        assert done.returncode == 0, done.stderr[-2000:]
        assert proxy.stats.injected["corrupt"] == before + 1
        outcomes[flag] = (out / "one.bin").read_bytes()
    proxy.clear()
    changed = sum(a != b for a, b in zip(outcomes["--ignore-checksum"], data))
    assert changed == 1 and outcomes[None] == data


# -- resuming a broken body ------------------------------------------------------------------


@pytest.fixture(params=["direct", "swiftclient"])
def transport(request, proxy, monkeypatch):
    """Which transport carries object bodies: Velocity's own http.client
    connection, or swiftclient's (which Velocity uses when an HTTP proxy is
    configured: here the fault proxy, as a forward proxy)."""
    for name in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "swiftclient":
        monkeypatch.setenv("http_proxy", proxy.url)
    return request.param


@pytest.mark.parametrize("kind", ["truncate", "reset_response"])
def test_broken_download_resumes_where_it_stopped(kind, transport, proxy, faulty, raw_conn,
                                                  container_name, tmp_path):
    """A body cut at 90% costs the rest, not a second whole GET.  After a
    clean cut (FIN) at most the block being read is lost; a reset (RST) also
    discards what the client's socket had received but not yet read."""
    data = os.urandom(24 * MiB)
    raw_conn.put_container(container_name)
    etag = raw_conn.put_object(container_name, "one.bin", data)
    proxy.reset_stats()
    proxy.add(kind, method="GET", path=r"/one\.bin$", at=0.9, count=1)
    config = TransferConfig(segment_size=64 * MiB, segment_threshold=64 * MiB)
    with SwiftClient(faulty, retry=FAST) as client, TransferManager(client, config) as manager:
        [result] = manager.download(container_name, ["one.bin"], out_dir=tmp_path)
    assert result.ok, str(result)
    assert (tmp_path / "one.bin").read_bytes() == data
    assert proxy.stats.injected[kind] == 1
    gets = [headers for method, path, _, headers in proxy.stats.log
            if method == "GET" and path.endswith("/one.bin")]
    assert len(gets) == 2
    first = int(gets[1]["range"].split("=")[1].split("-")[0])
    lost = MiB if kind == "truncate" else 6 * MiB
    assert first >= int(0.9 * len(data)) - lost
    assert gets[1]["range"] == "bytes=%d-%d" % (first, len(data) - 1)
    assert gets[1]["if-match"].strip('"') == etag
    assert proxy.stats.response_body_bytes < 1.1 * len(data) + lost


def test_a_changed_object_is_never_stitched_together(proxy, faulty, raw_conn, container_name):
    """The resumed part must come from the same object version (If-Match):
    an object replaced mid-read fails clearly instead of mixing versions."""
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "v.bin", b"a" * (8 * MiB))
    proxy.add("truncate", method="GET", path=r"/v\.bin$", at=0.5, count=1)
    with SwiftClient(faulty, retry=FAST) as client:
        _, body = client.get_object_stream(container_name, "v.bin", chunk=MiB)
        blocks = iter(body)
        first = bytes(next(blocks))
        raw_conn.put_object(container_name, "v.bin", b"b" * (8 * MiB))
        with pytest.raises(errors.IncompleteSend, match="changed") as caught:
            for block in blocks:
                assert bytes(block) == b"a" * len(block)
    assert first == b"a" * MiB
    assert caught.value.path == "/%s/v.bin" % container_name
    assert caught.value.method == "GET"


def test_retry_sends_the_whole_body_again(transport, proxy, faulty, raw_conn, container_name,
                                         tmp_path):
    """One 503 on a large PUT (refused before its body, thanks to
    Expect: 100-continue on the direct transport) and one reset mid-body:
    the third attempt sends the whole body and the object is stored."""
    data = os.urandom(6 * MiB)
    raw_conn.put_container(container_name)
    (tmp_path / "big.bin").write_bytes(data)
    proxy.add("status", method="PUT", path=r"/big\.bin$", count=1, retry_after="0")
    proxy.add("reset_request", method="PUT", path=r"/big\.bin$", count=1)
    with SwiftClient(faulty, retry=FAST) as client, TransferManager(client) as manager:
        [result] = manager.upload(container_name, str(tmp_path / "big.bin"),
                                  object_names=["big.bin"])
    assert result.ok, str(result)
    assert proxy.stats.injected["status"] == 1 and proxy.stats.injected["reset_request"] == 1
    _, stored = raw_conn.get_object(container_name, "big.bin")
    assert stored == data
    puts = [entry for entry in proxy.stats.log if entry[0] == "PUT"
            and entry[1].endswith("/big.bin")]
    assert [status for _, _, status, _ in puts] == [503, None, 201]
    if transport == "direct":
        assert puts[0][3].get("expect") == "100-continue"
    else:  # swiftclient's transport, through the proxy as a forward proxy
        assert "expect" not in puts[0][3]


def test_a_segment_damaged_on_the_way_up_is_noticed_and_sent_again(
        transport, proxy, faulty, raw_conn, container_name, tmp_path):
    """Every segment is hashed while it is sent (from the page cache on the
    direct transport) and its MD5 checked against the ETag Swift answers:
    one damaged in transit is sent again, and the object is whole."""
    data = os.urandom(12 * MiB)
    raw_conn.put_container(container_name)
    (tmp_path / "big.bin").write_bytes(data)
    proxy.add("corrupt_request", method="PUT", path=r"_segments/", count=2, at=0.7)
    config = TransferConfig(segment_threshold=4 * MiB, segment_size=4 * MiB, segment_threads=2)
    with SwiftClient(faulty, retry=FAST) as client, TransferManager(client, config) as manager:
        [result] = manager.upload(container_name, str(tmp_path / "big.bin"))
    assert result.ok and result.segments == 3, str(result)
    assert proxy.stats.injected["corrupt_request"] == 2
    _, stored = raw_conn.get_object(container_name, "big.bin")
    assert stored == data
    puts = [entry for entry in proxy.stats.log
            if entry[0] == "PUT" and "_segments/" in entry[1]]
    assert [status for _, _, status, _ in puts] == [201] * 5  # 3 segments, 2 sent again
    md5s = [hashlib.md5(data[i:i + 4 * MiB]).hexdigest() for i in range(0, len(data), 4 * MiB)]
    listed = raw_conn.get_container(container_name + "_segments")[1]
    assert [o["hash"] for o in listed] == md5s
    headers = raw_conn.head_object(container_name, "big.bin")
    assert "x-object-meta-x-sdk-md5" not in headers  # only with content_md5=True
    _cleanup(raw_conn, container_name)


def test_a_manifest_damaged_on_the_way_down_is_read_again(transport, proxy, faulty,
                                                         raw_conn, container_name, tmp_path):
    """A static large object's manifest is checked against its ETag (its MD5
    on Swift) before its segments are fetched: one damaged on the way is read
    again, never parsed into wrong segment sizes or MD5s."""
    data = os.urandom(10 * MiB)
    raw_conn.put_container(container_name)
    (tmp_path / "big.bin").write_bytes(data)
    config = TransferConfig(segment_threshold=4 * MiB, segment_size=4 * MiB, segment_threads=2)
    with SwiftClient(faulty, retry=FAST) as client, TransferManager(client, config) as manager:
        [up] = manager.upload(container_name, str(tmp_path / "big.bin"))
        assert up.ok and up.segments == 3, str(up)
        for at in (0.1, 0.5, 0.9):  # in the JSON's syntax, a size or an MD5: all noticed
            proxy.clear()
            proxy.reset_stats()
            proxy.add("corrupt", method="GET", path=r"/big\.bin$", count=1, at=at)
            out = tmp_path / ("out-%s" % at)
            [down] = manager.download(container_name, ["big.bin"], out_dir=str(out))
            assert down.ok and down.segments == 3, str(down)
            assert proxy.stats.injected["corrupt"] == 1
            assert (out / "big.bin").read_bytes() == data
            manifests = [e for e in proxy.stats.log if e[0] == "GET"
                         and e[1].endswith("/big.bin")]
            # the damaged one, a second read that differs from it, then the download again
            assert len(manifests) == 3
    _cleanup(raw_conn, container_name)


def test_retry_after_is_honoured(proxy, faulty, container_name):
    with SwiftClient(faulty, retry=FAST) as client:
        client.put_container(container_name)
        proxy.add("status", method="PUT", path=r"/later$", count=1, retry_after="1")
        started = time.monotonic()
        client.put_small_object(container_name, "later", b"x")
        assert time.monotonic() - started >= 1.0
        assert client.head_object(container_name, "later")["content-length"] == "1"


def test_a_stream_that_cannot_be_rewound_fails_clearly(proxy, faulty, container_name):
    with SwiftClient(faulty, retry=FAST) as client:
        client.put_container(container_name)
        proxy.add("status", method="PUT", path=r"/streamed$", count=1)
        with pytest.raises(errors.ResponseError, match="cannot be rewound") as caught:
            client.put_object(container_name, "streamed", iter([b"abc", b"def"]))
    assert caught.value.method == "PUT"
    assert caught.value.path.endswith("/%s/streamed" % container_name)


def test_a_large_upload_that_fails_leaves_nothing_visible(proxy, faulty, tree, raw_conn,
                                                          container_name):
    """The manifest PUT fails every time: no object under the name, and every
    segment is removed again."""
    root, _ = tree
    proxy.add("status", method="PUT", path=r"/%s/big/large\.bin$" % container_name)
    quick = RetryPolicy(retries=2, backoff=0.01)
    with SwiftClient(faulty, retry=quick) as client, TransferManager(client, CONFIG) as manager:
        client.put_container(container_name)
        [result] = manager.upload(container_name, str(root / "big" / "large.bin"),
                                  object_names=["big/large.bin"])
    assert not result.ok and result.error.status == 503
    assert "/%s/big/large.bin" % container_name in str(result.error)
    with pytest.raises(swiftclient.ClientException) as missing:
        raw_conn.head_object(container_name, "big/large.bin")
    assert missing.value.http_status == 404
    _, segments = raw_conn.get_container(container_name + "_segments")
    assert segments == []


def test_connection_errors_name_method_and_path(proxy, faulty, container_name):
    """A download that fails for good says which request failed."""
    with SwiftClient(faulty, retry=RetryPolicy(retries=1, backoff=0.01)) as client:
        client.put_container(container_name)
        client.put_small_object(container_name, "gone", b"x" * 100000)
        proxy.add("reset_response", method="GET", path=r"/gone$")
        with pytest.raises(errors.IncompleteSend) as caught:
            _, body = client.get_object_stream(container_name, "gone")
            b"".join(bytes(b) for b in body)
    text = str(caught.value)
    assert "(GET /%s/gone)" % container_name in text
    assert "( /)" not in text


def test_a_keep_alive_connection_the_server_closed_costs_no_retry(proxy, faulty,
                                                                 container_name, caplog):
    with SwiftClient(faulty, retry=FAST) as client:
        client.put_container(container_name)
        client.put_small_object(container_name, "first", b"1")
        _, body = client.get_object_stream(container_name, "first")
        assert b"".join(bytes(b) for b in body) == b"1"
        proxy.drop_connections()
        time.sleep(0.2)
        caplog.set_level("INFO", logger="velocity")
        client.put_small_object(container_name, "second", b"2")
        _, body = client.get_object_stream(container_name, "second")
        assert b"".join(bytes(b) for b in body) == b"2"
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]


def test_an_unreachable_identity_service_is_named(swift_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    creds = Credentials.v1("http://127.0.0.1:%d/auth/v1.0" % port, "u", "k")
    with SwiftClient(creds, retry=RetryPolicy(retries=0)) as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            client.get_auth()
    assert "http://127.0.0.1:%d" % port in str(caught.value)
