"""Work shared among forked processes, one per core: the ledger's tests, the raw-file parsers and the
partnership profiles.

Forking lets the workers inherit what the parent has already loaded (the panel, the settings), so
nothing large is pickled on the way in; only each item and its result cross between processes.

With one process per core, each process's linear algebra (OpenBLAS, under numpy and scipy) runs on one
thread (:func:`one_blas_thread`): left to start a thread per core in every process, OpenBLAS
oversubscribed the cores and the ledger took half as much CPU time again (31.5 s and 59.5 CPU-s with
two workers, 21.7 s and 41.3 CPU-s on one thread each).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def one_blas_thread():
    """A context in which numpy's and scipy's BLAS use one thread (threadpoolctl); processes forked in it
    inherit the setting. The results do not depend on the number of cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def fork_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int | None = None) -> list[R]:
    """``[fn(item) for item in items]``, shared among ``workers`` forked processes (default: one per
    core; at most one per item; one runs in this process). The items are started in the order given
    and the results come back in that order; an exception is raised for the first failing item in that
    order, as a serial run would raise it. Each worker's BLAS runs on one thread (:func:`one_blas_thread`)."""
    items = list(items)
    n = max(1, min(workers or os.cpu_count() or 1, len(items)))
    if n == 1:
        return [fn(item) for item in items]
    with one_blas_thread(), ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(fn, items))
