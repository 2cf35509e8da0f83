"""A PROXY for what the call-centre corpus's train-only phrasings buy the intent model.

Two modes, each the sample's KDCA Training caller questions built twice with the same params and
seed, a logistic head fitted on each and scored on the prepared validation split (which train-only
phrasings leave unchanged; the script checks that one of the two builds equals ``data/prepared``'s
train split):

- ``in-scope``: without vs with the KDCA intents' ``train_questions`` (accuracy per C, and unseen
  errors between the known neighbour intents);
- ``out-of-scope``: with ``train_questions`` in both, without vs with ``out_of_scope_train``. Besides
  accuracy it fits what ``train-intent`` fits on validation (the candidate's C, the temperature, the
  handover policy under ``intent.oos_recall_target``/``wrong_answer_target``) and reports the share of
  out-of-scope questions handed over at that policy, per kind, with in-scope success and wrong
  answers. "own" fits and scores on all of validation (in-sample, as the stage's validation row);
  "cross" fits on half of validation and scores the other half, both ways, pooled (out-of-sample).
  "top_out_of_scope" counts the out-of-scope questions whose top intent is itself out of scope (no
  threshold: what the head learnt), "sweep" the handovers at fixed lower thresholds.
  The typed acceptance questions are scored at the "own" policy, report-only (no confirm turn, no
  served floor: a proxy of `benchmarks/acceptance_bench.py`), and never used to choose anything.

Validation only (test is left for the real run). Frozen e5 by default; ``--tuned`` fine-tunes e5-ft
(``intent.finetune_*``) on each build instead, as train-intent does (minutes of CPU per build).

    python benchmarks/train_phrasings_bench.py [in-scope|out-of-scope] [--tuned] [--seed N] [--folds K]

``--folds K`` (out-of-scope): the 56 out-of-scope train-only phrasings as K folds, each scored (as
new wording) by a model trained without it, beside a model trained without any: handed over at the
model's own validation policy and top-1 out of scope, per kind. More items than validation's 17.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from callbot.intent.data import Example
    from callbot.intent.params import IntentParams
    from callbot.sample.callcenter import Corpus

NEIGHBOURS = ({"입국 검역 문의", "입국 후 증상 발생"}, {"광견병 노출 후 접종", "동물 물림 대처"})
SWEEP = (0.5, 0.7, 0.8, 0.9)  # fixed thresholds (margin 0) below the policy's, where recall is not saturated
MODES = {"in-scope": ((False, False), (True, False)), "out-of-scope": ((True, False), (True, True))}


def training_questions(kdca_extras: bool, oos_extras: bool) -> list[tuple[str, str]]:
    """(text, intent) of every KDCA Training caller question, with or without each kind of
    train-only phrasing (the KDCA intents' ``train_questions``, the out-of-scope kinds' ones)."""
    from callbot.sample.callcenter import corpus

    c = corpus()
    if not kdca_extras:
        bare = {d: tuple(dataclasses.replace(i, train_questions=()) for i in g) for d, g in c.domains.items()}
        c = dataclasses.replace(c, domains=bare)
    if not oos_extras:
        oos = tuple(dataclasses.replace(i, train_questions=()) for i in c.out_of_scope)
        c = dataclasses.replace(c, out_of_scope=oos)
    return kdca_training(c)


def kdca_training(c: Corpus) -> list[tuple[str, str]]:
    from callbot.config import load_params
    from callbot.sample.callcenter import KDCA, build_dialogues

    return [
        (s["고객질문(요청)"], s["고객의도"])
        for d in build_dialogues(load_params().sample, c)
        if d.split == "Training" and d.domain == KDCA
        for s in d.sentences
        if s["고객질문(요청)"]
    ]


def fold_builds(folds: int) -> list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per fold of the out-of-scope train-only phrasings: the Training questions without that fold,
    and the fold's phrasings filled with seen slot values (new wording to the model trained without)."""
    import random

    from callbot.config import load_params
    from callbot.sample.callcenter import corpus, fill, holdout

    c, rng = corpus(), random.Random(0)
    values = holdout(c, load_params().sample.seed).slot_values(c.slots, unseen=False)
    items = [(i.name, q) for i in c.out_of_scope for q in i.train_questions]
    found = []
    for part in (items[j::folds] for j in range(folds)):
        kept = tuple(
            dataclasses.replace(
                i, train_questions=tuple(q for q in i.train_questions if (i.name, q) not in part)
            )
            for i in c.out_of_scope
        )
        found.append(
            (
                kdca_training(dataclasses.replace(c, out_of_scope=kept)),
                [(fill(q, values, rng), n) for n, q in part],
            )
        )
    return found


