"""Progress subscribers and the tqdm bar."""

from __future__ import annotations

import io
import os

from velocity.progress import TqdmProgress
from velocity.transfer import TransferManager, TransferResult


def test_tqdm_bar_counts_bytes_and_objects():
    out = io.StringIO()
    bar = TqdmProgress(desc="upload", file=out, mininterval=0)
    bar.on_start(300, 2)
    bar.on_progress(100)
    bar.on_object_done(TransferResult("upload", "c", "a", ok=True, bytes=100))
    bar.on_progress(200)
    bar.on_object_done(TransferResult("upload", "c", "b", ok=False))
    assert bar.bar.n == 300 and bar.objects == 2 and bar.failed == 1
    bar.on_done()
    text = out.getvalue()
    assert "upload" in text and "objects=2/2" in text and "failed=1" in text


def test_tqdm_bar_with_unknown_totals():
    out = io.StringIO()
    bar = TqdmProgress(file=out)
    bar.on_start(None, None)
    bar.on_progress(10)
    bar.on_object_done(TransferResult("upload", "c", "a", ok=True))
    bar.on_done()
    assert "objects=1/?" in out.getvalue()


def test_progress_true_shows_a_bar(client, container_name, tmp_path, capsys):
    (tmp_path / "f.bin").write_bytes(os.urandom(1000))
    with TransferManager(client) as manager:
        [result] = manager.upload(container_name, str(tmp_path / "f.bin"), progress=True)
    assert result.ok
    err = capsys.readouterr().err
    assert "upload" in err and "objects=1/1" in err
