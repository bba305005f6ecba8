"""The drop-in module ``velocity.cloudfiles``: names, errors, utils, authenticators
(python-cloudfiles' AuthenticationTest and utils tests), and the Rackspace CDN
calls, which only Rackspace's CDN service can answer (played with ``responses``)."""

from __future__ import annotations

import importlib

import pytest
import responses
import swiftclient

import velocity
import velocity.cloudfiles as cloudfiles
from velocity import errors

CLOUDFILES_ERRORS = [
    "ResponseError", "NoSuchContainer", "NoSuchObject", "ContainerNotEmpty",
    "ContainerNotPublic", "CDNNotEnabled", "InvalidContainerName", "InvalidObjectName",
    "InvalidMetaName", "InvalidMetaValue", "InvalidUrl", "InvalidObjectSize",
    "IncompleteSend", "AuthenticationFailed", "AuthenticationError", "Error",
    "ContainerExists",
]


# -- the module's names -----------------------------------------------------------------

def test_drop_in_names():
    from velocity.connection import Connection, ConnectionPool
    from velocity.container import Container, ContainerResults
    from velocity.storage_object import ObjectResults, StorageObject

    assert cloudfiles.Connection is Connection is velocity.Connection
    assert cloudfiles.ConnectionPool is ConnectionPool
    assert cloudfiles.Container is Container is velocity.Container
    assert cloudfiles.Object is StorageObject is velocity.StorageObject
    assert cloudfiles.ContainerResults is ContainerResults
    assert cloudfiles.ObjectResults is ObjectResults
    assert cloudfiles.get_connection is velocity.get_connection
    assert cloudfiles.us_authurl == "https://auth.api.rackspacecloud.com/v1.0"
    assert cloudfiles.uk_authurl == "https://lon.auth.api.rackspacecloud.com/v1.0"
    assert cloudfiles.consts.default_cdn_ttl == 86400
    assert (cloudfiles.consts.meta_name_limit, cloudfiles.consts.meta_value_limit,
            cloudfiles.consts.object_name_limit, cloudfiles.consts.container_name_limit) == (
        128, 256, 1024, 256)


@pytest.mark.parametrize("name", CLOUDFILES_ERRORS)
def test_every_cloudfiles_exception_is_a_velocity_error(name):
    cls = getattr(cloudfiles.errors, name)
    assert issubclass(cls, errors.VelocityError)


def test_submodules_import_like_python_cloudfiles():
    module = importlib.import_module("velocity.cloudfiles.errors")
    assert module.NoSuchObject is errors.NoSuchObject
    from velocity.cloudfiles.consts import us_authurl  # noqa: F401 - importable
    from velocity.cloudfiles.utils import parse_url  # noqa: F401 - importable


def test_not_found_errors_are_response_errors():
    # a deliberate difference: python-cloudfiles' NoSuch* were not ResponseErrors
    assert issubclass(cloudfiles.errors.NoSuchObject, cloudfiles.errors.ResponseError)
    assert issubclass(cloudfiles.errors.NoSuchContainer, cloudfiles.errors.ResponseError)


def test_response_error_cloudfiles_signature():
    error = cloudfiles.errors.ResponseError(404, "Not Found")
    assert (error.status, error.reason) == (404, "Not Found")
    assert "404" in str(error) and "Not Found" in str(error)


def test_legacy_code_runs_unchanged(swift_server, container_name, raw_conn):
    conn = cloudfiles.get_connection(swift_server.user, swift_server.key,
                                     authurl=swift_server.auth_url)
    container = conn.create_container(container_name)
    obj = container.create_object("hello.txt")
    obj.content_type = "text/plain"
    obj.write("Hello, world")
    assert [o.name for o in container.get_objects()] == ["hello.txt"]
    try:
        container.get_object("missing.txt")
    except cloudfiles.errors.NoSuchObject:
        caught = True
    else:
        caught = False
    assert caught
    assert raw_conn.get_object(container_name, "hello.txt")[1] == b"Hello, world"


# -- utils (python-cloudfiles' utils_test) --------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("http://bogus.not", ("bogus.not", 80, "", False)),
    ("https://bogus.not", ("bogus.not", 443, "", True)),
    ("http://bogus.not/v1/bar", ("bogus.not", 80, "v1/bar", False)),
    ("http://bogus.not:8000", ("bogus.not", 8000, "", False)),
    ("https://bogus.not:8443/v1/foo", ("bogus.not", 8443, "v1/foo", True)),
])
def test_parse_url(url, expected):
    assert cloudfiles.utils.parse_url(url) == expected


