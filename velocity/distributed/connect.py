"""A Dask client from one string, as a command line takes it:
``--dask tcp://scheduler:8786`` or ``--dask local:4``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from velocity import errors

__all__ = ["connect"]


@contextlib.contextmanager
def connect(spec: str, *, threads_per_worker: int = 2, **options: Any) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``spec``, closed (with the cluster
    it started) when the block ends.

    :param spec: ``local:N`` starts a ``LocalCluster`` of ``N`` worker
        processes on this machine (``threads_per_worker`` threads each);
        anything else is the address of a running scheduler
        (``tcp://host:8786``) or of a scheduler file (``*.json``)
    :param options: passed on to ``LocalCluster`` (``local:N``) or ``Client``
    :raises velocity.errors.ConfigurationError: ``distributed`` is not
        installed (``pip install 'velocity-swift[dask]'``), or ``N`` is not
        a positive number
    """
    try:
        import distributed
    except ImportError:
        raise errors.ConfigurationError(
            "Dask is not installed: pip install 'velocity-swift[dask]'") from None
    if spec.startswith("local:"):
        try:
            workers = int(spec[len("local:"):])
        except ValueError:
            workers = 0
        if workers < 1:
            raise errors.ConfigurationError("--dask local:N needs a number of worker "
                                            "processes, got %r" % spec)
        options.setdefault("dashboard_address", None)
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker,
                                      processes=True, **options) as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    if spec.endswith(".json"):
        with distributed.Client(scheduler_file=spec, **options) as client:
            yield client
        return
    with distributed.Client(spec, **options) as client:
        yield client
