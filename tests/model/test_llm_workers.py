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
