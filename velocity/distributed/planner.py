"""Plans of distributed jobs, made in the client process.

* Uploads: the files (walked as :class:`~velocity.transfer.TransferManager`
  walks them) in shards of whole files, balanced by count and by bytes and
  following the folders; a file above the segment threshold becomes one
  task per segment instead.
* Downloads, deletes and the pruning of a sync: the client lists only the
  first page of the container; that page becomes range shards, and the rest
  of the container becomes listing tasks that the workers run (see
  :mod:`velocity.distributed.ranges`).  With ``names`` given, the names are
  cut into shards and nothing is listed.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from velocity import errors
from velocity.distributed.compare import differs
from velocity.distributed.ranges import cut_entries, cut_files, list_page, split_rest
from velocity.distributed.recipe import Recipe
from velocity.distributed.shards import (
    Context,
    FilesShard,
    LargeFile,
    ListTask,
    Plan,
    RangeShard,
    SegmentPart,
    Shard,
)
from velocity.distributed.worker import state_for
from velocity.names import check_container_name
from velocity.transfer import cluster
from velocity.transfer import plan as local_plan
from velocity.transfer.config import MiB, TransferConfig, TransferResult, call_options
from velocity.transfer.localfs import PathLike, iter_sorted
from velocity.transfer.plan import UploadJob
from velocity.transfer.segments import segment_base, segment_name
from velocity.transfer.sync import Location, locations

__all__ = ["plan_upload", "plan_download", "plan_delete", "plan_sync", "default_config",
           "SHARD_OBJECTS", "SHARD_BYTES", "LIST_PAGE"]

#: the most objects in one shard, unless told otherwise
SHARD_OBJECTS = 1000
#: the most bytes in one shard, unless told otherwise
SHARD_BYTES = 1024 * MiB
#: shards are made no smaller than this many bytes to balance a job
MIN_SHARD_BYTES = 32 * MiB
#: shards per worker thread a job is cut into, when its size is known
SHARDS_PER_THREAD = 4
#: listing page of the client and of every listing task
LIST_PAGE = 10000


def default_config() -> TransferConfig:
    """The settings of a distributed job when none are given: the
    :class:`~velocity.transfer.TransferConfig` defaults with
    ``skip_identical=True``, so that a rerun of an interrupted job (and a
    shard that Dask runs again) sends only what is missing."""
    return TransferConfig(skip_identical=True)


def _limits(objects: int | None, size: int | None, parallelism: int | None,
            shard_objects: int | None, shard_bytes: int | None) -> tuple[int, int]:
    """The most objects and bytes of one shard: what is given, else enough
    shards for every worker thread to get several, within the defaults."""
    slots = SHARDS_PER_THREAD * max(parallelism or 4, 1)
    most_objects = shard_objects or SHARD_OBJECTS
    most_bytes = shard_bytes or SHARD_BYTES
    if shard_objects is None and objects:
        most_objects = min(most_objects, max(-(-objects // slots), 1))
    if shard_bytes is None and size:
        most_bytes = min(most_bytes, max(-(-size // slots), MIN_SHARD_BYTES))
    if most_objects < 1 or most_bytes < 1:
        raise errors.ConfigurationError("shard_objects and shard_bytes must be at least 1")
    return most_objects, most_bytes


def _context(recipe: Recipe, container: str, config: TransferConfig, action: str,
             options: dict[str, Any], limits: tuple[int, int], page: int) -> Context:
    job = uuid.uuid4().hex[:12]
    return Context(recipe, container, config, action, options, job, "velocity-" + job,
                   limits[0], limits[1], page)


# -- uploads ----------------------------------------------------------------------------


def plan_upload(recipe: Recipe, container: str, paths: PathLike | Sequence[PathLike],
                object_names: Sequence[str] | None = None, prefix: str | None = None,
                ignore: Iterable[str] = (), *, config: TransferConfig | None = None,
                headers: dict[str, str] | None = None, skip_identical: bool | None = None,
                changed: bool | None = None, leave_segments: bool | None = None,
                shard_objects: int | None = None, shard_bytes: int | None = None,
                parallelism: int | None = None) -> Plan:
    """The plan of :func:`velocity.distributed.upload` (same arguments).

    Walks the files as :meth:`TransferManager.upload
    <velocity.transfer.TransferManager.upload>` does, creates the container
    (and, for large files, its segment container), learns the cluster's
    limits, and looks at what large files would replace; small files are
    not looked at here (each shard does that, on its worker).
    """
    check_container_name(container)
    config = call_options(config or default_config(), skip_identical, changed, leave_segments)
    items = local_plan.upload_plan(container, paths, object_names, prefix, ignore)
    jobs = [item for item in items if isinstance(item, UploadJob)]
    known = [item for item in items if isinstance(item, TransferResult)]
    options = {"headers": dict(headers or {}), "prefix": prefix or ""}
    return _plan_files(recipe, container, jobs, known, config, "upload", options,
                       shard_objects, shard_bytes, parallelism)


def _plan_files(recipe: Recipe, container: str, jobs: list[UploadJob],
                known: list[TransferResult], config: TransferConfig, action: str,
                options: dict[str, Any], shard_objects: int | None, shard_bytes: int | None,
                parallelism: int | None) -> Plan:
    """Shards of files (and segment tasks for the large ones) to upload."""
    jobs = sorted(jobs, key=lambda job: job.name)
    client = state_for(recipe).client
    total = sum(job.size for job in jobs)
    count = len(jobs) + len(known)
    try:
        client.call("put_container", container)
        threshold = cluster.threshold(client, config)
        slo = cluster.use_slo(client, config)
    except errors.VelocityError as exc:
        limits = _limits(None, None, parallelism, shard_objects, shard_bytes)
        context = _context(recipe, container, config, action, options, limits, LIST_PAGE)
        known += [TransferResult("upload", container, job.name, job.path, error=exc)
                  for job in jobs]
        return Plan(context, [], known=known, total_bytes=total, total_objects=count)
    small = [job for job in jobs if job.size <= threshold]
    limits = _limits(len(small), sum(job.size for job in small), parallelism, shard_objects,
                     shard_bytes)
    context = _context(recipe, container, config, action, options, limits, LIST_PAGE)
    plan = Plan(context, [], known=known, total_bytes=total, total_objects=count)
    # segments first: the longest tasks start first, and spread over the workers
    big = [job for job in jobs if job.size > threshold]
    try:
        if big:
            client.call("put_container", container + "_segments")
    except errors.VelocityError as exc:
        known += [TransferResult("upload", container, job.name, job.path, error=exc)
                  for job in big]
        big = []
    for job in big:
        try:
            _plan_large(client, plan, job, slo)
        except errors.VelocityError as exc:
            known.append(TransferResult("upload", container, job.name, job.path, error=exc))
    groups = cut_files(small, lambda job: job.name, lambda job: job.size, *limits)
    for index, group in enumerate(groups):
        lo = groups[index - 1][-1].name if index else ""
        hi = group[-1].name if index + 1 < len(groups) else None
        plan.shards.append(FilesShard(len(plan.shards), group, lo, hi))
    return plan


def _plan_large(client: Any, plan: Plan, job: UploadJob, slo: bool) -> None:
    """Segment tasks for ``job``; what is stored already (its segments from
    an interrupted run, the same segments of the object it replaces) is
    offered to the tasks, which send only what differs."""
    context = plan.context
    config = context.config
    seg_container = context.container + "_segments"
    seg_size = cluster.segment_size(client, config, job.size)
    base = segment_base(job.name, job.size, job.mtime, seg_size, slo)
    reason: str | None = None
    if context.option("compare"):  # a sync: compared as its shard would compare it
        entry = next((e for e in client.iter_container(context.container, prefix=job.name,
                                                        limit=1) if e.get("name") == job.name),
                     None)
        look = True
        if entry is None:
            reason = "missing"
        else:
            reason, look = differs(job.size, job.mtime, 0.0, entry, True,
                                   bool(context.option("changed")))
        if reason is None and not look:
            plan.known.append(TransferResult("upload", context.container, job.name, job.path,
                                             ok=True, skipped=True, bytes=job.size))
            return
        reason = reason or "checksum"
    old = None
    if config.skip_identical or config.changed:
        old = cluster.inspect(client, context.container, job.name, None,
                              want_mtime=config.changed)
    if config.changed and old is not None and old.size == job.size and (
            old.mtime == "%f" % job.mtime):
        plan.known.append(TransferResult("upload", context.container, job.name, job.path,
                                         ok=True, skipped=True, bytes=job.size,
                                         etag=old.etag))
        return
    ours = cluster.listing(client, seg_container, base) or {}
    offsets = list(range(0, job.size, seg_size))
    reuse = (slo and config.skip_identical and old is not None and old.kind == "slo"
             and len(old.segments) == len(offsets))
    index = len(plan.large)
    plan.large.append(LargeFile(job, seg_container, base, seg_size, slo, len(offsets),
                                reason))
    for number, offset in enumerate(offsets):
        length = min(seg_size, job.size - offset)
        name = segment_name(base, number)
        known: tuple[str, str] | None = None
        entry = ours.get(name)
        if entry is not None and int(entry.get("bytes", -1)) == length and entry.get("hash"):
            known = ("/%s/%s" % (seg_container, name), str(entry["hash"]))
        elif reuse and old is not None:
            path, etag, size = old.segments[number]
            if etag and size == length:
                known = (path, etag)
        plan.shards.append(SegmentPart(len(plan.shards), index, number, job.path, offset,
                                       length, seg_container, name, known))


# -- container-side work ------------------------------------------------------------------


def _container_plan(recipe: Recipe, container: str, op: str, action: str,
                    names: Sequence[str] | None, prefix: str, config: TransferConfig,
                    options: dict[str, Any], shard_objects: int | None,
                    shard_bytes: int | None, parallelism: int | None,
                    page: int) -> Plan:
    """Shards of ``op`` over ``names``, or over the container's listing
    (under ``prefix``) of which only the first page is listed here."""
    check_container_name(container)
    if page < 1:
        raise errors.ConfigurationError("page must be at least 1, got %r" % page)
    options = {**options, "prefix": prefix}
    if names is not None:
        chosen = sorted({name for name in ([names] if isinstance(names, str) else names)
                         if name.startswith(prefix)})
        limits = _limits(len(chosen), None, parallelism, shard_objects, shard_bytes)
        context = _context(recipe, container, config, action, options, limits, page)
        shards: list[Shard] = [
            RangeShard(index, op, names=chosen[start:start + limits[0]],
                       objects=len(chosen[start:start + limits[0]]))
            for index, start in enumerate(range(0, len(chosen), limits[0]))]
        return Plan(context, shards, total_objects=len(chosen))
    client = state_for(recipe).client
    try:
        first = list_page(client, container, prefix, "", None, page)
    except errors.VelocityError as exc:
        limits = _limits(None, None, parallelism, shard_objects, shard_bytes)
        context = _context(recipe, container, config, action, options, limits, page)
        where = options.get("out_dir") if op == "download" else None
        failed = TransferResult(_result_action(op), container, None, where, error=exc)
        return Plan(context, [], known=[failed], total_objects=0)
    full = len(first) >= page
    size = sum(int(entry.get("bytes", 0)) for entry in first)
    limits = (_limits(None, None, parallelism, shard_objects, shard_bytes) if full else
              _limits(len(first), size, parallelism, shard_objects, shard_bytes))
    context = _context(recipe, container, config, action, options, limits, page)
    end = first[-1]["name"] if full else None
    shards = [RangeShard(index, op, lo, hi, objects=count, bytes=nbytes)
              for index, (lo, hi, count, nbytes) in
              enumerate(cut_entries(first, "", end, *limits)) if count]
    if full:
        for lo, hi in split_rest(first[0]["name"], first[-1]["name"], None, prefix):
            shards.append(ListTask(len(shards), op, lo, hi))
        return Plan(context, shards)
    return Plan(context, shards, total_bytes=size if op == "download" else None,
                total_objects=len(first))


def _result_action(op: str) -> str:
    return "download" if op == "download" else "delete"


def plan_download(recipe: Recipe, container: str, names: Sequence[str] | None = None,
                  out_dir: PathLike = ".", prefix: str | None = None,
                  remove_prefix: bool = False, skip_identical: bool | None = None, *,
                  config: TransferConfig | None = None, shard_objects: int | None = None,
                  shard_bytes: int | None = None, parallelism: int | None = None,
                  page: int = LIST_PAGE, compare: bool = False,
                  action: str = "download") -> Plan:
    """The plan of :func:`velocity.distributed.download` (same arguments).
    ``out_dir`` is made absolute here: every worker must see it at the same
    path (a shared file system)."""
    out = os.path.abspath(os.fspath(out_dir))
    os.makedirs(out, exist_ok=True)
    config = config or default_config()
    skip = config.skip_identical if skip_identical is None else skip_identical
    options = {"out_dir": out, "remove_prefix": remove_prefix, "skip_identical": skip,
               "compare": compare}
    return _container_plan(recipe, container, "download", action, names, prefix or "",
                           config, options, shard_objects, shard_bytes, parallelism, page)


def plan_delete(recipe: Recipe, container: str, names: Sequence[str] | None = None,
                prefix: str | None = None, *, config: TransferConfig | None = None,
                shard_objects: int | None = None, parallelism: int | None = None,
                page: int = LIST_PAGE) -> Plan:
    """The plan of :func:`velocity.distributed.delete` (same arguments)."""
    return _container_plan(recipe, container, "delete", "delete", names, prefix or "",
                           config or default_config(), {}, shard_objects, None, parallelism,
                           page)


def plan_sync(recipe: Recipe, src: Location, dst: Location, *, delete: bool = False,
              changed: bool = False, ignore: Iterable[str] = (),
              config: TransferConfig | None = None, headers: dict[str, str] | None = None,
              shard_objects: int | None = None, shard_bytes: int | None = None,
              parallelism: int | None = None, page: int = LIST_PAGE) -> Plan:
    """The plan of :func:`velocity.distributed.sync` (same arguments)."""
    root, remote, upward = locations(src, dst)
    check_container_name(remote.container)
    # large files: segments already stored (or the same ones of the object
    # replaced) are not sent again
    config = dataclasses.replace(config or default_config(), skip_identical=True,
                                 changed=False)
    patterns = tuple(ignore)
    prefix = remote.folder
    sync_options = {"changed": changed, "ignore": patterns, "local_dir": root,
                    "delete_local": delete and not upward}
    if not upward:
        plan = plan_download(recipe, remote.container, None, root, prefix, remove_prefix=True,
                             config=config, shard_objects=shard_objects,
                             shard_bytes=shard_bytes, parallelism=parallelism, page=page,
                             compare=True, action="sync")
        plan.context.options.update(sync_options)
        return plan
    if not os.path.isdir(root):
        raise errors.ConfigurationError("%s is not a folder" % root)
    jobs: list[UploadJob] = []
    known: list[TransferResult] = []
    for found in iter_sorted(root, patterns):
        if found.error is not None:
            known.append(TransferResult("upload", remote.container, prefix + found.name,
                                        found.path, error=found.error))
        else:
            jobs.append(UploadJob(found.path, prefix + found.name, found.size, found.mtime))
    options = {"headers": dict(headers or {}), "prefix": prefix, "compare": True,
               **sync_options}
    plan = _plan_files(recipe, remote.container, jobs, known, config, "sync", options,
                       shard_objects, shard_bytes, parallelism)
    plan.context = dataclasses.replace(plan.context, page=page)
    if not delete:
        return plan
    prune = _container_plan(recipe, remote.container, "prune", "sync", None, prefix, config,
                            {}, shard_objects, shard_bytes, parallelism, page)
    for shard in prune.shards:
        shard.index += len(plan.shards)  # type: ignore[union-attr]
        plan.shards.append(shard)
    plan.known += prune.known
    return plan
