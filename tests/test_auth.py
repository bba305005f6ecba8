"""Credentials: every login flavour, endpoint choice, OS_* environments.

tempauth v1 runs against the real LocalSwift; identity services no local
server can play (Rackspace, Keystone v2, catalogs with several regions) are
played by ``responses``.
"""

from __future__ import annotations

import json

import pytest
import responses

from velocity import errors
from velocity.auth import RACKSPACE_AUTH_URL, Credentials
from velocity.client import RetryPolicy, SwiftClient

RAX_TOKENS = RACKSPACE_AUTH_URL + "/tokens"
KS2 = "http://keystone.example.test:5000/v2.0"
KS3 = "http://keystone.example.test:5000/v3"
TENANT = "MossoCloudFS_8f2a"
REGION_HOSTS = {"DFW": "storage101.dfw1", "ORD": "storage101.ord1", "IAD": "storage101.iad3"}
CDN_HOSTS = {"DFW": "cdn1", "ORD": "cdn2", "IAD": "cdn5"}


def storage(region: str, internal: bool = False) -> str:
    return "https://%s%s.clouddrive.com/v1/%s" % ("snet-" if internal else "",
                                                   REGION_HOSTS[region], TENANT)


def rackspace_access(issued: str = "rax-token-0001") -> dict:
    """An identity v2 answer shaped like Rackspace's: three object-store
    regions with public and ServiceNet URLs, a CDN service, a regional compute
    service and a global (regionless) DNS service."""
    return {"access": {
        "token": {"id": issued, "expires": "2099-01-01T00:00:00.000Z",
                  "tenant": {"id": "912345", "name": "912345"},
                  "RAX-AUTH:authenticatedBy": ["APIKEY"]},
        "serviceCatalog": [
            {"name": "cloudFiles", "type": "object-store", "endpoints": [
                {"region": r, "tenantId": TENANT, "publicURL": storage(r),
                 "internalURL": storage(r, internal=True)} for r in ("DFW", "ORD", "IAD")]},
            {"name": "cloudFilesCDN", "type": "rax:object-cdn", "endpoints": [
                {"region": r, "tenantId": TENANT,
                 "publicURL": "https://%s.clouddrive.com/v1/%s" % (CDN_HOSTS[r], TENANT)}
                for r in ("DFW", "ORD", "IAD")]},
            {"name": "cloudServersOpenStack", "type": "compute", "endpoints": [
                {"region": r, "tenantId": "912345",
                 "publicURL": "https://%s.servers.api.rackspacecloud.com/v2/912345" % r.lower(),
                 "versionInfo": "https://%s.servers.api.rackspacecloud.com/v2" % r.lower(),
                 "versionId": "2"} for r in ("DFW", "ORD")]},
            {"name": "cloudDNS", "type": "rax:dns", "endpoints": [
                {"tenantId": "912345",
                 "publicURL": "https://dns.api.rackspacecloud.com/v1.0/912345"}]},
        ],
        "user": {"id": "172157", "name": "alice", "RAX-AUTH:defaultRegion": "ORD",
                 "roles": [{"id": "3", "name": "identity:user-admin"}]},
    }}


def v3_token_body(catalog: list, project: str = "demo") -> dict:
    return {"token": {
        "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
        "issued_at": "2024-01-01T00:00:00.000000Z",
        "user": {"id": "u1", "name": "alice", "domain": {"id": "default", "name": "Default"}},
        "project": {"id": "p1", "name": project, "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": "r1", "name": "member"}], "catalog": catalog}}


V3_CATALOG = [
    {"type": "identity", "name": "keystone", "id": "s0", "endpoints": [
        {"id": "e0", "interface": "public", "region": "RegionOne", "region_id": "RegionOne",
         "url": KS3}]},
    {"type": "object-store", "name": "swift", "id": "s1", "endpoints": [
        {"id": "e1", "interface": "public", "region": "RegionOne", "region_id": "RegionOne",
         "url": "https://swift.example.test/v1/AUTH_p1"},
        {"id": "e2", "interface": "internal", "region": "RegionOne", "region_id": "RegionOne",
         "url": "http://10.0.0.5:8080/v1/AUTH_p1"},
        {"id": "e3", "interface": "admin", "region": "RegionOne", "region_id": "RegionOne",
         "url": "http://10.0.0.5:8080/v1"},
        {"id": "e4", "interface": "public", "region": "RegionTwo", "region_id": "RegionTwo",
         "url": "https://swift2.example.test/v1/AUTH_p1"}]},
]


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def sent_json(call) -> dict:
    return json.loads(call.request.body)


