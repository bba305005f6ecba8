"""The ``velocity`` command line.

``velocity upload|download|delete|head|list|stat`` move and inspect data in
Swift / Rackspace Cloud Files, ``velocity events consume`` downloads the files a
CloudEvent announces, ``velocity serve`` runs a local Swift and ``velocity
demo`` shows the whole round trip.  Credentials come from ``OS_*`` / ``ST_*``
variables or from ``--auth-url``/``--user``/``--key``; ``--key -`` reads the
key from standard input and ``--key-prompt`` asks for it, so it never lands in
the shell history.  Exit status: 0 all done, 1 some items failed (each named
on standard error), 2 usage or authentication error.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from velocity import errors

IDENTITIES = ("v1", "rackspace", "password", "application_credential")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_USAGE_ERRORS = (errors.ConfigurationError, errors.AuthenticationFailed,
                 errors.InvalidContainerName, errors.InvalidObjectName, errors.InvalidUrl)


class UsageError(errors.ConfigurationError):
    """A command line that cannot work (exit status 2)."""


# -- helpers ------------------------------------------------------------------

def size_type(text: str) -> int:
    """``"100M"``, ``"1.5G"``, ``"4096"`` -> bytes (binary units)."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError("not a size: %r (use e.g. 4096, 100M, 1G)" % text)
    number, unit = match.groups()
    return int(float(number) * 1024 ** " kmgt".index(unit.lower() or " "))


def _human(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (count, unit)
        count /= 1024
    return str(count)  # pragma: no cover


class _Redacting(io.TextIOBase):
    """A text stream that replaces every secret it is given with ``<hidden>``."""

    def __init__(self, stream: TextIO, secrets: list[str]) -> None:
        self.stream, self.secrets = stream, secrets

    def write(self, text: str) -> int:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "<hidden>")
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")


def _out(args: argparse.Namespace, line: str = "") -> None:
    if not args.quiet:
        print(line)


def _emit(args: argparse.Namespace, record: dict[str, Any]) -> None:
    print(json.dumps(record, sort_keys=True, default=str))


def _progress(args: argparse.Namespace) -> bool:
    return (not args.quiet and not args.json and sys.stderr.isatty() and sys.stdout.isatty())


# -- credentials --------------------------------------------------------------

def _read_key(args: argparse.Namespace) -> str | None:
    if args.key == "-":
        key = sys.stdin.readline().rstrip("\r\n")
        if not key:
            raise UsageError("--key -: standard input held no key")
        return key
    if args.key_prompt:
        return getpass.getpass("Key for %s: " % (args.user or "velocity"))
    return args.key


def credentials(args: argparse.Namespace, key: str | None,
                env: Mapping[str, str] | None = None) -> Any:
    """Credentials from the command line laid over ``OS_*`` / ``ST_*``.

    Without login flags, exactly :meth:`velocity.auth.Credentials.from_env`.
    With them, the flags win and whatever they leave unsaid (domains, project
    id, identity API version, region ...) comes from the environment; the
    identity flavour is guessed from the auth URL as every face guesses it
    (:func:`velocity.auth.guess_identity`) unless ``--identity`` says it."""
    from velocity.auth import Credentials, build_credentials, env_defaults

    env = dict(os.environ if env is None else env)
    if args.region:
        env["OS_REGION_NAME"] = args.region
    if args.internal:
        env["OS_INTERFACE"] = "internal"
    if not (args.auth_url or args.user or key or args.identity or args.project):
        return Credentials.from_env(env)
    identity = args.identity
    st_auth = not args.auth_url and env.get("ST_AUTH")
    auth_url = args.auth_url or env.get("ST_AUTH") or env.get("OS_AUTH_URL")
    if identity is None and st_auth:
        identity = "v1"  # the swift CLI's variables are v1 auth
    if identity == "application_credential":
        user = args.user or env.get("OS_APPLICATION_CREDENTIAL_ID")
        key = key or env.get("OS_APPLICATION_CREDENTIAL_SECRET")
    else:
        user = args.user or env.get("ST_USER") or env.get("OS_USERNAME")
        key = key or env.get("ST_KEY") or env.get("OS_API_KEY") or env.get("OS_PASSWORD")
    missing = [flag for flag, value in (("--user", user), ("--key", key)) if not value]
    if identity != "rackspace" and not auth_url:
        missing.insert(0, "--auth-url")
    if missing:
        raise UsageError("missing %s (or the matching OS_* / ST_* variables)"
                         % ", ".join(missing))
    options = env_defaults(env)
    if args.user:
        options.pop("user_id", None)  # a user named on the command line wins
    if args.project:
        options["project_name"] = args.project
        options.pop("project_id", None)
    if identity == "application_credential":
        options.pop("credential_name", None)
    storage_url = env.get("OS_STORAGE_URL")
    if storage_url:
        options["endpoint_override"] = storage_url
    for option, variable in (("cacert", "OS_CACERT"), ("cert", "OS_CERT"),
                             ("cert_key", "OS_KEY")):
        if env.get(variable):
            options[option] = env[variable]
    if env.get("OS_INSECURE", "").lower() in ("1", "true", "yes", "on"):
        options["insecure"] = True
    return build_credentials(identity, auth_url=auth_url, user=user, key=key, **options)


