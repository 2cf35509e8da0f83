"""``e5-ft``: multilingual-e5-small fine-tuned contrastively on the train phrasings (LoRA), then frozen.

SetFit-style: each step draws ``finetune_batch`` intents (no two alike, so no false negatives), two
different train phrasings of each, and pulls the pairs together against the other pairs of the batch
(MultipleNegativesRanking: cross-entropy over scaled cosines, both directions). peft LoRA adapts the
attention query and value of the top ``finetune_layers`` layers only, so the layers below are run
once per text (cached) and the steps pay for the top layers alone. With ``finetune_head_weight`` > 0
a linear classification head is trained jointly on the same rows (SetFit's second stage, end to
end): the pairs alone pull phrasings of an intent together, the head's cross-entropy also pushes
neighbouring intents apart (입국 검역 vs 입국 후 증상), where held-out wording fails. That head is
dropped; the logistic head is fitted on the tuned rows like any other encoder's. Seeded,
deterministic algorithms, ``threads`` torch threads.

What ships (``e5ft.npz`` in the model directory) is the LoRA factors; callbot.intent.tuned merges
them into the torch e5 converted from the pinned, hash-checked package weights, so serving needs no
network and no peft.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.intent.encoders import EncoderError
from callbot.intent.tuned import Adapter, base_e5

if TYPE_CHECKING:
    from callbot.intent.params import IntentParams

TARGETS = ("query", "value")
LOSS_SCALE = 20.0  # sentence-transformers' MultipleNegativesRankingLoss default


def _layer_mask(mask: Any) -> Any:
    """The additive (batch, 1, 1, tokens) mask eager attention adds to its scores."""
    import torch

    return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min


def _run_layers(layers: Sequence[Any], hidden: Any, mask: Any) -> Any:
    extended = _layer_mask(mask)
    for layer in layers:
        out = layer(hidden, attention_mask=extended)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


class _Cache:
    """Each text's hidden states below the first adapted layer (no gradients; computed once)."""

    def __init__(self, e5: Any, texts: Sequence[str], first: int, batch_size: int = 32) -> None:
        import torch

        self.e5, self.first, self.rows = e5, first, {}
        bert = e5.model
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                chunk = list(texts[start : start + batch_size])
                ids, mask = e5.batch(chunk)
                hidden = _run_layers(bert.encoder.layer[:first], bert.embeddings(input_ids=ids), mask)
                for i, text in enumerate(chunk):
                    self.rows[text] = hidden[i, : int(mask[i].sum())].clone()

    def pooled(self, texts: Sequence[str]) -> Any:
        """Mean-pooled, L2-normalised rows of the top layers (gradients flow into the adapters)."""
        import torch

        states = [self.rows[t] for t in texts]
        hidden = torch.nn.utils.rnn.pad_sequence(states, batch_first=True)
        mask = torch.nn.utils.rnn.pad_sequence([torch.ones(len(s)) for s in states], batch_first=True)
        top = _run_layers(self.e5.model.encoder.layer[self.first :], hidden, mask)
        weights = mask.unsqueeze(-1)
        return torch.nn.functional.normalize((top * weights).sum(1) / weights.sum(1), dim=-1)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        with torch.no_grad():
            blocks = [
                self.pooled(texts[s : s + batch_size]).numpy() for s in range(0, len(texts), batch_size)
            ]
        return np.vstack(blocks).astype(np.float32) if blocks else np.zeros((0, 384), dtype=np.float32)


def pair_batches(
    texts: Sequence[str], intents: Sequence[str], params: IntentParams
) -> list[list[tuple[str, str]]]:
    """Per step, (anchor, positive) phrasings of ``finetune_batch`` distinct intents (seeded)."""
    groups: dict[str, list[str]] = {}
    for text, intent in zip(texts, intents, strict=True):
        if text not in groups.setdefault(intent, []):
            groups[intent].append(text)
    usable = sorted(i for i, g in groups.items() if len(g) >= 2)
    if len(usable) < 2:
        raise EncoderError("intent.candidates e5-ft: fewer than 2 intents have 2 train phrasings; drop e5-ft")
    rng = np.random.RandomState(params.seed)
    size = min(params.finetune_batch, len(usable))
    batches = []
    for _ in range(params.finetune_steps):
        picked = rng.choice(len(usable), size=size, replace=False)
        pairs = [rng.choice(len(groups[usable[i]]), size=2, replace=False) for i in picked]
        batches.append(
            [(groups[usable[i]][a], groups[usable[i]][b]) for i, (a, b) in zip(picked, pairs, strict=True)]
        )
    return batches


