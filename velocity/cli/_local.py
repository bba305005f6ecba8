"""``serve`` and ``demo``: commands that start a Swift of their own on 127.0.0.1."""

from __future__ import annotations

import argparse
import io
import ipaddress
import sys
import threading
import time

from velocity.cli._output import emit

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

#: the one address LocalSwift listens on
LOOPBACK = "127.0.0.1"


def host_type(text: str) -> str:
    """``--host``: loopback only, since the servers' users and keys are public."""
    value = text.strip().lower()
    if value in ("localhost", LOOPBACK):
        return LOOPBACK
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        address = None
    if address is not None and address.is_loopback:
        raise argparse.ArgumentTypeError(
            "%s is a loopback address, but the local Swift listens on %s only"
            % (text, LOOPBACK))
    raise argparse.ArgumentTypeError(
        "refusing %s: velocity serve listens on the loopback address %s only (its users and "
        "keys are public test credentials; never expose it to a network)" % (text, LOOPBACK))


def serve(args: argparse.Namespace) -> int:
    from velocity.server import LocalKeystone, LocalSwift

    stop = threading.Event()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.keystone:
        with LocalKeystone() as keystone, LocalSwift(keystone=keystone,
                                                     proxy_port=args.port) as swift:
            keystone.register_swift(swift)
            return _announce(args, swift, stop, keystone)
    with LocalSwift(proxy_port=args.port) as swift:
        return _announce(args, swift, stop, None)


def _announce(args: argparse.Namespace, swift: Any, stop: threading.Event,
              keystone: Any) -> int:
    if args.json:
        record = {"action": "serve", "status": "running", "auth_url": swift.auth_url,
                  "user": swift.user, "key": swift.key, "storage_url": swift.storage_url,
                  "startup_seconds": round(swift.startup_seconds, 3)}
        if keystone is not None:
            record["keystone"] = {"auth_url": keystone.auth_url, "user": "tester",
                                  "key": "testing", "project": "test", "domain": "Default"}
        emit(record)
    else:
        if keystone is not None:
            print("Keystone v3: %s  (user tester / testing, project test, domain Default)"
                  % keystone.auth_url)
        print("Swift is up (%.1f s). Stop with Ctrl-C." % swift.startup_seconds)
        print("  auth URL (v1): %s" % swift.auth_url)
        print("  user:          %s" % swift.user)
        print("  key:           %s" % swift.key)
        print("  storage URL:   %s" % swift.storage_url)
        print("  export OS_AUTH_URL=%s OS_USERNAME=%s OS_PASSWORD=%s"
              % (swift.auth_url, swift.user, swift.key))
        print("  (or the swift CLI's: export ST_AUTH=%s ST_USER=%s ST_KEY=%s)"
              % (swift.auth_url, swift.user, swift.key))
    sys.stdout.flush()
    stop.wait()
    if args.json:
        emit({"action": "serve", "status": "stopped"})
    else:
        print("stopping")
    return 0


class _Records(io.TextIOBase):
    """Turns each line the demo writes into a JSON record."""

    def __init__(self) -> None:
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            if line.strip():
                message = " ".join(line.split())
                emit({"action": "demo", "step": message.split(" ", 1)[0].lower(),
                      "message": message})
                sys.stdout.flush()
        return len(text)


def demo(args: argparse.Namespace) -> int:
    from velocity import demo as sample
    from velocity.cli._output import show_progress

    if not args.json:
        return sample.run(sys.stdout, progress=show_progress(args))
    began = time.monotonic()
    records = _Records()
    status = sample.run(records, progress=False)  # type: ignore[arg-type]  # a text sink
    records.write("\n")
    emit({"action": "demo", "step": "result", "ok": status == 0, "status": status,
          "seconds": round(time.monotonic() - began, 3)})
    return status
