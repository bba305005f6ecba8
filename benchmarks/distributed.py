"""velocity.distributed with 1, 2 and 4 Dask worker processes against one LocalSwift.

Usage::

    python benchmarks/distributed.py                 # 2,000 x 16 KiB and 512 MiB (~5 min)
    python benchmarks/distributed.py --quick         # 400 x 16 KiB and 128 MiB
    python benchmarks/distributed.py --workers 1,2,4,8 --threads 2

Starts a LocalSwift, writes a data set (many small files, one large file),
then for every worker count starts a ``LocalCluster`` of that many worker
processes and times four jobs: the small files up, the large file up
(segments spread over the workers, the manifest written by the client),
both down again.  Reported per job: wall seconds, objects/s and MiB/s, and
CPU seconds spent by the workers (all of them), by the client process and by
the Swift servers (proxy, object, container, account, with their children).

The machine this runs on may have few cores: the Swift servers, the workers
and the client then share them, and the server is the limit.  The last table
estimates what N machines would reach from the workers' CPU cost per unit of
work (one machine of ``--cores`` cores running workers flat out), next to the
rate at which a proxy tier with the same CPU cost per unit would saturate.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import sys
import tempfile
import time
from typing import Any

MiB = 1024 * 1024

# this file is named like the Dask package: when run as a script its folder
# comes first on sys.path, and ``import distributed`` would find it instead
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]


def _own_cpu() -> float:
    """CPU seconds of this process so far (run on each worker, and here)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(pids: list[int]) -> float:
    """CPU seconds of ``pids`` and all their descendants (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    wanted = set(pids)
    grown = True
    while grown:
        extra = {pid for pid, ppid in parent.items() if ppid in wanted and pid not in wanted}
        wanted |= extra
        grown = bool(extra)
    return sum(cpu.get(pid, 0.0) for pid in wanted)


def _make_data(root: str, files: int, size: int, big: int) -> tuple[str, str]:
    small = os.path.join(root, "small")
    for index in range(files):
        folder = os.path.join(small, "d%02d" % (index % 20))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "f%05d" % index), "wb") as handle:
            handle.write(os.urandom(size))
    large = os.path.join(root, "large")
    os.makedirs(large)
    with open(os.path.join(large, "big.bin"), "wb") as handle:
        for _ in range(big // (8 * MiB)):
            handle.write(os.urandom(8 * MiB))
    return small, large


def _idle_rate(dask_client: Any, seconds: float = 3.0) -> float:
    """CPU seconds per second the idle workers spend (Dask's own loops,
    heartbeats): subtracted from what a job costs them."""
    before = dask_client.run(_own_cpu)
    time.sleep(seconds)
    after = dask_client.run(_own_cpu)
    return sum(after[w] - before.get(w, 0.0) for w in after) / seconds


def _measure(dask_client: Any, server: Any, job: Any, idle: float) -> dict[str, float]:
    workers_before = dask_client.run(_own_cpu)
    client_before = _own_cpu()
    server_before = _tree_cpu(server.pids)
    started = time.perf_counter()
    results = job()
    wall = time.perf_counter() - started
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit("%d failed, e.g. %s" % (len(failed), failed[0]))
    workers_after = dask_client.run(_own_cpu)
    return {
        "wall": wall,
        "objects": len(results),
        "bytes": sum(r.bytes for r in results),
        "workers_cpu": sum(workers_after[w] - workers_before.get(w, 0.0)
                           for w in workers_after),
        "workers_net": max(sum(workers_after[w] - workers_before.get(w, 0.0)
                               for w in workers_after) - idle * wall, 0.0),
        "client_cpu": _own_cpu() - client_before,
        "server_cpu": _tree_cpu(server.pids) - server_before,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker")
    parser.add_argument("--files", type=int, default=None, help="small files")
    parser.add_argument("--cores", type=int, default=16,
                        help="cores of one machine, for the estimate")
    args = parser.parse_args()
    files = args.files or (400 if args.quick else 2000)
    file_size = 16 * 1024
    big = (128 if args.quick else 512) * MiB
    counts = [int(n) for n in args.workers.split(",")]

    from distributed import Client, LocalCluster

    from velocity import distributed as vd
    from velocity.server import LocalSwift
    from velocity.transfer import TransferConfig

    config = TransferConfig(segment_size=64 * MiB, segment_threshold=64 * MiB,
                            skip_identical=True, object_threads=8, segment_threads=4)
    root = tempfile.mkdtemp(prefix="velocity-dist-bench-")
    rows: list[tuple[int, str, dict[str, float]]] = []
    try:
        small, large = _make_data(root, files, file_size, big)
        with LocalSwift() as server:
            recipe = vd.Recipe(auth_url=server.auth_url, user=server.user, key=server.key)
            for count in counts:
                with LocalCluster(n_workers=count, threads_per_worker=args.threads,
                                  processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, Client(cluster) as dask_client:
                    container = "bench-%d" % count
                    out = os.path.join(root, "out-%d" % count)
                    upload = functools.partial(vd.upload, dask_client, recipe, container,
                                               config=config)
                    download = functools.partial(vd.download, dask_client, recipe, container,
                                                 out, config=config)
                    jobs = [
                        ("small up", functools.partial(upload, small)),
                        ("large up", functools.partial(upload, large)),
                        ("small down", functools.partial(download, prefix="d")),
                        ("large down", functools.partial(download, names=["big.bin"])),
                    ]
                    idle = _idle_rate(dask_client)
                    for label, job in jobs:
                        rows.append((count, label, _measure(dask_client, server, job, idle)))
                        print("%d worker(s), %-10s %6.1f s" % (count, label, rows[-1][2]["wall"]),
                              file=sys.stderr)
                    vd.delete(dask_client, recipe, container, config=config)
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print("\n%d x %d KiB files, one %d MiB file; %d thread(s) per worker; %d cores here"
          % (files, file_size // 1024, big // MiB, args.threads, os.cpu_count() or 0))
    print("\n%-8s %-11s %8s %10s %9s %12s %10s %11s %11s" % (
        "workers", "job", "wall s", "objects/s", "MiB/s", "worker CPU s", "(net)",
        "client CPU", "server CPU"))
    for count, label, row in rows:
        print("%-8d %-11s %8.1f %10.0f %9.1f %12.1f %10.1f %11.1f %11.1f" % (
            count, label, row["wall"], row["objects"] / row["wall"],
            row["bytes"] / MiB / row["wall"], row["workers_cpu"], row["workers_net"],
            row["client_cpu"], row["server_cpu"]))
    print("(net: without what idle workers spend, Dask's own loops)")

    print("\nestimate for N machines of %d cores (workers CPU-bound; the Swift side "
          "scales only with its own proxies and disks):" % args.cores)
    print("%-11s %18s %18s %22s" % ("job", "worker CPU / unit", "one machine", "Swift CPU / unit"))
    for label in ("small up", "large up", "small down", "large down"):
        measured = [row for count, name, row in rows if name == label]
        worker = sum(r["workers_net"] for r in measured)
        server = sum(r["server_cpu"] for r in measured)
        if label.startswith("small"):
            units = sum(r["objects"] for r in measured) / 1000.0
            unit = "1k obj"
        else:
            units = sum(r["bytes"] for r in measured) / (1024.0 * MiB)
            unit = "GiB"
        per_worker = worker / units
        print("%-11s %12.2f s/%-6s %10.0f %-6s/s %14.2f s/%-6s" % (
            label, per_worker, unit, args.cores / per_worker if per_worker else 0.0, unit,
            server / units, unit))
    print("\nN machines reach about N x 'one machine', until the proxies' CPU (the last "
          "column, per unit) or the network saturates; for large files a machine's own "
          "network (10 GbE: about 1.1 GiB/s) is the limit before its CPU.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
