"""A loopback HTTP server answering from a script, for the one service no
local server plays that the direct transport talks to: Rackspace's legacy
v1.0 identity (``X-CDN-Management-Url``, ServiceNet storage URLs, tokens
whose values a test chooses).  The client's real transport sends the
requests; the server records them.  Standard library only."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Union

Answer = tuple[int, dict[str, str], bytes]
Script = Union[Answer, Callable[[dict[str, str]], Answer]]


class ScriptedServer:
    """Answers ``(method, path)`` with the answers :meth:`add` queued for it,
    in order (the last one repeats); anything unscripted gets 404.
    :attr:`requests` holds ``(method, path, headers)`` of every request."""

    def __init__(self) -> None:
        self._script: dict[tuple[str, str], list[Script]] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                headers = {name: value for name, value in self.headers.items()}
                with server._lock:
                    server.requests.append((self.command, self.path, headers))
                    queue = server._script.get((self.command, self.path.split("?")[0]), [])
                    script = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else None)
                status, sent, body = (404, {}, b"") if script is None else (
                    script(headers) if callable(script) else script)
                self.send_response(status)
                for name, value in sent.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _any

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def add(self, method: str, path: str, answer: Script) -> None:
        """Queue ``answer`` (``(status, headers, body)``, or a function of
        the request's headers returning one) for ``method path``."""
        with self._lock:
            self._script.setdefault((method, path), []).append(answer)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
