"""`callbot interview`: emotion, intent and extractive summaries of the interview answers.

Every distinct answer sentence is encoded once by the frozen multilingual-e5-small of the intent
package (the same pinned, hash-checked weights as the ``bases`` stage's directory, whose base.json is
checked here); an answer's row is the normalised mean of its sentences' rows. The heads and the
summary lengths are chosen on validation, test is scored once, every figure beside its baseline
from the same run (majority class, char TF-IDF, lead sentences). Per task the head of the feature set
validation prefers, and the centroid summary's share, are saved for serving (``interview.model``).
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.interview.classify import Features, head, majority
from callbot.interview.data import SPLITS, Answer, InterviewError, load_answers, require_labels
from callbot.interview.served import TASKS, Head, centroid_order, mean_rows, save_model
from callbot.interview.summarise import summarise

if TYPE_CHECKING:
    from callbot.intent.encoders import Tfidf
    from callbot.interview.params import InterviewParams


@dataclass(frozen=True)
class InterviewResult:
    metrics: dict[str, Any]
    report: Path
    line: str  # the stage's one-line summary (with the encoding time, which the reports leave out)


def check_base(base: Path) -> None:
    """The e5 base directory is the pinned one (its base.json names the sha256 the encoder checks)."""
    from callbot.bases.e5 import E5_SHA256

    meta = base / "base.json"
    if not meta.is_file():
        raise InterviewError(f"{meta}: not found; run `callbot bases` (multilingual-e5-small) first")
    try:
        sha = json.loads(meta.read_text(encoding="utf-8"))["sha256"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InterviewError(f"{meta}: unreadable ({exc!r}); rerun `callbot bases`") from None
    if sha != E5_SHA256:
        raise InterviewError(f"{meta}: sha256 {sha} is not the pinned {E5_SHA256}; rerun `callbot bases`")


class Embeddings:
    """Every distinct sentence's e5 row (encoded once); answers are the normalised mean of theirs."""

    def __init__(self, answers: Sequence[Answer], threads: int) -> None:
        from callbot.intent.encoders import pretrained

        unique = list(dict.fromkeys(s for a in answers for s in a.sentences))
        started, cpu = time.perf_counter(), _cpu()
        self.rows = pretrained("e5", unique, max(1, threads))
        self.seconds, self.cpu_seconds = time.perf_counter() - started, _cpu() - cpu
        self.index = {s: i for i, s in enumerate(unique)}

    def sentences(self, answer: Answer) -> np.ndarray:
        return self.rows[[self.index[s] for s in answer.sentences]]

    def answers(self, items: Sequence[Answer]) -> np.ndarray:
        return mean_rows([self.sentences(a) for a in items])

    def order(self, answer: Answer) -> list[int]:
        return centroid_order(self.sentences(answer))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tfidf_features(train: Sequence[Answer], ngrams: Sequence[int]) -> tuple[Features, Tfidf]:
    """Char n-gram TF-IDF fitted on the train answers only (the intent package's vectoriser), and
    the vectoriser (its state is saved when a served head reads it)."""
    from callbot.intent.encoders import Tfidf

    if len(ngrams) != 2:
        raise InterviewError(f"params.yaml: 'interview.ngrams' must be [low, high], got {list(ngrams)}")
    tfidf = Tfidf.fit([a.text for a in train], (ngrams[0], ngrams[1]))
    return lambda items: tfidf.vectorizer.transform([a.text for a in items]), tfidf  # sparse: fits fast


def classify(
    params: InterviewParams, splits: dict[str, list[Answer]], features: dict[str, Features]
) -> tuple[dict[str, Any], dict[str, Head]]:
    """Per task: the majority class and a head per configured feature set; and per task the head
    with the best validation macro-F1 (ties: the earlier in ``interview.encoders``), for serving."""
    fit = {"max_iter": params.max_iter, "seed": params.seed}
    metrics: dict[str, Any] = {}
    served: dict[str, Head] = {}
    for task in TASKS:
        fitted = {name: head(features[name], splits, task, params.C, fit) for name in params.encoders}
        metrics[task] = {"majority": majority(splits, task), **{n: r for n, (r, _) in fitted.items()}}
        name = max(
            params.encoders, key=lambda n: (fitted[n][0]["validation"]["macro_f1"], -params.encoders.index(n))
        )
        model = fitted[name][1]
        served[task] = Head(name, [str(c) for c in model.classes_], model.coef_, model.intercept_)
    return metrics, served


def data_summary(splits: dict[str, list[Answer]], embeddings: Embeddings) -> dict[str, Any]:
    return {
        "answers": {s: len(splits[s]) for s in SPLITS},
        "unseen": {s: sum(not a.seen for a in splits[s]) for s in ("validation", "test")},
        "sentences": sum(len(a.sentences) for s in SPLITS for a in splits[s]),
        "distinct_sentences": len(embeddings.index),
    }


def analyse_interview(
    params: InterviewParams,
    prepared: str | Path | None = None,
    report: str | Path | None = None,
    model: str | Path | None = None,
) -> InterviewResult:
    """Classify and summarise the interview answers; write metrics.json and report.md, and the
    heads and summary share validation chose to ``model`` (what the Bento serves)."""
    from threadpoolctl import threadpool_limits

    from callbot.interview.report import summary_line, write_reports

    if not params.encoders:
        raise InterviewError(
            "params.yaml: 'interview.encoders' is empty; name e5 and/or tfidf (the Bento serves one)"
        )
    prepared, report = Path(prepared or params.prepared), Path(report or params.report)
    splits = load_answers(prepared)
    for field in (*TASKS, "summary"):
        require_labels(splits, field, prepared / "records.parquet")
    check_base(Path(params.base))
    embeddings = Embeddings([a for s in SPLITS for a in splits[s]], params.threads)
    tfidf_rows, tfidf = tfidf_features(splits["train"], params.ngrams)
    features = {"e5": embeddings.answers, "tfidf": tfidf_rows}
    # small heads: BLAS threads only contend (several-fold the CPU on 2 cores)
    with threadpool_limits(limits=1):
        heads, served = classify(params, splits, features)
        metrics = {
            "data": data_summary(splits, embeddings),
            **heads,
            "summary": summarise(embeddings.order, splits, params.summary_shares),
        }
    write_reports(report, metrics)
    save_model(Path(model or params.model), served, metrics["summary"]["centroid"]["share"], tfidf.state())
    timing = f"e5 encoded {len(embeddings.index)} sentences in {embeddings.seconds:.1f} s ({embeddings.cpu_seconds:.1f} CPU s)"
    return InterviewResult(metrics, report, f"{summary_line(metrics)}; {timing} -> {report}")
