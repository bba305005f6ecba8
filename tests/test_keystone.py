"""Keystone v3 for real: a LocalKeystone (sqlite, fernet) and a Swift proxy
behind keystonemiddleware.  Slower tier: deselect with ``-m "not keystone"``."""

from __future__ import annotations

import threading

import pytest

from velocity import errors
from velocity.auth import Credentials
from velocity.client import SwiftClient

pytestmark = pytest.mark.keystone


@pytest.fixture(scope="module")
def stack():
    # no skip when Keystone is missing: the suite's command installs it; deselect
    # this tier with -m "not keystone" instead
    from velocity.server import LocalKeystone, LocalSwift

    with LocalKeystone() as ks, LocalSwift(keystone=ks) as swift:
        ks.register_swift(swift)
        yield ks, swift


def storage_url(stack, project: str = "test") -> str:
    ks, swift = stack
    return "%s/v1/AUTH_%s" % (swift.keystone_proxy_url, ks.project_ids[project])


def count_logins(creds: Credentials) -> list[int]:
    """Count the token requests the credentials' plugin makes."""
    calls: list[int] = []
    original = creds.plugin.get_auth_ref

    def get_auth_ref(session, **kwargs):
        calls.append(1)
        return original(session, **kwargs)

    creds.plugin.get_auth_ref = get_auth_ref  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("domains", [
    {"user_domain_name": "Default", "project_domain_name": "Default"},
    {"user_domain_id": "default", "project_domain_id": "default"},
    {},  # both default to the "default" domain
])
def test_v3_password_with_domains(stack, domains):
    ks, _ = stack
    creds = Credentials.password(ks.auth_url, "tester", "testing", project_name="test",
                                 **domains)
    with SwiftClient(creds) as client:
        assert client.storage_url == storage_url(stack)
        client.put_container("ks-domains")
        client.put_object("ks-domains", "o", b"via keystone")
        assert client.get_object("ks-domains", "o")[1] == b"via keystone"
        client.delete_object("ks-domains", "o")
        client.delete_container("ks-domains")


def test_application_credential(stack):
    ks, _ = stack
    credential_id, secret = ks.create_application_credential("tester")
    creds = Credentials.application_credential(ks.auth_url, credential_id, secret)
    client = SwiftClient(creds)
    assert client.storage_url == storage_url(stack)
    assert "x-account-container-count" in client.head_account()
    assert secret not in repr(creds) + repr(client)


def test_token_rescoped_to_a_project(stack):
    ks, _ = stack
    first = Credentials.password(ks.auth_url, "tester", "testing", project_name="test")
    creds = Credentials.token(ks.auth_url, first.get_token(), project_name="test")
    assert SwiftClient(creds).storage_url == storage_url(stack)


def test_internal_endpoints_and_regions(stack):
    ks, _ = stack
    creds = Credentials.password(ks.auth_url, "tester", "testing", project_name="test",
                                 region="RegionOne", internal=True)
    assert SwiftClient(creds).head_account()
    interfaces = {ep["interface"] for ep in creds.endpoints("object-store")}
    assert interfaces == {"public", "internal"}
    assert creds.regions() == ["RegionOne"]
    assert creds.cdn_url() is None
    with pytest.raises(errors.AuthenticationError,
                       match="region 'Nowhere' not in catalog; object-store regions: RegionOne"):
        creds.endpoint(region="Nowhere")


def test_wrong_password_is_authentication_failed(stack):
    ks, _ = stack
    creds = Credentials.password(ks.auth_url, "tester", "not-testing", project_name="test")
    with pytest.raises(errors.AuthenticationFailed) as info:
        SwiftClient(creds).head_account()
    assert info.value.status == 401
    assert "not-testing" not in str(info.value)


def test_a_project_without_access_gets_403(stack):
    ks, _ = stack
    other = Credentials.password(ks.auth_url, "tester2", "testing2", project_name="test2")
    assert SwiftClient(other).storage_url == storage_url(stack, "test2")
    # tester2's valid token on the test project's account
    trespass = Credentials.preauthenticated(storage_url(stack), other.get_token())
    with pytest.raises(errors.ResponseError) as info:
        SwiftClient(trespass).head_account()
    assert info.value.status == 403
    assert not isinstance(info.value, errors.AuthenticationFailed)


def test_from_env_with_an_rc_file(stack):
    ks, _ = stack
    rc = {  # what "source test-openrc.sh" leaves in the environment
        "OS_AUTH_URL": ks.auth_url, "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": "tester", "OS_PASSWORD": "testing",
        "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_ID": "default",
        "OS_PROJECT_NAME": "test", "OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "public",
    }
    assert SwiftClient.from_env(rc).storage_url == storage_url(stack)
    rc_by_id = dict(rc, OS_PROJECT_ID=ks.project_ids["test"])
    del rc_by_id["OS_PROJECT_NAME"]
    assert SwiftClient(Credentials.from_env(rc_by_id)).storage_url == storage_url(stack)


def test_20_threads_share_one_token(stack):
    ks, _ = stack
    creds = Credentials.password(ks.auth_url, "tester", "testing", project_name="test")
    logins = count_logins(creds)
    client = SwiftClient(creds)
    client.put_container("ks-threads")
    failures: list[str] = []

    def work(n: int) -> None:
        try:
            for i in range(3):
                name = "t%d-%d" % (n, i)
                client.put_object("ks-threads", name, name.encode())
                if client.get_object("ks-threads", name)[1] != name.encode():
                    failures.append(name)
                client.delete_object("ks-threads", name)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.delete_container("ks-threads")
    assert failures == []
    assert len(logins) == 1


def test_a_refused_token_is_renewed_once(stack):
    ks, _ = stack
    creds = Credentials.password(ks.auth_url, "tester", "testing", project_name="test")
    logins = count_logins(creds)
    client = SwiftClient(creds)
    client.head_account()
    # as if Keystone revoked it: the proxy refuses it (401)
    creds.plugin.auth_ref._auth_token = "gAAAAAB-not-a-valid-fernet-token"
    assert client.head_account()
    assert len(logins) == 2
