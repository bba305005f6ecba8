"""The asyncio API (velocity.aio) against the real LocalSwift.

No pytest plugin for asyncio: each test runs its coroutine with
``asyncio.run`` (the test may; the library never does), so every call below is
awaited inside an already running loop.
"""

from __future__ import annotations

import asyncio
import collections.abc
import inspect
import os
import threading
from http.client import HTTPConnection
from urllib.parse import urlparse

import pytest

import velocity
from velocity import errors
from velocity.aio import AsyncConnection, AsyncContainer, AsyncStorageObject, ErrorEntry, Velocity
from velocity.client import SwiftClient
from velocity.progress import ProgressSubscriber


def make_velocity(swift_server, **kwargs) -> Velocity:
    return Velocity(None, swift_server.user, swift_server.key, None,
                    auth_url=swift_server.auth_url, identity="v1", **kwargs)


def write_tree(root, count: int, size: int = 1000) -> dict[str, bytes]:
    files = {}
    for i in range(count):
        rel = "dir%d/sub/file-%03d.txt" % (i % 3, i) if i % 2 else "file-%03d.txt" % i
        data = (b"%06d" % i) * (size // 6)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[rel] = data
    return files


def listing(raw_conn, container) -> dict[str, bytes]:
    _, objects = raw_conn.get_container(container, full_listing=True)
    return {o["name"]: raw_conn.get_object(container, o["name"])[1] for o in objects}


class Recorder(ProgressSubscriber):
    """Remembers on which thread each callback came, and the ticker's count then."""

    def __init__(self, ticks: list[int] | None = None) -> None:
        self.threads: set[int] = set()
        self.started = self.done = 0
        self.objects: list[object] = []
        self.bytes = 0
        self.ticks_seen: list[int] = []
        self.order: list[str] = []
        self._ticks = ticks

    def on_start(self, total_bytes, total_objects):
        self.threads.add(threading.get_ident())
        self.started += 1
        self.order.append("start")

    def on_progress(self, delta):
        self.threads.add(threading.get_ident())
        self.bytes += delta
        self.order.append("progress")

    def on_object_done(self, result):
        self.threads.add(threading.get_ident())
        self.objects.append(result)
        self.order.append("object")
        if self._ticks is not None:
            self.ticks_seen.append(self._ticks[0])

    def on_done(self):
        self.threads.add(threading.get_ident())
        self.done += 1
        self.order.append("done")


def test_exported_as_velocity_velocity():
    assert velocity.Velocity is Velocity


def test_roundtrip_in_a_running_loop_loop_stays_responsive(swift_server, raw_conn,
                                                           container_name, tmp_path,
                                                           monkeypatch):
    source = tmp_path / "source"
    files = write_tree(source, 40)
    target = tmp_path / "target"
    target.mkdir()

    # remember the thread of every request the core makes
    request_threads: list[int] = []
    real_call = SwiftClient.call

    def recording_call(self, operation, *args, **kwargs):
        request_threads.append(threading.get_ident())
        return real_call(self, operation, *args, **kwargs)

    monkeypatch.setattr(SwiftClient, "call", recording_call)

    async def main():
        loop_thread = threading.get_ident()
        ticks = [0]
        stop = asyncio.Event()

        async def ticker():
            while not stop.is_set():
                ticks[0] += 1
                await asyncio.sleep(0.001)

        ticking = asyncio.create_task(ticker())
        recorder = Recorder(ticks)
        async with make_velocity(swift_server) as v:
            await v.authenticate_async()
            await v.create_container_async(container_name)
            before = ticks[0]
            up = await v.process(container_name, "upload", source, subscribers=recorder)
            during_upload = ticks[0] - before
            head = await v.process(container_name, "HEAD", str(source))
            down = await v.process(container_name, "Download", str(target))
            stored = listing(raw_conn, container_name)
            gone = await v.process(container_name, "DELETE", str(source))
            errors_seen = list(v.errors)
        stop.set()
        await ticking
        return loop_thread, up, head, down, stored, gone, errors_seen, recorder, during_upload

    (loop_thread, up, head, down, stored, gone, errors_seen, recorder,
     during_upload) = asyncio.run(main())

    assert errors_seen == []
    assert stored == files
    assert sorted(r.name for r in up) == sorted(files) and all(r.ok for r in up)
    assert sorted(r.name for r in head) == sorted(files) and all(r.ok for r in head)
    assert sorted(r.name for r in down) == sorted(files) and all(r.ok for r in down)
    for rel, data in files.items():
        assert (target / rel).read_bytes() == data
    assert all(r.ok for r in gone) and listing(raw_conn, container_name) == {}

    # progress: delivered, complete, and on the loop's thread only
    assert recorder.started == 1 and recorder.done == 1
    assert recorder.order[0] == "start" and recorder.order[-1] == "done"
    assert len(recorder.objects) == len(files)
    assert recorder.bytes == sum(map(len, files.values()))
    assert recorder.threads == {loop_thread}
    # no request ever ran on the event loop's thread
    assert request_threads and loop_thread not in request_threads
    # the ticker kept ticking while 40 files went up: the loop was never blocked
    # for the whole upload, and it ran between objects finishing
    assert during_upload >= 5
    assert len(set(recorder.ticks_seen)) > 1


def test_synchronous_apis_work_inside_a_running_loop(swift_server, raw_conn, container_name,
                                                     tmp_path):
    """What a Jupyter cell does: plain calls while a loop runs on this thread."""
    from velocity.connection import Connection
    from velocity.transfer import TransferManager

    files = write_tree(tmp_path / "up", 5)

    async def cell():
        assert asyncio.get_running_loop().is_running()
        conn = Connection(swift_server.user, swift_server.key, authurl=swift_server.auth_url)
        container = conn.create_container(container_name)
        container.create_object("note.txt").write(b"from a cell")
        with TransferManager(conn) as manager:
            up = manager.upload(container_name, [str(tmp_path / "up")])
            down = manager.download(container_name, out_dir=str(tmp_path / "down"))
        v = make_velocity(swift_server)
        v.authenticate()
        v.create_container(container_name)
        return up, down, container.list_objects()

    up, down, names = asyncio.run(cell())
    assert all(r.ok for r in up + down) and len(down) == 6
    assert sorted(names) == sorted([*files, "note.txt"])
    assert (tmp_path / "down" / "note.txt").read_bytes() == b"from a cell"


def test_failed_items_are_collected_and_the_run_goes_on(swift_server, raw_conn,
                                                        container_name, tmp_path):
    source = tmp_path / "source"
    files = write_tree(source, 6)
    # an object name longer than Swift's 1024-byte limit: this item must fail
    deep = source.joinpath(*(["d" * 200] * 6 + ["too-long.txt"]))
    deep.parent.mkdir(parents=True)
    deep.write_bytes(b"x")
    too_long = os.path.relpath(deep, source).replace(os.sep, "/")
    assert len(too_long) > 1024

    async def main():
        v = make_velocity(swift_server)
        try:
            results = await v.process(container_name, "UPLOAD", str(source))
            # HEAD a folder holding one file that is not in the container
            (source / "not-uploaded.txt").write_bytes(b"new")
            heads = await v.process(container_name, "HEAD", str(source))
            return results, heads, list(v.errors)
        finally:
            await v.close_session()

    results, heads, entries = asyncio.run(main())
    assert listing(raw_conn, container_name) == files  # every other file went up
    failed = [r for r in results if not r.ok]
    assert [r.name for r in failed] == [too_long]
    assert isinstance(failed[0].error, errors.VelocityError)

    head_failed = {r.name for r in heads if not r.ok}
    assert head_failed == {too_long, "not-uploaded.txt"}
    assert len(entries) == 3
    assert all(isinstance(e, ErrorEntry) for e in entries)
    assert [e.action for e in entries] == ["UPLOAD", "HEAD", "HEAD"]
    assert entries[0].name == too_long and too_long in str(entries[0])
    missing = next(e for e in entries if e.name == "not-uploaded.txt")
    assert isinstance(missing.error, errors.NoSuchObject)
    assert "not-uploaded.txt" in str(missing) and container_name in str(missing)


def put_raw(raw_conn, container, name, data):
    """PUT with http.client: swiftclient's HTTP stack would resolve the ``..``."""
    url, token = raw_conn.get_auth()
    parts = urlparse(url)
    http = HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        http.request("PUT", "%s/%s/%s" % (parts.path, container, name), body=data,
                     headers={"X-Auth-Token": token})
        assert http.getresponse().status == 201
    finally:
        http.close()


def test_download_refuses_unsafe_names_and_goes_on(swift_server, raw_conn, container_name,
                                                   tmp_path):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "fine/a.txt", b"a")
    put_raw(raw_conn, container_name, "../escape.txt", b"evil")
    raw_conn.put_object(container_name, "z.txt", b"z")
    target = tmp_path / "inside" / "target"
    target.mkdir(parents=True)

    async def main():
        async with make_velocity(swift_server) as v:
            results = await v.process(container_name, "DOWNLOAD", str(target))
            return results, list(v.errors)

    results, entries = asyncio.run(main())
    assert (target / "fine" / "a.txt").read_bytes() == b"a"
    assert (target / "z.txt").read_bytes() == b"z"
    assert not (tmp_path / "inside" / "escape.txt").exists()
    assert [e.name for e in entries] == ["../escape.txt"]
    assert isinstance(entries[0].error, errors.UnsafePath)
    assert sum(r.ok for r in results) == 2


