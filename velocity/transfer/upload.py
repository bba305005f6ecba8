"""Uploads of one file or one stream: what is stored already (skip it,
remove its old segments), then one verified PUT, or segments
(:mod:`velocity.transfer.segments`) above the segment threshold."""

from __future__ import annotations

from collections.abc import Sequence

from velocity import errors
from velocity._log import log
from velocity.hashing import md5_hex, md5_of_file, new_md5, unquote_etag
from velocity.transfer import cluster, segments
from velocity.transfer.bodies import FileSlice, Spool, Stream, check_etag
from velocity.transfer.cluster import Entry, Existing
from velocity.transfer.config import SMALL, TransferResult
from velocity.transfer.coordinator import Coordinator
from velocity.transfer.delete import delete_paths
from velocity.transfer.plan import UploadJob, common_prefix

__all__ = ["FileUploads", "upload_stream"]


class FileUploads:
    """The file uploads of one call into ``container``.

    :meth:`prepare` (once, on the caller's thread) learns what may be
    overwritten from one listing; :meth:`run` uploads one planned file.
    """

    def __init__(self, coordinator: Coordinator, container: str,
                 headers: dict[str, str] | None) -> None:
        self.coordinator = coordinator
        self.container = container
        self.headers = dict(headers or {})
        self.existing: dict[str, Entry] = {}
        self.threshold = 0
        self.slo = False

    def prepare(self, names: Sequence[str]) -> None:
        """List what may be overwritten and create the container when missing.

        :raises velocity.errors.VelocityError: when neither works
        """
        self.existing = cluster.prepare_container(self.coordinator.client, self.container,
                                                  common_prefix(names))
        self.configure()

    def configure(self) -> None:
        """Learn the cluster's limits (no listing: :meth:`prepare` does both)."""
        client, config = self.coordinator.client, self.coordinator.config
        self.threshold = cluster.threshold(client, config)
        self.slo = cluster.use_slo(client, config)

    def run(self, job: UploadJob, results: list[TransferResult]) -> None:
        """Upload one file (or skip it), filling in its result."""
        self.run_entry(job, self.existing.get(job.name), results)

    def run_entry(self, job: UploadJob, entry: Entry | None,
                  results: list[TransferResult]) -> None:
        """:meth:`run`, with the listing entry of what it overwrites given."""
        [result] = results
        co, config = self.coordinator, self.coordinator.config
        headers = dict(self.headers)
        headers["X-Object-Meta-Mtime"] = "%f" % job.mtime
        info = stored_before(co, self.container, job.name, entry, job.size, compare=True)
        if info is not None:
            if config.changed and info.size == job.size and (
                    info.mtime == headers["X-Object-Meta-Mtime"]):
                return co.skip(result, job.size, info.etag)
            if config.skip_identical and cluster.same_bytes(co.check, job.path, job.size, info):
                return co.skip(result, job.size, info.etag)
        if job.size > self.threshold:
            if info is None and config.resume and entry is not None and "slo_etag" in entry:
                # the segments the object being replaced uses are never reused
                info = cluster.inspect(co.client, self.container, job.name, entry,
                                       want_mtime=False)
            live = set(info.segment_paths()) if info is not None else set()
            keep = segments.upload_file(co, self.container, job.name, job.path, job.size,
                                        job.mtime, headers, result, self.slo, live)
        else:
            _put_file(co, self.container, job.name, job.path, job.size, headers, result)
            keep = set()
        remove_old_segments(co, info, keep)


def stored_before(coordinator: Coordinator, container: str, name: str, entry: Entry | None,
                  size: int | None, compare: bool) -> Existing | None:
    """What an upload is about to overwrite, when that matters: to compare
    it (``compare`` and ``skip_identical`` / ``changed``) or to remove its
    segments afterwards (unless ``leave_segments``).  ``None`` when nothing
    needs knowing, or nothing is stored; ``entry`` is its listing entry."""
    config = coordinator.config
    skip = compare and config.skip_identical
    changed = compare and config.changed
    if entry is None or not (skip or changed or not config.leave_segments):
        return None
    listed = int(entry.get("bytes", 0))
    if not (skip or changed or "slo_etag" in entry or listed == 0):
        return None  # a plain object: nothing to remove, nothing to compare
    return cluster.inspect(coordinator.client, container, name, entry,
                           want_mtime=changed and int(entry.get("bytes", -1)) == size)


