"""The direct transport: storage requests on a per-thread ``http.client``
connection (a third of the client CPU of the ``requests`` stack per
request, and none of its import time), each thread's :class:`Connection`,
and the tuning of swiftclient's own connections, which carry what the direct
transport does not (and everything when a proxy applies)."""


from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import select
import socket
import ssl
from collections.abc import Callable, Iterator
from urllib.parse import quote, urlsplit

from velocity import errors
from velocity._log import log
from velocity._version import __version__
from velocity._wire import HeaderDict, StatusError, decode_headers, env_proxies, tls_context

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

    from velocity.client import SwiftClient


# -- the direct transport for small objects -----------------------------------------


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
                context = self.context() if self.context is not None else tls_context()
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
                body: Any = None, query_string: str | None = None, length: int = 0,
                **options: Any) -> tuple[int, dict[str, str], bytes]:
        """One request, its answer read whole: ``(status, headers, body)``
        (``options`` as :meth:`open` takes them)."""
        response, result = self.open(method, container, obj, headers, body, query_string,
                                     length, **options)
        with self.guard():
            data = response.read()
        if response.will_close:
            self.close()
        return response.status, result, data

    def open(self, method: str, container: str, obj: str, headers: dict[str, Any],
             body: Any = None, query_string: str | None = None, length: int = 0, *,
             absolute: str | None = None, unquoted: bool = False
             ) -> tuple[http.client.HTTPResponse, dict[str, str]]:
        """Send a request about ``container`` (``""``: the account) and ``obj``
        (``""``: the container), or to the ``absolute`` path on the same
        host; returns the response (its body unread) and its headers
        (``unquoted``: percent-decoded, as swiftclient answers metadata).  An
        error status raises :class:`~velocity._wire.StatusError`.

        A body of at least ``_EXPECT_MIN`` bytes is sent with ``Expect:
        100-continue``: a refusal (401 for an expired token, 404, 503, ...)
        then comes before the body is sent, not after a whole segment."""
        if absolute is not None:
            path = absolute
        else:
            path = self.base
            if container:
                path += "/" + quote(container, safe="")
                if obj:
                    path += "/" + quote(obj, safe="/")
        if query_string:
            path += "?" + query_string
        conn = self._connection()
        with self.guard():
            if body is not None and length >= _EXPECT_MIN:
                response = self._send_expecting(conn, method, path, headers, body)
            else:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
        result = decode_headers(response.getheaders(), unquoted)
        if not 200 <= response.status < 300:
            try:
                content = response.read()
            except (http.client.HTTPException, OSError):
                content = b""
            self.close()
            raise StatusError(
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


_USER_AGENT = "python-velocity-%s" % __version__
#: bytes read from an upload body per socket send on the direct transport
_SEND_BLOCK = 1024 * 1024
#: bodies from this size on are sent with ``Expect: 100-continue``
_EXPECT_MIN = 1024 * 1024
#: seconds to wait for ``100 Continue`` before sending the body anyway
_CONTINUE_WAIT = 2.0


class Connection:
    """One thread's link to the storage: the storage URL and token it uses
    (kept current by :meth:`SwiftClient._sync`), its direct transport, and,
    made on first use, a ``swiftclient.Connection`` for the requests the
    direct transport does not send (all of them when a proxy applies)."""

    def __init__(self, client: SwiftClient, session: Any) -> None:
        self.client = client
        self.session = session  # what swiftclient sees as its keystoneauth session
        self.url: str | None = None
        self.token: str | None = None
        self.direct: _Direct | None = None
        self._decided: str | None = None  # the URL the choice of ``direct`` was made for
        self._swift: Any = None

    def swift(self) -> Any:
        """The ``swiftclient.Connection`` beside the direct transport, given
        this connection's URL and token."""
        if self._swift is None:
            self._swift = self.client._swift_connection(self.session)
        if self.url:
            self._swift.url, self._swift.token = self.url, self.token
        return self._swift

    def transport(self) -> _Direct | None:
        """The direct transport for ``url`` (``None`` when a proxy applies:
        then everything goes through :meth:`swift`)."""
        url = self.url or ""
        if not self.client.direct:
            return None
        if self._decided == url:  # the environment is read once per URL, not per request
            return self.direct
        if self.direct is not None:
            self.direct.close()
        self.direct = None if env_proxies(url) else _Direct(url, self.client.timeout,
                                                           self.client._ssl_context)
        self._decided = url
        return self.direct

    def close(self) -> None:
        """Close the sockets (the connection stays usable)."""
        if self.direct is not None:
            self.direct.close()
        if self._swift is not None:
            self._swift.close()


def _request_headers(conn: Connection, client: SwiftClient,
                     headers: dict[str, str] | None) -> dict[str, Any]:
    result: dict[str, Any] = {"X-Auth-Token": conn.token,
                              "User-Agent": client.user_agent or _USER_AGENT}
    for name, value in (headers or {}).items():
        # UTF-8 on the wire, as swiftclient sends metadata (http.client would use Latin-1)
        result[name] = str(value).encode("utf-8")
    return result


def _direct_put(client: SwiftClient, conn: Connection, container: str, obj: str,
                data: bytes, etag: str | None = None, headers: dict[str, str] | None = None,
                query_string: str | None = None) -> str:
    return _direct_put_stream(client, conn, container, obj, data, len(data), etag=etag,
                              headers=headers, query_string=query_string)


def _direct_get_stream(client: SwiftClient, conn: Connection, container: str,
                       obj: str, headers: dict[str, str] | None = None,
                       query_string: str | None = None, chunk: int = 1024 * 1024
                       ) -> tuple[dict[str, str], Any]:
    direct = conn.transport()
    if direct is None:
        return conn.swift().get_object(container, obj, headers=headers,
                                       query_string=query_string, resp_chunk_size=chunk)
    response, result = direct.open("GET", container, obj,
                                   _request_headers(conn, client, headers),
                                   query_string=query_string, unquoted=True)
    length = response.length  # None when not announced
    if length is not None and 0 < length < chunk:
        chunk = length  # a small object needs no 1 MiB buffer
    return result, _DirectBody(direct, response, chunk)


def _direct_put_stream(client: SwiftClient, conn: Connection, container: str,
                       obj: str, contents: Any, content_length: int, etag: str | None = None,
                       headers: dict[str, str] | None = None,
                       query_string: str | None = None) -> str:
    direct = conn.transport()
    if direct is None:
        return conn.swift().put_object(container, obj, contents, content_length=content_length,
                                       etag=etag, headers=headers, query_string=query_string)
    return _put(client, direct, conn, container, obj, contents, content_length, etag, headers,
                query_string)


def _put(client: SwiftClient, direct: _Direct, conn: Connection, container: str, obj: str,
         body: Any, length: int, etag: str | None, headers: dict[str, str] | None,
         query_string: str | None, response_dict: dict[str, Any] | None = None) -> str:
    """A PUT of ``length`` bytes on the direct connection; returns the ETag
    the server answers (checked against ``etag`` by the server, when given)."""
    sent = {k: v for k, v in (headers or {}).items() if k.lower() != "content-length"}
    sent["Content-Length"] = str(length)
    if etag:
        sent["ETag"] = etag.strip('"')
    result, _ = _answer(client, direct, conn, "PUT", container, obj, sent, query_string,
                        response_dict, body, length=length)
    return result.get("etag", "").strip('"')


class _Bounded:
    """The next ``length`` bytes of a file-like object (as swiftclient's
    ``LengthWrapper`` sends a body whose length was given)."""

    def __init__(self, source: Any, length: int) -> None:
        self.source = source
        self.left = length

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.source.read(size)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not data:  # the server would wait for the rest until it gives up
            raise errors.IncompleteSend("the body ended %d bytes short of its content_length"
                                        % self.left)
        self.left -= len(data)
        return data


def _put_object(client: SwiftClient, conn: Connection, container: str, obj: str,
                contents: Any = None, content_length: int | None = None,
                etag: str | None = None, chunk_size: int | None = None,
                content_type: str | None = None, headers: dict[str, str] | None = None,
                query_string: str | None = None, response_dict: dict[str, Any] | None = None
                ) -> str:
    """swiftclient's ``put_object``: bytes, or a file-like object whose length
    is given, go on the direct connection; anything else (text, an iterable,
    a stream of unknown length, sent chunked) through swiftclient."""
    if content_length is None:
        for name, value in (headers or {}).items():
            if name.lower() == "content-length":
                content_length = int(value)
    if not contents:
        contents, content_length = b"", 0
    direct = conn.transport()
    plain = isinstance(contents, (bytes, bytearray, memoryview))
    if direct is None or not (plain or (hasattr(contents, "read") and
                                        content_length is not None)):
        return conn.swift().put_object(container, obj, contents, content_length=content_length,
                                       etag=etag, chunk_size=chunk_size,
                                       content_type=content_type, headers=headers,
                                       query_string=query_string, response_dict=response_dict)
    if plain:
        content_length = len(contents)
    else:
        contents = _Bounded(contents, content_length or 0)
    if content_type is not None:
        headers = {**(headers or {}), "Content-Type": content_type}
    return _put(client, direct, conn, container, obj, contents, content_length or 0, etag,
                headers, query_string, response_dict)


def _get_object(client: SwiftClient, conn: Connection, container: str, obj: str,
                resp_chunk_size: int | None = None, query_string: str | None = None,
                response_dict: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> tuple[dict[str, str], Any]:
    """swiftclient's ``get_object`` read whole (``get_object_stream`` streams)."""
    direct = conn.transport()
    if direct is None or resp_chunk_size:
        return conn.swift().get_object(container, obj, resp_chunk_size=resp_chunk_size,
                                       query_string=query_string,
                                       response_dict=response_dict, headers=headers)
    return _answer(client, direct, conn, "GET", container, obj, headers, query_string,
                   response_dict, unquoted=True)


# -- metadata and listings, as swiftclient.Connection answers them ------------------


def _get_auth(client: SwiftClient, conn: Connection) -> tuple[str | None, str | None]:
    return conn.url, conn.token  # SwiftClient._sync logged in


def _head(client: SwiftClient, direct: _Direct, conn: Connection, container: str, obj: str,
          headers: dict[str, str] | None, query_string: str | None = None) -> HeaderDict:
    return _answer(client, direct, conn, "HEAD", container, obj, headers, query_string, None,
                   unquoted=True)[0]  # type: ignore[return-value]


def _head_account(client: SwiftClient, conn: Connection,
                  headers: dict[str, str] | None = None) -> HeaderDict:
    direct = conn.transport()
    if direct is None:
        return conn.swift().head_account(headers=headers)
    return _head(client, direct, conn, "", "", headers)


def _head_container(client: SwiftClient, conn: Connection, container: str,
                    headers: dict[str, str] | None = None) -> HeaderDict:
    direct = conn.transport()
    if direct is None:
        return conn.swift().head_container(container, headers=headers)
    return _head(client, direct, conn, container, "", headers)


def _head_object(client: SwiftClient, conn: Connection, container: str, obj: str,
                 headers: dict[str, str] | None = None,
                 query_string: str | None = None) -> HeaderDict:
    direct = conn.transport()
    if direct is None:
        return conn.swift().head_object(container, obj, headers=headers,
                                        query_string=query_string)
    return _head(client, direct, conn, container, obj, headers, query_string)


def _listing(client: SwiftClient, conn: Connection, container: str, *,
             marker: str | None, limit: int | None, prefix: str | None,
             delimiter: str | None, end_marker: str | None, version_marker: str | None,
             path: str | None, full_listing: bool, headers: dict[str, str] | None,
             query_string: str | None, direct: _Direct
             ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """An account (``container`` ``""``) or container listing, page after
    page with ``full_listing``, as swiftclient pages it."""
    sent = _request_headers(conn, client, headers)

    def page(marker: str | None, version_marker: str | None
             ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        query = "format=json"
        for name, value in (("marker", marker), ("limit", str(limit) if limit else None),
                            ("prefix", prefix), ("delimiter", delimiter),
                            ("end_marker", end_marker), ("version_marker", version_marker),
                            ("path", path)):
            if value:
                query += "&%s=%s" % (name, quote(value, safe="/"))
        if query_string:
            query += "&" + query_string.lstrip("?")
        status, result, body = direct.request("GET", container, "", sent, query_string=query,
                                              unquoted=True)
        return result, [] if status == 204 or not body else json.loads(body)

    result, listing = page(marker, version_marker)
    if full_listing:
        more = listing
        while more:
            last = more[-1]
            marker = last.get("name", last.get("subdir"))
            more = page(marker, last.get("version_id"))[1]
            listing.extend(more)
    return result, listing


def _get_account(client: SwiftClient, conn: Connection, marker: str | None = None,
                 limit: int | None = None, prefix: str | None = None,
                 end_marker: str | None = None, full_listing: bool = False,
                 headers: dict[str, str] | None = None, delimiter: str | None = None
                 ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    direct = conn.transport()
    if direct is None:
        return conn.swift().get_account(marker=marker, limit=limit, prefix=prefix,
                                        end_marker=end_marker, full_listing=full_listing,
                                        headers=headers, delimiter=delimiter)
    return _listing(client, conn, "", marker=marker, limit=limit, prefix=prefix,
                    delimiter=delimiter, end_marker=end_marker, version_marker=None,
                    path=None, full_listing=full_listing, headers=headers,
                    query_string=None, direct=direct)


def _get_container(client: SwiftClient, conn: Connection, container: str,
                   marker: str | None = None, limit: int | None = None,
                   prefix: str | None = None, delimiter: str | None = None,
                   end_marker: str | None = None, version_marker: str | None = None,
                   path: str | None = None, full_listing: bool = False,
                   headers: dict[str, str] | None = None, query_string: str | None = None
                   ) -> tuple[dict[str, str], list[dict[str, Any]]]:
    direct = conn.transport()
    if direct is None:
        return conn.swift().get_container(
            container, marker=marker, limit=limit, prefix=prefix, delimiter=delimiter,
            end_marker=end_marker, version_marker=version_marker, path=path,
            full_listing=full_listing, headers=headers, query_string=query_string)
    return _listing(client, conn, container, marker=marker, limit=limit, prefix=prefix,
                    delimiter=delimiter, end_marker=end_marker,
                    version_marker=version_marker, path=path, full_listing=full_listing,
                    headers=headers, query_string=query_string, direct=direct)


def _info_path(url: str) -> str:
    """The path of the cluster's ``/info`` as swiftclient finds it from a
    storage URL: ``/v1/AUTH_x`` (after any prefix) becomes ``/info``."""
    path = urlsplit(url).path
    if re.search(r"/v\d+\.?\d*(/.*)?", path):
        return re.sub(r"/v\d+\.?\d*(/.*)?", "/info", path, count=1)
    if "/info" in path:
        return path
    return path + ("info" if path.endswith("/") else "/info")


def _get_capabilities(client: SwiftClient, conn: Connection, url: str | None = None
                      ) -> dict[str, Any]:
    direct = conn.transport()
    if direct is None or (url and urlsplit(url).netloc != urlsplit(direct.url).netloc):
        return conn.swift().get_capabilities(url)
    _, _, body = direct.request("GET", "", "", {"User-Agent": client.user_agent or _USER_AGENT},
                                absolute=_info_path(url or direct.url))
    return json.loads(body)


def _answer(client: SwiftClient, direct: _Direct, conn: Connection, method: str,
            container: str, obj: str, headers: dict[str, str] | None,
            query_string: str | None, response_dict: dict[str, Any] | None,
            body: Any = None, unquoted: bool = False, length: int = 0
            ) -> tuple[dict[str, str], bytes]:
    """One request, its answer read whole: ``(headers, body)`` (``unquoted``:
    header values percent-decoded); ``response_dict`` filled as swiftclient
    fills it."""
    try:
        status, result, data = direct.request(method, container, obj,
                                              _request_headers(conn, client, headers),
                                              body=body, query_string=query_string,
                                              length=length, unquoted=unquoted)
    except StatusError as exc:
        if response_dict is not None:
            response_dict.update(status=exc.http_status, reason=exc.http_reason,
                                 headers=exc.http_response_headers)
        raise
    if response_dict is not None:
        response_dict.update(status=status, reason="", headers=result)
    return result, data


def _no_answer(client: SwiftClient, direct: _Direct, conn: Connection, method: str,
               container: str, obj: str, headers: dict[str, str] | None,
               query_string: str | None, response_dict: dict[str, Any] | None,
               body: bytes | None = None) -> None:
    """A request whose answer has no body worth returning."""
    _answer(client, direct, conn, method, container, obj, headers, query_string,
            response_dict, body)


def _put_container(client: SwiftClient, conn: Connection, container: str,
                   headers: dict[str, str] | None = None,
                   response_dict: dict[str, Any] | None = None,
                   query_string: str | None = None) -> None:
    direct = conn.transport()
    if direct is None:
        return conn.swift().put_container(container, headers=headers,
                                          response_dict=response_dict,
                                          query_string=query_string)
    return _no_answer(client, direct, conn, "PUT", container, "", headers, query_string,
                      response_dict)


def _delete_object(client: SwiftClient, conn: Connection, container: str, obj: str,
                   query_string: str | None = None, response_dict: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> None:
    direct = conn.transport()
    if direct is None:
        return conn.swift().delete_object(container, obj, query_string=query_string,
                                          response_dict=response_dict, headers=headers)
    return _no_answer(client, direct, conn, "DELETE", container, obj, headers, query_string,
                      response_dict)


def _post_account(client: SwiftClient, conn: Connection, headers: dict[str, str],
                  response_dict: dict[str, Any] | None = None, query_string: str | None = None,
                  data: bytes | None = None) -> tuple[dict[str, str], bytes]:
    direct = conn.transport()
    if direct is None:
        return conn.swift().post_account(headers, response_dict=response_dict,
                                         query_string=query_string, data=data)
    return _answer(client, direct, conn, "POST", "", "", headers, query_string,
                   response_dict, data)


def _post_container(client: SwiftClient, conn: Connection, container: str,
                    headers: dict[str, str], response_dict: dict[str, Any] | None = None
                    ) -> None:
    direct = conn.transport()
    if direct is None:
        return conn.swift().post_container(container, headers, response_dict=response_dict)
    return _no_answer(client, direct, conn, "POST", container, "", headers, None,
                      response_dict)


def _delete_container(client: SwiftClient, conn: Connection, container: str,
                      response_dict: dict[str, Any] | None = None,
                      query_string: str | None = None, headers: dict[str, str] | None = None
                      ) -> None:
    direct = conn.transport()
    if direct is None:
        return conn.swift().delete_container(container, response_dict=response_dict,
                                             query_string=query_string, headers=headers or {})
    return _no_answer(client, direct, conn, "DELETE", container, "", headers, query_string,
                      response_dict)


def _post_object(client: SwiftClient, conn: Connection, container: str, obj: str,
                 headers: dict[str, str], response_dict: dict[str, Any] | None = None) -> None:
    direct = conn.transport()
    if direct is None:
        return conn.swift().post_object(container, obj, headers, response_dict=response_dict)
    return _no_answer(client, direct, conn, "POST", container, obj, headers, None,
                      response_dict)


def _copy_object(client: SwiftClient, conn: Connection, container: str, obj: str,
                 destination: str | None = None, headers: dict[str, str] | None = None,
                 fresh_metadata: bool | None = None,
                 response_dict: dict[str, Any] | None = None) -> None:
    """A server-side COPY, with the headers swiftclient's ``copy_object`` sends:
    ``Destination`` (quoted; the object itself by default) and
    ``X-Fresh-Metadata`` when ``fresh_metadata`` is given."""
    direct = conn.transport()
    if direct is None:
        return conn.swift().copy_object(container, obj, destination, headers, fresh_metadata,
                                        response_dict=response_dict)
    sent = dict(headers) if headers else {}
    sent["Destination"] = quote(destination) if destination is not None else "/%s/%s" % (
        quote(container), quote(obj))
    if fresh_metadata is not None:
        for name in [n for n in sent if n.lower() == "x-fresh-metadata"]:
            del sent[name]
        sent["X-Fresh-Metadata"] = "true" if fresh_metadata else "false"
    return _no_answer(client, direct, conn, "COPY", container, obj, sent, None, response_dict,
                      b"")


_DIRECT_OPERATIONS: dict[str, Callable[..., Any]] = {
    "put_small_object": _direct_put,
    "put_object_stream": _direct_put_stream,
    "get_object_stream": _direct_get_stream,
    "get_auth": _get_auth,
    "head_account": _head_account,
    "head_container": _head_container,
    "head_object": _head_object,
    "get_account": _get_account,
    "get_container": _get_container,
    "get_capabilities": _get_capabilities,
    "put_container": _put_container,
    "delete_object": _delete_object,
    "post_account": _post_account,
    "post_container": _post_container,
    "delete_container": _delete_container,
    "post_object": _post_object,
    "copy_object": _copy_object,
    "put_object": _put_object,
    "get_object": _get_object,
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
        session.proxies.update(env_proxies(conn.url))
        if conn.requests_args.get("verify") is True:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                conn.requests_args["verify"] = bundle
        if agent:
            conn.default_user_agent = agent
        return parsed, conn

    return http_connection