def score(
    pairs: list[tuple[str, str]], emb: dict[str, Any], val: list[Example], params: IntentParams
) -> dict[float, dict[str, float]]:
    """Validation accuracy per regularisation C, and unseen errors between the known neighbour intents."""
    from callbot.intent.train import accuracy

    out = {}
    for c, (labels, head) in heads(pairs, emb, params).items():
        pred = [labels[i] for i in head.logits(rows(emb, [e.text for e in val])).argmax(1)]
        a = accuracy(pred, val)
        mixed = sum(not e.seen and {e.intent, q} in NEIGHBOURS for e, q in zip(val, pred, strict=True))
        out[c] = {"unseen": a["unseen"], "in_scope_unseen": a["in_scope_unseen"], "neighbour_errors": mixed}
    return out


def rows(emb: dict[str, Any], texts: list[str]) -> np.ndarray:
    import numpy as np

    return np.stack([emb[t] for t in texts]).astype(np.float32)


def heads(pairs: list[tuple[str, str]], emb: dict[str, Any], params: IntentParams) -> dict[float, Any]:
    """The logistic head (``train.fit_head``) per C of ``intent.C``, with its label order."""
    import numpy as np

    from callbot.intent.train import fit_head

    labels = sorted({i for _, i in pairs})
    y = np.array([labels.index(i) for _, i in pairs])
    x = rows(emb, [t for t, _ in pairs])
    return {c: (labels, fit_head(x, y, c, params)) for c in params.C}


def fit_policy(logits: np.ndarray, items: list[Example], labels: list[str], params: IntentParams) -> tuple:
    """What train-intent fits on validation: the temperature, then the handover policy (t, m)."""
    from callbot.intent.calibrate import choose_policy, policy_curve
    from callbot.intent.model import softmax
    from callbot.intent.train import calibration, policy_inputs

    temperature = calibration(logits, items, labels)["temperature"]
    tops, conf, margin = policy_inputs(softmax(logits, temperature), labels)
    curve = policy_curve(tops, conf, margin, [e.intent for e in items], params.thresholds, params.margins)
    point = choose_policy(curve, params.oos_recall_target, params.wrong_answer_target)
    return temperature, point.threshold, point.margin


def decide(logits: np.ndarray, labels: list[str], policy: tuple) -> list[str | None]:
    """The intent each question is answered with under ``policy``, or None for a handover."""
    from callbot.intent.calibrate import handover
    from callbot.intent.model import softmax
    from callbot.intent.train import policy_inputs

    temperature, t, m = policy
    tops, conf, margin = policy_inputs(softmax(logits, temperature), labels)
    return [
        None if handover(top) or c < t or g < m else top for top, c, g in zip(tops, conf, margin, strict=True)
    ]


def outcome_summary(items: list[Example], answered: list[str | None]) -> dict[str, Any]:
    """Out-of-scope handed over (all, per kind, as counts), in-scope success and wrong answers."""
    from callbot.intent.calibrate import handover

    oos = Counter()
    for e, a in zip(items, answered, strict=True):
        if handover(e.intent):
            oos[e.intent, a is None] += 1
    kinds = sorted({k for k, _ in oos})
    scoped = [(e, a) for e, a in zip(items, answered, strict=True) if not handover(e.intent)]
    handed = sum(oos[k, True] for k in kinds)
    return {
        "oos_handed_over": f"{handed}/{handed + sum(oos[k, False] for k in kinds)}",
        "by_kind": {k.split(":")[-1]: f"{oos[k, True]}/{oos[k, True] + oos[k, False]}" for k in kinds},
        "in_scope_success": f"{sum(a == e.intent for e, a in scoped)}/{len(scoped)}",
        "wrong": f"{sum(a is not None and a != e.intent for e, a in zip(items, answered, strict=True))}/{len(items)}",
    }