def remove_old_segments(coordinator: Coordinator, info: Existing | None,
                        keep: set[str]) -> None:
    """After an overwrite, delete the segments of the object it replaced
    (not those in ``keep``), unless ``leave_segments``."""
    if info is None or coordinator.config.leave_segments:
        return
    paths = [path for path in info.segment_paths() if path not in keep]
    for path, error in delete_paths(coordinator.client, paths):
        log.warning("could not remove old segment %s: %s", path, error)


def _put_file(coordinator: Coordinator, container: str, name: str, path: str, size: int,
              headers: dict[str, str], result: TransferResult) -> None:
    """One PUT carrying the file's MD5 as ``ETag``: Swift refuses damaged data
    before it replaces anything."""
    client, checksum = coordinator.client, coordinator.config.checksum
    if size <= SMALL:
        with open(path, "rb") as handle:
            data = handle.read(size + 1)
        if len(data) != size:
            raise errors.IncompleteSend("%s changed size while it was being uploaded" % path)
        coordinator.check()
        etag = md5_hex(data) if checksum else None
        returned = client.call("put_small_object", container, name, data, etag=etag,
                               headers=headers)
        coordinator.progress(size)
    else:
        # the ETag goes first, so that costs a read of the file before sending it
        etag = md5_of_file(path, 0, size, coordinator.check) if checksum else None
        with open(path, "rb") as handle:
            reader = FileSlice(handle, 0, size, coordinator.check, coordinator.progress)
            returned = client.call("put_object_stream", container, name, reader, size,
                                   etag=etag, headers=headers)
    check_etag(etag, returned, container, name)
    result.ok = True
    result.bytes = size
    result.etag = unquote_etag(returned) or etag


def upload_stream(coordinator: Coordinator, container: str, name: str, source: Stream,
                  size: int | None, headers: dict[str, str], result: TransferResult) -> None:
    """Upload a stream: one PUT when it ends within its first segment (or
    ``size`` is at most the threshold), otherwise segments as it comes."""
    client, config = coordinator.client, coordinator.config
    existing = cluster.prepare_container(client, container, name)
    info = stored_before(coordinator, container, name, existing.get(name), None,
                         compare=False)
    whole = size is not None and size <= cluster.threshold(client, config)
    if size is not None and whole:
        first_limit = size
    else:
        first_limit = cluster.segment_size(client, config, size or config.segment_size)
    # of the whole stream, for the manifest's metadata
    content = new_md5() if config.content_md5 else None
    with coordinator.cleanup() as cleanup:
        spool = cleanup.temp(Spool(source, first_limit, coordinator.check, content))
        ended = spool.size < first_limit or source.at_end()
        if whole and not ended:
            raise errors.IncompleteSend("the stream gave more than the %d bytes announced"
                                        % first_limit)
        if ended:
            if size is not None and spool.size != size:
                raise errors.IncompleteSend("the stream gave %d bytes, not the %d announced"
                                            % (spool.size, size))
            etag = spool.md5 if config.checksum else None
            returned = client.call("put_object", container, name, spool.file,
                                   content_length=spool.size, etag=etag, headers=headers)
            check_etag(etag, returned, container, name)
            coordinator.progress(spool.size)
            result.ok, result.bytes = True, spool.size
            result.etag = unquote_etag(returned) or spool.md5
            keep: set[str] = set()
        else:
            keep = segments.upload_stream(coordinator, container, name, source, size, spool,
                                          headers, result, content)
    remove_old_segments(coordinator, info, keep)
