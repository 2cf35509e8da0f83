"""Single-thread jobs side by side in spawned processes: the same results, in order, as one after another."""

from __future__ import annotations

import pytest


def seeded_step(seed: int) -> bytes:
    """One seeded training step of a small network on one thread: its weights' bytes."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.GELU(), torch.nn.Linear(128, 8))
    opt = torch.optim.AdamW(net.parameters(), lr=0.01)
    x, y = torch.randn(256, 64), torch.randint(0, 8, (256,))
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return b"".join(p.detach().numpy().tobytes() for p in net.parameters())


@pytest.mark.slow
def test_workers_give_the_same_bits_in_order() -> None:
    from callbot.llm.workers import run_side_by_side

    argsets = [(0,), (1,), (2,)]
    here = run_side_by_side(seeded_step, argsets, 1)
    assert len(set(here)) == 3  # the seeds matter, so order is checked
    assert run_side_by_side(seeded_step, argsets, 2) == here


def test_worker_count() -> None:
    import os

    from callbot.llm.workers import worker_count

    assert worker_count(3) == 3
    assert worker_count(0) == len(os.sched_getaffinity(0)) >= 1


def test_one_thread_items_run_in_workers_the_rest_here_in_order() -> None:
    from callbot.llm.workers import one_thread_side_by_side

    items = [("a", 1), ("big", 0), ("b", 1)]
    ran_here: list[str] = []

    def here(item: tuple[str, int]) -> str:
        ran_here.append(item[0])
        return f"here:{item[0]}"

    got = one_thread_side_by_side(items, lambda i: i[1], str.upper, lambda i: (i[0],), here, 1)
    assert got == ["A", "here:big", "B"]
    assert ran_here == ["big"]
