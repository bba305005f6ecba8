"""Velocity's command line against its peers: the swift CLI and rclone.

Usage::

    python benchmarks/peers.py                  # full sizes, best of 3 (12-20 min on 2 cores)
    python benchmarks/peers.py --quick          # CI sizes, best of 1 (about 1-2 minutes)
    python benchmarks/peers.py --rows 4k-up,list --reps 5 --json peers.json

Needs the ``server`` extra (a LocalSwift), python-swiftclient's ``swift``
command (in the same virtualenv) and ``rclone`` on PATH (``apt-get install
rclone``).  The script starts its own LocalSwift on 127.0.0.1, runs every tool
as a child process against it and stops it again; it kills only the children
it started.

Every tool moves 10 objects at once: ``velocity --object-threads 10`` (and
``--segment-threads 10`` for uploads; downloads use its default of 10),
``swift --object-threads 10`` (``--segment-threads 10`` for uploads), ``rclone
--transfers 10 --checkers 10`` (plus ``--multi-thread-streams 10`` above the
segment size).  Large files use the same segment size for
all three (``--segment-size`` / ``-S --use-slo`` / ``--swift-chunk-size``).
rclone is configured only through ``RCLONE_CONFIG_PEERS_*`` variables and
``--config ""`` (no config file is read or written).  ``velocity`` and ``swift``
run from a fresh virtualenv made in the work folder (see ``fresh_env``: this
checkout and the current environment's packages on its path, none of the
current environment's start-up hooks), as users who ``pip install`` them have
them; ``--dev-env`` runs them from the current environment instead.  The Python tools keep
their bytecode cached (``PYTHONPYCACHEPREFIX`` in the work folder, filled by
an untimed warm-up) as an installed package does, even for an editable
checkout under ``PYTHONDONTWRITEBYTECODE=1``.

Every upload goes into a fresh, never used container, deleted afterwards
(untimed), so no tool can skip anything (rclone's "skip identical files" and
swift's HEAD-then-compare find nothing); the listing is then checked (names,
MD5 of every plain object, bytes of the segments).  Every download goes into
an empty folder and is checked byte for byte (sha256 of the whole tree).
Downloads, ``list`` and ``stat`` read the same source containers, uploaded
beforehand by the swift CLI (static large objects), so all tools read
identical objects.

How to read the table: each cell is ``wall s / client CPU s / peak RSS MiB``
of the child process (CPU = user + system from ``os.wait4``; RSS =
``ru_maxrss``; a small fork server starts the tools, so that is theirs, above
a floor of about 15 MiB, printed as "RSS floor"); each number is the best
(lowest) of the repetitions, which run the three tools interleaved, the order
rotated per repetition, each after an ``os.sync()`` (so no run pays for the
write-back of another's files). On the rows of 16 MiB objects and more,
``velocity --ignore-checksum`` runs too, as a reference: what Velocity's MD5
verification costs (the swift CLI does not verify large objects' content,
rclone verifies no download of a segmented object).  On the list and stat
rows a bare Python script sends the same requests with ``http.client``
(``python-floor``): what any Python tool pays, before doing anything of its own.
"speed" is best peer wall / Velocity wall, "CPU" is lowest peer CPU /
Velocity CPU: above 1.0 Velocity is faster / leaner. The second table
counts the requests each tool sent (client lines of the proxy log, fastest
run). The machine may be shared and the server runs on the same cores: the
numbers are noisy; compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

from _peers_util import Spawner, make_dataset, tree_cpu, tree_digest

KiB, MiB = 1024, 1024 * 1024
THREADS = "10"
CORES = len(os.sched_getaffinity(0))
TOOLS = ("velocity", "swift", "rclone")
#: Velocity without MD5 verification (``--ignore-checksum``), run beside the others on
#: the rows of 16 MiB and more: not a peer, the measure of what verifying costs
REFERENCE = "velocity-unverified"
#: the same requests as ``list`` / ``stat`` from a bare Python script (http.client, no
#: Velocity), run beside the others: not a peer, the floor of any Python tool
FLOOR = "python-floor"
REMOTE = "peers"  # the rclone remote, from RCLONE_CONFIG_PEERS_* variables
DATASETS = {  # name: (full count, full size, quick count, quick size)
    "4k": (1000, 4 * KiB, 200, 4 * KiB),
    "1m": (100, MiB, 20, MiB),
    "16m": (20, 16 * MiB, 4, 16 * MiB),
    "big": (1, 512 * MiB, 1, 64 * MiB),
}
ROWS = {"4k-up": ("4k", "up"), "4k-down": ("4k", "down"), "1m-up": ("1m", "up"),
        "1m-down": ("1m", "down"), "16m-up": ("16m", "up"), "16m-down": ("16m", "down"),
        "big-up": ("big", "up"), "big-down": ("big", "down"), "list": ("4k", "list"),
        "stat": ("4k", "stat")}
CLIENT = re.compile(r"proxy-server: 127\.0\.0\.1 127\.0\.0\.1 \S+ ([A-Z]+) (\S+) \S+ \d+ \S+ (\S+)")


def human(size: int) -> str:
    return "%d MiB" % (size // MiB) if size >= MiB else "%d KiB" % (size // KiB)


# -- a few untimed HTTP calls of the parent (checks and clean-up) --------------------


class Api:
    def __init__(self, swift) -> None:
        request = urllib.request.Request(swift.auth_url, headers={
            "X-Auth-User": swift.user, "X-Auth-Key": swift.key})
        with urllib.request.urlopen(request) as answer:
            self.token, self.url = answer.headers["X-Auth-Token"], answer.headers["X-Storage-Url"]

    def call(self, method: str, path: str = "", body: bytes | None = None,
             **headers: str) -> bytes:
        headers["X-Auth-Token"] = self.token
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={k.replace("_", "-"): v
                                                  for k, v in headers.items()})
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.read()
        except urllib.error.HTTPError as error:
            if error.code in (404, 409):
                return b""
            raise

    def listing(self, container: str) -> list[dict]:
        text = self.call("GET", "/%s?format=json&limit=10000" % urllib.parse.quote(container))
        return json.loads(text) if text else []

    def drop(self, container: str) -> None:
        """Delete a container, its ``_segments`` container and everything in them."""
        names = ["/%s/%s" % (c, o["name"]) for c in (container, container + "_segments")
                 for o in self.listing(c)]
        for i in range(0, len(names), 5000):
            body = "\n".join(urllib.parse.quote(n) for n in names[i:i + 5000]).encode()
            self.call("POST", "?bulk-delete", body, Content_Type="text/plain",
                      Accept="application/json")
        for name in (container, container + "_segments"):
            self.call("DELETE", "/" + urllib.parse.quote(name))

    def check_upload(self, container: str, md5s: dict[str, str], size: int,
                     segment: int) -> str | None:
        """``None`` when the container holds exactly what was uploaded."""
        listed = {o["name"]: o for o in self.listing(container)}
        if set(listed) != set(md5s):
            return "listing has %d names, %d expected" % (len(listed), len(md5s))
        if size > segment:
            stored = sum(o["bytes"] for o in self.listing(container + "_segments"))
            return None if stored == size * len(md5s) else "segments hold %d bytes" % stored
        bad = [n for n, o in listed.items() if o["hash"] != md5s[n] or o["bytes"] != size]
        return "%d objects differ, e.g. %s" % (len(bad), bad[0]) if bad else None


# -- the proxy log ----------------------------------------------------------------------


def log_mark(swift) -> int:
    """Number of proxy log lines once the log has stopped growing."""
    count, deadline = -1, time.monotonic() + 3
    while time.monotonic() < deadline:
        now = len(swift.log("proxy").splitlines())
        if now == count:
            return now
        count = now
        time.sleep(0.15)
    return count


def requests_since(swift, mark: int, end: int) -> Counter:
    """Client requests in lines ``mark:end`` of the proxy log, by kind."""
    kinds: Counter = Counter()
    for line in swift.log("proxy").splitlines()[mark:end]:
        found = CLIENT.search(line)
        if not found or found.group(3).startswith("Python-urllib"):
            continue  # a server-internal request, or the parent's own checks
        method, target = found.group(1), urllib.parse.unquote(found.group(2))
        path, _, query = target.partition("?")
        parts = path.split("/")
        if parts[1] != "v1":
            kinds["auth" if parts[1].startswith("auth") else parts[1]] += 1
            continue
        level = {3: "acct", 4: "ctr"}.get(len(parts), "obj")
        if level == "obj" and parts[3].endswith("_segments"):
            level = "seg"
        if "multipart-manifest" in query:
            level += "(manifest)"
        kinds["%s %s" % (method, level)] += 1
    return kinds


# -- the three command lines --------------------------------------------------------------


def command(tool: str, bins: dict, op: str, container: str, folder: str, out: str,
            first: str, segment: int | None) -> tuple[list[str], str | None]:
    """argv and working folder of one tool for one operation."""
    if tool in ("velocity", REFERENCE):
        base = [bins["velocity"]]
        seg = ["--segment-size", str(segment)] if segment else []
        unchecked = ["--ignore-checksum"] if tool == REFERENCE else []
        return {"up": base + ["upload", "--object-threads", THREADS, "--segment-threads",
                              THREADS, *seg, *unchecked, container, folder],
                "down": base + ["download", "--object-threads", THREADS, *unchecked, "-o",
                                out, container],
                "list": base + ["list", container],
                "stat": base + ["stat", container, first]}[op], None
    if tool == FLOOR:
        return [bins["python"], "-c", FLOOR_SCRIPT, op, container, first], None
    if tool == "swift":
        base = [bins["swift"]]
        seg = ["--use-slo", "-S", str(segment)] if segment else []
        # swift names objects by the path as typed: run it inside the folder, on "."
        return {"up": base + ["upload", "--object-threads", THREADS, "--segment-threads",
                              THREADS, *seg, container, "."],
                "down": base + ["download", "--object-threads", THREADS, "-D", out, container],
                "list": base + ["list", container],
                "stat": base + ["stat", container, first]}[op], folder if op == "up" else None
    base = [bins["rclone"], "--config", "", "--transfers", THREADS, "--checkers", THREADS]
    remote = "%s:%s" % (REMOTE, container)
    if segment:
        base += ["--swift-chunk-size", "%dM" % (segment // MiB), "--multi-thread-streams",
                 THREADS, "--multi-thread-cutoff", "%dM" % (segment // MiB)]
    return {"up": base + ["copy", folder, remote], "down": base + ["copy", remote, out],
            "list": base + ["lsf", remote],
            "stat": base + ["lsjson", "--stat", remote + "/" + first]}[op], None


FLOOR_SCRIPT = """\
import http.client, json, os, sys
from urllib.parse import quote, urlsplit
op, container, name = sys.argv[1:]
auth = urlsplit(os.environ["ST_AUTH"])
conn = http.client.HTTPConnection(auth.hostname, auth.port)
conn.request("GET", auth.path, headers={"X-Auth-User": os.environ["ST_USER"],
                                        "X-Auth-Key": os.environ["ST_KEY"]})
