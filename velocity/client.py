"""``SwiftClient``: the one thread-safe core every face of Velocity goes through.

* Safe to share across threads: each thread gets its own
  :class:`swiftclient.client.Connection` (they are not thread-safe), and all of
  them share the one keystoneauth1 session of the :class:`~velocity.auth.Credentials`,
  so 32 threads cause one authentication, not 32.  After ``os.fork()`` the
  child makes fresh connections.
* Retries with exponential backoff and full jitter on connection errors, 408,
  429 (honouring ``Retry-After``), 498 and 5xx; re-authenticates once on 401
  when a token expires mid-work; rewinds an upload body before retrying it.
* Maps every failure to :mod:`velocity.errors`.
* Logs to ``logging.getLogger("velocity")``; never a token, password or key.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import swiftclient
from keystoneauth1 import exceptions as ksa_exc
from requests import RequestException
from swiftclient.exceptions import ClientException

from velocity import errors
from velocity.auth import Credentials

__all__ = ["SwiftClient", "RetryPolicy", "translate_error"]

log = logging.getLogger("velocity")
T = TypeVar("T")

_METHODS = {"head": "HEAD", "get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE",
            "copy": "COPY"}


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry a failed request.

    :param retries: attempts after the first one (0 disables retrying)
    :param backoff: first delay in seconds; doubles each attempt
    :param max_backoff: longest delay between two attempts, and the most a
        server's ``Retry-After`` is honoured for
    :param jitter: pick each delay uniformly in ``[0, delay]`` (full jitter),
        so many threads do not retry in lockstep
    """

    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 20.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise errors.ConfigurationError("retries must be >= 0, got %r" % self.retries)
        if self.backoff < 0 or self.max_backoff < 0:
            raise errors.ConfigurationError("backoff and max_backoff must be >= 0")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        delay = min(self.backoff * (2 ** attempt), self.max_backoff)
        return random.uniform(0, delay) if self.jitter else delay


def _retryable_status(status: int | None) -> bool:
    return status is not None and (status in (408, 429, 498) or 500 <= status <= 599)


def _retry_after(exc: ClientException) -> float | None:
    headers = exc.http_response_headers or {}
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
    if isinstance(exc, ksa_exc.Unauthorized):
        return errors.AuthenticationFailed("the identity service refused the credentials",
                                           status=401, method=method, path=path)
    if isinstance(exc, ksa_exc.EndpointNotFound):
        return errors.AuthenticationError("no object-store endpoint: %s" % exc,
                                          method=method, path=path)
    if isinstance(exc, ksa_exc.HttpError):
        return errors.AuthenticationError("identity service error: %s" % exc.message,
                                          status=exc.http_status, method=method, path=path)
    if isinstance(exc, (ksa_exc.ConnectFailure, ksa_exc.ConnectionError)):
        return errors.AuthenticationError("could not reach the identity service: %s" % exc,
                                          method=method, path=path)
    if isinstance(exc, (socket.error, RequestException)):
        return errors.ResponseError("connection failed: %s" % exc.__class__.__name__,
                                    method=method, path=path)
    return errors.VelocityError("%s: %s" % (exc.__class__.__name__, exc), method=method,
                                path=path)


