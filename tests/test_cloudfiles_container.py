"""Container against a real Swift (LocalSwift): python-cloudfiles' ContainerTest
ported, plus paging, 404s, ACLs, temp URLs, static web and versioning."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
import swiftclient

from velocity import errors
from velocity.container import Container
from velocity.storage_object import ObjectResults, StorageObject


@pytest.fixture
def eight(container, raw_conn):
    """object1..object8, like python-cloudfiles' fake server (14/64 bytes alternating)."""
    for i in range(1, 9):
        raw_conn.put_object(container.name, "object%d" % i, b"x" * (14 if i % 2 else 64))
    return container


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


# -- python-cloudfiles' ContainerTest -----------------------------------------------

def test_create_object(container):
    obj = container.create_object("object1")
    assert isinstance(obj, StorageObject)
    assert obj.size is None and obj.etag is None  # does not exist yet: no error


def test_delete_object(eight, raw_conn):
    eight.delete_object("object1")
    with pytest.raises(swiftclient.ClientException):
        raw_conn.head_object(eight.name, "object1")
    eight.delete_object(eight.get_object("object2"))  # an object works as well as a name


def test_delete_missing_object_is_no_such_object(container):
    with pytest.raises(errors.NoSuchObject) as info:
        container.delete_object("ghost")
    assert info.value.status == 404


def test_get_object(eight):
    obj = eight.get_object("object1")
    assert isinstance(obj, StorageObject)
    assert obj.size == 14
    assert eight["object2"].size == 64


def test_get_missing_object_is_no_such_object(container):
    with pytest.raises(errors.NoSuchObject):
        container.get_object("ghost")
    with pytest.raises(errors.NoSuchObject):
        container["ghost"]
    assert "ghost" not in container


def test_get_objects(eight):
    results = eight.get_objects()
    assert isinstance(results, ObjectResults)
    assert all(isinstance(o, StorageObject) for o in results)
    assert results.count("object1") == 1
    assert results.index("object3") == 2
    assert results[1].size == 64 and results[1].etag is not None
    assert repr(results) == "ObjectResults: 8 objects"


def test_get_objects_parametrized(eight):
    # python-cloudfiles passed unknown listing parameters (offset) through
    results = eight.get_objects(prefix="object", limit=3, marker="object3", offset=3)
    assert [o.name for o in results] == ["object4", "object5", "object6"]
    assert results.count("object4") == 1
    assert results.index("object6") == 2


def test_object_results_are_real_sequences(eight):
    results = eight.get_objects()
    part = results[2:5]
    assert isinstance(part, ObjectResults)
    assert [o.name for o in part] == ["object3", "object4", "object5"]
    assert "object4" in results  # python-cloudfiles answered False here
    assert results[0] in results
    assert "object9" not in results
    assert results[-1].name == "object8"
    assert results.index(results[3]) == 3
    assert len(results) == 8 and results.names[0] == "object1"


def test_list_objects_and_info(eight):
    names = eight.list_objects()
    assert isinstance(names, list) and names == ["object%d" % i for i in range(1, 9)]
    info = eight.list_objects_info()
    assert isinstance(info, list)
    assert {"name", "hash", "bytes", "content_type", "last_modified"} <= set(info[0])
    assert info[0]["bytes"] == 14


def test_list_objects_limited(eight):
    assert len(eight.list_objects(limit=3)) == 3
    assert len(eight.list_objects(limit=3, offset=3)) == 3


def test_list_objects_prefix_path_delimiter(container, raw_conn):
    for name in ("a/1", "a/2", "a/b/3", "c", "object1"):
        raw_conn.put_object(container.name, name, b"")
    assert container.list_objects(prefix="object") == ["object1"]
    assert container.list_objects(path="a") == ["a/1", "a/2"]
    assert container.list_objects(delimiter="/") == ["a/", "c", "object1"]
    info = container.list_objects_info(delimiter="/")
    assert {"subdir": "a/"} in info
    # pseudo-folders are not objects
    assert [o.name for o in container.get_objects(delimiter="/")] == ["c", "object1"]
    assert container.list_objects(prefix="a/", delimiter="/") == ["a/1", "a/2", "a/b/"]
    assert container.list_objects(end_marker="a/b") == ["a/1", "a/2"]


