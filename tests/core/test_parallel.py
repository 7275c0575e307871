"""analysis.parallel.fork_map: results in the items' order, the first failure in that order raised."""

from __future__ import annotations

import os

import pytest

from analysis import parallel


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _fail_on_odd(x: int) -> int:
    if x % 2:
        raise ValueError(f"item {x}")
    return x


def test_results_come_back_in_the_items_order_from_other_processes():
    out = parallel.fork_map(_square_and_pid, range(12), workers=2)
    assert [value for value, _ in out] == [x * x for x in range(12)]
    assert os.getpid() not in {pid for _, pid in out}   # the work ran in forked workers


def test_one_worker_runs_in_this_process():
    out = parallel.fork_map(_square_and_pid, [3], workers=4)
    assert out == [(9, os.getpid())]


def test_the_first_failing_item_in_order_is_raised():
    with pytest.raises(ValueError, match="item 1"):
        parallel.fork_map(_fail_on_odd, [0, 1, 2, 3, 5], workers=2)


def _blas_threads(_: int = 0) -> set[int]:
    from threadpoolctl import threadpool_info

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_each_worker_s_blas_runs_on_one_thread_and_the_parent_keeps_its_own():
    import numpy  # noqa: F401 - loads OpenBLAS
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):  # as on a two-core machine
        assert _blas_threads() == {2}
        assert parallel.fork_map(_blas_threads, range(4), workers=2) == [{1}] * 4
        assert _blas_threads() == {2}
