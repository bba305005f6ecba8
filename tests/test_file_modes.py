"""Downloaded files get the mode the umask says (as the swift CLI and rclone
give them), not the 0600 of a private temporary file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_downloads_respect_the_umask(umask, mode, swift_server, raw_conn, container_name,
                                     tmp_path):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "a/small.txt", b"small")
    raw_conn.put_object(container_name, "large.bin", os.urandom(3 * 1024 * 1024))
    script = """
import os, sys
os.umask(%d)
from velocity import SwiftClient, TransferConfig, TransferManager
from velocity.auth import Credentials
creds = Credentials.v1(sys.argv[1], sys.argv[2], sys.argv[3])
config = TransferConfig(segment_size=1024 * 1024)  # the large one in parallel ranges
with TransferManager(SwiftClient(creds), config) as manager:
    results = manager.download(sys.argv[4], out_dir=sys.argv[5])
assert all(r.ok for r in results), [str(r) for r in results]
""" % umask
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-c", script, swift_server.auth_url, swift_server.user,
                    swift_server.key, container_name, str(out)], check=True, timeout=120)
    for name in ("a/small.txt", "large.bin"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == mode, name
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["large.bin", "small.txt"]
