"""Velocity at scale: many small objects through upload, sync and download.

Usage::

    python benchmarks/scale.py               # 20,000 objects (a few minutes)
    python benchmarks/scale.py --count 2000  # quicker

Starts a LocalSwift, makes ``--count`` small files in nested folders, then
runs each step as a child process (so its memory is its own) against it:

1. ``upload`` of the folder;
2. ``sync`` folder -> container, nothing changed;
3. ``download`` of the whole container into a fresh folder;
4. ``sync`` container -> that folder, nothing changed;
5. ``sync`` folder -> container after 1% of the files changed.

For each: wall seconds, client requests per object (client-facing lines of
the proxy log, authentication included) with their kinds (listing pages,
object requests, other), and the child's peak resident memory.  A no-change
sync must cost listing requests only: the script says FAIL otherwise.

The machine may be shared: numbers are noisy, compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import unquote

THREADS = 10
SIZE = 1024
#: a client request in the proxy log: "... <date> METHOD PATH HTTP/1.0 STATUS ..."
CLIENT_LINE = re.compile(r"proxy-server: 127\.0\.0\.1 127\.0\.0\.1 \S+ (\w+) (\S+) HTTP/")


def worker(job: dict) -> int:
    """One step, in a child process."""
    from velocity.auth import Credentials
    from velocity.transfer import Remote, TransferConfig, TransferManager

    credentials = Credentials.v1(job["auth_url"], job["user"], job["key"])
    config = TransferConfig(object_threads=THREADS, segment_threads=THREADS)
    with TransferManager(credentials, config) as manager:
        op = job["op"]
        if op == "upload":
            results = manager.upload(job["container"], job["folder"])
        elif op == "download":
            results = manager.download(job["container"], out_dir=job["folder"])
        elif op == "sync-up":
            results = manager.sync(job["folder"], Remote(job["container"]))
        elif op == "sync-down":
            results = manager.sync(Remote(job["container"]), job["folder"])
        else:
            raise SystemExit("unknown op %r" % op)
    failed = [r for r in results if not r.ok]
    for result in failed[:5]:
        print(result, file=sys.stderr)
    unchanged = getattr(results, "unchanged", None)
    print(json.dumps({"results": len(results), "failed": len(failed), "unchanged": unchanged}))
    return 1 if failed else 0


class Row:
    def __init__(self, label, wall, kinds, objects, rss_kb, ok, report):
        self.label, self.wall, self.kinds, self.objects = label, wall, kinds, objects
        self.rss_kb, self.ok, self.report = rss_kb, ok, report

    @property
    def requests(self) -> int:
        return sum(self.kinds.values())


def _requests(swift) -> list[tuple[str, str]]:
    return [match.groups() for match in map(CLIENT_LINE.search, swift.log("proxy").splitlines())
            if match]


def _kind(method: str, path: str) -> str:
    path = unquote(path).split("?", 1)[0]
    if path.startswith("/auth"):
        return "auth"
    if path == "/info":
        return "info"
    parts = path.strip("/").split("/", 3)  # v1, account, container, object
    if len(parts) == 3 and method == "GET":
        return "listing"
    if len(parts) == 4:
        return "object " + method
    return "other " + method


def measure(label: str, job: dict, swift, objects: int) -> Row:
    time.sleep(0.5)  # let the proxy write its log
    before = len(_requests(swift))
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker",
                             json.dumps(job)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read() if proc.stdout else b""   # both are a few lines at most
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    time.sleep(0.5)
    kinds: dict[str, int] = {}
    for method, path in _requests(swift)[before:]:
        kind = _kind(method, path)
        kinds[kind] = kinds.get(kind, 0) + 1
    rss = usage.ru_maxrss
    ok = proc.returncode == 0
    if not ok:
        print("  %s FAILED (%s): %s" % (label, proc.returncode, err.decode()[-500:]))
    report = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
    row = Row(label, wall, kinds, objects, rss, ok, report)
    print("  %-40s %7.2f s %7.3f req/obj %6.0f MB  %s  %s" % (
        label, wall, row.requests / objects, rss / 1024, _kinds_text(kinds), report),
        flush=True)
    return row


def _kinds_text(kinds: dict[str, int]) -> str:
    return ", ".join("%s %d" % item for item in sorted(kinds.items()))


def make_files(folder: str, count: int) -> None:
    per_folder = 200
    for i in range(count):
        sub = os.path.join(folder, "d%03d" % (i // per_folder))
        if i % per_folder == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%05d.txt" % i), "wb") as handle:
            handle.write(os.urandom(SIZE))


def change_files(folder: str, count: int) -> int:
    changed = 0
    for i in range(0, count, 100):
        path = os.path.join(folder, "d%03d" % (i // 200), "f%05d.txt" % i)
        with open(path, "wb") as handle:
            handle.write(os.urandom(SIZE))
        changed += 1
    return changed


def run(args) -> int:
    from velocity.server import LocalSwift

    count = args.count
    work = tempfile.mkdtemp(prefix="velocity-scale-")
    rows: list[Row] = []
    try:
        src, dst = os.path.join(work, "src"), os.path.join(work, "dst")
        print("making %d files of %d bytes in %s" % (count, SIZE, src), flush=True)
        make_files(src, count)
        with LocalSwift() as swift:
            base = {"auth_url": swift.auth_url, "user": swift.user, "key": swift.key,
                    "container": "scale"}
            rows.append(measure("upload %d x 1 KiB" % count,
                                dict(base, op="upload", folder=src), swift, count))
            rows.append(measure("sync up, no changes",
                                dict(base, op="sync-up", folder=src), swift, count))
            rows.append(measure("download %d x 1 KiB" % count,
                                dict(base, op="download", folder=dst), swift, count))
            rows.append(measure("sync down, no changes",
                                dict(base, op="sync-down", folder=dst), swift, count))
            changed = change_files(src, count)
            rows.append(measure("sync up, %d changed" % changed,
                                dict(base, op="sync-up", folder=src), swift, count))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    failures = [row.label for row in rows if not row.ok]
    for row in rows:
        if "no changes" in row.label and set(row.kinds) - {"listing", "auth"}:
            failures.append("%s: not listing requests only (%s)" % (row.label,
                                                                    _kinds_text(row.kinds)))
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


def print_table(rows: list[Row]) -> None:
    print()
    print("| step | wall s | requests | requests/object | of which | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| %s | %.2f | %d | %.4f | %s | %.0f |%s" % (
            row.label, row.wall, row.requests, row.requests / row.objects,
            _kinds_text(row.kinds), row.rss_kb / 1024, "" if row.ok else " FAILED"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20000, help="number of objects")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
