"""What Velocity's own HTTP code shares, standard library only: the error an
answered status raises, proxy settings from the environment, TLS contexts,
header decoding, a single request (the v1 login), and classes of libraries
looked up only once they are loaded.

Nothing here imports ``requests``, swiftclient or keystoneauth1: a command
that logs in with v1 or a pre-authenticated token and only sends requests
the direct transport knows never loads them (see
:mod:`velocity._transport`).
"""

from __future__ import annotations

import http.client
import os
import ssl
import sys
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Loaded", "StatusError", "IdentityUnreachable", "HeaderDict", "env_proxies",
           "tls_context", "ca_bundle", "decode_headers", "request"]


class Loaded:
    """Classes of a library's module, looked up only once it is loaded: an
    object (a failure, a login plugin) can only be an instance of one if the
    process imported the library, and not importing it keeps the start-up of
    a command that never needs it short.  An attribute is the class, or
    ``()`` (of which nothing is an instance) while the module is not loaded."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        module = sys.modules.get(self._module)
        return getattr(module, name, ()) if module is not None else ()


class StatusError(Exception):
    """Storage answered an error status.  The attributes are those of
    swiftclient's ``ClientException``, so one mapping serves both."""

    def __init__(self, msg: str, *, http_scheme: str = "", http_host: str = "",
                 http_port: Any = "", http_path: str = "", http_query: str = "",
                 http_status: int | None = None, http_reason: str = "",
                 http_response_content: bytes = b"",
                 http_response_headers: Mapping[str, str] | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.http_scheme = http_scheme
        self.http_host = http_host
        self.http_port = http_port
        self.http_path = http_path
        self.http_query = http_query
        self.http_status = http_status
        self.http_reason = http_reason
        self.http_response_content = http_response_content
        self.http_response_headers = dict(http_response_headers or {})
        headers = {k.lower(): v for k, v in self.http_response_headers.items()}
        self.transaction_id = headers.get("x-trans-id") or headers.get("x-openstack-request-id")

    def __str__(self) -> str:
        where = "%s://%s%s%s" % (self.http_scheme, self.http_host,
                                 ":%s" % self.http_port if self.http_port else "",
                                 self.http_path)
        text = "%s: %s %s %s" % (self.msg, where, self.http_status, self.http_reason)
        return text + (" (txn: %s)" % self.transaction_id if self.transaction_id else "")


class IdentityUnreachable(ConnectionError):
    """The identity service could not be reached (retried like any failed
    connection; ``__cause__`` is the socket's error)."""

    def __init__(self, origin: str, reason: str) -> None:
        super().__init__("could not reach the identity service at %s: %s" % (origin, reason))
        self.origin = origin
        self.reason = reason


class HeaderDict(dict):  # type: ignore[type-arg]
    """Response headers: lower-cased names, looked up in any case (as
    swiftclient's header dicts are)."""

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)


def decode_headers(pairs: list[tuple[str, str]], unquoted: bool = False) -> HeaderDict:
    """Lower-cased header names; values decoded from UTF-8 (which http.client
    hands over as Latin-1), and with ``unquoted`` percent-decoded as
    swiftclient does for metadata answers."""
    result = HeaderDict()
    for name, value in pairs:
        try:
            value = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
        if unquoted:
            try:
                value = unquote(value, errors="strict")
            except UnicodeDecodeError:
                pass
        dict.__setitem__(result, name.lower(), value)
    return result


def env_proxies(url: str) -> dict[str, str]:
    """The proxies the environment sets for ``url``, as ``requests`` reads
    them (``{}`` when none applies).  Without any ``*_proxy`` variable that
    is known at once; with one, ``requests``' own rules (``no_proxy`` and
    all) decide."""
    if not any(name.lower().endswith("_proxy") and name.lower() != "no_proxy" and value
               for name, value in os.environ.items()):
        return {}
    from requests.utils import get_environ_proxies

    return dict(get_environ_proxies(url, no_proxy=None))


def ca_bundle() -> str | None:
    """The CA bundle ``requests`` verifies with: ``REQUESTS_CA_BUNDLE`` /
    ``CURL_CA_BUNDLE``, else certifi's."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        return bundle
    try:
        import certifi  # what requests verifies with by default
    except ImportError:  # pragma: no cover - requests depends on certifi
        return None
    return certifi.where()


def tls_context(cacert: str | None = None, insecure: bool = False, cert: str | None = None,
                cert_key: str | None = None) -> ssl.SSLContext:
    """A client TLS context as swiftclient would verify: ``cacert`` (else
    :func:`ca_bundle`), ``insecure``, the client certificate ``cert`` and
    ``cert_key``.

    :raises OSError: or :class:`ssl.SSLError`, when a file cannot be used
    """
    context = ssl.create_default_context(cafile=cacert or ca_bundle())
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(cert, cert_key)
    return context


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc)


def request(method: str, url: str, headers: Mapping[str, str], *, timeout: float | None,
            context: ssl.SSLContext | None = None) -> tuple[int, str, HeaderDict]:
    """One request without a body on a connection of its own (closed after):
    ``(status, reason, headers)``; the answer's body is read and dropped.

    :raises IdentityUnreachable: the connection failed (or broke) before an answer
    """
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout,
                                           context=context or tls_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request(method, path, headers=dict(headers))
        response = conn.getresponse()
        response.read()
        return response.status, response.reason, decode_headers(response.getheaders())
    except ssl.SSLError as exc:  # a certificate problem: reported as such, never retried
        raise ssl.SSLError("%s (talking to %s)" % (exc, origin(url))) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise IdentityUnreachable(origin(url), _reason(exc)) from exc
    finally:
        conn.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.__class__.__name__
