"""The direct transport: object bodies on a per-thread ``http.client``
connection (a third of the client CPU of the ``requests`` stack per request),
and the tuning of swiftclient's own connections."""


from __future__ import annotations

import contextlib
import http.client
import logging
import os
import select
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from requests.utils import get_environ_proxies

from velocity._swiftclient import ClientException, swiftclient
from velocity._version import __version__

if TYPE_CHECKING:
    from velocity.client import SwiftClient


log = logging.getLogger("velocity")


# -- the direct transport for small objects -----------------------------------------


def _ca_bundle() -> str | None:
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        return bundle
    try:
        import certifi  # what requests verifies with by default
    except ImportError:  # pragma: no cover - requests depends on certifi
        return None
    return certifi.where()


def _response_headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased header names; values decoded as swiftclient does (UTF-8
    sent as Latin-1 by http.client)."""
    result = {}
    for name, value in pairs:
        try:
            value = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
        result[name.lower()] = value
    return result


class _GotContinue(Exception):
    """The server answered ``100 Continue``: send the body."""


class _FirstAnswer(http.client.HTTPResponse):
    """A response read right after the headers of a request sent with
    ``Expect: 100-continue``: a 100 stops it (raising :class:`_GotContinue`),
    any other status is the final answer, given before the body was sent."""

    def _read_status(self) -> tuple[str, int, str]:
        version, status, reason = super()._read_status()  # type: ignore[misc]
        if status == http.client.CONTINUE:
            while self.fp.readline() not in (b"\r\n", b"\n", b""):
                pass  # the interim answer's headers
            raise _GotContinue()
        return version, status, reason


def _dropped(sock: socket.socket | None) -> bool:
    """An idle keep-alive socket that is readable was closed by the server
    (or holds garbage): either way it cannot carry the next request."""
    if sock is None:
        return True
    try:
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _Direct:
    """One keep-alive ``http.client`` connection to a storage URL (one per
    thread, like the swiftclient connection it belongs to)."""

    def __init__(self, url: str, timeout: float | None,
                 context: Callable[[], ssl.SSLContext] | None = None) -> None:
        parts = urlsplit(url)
        self.url = url
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port
        self.base = parts.path.rstrip("/")
        self.timeout = timeout
        self.context = context
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None and self._conn.sock is not None and _dropped(self._conn.sock):
            log.debug("a kept-alive connection to %s was closed by the server; reconnecting",
                      self.host)
            self.close()
        if self._conn is None:
            if self.scheme == "https":
                context = self.context() if self.context is not None else \
                    ssl.create_default_context(cafile=_ca_bundle())
                self._conn = http.client.HTTPSConnection(self.host, self.port,
                                                         timeout=self.timeout, context=context,
                                                         blocksize=_SEND_BLOCK)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=self.timeout,
                                                        blocksize=_SEND_BLOCK)
        return self._conn

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Around any part of an exchange: a failure there (a body that
        stopped half-way on cancel, a dropped socket, a protocol error) leaves
        the connection mid-exchange, so it is closed; http.client's protocol
        errors become ``ConnectionError``, retried like a dropped socket."""
        try:
            yield
        except http.client.HTTPException as exc:
            self.close()
            raise ConnectionError("%s from %s" % (exc.__class__.__name__, self.host)) from None
        except BaseException:
            self.close()
            raise

    def request(self, method: str, container: str, obj: str, headers: dict[str, Any],
                body: Any = None, query_string: str | None = None, length: int = 0
                ) -> tuple[int, dict[str, str], bytes]:
        """One request, its answer read whole: ``(status, headers, body)``."""
        response, result = self.open(method, container, obj, headers, body, query_string,
                                     length)
        with self.guard():
            data = response.read()
        if response.will_close:
            self.close()
        return response.status, result, data

    def open(self, method: str, container: str, obj: str, headers: dict[str, Any],
             body: Any = None, query_string: str | None = None, length: int = 0
             ) -> tuple[http.client.HTTPResponse, dict[str, str]]:
        """Send a request; returns the response (its body unread) and its
        headers.  An error status raises swiftclient's ``ClientException``.

        A body of at least ``_EXPECT_MIN`` bytes is sent with ``Expect:
        100-continue``: a refusal (401 for an expired token, 404, 503, ...)
        then comes before the body is sent, not after a whole segment."""
        path = "%s/%s/%s" % (self.base, quote(container, safe=""), quote(obj, safe="/"))
        if query_string:
            path += "?" + query_string
        conn = self._connection()
        with self.guard():
            if body is not None and length >= _EXPECT_MIN:
                response = self._send_expecting(conn, method, path, headers, body)
            else:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
        result = _response_headers(response.getheaders())
        if not 200 <= response.status < 300:
            try:
                content = response.read()
            except (http.client.HTTPException, OSError):
                content = b""
            self.close()
            raise ClientException(
                "%s %s" % (response.status, response.reason), http_scheme=self.scheme,
                http_host=self.host, http_port=self.port or "", http_path=path.split("?")[0],
                http_query=query_string or "", http_status=response.status,
                http_reason=response.reason, http_response_content=content,
                http_response_headers=result)
        return response, result

    def _send_expecting(self, conn: http.client.HTTPConnection, method: str, path: str,
                        headers: dict[str, Any], body: Any) -> http.client.HTTPResponse:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Expect", "100-continue")
        conn.endheaders()
        sock = conn.sock
        readable = (isinstance(sock, ssl.SSLSocket) and sock.pending()) or \
            select.select([sock], [], [], _CONTINUE_WAIT)[0]
        if readable:
            first = _FirstAnswer(sock, method=method)  # type: ignore[arg-type]
            try:
                first.begin()
            except _GotContinue:
                first.fp.close()
            else:
                first.will_close = True  # the body was never sent: the connection is done
                return first
        # a 100 Continue, or no word within _CONTINUE_WAIT (RFC 9110: send anyway)
        _send_body(conn, body)
        return conn.getresponse()


