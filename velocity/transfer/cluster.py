"""What the cluster allows and what it already holds: its ``/info`` limits,
container listings, and what a stored object is made of (plain, static or
dynamic large object), so that an overwrite, a skip or a delete knows about
segments."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from velocity import errors
from velocity._log import log
from velocity.client import SwiftClient
from velocity.hashing import md5_of_file, unquote_etag
from velocity.transfer.config import MAX_OBJECT_SIZE, TransferConfig, TransferResult

__all__ = ["Entry", "Existing", "Listing", "capabilities", "bulk_size", "segment_size",
           "threshold",
           "use_slo", "listing", "prepare_container", "inspect", "manifest_info", "same_bytes",
           "head_into"]


#: one entry of a container listing (Swift's JSON: name, bytes, hash, ...)
Entry = dict[str, Any]


@dataclass
class Existing:
    """What a stored object is made of."""

    kind: str                    # "plain", "slo" or "dlo"
    size: int
    etag: str | None
    mtime: str | None = None
    #: (segment path "/container/name", md5 or None when unverifiable, size)
    segments: list[tuple[str, str | None, int]] = field(default_factory=list)

    def segment_paths(self) -> list[str]:
        """The ``/container/name`` of every segment (none for a plain object)."""
        return [path for path, _, _ in self.segments] if self.kind != "plain" else []


# -- cluster facts ------------------------------------------------------------------


def capabilities(client: SwiftClient) -> dict[str, Any]:
    """The cluster's ``/info`` (empty when it cannot be had)."""
    try:
        return client.capabilities()
    except errors.VelocityError as exc:
        log.debug("no /info from the cluster: %s", exc)
        return {}


def _max_file_size(caps: dict[str, Any]) -> int:
    return int(caps.get("swift", {}).get("max_file_size", MAX_OBJECT_SIZE))


