"""The swift CLI's verbs in ``velocity``: post, copy, tempurl, capabilities and
auth, each run as a real subprocess against LocalSwift."""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request
import uuid

import pytest
import swiftclient
from test_cli import lines, shell_env, velocity


@pytest.fixture
def env(swift_server):
    """A shell's environment with the swift CLI's variables for LocalSwift."""
    return shell_env(swift_server)


def _bare(variables: dict) -> dict:
    return {k: v for k, v in variables.items()
            if not k.startswith(("OS_", "ST_"))}


def test_post_sets_metadata_and_acls(env, raw_conn, container_name):
    proc = velocity("post", container_name, "-m", "Color:blue", "--meta", "Owner: ann",
                    "-r", ".r:*,.rlistings", "-w", "test:tester3", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "created container %s\n" % container_name  # made, as swift does
    headers = raw_conn.head_container(container_name)
    assert headers["x-container-meta-color"] == "blue"
    assert headers["x-container-meta-owner"] == "ann"
    assert headers["x-container-read"] == ".r:*,.rlistings"
    assert headers["x-container-write"] == "test:tester3"

    again = velocity("post", container_name, "-m", "Color:", "-H", "X-Container-Meta-Size:L",
                     "--json", env=env)
    [record] = lines(again)
    assert record["ok"] and not record["created"]
    headers = raw_conn.head_container(container_name)
    assert "x-container-meta-color" not in headers  # NAME: removes it
    assert headers["x-container-meta-size"] == "L"

    raw_conn.put_object(container_name, "o.txt", b"o")
    assert velocity("post", container_name, "o.txt", "-m", "Kind:note",
                    env=env).returncode == 0
    assert raw_conn.head_object(container_name, "o.txt")["x-object-meta-kind"] == "note"

    name = "Velocity-Test-" + uuid.uuid4().hex[:6]
    assert velocity("post", "-m", "%s:yes" % name, env=env).returncode == 0
    assert raw_conn.head_account()["x-account-meta-" + name.lower()] == "yes"
    assert velocity("post", "-m", "%s:" % name, env=env).returncode == 0
    assert "x-account-meta-" + name.lower() not in raw_conn.head_account()

    for argv in (["-r", ".r:*"], [container_name, "o.txt", "-w", "x"], [container_name, "-m",
                                                                       "no-colon"]):
        bad = velocity("post", *argv, env=env)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, argv
    missing = velocity("post", container_name, "nope.txt", "-m", "A:b", env=env)
    assert missing.returncode == 1 and "nope.txt" in missing.stderr


def test_copy_on_the_server(env, raw_conn, container_name):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "a.txt", b"aaa", headers={"X-Object-Meta-Old": "1"})
    raw_conn.put_object(container_name, "b.txt", b"bbb")
    other = container_name + "_segments"  # removed by the fixture afterwards

    one = velocity("copy", container_name, "a.txt", "-d", "/%s/dir/a2.txt" % other,
                   "-m", "New:2", env=env)
    assert one.returncode == 0, one.stderr
    assert one.stdout == "copied 1 object(s)\n"
    headers, body = raw_conn.get_object(other, "dir/a2.txt")
    assert body == b"aaa"
    assert (headers["x-object-meta-old"], headers["x-object-meta-new"]) == ("1", "2")

    many = velocity("copy", container_name, "a.txt", "b.txt", "--destination", "/" + other,
                    "--fresh-metadata", "--json", env=env)
    assert many.returncode == 0, many.stderr
    assert [(r["name"], r["destination"], r["ok"]) for r in lines(many)] == [
        ("a.txt", "/%s/a.txt" % other, True), ("b.txt", "/%s/b.txt" % other, True)]
    headers, body = raw_conn.get_object(other, "a.txt")
    assert body == b"aaa" and "x-object-meta-old" not in headers

    # without -d: onto itself, adding metadata to what it has
    assert velocity("copy", container_name, "a.txt", "-m", "Added:3", env=env).returncode == 0
    headers = raw_conn.head_object(container_name, "a.txt")
    assert (headers["x-object-meta-old"], headers["x-object-meta-added"]) == ("1", "3")

    both = velocity("copy", container_name, "a.txt", "b.txt", "-d", "/%s/x" % other, env=env)
    assert both.returncode == 2 and "one object" in both.stderr
    gone = velocity("copy", container_name, "a.txt", "nope.txt", "-d", "/" + other, env=env)
    assert gone.returncode == 1 and "nope.txt" in gone.stderr and "a.txt" not in gone.stderr
    assert "copied 1 object(s), 1 FAILED" in gone.stdout


@pytest.fixture
def temp_url_key(raw_conn):
    """The account's Temp-URL-Key, put back as it was afterwards."""
    before = raw_conn.head_account().get("x-account-meta-temp-url-key")
    yield "k3y-" + uuid.uuid4().hex
    raw_conn.post_account({"X-Account-Meta-Temp-URL-Key": before or ""})


