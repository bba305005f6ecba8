"""LocalSwift is a real Swift: it serves real requests and cleans up after itself."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import urllib.request

import pytest
import swiftclient
from swiftclient.service import SwiftService, SwiftUploadObject

from velocity.server import LocalSwift, ServerError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_attributes_describe_a_tempauth_v1_endpoint(swift_server):
    assert swift_server.auth_url.startswith("http://127.0.0.1:")
    assert swift_server.auth_url.endswith("/auth/v1.0")
    assert swift_server.user == "test:tester"
    conn = swiftclient.Connection(authurl=swift_server.auth_url, user=swift_server.user,
                                  key=swift_server.key)
    url, token = conn.get_auth()
    assert url == swift_server.storage_url
    assert token


def test_info_publishes_the_middlewares(swift_server):
    info = swift_server.info()
    for capability in ("slo", "bulk_delete", "bulk_upload", "tempurl", "versioned_writes",
                       "container_quotas", "account_quotas", "formpost", "symlink"):
        assert capability in info, capability
    assert info["swift"]["max_file_size"] == 5368709122


def test_containers_objects_and_ranges(raw_conn, container_name):
    raw_conn.put_container(container_name, headers={"X-Container-Meta-Color": "blue"})
    assert raw_conn.head_container(container_name)["x-container-meta-color"] == "blue"
    etag = raw_conn.put_object(container_name, "hello.txt", b"hello world")
    assert etag == hashlib.md5(b"hello world").hexdigest()
    _, body = raw_conn.get_object(container_name, "hello.txt", headers={"Range": "bytes=6-10"})
    assert body == b"world"
    raw_conn.copy_object(container_name, "hello.txt", "/%s/copy.txt" % container_name)
    assert raw_conn.get_object(container_name, "copy.txt")[1] == b"hello world"


def test_slo_upload_and_download(swift_server, raw_conn, container_name, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 77)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    options = {"auth": swift_server.auth_url, "user": swift_server.user,
               "key": swift_server.key, "auth_version": "1.0"}
    with SwiftService(options=options) as service:
        results = list(service.upload(container_name, [SwiftUploadObject(str(src), "big.bin")],
                                      options={"segment_size": 1024 * 1024, "use_slo": True}))
        assert all(r["success"] for r in results), results
    headers = raw_conn.head_object(container_name, "big.bin")
    assert headers["x-static-large-object"] == "True"
    assert int(headers["content-length"]) == len(data)
    assert raw_conn.get_object(container_name, "big.bin")[1] == data
    _, manifest = raw_conn.get_object(container_name, "big.bin",
                                      query_string="multipart-manifest=get")
    assert len(json.loads(manifest)) == 4


def test_bulk_delete_and_extract_archive(raw_conn, container_name):
    raw_conn.put_container(container_name)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for i in range(20):
            member = tarfile.TarInfo("x/%02d.txt" % i)
            member.size = 3
            tar.addfile(member, io.BytesIO(b"%03d" % i))
    raw_conn.put_object(container_name, "", archive.getvalue(),
                        query_string="extract-archive=tar", headers={"Accept": "application/json"})
    _, listing = raw_conn.get_container(container_name)
    assert [o["name"] for o in listing] == ["x/%02d.txt" % i for i in range(20)]
    body = "".join("/%s/x/%02d.txt\n" % (container_name, i) for i in range(20))
    _, answer = raw_conn.post_account(
        headers={"Content-Type": "text/plain", "Accept": "application/json"},
        data=body.encode(), query_string="bulk-delete")
    assert json.loads(answer)["Number Deleted"] == 20
    assert raw_conn.get_container(container_name)[1] == []


def test_account_totals_after_updater_sweep(swift_server, raw_conn, container_name):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "o", b"x" * 1000)
    swift_server.run_updater()
    headers = raw_conn.head_account()
    assert int(headers["x-account-bytes-used"]) >= 1000


def test_two_servers_side_by_side_then_nothing_left():
    with LocalSwift() as first, LocalSwift() as second:
        assert first.auth_url != second.auth_url
        assert set(first.pids).isdisjoint(second.pids)
        for server in (first, second):
            conn = swiftclient.Connection(authurl=server.auth_url, user=server.user,
                                          key=server.key)
            conn.put_container("side")
            conn.put_object("side", "who", server.auth_url.encode())
        # separate storage: each sees only its own object
        for server in (first, second):
            conn = swiftclient.Connection(authurl=server.auth_url, user=server.user,
                                          key=server.key)
            assert conn.get_object("side", "who")[1] == server.auth_url.encode()
        pids = first.pids + second.pids
        folders = [first.folder, second.folder]
        assert all(_alive(pid) for pid in pids)
    assert not any(_alive(pid) for pid in pids)
    assert not any(os.path.exists(folder) for folder in folders)
    with pytest.raises(OSError):
        urllib.request.urlopen(first.proxy_url + "/healthcheck", timeout=2)


def test_failed_start_names_the_server_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr("velocity.server._LAUNCHER", str(tmp_path / "missing.py"))
    server = LocalSwift(base_dir=str(tmp_path))
    with pytest.raises(ServerError, match="rings"):
        server.start()
    assert not server.running
    assert list(tmp_path.iterdir()) == []
