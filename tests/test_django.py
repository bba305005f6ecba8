"""Velocity inside Django management commands (tests/django_project), against
the real LocalSwift: run with ``call_command`` in this process and through
``manage.py`` as a subprocess.  The command records, through the ORM, the
thread every progress callback ran on: it must be the caller's."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading

import django
import pytest

PROJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "django_project")


@pytest.fixture(scope="module")
def django_setup(tmp_path_factory):
    """Configure Django once for this process with the test project's settings
    and a fresh sqlite database."""
    from django.conf import settings

    if not settings.configured:
        sys.path.insert(0, PROJECT)
        os.environ["DJANGO_SETTINGS_MODULE"] = "velocity_site.settings"
        os.environ["VELOCITY_DJANGO_DB"] = str(tmp_path_factory.mktemp("django") / "db.sqlite3")
        django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    yield settings
    # settings are loaded: keep these out of other tests' subprocesses
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    os.environ.pop("VELOCITY_DJANGO_DB", None)


def folder(tmp_path, count=4):
    files = {}
    for i in range(count):
        rel = "sub/f%d.txt" % i if i % 2 else "f%d.txt" % i
        path = tmp_path / "upload" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"django %d" % i * (i + 1))
        files[rel] = path.read_bytes()
    return tmp_path / "upload", files


def velocity_setting(swift_server):
    return {"AUTH_URL": swift_server.auth_url, "USERNAME": swift_server.user,
            "KEY": swift_server.key, "IDENTITY": "v1"}


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_call_command_uploads_lists_and_calls_back_on_the_callers_thread(
        django_setup, swift_server, raw_conn, container_name, tmp_path, engine):
    from django.core.management import call_command
    from django.test import override_settings
    from swiftsync.models import UploadRecord

    source, files = folder(tmp_path)
    out = io.StringIO()
    with override_settings(VELOCITY=velocity_setting(swift_server)):
        call_command("velocity_upload", container_name, str(source), engine=engine, stdout=out)

    _, objects = raw_conn.get_container(container_name)
    assert {o["name"]: raw_conn.get_object(container_name, o["name"])[1]
            for o in objects} == files
    output = out.getvalue()
    assert "uploaded 4 objects (0 failed)" in output
    assert "all on the command's thread" in output
    for name, data in files.items():
        assert "%s\t%d" % (name, len(data)) in output  # the listing
    records = UploadRecord.objects.filter(container=container_name)
    assert sorted(r.name for r in records) == sorted(files)
    assert all(r.ok for r in records)
    # every progress callback ran on the thread that called the command: this one
    assert {r.thread_id for r in records} == {threading.get_ident()}


def test_call_command_reports_a_bad_configuration(django_setup, swift_server, tmp_path):
    from django.core.management import CommandError, call_command
    from django.test import override_settings

    setting = dict(velocity_setting(swift_server), KEY="wrong")
    source, _ = folder(tmp_path, 1)
    with override_settings(VELOCITY=setting):
        with pytest.raises(CommandError, match="refused") as caught:
            call_command("velocity_upload", "c", str(source), stdout=io.StringIO())
    assert "wrong" not in str(caught.value)


def test_manage_py_subprocess_configured_from_environment(swift_server, raw_conn,
                                                          container_name, tmp_path):
    source, files = folder(tmp_path)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OS_", "ST_", "DJANGO_", "VELOCITY_"))}
    env["VELOCITY_DJANGO_DB"] = str(tmp_path / "sub.sqlite3")
    manage = [sys.executable, os.path.join(PROJECT, "manage.py")]
    migrate = subprocess.run(manage + ["migrate", "-v", "0"], cwd=PROJECT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    # an OpenStack RC file's OS_* variables, and the swift CLI's ST_* ones
    os_vars = {"OS_AUTH_TYPE": "v1", "OS_AUTH_URL": swift_server.auth_url,
               "OS_USERNAME": swift_server.user, "OS_PASSWORD": swift_server.key}
    st_vars = {"ST_AUTH": swift_server.auth_url, "ST_USER": swift_server.user,
               "ST_KEY": swift_server.key}
    for engine, variables in (("sync", os_vars), ("async", st_vars)):
        proc = subprocess.run(manage + ["velocity_upload", container_name, str(source),
                                        "--engine", engine],
                              cwd=PROJECT, env={**env, **variables}, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "uploaded 4 objects (0 failed)" in proc.stdout
        assert "all on the command's thread" in proc.stdout
        for name, data in files.items():
            assert "%s\t%d" % (name, len(data)) in proc.stdout
        assert swift_server.key not in proc.stdout + proc.stderr
    _, objects = raw_conn.get_container(container_name)
    assert sorted(o["name"] for o in objects) == sorted(files)

    # no configuration at all: one clear line, exit status 1, no traceback
    proc = subprocess.run(manage + ["velocity_upload", container_name, str(source)],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Velocity is not configured" in proc.stderr and "Traceback" not in proc.stderr
