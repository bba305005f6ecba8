"""TransferManager.sync and check, both directions, against LocalSwift
(requests counted with a FaultProxy in front of it)."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest

from velocity import errors
from velocity.client import SwiftClient
from velocity.transfer import Remote, TransferConfig, TransferManager

SEG = 64 * 1024
SMALL = TransferConfig(segment_size=SEG, segment_threshold=2 * SEG, object_threads=4,
                       segment_threads=4, retries=1)


def write_tree(root, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)


def read_tree(root) -> dict[str, bytes]:
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root).replace(os.sep, "/")] = handle.read()
    return found


def stored(raw_conn, container, prefix="") -> dict[str, bytes]:
    listing = raw_conn.get_container(container, prefix=prefix, full_listing=True)[1]
    return {o["name"][len(prefix):]: raw_conn.get_object(container, o["name"])[1]
            for o in listing}


def changes(results) -> set[tuple[str, str, str]]:
    return {(r.action, r.name.rsplit("/", 1)[-1] if r.name else "", r.reason) for r in results}


def requests_during(proxy, fn):
    mark = len(proxy.stats.log)
    value = fn()
    return value, [(method, path) for method, path, _, _ in proxy.stats.log[mark:]
                   if not path.startswith("/auth")]


def test_sync_up_then_down_with_adds_changes_and_deletions(via_proxy, proxy, raw_conn,
                                                           container_name, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    files = {"a.txt": b"alpha", "b/c.txt": b"charlie", "b/big.bin": os.urandom(3 * SEG + 7),
             "e/f/empty.txt": b"", "z.txt": b"zulu", "b.txt": b"not a folder"}
    write_tree(src, files)
    remote = Remote(container_name, "backup")  # a prefix is a folder: "backup/"
    listing_path = "/v1/AUTH_test/" + container_name
    with TransferManager(via_proxy, SMALL) as manager:
        first = manager.sync(str(src), remote)
        assert first.ok and len(first) == 6 and first.unchanged == 0
        assert all(r.reason == "missing" and r.action == "upload" for r in first)
        assert stored(raw_conn, container_name, "backup/") == files
        assert raw_conn.head_object(container_name, "backup/b/big.bin")[
            "x-static-large-object"] == "True"

        # nothing changed: listing requests only (the large object too)
        again, sent = requests_during(proxy, lambda: manager.sync(str(src), remote))
        assert list(again) == [] and again.unchanged == 6
        assert sent and set(sent) == {("GET", listing_path)}

        write_tree(src, {"a.txt": b"ALPHA", "b/c.txt": b"charlie, longer", "new/n.txt": b"n"})
        os.unlink(src / "z.txt")
        expected = {("upload", "a.txt", "checksum"), ("upload", "c.txt", "size"),
                    ("upload", "n.txt", "missing"), ("delete", "z.txt", "extra")}
        before = stored(raw_conn, container_name)
        plan = manager.sync(str(src), remote, delete=True, dry_run=True)
        assert changes(plan) == expected and all(r.dry_run and r.ok for r in plan)
        assert plan[-1].action == "delete" and "would delete" in str(plan[-1])
        assert stored(raw_conn, container_name) == before  # a dry run changes nothing
        assert changes(manager.check(str(src), remote)) == expected

        done = manager.sync(str(src), remote, delete=True)
        assert changes(done) == expected and done.ok and not any(r.dry_run for r in done)
        assert stored(raw_conn, container_name, "backup/") == read_tree(src)
        assert list(manager.check(str(src), remote)) == []

        # and back down, into a fresh folder
        down = manager.sync(remote, str(dst))
        assert down.ok and {r.reason for r in down} == {"missing"}
        assert read_tree(dst) == read_tree(src)
        again, sent = requests_during(proxy, lambda: manager.sync(remote, str(dst)))
        assert list(again) == [] and set(sent) == {("GET", listing_path)}

        raw_conn.put_object(container_name, "backup/a.txt", b"alpha")   # same size, changed
        raw_conn.put_object(container_name, "backup/added.txt", b"added")
        raw_conn.delete_object(container_name, "backup/new/n.txt")
        write_tree(dst, {"local-only.txt": b"mine"})
        expected = {("download", "a.txt", "checksum"), ("download", "added.txt", "missing"),
                    ("delete", "n.txt", "extra"), ("delete", "local-only.txt", "extra")}
        local_before = read_tree(dst)
        plan = manager.sync(remote, str(dst), delete=True, dry_run=True)
        assert changes(plan) == expected and read_tree(dst) == local_before
        done = manager.sync(remote, str(dst), delete=True)
        assert changes(done) == expected and done.ok, [str(r) for r in done]
        assert read_tree(dst) == stored(raw_conn, container_name, "backup/")
        assert list(manager.check(remote, str(dst))) == []
        assert not os.path.exists(dst / "new" / "n.txt")


def test_changed_compares_size_and_time_reading_no_file(via_proxy, proxy, raw_conn,
                                                        container_name, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    write_tree(src, {"a.txt": b"one", "b.txt": b"two"})
    remote = Remote(container_name)
    with TransferManager(via_proxy, SMALL) as manager:
        assert manager.sync(str(src), remote).ok
        assert list(manager.sync(str(src), remote, changed=True)) == []
        # a newer modification time means "changed", whatever the bytes
        future = time.time() + 60
        os.utime(src / "a.txt", (future, future))
        assert changes(manager.check(str(src), remote, changed=True)) == {
            ("upload", "a.txt", "mtime")}
        assert changes(manager.check(str(src), remote)) == set()  # same bytes
        # the same size and an old time: changed=True trusts it, MD5 does not
        write_tree(src, {"b.txt": b"TWO"})
        os.utime(src / "b.txt", (1_000_000, 1_000_000))
        assert changes(manager.check(str(src), remote, changed=True)) == {
            ("upload", "a.txt", "mtime")}
        assert changes(manager.check(str(src), remote)) == {("upload", "b.txt", "checksum")}
        assert manager.sync(str(src), remote).ok
        # downloaded files get the objects' times, yet count as unchanged afterwards
        assert manager.sync(remote, str(dst), changed=True).ok
        again, sent = requests_during(proxy, lambda: manager.sync(remote, str(dst),
                                                                  changed=True))
        assert list(again) == [] and again.unchanged == 2
        assert set(sent) == {("GET", "/v1/AUTH_test/" + container_name)}
        raw_conn.put_object(container_name, "a.txt", b"new")  # written after the download
        assert changes(manager.check(remote, str(dst), changed=True)) == {
            ("download", "a.txt", "mtime")}


@pytest.mark.parametrize("content_md5", [True, False])
def test_large_object_of_other_segment_size_compares_by_content(
        content_md5, via_proxy, proxy, raw_conn, container_name, tmp_path):
    src = tmp_path / "src"
    write_tree(src, {"big.bin": os.urandom(5 * SEG)})
    remote = Remote(container_name)
    with TransferManager(via_proxy, dataclasses.replace(SMALL, content_md5=content_md5)
                         ) as manager:
        assert manager.sync(str(src), remote).ok
    other = TransferConfig(segment_size=2 * SEG, segment_threshold=2 * SEG)
    with TransferManager(via_proxy, other) as manager:
        again, sent = requests_during(proxy, lambda: manager.sync(str(src), remote))
        assert list(again) == [] and again.unchanged == 1
        # the listing (a page and the empty page that ends it), the cluster's /info (once
        # per client: the segment size an upload would use), and one HEAD for the MD5 of
        # the content stored at upload time; without it, the manifest too, compared
        # segment by segment with the local file
        listing = ("GET", "/v1/AUTH_test/" + container_name)
        head = ("HEAD", "/v1/AUTH_test/%s/big.bin" % container_name)
        manifest = [] if content_md5 else [("GET", "/v1/AUTH_test/%s/big.bin" % container_name)]
        assert sorted(sent) == sorted([("GET", "/info"), listing, listing, head, *manifest])
        write_tree(src, {"big.bin": os.urandom(5 * SEG)})
        assert changes(manager.check(str(src), remote)) == {("upload", "big.bin", "checksum")}


def test_ignore_and_partial_files_are_left_alone_on_both_sides(client, raw_conn,
                                                               container_name, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    write_tree(src, {"keep.txt": b"k", "x.tmp": b"t", ".cache/c": b"c",
                     ".keep.txt.velocity-part": b"partial"})
    remote = Remote(container_name)
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "remote.tmp", b"r")
    raw_conn.put_object(container_name, "folder/", b"")  # a folder marker
    with TransferManager(client) as manager:
        done = manager.sync(str(src), remote, delete=True, ignore=("*.tmp", ".cache"))
        assert changes(done) == {("upload", "keep.txt", "missing")}
        names = {o["name"] for o in raw_conn.get_container(container_name)[1]}
        assert names == {"keep.txt", "remote.tmp", "folder/"}
        write_tree(dst, {"local.tmp": b"l"})
        down = manager.sync(remote, str(dst), delete=True, ignore=("*.tmp",))
        assert changes(down) == {("download", "keep.txt", "missing")}
        assert read_tree(dst) == {"keep.txt": b"k", "local.tmp": b"l"}


def test_sync_deletes_nothing_after_a_failed_listing(credentials, client, raw_conn,
                                                     container_name, tmp_path):
    dst = tmp_path / "dst"
    write_tree(dst, {"a.txt": b"a", "b.txt": b"b"})
    with TransferManager(client) as manager:
        [missing] = manager.sync(Remote(container_name + "-nope"), str(dst), delete=True)
    assert isinstance(missing.error, errors.NoSuchContainer)
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "a.txt", b"a")

    class Breaks(SwiftClient):
        def iter_container(self, *args, **kwargs):
            yield from super().iter_container(*args, **kwargs)
            raise errors.ResponseError("the second page failed", status=503)

    with Breaks(credentials) as broken, TransferManager(broken) as manager:
        results = manager.sync(Remote(container_name), str(dst), delete=True)
    assert [type(r.error) for r in results] == [errors.ResponseError]
    assert read_tree(dst) == {"a.txt": b"a", "b.txt": b"b"}


def test_sync_needs_one_local_and_one_remote_side(client, tmp_path):
    with TransferManager(client) as manager:
        with pytest.raises(errors.ConfigurationError):
            manager.sync(str(tmp_path), str(tmp_path))
        with pytest.raises(errors.ConfigurationError):
            manager.sync(Remote("a"), Remote("b"))
    assert Remote.parse("photos/2024/may") == Remote("photos", "2024/may")


def test_listing_with_short_pages_is_read_to_the_end(credentials, raw_conn, container_name,
                                                     tmp_path):
    raw_conn.put_container(container_name)
    for i in range(7):
        raw_conn.put_object(container_name, "o%d" % i, b"x")

    class ShortPages(SwiftClient):
        def call(self, operation, *args, **kwargs):
            answer = super().call(operation, *args, **kwargs)
            if operation == "get_container":
                headers, page = answer
                return headers, page[:3]  # fewer than asked, though more follow
            return answer

    with ShortPages(credentials) as short, TransferManager(short) as manager:
        results = manager.sync(Remote(container_name), str(tmp_path / "dst"))
    assert len(results) == 7
