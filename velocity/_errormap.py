"""Failures of swiftclient, keystoneauth1, requests and sockets mapped to
:mod:`velocity.errors`, and which of them are worth retrying."""


from __future__ import annotations

import http.client
import re
import ssl
import time
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from velocity import errors
from velocity._wire import IdentityUnreachable, Loaded, StatusError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

ksa_exc = Loaded("keystoneauth1.exceptions")
_requests = Loaded("requests.exceptions")
_urllib3 = Loaded("urllib3.exceptions")
_swiftclient = Loaded("swiftclient.exceptions")


def status_errors() -> tuple[type[BaseException], ...]:
    """The classes of an error status answered by storage: the direct
    transport's, and swiftclient's once it is loaded."""
    found = _swiftclient.ClientException
    return (StatusError, found) if found else (StatusError,)


def status_of(exc: BaseException) -> int | None:
    """The HTTP status storage answered with, if ``exc`` is such an answer."""
    return exc.http_status if isinstance(exc, status_errors()) else None  # type: ignore


def connection_errors() -> tuple[type[BaseException], ...]:
    """What a request raises when its connection fails (also mid-body)."""
    found: list[Any] = [OSError, http.client.HTTPException]
    for extra in (_requests.RequestException, _urllib3.HTTPError):
        if extra:
            found.append(extra)
    return tuple(found)


def _retryable_status(status: int | None) -> bool:
    return status is not None and (status in (408, 429, 498) or 500 <= status <= 599)


def _is_transient(exc: BaseException) -> bool:
    """Worth retrying: a connection failure or a retryable HTTP status."""
    if isinstance(exc, status_errors()):
        return _retryable_status(exc.http_status)  # type: ignore[attr-defined]
    if isinstance(exc, ksa_exc.HttpError):
        return _retryable_status(exc.http_status)
    if isinstance(exc, errors.VelocityError):  # from our own auth plugins
        return not isinstance(exc, errors.ConfigurationError) and _retryable_status(exc.status)
    if isinstance(exc, (ksa_exc.SSLError, _requests.SSLError, ssl.SSLError)):
        return False  # certificate problems do not heal
    return isinstance(exc, (*connection_errors(), ksa_exc.ConnectionError))


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, status_errors()):
        headers = exc.http_response_headers or {}  # type: ignore[attr-defined]
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
    if isinstance(exc, IdentityUnreachable):
        return errors.AuthenticationError("could not reach the identity service at %s: %s"
                                          % (exc.origin, exc.reason), method=method, path=path)
    if isinstance(exc, status_errors()):
        answer: Any = exc
        status = answer.http_status
        details = {"status": status, "reason": answer.http_reason or None, "method": method,
                   "path": answer.http_path or path, "request_id": answer.transaction_id}
        if status is None:
            # swiftclient reports a refused Keystone login as status None
            if str(answer.msg).startswith("Unauthorized") or "Authorization Failure" in answer.msg:
                return errors.AuthenticationFailed("the identity service refused the credentials",
                                                   method=method, path=path)
            return errors.ResponseError(str(answer.msg), method=method, path=path)
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
        return errors.ResponseError(answer.http_reason or "request failed", **details)
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
    if isinstance(exc, (ssl.SSLError, _requests.SSLError, ksa_exc.SSLError)):
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
    if isinstance(exc, connection_errors()):
        return errors.ResponseError("connection failed: %s" % exc.__class__.__name__,
                                    method=method, path=path)
    # a failure outside any request (a bug, a local error) names no request
    return errors.VelocityError("%s: %s" % (exc.__class__.__name__, exc), method=method,
                                path=path if method or container or obj else None)


_URL_HOST = re.compile(r"(https?://[^/\s'\"]+)")


def _host_in(exc: BaseException) -> str:
    """`` at scheme://host:port`` when the failure's text names a URL."""
    match = _URL_HOST.search(str(exc))
    return " at %s" % match.group(1) if match else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else exc.__class__.__name__


