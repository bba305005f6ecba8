"""``SwiftClient``: the one thread-safe core every face of Velocity goes through.

* Safe to share across threads: each thread gets its own
  :class:`swiftclient.client.Connection` (they are not thread-safe), and all of
  them share the one keystoneauth1 session of the :class:`~velocity.auth.Credentials`,
  so 32 threads cause one authentication, not 32.  After ``os.fork()`` the
  child makes fresh connections.
* Retries with exponential backoff and full jitter on connection errors, 408,
  429 (honouring ``Retry-After``), 498 and 5xx; renews the token on a 401
  when it expires mid-work (one login for all threads); sends an upload body
  again from its start on every retry; resumes a broken download body with
  ``Range`` + ``If-Match``.
* Maps every failure to :mod:`velocity.errors`.
* Logs to ``logging.getLogger("velocity")``; never a token, password or key.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import http.client
import logging
import os
import random
import re
import select
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import swiftclient
import urllib3
from keystoneauth1 import exceptions as ksa_exc
from requests import RequestException
from requests.exceptions import SSLError
from requests.utils import get_environ_proxies
from swiftclient.exceptions import ClientException

from velocity import errors
from velocity._version import __version__
from velocity.auth import Credentials

__all__ = ["SwiftClient", "RetryPolicy", "translate_error"]

log = logging.getLogger("velocity")

# swiftclient's DEBUG log shows the first 16 characters of every token and key;
# Velocity promises that no part of a secret is logged, so reveal none.
swiftclient.client.logger_settings["reveal_sensitive_prefix"] = 0
T = TypeVar("T")

_METHODS = {"head": "HEAD", "get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE",
            "copy": "COPY"}


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry a failed request.

    Retried: connection failures, HTTP 408, 429, 498 and 5xx, from the storage
    or the identity service.  A 401 from storage is not counted here: it
    renews the token and repeats the request (at most ``retries`` times in
    one call, each time for a token that was refused).

    :param retries: attempts after the first one (0 disables retrying)
    :param backoff: first delay in seconds; doubles each attempt
    :param max_backoff: longest computed delay between two attempts
    :param jitter: pick each delay uniformly in ``[0, delay]`` (full jitter),
        so many threads do not retry in lockstep
    :param max_retry_after: the longest server ``Retry-After`` honoured (a
        longer one is shortened to this)
    """

    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 20.0
    jitter: bool = True
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if not isinstance(self.retries, int) or self.retries < 0:
            raise errors.ConfigurationError("retries must be an int >= 0, got %r"
                                            % (self.retries,))
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise errors.ConfigurationError(
                "backoff, max_backoff and max_retry_after must be >= 0")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt``
        counts from 0); a server's ``Retry-After`` wins over the backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        delay = min(self.backoff * (2 ** attempt), self.max_backoff)
        return random.uniform(0, delay) if self.jitter else delay


def _retryable_status(status: int | None) -> bool:
    return status is not None and (status in (408, 429, 498) or 500 <= status <= 599)


def _is_transient(exc: BaseException) -> bool:
    """Worth retrying: a connection failure or a retryable HTTP status."""
    if isinstance(exc, ClientException):
        return _retryable_status(exc.http_status)
    if isinstance(exc, ksa_exc.HttpError):
        return _retryable_status(exc.http_status)
    if isinstance(exc, errors.VelocityError):  # from our own auth plugins
        return not isinstance(exc, errors.ConfigurationError) and _retryable_status(exc.status)
    if isinstance(exc, (ksa_exc.SSLError, SSLError, ssl.SSLError)):
        return False  # certificate problems do not heal
    return isinstance(exc, (socket.error, RequestException, ksa_exc.ConnectionError,
                            urllib3.exceptions.HTTPError, http.client.HTTPException))


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, ClientException):
        headers = exc.http_response_headers or {}
    elif isinstance(exc, ksa_exc.HttpError) and exc.response is not None:
        headers = exc.response.headers
    else:
        return None
    value = None
    for key, val in headers.items():
        if key.lower() == "retry-after":
            value = val
            break
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None


def _path(container: str | None, obj: str | None) -> str:
    parts = [p for p in (container, obj) if p]
    return "/" + "/".join(quote(p, safe="/") for p in parts) if parts else "/"


