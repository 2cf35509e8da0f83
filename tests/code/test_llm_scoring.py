"""The cheap likelihood path (shared prompt cache, head only at scored positions) equals the plain one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest


def _gemma3_tiny():  # type: ignore[no-untyped-def]
    """A tiny Gemma 3 with logit soft-capping and a sliding window shorter than the prompt: both paths
    the real 270M takes (its cap is unset, its window 512) are exercised here on purpose."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, sliding_window=6, final_logit_softcapping=0.05,
        max_position_embeddings=128, layer_types=["sliding_attention", "full_attention", "sliding_attention"],
    )  # fmt: skip
    return Gemma3ForCausalLM(config).eval()


def _tiny(arch: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoModelForCausalLM

    from callbot.llm.model import build_tiny_candidate

    if arch == "gemma3":
        return _gemma3_tiny()
    return AutoModelForCausalLM.from_pretrained(str(build_tiny_candidate(arch, tmp_path / arch))).eval()


@pytest.mark.parametrize("arch", ["gpt_neox", "gptj", "llama", "gemma3"])
def test_shared_prompt_logliks_equal_the_full_head(arch: str, tmp_path: Path) -> None:
    import torch

    from callbot.llm.scoring import full_head_answer_logliks, prefix_answer_logliks

    model = _tiny(arch, tmp_path)
    gen = torch.Generator().manual_seed(1)
    vocab = min(model.config.vocab_size, 300)
    prompt = torch.randint(3, vocab, (17,), generator=gen).tolist()
    answers = [torch.randint(3, vocab, (n,), generator=gen).tolist() for n in (1, 9, 4, 12)]
    fast = prefix_answer_logliks(model, prompt, answers)
    slow = full_head_answer_logliks(model, prompt, answers)
    assert fast == pytest.approx(slow, abs=1e-4)
    assert len(set(round(x, 3) for x in fast)) == len(answers)  # distinct answers score differently
    with pytest.raises(ValueError, match="at least one token"):
        prefix_answer_logliks(model, prompt, [[5], []])


@pytest.mark.parametrize("arch", ["gptj", "gemma3"])
def test_labelled_nll_equals_the_model_loss(arch: str, tmp_path: Path) -> None:
    import torch

    from callbot.llm.collate import Collator
    from callbot.llm.scoring import labelled_nll

    model = _tiny(arch, tmp_path)
    gen = torch.Generator().manual_seed(2)
    rows = []
    for length, prompt in ((20, 8), (13, 5), (26, 20)):
        ids = torch.randint(3, 300, (length,), generator=gen).tolist()
        rows.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
    batch = Collator(0)(rows)
    nll, count = labelled_nll(model, batch)
    with torch.no_grad():
        loss = model(**batch).loss  # transformers' mean over the labelled tokens, whole head
    assert count == sum(len(r["input_ids"]) - p for r, p in zip(rows, (8, 5, 20), strict=True))
    assert math.isclose(nll / count, float(loss), rel_tol=1e-5)


@pytest.mark.parametrize("arch", ["gpt_neox", "gptj", "llama", "gemma3"])
def test_a_shared_system_prefix_gives_the_same_logliks(arch: str, tmp_path: Path) -> None:
    """Two callers after the same system prompt start from its one cache, which they leave as it was."""
    import torch

    from callbot.llm.scoring import encode_prefix, full_head_answer_logliks, prefix_answer_logliks

    model = _tiny(arch, tmp_path)
    ids = torch.randint(
        3, min(model.config.vocab_size, 300), (30,), generator=torch.Generator().manual_seed(2)
    )
    system, answers = ids[:11].tolist(), [ids[11:12].tolist(), ids[12:18].tolist(), ids[18:21].tolist()]
    shared = encode_prefix(model, system)
    other = [7, *system]  # a prompt that does not start with the prefix is scored from scratch
    for prompt in (system + ids[21:22].tolist(), system + ids[22:29].tolist(), other):
        fast = prefix_answer_logliks(model, prompt, answers, shared)
        assert fast == pytest.approx(full_head_answer_logliks(model, prompt, answers), abs=1e-4)
    assert shared.cache.get_seq_length() == len(system)
