"""velocity.distributed against the session's LocalSwift and a real Dask
LocalCluster: two worker processes with two threads each."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import signal
import time
import uuid

import pytest
import swiftclient

distributed = pytest.importorskip("distributed")

from velocity import distributed as vd  # noqa: E402
from velocity import errors  # noqa: E402
from velocity.client import SwiftClient  # noqa: E402
from velocity.distributed import ranges  # noqa: E402
from velocity.distributed import worker as vd_worker  # noqa: E402
from velocity.progress import ProgressSubscriber  # noqa: E402
from velocity.transfer import TransferConfig, TransferManager  # noqa: E402

MiB = 1024 * 1024
SMALL_FILES = 1000
BIG = 200 * MiB
#: 200 MiB in 32 MiB segments: 7 segment tasks
CONFIG = TransferConfig(segment_size=32 * MiB, segment_threshold=64 * MiB,
                        skip_identical=True)
SEGMENTS = -(-BIG // CONFIG.segment_size)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    """Two worker processes (restarted by their nannies when killed)."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def recipe(swift_server):
    return vd.Recipe(auth_url=swift_server.auth_url, user=swift_server.user,
                     key=swift_server.key)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """1,000 small files in ten folders, and one 200 MiB file."""
    root = tmp_path_factory.mktemp("tree")
    for index in range(SMALL_FILES):
        folder = root / ("d%02d" % (index % 10))
        folder.mkdir(exist_ok=True)
        (folder / ("f%04d.bin" % index)).write_bytes(os.urandom(100 + (index * 37) % 4000))
    with open(root / "big.bin", "wb") as handle:
        for _ in range(BIG // (8 * MiB)):
            handle.write(os.urandom(8 * MiB))
    return str(root)


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(4 * MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: str) -> dict[str, str]:
    """Relative POSIX path -> MD5 of every file under ``root``."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root).replace(os.sep, "/")] = _md5(path)
    return found


@pytest.fixture(scope="module")
def tree_md5(tree):
    return _files(tree)


def _drop(client: SwiftClient, container: str) -> None:
    """Remove a container and its segments (in bulk)."""
    with TransferManager(client) as manager:
        for name in (container, container + "_segments"):
            manager.delete(name)
            try:
                client.call("delete_container", name)
            except errors.VelocityError:
                pass


@pytest.fixture(scope="module")
def raw(swift_server):
    conn = swiftclient.Connection(swift_server.auth_url, swift_server.user, swift_server.key,
                                  retries=2)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def uploaded(dask_client, recipe, tree, client, swift_server):
    """The tree uploaded once by the cluster (the container, the results)."""
    container = "dist-" + uuid.uuid4().hex[:8]
    fresh = recipe not in vd_worker._STATES  # the client's own login is still to come
    before = _auth_lines(swift_server)
    results = vd.upload(dask_client, recipe, container, tree, config=CONFIG)
    results.auth_requests = _auth_lines(swift_server) - before
    results.client_logged_in = fresh
    yield container, results
    _drop(client, container)


def _auth_lines(swift_server) -> int:
    return sum(1 for line in swift_server.log("proxy").splitlines()
               if "GET /auth/v1.0 " in line)


def _check_stored(raw: swiftclient.Connection, container: str, expected: dict[str, str]):
    """The container holds exactly the tree; big.bin's manifest names
    exactly the segments its segment container holds (no orphan)."""
    listing = {o["name"]: o for o in raw.get_container(container, full_listing=True)[1]}
    assert set(listing) == set(expected)
    for name, md5 in expected.items():
        if name != "big.bin":
            assert listing[name]["hash"] == md5, name
    _, manifest = raw.get_object(container, "big.bin", query_string="multipart-manifest=get")
    import json

    named = sorted(item["name"] for item in json.loads(manifest))
    stored = sorted("/%s_segments/%s" % (container, o["name"]) for o in
                    raw.get_container(container + "_segments", full_listing=True)[1])
    assert named == stored and len(named) == SEGMENTS


# -- without a cluster ------------------------------------------------------------------


def test_recipe_travels_without_showing_its_secret(swift_server):
    recipe = vd.Recipe(auth_url=swift_server.auth_url, user=swift_server.user,
                       key="s3cr3t-value")
    assert "s3cr3t" not in repr(recipe) and "<hidden>" in repr(recipe)
    copy = pickle.loads(pickle.dumps(recipe))  # noqa: S301 - our own bytes
    assert copy == recipe and hash(copy) == hash(recipe)
    assert copy.build().kind == "v1"
    env = vd.Recipe.from_env({"OS_AUTH_URL": swift_server.auth_url, "OS_USERNAME": "u",
                              "OS_PASSWORD": "pw-s3cr3t", "HOME": "/root"})
    assert "pw-s3cr3t" not in repr(env) and "HOME" not in repr(env)
    assert env.build().kind == "v1"
    with pytest.raises(errors.ConfigurationError, match="token"):
        vd.Recipe(storage_url="http://x/v1/AUTH_a", token="t")
    with pytest.raises(errors.ConfigurationError, match="OS_AUTH_TOKEN"):
        vd.Recipe.from_env({"OS_STORAGE_URL": "http://x", "OS_AUTH_TOKEN": "t"})
    with pytest.raises(errors.ConfigurationError, match="not Credentials"):
        vd.upload(None, recipe.build(), "c", ".")
    with pytest.raises(errors.ConfigurationError, match="does not know"):
        vd.Recipe(auth_url="http://x/auth/v1.0", password="x")
    with pytest.raises(errors.ConfigurationError, match="local:N"), vd.connect("local:0"):
        pass


def test_ranges_tile_and_fan_out():
    names = ["img_%06d.jpg" % i for i in range(0, 100000, 7)]
    page = names[:1000]
    rest = ranges.split_rest(page[0], page[-1], None, "img_")
    assert rest[0][0] == page[-1] and rest[-1][1] is None and len(rest) == ranges.FANOUT
    for (_, hi), (lo, _) in zip(rest, rest[1:]):
        assert hi == lo  # they tile
    counts = [sum(1 for n in names if ranges.in_range(n, lo, hi)) for lo, hi in rest]
    assert sum(counts) == len(names) - 1000
    assert all(counts[:-1]) and max(counts[:-1]) <= 2000  # spaced like the page
    entries = [{"name": n, "bytes": 10 if n != page[5] else 10**9} for n in page]
    cut = ranges.cut_entries(entries, "", page[-1], 100, 5000)
    assert sum(c for _, _, c, _ in cut) == 1000 and cut[-1][1] == page[-1]
    assert any(c == 1 and b == 10**9 for _, _, c, b in cut)  # a large object alone
    assert ranges.boundaries("a", "b", "b\x01", "") == []


# -- on the cluster ---------------------------------------------------------------------


def test_upload_and_download_on_two_workers(dask_client, recipe, uploaded, tree_md5, raw,
                                            swift_server, tmp_path):
    container, results = uploaded
    assert len(results) == SMALL_FILES + 1 and not results.failed
    assert not any(r.skipped for r in results)
    [big] = [r for r in results if r.name == "big.bin"]
    assert big.segments == SEGMENTS and big.bytes == BIG
    workers = set(dask_client.scheduler_info()["workers"])
    assert len(workers) == 2
    ran = {kind: {r.worker for r in results.shards if r.kind == kind}
           for kind in ("files", "segment")}
    assert ran["files"] == workers and ran["segment"] == workers  # big.bin on both
    _check_stored(raw, container, tree_md5)
    # the upload logged in once per worker process, and once in this process
    assert results.auth_requests == len(workers) + results.client_logged_in

    before = _auth_lines(swift_server)
    out = tmp_path / "out"
    seen = _Recorder()
    down = vd.download(dask_client, recipe, container, out, config=CONFIG, page=200,
                       subscribers=[seen])
    assert len(down) == SMALL_FILES + 1 and not down.failed
    # one display, fed while the workers work: bytes from their events, every
    # object once, every byte once
    assert seen.calls == ["start", "done"] and seen.objects == SMALL_FILES + 1
    assert seen.bytes == sum(r.bytes for r in down) == sum(
        os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    assert seen.updates > len(down.shards)
    assert len({r.name for r in down}) == SMALL_FILES + 1  # nothing twice
    listed = [r for r in down.shards if r.kind == "list"]
    assert listed and {r.worker for r in listed} <= workers  # the workers listed the rest
    assert {r.worker for r in down.shards if r.kind == "range"} == workers
    assert _files(str(out)) == tree_md5  # byte-identical

    # one login per worker process, for the upload and the download together
    logins = dask_client.run(vd.process_logins)
    assert [info["logins"] for info in logins.values()] == [1, 1]
    assert {r.logins for r in results.shards + down.shards} == {1}
    assert _auth_lines(swift_server) == before  # the download logged in nowhere


def test_rerun_sends_only_what_is_missing(dask_client, recipe, uploaded, tree, tree_md5, raw):
    container, _ = uploaded
    gone = sorted(tree_md5)[:100]
    gone = [name for name in gone if name != "big.bin"]
    for name in gone:
        raw.delete_object(container, name)
    segments = [o["name"] for o in raw.get_container(container + "_segments")[1]]
    raw.delete_object(container, "big.bin")  # as if the job stopped before the manifest,
    raw.delete_object(container + "_segments", segments[3])  # and one segment was lost
    again = vd.upload(dask_client, recipe, container, tree, config=CONFIG)
    assert not again.failed
    sent = sorted(r.name for r in again if not r.skipped)
    assert sent == sorted([*gone, "big.bin"])
    parts = [r.segment for r in again.shards if r.kind == "segment"]
    assert sorted(p.number for p in parts if p.sent) == [3]
    _check_stored(raw, container, tree_md5)


def test_sync_prune_and_delete(dask_client, recipe, raw, client, tmp_path):
    container = "dist-" + uuid.uuid4().hex[:8]
    remote = vd.Remote(container, "p")
    local = tmp_path / "local"
    for index in range(40):
        (local / ("s%d" % (index % 3))).mkdir(parents=True, exist_ok=True)
        (local / ("s%d" % (index % 3)) / ("x%02d" % index)).write_bytes(os.urandom(500))
    try:
        first = vd.sync(dask_client, recipe, local, remote, config=CONFIG)
        assert len(first) == 40 and not first.failed and first.unchanged == 0
        assert {r.reason for r in first} == {"missing"}
        (local / "s0" / "x00").write_bytes(os.urandom(500))    # same size, other bytes
        (local / "s1" / "x01").write_bytes(os.urandom(501))    # other size
        (local / "s2" / "x02").unlink()                         # gone: pruned
        (local / "s2" / "new").write_bytes(b"new")              # new
        raw.put_object(container, "p/s1/x01.tmp", b"ignored stays")
        raw.put_object(container, "elsewhere", b"not under the prefix")
        second = vd.sync(dask_client, recipe, local, remote, delete=True, ignore=("*.tmp",),
                         config=CONFIG, page=7)
        assert not second.failed and second.unchanged == 37
        assert [(r.action, r.name, r.reason) for r in second] == [
            ("upload", "p/s0/x00", "checksum"), ("upload", "p/s1/x01", "size"),
            ("upload", "p/s2/new", "missing"), ("delete", "p/s2/x02", "extra")]
        assert any(r.kind == "list" for r in second.shards)  # pruning listed by the workers
        listing = {o["name"] for o in raw.get_container(container, full_listing=True)[1]}
        expected = {"p/" + os.path.relpath(os.path.join(d, f), local).replace(os.sep, "/")
                    for d, _, fs in os.walk(local) for f in fs}
        assert listing == expected | {"p/s1/x01.tmp", "elsewhere"}

        back = tmp_path / "back"
        down = vd.sync(dask_client, recipe, remote, back, ignore=("*.tmp",), config=CONFIG)
        assert len(down) == 40 and not down.failed
        assert _files(str(back)) == _files(str(local))
        (back / "s0" / "x03").write_bytes(b"changed")
        (back / "s1" / "extra").write_bytes(b"no object")
        again = vd.sync(dask_client, recipe, remote, back, delete=True, ignore=("*.tmp",),
                        config=CONFIG, page=5)
        assert [(r.action, r.name, r.reason) for r in again] == [
            ("download", "p/s0/x03", "size"), ("delete", "p/s1/extra", "extra")]
        assert _files(str(back)) == _files(str(local))

        gone = vd.delete(dask_client, recipe, container, prefix="p/", page=9)
        assert len(gone) == 41 and not gone.failed
        assert any(r.kind == "list" for r in gone.shards)
        assert [o["name"] for o in raw.get_container(container)[1]] == ["elsewhere"]
    finally:
        _drop(client, container)


def test_secrets_stay_out_of_logs_and_errors(dask_client, recipe, uploaded, tmp_path,
                                             swift_server):
    container, _ = uploaded
    secret = "wrong-" + uuid.uuid4().hex
    bad = vd.Recipe(auth_url=swift_server.auth_url, user=swift_server.user, key=secret)
    # the client lists the first page (with the good login); the workers,
    # with the bad one, fail: per object, and for the ranges they must list
    plan = vd.plan_download(recipe, container, None, tmp_path, prefix="d00/f00", page=4)
    plan.context = dataclasses.replace(plan.context, recipe=bad)
    results = vd.run(dask_client, plan, retries=1)
    assert results and not any(r.ok for r in results)
    assert any(r.name is None for r in results)  # a range that could not be listed
    assert not any(secret in str(r.error) or secret in repr(r) for r in results)
    logs = repr(dask_client.get_worker_logs()) + repr(dask_client.get_scheduler_logs())
    assert "Compute Failed" in logs
    assert secret not in logs


class _Recorder(ProgressSubscriber):
    """Counts what a job reports."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.bytes = self.updates = self.objects = 0

    def on_start(self, total_bytes, total_objects) -> None:
        self.calls.append("start")

    def on_progress(self, bytes_done_delta: int) -> None:
        self.bytes += bytes_done_delta
        self.updates += 1

    def on_object_done(self, result) -> None:
        self.objects += 1

    def on_done(self) -> None:
        self.calls.append("done")


class _KillOneWorker(ProgressSubscriber):
    """Kills one worker process (SIGKILL) once the job has moved 48 MiB."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.moved = self.moved_at_kill = 0
        self.killed_at: float | None = None

    def on_progress(self, bytes_done_delta: int) -> None:
        self.moved += bytes_done_delta
        if self.killed_at is None and self.moved > 48 * MiB:
            os.kill(self.pid, signal.SIGKILL)
            self.killed_at = time.monotonic()
            self.moved_at_kill = self.moved


def test_a_worker_killed_mid_job(dask_client, recipe, tree, tree_md5, raw, client, tmp_path):
    # big.bin and 200 of the small files (hard links: the same inodes, the same times)
    expected = {name: md5 for name, md5 in tree_md5.items()
                if name == "big.bin" or name.startswith(("d00/", "d01/"))}
    for name in expected:
        os.makedirs(os.path.dirname(tmp_path / "part" / name), exist_ok=True)
        os.link(os.path.join(tree, name), tmp_path / "part" / name)
    container = "dist-" + uuid.uuid4().hex[:8]
    pids = dask_client.run(os.getpid)
    _, victim = sorted(pids.items())[0]
    killer = _KillOneWorker(victim)
    try:
        results = vd.upload(dask_client, recipe, container, tmp_path / "part", config=CONFIG,
                            subscribers=[killer])
        assert killer.killed_at is not None
        assert len(results) == len(expected) and not results.failed
        assert len({r.name for r in results}) == len(expected)
        _check_stored(raw, container, expected)  # nothing lost, nothing twice, no orphan
        # the nanny started a new process for the dead one: it logged in once too
        deadline = time.monotonic() + 30
        while len(dask_client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        after = dask_client.run(os.getpid)
        assert victim not in after.values()
        logins = dask_client.run(vd.process_logins)
        assert all(info["logins"] <= 1 for info in logins.values())
        assert {r.logins for r in results.shards} == {1}
        assert killer.moved_at_kill < BIG  # it died mid-job
    finally:
        _drop(client, container)


def test_worker_state_is_made_once_per_process(recipe):
    first = vd_worker.state_for(recipe)
    assert vd_worker.state_for(vd.Recipe(**dict(recipe._options))) is first
    assert first.manager(CONFIG) is first.manager(dataclasses.replace(CONFIG))
