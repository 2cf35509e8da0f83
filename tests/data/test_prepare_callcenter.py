"""The call-centre sample generator, and sample -> ingest -> prepare end to end (both datasets)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from callbot.sample.callcenter import DATASET_DIR, HANDOVER, KDCA, corpus, write_callcenter_tree


def _sample_params(params, out: Path, **extra):
    return params.sample.model_validate({**params.sample.model_dump(), "out": str(out), **extra})


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.zip*"))
    }


def test_generator_is_deterministic_and_scripted(tmp_path: Path, params) -> None:
    extra = dict(callcenter_dialogues=60, audio="stub", workers=2, part_size=1 << 30)
    first = write_callcenter_tree(_sample_params(params, tmp_path / "a", **extra))
    second = write_callcenter_tree(_sample_params(params, tmp_path / "b", **extra))
    assert _digest(first) == _digest(second) and _digest(first)
    zips = sorted(first.rglob("*.zip"))
    assert {z.name for z in zips} >= {
        f"TL_{KDCA}.zip",
        f"VL_{KDCA}.zip",
        "TL_서울특별시.zip",
        f"TS_{KDCA}.zip",
    }
    sentences = []
    wavs: set[str] = set()
    for z in zips:
        with zipfile.ZipFile(z) as archive:
            if z.name.startswith(("TS_", "VS_")):
                wavs |= {n.rsplit("/", 1)[-1] for n in archive.namelist()}
                continue
            for name in archive.namelist():
                data = json.loads(archive.read(name).decode("utf-8-sig"))
                assert isinstance(data, list)
                sentences += data
    kdca = [s for s in sentences if s["도메인"] == KDCA]
    assert len({s["대화셋일련번호"] for s in kdca}) == 60
    callers = [s for s in sentences if s["화자"] == "고객"]
    assert {s["음성파일"] for s in callers} == wavs  # every caller sentence is spoken, nothing else
    assert {s["음성채널"] for s in callers} == {"wideband", "phone"}
    assert all(s["재생시간"] > 0 and s["화자음성"] for s in callers)
    answers: dict[str, set[str]] = defaultdict(set)
    questions: dict[str, set[str]] = defaultdict(set)
    by_turn = {(s["도메인"], s["대화셋일련번호"], int(s["문장번호"])): s for s in kdca}
    for (domain, dialogue, turn), s in by_turn.items():
        if s["화자"] == "고객" and s["고객질문(요청)"]:
            reply = by_turn[(domain, dialogue, turn + 1)]
            answers[s["고객의도"]].add(reply["상담사답변"])
            questions[s["고객의도"]].add(s["고객질문(요청)"])
    c = corpus()
    assert set(answers) == {i.name for i in (*c.kdca, *c.unscripted)}  # unscripted: Validation only
    assert all(len(a) == 1 for a in answers.values())  # the script repeats exactly
    handovers = {s["상담사의도"] for s in kdca if s["상담사답변"] == c.transfer}
    assert handovers == {HANDOVER} and answers[c.out_of_scope[0].name] == {c.transfer}
    assert sum(len(q) > 1 for q in questions.values()) >= 3  # the callers' wording varies


def test_generator_keeps_the_interview_tree_beside_it(tmp_path: Path, params) -> None:
    out = tmp_path / "dl"
    (out / "129.채용면접 인터뷰 데이터").mkdir(parents=True)
    (out / "129.채용면접 인터뷰 데이터" / "keep.txt").write_text("x")
    small = dict(callcenter_dialogues=10, audio="stub", workers=1)
    write_callcenter_tree(_sample_params(params, out, **small))
    write_callcenter_tree(_sample_params(params, out, **small))  # a re-run replaces only its folder
    assert (out / "129.채용면접 인터뷰 데이터" / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in out.iterdir()) == ["129.채용면접 인터뷰 데이터", DATASET_DIR]


@pytest.mark.slow
def test_sample_ingest_prepare_end_to_end(tmp_path: Path, params) -> None:
    from callbot.aihub.ingest import run_ingest
    from callbot.prepare.run import run_prepare
    from callbot.sample import run_sample

    download, raw, out = tmp_path / "dl", tmp_path / "raw", tmp_path / "prepared"
    sample = _sample_params(params, download, records=30, audio="stub", workers=1, callcenter_dialogues=120)
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
    assert {e["intent"] for e in ars} >= {i.name for i in corpus().out_of_scope} | {"감사"}
    assert all(e["intent"] is None for e in llm if e["task"] != "ars")

    # split by folder: Training is train; Validation is cut into validation and test
    for r in rows:
        assert (r["split"] == "train") == ("/Training/" in r["label_path"]), r["label_path"]
    assert {r["split"] for r in rows} == {"train", "validation", "test"}
    # every caller sentence is spoken: audio joined, voice and channel recorded, and in the STT set
    questions = [
        r for r in calls if r["speaker"] == "customer" and r["role"] == "question" and r["domain"] == KDCA
    ]
    assert questions and all(r["audio_path"] and r["duration_actual_ms"] > 0 for r in questions)
    assert all(r["voice"] and r["channel"] in ("wideband", "phone") for r in questions)
    assert {r["channel"] for r in questions if r["split"] != "train"} == {"wideband"}
    from datasets import load_from_disk

    stt = load_from_disk(str(out / "stt"))
    spoken = {u for split in stt.values() for u in split["utterance_id"]}
    assert {r["utterance_id"] for r in questions} <= spoken
    assert {"dataset", "voice", "channel"} <= set(stt["train"].column_names)
    train_calls = [r for r in stt["train"] if r["dataset"] == "callcenter"]
    assert train_calls and all(r["voice"] for r in train_calls)


def test_a_named_wav_that_is_missing_is_quarantined_not_a_crash(tmp_path: Path, params) -> None:
    from prepare_tree import CALLCENTER_ROOT, add_callcenter, callcenter_sentence, write_wav

    from callbot.prepare.run import run_prepare

    raw, out = tmp_path / "raw", tmp_path / "out"
    sentences = [
        callcenter_sentence(KDCA, "결핵", "000001", 1, "고객", "결핵 검사는 어디서 받을 수 있나요?"),
        callcenter_sentence(KDCA, "결핵", "000001", 2, "상담사", "가까운 보건소에서 받으실 수 있습니다."),
        callcenter_sentence(KDCA, "결핵", "000002", 1, "고객", "잠복결핵 치료 기간은 얼마나 되나요?"),
        callcenter_sentence(KDCA, "결핵", "000002", 2, "상담사", "보건소에서 안내해 드립니다."),
    ]
    for sentence, name in ((sentences[0], "a_01.wav"), (sentences[2], "b_01.wav")):
        sentence.update({"음성파일": name, "재생시간": 250, "화자음성": "f1-r160-p50", "음성채널": "phone"})
    add_callcenter(raw, KDCA, "결핵", sentences)
    write_wav(raw / CALLCENTER_ROOT / "Training" / "01.원천데이터" / f"TS_{KDCA}" / KDCA / "a_01.wav")
    report = run_prepare(raw, out, params.prepare)
    assert report.reasons == {"label_without_audio": 1}
    quarantined = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert "b_01.wav" in quarantined[0]["message"] and quarantined[0]["utterance"].endswith("000002-001")
    rows = {r["utterance_id"]: r for r in pq.read_table(out / "records.parquet").to_pylist()}
    spoken = rows[f"cc-{KDCA}-000001-001"]
    assert spoken["audio_path"].endswith("a_01.wav") and spoken["duration_ms"] == 250
    assert (spoken["voice"], spoken["channel"], spoken["split"]) == ("f1-r160-p50", "phone", "train")
    assert rows[f"cc-{KDCA}-000001-002"]["audio_path"] is None  # counsellor turns stay text
