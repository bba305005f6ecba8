"""``velocity.contrib.django.SwiftStorage`` in a real Django project
(tests/django_storage_project) against the real LocalSwift.

``STORAGES`` points both the default storage (a model's FileField) and the
static files storage at SwiftStorage.  Each scenario runs ``manage.py`` in
a subprocess, so this project's settings never meet those of
tests/django_project (Django configures itself once per process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import swiftclient
from proxylog import ProxyLog, client_puts

PROJECT = Path(__file__).resolve().parent / "django_storage_project"
STATIC_FILES = {"gallery/css/site.css", "gallery/js/app.js", "gallery/img/logo.svg",
                "gallery/robots.txt"}


def _remove(raw_conn, names):
    for name in names:
        for cname in (name, name + "_segments"):
            try:
                objects = raw_conn.get_container(cname, full_listing=True)[1]
            except swiftclient.ClientException:
                continue
            for obj in objects:
                raw_conn.delete_object(cname, obj["name"])
            raw_conn.delete_container(cname)


def _names():
    suffix = uuid.uuid4().hex[:10]
    return {"media": "dj-media-" + suffix, "static": "dj-static-" + suffix}


@pytest.fixture
def containers(raw_conn):
    """Fresh media and static container names; both (and their segments)
    are removed afterwards."""
    names = _names()
    yield names
    _remove(raw_conn, names.values())


@pytest.fixture(scope="module")
def gallery(swift_server, tmp_path_factory):
    """One run of the gallery_check command (migrate, then save, read, list
    and delete through a FileField): its report, containers and requests."""
    raw = swiftclient.Connection(swift_server.auth_url, swift_server.user, swift_server.key)
    names = _names()
    log = ProxyLog(swift_server)
    report = run_check(swift_server, tmp_path_factory.mktemp("gallery"), names)
    yield report, names, log.settle()
    _remove(raw, names.values())
    raw.close()


def manage(swift_server, tmp_path, containers, *args, login="options", **env_extra):
    """Run ``manage.py *args`` of the test project; its stdout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "ST_", "GALLERY_", "DJANGO_"))}
    env.update(GALLERY_DB=str(tmp_path / "db.sqlite3"), GALLERY_LOGIN=login,
               GALLERY_MEDIA=containers["media"], GALLERY_STATIC=containers["static"],
               GALLERY_TEMP_URL_KEY="k-" + containers["media"],
               PYTHONPATH=os.pathsep.join([str(PROJECT), str(PROJECT.parent.parent)]))
    if login == "options":
        env.update(GALLERY_AUTH_URL=swift_server.auth_url, GALLERY_USER=swift_server.user,
                   GALLERY_KEY=swift_server.key)
    else:
        env.update(OS_AUTH_URL=swift_server.auth_url, OS_USERNAME=swift_server.user,
                   OS_PASSWORD=swift_server.key)
    env.update(env_extra)
    proc = subprocess.run([sys.executable, str(PROJECT / "manage.py"), *args], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def run_check(swift_server, tmp_path, containers, **kwargs):
    out = manage(swift_server, tmp_path, containers, "gallery_check", "--keep", "hello.txt",
                 **kwargs)
    return json.loads(out.strip().splitlines()[-1])


def test_file_field_saves_reads_lists_and_deletes(swift_server, raw_conn, gallery):
    report, containers, requests = gallery
    media = containers["media"]
    assert report["backend"] == report["static_backend"] == "SwiftStorage"
    first, second = report["names"]
    assert first == "photos/cat.txt" and second.startswith("photos/cat_") and second != first
    assert report["read"] == "a small cat\n" * 100 and report["size"] == 1200
    assert report["exists"] is True
    assert sorted(report["listdir"][1]) == sorted(n.split("/")[1] for n in report["names"])
    assert report["root"] == [["photos"], []]
    assert report["modified"].endswith("+00:00")  # USE_TZ: aware, in UTC
    assert report["modified"] == report["created"] == report["accessed"]
    # above the 2 MiB segment threshold of the settings: segmented by the engine
    large = report["large"]
    assert large["size"] == 3 * 1024 * 1024 + 17 and large["middle_ok"] and large["md5_ok"]
    puts = client_puts(requests, media + "_segments")
    assert len(puts) == 4, puts  # 1 MiB segments, then the manifest in the media container
    # deleted through the engine: the object and its segments
    assert report["after_delete"] == {"exists": False, "listdir": [[], []]}
    assert [o["name"] for o in raw_conn.get_container(media)[1]] == ["hello.txt"]
    assert raw_conn.get_container(media + "_segments")[1] == []
    head = raw_conn.head_object(media, "hello.txt")
    assert head["content-type"] == "text/plain"
    # no secret in what migrations would record
    assert "key" not in report["deconstruct"] and swift_server.key not in report["deconstruct"]
    assert "container" in report["deconstruct"]


def test_temp_url_works_anonymously_until_it_expires(gallery):
    report = gallery[0]
    url = report["kept"]["url"]
    query = parse_qs(urlsplit(url).query)
    assert len(query["temp_url_sig"][0]) == 64  # HMAC-SHA256, hex
    expires = int(query["temp_url_expires"][0])
    # fetched without a token as soon as made; without its signature: refused
    assert report["kept"]["fetched"] == "temporary hello\n"
    assert report["kept"]["unsigned_status"] == 401
    time.sleep(max(0.0, expires + 1.1 - time.time()))
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(url, timeout=10)
    assert expired.value.code == 401


def test_login_from_os_environment(swift_server, raw_conn, containers, tmp_path):
    report = run_check(swift_server, tmp_path, containers, login="env")
    assert report["read"] == "a small cat\n" * 100
    assert [o["name"] for o in raw_conn.get_container(containers["media"])[1]] == [
        "hello.txt"]


def test_collectstatic_twice_uploads_nothing_the_second_time(swift_server, raw_conn,
                                                             containers, tmp_path):
    static = containers["static"]
    log = ProxyLog(swift_server)
    out = manage(swift_server, tmp_path, containers, "collectstatic", "--noinput")
    assert "4 static files copied" in out, out
    first = client_puts(log.settle(), static)
    assert sorted(r.path.split("/static/", 1)[1] for r in first) == sorted(STATIC_FILES)
    listed = {o["name"]: o for o in raw_conn.get_container(static)[1]}
    assert set(listed) == {"static/" + name for name in STATIC_FILES}
    assert listed["static/gallery/css/site.css"]["content_type"] == "text/css"
    assert listed["static/gallery/img/logo.svg"]["content_type"] == "image/svg+xml"

    log = ProxyLog(swift_server)
    out = manage(swift_server, tmp_path, containers, "collectstatic", "--noinput")
    assert "0 static files copied" in out and "4 unmodified" in out, out
    assert client_puts(log.settle(), static) == []

    # public: the storage's URL of a static file is fetched without a token
    url = "%s/%s/static/gallery/css/site.css" % (swift_server.storage_url, static)
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == (PROJECT / "gallery/static/gallery/css/site.css").read_bytes()


def test_overwrite_sends_nothing_for_identical_content(swift_server, raw_conn, containers,
                                                       tmp_path):
    """With ``overwrite``, saving the bytes an object holds already is no PUT."""
    script = (
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import storages\n"
        "from velocity.contrib.django import SwiftStorage\n"
        "s = SwiftStorage(container=%r, overwrite=True, auto_create=True)\n"
        "print(s.save('a/b.css', ContentFile(b'x' * 10)))\n"
        "print(s.save('a/b.css', ContentFile(b'x' * 10)))\n"
        "print(s.save('a/b.css', ContentFile(b'y' * 10)))\n" % containers["media"])
    log = ProxyLog(swift_server)
    out = manage(swift_server, tmp_path, containers, "shell", "-c", script)
    assert out.split()[-3:] == ["a/b.css"] * 3
    assert len(client_puts(log.settle(), containers["media"])) == 2
    assert raw_conn.get_object(containers["media"], "a/b.css")[1] == b"y" * 10