@pytest.mark.parametrize("action", ["UPLOAD", "HEAD", "DELETE"])
def test_missing_location_is_a_clear_error(swift_server, container_name, tmp_path, action):
    missing = str(tmp_path / "nowhere")

    async def main():
        async with make_velocity(swift_server) as v:
            with pytest.raises(errors.VelocityError, match="does not exist") as caught:
                await v.process(container_name, action, missing)
            return caught.value, list(v.errors)

    error, entries = asyncio.run(main())
    assert missing in str(error)
    assert len(entries) == 1 and entries[0].error is error and missing in str(entries[0])


def test_download_into_a_file_is_refused(swift_server, container_name, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_bytes(b"x")

    async def main():
        async with make_velocity(swift_server) as v:
            with pytest.raises(errors.ConfigurationError, match="not a folder"):
                await v.process(container_name, "DOWNLOAD", str(a_file))

    asyncio.run(main())


def test_unknown_action_is_a_clear_error(swift_server, container_name, tmp_path):
    async def main():
        async with make_velocity(swift_server) as v:
            with pytest.raises(errors.ConfigurationError, match="unknown action 'COPY'"):
                await v.process(container_name, "COPY", str(tmp_path))
            with pytest.raises(errors.InvalidContainerName):
                await v.process("a/b", "UPLOAD", str(tmp_path))
            return list(v.errors)

    entries = asyncio.run(main())
    assert len(entries) == 2 and "HEAD, DELETE, UPLOAD, DOWNLOAD" in str(entries[0])


def test_download_of_a_missing_container(swift_server, container_name, tmp_path):
    async def main():
        async with make_velocity(swift_server) as v:
            try:
                await v.process(container_name, "DOWNLOAD", str(tmp_path))
            except errors.VelocityError as error:
                return error, list(v.errors)
            return None, list(v.errors)

    error, entries = asyncio.run(main())
    assert entries, "a missing container must not be a silent no-op"
    assert container_name in str(entries[0])
    if error is not None:
        assert isinstance(error, errors.NoSuchContainer)


def test_loop_argument_is_optional_and_never_used(swift_server, container_name, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"a")
    other_loop = asyncio.new_event_loop()  # never run
    try:
        v = Velocity(other_loop, swift_server.user, swift_server.key,
                     auth_url=swift_server.auth_url, identity="v1")
        v.authenticate()
        v.create_container(container_name)

        async def main():
            results = await v.process(container_name, "UPLOAD", str(tmp_path))
            await v.close_session()
            return results

        assert [r.ok for r in asyncio.run(main())] == [True]
        assert v.loop is other_loop and not other_loop.is_running()
    finally:
        other_loop.close()
    with pytest.raises(errors.ConfigurationError, match="loop must be an asyncio event loop"):
        Velocity("user", "key", "region")  # the seed's order is loop, username, key, region


def test_identity_choices(monkeypatch):
    from velocity.auth import RACKSPACE_AUTH_URL, Credentials

    v = Velocity(None, "user", "key", "ORD")
    assert v.credentials.kind == "rackspace"
    assert v.credentials.auth_url == RACKSPACE_AUTH_URL
    assert v.credentials.region == "ORD" and v.credentials.interface == "public"
    assert Velocity(None, "user", "key", "ORD", internal=True).credentials.interface == (
        "internal")
    assert Velocity(None, "u", "k", auth_url="http://x/auth/v1.0",
                    identity="v1").credentials.kind == "v1"
    monkeypatch.setenv("OS_PROJECT_NAME", "proj")
    assert Velocity(None, "u", "k", auth_url="http://x/v3",
                    identity="password").credentials.kind == "password"
    creds = Credentials.v1("http://x/auth/v1.0", "u", "k")
    assert Velocity(identity=creds).credentials is creds
    env = Velocity(identity="env", env={"ST_AUTH": "http://x/auth/v1.0", "ST_USER": "u",
                                        "ST_KEY": "k"})
    assert env.credentials.kind == "v1" and env.credentials.username == "u"
    with pytest.raises(errors.ConfigurationError, match="unknown identity 'kerberos'"):
        Velocity(None, "u", "k", identity="kerberos")
    with pytest.raises(errors.ConfigurationError, match="key"):
        Velocity(None, "u", None, auth_url="http://x/auth/v1.0", identity="v1")
    with pytest.raises(errors.ConfigurationError, match="max_workers"):
        Velocity(None, "u", "k", max_workers=0)
    assert "secret-key" not in repr(Velocity(None, "u", "secret-key"))


def test_wrong_key_is_recorded(swift_server):
    v = Velocity(None, swift_server.user, "wrong", auth_url=swift_server.auth_url,
                 identity="v1")
    with pytest.raises(errors.AuthenticationFailed):
        v.authenticate()
    assert len(v.errors) == 1 and "wrong" not in str(v.errors[0])
    assert str(v.errors[0]).startswith("AUTHENTICATE failed")


def test_cancelling_process_stops_the_transfer(swift_server, raw_conn, container_name,
                                               tmp_path):
    source = tmp_path / "source"
    write_tree(source, 150, size=100)

    async def main():
        v = make_velocity(swift_server)
        task = None

        class CancelOnFirst(ProgressSubscriber):
            def on_object_done(self, result):  # on the loop's thread
                task.cancel()

        task = asyncio.create_task(v.process(container_name, "UPLOAD", str(source),
                                             subscribers=CancelOnFirst()))
        with pytest.raises(asyncio.CancelledError):
            await task
        # not close_session (it would cancel too): wait for the worker to let go
        for _ in range(6000):
            if not v._pool.transfers:
                break
            await asyncio.sleep(0.01)
        left_running = len(v._pool.transfers)
        await v.close_session()
        return left_running, v

    left_running, v = asyncio.run(main())
    assert left_running == 0
    _, objects = raw_conn.get_container(container_name)
    assert 1 <= len(objects) < 150  # stopped part-way; what was sent is whole
    assert v.errors == []  # a cancelled run raises CancelledError, it is not an error


def test_close_session_and_reuse(swift_server, container_name, tmp_path):
    (tmp_path / "one.txt").write_bytes(b"1")

    async def main():
        v = make_velocity(swift_server)
        async with v:
            first = await v.process(container_name, "UPLOAD", str(tmp_path))
        # closed: the next call opens what it needs again
        second = await v.process(container_name, "HEAD", str(tmp_path))
        await v.close_session()
        await v.close_session()  # twice is harmless
        return first, second

    first, second = asyncio.run(main())
    assert [r.ok for r in first] == [True] and [r.ok for r in second] == [True]


def test_async_object_model_and_async_for(swift_server, raw_conn, container_name):
    async def main():
        v = make_velocity(swift_server)
        conn = await v.connection()
        assert isinstance(conn, AsyncConnection) and conn.client is v.client
        container = await conn.create_container(container_name)
        assert isinstance(container, AsyncContainer) and container.name == container_name
        for i in range(7):
            obj = await container.create_object("obj-%d.txt" % i)
            assert isinstance(obj, AsyncStorageObject)
            await obj.write(b"payload %d" % i)
        fetched = await container.get_object("obj-3.txt")
        data = await fetched.read()
        chunks = [chunk async for chunk in fetched.stream(4)]
        names = [entry["name"] async for entry in container.iter_objects(page_size=2)]
        limited = [e["name"] async for e in container.iter_objects(limit=3, page_size=2)]
        prefixed = [e["name"] async for e in container.iter_objects(prefix="obj-6")]
        listed = await container.list_objects()
        containers = [e["name"] async for e in conn.iter_containers(page_size=1)]
        count, used = await conn.get_info()
        await container.refresh()
        object_count = container.object_count
        with pytest.raises(errors.NoSuchObject):
            await container.get_object("missing")
        await container.delete_object("obj-0.txt")
        with pytest.raises(errors.ContainerNotEmpty):
            await conn.delete_container(container_name)
        await conn.close()
        await v.close_session()
        return (data, chunks, names, limited, prefixed, listed, containers, count,
                object_count)

    (data, chunks, names, limited, prefixed, listed, containers, count,
     object_count) = asyncio.run(main())
    assert data == b"payload 3" and b"".join(chunks) == b"payload 3"
    expected = ["obj-%d.txt" % i for i in range(7)]
    assert names == expected and list(listed) == expected
    assert limited == expected[:3] and prefixed == ["obj-6.txt"]
    assert container_name in containers and count >= 1
    assert object_count == 7
    _, objects = raw_conn.get_container(container_name)
    assert [o["name"] for o in objects] == expected[1:]


def test_async_container_transfers_report_on_the_loop_thread(swift_server, raw_conn,
                                                             container_name, tmp_path):
    files = write_tree(tmp_path / "up", 9)

    async def main():
        loop_thread = threading.get_ident()
        async with make_velocity(swift_server) as v:
            container = await (await v.connection()).create_container(container_name)
            recorder = Recorder()
            up = await container.upload(tmp_path / "up", subscribers=[recorder])
            down = await container.download(tmp_path / "down", prefix="dir1/")
        return loop_thread, recorder, up, down

    loop_thread, recorder, up, down = asyncio.run(main())
    assert listing(raw_conn, container_name) == files
    assert len(up) == 9 and all(r.ok for r in up)
    assert recorder.threads == {loop_thread} and len(recorder.objects) == 9
    expected = sorted(name for name in files if name.startswith("dir1/"))
    assert sorted(r.name for r in down) == expected and all(r.ok for r in down)
    for name in expected:
        assert (tmp_path / "down" / name).read_bytes() == files[name]


def test_async_connection_from_connection_arguments(swift_server, container_name):
    async def main():
        async with await AsyncConnection.open(swift_server.user, swift_server.key,
                                              authurl=swift_server.auth_url) as conn:
            container = await conn.create_container(container_name)
            obj = await container.create_object("x")
            await obj.write("text")
            return await (await container.get_object("x")).read()

    assert asyncio.run(main()) == b"text"


# -- the seed's identity options against a played Rackspace identity service --------
# (``responses`` plays the identity service: no local server can; the storage
# requests after login are not needed to see which endpoint was chosen)

CATALOG_ANSWER = {
    "access": {
        "token": {"id": "tok-123", "expires": "2099-01-01T00:00:00Z",
                  "tenant": {"id": "1234", "name": "1234"}},
        "user": {"id": "u1", "name": "user", "RAX-AUTH:defaultRegion": "DFW"},
        "serviceCatalog": [{
            "name": "cloudFiles", "type": "object-store",
            "endpoints": [
                {"region": region, "tenantId": "MossoCloudFS_1234",
                 "publicURL": "https://storage.%s.example.com/v1/MossoCloudFS_1234" % tag,
                 "internalURL": "https://snet-storage.%s.example.com/v1/MossoCloudFS_1234"
                 % tag}
                for region, tag in (("DFW", "dfw"), ("ORD", "ord"))],
        }],
    },
}


def test_rackspace_identity_region_and_internal():
    import json

    import responses

    from velocity.auth import RACKSPACE_AUTH_URL

    with responses.RequestsMock() as played:
        played.add(responses.POST, RACKSPACE_AUTH_URL + "/tokens", json=CATALOG_ANSWER)
        v = Velocity(None, "user", "the-api-key", "ORD", internal=True)
        v.authenticate()
        assert v.client.storage_url == (
            "https://snet-storage.ord.example.com/v1/MossoCloudFS_1234")
        body = json.loads(played.calls[0].request.body)
    assert body == {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "user",
                                                             "apiKey": "the-api-key"}}}
    assert "the-api-key" not in repr(v) and not v.errors


