"""Name ranges of a container, so that no process lists all of it.

A range ``(lo, hi]`` holds the object names ``n`` with ``lo < n <= hi``
(``lo == ""``: from the start; ``hi is None``: to the end).  Swift lists a
range with ``marker=lo`` and ``end_marker=hi + "\\x01"``: object names
cannot hold NUL, so no name lies between ``hi`` and ``hi + "\\x01"``.

A process lists one page of a range.  When the page is full, the rest of
the range is cut into :data:`FANOUT` new ranges at boundaries extrapolated
from the names the page held (names sort by code point, as Swift sorts
their UTF-8 bytes), and those are listed by other tasks: the listing fans
out over the cluster instead of paging through one process.

:func:`cut_entries` and :func:`cut_files` make shards out of what is listed
or walked, balanced by object count and by bytes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from typing import TypeVar

from velocity.client import SwiftClient
from velocity.transfer.cluster import Entry

__all__ = ["FANOUT", "list_page", "iter_range", "end_marker", "boundaries", "split_rest",
           "cut_entries", "cut_files", "in_range"]

#: ranges the unlisted rest of a full page is cut into
FANOUT = 8
_BASE = 0x110000                 # one digit per code point
_SURROGATES = range(0xD800, 0xE000)
_MAX_DIGITS = 256                # boundaries need not be longer than this

T = TypeVar("T")


def end_marker(hi: str | None) -> str | None:
    """The ``end_marker`` that makes a listing include ``hi`` itself."""
    return None if hi is None else hi + "\x01"


def in_range(name: str, lo: str, hi: str | None) -> bool:
    """Whether ``name`` lies in ``(lo, hi]``."""
    return name > lo and (hi is None or name <= hi)


def list_page(client: SwiftClient, container: str, prefix: str, lo: str, hi: str | None,
              limit: int) -> list[Entry]:
    """At most ``limit`` listing entries of ``(lo, hi]`` under ``prefix``
    (one request).

    :raises velocity.errors.NoSuchContainer: the container is missing
    """
    _, page = client.call("get_container", container, prefix=prefix or None, marker=lo,
                          end_marker=end_marker(hi), limit=limit)
    return [entry for entry in page if "name" in entry]


def iter_range(client: SwiftClient, container: str, prefix: str, lo: str,
               hi: str | None) -> list[Entry]:
    """Every listing entry of ``(lo, hi]`` under ``prefix``."""
    return [entry for entry in client.iter_container(container, prefix=prefix or None,
                                                     marker=lo, end_marker=end_marker(hi))
            if "name" in entry]


# -- boundaries -------------------------------------------------------------------------

#: alphabets names are often made of, most specific first: a position whose
#: characters (in the first and last name of a page) are all in one of them
#: counts in that base, so "img_006993" + 6993 is "img_013986"
_ALPHABETS = (
    "0123456789",
    "0123456789abcdef",
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)


def _alphabets(first: str, last: str, length: int) -> list[str | None]:
    """Per position, the alphabet it counts in (``None``: every code point)."""
    found: list[str | None] = []
    for index in range(length):
        chars = {name[index] for name in (first, last) if index < len(name)}
        found.append(next((a for a in _ALPHABETS if chars <= set(a)), None))
    return found


def _value(name: str, alphabets: list[str | None]) -> int:
    value = 0
    for index, alphabet in enumerate(alphabets):
        char = name[index] if index < len(name) else None
        if alphabet is None:
            value = value * _BASE + (ord(char) if char is not None else 0)
        else:
            value = value * len(alphabet) + (alphabet.index(char) if char is not None else 0)
    return value


def _name(value: int, alphabets: list[str | None]) -> str | None:
    """The name of ``value``; ``None`` when it is beyond the last one."""
    chars: list[str] = []
    for alphabet in reversed(alphabets):
        if alphabet is None:
            value, digit = divmod(value, _BASE)
            # no NUL inside a name, no surrogate: nudged up (the caller
            # checks the order again)
            chars.append("\x00" if digit == 0 else chr(0xE000 if digit in _SURROGATES
                                                         else digit))
        else:
            value, digit = divmod(value, len(alphabet))
            chars.append(alphabet[digit])
    if value:
        return None
    name = "".join(reversed(chars)).rstrip("\x00")
    return name.replace("\x00", "\x01")


def _upper(prefix: str) -> str | None:
    """The smallest string above every name that starts with ``prefix``."""
    while prefix:
        last = ord(prefix[-1])
        if last + 1 < _BASE and last + 1 not in _SURROGATES:
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


def boundaries(first: str, last: str, hi: str | None, prefix: str,
               pieces: int = FANOUT) -> list[str]:
    """Up to ``pieces - 1`` increasing names in ``(last, hi)``, spaced like
    the span ``first .. last`` one full page covered (the density of names
    is assumed to go on), within the names that start with ``prefix``.
    Positions that hold digits count in base 10, hexadecimal ones in base
    16, letters in base 26 (see :data:`_ALPHABETS`), others by code point."""
    top = hi if hi is not None else _upper(prefix)
    alphabets = _alphabets(first, last, min(max(len(first), len(last)), _MAX_DIGITS))
    low = _value(last, alphabets)
    span = max(low - _value(first, alphabets), 1)
    found: list[str] = []
    previous = last
    for step in range(1, pieces):
        name = _name(low + step * span, alphabets)
        if name is None or (top is not None and name >= top):
            break
        if name > previous:  # else a nudged digit overtook a neighbour: no cut there
            found.append(name)
            previous = name
    return found


def split_rest(first: str, last: str, hi: str | None, prefix: str,
               pieces: int = FANOUT) -> list[tuple[str, str | None]]:
    """The unlisted rest ``(last, hi]`` of a full page, as ranges that tile it."""
    cuts = boundaries(first, last, hi, prefix, pieces)
    edges: list[str] = [last, *cuts]
    ranges: list[tuple[str, str | None]] = [(edges[i], edges[i + 1])
                                            for i in range(len(edges) - 1)]
    ranges.append((edges[-1], hi))
    return ranges


# -- shards -----------------------------------------------------------------------------


def cut_entries(entries: Sequence[Entry], lo: str, hi: str | None, max_objects: int,
                max_bytes: int) -> list[tuple[str, str | None, int, int]]:
    """Listing entries (sorted, all in ``(lo, hi]``) as ranges
    ``(lo, hi, objects, bytes)`` that tile ``(lo, hi]``, each of at most
    ``max_objects`` objects and ``max_bytes`` bytes (an object larger than
    that is a range of its own)."""
    shards: list[tuple[str, str | None, int, int]] = []
    start, count, size = lo, 0, 0
    for index, entry in enumerate(entries):
        length = int(entry.get("bytes", 0))
        if count and (count + 1 > max_objects or size + length > max_bytes):
            end = entries[index - 1]["name"]
            shards.append((start, end, count, size))
            start, count, size = end, 0, 0
        count += 1
        size += length
    shards.append((start, hi, count, size))  # the last reaches to hi: they tile (lo, hi]
    return shards


def cut_files(items: Sequence[T], name: Callable[[T], str], size: Callable[[T], int],
              max_objects: int, max_bytes: int) -> list[list[T]]:
    """Files (sorted by object name) in groups of at most ``max_objects``
    files and ``max_bytes`` bytes.  Once a group is half full, it ends where
    the next file is in another folder, so groups follow the folders (each
    group's names then share a long common prefix)."""
    groups: list[list[T]] = []
    group: list[T] = []
    count = total = 0
    for item in items:
        length = size(item)
        if group:
            full = count + 1 > max_objects or total + length > max_bytes
            half = count >= max_objects / 2 or total >= max_bytes / 2
            moved = posixpath.dirname(name(item)) != posixpath.dirname(name(group[-1]))
            if full or (half and moved):
                groups.append(group)
                group, count, total = [], 0, 0
        group.append(item)
        count += 1
        total += length
    if group:
        groups.append(group)
    return groups
