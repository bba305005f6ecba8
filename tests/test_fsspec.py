"""``velocity.fsspec.SwiftFileSystem`` against the real LocalSwift, through
fsspec itself and the real pandas, pyarrow and Dask.

What the server saw is read from its access log (tests/proxylog.py): the
bytes a ranged read carried, the PUTs a write made.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import swiftclient
from fsspec.callbacks import Callback
from proxylog import ProxyLog, client_puts

from velocity import errors
from velocity.fsspec import SwiftFileSystem
from velocity.transfer import TransferConfig

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
# the 12,000 objects of the listing test are made while the other tests run
pytestmark = pytest.mark.usefixtures("crowded")


@pytest.fixture(scope="module")
def options(swift_server):
    """The storage options a notebook would pass."""
    return {"auth_url": swift_server.auth_url, "user": swift_server.user,
            "key": swift_server.key}


@pytest.fixture
def fs(options):
    return SwiftFileSystem(**options)


# -- registration, credentials, secrets ------------------------------------


def test_swift_protocol_needs_no_import_of_velocity(swift_server, options, container_name,
                                                    raw_conn, tmp_path):
    """``fsspec.filesystem("swift")`` and ``pd.read_csv("swift://...")`` find the
    filesystem through the ``fsspec.specs`` entry point."""
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "in.csv", b"a,b\n1,2\n3,4\n")
    script = (
        "import json, sys\n"
        "import fsspec, pandas as pd\n"
        "opts = json.loads(sys.argv[1]); c = sys.argv[2]\n"
        "assert 'velocity' not in sys.modules\n"
        "cls = fsspec.get_filesystem_class('swift')\n"
        "assert cls.__module__.startswith('velocity.'), cls  # swiftspec claims swift:// too\n"
        "fs = fsspec.filesystem('swift', **opts)\n"
        "df = pd.read_csv('swift://%s/in.csv' % c, storage_options=opts)\n"
        "print(json.dumps([cls.__module__ + '.' + cls.__name__, fs.ls(c, detail=False),\n"
        "                  df['b'].sum().item()]))\n")
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(options), container_name],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == ["velocity.fsspec.filesystem.SwiftFileSystem",
                                       [container_name + "/in.csv"], 6]


def test_secrets_never_show_and_the_filesystem_pickles(swift_server, options, fs,
                                                       container_name):
    from dask.base import tokenize

    key = swift_server.key
    for text in (repr(fs), str(fs.storage_options), fs._fs_token, tokenize(fs),
                 json.dumps(fs.to_dict(include_password=False)), repr(fs.client)):
        assert key not in text
    assert "key" not in fs.to_dict(include_password=False)
    # the same options: the same instance; another key: another one
    assert SwiftFileSystem(**options) is fs
    assert SwiftFileSystem(**dict(options, key="other")) is not fs
    # sent to a Dask worker: it logs in again with the real key
    fs.mkdir(container_name)
    fs.pipe_file(container_name + "/p.txt", b"pickled")
    SwiftFileSystem.clear_instance_cache()
    clone = pickle.loads(pickle.dumps(fs))  # noqa: S301 - our own bytes
    assert clone is not fs and clone.cat_file(container_name + "/p.txt") == b"pickled"
    # every instance with the same options (fsspec makes one per thread) shares
    # one client: one login
    other: list[SwiftFileSystem] = []
    worker = threading.Thread(target=lambda: other.append(SwiftFileSystem(**options)))
    worker.start()
    worker.join()
    assert other[0] is not clone and other[0].client is clone.client


def test_credentials_object_and_environment(swift_server, credentials, container_name,
                                            monkeypatch):
    by_object = SwiftFileSystem(credentials=credentials)
    assert by_object.client.credentials is credentials
    by_object.pipe_file(container_name + "/c.txt", b"creds")
    for name in [n for n in os.environ if n.startswith(("OS_", "ST_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OS_AUTH_URL", swift_server.auth_url)
    monkeypatch.setenv("OS_USERNAME", swift_server.user)
    monkeypatch.setenv("OS_PASSWORD", swift_server.key)
    from_env = SwiftFileSystem(skip_instance_cache=True)
    assert from_env.cat_file(container_name + "/c.txt") == b"creds"
    with pytest.raises(TypeError, match="unknown options"):
        SwiftFileSystem(auth_url=swift_server.auth_url, usr="typo")
    with pytest.raises(errors.ConfigurationError):
        SwiftFileSystem(credentials=credentials, user="x")


# -- listing and metadata ---------------------------------------------------


def test_ls_info_find_glob_and_pseudo_folders(fs, container_name):
    c = container_name
    fs.pipe({c + "/top.csv": b"x\n", c + "/a/one.txt": b"1", c + "/a/b/two.txt": b"22",
             c + "/a/b/three.bin": b"333"})
    assert fs.ls(c, detail=False) == [c + "/a", c + "/top.csv"]
    listed = {e["name"]: e for e in fs.ls(c + "/a")}
    assert listed[c + "/a/b"]["type"] == "directory"
    assert listed[c + "/a/one.txt"]["size"] == 1 and listed[c + "/a/one.txt"]["type"] == "file"
    assert fs.ls(c + "/a/one.txt", detail=False) == [c + "/a/one.txt"]
    assert fs.info(c + "/a/b")["type"] == "directory" and fs.isdir(c + "/a/b")
    assert fs.info(c)["type"] == "directory"
    info = fs.info(c + "/a/b/two.txt")
    assert info["size"] == 2 and info["content_type"] == "text/plain"
    assert fs.find(c) == sorted([c + "/top.csv", c + "/a/one.txt", c + "/a/b/two.txt",
                                 c + "/a/b/three.bin"])
    assert fs.find(c + "/a", withdirs=True) == sorted([
        c + "/a", c + "/a/b", c + "/a/one.txt", c + "/a/b/two.txt", c + "/a/b/three.bin"])
    assert fs.glob(c + "/a/b/*.txt") == [c + "/a/b/two.txt"]
    assert fs.glob(c + "/**/*.bin") == [c + "/a/b/three.bin"]
    assert c in fs.ls("", detail=False)
    assert not fs.exists(c + "/nope") and not fs.exists(c + "-missing/x")
    with pytest.raises(FileNotFoundError):
        fs.info(c + "/nope")
    with pytest.raises(FileNotFoundError):
        fs.ls(c + "-missing")
    first = fs.ukey(c + "/top.csv")
    fs.pipe_file(c + "/top.csv", b"y\n")
    assert fs.ukey(c + "/top.csv") != first
    assert fs.modified(c + "/top.csv").tzinfo is not None


# -- reading ----------------------------------------------------------------


def test_ranged_cat_file_fetches_only_the_bytes_asked(swift_server, fs, container_name):
    path = container_name + "/digits.bin"
    data = bytes(range(256)) * 4096  # 1 MiB
    fs.pipe_file(path, data)
    cases = [((1000, 1010), data[1000:1010]), ((None, 7), data[:7]),
             ((-5, None), data[-5:]), ((10, -10), data[10:-10]),
             ((len(data) - 3, None), data[-3:]), ((len(data) + 5, None), b""),
             ((50, 50), b"")]
    for (start, end), expected in cases:
        log = ProxyLog(swift_server)
        assert fs.cat_file(path, start=start, end=end) == expected, (start, end)
        if not expected:
            continue  # an empty range sends nothing, or is answered 416
        found = log.wait_for(lambda requests: any(r.method == "GET" for r in requests))
        gets = [r for r in found if r.method == "GET" and r.path.endswith("/digits.bin")]
        assert [(r.status, r.sent) for r in gets] == [(206, len(expected))], (start, end)


def test_open_reads_ranges_of_one_version(swift_server, fs, container_name):
    path = container_name + "/big.bin"
    data = os.urandom(3 * MiB)
    fs.pipe_file(path, data)
    log = ProxyLog(swift_server)
    with fs.open(path, "rb", block_size=256 * 1024, cache_type="none") as handle:
        handle.seek(2 * MiB)
        assert handle.read(100) == data[2 * MiB:2 * MiB + 100]
        assert handle.read(50) == data[2 * MiB + 100:2 * MiB + 150]
        gets = [r for r in log.settle() if r.method == "GET"]
        assert [r.sent for r in gets] == [100, 50]
        # overwritten while open: the next range is refused, not mixed in
        fs.pipe_file(path, b"new")
        with pytest.raises(errors.IncompleteSend, match="changed"):
            handle.read(10)


def test_whole_cat_is_verified_and_many_are_fetched_at_once(fs, container_name):
    blobs = {"%s/many/%02d" % (container_name, i): os.urandom(1000 + i) for i in range(12)}
    fs.pipe(blobs)
    assert fs.cat(sorted(blobs)) == blobs
    assert fs.cat(container_name + "/many/", recursive=True) == blobs
    got = fs.cat(sorted(blobs) + [container_name + "/many/missing"], on_error="return")
    assert isinstance(got[container_name + "/many/missing"], FileNotFoundError)


def test_a_damaged_whole_read_is_read_again(swift_server, options, fs, container_name):
    """A body damaged on the way (a loopback proxy flips one bit) fails its MD5
    check and is read again through the client's verified GET."""
    from faultproxy import FaultProxy

    data = os.urandom(200_000)
    fs.pipe_file(container_name + "/fragile.bin", data)
    with FaultProxy(swift_server.proxy_url, seed=3) as proxy:
        damaged = SwiftFileSystem(**dict(options, auth_url=proxy.rewrite(options["auth_url"])))
        rule = proxy.add("corrupt", method="GET", path="fragile", count=1)
        assert damaged.cat_file(container_name + "/fragile.bin") == data
        assert rule.fired == 1
        gets = [entry for entry in proxy.stats.log
                if entry[0] == "GET" and entry[1].endswith("fragile.bin")]
        assert len(gets) == 2, gets  # the damaged answer, then the one read again


