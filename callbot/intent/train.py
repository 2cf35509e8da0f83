"""`callbot train-intent`: encoder candidates x logistic head, chosen on validation, calibrated, saved.

Every candidate (an encoder and a head strength) is fitted on the train split's caller questions and
scored on validation; the one with the best accuracy on validation wording unseen in training wins
(ties: the earlier in params). Its temperature and the suggested handover policy (confidence
threshold and top-2 margin) are fitted on validation too; the test split is scored once, beside two
baselines from the same run: the majority class and the nearest training question (1-NN TF-IDF).
A question counts as right when its top intent is its own, or when both are out of scope (any
``범위외:`` kind: the outcome, a handover, is the same).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.intent.calibrate import (
    choose_policy,
    ece,
    fit_temperature,
    handover,
    policy_curve,
    policy_point,
    probabilities_summary,
)
from callbot.intent.data import Example, Examples, load_examples
from callbot.intent.encoders import TUNED, Encoder, Tfidf, parts, pretrained
from callbot.intent.finetune import finetune
from callbot.intent.model import Head, IntentClassifier, softmax
from callbot.intent.tuned import Adapter, Tuned

if TYPE_CHECKING:
    from callbot.intent.params import IntentParams


@dataclass
class Bank:
    """Every distinct text's rows per encoder part, encoded once for all candidates and splits."""

    index: dict[str, int]
    blocks: dict[str, np.ndarray]
    seconds: dict[str, float]  # wall seconds per part (encoding; for e5-ft, fine-tuning too)
    cpu_seconds: dict[str, float]  # the process's CPU seconds per part (all threads)
    adapter: Adapter | None = None  # e5-ft's LoRA factors, when a candidate uses it

    def rows(self, encoder: str, texts: Sequence[str]) -> np.ndarray:
        picked = [self.index[t] for t in texts]
        return np.hstack([self.blocks[p][picked] for p in parts(encoder)]).astype(np.float32)


def build_bank(ex: Examples, needed: set[str], tfidf: Tfidf, params: IntentParams) -> Bank:
    """Every distinct text of every split, encoded once per part (e5-ft is tuned on train first)."""
    unique = list(dict.fromkeys(e.text for s in ex.splits.values() for e in s))
    bank = Bank({t: i for i, t in enumerate(unique)}, {}, {}, {})
    for part in sorted(needed):
        started, cpu = time.perf_counter(), time.process_time()
        if part == "tfidf":
            bank.blocks[part] = tfidf.encode(unique)
        elif part == TUNED:
            train = list(dict.fromkeys((e.text, e.intent) for e in ex.splits["train"]))
            bank.adapter, bank.blocks[part] = finetune(
                [t for t, _ in train], [i for _, i in train], unique, params
            )
        else:
            bank.blocks[part] = pretrained(part, unique, params.threads)
        bank.seconds[part] = round(time.perf_counter() - started, 2)
        bank.cpu_seconds[part] = round(time.process_time() - cpu, 2)
    return bank


def correct(tops: Sequence[str], gold: Sequence[str]) -> np.ndarray:
    return np.array([t == g or (handover(t) and handover(g)) for t, g in zip(tops, gold, strict=True)])


def accuracy(tops: Sequence[str], items: Sequence[Example]) -> dict[str, float | int]:
    """Accuracy overall and on seen / unseen wording (with their counts)."""
    right = correct(tops, [e.intent for e in items])
    seen = np.array([e.seen for e in items], dtype=bool)
    scoped = np.array([not handover(e.intent) for e in items], dtype=bool)

    def share(mask: np.ndarray) -> float:
        return round(float(right[mask].mean()), 4) if mask.any() else 0.0

    return {
        "accuracy": share(np.ones(len(items), dtype=bool)), "seen": share(seen), "unseen": share(~seen),
        "in_scope": share(scoped), "in_scope_unseen": share(scoped & ~seen),
        "n": len(items), "n_unseen": int((~seen).sum()), "n_in_scope_unseen": int((scoped & ~seen).sum()),
    }  # fmt: skip


def fit_head(rows: np.ndarray, targets: np.ndarray, c: float, params: IntentParams) -> Head:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=c, max_iter=params.max_iter, random_state=params.seed)
    fitted.fit(rows, targets)
    return Head(fitted.coef_.astype(np.float32), fitted.intercept_.astype(np.float32))


@dataclass
class Candidate:
    encoder: str
    c: float
    head: Head
    scores: dict[str, dict[str, float | int]]

    @property
    def name(self) -> str:
        return f"{self.encoder} C={self.c:g}"


