"""Exact log-likelihoods of answer tokens at a fraction of a plain forward pass's cost.

A causal LM's forward pass projects every position's hidden state onto the whole vocabulary. For a
262,144-token vocabulary (Gemma 3) that head is the largest matrix product of the model and its
``[batch, length, vocab]`` float output the largest tensor; likelihood scoring needs it only where
an answer token is predicted. So:

- the backbone runs once (``model.<base_model_prefix>``, its final norm included) and only the
  positions that predict a scored token are projected: ``log p(t) = z_t - logsumexp(z)``, with the
  head's bias and Gemma's final logit soft-capping as the model's own forward applies them;
- the router's shortlisted answers share one chat prompt: the prompt runs once, its key/value cache
  is repeated across the answers, and the answers run as one right-padded batch after it.

The figures equal the full-head path's within float rounding (tests/code/test_llm_scoring.py);
``benchmarks/llm_scoring_bench.py`` times both on the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

# hidden states projected per chunk: bounds the float logits held at once (4,096 x 262,144 x 4 B = 4 GiB
# would not do; 256 rows = 256 MiB)
HEAD_CHUNK = 256


def backbone(model: PreTrainedModel) -> torch.nn.Module:
    """The decoder stack without the LM head (``model.model``, ``.transformer``, ``.gpt_neox``)."""
    inner = getattr(model, model.base_model_prefix, None)
    if inner is None or inner is model:
        raise TypeError(
            f"{type(model).__name__}: no backbone under {model.base_model_prefix!r} to score with"
        )
    return inner


def head_logits(model: PreTrainedModel, hidden: torch.Tensor) -> torch.Tensor:
    """Float logits of ``hidden [N, H]``: the head (bias included) and the final soft-capping, as the model's forward."""
    import torch

    logits = model.get_output_embeddings()(hidden).float()
    cap = getattr(model.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap is not None else logits


def token_logprobs(model: PreTrainedModel, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``log p(targets[i] | hidden[i])`` for ``hidden [N, H]``: the head on these N rows only, in chunks."""
    import torch

    out = []
    for start in range(0, hidden.shape[0], HEAD_CHUNK):
        logits = head_logits(model, hidden[start : start + HEAD_CHUNK])
        rows = targets[start : start + HEAD_CHUNK]
        out.append(logits.gather(-1, rows.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1))
    return torch.cat(out) if out else hidden.new_zeros(0)


@dataclass(frozen=True)
class Prefix:
    """The key/value cache of token ids every prompt starts with (the system prompt), computed once."""

    ids: tuple[int, ...]
    cache: Any


def encode_prefix(model: PreTrainedModel, ids: list[int]) -> Prefix:
    """The backbone's cache of ``ids``, for :func:`prefix_answer_logliks` to start later prompts from."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        out = backbone(model)(input_ids=torch.tensor([ids], device=device), use_cache=True)
    return Prefix(tuple(ids), out.past_key_values)


def _prompt_pass(model: PreTrainedModel, prompt: list[int], shared: Prefix | None) -> Any:
    """The backbone over ``prompt``; from ``shared``'s cache (copied) when the prompt starts with its ids."""
    import copy

    import torch

    device = next(model.parameters()).device
    start, cache = 0, None
    n = len(shared.ids) if shared is not None else 0
    if shared is not None and len(prompt) > n and tuple(prompt[:n]) == shared.ids:
        start, cache = n, copy.deepcopy(shared.cache)
    ids = torch.tensor([prompt[start:]], device=device)
    return backbone(model)(input_ids=ids, past_key_values=cache, use_cache=True)


def prefix_answer_logliks(
    model: PreTrainedModel, prompt: list[int], answers: list[list[int]], shared: Prefix | None = None
) -> list[float]:
    """Mean log-likelihood per token of each answer after ``prompt``: the prompt's cache shared by all
    (and, with ``shared``, its system-prompt part computed once for every prompt)."""
    import torch

    if not answers or any(not a for a in answers):
        raise ValueError("every answer needs at least one token")
    device = next(model.parameters()).device
    stack = backbone(model)
    with torch.no_grad():
        first = _prompt_pass(model, prompt, shared)
        cache = first.past_key_values
        cache.batch_repeat_interleave(len(answers))
        width = max(len(a) for a in answers)
        # an answer's last token is scored, never fed: the batch is the answers without it
        fed = [a[:-1] + [0] * (width - len(a)) for a in answers]
        mask = [[1] * len(prompt) + [1] * (len(a) - 1) + [0] * (width - len(a)) for a in answers]
        # every answer's first token is predicted from the prompt's last row: projected once, not per answer
        starts = first_logprobs(model, first.last_hidden_state[0, -1], [a[0] for a in answers])
        if width == 1:
            return [float(s) for s in starts]
        hidden = stack(
            input_ids=torch.tensor(fed, device=device),
            attention_mask=torch.tensor(mask, device=device),
            past_key_values=cache,
            use_cache=True,
        ).last_hidden_state
        rows = torch.cat([hidden[i, : len(a) - 1] for i, a in enumerate(answers)])
        targets = torch.tensor([t for a in answers for t in a[1:]], device=device)
        logp = token_logprobs(model, rows, targets)
    rest = torch.split(logp, [len(a) - 1 for a in answers])
    return [float((s0 + r.sum()) / len(a)) for s0, r, a in zip(starts, rest, answers, strict=True)]


def first_logprobs(model: PreTrainedModel, row: torch.Tensor, targets: list[int]) -> torch.Tensor:
    """``log p(t | row)`` for each ``t`` in ``targets``: the vocabulary head on the one row, once."""
    import torch

    logits = head_logits(model, row[None])[0]
    return logits[torch.tensor(targets, device=row.device)] - torch.logsumexp(logits, dim=-1)


def labelled_nll(model: PreTrainedModel, batch: dict[str, torch.Tensor]) -> tuple[float, int]:
    """(summed NLL, token count) of the labelled tokens of a right-padded batch (labels -100 elsewhere)."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        hidden = backbone(model)(
            input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)
        ).last_hidden_state[:, :-1]
        labels = batch["labels"][:, 1:].to(device)
        keep = labels != -100
        logp = token_logprobs(model, hidden[keep], labels[keep])
    return float(-logp.sum()), int(keep.sum())


def full_head_answer_logliks(
    model: PreTrainedModel, prompt: list[int], answers: list[list[int]]
) -> list[float]:
    """The plain path, kept as the reference the tests and the benchmark compare against: each answer
    with its own copy of the prompt, one padded batch, the whole vocabulary at every position."""
    import torch

    from callbot.llm.collate import Collator

    batch = Collator(0)([{"input_ids": prompt + a, "labels": [-100] * len(prompt) + a} for a in answers])
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = (
            model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device))
            .logits[:, :-1]
            .float()
        )
    labels = batch["labels"][:, 1:].to(device)
    mask = labels != -100
    picked = torch.log_softmax(logits, dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return ((picked * mask).sum(-1) / mask.sum(-1)).tolist()