def over_refused(val: list[Example], logits: np.ndarray, labels: list[str]) -> list[str]:
    """In-scope questions whose top intent is out of scope (the cost of learning to refuse), as
    ``text -> kind``."""
    from callbot.intent.calibrate import handover

    tops = [labels[i] for i in logits.argmax(1)]
    return [
        f"{e.text} -> {t}" for e, t in zip(val, tops, strict=True) if handover(t) and not handover(e.intent)
    ]


def cross_fitted(logits: np.ndarray, val: list[Example], labels: list[str], params: IntentParams) -> list:
    """Each half of validation decided by the temperature and policy fitted on the other half."""
    answered: list[str | None] = [None] * len(val)
    for fold in (0, 1):
        fit = [i for i in range(len(val)) if i % 2 != fold]
        policy = fit_policy(logits[fit], [val[i] for i in fit], labels, params)
        held = [i for i in range(len(val)) if i % 2 == fold]
        for i, a in zip(held, decide(logits[held], labels, policy), strict=True):
            answered[i] = a
    return answered


def acceptance_typed(emb: dict[str, Any], head: Any, labels: list[str], policy: tuple) -> dict[str, str]:
    """Report-only: the hand-written acceptance questions typed, decided at ``policy`` (no confirm)."""
    from callbot.bot import acceptance as acc

    questions = acc.load_set().questions
    answered = decide(head.logits(rows(emb, [q.text for q in questions])), labels, policy)
    scoped = [(q, a) for q, a in zip(questions, answered, strict=True) if q.in_scope]
    wrong = [
        f"{q.text} -> {a}"
        for q, a in zip(questions, answered, strict=True)
        if a is not None and a != q.expect
    ]
    return {
        "in_scope_right": f"{sum(a == q.expect for q, a in scoped)}/{len(scoped)}",
        "wrong": f"{len(wrong)}/{len(questions)}",
        "no_script_handed_over": f"{sum(a is None for q, a in zip(questions, answered, strict=True) if not q.in_scope)}"
        f"/{sum(not q.in_scope for q in questions)}",
        "wrong_questions": wrong,
        "in_scope_handed_over": [q.text for q, a in scoped if a is None],
    }


def own_model(
    pairs: list[tuple[str, str]], emb: dict[str, Any], val: list[Example], params: IntentParams
) -> tuple:
    """The head at the C train-intent would pick (``train.pick``), its labels and its validation policy."""
    from callbot.intent.train import Candidate, accuracy, pick

    fitted, labels = [], sorted({i for _, i in pairs})
    for c, (_, head) in heads(pairs, emb, params).items():
        pred = [labels[i] for i in head.logits(rows(emb, [e.text for e in val])).argmax(1)]
        fitted.append(Candidate("e5", c, head, {"validation": accuracy(pred, val)}))
    chosen = pick(fitted, params.min_improvement)
    return (
        chosen,
        labels,
        fit_policy(chosen.head.logits(rows(emb, [e.text for e in val])), val, labels, params),
    )


def fold_scores(
    folds: int, val: list[Example], params: IntentParams, tuned: bool
) -> dict[str, dict[str, str]]:
    """Out-of-scope train-only phrasings handed over at the model's own policy when unseen: by a model
    trained without any (baseline), and by one trained on the other folds."""
    from callbot.intent.calibrate import handover

    parts = fold_builds(folds)
    bare = training_questions(True, False)
    held = [h for _, hs in parts for h in hs]
    texts = all_texts([bare, *(b for b, _ in parts)], val, [t for t, _ in held])
    shared = None if tuned else embeddings(texts, [], False, params)
    out = {}
    for name, runs in (("without", [(bare, held)]), (f"{folds}-fold", parts)):
        counts = Counter()
        for pairs, items in runs:
            emb = shared or embeddings(all_texts([pairs], val, [t for t, _ in items]), pairs, True, params)
            chosen, labels, policy = own_model(list(dict.fromkeys(pairs)), emb, val, params)
            logits = chosen.head.logits(rows(emb, [t for t, _ in items]))
            tops = [labels[i] for i in logits.argmax(1)]
            for (_, kind), a, top in zip(items, decide(logits, labels, policy), tops, strict=True):
                counts[kind.split(":")[-1], "n"] += 1
                counts[kind.split(":")[-1], "handed"] += a is None
                counts[kind.split(":")[-1], "top"] += handover(top)
        kinds = sorted({k for k, _ in counts})
        out[name] = {
            k: f"handed {counts[k, 'handed']}/{counts[k, 'n']}, top {counts[k, 'top']}" for k in kinds
        }
    return out


