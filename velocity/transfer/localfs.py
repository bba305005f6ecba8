"""The local side of every transfer: one folder walker (with exclude
patterns), one check that an object name stays inside its destination folder,
and one writer that makes a file appear only when it is complete.

Every face uses these: the transfer engine, the asyncio ``Velocity.process``,
``StorageObject.save_to_filename`` and the CloudEvent ``Downloader``.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Union

from velocity import errors
from velocity._log import log

__all__ = ["LocalFile", "LocalTree", "walk", "iter_sorted", "ignored", "safe_local_path",
           "relative_parts", "AtomicFile", "file_mode", "PART_SUFFIX"]


PathLike = Union[str, "os.PathLike[str]"]
#: the suffix of the hidden files downloads are written to before the rename
PART_SUFFIX = ".velocity-part"


@dataclass
class LocalFile:
    """A file to upload: where it is, the object name it gets, its size and
    modification time; or, with ``error`` set, why it cannot be uploaded."""

    path: str
    name: str
    size: int = 0
    mtime: float = 0.0
    error: errors.VelocityError | None = None
    #: when the file's inode last changed (a download's rename, for one)
    ctime: float = 0.0


def ignored(rel: str, patterns: Sequence[str]) -> bool:
    """Whether the relative path ``rel`` (or its base name) matches one of
    the glob ``patterns`` (an ``ignore``/``--exclude`` rule)."""
    base = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(base, pat) for pat in patterns)


def _entry(path: str, name: str) -> LocalFile:
    from velocity.names import check_object_name

    try:
        check_object_name(name)
        info = os.stat(path)
    except errors.VelocityError as exc:
        return LocalFile(path, name, error=exc)
    except OSError as exc:
        return LocalFile(path, name, error=errors.VelocityError(
            "cannot read %s: %s" % (path, exc.strerror)))
    return LocalFile(path, name, info.st_size, info.st_mtime, ctime=info.st_ctime)


def _hidden_partial(name: str) -> bool:
    """A partial download's data or journal (see :mod:`velocity.transfer.partial`)."""
    return name.startswith(".") and PART_SUFFIX in name


def walk(paths: PathLike | Sequence[PathLike], object_names: Sequence[str] | None = None,
         prefix: str | None = None, ignore: Iterable[str] = ()) -> list[LocalFile]:
    """Every file under ``paths``, with its object name, sorted by folder.

    A file is named after its base name; a folder gives every regular file
    under it, named by its POSIX path relative to that folder.  ``object_names``
    (one per path) replaces those names (for a folder: a folder name put in
    front); ``prefix`` goes before every name; ``ignore`` holds ``fnmatch``
    patterns of relative paths or base names to leave out (a matching folder
    is not entered).  A path that is missing or not a regular file comes back
    with its ``error`` set, so it can be reported instead of vanishing.
    """
    given_paths = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    local: list[str] = [os.fspath(p) for p in given_paths]
    if object_names is not None:
        if isinstance(object_names, str):
            object_names = [object_names]
        if len(object_names) != len(local):
            raise errors.ConfigurationError(
                "object_names has %d names for %d paths" % (len(object_names), len(local)))
    prefix = prefix or ""
    patterns = tuple(ignore)
    found: list[LocalFile] = []
    for index, path in enumerate(local):
        given = object_names[index] if object_names is not None else None
        if os.path.isdir(path):
            base = prefix + (given.rstrip("/") + "/" if given else "")
            for root, dirs, files in os.walk(path):
                rel_root = os.path.relpath(root, path)
                rel_root = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
                dirs[:] = sorted(d for d in dirs if not ignored(rel_root + d, patterns))
                for name in sorted(files):
                    if _hidden_partial(name):
                        continue  # a download in progress (or to resume), never uploaded
                    rel = rel_root + name
                    full = os.path.join(root, name)
                    if not ignored(rel, patterns) and os.path.isfile(full):
                        found.append(_entry(full, base + rel))  # no sockets, FIFOs, dead links
        elif os.path.exists(path):
            name = prefix + (given or os.path.basename(path))
            if ignored(os.path.basename(path), patterns):
                continue
            if not stat.S_ISREG(os.stat(path).st_mode):
                found.append(LocalFile(path, name, error=errors.VelocityError(
                    "%s is not a regular file" % path)))
                continue
            found.append(_entry(path, name))
        else:
            found.append(LocalFile(path, prefix + (given or os.path.basename(path)),
                                   error=errors.VelocityError("%s does not exist" % path)))
    return found


def iter_sorted(root: str, ignore: Iterable[str] = ()) -> Iterator[LocalFile]:
    """Every regular file under the folder ``root``, named by its POSIX
    path relative to it, in the order of those names (code point order, as
    Swift sorts a listing), one folder in memory at a time; ``ignore`` as
    for :func:`walk`, and partial downloads are left out.  A folder that
    cannot be read is skipped (logged); a missing ``root`` gives nothing."""
    patterns = tuple(ignore)

    def folder(path: str, rel_root: str) -> Iterator[LocalFile]:
        try:
            with os.scandir(path) as scan:
                entries = list(scan)
        except OSError as exc:
            if rel_root:
                log.warning("cannot read the folder %s: %s", path, exc.strerror)
            return
        keyed = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            # a folder's files all start with "name/": sort it by that key
            keyed.append((entry.name + "/" if is_dir else entry.name, is_dir, entry))
        keyed.sort(key=lambda item: item[0])
        for _, is_dir, entry in keyed:
            rel = rel_root + entry.name
            if ignored(rel, patterns):
                continue
            if is_dir:
                yield from folder(entry.path, rel + "/")
            elif not _hidden_partial(entry.name) and entry.is_file():
                yield _entry(entry.path, rel)

    return folder(root, "")


