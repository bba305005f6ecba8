"""``velocity demo``: Velocity's main job on a Swift it starts itself.

Starts a :class:`~velocity.server.LocalSwift`, uploads a sample folder (many
small files and one file large enough to be segmented) with Velocity's own
:class:`~velocity.transfer.TransferManager`, lists it, downloads it back, checks
every byte and prints a short summary.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from typing import TextIO

SMALL_FILES = 200
SMALL_SIZE = 4096
LARGE_SIZE = 24 * 1024 * 1024
SEGMENT_SIZE = 8 * 1024 * 1024


def _make_sample(folder: str) -> dict[str, str]:
    """Write the sample folder; returns ``relative path -> sha256``."""
    digests: dict[str, str] = {}
    for i in range(SMALL_FILES):
        rel = "docs/part-%d/note-%03d.txt" % (i % 5, i)
        data = os.urandom(SMALL_SIZE)
        _write(os.path.join(folder, rel), data)
        digests[rel] = hashlib.sha256(data).hexdigest()
    rel = "big/archive.bin"
    path = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sha = hashlib.sha256()
    with open(path, "wb") as handle:
        for _ in range(LARGE_SIZE // (1024 * 1024)):
            block = os.urandom(1024 * 1024)
            sha.update(block)
            handle.write(block)
    digests[rel] = sha.hexdigest()
    return digests


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def _sha256(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def run(out: TextIO, progress: bool = False) -> int:
    """Run the demo, writing its report to ``out``; returns an exit status."""
    from velocity.auth import Credentials
    from velocity.client import SwiftClient
    from velocity.server import LocalSwift
    from velocity.transfer import TransferConfig, TransferManager

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="velocity-demo-") as work, LocalSwift() as swift:
        out.write("LocalSwift up in %.1f s at %s\n" % (swift.startup_seconds, swift.auth_url))
        src, dst = os.path.join(work, "src"), os.path.join(work, "dst")
        digests = _make_sample(src)
        total = sum(os.path.getsize(os.path.join(src, rel)) for rel in digests)
        config = TransferConfig(segment_size=SEGMENT_SIZE, segment_threshold=SEGMENT_SIZE)
        client = SwiftClient(Credentials.v1(swift.auth_url, swift.user, swift.key))
        with client, TransferManager(client, config) as manager:
            started = time.monotonic()
            uploads = manager.upload("demo", src, progress=progress)
            up = time.monotonic() - started
            failed = [r for r in uploads if not r.ok]
            segmented = [r for r in uploads if r.segments]
            listing = list(client.iter_container("demo"))
            started = time.monotonic()
            failed += [r for r in manager.download("demo", out_dir=dst, progress=progress)
                       if not r.ok]
            down = time.monotonic() - started
        bad = [rel for rel, digest in digests.items()
               if not os.path.exists(os.path.join(dst, rel))
               or _sha256(os.path.join(dst, rel)) != digest]
        mib = total / 1048576
        out.write("uploaded   %d files, %.1f MiB in %.2f s\n" % (len(digests), mib, up))
        for item in segmented:
            out.write("segmented  %s: %d segments of up to %.0f MiB, manifest written last\n"
                      % (item.name, item.segments, SEGMENT_SIZE / 1048576))
        out.write("listed     %d objects in container 'demo'\n" % len(listing))
        out.write("downloaded %d files, %.1f MiB in %.2f s\n" % (len(digests), mib, down))
        ok = not failed and not bad and len(listing) == len(digests)
        for item in failed:
            out.write("FAILED %s\n" % item)
        for rel in bad:
            out.write("MISMATCH %s\n" % rel)
        out.write("verified   %d files byte for byte: %s\n"
                  % (len(digests) - len(bad), "OK" if ok else "FAILED"))
    out.write("done in %.1f s; server stopped\n" % (time.monotonic() - began))
    return 0 if ok else 1
