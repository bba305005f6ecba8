"""What the object model reads from and writes into Swift's headers.

Metadata (``X-Account-Meta-*``, ``X-Container-Meta-*``, ``X-Object-Meta-*``),
read ACLs, CDN attributes, the ``X-Object-Manifest`` of a dynamic large
object, temp-URL keys and the temporary URLs they sign, for
:mod:`velocity.connection`, :mod:`velocity.container` and
:mod:`velocity.storage_object`.  It imports nothing of the object model, so
those three share it without importing one another's helpers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from velocity import consts, errors
from velocity.names import check_container_name, decode_name
from velocity.tempurl import METHODS, temp_url

__all__ = [
    "KEPT_OBJECT_HEADERS", "PUBLIC_READ_ACL", "PUBLIC_LISTINGS_ACL",
    "lower_keys", "meta_from", "int_or_none", "check_metadata", "check_meta_item",
    "raw_meta_headers", "read_acl", "acl_is_public", "public_acl", "private_acl",
    "cdn_attributes", "is_large_object", "object_headers", "manifest_header",
    "check_manifest", "temp_url_key", "random_temp_url_key", "TEMP_URL_METHODS",
    "check_temp_url_request", "sign_temp_url",
]

#: headers Swift resets on an object POST unless they are sent again
KEPT_OBJECT_HEADERS: tuple[str, ...] = ("content-encoding", "content-disposition",
                                        "x-delete-at")
#: the read ACL entries a public container gets when there is no CDN:
#: anyone may read the objects (not list them)
PUBLIC_READ_ACL: tuple[str, ...] = (".r:*",)
#: the read ACL entry that also lets anyone list a container
PUBLIC_LISTINGS_ACL = ".rlistings"


# -- reading headers ----------------------------------------------------------------

def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with lower-case names."""
    return {k.lower(): v for k, v in headers.items()}


def meta_from(headers: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The headers whose name starts with ``prefix`` (any case), keyed by
    the lower-case rest of their name: ``{"color": "red"}`` for
    ``X-Container-Meta-Color: red`` and ``prefix="x-container-meta-"``."""
    prefix = prefix.lower()
    return {k.lower()[len(prefix):]: v for k, v in headers.items()
            if k.lower().startswith(prefix)}


def int_or_none(value: Any) -> int | None:
    """A header's number: ``None`` when the header is absent, ``0`` when it
    is not a number."""
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def is_large_object(headers: Mapping[str, str]) -> bool:
    """Whether the headers describe a segmented object (SLO / DLO), whose
    ETag is not the MD5 of its data."""
    lowered = lower_keys(headers)
    return "x-object-manifest" in lowered or "x-static-large-object" in lowered


# -- metadata ----------------------------------------------------------------------

def _utf8_len(value: str) -> int:
    return len(value.encode("utf-8"))


def check_meta_item(key: Any, value: Any) -> None:
    """Check one metadata name and value against Swift's limits (counted in
    UTF-8 bytes) and against what a header may hold.

    :raises InvalidMetaName: an empty or too long name, or one with ``:``,
        whitespace or control characters
    :raises InvalidMetaValue: a too long value, or one with CR, LF or NUL
    """
    if not isinstance(key, str) or not key:
        raise errors.InvalidMetaName("a metadata name must be a non-empty str, got %r" % (key,))
    if _utf8_len(key) > consts.meta_name_limit:
        raise errors.InvalidMetaName(
            "metadata name %r is %d bytes long in UTF-8; the limit is %d bytes"
            % (key[:40] + "...", _utf8_len(key), consts.meta_name_limit))
    if any(ch in key for ch in ":\r\n\x00 \t"):
        raise errors.InvalidMetaName(
            "metadata name %r must not contain ':', whitespace or control characters" % key)
    text = value if isinstance(value, str) else str(value)
    if _utf8_len(text) > consts.meta_value_limit:
        raise errors.InvalidMetaValue(
            "metadata value of %r is %d bytes long in UTF-8; the limit is %d bytes"
            % (key, _utf8_len(text), consts.meta_value_limit))
    if any(ch in text for ch in "\r\n\x00"):
        raise errors.InvalidMetaValue(
            "metadata value of %r must not contain CR, LF or NUL" % key)


def check_metadata(metadata: Mapping[str, Any]) -> None:
    """Check metadata names and values against Swift's limits before any
    request (:class:`~velocity.errors.InvalidMetaName` /
    :class:`~velocity.errors.InvalidMetaValue`)."""
    for key, value in metadata.items():
        check_meta_item(key, value)


def raw_meta_headers(metadata: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Headers for a metadata update.  Keys that already are headers
    (``X-Container-Meta-Foo``, ``X-Remove-...``, ``X-Versions-Location``: anything
    starting with ``X-``) are sent as given, as python-cloudfiles did; bare names
    (``foo``) get ``prefix``.  Names and values are checked first."""
    headers: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise errors.InvalidMetaName("a metadata name must be a non-empty str")
        text = "" if value is None else str(value)
        lowered = key.lower()
        if lowered.startswith(prefix.lower()):
            check_meta_item(key[len(prefix):], text)
            headers[key] = text
        elif lowered.startswith("x-"):
            check_meta_item("x", text)  # the value still has to fit in a header
            headers[key] = text
        else:
            check_meta_item(key, text)
            headers[prefix + key] = text
    return headers


