"""A loopback HTTP/1.1 proxy that injects faults between a client and Swift.

Put in front of :class:`velocity.server.LocalSwift`, it makes Velocity's real
transports (swiftclient over requests, the direct ``http.client`` one) meet
error statuses, connection resets, truncated or corrupted bodies and expired
tokens (see :meth:`FaultProxy.add`).  Auth responses always get aliased tokens
and a storage URL pointing at the proxy, so that clients authenticating at
``proxy.rewrite(swift_server.auth_url)`` send everything through it.
Standard library only: a daemon thread and an upstream ``http.client``
connection per client connection; bodies are streamed in 64 KiB blocks.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import random
import re
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Optional
from urllib.parse import urlsplit

BLOCK = 64 * 1024
KINDS = ("status", "reset_request", "reset_response", "truncate", "corrupt", "corrupt_request",
         "expire_token")
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
                        "expect"})
TOKEN_HEADERS = ("x-auth-token", "x-storage-token")
LOGGED_HEADERS = ("range", "if-match", "if-none-match", "if-modified-since",
                  "if-unmodified-since", "expect", "content-length", "transfer-encoding", "etag")
SOCKET_TIMEOUT = 60.0
LINGER_SECONDS = 2.0  # how long to discard what a client still sends after a refusal
MAX_LINE = 65536


class _ClientGone(Exception):
    """The client closed its connection early or sent something unparseable."""


@dataclass
class Rule:
    """One fault and the requests it applies to; made by :meth:`FaultProxy.add`."""

    kind: str
    method: str | None = None
    path: re.Pattern[str] | None = None
    rate: float = 1.0
    count: int | None = None
    status: int = 503
    retry_after: str | None = None
    at: float = 0.5
    lifetime: int = 0  # expire_token: requests an alias serves before it may expire
    fired: int = 0  # how many times it was injected

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule applies to this request and has injections left."""
        return ((self.method is None or self.method == method)
                and (self.path is None or self.path.search(path) is not None)
                and (self.count is None or self.fired < self.count))


@dataclass
class Stats:
    """What went through the proxy (updated holding ``lock``).  ``log`` has a
    ``(method, path, status_sent or None if reset, {logged header: value})``
    per request; body bytes are payload bytes read from / handed to clients."""

    injected: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    request_body_bytes: int = 0
    response_body_bytes: int = 0
    log: list[tuple[str, str, Optional[int], dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


@dataclass
class _Request:
    """A parsed request head."""

    method: str
    target: str  # path and query
    version: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name), "")

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        return self.version == "HTTP/1.1" and "close" not in self.header("connection").lower()


def _read_request(rfile: BinaryIO) -> _Request | None:
    """The next request head on a client connection (``None`` at a clean end)."""
    line = rfile.readline(MAX_LINE)
    while line in (b"\r\n", b"\n"):
        line = rfile.readline(MAX_LINE)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _ClientGone("bad request line %r" % line[:100])
    headers = []
    while True:
        line = rfile.readline(MAX_LINE)
        if line in (b"\r\n", b"\n"):
            target = parts[1]
            if target.startswith("http://"):  # absolute form: used as a forward proxy
                target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
            return _Request(parts[0].upper(), target, parts[2], headers)
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise _ClientGone("bad header line %r" % line[:100])
        headers.append((name.strip(), value.strip()))


class _BodyReader:
    """Reads a request body framed by Content-Length or chunked coding, counting it."""

    def __init__(self, rfile: BinaryIO, request: _Request, stats: Stats) -> None:
        self.rfile, self.stats = rfile, stats
        self.chunked = "chunked" in request.header("transfer-encoding").lower()
        self.remaining = 0 if self.chunked else int(request.header("content-length") or 0)
        self.length = None if self.chunked else self.remaining
        self.done = not self.chunked and self.remaining == 0
        self.received = 0

    def read(self, limit: int = BLOCK) -> bytes:
        """Up to ``limit`` bytes (from one chunk at most); ``b""`` at the end."""
        try:
            if not self.done and self.chunked and self.remaining == 0:
                self.remaining = int(self.rfile.readline(MAX_LINE).split(b";")[0], 16)
                if self.remaining == 0:
                    while self.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass  # trailers are dropped
                    self.done = True
            if self.done:
                return b""
            data = self.rfile.read(min(limit, self.remaining))
            if not data:
                raise _ClientGone("request body ended early")
        except (OSError, ValueError) as exc:
            raise _ClientGone(str(exc)) from exc
        self.remaining -= len(data)
        self.received += len(data)
        if self.remaining == 0 and self.chunked:
            self.rfile.readline(MAX_LINE)  # the CRLF ending the chunk
        self.done = self.done or (self.remaining == 0 and not self.chunked)
        with self.stats.lock:
            self.stats.request_body_bytes += len(data)
        return data


