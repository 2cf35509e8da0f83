"""Grounded ARS answers: the bot says the scripted answer of the caller's most likely intent, or hands over.

A public-health line must never improvise: a confident wrong answer is the worst outcome, a handover
is acceptable. So the reply is *chosen*, never generated. The candidates are the distinct counsellor
answers of the train split (the script); each carries the caller questions that led to it in training.
Two signals rank them for a caller's words:

- retrieval: character n-gram TF-IDF cosine to the training questions (vocabulary and IDF from the
  train split only), best question per answer. Spaces and punctuation are dropped first: a
  transcript's spacing is the STT's guess, not the caller's.
- the fine-tuned LLM: mean log-likelihood per token of each shortlisted answer given the chat
  prompt, which is what LoRA trained it to produce.

``logit = similarity / temperature + llm_weight * loglik``, plus a "none of these" logit at
``none_similarity``; the softmax gives each answer's probability. :meth:`Router.rank` hands them to
the dialogue policy (:mod:`callbot.dialogue.policy`) as an intent ranking, which answers, confirms
or hands over. An answer whose training questions are all out of scope (their intent starts with
``handover_intent_prefix``) *is* the handover. With ``llm_weight: 0``
this is a pure nearest-training-question lookup, the baseline every candidate must beat.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.contracts import read_json
from callbot.intent import Ranking
from callbot.text.normalize import normalise

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from callbot.llm.params import RouterParams

ROUTER_FILE = "router.json"  # the script and its training questions, next to the weights
CALIBRATION_FILE = "calibration.json"  # the dialogue policy evaluate-bot calibrated (package adds it)
INTENT_DIR = "intent"  # the intent model, beside the weights when select leaves the LLM out of the call path
FORMAT = 1

_MAX_CONFIDENCE = 1.0 - 1e-9
NONE_FITS = "해당 없음"  # the "none of these" label of a ranking (after the out-of-scope prefix)


@dataclass(frozen=True)
class ScriptEntry:
    """One scripted answer, the caller intents it answered in training, and whether it is the handover."""

    answer: str
    intents: tuple[str, ...]
    handover: bool


@dataclass(frozen=True)
class Script:
    """The scripted answers and the train-split caller questions behind each (``labels[i]`` -> entry)."""

    entries: tuple[ScriptEntry, ...]
    questions: tuple[str, ...]
    labels: tuple[int, ...]

    @classmethod
    def from_examples(cls, examples: Iterable[tuple[str, str, str | None]], handover_prefix: str) -> Script:
        """(caller question, counsellor answer, caller intent) triples of the train split."""
        answers: dict[str, int] = {}
        intents: list[set[str]] = []
        out_of_scope: list[list[bool]] = []
        questions: list[str] = []
        labels: list[int] = []
        for question, answer, intent in examples:
            question, answer = question.strip(), answer.strip()
            if not question or not answer:
                continue
            index = answers.setdefault(answer, len(answers))
            if index == len(intents):
                intents.append(set())
                out_of_scope.append([])
            if intent:
                intents[index].add(intent)
            out_of_scope[index].append(
                bool(intent and handover_prefix and intent.startswith(handover_prefix))
            )
            questions.append(question)
            labels.append(index)
        entries = tuple(
            ScriptEntry(answer, tuple(sorted(intents[i])), bool(out_of_scope[i]) and all(out_of_scope[i]))
            for answer, i in sorted(answers.items(), key=lambda kv: kv[1])
        )
        return cls(entries, tuple(questions), tuple(labels))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "entries": [
                {"answer": e.answer, "intents": list(e.intents), "handover": e.handover} for e in self.entries
            ],
            "questions": list(self.questions),
            "labels": list(self.labels),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = ROUTER_FILE) -> Script:
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            entries = tuple(
                ScriptEntry(str(e["answer"]), tuple(e["intents"]), bool(e["handover"]))
                for e in data["entries"]
            )
            questions, labels = tuple(map(str, data["questions"])), tuple(map(int, data["labels"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{source}: not a router script ({exc}); rerun `callbot train-llm`") from None
        if len(questions) != len(labels) or any(not 0 <= i < len(entries) for i in labels):
            raise ValueError(f"{source}: questions and labels disagree; rerun `callbot train-llm`")
        return cls(entries, questions, labels)

    @property
    def answers(self) -> tuple[str, ...]:
        return tuple(e.answer for e in self.entries)


class CharTfidf:
    """Character n-gram TF-IDF (sublinear tf, smoothed idf, L2 rows) fitted on training questions only."""

    def __init__(self, texts: Sequence[str], ngrams: tuple[int, int]) -> None:
        self.ngrams = ngrams
        vocab: dict[str, int] = {}
        docs = [self._grams(t) for t in texts]
        for grams in docs:
            for g in grams:
                vocab.setdefault(g, len(vocab))
        self.vocab = vocab
        df = np.zeros(len(vocab), dtype=np.float64)
        for grams in docs:
            for g in set(grams):
                df[vocab[g]] += 1
        self.idf = np.log((1 + len(docs)) / (1 + df)) + 1.0
        self.matrix = self.transform_grams(docs)

    def _grams(self, text: str) -> list[str]:
        bare = normalise(text)
        marked = f"^{bare}$"  # word-edge markers only inside longer n-grams: alone they match everything
        low, high = self.ngrams
        return [
            s[i : i + n]
            for n in range(low, high + 1)
            for s in ((bare,) if n == 1 else (marked,))
            for i in range(len(s) - n + 1)
        ]

    def transform_grams(self, docs: Sequence[Sequence[str]]) -> csr_matrix:
        from scipy.sparse import csr_matrix

        rows, cols, vals = [], [], []
        for r, grams in enumerate(docs):
            counts: dict[int, int] = {}
            for g in grams:
                j = self.vocab.get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts, dtype=np.int64)
            w = (1 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[idx]
            w /= np.linalg.norm(w)
            rows.extend([r] * len(idx))
            cols.extend(idx.tolist())
            vals.extend(w.tolist())
        return csr_matrix((vals, (rows, cols)), shape=(len(docs), len(self.vocab)))

    def similarities(self, text: str) -> np.ndarray:
        """Cosine of ``text`` to every fitted text (0 where nothing is shared)."""
        query = self.transform_grams([self._grams(text)])
        return np.asarray((self.matrix @ query.T).todense()).ravel()


@dataclass(frozen=True)
class Decision:
    """The chosen entry (None = none fits), its probability, and every scored entry (index -> prob)."""

    entry: int | None
    confidence: float
    similarity: float
    scores: dict[int, float]


# (caller text, shortlisted answers) -> mean log-likelihood per answer token
Scorer = Callable[[str, list[str]], list[float]]


class Router:
    """Ranks the scripted answers for a caller's words (see the module docstring)."""

    def __init__(self, script: Script, params: RouterParams) -> None:
        if not script.entries:
            raise ValueError("the router script is empty: the train split has no ARS examples")
        self.script = script
        self.params = params
        self.index = CharTfidf(script.questions, (params.ngram_min, params.ngram_max))
        self._labels = np.asarray(script.labels)

    def class_similarities(self, text: str) -> np.ndarray:
        """Best cosine to a training question, per script entry."""
        sims = self.index.similarities(text)
        best = np.zeros(len(self.script.entries))
        np.maximum.at(best, self._labels, sims)
        return best

    def decide(self, text: str, scorer: Scorer | None = None) -> Decision:
        p = self.params
        sims = self.class_similarities(text)
        shortlist = [int(i) for i in np.argsort(-sims, kind="stable")[: p.shortlist]]
        logits = [float(sims[i]) / p.temperature for i in shortlist]
        if scorer is not None and p.llm_weight > 0:
            logliks = scorer(text, [self.script.entries[i].answer for i in shortlist])
            logits = [lg + p.llm_weight * ll for lg, ll in zip(logits, logliks, strict=True)]
            none = p.none_similarity / p.temperature + p.llm_weight * (sum(logliks) / len(logliks))
        else:
            none = p.none_similarity / p.temperature
        top = max([*logits, none])
        weights = [math.exp(v - top) for v in logits]
        total = sum(weights) + math.exp(none - top)
        probs = {i: w / total for i, w in zip(shortlist, weights, strict=True)}
        best = max(probs, key=lambda i: probs[i])
        none_prob = math.exp(none - top) / total
        # below 1.0 always, so the calibrated "answer nothing" threshold of 1.0 hands every turn over
        if probs[best] <= none_prob:
            return Decision(None, min(none_prob, _MAX_CONFIDENCE), float(sims[best]), probs)
        return Decision(best, min(probs[best], _MAX_CONFIDENCE), float(sims[best]), probs)

    def label(self, entry: int) -> str:
        """The intent name a script entry answers (its first), or its answer when training named none."""
        found = self.script.entries[entry]
        return found.intents[0] if found.intents else found.answer

    def rank(self, text: str, scorer: Scorer | None = None, k: int = 3) -> Ranking:
        """The decision as an intent ranking for the dialogue policy; "none of these" is an out-of-scope label."""
        decision = self.decide(text, scorer)
        probs = {self.label(i): p for i, p in decision.scores.items()}
        none = max(0.0, 1.0 - sum(decision.scores.values()))
        probs[f"{self.params.handover_intent_prefix}:{NONE_FITS}"] = none
        ordered = sorted(probs.items(), key=lambda kv: -kv[1])[:k]
        return Ranking(tuple(name for name, _ in ordered), tuple(float(p) for _, p in ordered))


