"""Transfers that survive interruption: downloads continue their hidden
partial file, segmented uploads send only the segments missing.

The two acceptance tests kill a real transfer with SIGKILL half way (in a
child process) and count, with a FaultProxy in front of LocalSwift, the bytes
the rerun moves."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from velocity import errors
from velocity.progress import ProgressSubscriber
from velocity.transfer import TransferConfig, TransferManager
from velocity.transfer.partial import partial_path
from velocity.transfer.segments import segment_base, segment_name

MiB = 1024 * 1024
SEG = 256 * 1024
SMALL = TransferConfig(segment_size=SEG, segment_threshold=2 * SEG, object_threads=2,
                       segment_threads=2, retries=1)

CHILD = r"""
import json, sys
from velocity.auth import Credentials
from velocity.transfer import TransferConfig, TransferManager
job = json.loads(sys.argv[1])
credentials = Credentials.v1(job["auth"], job["user"], job["key"])
with TransferManager(credentials, TransferConfig(**job["config"])) as manager:
    if job["op"] == "download":
        results = manager.download(job["container"], [job["name"]], out_dir=job["out"])
    else:
        results = manager.upload(job["container"], job["path"])
print(json.dumps([str(result) for result in results]))
"""


def make_data(path, size: int) -> bytes:
    """``size`` bytes where every MiB differs (a misplaced block shows)."""
    block = os.urandom(MiB)
    data = b"".join(block[i % 997:] + block[:i % 997] for i in range(-(-size // MiB)))[:size]
    with open(path, "wb") as handle:
        handle.write(data)
    return data


def read(path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def settled_names(raw_conn, container: str) -> list[str]:
    """The names listed, once two listings a moment apart agree (a listing
    may lag a PUT that just ended)."""
    names = None
    for _ in range(50):
        now = [o["name"] for o in raw_conn.get_container(container, full_listing=True)[1]]
        if now == names:
            return now
        names = now
        time.sleep(0.1)
    return names or []


def kill_half_way(job: dict, reached) -> None:
    """Run ``job`` in a child process and SIGKILL it once ``reached()``."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(job)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not reached():
            assert proc.poll() is None, "finished before it was killed: %r" % (
                proc.communicate(),)
            assert time.monotonic() < deadline, "never got half way"
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def child_job(swift_server, proxy, op: str, container: str, **extra) -> dict:
    return dict(op=op, container=container, auth=proxy.rewrite(swift_server.auth_url),
                user=swift_server.user, key=swift_server.key, **extra)


# -- the acceptance tests: kill -9 half way ------------------------------------------


def test_download_killed_half_way_resumes(swift_server, proxy, via_proxy, raw_conn,
                                          container_name, tmp_path):
    size = 200 * MiB
    data = make_data(tmp_path / "source.bin", size)
    raw_conn.put_container(container_name)
    with open(tmp_path / "source.bin", "rb") as handle:
        raw_conn.put_object(container_name, "big.bin", handle, content_length=size)
    out = tmp_path / "out"
    part = partial_path(str(out / "big.bin"))

    def written() -> bool:  # watch the partial file grow (it is sparse: count its blocks)
        try:
            return os.stat(part).st_blocks * 512 >= size // 2
        except FileNotFoundError:
            return False

    kill_half_way(child_job(swift_server, proxy, "download", container_name, name="big.bin",
                            out=str(out), config={}), written)
    assert not os.path.exists(out / "big.bin")
    assert os.path.exists(part) and os.path.exists(part + ".json")

    before = proxy.stats.response_body_bytes
    with TransferManager(via_proxy) as manager:
        [result] = manager.download(container_name, ["big.bin"], out_dir=str(out))
    fetched = proxy.stats.response_body_bytes - before
    assert result.ok, str(result)
    assert fetched < 0.6 * size, fetched / size
    assert result.resumed >= size - fetched
    assert read(out / "big.bin") == data
    assert sorted(os.listdir(out)) == ["big.bin"]  # partial file and journal are gone


def test_upload_killed_half_way_resumes(swift_server, proxy, via_proxy, raw_conn,
                                        container_name, tmp_path):
    size, seg = 256 * MiB, 16 * MiB
    path = tmp_path / "big.bin"
    data = make_data(path, size)
    raw_conn.put_container(container_name)
    config = dict(segment_size=seg, segment_threshold=seg, segment_threads=2)
    start = proxy.stats.request_body_bytes

    kill_half_way(child_job(swift_server, proxy, "upload", container_name, path=str(path),
                            config=config),
                  lambda: proxy.stats.request_body_bytes - start >= 0.55 * size)
    assert "big.bin" not in [o["name"] for o in raw_conn.get_container(container_name)[1]]

    before = proxy.stats.request_body_bytes
    with TransferManager(via_proxy, TransferConfig(**config, content_md5=True)) as manager:
        [result] = manager.upload(container_name, str(path))
    sent = proxy.stats.request_body_bytes - before
    assert result.ok and result.segments == 16, str(result)
    assert sent < 0.6 * size, sent / size
    assert result.resumed >= size - sent
    headers, body = raw_conn.get_object(container_name, "big.bin")
    assert body == data
    assert headers["x-object-meta-x-sdk-md5"] == hashlib.md5(data).hexdigest()
    base = segment_base("big.bin", size, os.stat(path).st_mtime, seg)
    stored = raw_conn.get_container(container_name + "_segments")[1]
    assert [o["name"] for o in stored] == [segment_name(base, i) for i in range(16)]