def test_callable_identity_makes_the_payload():
    import json

    import responses
    seen = []

    def payload(username, key):
        seen.append((username, key))
        return {"myCompany:tokenCredentials": {"login": username, "secret": key}}

    with responses.RequestsMock() as played:
        played.add(responses.POST, "https://id.example.com/v2.0/tokens", json=CATALOG_ANSWER)
        v = Velocity(None, "me", "s3cret", "DFW", auth_url="https://id.example.com/v2.0",
                     identity=payload)
        v.authenticate()
        assert v.client.storage_url == "https://storage.dfw.example.com/v1/MossoCloudFS_1234"
        body = json.loads(played.calls[0].request.body)
    assert seen == [("me", "s3cret")]
    assert body == {"auth": {"myCompany:tokenCredentials": {"login": "me",
                                                            "secret": "s3cret"}}}


def test_region_missing_from_the_catalog_is_recorded():
    import responses

    from velocity.auth import RACKSPACE_AUTH_URL

    with responses.RequestsMock() as played:
        played.add(responses.POST, RACKSPACE_AUTH_URL + "/tokens", json=CATALOG_ANSWER)
        v = Velocity(None, "user", "key", "SYD")
        with pytest.raises(errors.VelocityError) as caught:
            v.authenticate()
    assert "SYD" in str(caught.value)
    assert len(v.errors) == 1 and "SYD" in str(v.errors[0])


