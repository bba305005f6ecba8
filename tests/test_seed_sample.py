"""The users' README for ``Velocity`` (seed 000): its sample usage, as written,
run as a script for all four actions against the real LocalSwift.

The only changes to the sample are the ones the issue allows: ``auth_url=``
and ``identity='v1'`` are added to the ``Velocity(...)`` call, and a prelude
fills in the README's variables (``USERNAME``, ``PW_OR_API_KEY``, ...).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# The README's "Sample Usage", verbatim except for the Velocity(...) line.
SAMPLE = """\
from velocity import Velocity


import asyncio

# Initiate the loop and will be passed to the object
loop = asyncio.get_event_loop()
velocity = Velocity(loop, USERNAME, PW_OR_API_KEY, REGION, auth_url=AUTH_URL, identity='v1')
try:
    velocity.authenticate()
    if action == 'upload':
        velocity.create_container(CONTAINER)

    # Start running the action
    loop.run_until_complete(
        velocity.process(CONTAINER, ACTION_TO_PERFORM, FILE_LOCATION)
    )
except Exception as e:
    print(f'There was an exception here {e}')
finally:
    # Make sure the session is closed even on exception
    loop.run_until_complete(velocity.close_session())

# Close the loop out
loop.close()

# Get any errors generated from the action
if len(velocity.errors) > 0:
    for error in velocity.errors:
        print(error)
else:
    print(f'Huzzah! No errors reported for action {action}')
"""

FILES = {
    "readme.txt": b"top level\n",
    "data/numbers.bin": bytes(range(256)) * 40,
    "data/deeper/notes.md": b"# notes\n" * 100,
    "data/deeper/\u00e9t\u00e9 caf\u00e9.txt": b"unicode name",
    "empty.dat": b"",
}


def _prelude(swift_server, container: str, action: str, location: str) -> str:
    values = {
        "USERNAME": swift_server.user,
        "PW_OR_API_KEY": swift_server.key,
        "REGION": None,
        "AUTH_URL": swift_server.auth_url,
        "CONTAINER": container,
        "ACTION_TO_PERFORM": action,
        "FILE_LOCATION": location,
        "action": action.lower(),
    }
    return "".join("%s = %r\n" % item for item in values.items())


def run_sample(swift_server, container: str, action: str, location: str, tmp_path
               ) -> subprocess.CompletedProcess:
    script = tmp_path / ("sample_%s.py" % action.lower())
    script.write_text(_prelude(swift_server, container, action, location) + SAMPLE,
                      encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=str(tmp_path))


def _write_tree(root, files) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _listing(raw_conn, container: str) -> dict[str, bytes]:
    _, objects = raw_conn.get_container(container, full_listing=True)
    return {obj["name"]: raw_conn.get_object(container, obj["name"])[1] for obj in objects}


def _local(root) -> dict[str, bytes]:
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root).replace(os.sep, "/")] = open(path, "rb").read()
    return found


def _assert_no_errors(proc: subprocess.CompletedProcess, action: str) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "There was an exception" not in proc.stdout, proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == (
        "Huzzah! No errors reported for action %s" % action.lower()), proc.stdout


def test_seed_sample_all_four_actions(swift_server, raw_conn, container_name, tmp_path):
    source = tmp_path / "source"
    _write_tree(source, FILES)

    # UPLOAD creates the container and uploads every file, names relative to the folder
    proc = run_sample(swift_server, container_name, "UPLOAD", str(source), tmp_path)
    _assert_no_errors(proc, "UPLOAD")
    assert _listing(raw_conn, container_name) == FILES

    # HEAD: every local file exists in the container
    proc = run_sample(swift_server, container_name, "HEAD", str(source), tmp_path)
    _assert_no_errors(proc, "HEAD")

    # DOWNLOAD: every object lands in the folder, byte for byte, nothing else
    target = tmp_path / "target"
    target.mkdir()
    proc = run_sample(swift_server, container_name, "DOWNLOAD", str(target), tmp_path)
    _assert_no_errors(proc, "DOWNLOAD")
    assert _local(target) == FILES

    # DELETE the objects that correspond to the local files
    proc = run_sample(swift_server, container_name, "DELETE", str(source), tmp_path)
    _assert_no_errors(proc, "DELETE")
    assert _listing(raw_conn, container_name) == {}
    assert _local(source) == FILES  # DELETE never touches the local folder

    # HEAD again: every file is now missing, and each one is reported by name
    proc = run_sample(swift_server, container_name, "head", str(source), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Huzzah" not in proc.stdout
    for name in FILES:
        assert name in proc.stdout, proc.stdout


@pytest.mark.parametrize("action", ["UPLOAD", "DOWNLOAD"])
def test_seed_sample_reports_a_missing_location(swift_server, container_name, tmp_path,
                                                action):
    missing = str(tmp_path / "no-such-folder")
    proc = run_sample(swift_server, container_name, action, missing, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Huzzah" not in proc.stdout
    assert "There was an exception here" in proc.stdout
    assert "does not exist" in proc.stdout and missing in proc.stdout


def test_seed_sample_reports_a_wrong_key(swift_server, container_name, tmp_path):
    source = tmp_path / "source"
    _write_tree(source, {"a.txt": b"a"})

    class WrongKey:
        user = swift_server.user
        key = "not-the-key"
        auth_url = swift_server.auth_url

    proc = run_sample(WrongKey, container_name, "UPLOAD", str(source), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "There was an exception here" in proc.stdout
    assert "refused" in proc.stdout
    assert "Huzzah" not in proc.stdout  # the failure is in velocity.errors too
    assert "not-the-key" not in proc.stdout + proc.stderr
