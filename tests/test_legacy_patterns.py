"""Patterns of real python-cloudfiles programs, against a real Swift (LocalSwift).

* byte-string names, as Python 2 programs (and duplicity's Cloud Files backend)
  pass them, through the whole object model;
* dynamic large objects made with ``manifest`` + ``sync_manifest()``;
* ``make_public()`` without a CDN: objects readable, listing private unless
  asked for;
* IPv6 storage URLs in ``parse_url`` / ``Connection.connection_args``;
* ``Connection(credentials=..., region=...)`` leaves the caller's credentials alone.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid

import pytest
import swiftclient

import velocity.cloudfiles as cloudfiles
from velocity import errors
from velocity.auth import Credentials
from velocity.connection import Connection, ConnectionPool, parse_url
from velocity.storage_object import StorageObject


def _anonymous_get(url: str) -> tuple[int, bytes]:
    """GET without any token, as a browser or a stranger would."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def _raw_missing(raw_conn: swiftclient.Connection, container: str, name: str | None = None
                 ) -> bool:
    try:
        if name is None:
            raw_conn.head_container(container)
        else:
            raw_conn.head_object(container, name)
    except swiftclient.ClientException as exc:
        return exc.http_status == 404
    return False


@pytest.fixture
def utf8_container_name(raw_conn):
    """A fresh container name with non-ASCII letters; removed afterwards."""
    name = "t-%s-caf\u00e9-\u65e5\u672c" % uuid.uuid4().hex[:8]
    yield name
    try:
        _, objects = raw_conn.get_container(name, full_listing=True)
    except swiftclient.ClientException:
        return
    for obj in objects:
        raw_conn.delete_object(name, obj["name"])
    raw_conn.delete_container(name)


# -- 1. byte-string names ---------------------------------------------------------------

def test_bytes_names_through_the_whole_object_model(conn, raw_conn, utf8_container_name):
    cname = utf8_container_name
    bname = cname.encode("utf-8")
    oname = "na\u00efve/\u20ac price.txt"
    bobj = oname.encode("utf-8")

    container = conn.create_container(bname)
    assert container.name == cname and isinstance(container.name, str)
    raw_conn.head_container(cname)  # stored under the decoded name
    assert conn.get_container(bname).name == cname
    assert conn[bname].name == cname
    assert bname in conn
    assert cname in conn.list_containers(prefix=bname[:12])

    obj = container.create_object(bobj)
    assert obj.name == oname and str(obj) == oname
    obj.write(b"forty-two")
    assert raw_conn.get_object(cname, oname)[1] == b"forty-two"

    got = container.get_object(bobj)
    assert (got.read(), got.size, got.etag) == (b"forty-two", 9, obj.etag)
    assert container[bobj].name == oname
    assert bobj in container and b"missing" not in container
    assert StorageObject(container, bobj).size == 9

    assert container.list_objects() == [oname]
    assert container.list_objects(prefix="na\u00efve/".encode()) == [oname]
    assert container.list_objects(path="na\u00efve".encode()) == [oname]
    assert container.list_objects(marker=bobj) == []
    assert container.list_objects(end_marker=bobj) == []
    assert container.list_objects(delimiter=b"/") == ["na\u00efve/"]
    results = container.get_objects(prefix=b"na")
    assert results.names == [oname] and bobj in results and b"\xff" not in results
    assert [o.name for o in container.get_objects(marker=b"a")] == [oname]

    copy = "copy \u00e9.txt"
    obj.copy_to(bname, copy.encode())
    assert raw_conn.get_object(cname, copy)[1] == b"forty-two"
    again = container.create_object("again.txt")
    again.copy_from(bname, bobj)
    assert again.read() == b"forty-two"

    url = container.get_temp_url(bobj, "GET", 60)
    assert _anonymous_get(url) == (200, b"forty-two")

    container.delete_object(bobj)
    container.delete_object(copy.encode())
    container.delete_object(b"again.txt")
    assert _raw_missing(raw_conn, cname, oname)
    assert bobj not in container
    conn.delete_container(bname)
    assert _raw_missing(raw_conn, cname)
    assert bname not in conn


