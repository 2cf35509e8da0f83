"""Gemma 3 270M, the real multilingual candidate, on a tiny LoRA run through the same training code.

The base comes from the pinned package (``gemma_base`` in conftest: dequantised once per session);
the sample KDCA + interview data are the ones the tiny candidates train on. A few steps only: this
proves the path (its own tokenizer, LoRA on its attention, merge, reload, a Korean answer) and that
its licence travels with it, not what it learns in a demo's budget.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_gemma_candidate_trains_merges_and_answers_in_korean(
    repo: Path, gemma_base: Path, package_bases: Path, tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from callbot.config import read_yaml
    from callbot.llm.params import LLMParams
    from callbot.llm.tokenizer import load_tokenizer
    from callbot.llm.train import run_train_llm
    from tests.support.llm_sample_data import write_sample_llm_dataset

    raw = read_yaml(repo / "params.yaml")["llm"]
    full = read_yaml(repo / "params.yaml")["profiles"]["full"]["llm"][
        "candidates"
    ]  # a full-profile candidate
    gemma = next(c for c in full if c["base"] == "package:gemma-3-270m")
    gemma["limits"] = {
        "max_steps": 3, "batch_size": 2, "max_length": 64, "learning_rate": 0.0005, "threads": 2,
        "eval_examples_per_task": 2,
    }  # fmt: skip
    raw.update(
        candidates=[gemma],
        prepared=str(tmp_path / "prepared"),
        version_file=str(tmp_path / "versions.json"),
        out=str(tmp_path / "models"),
        report=str(tmp_path / "reports"),
    )
    params = LLMParams.model_validate(raw)
    write_sample_llm_dataset(Path(params.prepared))
    (run,) = run_train_llm(Path(params.prepared), params)
    assert run.licence == "Gemma Terms of Use" and run.base == "package:gemma-3-270m"
    assert run.lora_steps == 3 and all(math.isfinite(x) for x in run.lora_losses)
    assert 0 < run.trainable_parameters < run.parameters / 100  # LoRA on q/k/v/o only

    merged = Path(params.out) / "gemma-3-270m" / "merged"
    model = AutoModelForCausalLM.from_pretrained(str(merged)).eval()
    tokenizer = load_tokenizer(merged)
    assert type(model).__name__ == "Gemma3ForCausalLM"
    assert len(tokenizer) >= 262_144  # its own tokenizer, not the tiny Korean BPE
    chat = [
        {"role": "system", "content": params.system_prompt},
        {"role": "user", "content": "코로나19 검사는 어디에서 받을 수 있나요?"},
    ]
    prompt = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert prompt.startswith("<bos><|system|>")  # Gemma was pretrained with <bos> in front
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=16, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    answer = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
    print(f"gemma-3-270m after 3 LoRA steps answers: {answer!r}")
    assert sum("가" <= c <= "힣" for c in answer) >= 4, answer  # a Korean answer

    # the router's cheap scoring (shared prompt cache, head only at answer tokens) on the real weights
    from callbot.llm.scoring import full_head_answer_logliks, prefix_answer_logliks

    answers = [
        tokenizer(a, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        for a in ("가까운 보건소 선별진료소에서 받으실 수 있습니다.", "네 확인해 드리겠습니다.")
    ]
    cheap = prefix_answer_logliks(model, ids[0].tolist(), answers)
    assert cheap == pytest.approx(full_head_answer_logliks(model, ids[0].tolist(), answers), abs=1e-4)
