"""``velocity sync``, ``check`` and ``cleanup`` through a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _cli(swift_server, *args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    env.update(ST_AUTH=swift_server.auth_url, ST_USER=swift_server.user,
               ST_KEY=swift_server.key)
    return subprocess.run([sys.executable, "-m", "velocity.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_sync_both_ways_dry_run_check_and_cleanup(swift_server, raw_conn, container_name,
                                                  tmp_path):
    site = tmp_path / "site"
    (site / "img").mkdir(parents=True)
    (site / "index.html").write_bytes(b"<h1>v1</h1>")
    (site / "img" / "a.png").write_bytes(os.urandom(5000))
    remote = "%s/www" % container_name

    dry = _cli(swift_server, "sync", str(site), remote, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = [json.loads(line) for line in dry.stdout.splitlines()]
    assert sorted(r["name"] for r in planned) == ["www/img/a.png", "www/index.html"]
    assert _cli(swift_server, "list", container_name).stdout == ""  # nothing changed

    assert _cli(swift_server, "check", str(site), remote).returncode == 1
    up = _cli(swift_server, "sync", str(site), remote)
    assert up.returncode == 0, up.stderr
    assert _cli(swift_server, "check", str(site), remote).returncode == 0

    (site / "index.html").write_bytes(b"<h1>v2, longer</h1>")
    (site / "img" / "a.png").unlink()
    again = _cli(swift_server, "sync", str(site), remote, "--delete", "--json")
    assert again.returncode == 0, again.stderr
    _, listing = raw_conn.get_container(container_name)
    assert [e["name"] for e in listing] == ["www/index.html"]
    assert raw_conn.get_object(container_name, "www/index.html")[1] == b"<h1>v2, longer</h1>"

    down = _cli(swift_server, "sync", "swift:" + remote, "./copy", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "copy" / "index.html").read_bytes() == b"<h1>v2, longer</h1>"
    assert _cli(swift_server, "check", "swift:" + remote, str(tmp_path / "copy")).returncode == 0

    orphans = _cli(swift_server, "cleanup", container_name)
    assert orphans.returncode == 0 and "0 unfinished segment(s)" in orphans.stdout

    both_local = _cli(swift_server, "sync", str(site), str(tmp_path))
    assert both_local.returncode == 2 and "one of SRC and DST" in both_local.stderr


def test_upload_and_download_on_a_local_dask_cluster(swift_server, raw_conn, container_name,
                                                     tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    files = {"f%02d.bin" % i: os.urandom(3000 + i) for i in range(30)}
    for name, data in files.items():
        (src / name).write_bytes(data)
    up = _cli(swift_server, "upload", container_name, str(src), "--dask", "local:2")
    assert up.returncode == 0, up.stderr
    _, listing = raw_conn.get_container(container_name)
    assert sorted(e["name"] for e in listing) == sorted(files)
    down = _cli(swift_server, "download", container_name, "-o", str(tmp_path / "out"),
                "--dask", "local:2")
    assert down.returncode == 0, down.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == files
    refused = _cli(swift_server, "upload", container_name, str(src), "--dask", "local:1",
                   "-U", "someone")
    assert refused.returncode == 2 and "OS_*" in refused.stderr