def test_duplicity_cloudfiles_backend_pattern(swift_server, container_name, tmp_path):
    """What duplicity's ``_cf_cloudfiles`` backend does: a cloudfiles
    ``Connection(**kwargs)``, then ``bytes`` remote file names for every call."""
    conn = cloudfiles.Connection(username=swift_server.user, api_key=swift_server.key,
                                 authurl=swift_server.auth_url)
    container = conn.create_container(container_name)  # the URL path, a str
    volumes = {
        b"duplicity-full.20260101T000000Z.vol1.difftar.gz": os.urandom(300_000),
        b"duplicity-full.20260101T000000Z.manifest": b"Volume 1:\n StartingPath .\n",
        b"duplicity-full-signatures.20260101T000000Z.sigtar.gz": os.urandom(5_000),
    }
    for remote, data in volumes.items():  # _put
        source = tmp_path / remote.decode()
        source.write_bytes(data)
        container.create_object(remote).load_from_filename(str(source))

    objs = container.list_objects()  # _list, with its 10,000-per-call loop
    keys = objs
    while len(objs) == 10000:
        objs = container.list_objects(marker=keys[-1])
        keys += objs
    assert sorted(keys) == sorted(name.decode() for name in volumes)

    for remote, data in volumes.items():
        assert container.get_object(remote).size == len(data)  # _query
        local = tmp_path / ("restored-" + remote.decode())
        container.get_object(remote).save_to_filename(str(local))  # _get
        assert local.read_bytes() == data
        with open(tmp_path / "streamed", "wb") as handle:  # _get, older backends
            for chunk in container.create_object(remote).stream():
                handle.write(chunk)
        assert (tmp_path / "streamed").read_bytes() == data

    for remote in volumes:  # _delete
        container.delete_object(remote)
    assert container.list_objects() == []
    missing = b"duplicity-full.20260101T000000Z.vol1.difftar.gz"
    with pytest.raises(cloudfiles.errors.NoSuchObject):  # _query of a missing file
        container.get_object(missing)
    with pytest.raises(cloudfiles.errors.NoSuchObject):  # _delete of a missing file
        container.delete_object(missing)


BAD_UTF8 = b"vol\xff\xfe1.difftar"


@pytest.mark.parametrize("call", [
    lambda c: c.create_object(BAD_UTF8),
    lambda c: c.get_object(BAD_UTF8),
    lambda c: c[BAD_UTF8],
    lambda c: BAD_UTF8 in c,
    lambda c: c.delete_object(BAD_UTF8),
    lambda c: c.list_objects(prefix=BAD_UTF8),
    lambda c: c.get_objects(marker=BAD_UTF8),
    lambda c: c.get_temp_url(BAD_UTF8, "GET", 60, key="k"),
    lambda c: StorageObject(c, BAD_UTF8),
    lambda c: c.create_object("ok").copy_to(c.name, BAD_UTF8),
], ids=["create_object", "get_object", "getitem", "contains", "delete_object", "prefix",
        "marker", "get_temp_url", "StorageObject", "copy_to"])
def test_invalid_utf8_object_names_are_refused(container, raw_conn, call):
    with pytest.raises(errors.InvalidObjectName) as info:
        call(container)
    message = str(info.value)
    assert "not valid UTF-8 (byte ff at offset 3)" in message
    assert raw_conn.get_container(container.name)[1] == []  # nothing was stored


@pytest.mark.parametrize("call", [
    lambda conn, name: conn.create_container(name),
    lambda conn, name: conn.get_container(name),
    lambda conn, name: conn[name],
    lambda conn, name: name in conn,
    lambda conn, name: conn.delete_container(name),
    lambda conn, name: conn.list_containers(prefix=name),
], ids=["create_container", "get_container", "getitem", "contains", "delete_container",
        "prefix"])
def test_invalid_utf8_container_names_are_refused(conn, raw_conn, call):
    name = b"t-latin1-caf\xe9"  # what a Latin-1 program would pass
    with pytest.raises(errors.InvalidContainerName, match=r"not valid UTF-8 \(byte e9 at "
                                                         r"offset 12\)"):
        call(conn, name)
    assert not any(c["name"].startswith("t-latin1-caf")
                   for c in raw_conn.get_account(full_listing=True)[1])


def test_bytes_names_still_follow_the_naming_rules(container, conn):
    with pytest.raises(errors.InvalidObjectName, match="1024 bytes"):
        container.create_object(b"x" * 1025)
    with pytest.raises(errors.InvalidObjectName, match="empty"):
        container.create_object(b"")
    with pytest.raises(errors.InvalidContainerName, match="'/'"):
        conn.create_container(b"a/b")


# -- 2. dynamic large objects with sync_manifest() -------------------------------------------

