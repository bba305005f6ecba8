"""How long does the event loop stall while ``await velocity.process(...)`` runs?

Starts a LocalSwift, writes N small files, then uploads them with
``await Velocity.process(container, "UPLOAD", folder)`` while a ticker task
sleeps 1 ms at a time on the same loop and records the gap between its ticks.
The longest gap is the longest stall of the loop: what any other coroutine (a
web request, a notebook widget) would have waited at worst.

Run::

    python benchmarks/loop_stall.py            # 500 files of 4 KiB
    python benchmarks/loop_stall.py --files 2000 --size 65536

For comparison, ``--blocking`` does the same upload with the synchronous
TransferManager called directly on the loop's thread (what an asyncio API
without a thread pool would do).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import sys
import tempfile
import time


def make_files(root: str, count: int, size: int) -> None:
    for i in range(count):
        path = os.path.join(root, "d%02d" % (i % 20), "f%05d.bin" % i)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(os.urandom(size))


async def measure(velocity, container: str, folder: str, blocking: bool
                  ) -> tuple[float, list[float], int]:
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)  # let the ticker settle
    began = time.perf_counter()
    if blocking:
        from velocity.transfer import TransferManager

        with TransferManager(velocity.client) as manager:  # on the loop thread: stalls
            results = manager.upload(container, [folder])
    else:
        results = await velocity.process(container, "UPLOAD", folder)
    elapsed = time.perf_counter() - began
    stop.set()
    await task
    failed = sum(not r.ok for r in results)
    return elapsed, gaps, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--blocking", action="store_true",
                        help="call the TransferManager on the loop thread instead")
    args = parser.parse_args(argv)

    from velocity.aio import Velocity
    from velocity.server import LocalSwift

    print("command: python %s" % " ".join(
        shlex.quote(a) for a in ["benchmarks/loop_stall.py", *(argv or sys.argv[1:])]))
    with LocalSwift() as swift, tempfile.TemporaryDirectory() as folder:
        make_files(folder, args.files, args.size)
        velocity = Velocity(None, swift.user, swift.key, auth_url=swift.auth_url,
                            identity="v1")
        velocity.authenticate()

        async def run() -> tuple[float, list[float], int]:
            try:
                return await measure(velocity, "stall", folder, args.blocking)
            finally:
                await velocity.close_session()

        elapsed, gaps, failed = asyncio.run(run())
    gaps_ms = sorted(gap * 1000 for gap in gaps)
    p99 = gaps_ms[int(len(gaps_ms) * 0.99) - 1] if gaps_ms else 0.0
    mode = "TransferManager on the loop thread" if args.blocking else "await process()"
    print("%s: %d files of %d B uploaded in %.2f s (%d failed)"
          % (mode, args.files, args.size, elapsed, failed))
    print("ticker (1 ms sleep): %d ticks; gap median %.2f ms, p99 %.2f ms, "
          "longest loop stall %.1f ms"
          % (len(gaps_ms), statistics.median(gaps_ms) if gaps_ms else 0.0, p99,
             gaps_ms[-1] if gaps_ms else 0.0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