# -- downloads ---------------------------------------------------------------------------


class CancelAt(ProgressSubscriber):
    """Cancels the manager once ``limit`` bytes moved."""

    def __init__(self, manager, limit):
        self.manager, self.limit, self.seen = manager, limit, 0

    def on_progress(self, delta):
        self.seen += delta
        if self.seen >= self.limit:
            self.manager.cancel()


def interrupted_download(credentials, container, name, out, size, config=SMALL):
    with TransferManager(credentials, config) as manager:
        [result] = manager.download(container, [name], out_dir=str(out),
                                    subscribers=[CancelAt(manager, size * 0.4)])
    assert isinstance(result.error, errors.TransferCancelled), str(result)
    part = partial_path(str(out / name))
    assert os.path.exists(part) and os.path.exists(part + ".json")
    assert not os.path.exists(out / name)
    return part


@pytest.mark.parametrize("kind", ["one-stream", "ranges", "slo"])
def test_interrupted_download_continues(kind, via_proxy, proxy, raw_conn, container_name,
                                        tmp_path):
    size = 10 * SEG + 123
    # one stream: an object up to twice the segment size comes in one GET
    config = TransferConfig(segment_size=size, object_threads=2) if kind == "one-stream" \
        else SMALL
    data = os.urandom(size)
    write_to = tmp_path / "src.bin"
    write_to.write_bytes(data)
    with TransferManager(via_proxy, SMALL if kind == "slo" else TransferConfig(
            segment_threshold=4 * size)) as manager:
        assert manager.upload(container_name, str(write_to), object_names=["obj"])[0].ok
    if kind == "slo":
        assert raw_conn.head_object(container_name, "obj")["x-static-large-object"] == "True"
    out = tmp_path / "out"
    interrupted_download(via_proxy, container_name, "obj", out, size, config)
    before = proxy.stats.response_body_bytes
    with TransferManager(via_proxy, config) as manager:
        [result] = manager.download(container_name, ["obj"], out_dir=str(out))
    fetched = proxy.stats.response_body_bytes - before
    assert result.ok, str(result)
    assert 0 < result.resumed and fetched <= size - result.resumed + 4096  # + the manifest
    assert read(out / "obj") == data
    assert os.listdir(out) == ["obj"]


def test_object_replaced_between_runs_is_fetched_whole(via_proxy, proxy, raw_conn,
                                                       container_name, tmp_path):
    size = 10 * SEG
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "obj", os.urandom(size))
    out = tmp_path / "out"
    interrupted_download(via_proxy, container_name, "obj", out, size)
    replaced = os.urandom(size)  # the same size: only the ETag tells
    raw_conn.put_object(container_name, "obj", replaced)
    before = proxy.stats.response_body_bytes
    with TransferManager(via_proxy, SMALL) as manager:
        [result] = manager.download(container_name, ["obj"], out_dir=str(out))
    assert result.ok and result.resumed == 0, str(result)
    assert proxy.stats.response_body_bytes - before >= size
    assert read(out / "obj") == replaced
    assert os.listdir(out) == ["obj"]


def test_damaged_partial_data_is_discarded_not_resumed(via_proxy, raw_conn, container_name,
                                                       tmp_path):
    size = 10 * SEG
    data = os.urandom(size)
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "obj", data)
    out = tmp_path / "out"
    part = interrupted_download(via_proxy, container_name, "obj", out, size)
    with open(part, "r+b") as handle:  # a bit flips in what the journal says is there
        handle.seek(10)
        byte = handle.read(1)
        handle.seek(10)
        handle.write(bytes([byte[0] ^ 1]))
    with TransferManager(via_proxy, SMALL) as manager:
        [result] = manager.download(container_name, ["obj"], out_dir=str(out))
    assert result.ok, str(result)  # the verification failed, so it started over
    assert read(out / "obj") == data
    assert os.listdir(out) == ["obj"]


def test_stale_partials_are_swept_when_a_download_starts(client, raw_conn, container_name,
                                                         tmp_path):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "keep.txt", b"here")
    out = tmp_path / "out"
    out.mkdir()

    def fake_partial(name, container, age):
        part = partial_path(str(out / name))
        with open(part, "wb") as handle:
            handle.write(b"x" * 10)
        with open(part + ".json", "w") as handle:
            json.dump({"version": 1, "container": container, "name": name, "etag": "e",
                       "size": 20, "kind": "plain", "parts": [[0, 20, 10]]}, handle)
        stamp = time.time() - age
        for path in (part, part + ".json"):
            os.utime(path, (stamp, stamp))
        return part

    old = fake_partial("old.bin", container_name, 8 * 86400)       # older than 7 days
    gone = fake_partial("gone.bin", container_name, 60)            # object no longer there
    other = fake_partial("other.bin", container_name + "-x", 60)   # another container's
    with TransferManager(client) as manager:
        assert all(r.ok for r in manager.download(container_name, out_dir=str(out)))
    assert not os.path.exists(old) and not os.path.exists(old + ".json")
    assert not os.path.exists(gone) and not os.path.exists(gone + ".json")
    assert os.path.exists(other) and os.path.exists(other + ".json")
    with TransferManager(client, TransferConfig(partial_max_age=30)) as manager:
        assert manager.download(container_name, ["keep.txt"], out_dir=str(out))[0].ok
    assert sorted(os.listdir(out)) == ["keep.txt"]