def test_download_makes_a_missing_folder_like_every_face(swift_server, container_name,
                                                         tmp_path):
    files = write_tree(tmp_path / "src", 5)
    target = tmp_path / "not" / "yet" / "there"

    async def main():
        async with make_velocity(swift_server) as v:
            v.create_container(container_name)
            await v.process(container_name, "UPLOAD", str(tmp_path / "src"))
            results = await v.process(container_name, "DOWNLOAD", str(target))
            return results, list(v.errors)

    results, entries = asyncio.run(main())
    assert entries == [] and len(results) == len(files) and all(r.ok for r in results)
    assert {str(p.relative_to(target)): p.read_bytes() for p in target.rglob("*")
            if p.is_file()} == files


def test_head_reports_progress_like_every_action(swift_server, container_name, tmp_path):
    files = write_tree(tmp_path / "src", 4)
    recorder = Recorder()

    async def main():
        async with make_velocity(swift_server) as v:
            v.create_container(container_name)
            await v.process(container_name, "UPLOAD", str(tmp_path / "src"))
            return await v.process(container_name, "HEAD", str(tmp_path / "src"),
                                   subscribers=[recorder])

    results = asyncio.run(main())
    assert all(r.ok for r in results) and len(results) == len(files)
    assert recorder.started == 1 and recorder.done == 1
    assert sorted(r.name for r in recorder.objects) == sorted(files)


