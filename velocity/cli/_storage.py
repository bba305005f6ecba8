"""``list``, ``stat``, ``post``, ``copy``, ``capabilities`` and ``auth``: single
requests to the account, a container or an object."""

from __future__ import annotations

import argparse
import json
import os
import re
import ssl
import sys
from urllib.parse import urljoin, urlsplit

from velocity import errors
from velocity.cli import _login as login
from velocity.cli._login import UsageError
from velocity.cli._output import emit, out

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def list_(args: argparse.Namespace) -> int:
    swift = login.client(args)
    if args.container:
        entries = swift.iter_container(args.container, prefix=args.prefix,
                                       delimiter=args.delimiter)
    else:
        entries = swift.iter_account(prefix=args.prefix)
    for entry in entries:
        if args.json:
            emit(entry)
        elif not args.long:
            print(entry.get("name") or entry.get("subdir"))
        elif "subdir" in entry:
            print("%12s  %-19s  %s" % ("", "", entry["subdir"]))
        elif args.container:
            print("%12d  %-19s  %s" % (entry.get("bytes", 0), (entry.get(
                "last_modified") or "")[:19].replace("T", " "), entry["name"]))
        else:
            print("%12d  %10d objects  %s" % (entry.get("bytes", 0), entry.get("count", 0),
                                              entry["name"]))
    return 0


_STAT_FIELDS = {
    "account": (("x-account-container-count", "Containers"),
                ("x-account-object-count", "Objects"), ("x-account-bytes-used", "Bytes")),
    "container": (("x-container-object-count", "Objects"), ("x-container-bytes-used", "Bytes"),
                  ("x-storage-policy", "Policy"), ("x-container-read", "Read ACL"),
                  ("x-container-write", "Write ACL")),
    "object": (("content-type", "Content type"), ("content-length", "Bytes"),
               ("etag", "ETag"), ("last-modified", "Last modified"),
               ("x-static-large-object", "Large object"), ("x-object-manifest", "Manifest")),
}
_STAT_HIDDEN = ("x-trans-id", "x-openstack-request-id", "date", "connection", "accept-ranges",
                "x-timestamp", "x-put-timestamp", "vary", "content-length", "content-type")


def stat(args: argparse.Namespace) -> int:
    swift = login.client(args)
    if args.object:
        headers = swift.head_object(args.container, args.object)
        what = {"container": args.container, "object": args.object}
    elif args.container:
        headers = swift.head_container(args.container)
        what = {"container": args.container}
    else:
        headers = swift.head_account()
        what = {"account": swift.storage_url.rstrip("/").rsplit("/", 1)[-1]}
    headers = {str(k).lower(): v for k, v in headers.items()}
    if args.json:
        emit(dict(what, headers=headers))
        return 0
    fields = _STAT_FIELDS["object" if args.object else "container" if args.container
                          else "account"]
    rows = [(key.capitalize(), value) for key, value in what.items()]
    rows += [(label, headers[header]) for header, label in fields if header in headers]
    known = {header for header, _ in fields}
    rows += [(header, headers[header]) for header in sorted(headers)
             if header not in known and header not in _STAT_HIDDEN]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print("%*s: %s" % (width, label, value))
    return 0


# -- post and copy ------------------------------------------------------------------

def pairs(items: list[str] | None, flag: str) -> list[tuple[str, str]]:
    """``["Color:blue", "Owner: ann"]`` -> ``[("Color", "blue"), ("Owner", "ann")]``
    (``NAME:`` with nothing after it removes that metadata, as in swift)."""
    found = []
    for item in items or ():
        name, colon, value = item.partition(":")
        name = name.strip()
        if not colon or not _HEADER_NAME.match(name):
            raise UsageError("%s wants NAME:VALUE (NAME of letters, digits and -_.), got %r"
                             % (flag, item))
        if "\r" in value or "\n" in value:
            raise UsageError("%s %s: the value holds a line break" % (flag, name))
        found.append((name, value.strip()))
    return found


def _meta_headers(args: argparse.Namespace, scope: str) -> dict[str, str]:
    headers = {"X-%s-Meta-%s" % (scope, name): value
               for name, value in pairs(args.meta, "-m/--meta")}
    headers.update(pairs(args.header, "-H/--header"))
    return headers