def test_bad_name_assignment(conn):
    container = Container(conn)
    with pytest.raises(errors.InvalidContainerName):
        container.name = "yougivelove/abadname"
    with pytest.raises(errors.InvalidContainerName):
        container.name = "a" * 257
    with pytest.raises(errors.InvalidContainerName, match="empty"):
        container.list_objects()  # still unnamed


def test_bad_object_name(container):
    with pytest.raises(errors.InvalidObjectName):
        container.delete_object("")
    with pytest.raises(errors.InvalidObjectName, match="1024 bytes"):
        container.create_object("é" * 513)  # 1026 bytes
    with pytest.raises(errors.InvalidObjectName):
        container.get_object(None)


def test_str_and_iteration(eight):
    assert str(eight) == eight.name
    assert [o.name for o in eight] == ["object%d" % i for i in range(1, 9)]
    assert "object3" in eight


# -- paging ---------------------------------------------------------------------------

@pytest.fixture
def twenty_five(conn, container, raw_conn, monkeypatch):
    for i in range(25):
        raw_conn.put_object(container.name, "o%02d" % i, b"")
    monkeypatch.setattr(conn, "page_size", 10)
    return container


def test_object_listing_pages_past_the_page_size(twenty_five, monkeypatch):
    calls = []
    client = twenty_five.conn.client
    real_call = type(client).call

    def call(operation, *args, **kwargs):
        if operation == "get_container":
            calls.append(kwargs)
        return real_call(client, operation, *args, **kwargs)

    monkeypatch.setattr(client, "call", call)
    expected = ["o%02d" % i for i in range(25)]
    assert twenty_five.list_objects() == expected
    assert [c["limit"] for c in calls] == [10, 10, 10, 10]  # ... and an empty page ends it
    assert len(twenty_five.get_objects()) == 25
    assert twenty_five.list_objects(marker="o04") == expected[5:]
    assert twenty_five.list_objects(marker="o04", limit=13) == expected[5:18]
    # the plain-request path (extra parameters) pages too
    assert twenty_five.list_objects(marker="o04", offset=0) == expected[5:]
    assert twenty_five.list_objects(path="", limit=None) == expected


# -- metadata, static web, versioning --------------------------------------------------

def test_update_metadata(container, raw_conn):
    container.update_metadata({"X-Container-Meta-Color": "red", "shape": "round"})
    headers = raw_conn.head_container(container.name)
    assert headers["x-container-meta-color"] == "red"
    assert headers["x-container-meta-shape"] == "round"
    assert container.metadata == {"color": "red", "shape": "round"}
    container.update_metadata({"shape": ""})
    assert "x-container-meta-shape" not in raw_conn.head_container(container.name)
    assert container.refresh().metadata == {"color": "red"}


def test_container_metadata_validation(container):
    with pytest.raises(errors.InvalidMetaName, match="128 bytes"):
        container.update_metadata({"n" * 129: "v"})
    with pytest.raises(errors.InvalidMetaValue, match="256 bytes"):
        container.update_metadata({"n": "v" * 257})
    with pytest.raises(errors.InvalidMetaValue, match="CR, LF"):
        container.update_metadata({"n": "a\r\nX-Injected: 1"})


def test_static_web_switches(container, raw_conn):
    container.enable_static_web(index="index.html", listings=True, error="error.html",
                                listings_css="style.css")
    headers = raw_conn.head_container(container.name)
    assert headers["x-container-meta-web-index"] == "index.html"
    assert headers["x-container-meta-web-listings"] == "True"
    assert headers["x-container-meta-web-error"] == "error.html"
    assert headers["x-container-meta-web-listings-css"] == "style.css"
    container.disable_static_web()
    headers = raw_conn.head_container(container.name)
    assert not any(k.startswith("x-container-meta-web-") for k in headers)


def test_object_versioning(conn, container, raw_conn):
    versions = conn.create_container(container.name + "_segments")  # cleaned by the fixture
    container.enable_object_versioning(versions)
    assert raw_conn.head_container(container.name)["x-versions-location"] == versions.name
    obj = container.create_object("doc")
    obj.write(b"version 1")
    obj.write(b"version 2")
    assert obj.read() == b"version 2"
    _, kept = raw_conn.get_container(versions.name)
    assert len(kept) == 1
    assert raw_conn.get_object(versions.name, kept[0]["name"])[1] == b"version 1"
    container.disable_object_versioning()
    assert "x-versions-location" not in raw_conn.head_container(container.name)
    for entry in kept:
        raw_conn.delete_object(versions.name, entry["name"])


