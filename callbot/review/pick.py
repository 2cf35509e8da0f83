"""What needs human eyes, ranked by expected value: the chance the data is wrong times what fixing it is worth.

Four sources, all files the pipeline already writes:
- ``stt``: evaluate-stt's predictions where the joint CTC/attention transcript and the decoder alone
  disagree, or their agreement (1 - CER between them, the confidence proxy) is below the threshold;
- ``quarantine``: rows prepare or validate set aside for a defect a person can fix (an empty or
  non-Hangul transcript, a label outside its set); audio defects are not sent (nobody can fix them);
- ``label``: emotion/intent labels cleanlab flags from out-of-sample probabilities of a
  cross-validated char n-gram classifier on the train texts;
- ``call``: served calls that were handed over or answered with low confidence, and phone calls
  that were transferred (``<call_log>/phone.jsonl``: point the line's ``phone.call_log`` there).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# defects a person can fix by correcting the transcript or a label (prepare and validate reasons)
FIXABLE = {
    "empty_text": 1.0,
    "unknown_value": 0.9,
    "missing_field": 0.8,
    "expectation:expect_text_has_hangul": 1.0,
    "expectation:expect_column_values_to_be_in_set": 0.9,  # the label enums (audio checks have own types)
    "expectation:expect_column_values_to_not_be_null": 0.6,
    "expectation:expect_word_count_in_range": 0.6,
}
PHONE_LOG = "phone.jsonl"  # the phone line's call log, beside the service's calls.jsonl
PHONE_TRANSFER_VALUE = {"bot": 1.0, "keypad": 0.8, "no_input": 0.3}  # no_input: nothing was said to fix
QUARANTINE_WEIGHT = 0.9  # a row out of the data is lost for every stage; fixing it recovers it
LABEL_COLUMNS = ("emotion", "intent")


@dataclass(frozen=True)
class Item:
    key: str  # kind:id, unique within the review project
    kind: str  # stt | quarantine | label | call
    utterance_id: str  # the record (or call) the correction would apply to
    value: float  # expected value of a review, 0..1
    reason: str
    audio: str | None = None  # absolute path on this host
    text: str = ""  # what the data holds now (call: what the bot heard)
    labels: dict[str, str | None] = field(default_factory=dict)
    suggestion: dict[str, str] = field(
        default_factory=dict
    )  # the model's output: transcript, emotion, intent

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            raise ValueError(f"{path}:{number}: not JSON; re-run the stage that wrote it") from None
    return rows


def stt_items(
    predictions: list[dict[str, Any]], records: dict[str, dict[str, Any]], min_confidence: float
) -> list[Item]:
    """Predictions whose two decoders disagree or whose confidence is low."""
    from callbot.text.metrics import disagreement

    items = []
    for row in predictions:
        uid, joint = str(row.get("utterance_id")), str(row.get("fine_tuned") or "")
        alone = row.get("attention_only")
        gap = disagreement(joint, alone) if alone is not None else 0.0
        confidence = float(row.get("confidence") if row.get("confidence") is not None else 1.0 - gap)
        if gap == 0.0 and confidence >= min_confidence:
            continue
        record = records.get(uid, {})
        why = f"joint and decoder-alone transcripts differ (CER {gap:.2f})" if gap else ""
        if confidence < min_confidence:
            why = "; ".join(filter(None, [why, f"confidence {confidence:.2f} < {min_confidence}"]))
        items.append(
            Item(
                key=f"stt:{uid}",
                kind="stt",
                utterance_id=uid,
                value=round(max(gap, 1.0 - confidence), 4),
                reason=why,
                audio=record.get("audio"),
                text=str(row.get("reference") or record.get("text") or ""),
                labels={c: record.get(c) for c in LABEL_COLUMNS},
                suggestion={"transcript": joint},
            )
        )
    return items


def quarantine_items(rows: list[dict[str, Any]], records: dict[str, dict[str, Any]]) -> list[Item]:
    """Quarantined rows whose reason a person can fix; one item per utterance (the worst reason)."""
    best: dict[str, Item] = {}
    for row in rows:
        uid = row.get("utterance_id") or row.get("utterance")
        reason = str(row.get("reason", ""))
        weight = FIXABLE.get(reason)
        if not uid or weight is None:
            continue
        record = records.get(str(uid), {})
        item = Item(
            key=f"quarantine:{uid}",
            kind="quarantine",
            utterance_id=str(uid),
            value=round(QUARANTINE_WEIGHT * weight, 4),
            reason=f"{reason}: {row.get('message', '')}".strip(),
            audio=record.get("audio"),
            text=str(record.get("text_raw") or ""),
            labels={c: record.get(c) for c in LABEL_COLUMNS},
        )
        if str(uid) not in best or item.value > best[str(uid)].value:
            best[str(uid)] = item
    return list(best.values())


def label_items(
    records: dict[str, dict[str, Any]], folds: int, min_examples: int, seed: int = 0
) -> list[Item]:
    """Labels cleanlab flags as likely wrong, per label column, from out-of-sample probabilities."""
    items: dict[str, Item] = {}
    for column in LABEL_COLUMNS:
        rows = [
            (uid, r)
            for uid, r in records.items()
            if r.get("split") == "train" and r.get(column) and r.get("text")
        ]
        for uid, score, suggested, given in label_issues(rows, column, folds, min_examples, seed):
            record = records[uid]
            previous = items.get(uid)
            suggestion = {**(previous.suggestion if previous else {}), column: suggested}
            reason = f"{column} {given!r} looks wrong (label quality {score:.2f}; the classifier says {suggested!r})"
            value = round(1.0 - score, 4)
            items[uid] = Item(
                key=f"label:{uid}",
                kind="label",
                utterance_id=uid,
                value=max(value, previous.value) if previous else value,
                reason="; ".join(filter(None, [previous.reason if previous else "", reason])),
                audio=record.get("audio"),
                text=str(record.get("text") or ""),
                labels={c: record.get(c) for c in LABEL_COLUMNS},
                suggestion=suggestion,
            )
    return list(items.values())


def label_issues(
    rows: list[tuple[str, dict[str, Any]]], column: str, folds: int, min_examples: int, seed: int = 0
) -> list[tuple[str, float, str, str]]:
    """(utterance id, label quality, predicted label, given label) for each label cleanlab flags."""
    import numpy as np

    classes = sorted({r[column] for _, r in rows})
    counts = {c: sum(r[column] == c for _, r in rows) for c in classes}
    usable = [c for c in classes if counts[c] >= folds]  # cross-validation needs each class in each fold
    rows = [(uid, r) for uid, r in rows if r[column] in usable]
    if len(rows) < min_examples or len(usable) < 2:
        return []
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    texts = [str(r["text"]) for _, r in rows]
    labels = np.array([usable.index(r[column]) for _, r in rows])
    model = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(max_iter=1000, C=20.0),
    )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probs = cross_val_predict(model, texts, labels, cv=splitter, method="predict_proba")
    flagged = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence")
    scores = get_label_quality_scores(labels, probs)
    return [
        (rows[i][0], float(scores[i]), usable[int(probs[i].argmax())], usable[int(labels[i])])
        for i in flagged
    ]


def call_items(entries: list[dict[str, Any]], log_dir: Path, min_confidence: float) -> list[Item]:
    """Handed-over or low-confidence served turns (already masked by the call log)."""
    items = []
    for entry in entries:
        confidence = entry.get("confidence")
        low = confidence is not None and float(confidence) < min_confidence
        if not entry.get("handed_over") and not low:
            continue
        value = 1.0 if entry.get("handed_over") else 1.0 - float(confidence)
        why = "handed over to an agent" if entry.get("handed_over") else f"confidence {float(confidence):.2f}"
        audio = entry.get("audio")
        items.append(
            Item(
                key=f"call:{entry['call_id']}",
                kind="call",
                utterance_id=str(entry["call_id"]),
                value=round(value, 4),
                reason=f"{why}; the bot answered {entry.get('reply', '')!r}",
                audio=str((Path(log_dir) / audio).resolve()) if audio else None,
                text=str(entry.get("transcript") or ""),
                suggestion={"transcript": str(entry.get("transcript") or "")},
            )
        )
    return items


def phone_call_items(entries: list[dict[str, Any]]) -> list[Item]:
    """Transferred phone calls (callbot.phone's call log): what the caller said and what the bot made of it."""
    items = []
    for entry in entries:
        by = entry.get("transferred_by")
        if entry.get("outcome") != "transferred" or by not in PHONE_TRANSFER_VALUE:
            continue
        turns = [t for t in entry.get("transcript") or [] if isinstance(t, dict)]
        said = " / ".join(str(t.get("text", "")) for t in turns if t.get("role") == "caller")
        answered = next((str(t.get("text", "")) for t in reversed(turns) if t.get("role") == "bot"), "")
        items.append(
            Item(
                key=f"call:{entry['call_id']}",
                kind="call",
                utterance_id=str(entry["call_id"]),
                value=PHONE_TRANSFER_VALUE[by],
                reason=f"phone call transferred ({by}); the bot answered {answered!r}",
                text=said,
                suggestion={"transcript": said},
            )
        )
    return items


def rank(items: list[Item], limit: int) -> list[Item]:
    """Highest expected value first, one item per utterance (its best reason), at most ``limit``."""
    best: dict[str, Item] = {}
    for item in items:
        held = best.get(item.utterance_id)
        if held is None or item.value > held.value:
            if held is not None:
                item = Item(**{**item.as_json(), "reason": f"{item.reason}; also {held.kind}: {held.reason}"})
            best[item.utterance_id] = item
    ordered = sorted(best.values(), key=lambda i: (-i.value, i.key))
    return ordered[:limit]


def read_records(prepared: Path, raw: Path) -> dict[str, dict[str, Any]]:
    """records.parquet as ``{utterance_id: row}``, with ``audio`` resolved under ``raw``."""
    import pyarrow.parquet as pq

    path = Path(prepared) / "records.parquet"
    if not path.is_file():
        return {}
    columns = ["utterance_id", "text", "text_raw", "audio_path", "split", "role", "dataset", *LABEL_COLUMNS]
    table = pq.read_table(path, columns=columns).to_pylist()
    root = Path(raw).resolve()
    return {
        r["utterance_id"]: {**r, "audio": str(root / r["audio_path"]) if r.get("audio_path") else None}
        for r in table
    }


def collect(params: Any, root: Path = Path()) -> tuple[list[Item], dict[str, int]]:
    """Every source read, ranked; and how many items each source offered (before ranking)."""
    from callbot.serve.calllog import read_call_log

    records = read_records(root / params.prepared, root / params.raw)
    predictions_path = root / params.stt_predictions
    predictions = (
        json.loads(predictions_path.read_text(encoding="utf-8")) if predictions_path.is_file() else []
    )
    quarantined = [
        *_read_jsonl(root / params.prepared / "quarantine.jsonl"),
        *_read_jsonl(root / params.prepared / "quarantine_validate.jsonl"),
    ]
    sources = {
        "stt": stt_items(predictions, records, params.min_stt_confidence),
        "quarantine": quarantine_items(quarantined, records),
        "label": label_items(records, params.cleanlab_folds, params.cleanlab_min_examples),
        "call": call_items(
            read_call_log(root / params.call_log), root / params.call_log, params.min_call_confidence
        ),
        "phone": phone_call_items(_read_jsonl(root / params.call_log / PHONE_LOG)),
    }
    every = [item for found in sources.values() for item in found]
    return rank(every, params.max_tasks), {k: len(v) for k, v in sources.items()}
