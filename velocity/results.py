"""``ListingResults``: a listing's records as a real sequence.

The base of :class:`~velocity.storage_object.ObjectResults` and
:class:`~velocity.container.ContainerResults` (python-cloudfiles'
``ObjectResults`` and ``ContainerResults``), which build their items from the
listing records with no extra request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, overload

from velocity.names import name_of

__all__ = ["ListingResults"]

T = TypeVar("T")


def _listed_name(item: Any) -> Any:
    """What to look ``item`` up by in a listing: its name, UTF-8 ``bytes``
    decoded (bytes that are not UTF-8 match nothing)."""
    name = name_of(item)
    if isinstance(name, (bytes, bytearray)):
        try:
            return bytes(name).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return name


class ListingResults(Sequence[T]):
    """One listing's records as a real sequence (the base of
    :class:`~velocity.storage_object.ObjectResults` and
    :class:`~velocity.container.ContainerResults`).

    ``len()``, iteration, indexing (negative too), slicing (a results object
    of the same kind), ``name in results`` (by name or by item), ``index``
    and ``count``.  Items are built from the listing, with no extra request.
    Records without a ``name`` (pseudo-folders of a ``delimiter`` listing)
    are left out.
    """

    _what = "items"

    def __init__(self, records: Iterable[Mapping[str, Any]] | None = None) -> None:
        self._records = [dict(r) for r in (records or ()) if "name" in r]
        self._names = [r["name"] for r in self._records]

    def _make(self, record: dict[str, Any]) -> T:
        raise NotImplementedError

    def _derive(self, records: list[dict[str, Any]]) -> ListingResults[T]:
        raise NotImplementedError

    @overload
    def __getitem__(self, key: int) -> T: ...

    @overload
    def __getitem__(self, key: slice) -> ListingResults[T]: ...

    def __getitem__(self, key: int | slice) -> T | ListingResults[T]:
        if isinstance(key, slice):
            return self._derive(self._records[key])
        return self._make(self._records[key])

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[T]:
        for record in self._records:
            yield self._make(record)

    def __contains__(self, item: object) -> bool:
        return _listed_name(item) in self._names

    def index(self, value: Any, *args: int) -> int:
        """The position of the first item named like ``value`` (a name, or an
        item); :class:`ValueError` if there is none."""
        return self._names.index(_listed_name(value), *args)

    def count(self, value: Any) -> int:
        """How many items are named like ``value`` (a name, or an item)."""
        return self._names.count(_listed_name(value))

    @property
    def names(self) -> list[str]:
        """The names, in listing order."""
        return list(self._names)

    def __repr__(self) -> str:
        return "%s: %s %s" % (type(self).__name__, len(self._records), self._what)

    __str__ = __repr__