def write_script(model_dir: Path, script: Script) -> None:
    (Path(model_dir) / ROUTER_FILE).write_text(json.dumps(script.to_json(), ensure_ascii=False), "utf-8")


def read_script(model_dir: Path) -> Script | None:
    """The router script beside a model, or None for a model dir without one (free generation)."""
    path = Path(model_dir) / ROUTER_FILE
    if not path.is_file():
        return None
    return Script.from_json(read_json(path, "router script", "`callbot train-llm`"), str(path))


def read_calibration(model_dir: Path) -> dict[str, Any] | None:
    """The dialogue policy evaluate-bot calibrated, stored beside a packaged model, if any.

    ``{"threshold": t}`` alone (a model packaged before the confirm turn) answers at ``t`` and never
    confirms; ``{"policy": {...}, "screen": {...}}`` holds the calibrated thresholds and input checks.
    """
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    data = read_json(path, "dialogue calibration", "`callbot evaluate-bot` and `callbot package`")
    value = data.get("threshold") if isinstance(data, dict) else None
    if not isinstance(value, int | float) or not 0.0 <= value <= 1.0 + 1e-6:
        raise ValueError(f"{path}: threshold {value!r} is not a probability; rerun `callbot evaluate-bot`")
    return {**data, "source": str(path)}