def _client(args: argparse.Namespace) -> Any:
    from velocity.client import RetryPolicy, SwiftClient

    retries = getattr(args, "retries", None)
    client = SwiftClient(args.credentials,
                         retry=RetryPolicy(retries=retries) if retries is not None else None)
    client.get_auth()  # fail early (exit 2) when the login is refused
    return client


def _manager(args: argparse.Namespace, client: Any) -> Any:
    from velocity.transfer import TransferConfig, TransferManager

    settings = {name: getattr(args, name, None) for name in (
        "segment_size", "object_threads", "segment_threads", "skip_identical", "changed",
        "leave_segments", "retries")}
    if settings["segment_size"]:  # as with swift: files larger than SIZE are segmented
        settings["segment_threshold"] = min(settings["segment_size"], 5 * 1024 ** 3)
    config = TransferConfig(**{k: v for k, v in settings.items()
                               if v is not None and v is not False})
    return TransferManager(client, config)


# -- per-item results -----------------------------------------------------------

_DONE = {"upload": "uploaded", "download": "downloaded", "delete": "deleted",
         "head": "checked"}


def _report(args: argparse.Namespace, results: Iterable[Any], began: float) -> int:
    done = failed = skipped = total = 0
    action = "transfer"
    for result in results:
        action = result.action
        if args.json:
            error = result.error
            _emit(args, {"action": result.action, "container": result.container,
                         "name": result.name, "path": result.path, "ok": result.ok,
                         "bytes": result.bytes, "etag": result.etag,
                         "skipped": result.skipped,
                         "error": str(error) if error is not None else None,
                         **({"headers": result.headers} if result.headers else {})})
        if not result.ok:
            failed += 1
            print("velocity: %s" % result, file=sys.stderr)
            continue
        if result.skipped:
            skipped += 1
        else:
            done += 1
            total += result.bytes or 0
        if args.verbose and not args.json:
            _out(args, "%s%s" % (result.path if result.action == "download" and result.path
                                 else result.name, " (unchanged)" if result.skipped else ""))
    if not args.json:
        seconds = max(time.monotonic() - began, 1e-6)
        line = "%s %d object(s)" % (_DONE.get(action, action), done)
        if action in ("upload", "download"):
            line += ", %s in %.1f s (%s/s)" % (_human(total), seconds, _human(total / seconds))
        if skipped:
            line += ", %d unchanged skipped" % skipped
        if failed:
            line += ", %d FAILED" % failed
        _out(args, line)
    return 1 if failed else 0


# -- commands -------------------------------------------------------------------

def _upload(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not os.path.exists(path)]
    if missing:
        raise UsageError("no such file or folder: %s" % ", ".join(missing))
    began = time.monotonic()
    with _manager(args, _client(args)) as manager:
        results = manager.upload(args.container, args.paths, prefix=args.prefix,
                                 ignore=tuple(args.exclude or ()), progress=_progress(args))
    return _report(args, results, began)


def _download(args: argparse.Namespace) -> int:
    began = time.monotonic()
    with _manager(args, _client(args)) as manager:
        results = manager.download(args.container, args.objects or None, out_dir=args.output,
                                   prefix=args.prefix, remove_prefix=args.remove_prefix,
                                   skip_identical=args.skip_identical,
                                   progress=_progress(args))
    return _report(args, results, began)


def _delete(args: argparse.Namespace) -> int:
    began = time.monotonic()
    client = _client(args)
    with _manager(args, client) as manager:
        results = manager.delete(args.container, args.objects or None, prefix=args.prefix,
                                 progress=_progress(args))
    status = _report(args, results, began)
    if not args.objects and not args.prefix and status == 0:
        client.delete_container(args.container)
        if args.json:
            _emit(args, {"action": "delete", "container": args.container, "name": None,
                         "ok": True})
        else:
            _out(args, "deleted container %s" % args.container)
    return status