def relative_parts(name: str, what: str) -> list[str]:
    """The components of a relative ``/`` (or ``\\``) path, without empty and
    ``.`` ones.

    :raises velocity.errors.UnsafePath: ``what`` (e.g. "object name 'x'")
        holds a NUL byte, is absolute (or a drive letter) or has a ``..``
        component
    """
    if "\x00" in name:
        raise errors.UnsafePath("%s contains a NUL byte" % what)
    if name.startswith(("/", "\\")) or os.path.isabs(name) or (
            len(name) > 1 and name[1] == ":"):
        raise errors.UnsafePath("%s is an absolute path" % what)
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise errors.UnsafePath("%s has a '..' component: it would escape its folder" % what)
    return parts


def safe_local_path(out_dir: PathLike, name: str) -> str:
    """The local path of object ``name`` under ``out_dir``.

    :raises velocity.errors.UnsafePath: when the name holds a NUL byte, is
        absolute, has a ``..`` component, or would resolve (through a symbolic
        link) outside ``out_dir``
    """
    return LocalTree(out_dir).path(name)


class LocalTree:
    """Local paths for object names under one folder, as
    :func:`safe_local_path` gives them, for many names: the folder and each
    of its subfolders are resolved once (a download of 100,000 objects
    into one folder does not resolve it 100,000 times), then each path
    costs one ``lstat`` (is the file itself a symbolic link?)."""

    #: subfolders remembered (the memory of a huge tree stays bounded)
    MAX_FOLDERS = 10000

    def __init__(self, out_dir: PathLike) -> None:
        self.out_dir = os.fspath(out_dir)
        self.root = os.path.realpath(self.out_dir)
        self._folders: dict[tuple[str, ...], str] = {(): self.root}

    def path(self, name: str) -> str:
        """The local path of ``name`` (see :func:`safe_local_path`)."""
        parts = relative_parts(name, "object name %r" % name)
        if not parts:
            raise errors.UnsafePath("object name %r names no file" % name)
        folder = tuple(parts[:-1])
        if folder not in self._folders:
            if len(self._folders) >= self.MAX_FOLDERS:
                self._folders = {(): self.root}
            resolved = os.path.realpath(os.path.join(self.root, *folder))
            self._inside(name, resolved)
            self._folders[folder] = resolved
        target = os.path.join(self.root, *parts)
        if os.path.islink(target):
            self._inside(name, os.path.realpath(target))
        return target

    def _inside(self, name: str, resolved: str) -> None:
        if os.path.commonpath([self.root, resolved]) != self.root:
            raise errors.UnsafePath("object name %r would be written outside %s (symbolic "
                                    "link)" % (name, self.out_dir))


_umask_lock = threading.Lock()
_fallback_umask: int | None = None


def _current_umask() -> int:
    try:  # Linux says it without changing it
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    global _fallback_umask
    with _umask_lock:  # elsewhere: read it the racy way, once
        if _fallback_umask is None:
            _fallback_umask = os.umask(0o022)
            os.umask(_fallback_umask)
        return _fallback_umask


def file_mode() -> int:
    """The mode a new file gets under this process's umask now (0644 for
    022), as ``open()`` would give it: downloads get it too, not
    ``mkstemp``'s 0600."""
    return 0o666 & ~_current_umask()


def pwrite_all(fd: int, offset: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` at ``offset`` of ``fd`` (``pwrite`` may write less)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def finish(fd: int, mtime: float | str | None, mode: int | None = None) -> None:
    """Before a completed file is renamed into place: ``mode`` (by default
    the mode a new file gets under the umask now), and ``mtime`` (seconds,
    as a number or text) if given."""
    os.fchmod(fd, file_mode() if mode is None else mode)
    if mtime:
        try:
            stamp = float(mtime)
            os.utime(fd, (stamp, stamp))
        except (ValueError, OSError):
            pass


class AtomicFile:
    """A hidden temporary file beside ``dest``, renamed over it by
    :meth:`commit` once complete and verified: ``dest`` is never seen half
    written, and a failure (:meth:`discard`) leaves an existing ``dest``
    untouched.  Usable as a context manager (discarded unless committed)."""

    def __init__(self, dest: PathLike) -> None:
        dest = os.fspath(dest)
        folder = os.path.dirname(dest) or "."
        os.makedirs(folder, exist_ok=True)
        if os.path.isdir(dest):
            raise errors.UnsafePath("%s is a folder; cannot write a file over it" % dest)
        self.dest = dest
        #: ``True`` once renamed to ``dest``: :meth:`discard` then leaves it alone
        self.committed = False
        self.fd, self.path = tempfile.mkstemp(
            dir=folder, prefix=".%s." % os.path.basename(dest)[:40], suffix=PART_SUFFIX)

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def write_at(self, offset: int, data: bytes | memoryview) -> None:
        """Write ``data`` at ``offset`` (``pwrite``: safe from several threads
        writing parts that do not overlap)."""
        pwrite_all(self.fd, offset, data)

    def commit(self, mtime: float | str | None = None) -> None:
        """Give the file the usual mode and ``mtime`` (seconds, if given) and
        rename it to ``dest``."""
        finish(self.fd, mtime)
        os.close(self.fd)
        self.fd = -1
        os.replace(self.path, self.dest)
        self.committed = True

    def discard(self) -> None:
        """Remove the temporary file (nothing happens to ``dest``); after
        :meth:`commit`, nothing happens at all."""
        if self.committed:
            return
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0 or os.path.exists(self.path):
            self.discard()
