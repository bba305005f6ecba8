"""Velocity's TransferManager against the ``swift`` command-line tool.

Usage::

    python benchmarks/transfer.py            # full sizes (about 10 minutes)
    python benchmarks/transfer.py --quick    # small sizes (about 2 minutes)
    python benchmarks/transfer.py --no-keystone

Starts a LocalSwift (and, for the Keystone row, a LocalKeystone with a second
proxy), then runs every workload twice, once with the ``swift`` CLI
(python-swiftclient's SwiftService) and once with Velocity, each as a child
process with the same thread counts.  Reported per run: wall seconds, client
CPU seconds (user + system of the child, from ``os.wait4``), client requests
per object (client-facing lines of the proxy log; authentication included),
peak resident memory of the child, and the speed ratio (CLI wall / Velocity
wall: above 1 means Velocity is faster).

Workloads: (1) upload of many 4 KiB files, also as batched ``extract-archive``
tar uploads; (2) download of them; (3) one large file up (segmented) and down;
(4) a segmented upload through Keystone v3, where the CLI authenticates once
per worker thread and Velocity once in all.

The machine may be shared: numbers are noisy, compare within one run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

THREADS = 10
SEGMENT = 64 * 1024 * 1024
CLIENT_LINE = re.compile(r"proxy-server: 127\.0\.0\.1 127\.0\.0\.1 ")


# -- the Velocity side, run in a child process ----------------------------------------


def _credentials(spec: dict):
    from velocity.auth import Credentials

    if spec["kind"] == "v1":
        return Credentials.v1(spec["auth_url"], spec["user"], spec["key"])
    return Credentials.password(spec["auth_url"], spec["user"], spec["key"],
                                project_name=spec["project"], user_domain_id="default",
                                project_domain_id="default")


def worker(job: dict) -> int:
    """One Velocity workload (in a child process, so its CPU and memory are its own)."""
    from velocity.client import SwiftClient
    from velocity.transfer import TransferConfig, TransferManager

    config = TransferConfig(object_threads=THREADS, segment_threads=THREADS,
                            segment_size=job.get("segment", SEGMENT),
                            segment_threshold=job.get("segment", SEGMENT))
    client = SwiftClient(_credentials(job["creds"]))
    with client, TransferManager(client, config) as manager:
        op = job["op"]
        if op == "upload":
            results = manager.upload(job["container"], job["path"], prefix=job.get("prefix"))
        elif op == "download":
            results = manager.download(job["container"], job.get("names"),
                                       out_dir=job["out"])
        elif op == "tar":
            results = _tar_upload(client, manager, job["container"], job["path"],
                                  job.get("prefix", ""))
        else:
            raise SystemExit("unknown op %r" % op)
    failed = [r for r in results if not r.ok]
    for result in failed[:5]:
        print(result, file=sys.stderr)
    return 1 if failed else 0


def _tar_upload(client, manager, container: str, folder: str, prefix: str):
    """Experimental: small files as tar batches through ``?extract-archive=tar``,
    several batches in parallel (not part of the library: see the report)."""
    from concurrent.futures import ThreadPoolExecutor

    from velocity.transfer import TransferResult

    names = sorted(os.listdir(folder))
    batch = max(1, -(-len(names) // (THREADS * 2)))
    client.call("put_container", container)

    def send(group):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name in group:
                tar.add(os.path.join(folder, name), arcname=prefix + name)
        client.call("put_object", container, "", buffer.getvalue(),
                    headers={"Accept": "application/json"},
                    query_string="extract-archive=tar")
        return group

    with ThreadPoolExecutor(THREADS) as pool:
        groups = [names[i:i + batch] for i in range(0, len(names), batch)]
        list(pool.map(send, groups))
    # the middleware reports failures inside its answer: check the listing instead
    stored = {entry["name"] for entry in client.iter_container(container, prefix=prefix)}
    return [TransferResult("upload", container, prefix + n, ok=prefix + n in stored)
            for n in names]


# -- measuring --------------------------------------------------------------------------


class Row:
    def __init__(self, label, tool, wall, cpu, requests, objects, rss_kb, ok):
        self.label, self.tool, self.wall, self.cpu = label, tool, wall, cpu
        self.requests, self.objects, self.rss_kb, self.ok = requests, objects, rss_kb, ok


def _log_lines(swift, server: str) -> int:
    time.sleep(0.5)  # let the proxy write its access log
    return sum(1 for line in swift.log(server).splitlines() if CLIENT_LINE.search(line))


def measure(label, tool, argv, env, swift, server, objects, cwd=None) -> Row:
    before = _log_lines(swift, server)
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    requests = _log_lines(swift, server) - before
    if proc.returncode:
        print("  %s %s FAILED (%d): %s" % (tool, label, proc.returncode,
                                           stderr.decode(errors="replace")[-500:]))
    row = Row(label, tool, wall, usage.ru_utime + usage.ru_stime, requests, objects,
              usage.ru_maxrss, proc.returncode == 0)
    print("  %-34s %-9s %7.2f s wall %6.2f s cpu %5.2f req/obj %6.0f MB"
          % (label, tool, row.wall, row.cpu, row.requests / max(objects, 1),
             row.rss_kb / 1024), flush=True)
    return row


def velocity_argv(job: dict) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)]


def swift_cli() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "swift")
    return here if os.path.exists(here) else (shutil.which("swift") or "swift")


def make_files(folder: str, count: int, size: int) -> None:
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        with open(os.path.join(folder, "f%05d" % i), "wb") as handle:
            handle.write(os.urandom(size))


def make_big(path: str, size: int) -> None:
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as handle:
        for i in range(size // len(block)):
            handle.write(block[i % 256:] + block[:i % 256])


def same_file(a: str, b: str) -> bool:
    import filecmp

    return os.path.exists(b) and filecmp.cmp(a, b, shallow=False)


def run(args) -> int:
    from velocity.server import LocalSwift

    n_small = 300 if args.quick else 2000
    big = (64 if args.quick else 1024) * 1024 * 1024
    ks_size = (32 if args.quick else 256) * 1024 * 1024
    segment = 8 * 1024 * 1024 if args.quick else SEGMENT
    rows: list[tuple[Row, Row]] = []
    work = tempfile.mkdtemp(prefix="velocity-bench-")
    try:
        print("preparing data in %s" % work, flush=True)
        make_files(os.path.join(work, "small"), n_small, 4096)
        make_big(os.path.join(work, "big.bin"), big)
        cli = swift_cli()
        with LocalSwift() as swift:
            creds = {"kind": "v1", "auth_url": swift.auth_url, "user": swift.user,
                     "key": swift.key}
            env = dict(os.environ, ST_AUTH=swift.auth_url, ST_USER=swift.user,
                       ST_KEY=swift.key, PYTHONWARNINGS="ignore")
            threads = ["--object-threads", str(THREADS), "--segment-threads", str(THREADS)]
            down_threads = ["--object-threads", str(THREADS)]
            label = "upload %d x 4 KiB" % n_small
            cli_up = measure(label, "swift", [cli, "upload", *threads, "cli-small", "small"],
                             env, swift, "proxy", n_small, cwd=work)
            vel_up = measure(label, "velocity", velocity_argv(
                {"op": "upload", "creds": creds, "container": "vel-small",
                 "path": os.path.join(work, "small"), "prefix": "small/"}),
                env, swift, "proxy", n_small)
            rows.append((cli_up, vel_up))
            tar = measure(label + " (tar batches)", "velocity", velocity_argv(
                {"op": "tar", "creds": creds, "container": "vel-tar",
                 "path": os.path.join(work, "small"), "prefix": "small/"}),
                env, swift, "proxy", n_small)
            rows.append((cli_up, tar))

            label = "download %d x 4 KiB" % n_small
            cli_down = measure(label, "swift", [cli, "download", *down_threads, "cli-small",
                                                "-D", os.path.join(work, "cli-dl")],
                               env, swift, "proxy", n_small)
            vel_down = measure(label, "velocity", velocity_argv(
                {"op": "download", "creds": creds, "container": "vel-small",
                 "out": os.path.join(work, "vel-dl")}), env, swift, "proxy", n_small)
            rows.append((cli_down, vel_down))
            shutil.rmtree(os.path.join(work, "cli-dl"), ignore_errors=True)
            shutil.rmtree(os.path.join(work, "vel-dl"), ignore_errors=True)

            mib = big // (1024 * 1024)
            label = "upload %d MiB (SLO, %d MiB seg)" % (mib, segment // 1048576)
            cli_big = measure(label, "swift", [cli, "upload", *threads, "--use-slo", "-S",
                                               str(segment), "cli-big", "big.bin"],
                              env, swift, "proxy", 1, cwd=work)
            vel_big = measure(label, "velocity", velocity_argv(
                {"op": "upload", "creds": creds, "container": "vel-big", "segment": segment,
                 "path": os.path.join(work, "big.bin")}), env, swift, "proxy", 1)
            rows.append((cli_big, vel_big))
            label = "download %d MiB (SLO)" % mib
            out_cli, out_vel = os.path.join(work, "cli-big.bin"), os.path.join(work, "vb")
            cli_bd = measure(label, "swift", [cli, "download", "cli-big", "big.bin", "-o",
                                              out_cli], env, swift, "proxy", 1)
            vel_bd = measure(label, "velocity", velocity_argv(
                {"op": "download", "creds": creds, "container": "vel-big",
                 "names": ["big.bin"], "out": out_vel, "segment": segment}),
                env, swift, "proxy", 1)
            rows.append((cli_bd, vel_bd))
            for path in (out_cli, os.path.join(out_vel, "big.bin")):
                if not same_file(os.path.join(work, "big.bin"), path):
                    print("  MISMATCH: %s differs from the source" % path)
            for path in (out_cli, os.path.join(out_vel, "big.bin")):
                if os.path.exists(path):
                    os.unlink(path)
        if not args.no_keystone:
            rows += keystone_rows(work, cli, ks_size, segment)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    return 0


def keystone_rows(work: str, cli: str, size: int, segment: int) -> list[tuple[Row, Row]]:
    from velocity.server import LocalKeystone, LocalSwift

    path = os.path.join(work, "ks.bin")
    make_big(path, size)
    with LocalKeystone() as ks, LocalSwift(keystone=ks) as swift:
        ks.register_swift(swift)
        creds = {"kind": "password", "auth_url": ks.auth_url, "user": "tester",
                 "key": "testing", "project": "test"}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "OS_"))}
        env.update(OS_AUTH_URL=ks.auth_url, OS_USERNAME="tester",
                   OS_PASSWORD="testing", OS_PROJECT_NAME="test",
                   OS_USER_DOMAIN_ID="default", OS_PROJECT_DOMAIN_ID="default",
                   OS_IDENTITY_API_VERSION="3", OS_AUTH_VERSION="3", PYTHONWARNINGS="ignore")
        label = "keystone v3 upload %d MiB (SLO)" % (size // 1048576)
        threads = ["--object-threads", str(THREADS), "--segment-threads", str(THREADS)]
        cli_row = measure(label, "swift", [cli, "upload", *threads, "--use-slo", "-S",
                                           str(segment // 4), "cli-ks", "ks.bin"],
                          env, swift, "keystone-proxy", 1, cwd=work)
        vel_row = measure(label, "velocity", velocity_argv(
            {"op": "upload", "creds": creds, "container": "vel-ks", "segment": segment // 4,
             "path": path}), env, swift, "keystone-proxy", 1)
    return [(cli_row, vel_row)]


def print_table(rows: list[tuple[Row, Row]]) -> None:
    print()
    head = "| workload | tool | wall s | client CPU s | requests/object | peak RSS MB | " \
           "speed vs CLI | CPU vs CLI |"
    print(head)
    print("|" + "---|" * 8)
    seen = set()
    for cli_row, vel_row in rows:
        for row in (cli_row, vel_row):
            if id(row) in seen:
                continue
            seen.add(id(row))
            ratio = cpu = ""
            if row is vel_row:
                ratio = "%.2fx" % (cli_row.wall / row.wall) if row.wall else "-"
                cpu = "%.2fx" % (row.cpu / cli_row.cpu) if cli_row.cpu else "-"
            print("| %s | %s | %.2f | %.2f | %.3f | %.0f | %s | %s |%s" % (
                row.label, row.tool, row.wall, row.cpu, row.requests / max(row.objects, 1),
                row.rss_kb / 1024, ratio, cpu, "" if row.ok else " FAILED"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--no-keystone", action="store_true", help="skip the Keystone row")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