def handover_scores(
    pairs: list[tuple[str, str]], emb: dict[str, Any], val: list[Example], params: IntentParams
) -> dict[str, Any]:
    """At the C train-intent would pick (``train.pick``): accuracy, then handovers at its own policy."""
    chosen, labels, policy = own_model(pairs, emb, val, params)
    logits = chosen.head.logits(rows(emb, [e.text for e in val]))
    keep = ("unseen", "in_scope", "in_scope_unseen", "n_in_scope_unseen")
    return {
        "C": chosen.c, "accuracy": {k: chosen.scores["validation"][k] for k in keep},
        "policy": {"temperature": round(policy[0], 3), "threshold": policy[1], "margin": policy[2]},
        "in_scope_top_out_of_scope": over_refused(val, logits, labels),
        "top_out_of_scope": outcome_summary(val, decide(logits, labels, (policy[0], 0.0, 0.0)))["by_kind"],
        "sweep": {t: outcome_summary(val, decide(logits, labels, (policy[0], t, 0.0))) for t in SWEEP},
        "own": outcome_summary(val, decide(logits, labels, policy)),
        "cross": outcome_summary(val, cross_fitted(logits, val, labels, params)),
        "acceptance_typed": acceptance_typed(emb, chosen.head, labels, policy),
    }  # fmt: skip


def embeddings(texts: list[str], pairs: list[tuple[str, str]], tuned: bool, params: IntentParams) -> dict:
    """Rows of ``texts``: frozen e5, or e5-ft fine-tuned on ``pairs`` as train-intent tunes it."""
    from callbot.intent.encoders import pretrained
    from callbot.intent.finetune import finetune

    started = time.process_time()
    if tuned:
        unique = list(dict.fromkeys(pairs))
        found = finetune([t for t, _ in unique], [i for _, i in unique], texts, params)[1]
    else:
        found = pretrained("e5", texts, 1)
    print(f"{'e5-ft' if tuned else 'e5'} on {len(texts)} texts: {time.process_time() - started:.1f} CPU s")
    return dict(zip(texts, found, strict=True))


def main() -> None:
    import torch

    from callbot.bot import acceptance as acc
    from callbot.config import load_params
    from callbot.intent.data import load_examples

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", choices=sorted(MODES), default="in-scope")
    parser.add_argument("--tuned", action="store_true", help="fine-tune e5-ft per build (slow)")
    parser.add_argument("--folds", type=int, help="k-fold over out_of_scope_train instead")
    parser.add_argument("--seed", type=int, help="intent.seed for the head and e5-ft (default: params)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = load_params().intent
    if args.seed is not None:
        params = params.model_copy(update={"seed": args.seed})
    examples = load_examples(params)
    val = examples.splits["validation"]
    if args.folds:
        print(
            f"out-of-scope train-only phrasings, unseen: {fold_scores(args.folds, val, params, args.tuned)}"
        )
        return
    builds = [training_questions(*flags) for flags in MODES[args.mode]]
    prepared = Counter((e.text, e.intent) for e in examples.splits["train"])
    if prepared not in [Counter(b) for b in builds]:
        raise SystemExit("data/prepared's train split is neither build of this sample; rerun prepare")
    extra = [q.text for q in acc.load_set().questions] if args.mode == "out-of-scope" else []
    shared = None if args.tuned else embeddings(all_texts(builds, val, extra), [], False, params)
    for name, pairs in zip(("without", "with"), builds, strict=True):
        unique = list(dict.fromkeys(pairs))
        emb = shared or embeddings(all_texts([pairs], val, extra), pairs, True, params)
        if args.mode == "in-scope":
            for c, s in score(unique, emb, val, params).items():
                print(f"{name} train_questions: {len(unique)} distinct questions, C={c:g}: {s}")
        else:
            print(
                f"{name} out_of_scope_train: {len(unique)} distinct questions: {handover_scores(unique, emb, val, params)}"
            )


def all_texts(builds: list[list[tuple[str, str]]], val: list[Example], extra: list[str]) -> list[str]:
    return list(dict.fromkeys([t for b in builds for t, _ in b] + [e.text for e in val] + extra))


if __name__ == "__main__":
    main()
