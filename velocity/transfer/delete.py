"""Deletes: objects with the segments of segmented ones, through the
cluster's bulk-delete middleware when it has one (:func:`delete_paths` is
also what clean-up after a failure uses)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from velocity import errors
from velocity.client import SwiftClient
from velocity.transfer import cluster
from velocity.transfer.cluster import Entry
from velocity.transfer.config import TransferResult
from velocity.transfer.plan import common_prefix, delete_plan

if TYPE_CHECKING:
    from velocity.transfer.coordinator import Coordinator
    from velocity.transfer.plan import DeleteJob

__all__ = ["Deletes", "delete_paths"]

#: a path that could not be deleted, and why
Failure = tuple[str, errors.VelocityError]


class Deletes:
    """The deletes of one call in ``container``."""

    def __init__(self, coordinator: Coordinator, container: str) -> None:
        self.coordinator = coordinator
        self.container = container

    def plan(self, names: Sequence[str] | None, prefix: str) -> list[DeleteJob] | None:
        """The jobs that delete ``names`` (every object under ``prefix`` when
        ``None``; only names under it otherwise), from one listing; ``None``
        when the container does not exist."""
        client = self.coordinator.client
        look = prefix if names is None else common_prefix(names)
        listing = cluster.listing(client, self.container, look)
        if listing is None:
            return None
        targets = [name for name in (listing if names is None else names)
                   if name.startswith(prefix)]
        return delete_plan(targets, listing, cluster.bulk_size(client),
                           self.coordinator.config.object_threads)

    def run(self, job: DeleteJob, results: list[TransferResult]) -> None:
        """Delete the objects of ``job``, then their segments; fills ``results``."""
        segments = [self._segments_of(name, entry) for name, entry in zip(job.names,
                                                                           job.entries)]
        self.coordinator.check()
        client = self.coordinator.client
        if job.bulk:
            failed = dict(delete_paths(client, ["/%s/%s" % (self.container, name)
                                                for name in job.names]))
        else:
            client.call("delete_object", self.container, job.names[0])
            failed = {}
        for name, entry, seg_paths, result in zip(job.names, job.entries, segments, results):
            error = failed.get("/%s/%s" % (self.container, name))
            if error is None:
                seg_failed = delete_paths(client, seg_paths)
                if seg_failed:
                    error = errors.ResponseError(
                        "deleted %s but %d of its segments could not be removed: %s"
                        % (name, len(seg_failed), seg_failed[0][1]))
            if error is not None:
                result.error = error
                continue
            result.ok = True
            result.segments = len(seg_paths)
            result.bytes = int((entry or {}).get("bytes", 0))

    def _segments_of(self, name: str, entry: Entry | None) -> list[str]:
        if self.coordinator.config.leave_segments:
            return []
        if entry is not None and "slo_etag" not in entry and int(entry.get("bytes", 0)) > 0:
            return []  # a plain object
        info = cluster.inspect(self.coordinator.client, self.container, name, entry,
                               want_mtime=False)
        return info.segment_paths() if info is not None else []


def delete_paths(client: SwiftClient, paths: Sequence[str]) -> list[Failure]:
    """Delete ``/container/object`` paths (missing ones count as deleted)
    and return the failures; in bulk requests when the cluster has the
    middleware and there is more than one path.  Ignores cancellation:
    clean-up uses this."""
    if not paths:
        return []
    middleware = cluster.capabilities(client).get("bulk_delete")
    if middleware and len(paths) > 1:
        size = max(1, int(middleware.get("max_deletes_per_request", 10000)))
        failures: list[Failure] = []
        for start in range(0, len(paths), size):
            failures += _bulk_delete(client, paths[start:start + size])
        return failures
    failures = []
    for path in paths:
        container, _, name = path.lstrip("/").partition("/")
        try:
            client.call("delete_object", container, name)
        except errors.NoSuchObject:
            pass
        except errors.VelocityError as exc:
            failures.append((path, exc))
    return failures


def _bulk_delete(client: SwiftClient, paths: Sequence[str]) -> list[Failure]:
    body = "\n".join(quote(p) for p in paths).encode("utf-8")
    try:
        _, reply = client.call("post_account", headers={
            "Content-Type": "text/plain", "Accept": "application/json"},
            query_string="bulk-delete", data=body)
        answer = json.loads(reply)
    except errors.VelocityError as exc:
        return [(p, exc) for p in paths]
    except ValueError:
        error = errors.ResponseError("the bulk delete answer could not be read",
                                     method="POST", path="/?bulk-delete")
        return [(p, error) for p in paths]
    failures: list[Failure] = []
    for path, status in answer.get("Errors") or []:
        code = int(str(status).split(" ", 1)[0]) if str(status)[:3].isdigit() else None
        failures.append((unquote(path), errors.ResponseError(
            "could not delete %s" % unquote(path), status=code, reason=str(status),
            method="DELETE", path=unquote(path))))
    status = str(answer.get("Response Status", "200"))
    if not failures and not status.startswith("2"):
        error = errors.ResponseError("bulk delete failed: %s" % status, method="POST",
                                     path="/?bulk-delete",
                                     reason=answer.get("Response Body") or status)
        return [(p, error) for p in paths]
    return failures