def tops_of(head: Head, rows: np.ndarray, labels: Sequence[str]) -> list[str]:
    return [labels[i] for i in head.logits(rows).argmax(axis=1)]


def fit_candidates(ex: Examples, bank: Bank, labels: list[str], params: IntentParams) -> list[Candidate]:
    """Every encoder x C, fitted on the distinct train (text, intent) pairs, scored on validation and test."""
    pairs = list(dict.fromkeys((e.text, e.intent) for e in ex.splits["train"]))
    targets = np.array([labels.index(i) for _, i in pairs])
    found = []
    for encoder in params.candidates:
        train_rows = bank.rows(encoder, [t for t, _ in pairs])
        for c in params.C:
            head = fit_head(train_rows, targets, c, params)
            scores = {
                split: accuracy(tops_of(head, bank.rows(encoder, [e.text for e in ex.splits[split]]), labels), ex.splits[split])
                for split in ("validation", "test")
            }  # fmt: skip
            found.append(Candidate(encoder, c, head, scores))
    return found


def pick(candidates: Sequence[Candidate], min_improvement: float = 0.0) -> Candidate:
    """Best validation accuracy on unseen wording, then overall. A later candidate (the list runs from
    the simplest) must beat the best so far by more than ``min_improvement``: within it is a tie, and a
    tie keeps the earlier one, so a fresh clone does not flip the choice on one question of noise."""
    best = candidates[0]
    for cand in candidates[1:]:
        key, top = cand.scores["validation"], best.scores["validation"]
        gain = key["unseen"] - top["unseen"]
        if gain > min_improvement or (gain == 0 and key["accuracy"] > top["accuracy"]):
            best = cand
    return best


def baselines(ex: Examples, bank: Bank) -> dict[str, dict[str, Any]]:
    """Majority class and nearest training question (cosine on TF-IDF), on validation and test."""
    train = ex.splits["train"]
    majority = Counter(e.intent for e in train).most_common(1)[0][0]
    train_rows = bank.rows("tfidf", [e.text for e in train])
    result: dict[str, dict[str, Any]] = {"majority": {}, "nearest_question": {}}
    for split in ("validation", "test"):
        items = ex.splits[split]
        result["majority"][split] = accuracy([majority] * len(items), items)
        nearest = (bank.rows("tfidf", [e.text for e in items]) @ train_rows.T).argmax(axis=1) if items else []
        result["nearest_question"][split] = accuracy([train[i].intent for i in nearest], items)
    return result


