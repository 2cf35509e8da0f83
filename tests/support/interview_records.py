"""A records.parquet of interview answers straight from the sample generator (text only, no audio).

Each record is drawn as ``callbot.sample.interview.build_record`` draws it (its own seeded rng; about
half the Validation interviews on held-out templates and words); prepare's split is mimicked: Training
-> train, Validation -> validation or test by index. The generator's own ``unseen`` flag is kept in
an extra column so a test can compare it with the stage's word-for-word definition.
"""

from __future__ import annotations

import random
from pathlib import Path

from callbot.sample.texts import interview_text, text_holdout

OCCUPATIONS = ("BM", "SM", "PS", "RND", "ICT", "ARD", "MM")


def interview_rows(records: int, seed: int = 0) -> list[dict[str, object]]:
    """``records`` answers; every fifth is from the Validation folder (alternately validation, test)."""
    holdout = text_holdout(seed)
    rows = []
    for index in range(records):
        rng = random.Random(f"callbot.sample:{seed}:{index}")
        validation = index % 5 == 4
        unseen = validation and rng.random() < 0.5
        occupation = OCCUPATIONS[index % len(OCCUPATIONS)]
        text = interview_text(rng, occupation, ("New", "Experienced")[index % 3 == 0], holdout, unseen)
        split = ("validation", "test")[(index // 5) % 2] if validation else "train"
        rows.append({
            "interview_id": f"iv_{index:05d}", "dataset": "interview", "role": "answer",
            "text_raw": text.answer, "emotion": text.emotion, "intent": text.intent, "summary": text.summary,
            "split": split, "generator_unseen": unseen,
        })  # fmt: skip
    return rows


def write_interview_records(out: Path, records: int = 200, seed: int = 0, drop: tuple[str, ...] = ()) -> Path:
    """``out/records.parquet`` with the columns :mod:`callbot.interview.data` reads (less ``drop``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{k: v for k, v in row.items() if k not in drop} for row in interview_rows(records, seed)]
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out / "records.parquet")
    return out


def build_interview_model(out: Path, records: int = 40) -> Path:
    """A served interview model as `callbot interview` saves one: logistic heads fitted on the frozen
    e5 rows of ``records`` generator answers (real weights, fewer answers than the stage sees)."""
    from sklearn.linear_model import LogisticRegression

    from callbot.intent.encoders import pretrained
    from callbot.interview.served import TASKS, Head, mean_rows, save_model, sentences

    rows = interview_rows(records)
    said = [sentences(str(r["text_raw"])) for r in rows]
    features = mean_rows([pretrained("e5", list(s), 1) for s in said])
    heads = {}
    for task in TASKS:
        model = LogisticRegression(C=100.0, max_iter=3000, random_state=0).fit(
            features, [r[task] for r in rows]
        )
        heads[task] = Head("e5", [str(c) for c in model.classes_], model.coef_, model.intercept_)
    save_model(out, heads, 0.5, None)
    return out
