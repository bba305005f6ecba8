"""``tempurl METHOD SECONDS PATH KEY``: a URL that lets anyone without
credentials GET (PUT, ...) one object until it expires, signed as Swift's
``tempurl`` middleware checks it: an HMAC of ``METHOD\\nEXPIRES\\nPATH`` keyed
with the account's (or container's) ``Temp-URL-Key``."""

from __future__ import annotations

import argparse
import sys
import time
from urllib.parse import quote, unquote, urlencode, urlsplit

from velocity.cli import _login as login
from velocity.cli._login import UsageError
from velocity.cli._output import emit
from velocity.tempurl import METHODS, signature


def _split(target: str) -> tuple[str | None, str | None]:
    """``(origin or None, path or None)``: a whole URL, a ``/v1/ACCOUNT/...``
    path, or (``None``, ``None``) for a ``CONTAINER/OBJECT`` of the account."""
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        return "%s://%s" % (parts.scheme, parts.netloc), unquote(parts.path)
    if target.startswith("/"):
        return None, target
    return None, None


def _signed(path: str, prefix: bool) -> str:
    """The path Swift signs: ``/v1/ACCOUNT/CONTAINER/OBJECT``, whatever stands in
    front of ``/v1`` in the URL (a proxy's path prefix)."""
    parts = path.split("/")
    start = parts.index("v1") if "v1" in parts[:-3] else 1
    parts = [""] + parts[start:]
    # "", version, account, container, object...; a prefix may be empty
    if len(parts) < 5 or not all(parts[1:4]) or (not prefix and not "/".join(parts[4:])):
        raise UsageError(
            "PATH %r does not name an object: give /v1/ACCOUNT/CONTAINER/OBJECT, a whole URL, "
            "or CONTAINER/OBJECT of your account%s"
            % (path, "" if not prefix else " (with --prefix-based: .../CONTAINER/PREFIX)"))
    return "/".join(parts)


def tempurl(args: argparse.Namespace) -> int:
    method = args.method.upper()
    if method not in METHODS:
        raise UsageError("METHOD must be one of %s, got %r" % (", ".join(METHODS), args.method))
    if args.seconds <= 0 and not args.absolute:
        raise UsageError("SECONDS must be more than 0, got %d" % args.seconds)
    key = args.key_arg
    if key == "-":
        if args.key == "-":
            raise UsageError("tempurl's KEY and --key cannot both come from standard input")
        key = sys.stdin.readline().rstrip("\r\n")
    if not key:
        raise UsageError("KEY is empty: give the Temp-URL-Key set with "
                         "'velocity post -m Temp-URL-Key:KEY'")
    base, path = _split(args.path)
    if path is None or (base is None and not args.path_only):
        storage = urlsplit(login.client(args).storage_url)
        base = "%s://%s" % (storage.scheme, storage.netloc)
        if path is None:
            path = "%s/%s" % (unquote(storage.path).rstrip("/"), args.path.lstrip("/"))
    signed = _signed(path, args.prefix_based)
    expires = args.seconds if args.absolute else int(time.time()) + args.seconds
    query = {"temp_url_sig": signature(key, method, expires, signed, prefix=args.prefix_based,
                                       ip_range=args.ip_range, digest=args.digest),
             "temp_url_expires": str(expires)}
    if args.prefix_based:
        query["temp_url_prefix"] = signed.split("/", 4)[4]
    if args.ip_range:
        query["temp_url_ip_range"] = args.ip_range
    url = "%s%s?%s" % ("" if args.path_only else base, quote(path), urlencode(query))
    if args.json:
        emit({"action": "tempurl", "method": method, "expires": expires, "url": url})
    else:
        print(url)
    return 0
