"""Single-thread jobs side by side in worker processes: a small model's training or scoring on one
torch thread uses one core of two, so two such jobs at once take the wall time of one.

Each job is a picklable top-level function and its arguments; it runs in a fresh spawned process
(a forked torch, its OpenMP pool started, can hang) and sets its own threads. What a job computes
does not depend on where it runs: a candidate is seeded when its training starts, and torch gives
the same bits on one thread in any process (tests/model/test_llm_workers.py,
``benchmarks/demo_budget.py --train``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")


def worker_count(setting: int) -> int:
    """A ``workers`` param: the setting when positive, else one per core this process may use."""
    return setting if setting > 0 else max(len(os.sched_getaffinity(0)), 1)


def run_side_by_side(job: Callable[..., Any], argsets: Sequence[tuple[Any, ...]], workers: int) -> list[Any]:
    """``job(*args)`` for every ``args``, results in order: in ``workers`` spawned processes, or here
    one after another when fewer than two workers or jobs."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = min(workers, len(argsets))
    if workers < 2:
        return [job(*args) for args in argsets]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(job, *zip(*argsets, strict=True)))


def one_thread_side_by_side(
    items: Sequence[Item],
    threads_of: Callable[[Item], int],
    job: Callable[..., Any],
    args_of: Callable[[Item], tuple[Any, ...]],
    here: Callable[[Item], Any],
    workers: int,
) -> list[Any]:
    """Every item's result, in order: the items that run on one thread (``threads_of``) as
    ``job(*args_of(item))`` side by side in ``workers`` processes first, then the others ``here``,
    one after another on their own threads (a large base that wants every core)."""
    single = [i for i, item in enumerate(items) if threads_of(item) == 1]
    found = run_side_by_side(job, [args_of(items[i]) for i in single], workers)
    done = dict(zip(single, found, strict=True))
    return [done[i] if i in done else here(item) for i, item in enumerate(items)]