# -- v1 / tempauth against the real server ------------------------------------------


def test_v1_credentials_authenticate_against_localswift(swift_server):
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key)
    assert creds.endpoint() == swift_server.storage_url
    assert creds.get_token()
    assert creds.cdn_url() is None  # tempauth has no CDN
    assert creds.endpoints() == []  # and no catalog
    assert creds.plugin.auth_count == 1


def test_v1_bad_key_is_authentication_failed(swift_server):
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, "not-the-key")
    with pytest.raises(errors.AuthenticationFailed) as info:
        SwiftClient(creds).head_account()
    assert info.value.status == 401
    assert "test:tester" in str(info.value)
    assert "not-the-key" not in str(info.value) + repr(info.value)


@pytest.fixture
def v1_identity():
    """A loopback server playing a v1.0 identity service (Rackspace's legacy
    one answers with ServiceNet-able storage URLs and a CDN URL)."""
    from scripted import ScriptedServer

    server = ScriptedServer()
    yield server
    server.stop()


def test_v1_internal_uses_servicenet_and_reports_the_cdn_url(v1_identity):
    v1_identity.add("GET", "/v1.0", (204, {
        "X-Storage-Url": "https://storage101.dfw1.clouddrive.com/v1/" + TENANT,
        "X-Auth-Token": "v1-token", "X-CDN-Management-Url": "https://cdn1.clouddrive.com/v1/x"},
        b""))
    creds = Credentials.v1(v1_identity.url + "/v1.0", "alice", "k", internal=True)
    assert creds.endpoint() == "https://snet-storage101.dfw1.clouddrive.com/v1/" + TENANT
    assert creds.cdn_url() == "https://cdn1.clouddrive.com/v1/x"
    [(method, _, headers)] = v1_identity.requests
    assert method == "GET" and headers["X-Auth-User"] == "alice" and headers["X-Auth-Key"] == "k"