def segment_size(client: SwiftClient, config: TransferConfig, size: int) -> int:
    """The segment size for a ``size``-byte object, within the cluster's limits."""
    caps = capabilities(client)
    seg = min(config.segment_size, _max_file_size(caps))
    slo = caps.get("slo") if config.use_slo else None
    if slo:
        most = int(slo.get("max_manifest_segments", 1000))
        if -(-size // seg) > most:
            seg = -(-size // most)
        seg = max(seg, int(slo.get("min_segment_size", 1)))
    return seg


def bulk_size(client: SwiftClient) -> int | None:
    """The most names one bulk-delete request takes, or ``None`` when the
    cluster has no bulk-delete middleware."""
    bulk = capabilities(client).get("bulk_delete")
    return int(bulk.get("max_deletes_per_request", 10000)) if bulk else None


def threshold(client: SwiftClient, config: TransferConfig) -> int:
    """Objects larger than this are segmented."""
    return min(config.segment_threshold, _max_file_size(capabilities(client)))


def use_slo(client: SwiftClient, config: TransferConfig) -> bool:
    """Whether large objects get static (``True``) or dynamic manifests."""
    return config.use_slo and "slo" in capabilities(client)


# -- what is stored -------------------------------------------------------------------


def listing(client: SwiftClient, container: str, prefix: str | None
            ) -> dict[str, Entry] | None:
    """Listing entries by name, or ``None`` when the container is missing."""
    try:
        return {entry["name"]: entry
                for entry in client.iter_container(container, prefix=prefix or None)
                if "name" in entry}
    except errors.NoSuchContainer:
        return None


class Listing:
    """A container listing streamed: up to ``lookahead`` entries are read at
    once (so a small listing's totals are known before anything starts),
    the rest as they are iterated, a page at a time.  A failure of the first
    page raises from the constructor; a later one ends the iteration with
    :attr:`error` set (what was listed so far still counts).

    :raises velocity.errors.VelocityError: the listing cannot be had at all
    """

    def __init__(self, client: SwiftClient, container: str, prefix: str | None,
                 lookahead: int = 10000) -> None:
        self._rest = client.iter_container(container, prefix=prefix or None)
        head = list(itertools.islice(self._rest, lookahead + 1))
        self.complete = len(head) <= lookahead
        self._head: list[Entry] | None = [entry for entry in head if "name" in entry]
        #: the failure that cut the listing short, if one did
        self.error: errors.VelocityError | None = None

    def totals(self) -> tuple[int | None, int | None]:
        """``(bytes, objects)`` of the whole listing, when it fitted in the
        look-ahead; ``(None, None)`` otherwise."""
        if not self.complete or self._head is None:
            return None, None
        return sum(int(entry.get("bytes", 0)) for entry in self._head), len(self._head)

    def __iter__(self) -> Iterator[Entry]:
        head, self._head = self._head or [], None
        yield from head
        del head
        try:
            for entry in self._rest:
                if "name" in entry:
                    yield entry
        except errors.VelocityError as exc:
            self.error = exc


def prepare_container(client: SwiftClient, container: str, prefix: str) -> dict[str, Entry]:
    """One listing of what may be overwritten; creates the container when missing."""
    existing = listing(client, container, prefix)
    if existing is None:
        client.call("put_container", container)
        return {}
    return existing


def inspect(client: SwiftClient, container: str, name: str, entry: Entry | None,
            want_mtime: bool) -> Existing | None:
    """Whether a stored object is plain, SLO or DLO (and its segments);
    ``None`` when it does not exist.  ``entry`` (its listing entry) saves the
    HEAD of a plain object, unless its modification time is wanted."""
    if entry is not None and "slo_etag" in entry:
        return _manifest(client, container, name)
    if entry is not None and int(entry.get("bytes", 0)) > 0 and not want_mtime:
        return Existing("plain", int(entry["bytes"]), entry.get("hash"))
    try:
        headers = client.call("head_object", container, name)
    except errors.NoSuchObject:
        return None
    if headers.get("x-static-large-object", "").lower() == "true":
        return _manifest(client, container, name)
    info = Existing("plain", int(headers.get("content-length", 0)),
                    unquote_etag(headers.get("etag")), headers.get("x-object-meta-mtime"))
    manifest = headers.get("x-object-manifest")
    if manifest and "/" in manifest:
        seg_container, seg_prefix = unquote(manifest).split("/", 1)
        info.kind = "dlo"
        info.etag = None
        info.segments = [
            ("/%s/%s" % (seg_container, item["name"]), item.get("hash"),
             int(item.get("bytes", 0)))
            for item in client.iter_container(seg_container, prefix=seg_prefix)
            if "name" in item]
    return info


def _manifest(client: SwiftClient, container: str, name: str) -> Existing | None:
    try:
        headers, body = client.call("get_object", container, name,
                                    query_string="multipart-manifest=get")
    except errors.NoSuchObject:
        return None
    if headers.get("x-static-large-object", "").lower() != "true":
        return Existing("plain", len(body), unquote_etag(headers.get("etag")),
                        headers.get("x-object-meta-mtime"))
    return manifest_info(json.loads(body), headers)


def manifest_info(segments: Sequence[Entry], headers: dict[str, str]) -> Existing:
    """A static large object from its manifest (``multipart-manifest=get``)
    and headers.  A segment given as a byte range, or one that is itself a
    large object, has no MD5 to check."""
    parts = []
    for item in segments:
        size = int(item.get("bytes", 0))
        checked = item.get("hash")
        if item.get("range"):
            first, _, last = str(item["range"]).partition("-")
            size = int(last) - int(first) + 1 if first and last else size
            checked = None
        if item.get("sub_slo"):
            checked = None
        parts.append((item.get("name", ""), checked, size))
    return Existing("slo", sum(p[2] for p in parts),
                    unquote_etag(headers.get("x-manifest-etag") or headers.get("etag")),
                    headers.get("x-object-meta-mtime"), parts)


def same_bytes(check: Callable[[], None], path: str, size: int, info: Existing) -> bool:
    """Whether the local file holds exactly the object's bytes (a segmented
    object is compared segment by segment); ``check`` is called between
    blocks (a cancel)."""
    if info.size != size:
        return False
    if info.kind == "plain":
        return info.etag is not None and md5_of_file(path, 0, size, check) == info.etag
    offset = 0
    for _, etag, length in info.segments:
        if etag is None or md5_of_file(path, offset, length, check) != etag:
            return False
        offset += length
    return offset == size


def head_into(client: SwiftClient, result: TransferResult) -> None:
    """HEAD the object of ``result`` and fill it in (size, ETag, headers)."""
    headers = client.call("head_object", result.container, result.name)
    result.headers = headers
    result.bytes = int(headers.get("content-length", 0))
    result.etag = unquote_etag(headers.get("etag"))
    result.ok = True
