"""Every exception Velocity raises.

All of them derive from :class:`VelocityError`, so one ``except
velocity.errors.VelocityError`` catches every failure of every face (object
model, transfers, asyncio API, CLI, event downloader).  The subclasses carry
the names python-cloudfiles gave them, so legacy ``except cloudfiles.errors.X``
clauses keep working after ``import velocity.cloudfiles as cloudfiles``.

A failure that came from an HTTP exchange carries its details: ``status``,
``reason``, ``method``, ``path`` (without query string) and ``request_id``
(Swift's ``X-Trans-Id``), and its message names them.  No message ever holds
a token, password or key.
"""

from __future__ import annotations

__all__ = [
    "VelocityError",
    "ConfigurationError",
    "ResponseError",
    "AuthenticationFailed",
    "AuthenticationError",
    "NoSuchContainer",
    "NoSuchObject",
    "ContainerNotEmpty",
    "ContainerExists",
    "ContainerNotPublic",
    "CDNNotEnabled",
    "InvalidContainerName",
    "InvalidObjectName",
    "InvalidMetaName",
    "InvalidMetaValue",
    "InvalidUrl",
    "InvalidObjectSize",
    "IncompleteSend",
    "ChecksumMismatch",
    "UnsafePath",
    "TransferCancelled",
    "InvalidEvent",
    "ServerError",
]


class VelocityError(Exception):
    """Base class of every Velocity exception.

    :ivar status: HTTP status of the failed exchange, or ``None``
    :ivar reason: the HTTP reason phrase or a short explanation
    :ivar method: HTTP method, e.g. ``"PUT"``, or ``None``
    :ivar path: request path (no query string), or ``None``
    :ivar request_id: Swift's transaction id (``X-Trans-Id``), or ``None``
    """

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        reason: str | None = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.reason = reason
        self.method = method
        self.path = path
        self.request_id = request_id
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message] if self.message else []
        if self.method or self.path:
            parts.append("(%s %s)" % (self.method or "", self.path or ""))
        if self.status is not None:
            parts.append("[HTTP %s%s]" % (self.status, " " + self.reason if self.reason else ""))
        if self.request_id:
            parts.append("[request id %s]" % self.request_id)
        return " ".join(parts) or self.__class__.__name__

    def __reduce__(self):  # keep the details when pickled (multiprocessing, fork)
        return (_rebuild, (self.__class__, self.message, self.__dict__.copy()))


def _rebuild(cls: type[VelocityError], message: str, state: dict) -> VelocityError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ConfigurationError(VelocityError, ValueError):
    """Settings are missing or contradict each other (arguments, ``OS_*``
    variables); the message names what to set."""


class ResponseError(VelocityError):
    """Swift answered with an unexpected HTTP status.

    python-cloudfiles' ``ResponseError(status, reason)`` signature is accepted
    too: ``ResponseError(404, "Not Found")``.
    """

    def __init__(self, message: str | int = "", reason: str | None = None, **details) -> None:
        if isinstance(message, int):  # cloudfiles style: ResponseError(status, reason)
            details.setdefault("status", message)
            message = reason or ""
            if reason is not None:
                details.setdefault("reason", reason)
        elif reason is not None:
            details.setdefault("reason", reason)
        super().__init__(message, **details)


class AuthenticationFailed(VelocityError):
    """The identity service refused the credentials (wrong user, key or
    password, or no access to the project)."""


class AuthenticationError(AuthenticationFailed):
    """The identity service's answer could not be used (cloudfiles name:
    e.g. no object-store endpoint in the catalog, or an unknown region)."""


class NoSuchContainer(ResponseError):
    """The container does not exist (HTTP 404 on a container)."""


class NoSuchObject(ResponseError):
    """The object does not exist (HTTP 404 on an object)."""


class ContainerNotEmpty(ResponseError):
    """Only empty containers can be deleted (HTTP 409)."""


class ContainerExists(ResponseError):
    """``create_container(name, error_on_existing=True)`` found the container
    already there (Swift answers 202 instead of 201)."""


class ContainerNotPublic(VelocityError):
    """The container is not published (no CDN or public read ACL)."""


class CDNNotEnabled(VelocityError):
    """The account has no CDN service in its catalog."""


class InvalidContainerName(VelocityError, ValueError):
    """A container name breaks Swift's rules; the message says which."""


class InvalidObjectName(VelocityError, ValueError):
    """An object name breaks Swift's rules; the message says which."""


class InvalidMetaName(VelocityError, ValueError):
    """A metadata name is empty, too long or not allowed in a header."""


class InvalidMetaValue(VelocityError, ValueError):
    """A metadata value is too long or not allowed in a header."""


class InvalidUrl(VelocityError, ValueError):
    """A URL could not be parsed or uses an unsupported scheme."""


class InvalidObjectSize(VelocityError, ValueError):
    """A size is negative, unknown where it is needed, or beyond Swift's limit."""


class IncompleteSend(VelocityError):
    """Fewer bytes were sent or received than announced."""


class ChecksumMismatch(IncompleteSend):
    """Data did not match its ETag / hash: nothing was kept."""


class UnsafePath(VelocityError, ValueError):
    """An object name would be written outside the destination folder
    (``..``, an absolute path, or a NUL byte)."""


class TransferCancelled(VelocityError):
    """The transfer was cancelled; nothing partial was left behind."""


class InvalidEvent(VelocityError, ValueError):
    """A CloudEvent the downloader cannot use: unknown shape, no file records,
    or a record with a bad name, size or hash type; the message says which."""


class ServerError(RuntimeError):
    """A local server of :mod:`velocity.server` could not be started; the
    message quotes its log.  (Not a :class:`VelocityError`: it is about the
    test servers, not about storage.)"""
