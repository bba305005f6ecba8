"""The ``velocity`` argument parser: global options and one subparser per command."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from velocity.cli import _local, _storage, _sync, _tempurl, _transfers
from velocity.cli._login import IDENTITIES
from velocity.tempurl import DIGESTS as tempurl_digests

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, NoReturn

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)

UPLOAD_NAMES = """\
How local paths become object names:
  upload box ./site/index.html      ->  index.html     (a file: its base name)
  upload box ./site                 ->  index.html, css/main.css
                                        (a folder: each file's path inside it)
  upload box ./site --prefix site/  ->  site/index.html, site/css/main.css

The folder's own name is not kept, so the names never depend on how the path
is spelt: ./site, site/, /home/me/site and ../me/site all give index.html.
The swift CLI keeps the path as typed instead (site/index.html, and
home/me/site/index.html for /home/me/site); --prefix site/ gives its names.
"""


def size_type(text: str) -> int:
    """``"100M"``, ``"1.5G"``, ``"4096"`` -> bytes (binary units)."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError("not a size: %r (use e.g. 4096, 100M, 1G)" % text)
    number, unit = match.groups()
    return int(float(number) * 1024 ** " kmgt".index(unit.lower() or " "))


def _options(parser: argparse.ArgumentParser, top: bool, auth: bool = True) -> None:
    """Global options, accepted before and after the subcommand."""
    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    if auth:
        group = parser.add_argument_group("authentication (default: OS_* / ST_* variables)")
        group.add_argument("-A", "--auth-url", default=default(None),
                           help="identity URL (ST_AUTH / OS_AUTH_URL)")
        group.add_argument("-U", "--user", default=default(None),
                           help="user name, or application credential id (ST_USER / "
                                "OS_USERNAME)")
        group.add_argument("-K", "--key", default=default(None), metavar="KEY",
                           help="key, password or secret; '-' reads it from standard input")
        group.add_argument("--key-prompt", action="store_true", default=default(False),
                           help="ask for the key without echoing it")
        group.add_argument("--identity", choices=IDENTITIES, default=default(None),
                           help="login protocol (guessed from the auth URL)")
        group.add_argument("--project", default=default(None),
                           help="Keystone project name (OS_PROJECT_NAME)")
        group.add_argument("--region", default=default(None),
                           help="object-store region (OS_REGION_NAME)")
        group.add_argument("-R", "--retries", type=int, default=default(None), metavar="N",
                           help="retries of a failed request, and of data that arrived damaged "
                                "(default 5, as the swift CLI)")
        group.add_argument("--internal", action="store_true", default=default(False),
                           help="use the internal network endpoint (Rackspace ServiceNet)")
    group = parser.add_argument_group("output")
    group.add_argument("-q", "--quiet", action="store_true", default=default(False),
                       help="print only errors; no progress bar")
    group.add_argument("-v", "--verbose", action="store_true", default=default(False),
                       help="name every object done")
    group.add_argument("--json", action="store_true", default=default(False),
                       help="one JSON object per result line")
    group.add_argument("--debug", action="store_true", default=default(False),
                       help="log requests and show tracebacks")


def _transfer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--object-threads", type=int, metavar="N",
                        help="objects moved at once (default 10)")
    parser.add_argument("--skip-identical", action="store_true",
                        help="skip objects whose content is already there (by MD5)")
    if parser.prog.split()[-1] in ("upload", "download"):
        parser.add_argument("--no-resume", action="store_true",
                            help="do not continue interrupted transfers (default: continue)")
        parser.add_argument("--ignore-checksum", action="store_true",
                            help="do not verify MD5s, only lengths (as the swift CLI's "
                                 "option; saves the CPU of hashing; a damaged byte is then "
                                 "not noticed)")
        parser.add_argument("--dask", metavar="SCHEDULER", default=None,
                            help="spread the transfer over a Dask cluster: a scheduler "
                                 "address, a scheduler file, or local:N for N local worker "
                                 "processes (extra velocity-swift[dask])")