def test_parse_url_rejects_bad_urls():
    with pytest.raises(cloudfiles.errors.InvalidUrl, match="Scheme"):
        cloudfiles.utils.parse_url("ftp://bogus.not")
    with pytest.raises(cloudfiles.errors.InvalidUrl, match="host"):
        cloudfiles.utils.parse_url("http://bad host")


def test_unicode_quote():
    assert cloudfiles.utils.unicode_quote("non-unicode text") == "non-unicode%20text"
    assert cloudfiles.utils.unicode_quote("\xe1gua.txt") == "%C3%A1gua.txt"
    assert cloudfiles.utils.unicode_quote("a/b c") == "a/b%20c"


# -- authentication (python-cloudfiles' authentication_test) ---------------------------------

def test_base_authentication():
    auth = cloudfiles.authentication.BaseAuthentication("jsmith", "xxxxxxxx")
    assert auth.uri == "v1.0"
    assert auth.authenticate() == (None, None, None)
    assert auth.headers["x-auth-user"] == "jsmith"
    assert auth.headers["x-auth-key"] == "xxxxxxxx"
    assert "xxxxxxxx" not in repr(auth)


def test_authentication_against_a_real_v1_service(swift_server):
    auth = cloudfiles.authentication.Authentication(swift_server.user, swift_server.key,
                                                    authurl=swift_server.auth_url)
    url, cdn_url, token = auth.authenticate()
    assert url.startswith(swift_server.proxy_url) and token and cdn_url is None
    conn = cloudfiles.Connection(auth=auth)
    assert isinstance(conn.list_containers(), list)
    bad = cloudfiles.authentication.Authentication(swift_server.user, "wrong",
                                                   authurl=swift_server.auth_url)
    with pytest.raises(cloudfiles.errors.AuthenticationFailed):
        bad.authenticate()
    with pytest.raises(cloudfiles.errors.AuthenticationFailed):
        cloudfiles.Connection(auth=bad)


def test_expired_token_is_renewed_through_the_authenticator(swift_server):
    class FirstTokenExpired(cloudfiles.authentication.Authentication):
        calls = 0

        def authenticate(self):
            FirstTokenExpired.calls += 1
            url, cdn_url, token = super().authenticate()
            if FirstTokenExpired.calls == 1:
                token = "AUTH_tk-already-expired"  # the server answers 401
            return url, cdn_url, token

    conn = cloudfiles.Connection(auth=FirstTokenExpired(
        swift_server.user, swift_server.key, authurl=swift_server.auth_url))
    assert FirstTokenExpired.calls == 1
    assert isinstance(conn.list_containers(), list)  # 401, asked again, retried
    assert FirstTokenExpired.calls == 2


# -- Rackspace CDN (only Rackspace's CDN service answers these: responses) -----------------

CDN = "https://cdn.example.com/v1/MossoCloudFS_test"


class CdnAuth:
    """An authenticator whose answer names a CDN management URL, as Rackspace's did."""

    def __init__(self, server):
        self.server = server

    def authenticate(self):
        url, token = swiftclient.get_auth(self.server.auth_url, self.server.user,
                                          self.server.key)
        return url, CDN, token


@pytest.fixture
def cdn(swift_server):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(swift_server.proxy_url)
        yield mock


def _header(request, name):
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else value


def _sent(mock, method):
    return [call.request for call in mock.calls
            if call.request.method == method and call.request.url.startswith(CDN)]


def test_cdn_make_public_and_uris(swift_server, cdn, container_name):
    conn = cloudfiles.Connection(auth=CdnAuth(swift_server))
    assert conn.cdn_enabled and conn.cdn_url == CDN
    container = conn.create_container(container_name)
    path = "%s/%s" % (CDN, container_name)
    cdn.add(responses.HEAD, path, status=404)
    cdn.add(responses.PUT, path, status=201, headers={"X-CDN-URI": "http://c1.cdn.example"})
    container.make_public(ttl=900)
    put = _sent(cdn, "PUT")[-1]
    assert _header(put, "X-TTL") == "900" and _header(put, "X-CDN-Enabled") == "True"
    assert _header(put, "X-Auth-Token") == conn.token

    cdn.replace(responses.HEAD, path, status=204, headers={
        "X-CDN-Enabled": "True", "X-CDN-URI": "http://c1.cdn.example",
        "X-CDN-SSL-URI": "https://s1.cdn.example", "X-TTL": "900",
        "X-CDN-Streaming-URI": "http://st1.cdn.example", "X-Log-Retention": "False"})
    assert container.is_public() is True
    assert container.public_uri() == "http://c1.cdn.example"
    assert container.public_ssl_uri() == "https://s1.cdn.example"
    assert container.public_streaming_uri() == "http://st1.cdn.example"
    assert container.cdn_ttl == 900 and container.cdn_log_retention is False
    obj = container.create_object("a b.txt")
    assert obj.public_uri() == "http://c1.cdn.example/a%20b.txt"
    assert obj.public_ssl_uri() == "https://s1.cdn.example/a%20b.txt"

    cdn.add(responses.DELETE, path + "/a%20b.txt", status=204)
    obj.purge_from_cdn("ops@example.com")
    assert _header(_sent(cdn, "DELETE")[-1], "X-Purge-Email") == "ops@example.com"

    cdn.add(responses.POST, path, status=202)
    container.make_private()
    assert _header(_sent(cdn, "POST")[-1], "X-CDN-Enabled") == "False"
    container.log_retention(True)
    assert _header(_sent(cdn, "POST")[-1], "X-Log-Retention") == "True"

    conn.delete_container(container_name)  # also CDN-disables it
    assert _sent(cdn, "POST")[-1].url == path


