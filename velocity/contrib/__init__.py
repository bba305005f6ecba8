"""Velocity inside other frameworks: :mod:`velocity.contrib.django` (a Django
file storage).  The fsspec filesystem is :mod:`velocity.fsspec`.

This package also holds what those faces share: :func:`temp_url`, the
signed, expiring URLs of Swift's ``tempurl`` middleware.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote, unquote, urlsplit

from velocity import errors

__all__ = ["temp_url"]

#: digests Swift's tempurl middleware accepts, by preference
_DIGESTS = ("sha256", "sha512", "sha1")


def temp_url(storage_url: str, container: str, name: str, key: str, seconds: float, *,
             method: str = "GET", digest: str = "sha256", now: float | None = None) -> str:
    """A URL that lets anyone ``method`` the object for ``seconds`` seconds,
    signed with HMAC-``digest`` of the account's or the container's
    temp URL key (``X-Account-Meta-Temp-URL-Key`` /
    ``X-Container-Meta-Temp-URL-Key``), as Swift's ``tempurl`` middleware
    checks it.

    :param storage_url: the account's storage URL (``.../v1/AUTH_x``)
    :param key: the temp URL key (a secret: never logged)
    :param seconds: how long the URL works, from ``now`` (default: the clock)
    :raises velocity.errors.ConfigurationError: no key, a bad digest or duration
    """
    if not key:
        raise errors.ConfigurationError("a temp URL needs the account's or the container's "
                                        "temp URL key (temp_url_key)")
    if digest not in _DIGESTS:
        raise errors.ConfigurationError("digest must be one of %s, got %r"
                                        % (", ".join(_DIGESTS), digest))
    if seconds <= 0:
        raise errors.ConfigurationError("a temp URL must last more than 0 seconds, got %r"
                                        % (seconds,))
    expires = int((time.time() if now is None else now) + seconds)
    # the middleware signs the path as the server decodes it: /v1/AUTH_x/c/o
    account_path = urlsplit(storage_url).path.rstrip("/")
    path = "%s/%s/%s" % (unquote(account_path), container, name)
    body = "%s\n%d\n%s" % (method.upper(), expires, path)
    signature = hmac.new(key.encode("utf-8"), body.encode("utf-8"),
                         getattr(hashlib, digest)).hexdigest()
    return "%s/%s/%s?temp_url_sig=%s&temp_url_expires=%d" % (
        storage_url.rstrip("/"), quote(container, safe=""), quote(name, safe="/"),
        signature, expires)