# -- pandas, pyarrow, Dask ----------------------------------------------------


def test_pandas_csv_and_parquet_round_trips(options, fs, container_name):
    import pandas as pd

    frame = pd.DataFrame({"city": ["Lyon", "Oslo", "Quito"], "people": [522, 709, 2800],
                          "ratio": [0.5, 1.25, 3.0]})
    csv = "swift://%s/tables/cities.csv" % container_name
    frame.to_csv(csv, index=False, storage_options=options)
    pd.testing.assert_frame_equal(pd.read_csv(csv, storage_options=options), frame)
    parquet = "swift://%s/tables/cities.parquet" % container_name
    frame.to_parquet(parquet, storage_options=options)
    pd.testing.assert_frame_equal(pd.read_parquet(parquet, storage_options=options), frame)
    assert fs.info(parquet)["size"] > 0
    assert sorted(fs.ls(container_name + "/tables", detail=False)) == [
        container_name + "/tables/cities.csv", container_name + "/tables/cities.parquet"]


def test_dask_reads_a_glob_of_csv_objects(options, fs, container_name):
    import dask
    import dask.dataframe as dd
    import pandas as pd

    parts = []
    for i in range(4):
        part = pd.DataFrame({"n": range(i * 100, i * 100 + 100), "part": i})
        part.to_csv("swift://%s/part-%d.csv" % (container_name, i), index=False,
                    storage_options=options)
        parts.append(part)
    fs.pipe_file(container_name + "/other.csv", b"n,part\n-1,-1\n")
    frame = dd.read_csv("swift://%s/part-*.csv" % container_name, storage_options=options,
                        blocksize=1024)
    assert frame.npartitions >= 4
    with dask.config.set(scheduler="threads"):
        result = frame.compute()
    expected = pd.concat(parts)
    assert sorted(result["n"].tolist()) == sorted(expected["n"].tolist())
    assert result.groupby("part")["n"].count().to_dict() == {0: 100, 1: 100, 2: 100, 3: 100}


