"""velocity.Downloader: CloudEvents in, verified files out, against a real Swift."""

from __future__ import annotations

import copy
import hashlib
import json
import os

import pytest

from velocity.errors import (
    ChecksumMismatch,
    IncompleteSend,
    InvalidEvent,
    UnsafePath,
    VelocityError,
)
from velocity.events import Downloader, parse_event

DATA = os.path.join(os.path.dirname(__file__), "data", "events")


def _example(name: str) -> dict:
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return json.load(handle)


def _content(record: dict) -> bytes:
    return ("%s/%s\n" % (record.get("subdir"), record["name"])).encode() * 7


def _files(root) -> list[str]:
    """Every file under ``root``, relative, ``/``-separated."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return sorted(found)


def _stage(raw_conn, container: str, event: dict, key=lambda r: "%s/%s" % (
        r["subdir"].strip("/"), r["name"])) -> dict:
    """Upload content for every Files record and write its size and sha1 into a copy."""
    event = copy.deepcopy(event)
    raw_conn.put_container(container)
    for record in event["data"]:
        if record.get("destinationTable") == "Files":
            body = _content(record)
            raw_conn.put_object(container, key(record), body)
            record["size"] = len(body)
            record["hashsum"], record["hashtype"] = hashlib.sha1(body).hexdigest(), "sha1"
    return event


@pytest.fixture
def downloader(tmp_path, client, container_name):
    with Downloader(tmp_path / "down", client, container=container_name) as down:
        yield down


@pytest.mark.parametrize("form", ["dict", "text", "bytes"])
def test_pacifica_downloader_example_downloads_every_file(raw_conn, container_name,
                                                          downloader, form):
    event = _stage(raw_conn, container_name, _example("pacifica_downloader_stub.json"))
    given = {"dict": event, "text": json.dumps(event),
             "bytes": json.dumps(event).encode()}[form]
    results = downloader.cloudevent(given)
    assert len(results) == 10 and all(r.ok for r in results)
    location = downloader.location
    assert _files(location) == sorted("subdir_%d/file.%d.txt" % (i, i)
                                      for i in range(1100, 1110))
    for record, result in zip(event["data"], results):
        path = os.path.join(location, record["subdir"], record["name"])
        assert result.path == path
        with open(path, "rb") as handle:
            assert handle.read() == _content(record)


def test_notifications_example_with_matching_content(raw_conn, container_name, downloader):
    event = _stage(raw_conn, container_name, _example("pacifica_notifications_files.json"))
    results = downloader.cloudevent(event)
    xls = "\u30d1\u30bd\u30b3\u30f3\u8cc7\u7523\u7ba1\u7406\u53f0\u5e33\uff08S&T HK\uff09" \
          "_\u73fe\u5730\u8abf\u9054PC.xls"
    assert [r.ok for r in results] == [True, True, True]
    assert _files(downloader.location) == sorted(["a/b/foo.txt", "a/b/bar.txt",
                                                  "data/a/c/" + xls])


def test_notifications_example_verbatim_refuses_files_of_the_wrong_size(
        raw_conn, container_name, downloader):
    """The example's three files all hash to sha1("foo\\n"), but only the last
    one claims its 4 bytes: the other two must fail and be left out."""
    event = _example("pacifica_notifications_files.json")
    raw_conn.put_container(container_name)
    for record in event["data"]:
        if record.get("destinationTable") == "Files":
            raw_conn.put_object(container_name, "%s/%s" % (record["subdir"].strip("/"),
                                                           record["name"]), b"foo\n")
    with pytest.raises(IncompleteSend) as caught:
        downloader.cloudevent(event)
    message = str(caught.value)
    assert "a/b/foo.txt" in message and "a/b/bar.txt" in message and ".xls" not in message
    assert [r.ok for r in caught.value.results] == [False, False, True]
    assert [f for f in _files(downloader.location)] == [
        "data/a/c/" + event["data"][-1]["name"]]
    assert os.listdir(downloader.location) == ["data"]  # no temp folder left behind


@pytest.mark.parametrize("hashtype", ["md5", "sha1", "sha256", "SHA-256"])
def test_hash_types_are_verified(raw_conn, container_name, downloader, hashtype):
    body = b"verified content\n" * 100
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "d/f.bin", body)
    algorithm = hashtype.lower().replace("-", "")
    event = {"cloudEventsVersion": "0.1", "eventType": "org.pacifica.metadata.ingest",
             "data": [{"destinationTable": "Files", "subdir": "d", "name": "f.bin",
                       "size": len(body), "hashtype": hashtype,
                       "hashsum": hashlib.new(algorithm, body).hexdigest()}]}
    [result] = downloader.cloudevent(event)
    assert result.ok and result.bytes == len(body)
    with open(os.path.join(downloader.location, "d", "f.bin"), "rb") as handle:
        assert handle.read() == body

    event["data"][0]["hashsum"] = hashlib.new(algorithm, b"other").hexdigest()
    os.remove(result.path)
    with pytest.raises(ChecksumMismatch, match="d/f.bin"):
        downloader.cloudevent(event)
    assert _files(downloader.location) == []


def test_a_file_that_fails_does_not_replace_an_existing_one(raw_conn, container_name,
                                                            downloader):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "x.txt", b"new but corrupt")
    os.makedirs(downloader.location)
    with open(os.path.join(downloader.location, "x.txt"), "wb") as handle:
        handle.write(b"old")
    event = {"specversion": "1.0", "type": "t", "source": "s", "id": "1",
             "data": {"objects": [{"name": "x.txt", "bytes": 15, "hash": "0" * 32}]}}
    with pytest.raises(ChecksumMismatch, match="x.txt"):
        downloader.cloudevent(event)
    with open(os.path.join(downloader.location, "x.txt"), "rb") as handle:
        assert handle.read() == b"old"


def test_unknown_hashtype_is_refused_before_anything_is_written(downloader):
    event = {"data": [{"destinationTable": "Files", "subdir": "a", "name": "b",
                       "hashtype": "crc32", "hashsum": "abcd"}]}
    with pytest.raises(VelocityError, match="crc32"):
        downloader.cloudevent(event)
    assert not os.path.exists(downloader.location)


@pytest.mark.parametrize("subdir,name", [
    ("../outside", "f.txt"), ("a/../../outside", "f.txt"), ("/etc", "passwd"),
    ("ok", "../../f.txt"), ("ok", "f\x00.txt"), ("C:\\Windows", "f.txt"),
])
def test_a_record_escaping_the_location_is_refused(tmp_path, client, container_name,
                                                   subdir, name):
    location = tmp_path / "inside" / "down"
    event = {"data": [
        {"destinationTable": "Files", "subdir": "fine", "name": "first.txt"},
        {"destinationTable": "Files", "subdir": subdir, "name": name}]}
    with Downloader(location, client, container=container_name) as down:
        with pytest.raises(UnsafePath):
            down.cloudevent(event)
    assert _files(tmp_path) == []


def test_a_symlink_inside_the_location_cannot_lead_out(tmp_path, raw_conn, client,
                                                       container_name):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "link/f.txt", b"x")
    (tmp_path / "outside").mkdir()
    (tmp_path / "down").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "down" / "link")
    event = {"data": [{"destinationTable": "Files", "subdir": "link", "name": "f.txt"}]}
    with Downloader(tmp_path / "down", client, container=container_name) as down:
        with pytest.raises(UnsafePath, match="link/f.txt"):
            down.cloudevent(event)
    assert os.listdir(tmp_path / "outside") == []


@pytest.mark.parametrize("event,expected", [
    ({"cloudEventsVersion": "0.1", "data": [{"destinationTable": "Transactions._id",
                                             "value": 1}]}, "lists no files"),
    ({"specversion": "1.0", "type": "t", "source": "s", "id": "1", "data": {"foo": 1}},
     "unknown event shape"),
    ({"specversion": "1.0", "type": "t", "source": "s", "id": "1"}, "data is missing"),
    ("{not json", "not valid JSON"),
    (42, "cannot read an event of type int"),
    ({"data": [{"destinationTable": "Files", "subdir": "a"}]}, "no 'name'"),
    ({"data": [{"destinationTable": "Files", "subdir": "a", "name": "b", "size": "big"}]},
     "bad size"),
])
def test_events_that_are_not_understood_say_what_was_expected(downloader, event, expected):
    with pytest.raises(InvalidEvent, match=expected) as caught:
        downloader.cloudevent(event)
    assert isinstance(caught.value, (VelocityError, ValueError))
    if expected in ("lists no files", "unknown event shape", "data is missing"):
        assert "destinationTable 'Files'" in str(caught.value)


def test_no_container_anywhere_names_both_places(tmp_path, client):
    event = {"data": [{"destinationTable": "Files", "subdir": "a", "name": "b"}]}
    with Downloader(tmp_path, client) as down:
        with pytest.raises(VelocityError, match=r"'container'.*Downloader\(container="):
            down.cloudevent(event)


def test_object_name_maps_records_to_objects_keyed_by_id(raw_conn, container_name,
                                                         downloader):
    event = _stage(raw_conn, container_name, _example("pacifica_downloader_stub.json"),
                   key=lambda record: "files/%d" % record["_id"])
    downloader.object_name = lambda record: "files/%d" % record["_id"]
    results = downloader.cloudevent(event)
    assert all(r.ok for r in results)
    with open(os.path.join(downloader.location, "subdir_1104", "file.1104.txt"), "rb") as fh:
        assert fh.read() == _content(event["data"][4])


def test_a_missing_object_is_reported_and_the_others_still_land(raw_conn, container_name,
                                                                downloader):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "a/here.txt", b"here")
    event = {"data": [{"destinationTable": "Files", "subdir": "a", "name": "here.txt"},
                      {"destinationTable": "Files", "subdir": "a", "name": "gone.txt"}]}
    results = downloader.cloudevent(event, raise_errors=False)
    assert [r.ok for r in results] == [True, False]
    assert "gone.txt" in str(results[1].error)
    assert _files(downloader.location) == ["a/here.txt"]
    with pytest.raises(VelocityError, match="gone.txt"):
        downloader.cloudevent(event)


def test_the_event_container_wins_and_downloader_accepts_a_transfer_manager(
        tmp_path, raw_conn, client, container_name):
    from velocity.transfer import TransferManager

    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "o/1.txt", b"one")
    event = {"specversion": "1.0", "type": "org.example.files", "source": "/s", "id": "9",
             "data": {"container": container_name,
                      "objects": [{"name": "o/1.txt", "bytes": 3,
                                   "hash": hashlib.md5(b"one").hexdigest()}]}}
    with TransferManager(client) as manager:
        down = Downloader(tmp_path, manager, container="not-this-one")
        [result] = down.cloudevent(event)
    assert result.ok and result.path == os.path.join(str(tmp_path), "o", "1.txt")


def _sdk():
    """The cloudevents SDK's 1.x API: (CloudEvent, to_binary, to_structured, from_http)."""
    try:
        from cloudevents.conversion import to_binary, to_structured
        from cloudevents.http import CloudEvent, from_http
    except ImportError:  # cloudevents >= 2 keeps the 1.x API under cloudevents.v1
        from cloudevents.v1.conversion import to_binary, to_structured
        from cloudevents.v1.http import CloudEvent, from_http
    return CloudEvent, to_binary, to_structured, from_http