def _send_body(conn: http.client.HTTPConnection, body: Any) -> None:
    """Send a request body: a file slice that offers ``sendfile(sock)`` goes
    from the page cache to a plain socket without passing through Python
    (TLS needs the bytes: they are read), anything else as http.client sends it."""
    sock = conn.sock
    sendfile = getattr(body, "sendfile", None)
    if sendfile is not None and sock is not None and not isinstance(sock, ssl.SSLSocket) \
            and sendfile(sock):
        return
    conn.send(body)


class _DirectBody:
    """An object body read from a direct connection in ``chunk``-sized blocks,
    each yielded as a memoryview of one reused buffer (valid until the next
    block is asked for).  ``close()`` before the end drops the connection."""

    def __init__(self, direct: _Direct, response: http.client.HTTPResponse,
                 chunk: int) -> None:
        self.direct = direct
        self.response = response
        self.buffer = bytearray(chunk)
        self.done = False

    def __iter__(self) -> Iterator[memoryview]:
        view = memoryview(self.buffer)
        while True:
            try:
                with self.direct.guard():
                    count = self.response.readinto(self.buffer)
            except BaseException:
                self.done = True  # guard() closed the connection
                raise
            if not count:
                break
            yield view[:count]
        self.done = True
        if self.response.will_close:
            self.direct.close()

    def close(self) -> None:
        if not self.done:
            self.done = True
            self.direct.close()  # the rest of the body is still on the socket


def _direct(client: SwiftClient, conn: swiftclient.Connection) -> _Direct | None:
    """The direct transport of ``conn`` (``None`` when a proxy applies)."""
    direct = getattr(conn, "_velocity_direct", None)
    if direct is not None and direct.url == conn.url:
        return direct
    if direct is not None:
        direct.close()
    direct = None
    if not get_environ_proxies(conn.url, no_proxy=None):
        direct = _Direct(conn.url, client.timeout, client._ssl_context)
    conn._velocity_direct = direct
    return direct


