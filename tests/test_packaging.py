"""The distribution builds, passes ``twine check``, installs from its wheel
into a fresh virtual environment with every extra, and runs from there.

It is named ``velocity-swift`` (PyPI's ``velocity`` is an unrelated package);
the import name stays ``velocity``.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST_NAME = "velocity-swift"


def _run(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          **kwargs)
    assert proc.returncode == 0, "%s\n%s\n%s" % (" ".join(args), proc.stdout[-3000:],
                                                  proc.stderr[-3000:])
    return proc


def test_build_check_install_and_run_the_wheel(tmp_path):
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(dist), str(ROOT))
    wheels = sorted(dist.glob("velocity_swift-*.whl"))
    sdists = sorted(dist.glob("velocity_swift-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(os.listdir(dist))
    checked = _run(sys.executable, "-m", "twine", "check", "--strict", *map(str, wheels + sdists))
    assert checked.stdout.count("PASSED") == 2

    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = wheel.read(metadata).decode()
        entry_points = wheel.read(metadata.replace("METADATA", "entry_points.txt")).decode()
    assert "velocity/py.typed" in names and "velocity/_swiftd/launch.py" in names
    assert "Name: %s\n" % DIST_NAME in meta
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    extras = [e for e in config["options.extras_require"]]
    for extra in extras:
        assert "Provides-Extra: %s\n" % extra in meta
    assert "velocity = velocity.cli:main" in entry_points
    assert "velocity = velocity.server" in entry_points  # the pytest plugin

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # every extra a user installs (the developers' test, docs and benchmark extras
    # are what this very run was set up with)
    wanted = [e for e in extras if e not in ("test", "docs", "benchmark")]
    assert {"server", "keystone", "fsspec", "django", "dask"} <= set(wanted)
    _run(str(python), "-m", "pip", "install", "-q", "%s[%s]" % (wheels[0], ",".join(wanted)))
    shown = _run(str(python), "-m", "pip", "show", DIST_NAME).stdout
    assert "Location: %s" % env_dir in shown  # from the wheel, not this checkout
    where = _run(str(python), "-c", "import velocity; print(velocity.__file__)",
                 cwd=str(tmp_path)).stdout
    assert where.startswith(str(env_dir))
    demo = _run(str(env_dir / "bin" / "velocity"), "demo", cwd=str(tmp_path), timeout=300)
    assert "byte for byte: OK" in demo.stdout
