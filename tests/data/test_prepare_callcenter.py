"""The call-centre sample generator, and sample -> ingest -> prepare end to end (both datasets)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from callbot.sample.callcenter import DATASET_DIR, KDCA, KDCA_INTENTS, write_callcenter_tree


def _sample_params(params, out: Path, **extra):
    return params.sample.model_validate({**params.sample.model_dump(), "out": str(out), **extra})


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.zip*"))
    }


def test_generator_is_deterministic_and_scripted(tmp_path: Path, params) -> None:
    first = write_callcenter_tree(_sample_params(params, tmp_path / "a", records=60))
    second = write_callcenter_tree(_sample_params(params, tmp_path / "b", records=60))
    assert _digest(first) == _digest(second) and _digest(first)
    zips = sorted(first.rglob("*.zip"))
    assert {z.name for z in zips} >= {f"TL_{KDCA}.zip", f"VL_{KDCA}.zip", "TL_서울특별시.zip"}
    sentences = []
    for z in zips:
        with zipfile.ZipFile(z) as archive:
            for name in archive.namelist():
                data = json.loads(archive.read(name).decode("utf-8-sig"))
                assert isinstance(data, list)
                sentences += data
    kdca = [s for s in sentences if s["도메인"] == KDCA]
    assert len({s["대화셋일련번호"] for s in kdca}) == 30  # records // 2
    answers: dict[str, set[str]] = defaultdict(set)
    questions: dict[str, set[str]] = defaultdict(set)
    by_turn = {(s["도메인"], s["대화셋일련번호"], int(s["문장번호"])): s for s in kdca}
    for (domain, dialogue, turn), s in by_turn.items():
        if s["화자"] == "고객" and s["고객질문(요청)"]:
            reply = by_turn[(domain, dialogue, turn + 1)]
            answers[s["고객의도"]].add(reply["상담사답변"])
            questions[s["고객의도"]].add(s["고객질문(요청)"])
    assert set(answers) == {i.name for i in KDCA_INTENTS}
    assert all(len(a) == 1 for a in answers.values())  # the script repeats exactly
    assert sum(len(q) > 1 for q in questions.values()) >= 6  # the callers' wording varies


def test_generator_keeps_the_interview_tree_beside_it(tmp_path: Path, params) -> None:
    out = tmp_path / "dl"
    (out / "129.채용면접 인터뷰 데이터").mkdir(parents=True)
    (out / "129.채용면접 인터뷰 데이터" / "keep.txt").write_text("x")
    write_callcenter_tree(_sample_params(params, out, records=10))
    write_callcenter_tree(_sample_params(params, out, records=10))  # a re-run replaces only its folder
    assert (out / "129.채용면접 인터뷰 데이터" / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in out.iterdir()) == ["129.채용면접 인터뷰 데이터", DATASET_DIR]


@pytest.mark.slow
def test_sample_ingest_prepare_end_to_end(tmp_path: Path, params) -> None:
    from callbot.aihub.ingest import run_ingest
    from callbot.prepare.run import run_prepare
    from callbot.sample import run_sample

    download, raw, out = tmp_path / "dl", tmp_path / "raw", tmp_path / "prepared"
    sample = _sample_params(params, download, records=30, audio="stub", workers=1)
    run_sample(sample, dataset="interview")
    run_sample(sample, dataset="callcenter")
    ingest = params.ingest.model_validate(
        {**params.ingest.model_dump(), "src": str(download), "out": str(raw)}
    )
    assert not run_ingest(download, raw, ingest, strict=False).fatal
    report = run_prepare(raw, out, params.prepare)

    rows = pq.read_table(out / "records.parquet").to_pylist()
    interview = [r for r in rows if r["dataset"] == "interview"]
    assert (
        len(interview) == 60 and report.quarantined == 0
    )  # quirks (BOM, spellings, NFD, patch folder) all handled
    assert {r["gender"] for r in interview} <= {"FEMALE", "MALE"}
    assert all(r["duration_actual_ms"] > 0 and r["audio_path"] for r in interview)
    calls = [r for r in rows if r["dataset"] == "callcenter"]
    assert {r["domain"] for r in calls} == {KDCA, "서울특별시", "국민건강보험공단"}
    llm = [json.loads(line) for line in (out / "llm.jsonl").read_text(encoding="utf-8").splitlines()]
    ars = [e for e in llm if e["task"] == "ars"]
    assert ars and all("120" not in e["reference"] for e in ars)
    assert {e["task"] for e in llm} == {"ars", "summary", "emotion", "intent"}
