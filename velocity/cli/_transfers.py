"""``upload``, ``download``, ``delete``, ``head`` and ``events consume``: the
commands that go through the transfer engine."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from urllib.parse import unquote

from velocity import errors
from velocity.cli import _login as login
from velocity.cli._login import UsageError
from velocity.cli._output import emit, out, report, show_progress, subscribers

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any


def upload(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not os.path.exists(path)]
    if missing:
        raise UsageError("no such file or folder: %s" % ", ".join(missing))
    if getattr(args, "dask", None):
        return _on_dask(args, "upload")
    began = time.monotonic()
    swift = login.client(args)
    with login.manager(args, swift) as manager:
        results = manager.upload(args.container, args.paths, prefix=args.prefix,
                                 ignore=tuple(args.exclude or ()),
                                 subscribers=subscribers(args, "upload"))
    facts = settle_etags(swift, args.container, results) if args.json else None
    return report(args, results, began, "upload", facts)


def download(args: argparse.Namespace) -> int:
    if getattr(args, "dask", None):
        return _on_dask(args, "download")
    began = time.monotonic()
    swift = login.client(args)
    with login.manager(args, swift) as manager:
        results = manager.download(args.container, args.objects or None, out_dir=args.output,
                                   prefix=args.prefix, remove_prefix=args.remove_prefix,
                                   skip_identical=args.skip_identical,
                                   subscribers=subscribers(args, "download"))
    facts = settle_etags(swift, args.container, results) if args.json else None
    return report(args, results, began, "download", facts)


def _on_dask(args: argparse.Namespace, action: str) -> int:
    """``--dask SCHEDULER|local:N``: the same transfer spread over a Dask
    cluster (:mod:`velocity.distributed`); the workers log in themselves, from
    the same ``OS_*`` / ``ST_*`` variables."""
    from velocity import distributed

    if args.auth_url or args.user or args.key or args.key_prompt or args.project:
        raise UsageError("with --dask, log in through OS_* / ST_* variables: the workers "
                         "read the same ones (no token is ever sent to them)")
    began = time.monotonic()
    recipe = distributed.Recipe.from_env()
    with distributed.connect(args.dask) as dask_client:
        if action == "upload":
            results = distributed.upload(dask_client, recipe, args.container, args.paths,
                                         prefix=args.prefix, ignore=tuple(args.exclude or ()),
                                         config=login.config(args),
                                         subscribers=subscribers(args, "upload"))
        else:
            results = distributed.download(dask_client, recipe, args.container, args.output,
                                           names=args.objects or None, prefix=args.prefix,
                                           remove_prefix=args.remove_prefix,
                                           config=login.config(args),
                                           subscribers=subscribers(args, "download"))
    return report(args, results, began, action)


def delete(args: argparse.Namespace) -> int:
    began = time.monotonic()
    swift = login.client(args)
    with login.manager(args, swift) as manager:
        results = manager.delete(args.container, args.objects or None, prefix=args.prefix,
                                 subscribers=subscribers(args, "delete"))
    status = report(args, results, began, "delete")
    if args.objects or args.prefix or status:
        return status
    swift.delete_container(args.container)
    _said_deleted(args, args.container, "container")
    segments = args.container + "_segments"
    try:
        if remove_if_empty(swift, segments):
            _said_deleted(args, segments, "empty segments container")
    except errors.VelocityError as error:
        print("velocity: could not remove the segments container %s: %s" % (segments, error),
              file=sys.stderr)
        return 1
    return status


def _said_deleted(args: argparse.Namespace, container: str, what: str) -> None:
    if args.json:
        emit({"action": "delete", "container": container, "name": None, "ok": True})
    else:
        out(args, "deleted %s %s" % (what, container))


def remove_if_empty(swift: Any, container: str) -> bool:
    """Delete ``container`` if it exists and holds nothing; ``True`` if it did."""
    if len(container.encode("utf-8")) > 256:
        return False  # too long a name to have been made
    try:
        if next(iter(swift.iter_container(container, limit=1)), None) is not None:
            return False
        swift.delete_container(container)
    except (errors.NoSuchContainer, errors.ContainerNotEmpty):
        return False
    return True


def head(args: argparse.Namespace) -> int:
    began = time.monotonic()
    swift = login.client(args)
    with login.manager(args, swift) as manager:
        results = manager.head(args.container, args.objects)
    if args.json:
        facts = {r.name: head_facts(swift, args.container, r.name, r.headers)
                 for r in results if r.ok and r.headers is not None}
        return report(args, results, began, "head", facts)
    if not args.quiet:
        for result in results:
            if result.ok:
                print("%12d  %-32s  %s" % (result.bytes or 0, result.etag or "-", result.name))
        args.quiet = True  # the table is the report; failures still go to stderr
    return report(args, results, began, "head")


def events_consume(args: argparse.Namespace) -> int:
    from velocity.events import Downloader

    if args.event == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.event, "rb") as handle:
                text = handle.read()
        except OSError as exc:
            raise UsageError("cannot read the event %s: %s" % (args.event, exc.strerror)
                             ) from None
    began = time.monotonic()
    swift = login.client(args)
    with login.manager(args, swift) as manager:
        downloader = Downloader(args.output, manager, container=args.container,
                                progress=show_progress(args))
        results = downloader.cloudevent(text, raise_errors=False)
    return report(args, results, began, "download")


# -- one name for one ETag --------------------------------------------------------
#
# Swift's HEAD of a static large object answers with the MD5 of its segments'
# ETags (``etag``) and the MD5 of its manifest (``x-manifest-etag``).  The
# engine reports one or the other depending on what it did, so the JSON
# records say what HEAD says, under the same names, whatever the command.


def _unquote_etag(value: Any) -> str | None:
    return value.strip().strip('"') if isinstance(value, str) and value.strip() else None


def head_facts(swift: Any, container: str, name: str, headers: Any) -> dict[str, Any]:
    """``etag``, ``manifest_etag`` and ``segments`` from an object's HEAD headers
    (a large object's segments are counted from its manifest)."""
    headers = {str(k).lower(): v for k, v in headers.items()}
    facts: dict[str, Any] = {"etag": _unquote_etag(headers.get("etag")),
                             "manifest_etag": None, "segments": 0}
    if headers.get("x-static-large-object", "").lower() == "true":
        facts["manifest_etag"] = _unquote_etag(headers.get("x-manifest-etag"))
        facts["segments"] = _count_slo(swift, container, name)
    elif headers.get("x-object-manifest"):
        facts["segments"] = _count_dlo(swift, headers["x-object-manifest"])
    return facts


def _count_slo(swift: Any, container: str, name: str) -> int | None:
    try:
        _, body = swift.get_object(container, name, query_string="multipart-manifest=get")
        return len(json.loads(body))
    except (errors.VelocityError, ValueError, TypeError):
        return None


def _count_dlo(swift: Any, manifest: str) -> int | None:
    seg_container, _, seg_prefix = unquote(manifest).partition("/")
    try:
        return sum(1 for entry in swift.iter_container(seg_container, prefix=seg_prefix)
                   if "name" in entry)
    except errors.VelocityError:
        return None


def settle_etags(swift: Any, container: str, results: Sequence[Any]
                 ) -> dict[str, dict[str, Any]]:
    """HEAD's ``etag`` (and ``manifest_etag``, ``segments``) for the results
    whose ETag may be a manifest's: segmented or skipped objects.  One
    container listing finds them; a skipped large object costs one more
    request for its segment count."""
    suspects = [r for r in results if r.ok and r.name and (r.segments or r.skipped or not r.etag)]
    if not suspects:
        return {}
    wanted = {r.name for r in suspects}
    try:
        listing = {entry["name"]: entry for entry in swift.iter_container(
            container, prefix=os.path.commonprefix(sorted(wanted)) or None)
            if entry.get("name") in wanted}
    except errors.VelocityError:
        return {}
    facts: dict[str, dict[str, Any]] = {}
    for result in suspects:
        entry = listing.get(result.name)
        if entry is None:
            continue
        if entry.get("slo_etag"):
            facts[result.name] = {
                "etag": _unquote_etag(entry["slo_etag"]), "manifest_etag": entry.get("hash"),
                "segments": result.segments or _count_slo(swift, container, result.name)}
        elif result.segments or not result.etag:  # a dynamic large object
            try:
                headers = swift.head_object(container, result.name)
            except errors.VelocityError:
                continue
            facts[result.name] = head_facts(swift, container, result.name, headers)
        else:
            facts[result.name] = {"etag": entry.get("hash") or result.etag}
    return facts
