"""Checksums and ETags: the one place Velocity computes them.

Swift's ETag of a plain object is the MD5 of its bytes; that of a static
large object's manifest (``X-Manifest-Etag`` / the ETag a manifest PUT answers)
is the MD5 of its segments' ETags.  MD5 is used for integrity only, never for
security (``usedforsecurity=False`` where Python supports it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = ["new_md5", "md5_hex", "md5_of_stream", "md5_of_file", "md5_of_fd", "hash_fd",
           "manifest_etag", "unquote_etag", "is_md5", "new_digest", "BLOCK"]

#: bytes read at a time when hashing a file
BLOCK = 1024 * 1024
_MD5 = re.compile(r"^[0-9a-f]{32}$")


def new_md5() -> Any:
    """A fresh MD5 hash object (for integrity checks)."""
    import hashlib  # here: a command that hashes nothing never loads it

    try:
        return hashlib.md5(usedforsecurity=False)
    except TypeError:  # pragma: no cover - Python built without the keyword
        return hashlib.md5()  # noqa: S324 - an integrity check, not security


def new_digest(kind: str) -> Any:
    """A fresh hash object of ``kind`` (``"md5"``, ``"sha256"``, ...)."""
    if kind == "md5":
        return new_md5()
    import hashlib

    return hashlib.new(kind)


def md5_hex(data: bytes | bytearray | memoryview) -> str:
    """The MD5 of ``data`` as 32 hex digits."""
    digest = new_md5()
    digest.update(data)
    return digest.hexdigest()


def md5_of_stream(source: IO[Any], check: Callable[[], None] | None = None,
                  digest: Any = None) -> str:
    """Hash what is left to read of a file-like object (text is hashed as
    UTF-8); ``check`` is called before each block (to honour a cancel)."""
    digest = digest or new_md5()
    for chunk in iter(lambda: source.read(BLOCK), b""):
        if not chunk:
            break
        if check is not None:
            check()
        digest.update(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    return digest.hexdigest()


def md5_of_file(path: str | os.PathLike[str], offset: int = 0, length: int | None = None,
                check: Callable[[], None] | None = None) -> str:
    """The MD5 of ``length`` bytes of a file from ``offset`` (to its end when
    ``length`` is ``None``).

    :raises OSError: when the file is shorter than asked (it shrank while read)
    """
    digest = new_md5()
    block = 4 * BLOCK if length is None or length > 4 * BLOCK else max(length, 1)
    buffer = memoryview(bytearray(block))  # one buffer, read into again and again
    with open(path, "rb", buffering=0) as handle:
        handle.seek(offset)
        left = length
        while left is None or left > 0:
            if check is not None:
                check()
            count = handle.readinto(buffer if left is None or left >= block else buffer[:left])
            if not count:
                if left is None:
                    break
                raise OSError("%s shrank while it was being read" % os.fspath(path))
            digest.update(buffer[:count])
            if left is not None:
                left -= count
    return digest.hexdigest()


def hash_fd(digest: Any, fd: int, offset: int, length: int,
            check: Callable[[], None] | None = None) -> int:
    """Feed ``length`` bytes of an open file descriptor from ``offset`` to
    ``digest`` (read with ``pread``: the file position is left alone),
    calling ``check`` before every block.  Returns the bytes fed: fewer
    when the file ends sooner."""
    done = 0
    while done < length:
        if check is not None:
            check()
        data = os.pread(fd, min(BLOCK * 4, length - done), offset + done)
        if not data:
            break
        digest.update(data)
        done += len(data)
    return done


def md5_of_fd(fd: int, length: int, check: Callable[[], None] | None = None,
              offset: int = 0) -> str:
    """The MD5 of ``length`` bytes of an open file descriptor from ``offset``
    (see :func:`hash_fd`; a file that ends sooner gives the MD5 of what there is)."""
    digest = new_md5()
    hash_fd(digest, fd, offset, length, check)
    return digest.hexdigest()


def manifest_etag(segment_etags: Iterable[str]) -> str:
    """The ETag Swift gives a static large object made of these segments."""
    return md5_hex("".join(segment_etags).encode("ascii"))


def unquote_etag(value: str | None) -> str | None:
    """An ETag without the quotes HTTP puts around it."""
    return value.strip('"') if value else value


def is_md5(value: str | None) -> bool:
    """Whether an ETag is a plain MD5 (32 lower-case hex digits)."""
    return bool(value) and bool(_MD5.match(value))  # type: ignore[arg-type]