# -- the async object model is generated from the synchronous one ---------------------

def _mirrored_pairs():
    from velocity.aio import AsyncContainerResults, AsyncObjectResults
    from velocity.connection import Connection
    from velocity.container import Container, ContainerResults
    from velocity.storage_object import ObjectResults, StorageObject

    # (sync class, async twin, properties that do no I/O and stay plain reads)
    io = [(Connection, AsyncConnection, set()),
          (Container, AsyncContainer, {"name"}),
          (StorageObject, AsyncStorageObject, {"name", "etag", "objsum"})]
    results = [(ObjectResults, AsyncObjectResults), (ContainerResults, AsyncContainerResults)]
    return io, results


def _public(cls):
    return {name: inspect.getattr_static(cls, name) for name in dir(cls)
            if not name.startswith("_")}


def test_every_sync_method_has_an_async_twin_with_the_same_signature():
    io, results = _mirrored_pairs()
    for sync_class, twin_class, plain in io:
        members = _public(sync_class)
        assert members, sync_class
        for name, member in members.items():
            assert hasattr(twin_class, name), "%s.%s" % (twin_class.__name__, name)
            twin_member = inspect.getattr_static(twin_class, name)
            if isinstance(member, property):
                # a plain read where it does no I/O, an awaitable attribute otherwise
                assert isinstance(twin_member, property) == (name in plain), name
                continue
            if not callable(getattr(sync_class, name)):
                continue  # a class attribute (a default), read through
            where = "%s.%s" % (twin_class.__name__, name)
            assert inspect.signature(getattr(twin_class, name)) == inspect.signature(
                getattr(sync_class, name)), where
            func = getattr(twin_class, name)
            func = getattr(func, "__func__", func)
            original = getattr(member, "__func__", member)
            assert func.__wrapped__ is original, where
            assert (func.__doc__ or "").split("\n")[0] == (
                original.__doc__ or "").split("\n")[0], where
            if name == "stream":  # an async iterator, not a coroutine
                assert not inspect.iscoroutinefunction(func)
            else:
                assert inspect.iscoroutinefunction(func), where
        # the protocols that need an await have their async form
        if hasattr(sync_class, "__iter__"):
            assert hasattr(twin_class, "__aiter__")
        if hasattr(sync_class, "__enter__"):
            assert hasattr(twin_class, "__aenter__") and hasattr(twin_class, "__aexit__")
    for sync_class, twin_class in results:
        assert issubclass(twin_class, collections.abc.Sequence)
        for name, member in _public(sync_class).items():
            assert hasattr(twin_class, name), name
            if inspect.isfunction(member):  # in memory: plain calls, not coroutines
                func = getattr(twin_class, name)
                assert inspect.signature(func) == inspect.signature(member)
                assert not inspect.iscoroutinefunction(func)