def _metadata_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-m", "--meta", action="append", metavar="NAME:VALUE",
                        help="set metadata NAME of the %s (repeatable; 'NAME:' removes it)"
                             % what)
    parser.add_argument("-H", "--header", action="append", metavar="NAME:VALUE",
                        help="send this header too (repeatable)")


#: every command's name (a test checks it against the whole parser)
COMMANDS = ("upload", "download", "sync", "check", "cleanup", "delete", "head", "list", "stat",
            "post", "copy", "tempurl", "capabilities", "auth", "serve", "demo", "events")


class Incomplete(Exception):
    """A parser built for only the commands its arguments name met arguments
    it cannot parse: the whole parser must say what is wrong."""


class _Help(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, as wide as the terminal, measured without
    :mod:`shutil` (argparse imports it, with bz2, lzma and zlib behind it,
    for a formatter that every ``add_argument`` makes)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:  # what shutil.get_terminal_size() gives, less argparse's 2
            try:
                width = int(os.environ.get("COLUMNS", 0))
            except ValueError:
                width = 0
            if width <= 0:
                try:
                    width = os.get_terminal_size(sys.__stdout__.fileno()  # type: ignore[union-attr]
                                                 ).columns
                except (AttributeError, ValueError, OSError):
                    width = 0
            width = (width or 80) - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    partial = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if self.partial:
            raise Incomplete(message)
        super().error(message)


class _Skipped:
    """Stands for a command the arguments do not name: not built at all."""

    def __init__(self, prog: str) -> None:
        self.prog = prog

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        pass


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of the ``velocity`` command line.

    With ``argv``, a parser of only the commands named in it (with all their
    options), when it names one and asks for no help: a command's start-up
    does not pay for building twenty (each ``parents=[common]`` copies some
    twenty options).  It parses ``argv`` exactly as the whole parser does, or
    raises :class:`Incomplete` (the command is one it lacks, or the arguments
    are wrong), and then the whole parser must parse them."""
    wanted: set[str] | None = None
    if argv is not None and not any(a == "-h" or a.startswith("--h") for a in argv):
        wanted = set(argv).intersection(COMMANDS) or None
    parser = _Parser(
        prog="velocity",
        description="Move data to and from OpenStack Swift / Rackspace Cloud Files.",
        epilog="examples:\n  export ST_AUTH=http://127.0.0.1:8080/auth/v1.0 ST_USER=test:tester"
               "\n  velocity --key-prompt upload photos ./holiday\n  velocity list photos "
               "--long\n\nexit status: 0 all done, 1 some items failed, 2 usage or "
               "authentication error",
        formatter_class=_Help)
    parser.partial = wanted is not None
    _options(parser, top=True)
    common, local = _Parser(add_help=False), _Parser(add_help=False)
    _options(common, top=False)
    _options(local, top=False, auth=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, func: Any, help: str, example: str, parent: Any = common,
                login: bool = True, details: str = "") -> Any:
        if wanted is not None and name not in wanted:
            return _Skipped("velocity " + name)
        description = help[0].upper() + help[1:] + "." + ("\n\n" + details if details else "")
        cmd = sub.add_parser(name, help=help, description=description,
                             epilog="example:\n  " + example, parents=[parent],
                             formatter_class=_Help)
        cmd.set_defaults(func=func, storage=parent is common, login=login)
        return cmd

    cmd = command("upload", _transfers.upload, "upload files and folders into a container",
                  "velocity upload backups ./site --prefix 2024/site/ --segment-size 1G",
                  details=UPLOAD_NAMES)
    cmd.add_argument("container")
    cmd.add_argument("paths", nargs="+", metavar="PATH")
    cmd.add_argument("--prefix", help="put this before every object name (e.g. site/)")
    cmd.add_argument("--segment-size", type=size_type, metavar="SIZE",
                     help="split files larger than this into segments (e.g. 1G)")
    cmd.add_argument("--segment-threads", type=int, metavar="N",
                     help="segments of one file uploaded at once")
    cmd.add_argument("--changed", action="store_true",
                     help="upload only files whose size or time differ from the object")
    cmd.add_argument("--leave-segments", action="store_true",
                     help="keep the old segments when replacing a large object")
    cmd.add_argument("--exclude", action="append", metavar="GLOB",
                     help="skip files matching this pattern (repeatable)")
    _transfer_options(cmd)

    cmd = command("download", _transfers.download,
                  "download objects (default: all) of a container",
                  "velocity download backups --prefix 2024/site/ -o restore/")
    cmd.add_argument("container")
    cmd.add_argument("objects", nargs="*", metavar="OBJECT")
    cmd.add_argument("-o", "--output", default=".", metavar="DIR",
                     help="folder to download into (default: here)")
    cmd.add_argument("--prefix", help="only objects whose names start with this")
    cmd.add_argument("--remove-prefix", action="store_true",
                     help="strip --prefix from the local file names")
    _transfer_options(cmd)

    _sync.add_commands(command, _transfer_options)

    cmd = command("delete", _transfers.delete,
                  "delete objects; with no OBJECT and no --prefix, the container too",
                  "velocity delete backups --prefix 2023/",
                  details="Segments of large objects go with them.  Deleting a whole "
                          "container also removes\nCONTAINER_segments when that is left "
                          "empty.")
    cmd.add_argument("container")
    cmd.add_argument("objects", nargs="*", metavar="OBJECT")
    cmd.add_argument("--prefix", help="only objects whose names start with this")
    cmd.add_argument("--object-threads", type=int, metavar="N", help="deletes at once")

    cmd = command("head", _transfers.head, "show size and ETag of objects",
                  "velocity head backups 2024/site/index.html")
    cmd.add_argument("container")
    cmd.add_argument("objects", nargs="+", metavar="OBJECT")

    cmd = command("list", _storage.list_, "list containers, or the objects of a container",
                  "velocity list backups --prefix 2024/ --long")
    cmd.add_argument("container", nargs="?")
    cmd.add_argument("--prefix", help="only names starting with this")
    cmd.add_argument("--delimiter", help="roll names up to this character (e.g. /)")
    cmd.add_argument("-l", "--long", action="store_true",
                     help="also show size and date (container: size and count)")

    cmd = command("stat", _storage.stat, "show account, container or object details",
                  "velocity stat backups 2024/site/index.html")
    cmd.add_argument("container", nargs="?")
    cmd.add_argument("object", nargs="?")

    cmd = command("post", _storage.post,
                  "set metadata, headers or ACLs of the account, a container or an object",
                  "velocity post photos -r '.r:*,.rlistings' -m Owner:ann",
                  details="A missing container is created.  On an object, Swift replaces "
                          "all its metadata\nwith the metadata of the POST (use 'copy' "
                          "without -d to add to it).")
    cmd.add_argument("container", nargs="?")
    cmd.add_argument("object", nargs="?")
    _metadata_options(cmd, "account, container or object")
    cmd.add_argument("-r", "--read-acl", metavar="ACL",
                     help="who may read the container (e.g. '.r:*' for everyone)")
    cmd.add_argument("-w", "--write-acl", metavar="ACL",
                     help="who may write into the container")

    cmd = command("copy", _storage.copy, "copy objects on the server side",
                  "velocity copy photos cat.jpg -d /archive/2024/cat.jpg",
                  details="Without -d an object is copied onto itself: the way to add "
                          "metadata (-m) to\nwhat it has.  A missing destination container "
                          "is created.")
    cmd.add_argument("container")
    cmd.add_argument("objects", nargs="+", metavar="OBJECT")
    cmd.add_argument("-d", "--destination", metavar="/CONTAINER[/OBJECT]",
                     help="where to copy to (default: the object itself); with several "
                          "OBJECTs, a container")
    cmd.add_argument("-M", "--fresh-metadata", action="store_true",
                     help="do not copy the metadata of the source object")
    _metadata_options(cmd, "copies")

    cmd = command("tempurl", _tempurl.tempurl,
                  "print a temporary URL that needs no credentials",
                  "velocity tempurl GET 3600 photos/cat.jpg \"$TEMP_URL_KEY\"", login=False,
                  details="PATH is /v1/ACCOUNT/CONTAINER/OBJECT (as for swift), a whole URL, "
                          "or\nCONTAINER/OBJECT of your account.  KEY is the account's (or "
                          "container's)\nTemp-URL-Key, set with 'velocity post -m "
                          "Temp-URL-Key:KEY'; '-' reads it from\nstandard input.  Only a "
                          "whole URL, or --path-only, needs no login.")
    cmd.add_argument("method", metavar="METHOD", help="GET, HEAD, PUT, POST or DELETE")
    cmd.add_argument("seconds", metavar="SECONDS", type=int,
                     help="how long the URL works (with --absolute: until this Unix time)")
    cmd.add_argument("path", metavar="PATH")
    cmd.add_argument("key_arg", metavar="KEY")
    cmd.add_argument("--absolute", action="store_true",
                     help="SECONDS is the Unix time of expiry")
    cmd.add_argument("--prefix-based", action="store_true",
                     help="the URL works for every object whose name starts with PATH's")
    cmd.add_argument("--ip-range", metavar="CIDR",
                     help="the URL works only from these client addresses")
    cmd.add_argument("--digest", choices=tempurl_digests, default="sha256",
                     help="HMAC digest (default sha256)")
    cmd.add_argument("--path-only", action="store_true",
                     help="print only the path and query, as the swift CLI does")

    cmd = command("capabilities", _storage.capabilities,
                  "show what the cluster offers (its /info)",
                  "velocity capabilities --json | jq .slo", login=False)
    cmd.add_argument("url", nargs="?", metavar="PROXY_URL",
                     help="ask this proxy, anonymously (default: your storage URL's)")

    cmd = command("auth", _storage.auth, "log in and print the storage URL for the shell",
                  "eval \"$(velocity auth --show-token)\"",
                  details="Prints 'export OS_STORAGE_URL=...'; with --show-token also "
                          "'export\nOS_AUTH_TOKEN=...', which later commands then use "
                          "instead of logging in.")
    cmd.add_argument("--show-token", action="store_true",
                     help="also print the token (a secret: whoever has it has the account)")

    cmd = command("serve", _local.serve,
                  "run a local Swift server in the foreground until Ctrl-C",
                  "velocity serve --json", parent=local)
    cmd.add_argument("--keystone", action="store_true",
                     help="also start Keystone v3 and a proxy that accepts its tokens")
    cmd.add_argument("--port", type=int, default=None, metavar="PORT",
                     help="the Swift proxy's port (default: a free one)")
    cmd.add_argument("--host", type=_local.host_type, default=_local.LOOPBACK,
                     help="address to listen on: %s only (the default)" % _local.LOOPBACK)
    command("demo", _local.demo,
            "upload, list, download and verify a sample folder on a local Swift",
            "velocity demo", parent=local)

    if wanted is not None and "events" not in wanted:
        return parser
    events = sub.add_parser(
        "events", help="act on CloudEvents",
        description="Act on CloudEvents.", parents=[local],
        epilog="example:\n  velocity events consume event.json -o data/",
        formatter_class=_Help)
    events_sub = events.add_subparsers(dest="events_command", metavar="ACTION")
    events_sub.required = True
    cmd = events_sub.add_parser(
        "consume", parents=[common], formatter_class=_Help,
        help="download and verify the files a CloudEvent lists",
        description="Download and verify the files a CloudEvent (Pacifica 0.1 or "
                    "CloudEvents 1.0 JSON) lists.",
        epilog="example:\n  velocity events consume event.json -o data/ --container pacifica")
    cmd.set_defaults(func=_transfers.events_consume, storage=True, login=True)
    cmd.add_argument("event", metavar="EVENT.json", help="the event file ('-': stdin)")
    cmd.add_argument("-o", "--output", default=".", metavar="DIR",
                     help="folder to download into (default: here)")
    cmd.add_argument("--container", help="container when the event names none")
    cmd.add_argument("--object-threads", type=int, metavar="N",
                     help="objects moved at once (default 10)")
    return parser