def test_two_processes_never_write_one_partial_file(client, raw_conn, container_name,
                                                    tmp_path):
    from velocity.transfer.partial import PartialFile

    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "obj", b"data")
    holder = PartialFile(str(tmp_path / "obj"), container_name, "obj")
    try:
        with TransferManager(client) as manager:
            [result] = manager.download(container_name, ["obj"], out_dir=str(tmp_path))
        assert not result.ok and "another process" in str(result)
    finally:
        holder.discard()


# -- uploads -------------------------------------------------------------------------------


def interrupted_upload(credentials, container, path, size, config=SMALL):
    with TransferManager(credentials, config) as manager:
        [result] = manager.upload(container, str(path),
                                  subscribers=[CancelAt(manager, size * 0.5)])
    assert isinstance(result.error, errors.TransferCancelled), str(result)


def test_interrupted_upload_sends_only_missing_or_changed_segments(
        via_proxy, proxy, raw_conn, container_name, tmp_path):
    size = 16 * SEG
    path = tmp_path / "big.bin"
    data = make_data(path, size)
    interrupted_upload(via_proxy, container_name, path, size)
    seg_container = container_name + "_segments"
    stored = settled_names(raw_conn, seg_container)
    assert 2 <= len(stored) < 16
    # one stored segment is damaged behind our back: the rerun notices from the listing
    raw_conn.put_object(seg_container, stored[0], os.urandom(SEG))
    before_bytes, before_log = proxy.stats.request_body_bytes, len(proxy.stats.log)
    with TransferManager(via_proxy, SMALL) as manager:
        [result] = manager.upload(container_name, str(path))
    sent = proxy.stats.request_body_bytes - before_bytes
    assert result.ok, str(result)
    assert result.resumed == (len(stored) - 1) * SEG
    assert (16 - len(stored) + 1) * SEG <= sent < (16 - len(stored) + 1) * SEG + 16384
    # what is stored was learnt from one listing, not a HEAD per segment
    requests = proxy.stats.log[before_log:]
    assert not [r for r in requests if r[0] == "HEAD" and "_segments" in r[1]]
    assert raw_conn.get_object(container_name, "big.bin")[1] == data


def test_orphans_and_cleanup(client, raw_conn, container_name, tmp_path):
    done = tmp_path / "done.bin"
    make_data(done, 4 * SEG)
    with TransferManager(client, SMALL) as manager:
        assert manager.upload(container_name, str(done))[0].ok
    path = tmp_path / "half.bin"
    make_data(path, 16 * SEG)
    interrupted_upload(client, container_name, path, 16 * SEG)
    with TransferManager(client, SMALL) as manager:
        for _ in range(50):  # a container listing may lag a PUT that just ended
            left = [o["name"] for o in raw_conn.get_container(container_name + "_segments")[1]
                    if o["name"].startswith("half.bin/")]
            found = manager.orphans(container_name)
            if sorted(o.name for o in found) == left:
                break
            time.sleep(0.1)
        assert left and sorted(o.name for o in found) == left
        assert {o.upload for o in found} == {"half.bin"}
        assert manager.orphans(container_name, older_than=3600) == []
        dry = manager.cleanup(container_name)
        assert [r.name for r in dry] == [o.name for o in found]
        assert all(r.dry_run and r.ok and "would delete" in str(r) for r in dry)
        assert manager.orphans(container_name) == found  # nothing was removed
        removed = manager.cleanup(container_name, yes=True)
        assert sorted(r.name for r in removed) == left and all(r.ok for r in removed)
        assert manager.orphans(container_name) == []
    segments = raw_conn.get_container(container_name + "_segments")[1]
    assert len(segments) == 4 and all(o["name"].startswith("done.bin/") for o in segments)
    assert raw_conn.get_object(container_name, "done.bin")[1] == read(done)


def test_resume_off_removes_segments_of_a_failed_upload(client, raw_conn, container_name,
                                                        tmp_path):
    path = tmp_path / "big.bin"
    make_data(path, 16 * SEG)
    config = TransferConfig(segment_size=SEG, segment_threshold=2 * SEG, segment_threads=2,
                            resume=False)
    interrupted_upload(client, container_name, path, 16 * SEG, config)
    try:
        segments = raw_conn.get_container(container_name + "_segments")[1]
    except Exception:  # noqa: BLE001 - no segment container at all is fine too
        segments = []
    assert segments == []
