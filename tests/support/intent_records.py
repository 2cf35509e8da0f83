"""A records.parquet of call-centre caller questions straight from the sample generator (text only).

prepare turns Training into train and splits Validation dialogues into validation and test; this
does the same by dialogue number, so the intent tests run in seconds without audio or ingest.
"""

from __future__ import annotations

from pathlib import Path

from callbot.sample.callcenter import build_dialogues
from callbot.sample.params import SampleParams


def write_records(sample: SampleParams, out: Path, dialogues: int = 400) -> Path:
    """``out/records.parquet`` with the columns :mod:`callbot.intent.data` reads."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for d in build_dialogues(sample.model_copy(update={"callcenter_dialogues": dialogues})):
        split = "train" if d.split == "Training" else ("validation" if d.number % 10 == 0 else "test")
        for s in d.sentences:
            customer = s["화자"] == "고객"
            rows.append({
                "interview_id": f"{d.domain}_{d.id}", "dataset": "callcenter", "domain": d.domain,
                "speaker": "customer" if customer else "agent", "role": "question" if customer else "answer",
                "turn": s["문장번호"], "text_raw": s["고객질문(요청)"] or s["고객답변"] or s["상담사답변"],
                "intent_expression": s["고객의도"] or s["상담사의도"], "split": split,
            })  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out / "records.parquet")
    return out