def test_generated_methods_are_not_written_by_hand():
    io, _ = _mirrored_pairs()
    written_by_hand = {"close", "stream"}
    generated = 0
    for sync_class, twin_class, _ in io:
        for name, member in _public(sync_class).items():
            if inspect.isfunction(member) and name not in written_by_hand:
                func = twin_class.__dict__[name]
                assert func.__code__ is AsyncContainer.get_objects.__code__, name
                generated += 1
    assert generated >= 30


def test_listing_results_have_the_same_type_and_behaviour_on_both_faces(
        swift_server, container_name):
    from velocity.aio import AsyncContainerResults, AsyncObjectResults
    from velocity.container import ContainerResults
    from velocity.storage_object import ObjectResults

    async def main():
        async with make_velocity(swift_server) as v:
            conn = await v.connection()
            container = await conn.create_container(container_name)
            for i in range(5):
                await (await container.create_object("obj-%d" % i)).write(b"x" * i)
            sync_results = container.sync.get_objects()
            results = await container.get_objects()
            prefixed = await container.get_objects(prefix="obj-3")
            containers = await conn.get_all_containers(prefix=container_name)
            sync_containers = conn.sync.get_all_containers(prefix=container_name)
            names = await container.list_objects()
            infos = await conn.list_containers_info(prefix=container_name)
            return (conn, container, sync_results, results, prefixed, containers,
                    sync_containers, names, infos)

    (conn, container, sync_results, results, prefixed, containers, sync_containers, names,
     infos) = asyncio.run(main())
    assert isinstance(sync_results, ObjectResults)
    assert isinstance(results, AsyncObjectResults)
    assert isinstance(results, collections.abc.Sequence)
    assert len(results) == len(sync_results) == 5
    assert results.names == sync_results.names == ["obj-%d" % i for i in range(5)]
    first, last = results[0], results[-1]
    assert isinstance(first, AsyncStorageObject) and first.name == sync_results[0].name
    assert last.name == "obj-4" and last.size == 4 and first.container is container
    part = results[1:3]
    assert isinstance(part, AsyncObjectResults) and part.names == sync_results[1:3].names
    assert [o.name for o in results] == [o.name for o in sync_results]
    assert all(isinstance(o, AsyncStorageObject) for o in results)
    assert "obj-2" in results and "nope" not in results and first in results
    assert results.index("obj-3") == sync_results.index("obj-3") == 3
    assert results.count(last) == 1 and results.count(sync_results[-1]) == 1
    assert list(reversed(results))[0].name == "obj-4"
    assert repr(results) == "Async" + repr(sync_results)
    assert prefixed.names == ["obj-3"]
    assert isinstance(sync_containers, ContainerResults)
    assert isinstance(containers, AsyncContainerResults)
    assert containers.names == sync_containers.names == [container_name]
    assert isinstance(containers[0], AsyncContainer) and containers[0].conn is conn
    # counts from the listing, no extra request (Swift updates them lazily)
    assert containers[0].object_count == sync_containers[0].object_count
    assert container_name in containers and containers[0] in containers
    assert isinstance(containers[:1], AsyncContainerResults)
    # the other listings are lists of names or dicts on both faces
    assert names == ["obj-%d" % i for i in range(5)] and type(names) is list
    assert [i["name"] for i in infos] == [container_name] and type(infos) is list


