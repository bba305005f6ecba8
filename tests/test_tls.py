"""HTTPS settings (``cacert``, ``insecure``, ``cert``/``cert_key``) on every path.

A TLS front on 127.0.0.1, with certificates made for the test by its own CA,
relays to LocalSwift; Velocity logs in and moves objects through it.  Identity
requests go through keystoneauth1, listings and manifests through
swiftclient, object bodies through the direct ``http.client`` transport: all
three must honour the same settings.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

import pytest
import urllib3  # noqa: F401 - named in a warning filter
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from velocity import errors
from velocity.auth import Credentials
from velocity.client import RetryPolicy, SwiftClient
from velocity.transfer import TransferConfig, TransferManager

MiB = 1024 * 1024


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _issue(subject: str, issuer_key, issuer: x509.Name | None, *, ca: bool = False,
           server: bool = False):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject))
               .issuer_name(issuer or _name(subject)).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert


def _write(path, key, cert) -> tuple[str, str]:
    cert_path, key_path = str(path) + ".crt", str(path) + ".key"
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = _issue("velocity test CA", None, None, ca=True)
    server_key, server_cert = _issue("127.0.0.1", ca_key, ca_cert.subject, server=True)
    client_key, client_cert = _issue("velocity client", ca_key, ca_cert.subject)
    ca_path, _ = _write(folder / "ca", ca_key, ca_cert)
    server = _write(folder / "server", server_key, server_cert)
    client = _write(folder / "client", client_key, client_cert)
    return {"ca": ca_path, "server": server, "client": client}


class TLSFront:
    """Terminates TLS on 127.0.0.1 and relays the plain bytes to ``upstream``."""

    def __init__(self, upstream: str, context: ssl.SSLContext) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "https://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.handshakes_failed = 0
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            sock.close()
            return
        upstream = socket.create_connection(self.upstream)
        threading.Thread(target=self._pipe, args=(upstream, tls), daemon=True).start()
        self._pipe(tls, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(256 * 1024)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.stopping = True
        self.listener.close()


def _front(swift_server, pki, client_certs: bool) -> TLSFront:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*pki["server"])
    if client_certs:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca"])
    return TLSFront(swift_server.proxy_url, context)


@pytest.fixture(scope="module")
def front(swift_server, pki):
    server = _front(swift_server, pki, client_certs=False)
    yield server
    server.close()


@pytest.fixture(scope="module")
def mutual(swift_server, pki):
    server = _front(swift_server, pki, client_certs=True)
    yield server
    server.close()


def _credentials(front: TLSFront, swift_server, **tls) -> Credentials:
    storage_path = urlsplit(swift_server.storage_url).path
    return Credentials.v1(front.url + "/auth/v1.0", swift_server.user, swift_server.key,
                          endpoint_override=front.url + storage_path, **tls)


def _round_trip(creds: Credentials, container: str, tmp_path) -> None:
    """Log in, upload a small and a segmented file, list, download, verify."""
    small, large = os.urandom(5000), os.urandom(5 * MiB)
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "small.bin").write_bytes(small)
    (tmp_path / "up" / "large.bin").write_bytes(large)
    config = TransferConfig(segment_threshold=2 * MiB, segment_size=2 * MiB)
    with SwiftClient(creds, retry=RetryPolicy(retries=1, backoff=0.01)) as client, \
            TransferManager(client, config) as manager:
        client.put_container(container)
        uploaded = manager.upload(container, str(tmp_path / "up"))
        assert all(r.ok for r in uploaded), [str(r) for r in uploaded]
        assert sorted(e["name"] for e in client.iter_container(container)) == [
            "large.bin", "small.bin"]
        downloaded = manager.download(container, out_dir=tmp_path / "down")
        assert all(r.ok for r in downloaded), [str(r) for r in downloaded]
        manager.delete(container)
        client.delete_container(container)
        client.delete_container(container + "_segments")
    for name, data in (("small.bin", small), ("large.bin", large)):
        got = (tmp_path / "down" / name).read_bytes()
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_cacert_verifies_the_server_on_every_path(front, swift_server, pki, container_name,
                                                  tmp_path):
    _round_trip(_credentials(front, swift_server, cacert=pki["ca"]), container_name, tmp_path)


def test_an_unknown_certificate_fails_at_once_and_says_what_to_do(front, swift_server):
    creds = _credentials(front, swift_server)
    with SwiftClient(creds) as client:  # default policy: 5 retries with backoff
        started = time.monotonic()
        with pytest.raises(errors.VelocityError, match="cacert") as caught:
            client.get_auth()
    assert time.monotonic() - started < 3  # a certificate problem is not retried
    assert "127.0.0.1" in str(caught.value)


def test_an_unknown_certificate_on_the_storage_path_is_refused(front, swift_server, pki,
                                                               container_name):
    """Logged in over plain HTTP, storage over HTTPS without the CA: the
    direct transport refuses the server as well."""
    storage_path = urlsplit(swift_server.storage_url).path
    creds = Credentials.v1(swift_server.auth_url, swift_server.user, swift_server.key,
                           endpoint_override=front.url + storage_path)
    with SwiftClient(creds, retry=RetryPolicy(retries=0)) as client:
        with pytest.raises(errors.ResponseError, match="TLS failure"):
            client.put_small_object(container_name, "x", b"x")
        with pytest.raises(errors.ResponseError, match="TLS failure"):
            client.put_container(container_name)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_insecure_skips_verification_on_every_path(front, swift_server, container_name,
                                                   tmp_path):
    _round_trip(_credentials(front, swift_server, insecure=True), container_name, tmp_path)


def test_client_certificate_on_every_path(mutual, swift_server, pki, container_name, tmp_path):
    cert, key = pki["client"]
    _round_trip(_credentials(mutual, swift_server, cacert=pki["ca"], cert=cert, cert_key=key),
                container_name, tmp_path)
    refused = mutual.handshakes_failed
    with SwiftClient(_credentials(mutual, swift_server, cacert=pki["ca"]),
                     retry=RetryPolicy(retries=0)) as client:
        with pytest.raises(errors.VelocityError):
            client.get_auth()
    deadline = time.monotonic() + 5  # the front counts it on its own thread
    while mutual.handshakes_failed == refused and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mutual.handshakes_failed > refused


def test_tls_settings_from_the_environment(front, swift_server, pki, container_name, tmp_path):
    storage_path = urlsplit(swift_server.storage_url).path
    creds = Credentials.from_env({
        "ST_AUTH": front.url + "/auth/v1.0", "ST_USER": swift_server.user,
        "ST_KEY": swift_server.key, "OS_STORAGE_URL": front.url + storage_path,
        "OS_CACERT": pki["ca"]})
    assert creds.cacert == pki["ca"] and not creds.insecure
    _round_trip(creds, container_name, tmp_path)
    assert Credentials.from_env({"ST_AUTH": front.url + "/auth/v1.0", "ST_USER": "u",
                                 "ST_KEY": "k", "OS_INSECURE": "true"}).insecure


def test_a_missing_tls_file_is_a_configuration_error(front, swift_server, tmp_path):
    creds = _credentials(front, swift_server, cacert=str(tmp_path / "nowhere.pem"))
    with SwiftClient(creds) as client:
        with pytest.raises(errors.ConfigurationError, match="nowhere.pem"):
            client._ssl_context()
