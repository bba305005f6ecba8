"""Reading through fsspec: Velocity's ``swift://`` filesystem against swiftspec.

Usage::

    pip install swiftspec        # extra velocity-swift[benchmark]; see the note below
    python benchmarks/fsspec_read.py            # 200 x 1 MiB and 512 MiB
    python benchmarks/fsspec_read.py --quick    # 50 x 1 MiB and 64 MiB

Starts a LocalSwift, stores 200 objects of 1 MiB and one of 512 MiB (a static
large object of 64 MiB segments, as the transfer engine writes it), then
reads them through fsspec with each filesystem, each in a child process of
its own (so its CPU time is its own):

* ``cat`` of the list of 200 paths (swiftspec runs them as concurrent
  coroutines; Velocity on ``threads`` threads, 10 by default),
* ``cat_file`` of the 512 MiB object (one GET each),
* ``get_file`` of the 512 MiB object to a local file (swiftspec has no
  ``get_file``: its row copies ``open(path, "rb", block_size=8 MiB)`` into the
  file; Velocity's goes through the transfer engine: parallel byte ranges,
  verified).

Every result is checked against the MD5 of what was stored.  swiftspec logs
in with a token (``OS_STORAGE_URL`` + ``OS_AUTH_TOKEN``, obtained from the
LocalSwift first); it only speaks HTTPS, so for this local HTTP server its
aiohttp session sends its ``https://`` URLs as ``http://`` (in its child
process only).

Note: swiftspec registers the ``swift`` protocol too; with both installed,
fsspec picks whichever entry point it finds first.  Install it for the run
only (``pip uninstall swiftspec`` afterwards), or in a separate environment.

The machine may be shared: numbers are noisy, compare within one run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

MiB = 1024 * 1024


def _digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _velocity_fs(job: dict):
    from velocity.fsspec import SwiftFileSystem

    return SwiftFileSystem(auth_url=job["auth_url"], user=job["user"], key=job["key"])


def _swiftspec_fs(job: dict):
    import aiohttp
    import swiftspec.core

    class PlainHTTP(aiohttp.ClientSession):
        """swiftspec builds https:// URLs only: this local server speaks HTTP."""

        def _request(self, method, url, *args, **kwargs):
            return super()._request(method, str(url).replace("https://", "http://", 1),
                                    *args, **kwargs)

    async def get_client(**kwargs):
        return PlainHTTP(**kwargs)

    # its token is matched against the URLs it builds: give it their https:// form
    os.environ["OS_STORAGE_URL"] = job["storage_url"].replace("http://", "https://", 1)
    os.environ["OS_AUTH_TOKEN"] = job["token"]
    return swiftspec.core.SWIFTFileSystem(get_client=get_client)


def child(job: dict) -> dict:
    """One side's three reads; wall seconds and checks, printed as JSON."""
    fs = _velocity_fs(job) if job["side"] == "velocity" else _swiftspec_fs(job)
    base = job["base"]  # how each filesystem spells the container
    small = ["%s/small/%03d" % (base, i) for i in range(job["count"])]
    timings, ok = {}, {}
    fs.ls(base + "/small")  # log in / open a session before timing

    start = time.perf_counter()
    blobs = fs.cat(small)
    timings["small"] = time.perf_counter() - start
    ok["small"] = sorted(_digest(blobs[p]) for p in small) == sorted(job["small_md5"])
    del blobs

    start = time.perf_counter()
    data = fs.cat_file(base + "/large.bin")
    timings["large"] = time.perf_counter() - start
    ok["large"] = _digest(data) == job["large_md5"]
    del data

    with tempfile.TemporaryDirectory() as folder:
        target = os.path.join(folder, "large.bin")
        start = time.perf_counter()
        try:
            fs.get_file(base + "/large.bin", target)
        except NotImplementedError:  # swiftspec has none: fsspec's own read loop
            with fs.open(base + "/large.bin", "rb", block_size=8 * MiB) as source, \
                    open(target, "wb") as out:
                shutil.copyfileobj(source, out, 8 * MiB)
        timings["get"] = time.perf_counter() - start
        digest = hashlib.md5()
        with open(target, "rb") as handle:
            for block in iter(lambda: handle.read(MiB), b""):
                digest.update(block)
        ok["get"] = digest.hexdigest() == job["large_md5"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"timings": timings, "ok": ok, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mib": usage.ru_maxrss / 1024}


def _run_side(job: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise SystemExit("%s failed:\n%s" % (job["side"], proc.stderr[-3000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 x 1 MiB and 64 MiB")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    try:
        import swiftspec  # noqa: F401
    except ImportError:
        raise SystemExit("needs swiftspec: pip install swiftspec (see the module "
                         "docstring)") from None

    from velocity.client import SwiftClient
    from velocity.server import LocalSwift
    from velocity.transfer import TransferManager

    count, large = (50, 64 * MiB) if args.quick else (200, 512 * MiB)
    with LocalSwift() as swift:
        client = SwiftClient.from_env({"OS_AUTH_URL": swift.auth_url,
                                       "OS_USERNAME": swift.user,
                                       "OS_PASSWORD": swift.key})
        storage_url, token = client.get_auth()
        client.put_container("bench")
        small_md5 = []
        for i in range(count):
            data = os.urandom(MiB)
            small_md5.append(_digest(data))
            client.put_small_object("bench", "small/%03d" % i, data)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "large.bin")
            digest = hashlib.md5()
            with open(path, "wb") as handle:
                for _ in range(large // MiB):
                    block = os.urandom(MiB)
                    digest.update(block)
                    handle.write(block)
            with TransferManager(client) as manager:
                [result] = manager.upload("bench", path)
                assert result.ok, result
        job = {"auth_url": swift.auth_url, "user": swift.user, "key": swift.key,
               "storage_url": storage_url, "token": token, "count": count,
               "small_md5": small_md5, "large_md5": digest.hexdigest()}
        netloc = storage_url.split("//", 1)[1].split("/", 1)[0]
        results = {
            "swiftspec": _run_side(dict(job, side="swiftspec",
                                        base="swift://%s/AUTH_test/bench" % netloc)),
            "velocity": _run_side(dict(job, side="velocity", base="bench")),
        }
    rows = [("small", "cat %d x 1 MiB" % count, count),
            ("large", "cat_file %d MiB (SLO)" % (large // MiB), large // MiB),
            ("get", "get_file %d MiB to disk" % (large // MiB), large // MiB)]
    head = "%-26s %12s %10s %12s %10s %8s" % ("workload", "swiftspec s", "MiB/s",
                                               "Velocity s", "MiB/s", "ratio")
    print(head)
    print("-" * len(head))
    for key, label, mib in rows:
        theirs = results["swiftspec"]["timings"][key]
        ours = results["velocity"]["timings"][key]
        checks = "" if results["swiftspec"]["ok"][key] and results["velocity"]["ok"][key] \
            else "  (a result did not match!)"
        print("%-26s %12.2f %10.0f %12.2f %10.0f %7.2fx%s" % (
            label, theirs, mib / theirs, ours, mib / ours, theirs / ours, checks))
    print("client CPU s: swiftspec %.1f, Velocity %.1f; peak RSS MiB: swiftspec %.0f, "
          "Velocity %.0f   (ratio: swiftspec time / Velocity time; above 1: Velocity "
          "faster)" % (results["swiftspec"]["cpu"], results["velocity"]["cpu"],
                       results["swiftspec"]["peak_mib"], results["velocity"]["peak_mib"]))


if __name__ == "__main__":
    main()