@pytest.mark.parametrize("mode", ["binary", "structured"])
@pytest.mark.parametrize("shape", ["objects", "pacifica-records"])
def test_cloudevents_sdk_events_in_both_http_modes(raw_conn, container_name, downloader,
                                                   mode, shape):
    cloud_event, to_binary, to_structured, from_http = _sdk()
    bodies = {"in/a.txt": b"alpha" * 50, "in/b/c.txt": b"gamma" * 3}
    raw_conn.put_container(container_name)
    for name, body in bodies.items():
        raw_conn.put_object(container_name, name, body)
    if shape == "objects":
        data = {"container": container_name, "objects": [
            {"name": name, "bytes": len(body), "hash": hashlib.sha256(body).hexdigest(),
             "hashtype": "sha256"} for name, body in bodies.items()]}
    else:
        data = [{"destinationTable": "Files", "subdir": os.path.dirname(name),
                 "name": os.path.basename(name), "size": len(body),
                 "hashsum": hashlib.sha1(body).hexdigest(), "hashtype": "sha1"}
                for name, body in bodies.items()]
    event = cloud_event({"type": "org.example.files.ready", "source": "/velocity/tests",
                             "datacontenttype": "application/json"}, data)
    headers, body = (to_binary if mode == "binary" else to_structured)(event)
    if mode == "binary":
        assert headers["ce-type"] == "org.example.files.ready"
    else:
        assert headers["content-type"] == "application/cloudevents+json"
    received = from_http(headers, body)
    results = downloader.cloudevent(received)
    assert [r.ok for r in results] == [True, True]
    assert _files(downloader.location) == ["in/a.txt", "in/b/c.txt"]