# -- writing ------------------------------------------------------------------


def test_small_write_is_one_put_and_pipe_put_get_cp_rm(swift_server, fs, container_name,
                                                       raw_conn, tmp_path):
    c = container_name
    log = ProxyLog(swift_server)
    with fs.open(c + "/small.json", "wb") as handle:
        handle.write(b'{"a": 1}')
    puts = client_puts(log.settle(), c)
    assert [r.path.rsplit("/", 1)[1] for r in puts] == ["small.json"]
    head = raw_conn.head_object(c, "small.json")
    assert head["content-type"] == "application/json"
    with pytest.raises(FileExistsError):
        fs.open(c + "/small.json", "xb")

    local = tmp_path / "local.bin"
    local.write_bytes(os.urandom(5 * MiB + 3))
    sized = SwiftFileSystem(**fs.storage_options, skip_instance_cache=True,
                            config=TransferConfig(segment_threshold=2 * MiB,
                                                  segment_size=1 * MiB))

    class Progress(Callback):
        def __init__(self):
            super().__init__()
            self.updates = 0

        def call(self, *args, **kwargs):
            self.updates += 1

    progress = Progress()
    sized.put_file(str(local), c + "/up/local.bin", callback=progress)
    assert progress.size == local.stat().st_size and progress.value == progress.size
    assert progress.updates > 1
    head = raw_conn.head_object(c, "up/local.bin")
    assert "x-static-large-object" in head and int(head["content-length"]) == 5 * MiB + 3
    assert len(raw_conn.get_container(c + "_segments")[1]) == 6
    down = tmp_path / "out" / "copy.bin"
    progress = Progress()
    sized.get_file(c + "/up/local.bin", str(down), callback=progress)
    assert down.read_bytes() == local.read_bytes()
    assert progress.value == progress.size == local.stat().st_size
    assert sorted(os.listdir(down.parent)) == ["copy.bin"]  # nothing left beside it
    buffer = io.BytesIO()
    fs.get_file(c + "/small.json", buffer)
    assert buffer.getvalue() == b'{"a": 1}'

    log = ProxyLog(swift_server)
    fs.cp_file(c + "/small.json", c + "-copy/copied.json")
    copies = [r for r in log.settle() if r.method in ("COPY", "PUT") and r.client != "-"
              and "copied.json" in r.path]
    assert copies and all(r.received == 0 for r in copies)  # server-side: no body sent
    assert fs.cat_file(c + "-copy/copied.json") == b'{"a": 1}'
    fs.rm(c + "-copy", recursive=True)
    assert not fs.exists(c + "-copy")

    fs.rm(c + "/up", recursive=True)  # the large object and its segments
    assert not fs.exists(c + "/up/local.bin")
    assert raw_conn.get_container(c + "_segments")[1] == []
    fs.rm(c + "/small.json")
    assert fs.ls(c) == []
    fs.rmdir(c)
    assert not fs.exists(c)
    fs.mkdir(c + "/sub/folder")
    assert fs.exists(c) and fs.ls(c) == []