def test_attributes_protocols_and_callbacks_of_the_twins(swift_server, container_name):
    async def main():
        loop_thread = threading.get_ident()
        async with make_velocity(swift_server) as v:
            conn = await v.connection()
            sync = conn.sync
            # properties that may log in or ask the CDN are awaited, under the same name
            cdn = (await conn.cdn_url, await conn.cdn_enabled, sync.cdn_url)
            urls = (await conn.storage_url, sync.storage_url)
            assert "awaitable" in repr(conn.cdn_url)
            container = await conn.create_container(container_name)
            assert container.conn is conn and container.connection is conn
            assert await container.cdn_uri is None
            obj = await container.create_object("thing.txt")
            seen = []
            await obj.write(b"some bytes", callback=lambda done, total: seen.append(
                (threading.get_ident(), done, total)))
            obj.metadata = {"colour": "blue"}  # plain attributes are written through
            assert obj.sync.metadata == {"colour": "blue"}
            await obj.sync_metadata()
            fetched = await container["thing.txt"]  # obj[key] is awaited
            again = await conn[container_name]
            listed = [o async for o in container]  # for ... in becomes async for
            every = [c.name async for c in conn]
            with pytest.raises(errors.NoSuchObject):
                await container["missing"]
            assert await container.refresh() is container
            return (loop_thread, cdn, urls, seen, fetched, again, listed, every, container)

    (loop_thread, cdn, urls, seen, fetched, again, listed, every,
     container) = asyncio.run(main())
    assert cdn == (None, False, None)
    assert urls[0] == urls[1]
    assert seen and {thread for thread, _, _ in seen} == {loop_thread}
    assert seen[-1][1:] == (10, 10)
    assert isinstance(fetched, AsyncStorageObject) and fetched.metadata == {"colour": "blue"}
    assert fetched.size == 10 and fetched.etag == fetched.sync.etag
    assert isinstance(again, AsyncContainer) and again == container
    assert [o.name for o in listed] == ["thing.txt"]
    assert all(isinstance(o, AsyncStorageObject) for o in listed)
    assert container_name in every