def test_sync_manifest_makes_a_dynamic_large_object(conn, container, container_name, raw_conn):
    segments_container = conn.create_container(container_name + "_segments")
    prefix = "clip \u00e9t\u00e9/"  # a space and non-ASCII: sent percent-encoded
    parts = [os.urandom(70_000), os.urandom(1), os.urandom(12_345)]
    for number, part in enumerate(parts):
        segments_container.create_object("%s%04d" % (prefix, number)).write(part)

    movie = container.create_object("movie.mp4")
    movie.metadata = {"title": "summer"}
    movie.manifest = "%s/%s" % (segments_container.name, prefix)
    movie.sync_manifest()

    expected = b"".join(parts)
    assert movie.size == len(expected)
    assert movie.content_type == "video/mp4"
    assert movie.manifest == "%s/%s" % (segments_container.name, prefix)  # read back
    assert container.get_object("movie.mp4").read() == expected
    assert b"".join(container.get_object("movie.mp4").stream(chunksize=4096)) == expected
    headers, body = raw_conn.get_object(container.name, "movie.mp4")
    assert body == expected
    assert headers["x-object-manifest"] == movie.manifest
    assert headers["x-object-meta-title"] == "summer"
    assert int(headers["content-length"]) == len(expected)

    movie.metadata["rating"] = "5"
    movie.sync_metadata()  # a POST keeps the (re-encoded) manifest
    headers, body = raw_conn.get_object(container.name, "movie.mp4")
    assert body == expected and headers["x-object-meta-rating"] == "5"

    # dynamic: a segment added later is part of the object
    segments_container.create_object(prefix + "0003").write(b"the end")
    assert raw_conn.get_object(container.name, "movie.mp4")[1] == expected + b"the end"


def test_sync_manifest_on_an_object_read_back_keeps_it_a_manifest(container, raw_conn):
    for number in range(3):
        raw_conn.put_object(container.name, "seg/%d" % number, b"<%d>" % number)
    obj = container.create_object("whole")
    obj.manifest = container.name + "/seg/"
    obj.sync_manifest()
    again = container.get_object("whole")
    assert again.manifest == container.name + "/seg/"
    again.metadata["kind"] = "dlo"
    again.sync_manifest()  # a second PUT with the manifest it was read with
    headers, body = raw_conn.get_object(container.name, "whole")
    assert body == b"<0><1><2>" and headers["x-object-meta-kind"] == "dlo"


def test_sync_manifest_without_a_manifest_does_nothing(container, raw_conn):
    obj = container.create_object("plain")
    obj.sync_manifest()
    assert _raw_missing(raw_conn, container.name, "plain")


@pytest.mark.parametrize("manifest", ["no-slash", "/prefix", "segments/", "segments//x",
                                      "a" * 257 + "/p"])
def test_sync_manifest_refuses_a_malformed_manifest(container, raw_conn, manifest):
    obj = container.create_object("bad")
    obj.manifest = manifest
    with pytest.raises(errors.ConfigurationError, match="manifest"):
        obj.sync_manifest()
    assert _raw_missing(raw_conn, container.name, "bad")


# -- 3. make_public() without a CDN ----------------------------------------------------------

def test_make_public_lets_anyone_read_but_not_list(container):
    container.create_object("photo.jpg").write(b"\xff\xd8 jpeg")
    container.make_public()
    assert container.is_public()
    public = container.public_uri()
    assert _anonymous_get(public + "/photo.jpg") == (200, b"\xff\xd8 jpeg")
    for listing in (public, public + "?format=json", public + "/"):
        assert _anonymous_get(listing)[0] in (401, 403), listing


def test_make_public_listings_are_opt_in(container, raw_conn):
    container.create_object("photo.jpg").write(b"jpeg")
    container.make_public(listings=True)
    status, body = _anonymous_get(container.public_uri())
    assert status == 200 and b"photo.jpg" in body

    container.make_public()  # again without listings: the listing is private again
    assert raw_conn.head_container(container.name)["x-container-read"] == ".r:*"
    assert _anonymous_get(container.public_uri())[0] in (401, 403)
    assert _anonymous_get(container.public_uri() + "/photo.jpg")[0] == 200

    container.make_public(listings=True)
    container.make_private()
    assert not container.is_public()
    assert "x-container-read" not in raw_conn.head_container(container.name)
    url = "%s/%s/photo.jpg" % (container.conn.storage_url, container.name)
    assert _anonymous_get(url)[0] in (401, 403)


