"""Every snippet of README.rst and docs/*.rst runs as written.

Snippets are ``.. code-block:: python`` (run, in document order, in one
namespace per document) and ``.. code-block:: console`` (each ``$ `` line run
by bash; the other lines are its output).  ``text``, ``ini``, ``json`` and
``none`` blocks show output or settings and are not run; a bare ``::``
literal block is refused, so nothing goes unchecked by accident.  The
snippets read the same ``OS_*`` variables that ``velocity serve`` prints,
here pointing at the session's LocalSwift, and run in an empty folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import swiftclient

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.rst", *sorted((ROOT / "docs").glob("*.rst"))]
NOT_RUN = {"text", "ini", "json", "none", "rst", "toml"}
#: README's two set-up commands: CI and the developers run those themselves
MARKED = re.compile(r"^\.\. (demo|test)-command\s*$")

_RUNNER = r'''
import json, subprocess, sys, traceback
namespace = {"__name__": "__main__"}
for number, (kind, line, code) in enumerate(json.load(sys.stdin), 1):
    try:
        if kind == "python":
            exec(compile(code, "<%s line %d>" % (sys.argv[1], line), "exec"), namespace)
        else:
            for command in code:
                proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                                      timeout=300)
                if proc.returncode != 0:
                    raise RuntimeError("$ %s exited %d:\n%s%s" % (
                        command, proc.returncode, proc.stdout[-1500:], proc.stderr[-1500:]))
    except BaseException:
        print("snippet %d (%s, line %d of %s) failed:" % (number, kind, line, sys.argv[1]))
        traceback.print_exc(file=sys.stdout)
        sys.exit(1)
'''


def snippets(path: Path) -> list[tuple[str, int, object]]:
    """``(kind, line, code)`` of every runnable block of ``path``, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[tuple[str, int, object]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = re.match(r"^(\s*)\.\. code-block::\s*(\S+)", line)
        literal = line.rstrip().endswith("::") and not line.lstrip().startswith("..")
        if MARKED.match(line):
            index += 3  # the marker, "::", the command
            continue
        if not (directive or literal):
            index += 1
            continue
        indent = len(directive.group(1)) if directive else len(line) - len(line.lstrip())
        start = index + 1
        while start < len(lines) and (not lines[start].strip() or
                                      lines[start].lstrip().startswith(":")):
            start += 1
        end = start
        body: list[str] = []
        while end < len(lines) and (not lines[end].strip() or
                                    len(lines[end]) - len(lines[end].lstrip()) > indent):
            body.append(lines[end])
            end += 1
        block_indent = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
        text = "\n".join(b[block_indent:] for b in body).strip("\n")
        if literal:
            raise AssertionError(
                "%s line %d: a bare '::' block; say what it is with '.. code-block:: python' "
                "(run), 'console' (its $ lines run) or 'text' (not run)" % (path.name, index + 1))
        kind = directive.group(2).lower()
        if kind == "python":
            found.append(("python", start + 1, text))
        elif kind in ("console", "shell-session"):
            commands = [t[2:] for t in text.splitlines() if t.startswith("$ ")]
            found.append(("console", start + 1, commands))
        elif kind not in NOT_RUN:
            raise AssertionError("%s line %d: code-block %r: use python, console or text"
                                 % (path.name, index + 1, kind))
        index = end
    return found


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_every_snippet_runs(path, swift_server, tmp_path):
    blocks = snippets(path)
    if not blocks:
        return  # a page of prose (its bare blocks were refused above)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    env.update(OS_AUTH_URL=swift_server.auth_url, OS_USERNAME=swift_server.user,
               OS_PASSWORD=swift_server.key, PYTHONPATH=str(ROOT),
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    raw = swiftclient.Connection(swift_server.auth_url, swift_server.user, swift_server.key)
    before = {c["name"] for c in raw.get_account(full_listing=True)[1]}
    try:
        proc = subprocess.run([sys.executable, "-c", _RUNNER, path.name],
                              input=json.dumps(blocks), capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=600)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    finally:
        for name in {c["name"] for c in raw.get_account(full_listing=True)[1]} - before:
            for obj in raw.get_container(name, full_listing=True)[1]:
                raw.delete_object(name, obj["name"])
            raw.delete_container(name)