def _with_lora(e5: Any, params: IntentParams) -> tuple[Any, int]:
    from peft import LoraConfig, get_peft_model

    from callbot.console import peft_wrapping

    layers = e5.model.config.num_hidden_layers
    first = layers - max(1, min(params.finetune_layers, layers))
    config = LoraConfig(
        r=params.finetune_rank, lora_alpha=2 * params.finetune_rank, lora_dropout=0.0,
        target_modules=list(TARGETS), layers_to_transform=list(range(first, layers)), layers_pattern="layer",
    )  # fmt: skip
    with peft_wrapping():  # peft reads a property transformers deprecated: its warning, not ours
        return get_peft_model(e5.model, config), first


def _factors(wrapped: Any) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    factors, scale = {}, 1.0
    for name, module in wrapped.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            path = name[name.index("encoder.") :]
            a = module.lora_A["default"].weight.detach().numpy().astype(np.float32).copy()
            b = module.lora_B["default"].weight.detach().numpy().astype(np.float32).copy()
            factors[path], scale = (a, b), float(module.scaling["default"])
    return factors, scale


def _step_loss(rows: Any, pairs: list[tuple[str, str]], head: Any, labels: Any, weight: float) -> Any:
    """The symmetric in-batch contrastive loss, plus ``weight`` x the classification head's cross-entropy
    on the same rows (SetFit's second stage, trained jointly so the encoder learns the label boundaries)."""
    import torch

    anchors, positives = rows[: len(pairs)], rows[len(pairs) :]
    scores = anchors @ positives.T * LOSS_SCALE
    target = torch.arange(len(pairs))
    loss = (
        torch.nn.functional.cross_entropy(scores, target)
        + torch.nn.functional.cross_entropy(scores.T, target)
    ) / 2
    if head is not None and weight > 0:
        loss = loss + weight * torch.nn.functional.cross_entropy(head(rows * LOSS_SCALE), labels)
    return loss


def _train(
    wrapped: Any,
    cache: _Cache,
    batches: list[list[tuple[str, str]]],
    params: IntentParams,
    label_of: dict[str, int],
) -> list[float]:
    """One AdamW step per batch (contrastive, plus the joint head's cross-entropy when weighted); the losses."""
    import torch

    head = (
        torch.nn.Linear(cache.e5.model.config.hidden_size, max(label_of.values(), default=0) + 1)
        if params.finetune_head_weight > 0
        else None
    )
    trainable = [p for p in wrapped.parameters() if p.requires_grad] + (
        list(head.parameters()) if head else []
    )
    optimiser = torch.optim.AdamW(trainable, lr=params.finetune_lr, weight_decay=0.0)
    losses = []
    for pairs in batches:
        texts = [a for a, _ in pairs] + [b for _, b in pairs]
        labels = torch.tensor([label_of[t] for t in texts])
        loss = _step_loss(cache.pooled(texts), pairs, head, labels, params.finetune_head_weight)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(round(float(loss.detach()), 4))
    return losses


def finetune(
    texts: Sequence[str],
    intents: Sequence[str],
    everything: Sequence[str],
    params: IntentParams,
    e5: Any = None,
) -> tuple[Adapter, np.ndarray]:
    """LoRA-tune e5 on the train (text, intent) pairs; the adapter and the tuned rows of ``everything``."""
    import torch

    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(max(1, params.threads))
    try:
        e5 = e5 if e5 is not None else base_e5(params.threads)
        torch.manual_seed(params.seed)  # after building e5 (its init draws too): LoRA starts alike either way
        batches = pair_batches(texts, intents, params)
        wrapped, first = _with_lora(e5, params)
        cache = _Cache(e5, list(dict.fromkeys([*texts, *everything])), first)
        names = sorted(set(intents))
        label_of = {t: names.index(i) for t, i in zip(texts, intents, strict=True)}
        losses = _train(wrapped, cache, batches, params, label_of)
        factors, scale = _factors(wrapped)
        rows = cache.encode(list(everything))
    finally:
        torch.use_deterministic_algorithms(deterministic)
    return Adapter(factors, scale, losses), rows
