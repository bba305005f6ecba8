"""What a command pays before its first request: the modules Velocity leaves
unloaded, and the stand-ins that keep keystoneauth1 working without them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

#: what a v1 or pre-authenticated login with the direct transport never needs
LIBRARIES = ("requests", "urllib3", "keystoneauth1", "swiftclient")
#: standard modules that a stat or a list never needs (logging is loaded on the first
#: message worth showing, typing only by type checkers, hashlib by the first hash, the
#: rest by the commands that use them)
UNUSED_STDLIB = ("logging", "typing", "dataclasses", "inspect", "shutil", "hashlib", "hmac",
                 "getpass", "shlex", "signal", "copy")
#: loaded only by the Keystone server, osprofiler or other OpenStack code
HEAVY = ("osprofiler", "oslo_config", "oslo_utils", "webob", "netaddr", "keystoneclient")


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_client_and_the_cli_load_no_openstack_service_modules():
    loaded = json.loads(_run(
        "import json, sys\n"
        "import velocity.cli, velocity.client, velocity.transfer, velocity.connection\n"
        "from velocity.auth import Credentials\n"
        "Credentials.v1('http://127.0.0.1:1/auth/v1.0', 'a:b', 'k').session()\n"
        "print(json.dumps(sorted(m for m in sys.modules)))\n"))
    roots = {name.split(".")[0] for name in loaded}
    assert roots.isdisjoint(HEAVY), sorted(roots & set(HEAVY))
    assert "keystoneauth1.session" in loaded  # the real one, with its stand-ins


@pytest.mark.parametrize("command", [["stat"], ["list"], ["stat", "c"], ["list", "c"],
                                     ["stat", "c", "o"], ["upload", "c", "{file}"],
                                     ["download", "c", "-o", "{out}"],
                                     ["post", "c", "-m", "colour:blue"],
                                     ["post", "c", "o", "-m", "owner:ann"],
                                     ["copy", "c", "o", "-d", "/c/o2"], ["delete", "c", "o"],
                                     ["upload", "c", "{big}", "--segment-size", "1K"],
                                     ["delete", "c"]])
def test_v1_commands_never_import_requests_keystoneauth1_or_swiftclient(
        swift_server, raw_conn, container_name, tmp_path, command):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "o", b"hello")
    (tmp_path / "f.txt").write_bytes(b"up")
    (tmp_path / "big.bin").write_bytes(bytes(range(256)) * 12)  # three segments and a manifest
    paths = {"file": tmp_path / "f.txt", "big": tmp_path / "big.bin", "out": tmp_path / "out"}
    argv = [part.replace("c", container_name) if part in ("c", "/c/o2") else
            part.format(**paths) for part in command]
    loaded = json.loads(_run(
        "import json, sys\n"
        "from velocity.cli import main\n"
        "code = main(%r)\n"
        "assert code == 0, code\n"
        "print(json.dumps(sorted(m for m in sys.modules)))\n" % (
            ["--auth-url", swift_server.auth_url, "--user", swift_server.user,
             "--key", swift_server.key, "--quiet", *argv],)).splitlines()[-1])
    roots = {name.split(".")[0] for name in loaded}
    assert roots.isdisjoint(LIBRARIES), sorted(roots & set(LIBRARIES))
    if command[0] in ("stat", "list"):
        assert roots.isdisjoint(UNUSED_STDLIB), sorted(roots & set(UNUSED_STDLIB))
    if command[0] == "download":
        assert (tmp_path / "out" / "o").read_bytes() == b"hello"
    if "{big}" in command:
        stored = raw_conn.head_object(container_name, "big.bin")
        assert stored["x-static-large-object"] == "True"
        assert raw_conn.get_object(container_name, "big.bin")[1] == bytes(range(256)) * 12


@pytest.mark.skipif(importlib.util.find_spec("osprofiler") is None,
                    reason="osprofiler is not installed")
def test_a_running_osprofiler_trace_still_gets_its_headers():
    out = json.loads(_run(
        "import json\n"
        "import velocity.auth\n"
        "from keystoneauth1 import session\n"
        "before = session.osprofiler_web.get_trace_id_headers()\n"
        "from osprofiler import profiler, web\n"
        "profiler.init(hmac_key='secret-key')\n"
        "print(json.dumps([before, session.osprofiler_web.get_trace_id_headers(),\n"
        "                  sorted(web.get_trace_id_headers())]))\n"))
    before, during, real = out
    assert before == {}
    assert sorted(during) == real and "X-Trace-Info" in during


@pytest.mark.skipif(importlib.util.find_spec("netaddr") is None,
                    reason="netaddr is not installed")
def test_netaddr_addresses_are_still_written_into_json_bodies():
    out = _run(
        "import velocity.auth\n"
        "from keystoneauth1 import session\n"
        "import netaddr\n"
        "print(session._JSONEncoder().encode({'ip': netaddr.IPAddress('10.0.0.1')}))\n")
    assert json.loads(out) == {"ip": "10.0.0.1"}


def test_velocity_logs_without_loading_logging_until_a_message_can_be_shown():
    done = subprocess.run([sys.executable, "-c", (
        "import sys\n"
        "from velocity._log import log, muted\n"
        "log.debug('not %s', 'shown'); log.info('nor this')\n"
        "assert 'logging' not in sys.modules\n"
        "with muted():\n"
        "    log.warning('quiet while muted')\n"
        "assert 'logging' not in sys.modules\n"
        "log.warning('shown %s', 1)\n"
        "assert 'logging' in sys.modules\n"
        "with muted():\n"
        "    log.warning('still quiet'); log.error('errors get through')\n")],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["shown 1", "errors get through"]


def test_a_configured_logger_sees_velocity_s_records_with_the_caller_s_place(caplog):
    from velocity._log import log

    caplog.set_level("DEBUG", logger="velocity")
    log.debug("hello %s", "there")
    (record,) = caplog.records
    assert (record.name, record.levelname, record.getMessage()) == ("velocity", "DEBUG",
                                                                     "hello there")
    assert (record.pathname, record.funcName) == (
        __file__, "test_a_configured_logger_sees_velocity_s_records_with_the_caller_s_place")
