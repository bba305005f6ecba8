"""The ``velocity`` command, run as a real subprocess against LocalSwift."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import urllib.request

import pytest
import swiftclient

from velocity import cli

DATA = os.path.join(os.path.dirname(__file__), "data", "events")
WRONG_KEY = "wr0ng-S3cret-k3y"
KEY = "testing"  # LocalSwift's key for test:tester


def shell_env(swift_server) -> dict:
    """The environment of a shell with swift CLI variables and nothing else set."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    base.update(ST_AUTH=swift_server.auth_url, ST_USER=swift_server.user,
                ST_KEY=swift_server.key, PYTHONUNBUFFERED="1")
    return base


@pytest.fixture
def env(swift_server):
    """The environment of a shell with swift CLI variables and nothing else set."""
    return shell_env(swift_server)


def velocity(*args: str, env: dict, input: str | None = None, secret: str = KEY,
             timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m velocity.cli ARGS``; the secret must never be in its output."""
    proc = subprocess.run([sys.executable, "-m", "velocity.cli", *args], env=env,
                          input=input, capture_output=True, text=True, timeout=timeout,
                          **kwargs)
    assert secret not in proc.stdout and secret not in proc.stderr, (proc.stdout, proc.stderr)
    return proc


def lines(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.fixture
def tree(tmp_path):
    """A small folder to upload: relative name -> content."""
    files = {"a.txt": b"alpha\n", "sub/b.bin": os.urandom(3000), "sub/deep/c.txt": b"c" * 10}
    for name, body in files.items():
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return tmp_path / "src", files


def test_upload_a_folder_then_list_it(env, raw_conn, container_name, tree, swift_server):
    src, files = tree
    proc = velocity("upload", container_name, str(src), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    results = lines(proc)
    assert {r["action"] for r in results} == {"upload"} and all(r["ok"] for r in results)
    _, listing = raw_conn.get_container(container_name)
    names = sorted(obj["name"] for obj in listing)
    assert names == sorted(files)  # named by their paths relative to the folder
    for obj in listing:
        assert obj["hash"] == hashlib.md5(files[obj["name"]]).hexdigest()

    listed = velocity("list", container_name, env=env)
    assert listed.returncode == 0 and sorted(listed.stdout.split()) == names
    long = velocity("list", container_name, "--long", env=env)
    assert re.search(r"^\s+3000  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  sub/b\.bin$", long.stdout, re.M)
    swift_server.run_updater()  # account listings count objects asynchronously
    containers = lines(velocity("list", "--json", "--prefix", container_name, env=env))
    assert [c["name"] for c in containers] == [container_name]
    assert containers[0]["count"] == 3


def test_upload_with_prefix_segments_and_skip_identical(env, raw_conn, container_name,
                                                        tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(300 * 1024))
    args = ("upload", container_name, str(big), "--prefix", "in/", "--segment-size", "100K",
            "--json")
    proc = velocity(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    headers = raw_conn.head_object(container_name, "in/big.bin")
    assert headers["x-static-large-object"] == "True"
    assert raw_conn.get_object(container_name, "in/big.bin")[1] == big.read_bytes()

    again = velocity(*args[:-1], "--skip-identical", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert [r["skipped"] for r in lines(again)] == [True]


def test_download_all_some_and_by_prefix(env, raw_conn, container_name, tmp_path):
    raw_conn.put_container(container_name)
    bodies = {"p/one.txt": b"one", "p/q/two.txt": b"two" * 100, "other.txt": b"other"}
    for name, body in bodies.items():
        raw_conn.put_object(container_name, name, body)

    out = tmp_path / "all"
    proc = velocity("download", container_name, "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "downloaded 3 object(s)" in proc.stdout
    for name, body in bodies.items():
        assert (out / name).read_bytes() == body

    some = velocity("download", container_name, "other.txt", "-o", str(tmp_path / "some"),
                    "--json", env=env)
    [result] = lines(some)
    assert result["ok"] and result["path"] == str(tmp_path / "some" / "other.txt")

    strip = tmp_path / "strip"
    proc = velocity("download", container_name, "--prefix", "p/", "--remove-prefix",
                    "-o", str(strip), "-q", env=env)
    assert proc.returncode == 0 and proc.stdout == ""
    assert (strip / "one.txt").read_bytes() == b"one"
    assert (strip / "q" / "two.txt").read_bytes() == b"two" * 100
    assert not (strip / "other.txt").exists()


def test_a_failed_item_is_named_on_stderr_and_exits_1(env, raw_conn, container_name,
                                                      tmp_path):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "here.txt", b"here")
    proc = velocity("download", container_name, "here.txt", "missing.txt", "-o",
                    str(tmp_path), "--json", env=env)
    assert proc.returncode == 1
    assert "missing.txt" in proc.stderr and "here.txt" not in proc.stderr
    assert "Traceback" not in proc.stderr
    by_name = {r["name"]: r for r in lines(proc)}
    assert by_name["here.txt"]["ok"] and not by_name["missing.txt"]["ok"]
    assert "missing.txt" in by_name["missing.txt"]["error"]
    assert (tmp_path / "here.txt").read_bytes() == b"here"
    assert not (tmp_path / "missing.txt").exists()

    head = velocity("head", container_name, "here.txt", "missing.txt", env=env)
    assert head.returncode == 1
    assert re.search(r"^\s+4\s+%s\s+here\.txt$" % hashlib.md5(b"here").hexdigest(),
                     head.stdout, re.M)
    assert "missing.txt" in head.stderr


def test_head_and_stat(env, raw_conn, container_name):
    raw_conn.put_container(container_name, headers={"X-Container-Meta-Color": "blue"})
    raw_conn.put_object(container_name, "x.txt", b"12345", content_type="text/plain")
    [result] = lines(velocity("head", container_name, "x.txt", "--json", env=env))
    assert result["ok"] and result["bytes"] == 5
    assert result["etag"] == hashlib.md5(b"12345").hexdigest()

    account = velocity("stat", env=env)
    assert account.returncode == 0
    assert re.search(r"Account: AUTH_test$", account.stdout, re.M)
    assert re.search(r"Containers: \d+$", account.stdout, re.M)
    [container] = lines(velocity("stat", container_name, "--json", env=env))
    assert container["container"] == container_name
    assert container["headers"]["x-container-meta-color"] == "blue"
    assert container["headers"]["x-container-object-count"] == "1"
    obj = velocity("stat", container_name, "x.txt", env=env)
    assert re.search(r"Bytes: 5$", obj.stdout, re.M)
    assert re.search(r"Content type: text/plain", obj.stdout)
    missing = velocity("stat", container_name, "nope.txt", env=env)
    assert missing.returncode == 1
    assert missing.stderr.startswith("velocity: error: ") and "nope.txt" in missing.stderr


def test_delete_objects_prefix_and_container(env, raw_conn, container_name):
    raw_conn.put_container(container_name)
    for name in ("keep.txt", "old/1.txt", "old/2.txt", "gone.txt"):
        raw_conn.put_object(container_name, name, b"x")
    assert velocity("delete", container_name, "gone.txt", env=env).returncode == 0
    proc = velocity("delete", container_name, "--prefix", "old/", "--json", env=env)
    assert proc.returncode == 0
    assert sorted(r["name"] for r in lines(proc)) == ["old/1.txt", "old/2.txt"]
    _, listing = raw_conn.get_container(container_name)
    assert [obj["name"] for obj in listing] == ["keep.txt"]

    proc = velocity("delete", container_name, env=env)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(swiftclient.ClientException) as caught:
        raw_conn.head_container(container_name)
    assert caught.value.http_status == 404


def test_events_consume_the_example_event(env, raw_conn, container_name, tmp_path):
    with open(os.path.join(DATA, "pacifica_downloader_stub.json"), encoding="utf-8") as fh:
        event = json.load(fh)
    raw_conn.put_container(container_name)
    for record in event["data"]:
        body = record["name"].encode() * 3
        raw_conn.put_object(container_name, "%s/%s" % (record["subdir"], record["name"]), body)
        record["hashsum"] = hashlib.sha1(body).hexdigest()
    event["data"][9]["hashsum"] = "0" * 40  # one corrupt file
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    out = tmp_path / "out"
    proc = velocity("events", "consume", str(path), "-o", str(out), "--container",
                    container_name, "--json", env=env)
    assert proc.returncode == 1
    results = lines(proc)
    assert [r["ok"] for r in results] == [True] * 9 + [False]
    assert "file.1109.txt" in proc.stderr
    assert (out / "subdir_1100" / "file.1100.txt").read_bytes() == b"file.1100.txt" * 3
    assert not (out / "subdir_1109").exists()

    nothing = velocity("events", "consume", str(path), "-o", str(out), env=env)
    assert nothing.returncode == 1
    assert nothing.stderr.strip().count("\n") == 0 and "container" in nothing.stderr


def test_auth_errors_exit_2_with_one_line_and_never_show_the_key(env, tmp_path):
    bad = dict(env, ST_KEY=WRONG_KEY)
    proc = velocity("list", env=bad, secret=WRONG_KEY)
    assert proc.returncode == 2
    assert proc.stderr.startswith("velocity: error: ") and proc.stderr.count("\n") == 1
    assert "test:tester" in proc.stderr  # names who was refused

    debug = velocity("--debug", "list", env=bad, secret=WRONG_KEY)
    assert debug.returncode == 2 and "Traceback" in debug.stderr

    flags = velocity("list", "--auth-url", env["ST_AUTH"], "--user", "test:tester",
                     "--key", WRONG_KEY, "--debug", env=env, secret=WRONG_KEY)
    assert flags.returncode == 2

    nothing = {k: v for k, v in env.items() if not k.startswith("ST_")}
    proc = velocity("stat", env=nothing)
    assert proc.returncode == 2 and proc.stderr.startswith("velocity: error: ")
    assert "OS_AUTH_URL" in proc.stderr or "ST_AUTH" in proc.stderr
    half = velocity("list", "--user", "someone", env=nothing)
    assert half.returncode == 2 and "--auth-url" in half.stderr and "--key" in half.stderr


def test_usage_errors_exit_2(env, tmp_path):
    assert velocity("upload", env=env).returncode == 2
    assert velocity("frobnicate", env=env).returncode == 2
    assert velocity("upload", "c", str(tmp_path / "nope"), env=env).returncode == 2
    size = velocity("upload", "c", str(tmp_path), "--segment-size", "lots", env=env)
    assert size.returncode == 2 and "not a size" in size.stderr


def test_the_key_can_come_from_stdin_or_a_prompt(env, container_name, raw_conn):
    raw_conn.put_container(container_name)
    keyless = {k: v for k, v in env.items() if k != "ST_KEY"}
    proc = velocity("list", "--prefix", container_name, "--key", "-", env=keyless,
                    input="testing\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [container_name]
    # no controlling terminal: getpass falls back to standard input
    prompt = velocity("--key-prompt", "list", "--prefix", container_name, env=keyless,
                      input="testing\n", start_new_session=True)
    assert prompt.returncode == 0, prompt.stderr
    assert prompt.stdout.split() == [container_name]
    empty = velocity("list", "--key", "-", env=keyless, input="")
    assert empty.returncode == 2 and "standard input" in empty.stderr


def test_progress_bar_only_on_a_terminal(env, container_name, tree):
    src, _ = tree
    piped = velocity("upload", container_name, str(src), env=env)
    assert piped.returncode == 0 and "\r" not in piped.stderr and piped.stderr == ""
    assert piped.stdout.startswith("uploaded 3 object(s)")

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "velocity.cli", "upload", container_name,
                             str(src)], env=env, stdin=subprocess.DEVNULL, stdout=follower,
                            stderr=follower)
    os.close(follower)
    output = b""
    with contextlib.suppress(OSError):  # EIO once the child closed the terminal
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            chunk = os.read(leader, 4096)
            if not chunk:
                break
            output += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = output.decode(errors="replace")
    assert "testing" not in text
    assert "\r" in text and "100%" in text and "B/s" in text, text
    # the bar counts in the summary's binary units (KiB, MiB), never in kB or MB
    bar = r"upload: 100%\|[#\u2588]*\| \d+\.\d KiB/\d+\.\d KiB .* (?:B|KiB|MiB)/s"
    assert re.search(bar, text), text
    assert not re.search(r"\d(?:\.\d+)?\s?[kKMGT]B\b", text), text
    summary = r"^uploaded 3 object\(s\), \d+\.\d KiB in .* (?:B|KiB|MiB)/s\)"
    assert re.search(summary, text, re.M), text


@pytest.mark.parametrize("argv", [[], ["upload"], ["download"], ["delete"], ["head"],
                                  ["list"], ["stat"], ["post"], ["copy"], ["tempurl"],
                                  ["capabilities"], ["auth"], ["serve"], ["demo"],
                                  ["events"], ["events", "consume"]])
def test_every_subcommand_has_help_with_an_example(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main([*argv, "--help"])
    assert caught.value.code == 0
    assert "example" in capsys.readouterr().out


def test_size_option_parsing():
    assert cli.size_type("4096") == 4096
    assert cli.size_type("100K") == 100 * 1024
    assert cli.size_type("1.5GiB") == 3 * 512 * 1024 ** 2
    assert cli.size_type("2 MB") == 2 * 1024 ** 2


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_serve_answers_requests_and_stops_on_ctrl_c(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    proc = subprocess.Popen([sys.executable, "-m", "velocity.cli", "serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen: dict[str, str] = {}
        deadline = time.monotonic() + 120
        while "export" not in seen and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            match = re.match(r"\s*(auth URL \(v1\)|user|key|export):?\s+(.*)", line)
            if match:
                seen[match.group(1)] = match.group(2).strip()
        assert "export" in seen, proc.stderr.read() if proc.poll() is not None else seen
        conn = swiftclient.Connection(seen["auth URL (v1)"], seen["user"], seen["key"],
                                      retries=0)
        conn.put_container("served")
        conn.put_object("served", "hello.txt", b"hello")
        assert conn.get_object("served", "hello.txt")[1] == b"hello"
        conn.close()
        servers = _children(proc.pid)
        assert servers
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopping" in out
    assert not [pid for pid in servers if _alive(pid)]
    with pytest.raises(OSError):
        urllib.request.urlopen(seen["auth URL (v1)"].replace("/auth/v1.0", "/healthcheck"),
                               timeout=5)


def test_demo_exits_0():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    proc = subprocess.run([sys.executable, "-m", "velocity.cli", "demo"], env=env,
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout


def test_os_variables_and_flags_alone_also_log_in(env, container_name, raw_conn):
    raw_conn.put_container(container_name)
    bare = {k: v for k, v in env.items() if not k.startswith("ST_")}
    rc_file = dict(bare, OS_AUTH_URL=env["ST_AUTH"], OS_USERNAME=env["ST_USER"],
                   OS_PASSWORD=KEY, OS_AUTH_VERSION="1")
    proc = velocity("list", "--prefix", container_name, env=rc_file)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [container_name]
    flags = velocity("-A", env["ST_AUTH"], "-U", env["ST_USER"], "list", "--key", "-",
                     "--prefix", container_name, "--json", env=bare, input=KEY + "\n")
    assert flags.returncode == 0, flags.stderr
    assert [c["name"] for c in lines(flags)] == [container_name]


def _examples() -> list[list[str]]:
    """The example line of every command's help, as argv."""
    import shlex

    from velocity.cli._parser import COMMANDS

    whole = cli.build_parser()
    (commands,) = [a for a in whole._actions if a.dest == "command"]
    assert sorted(commands.choices) == sorted(COMMANDS)
    found = []
    for name, parser in commands.choices.items():
        if name == "events":
            parser = parser._subparsers._group_actions[0].choices["consume"]
        example = parser.epilog.split("example:\n  ", 1)[1].splitlines()[0]
        if "$(" in example:  # eval "$(velocity auth --show-token)"
            example = example.split("$(", 1)[1].split(")", 1)[0]
        found.append(shlex.split(example.split("|")[0])[1:])
    return found


@pytest.mark.parametrize("argv", [
    *_examples(),
    ["--user", "stat", "list", "box"],  # a command's name as an option's value
    ["-q", "upload", "box", "list", "stat", "--segment-size", "1M"],
])
def test_the_parser_of_the_named_commands_parses_as_the_whole_one(argv):
    """A command builds only its own options; what it parses must not change."""
    assert vars(cli.build_parser(argv).parse_args(argv)) == vars(
        cli.build_parser().parse_args(argv))


@pytest.mark.parametrize("argv,expected", [
    (["--user", "stat", "lsit"], "invalid choice: 'lsit' (choose from 'upload', 'download'"),
    (["stat", "--bogus"], "unrecognized arguments: --bogus"),
    (["-h", "stat"], "upload files and folders into a container"),  # the whole command list
    (["--he", "list"], "show account, container or object details"),
    ([], "the following arguments are required: COMMAND"),
])
def test_usage_errors_and_help_come_from_the_whole_parser(argv, expected, capsys):
    with pytest.raises(SystemExit):
        cli.main(argv)
    out, err = capsys.readouterr()
    assert expected in out + err


def test_a_key_flag_keeps_the_rest_of_an_rc_file():
    rc = {"OS_AUTH_URL": "https://keystone.example.com/v3", "OS_USERNAME": "dana",
          "OS_PROJECT_ID": "p-1234", "OS_USER_DOMAIN_ID": "d-42",
          "OS_REGION_NAME": "RegionThree", "OS_INTERFACE": "internal"}
    args = cli.build_parser().parse_args(["--key", "sekrit-9", "list"])
    creds = cli.credentials(args, args.key, env=rc)
    assert (creds.kind, creds.username, creds.region, creds.interface) == (
        "password", "dana", "RegionThree", "internal")
    assert creds.plugin.project_id == "p-1234"
    assert creds.plugin.auth_methods[0].user_domain_id == "d-42"


@pytest.mark.parametrize("argv,env,expected", [
    (["--identity", "rackspace", "-U", "alice", "--region", "DFW", "--internal"],
     {"OS_API_KEY": "sekrit-9"}, {"kind": "rackspace", "region": "DFW",
                                  "interface": "internal", "username": "alice"}),
    (["-A", "https://auth.api.rackspacecloud.com/v1.0", "-U", "bob", "-K", "sekrit-9"], {},
     {"kind": "v1", "username": "bob"}),
    (["-A", "https://keystone.example.com/v3", "-U", "carol", "-K", "sekrit-9", "--project",
      "p", "--region", "RegionTwo"], {},
     {"kind": "password", "username": "carol", "region": "RegionTwo"}),
    (["--identity", "application_credential", "-U", "cred-id"],
     {"OS_AUTH_URL": "https://keystone.example.com/v3",
      "OS_APPLICATION_CREDENTIAL_SECRET": "sekrit-9"}, {"kind": "application_credential"}),
    (["--internal"],
     {"ST_AUTH": "http://127.0.0.1:1/auth/v1.0", "ST_USER": "u", "ST_KEY": "sekrit-9"},
     {"kind": "v1", "interface": "internal"}),
])
def test_flags_choose_the_login(argv, env, expected):
    """Which Credentials the flags make (no request is sent)."""
    args = cli.build_parser().parse_args([*argv, "list"])
    creds = cli.credentials(args, args.key, env=env)
    for name, value in expected.items():
        assert getattr(creds, name) == value, name
    assert "sekrit" not in repr(creds)
