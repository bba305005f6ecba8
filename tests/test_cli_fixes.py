"""What users reported about the ``velocity`` command, each run as a real
subprocess against LocalSwift."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import swiftclient
from test_cli import lines, shell_env, velocity

CLI = [sys.executable, "-m", "velocity.cli"]


@pytest.fixture
def env(swift_server):
    """A shell's environment with the swift CLI's variables for LocalSwift."""
    return shell_env(swift_server)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_reader_that_goes_away_ends_it_quietly(env, raw_conn, container_name, unbuffered):
    """``velocity stat | head -1``: the reader closed the pipe before we wrote."""
    raw_conn.put_container(container_name)
    for argv in (["stat"], ["list"], ["list", container_name, "--long"], ["--help"]):
        reader, writer = os.pipe()
        os.close(reader)  # nobody will read: every write finds a closed pipe
        try:
            proc = subprocess.run([*CLI, *argv], env=dict(env, PYTHONUNBUFFERED=unbuffered),
                                  stdout=writer, stderr=subprocess.PIPE, text=True,
                                  timeout=60)
        finally:
            os.close(writer)
        assert proc.returncode in (0, 141), (argv, proc.returncode, proc.stderr)
        assert proc.stderr == "", (argv, proc.stderr)
    shell = subprocess.run(["bash", "-c", "set -o pipefail; %s -m velocity.cli stat | head -1"
                            % sys.executable], env=env, capture_output=True, text=True,
                           timeout=60)
    assert shell.returncode in (0, 141) and shell.stderr == ""
    assert shell.stdout.count("\n") == 1


def test_head_json_headers_are_an_object(env, raw_conn, container_name):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "x.txt", b"12345",
                        headers={"X-Object-Meta-Color": "blue"})
    [record] = lines(velocity("head", container_name, "x.txt", "--json", env=env))
    assert isinstance(record["headers"], dict)
    assert record["headers"]["x-object-meta-color"] == "blue"
    assert record["headers"]["content-length"] == "5"
    assert record["etag"] == hashlib.md5(b"12345").hexdigest()
    assert (record["manifest_etag"], record["segments"]) == (None, 0)


def test_a_large_object_has_one_etag_in_every_command(env, raw_conn, container_name,
                                                      tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(300 * 1024))
    small = tmp_path / "small.txt"
    small.write_bytes(b"small")
    upload = ("upload", container_name, str(big), str(small), "--segment-size", "100K",
              "--json")
    first = {r["name"]: r for r in lines(velocity(*upload, env=env))}
    headers = raw_conn.head_object(container_name, "big.bin")
    etag = headers["etag"].strip('"')
    expected = {"etag": etag, "manifest_etag": headers["x-manifest-etag"], "segments": 3}
    again = {r["name"]: r for r in lines(velocity(*upload, "--skip-identical", env=env))}
    [head] = lines(velocity("head", container_name, "big.bin", "--json", env=env))
    down = {r["name"]: r for r in lines(velocity("download", container_name, "-o",
                                                 str(tmp_path / "out"), "--json", env=env))}
    for record in (first["big.bin"], again["big.bin"], head, down["big.bin"]):
        assert {key: record[key] for key in expected} == expected, record
    assert again["big.bin"]["skipped"]
    plain = {"etag": hashlib.md5(b"small").hexdigest(), "manifest_etag": None, "segments": 0}
    for record in (first["small.txt"], again["small.txt"], down["small.txt"]):
        assert {key: record[key] for key in plain} == plain, record
    table = velocity("head", container_name, "big.bin", env=env)
    assert table.stdout.split() == ["307200", etag, "big.bin"]


def _read_record(proc: subprocess.Popen, deadline: float) -> dict:
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.strip():
            return json.loads(line)
    raise AssertionError(proc.stderr.read() if proc.poll() is not None else "no record")


def test_serve_json_and_host():
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    everywhere = "0.0.0.0"  # noqa: S104 - what must be refused
    refused = subprocess.run([*CLI, "serve", "--host", everywhere], env=bare,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "loopback" in refused.stderr
    assert refused.stdout == ""
    for host in ("192.168.1.10", "example.com", "::1"):
        proc = subprocess.run([*CLI, "serve", "--host", host], env=bare, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2 and "127.0.0.1" in proc.stderr, host

    proc = subprocess.Popen([*CLI, "serve", "--json", "--host", "localhost"], env=bare,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = _read_record(proc, time.monotonic() + 120)
        assert ready["action"] == "serve" and ready["status"] == "running"
        assert ready["auth_url"].startswith("http://127.0.0.1:")
        conn = swiftclient.Connection(ready["auth_url"], ready["user"], ready["key"],
                                      retries=0)
        conn.put_container("served")
        assert conn.get_auth()[0] == ready["storage_url"]
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert [json.loads(line) for line in rest.splitlines()] == [
        {"action": "serve", "status": "stopped"}]


def test_demo_json_prints_records():
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    proc = subprocess.run([*CLI, "demo", "--json"], env=bare, capture_output=True, text=True,
                          timeout=280)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["action"] for r in records} == {"demo"}
    steps = [r["step"] for r in records]
    assert {"uploaded", "downloaded", "verified"} <= set(steps)
    assert records[-1] == dict(records[-1], step="result", ok=True, status=0)


@pytest.mark.parametrize("variables", [
    {"ST_AUTH": "http://127.0.0.1:{port}/auth/v1.0", "ST_USER": "u", "ST_KEY": "sekrit-9"},
    {"OS_AUTH_URL": "http://127.0.0.1:{port}/v3", "OS_USERNAME": "u",
     "OS_PASSWORD": "sekrit-9", "OS_PROJECT_NAME": "p", "OS_USER_DOMAIN_NAME": "Default",
     "OS_PROJECT_DOMAIN_NAME": "Default"},
])
def test_a_refused_identity_service_fails_fast_in_one_line(variables):
    port = _closed_port()
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    bare.update({k: v.format(port=port) for k, v in variables.items()})
    began = time.monotonic()
    proc = velocity("stat", env=bare, secret="sekrit-9", timeout=30)
    took = time.monotonic() - began
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "http://127.0.0.1:%d" % port in proc.stderr and "refused" in proc.stderr
    assert took < 3, took


def test_delete_a_container_removes_its_empty_segments_container(env, raw_conn,
                                                                 container_name, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(250 * 1024))
    assert velocity("upload", container_name, str(big), "--segment-size", "100K",
                    env=env).returncode == 0
    assert raw_conn.get_container(container_name + "_segments")[1]
    proc = velocity("delete", container_name, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "deleted 1 object(s) and 3 segment(s)", "deleted container %s" % container_name,
        "deleted empty segments container %s_segments" % container_name]
    for name in (container_name, container_name + "_segments"):
        with pytest.raises(swiftclient.ClientException) as caught:
            raw_conn.head_container(name)
        assert caught.value.http_status == 404

    # an empty container: the summary speaks of deleting, not of "transfer"
    raw_conn.put_container(container_name)
    empty = velocity("delete", container_name, env=env)
    assert empty.returncode == 0
    assert empty.stdout.splitlines() == ["deleted 0 object(s)",
                                         "deleted container %s" % container_name]

    # a segments container that still holds something stays
    raw_conn.put_container(container_name)
    raw_conn.put_container(container_name + "_segments")
    raw_conn.put_object(container_name + "_segments", "someone-elses", b"x")
    kept = velocity("delete", container_name, "--json", env=env)
    assert kept.returncode == 0
    assert [r["container"] for r in lines(kept)] == [container_name]
    assert raw_conn.get_container(container_name + "_segments")[1]

    missing = velocity("delete", container_name, env=env)
    assert missing.returncode == 1 and missing.stdout == ""
    assert "no container" in missing.stderr and missing.stderr.count("\n") == 1


def test_how_paths_become_object_names(env, raw_conn, container_name, tmp_path):
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "index.html").write_bytes(b"<html>")
    (site / "css" / "main.css").write_bytes(b"body{}")
    (tmp_path / "a.txt").write_bytes(b"a")
    names = {}
    for argv in ([str(site)], [str(site), "--prefix", "2024/site/"],
                 [str(site / "index.html"), "--prefix", "one/"],
                 [str(tmp_path / "a.txt"), str(site), "--prefix", "mix/"]):
        proc = velocity("upload", container_name, *argv, "--json", env=env,
                        cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr
        names[argv[-1]] = sorted(r["name"] for r in lines(proc))
    assert names[str(site)] == ["css/main.css", "index.html"]
    assert names["2024/site/"] == ["2024/site/css/main.css", "2024/site/index.html"]
    assert names["one/"] == ["one/index.html"]
    assert names["mix/"] == ["mix/a.txt", "mix/css/main.css", "mix/index.html"]
    # the documented examples: ./site and site/ give the same names
    for spelling in ("./site", "site/"):
        proc = velocity("upload", container_name, spelling, "--json", env=env,
                        cwd=str(tmp_path))
        assert sorted(r["name"] for r in lines(proc)) == ["css/main.css", "index.html"]
    help_text = velocity("upload", "--help", env=env).stdout
    assert "index.html" in help_text and "swift CLI" in help_text
    assert "--prefix site/" in help_text
    assert re.search(r"upload box \./site\s+->\s+index\.html", help_text)


def test_serve_port():
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        taken = probe.getsockname()[1]
        probe.listen(1)
        busy = subprocess.run([*CLI, "serve", "--port", str(taken)], env=bare,
                              capture_output=True, text=True, timeout=60)
    assert busy.returncode != 0 and "port %d" % taken in busy.stderr
    assert len(busy.stderr.strip().splitlines()) == 1
    port = taken  # free again now
    proc = subprocess.Popen([*CLI, "serve", "--json", "--port", str(port)], env=bare,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = _read_record(proc, time.monotonic() + 120)
        assert ready["auth_url"] == "http://127.0.0.1:%d/auth/v1.0" % port
        conn = swiftclient.Connection(ready["auth_url"], ready["user"], ready["key"],
                                      retries=0)
        assert conn.head_account() is not None
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 0
