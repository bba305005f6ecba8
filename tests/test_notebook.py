"""docs/notebooks/quickstart.ipynb, executed for real by nbclient on an
ipykernel kernel (whose cells run inside a running event loop).  Any cell error
fails the test.

The kernel is this test run's own interpreter: the test writes a kernelspec for
``sys.executable`` into a temporary Jupyter path, so it works on a fresh machine
with only the ``test`` extra installed (no ``jupyter kernelspec install``)."""

from __future__ import annotations

import json
import os
import sys

import ipykernel  # noqa: F401 - the kernel the notebook runs on
import nbclient
import nbformat
import pytest

NOTEBOOK = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "notebooks",
                        "quickstart.ipynb")
KERNEL = "velocity-test-python"


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernelspec running ipykernel on this interpreter, found through JUPYTER_PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Velocity tests", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return KERNEL


def test_quickstart_notebook_runs_without_errors(kernel_name, tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert any("await v.process" in cell.source for cell in notebook.cells)
    client = nbclient.NotebookClient(notebook, kernel_name=kernel_name, timeout=240,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = "\n".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", []) if output.get("output_type") == "stream")
    assert "30 uploaded; 0 errors" in outputs
    assert "HEAD of 'never-uploaded.txt'" in outputs  # the collected error, printed
    assert "b'Hello from a notebook'" in outputs
    assert "objects under part-1/" in outputs