def _fetch(url: str, method: str = "GET", data: bytes | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def test_tempurl_gives_access_without_credentials(env, raw_conn, container_name,
                                                  temp_url_key, swift_server):
    name = "dir/ünï côde.txt"
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, name, b"secret bytes")
    posted = velocity("post", "-m", "Temp-URL-Key:" + temp_url_key, env=env,
                      secret=temp_url_key)
    assert posted.returncode == 0, posted.stderr

    proc = velocity("tempurl", "GET", "600", "%s/%s" % (container_name, name), temp_url_key,
                    env=env, secret=temp_url_key)
    assert proc.returncode == 0, proc.stderr
    url = proc.stdout.strip()
    assert url.startswith(swift_server.storage_url + "/") and "temp_url_sig=" in url
    assert _fetch(url) == b"secret bytes"

    # the swift CLI's PATH, the key from standard input, another digest
    path = "/v1/%s/%s/%s" % (swift_server.account, container_name, name)
    swift_form = velocity("tempurl", "GET", "600", path, "-", "--digest", "sha512", env=env,
                          input=temp_url_key + "\n", secret=temp_url_key)
    assert _fetch(swift_form.stdout.strip()) == b"secret bytes"
    relative = velocity("tempurl", "GET", "600", path, temp_url_key, "--path-only",
                        env=_bare(env), secret=temp_url_key)  # no login needed
    assert relative.returncode == 0, relative.stderr
    assert relative.stdout.startswith("/v1/%s/%s/dir/" % (swift_server.account,
                                                          container_name))
    assert _fetch(swift_server.proxy_url + relative.stdout.strip()) == b"secret bytes"

    # PUT through a whole URL (no login), and a prefix-based URL for the folder
    whole = velocity("tempurl", "PUT", "600", "%s/v1/%s/%s/up.txt" % (
        swift_server.proxy_url, swift_server.account, container_name), temp_url_key,
        env=_bare(env), secret=temp_url_key)
    _fetch(whole.stdout.strip(), "PUT", b"uploaded")
    assert raw_conn.get_object(container_name, "up.txt")[1] == b"uploaded"
    prefix = velocity("tempurl", "GET", "600", "%s/dir/" % container_name, temp_url_key,
                      "--prefix-based", env=env, secret=temp_url_key).stdout.strip()
    base, query = prefix.split("?", 1)
    assert _fetch("%s%s?%s" % (base, urllib.request.quote("ünï côde.txt"), query)
                  ) == b"secret bytes"

    with pytest.raises(urllib.error.HTTPError) as caught:  # another method is refused
        _fetch(url, "DELETE")
    assert caught.value.code == 401
    wrong = velocity("tempurl", "GET", "600", "%s/%s" % (container_name, name), "not-the-key",
                     env=env, secret=temp_url_key)
    with pytest.raises(urllib.error.HTTPError):
        _fetch(wrong.stdout.strip())
    for argv in (["FETCH", "60", "c/o"], ["GET", "0", "c/o"], ["GET", "60", "only-a-container"]):
        bad = velocity("tempurl", *argv, temp_url_key, env=env, secret=temp_url_key)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, argv


def test_capabilities(env, swift_server):
    proc = velocity("capabilities", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert "swift" in info and "tempurl" in info and "slo" in info
    text = velocity("capabilities", env=env)
    assert text.stdout.splitlines()[0] == "swift (core)"
    assert "    max_manifest_segments: " in text.stdout
    anonymous = velocity("capabilities", swift_server.proxy_url, "--json", env=_bare(env))
    assert anonymous.returncode == 0, anonymous.stderr
    assert json.loads(anonymous.stdout) == info
    assert velocity("capabilities", "nowhere", env=_bare(env)).returncode == 2


def test_auth_prints_the_token_only_when_asked(env, swift_server, container_name, raw_conn):
    raw_conn.put_container(container_name)
    plain = velocity("auth", env=env)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == "export OS_STORAGE_URL=%s\n" % swift_server.storage_url
    assert "TOKEN" not in plain.stdout + plain.stderr and "AUTH_tk" not in plain.stdout
    [record] = lines(velocity("auth", "--json", env=env))
    assert record == {"action": "auth", "storage_url": swift_server.storage_url}

    shown = velocity("auth", "--show-token", env=env)
    exports = dict(shlex.split(line)[1].split("=", 1) for line in shown.stdout.splitlines())
    assert sorted(exports) == ["OS_AUTH_TOKEN", "OS_STORAGE_URL"]
    conn = swiftclient.Connection(preauthurl=exports["OS_STORAGE_URL"],
                                  preauthtoken=exports["OS_AUTH_TOKEN"], retries=0)
    assert conn.head_container(container_name)  # the token works
    conn.close()
    # what `eval "$(velocity auth --show-token)"` gives the next command
    later = velocity("list", "--prefix", container_name, env=dict(_bare(env), **exports))
    assert later.returncode == 0, later.stderr
    assert later.stdout.split() == [container_name]
    assert exports["OS_AUTH_TOKEN"] not in later.stdout + later.stderr
    assert "token" in lines(velocity("auth", "--json", "--show-token", env=env))[0]
