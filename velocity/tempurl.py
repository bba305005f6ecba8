"""Temporary URLs: signed, expiring links that let anyone without credentials
GET (PUT, HEAD, ...) one object, as Swift's ``tempurl`` middleware checks them.

The signature is an HMAC, keyed with the account's (or container's)
``Temp-URL-Key``, of ``METHOD\\nEXPIRES\\nPATH`` (``PATH`` being
``/v1/ACCOUNT/CONTAINER/OBJECT`` as the server decodes it).  Every face that
makes temporary URLs (``Container.get_temp_url``, the Django storage, the
fsspec filesystem's ``sign``, ``velocity tempurl``) signs here.
"""

from __future__ import annotations

import time
from urllib.parse import quote, unquote, urlsplit

from velocity import errors

__all__ = ["temp_url", "signature", "DIGESTS", "METHODS"]

#: digests Swift's tempurl middleware accepts
DIGESTS = ("sha256", "sha512", "sha1")
#: methods a temporary URL may allow
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")


def signature(key: str, method: str, expires: int, path: str, *, prefix: bool = False,
              ip_range: str | None = None, digest: str = "sha256") -> str:
    """The ``temp_url_sig`` of ``path`` (``/v1/ACCOUNT/CONTAINER/OBJECT``, not
    %-quoted; with ``prefix``, every object whose name starts with the last
    part), valid until ``expires`` (seconds since the epoch)."""
    if digest not in DIGESTS:
        raise errors.ConfigurationError("digest must be one of %s, got %r"
                                        % (", ".join(DIGESTS), digest))
    body = "%s\n%d\n%s" % (method.upper(), expires, "prefix:" + path if prefix else path)
    if ip_range:
        body = "ip=%s\n%s" % (ip_range, body)
    import hashlib
    import hmac

    return hmac.new(key.encode("utf-8"), body.encode("utf-8"),
                    getattr(hashlib, digest)).hexdigest()


def temp_url(storage_url: str, container: str, name: str, key: str, seconds: float, *,
             method: str = "GET", digest: str = "sha256", now: float | None = None) -> str:
    """A URL that lets anyone ``method`` the object for ``seconds`` seconds.

    :param storage_url: the account's storage URL (``.../v1/AUTH_x``)
    :param key: the temp URL key (a secret: never logged)
    :param seconds: how long the URL works, from ``now`` (default: the clock)
    :raises velocity.errors.ConfigurationError: no key, a bad digest or duration
    """
    if not key:
        raise errors.ConfigurationError("a temp URL needs the account's or the container's "
                                        "temp URL key (temp_url_key)")
    if seconds <= 0:
        raise errors.ConfigurationError("a temp URL must last more than 0 seconds, got %r"
                                        % (seconds,))
    expires = int((time.time() if now is None else now) + seconds)
    account_path = urlsplit(storage_url).path.rstrip("/")
    path = "%s/%s/%s" % (unquote(account_path), container, name)
    sig = signature(key, method, expires, path, digest=digest)
    return "%s/%s/%s?temp_url_sig=%s&temp_url_expires=%d" % (
        storage_url.rstrip("/"), quote(container, safe=""), quote(name, safe="/"), sig, expires)