def translate_error(exc: BaseException, method: str | None = None,
                    container: str | None = None, obj: str | None = None) -> errors.VelocityError:
    """Turn a swiftclient / keystoneauth1 / socket failure into a
    :class:`~velocity.errors.VelocityError` subclass (cloudfiles names)."""
    if isinstance(exc, errors.VelocityError):
        return exc
    path = _path(container, obj)
    if isinstance(exc, ClientException):
        status = exc.http_status
        details = {"status": status, "reason": exc.http_reason or None, "method": method,
                   "path": exc.http_path or path, "request_id": exc.transaction_id}
        if status is None:
            # swiftclient reports a refused Keystone login as status None
            if str(exc.msg).startswith("Unauthorized") or "Authorization Failure" in exc.msg:
                return errors.AuthenticationFailed("the identity service refused the credentials",
                                                   method=method, path=path)
            return errors.ResponseError(str(exc.msg), method=method, path=path)
        if status == 404 and obj and method == "PUT":
            # an object PUT finds no object to miss: its container is absent
            return errors.NoSuchContainer("no container %r (to store %r in)" % (container, obj),
                                          **details)
        if status == 404 and obj:
            return errors.NoSuchObject("no object %r in container %r" % (obj, container),
                                       **details)
        if status == 404 and container:
            return errors.NoSuchContainer("no container %r" % container, **details)
        if status == 409 and container and not obj and method == "DELETE":
            return errors.ContainerNotEmpty(
                "container %r is not empty: only empty containers can be deleted" % container,
                **details)
        if status == 401:
            return errors.AuthenticationFailed("the storage service refused the token", **details)
        if status == 422 and obj:
            return errors.ChecksumMismatch(
                "the server's checksum of %r does not match the ETag sent" % obj, **details)
        return errors.ResponseError(exc.http_reason or "request failed", **details)
    if isinstance(exc, ksa_exc.HttpError):
        url = getattr(exc, "url", None) or path
        request_id = getattr(exc, "request_id", None)
        if exc.http_status in (401, 403):
            return errors.AuthenticationFailed(
                "the identity service refused the credentials", status=exc.http_status,
                reason=exc.message, method=getattr(exc, "method", None) or "POST", path=url,
                request_id=request_id)
        if exc.http_status == 404:
            return errors.AuthenticationError(
                "the identity service answered 404: check the auth URL and its version",
                status=404, method=getattr(exc, "method", None), path=url,
                request_id=request_id)
        return errors.AuthenticationError("identity service error", status=exc.http_status,
                                          reason=exc.message, method=getattr(exc, "method", None),
                                          path=url, request_id=request_id)
    if isinstance(exc, ksa_exc.EndpointNotFound):
        return errors.AuthenticationError("no object-store endpoint: %s" % exc,
                                          method=method, path=path)
    if isinstance(exc, (ssl.SSLError, SSLError, ksa_exc.SSLError)):
        return errors.ResponseError(
            "TLS failure%s: %s (give the server's CA bundle as cacert / OS_CACERT, or "
            "insecure=True to skip verification)" % (_host_in(exc), _first_line(exc)),
            method=method, path=path)
    if isinstance(exc, ksa_exc.ConnectionError):
        return errors.AuthenticationError("could not reach the identity service%s: %s"
                                          % (_host_in(exc), exc.__class__.__name__),
                                          method=method, path=path)
    if isinstance(exc, ksa_exc.MissingRequiredOptions):
        return errors.ConfigurationError("incomplete credentials: %s" % exc)
    if isinstance(exc, ksa_exc.ClientException):
        return errors.AuthenticationError("identity service error: %s" % exc.__class__.__name__,
                                          method=method, path=path)
    if isinstance(exc, (socket.error, RequestException, urllib3.exceptions.HTTPError,
                        http.client.HTTPException)):
        return errors.ResponseError("connection failed: %s" % exc.__class__.__name__,
                                    method=method, path=path)
    return errors.VelocityError("%s: %s" % (exc.__class__.__name__, exc), method=method,
                                path=path)


_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")
_URL_HOST = re.compile(r"(https?://[^/\s'\"]+)")


def _host_in(exc: BaseException) -> str:
    """`` at scheme://host:port`` when the failure's text names a URL."""
    match = _URL_HOST.search(str(exc))
    return " at %s" % match.group(1) if match else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else exc.__class__.__name__


