"""torch's CPU threads from a stage's ``threads`` param, one rule for every stage (0 = all cores)."""

from __future__ import annotations

import os


def set_torch_threads(threads: int) -> None:
    """``torch.set_num_threads``: ``threads`` when positive, else every core."""
    import torch

    torch.set_num_threads(threads if threads > 0 else max(os.cpu_count() or 1, 1))