def object_headers(metadata: Mapping[str, Any], manifest: Any = None,
                   extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers of an object upload, copy or metadata update: its
    ``metadata`` as ``X-Object-Meta-*`` (checked first), ``X-Object-Manifest``
    when ``manifest`` is set, then ``extra`` as given."""
    check_metadata(metadata)
    headers: dict[str, str] = {}
    if manifest:
        headers["X-Object-Manifest"] = manifest_header(manifest)
    for key, value in metadata.items():
        headers["X-Object-Meta-" + key] = value if isinstance(value, str) else str(value)
    headers.update(extra or {})
    return headers


# -- read ACLs and the CDN ---------------------------------------------------------

def read_acl(headers: Mapping[str, str]) -> list[str]:
    """The entries of a container's ``X-Container-Read`` (any header case)."""
    acl = lower_keys(headers).get("x-container-read", "")
    return [item.strip() for item in acl.split(",") if item.strip()]


def acl_is_public(acl: Iterable[str]) -> bool:
    """Whether a read ACL lets anyone read the objects (``.r:*``), with or
    without public listings."""
    return PUBLIC_READ_ACL[0] in acl


def public_acl(acl: Iterable[str], listings: bool) -> list[str]:
    """``acl`` with :data:`PUBLIC_READ_ACL` added; :data:`PUBLIC_LISTINGS_ACL`
    added when ``listings`` is true and removed when it is false.  Other
    entries are kept, in their order."""
    wanted = PUBLIC_READ_ACL + ((PUBLIC_LISTINGS_ACL,) if listings else ())
    kept = [entry for entry in acl if listings or entry != PUBLIC_LISTINGS_ACL]
    return kept + [entry for entry in wanted if entry not in kept]


def private_acl(acl: Iterable[str]) -> list[str]:
    """``acl`` without its public entries (``.r:*`` in any form and
    ``.rlistings``)."""
    return [entry for entry in acl
            if entry not in PUBLIC_READ_ACL and entry != PUBLIC_LISTINGS_ACL
            and not entry.startswith(".r:*")]


def cdn_attributes(headers: Mapping[str, str]) -> dict[str, Any]:
    """A container's CDN attributes from the CDN's HEAD answer (empty when the
    CDN does not know the container): ``cdn_uri`` (``None`` unless enabled),
    ``cdn_ssl_uri``, ``cdn_streaming_uri``, ``cdn_ttl`` and
    ``cdn_log_retention``."""
    lowered = lower_keys(headers)
    enabled = lowered.get("x-cdn-enabled", "true" if lowered else "false")
    return {
        "cdn_uri": lowered.get("x-cdn-uri") if enabled.lower() == "true" else None,
        "cdn_ssl_uri": lowered.get("x-cdn-ssl-uri"),
        "cdn_streaming_uri": lowered.get("x-cdn-streaming-uri"),
        "cdn_ttl": int_or_none(lowered.get("x-ttl")),
        "cdn_log_retention": lowered.get("x-log-retention", "").lower() == "true",
    }


# -- dynamic large objects ---------------------------------------------------------

def manifest_header(manifest: Any) -> str:
    """``manifest`` (``container/prefix`` as text, as Velocity reads it back)
    encoded for the ``X-Object-Manifest`` header: percent-encoded except ``/``,
    which Swift's DLO middleware decodes again.

    :raises ConfigurationError: ``manifest`` is not text (or UTF-8 bytes)
    """
    value = decode_name(manifest, errors.ConfigurationError, "manifest")
    if not isinstance(value, str):
        raise errors.ConfigurationError(
            "manifest must be a str 'container/prefix', got %s" % type(value).__name__)
    return quote(value, safe="/")


def check_manifest(manifest: Any) -> str:
    """:func:`manifest_header`, after checking that ``manifest`` is what
    Swift accepts on a PUT: ``container/prefix`` with a valid container name
    and a non-empty prefix not starting with ``/``.

    :raises ConfigurationError: it is not
    """
    header = manifest_header(manifest)
    value = decode_name(manifest, errors.ConfigurationError, "manifest")
    container, _, prefix = value.partition("/")
    if not container or not prefix or prefix.startswith("/"):
        raise errors.ConfigurationError(
            "manifest must be 'container/prefix' (the segments' container and the "
            "prefix of their names), got %r" % value)
    try:
        check_container_name(container)
    except errors.InvalidContainerName as exc:
        raise errors.ConfigurationError("manifest %r: %s" % (value, exc)) from None
    return header


# -- temporary URLs ----------------------------------------------------------------

def temp_url_key(headers: Mapping[str, str], level: str) -> str | None:
    """The temp-URL key in an account's (``level="account"``) or a
    container's (``level="container"``) headers: ``X-<Level>-Meta-Temp-URL-Key``,
    else ``...-Key-2``, else ``None``."""
    lowered = lower_keys(headers)
    name = "x-%s-meta-temp-url-key" % level
    return lowered.get(name) or lowered.get(name + "-2") or None


def random_temp_url_key() -> str:
    """A new random temp-URL key."""
    return secrets.token_urlsafe(32)


#: the methods a temporary URL may allow
TEMP_URL_METHODS = METHODS


def check_temp_url_request(method: str, seconds: Any) -> tuple[str, int]:
    """``(METHOD, seconds)`` for a temporary URL, checked before any key is
    looked up or set.

    :raises ConfigurationError: an unknown method, or ``seconds`` not above 0
    """
    method = method.upper()
    if method not in TEMP_URL_METHODS:
        raise errors.ConfigurationError("temp URL method must be GET, HEAD, PUT, POST or "
                                        "DELETE, got %r" % method)
    if int(seconds) <= 0:
        raise errors.ConfigurationError("seconds must be > 0, got %r" % seconds)
    return method, int(seconds)


def sign_temp_url(storage_url: str, container: str, name: str, method: str, seconds: int,
                  key: str) -> str:
    """The temporary URL (Swift's ``tempurl``) that allows ``method`` on
    ``container/name`` of the account at ``storage_url`` for ``seconds``
    seconds, signed with ``key`` (see :mod:`velocity.tempurl`)."""
    return temp_url(storage_url, container, name, key, seconds, method=method)