def test_aborted_write_leaves_no_object_and_no_segment(fs, container_name, raw_conn):
    path = container_name + "/aborted.bin"
    with pytest.raises(RuntimeError, match="boom"):
        with fs.open(path, "wb", block_size=1 * MiB) as handle:
            for _ in range(5):
                handle.write(os.urandom(MiB // 2))
            time.sleep(0.5)  # let a segment or two be stored
            raise RuntimeError("boom")
    assert not fs.exists(path)
    try:
        assert raw_conn.get_container(container_name + "_segments")[1] == []
    except swiftclient.ClientException:
        pass  # never even created


_WRITER = r"""
import json, resource, sys
from velocity.fsspec import SwiftFileSystem

opts, path, total, block = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fs = SwiftFileSystem(**opts)
fs.mkdir(path.split("/")[0])
piece = bytes(range(256)) * 4096  # 1 MiB, written 300 times

def peak():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM"))

before = peak()
with fs.open(path, "wb", block_size=block) as handle:
    for _ in range(total // len(piece)):
        handle.write(piece)
print(json.dumps({"growth": peak() - before}))
"""


def test_large_write_streams_segments_with_bounded_memory(options, container_name, raw_conn):
    """300 MiB written through ``open(..., "wb", block_size=8 MiB)``: SLO
    segments sent as blocks fill, memory growth under 100 MB (the peak RSS of
    the writing process, /proc/self/status VmHWM)."""
    total, block = 300 * MiB, 8 * MiB
    path = container_name + "/large.bin"
    proc = subprocess.run([sys.executable, "-c", _WRITER, json.dumps(options), path,
                           str(total), str(block)], capture_output=True, text=True,
                          timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    growth = json.loads(proc.stdout)["growth"]
    assert growth < 100 * 1000 * 1000, growth
    head = raw_conn.head_object(container_name, "large.bin")
    assert head.get("x-static-large-object") == "True" and int(head["content-length"]) == total
    segments = raw_conn.get_container(container_name + "_segments")[1]
    assert len(segments) == 38 and {s["bytes"] for s in segments} == {block, total % block}
    piece = bytes(range(256)) * 4096
    start = 123 * MiB + 77
    _, middle = raw_conn.get_object(container_name, "large.bin",
                                    headers={"Range": "bytes=%d-%d" % (start, start + 999)})
    assert middle == (piece * 2)[77:77 + 1000]


# -- many objects ---------------------------------------------------------------


def test_sign_makes_a_temp_url(swift_server, options, container_name, raw_conn):
    raw_conn.put_container(container_name, headers={"X-Container-Meta-Temp-URL-Key": "tk"})
    raw_conn.put_object(container_name, "s.txt", b"signed")
    fs = SwiftFileSystem(**options, temp_url_key="tk")
    assert "tk" not in repr(fs.storage_options)
    with urllib.request.urlopen(fs.sign(container_name + "/s.txt", expiration=60)) as answer:
        assert answer.read() == b"signed"


#: registers listing rows with the container server, as object servers do
#: after storing an object (Swift's direct_client), 8 threads at once
_ROWS = r"""
import concurrent.futures, sys
from swift.common import direct_client
from swift.common.ring import Ring
from swift.common.utils import Timestamp, set_swift_dir

conf, account, container, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
set_swift_dir(conf)
part, nodes = Ring(conf, ring_name="container").get_nodes(account, container)

def row(i):
    direct_client.direct_put_container_object(
        nodes[0], part, account, container, "d%d/obj-%05d" % (i % 3, i), headers={
            "X-Timestamp": Timestamp.now().internal, "X-Size": "1",
            "X-Content-Type": "application/octet-stream",
            "X-Etag": "9dd4e461268c8034f5c8564e155c67a6"})

with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(row, range(count)))
print(count)
"""


def _extract_archives(server, container: str, count: int) -> int:
    """``count`` real objects, by Swift's bulk extract-archive, four tar files at once."""
    conn = swiftclient.Connection(server.auth_url, server.user, server.key)
    url, token = conn.get_auth()

    def extract(part: int) -> int:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for i in range(part, count, 4):
                info = tarfile.TarInfo("d%d/obj-%05d" % (i % 3, i))
                info.size = 1
                tar.addfile(info, io.BytesIO(b"x"))
        request = urllib.request.Request(
            "%s/%s?extract-archive=tar" % (url, container), data=buffer.getvalue(),
            method="PUT", headers={"X-Auth-Token": token, "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=900) as answer:
            return json.loads(answer.read().decode().strip())["Number Files Created"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return sum(pool.map(extract, range(4)))


@pytest.fixture(scope="module")
def crowded():
    """A LocalSwift of its own (stopping it throws everything away) with a
    container listing 12,000 objects, filled on a thread while the other
    tests of this module run (its last test lists them).

    Storing 12,000 real objects costs this LocalSwift about 10 ms of CPU
    each (proxy, object and container server): two minutes and more on two
    cores.  So by default the 12,000 listing rows are registered with the
    container server directly, the way object servers register what they
    store; ``VELOCITY_TEST_REAL_OBJECTS=1`` stores real objects instead, by
    Swift's bulk extract-archive.  Either way the filesystem lists them
    through the proxy, page by page, as from any cluster."""
    from velocity.server import LocalSwift

    count = 12000
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # no fsync, fast clean-up
    with LocalSwift(base_dir=shm) as server:
        swiftclient.Connection(server.auth_url, server.user, server.key).put_container(
            "crowded")
        done: concurrent.futures.Future[int] = concurrent.futures.Future()

        def fill() -> None:
            try:
                if os.environ.get("VELOCITY_TEST_REAL_OBJECTS") == "1":
                    done.set_result(_extract_archives(server, "crowded", count))
                    return
                proc = subprocess.run(
                    [sys.executable, "-c", _ROWS, os.path.join(server.folder, "conf"),
                     server.account, "crowded", str(count)],
                    capture_output=True, text=True, timeout=600)
                if proc.returncode:
                    raise RuntimeError(proc.stderr[-3000:])
                done.set_result(int(proc.stdout))
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                done.set_exception(exc)

        threading.Thread(target=fill, daemon=True).start()
        yield server, done


def test_ls_of_12000_objects_returns_every_page(crowded):
    server, done = crowded
    assert done.result(timeout=900) == 12000
    fs = SwiftFileSystem(auth_url=server.auth_url, user=server.user, key=server.key)
    names = fs.find("crowded")
    assert len(names) == 12000 and len(set(names)) == 12000
    assert fs.ls("crowded", detail=False) == ["crowded/d0", "crowded/d1", "crowded/d2"]
    listed = fs.ls("crowded/d1", detail=True)
    assert len(listed) == 4000 and {e["size"] for e in listed} == {1}
    assert len(fs.ls("crowded/d0", detail=False)) == 4000
    assert len(fs.glob("crowded/d2/obj-*")) == 4000
    assert len(fs.find("crowded/d1")) == 4000
