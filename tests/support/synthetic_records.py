"""Clean records tables of any size, straight from the records contract, for the gate's tests and benchmark.

The gate must be tested on data whose every defect is known: this generator makes records that pass
every rule (the page's proportions, every stratum in every split, 16 kHz mono 16-bit, matching
durations, Hangul text), so a test can add exactly one defect. At 84,134 interviews it is the
full-cardinality table of the interview set (168,268 rows) without touching any audio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callbot.prepare.schema import EMOTIONS, INTENTS, RECORD_SCHEMA

if TYPE_CHECKING:
    import pandas as pd

# The page's label-file counts per occupation x gender x experience (seed 000, 84,134 in all).
PAGE_COUNTS: dict[tuple[str, str, str], int] = {
    ("BM", "FEMALE", "EXPERIENCED"): 1289, ("BM", "FEMALE", "NEW"): 10334,
    ("BM", "MALE", "EXPERIENCED"): 1700, ("BM", "MALE", "NEW"): 5668,
    ("SM", "FEMALE", "EXPERIENCED"): 1057, ("SM", "FEMALE", "NEW"): 7444,
    ("SM", "MALE", "EXPERIENCED"): 1378, ("SM", "MALE", "NEW"): 4015,
    ("PS", "FEMALE", "EXPERIENCED"): 2019, ("PS", "FEMALE", "NEW"): 12866,
    ("PS", "MALE", "EXPERIENCED"): 1123, ("PS", "MALE", "NEW"): 5248,
    ("RND", "FEMALE", "EXPERIENCED"): 98, ("RND", "FEMALE", "NEW"): 2310,
    ("RND", "MALE", "EXPERIENCED"): 375, ("RND", "MALE", "NEW"): 3164,
    ("ICT", "FEMALE", "EXPERIENCED"): 226, ("ICT", "FEMALE", "NEW"): 2189,
    ("ICT", "MALE", "EXPERIENCED"): 585, ("ICT", "MALE", "NEW"): 4299,
    ("ARD", "FEMALE", "EXPERIENCED"): 482, ("ARD", "FEMALE", "NEW"): 5407,
    ("ARD", "MALE", "EXPERIENCED"): 199, ("ARD", "MALE", "NEW"): 2063,
    ("MM", "FEMALE", "EXPERIENCED"): 262, ("MM", "FEMALE", "NEW"): 4490,
    ("MM", "MALE", "EXPERIENCED"): 650, ("MM", "MALE", "NEW"): 3194,
}  # fmt: skip
PAGE_TOTAL = sum(PAGE_COUNTS.values())
WORDS = (
    "저는",
    "고객",
    "만족을",
    "위해",
    "항상",
    "노력하는",
    "지원자입니다",
    "팀과",
    "함께",
    "성장하고",
    "싶습니다",
)
AGES = ("-34", "35-44", "45-54", "55-")
# Ten interviews in a row of one stratum fill the splits 8:1:1, so every stratum reaches every split.
SPLIT_CYCLE = (*(["train"] * 8), "validation", "test")


def _strata(interviews: int) -> list[tuple[str, str, str]]:
    """Largest-remainder allocation of ``interviews`` to strata in the page's proportions."""
    quotas = {k: interviews * n / PAGE_TOTAL for k, n in PAGE_COUNTS.items()}
    counts = {k: int(q) for k, q in quotas.items()}
    for key in sorted(quotas, key=lambda k: quotas[k] - counts[k], reverse=True)[
        : interviews - sum(counts.values())
    ]:
        counts[key] += 1
    return [key for key, n in counts.items() for _ in range(n)]


def clean_records(interviews: int) -> tuple[pd.DataFrame, list[str]]:
    """(records, manifest paths): ``2 * interviews`` rows that pass every rule of the gate."""
    import numpy as np
    import pandas as pd

    strata = _strata(interviews)
    n = len(strata)
    seen: dict[tuple[str, str, str], int] = {}
    within = np.array([seen.setdefault(s, 0) + (seen.__setitem__(s, seen[s] + 1) or 0) for s in strata])
    split = np.array(SPLIT_CYCLE)[within % len(SPLIT_CYCLE)]
    occupation, gender, experience = (np.array([s[i] for s in strata]) for i in range(3))
    # labels change per block of ten interviews of a stratum, so every split sees the same mix
    block = within // len(SPLIT_CYCLE) + np.arange(n) // max(1, n // len(PAGE_COUNTS))
    ids = np.array([f"{i:06d}" for i in range(n)])
    words = np.array(WORDS)
    rows = []
    for role, prefix in (("question", "q"), ("answer", "a")):
        count = (2 + np.arange(n) % 5) if role == "question" else (4 + np.arange(n) % 7)
        text = np.array([" ".join(np.roll(words, i)[:c]) for i, c in enumerate(count)])
        duration = 400.0 * count + 800.0
        is_answer = role == "answer"
        stems = np.char.add(f"ckmk_{prefix}_", ids)
        rows.append(
            pd.DataFrame(
                {
                    "utterance_id": stems,
                    "interview_id": np.char.add("iv_", ids),
                    "dataset": "interview",
                    "role": role,
                    "text_raw": text,
                    "text": text,
                    "word_count": np.array([len(t.split()) for t in text], dtype=np.int32),
                    "label_path": np.char.add(np.char.add("labels/", ids), ".json"),
                    "audio_path": np.char.add(np.char.add("audio/", stems), ".wav"),
                    "duration_ms": duration,
                    "duration_actual_ms": duration + 5.0,
                    "file_size": (duration * 32 + 44).astype(np.int64),
                    "sample_rate": np.int32(16000),
                    "channels": np.int16(1),
                    "bits": np.int16(16),
                    "rms": 0.1,
                    "peak": 0.8,
                    "clipped_ratio": 0.0,
                    "occupation": occupation,
                    "gender": gender,
                    "age_range": np.array(AGES)[block % len(AGES)],
                    "experience": experience,
                    "channel": "MOCK",
                    "place": "ONLINE",
                    "emotion": np.array(EMOTIONS)[block % len(EMOTIONS)] if is_answer else None,
                    "emotion_expression": "자신감" if is_answer else None,
                    "intent": np.array(INTENTS)[block % len(INTENTS)] if is_answer else None,
                    "intent_expression": "경험 설명" if is_answer else None,
                    "summary": np.array([t.split()[0] for t in text]) if is_answer else None,
                    "summary_word_count": np.int32(1) if is_answer else None,
                    "date": "20221115",
                    "split": split,
                }
            )
        )
    records = pd.concat(rows, ignore_index=True)
    for name in RECORD_SCHEMA.names:  # columns of other datasets (call-centre) stay null
        if name not in records:
            records[name] = None
    records = records.astype({f.name: _dtype(f.type) for f in RECORD_SCHEMA})[list(RECORD_SCHEMA.names)]
    manifest = sorted(set(records["audio_path"]) | set(records["label_path"]))
    return records, manifest


def _dtype(arrow_type: object) -> str:
    import pyarrow as pa

    if arrow_type == pa.string():
        return "object"
    if arrow_type == pa.float64():
        return "float64"
    return "Int64" if str(arrow_type).startswith("int") else "object"
