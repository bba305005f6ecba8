"""The swiftclient-style request methods of :class:`~velocity.client.SwiftClient`,
each one call of its retry loop."""


from __future__ import annotations

from collections.abc import Iterator

from velocity import errors
from velocity._errormap import _path
from velocity._log import log
from velocity.hashing import is_md5, md5_hex

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

    from velocity.client import RetryPolicy


class SwiftOperations:
    """Mixin: ``swiftclient.Connection``'s methods, with the same arguments
    and return values, through :meth:`SwiftClient.call`."""

    retry: RetryPolicy
    _capabilities: dict[str, Any] | None

    def call(self, operation: str, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

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
                    or "x-static-large-object" in headers or not is_md5(etag)
                    or md5_hex(body) == etag):
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
        seen = marker or ""  # the greatest name listed so far
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            kwargs = {"marker": marker, "limit": size, "prefix": prefix,
                      "end_marker": end_marker, **extra}
            if delimiter:
                kwargs["delimiter"] = delimiter
            args = (container,) if container is not None else ()
            _, page = self.call(operation, *args, **kwargs)
            if seen:  # only names past those listed: a server that ignores the marker
                page = [e for e in page if _entry_name(e) > seen]  # ends here
            if not page:
                return
            yield from page
            if remaining is not None:
                remaining -= len(page)
            marker = _entry_name(page[-1])
            seen = max(seen, max(_entry_name(e) for e in page))
            # a short page is not the end: some servers (Ceph RGW) return fewer
            # entries than asked before the last page; only an empty page (or
            # one with nothing new) ends it

    def capabilities(self, refresh: bool = False) -> dict[str, Any]:
        """The cluster's ``/info`` document, fetched once and cached."""
        if self._capabilities is None or refresh:
            self._capabilities = self.call("get_capabilities")
        return self._capabilities


def _entry_name(entry: dict[str, Any]) -> str:
    return entry.get("name") or entry.get("subdir") or ""
