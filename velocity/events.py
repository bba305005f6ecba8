"""``Downloader``: download the files a CloudEvent announces, verified.

A data service (for example Pacifica's notification service) emits a
CloudEvent when files arrive; :meth:`Downloader.cloudevent` downloads every
file that event lists from Swift into a local folder, checks each against the
size and hash the event carries, and returns one
:class:`~velocity.transfer.TransferResult` per file::

    from json import loads
    from tempfile import mkdtemp
    from velocity import Connection, Downloader

    event = loads(open("cloudevent.json").read())
    down = Downloader(mkdtemp(), Connection.from_env(), container="pacifica")
    down.cloudevent(event)

Two event shapes are understood:

* **Pacifica** (CloudEvents 0.1, ``cloudEventsVersion``/``eventType``, or a bare
  ``{"data": [...]}``): ``data`` is a list of records; those with
  ``"destinationTable": "Files"`` name a file by ``subdir`` and ``name`` and
  may carry ``size``, ``hashsum`` and ``hashtype``.  Other records are ignored.
* **CloudEvents 1.0** (``specversion``): ``data`` holds the same list of
  records, or ``{"container": "c", "objects": [{"name", "bytes", "hash",
  "hashtype"}]}`` (``hashtype`` defaults to ``md5``, Swift's ETag).

An event may be a ``dict``, JSON text or bytes, or an event object of the
``cloudevents`` SDK (for instance what ``cloudevents.http.from_http`` returns,
in binary or structured HTTP mode).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from velocity.errors import (
    ChecksumMismatch,
    IncompleteSend,
    InvalidEvent,
    VelocityError,
)
from velocity.hashing import md5_of_stream, new_digest
from velocity.transfer.localfs import AtomicFile, relative_parts, safe_local_path

__all__ = ["Downloader", "FileRecord", "parse_event", "HASH_TYPES"]

#: hash names an event may use (``hashtype``), lower case
HASH_TYPES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")

_EXPECTED = ("a CloudEvent (Pacifica 'cloudEventsVersion' 0.1 or 'specversion' 1.0) whose "
             "'data' is a list of records with destinationTable 'Files', or "
             "{'container': ..., 'objects': [{'name', 'bytes', 'hash', 'hashtype'}]}")


@dataclass(frozen=True)
class FileRecord:
    """One file an event announces.

    :ivar relpath: where it lands, relative to the download location (``/``-separated)
    :ivar object_name: the Swift object holding it
    :ivar size: expected size in bytes, or ``None`` if the event does not say
    :ivar hashtype: ``"sha1"``, ``"md5"``, ... or ``None``
    :ivar hashsum: expected hex digest, or ``None``
    :ivar record: the event's record, unchanged
    """

    relpath: str
    object_name: str
    size: int | None
    hashtype: str | None
    hashsum: str | None
    record: Mapping[str, Any]


def _load(event: Any) -> tuple[dict[str, Any], Any]:
    """``(attributes, data)`` of an event in any accepted form."""
    if isinstance(event, (bytes, bytearray, memoryview)):
        try:
            event = bytes(event).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent("the event is not UTF-8 JSON; expected " + _EXPECTED) from None
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError as exc:
            raise InvalidEvent("the event is not valid JSON (%s); expected %s"
                                % (exc, _EXPECTED)) from None
    if isinstance(event, Mapping):
        attributes = {k: v for k, v in event.items() if k != "data"}
        return attributes, event.get("data")
    if callable(getattr(event, "get_attributes", None)) and callable(
            getattr(event, "get_data", None)):  # a cloudevents SDK event (1.x or 2.x API)
        return dict(event.get_attributes()), event.get_data()
    raise InvalidEvent("cannot read an event of type %s; expected %s"
                        % (type(event).__name__, _EXPECTED))


def _safe_relpath(*parts: str, what: str) -> str:
    """Join path parts into a clean relative ``/`` path; refuse ``..``,
    absolute paths, drive letters and NUL."""
    pieces: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise InvalidEvent("%s: expected text, got %s" % (what, type(part).__name__))
        pieces.extend(relative_parts(part, "%s %r" % (what, part)))
    if not pieces:
        raise InvalidEvent("%s is empty" % what)
    return "/".join(pieces)


def _hashtype(value: Any, default: str | None, name: str) -> str | None:
    if value is None:
        return default
    kind = str(value).lower().replace("-", "")
    if kind not in HASH_TYPES:
        raise InvalidEvent("unsupported hashtype %r for %r: use one of %s"
                            % (value, name, ", ".join(HASH_TYPES)))
    return kind


def _size(value: Any, name: str) -> int | None:
    if value is None:
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if size < 0 or isinstance(value, bool):
        raise InvalidEvent("bad size %r for %r: expected a byte count" % (value, name))
    return size


def parse_event(event: Any,
                object_name: Callable[[Mapping[str, Any]], str] | None = None,
                ) -> tuple[str | None, list[FileRecord]]:
    """``(container or None, files)`` announced by ``event``.

    Raises :class:`~velocity.errors.InvalidEvent` for an event of unknown
    shape, without file records or with an unsupported hash type, and
    :class:`~velocity.errors.UnsafePath` for a record that would land outside
    the download location.
    """
    attributes, data = _load(event)
    if isinstance(data, (bytes, bytearray, str)):  # SDK events may hand back the raw body
        try:
            data = json.loads(data)
        except ValueError:
            raise InvalidEvent("the event's data is not JSON; expected " + _EXPECTED) from None
    found = attributes.get("extensions")
    extensions: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    container = attributes.get("container") or extensions.get("container")
    files: list[FileRecord] = []
    if isinstance(data, list):
        for record in data:
            if not isinstance(record, Mapping) or record.get("destinationTable") != "Files":
                continue
            label = "%s/%s" % (record.get("subdir") or "", record.get("name"))
            if not record.get("name"):
                raise InvalidEvent("a Files record has no 'name': %r" % (dict(record),))
            relpath = _safe_relpath(record.get("subdir") or "", record["name"],
                                    what="file %r" % label.lstrip("/"))
            hashsum = record.get("hashsum")
            files.append(FileRecord(
                relpath, relpath, _size(record.get("size"), relpath),
                _hashtype(record.get("hashtype"), "sha1", relpath)
                if hashsum else None, str(hashsum).lower() if hashsum else None, record))
    elif isinstance(data, Mapping) and isinstance(data.get("objects"), list):
        container = data.get("container") or container
        for record in data["objects"]:
            if not isinstance(record, Mapping) or not record.get("name"):
                raise InvalidEvent("an object record has no 'name': %r" % (record,))
            relpath = _safe_relpath(record["name"], what="object %r" % record["name"])
            hashsum = record.get("hash") or record.get("hashsum")
            files.append(FileRecord(
                relpath, record["name"], _size(record.get("bytes", record.get("size")), relpath),
                _hashtype(record.get("hashtype"), "md5", relpath) if hashsum else None,
                str(hashsum).lower() if hashsum else None, record))
    else:
        raise InvalidEvent("unknown event shape (data is %s); expected %s"
                            % (type(data).__name__ if data is not None else "missing",
                               _EXPECTED))
    if not files:
        raise InvalidEvent("the event lists no files; expected " + _EXPECTED)
    seen: dict[str, FileRecord] = {}
    for index, spec in enumerate(files):
        if object_name is not None:
            name = object_name(spec.record)
            if not isinstance(name, str) or not name:
                raise InvalidEvent("object_name() returned %r for %r; expected an object name"
                                    % (name, spec.relpath))
            spec = files[index] = dataclasses.replace(spec, object_name=name)
        key = spec.relpath.casefold()
        if key in seen:
            raise InvalidEvent("two records of the event write to the same file %r"
                                % spec.relpath)
        seen[key] = spec
    return container, files


def _digest(path: str, kind: str) -> str:
    with open(path, "rb") as handle:
        return md5_of_stream(handle, digest=new_digest(kind))


def _verify(path: str, spec: FileRecord) -> VelocityError | None:
    size = os.path.getsize(path)
    if spec.size is not None and size != spec.size:
        return IncompleteSend("size mismatch for %r: the event says %d bytes, object %r has %d"
                              % (spec.relpath, spec.size, spec.object_name, size))
    if spec.hashtype and spec.hashsum:
        actual = _digest(path, spec.hashtype)
        if actual != spec.hashsum:
            return ChecksumMismatch("%s mismatch for %r: the event says %s, object %r has %s"
                                    % (spec.hashtype, spec.relpath, spec.hashsum,
                                       spec.object_name, actual))
    return None


class Downloader:
    """Downloads the files CloudEvents announce into ``location``.

    :param location: download folder (created when needed); every file lands
        at ``location/subdir/name``
    :param connection: where the objects are: a :class:`velocity.Connection`,
        a :class:`velocity.SwiftClient`, a :class:`velocity.TransferManager`
        or anything a ``TransferManager`` accepts
    :param container: the container to read from when the event names none
    :param object_name: ``object_name(record) -> str`` gives the object of a
        record when it is not ``subdir/name`` (for stores keyed by id)
    :param progress: show a progress bar while downloading
    """

    def __init__(self, location: str | os.PathLike[str], connection: Any,
                 container: str | None = None,
                 object_name: Callable[[Mapping[str, Any]], str] | None = None, *,
                 progress: bool = False) -> None:
        from velocity.transfer import TransferManager

        self.location = os.fspath(location)
        self.container = container
        self.object_name = object_name
        self.progress = progress
        if isinstance(connection, TransferManager):
            self._manager, self._owned = connection, False
        else:
            self._manager, self._owned = TransferManager(connection), True

    def __repr__(self) -> str:
        return "Downloader(%r, container=%r)" % (self.location, self.container)

    def close(self) -> None:
        """Release the transfer threads this downloader made."""
        if self._owned:
            self._manager.close()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cloudevent(self, event: Any, *, raise_errors: bool = True) -> list[Any]:
        """Download every file ``event`` lists into the location, verified.

        Files download in parallel to a temporary folder inside the location,
        are checked against the event's size and hash, then moved into place:
        a file that fails is never left in the location.

        :returns: one :class:`~velocity.transfer.TransferResult` per file, in
            the event's order, ``path`` being where the file landed
        :raises VelocityError: when the event is not understood, names no
            container (and the downloader has none) or lists no files;
            :class:`~velocity.errors.UnsafePath` when a record would land
            outside the location; when ``raise_errors`` (the default) and a
            file failed, an error naming every failed file (a
            :class:`~velocity.errors.ChecksumMismatch` if all failed their
            hash), whose ``results`` attribute holds all results.
        """
        event_container, files = parse_event(event, self.object_name)
        container = event_container or self.container
        if not container:
            raise InvalidEvent("no container: the event names none ('container' in its "
                                "data or attributes) and Downloader(container=...) is not set")
        os.makedirs(self.location, exist_ok=True)
        root = os.path.realpath(self.location)
        for spec in files:  # symlinks inside the location must not lead out of it
            safe_local_path(root, spec.relpath)
        staging = tempfile.mkdtemp(prefix=".velocity-event-", dir=root)
        try:
            names = list(dict.fromkeys(spec.object_name for spec in files))
            downloaded = self._manager.download(container, names, out_dir=staging,
                                                progress=self.progress)
            by_name = {str(result.name): result for result in downloaded}
            results = [self._place(root, staging, spec, by_name, files) for spec in files]
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        failed = [result for result in results if not result.ok]
        if failed and raise_errors:
            kinds = {type(result.error) for result in failed}
            cls = kinds.pop() if len(kinds) == 1 else VelocityError
            if not issubclass(cls, VelocityError):
                cls = VelocityError
            error = cls("%d of %d file(s) failed: %s" % (
                len(failed), len(results),
                "; ".join(str(result.error) for result in failed)))
            error.results = results  # type: ignore[union-attr]
            raise error
        return results

    def _place(self, root: str, staging: str, spec: FileRecord, by_name: dict[str, Any],
               files: list[FileRecord]) -> Any:
        final = os.path.join(root, *spec.relpath.split("/"))
        result = by_name.get(spec.object_name)
        if result is None:
            raise VelocityError("the transfer engine returned no result for %r"
                                % spec.object_name)
        if not result.ok:
            return dataclasses.replace(result, path=None)
        staged = result.path or os.path.join(staging, *spec.object_name.split("/"))
        error = _verify(staged, spec)
        if error is not None:
            return dataclasses.replace(result, ok=False, error=error, path=None)
        try:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            if sum(1 for other in files if other.object_name == spec.object_name) > 1:
                with AtomicFile(final) as copy, open(staged, "rb") as source:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        copy.write(block)  # one object, several files
                    copy.commit()
            else:
                os.replace(staged, final)
        except (OSError, VelocityError) as exc:
            return dataclasses.replace(result, ok=False, path=None, error=VelocityError(
                "cannot write %r: %s" % (spec.relpath, getattr(exc, "strerror", None) or exc)))
        return dataclasses.replace(result, path=final)