@dataclass
class _Client:
    """One client connection and the upstream connection serving it."""

    sock: socket.socket
    rfile: BinaryIO
    upstream: http.client.HTTPConnection | None = None


def _head(status: int, reason: str, headers: list[tuple[str, str]]) -> bytes:
    lines = ["HTTP/1.1 %d %s" % (status, reason)] + ["%s: %s" % pair for pair in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class FaultProxy:
    """A fault-injecting HTTP/1.1 proxy on 127.0.0.1 in front of ``upstream``
    (``http://host:port``); ``seed`` seeds the draws deciding ``rate``."""

    def __init__(self, upstream: str, *, seed: int = 0) -> None:
        split = urlsplit(upstream)
        if split.scheme != "http" or not split.hostname:
            raise ValueError("upstream must be http://host:port, not %r" % upstream)
        self.upstream = "http://%s" % split.netloc
        self._host, self._port = split.hostname, split.port or 80
        self.url = ""  # set by start()
        self.stats = Stats()
        self._rules: list[Rule] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._aliases: dict[str, str] = {}  # alias -> real token
        self._expired: set[str] = set()
        self._uses: dict[str, int] = {}  # alias -> requests it came with
        self._clients: dict[socket.socket, threading.Thread] = {}
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    # -- public API ----------------------------------------------------------

    def start(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1; ``url`` tells which."""
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.2)  # so that the accept loop notices stop()
        self.url = "http://127.0.0.1:%d" % self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop listening, shut client connections down, join the threads briefly."""
        self._stopping.set()
        with self._lock:
            clients = list(self._clients.items())
        for sock, _ in clients:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        for thread in [thread for _, thread in clients] + [self._acceptor]:
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def rewrite(self, url: str) -> str:
        """``url`` with the upstream's ``scheme://host:port`` replaced by the proxy's."""
        if url == self.upstream or url.startswith(self.upstream + "/"):
            return self.url + url[len(self.upstream):]
        return url

    def add(self, kind: str, *, method: str | None = None, path: str | None = None,
            rate: float = 1.0, count: int | None = None, status: int = 503,
            retry_after: str | None = None, at: float = 0.5, lifetime: int = 0) -> Rule:
        """Inject ``kind`` into requests matching ``method`` and ``path`` (a regex
        searched in the path without query), each with probability ``rate``, at
        most ``count`` times; the first rule that matches and wins its draw applies.

        ``status``: answer ``status`` (and ``Retry-After``) without forwarding or
        reading the body, then close.  ``reset_request``: read ``at`` of the body
        (or a chunk), then RST.  ``reset_response`` / ``truncate``: forward, send
        the head and ``at`` of the body, then RST / FIN.  ``corrupt``: flip a bit
        of the body's byte at ``at`` (for bodies of unknown length, ``at`` is a
        fraction of 64 KiB).  ``corrupt_request``: flip a bit of the request
        body's byte at ``at`` on its way to the server (bodies of known
        length).  ``expire_token`` (requests with a token alias only): expire
        the alias, answer 401 to it from now on; with
        ``lifetime``, only an alias that served that many requests expires
        (a real token lives a while before it expires).
        """
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r (one of %s)" % (kind, ", ".join(KINDS)))
        rule = Rule(kind, method.upper() if method else None,
                    re.compile(path) if path is not None else None,
                    rate, count, status, retry_after, at, lifetime)
        with self._lock:
            self._rules.append(rule)
        return rule

    def drop_connections(self) -> None:
        """Close every client connection now, as a server closes idle
        keep-alive connections."""
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def clear(self) -> None:
        """Remove every rule (statistics stay)."""
        with self._lock:
            self._rules.clear()

    def reset_stats(self) -> None:
        """Zero the statistics, in place."""
        with self.stats.lock:
            self.stats.injected.clear()
            self.stats.requests.clear()
            self.stats.request_body_bytes = self.stats.response_body_bytes = 0
            self.stats.log.clear()

    # -- connections ---------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            sock.settimeout(SOCKET_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            with self._lock:
                self._clients[sock] = thread
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        """Answer requests on one client connection, then close it as the last
        answer asks: ``reset`` (RST), ``drain`` (FIN, then discard what the
        client still sends for a while, as servers do) or plainly."""
        client, ending = _Client(sock, sock.makefile("rb")), "close"
        try:
            while not self._stopping.is_set():
                request = _read_request(client.rfile)
                ending = self._handle(client, request) if request else "close"
                if ending != "keep":
                    break
            if ending == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif ending == "drain":
                sock.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + LINGER_SECONDS
                while not self._stopping.is_set() and time.monotonic() < deadline:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    if not sock.recv(BLOCK):
                        break
        except (OSError, ValueError, _ClientGone, http.client.HTTPException):
            pass
        finally:
            client.rfile.close()
            sock.close()
            if client.upstream is not None:
                client.upstream.close()
            with self._lock:
                self._clients.pop(sock, None)

    # -- requests ------------------------------------------------------------

    def _handle(self, client: _Client, request: _Request) -> str:
        """Answer one request; returns how the connection goes on (see _serve)."""
        with self.stats.lock:
            self.stats.requests[request.method] += 1
        with self._lock:
            alias = next((value for name, value in request.headers if name.lower()
                          in TOKEN_HEADERS and (value in self._aliases or value in self._expired)),
                         None)
            expired = alias in self._expired
            uses = self._uses[alias] = self._uses.get(alias, 0) + 1 if alias else 0
        if expired:
            return self._answer(client, request, 401)
        rule = self._pick(request, has_alias=alias is not None, uses=uses)
        if rule is not None and rule.kind == "expire_token" and alias is not None:
            with self._lock:
                self._expired.add(alias)
                self._aliases.pop(alias, None)
            return self._answer(client, request, 401)
        if rule is not None and rule.kind == "status":
            return self._answer(client, request, rule.status, rule.retry_after)
        body = _BodyReader(client.rfile, request, self.stats)
        if request.header("expect").lower() == "100-continue" and not body.done:
            client.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if rule is not None and rule.kind == "reset_request":
            if body.chunked:
                body.read()  # (a part of) the first chunk
            wanted = int(rule.at * (body.length or 0))
            while body.received < wanted:
                body.read(wanted - body.received)
            self._log(request, None)
            return "reset"
        return self._forward(client, request, body, rule)

    def _pick(self, request: _Request, has_alias: bool, uses: int = 0) -> Rule | None:
        """The rule to apply to ``request``, counted as injected (or ``None``)."""
        with self._lock:
            for rule in self._rules:
                if rule.kind == "expire_token" and (not has_alias or uses <= rule.lifetime):
                    continue
                if rule.matches(request.method, request.path) and self._rng.random() < rule.rate:
                    rule.fired += 1
                    with self.stats.lock:
                        self.stats.injected[rule.kind] += 1
                    return rule
        return None

    def _log(self, request: _Request, status: int | None) -> None:
        headers = {name.lower(): value for name, value in request.headers
                   if name.lower() in LOGGED_HEADERS}
        with self.stats.lock:
            self.stats.log.append((request.method, request.path, status, headers))

    def _send_body(self, client: _Client, data: bytes, chunked: bool) -> None:
        with self.stats.lock:
            self.stats.response_body_bytes += len(data)
        client.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)

    def _answer(self, client: _Client, request: _Request, status: int,
                retry_after: str | None = None) -> str:
        """Answer ``status`` from the proxy itself, leaving the body unread."""
        phrase = http.client.responses.get(status, "Injected Fault")
        body = b"<html><h1>%s</h1><p>FaultProxy</p></html>" % phrase.encode()
        headers = [("Content-Type", "text/html; charset=UTF-8"),
                   ("Content-Length", str(len(body))), ("Connection", "close")]
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        if status == 401:
            headers.append(("WWW-Authenticate", 'Swift realm="unknown"'))
        self._log(request, status)
        client.sock.sendall(_head(status, phrase, headers))
        if request.method != "HEAD":
            self._send_body(client, body, chunked=False)
        return "drain"

    def _upstream_headers(self, request: _Request, chunked: bool) -> list[tuple[str, str]]:
        """The request's end-to-end headers, with real tokens and upstream's Host."""
        named = {token.strip().lower() for token in request.header("connection").split(",")}
        headers = [("Host", "%s:%d" % (self._host, self._port))]
        for name, value in request.headers:
            lower = name.lower()
            if (lower in HOP_BY_HOP or lower in named or lower == "host"
                    or (lower == "content-length" and chunked)):
                continue
            with self._lock:
                headers.append((name, self._aliases.get(value, value)
                                if lower in TOKEN_HEADERS else value))
        return headers + ([("Transfer-Encoding", "chunked")] if chunked else [])

    def _exchange(self, client: _Client, request: _Request, body: _BodyReader,
                  flip: int | None = None) -> http.client.HTTPResponse:
        """Send the request upstream (again on a new connection if a reused one
        turns out closed before any body was sent), with a bit of its body's
        byte ``flip`` flipped if given; the response, body unread."""
        headers = self._upstream_headers(request, body.chunked)
        while True:
            if client.upstream is None:
                client.upstream = http.client.HTTPConnection(self._host, self._port,
                                                             timeout=SOCKET_TIMEOUT)
            upstream = client.upstream
            reused = upstream.sock is not None
            try:
                upstream.putrequest(request.method, request.target, skip_host=True,
                                    skip_accept_encoding=True)
                for name, value in headers:
                    upstream.putheader(name, value)
                upstream.endheaders()
                data = None
                while data != b"":
                    start = body.received
                    data = body.read()
                    if flip is not None and start <= flip < body.received:
                        damaged = bytearray(data)
                        damaged[flip - start] ^= 0x01
                        data = bytes(damaged)
                    if body.chunked:
                        upstream.send(b"%x\r\n%s\r\n" % (len(data), data) if data else b"0\r\n\r\n")
                    elif data:
                        upstream.send(data)
                return upstream.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                upstream.close()
                client.upstream = None
                if not reused or body.received or not isinstance(exc, ConnectionError):
                    raise

    def _forward(self, client: _Client, request: _Request, body: _BodyReader,
                 rule: Rule | None) -> str:
        """Forward the request, then stream the response back with ``rule``'s fault."""
        flip = None
        if rule is not None and rule.kind == "corrupt_request" and body.length:
            flip = min(int(rule.at * body.length), body.length - 1)
        try:
            response = self._exchange(client, request, body, flip)
        except (OSError, http.client.HTTPException):
            return self._answer(client, request, 502)
        auth = request.path.startswith("/auth")
        aliases: dict[str, str] = {}  # real token -> its fresh alias, for this response
        headers, length = [], None
        for name, value in response.getheaders():
            lower = name.lower()
            if lower in HOP_BY_HOP:
                continue
            if auth and lower in TOKEN_HEADERS:
                if value not in aliases:
                    aliases[value] = "AUTH_tkfp" + secrets.token_hex(16)
                    with self._lock:
                        self._aliases[aliases[value]] = value
                value = aliases[value]
            elif auth and lower == "x-storage-url":
                value = self.rewrite(value)
            elif lower == "content-length":
                length = int(value)
            headers.append((name, value))
        has_body = (request.method != "HEAD" and response.status >= 200
                    and response.status not in (204, 304))
        chunked = has_body and length is None and request.version == "HTTP/1.1"
        keep = request.keep_alive and not (has_body and length is None and not chunked)
        headers += [("Transfer-Encoding", "chunked")] if chunked else []
        headers += [] if keep else [("Connection", "close")]
        kind = rule.kind if rule is not None else None
        cut = None  # where the body is cut or corrupted
        if rule is not None and kind in ("reset_response", "truncate", "corrupt"):
            cut = int(rule.at * (length if length is not None else BLOCK))
            cut = min(cut, length - 1) if kind == "corrupt" and length else cut
        self._log(request, response.status)
        client.sock.sendall(_head(response.status, response.reason, headers))
        sent = 0
        while data := response.read(BLOCK):
            if cut is not None and sent + len(data) > cut:
                if kind != "corrupt":
                    self._send_body(client, data[:cut - sent], chunked)
                    break
                flipped = bytearray(data)
                flipped[cut - sent] ^= 0x01
                data, cut = bytes(flipped), None
            self._send_body(client, data, chunked)
            sent += len(data)
        if kind in ("reset_response", "truncate"):
            upstream, client.upstream = client.upstream, None
            if upstream is not None:
                upstream.close()  # the rest of the body is still on its socket
            if kind == "truncate":
                client.sock.shutdown(socket.SHUT_WR)
            return "reset" if kind == "reset_response" else "close"
        if chunked:
            client.sock.sendall(b"0\r\n\r\n")
        return "keep" if keep else "close"