def _request_headers(conn: swiftclient.Connection, client: SwiftClient,
                     headers: dict[str, str] | None) -> dict[str, Any]:
    result = {"X-Auth-Token": conn.token,
              "User-Agent": client.user_agent or _USER_AGENT}
    for name, value in (headers or {}).items():
        # UTF-8 on the wire, as swiftclient sends metadata (http.client would use Latin-1)
        result[name] = str(value).encode("utf-8")
    return result


def _direct_put(client: SwiftClient, conn: swiftclient.Connection, container: str, obj: str,
                data: bytes, etag: str | None = None, headers: dict[str, str] | None = None,
                query_string: str | None = None) -> str:
    return _direct_put_stream(client, conn, container, obj, data, len(data), etag=etag,
                              headers=headers, query_string=query_string)


def _direct_get_stream(client: SwiftClient, conn: swiftclient.Connection, container: str,
                       obj: str, headers: dict[str, str] | None = None,
                       query_string: str | None = None, chunk: int = 1024 * 1024
                       ) -> tuple[dict[str, str], Any]:
    direct = _direct(client, conn)
    if direct is None:
        return conn.get_object(container, obj, headers=headers, query_string=query_string,
                               resp_chunk_size=chunk)
    response, result = direct.open("GET", container, obj,
                                   _request_headers(conn, client, headers),
                                   query_string=query_string)
    length = response.length  # None when not announced
    if length is not None and 0 < length < chunk:
        chunk = length  # a small object needs no 1 MiB buffer
    return result, _DirectBody(direct, response, chunk)


def _direct_put_stream(client: SwiftClient, conn: swiftclient.Connection, container: str,
                       obj: str, contents: Any, content_length: int, etag: str | None = None,
                       headers: dict[str, str] | None = None,
                       query_string: str | None = None) -> str:
    direct = _direct(client, conn)
    if direct is None:
        return conn.put_object(container, obj, contents, content_length=content_length,
                               etag=etag, headers=headers, query_string=query_string)
    sent = _request_headers(conn, client, headers)
    sent["Content-Length"] = str(content_length)
    if etag:
        sent["ETag"] = etag
    _, result, _ = direct.request("PUT", container, obj, sent, body=contents,
                                  query_string=query_string, length=content_length)
    return result.get("etag", "").strip('"')


_USER_AGENT = "python-velocity-%s" % __version__
#: bytes read from an upload body per socket send on the direct transport
_SEND_BLOCK = 1024 * 1024
#: bodies from this size on are sent with ``Expect: 100-continue``
_EXPECT_MIN = 1024 * 1024
#: seconds to wait for ``100 Continue`` before sending the body anyway
_CONTINUE_WAIT = 2.0

_DIRECT_OPERATIONS: dict[str, Callable[..., Any]] = {
    "put_small_object": _direct_put,
    "put_object_stream": _direct_put_stream,
    "get_object_stream": _direct_get_stream,
}


def _tune_http(factory: Callable[..., Any], agent: str | None) -> Callable[..., Any]:
    """Wrap ``swiftclient.Connection.http_connection`` so every HTTP connection
    it makes reads proxy and CA-bundle settings from the environment once,
    when it is made, instead of on every request: ``requests`` otherwise scans
    the whole environment per request, which was measured at a third of the
    client's CPU time for small objects."""

    def http_connection(*args: Any, **kwargs: Any) -> Any:
        parsed, conn = factory(*args, **kwargs)
        session = conn.request_session
        session.trust_env = False
        session.proxies.update(get_environ_proxies(conn.url, no_proxy=None))
        if conn.requests_args.get("verify") is True:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                conn.requests_args["verify"] = bundle
        if agent:
            conn.default_user_agent = agent
        return parsed, conn

    return http_connection
