"""The ``velocity`` command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence


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


def _announce(swift, stop: threading.Event) -> int:
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

    return demo.run(sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="velocity",
        description="Move data to and from OpenStack Swift / Rackspace Cloud Files.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser(
        "serve", help="run a local Swift server in the foreground",
        description="Run a real Swift (and with --keystone, a Keystone) on 127.0.0.1 "
                    "until Ctrl-C.\n\nexample: velocity serve",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--keystone", action="store_true",
                       help="also start Keystone v3 and a proxy that accepts its tokens")
    serve.set_defaults(func=_serve)
    demo = sub.add_parser(
        "demo", help="upload, list, download and verify a sample folder on a local Swift",
        description="Start a local Swift, move a sample folder through it and verify "
                    "every byte.\n\nexample: velocity demo",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``velocity`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