def test_v1_identity_503_is_retried(v1_identity, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr("velocity.client.time.sleep", sleeps.append)
    v1_identity.add("GET", "/auth/v1.0", (503, {}, b""))
    v1_identity.add("GET", "/auth/v1.0", (200, {
        "X-Storage-Url": v1_identity.url + "/v1/AUTH_a", "X-Auth-Token": "t"}, b""))
    v1_identity.add("HEAD", "/v1/AUTH_a", (204, {"X-Account-Object-Count": "3"}, b""))
    client = SwiftClient(Credentials.v1(v1_identity.url + "/auth/v1.0", "a:b", "k"))
    assert client.head_account()["x-account-object-count"] == "3"
    assert len(sleeps) == 1
    assert v1_identity.requests[-1][2]["X-Auth-Token"] == "t"


# -- Rackspace API key ----------------------------------------------------------------


def test_rackspace_posts_the_api_key_payload(mock):
    mock.post(RAX_TOKENS, json=rackspace_access())
    creds = Credentials.rackspace("alice", "0123456789abcdef", region="DFW")
    assert creds.endpoint() == storage("DFW")
    assert sent_json(mock.calls[0]) == {"auth": {"RAX-KSKEY:apiKeyCredentials": {
        "username": "alice", "apiKey": "0123456789abcdef"}}}
    assert creds.plugin.auth_count == 1


@pytest.mark.parametrize("region", ["DFW", "ORD", "IAD", "iad"])
@pytest.mark.parametrize("internal", [False, True])
def test_rackspace_region_and_interface_pick_the_endpoint(mock, region, internal):
    mock.post(RAX_TOKENS, json=rackspace_access())
    creds = Credentials.rackspace("alice", "key", region=region, internal=internal)
    assert creds.endpoint() == storage(region.upper(), internal=internal)
    assert creds.interface == ("internal" if internal else "public")
    assert creds.cdn_url() == "https://%s.clouddrive.com/v1/%s" % (
        CDN_HOSTS[region.upper()], TENANT)


def test_rackspace_without_region_uses_the_users_default_region(mock):
    mock.post(RAX_TOKENS, json=rackspace_access())
    creds = Credentials.rackspace("alice", "key")
    assert creds.endpoint() == storage("ORD")
    assert creds.regions() == ["DFW", "ORD", "IAD"]


def test_unknown_region_lists_the_regions_of_the_catalog(mock):
    mock.post(RAX_TOKENS, json=rackspace_access())
    creds = Credentials.rackspace("alice", "key", region="XYZ")
    with pytest.raises(errors.AuthenticationError) as info:
        creds.endpoint()
    assert "region 'XYZ' not in catalog; object-store regions: DFW, ORD, IAD" in str(info.value)
    # the same through the client, which does not retry it
    with pytest.raises(errors.AuthenticationError, match="DFW, ORD, IAD"):
        SwiftClient(creds).head_account()


def test_missing_interface_is_named(mock):
    body = rackspace_access()
    for ep in body["access"]["serviceCatalog"][0]["endpoints"]:
        del ep["internalURL"]
    mock.post(RAX_TOKENS, json=body)
    creds = Credentials.rackspace("alice", "key", region="DFW", internal=True)
    with pytest.raises(errors.AuthenticationError,
                       match="no internal object-store endpoint in region 'DFW'; "
                             "interfaces offered: public"):
        creds.endpoint()


def test_account_without_cdn_has_no_cdn_url(mock):
    body = rackspace_access()
    del body["access"]["serviceCatalog"][1]
    mock.post(RAX_TOKENS, json=body)
    assert Credentials.rackspace("alice", "key", region="DFW").cdn_url() is None


def test_rackspace_bad_key_is_authentication_failed(mock):
    mock.post(RAX_TOKENS, status=401, json={"unauthorized": {
        "code": 401, "message": "Username or api key is invalid."}})
    creds = Credentials.rackspace("alice", "wrong-key-123")
    with pytest.raises(errors.AuthenticationFailed) as info:
        SwiftClient(creds, retry=RetryPolicy(retries=3)).head_account()
    assert info.value.status == 401
    assert len(mock.calls) == 1  # a refused key is not retried
    assert "wrong-key-123" not in str(info.value)


def test_catalog_accessors(mock):
    mock.post(RAX_TOKENS, json=rackspace_access())
    creds = Credentials.rackspace("alice", "key", region="DFW")
    services = {ep["service_type"] for ep in creds.endpoints()}
    assert services == {"object-store", "rax:object-cdn", "compute", "rax:dns"}
    assert creds.endpoint("rax:dns") == "https://dns.api.rackspacecloud.com/v1.0/912345"
    assert creds.endpoint("compute", region="ORD").startswith("https://ord.servers")
    assert creds.regions("compute") == ["DFW", "ORD"]


def test_rackspace_argument_order_mistake_is_explained():
    with pytest.raises(errors.ConfigurationError, match="argument order"):
        Credentials.rackspace(RACKSPACE_AUTH_URL, "alice", "key")


def real_login(mock, swift_server) -> tuple[str, str]:
    """A storage URL and token LocalSwift really accepts, for a mocked
    identity service to hand out: the storage side is then the real server."""
    import swiftclient

    mock.add_passthru(swift_server.proxy_url)
    return swiftclient.get_auth(swift_server.auth_url, swift_server.user, swift_server.key)


@pytest.mark.parametrize("direct", [True, False])
def test_rackspace_client_talks_to_the_catalog_storage_url(mock, swift_server, direct):
    url, token = real_login(mock, swift_server)
    access = rackspace_access(token)
    [store] = [s for s in access["access"]["serviceCatalog"] if s["type"] == "object-store"]
    for endpoint in store["endpoints"]:
        if endpoint["region"] == "IAD":
            endpoint["publicURL"] = url
    mock.post(RAX_TOKENS, json=access)
    client = SwiftClient(Credentials.rackspace("alice", "key", region="IAD"), direct=direct)
    # the real server took the token the identity service issued, at the IAD URL
    assert "x-account-container-count" in client.head_account()
    assert client.storage_url == url


# -- generic identity v2 payload ---------------------------------------------------------


def test_from_payload_posts_the_payload_and_calls_a_factory_each_time(mock):
    mock.post(RAX_TOKENS, json=rackspace_access())
    calls = []

    def payload():
        calls.append(1)
        return {"passwordCredentials": {"username": "alice", "password": "pw"}}

    creds = Credentials.from_payload(RACKSPACE_AUTH_URL, payload, region="ORD")
    assert creds.endpoint() == storage("ORD")
    assert sent_json(mock.calls[0]) == {"auth": payload()}
    creds.invalidate()
    creds.endpoint()
    assert len(calls) == 3 and len(mock.calls) == 2


def test_from_payload_dict_is_not_modified(mock):
    mock.post(KS2 + "/tokens", json=rackspace_access())
    payload = {"passwordCredentials": {"username": "alice", "password": "pw"}}
    creds = Credentials.from_payload(KS2, payload, tenant_name="demo", region="DFW")
    creds.endpoint()
    assert sent_json(mock.calls[0])["auth"]["tenantName"] == "demo"
    assert payload == {"passwordCredentials": {"username": "alice", "password": "pw"}}


def test_from_payload_rejects_a_non_mapping():
    with pytest.raises(errors.ConfigurationError, match="mapping"):
        Credentials.from_payload(KS2, ["not", "a", "dict"])  # type: ignore[arg-type]


# -- Keystone v2 and v3 ------------------------------------------------------------------


def test_keystone_v2_password_with_tenant(mock):
    mock.post(KS2 + "/tokens", json=rackspace_access("v2-token"))
    creds = Credentials.password(KS2, "alice", "pw", project_name="demo", region="DFW",
                                 interface="internalURL")
    assert creds.endpoint() == storage("DFW", internal=True)
    assert sent_json(mock.calls[0]) == {"auth": {
        "passwordCredentials": {"username": "alice", "password": "pw"}, "tenantName": "demo"}}


@pytest.mark.parametrize("direct", [True, False])
def test_keystone_v3_password_token_from_x_subject_token(mock, swift_server, direct):
    url, token = real_login(mock, swift_server)
    catalog = json.loads(json.dumps(V3_CATALOG).replace(
        "https://swift.example.test/v1/AUTH_p1", url))
    mock.post(KS3 + "/auth/tokens", status=201, json=v3_token_body(catalog),
              headers={"X-Subject-Token": token})
    creds = Credentials.password(KS3, "alice", "pw", project_name="demo",
                                 user_domain_name="Users", region="RegionOne")
    client = SwiftClient(creds, direct=direct)
    # the real server took the X-Subject-Token as the token, at the catalog's URL
    assert "x-account-container-count" in client.head_account()
    assert client.storage_url == url
    ident = sent_json(mock.calls[0])["auth"]
    assert ident["identity"]["password"]["user"] == {
        "name": "alice", "password": "pw", "domain": {"name": "Users"}}
    # the project's domain defaults to the user's
    assert ident["scope"] == {"project": {"name": "demo", "domain": {"name": "Users"}}}


def test_keystone_v3_ids_and_interfaces(mock):
    mock.post(KS3 + "/auth/tokens", status=201, json=v3_token_body(V3_CATALOG),
              headers={"X-Subject-Token": "t"})
    creds = Credentials.password(KS3 + "/", "alice", "pw", project_id="p1",
                                 user_domain_id="d1", internal=True)
    assert creds.endpoint() == "http://10.0.0.5:8080/v1/AUTH_p1"
    assert creds.endpoint(region="RegionTwo", interface="public") == \
        "https://swift2.example.test/v1/AUTH_p1"
    ident = sent_json(mock.calls[0])["auth"]
    assert ident["identity"]["password"]["user"]["domain"] == {"id": "d1"}
    assert ident["scope"] == {"project": {"id": "p1"}}
    with pytest.raises(errors.AuthenticationError, match="no internal object-store endpoint "
                                                         "in region 'RegionTwo'"):
        creds.endpoint(region="RegionTwo")


def test_keystone_url_without_version_gets_v3(mock):
    mock.post("http://keystone.example.test:5000/v3/auth/tokens", status=201,
              json=v3_token_body(V3_CATALOG), headers={"X-Subject-Token": "t"})
    creds = Credentials.password("http://keystone.example.test:5000", "alice", "pw",
                                 project_name="demo", region="RegionOne")
    assert creds.auth_url == KS3
    assert creds.endpoint() == "https://swift.example.test/v1/AUTH_p1"


def test_keystone_v3_unscoped_catalog_is_explained(mock):
    body = v3_token_body([V3_CATALOG[0]])
    mock.post(KS3 + "/auth/tokens", status=201, json=body, headers={"X-Subject-Token": "t"})
    with pytest.raises(errors.AuthenticationError,
                       match="no object-store service .services: identity.; is the token "
                             "scoped to a project"):
        Credentials.password(KS3, "alice", "pw").endpoint()


def test_keystone_v3_application_credential_and_token_payloads(mock):
    mock.post(KS3 + "/auth/tokens", status=201, json=v3_token_body(V3_CATALOG),
              headers={"X-Subject-Token": "t2"})
    app = Credentials.application_credential(KS3, "ac-id", "ac-secret", region="RegionOne")
    assert app.endpoint() == "https://swift.example.test/v1/AUTH_p1"
    assert sent_json(mock.calls[0])["auth"]["identity"] == {
        "methods": ["application_credential"],
        "application_credential": {"id": "ac-id", "secret": "ac-secret"}}
    by_name = Credentials.application_credential(KS3, secret="s", credential_name="backup",
                                                 username="alice", region="RegionOne")
    by_name.endpoint()
    assert sent_json(mock.calls[1])["auth"]["identity"]["application_credential"] == {
        "name": "backup", "secret": "s",
        "user": {"name": "alice", "domain": {"id": "default"}}}
    tok = Credentials.token(KS3, "old-token", project_name="demo", region="RegionOne")
    tok.endpoint()
    assert sent_json(mock.calls[2])["auth"] == {
        "identity": {"methods": ["token"], "token": {"id": "old-token"}},
        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}


def test_keystone_v3_wrong_password_is_authentication_failed(mock):
    mock.post(KS3 + "/auth/tokens", status=401, json={"error": {
        "code": 401, "title": "Unauthorized", "message": "The request you have made requires "
        "authentication."}})
    with pytest.raises(errors.AuthenticationFailed) as info:
        SwiftClient(Credentials.password(KS3, "alice", "pw-wrong", project_name="d")
                    ).head_account()
    assert info.value.status == 401 and "pw-wrong" not in str(info.value)


def test_application_credential_settings_are_checked():
    with pytest.raises(errors.ConfigurationError, match="OS_APPLICATION_CREDENTIAL_ID"):
        Credentials.application_credential(KS3, secret="s")
    with pytest.raises(errors.ConfigurationError, match="needs its owner"):
        Credentials.application_credential(KS3, secret="s", credential_name="n")
    with pytest.raises(errors.ConfigurationError, match="secret"):
        Credentials.application_credential(KS3, "id")


def test_version_conflict_is_a_configuration_error():
    with pytest.raises(errors.ConfigurationError, match="make them agree"):
        Credentials.password(KS2, "alice", "pw", version="3")
    with pytest.raises(errors.ConfigurationError, match="not supported"):
        Credentials.password(KS3, "alice", "pw", version="4")


def test_repr_hides_every_secret(mock):
    creds = [Credentials.v1("http://a.test/auth/v1.0", "u", "SECRET-1"),
             Credentials.rackspace("alice", "SECRET-2", region="DFW"),
             Credentials.password(KS3, "alice", "SECRET-3", project_name="p"),
             Credentials.application_credential(KS3, "id", "SECRET-4"),
             Credentials.token(KS3, "SECRET-5"),
             Credentials.from_payload(KS2, {"x": "SECRET-6"}),
             Credentials.preauthenticated("https://s.test/v1/AUTH_a", "SECRET-7")]
    for cred in creds:
        text = repr(cred) + repr(cred.plugin) + repr(SwiftClient(cred))
        assert "SECRET" not in text, text
    assert "storage_url='https://s.test/v1/AUTH_a'" in repr(creds[-1])


# -- from_env ---------------------------------------------------------------------------


RC_V3 = {
    "OS_AUTH_URL": KS3, "OS_IDENTITY_API_VERSION": "3", "OS_USERNAME": "alice",
    "OS_PASSWORD": "pw", "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_ID": "default",
    "OS_PROJECT_NAME": "demo", "OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "public",
}


def test_from_env_password_rc_file(mock):
    mock.post(KS3 + "/auth/tokens", status=201, json=v3_token_body(V3_CATALOG),
              headers={"X-Subject-Token": "t"})
    creds = Credentials.from_env(RC_V3)
    assert (creds.kind, creds.region, creds.interface) == ("password", "RegionOne", "public")
    assert creds.endpoint() == "https://swift.example.test/v1/AUTH_p1"
    ident = sent_json(mock.calls[0])["auth"]
    assert ident["scope"] == {"project": {"name": "demo", "domain": {"id": "default"}}}
    assert ident["identity"]["password"]["user"]["domain"] == {"name": "Default"}


def test_from_env_horizon_rc_with_project_id_and_internal_endpoint_type(mock):
    mock.post(KS3 + "/auth/tokens", status=201, json=v3_token_body(V3_CATALOG),
              headers={"X-Subject-Token": "t"})
    env = dict(RC_V3, OS_PROJECT_ID="p1", OS_ENDPOINT_TYPE="internalURL")
    del env["OS_INTERFACE"]
    creds = Credentials.from_env(env)
    assert creds.endpoint() == "http://10.0.0.5:8080/v1/AUTH_p1"
    assert sent_json(mock.calls[0])["auth"]["scope"] == {"project": {"id": "p1"}}


def test_from_env_v2_tenant_name(mock):
    mock.post(KS2 + "/tokens", json=rackspace_access())
    creds = Credentials.from_env({"OS_AUTH_URL": KS2, "OS_USERNAME": "alice",
                                  "OS_PASSWORD": "pw", "OS_TENANT_NAME": "demo",
                                  "OS_REGION_NAME": "IAD"})
    assert creds.endpoint() == storage("IAD")
    assert sent_json(mock.calls[0])["auth"]["tenantName"] == "demo"


def test_from_env_application_credential(mock):
    mock.post(KS3 + "/auth/tokens", status=201, json=v3_token_body(V3_CATALOG),
              headers={"X-Subject-Token": "t"})
    creds = Credentials.from_env({"OS_AUTH_TYPE": "v3applicationcredential",
                                  "OS_AUTH_URL": KS3, "OS_APPLICATION_CREDENTIAL_ID": "ac",
                                  "OS_APPLICATION_CREDENTIAL_SECRET": "sec",
                                  "OS_REGION_NAME": "RegionOne"})
    assert creds.kind == "application_credential"
    assert creds.endpoint() == "https://swift.example.test/v1/AUTH_p1"


def test_from_env_token_and_preauthenticated(mock):
    mock.post(KS3 + "/auth/tokens", status=201, json=v3_token_body(V3_CATALOG),
              headers={"X-Subject-Token": "t"})
    tok = Credentials.from_env({"OS_AUTH_URL": KS3, "OS_AUTH_TOKEN": "tk",
                                "OS_PROJECT_NAME": "demo", "OS_REGION_NAME": "RegionOne"})
    assert tok.kind == "token"
    assert tok.endpoint() == "https://swift.example.test/v1/AUTH_p1"
    pre = Credentials.from_env({"OS_STORAGE_URL": "https://s.test/v1/AUTH_x",
                                "OS_AUTH_TOKEN": "tk", "OS_AUTH_URL": KS3})
    assert pre.kind == "preauthenticated"
    assert pre.endpoint() == "https://s.test/v1/AUTH_x" and pre.get_token() == "tk"


def test_from_env_storage_url_overrides_the_catalog(mock):
    mock.post(KS3 + "/auth/tokens", status=201, json=v3_token_body(V3_CATALOG),
              headers={"X-Subject-Token": "t"})
    creds = Credentials.from_env(dict(RC_V3, OS_STORAGE_URL="https://other.test/v1/AUTH_p1"))
    assert creds.endpoint() == "https://other.test/v1/AUTH_p1"


def test_from_env_swift_cli_v1(swift_server):
    creds = Credentials.from_env({"ST_AUTH": swift_server.auth_url, "ST_USER": swift_server.user,
                                  "ST_KEY": swift_server.key})
    assert creds.kind == "v1"
    assert SwiftClient(creds).head_account()["x-account-bytes-used"].isdigit()


def test_from_env_os_variables_with_version_1(swift_server):
    creds = Credentials.from_env({"OS_AUTH_URL": swift_server.auth_url,
                                  "OS_IDENTITY_API_VERSION": "1", "OS_USERNAME": swift_server.user,
                                  "OS_PASSWORD": swift_server.key})
    assert creds.endpoint() == swift_server.storage_url


def test_from_env_rackspace(mock):
    mock.post(RAX_TOKENS, json=rackspace_access())
    creds = Credentials.from_env({"OS_AUTH_TYPE": "rackspace", "OS_USERNAME": "alice",
                                  "OS_API_KEY": "k", "OS_REGION_NAME": "DFW"})
    assert creds.endpoint() == storage("DFW")


def test_from_env_reads_os_environ(monkeypatch, swift_server):
    for name in ("OS_AUTH_URL", "OS_PASSWORD", "OS_AUTH_TOKEN", "OS_STORAGE_URL",
                 "OS_AUTH_TYPE", "OS_APPLICATION_CREDENTIAL_ID", "OS_IDENTITY_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ST_AUTH", swift_server.auth_url)
    monkeypatch.setenv("ST_USER", swift_server.user)
    monkeypatch.setenv("ST_KEY", swift_server.key)
    assert SwiftClient.from_env().storage_url == swift_server.storage_url


@pytest.mark.parametrize("env, message", [
    ({}, "no credentials in the environment: set OS_AUTH_URL, OS_USERNAME, OS_PASSWORD"),
    ({"OS_AUTH_URL": KS3, "OS_USERNAME": "a"}, "no password in the environment: set "
                                                "OS_PASSWORD"),
    ({"OS_USERNAME": "a", "OS_PASSWORD": "p"}, "no identity service URL: set OS_AUTH_URL"),
    ({"OS_AUTH_URL": KS3, "OS_PASSWORD": "p"}, "password login needs a user: set OS_USERNAME"),
    ({"ST_AUTH": "http://a.test/auth/v1.0", "ST_USER": "u"}, "set ST_KEY"),
    ({"ST_AUTH": "http://a.test/auth/v1.0", "ST_USER": "u", "ST_KEY": "k",
      "OS_AUTH_URL": KS3}, "both ST_AUTH .* and OS_AUTH_URL are set"),
    ({"OS_STORAGE_URL": "https://s.test/v1/AUTH_x"}, "set OS_AUTH_TOKEN"),
    ({"OS_AUTH_TOKEN": "t"}, "set OS_STORAGE_URL"),
    (dict(RC_V3, OS_APPLICATION_CREDENTIAL_ID="x", OS_APPLICATION_CREDENTIAL_SECRET="y"),
     "both OS_PASSWORD and OS_APPLICATION_CREDENTIAL_.* are set"),
    ({"OS_AUTH_TYPE": "v3applicationcredential", "OS_AUTH_URL": KS3,
      "OS_APPLICATION_CREDENTIAL_SECRET": "s"}, "set OS_APPLICATION_CREDENTIAL_ID"),
    ({"OS_AUTH_TYPE": "v3applicationcredential", "OS_AUTH_URL": KS3,
      "OS_APPLICATION_CREDENTIAL_ID": "i"}, "set OS_APPLICATION_CREDENTIAL_SECRET"),
    (dict(RC_V3, OS_TENANT_NAME="other"), "contradictory settings: OS_PROJECT_NAME='demo', "
                                          "OS_TENANT_NAME='other'"),
    (dict(RC_V3, OS_ENDPOINT_TYPE="internalURL"), "contradictory settings: OS_INTERFACE"),
    (dict(RC_V3, OS_IDENTITY_API_VERSION="2"), "OS_IDENTITY_API_VERSION.*make them agree"),
    (dict(RC_V3, OS_INTERFACE="sideways"), "unknown endpoint interface 'sideways'"),
    (dict(RC_V3, OS_AUTH_TYPE="kerberos"), "OS_AUTH_TYPE='kerberos' is not supported"),
    ({"OS_AUTH_TYPE": "rackspace", "OS_USERNAME": "a"}, "set OS_USERNAME, OS_API_KEY"),
])
def test_from_env_errors_name_the_variables(env, message):
    with pytest.raises(errors.ConfigurationError, match=message):
        Credentials.from_env(env)


def test_empty_variables_count_as_unset():
    with pytest.raises(errors.ConfigurationError, match="no credentials"):
        Credentials.from_env({"OS_AUTH_URL": "", "OS_PASSWORD": " ", "ST_AUTH": ""})
