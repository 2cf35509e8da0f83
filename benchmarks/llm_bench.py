"""LLM candidates on CPU: training samples/s and generation tokens/s per architecture, LoRA vs full.

Each smoke candidate (tiny GPT-NeoX, GPT-J, Llama of the params.yaml `llm.tiny` shape, on a Korean
BPE trained on the sample data) is trained for the same steps twice through the real training path
(`callbot.llm.train._fit`, the HF Trainer): once with LoRA (params.yaml targets, r, alpha), once as a
full fine-tune, the baseline. Training-state memory is the bytes of gradients plus AdamW moments
held after one optimiser step (what LoRA saves); generation is greedy, batch 1, a fixed number of
new tokens. The last line gives the ratios against the full fine-tune baseline.

    .venv/bin/python benchmarks/llm_bench.py [--steps 20] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test-support generators live in tests/support/


def state_bytes(model, lr: float) -> int:  # type: ignore[no-untyped-def]
    """Gradient + optimiser-state bytes after one AdamW step on a dummy batch."""
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=lr)
    ids = torch.randint(0, model.config.vocab_size, (4, 32))
    model(input_ids=ids, labels=ids).loss.backward()
    optimiser.step()
    grads = sum(p.grad.numel() * p.grad.element_size() for p in trainable if p.grad is not None)
    moments = sum(
        t.numel() * t.element_size()
        for s in optimiser.state.values()
        for t in s.values()
        if torch.is_tensor(t)
    )
    optimiser.zero_grad(set_to_none=True)
    return grads + moments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="optimiser steps per training measurement")
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 = params.yaml llm.threads")
    parser.add_argument("--new-tokens", type=int, default=48)
    args = parser.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers.utils import logging as hf_logging

    from callbot.config import read_yaml
    from callbot.llm.infer import Responder
    from callbot.llm.model import build_tiny_model, count_parameters
    from callbot.llm.params import GenerationParams, LLMParams
    from callbot.llm.tokenizer import load_tokenizer, train_tokenizer
    from callbot.llm.train import _fit, chat_example
    from tests.support.llm_sample_data import sample_llm_rows

    hf_logging.disable_progress_bar()
    params = LLMParams.model_validate(read_yaml(Path("params.yaml"))["llm"])
    threads = args.threads or params.threads or 1
    torch.set_num_threads(threads)
    rows = sample_llm_rows()["train"]
    texts = [m["content"] for r in rows for m in r["messages"]]
    ratios: dict[str, list[float]] = {"lora_speed": [], "lora_memory": [], "lora_trainable": []}
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = load_tokenizer(train_tokenizer(texts, Path(tmp) / "tok", params.tokenizer))
        examples = [chat_example(tokenizer, r["messages"], params.lora.max_length) for r in rows]
        batch = params.lora.batch_size
        examples = (examples * (args.steps * batch // len(examples) + 1))[: args.steps * batch]
        chats = [r["messages"][:-1] for r in rows if r["task"] == "ars"][:8]
        print(f"{len(examples)} examples x 1 epoch = {args.steps} steps of {batch}; threads={threads}")
        warm = build_tiny_model(params.candidates[0].arch, tokenizer, params.tiny.model_dump(), params.seed)
        _fit(warm, examples[: 2 * batch], tokenizer.pad_token_id, epochs=1, learning_rate=1e-3, batch_size=batch,
             seed=0, checkpoints=Path(tmp) / "warm-up", save_steps=10**9, label="warm-up")  # fmt: skip
        for candidate in params.candidates:
            results = {}
            for mode in ("full", "lora"):
                model = build_tiny_model(candidate.arch, tokenizer, params.tiny.model_dump(), params.seed)
                if mode == "lora":
                    lora = LoraConfig(r=params.lora.r, lora_alpha=params.lora.alpha, lora_dropout=0.0,
                                      target_modules=list(candidate.lora_targets), task_type="CAUSAL_LM")  # fmt: skip
                    model = get_peft_model(model, lora)
                total, trainable = count_parameters(model)
                memory = state_bytes(model, params.lora.learning_rate)
                started = time.perf_counter()
                _fit(model, examples, tokenizer.pad_token_id, epochs=1, learning_rate=params.lora.learning_rate,
                     batch_size=batch, seed=0, checkpoints=Path(tmp) / f"{candidate.name}-{mode}",
                     save_steps=10**9, label=f"{mode} {candidate.name}")  # fmt: skip
                seconds = time.perf_counter() - started
                results[mode] = (len(examples) / seconds, memory, trainable, total)
                print(
                    f"{candidate.name:12s} {mode:4s} train {len(examples) / seconds:7.1f} samples/s  "
                    f"state {memory / 1024:8.1f} KiB  trainable {trainable:,}/{total:,}"
                )
            generation = GenerationParams.model_validate(
                {**params.generation.model_dump(), "max_new_tokens": args.new_tokens}
            )
            model = build_tiny_model(candidate.arch, tokenizer, params.tiny.model_dump(), params.seed)
            responder = Responder(model, tokenizer, params.system_prompt, params.guard, generation)
            responder.generate(chats[:1], batch_size=1)  # warm-up
            speeds = []
            for chat in chats:
                ids = torch.tensor([responder.prompt_ids(chat)])
                started = time.perf_counter()
                with torch.no_grad():
                    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                         max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                         pad_token_id=tokenizer.pad_token_id)  # fmt: skip
                speeds.append((out.shape[1] - ids.shape[1]) / (time.perf_counter() - started))
            print(
                f"{candidate.name:12s} generate {statistics.median(speeds):7.1f} tokens/s (greedy, batch 1)"
            )
            full, lora = results["full"], results["lora"]
            ratios["lora_speed"].append(lora[0] / full[0])
            ratios["lora_memory"].append(lora[1] / full[1])
            ratios["lora_trainable"].append(lora[2] / full[2])
    line = " ".join(
        f"{c.name}:speed={s:.2f}x,state_memory={m:.3f}x,trainable={t:.3f}x"
        for c, s, m, t in zip(
            params.candidates,
            ratios["lora_speed"],
            ratios["lora_memory"],
            ratios["lora_trainable"],
            strict=True,
        )
    )
    print(f"LoRA vs full fine-tune (baseline 1.0x): {line}")


if __name__ == "__main__":
    main()
