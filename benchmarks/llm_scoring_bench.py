"""Answer log-likelihood scoring on Gemma 3 270M: the cheap path against the full-head forward pass.

The router rescores its shortlisted scripted answers with the LLM at every caller turn, and
evaluate-bot does so for every held-out call; perplexity scores every reference answer. With a
262,144-token vocabulary the plain forward pass spends most of its time (and a [batch, length, vocab]
float tensor) on positions nothing is scored at. Timed here in the same run on the same inputs:

- baseline: :func:`callbot.llm.scoring.full_head_answer_logliks` (each answer with its own copy of the
  prompt, the whole vocabulary at every position: what ``Responder.answer_logliks`` did before);
- cheap: :func:`callbot.llm.scoring.prefix_answer_logliks` (the prompt once, its cache shared, the
  head only where an answer token is predicted);
- memo: ``Responder.answer_logliks`` meeting the same turn again (both channels, the reference text).

The base is ``models/bases/gemma-3-270m`` (``callbot bases`` with gemma-3-270m in ``bases.names``) or
``--base DIR``. Prompts are the KDCA system prompt with real caller questions, the answers five
scripted KDCA answers; the largest difference between the two paths is printed with the ratio.

    .venv/bin/python benchmarks/llm_scoring_bench.py [--base DIR] [--turns 6] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

SYSTEM = "당신은 질병관리청 1339 콜센터 상담원입니다. 질문에 정확하고 짧게 한국어로 답하세요."
QUESTIONS = (
    "코로나19 검사는 어디에서 받을 수 있나요?",
    "이번 주에 건강검진 받으려면 어떻게 하나요?",
    "저희 어머니가 올해 건강검진 대상인가요?",
    "독감 예방접종은 무료인가요?",
    "해외 여행 다녀왔는데 격리해야 하나요?",
    "열이 나고 기침이 계속 나요.",
)
ANSWERS = (
    "가까운 보건소 선별진료소에서 검사를 받으실 수 있습니다. 방문 전에 전화로 확인해 주세요.",
    "네 확인해 드리겠습니다.",
    "예방접종은 위탁의료기관에서 받으실 수 있으며 사전 예약이 필요합니다.",
    "죄송합니다. 정확한 안내를 위해 상담원에게 연결해 드리겠습니다.",
    "건강검진 대상자는 국민건강보험공단에서 확인하실 수 있습니다.",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=Path("models/bases/gemma-3-270m"))
    parser.add_argument("--turns", type=int, default=len(QUESTIONS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not (args.base / "config.json").is_file():
        raise SystemExit(f"{args.base}: no model; run `callbot bases` with gemma-3-270m in bases.names")

    import torch
    from transformers import AutoModelForCausalLM

    from callbot.llm.scoring import full_head_answer_logliks, prefix_answer_logliks
    from callbot.llm.tokenizer import load_tokenizer

    torch.set_num_threads(args.threads)
    model = AutoModelForCausalLM.from_pretrained(str(args.base)).eval()
    tokenizer = load_tokenizer(args.base)
    answers = [
        tokenizer(a, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for a in ANSWERS
    ]
    prompts = []
    for question in (QUESTIONS * (1 + args.turns // len(QUESTIONS)))[: args.turns]:
        chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
        text = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        prompts.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    prefix_answer_logliks(model, prompts[0], answers)  # warm-up (allocator, threads)

    times: dict[str, list[float]] = {"full_head": [], "cheap": []}
    worst = 0.0
    for prompt in prompts:
        started = time.perf_counter()
        slow = full_head_answer_logliks(model, prompt, answers)
        times["full_head"].append(time.perf_counter() - started)
        started = time.perf_counter()
        fast = prefix_answer_logliks(model, prompt, answers)
        times["cheap"].append(time.perf_counter() - started)
        worst = max(worst, *(abs(a - b) for a, b in zip(slow, fast, strict=True)))
    full, cheap = statistics.median(times["full_head"]), statistics.median(times["cheap"])
    tokens = [len(p) for p in prompts]
    print(
        f"gemma-3-270m, {args.threads} threads, {len(prompts)} turns, prompt {min(tokens)}-{max(tokens)} tokens, "
        f"5 answers of {sorted(len(a) for a in answers)} tokens"
    )
    print(f"full-head path      {full:7.3f} s per turn (median)")
    print(f"shared prompt cache {cheap:7.3f} s per turn (median)")
    print(f"ratio full-head / cheap: {full / cheap:.2f}x; largest |difference| {worst:.2e} nats per token")


if __name__ == "__main__":
    main()
