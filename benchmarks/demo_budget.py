"""The demo's budget: what evaluate-bot's LLM rescoring costs a turn, before and after the cuts, in CPU seconds.

evaluate-bot's time is Gemma 3 270M rescoring the router's five shortlisted scripted answers at every
caller turn (about 190 distinct turns: 40 items per split x 2 channels, and the test reference text).
Per turn, ~200 rows go through the 262,144-row vocabulary head (about 60 % of the turn on one thread)
and ~265 positions through the backbone. Two cuts, both exact up to float rounding:

- the system prompt's key/value cache is computed once per responder, not at every turn
  (:class:`callbot.llm.scoring.Prefix`): 41 of a turn's ~55 prompt positions;
- every answer's first token is predicted from the prompt's last row: the head projects it once,
  not once per answer (:func:`callbot.llm.scoring.first_logprobs`).

evaluate-llm's time is Gemma generating (base and fine-tuned) for 2 test rows per task: a decode
step of a 270M model streams ~1 GB of float32 weights whatever the batch, so the five subsets
(4 tasks and the seen script) now decode as one batch (``callbot.llm.evaluate._generate_all``)
instead of one ``generate`` per subset. ``--prepared`` times both on the same rows (same outputs
expected; mismatches are printed).

Timed here on the same model, prompts and answers, in the same run, in CPU seconds (the box is
shared; wall time would measure the neighbours): before = the previous path (no shared prefix, the
first row projected per answer), after = :func:`callbot.llm.scoring.prefix_answer_logliks` with the
responder's shared prefix. The largest difference between the two is printed with the ratios.

    .venv/bin/python benchmarks/demo_budget.py [--model models/llm/gemma-3-270m/merged] [--turns 6] [--rounds 3] [--threads 1]
        [--prepared data/prepared --examples 2]

``--bot N`` runs evaluate-bot itself twice on N calls per split (params.yaml's ``bot`` section, reports
under a temporary folder): before = every candidate rescored in process on ``bot.threads``
(``rescoring_workers: 1``), after = the large candidates' rescoring shared by one single-thread
worker process per core (:mod:`callbot.bot.rescore`). It prints each run's wall and CPU seconds
(this process and its workers) and whether metrics.json (timings aside), calibration.json and
turns.jsonl are the same. ``--rescore N`` times only the LLM part: N distinct words ranked by
``--model`` on one thread here, then in two 1-thread workers (CPU seconds, model loads included).

``--train STEPS`` runs train-llm twice on every candidate with at most STEPS pretraining and LoRA
steps: before = one after another (``llm.workers: 1``), a candidate with its own limits on
``--before-threads`` threads (0: all cores, as Gemma trained before the cut), after = params.yaml
(the 1-thread candidates side by side, :mod:`callbot.llm.workers`); it prints wall and CPU seconds
and whether every file written (timings aside) is byte-identical.
"""

from __future__ import annotations

import argparse
import resource
import statistics
from pathlib import Path
from typing import Any

