"""What every local server of :mod:`velocity.server` shares: free loopback
ports, child processes stopped by PID, health checks and clean-up."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Mapping
from typing import Any, TypeVar

from velocity.errors import ServerError

__all__ = ["ServerError"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ini(sections: Mapping[str, Mapping[str, Any]]) -> str:
    lines: list[str] = []
    for name, options in sections.items():
        lines.append("[%s]" % name)
        lines.extend("%s = %s" % (key, value) for key, value in options.items())
        lines.append("")
    return "\n".join(lines)


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


class _Processes:
    """Child processes owned by one server object; stopped by PID only."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, str] = {}

    def start(self, name: str, argv: list[str], log: str, env: Mapping[str, str]) -> None:
        with open(log, "ab") as out:
            self.procs[name] = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env),
                close_fds=True,
                start_new_session=True,
            )
        self.logs[name] = log

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise ServerError(
                    "%s server exited with status %s; end of its log:\n%s"
                    % (name, proc.returncode, _tail(self.logs[name]))
                )

    def stop(self, grace: float = 10.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def _wait_healthy(urls: list[str], procs: _Processes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        procs.check_alive()
        try:
            with urllib.request.urlopen(pending[0], timeout=2) as response:
                if response.status == 200:
                    pending.pop(0)
                    continue
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ServerError("no answer from %s after %.0f s" % (pending[0], timeout))
        time.sleep(0.05)


def _cleanup(procs: _Processes, folder: str) -> None:
    procs.stop()
    shutil.rmtree(folder, ignore_errors=True)


_S = TypeVar("_S", bound="_LocalServer")


class _LocalServer:
    """What LocalSwift and LocalKeystone share: a temporary folder, child
    processes stopped by PID, start/stop and the ``with`` block."""

    _prefix = "velocity-"

    def __init__(self, startup_timeout: float, base_dir: str | None) -> None:
        self.startup_timeout = startup_timeout
        self.base_dir = base_dir
        self.folder = ""
        self.startup_seconds = 0.0
        self._procs = _Processes()
        self._finalizer: weakref.finalize | None = None

    @property
    def pids(self) -> list[int]:
        """The PIDs of the processes this object started."""
        return [proc.pid for proc in self._procs.procs.values()]

    @property
    def running(self) -> bool:
        return bool(self._procs.procs)

    def _start(self) -> None:
        raise NotImplementedError

    def start(self: _S) -> _S:
        """Create the folder, start every process (LocalSwift: write the
        configuration and rings first; LocalKeystone: set up its database and
        create its users after) and wait until they answer."""
        if self.running:
            return self
        began = time.monotonic()
        self.folder = tempfile.mkdtemp(prefix=self._prefix, dir=self.base_dir)
        self._finalizer = weakref.finalize(self, _cleanup, self._procs, self.folder)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop every process this object started and delete its folder."""
        if self._finalizer is not None:
            self._finalizer()  # runs _cleanup once
            self._finalizer = None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


