"""Helpers of ``benchmarks/peers.py``: a small fork server and tree checksums.

Linux starts a forked child's peak RSS (``ru_maxrss``) at its parent's RSS,
and keeps it across ``exec``: a tool started straight from the benchmark would
report at least the benchmark's own ~50 MiB.  So every tool is started by this
module run as a tiny process of its own (``python -S``, about 10 MiB), which
runs one command per line of JSON on its stdin and answers one line of JSON:
wall time, user and system CPU and peak RSS from ``os.wait4``.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

MiB = 1024 * 1024


def _run(job: dict) -> dict:
    with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(job["argv"], env=job["env"], cwd=job["cwd"],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    fd = os.pidfd_open(proc.pid)  # a signal through it can never hit a recycled PID
    try:
        if not select.select([fd], [], [], job["timeout"])[0]:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        os.wait4(proc.pid, 0)
        raise
    finally:
        os.close(fd)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime,
            "sys": usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
            "status": proc.returncode}


class Spawner:
    """Runs commands through the fork server (start it while the caller is small)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-S", os.path.abspath(__file__)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.floor = self.run(["true"], dict(os.environ), None, 60)["rss_mib"]

    def run(self, argv: list[str], env: dict, cwd: str | None, timeout: float) -> dict:
        with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as err:
            job = {"argv": argv, "env": env, "cwd": cwd, "timeout": timeout,
                   "stdout": out.name, "stderr": err.name}
            assert self.proc.stdin and self.proc.stdout
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
            if not answer:
                raise RuntimeError("the fork server died")
            result = json.loads(answer)
            result["stdout"] = out.read().decode(errors="replace")
            result["stderr"] = err.read().decode(errors="replace")
        return result

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # our own child, not yet reaped: its PID is still ours
            self.proc.wait()


def tree_digest(root: str) -> str:
    """sha256 over every file's relative path and sha256 (hidden files included)."""
    paths = sorted(os.path.relpath(os.path.join(d, f), root)
                   for d, _, files in os.walk(root) for f in files)
    total = hashlib.sha256()
    for rel in paths:
        digest = hashlib.sha256()
        with open(os.path.join(root, rel), "rb") as handle:
            for block in iter(lambda h=handle: h.read(4 * MiB), b""):
                digest.update(block)
        total.update(b"%s\0%s\n" % (rel.encode(), digest.hexdigest().encode()))
    return total.hexdigest()


def tree_cpu(pids: list[int]) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` and all
    their descendants (the server's workers), read from ``/proc``."""
    children: dict[int, list[int]] = {}
    used: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                text = handle.read()
        except OSError:
            continue  # gone meanwhile
        fields = text[text.rindex(")") + 2:].split()  # after "pid (name) "
        children.setdefault(int(fields[1]), []).append(int(entry))
        used[int(entry)] = int(fields[11]) + int(fields[12])  # utime + stime, in ticks
    total, todo = 0, list(pids)
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0)
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def make_dataset(folder: str, count: int, size: int) -> dict[str, str]:
    """``count`` random files ``f00000``... of ``size`` bytes; returns name -> MD5."""
    os.makedirs(folder)
    md5s = {}
    for i in range(count):
        name, digest = "f%05d" % i, hashlib.md5()
        with open(os.path.join(folder, name), "wb") as handle:
            left = size
            while left:
                block = os.urandom(min(left, 8 * MiB))
                digest.update(block)
                handle.write(block)
                left -= len(block)
        md5s[name] = digest.hexdigest()
    return md5s


if __name__ == "__main__":
    for line in sys.stdin:
        print(json.dumps(_run(json.loads(line))), flush=True)
