"""params.yaml `interview`: the interview-analysis stage's inputs, heads and summary lengths."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from callbot.params_base import Section

Share = Annotated[float, Field(ge=0.0, lt=1.0)]  # a summary keeps fewer sentences than its answer


class InterviewParams(Section):
    prepared: str  # records.parquet: the interview answers with emotion, intent, summary and split
    base: str  # the multilingual-e5-small base directory (callbot bases); its base.json is hash-checked
    report: str  # metrics.json (DVC metrics), report.md
    model: (
        str  # the heads and summary share validation chose: interview.json + heads.npz, served by the Bento
    )
    # answer features for the heads: tfidf (char n-grams, the baseline) and/or e5
    encoders: list[Literal["tfidf", "e5"]]
    ngrams: list[int]  # TF-IDF character n-gram range [low, high]
    C: list[float]  # inverse L2 strength of the logistic heads, chosen on validation macro-F1
    max_iter: int
    seed: int
    threads: int  # e5 C-engine threads; 0 = 1
    summary_shares: list[Share]  # share of an answer's sentences an extractive summary keeps, chosen on
    # validation ROUGE-L F1 (per method)
