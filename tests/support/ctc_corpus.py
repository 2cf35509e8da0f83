"""A small espeak-ng speech set for the jamo CTC tests and the small model trained on it once per session.

Sentences of random words from a small vocabulary spoken at varied rates and pitches by three
training voices, a third stored as 8 kHz telephone audio, and (as the phone corpus has them) the
phone corpus's lone short answers (네, 예, 아니요, ...) spoken by the same training voices. Validation
and test hold one sentence that is a new combination of the words. The voices in ``HELD_OUT`` never
speak in training: the confirm-reply tests calibrate and check on them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

WORDS = [
    "제가", "올해", "건강", "검진", "대상", "인가요", "예약", "하고", "싶어요", "언제", "어디", "병원",
    "보건소", "열이", "나면", "전화", "주세요", "감사", "합니다", "백신", "접종", "시간", "오늘", "내일",
    "확인", "부탁", "드려요", "서류", "필요", "해요",
]  # fmt: skip
UNSEEN = "내일 보건소 예약 확인 부탁 드려요"
TRAIN_VOICES = ("ko", "ko+m1", "ko+f1")
# voices no training clip has: the phone corpus's own unheard ones (f4, m6, m7) and two more
HELD_OUT = ("ko+m2", "ko+m4", "ko+f4", "ko+m6", "ko+m7")
SHORT_REPEATS = 4  # each short answer spoken this many times (a random training voice, rate and pitch)


def short_answers() -> tuple[str, ...]:
    """The phone corpus's lone short answers (``callbot/sample/data/phone.yaml`` ``short_answers``)."""
    from callbot.sample.phone import corpus

    return corpus().short_answers


def speak(text: str, rate: int, pitch: int, voice: str = "ko") -> np.ndarray:
    """``text`` spoken by a pristine espeak-ng (``synthesize_fresh``), at 16 kHz: the in-process
    synthesiser's output depends on what it spoke before, so the session's model would depend on
    which tests ran first (in CI it heard digital silence as "이", alone it did not)."""
    from callbot.tts.channel import to_rate
    from callbot.tts.espeak import Utterance, synthesize_fresh

    ((samples, sr),) = synthesize_fresh([Utterance(text, rate, pitch, voice)])
    return to_rate(samples, sr, 16_000)


def _row(root: Path, name: str, text: str, audio: np.ndarray, phone: bool) -> dict[str, Any]:
    import soundfile as sf

    from callbot.tts.channel import phone_channel

    samples, rate = phone_channel(audio, 16_000) if phone else (audio, 16_000)
    path = root / "wav" / f"{name}.wav"
    sf.write(path, samples, rate, subtype="PCM_16")
    return {
        "utterance_id": name, "audio": {"path": str(path.resolve()), "bytes": None}, "text": text,
        "text_raw": text, "duration_s": len(samples) / rate, "occupation": None, "gender": None,
        "age_range": None, "experience": None, "dataset": "phone" if phone else "wide",
        "voice": "ko-r150-p40", "channel": "phone" if phone else "wideband",
    }  # fmt: skip


def _rows(root: Path, texts: list[str], split: str, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i, text in enumerate(texts):
        audio = speak(text, rng.randint(130, 190), rng.randint(30, 70), rng.choice(TRAIN_VOICES))
        # a third stored as 8 kHz telephone audio, as the phone corpus ships it
        rows.append(_row(root, f"{split}{i}", text, audio, i % 3 == 0))
    return rows


def _short_rows(root: Path, repeats: int) -> list[dict[str, Any]]:
    """Each short answer ``repeats`` times by training voices (their own random stream, so the
    sentences' clips are the same with or without them)."""
    rng = random.Random(1)
    texts = [text for text in short_answers() for _ in range(repeats)]
    return [
        _row(root, f"short{i}", text, speak(text, rng.randint(130, 190), rng.randint(30, 70),
                                           rng.choice(TRAIN_VOICES)), i % 3 == 0)
        for i, text in enumerate(texts)
    ]  # fmt: skip


def write_prepared(root: Path, n_train: int = 240, short_repeats: int = 0) -> Path:
    """``<root>/stt`` as prepare writes it: train sentences (and short answers), one unseen sentence in
    validation and test."""
    from datasets import Audio, Dataset, DatasetDict

    rng = random.Random(0)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    train = {UNSEEN}
    while len(train) < n_train + 1:
        train.add(" ".join(rng.sample(WORDS, rng.randint(2, 5))))
    train.discard(UNSEEN)
    splits = {"train": sorted(train), "validation": [UNSEEN], "test": [UNSEEN]}
    rows = {name: _rows(root, texts, name, rng) for name, texts in splits.items()}
    rows["train"] += _short_rows(root, short_repeats) if short_repeats else []
    DatasetDict(
        {
            name: Dataset.from_list(found).cast_column("audio", Audio(decode=False))
            for name, found in rows.items()
        }
    ).save_to_disk(str(root / "stt"))
    return root


def train_small(root: Path, params: Any, short_repeats: int = SHORT_REPEATS) -> dict[str, Any]:
    """A small CTC model trained through ``train_ctc`` (what `callbot train-stt` runs) on
    :func:`write_prepared`'s set: ``root``, its stt params, the result and the prepared directory."""
    from callbot.stt.ctc_train import train_ctc

    prepared = write_prepared(root / "prepared", short_repeats=short_repeats)
    ctc = params.stt.ctc.model_copy(
        update={
            "hidden": 128, "layers": 3, "conv_channels": 16, "max_steps": 260, "learning_rate": 0.004,
            "batch_seconds": 24.0, "line_share": 0.3, "validation_max_utterances": 0,
        }
    )  # fmt: skip
    stt = params.stt.model_copy(
        # one thread: on shared cores a second one spins waiting for the first
        update={"ctc": ctc, "threads": 1, "save_steps": 1000, "logging_steps": 20, "reference_model": ""}
    )
    result = train_ctc(stt, prepared, root / "models", root / "reports")
    return {"root": root, "params": stt, "result": result, "prepared": prepared}