# every SwiftClient alive, so a forked child starts with fresh locks and connections
_CLIENTS: weakref.WeakSet[SwiftClient] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_CLIENTS):
        client._lock = threading.Lock()  # a parent thread may have held it
        client._connections = weakref.WeakSet()  # the parent's sockets: not ours
        client._local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _SessionView:
    """What a ``swiftclient.Connection`` sees as its keystoneauth session.

    The storage URL comes from :meth:`Credentials.endpoint` (with its region
    diagnostics), the token from the shared session, and ``invalidate()``
    returns ``False`` so swiftclient hands every 401 to :meth:`SwiftClient.call`,
    which renews the token once for all threads.
    """

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.token: str | None = None  # the token this connection last used

    def get_endpoint(self, **kwargs: Any) -> str:
        return self.credentials.endpoint()

    def get_token(self) -> str:
        self.token = self.credentials.get_token()
        return self.token

    def invalidate(self) -> bool:
        return False


class SwiftClient:
    """A thread-safe Swift client: single requests, retried and error-mapped.

    :param credentials: how to log in (:class:`~velocity.auth.Credentials`)
    :param retry: a :class:`RetryPolicy` (default: 5 retries, 0.5 s doubling,
        full jitter, at most 20 s; ``Retry-After`` honoured up to 120 s)
    :param timeout: seconds to wait for a server's answer
    :param user_agent: ``User-Agent`` header value

    Every method raises a :class:`~velocity.errors.VelocityError` subclass on
    failure.  The ``swiftclient``-style methods (``head_account``,
    ``get_container``, ``put_object``, ...) take the same arguments as
    :class:`swiftclient.client.Connection`'s and return the same values.

    One client serves any number of threads: each thread gets its own
    ``swiftclient.Connection`` and all share one token.
    """

    def __init__(self, credentials: Credentials, *, retry: RetryPolicy | None = None,
                 timeout: float = 60.0, user_agent: str | None = None) -> None:
        if not isinstance(credentials, Credentials):
            raise errors.ConfigurationError(
                "SwiftClient needs velocity.auth.Credentials, got %s"
                % type(credentials).__name__)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise errors.ConfigurationError("retry must be a RetryPolicy, got %s"
                                            % type(retry).__name__)
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.user_agent = user_agent
        self._local = threading.local()
        self._interrupt = threading.local()
        self._lock = threading.Lock()
        self._capabilities: dict[str, Any] | None = None
        self._context: ssl.SSLContext | None = None
        self._proven: collections.deque[str] = collections.deque(maxlen=8)  # tokens that worked
        # weak: a thread that ends drops its connection with its thread-local
        self._connections: weakref.WeakSet[swiftclient.Connection] = weakref.WeakSet()
        _CLIENTS.add(self)

    def __repr__(self) -> str:
        return "SwiftClient(%r)" % (self.credentials,)

    @classmethod
    def from_env(cls, env: Any = None, **kwargs: Any) -> SwiftClient:
        """A client configured from ``OS_*`` / ``ST_*`` environment variables
        (see :meth:`Credentials.from_env`)."""
        return cls(Credentials.from_env(env), **kwargs)

    # -- connections --------------------------------------------------------

    def connection(self) -> swiftclient.Connection:
        """This thread's :class:`swiftclient.client.Connection` (made on first
        use; never shared between threads or across ``fork()``)."""
        local = self._local
        pid = os.getpid()
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != pid:
            conn = swiftclient.Connection(
                session=_SessionView(self.credentials), os_options=self.credentials.os_options,
                retries=0, starting_backoff=0, timeout=self.timeout, retry_on_ratelimit=False,
                cacert=self.credentials.cacert, insecure=self.credentials.insecure,
                cert=self.credentials.cert, cert_key=self.credentials.cert_key)
            conn.http_connection = _tune_http(conn.http_connection, self.user_agent)
            local.conn, local.pid = conn, pid
            with self._lock:
                self._connections.add(conn)
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        """The TLS settings of the direct transport: the credentials' ``cacert``
        (else the CA bundle ``requests`` uses), ``insecure``, and the client
        certificate ``cert``/``cert_key``, as swiftclient applies them."""
        if self._context is None:
            creds = self.credentials
            try:
                context = ssl.create_default_context(cafile=creds.cacert or _ca_bundle())
                if creds.insecure:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                if creds.cert:
                    context.load_cert_chain(creds.cert, creds.cert_key)
            except (OSError, ssl.SSLError) as exc:
                raise errors.ConfigurationError(
                    "cannot use the TLS files (cacert=%r, cert=%r, cert_key=%r): %s"
                    % (creds.cacert, creds.cert, creds.cert_key, exc)) from None
            self._context = context
        return self._context

    def close(self) -> None:
        """Close the HTTP connections this client opened (it stays usable)."""
        with self._lock:
            conns, self._connections = list(self._connections), weakref.WeakSet()
        for conn in conns:
            try:
                direct = getattr(conn, "_velocity_direct", None)
                if direct is not None:
                    direct.close()
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing a connection failed", exc_info=True)
        self._local = threading.local()

    def __enter__(self) -> SwiftClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def storage_url(self) -> str:
        """The account's storage URL (authenticates if needed)."""
        return self.call("get_auth")[0]

    def get_auth(self) -> tuple[str, str]:
        """``(storage_url, token)``; authenticates if needed.  Keep the token secret."""
        return self.call("get_auth")

    def cdn_url(self) -> str | None:
        """The Rackspace CDN management URL, or ``None`` if the account has none."""
        return self._auth_call(self.credentials.cdn_url)

    def _auth_call(self, func: Callable[[], T]) -> T:
        """Run an identity-only call with retries on transient failures."""
        attempt = 0
        while True:
            try:
                return func()
            except Exception as exc:  # noqa: BLE001 - mapped below
                error = translate_error(exc)
                if not _is_transient(exc) or attempt >= self.retry.retries:
                    raise error from None
                delay = self.retry.delay(attempt, _retry_after(exc))
                log.info("retrying authentication in %.2fs (attempt %d of %d): %s", delay,
                         attempt + 2, self.retry.retries + 1, error)
                time.sleep(delay)
                attempt += 1

    # -- the retry loop -----------------------------------------------------

    def call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``swiftclient.Connection.<operation>(*args, **kwargs)`` on this
        thread's connection with retries and error mapping.

        Every attempt sends the whole request again: an upload body (the
        ``contents``/``data`` argument, by keyword or position) that can
        ``seek`` is rewound to where it started before each retry; one that
        cannot (an iterator, a pipe) is never sent twice, and a failure after
        it started to flow raises at once, saying so.  The body of a
        ``get_object_stream`` answer resumes by itself when the connection
        breaks mid-body (see :meth:`get_object_stream`).
        """
        result = self._attempts(operation, args, kwargs)
        if operation == "get_object_stream":
            headers, body = result
            container, obj = _target(operation, args, kwargs)
            return headers, _ResumingBody(self, container or "", obj or "", kwargs, headers,
                                          body)
        return result

    def _attempts(self, operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The retry loop behind :meth:`call`."""
        interrupt: threading.Event | None = getattr(self._interrupt, "event", None)
        method = _METHODS.get(operation.split("_", 1)[0])
        container, obj = _target(operation, args, kwargs)
        where = _path(container, obj)
        body = _body_of(operation, args, kwargs)
        start = _tell(body)
        rewindable = body is None or isinstance(body, (bytes, bytearray, str)) or start is not None
        if not rewindable:  # log in (with retries) before the body starts to flow
            self._auth_call(lambda: self._sync(self.connection()))
        attempt = 0
        renewals = 0  # each for another token: a renewed token may expire too
        unproven = 0  # renewals of a token the server never took
        while True:
            conn = self.connection()
            try:
                self._sync(conn)
                direct = _DIRECT_OPERATIONS.get(operation)
                if direct is not None:
                    result = direct(self, conn, *args, **kwargs)
                else:
                    result = getattr(conn, operation)(*args, **kwargs)
                self._prove(conn.token)
                return result
            except Exception as exc:  # noqa: BLE001 - mapped below
                error = translate_error(exc, method, container, obj)
                status = getattr(exc, "http_status", None) if isinstance(
                    exc, ClientException) else None
                used = conn.session.token
                # a token that worked before and is refused now has expired: renew it
                # (up to `retries` times); one that never worked is renewed once
                proven = used is not None and used in self._proven
                if status == 401 and renewals < max(1, self.retry.retries) and (
                        proven or not unproven):
                    unproven += not proven
                    if not self.credentials.invalidate(used):
                        raise errors.AuthenticationFailed(
                            "the storage service refused the token, and pre-authenticated "
                            "credentials cannot renew it", status=401, method=method,
                            path=where, request_id=exc.transaction_id) from None
                    if not rewindable:
                        raise errors.AuthenticationFailed(
                            "the token expired during a streamed upload that cannot be "
                            "rewound: send it again", status=401, method=method,
                            path=where, request_id=exc.transaction_id) from None
                    renewals += 1
                    log.info("%s %s: token refused (401); renewing it", method, where)
                    self._rewind(body, start)
                    continue
                if attempt and method == "DELETE" and status == 404:
                    # an earlier attempt deleted it but its answer was lost
                    log.info("DELETE %s: 404 after a retry; it is gone", where)
                    return None
                # 422 on a PUT: the body arrived damaged (its ETag did not match)
                transient = _is_transient(exc) or (
                    status == 422 and method == "PUT" and body is not None)
                if transient and (not isinstance(exc, ClientException) or status == 408):
                    conn.close()  # the socket's framing may be broken
                if transient and not rewindable:
                    raise type(error)(
                        "%s; not retried: the upload body is a stream that cannot be "
                        "rewound (give a seekable file or bytes to have it retried)"
                        % error.message, status=error.status, reason=error.reason,
                        method=error.method, path=error.path,
                        request_id=error.request_id) from None
                if not transient or attempt >= self.retry.retries:
                    if transient:
                        log.warning("giving up on %s %s after %d attempt(s): %s", method,
                                    where, attempt + 1, error)
                    raise error from None
                delay = self.retry.delay(attempt, _retry_after(exc))
                log.info("retrying %s %s in %.2fs (attempt %d of %d): %s", method, where,
                         delay, attempt + 2, self.retry.retries + 1, error)
                self._pause(delay, interrupt, method, where)
                self._rewind(body, start)
                attempt += 1

    def _prove(self, token: str | None) -> None:
        """Remember that the server accepted ``token``: refused later, it
        has expired (renew it), rather than never been good."""
        proven = self._proven
        if token and (not proven or proven[-1] != token) and token not in proven:
            proven.append(token)

    def _pause(self, delay: float, interrupt: threading.Event | None, method: str | None,
               where: str) -> None:
        """Wait ``delay`` seconds before a retry, cut short by a cancel."""
        if interrupt is None:
            time.sleep(delay)
        elif interrupt.wait(delay):
            raise errors.TransferCancelled(
                "cancelled while waiting to retry %s %s" % (method, where),
                method=method, path=where) from None

    def set_interrupt(self, event: threading.Event | None) -> threading.Event | None:
        """While ``event`` is set for the calling thread, a wait before a
        retry ends as soon as ``event`` is set, raising
        :class:`~velocity.errors.TransferCancelled` (the transfer engine uses
        this so that ``cancel()`` and Ctrl-C are prompt).  Returns the
        thread's previous event; ``None`` removes it."""
        previous = getattr(self._interrupt, "event", None)
        self._interrupt.event = event
        return previous

    def _sync(self, conn: swiftclient.Connection) -> None:
        """Give ``conn`` the credentials' current token (and storage URL): a
        token another thread renewed, or one keystoneauth renewed because it
        was about to expire, is used without a 401 first."""
        token = self.credentials.get_token()
        if token != conn.token or not conn.url:
            url = self.credentials.endpoint()
            if url != conn.url:
                conn.close()  # its socket belongs to the old URL's host
            conn.url, conn.token = url, token
        conn.session.token = token

    @staticmethod
    def _rewind(body: Any, start: int | None) -> None:
        if start is not None:
            body.seek(start)

    # -- swiftclient-style operations -----------------------------------------

    def head_account(self, headers: dict[str, str] | None = None) -> dict[str, str]:
        return self.call("head_account", headers=headers)

    def get_account(self, **kwargs: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
        return self.call("get_account", **kwargs)

    def post_account(self, headers: dict[str, str], **kwargs: Any) -> Any:
        return self.call("post_account", headers, **kwargs)

    def put_container(self, container: str, headers: dict[str, str] | None = None,
                      **kwargs: Any) -> None:
        return self.call("put_container", container, headers=headers, **kwargs)

    def head_container(self, container: str, headers: dict[str, str] | None = None
                       ) -> dict[str, str]:
        return self.call("head_container", container, headers=headers)

    def get_container(self, container: str, **kwargs: Any
                      ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        return self.call("get_container", container, **kwargs)

    def post_container(self, container: str, headers: dict[str, str], **kwargs: Any) -> None:
        return self.call("post_container", container, headers, **kwargs)

    def delete_container(self, container: str, **kwargs: Any) -> None:
        return self.call("delete_container", container, **kwargs)

    def put_object(self, container: str, obj: str, contents: Any = None, **kwargs: Any) -> str:
        return self.call("put_object", container, obj, contents=contents, **kwargs)

    def put_small_object(self, container: str, obj: str, data: bytes, *,
                         etag: str | None = None, headers: dict[str, str] | None = None,
                         query_string: str | None = None) -> str:
        """PUT an object whose bytes are in memory; returns the stored ETag.

        Same result as :meth:`put_object`, on the direct transport: a
        per-thread ``http.client`` connection (HTTPS verified with the same CA
        bundle as ``requests``) that costs about a third of the client CPU of
        the ``requests`` stack per request, which is what small objects are
        made of.  When a proxy applies to the storage URL, it goes through
        swiftclient instead.  ``etag`` (the data's MD5) makes Swift refuse
        data that arrived damaged."""
        return self.call("put_small_object", container, obj, data, etag=etag,
                         headers=headers, query_string=query_string)

    def put_object_stream(self, container: str, obj: str, contents: Any, content_length: int,
                          *, etag: str | None = None, headers: dict[str, str] | None = None,
                          query_string: str | None = None) -> str:
        """PUT ``content_length`` bytes read from the file-like ``contents``
        (seekable, so a retry rewinds it) on the direct transport, in 1 MiB
        blocks; returns the stored ETag.  Like :meth:`put_object` otherwise."""
        return self.call("put_object_stream", container, obj, contents=contents,
                         content_length=content_length, etag=etag, headers=headers,
                         query_string=query_string)

    def get_object_stream(self, container: str, obj: str, *,
                          headers: dict[str, str] | None = None,
                          query_string: str | None = None, chunk: int = 1024 * 1024
                          ) -> tuple[dict[str, str], Any]:
        """GET an object as ``(headers, body)``; iterating ``body`` yields
        blocks of at most ``chunk`` bytes (memoryviews of one reused buffer on
        the direct transport: use each before asking for the next), and
        ``body.close()`` abandons the rest.  Like :meth:`get_object` with
        ``resp_chunk_size``."""
        return self.call("get_object_stream", container, obj, headers=headers,
                         query_string=query_string, chunk=chunk)

    def head_object(self, container: str, obj: str, **kwargs: Any) -> dict[str, str]:
        return self.call("head_object", container, obj, **kwargs)

    def get_object(self, container: str, obj: str, **kwargs: Any) -> tuple[dict[str, str], Any]:
        """Like swiftclient's.  A whole plain object read into memory (no
        ``resp_chunk_size``, ``Range`` or query string) is checked against
        its ETag, and read again when it arrived damaged."""
        whole = not (kwargs.get("resp_chunk_size") or kwargs.get("query_string") or any(
            name.lower() == "range" for name in (kwargs.get("headers") or {})))
        attempt = 0
        while True:
            headers, body = self.call("get_object", container, obj, **kwargs)
            etag = (headers.get("etag") or "").strip('"')
            if (not whole or not isinstance(body, bytes) or "x-object-manifest" in headers
                    or "x-static-large-object" in headers or not _MD5_HEX.match(etag)
                    or hashlib.md5(body, usedforsecurity=False).hexdigest() == etag):
                return headers, body
            if attempt >= self.retry.retries:
                raise errors.ChecksumMismatch(
                    "the data received does not match its ETag %s, %d times" % (
                        etag, attempt + 1), method="GET", path=_path(container, obj))
            attempt += 1
            log.info("GET %s: the data does not match its ETag; reading it again",
                     _path(container, obj))

    def post_object(self, container: str, obj: str, headers: dict[str, str],
                    **kwargs: Any) -> None:
        return self.call("post_object", container, obj, headers, **kwargs)

    def delete_object(self, container: str, obj: str, **kwargs: Any) -> None:
        return self.call("delete_object", container, obj, **kwargs)

    def copy_object(self, container: str, obj: str, destination: str | None = None,
                    **kwargs: Any) -> None:
        return self.call("copy_object", container, obj, destination, **kwargs)

    # -- conveniences ---------------------------------------------------------

    def iter_container(self, container: str, *, prefix: str | None = None,
                       delimiter: str | None = None, marker: str = "",
                       end_marker: str | None = None, limit: int | None = None,
                       page_size: int = 10000, path: str | None = None,
                       query_string: str | None = None) -> Iterator[dict[str, Any]]:
        """Every listing entry of ``container``, paging past Swift's
        per-request limit; ``limit`` caps the total.  ``path`` lists one
        pseudo-folder; ``query_string`` adds raw query parameters."""
        extra = {"path": path, "query_string": query_string}
        return self._iter_listing("get_container", container, prefix=prefix,
                                  delimiter=delimiter, marker=marker, end_marker=end_marker,
                                  limit=limit, page_size=page_size,
                                  extra={k: v for k, v in extra.items() if v is not None})

    def iter_account(self, *, prefix: str | None = None, marker: str = "",
                     end_marker: str | None = None, limit: int | None = None,
                     page_size: int = 10000) -> Iterator[dict[str, Any]]:
        """Every container of the account (dicts with ``name``, ``count``,
        ``bytes``), paging past Swift's per-request limit."""
        return self._iter_listing("get_account", None, prefix=prefix, delimiter=None,
                                  marker=marker, end_marker=end_marker, limit=limit,
                                  page_size=page_size, extra={})

    def _iter_listing(self, operation: str, container: str | None, *, prefix, delimiter,
                      marker, end_marker, limit, page_size, extra) -> Iterator[dict[str, Any]]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            kwargs = {"marker": marker, "limit": size, "prefix": prefix,
                      "end_marker": end_marker, **extra}
            if delimiter:
                kwargs["delimiter"] = delimiter
            args = (container,) if container is not None else ()
            _, page = self.call(operation, *args, **kwargs)
            if not page:
                return
            yield from page
            if remaining is not None:
                remaining -= len(page)
            last = page[-1]
            marker = last.get("name") or last.get("subdir")
            if len(page) < size:
                return

    def capabilities(self, refresh: bool = False) -> dict[str, Any]:
        """The cluster's ``/info`` document, fetched once and cached."""
        if self._capabilities is None or refresh:
            self._capabilities = self.call("get_capabilities")
        return self._capabilities


def _tell(body: Any) -> int | None:
    if body is None or isinstance(body, (bytes, str)):
        return None
    seek, tell = getattr(body, "seek", None), getattr(body, "tell", None)
    if seek is None or tell is None:
        return None
    try:
        if hasattr(body, "seekable") and not body.seekable():
            return None
        return tell()
    except (OSError, ValueError):
        return None


#: operations whose upload body is their third positional argument
_BODY_POSITION = {"put_object": 2, "put_object_stream": 2, "put_small_object": 2}


def _target(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]
            ) -> tuple[str | None, str | None]:
    """The ``(container, object)`` an operation is about, for messages."""
    if operation in ("get_auth", "get_capabilities") or operation.endswith("_account"):
        return None, None
    container = args[0] if args and isinstance(args[0], str) else kwargs.get("container")
    obj = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("obj")
    return container, obj


def _body_of(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The upload body of an operation, however it was passed."""
    for name in ("contents", "data"):
        if kwargs.get(name) is not None:
            return kwargs[name]
    position = _BODY_POSITION.get(operation)
    if position is not None and len(args) > position:
        return args[position]
    return None


#: a body that keeps breaking after some progress is resumed at most this many
#: times per allowed retry
_MAX_RESUMES_PER_RETRY = 10
#: what a response body raises when its connection breaks mid-body
_BROKEN_BODY: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException,
                                                 RequestException, urllib3.exceptions.HTTPError)


def _first_byte(headers: dict[str, str]) -> int:
    """Where a ranged request starts (``Range: bytes=N-...``); 0 otherwise."""
    for name, value in (headers or {}).items():
        if name.lower() == "range":
            first = str(value).partition("=")[2].partition("-")[0].strip()
            return int(first) if first.isdigit() else 0
    return 0


class _ResumingBody:
    """A streamed GET body that survives a broken connection.

    When the connection resets or ends before ``Content-Length`` bytes
    arrived, the rest is asked for again with ``Range`` (from the first
    missing byte) and ``If-Match`` on the ETag of the first answer, so a
    changed object is never stitched together from two versions, and a reset
    at 90% of a large object costs the last 10% only.  Each resume goes
    through :meth:`SwiftClient.call` (its retries, token renewal and
    backoff); the resumes themselves are limited by the client's
    ``RetryPolicy.retries``, counted afresh whenever data arrived in between.
    """

    def __init__(self, client: SwiftClient, container: str, obj: str,
                 kwargs: dict[str, Any], headers: dict[str, str], body: Any) -> None:
        self.client = client
        self.container = container
        self.obj = obj
        self.kwargs = kwargs
        self.body = body
        self.etag = headers.get("etag")
        length = headers.get("content-length")
        self.length = int(length) if length and length.isdigit() else None
        self.start = _first_byte(kwargs.get("headers") or {})
        self.received = 0
        #: bytes asked for again after a broken connection (for statistics)
        self.resumed_from: list[int] = []
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        failures = 0   # in a row without a byte in between
        resumes = 0
        while True:
            progressed = False
            try:
                for block in self.body:
                    self.received += len(block)
                    progressed = True
                    yield block
                if self.length is None or self.received >= self.length:
                    return
                problem: BaseException = http.client.IncompleteRead(b"", self.length -
                                                                    self.received)
            except _BROKEN_BODY as exc:
                if self.closed:
                    raise
                problem = exc
            failures = 1 if progressed else failures + 1
            resumes += 1
            self._resume(problem, failures, resumes)

    def _resume(self, problem: BaseException, failures: int, resumes: int) -> None:
        where = _path(self.container, self.obj)
        _close_quietly(self.body)
        error = translate_error(problem, "GET", self.container, self.obj)
        if self.length is None or not self.etag:
            raise errors.IncompleteSend(
                "the connection broke after %d bytes, and an answer without length or "
                "ETag cannot be resumed: %s" % (self.received, error.message),
                method="GET", path=where) from None
        if failures > self.client.retry.retries or resumes > _MAX_RESUMES_PER_RETRY * (
                self.client.retry.retries + 1):
            log.warning("giving up on GET %s after %d broken bodies: %s", where, resumes,
                        error)
            raise errors.IncompleteSend(
                "received %d of %d bytes; the connection broke %d times: %s"
                % (self.received, self.length, resumes, error.message),
                method="GET", path=where) from None
        delay = self.client.retry.delay(failures - 1)
        log.info("GET %s broke after %d of %d bytes (%s); resuming in %.2fs", where,
                 self.received, self.length, error.message, delay)
        self.client._pause(delay, getattr(self.client._interrupt, "event", None), "GET", where)
        first = self.start + self.received
        last = self.start + self.length - 1
        kwargs = dict(self.kwargs)
        headers = {k: v for k, v in (kwargs.get("headers") or {}).items()
                   if k.lower() not in ("range", "if-match")}
        headers["Range"] = "bytes=%d-%d" % (first, last)
        headers["If-Match"] = self.etag
        kwargs["headers"] = headers
        try:
            answer, body = self.client._attempts("get_object_stream",
                                                 (self.container, self.obj), kwargs)
        except errors.VelocityError as exc:
            if exc.status == 412:
                raise errors.IncompleteSend(
                    "the object changed while it was being read (its ETag is no longer %s)"
                    % self.etag, status=412, method="GET", path=where) from None
            raise
        expected = "bytes %d-%d/" % (first, last)
        if not answer.get("content-range", "").startswith(expected):
            _close_quietly(body)
            raise errors.IncompleteSend(
                "the server did not resume GET at byte %d (Content-Range %r)"
                % (first, answer.get("content-range")), method="GET", path=where)
        self.resumed_from.append(first)
        self.body = body

    def close(self) -> None:
        self.closed = True
        _close_quietly(self.body)


def _close_quietly(body: Any) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - closing is best effort
            log.debug("closing a response body failed", exc_info=True)


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

    def _read_status(self) -> tuple[str, int, str]:  # type: ignore[override]
        version, status, reason = super()._read_status()
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
        conn.send(body)
        return conn.getresponse()


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
