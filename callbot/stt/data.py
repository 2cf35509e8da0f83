"""Reading the prepared ``stt`` dataset: rows, audio as float32 16 kHz, the gate's exclusions, and
which utterances only repeat training sentences (tuning and evaluation score the unseen ones).

The dataset stores audio as paths (``Audio(decode=False)``): decoding through ``datasets`` needs
torchcodec, which is not installable here, so soundfile reads the WAVs directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from callbot.audio import STT_RATE, to_stt_rate

SAMPLE_RATE = STT_RATE
SLICE_COLUMNS = ("occupation", "gender", "age_range", "experience")
META_COLUMNS = ("dataset", "voice", "channel")  # read when present (evaluate-stt reports by them)


class STTDataError(ValueError):
    """The prepared STT dataset is missing or unusable."""


@dataclass(frozen=True)
class Utterance:
    """One row of the prepared ``stt`` dataset that STT training and evaluation use."""

    utterance_id: str
    audio_path: str
    audio_bytes: bytes | None  # datasets embeds the WAV on save_to_disk; read from here when present
    text: str
    text_raw: str
    duration_s: float
    slices: dict[str, str | None]
    meta: dict[str, str | None] = field(default_factory=dict)  # META_COLUMNS the dataset has


def read_audio(path: str | Path, data: bytes | None = None) -> np.ndarray:
    """Mono float32 at 16 kHz from ``data`` (WAV bytes) or else ``path``; resampled, channels averaged."""
    import io

    import soundfile as sf

    try:
        source: Any = io.BytesIO(data) if data else str(path)
        audio, rate = sf.read(source, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise STTDataError(f"{path}: cannot read audio ({exc}); re-run `callbot prepare`") from None
    mono = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    return np.ascontiguousarray(to_stt_rate(mono, rate), dtype=np.float32)


def load_split(
    prepared: Path, split: str, limit: int = 0, *, allow_failed_gate: bool = False
) -> tuple[list[Utterance], int]:
    """Rows of one split (``limit`` > 0 keeps the first ``limit``) and how many the gate excluded."""
    from datasets import load_from_disk

    from callbot.contracts import stt_audio_file
    from callbot.quality.verdict import GateFailedError, gate_exclusions

    root = prepared / "stt"
    if not (root / "dataset_dict.json").is_file():
        raise STTDataError(f"{root}: no prepared STT dataset; run `callbot prepare` first")
    dataset = load_from_disk(str(root))
    if split not in dataset:
        raise STTDataError(
            f"{root}: has no '{split}' split (found {', '.join(dataset)}); re-run `callbot prepare`"
        )
    table = dataset[split]
    missing = {"utterance_id", "audio", "text", "text_raw", "duration_s", *SLICE_COLUMNS} - set(
        table.column_names
    )
    if missing:
        raise STTDataError(f"{root}/{split}: missing columns {sorted(missing)}; re-run `callbot prepare`")
    try:
        excluded = gate_exclusions(prepared, allow_failed=allow_failed_gate, override="stt.allow_failed_gate")
    except GateFailedError as exc:
        raise STTDataError(str(exc)) from None
    rows: list[Utterance] = []
    skipped = 0
    for row in table:
        if row["utterance_id"] in excluded:
            skipped += 1
            continue
        stored = row["audio"]["path"] or ""
        path = str(stt_audio_file(root, stored)) if stored else ""
        data = row["audio"].get("bytes")
        if not data and not Path(path).is_file():
            raise STTDataError(
                f"{root}/{split}: audio of {row['utterance_id']} not found at {path!r}; re-run `callbot prepare`"
            )
        rows.append(
            Utterance(
                utterance_id=row["utterance_id"],
                audio_path=path,
                audio_bytes=data or None,
                text=row["text"] or "",
                text_raw=row["text_raw"] or row["text"] or "",
                duration_s=float(row["duration_s"] or 0.0),
                slices={c: row[c] for c in SLICE_COLUMNS},
                meta={c: row.get(c) for c in META_COLUMNS},
            )
        )
        if limit and len(rows) >= limit:
            break
    return rows, skipped


_SENTENCE_END = re.compile(r"(?<=[.?!。])\s+")


def sentences(text_raw: str) -> list[str]:
    """The labelled sentences of a transcript, compared without spaces or punctuation."""
    from callbot.text.normalize import normalise

    return [s for s in (normalise(part) for part in _SENTENCE_END.split(text_raw)) if s]


def seen_in_training(test: list[Utterance], train: list[Utterance]) -> list[bool]:
    """True for a test utterance all of whose sentences occur in some training transcript.

    The sample's texts are templates: a test answer built only from training sentences measures
    recall, not listening. The unseen ones (at least one new sentence) are the headline.
    """
    known = {s for u in train for s in sentences(u.text_raw)}
    return [all(s in known for s in sentences(u.text_raw)) for u in test]


def through_line(audio: np.ndarray) -> np.ndarray:
    """16 kHz audio as it arrives over an 8 kHz G.711 mu-law telephone line, back at 16 kHz."""
    from callbot.tts.channel import phone_channel, to_rate

    narrow, rate = phone_channel(audio, SAMPLE_RATE)
    return to_rate(narrow, rate, SAMPLE_RATE)
