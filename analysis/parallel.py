"""Work shared among forked processes, one per core: the ledger's tests, the raw-file parsers and the
partnership profiles.

Forking lets the workers inherit what the parent has already loaded (the panel, the settings), so
nothing large is pickled on the way in; only each item and its result cross between processes.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def fork_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int | None = None) -> list[R]:
    """``[fn(item) for item in items]``, shared among ``workers`` forked processes (default: one per
    core; at most one per item; one runs in this process). The items are started in the order given
    and the results come back in that order; an exception is raised for the first failing item in that
    order, as a serial run would raise it."""
    items = list(items)
    n = max(1, min(workers or os.cpu_count() or 1, len(items)))
    if n == 1:
        return [fn(item) for item in items]
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(fn, items))