# -- 4. IPv6 storage URLs ----------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("http://[::1]:8080/v1/AUTH_x", ("::1", 8080, "v1/AUTH_x", False)),
    ("https://[2001:db8::17]/v1/AUTH_x/", ("2001:db8::17", 443, "v1/AUTH_x", True)),
    ("http://[::ffff:192.0.2.1]", ("::ffff:192.0.2.1", 80, "", False)),
    ("http://[fe80::1%25eth0]:8080/v1", ("fe80::1%eth0", 8080, "v1", False)),
    ("http://192.0.2.1:8080/v1", ("192.0.2.1", 8080, "v1", False)),
    ("https://Storage.Example.com:8", ("Storage.Example.com", 8, "", True)),
])
def test_parse_url_accepts_ipv6_literals(url, expected):
    assert parse_url(url) == expected


@pytest.mark.parametrize("url", [
    "http://::1:8080/v1",            # IPv6 without brackets
    "http://[::1/v1",                # unclosed bracket
    "http://[not-an-address]:80/",
    "http://[1::2::3]/",
    "http://[::1]x:80/",
    "http://[::1]:8080:1/",
    "http://[::1]:65536/",
    "http://storage.example.com:0/",
    "http://storage.example.com:123456/",
    "http://storage.example.com:port/",
    "http://user@storage.example.com/",
    "http://bad host/",
])
def test_parse_url_still_rejects_invalid_hosts_and_ports(url):
    with pytest.raises(errors.InvalidUrl):
        parse_url(url)


def test_connection_to_an_ipv6_storage_url():
    creds = Credentials.preauthenticated("http://[::1]:8080/v1/AUTH_x", "a-token")
    conn = Connection(credentials=creds)
    assert conn.connection_args == ("::1", 8080, "v1/AUTH_x", False)
    assert conn.uri == "v1/AUTH_x"
    assert conn.storage_url == "http://[::1]:8080/v1/AUTH_x"


# -- 5. credentials= with region= ---------------------------------------------------------------

def test_region_leaves_the_callers_credentials_alone(swift_server):
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    conn = Connection(credentials=creds, region="RegionTwo")
    assert creds.region is None
    assert conn.credentials is not creds and conn.credentials.region == "RegionTwo"
    public = {k: v for k, v in vars(creds).items() if not k.startswith("_") and k != "region"}
    assert public == {k: v for k, v in vars(conn.credentials).items()
                      if not k.startswith("_") and k != "region"}  # every other setting kept
    assert conn.client.credentials.os_options["region_name"] == "RegionTwo"
    assert conn.client.connection().os_options["region_name"] == "RegionTwo"
    assert isinstance(conn.list_containers(), list)  # v1 has no regions: it still works

    plain = Connection(credentials=creds)
    assert plain.credentials is creds and creds.region is None
    assert plain.token == conn.token  # one login, shared by the copy
    assert creds.plugin.auth_count == 1

    ordered = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key,
                             region="DFW")
    other = Connection(credentials=ordered, region="ORD")
    assert ordered.region == "DFW" and other.credentials.region == "ORD"
    assert Connection(credentials=ordered, region="DFW").credentials is ordered


def test_pool_with_credentials_and_region(swift_server):
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    pool = ConnectionPool(credentials=creds, region="RegionTwo", poolsize=2)
    first, second = pool.get(), pool.get()
    assert creds.region is None
    assert first.credentials.region == second.credentials.region == "RegionTwo"
    assert first.credentials is second.credentials  # the pool shares one login
    pool.put(first)
    pool.put(second)


@pytest.fixture(scope="module")
def keystone_stack():
    from velocity.server import LocalKeystone, LocalSwift

    with LocalKeystone() as ks, LocalSwift(keystone=ks) as swift:
        ks.register_swift(swift)
        yield ks, swift


@pytest.mark.keystone
def test_region_picks_the_catalog_endpoint_without_changing_the_credentials(keystone_stack):
    ks, swift = keystone_stack
    creds = Credentials.password(ks.auth_url, "tester", "testing", project_name="test")
    with pytest.raises(errors.AuthenticationError, match="region 'Atlantis' not in catalog"):
        Connection(credentials=creds, region="Atlantis")
    assert creds.region is None
    conn = Connection(credentials=creds, region=ks.region)
    assert conn.storage_url.startswith(swift.keystone_proxy_url)
    assert conn.credentials.region == ks.region and creds.region is None
    container = conn.create_container("region-" + uuid.uuid4().hex[:8])
    try:
        container.create_object("o").write(b"in the region")
        assert container.get_object("o").read() == b"in the region"
        container.delete_object("o")
    finally:
        conn.delete_container(container)
    assert Connection(credentials=creds).storage_url == conn.storage_url