# -- public access without a CDN: Swift's read ACL ---------------------------------------

def test_make_public_then_anonymous_get(container, raw_conn):
    raw_conn.put_container(container.name, headers={"X-Container-Read": "test:tester3"})
    container.create_object("hello.txt").write(b"hello world")
    assert container.is_public() is False
    with pytest.raises(errors.ContainerNotPublic):
        container.public_uri()
    assert _get("%s/%s/hello.txt" % (container.conn.storage_url, container.name))[0] in (
        401, 403)

    container.make_public()
    assert container.is_public() is True
    acl = raw_conn.head_container(container.name)["x-container-read"]
    assert set(acl.split(",")) == {"test:tester3", ".r:*"}  # kept the user; no listings
    public = container.public_uri()
    assert public == "%s/%s" % (container.conn.storage_url, container.name)
    assert _get(public + "/hello.txt") == (200, b"hello world")
    obj = container.get_object("hello.txt")
    assert obj.public_uri() == public + "/hello.txt"
    assert _get(public)[0] in (401, 403)  # readable, not listable

    container.make_public(listings=True)
    acl = raw_conn.head_container(container.name)["x-container-read"]
    assert set(acl.split(",")) == {"test:tester3", ".r:*", ".rlistings"}
    status, body = _get(public)  # .rlistings: anonymous listing
    assert status == 200 and b"hello.txt" in body

    container.make_private()
    assert container.is_public() is False
    assert raw_conn.head_container(container.name)["x-container-read"] == "test:tester3"
    assert _get(public + "/hello.txt")[0] in (401, 403)


def test_cdn_only_calls_without_cdn(container):
    with pytest.raises(errors.CDNNotEnabled):
        container.public_ssl_uri()
    with pytest.raises(errors.CDNNotEnabled):
        container.public_streaming_uri()
    with pytest.raises(errors.CDNNotEnabled):
        container.purge_from_cdn()
    with pytest.raises(errors.CDNNotEnabled):
        container.log_retention(True)
    assert container.cdn_uri is None and container.cdn_ttl is None


# -- temporary URLs -------------------------------------------------------------------------

def test_temp_url_get_and_put(conn, container, raw_conn):
    obj = container.create_object("secret file.txt")
    obj.write(b"for your eyes only")
    plain = "%s/%s/secret%%20file.txt" % (conn.storage_url, container.name)
    assert _get(plain)[0] in (401, 403)

    url = container.get_temp_url(obj, "GET", 60)
    assert "temp_url_sig=" in url and "temp_url_expires=" in url
    assert _get(url) == (200, b"for your eyes only")
    assert obj.get_temp_url(seconds=60).split("?")[0] == url.split("?")[0]

    put_url = container.get_temp_url("uploaded", method="PUT", seconds=60)
    request = urllib.request.Request(put_url, data=b"via temp url", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    assert raw_conn.get_object(container.name, "uploaded")[1] == b"via temp url"
    # a GET signature does not allow a PUT
    request = urllib.request.Request(url, data=b"nope", method="PUT")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)


def test_temp_url_key_is_created_once_and_reused(conn, raw_conn):
    raw_conn.post_account({"X-Remove-Account-Meta-Temp-URL-Key": "x"})
    key = conn.get_temp_url_key()
    assert key and raw_conn.head_account()["x-account-meta-temp-url-key"] == key
    assert conn.get_temp_url_key() == key


def test_temp_url_lifetime_and_argument_checks(conn, container):
    before = int(time.time())
    url = container.get_temp_url("brief", "GET", 30)
    expires = int(url.rsplit("temp_url_expires=", 1)[1].split("&")[0])
    assert before + 30 <= expires <= int(time.time()) + 30
    with pytest.raises(errors.ConfigurationError):
        container.get_temp_url("brief", "GET", 0)
    with pytest.raises(errors.ConfigurationError):
        container.get_temp_url("brief", "PATCH", 10)
