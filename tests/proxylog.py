"""What the LocalSwift proxy saw: its access log, read from a mark on.

``proxy-logging`` writes one line per request when the answer is complete,
with the method, the path, the status and the bytes sent back, so a test can
count the PUTs a command made, or check how many bytes a ranged GET carried,
from the server's side.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import unquote

_LINE = re.compile(
    r"proxy-server: (?P<client>\S+) \S+ \S+ (?P<method>[A-Z]+) (?P<path>\S+) HTTP/\S+ "
    r"(?P<status>\d{3}) \S+ \S+ \S+ (?P<received>\S+) (?P<sent>\S+) ")


@dataclass
class Request:
    client: str
    method: str
    path: str
    status: int
    sent: int
    received: int


class ProxyLog:
    """The requests of the proxy log written after the mark (its creation)."""

    def __init__(self, swift_server) -> None:
        self.server = swift_server
        self.mark = len(swift_server.log("proxy"))

    def requests(self) -> list[Request]:
        found = []
        for match in _LINE.finditer(self.server.log("proxy")[self.mark:]):
            sent, received = match.group("sent"), match.group("received")
            found.append(Request(match.group("client"), match.group("method"),
                                 unquote(match.group("path")).partition("?")[0],
                                 int(match.group("status")),
                                 int(sent) if sent.isdigit() else 0,
                                 int(received) if received.isdigit() else 0))
        return found

    def wait_for(self, predicate, timeout: float = 5.0) -> list[Request]:
        """The requests once ``predicate(requests)`` holds (the log is
        written as answers end); the last ones seen after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests()
            if predicate(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def settle(self, quiet: float = 0.3) -> list[Request]:
        """The requests once no new line came for ``quiet`` seconds."""
        seen = -1
        while True:
            found = self.requests()
            if len(found) == seen:
                return found
            seen = len(found)
            time.sleep(quiet)


def client_puts(requests: list[Request], container: str) -> list[Request]:
    """Object PUTs a client sent into ``container`` (not the proxy's own)."""
    prefix = "/v1/AUTH_test/%s/" % container
    return [r for r in requests if r.method == "PUT" and r.client != "-"
            and r.path.startswith(prefix)]
