"""``SwiftClient``: the one thread-safe core every face of Velocity goes through.

* Safe to share across threads: each thread gets its own connection (a
  direct ``http.client`` one for object bodies, metadata and listings, and a
  :class:`swiftclient.client.Connection`, made when first needed, for the
  rest and whenever a proxy applies), and all of them share the one login of
  the :class:`~velocity.auth.Credentials`, so 32 threads cause one
  authentication, not 32.  After ``os.fork()`` the child makes fresh
  connections.
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
import os
import random
import ssl
import threading
import time
import weakref
from collections.abc import Callable

from velocity import errors
from velocity._errormap import (
    _is_transient,
    _path,
    _retry_after,
    status_errors,
    status_of,
    translate_error,
)
from velocity._log import log
from velocity._operations import SwiftOperations
from velocity._resume import _ResumingBody
from velocity._transport import _DIRECT_OPERATIONS, Connection, _tune_http
from velocity.auth import Credentials

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

__all__ = ["SwiftClient", "RetryPolicy", "translate_error"]

_METHODS = {"head": "HEAD", "get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE",
            "copy": "COPY"}


class RetryPolicy:
    """When and how long to retry a failed request.

    Retried: connection failures, HTTP 408, 429, 498 and 5xx, from the storage
    or the identity service.  A 401 from storage is not counted here: it
    renews the token and repeats the request (at most ``retries`` times in
    one call, each time for a token that was refused).

    A policy is immutable, compares and hashes by its values, and
    :meth:`replace` gives a copy with some values changed.

    :param retries: attempts after the first one (0 disables retrying)
    :param backoff: first delay in seconds; doubles each attempt
    :param max_backoff: longest computed delay between two attempts
    :param jitter: pick each delay uniformly in ``[0, delay]`` (full jitter),
        so many threads do not retry in lockstep
    :param max_retry_after: the longest server ``Retry-After`` honoured (a
        longer one is shortened to this)
    """

    # a plain class, not a dataclass: importing dataclasses (and inspect behind
    # it) costs every `velocity stat` several milliseconds
    __slots__ = ("retries", "backoff", "max_backoff", "jitter", "max_retry_after")
    retries: int
    backoff: float
    max_backoff: float
    jitter: bool
    max_retry_after: float

    def __init__(self, retries: int = 5, backoff: float = 0.5, max_backoff: float = 20.0,
                 jitter: bool = True, max_retry_after: float = 120.0) -> None:
        if not isinstance(retries, int) or retries < 0:
            raise errors.ConfigurationError("retries must be an int >= 0, got %r"
                                            % (retries,))
        if backoff < 0 or max_backoff < 0 or max_retry_after < 0:
            raise errors.ConfigurationError(
                "backoff, max_backoff and max_retry_after must be >= 0")
        for name, value in zip(self.__slots__, (retries, backoff, max_backoff, jitter,
                                                max_retry_after)):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a RetryPolicy cannot be changed; use .replace(%s=...)" % name)

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a RetryPolicy cannot be changed")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "RetryPolicy(%s)" % ", ".join(
            "%s=%r" % item for item in zip(self.__slots__, self._values()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, self._values())

    def replace(self, **changes: Any) -> RetryPolicy:
        """A copy with ``changes`` (for example ``policy.replace(retries=2)``)."""
        unknown = set(changes) - set(self.__slots__)
        if unknown:
            raise errors.ConfigurationError("RetryPolicy has no %s" % ", ".join(sorted(unknown)))
        return self.__class__(**{**dict(zip(self.__slots__, self._values())), **changes})

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt``
        counts from 0); a server's ``Retry-After`` wins over the backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        delay = min(self.backoff * (2 ** attempt), self.max_backoff)
        return random.uniform(0, delay) if self.jitter else delay


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


class SwiftClient(SwiftOperations):
    """A thread-safe Swift client: single requests, retried and error-mapped.

    :param credentials: how to log in (:class:`~velocity.auth.Credentials`)
    :param retry: a :class:`RetryPolicy` (default: 5 retries, 0.5 s doubling,
        full jitter, at most 20 s; ``Retry-After`` honoured up to 120 s)
    :param timeout: seconds to wait for a server's answer
    :param user_agent: ``User-Agent`` header value
    :param direct: send requests on Velocity's own ``http.client``
        connections (the default: a third of the CPU per request, and a
        command never imports ``requests``; text bodies and bodies of unknown
        length still go through swiftclient); ``False`` sends every request through
        swiftclient and ``requests``, as happens anyway when an HTTP proxy is
        set in the environment for the storage URL (for code whose tests mock
        ``requests``, for instance)

    Every method raises a :class:`~velocity.errors.VelocityError` subclass on
    failure.  The ``swiftclient``-style methods (``head_account``,
    ``get_container``, ``put_object``, ...) take the same arguments as
    :class:`swiftclient.client.Connection`'s and return the same values.

    One client serves any number of threads: each thread gets its own
    ``swiftclient.Connection`` and all share one token.
    """

    def __init__(self, credentials: Credentials, *, retry: RetryPolicy | None = None,
                 timeout: float = 60.0, user_agent: str | None = None,
                 direct: bool = True) -> None:
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
        self.direct = bool(direct)
        self._local = threading.local()
        self._interrupt = threading.local()
        self._lock = threading.Lock()
        self._capabilities: dict[str, Any] | None = None
        self._proven: collections.deque[str] = collections.deque(maxlen=8)  # tokens that worked
        # weak: a thread that ends drops its connection with its thread-local
        self._connections: weakref.WeakSet[Connection] = weakref.WeakSet()
        _CLIENTS.add(self)

    def __repr__(self) -> str:
        return "SwiftClient(%r)" % (self.credentials,)

    @classmethod
    def from_env(cls, env: Any = None, **kwargs: Any) -> SwiftClient:
        """A client configured from ``OS_*`` / ``ST_*`` environment variables
        (see :meth:`Credentials.from_env`)."""
        return cls(Credentials.from_env(env), **kwargs)

    # -- connections --------------------------------------------------------

    def connection(self) -> Any:
        """This thread's :class:`swiftclient.client.Connection` (made on first
        use; never shared between threads or across ``fork()``).  Requests
        the direct transport sends do not use it: :meth:`call` is the way to
        send any request."""
        return self._thread().swift()

    def _thread(self) -> Connection:
        """This thread's :class:`~velocity._transport.Connection`."""
        local = self._local
        pid = os.getpid()
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != pid:
            conn = Connection(self, _SessionView(self.credentials))
            local.conn, local.pid = conn, pid
            with self._lock:
                self._connections.add(conn)
        return conn

    def _swift_connection(self, session: _SessionView) -> Any:
        """A ``swiftclient.Connection`` set up as Velocity uses them: no
        retries of its own (the retry loop is :meth:`call`'s), the
        credentials' TLS settings, the session's token."""
        from velocity._swiftclient import swiftclient

        conn = swiftclient.Connection(
            session=session, os_options=self.credentials.os_options,
            retries=0, starting_backoff=0, timeout=self.timeout, retry_on_ratelimit=False,
            cacert=self.credentials.cacert, insecure=self.credentials.insecure,
            cert=self.credentials.cert, cert_key=self.credentials.cert_key)
        conn.http_connection = _tune_http(conn.http_connection, self.user_agent)
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        """The TLS settings of the direct transport: the credentials' ``cacert``
        (else the CA bundle ``requests`` uses), ``insecure``, and the client
        certificate ``cert``/``cert_key``, as swiftclient applies them."""
        return self.credentials.tls()

    def close(self) -> None:
        """Close the HTTP connections this client opened (it stays usable)."""
        with self._lock:
            conns, self._connections = list(self._connections), weakref.WeakSet()
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
        # a login is not a storage request: its errors name the identity service instead
        method = None if operation == "get_auth" else _METHODS.get(operation.split("_", 1)[0])
        container, obj = _target(operation, args, kwargs)
        where = _path(container, obj)
        body = _body_of(operation, args, kwargs)
        start = _tell(body)
        rewindable = body is None or isinstance(body, (bytes, bytearray, str)) or start is not None
        if not rewindable:  # log in (with retries) before the body starts to flow
            self._auth_call(lambda: self._sync(self._thread()))
        attempt = 0
        renewals = 0  # each for another token: a renewed token may expire too
        unproven = 0  # renewals of a token the server never took
        while True:
            conn = self._thread()
            try:
                self._sync(conn)
                direct = _DIRECT_OPERATIONS.get(operation)
                if direct is not None:
                    result = direct(self, conn, *args, **kwargs)
                else:
                    result = getattr(conn.swift(), operation)(*args, **kwargs)
                self._prove(conn.token)
                return result
            except Exception as exc:  # noqa: BLE001 - mapped below
                error = translate_error(exc, method, container, obj)
                if operation == "get_auth" and error.path == "/":
                    error.path = None
                status = status_of(exc)
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
                            path=where, request_id=error.request_id) from None
                    if not rewindable:
                        raise errors.AuthenticationFailed(
                            "the token expired during a streamed upload that cannot be "
                            "rewound: send it again", status=401, method=method,
                            path=where, request_id=error.request_id) from None
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
                if transient and (not isinstance(exc, status_errors()) or status == 408):
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
                        log.warning("giving up on %s after %d attempt(s): %s",
                                    "%s %s" % (method, where) if method else "the login",
                                    attempt + 1, error)
                    raise error from None
                delay = self.retry.delay(attempt, _retry_after(exc))
                log.info("retrying %s in %.2fs (attempt %d of %d): %s",
                         "%s %s" % (method, where) if method else "the login", delay,
                         attempt + 2, self.retry.retries + 1, error)
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

    def _sync(self, conn: Connection) -> None:
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


