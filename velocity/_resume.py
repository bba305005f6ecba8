"""Broken download bodies resumed where they stopped (``Range`` + ``If-Match``)."""


from __future__ import annotations

import http.client
from collections.abc import Iterator

from velocity import errors
from velocity._errormap import _path, connection_errors, translate_error
from velocity._log import log

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

    from velocity.client import SwiftClient


#: a body that keeps breaking after some progress is resumed at most this many
#: times per allowed retry
_MAX_RESUMES_PER_RETRY = 10


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
            except connection_errors() as exc:  # the connection broke mid-body
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