def test_closing_is_close_everywhere(swift_server, container_name, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"a")
    env = {"ST_AUTH": swift_server.auth_url, "ST_USER": swift_server.user,
           "ST_KEY": swift_server.key}

    async def main():
        v = make_velocity(swift_server)
        await v.process(container_name, "UPLOAD", str(tmp_path))
        await v.close()
        await v.close_session()  # the same, under its original name
        heads = await v.process(container_name, "HEAD", str(tmp_path))  # usable again
        await v.close()
        conn = await AsyncConnection.from_env(env)  # a class method, mirrored
        assert isinstance(conn, AsyncConnection) and conn._owns_pool
        async with conn:
            container = await conn.get_container(container_name)
        await conn.close()  # twice is harmless
        assert conn._pool._executor is None  # its own pool is shut down
        count = (await container.refresh()).object_count  # and made again on use
        await conn.close()
        return heads, count

    heads, count = asyncio.run(main())
    assert [r.ok for r in heads] == [True] and count == 1
    for twin_class in (Velocity, AsyncConnection):
        assert inspect.iscoroutinefunction(twin_class.close)
        assert not hasattr(twin_class, "aclose")


def test_closing_a_connection_cancels_its_transfers(swift_server, raw_conn, container_name,
                                                    tmp_path):
    write_tree(tmp_path / "up", 150, size=100)

    async def main():
        v = make_velocity(swift_server)
        conn = await v.connection()
        container = await conn.create_container(container_name)
        started = asyncio.Event()

        class Started(ProgressSubscriber):
            def on_object_done(self, result):
                started.set()

        task = asyncio.create_task(container.upload(tmp_path / "up", subscribers=Started()))
        await started.wait()
        await conn.close()  # cancels the upload and waits for it
        results = await task
        left = len(conn._transfers)
        await v.close()
        return results, left

    results, left = asyncio.run(main())
    assert left == 0 and len(results) == 150
    assert any(isinstance(r.error, errors.TransferCancelled) for r in results)
    _, objects = raw_conn.get_container(container_name)
    assert 1 <= len(objects) < 150


def test_stream_stops_early_and_class_methods_run_in_a_pool(swift_server, container_name,
                                                            tmp_path):
    (tmp_path / "abc").write_bytes(b"abc")

    async def main():
        async with make_velocity(swift_server) as v:
            container = await (await v.connection()).create_container(container_name)
            obj = await container.create_object("big")
            await obj.write(b"x" * 100000)
            chunks = obj.stream(1000)
            first = await chunks.__anext__()
            await chunks.aclose()  # stops early: the response is closed in the pool
            again = b"".join([chunk async for chunk in obj.stream()])
            with pytest.raises(errors.NoSuchObject):
                async for _ in (await container.create_object("missing")).stream():
                    pass
            with open(tmp_path / "abc", "rb") as handle:
                digest = await AsyncStorageObject.compute_md5sum(handle)
            return first, again, digest

    first, again, digest = asyncio.run(main())
    assert first == b"x" * 1000 and again == b"x" * 100000
    assert digest == "900150983cd24fb0d6963f7d28e17f72"