QUESTIONS = (
    "코로나19 검사는 어디에서 받을 수 있나요?",
    "독감 예방접종은 무료인가요?",
    "해외 여행 다녀왔는데 격리해야 하나요?",
    "열이 나고 기침이 계속 나요.",
    "접종하고 나서 팔이 아픈데 괜찮은 건가요",
    "결핵 검사 결과는 언제 나오나요",
)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (the neighbours' load does not count)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def before(model: Any, prompt: list[int], answers: list[list[int]]) -> list[float]:
    """The previous path: the whole prompt at every turn, the prompt's last row projected once per answer."""
    import torch

    from callbot.llm.scoring import backbone, token_logprobs

    stack = backbone(model)
    with torch.no_grad():
        first = stack(input_ids=torch.tensor([prompt]), use_cache=True)
        cache = first.past_key_values
        cache.batch_repeat_interleave(len(answers))
        width = max(len(a) for a in answers)
        fed = [a[:-1] + [0] * (width - len(a)) for a in answers]
        mask = [[1] * (len(prompt) + len(a) - 1) + [0] * (width - len(a)) for a in answers]
        hidden = stack(
            input_ids=torch.tensor(fed),
            attention_mask=torch.tensor(mask),
            past_key_values=cache,
            use_cache=True,
        ).last_hidden_state
        rows = [
            torch.cat([first.last_hidden_state[0, -1:], hidden[i, : len(a) - 1]])
            for i, a in enumerate(answers)
        ]
        logp = token_logprobs(model, torch.cat(rows), torch.tensor([t for a in answers for t in a]))
    return [float(s.mean()) for s in torch.split(logp, [len(a) for a in answers])]


def interleaved(fns: tuple[Any, Any], turns: list[list[int]], answers: list[list[int]], rounds: int) -> Any:
    """CPU seconds of each of two paths turn by turn, alternating, ``rounds`` times: a neighbour's burst
    hits both alike. Returns the per-turn seconds of each and both paths' results of the last round."""
    for fn in fns:
        fn(turns[0], answers)  # warm-up (allocator, threads)
    seconds: tuple[list[float], list[float]] = ([], [])
    results: tuple[list[list[float]], list[list[float]]] = ([], [])
    for _ in range(rounds):
        for prompt in turns:
            for i, fn in enumerate(fns):
                started = cpu_seconds()
                results[i].append(fn(prompt, answers))
                seconds[i].append(cpu_seconds() - started)
    return seconds, results


def generation(responder: Any, prepared: Path, examples: int) -> None:
    """evaluate-llm's generation: one ``generate`` per subset (before) against one for all (after)."""
    from callbot.llm.evaluate import _generate_all, _subset
    from callbot.llm.train import load_llm_dataset

    dd = load_llm_dataset(prepared)
    subsets = {t: _subset(dd["test"], t, examples) for t in ("ars", "summary", "emotion", "intent")}
    subsets["seen"] = _subset(dd["train"], "ars", examples)
    started = cpu_seconds()
    old = {
        n: responder.generate([m[:-1] for m in rows["messages"]], batch_size=16)
        for n, rows in subsets.items()
    }
    old_s, started = cpu_seconds() - started, cpu_seconds()
    new = _generate_all(responder, subsets, 16)
    new_s = cpu_seconds() - started
    differ = sum(a != b for n in old for a, b in zip(old[n], new[n], strict=True))
    rows = sum(len(r) for r in subsets.values())
    print(
        f"evaluate-llm generation ({rows} rows), before: {old_s:.1f} CPU s; after: {new_s:.1f}; ratio {old_s / new_s:.2f}x"
    )
    print(f"outputs that differ: {differ} of {rows}")


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished child processes (the rescoring workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


TIMINGS = {"seconds", "latency", "median_latency_s", "llm_median_s"}


def untimed(value: Any) -> Any:
    """metrics.json without its timings (they differ between any two runs)."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in TIMINGS}
    return value


def rescore_runs(model: Path, count: int) -> None:
    """Gemma's rescoring of ``count`` distinct caller words: here on one thread, then in two 1-thread
    workers (:func:`callbot.bot.rescore.prefill`); CPU seconds of each and whether the memos agree."""
    import time

    import torch

    from callbot.bot.rescore import prefill
    from callbot.llm.infer import load_responder

    torch.set_num_threads(1)
    words = [f"{q} {'정말 ' * (i // len(QUESTIONS))}".strip() for i, q in enumerate(QUESTIONS * count)][
        :count
    ]
    here = load_responder(model)
    cpu = cpu_seconds()
    for text in words:
        here.rank(text)
    alone = cpu_seconds() - cpu
    there = load_responder(model)
    wall, kids = time.perf_counter(), children_cpu_seconds()
    prefill(there, model, words, 2)
    shared = children_cpu_seconds() - kids
    print(
        f"{count} words: one thread here {alone:.1f} CPU s ({alone / count:.2f} a word); two workers "
        f"{shared:.1f} CPU s together, model loads included (wall {time.perf_counter() - wall:.1f} s on this box)"
    )
    print(f"memos the same: {here._logliks == there._logliks}")


def bot_runs(items: int, before_threads: int) -> None:
    """evaluate-bot before (in process) and after (rescoring workers) on the same calls; reports compared."""
    import json
    import tempfile
    import time

    from callbot.bot.evaluate import run_evaluate_bot
    from callbot.config import load_params

    bot = load_params().bot
    out = Path(tempfile.mkdtemp(prefix="demo-budget-bot."))
    runs = {}
    for name, workers in (("before", 1), ("after", 0)):
        threads = before_threads if name == "before" else bot.threads
        params = bot.model_copy(
            update={
                "max_items": items,
                "report": str(out / name),
                "rescoring_workers": workers,
                "threads": threads,
            }
        )
        wall, cpu, kids = time.perf_counter(), cpu_seconds(), children_cpu_seconds()
        run_evaluate_bot(params)
        runs[name] = (time.perf_counter() - wall, cpu_seconds() - cpu, children_cpu_seconds() - kids)
        print(
            f"evaluate-bot {name}: wall {runs[name][0]:.1f} s, CPU {runs[name][1]:.1f} s here + {runs[name][2]:.1f} s in workers"
        )
    read = {n: json.loads((out / n / "metrics.json").read_text("utf-8")) for n in runs}
    print(f"metrics.json (timings aside) the same: {untimed(read['before']) == untimed(read['after'])}")
    for name in ("calibration.json", "turns.jsonl"):
        same = (out / "before" / name).read_bytes() == (out / "after" / name).read_bytes()
        print(f"{name} byte-identical: {same}")
    print(f"reports in {out}")


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path: timings dropped, and what differs between any two runs
    (the base's absolute path; peft writes its target modules from a set, in hash order) normalised."""
    import json

    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name in ("train.json", "pretrain.json"):  # timings
            data = json.dumps(
                {k: v for k, v in json.loads(data).items() if not k.endswith("seconds")}
            ).encode()
        if path.name in ("adapter_config.json", "README.md"):  # the base's absolute path; peft's target set
            lines = data.replace(str(root).encode(), b"").split(b"\n")
            data = b"\n".join(sorted(line.rstrip().rstrip(b",") for line in lines))
        out[str(path.relative_to(root))] = data
    return out


def capped(llm: Any, steps: int, workers: int, threads: int | None) -> Any:
    """``llm`` with every candidate's steps capped at ``steps``, ``workers``, and the limits' threads when given."""
    candidates = []
    for c in llm.candidates:
        if c.limits is not None:
            update = {"max_steps": min(c.limits.max_steps or steps, steps)}
            if threads is not None:
                update["threads"] = threads
            c = c.model_copy(update={"limits": c.limits.model_copy(update=update)})
        candidates.append(c)
    return llm.model_copy(
        update={
            "candidates": candidates, "workers": workers,
            "pretrain": llm.pretrain.model_copy(update={"max_steps": steps}),
            "lora": llm.lora.model_copy(update={"max_steps": steps}),
        }
    )  # fmt: skip


def train_runs(steps: int, before_threads: int) -> None:
    """train-llm before (one after another) and after (params.yaml: the 1-thread candidates side by side)."""
    import tempfile
    import time

    from callbot.config import load_params
    from callbot.llm.train import run_train_llm

    llm = load_params().llm
    out = Path(tempfile.mkdtemp(prefix="demo-budget-train."))
    trees = {}
    for name, workers, threads in (("before", 1, before_threads), ("after", llm.workers, None)):
        params = capped(llm, steps, workers, threads).model_copy(update={"out": str(out / name / "llm")})
        wall, cpu, kids = time.perf_counter(), cpu_seconds(), children_cpu_seconds()
        run_train_llm(Path(llm.prepared), params)
        took = (time.perf_counter() - wall, cpu_seconds() - cpu, children_cpu_seconds() - kids)
        print(
            f"train-llm {name}: wall {took[0]:.1f} s, CPU {took[1]:.1f} s here + {took[2]:.1f} s in workers"
        )
        trees[name] = tree_bytes(out / name / "llm")
    differ = sorted(
        k
        for k in trees["before"].keys() | trees["after"].keys()
        if trees["before"].get(k) != trees["after"].get(k)
    )
    print(
        f"{len(trees['before'])} files; byte-identical: {not differ}{'; differ: ' + ', '.join(differ) if differ else ''}"
    )
    print(f"models in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/llm/gemma-3-270m/merged"))
    parser.add_argument("--turns", type=int, default=len(QUESTIONS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prepared", type=Path, default=None, help="also time evaluate-llm's generation")
    parser.add_argument(
        "--examples", type=int, default=2, help="rows per task (Gemma's eval_examples_per_task)"
    )
    parser.add_argument(
        "--bot", type=int, default=0, help="evaluate-bot before/after on this many calls per split"
    )
    parser.add_argument("--train", type=int, default=0, help="train-llm before/after with this many steps")
    parser.add_argument(
        "--before-threads",
        type=int,
        default=0,
        help="before: a candidate's own threads (--train), bot.threads (--bot)",
    )
    parser.add_argument(
        "--rescore", type=int, default=0, help="Gemma rescoring of this many words, here vs workers"
    )
    args = parser.parse_args()
    if args.rescore:
        rescore_runs(args.model, args.rescore)
        return
    if args.train:
        train_runs(args.train, args.before_threads)
        return
    if args.bot:
        bot_runs(args.bot, args.before_threads)
        return
    if not (args.model / "config.json").is_file():
        raise SystemExit(f"{args.model}: no model; run `callbot train-llm` (gemma-3-270m in llm.candidates)")

    import torch

    from callbot.llm.infer import load_responder
    from callbot.llm.scoring import prefix_answer_logliks

    torch.set_num_threads(args.threads)
    responder = load_responder(args.model)
    assert responder.router is not None, f"{args.model}: no router.json"
    tok = responder.tokenizer
    answers = [
        [*tok(e.answer, add_special_tokens=False)["input_ids"], tok.eos_token_id]
        for e in responder.router.script.entries[:5]
    ]
    turns = [
        responder.prompt_ids(responder.messages(q))
        for q in (QUESTIONS * (1 + args.turns // len(QUESTIONS)))[: args.turns]
    ]
    shared = responder._system_prefix()
    paths = (
        lambda p, a: before(responder.model, p, a),
        lambda p, a: prefix_answer_logliks(responder.model, p, a, shared),
    )
    (old_t, new_t), (old, new) = interleaved(paths, turns, answers, args.rounds)
    worst = max(abs(x - y) for o, n in zip(old, new, strict=True) for x, y in zip(o, n, strict=True))
    ratio = statistics.median(o / n for o, n in zip(old_t, new_t, strict=True))
    print(
        f"{args.model}, {args.threads} thread(s), {len(turns)} turns x {args.rounds} rounds, prompt {len(turns[0])} "
        f"tokens (shared system prefix {len(shared.ids) if shared else 0}), answers {sorted(len(a) for a in answers)}"
    )
    print(
        f"answer rescoring, before: {statistics.median(old_t):.3f} CPU s a turn (median); after: "
        f"{statistics.median(new_t):.3f}; median per-turn ratio {ratio:.2f}x"
    )
    print(f"largest |difference| {worst:.2e} nats per token")
    if args.prepared is not None:
        generation(responder, args.prepared, args.examples)


if __name__ == "__main__":
    main()