def post(args: argparse.Namespace) -> int:
    if args.object and not args.container:  # pragma: no cover - argparse fills in order
        raise UsageError("an OBJECT needs its CONTAINER")
    if (args.read_acl is not None or args.write_acl is not None) and (
            not args.container or args.object):
        raise UsageError("-r/--read-acl and -w/--write-acl apply to a container only")
    scope = "Object" if args.object else "Container" if args.container else "Account"
    headers = _meta_headers(args, scope)
    if args.read_acl is not None:
        headers["X-Container-Read"] = args.read_acl
    if args.write_acl is not None:
        headers["X-Container-Write"] = args.write_acl
    swift = login.client(args)
    created = False
    if args.object:
        swift.post_object(args.container, args.object, headers)
        what = "object %s/%s" % (args.container, args.object)
    elif args.container:
        try:
            swift.post_container(args.container, headers)
        except errors.NoSuchContainer:  # as the swift CLI: post makes a missing container
            swift.put_container(args.container, headers=headers)
            created = True
        what = "container %s" % args.container
    else:
        swift.post_account(headers)
        what = "account"
    if args.json:
        emit({"action": "post", "container": args.container, "name": args.object,
              "ok": True, "created": created, "headers": sorted(headers)})
    else:
        out(args, "%s %s" % ("created" if created else "updated", what))
    return 0


def destination(text: str | None) -> tuple[str | None, str | None]:
    """``/container[/object]`` -> ``(container, object or None)``."""
    if text is None:
        return None, None
    container, _, obj = text.lstrip("/").partition("/")
    if not container:
        raise UsageError("-d/--destination wants /CONTAINER or /CONTAINER/OBJECT, got %r"
                         % text)
    return container, obj or None


def copy(args: argparse.Namespace) -> int:
    dest_container, dest_object = destination(args.destination)
    if dest_object and len(args.objects) > 1:
        raise UsageError("-d/--destination names one object, but %d OBJECTs were given: "
                         "give one OBJECT, or a destination container (/CONTAINER)"
                         % len(args.objects))
    headers = _meta_headers(args, "Object")
    swift = login.client(args)
    if dest_container and dest_container != args.container:
        try:
            swift.head_container(dest_container)
        except errors.NoSuchContainer:
            swift.put_container(dest_container)
    copied = failed = 0
    for name in args.objects:
        target = "/%s/%s" % (dest_container or args.container, dest_object or name)
        record: dict[str, Any] = {"action": "copy", "container": args.container,
                                  "name": name, "destination": target, "ok": True,
                                  "error": None}
        try:
            swift.copy_object(args.container, name, target, headers=headers or None,
                              fresh_metadata=True if args.fresh_metadata else None)
            copied += 1
        except errors.VelocityError as error:
            failed += 1
            record.update(ok=False, error=str(error))
            print("velocity: copy %s/%s to %s failed: %s" % (args.container, name, target,
                                                             error), file=sys.stderr)
        if args.json:
            emit(record)
        elif args.verbose and record["ok"]:
            out(args, "%s/%s -> %s" % (args.container, name, target))
    if not args.json:
        out(args, "copied %d object(s)%s" % (copied, ", %d FAILED" % failed if failed else ""))
    return 1 if failed else 0


# -- capabilities and auth ---------------------------------------------------------------

def capabilities(args: argparse.Namespace) -> int:
    info = fetch_info(args.url) if args.url else login.client(args).capabilities()
    if args.json:
        emit(info)
        return 0
    for name in sorted(info, key=lambda key: (key != "swift", key)):
        print("%s%s" % (name, " (core)" if name == "swift" else ""))
        options = info[name]
        if not isinstance(options, dict):
            print("    %s" % _show(options))
            continue
        for option in sorted(options):
            print("    %s: %s" % (option, _show(options[option])))
    return 0


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def fetch_info(url: str) -> dict[str, Any]:
    """The ``/info`` of the cluster at ``url`` (any URL of its proxy), anonymously."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise UsageError("not a URL: %r (give e.g. https://swift.example.com)" % url)
    import urllib.error
    import urllib.request

    target = urljoin(url, "/info")
    context = None
    if target.startswith("https:"):
        context = ssl.create_default_context(cafile=os.environ.get("OS_CACERT") or None)
        if os.environ.get("OS_INSECURE", "").lower() in ("1", "true", "yes", "on"):
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(target, timeout=30, context=context) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise errors.ResponseError("no capabilities", status=error.code, reason=error.reason,
                                   method="GET", path=target) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise errors.ResponseError("cannot reach %s: %s" % (login.origin(target), reason)
                                   ) from None
    except ValueError:
        raise errors.ResponseError("the answer is not JSON", method="GET", path=target
                                   ) from None


def auth(args: argparse.Namespace) -> int:
    storage_url, token = login.client(args).get_auth()
    if args.json:
        record = {"action": "auth", "storage_url": storage_url}
        if args.show_token:
            record["token"] = token
            emit(record, stream=_Unredacted())
        else:
            emit(record)
        return 0
    import shlex

    print("export OS_STORAGE_URL=%s" % shlex.quote(storage_url))
    if args.show_token:
        _Unredacted().write("export OS_AUTH_TOKEN=%s\n" % shlex.quote(token))
    return 0


class _Unredacted:
    """Standard output without the hiding of secrets: for a token the user
    asked to see (``--show-token``)."""

    def write(self, text: str) -> None:
        stream = sys.stdout
        getattr(stream, "write_unredacted", stream.write)(text)