def test_cdn_make_public_again_uses_post(swift_server, cdn, container_name):
    conn = cloudfiles.Connection(auth=CdnAuth(swift_server))
    container = conn.create_container(container_name)
    path = "%s/%s" % (CDN, container_name)
    cdn.add(responses.HEAD, path, status=204, headers={
        "X-CDN-Enabled": "True", "X-CDN-URI": "http://c1.cdn.example", "X-TTL": "60"})
    cdn.add(responses.POST, path, status=202)
    container.make_public(ttl=60)
    assert _header(_sent(cdn, "POST")[-1], "X-TTL") == "60"
    assert not _sent(cdn, "PUT")


def test_cdn_not_public_container(swift_server, cdn, container_name):
    conn = cloudfiles.Connection(auth=CdnAuth(swift_server))
    container = conn.create_container(container_name)
    cdn.add(responses.HEAD, "%s/%s" % (CDN, container_name), status=404)
    assert container.is_public() is False
    with pytest.raises(cloudfiles.errors.ContainerNotPublic):
        container.public_uri()


def test_list_public_containers_with_cdn(swift_server, cdn):
    conn = cloudfiles.Connection(auth=CdnAuth(swift_server))
    cdn.add(responses.GET, CDN, json=[
        {"name": "pics", "cdn_enabled": True}, {"name": "old", "cdn_enabled": False}])
    assert conn.list_public_containers() == ["pics"]


def test_cdn_errors_are_mapped(swift_server, cdn, container_name):
    conn = cloudfiles.Connection(auth=CdnAuth(swift_server), retries=0)
    container = conn.create_container(container_name)
    path = "%s/%s" % (CDN, container_name)
    cdn.add(responses.HEAD, path, status=404)
    cdn.add(responses.PUT, path, status=403)
    with pytest.raises(cloudfiles.errors.ResponseError) as info:
        container.make_public()
    assert info.value.status == 403


def test_rackspace_v2_login_finds_storage_and_cdn_in_the_catalog():
    from velocity.auth import RACKSPACE_AUTH_URL

    def service(kind, name, region_urls):
        return {"type": kind, "name": name, "endpoints": [
            {"region": region, "publicURL": url, "internalURL": url.replace("https://",
                                                                            "https://snet-"),
             "tenantId": "MossoCloudFS_1"} for region, url in region_urls]}

    catalog = {"access": {
        "token": {"id": "tok-123", "expires": "2999-01-01T00:00:00Z",
                  "tenant": {"id": "1", "name": "1"},
                  "RAX-AUTH:defaultRegion": "ORD"},
        "user": {"id": "u1", "name": "jsmith", "RAX-AUTH:defaultRegion": "ORD"},
        "serviceCatalog": [
            service("object-store", "cloudFiles", [
                ("DFW", "https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_1"),
                ("ORD", "https://storage101.ord1.clouddrive.com/v1/MossoCloudFS_1")]),
            service("rax:object-cdn", "cloudFilesCDN", [
                ("DFW", "https://cdn1.clouddrive.com/v1/MossoCloudFS_1"),
                ("ORD", "https://cdn2.clouddrive.com/v1/MossoCloudFS_1")]),
        ]}}
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, RACKSPACE_AUTH_URL + "/tokens", json=catalog)
        conn = cloudfiles.Connection("jsmith", "api-key", authurl=RACKSPACE_AUTH_URL,
                                     region="DFW")
        assert conn.storage_url == "https://storage101.dfw1.clouddrive.com/v1/MossoCloudFS_1"
        assert conn.cdn_enabled
        assert conn.cdn_url == "https://cdn1.clouddrive.com/v1/MossoCloudFS_1"
        assert "api-key" not in mock.calls[0].request.url