def known_targets(items: Sequence[Example], labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Indices of items whose intent the head knows, and those intents' label indices."""
    keep = np.array([i for i, e in enumerate(items) if e.intent in labels], dtype=int)
    return keep, np.array([labels.index(items[i].intent) for i in keep], dtype=int)


def calibration(logits: np.ndarray, items: Sequence[Example], labels: list[str]) -> dict[str, float]:
    """The temperature fitted on these items' NLL and the ECE before/after (intents the head knows)."""
    keep, targets = known_targets(items, labels)
    temperature = fit_temperature(logits[keep], targets)
    return {
        "temperature": round(temperature, 4),
        "ece_before": round(ece(softmax(logits[keep]), targets), 4),
        "ece_after": round(ece(softmax(logits[keep], temperature), targets), 4),
    }


def policy_inputs(probs: np.ndarray, labels: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    top, confidence, margin = probabilities_summary(probs)
    return [labels[i] for i in top], confidence, margin


def oos_by_kind(
    tops: list[str], conf: np.ndarray, margin: np.ndarray, items: Sequence[Example], t: float, m: float
) -> dict[str, float]:
    """Out-of-scope recall per 범위외 kind under the chosen policy (new kinds included)."""
    kinds = sorted({e.intent for e in items if handover(e.intent)})
    result = {}
    for kind in kinds:
        idx = [i for i, e in enumerate(items) if e.intent == kind]
        point = policy_point([tops[i] for i in idx], conf[idx], margin[idx], [kind] * len(idx), t, m)
        result[kind] = round(point.oos_recall, 4)
    return result


@dataclass(frozen=True)
class TrainResult:
    model: IntentClassifier
    metrics: dict[str, Any]
    out: Path
    report: Path
    line: str  # the stage's one-line summary


def train_intent(
    params: IntentParams, prepared: str | Path | None = None, out: str | Path | None = None,
    report: str | Path | None = None,
) -> TrainResult:  # fmt: skip
    """Fit every candidate, choose on validation, calibrate, score test once, save model and reports."""
    from callbot.intent.report import write_reports

    params = params.model_copy(update={"prepared": str(prepared or params.prepared)})
    out, report = Path(out or params.out), Path(report or params.report)
    ex = load_examples(params)
    labels = sorted({e.intent for e in ex.splits["train"]})
    tfidf = Tfidf.fit(
        list(dict.fromkeys(e.text for e in ex.splits["train"])), (params.ngrams[0], params.ngrams[1])
    )
    needed = {p for name in params.candidates for p in parts(name)} | {"tfidf"}
    bank = build_bank(ex, needed, tfidf, params)
    candidates = fit_candidates(ex, bank, labels, params)
    chosen = pick(candidates, params.min_improvement)
    model, metrics, curve = assess(
        params, ex, bank, labels, chosen, chosen_encoder(chosen, tfidf, bank, params)
    )
    metrics["candidates"] = {c.name: c.scores for c in candidates}
    metrics["baselines"] = baselines(ex, bank)
    if bank.adapter is not None:
        metrics["finetune"] = {"steps": len(bank.adapter.losses), "loss_first": bank.adapter.losses[:1],
                               "loss_last": bank.adapter.losses[-1:]}  # fmt: skip
    model.save(out)
    write_reports(report, metrics, curve)
    test = metrics["test"]
    line = (
        f"{chosen.name}: test accuracy {test['accuracy']} (unseen wording {test['unseen']}; nearest question "
        f"{metrics['baselines']['nearest_question']['test']['unseen']}), out-of-scope handed over "
        f"{test['oos_recall']} (encoding took {bank.seconds} s, CPU {bank.cpu_seconds} s) -> {out}, {report}"
    )
    return TrainResult(model, metrics, out, report, line)


def chosen_encoder(chosen: Candidate, tfidf: Tfidf, bank: Bank, params: IntentParams) -> Encoder:
    """The winner's encoder: its TF-IDF and its fine-tuned e5 only when its parts use them."""
    names = parts(chosen.encoder)
    tuned = Tuned(bank.adapter, params.threads) if TUNED in names and bank.adapter is not None else None
    return Encoder(chosen.encoder, tfidf if "tfidf" in names else None, params.threads, tuned)


def assess(
    params: IntentParams, ex: Examples, bank: Bank, labels: list[str], chosen: Candidate, encoder: Encoder
) -> tuple[IntentClassifier, dict[str, Any], list[dict[str, float]]]:
    """Temperature and policy on validation, then the one scoring of test."""
    val, test = ex.splits["validation"], ex.splits["test"]
    val_logits = chosen.head.logits(bank.rows(chosen.encoder, [e.text for e in val]))
    cal = calibration(val_logits, val, labels)
    tops, conf, margin = policy_inputs(softmax(val_logits, cal["temperature"]), labels)
    curve = policy_curve(tops, conf, margin, [e.intent for e in val], params.thresholds, params.margins)
    policy = choose_policy(curve, params.oos_recall_target, params.wrong_answer_target)
    test_logits = chosen.head.logits(bank.rows(chosen.encoder, [e.text for e in test]))
    t_tops, t_conf, t_margin = policy_inputs(softmax(test_logits, cal["temperature"]), labels)
    t_point = policy_point(
        t_tops, t_conf, t_margin, [e.intent for e in test], policy.threshold, policy.margin
    )
    keep, targets = known_targets(test, labels)
    metrics: dict[str, Any] = {
        "encoder": chosen.encoder, "C": chosen.c, **cal,
        "policy": {"threshold": policy.threshold, "margin": policy.margin, "validation": policy.row()},
        "validation": chosen.scores["validation"],
        "test": {
            **chosen.scores["test"], "success": round(t_point.success, 4), "wrong": round(t_point.wrong, 4),
            "oos_recall": round(t_point.oos_recall, 4),
            "ece_before": round(ece(softmax(test_logits[keep]), targets), 4),
            "ece_after": round(ece(softmax(test_logits[keep], cal["temperature"]), targets), 4),
            "oos_recall_by_kind": oos_by_kind(t_tops, t_conf, t_margin, test, policy.threshold, policy.margin),
        },
    }  # fmt: skip
    model = IntentClassifier(
        encoder, chosen.head, tuple(labels), cal["temperature"], answers_for(ex, labels),
        policy.threshold, policy.margin, params.max_chars,
    )  # fmt: skip
    return model, metrics, [p.row() for p in curve]


def answers_for(ex: Examples, labels: Sequence[str]) -> dict[str, str]:
    return {label: ex.answers[label] for label in labels if label in ex.answers}
