"""Transfers spread across a Dask cluster.

The calls of :class:`~velocity.transfer.TransferManager` (``upload``,
``download``, ``delete`` and ``sync``), with the same options and the same
:class:`~velocity.transfer.TransferResult` records, run by the workers of a
:class:`distributed.Client`::

    from distributed import Client
    from velocity import distributed as vd

    with Client("tcp://scheduler:8786") as dask_client:
        recipe = vd.Recipe.from_env()          # how every worker logs in
        results = vd.upload(dask_client, recipe, "backups", "/shared/photos/",
                            prefix="2024/", progress=True)
        vd.download(dask_client, recipe, "backups", "/shared/restore", prefix="2024/")

* **Sharded, never listed whole.** Uploads are cut into shards of files,
  balanced by count and by bytes; a file above the segment threshold becomes
  one task per segment, so several workers send it.  Container-side work is
  cut into ranges of names: the client lists the first page only, and the
  workers list the rest, range by range (:mod:`~velocity.distributed.ranges`).
* **One login per worker process.** Credentials travel as a
  :class:`Recipe` (login options; ``repr()`` hides the key), never as a
  token; each worker process builds one
  :class:`~velocity.transfer.TransferManager` per recipe, logs in once and
  renews its own token.
* **Rerunnable.** A shard that raises is retried by Dask, the shards of a
  worker that dies are rescheduled, and shards skip what is in place
  (``skip_identical`` is on by default; segment names are deterministic), so
  running a half-finished job again moves only what is missing.
* **Manifests last, from the client.** The client writes the manifest of a
  large file once every segment is in and verified (its ETag is the MD5 of
  the local bytes, and the listing shows it stored).
* **One progress bar** in the client, fed by the workers' events.

Files to upload and download folders must be visible at the same path to
the client and every worker (a shared file system).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from velocity.distributed.connect import connect
from velocity.distributed.planner import (
    LIST_PAGE,
    default_config,
    plan_delete,
    plan_download,
    plan_sync,
    plan_upload,
)
from velocity.distributed.recipe import Recipe, as_recipe
from velocity.distributed.runner import RETRIES, Results, run
from velocity.distributed.shards import Plan, ShardReport
from velocity.distributed.worker import process_logins
from velocity.progress import ProgressSubscriber
from velocity.transfer.config import TransferConfig
from velocity.transfer.localfs import PathLike
from velocity.transfer.sync import Location, Remote

__all__ = ["Recipe", "Remote", "upload", "download", "delete", "sync", "run", "plan_upload",
           "plan_download", "plan_delete", "plan_sync", "Plan", "Results", "ShardReport",
           "default_config", "process_logins", "parallelism", "connect"]

def parallelism(dask_client: Any) -> int | None:
    """How many tasks the cluster runs at once (its worker threads), or
    ``None`` when it has no worker yet (an adaptive cluster)."""
    workers = dask_client.scheduler_info().get("workers", {})
    threads = sum(int(info.get("nthreads", 1)) for info in workers.values())
    return threads or None


def upload(dask_client: Any, credentials: Recipe | Mapping[str, Any] | None, container: str,
           paths: PathLike | Sequence[PathLike], object_names: Sequence[str] | None = None,
           prefix: str | None = None, ignore: Iterable[str] = (), *,
           config: TransferConfig | None = None,
           subscribers: Iterable[ProgressSubscriber] | None = None, progress: bool = False,
           headers: dict[str, str] | None = None, skip_identical: bool | None = None,
           changed: bool | None = None, leave_segments: bool | None = None,
           shard_objects: int | None = None, shard_bytes: int | None = None,
           retries: int = RETRIES) -> Results:
    """Upload files and folders to ``container``, on the cluster's workers.

    Takes the arguments of :meth:`TransferManager.upload
    <velocity.transfer.TransferManager.upload>`, plus:

    :param dask_client: a :class:`distributed.Client`
    :param credentials: a :class:`Recipe`, a mapping of its options, or
        ``None`` (:meth:`Recipe.from_env`)
    :param config: the workers' :class:`~velocity.transfer.TransferConfig`
        (default :func:`default_config`: ``skip_identical=True``)
    :param shard_objects: / :param shard_bytes: the most files and bytes of
        one shard (default: several shards per worker thread, at most 1,000
        files and 1 GiB)
    :param retries: how many more times Dask runs a shard that raised
    :returns: :class:`Results`: one :class:`~velocity.transfer.TransferResult`
        per file, sorted by object name, and a report per task
    """
    plan = plan_upload(as_recipe(credentials), container, paths, object_names, prefix,
                       ignore, config=config, headers=headers, skip_identical=skip_identical,
                       changed=changed, leave_segments=leave_segments,
                       shard_objects=shard_objects, shard_bytes=shard_bytes,
                       parallelism=parallelism(dask_client))
    return run(dask_client, plan, subscribers=subscribers, progress=progress, retries=retries)


def download(dask_client: Any, credentials: Recipe | Mapping[str, Any] | None, container: str,
             out_dir: PathLike = ".", names: Sequence[str] | None = None,
             prefix: str | None = None, remove_prefix: bool = False,
             skip_identical: bool | None = None, *, config: TransferConfig | None = None,
             subscribers: Iterable[ProgressSubscriber] | None = None, progress: bool = False,
             shard_objects: int | None = None, shard_bytes: int | None = None,
             page: int = LIST_PAGE, retries: int = RETRIES) -> Results:
    """Download objects into ``out_dir``, on the cluster's workers.

    Takes the arguments of :meth:`TransferManager.download
    <velocity.transfer.TransferManager.download>` (``out_dir`` comes first
    here), plus those of :func:`upload`, and:

    :param skip_identical: default ``True`` (from :func:`default_config`): a
        local file that holds the object's bytes is not fetched again
    :param page: names listed per request, by the client (the first page
        only) and by each listing task of the workers
    :returns: :class:`Results`: one result per object, sorted by name
    """
    plan = plan_download(as_recipe(credentials), container, names, out_dir, prefix,
                         remove_prefix, skip_identical, config=config,
                         shard_objects=shard_objects, shard_bytes=shard_bytes,
                         parallelism=parallelism(dask_client), page=page)
    return run(dask_client, plan, subscribers=subscribers, progress=progress, retries=retries)


def delete(dask_client: Any, credentials: Recipe | Mapping[str, Any] | None, container: str,
           names: Sequence[str] | None = None, prefix: str | None = None, *,
           config: TransferConfig | None = None,
           subscribers: Iterable[ProgressSubscriber] | None = None, progress: bool = False,
           shard_objects: int | None = None, page: int = LIST_PAGE,
           retries: int = RETRIES) -> Results:
    """Delete objects (with the segments of segmented ones), on the
    cluster's workers: the arguments of :meth:`TransferManager.delete
    <velocity.transfer.TransferManager.delete>`, plus those of
    :func:`download`."""
    plan = plan_delete(as_recipe(credentials), container, names, prefix, config=config,
                       shard_objects=shard_objects, parallelism=parallelism(dask_client),
                       page=page)
    return run(dask_client, plan, subscribers=subscribers, progress=progress, retries=retries)


def sync(dask_client: Any, credentials: Recipe | Mapping[str, Any] | None, src: Location,
         dst: Location, *, delete: bool = False, changed: bool = False,
         ignore: Iterable[str] = (), headers: dict[str, str] | None = None,
         config: TransferConfig | None = None,
         subscribers: Iterable[ProgressSubscriber] | None = None, progress: bool = False,
         shard_objects: int | None = None, shard_bytes: int | None = None,
         page: int = LIST_PAGE, retries: int = RETRIES) -> Results:
    """Make ``dst`` hold what ``src`` holds, on the cluster's workers: a
    local folder and a :class:`Remote` (container and prefix), in either
    order, as :meth:`TransferManager.sync
    <velocity.transfer.TransferManager.sync>` does.

    Copies what is missing at ``dst`` or different: each shard compares its
    own range of the container's listing with the local files, by size,
    then by MD5 (computed on the workers; large objects segment by segment);
    with ``changed``, by size and time, reading no file.  With ``delete``,
    removes from ``dst`` what ``src`` lacks: objects with no local file (by
    range, on the workers), or local files with no object (in this process,
    once every range was listed, never after a failed listing).  ``ignore``
    patterns are left alone on both sides.

    :returns: :class:`Results`: a result per object copied or deleted (with
        its ``reason``: ``"missing"``, ``"size"``, ``"mtime"``,
        ``"checksum"``, ``"extra"``), sorted by name with deletions last;
        the objects found the same are counted in ``unchanged``

    There is no ``dry_run`` here: :meth:`TransferManager.check
    <velocity.transfer.TransferManager.check>` tells the differences
    without changing anything.
    """
    plan = plan_sync(as_recipe(credentials), src, dst, delete=delete, changed=changed,
                     ignore=ignore, headers=headers, config=config,
                     shard_objects=shard_objects, shard_bytes=shard_bytes,
                     parallelism=parallelism(dask_client), page=page)
    return run(dask_client, plan, subscribers=subscribers, progress=progress, retries=retries)