def _head(args: argparse.Namespace) -> int:
    began = time.monotonic()
    with _manager(args, _client(args)) as manager:
        results = manager.head(args.container, args.objects)
    if not args.json and not args.quiet:
        for result in results:
            if result.ok:
                print("%12d  %-32s  %s" % (result.bytes or 0, result.etag or "-", result.name))
        args.quiet = True  # the table is the report; failures still go to stderr
    return _report(args, results, began)


def _list(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.container:
        entries = client.iter_container(args.container, prefix=args.prefix,
                                        delimiter=args.delimiter)
    else:
        entries = client.iter_account(prefix=args.prefix)
    for entry in entries:
        if args.json:
            _emit(args, entry)
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


def _stat(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.object:
        headers = client.head_object(args.container, args.object)
        what = {"container": args.container, "object": args.object}
    elif args.container:
        headers = client.head_container(args.container)
        what = {"container": args.container}
    else:
        headers = client.head_account()
        what = {"account": client.storage_url.rstrip("/").rsplit("/", 1)[-1]}
    headers = {k.lower(): v for k, v in headers.items()}
    if args.json:
        _emit(args, dict(what, headers=headers))
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


def _events_consume(args: argparse.Namespace) -> int:
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
    with _manager(args, _client(args)) as manager:
        downloader = Downloader(args.output, manager, container=args.container,
                                progress=_progress(args))
        results = downloader.cloudevent(text, raise_errors=False)
    return _report(args, results, began)


def _serve(args: argparse.Namespace) -> int:
    from velocity.server import LocalKeystone, LocalSwift

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.keystone:
        with LocalKeystone() as keystone, LocalSwift(keystone=keystone) as swift:
            keystone.register_swift(swift)
            print("Keystone v3: %s  (user tester / testing, project test, domain Default)"
                  % keystone.auth_url)
            return _announce(swift, stop)
    with LocalSwift() as swift:
        return _announce(swift, stop)


def _announce(swift: Any, stop: threading.Event) -> int:
    print("Swift is up (%.1f s). Stop with Ctrl-C." % swift.startup_seconds)
    print("  auth URL (v1): %s" % swift.auth_url)
    print("  user:          %s" % swift.user)
    print("  key:           %s" % swift.key)
    print("  storage URL:   %s" % swift.storage_url)
    print("  export ST_AUTH=%s ST_USER=%s ST_KEY=%s" % (swift.auth_url, swift.user, swift.key))
    sys.stdout.flush()
    stop.wait()
    print("stopping")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from velocity import demo

    return demo.run(sys.stdout, progress=_progress(args))


# -- the parser -----------------------------------------------------------------

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="velocity",
        description="Move data to and from OpenStack Swift / Rackspace Cloud Files.",
        epilog="examples:\n  export ST_AUTH=http://127.0.0.1:8080/auth/v1.0 ST_USER=test:tester"
               "\n  velocity --key-prompt upload photos ./holiday\n  velocity list photos "
               "--long\n\nexit status: 0 all done, 1 some items failed, 2 usage or "
               "authentication error",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _options(parser, top=True)
    common, local = argparse.ArgumentParser(add_help=False), argparse.ArgumentParser(
        add_help=False)
    _options(common, top=False)
    _options(local, top=False, auth=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, func: Any, help: str, example: str, parent: Any = common
                ) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                             epilog="example:\n  " + example, parents=[parent],
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        cmd.set_defaults(func=func, storage=parent is common)
        return cmd

    cmd = command("upload", _upload, "upload files and folders into a container",
                  "velocity upload backups ./site --prefix 2024/ --segment-size 1G")
    cmd.add_argument("container")
    cmd.add_argument("paths", nargs="+", metavar="PATH")
    cmd.add_argument("--prefix", help="put this before every object name")
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

    cmd = command("download", _download, "download objects (default: all) of a container",
                  "velocity download backups 2024/site/index.html -o restore/")
    cmd.add_argument("container")
    cmd.add_argument("objects", nargs="*", metavar="OBJECT")
    cmd.add_argument("-o", "--output", default=".", metavar="DIR",
                     help="folder to download into (default: here)")
    cmd.add_argument("--prefix", help="only objects whose names start with this")
    cmd.add_argument("--remove-prefix", action="store_true",
                     help="strip --prefix from the local file names")
    _transfer_options(cmd)

    cmd = command("delete", _delete,
                  "delete objects; with no OBJECT and no --prefix, the container too",
                  "velocity delete backups --prefix 2023/")
    cmd.add_argument("container")
    cmd.add_argument("objects", nargs="*", metavar="OBJECT")
    cmd.add_argument("--prefix", help="only objects whose names start with this")
    cmd.add_argument("--object-threads", type=int, metavar="N", help="deletes at once")

    cmd = command("head", _head, "show size and ETag of objects",
                  "velocity head backups 2024/site/index.html")
    cmd.add_argument("container")
    cmd.add_argument("objects", nargs="+", metavar="OBJECT")

    cmd = command("list", _list, "list containers, or the objects of a container",
                  "velocity list backups --prefix 2024/ --long")
    cmd.add_argument("container", nargs="?")
    cmd.add_argument("--prefix", help="only names starting with this")
    cmd.add_argument("--delimiter", help="roll names up to this character (e.g. /)")
    cmd.add_argument("-l", "--long", action="store_true",
                     help="also show size and date (container: size and count)")

    cmd = command("stat", _stat, "show account, container or object details",
                  "velocity stat backups 2024/site/index.html")
    cmd.add_argument("container", nargs="?")
    cmd.add_argument("object", nargs="?")

    cmd = command("serve", _serve, "run a local Swift server in the foreground until Ctrl-C",
                  "velocity serve", parent=local)
    cmd.add_argument("--keystone", action="store_true",
                     help="also start Keystone v3 and a proxy that accepts its tokens")
    command("demo", _demo,
            "upload, list, download and verify a sample folder on a local Swift",
            "velocity demo", parent=local)

    events = sub.add_parser(
        "events", help="act on CloudEvents",
        description="Act on CloudEvents.", parents=[local],
        epilog="example:\n  velocity events consume event.json -o data/",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    events_sub = events.add_subparsers(dest="events_command", metavar="ACTION")
    events_sub.required = True
    cmd = events_sub.add_parser(
        "consume", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="download and verify the files a CloudEvent lists",
        description="Download and verify the files a CloudEvent (Pacifica 0.1 or "
                    "CloudEvents 1.0 JSON) lists.",
        epilog="example:\n  velocity events consume event.json -o data/ --container pacifica")
    cmd.set_defaults(func=_events_consume, storage=True)
    cmd.add_argument("event", metavar="EVENT.json", help="the event file ('-': stdin)")
    cmd.add_argument("-o", "--output", default=".", metavar="DIR",
                     help="folder to download into (default: here)")
    cmd.add_argument("--container", help="container when the event names none")
    cmd.add_argument("--object-threads", type=int, metavar="N",
                     help="objects moved at once (default 10)")
    return parser


def _fail(args: argparse.Namespace, error: BaseException) -> None:
    if getattr(args, "debug", False):
        import traceback

        traceback.print_exc(file=sys.stderr)
    message = str(error) or error.__class__.__name__
    print("velocity: error: %s" % " ".join(message.split()), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``velocity`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    secrets: list[str] = []
    stdout, stderr = sys.stdout, sys.stderr
    if args.storage:  # a command that talks to Swift: hide every secret
        secrets += [os.environ.get(name, "") for name in (
            "ST_KEY", "OS_PASSWORD", "OS_API_KEY", "OS_APPLICATION_CREDENTIAL_SECRET",
            "OS_AUTH_TOKEN")]
        if args.key and args.key != "-":
            secrets.append(args.key)
        secrets[:] = sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True)
        sys.stdout, sys.stderr = _Redacting(stdout, secrets), _Redacting(stderr, secrets)
    if args.debug:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("velocity").setLevel(logging.DEBUG)
    try:
        if args.storage:
            key = _read_key(args)
            if key:
                secrets.insert(0, key)
            args.credentials = credentials(args, key)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("velocity: interrupted", file=sys.stderr)
        return 130
    except _USAGE_ERRORS as error:
        _fail(args, error)
        return 2
    except (errors.VelocityError, OSError) as error:
        _fail(args, error)
        return 1
    except Exception as error:  # noqa: BLE001 - one clear line, traceback with --debug
        _fail(args, error)
        if not args.debug:
            print("velocity: (run with --debug for the traceback)", file=sys.stderr)
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        sys.stdout, sys.stderr = stdout, stderr


if __name__ == "__main__":
    sys.exit(main())
