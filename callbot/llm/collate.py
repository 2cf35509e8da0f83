"""Batches of token ids for a causal LM: training pads with it, and so does the served responder.

Kept apart from :mod:`callbot.llm.train` so that the service (which scores answers with it) ships
no training code.
"""

from __future__ import annotations

from typing import Any


class Collator:
    """Right-pads a batch; padded label positions are -100 so they never count in the loss."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        ids, labels, mask = [], [], []
        for f in features:
            gap = width - len(f["input_ids"])
            ids.append(f["input_ids"] + [self.pad_id] * gap)
            labels.append(f["labels"] + [-100] * gap)
            mask.append([1] * len(f["input_ids"]) + [0] * gap)
        return {
            "input_ids": torch.tensor(ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask),
        }