answer = conn.getresponse()
answer.read()
token, url = answer.getheader("X-Auth-Token"), urlsplit(answer.getheader("X-Storage-Url"))
path = url.path + "/" + quote(container)
if op == "stat":
    conn.request("HEAD", path + "/" + quote(name), headers={"X-Auth-Token": token})
    answer = conn.getresponse()
    answer.read()
    for key, value in answer.getheaders():
        print("%s: %s" % (key, value))
else:
    marker = ""
    while True:
        conn.request("GET", path + "?format=json&marker=" + quote(marker),
                     headers={"X-Auth-Token": token})
        page = json.loads(conn.getresponse().read())
        if not page:
            break
        print("\\n".join(item["name"] for item in page))
        marker = page[-1]["name"]
"""


def fresh_env(work: str, dev: dict) -> dict:
    """The Python tools as ``pip install`` leaves them in a virtualenv of their own.

    The current environment holds the test and server extras, whose start-up
    hooks (``.pth`` files: an editable install's import finder, a namespace
    package's loader) every Python in it runs before its first line, costing
    more than a whole ``velocity stat``.  A new virtualenv sees this checkout
    and the current environment's packages through one plain path entry each,
    as a regular install's ``site-packages`` would, runs none of those hooks,
    and gets console scripts for ``velocity`` and ``swift`` written as pip
    writes them."""
    import sysconfig
    import venv

    root = os.path.join(work, "venv")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = os.path.join(root, "bin", "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True,
                          check=True).stdout.strip()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(site, "peers-benchmark.pth"), "w") as handle:
        handle.write("%s\n%s\n" % (repo, sysconfig.get_paths()["purelib"]))
    bins = dict(dev, python=python)
    for name, module in (("velocity", "velocity.cli"), ("swift", "swiftclient.shell")):
        bins[name] = os.path.join(root, "bin", name)
        with open(bins[name], "w") as handle:
            handle.write("#!%s\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom %s "
                         "import main\nif __name__ == '__main__':\n    sys.argv[0] = re.sub("
                         "r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(main())"
                         "\n" % (python, module))
        os.chmod(bins[name], 0o700)
    return bins


def child_env(swift, work: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "ST_", "RCLONE_")) and k != "PYTHONDONTWRITEBYTECODE"}
    # bytecode cached (in the work folder) as for an installed package, even for an
    # editable checkout under PYTHONDONTWRITEBYTECODE=1 (see warm_up)
    env.update(ST_AUTH=swift.auth_url, ST_USER=swift.user, ST_KEY=swift.key,
               PYTHONWARNINGS="ignore", PYTHONPYCACHEPREFIX=os.path.join(work, "pycache"))
    prefix = "RCLONE_CONFIG_%s_" % REMOTE.upper()
    env.update({prefix + "TYPE": "swift", prefix + "AUTH": swift.auth_url,
                prefix + "USER": swift.user, prefix + "KEY": swift.key,
                prefix + "AUTH_VERSION": "1"})
    return env


def find_bins() -> dict:
    here = os.path.dirname(sys.executable)
    bins = {}
    for name in ("velocity", "swift", "rclone"):
        local = os.path.join(here, name)
        bins[name] = local if os.access(local, os.X_OK) else shutil.which(name)
        if not bins[name]:
            raise SystemExit("peers.py: %r not found (rclone: apt-get install rclone)" % name)
    bins["python"] = sys.executable
    return bins


def describe(bins: dict) -> dict:
    """The machine and the versions of every tool."""
    def first_line(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return "? (%s)" % exc
        return ((done.stdout or done.stderr).strip() or "?").splitlines()[0]

    from importlib.metadata import version

    model = "?"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = first_line(["git", "-C", repo, "describe", "--always", "--dirty"])
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model,
            "kernel": platform.release(), "python": platform.python_version(),
            "loadavg": os.getloadavg(), "velocity": "%s (git %s)" % (version("velocity-swift"),
                                                                      commit),
            "swift": first_line([bins["swift"], "--version"]),
            "rclone": first_line([bins["rclone"], "version"]),
            "swift server": version("swift")}


# -- the benchmark --------------------------------------------------------------------------


def run(args) -> int:
    spawner = Spawner()  # first, while this process is small (see _peers_util)
    try:
        return run_all(args, spawner)
    finally:
        spawner.close()


def run_all(args, spawner: Spawner) -> int:
    from velocity.server import LocalSwift

    quick = args.quick
    reps = args.reps or (1 if quick else 3)
    segment = (16 if quick else 64) * MiB
    rows = args.rows.split(",") if args.rows else list(ROWS)
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise SystemExit("unknown rows %s; choose from %s" % (unknown, ",".join(ROWS)))
    bins, began = find_bins(), time.monotonic()
    work = tempfile.mkdtemp(prefix="velocity-peers-")
    if not args.dev_env:
        bins = fresh_env(work, bins)
    info = describe(bins)
    print("machine: %d cores, %s, kernel %s, load %.2f %.2f %.2f" % (
        info["nproc"], info["cpu"], info["kernel"], *info["loadavg"]))
    print("tools: velocity %s | %s | %s | Swift server %s | Python %s" % (
        info["velocity"], info["swift"], info["rclone"], info["swift server"], info["python"]))
    print("best of %d, segment size %s%s; RSS floor of a child (/bin/true) %.1f MiB" % (
        reps, human(segment), ", quick" if quick else "", spawner.floor))
    print("velocity and swift run %s" % ("in this environment (--dev-env)" if args.dev_env
                                         else "from a fresh virtualenv (see fresh_env)"))
    runs: list[dict] = []
    try:
        data = {}
        for name in sorted({ROWS[r][0] for r in rows}):
            full_n, full_size, quick_n, quick_size = DATASETS[name]
            count, size = (quick_n, quick_size) if quick else (full_n, full_size)
            folder = os.path.join(work, "data-" + name)
            md5s = make_dataset(folder, count, size)
            data[name] = {"folder": folder, "count": count, "size": size, "md5s": md5s,
                          "digest": tree_digest(folder), "source": "src-" + name}
        print("data ready in %s" % work, flush=True)
        with LocalSwift() as swift:
            env, api = child_env(swift, work), Api(swift)
            for name, ds in data.items():
                if any(ROWS[r][0] == name and ROWS[r][1] != "up" for r in rows):
                    argv, cwd = command("swift", bins, "up", ds["source"], ds["folder"], "",
                                        "", segment if ds["size"] > segment else None)
                    done = spawner.run(argv, env, cwd, 1800)
                    problem = api.check_upload(ds["source"], ds["md5s"], ds["size"], segment)
                    if done["status"] or problem:
                        raise SystemExit("source upload of %s failed: %s %s"
                                         % (name, problem, done["stderr"][-800:]))
            warm_up(bins, env, work, spawner)
            for row in rows:
                runs += run_row(row, data[ROWS[row][0]], reps, segment, bins, env, api,
                                swift, work, args.timeout, spawner)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = print_tables(rows, runs, data)
    print("\nload average at the end: %.2f %.2f %.2f; %.0f s in all" % (
        *os.getloadavg(), time.monotonic() - began))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": info, "quick": quick, "reps": reps, "segment": segment,
                       "runs": runs, "summary": summary}, handle, indent=1)
        print("raw numbers written to %s" % args.json)
    return 1 if any(not r["ok"] for r in runs) else 0


def warm_up(bins: dict, env: dict, work: str, spawner: Spawner) -> None:
    """Every operation of every tool once, untimed, on one small file: fills
    the bytecode cache, so no timed run compiles Python sources."""
    folder, out = os.path.join(work, "warm"), os.path.join(work, "warm-out")
    make_dataset(folder, 1, 4096)
    for tool in TOOLS:
        for op in ("up", "down", "list", "stat"):
            argv, cwd = command(tool, bins, op, "warm-" + tool, folder, out, "f00000", None)
            spawner.run(argv, env, cwd, 300)
        shutil.rmtree(out, ignore_errors=True)


def row_label(row: str, ds: dict, segment: int) -> str:
    op = ROWS[row][1]
    if op == "list":
        return "list %d objects" % ds["count"]
    if op == "stat":
        return "stat 1 object"
    seg = " (%s seg)" % human(segment) if ds["size"] > segment else ""
    return "%s %d x %s%s" % (op, ds["count"], human(ds["size"]), seg)


def run_row(row, ds, reps, segment, bins, env, api, swift, work, timeout,
            spawner) -> list[dict]:
    op = ROWS[row][1]
    label = row_label(row, ds, segment)
    seg = segment if op in ("up", "down") and ds["size"] > segment else None
    runs, mark = [], log_mark(swift)
    tools = TOOLS + ((REFERENCE,) if op in ("up", "down") and ds["size"] >= 16 * MiB else ()) \
        + ((FLOOR,) if op in ("list", "stat") else ())
    for rep in range(reps):
        for tool in tools[rep % len(tools):] + tools[:rep % len(tools)]:
            os.sync()  # the previous run's writes go to disk now, not during this run
            container = ds["source"] if op != "up" else "up-%s-%s-%d" % (row, tool, rep)
            out = os.path.join(work, "out")
            argv, cwd = command(tool, bins, op, container, ds["folder"], out, "f00000", seg)
            server = tree_cpu(swift.pids)
            done = spawner.run(argv, env, cwd, timeout)
            done["server_cpu"] = tree_cpu(swift.pids) - server  # before the checks below
            # the lines between two runs are the parent's checks: left out by their agent
            end = log_mark(swift)
            requests, mark = requests_since(swift, mark, end), end
            problem = "exit status %d: %s" % (done["status"], done["stderr"].strip()[-600:]) \
                if done["status"] else None
            if not problem and op == "up":
                problem = api.check_upload(container, ds["md5s"], ds["size"], segment)
            elif not problem and op == "down":
                problem = None if tree_digest(out) == ds["digest"] else "downloaded tree differs"
            elif not problem and op == "list":
                names = done["stdout"].split()
                problem = None if sorted(names) == sorted(ds["md5s"]) else \
                    "listed %d names" % len(names)
            elif not problem and op == "stat":
                problem = None if str(ds["size"]) in done["stdout"] else "no size in output"
            if op == "up":
                api.drop(container)
            shutil.rmtree(out, ignore_errors=True)
            record = {"row": row, "label": label, "tool": tool, "rep": rep, "argv": argv,
                      "ok": problem is None, "problem": problem, "requests": dict(requests),
                      **{k: done[k] for k in ("wall", "cpu", "user", "sys", "rss_mib",
                                              "server_cpu")}}
            runs.append(record)
            print("  %-28s %-8s rep %d  %7.3f s wall %6.3f s cpu %5.0f MiB  %4d req%s" % (
                label, tool, rep, done["wall"], done["cpu"], done["rss_mib"],
                sum(requests.values()), "" if problem is None else "  FAILED: " + problem),
                flush=True)
    return runs


def md5_seconds_per_byte() -> float:
    """CPU seconds hashlib's MD5 takes per byte on this machine (best of 3 x 64 MiB)."""
    import hashlib

    block = os.urandom(MiB)
    runs = []
    for _ in range(3):
        began, digest = time.process_time(), hashlib.md5()
        for _ in range(64):
            digest.update(block)
        runs.append(time.process_time() - began)
    return min(runs) / (64 * MiB)


def seconds(value: float) -> str:
    """Two decimals, three below a second (the list and stat rows)."""
    return "%.3f" % value if value < 1 else "%.2f" % value


def cell_text(cell: dict) -> str:
    return "%s / %s / %.0f" % (seconds(cell["wall"]), seconds(cell["cpu"]), cell["rss_mib"])


def machine_text(run: dict) -> str:
    busy = (run["cpu"] + run["server_cpu"]) / max(run["wall"], 1e-3) / CORES
    return "%s / %s / %s / %.0f%%" % (seconds(run["wall"]), seconds(run["cpu"]),
                                      seconds(run["server_cpu"]), 100 * busy)


def best(runs: list[dict], row: str, tool: str) -> dict | None:
    """Lowest wall, CPU and RSS over the successful runs of one cell."""
    ok = [r for r in runs if r["row"] == row and r["tool"] == tool and r["ok"]]
    if not ok:
        return None
    return {k: min(r[k] for r in ok) for k in ("wall", "cpu", "rss_mib")} | {
        "requests": min(ok, key=lambda r: r["wall"])["requests"]}


def print_tables(rows: list[str], runs: list[dict], data: dict) -> dict:
    summary: dict = {}
    print("\n| workload | velocity wall s / CPU s / RSS MiB | swift wall / CPU / RSS | "
          "rclone wall / CPU / RSS | speed vs best peer | CPU vs best peer |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        cells = {tool: best(runs, row, tool) for tool in TOOLS}
        summary[row] = cells
        text = [cell_text(c) if c else "FAILED"
                for c in cells.values()]
        peers = [(c, t) for t, c in cells.items() if t != "velocity" and c]
        mine = cells["velocity"]
        speed = cpu = "-"
        if mine and peers:
            wall_peer = min(peers, key=lambda p: p[0]["wall"])
            cpu_peer = min(peers, key=lambda p: p[0]["cpu"])
            speed = "%.2fx (%s)" % (wall_peer[0]["wall"] / mine["wall"], wall_peer[1])
            cpu = "%.2fx (%s)" % (cpu_peer[0]["cpu"] / max(mine["cpu"], 1e-3), cpu_peer[1])
        label = next(r["label"] for r in runs if r["row"] == row)
        print("| %s | %s | %s | %s | %s | %s |" % (label, *text, speed, cpu))
    md5_cost = md5_seconds_per_byte()
    for tool, title in ((REFERENCE, "what verifying costs: velocity --ignore-checksum (MD5s "
                                    "not checked, lengths only; not a peer); the last column "
                                    "is what hashlib's MD5 of the row's bytes alone costs "
                                    "here"),
                        (FLOOR, "the floor of a Python tool: the same requests from a bare "
                                "script (http.client; not a peer)")):
        reference = [(row, best(runs, row, tool)) for row in rows]
        if not any(cell for _, cell in reference):
            continue
        print("\n%s\n" % title)
        print("| workload | wall s / CPU s / RSS MiB | velocity wall / CPU s |%s" % (
            " MD5 CPU s |" if tool == REFERENCE else ""))
        print("|---|---|---|%s" % ("---|" if tool == REFERENCE else ""))
        for row, cell in reference:
            if cell:
                label = next(r["label"] for r in runs if r["row"] == row)
                mine = summary[row]["velocity"]
                ds = data[ROWS[row][0]]
                print("| %s | %s | %s |%s" % (
                    label, cell_text(cell), "%s / %s" % (seconds(mine["wall"]), seconds(
                        mine["cpu"])) if mine else "-",
                    " %.2f |" % (md5_cost * ds["count"] * ds["size"]) if tool == REFERENCE
                    else ""))
    print("\nthe whole machine during the fastest run: wall s / client CPU s / server CPU s "
          "(all Swift processes) / cores busy (client + server CPU over wall x %d cores)\n"
          % CORES)
    print("| workload | velocity | fastest peer |")
    print("|---|---|---|")
    for row in rows:
        fastest = {}
        for tool in TOOLS:
            ok = [r for r in runs if r["row"] == row and r["tool"] == tool and r["ok"]]
            if ok:
                fastest[tool] = min(ok, key=lambda r: r["wall"])
        if "velocity" not in fastest or len(fastest) < 2:
            continue
        peer = min((r for t, r in fastest.items() if t != "velocity"), key=lambda r: r["wall"])
        label = next(r["label"] for r in runs if r["row"] == row)
        print("| %s | %s | %s (%s) |" % (label, machine_text(fastest["velocity"]),
                                         machine_text(peer), peer["tool"]))
    print("\nrequests sent (proxy log, fastest run; per object in brackets)\n")
    print("| workload | velocity | swift | rclone |")
    print("|---|---|---|---|")
    for row in rows:
        count = data[ROWS[row][0]]["count"] if ROWS[row][1] in ("up", "down") else 1
        cells = []
        for tool in TOOLS:
            cell = summary[row][tool]
            if not cell:
                cells.append("-")
                continue
            kinds = sorted(cell["requests"].items(), key=lambda kv: (-kv[1], kv[0]))
            total = sum(cell["requests"].values())
            cells.append("%d (%.2f): %s" % (total, total / count,
                                            ", ".join("%s %d" % kv for kv in kinds)))
        label = next(r["label"] for r in runs if r["row"] == row)
        print("| %s | %s |" % (label, " | ".join(cells)))
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI sizes, best of 1")
    parser.add_argument("--rows", help="comma-separated rows (default all): " + ",".join(ROWS))
    parser.add_argument("--reps", type=int, help="runs per cell (default 3, quick 1)")
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers here")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    parser.add_argument("--dev-env", action="store_true",
                        help="run velocity and swift as installed in this environment, "
                             "start-up hooks of its extras included (default: a fresh "
                             "virtualenv)")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
