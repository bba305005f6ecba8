"""``sync``, ``check`` and ``cleanup``: make one side hold exactly the other,
report differences, and remove segments of uploads that were never finished.

Which side is the container: ``swift:CONTAINER[/PREFIX]`` always is; a local
path is one that exists or starts with ``.`` or ``/`` (``./photos`` forces a
folder that does not exist yet); anything else is ``CONTAINER[/PREFIX]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from velocity.cli import _login as login
from velocity.cli._login import UsageError
from velocity.cli._output import emit, out, report, subscribers, transfer_record

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

SIDES = ("SRC and DST: one a local folder, the other CONTAINER[/PREFIX].  'swift:NAME' is "
         "always a container; a path that exists or starts with '.' or '/' is local "
         "('./name' forces a folder that does not exist yet).")


def _side(text: str) -> Any:
    from velocity.transfer import Remote

    if text.startswith("swift:"):
        return Remote.parse(text[len("swift:"):])
    if os.path.exists(text) or text.startswith((".", "/")):
        return text
    return Remote.parse(text)


def _sides(args: argparse.Namespace) -> tuple[Any, Any]:
    from velocity.transfer import Remote

    src, dst = _side(args.src), _side(args.dst)
    if isinstance(src, Remote) == isinstance(dst, Remote):
        raise UsageError("one of SRC and DST must be a local folder and the other a "
                         "container (%s)" % SIDES)
    if not isinstance(src, Remote) and not os.path.isdir(src):
        raise UsageError("no such folder: %s" % src)
    return src, dst


def sync(args: argparse.Namespace) -> int:
    src, dst = _sides(args)
    began = time.monotonic()
    swift = login.client(args)
    with login.manager(args, swift) as manager:
        results = manager.sync(src, dst, delete=args.delete, dry_run=args.dry_run,
                               changed=args.changed, ignore=tuple(args.exclude or ()),
                               resume=False if args.no_resume else None,
                               subscribers=None if args.dry_run else subscribers(args, "sync"))
    if args.dry_run:
        for result in results:
            emit(transfer_record(result)) if args.json else out(args, str(result))
        if not args.json:
            out(args, "dry run: %d change(s), %d unchanged" % (len(results), results.unchanged))
        return 0 if results.ok else 1
    status = report(args, results, began, "sync")
    if not args.json:
        out(args, "%d unchanged" % results.unchanged)
    return status


def check(args: argparse.Namespace) -> int:
    src, dst = _sides(args)
    swift = login.client(args)
    with login.manager(args, swift) as manager:
        results = manager.check(src, dst, changed=args.changed,
                                ignore=tuple(args.exclude or ()))
    for result in results:
        if args.json:
            emit(transfer_record(result))
        else:
            print(str(result), file=sys.stdout)
    if not args.json:
        out(args, "%d difference(s), %d unchanged" % (len(results), results.unchanged))
    return 1 if len(results) else 0


def cleanup(args: argparse.Namespace) -> int:
    began = time.monotonic()
    swift = login.client(args)
    with login.manager(args, swift) as manager:
        if not args.yes:
            orphans = manager.orphans(args.container, older_than=args.older_than)
            for orphan in orphans:
                if args.json:
                    emit(orphan.record())
                else:
                    print("%s/%s (%d bytes)" % (orphan.container, orphan.name, orphan.bytes))
            if not args.json:
                out(args, "%d unfinished segment(s); remove them with --yes" % len(orphans))
            return 0
        results = manager.cleanup(args.container, yes=True, older_than=args.older_than,
                                  subscribers=subscribers(args, "delete"))
    return report(args, results, began, "delete")


def add_commands(command: Any, transfer_options: Any) -> None:
    """Add the three commands to the parser (``command`` as in _parser)."""
    for name, func, help_text, example in (
            ("sync", sync, "make DST hold exactly SRC (a folder and a container, either way)",
             "velocity sync ./site www/2024 --delete"),
            ("check", check, "report how DST differs from SRC; change nothing (exit 1 if so)",
             "velocity check ./site www/2024")):
        cmd = command(name, func, help_text, example, details=SIDES)
        cmd.add_argument("src", metavar="SRC")
        cmd.add_argument("dst", metavar="DST")
        cmd.add_argument("--changed", action="store_true",
                         help="compare size and modification time instead of MD5")
        cmd.add_argument("--exclude", action="append", metavar="GLOB",
                         help="leave out names matching this pattern (repeatable)")
        if name == "sync":
            cmd.add_argument("--delete", action="store_true",
                             help="also delete what SRC lacks from DST")
            cmd.add_argument("--dry-run", action="store_true",
                             help="print what would change; change nothing")
            cmd.add_argument("--no-resume", action="store_true",
                             help="do not continue interrupted transfers")
            transfer_options(cmd)
    cmd = command("cleanup", cleanup,
                  "list segments of large uploads that were never finished (--yes: remove)",
                  "velocity cleanup backups --yes")
    cmd.add_argument("container")
    cmd.add_argument("--yes", action="store_true", help="remove them")
    cmd.add_argument("--older-than", type=float, default=0.0, metavar="SECONDS",
                     help="only segments older than this (uploads may still be running)")