class SwiftClient:
    """A thread-safe Swift client: single requests, retried and error-mapped.

    :param credentials: how to log in (:class:`~velocity.auth.Credentials`)
    :param retry: a :class:`RetryPolicy` (default: 5 retries, 0.5 s doubling,
        full jitter, at most 20 s)
    :param timeout: seconds to wait for a server's answer
    :param user_agent: ``User-Agent`` header value

    Every method raises a :class:`~velocity.errors.VelocityError` subclass on
    failure.  The ``swiftclient``-style methods (``head_account``,
    ``get_container``, ``put_object``, ...) take the same arguments as
    :class:`swiftclient.client.Connection`'s and return the same values.
    """

    def __init__(self, credentials: Credentials, *, retry: RetryPolicy | None = None,
                 timeout: float = 60.0, user_agent: str | None = None) -> None:
        if not isinstance(credentials, Credentials):
            raise errors.ConfigurationError(
                "SwiftClient needs velocity.auth.Credentials, got %s"
                % type(credentials).__name__)
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.user_agent = user_agent
        self._local = threading.local()
        self._lock = threading.Lock()
        self._capabilities: dict[str, Any] | None = None
        self._connections: list[swiftclient.Connection] = []

    def __repr__(self) -> str:
        return "SwiftClient(%r)" % (self.credentials,)

    @classmethod
    def from_env(cls, env: Any = None, **kwargs: Any) -> SwiftClient:
        """A client configured from ``OS_*`` / ``ST_*`` environment variables."""
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
                session=self.credentials.session(), os_options=self.credentials.os_options,
                retries=0, starting_backoff=0, timeout=self.timeout, retry_on_ratelimit=False)
            if self.user_agent:
                conn.http_connection = _with_user_agent(conn.http_connection, self.user_agent)
            local.conn, local.pid = conn, pid
            with self._lock:
                self._connections = [c for c in self._connections if c is not None]
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close the HTTP connections this client opened (it stays usable)."""
        with self._lock:
            conns, self._connections = self._connections, []
        for conn in conns:
            try:
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

    # -- the retry loop -----------------------------------------------------

    def call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``swiftclient.Connection.<operation>(*args, **kwargs)`` on this
        thread's connection with retries and error mapping.

        A ``contents`` body that can ``seek`` is rewound before each retry; one
        that cannot (an iterator) is not retried once sending has begun.
        """
        method = _METHODS.get(operation.split("_", 1)[0])
        container = args[0] if args and isinstance(args[0], str) else kwargs.get("container")
        obj = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("obj")
        if operation == "get_auth":
            container = obj = None
        body = kwargs.get("contents", args[2] if operation == "put_object" and len(args) > 2
                          else None)
        start = _tell(body)
        attempt = 0
        while True:
            conn = self.connection()
            try:
                return getattr(conn, operation)(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - mapped below
                error = translate_error(exc, method, container, obj)
                status = getattr(exc, "http_status", None)
                transient = _retryable_status(status) or (
                    isinstance(exc, (socket.error, RequestException, ksa_exc.ConnectFailure))
                    and not isinstance(exc, ClientException))
                if isinstance(exc, (socket.error, RequestException)):
                    conn.http_conn = None  # drop a possibly broken socket
                rewindable = body is None or isinstance(body, (bytes, str)) or start is not None
                if not transient or attempt >= self.retry.retries or not rewindable:
                    if transient:
                        log.warning("giving up on %s %s after %d attempt(s): %s", method,
                                    _path(container, obj), attempt + 1, error)
                    raise error from None
                delay = self.retry.delay(attempt, _retry_after(exc)
                                         if isinstance(exc, ClientException) else None)
                log.info("retrying %s %s in %.2fs (attempt %d of %d): %s", method,
                         _path(container, obj), delay, attempt + 2, self.retry.retries + 1,
                         error)
                time.sleep(delay)
                if start is not None:
                    body.seek(start)
                attempt += 1

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

    def head_object(self, container: str, obj: str, **kwargs: Any) -> dict[str, str]:
        return self.call("head_object", container, obj, **kwargs)

    def get_object(self, container: str, obj: str, **kwargs: Any) -> tuple[dict[str, str], Any]:
        return self.call("get_object", container, obj, **kwargs)

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
                       page_size: int = 10000) -> Iterator[dict[str, Any]]:
        """Every listing entry of ``container``, paging past Swift's
        per-request limit; ``limit`` caps the total."""
        return self._iter_listing("get_container", container, prefix=prefix,
                                  delimiter=delimiter, marker=marker, end_marker=end_marker,
                                  limit=limit, page_size=page_size)

    def iter_account(self, *, prefix: str | None = None, marker: str = "",
                     end_marker: str | None = None, limit: int | None = None,
                     page_size: int = 10000) -> Iterator[dict[str, Any]]:
        """Every container of the account (dicts with ``name``, ``count``,
        ``bytes``), paging past Swift's per-request limit."""
        return self._iter_listing("get_account", None, prefix=prefix, delimiter=None,
                                  marker=marker, end_marker=end_marker, limit=limit,
                                  page_size=page_size)

    def _iter_listing(self, operation: str, container: str | None, *, prefix, delimiter,
                      marker, end_marker, limit, page_size) -> Iterator[dict[str, Any]]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            kwargs = {"marker": marker, "limit": size, "prefix": prefix,
                      "end_marker": end_marker}
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


def _with_user_agent(factory: Callable[..., Any], agent: str) -> Callable[..., Any]:
    def http_connection(*args: Any, **kwargs: Any) -> Any:
        parsed, conn = factory(*args, **kwargs)
        conn.default_user_agent = agent
        return parsed, conn

    return http_connection