def test_cloudevents_core_api_events(raw_conn, container_name, downloader):
    core = pytest.importorskip("cloudevents.core.bindings.http")
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "k/v.txt", b"value")
    event = CloudEvent(attributes={"type": "t", "source": "/s", "id": "1",
                                   "datacontenttype": "application/json"},
                       data={"container": container_name, "objects": [
                           {"name": "k/v.txt", "bytes": 5}]})
    for to, read in ((core.to_binary, core.from_binary),
                     (core.to_structured, core.from_structured)):
        message = to(event, JSONFormat())
        results = downloader.cloudevent(read(message, JSONFormat()))
        assert results[0].ok


def test_parse_event_normalises_paths():
    container, files = parse_event({"data": [
        {"destinationTable": "Files", "subdir": "a/b/", "name": "foo.txt", "size": 3,
         "hashsum": "ABC", "hashtype": "sha1"},
        {"destinationTable": "Transactions._id", "value": 1},
        {"destinationTable": "Files", "subdir": "", "name": "top.txt"}]})
    assert container is None
    assert [(f.relpath, f.object_name, f.size, f.hashsum) for f in files] == [
        ("a/b/foo.txt", "a/b/foo.txt", 3, "abc"), ("top.txt", "top.txt", None, None)]


def test_a_velocity_connection_works_as_the_connection(tmp_path, raw_conn, credentials,
                                                       container_name):
    from velocity import Connection

    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "s/n.txt", b"via Connection")
    conn = Connection(credentials=credentials)
    try:
        down = Downloader(tmp_path, conn, container=container_name)
        [result] = down.cloudevent({"data": [{"destinationTable": "Files", "subdir": "s",
                                              "name": "n.txt", "size": 14}]})
        down.close()
    finally:
        conn.close()
    assert result.ok and (tmp_path / "s" / "n.txt").read_bytes() == b"via Connection"


def test_one_object_may_feed_several_files_and_a_blocked_path_fails_alone(
        raw_conn, container_name, downloader):
    raw_conn.put_container(container_name)
    raw_conn.put_object(container_name, "blob", b"shared")
    os.makedirs(os.path.join(downloader.location, "blocked", "f.txt"))  # a folder in the way
    downloader.object_name = lambda record: "blob"
    event = {"data": [{"destinationTable": "Files", "subdir": sub, "name": "f.txt",
                       "size": 6} for sub in ("one", "two", "blocked")]}
    results = downloader.cloudevent(event, raise_errors=False)
    assert [r.ok for r in results] == [True, True, False]
    assert "blocked/f.txt" in str(results[2].error)
    for sub in ("one", "two"):
        with open(os.path.join(downloader.location, sub, "f.txt"), "rb") as handle:
            assert handle.read() == b"shared"
