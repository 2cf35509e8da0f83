"""prepare end to end on crafted ingested trees: records, quarantine reasons, splits, HF datasets."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from prepare_tree import (
    INTERVIEW_ROOT,
    add_callcenter,
    add_interview,
    callcenter_sentence,
    interview_label,
    write_wav,
)

from callbot.prepare.run import PrepareError, run_prepare
from callbot.prepare.schema import RECORD_SCHEMA, SPLITS

STRATA = [(o, g, e) for o in ("SM", "BM", "PS") for g in ("MALE", "FEMALE") for e in ("NEW", "EXPERIENCED")]


def good_tree(raw: Path, interviews: int = 12) -> None:
    for i in range(interviews):
        occ, gender, exp = STRATA[i % len(STRATA)]
        add_interview(raw, occ, gender, exp, i)
    kdca = "질병관리본부"
    add_callcenter(
        raw,
        kdca,
        "예방접종",
        [
            callcenter_sentence(kdca, "예방접종", "7", 1, "고객", "독감 예방접종은 어디서 맞나요?"),
            callcenter_sentence(kdca, "예방접종", "7", 2, "고객", "보건소도 되나요?"),
            callcenter_sentence(
                kdca,
                "예방접종",
                "7",
                3,
                "상담사",
                "가까운 지정 의료기관이나 보건소에서 접종하실 수 있습니다.",
            ),
            callcenter_sentence(kdca, "예방접종", "7", 4, "고객", "비용은 얼마인가요?"),
            callcenter_sentence(kdca, "예방접종", "7", 5, "상담사", "어르신은 무료입니다."),
        ],
    )
    add_callcenter(
        raw,
        "서울시",
        "교통",
        [
            callcenter_sentence("서울시", "교통", "1", 1, "고객", "버스 노선을 알려주세요."),
            callcenter_sentence("서울시", "교통", "1", 2, "상담사", "120으로 문의해 주세요."),
        ],
    )


def test_good_tree_end_to_end(tmp_path: Path, params) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    good_tree(raw)
    report = run_prepare(raw, out, params.prepare)

    table = pq.read_table(out / "records.parquet")
    assert table.schema.equals(RECORD_SCHEMA)
    assert report.inputs == report.records + report.quarantined == 12 * 2 + 7
    assert report.quarantined == 0
    assert (out / "quarantine.jsonl").read_text() == ""
    assert "31 inputs = 31 records + 0 quarantined" in report.summary
    rows = table.to_pylist()
    by_id = {r["utterance_id"]: r for r in rows}
    answer = by_id["ckmk_a_sm_m_n_000000"]
    assert answer["interview_id"] == "ckmk_d_sm_m_n_000000"
    assert answer["text_raw"] == "저는 0년 동안 영업을 했습니다."
    assert answer["text"] == "저는 영 년 동안 영업을 했습니다"
    assert answer["audio_path"].startswith(INTERVIEW_ROOT + "/Training/01.원천데이터/")
    assert answer["duration_actual_ms"] == pytest.approx(250.0)
    assert answer["sample_rate"] == 16000 and answer["channels"] == 1 and answer["bits"] == 16
    assert answer["rms"] == pytest.approx(0.3 / 2**0.5, rel=0.01)
    assert answer["peak"] == pytest.approx(0.3, rel=0.01)
    assert (answer["emotion"], answer["intent"], answer["summary"]) == ("neutral", "attitude", "요약입니다.")
    assert by_id["ckmk_q_sm_m_n_000000"]["emotion"] is None  # question rows carry no answer labels
    call = by_id["cc-질병관리본부-7-003"]
    assert (call["dataset"], call["speaker"], call["role"], call["domain"], call["audio_path"]) == (
        "callcenter",
        "agent",
        "answer",
        "질병관리본부",
        None,
    )

    # grouping: every row of an interview or dialogue shares one split
    splits: dict[str, set[str]] = {}
    for r in rows:
        splits.setdefault(r["interview_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values())

    from datasets import Audio, load_from_disk

    from callbot.contracts import stt_audio_file

    stt = load_from_disk(str(out / "stt"))
    assert set(stt) == set(SPLITS)
    assert sum(len(stt[s]) for s in SPLITS) == 24  # call-centre rows have no audio
    assert stt["train"].features["audio"] == Audio(decode=False)
    example = next(stt[s][0] for s in SPLITS if len(stt[s]))
    assert example["audio"]["bytes"] is None  # a path, never an embedded copy of the WAV
    stored = example["audio"]["path"]  # relative to the dataset: a moved checkout reads the same bytes
    assert not Path(stored).is_absolute() and stored.startswith("../")
    assert stt_audio_file(out / "stt", stored).is_file()

    llm = load_from_disk(str(out / "llm"))
    examples = [e for s in SPLITS for e in llm[s]]
    tasks = {t: [e for e in examples if e["task"] == t] for t in ("ars", "summary", "emotion", "intent")}
    assert len(tasks["ars"]) == 2  # only the KDCA domain; two caller runs each answered once
    first = next(e for e in tasks["ars"] if e["id"] == "ars:cc-질병관리본부-7-003")
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert first["messages"][1]["content"] == "독감 예방접종은 어디서 맞나요? 보건소도 되나요?"
    assert (
        first["reference"]
        == first["messages"][2]["content"]
        == "가까운 지정 의료기관이나 보건소에서 접종하실 수 있습니다."
    )
    assert len(tasks["summary"]) == len(tasks["emotion"]) == len(tasks["intent"]) == 12
    assert tasks["emotion"][0]["reference"] in ("positive", "negative", "neutral")
    assert "positive, negative, neutral" in tasks["emotion"][0]["messages"][1]["content"]
    lines = (out / "llm.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(examples)
    assert {json.loads(line)["split"] for line in lines} <= set(SPLITS)


def test_spelling_variants_encodings_and_mock_prefix(tmp_path: Path, params) -> None:
    raw = tmp_path / "raw"
    for number, (gender, exp) in enumerate(
        [("Female", "New"), ("FEMAIL", "EXPERIENCED"), ("MAILE", "new"), ("male", "Experienced")]
    ):
        label = interview_label(
            "PS", "FEMALE" if "F" in gender.upper() else "MALE", "NEW", number, question="질문", answer="답변"
        )
        label["dataSet"]["info"].update(gender=gender, experience=exp)
        add_interview(raw, "PS", "FEMALE" if "F" in gender.upper() else "MALE", "NEW", number, label=label)
    # a UTF-8 BOM, and a CP949 label written by a Windows tool
    bom = interview_label("BM", "MALE", "NEW", 10, question="질문입니다", answer="답변입니다")
    add_interview(
        raw,
        "BM",
        "MALE",
        "NEW",
        10,
        label=bom,
        label_bytes=b"\xef\xbb\xbf" + json.dumps(bom, ensure_ascii=False).encode(),
    )
    cp = interview_label("BM", "MALE", "NEW", 11, question="질문입니다", answer="답변입니다")
    add_interview(
        raw, "BM", "MALE", "NEW", 11, label=cp, label_bytes=json.dumps(cp, ensure_ascii=False).encode("cp949")
    )
    # audio file names in NFD on disk (macOS-made archives), labels in NFC
    nfd = interview_label("BM", "MALE", "NEW", 12, question="질문", answer="답변")
    for role in ("question", "answer"):
        nfd["rawDataInfo"][role]["audioPath"] = nfd["rawDataInfo"][role]["audioPath"].replace(
            ".wav", "_한글.wav"
        )
    add_interview(raw, "BM", "MALE", "NEW", 12, label=nfd, audio=())
    folder = (
        next((raw / INTERVIEW_ROOT / "Training" / "01.원천데이터").glob("TS_Management*"))
        / "01.Management/Male/New"
    )
    for role in ("q", "a"):
        write_wav(folder / unicodedata.normalize("NFD", f"ckmk_{role}_bm_m_n_000012_한글.wav"))

    report = run_prepare(raw, tmp_path / "out", params.prepare)
    assert report.quarantined == 0, (tmp_path / "out" / "quarantine.jsonl").read_text()
    rows = pq.read_table(tmp_path / "out" / "records.parquet").to_pylist()
    assert len(rows) == 14
    assert {r["gender"] for r in rows if r["occupation"] == "PS"} == {"FEMALE", "MALE"}
    assert {r["experience"] for r in rows} <= {"NEW", "EXPERIENCED"}
    assert {r["utterance_id"] for r in rows} >= {"ckmk_a_bm_m_n_000012_한글", "ckmk_a_bm_m_n_000011"}


def _reasons(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]


def test_each_bad_input_is_quarantined_with_its_reason(tmp_path: Path, params) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    add_interview(raw, "SM", "MALE", "NEW", 1)  # good
    broken, _ = add_interview(raw, "SM", "MALE", "NEW", 2, label_bytes=b'{"version": "1.0", "dataSet": {')
    odd = interview_label("SM", "MALE", "NEW", 3, question="질문", answer="답변")
    odd["dataSet"]["info"]["gender"] = "X"
    add_interview(raw, "SM", "MALE", "NEW", 3, label=odd)
    add_interview(raw, "SM", "MALE", "NEW", 4, audio=("question",))  # answer WAV missing
    write_wav(raw / INTERVIEW_ROOT / "Training" / "01.원천데이터" / "TS_extra" / "ckmk_a_sm_m_n_999999.wav")
    lacking = interview_label("SM", "MALE", "NEW", 5, question="질문", answer="답변")
    del lacking["dataSet"]["answer"]["raw"]
    add_interview(raw, "SM", "MALE", "NEW", 5, label=lacking)
    add_interview(raw, "SM", "MALE", "NEW", 6)
    bad_wav = next((raw / INTERVIEW_ROOT).rglob("ckmk_q_sm_m_n_000006.wav"))
    bad_wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    empty = interview_label("SM", "MALE", "NEW", 7, question="b/ 음/", answer="답변")
    add_interview(raw, "SM", "MALE", "NEW", 7, label=empty)
    add_interview(raw, "SM", "MALE", "NEW", 8, split_folder="Validation")
    add_interview(raw, "SM", "MALE", "NEW", 8, split_folder="Training_221115_add")  # same utterances again
    add_interview(raw, "SM", "MALE", "NEW", 9, label_bytes=b"[" * 100_000 + b"]" * 100_000)  # RecursionError
    add_interview(
        raw, "SM", "MALE", "NEW", 10, label_bytes=b'{"version": ' + b"7" * 4_301 + b"}"
    )  # ValueError

    report = run_prepare(raw, out, params.prepare)
    entries = _reasons(out)
    reasons = {e["reason"] for e in entries}
    assert reasons == {
        "unparsable_json",
        "unknown_value",
        "label_without_audio",
        "audio_without_label",
        "missing_field",
        "bad_audio",
        "empty_text",
        "duplicate_utterance",
        "label_too_deep",
        "label_bad_number",
    }
    by_reason = {r: [e for e in entries if e["reason"] == r] for r in reasons}
    assert by_reason["unparsable_json"][0]["source"].endswith(broken.name)
    assert by_reason["unparsable_json"][0]["message"]  # says what to do
    assert {e["utterance"] for e in by_reason["unknown_value"]} == {
        "ckmk_q_sm_m_n_000003",
        "ckmk_a_sm_m_n_000003",
    }
    assert "gender='X'" in by_reason["unknown_value"][0]["message"]
    assert [e["utterance"] for e in by_reason["label_without_audio"]] == ["ckmk_a_sm_m_n_000004"]
    assert {e["utterance"] for e in by_reason["audio_without_label"]} >= {"ckmk_a_sm_m_n_999999"}
    assert [e["utterance"] for e in by_reason["bad_audio"]] == ["ckmk_q_sm_m_n_000006"]
    assert [e["utterance"] for e in by_reason["empty_text"]] == ["ckmk_q_sm_m_n_000007"]
    assert len(by_reason["duplicate_utterance"]) == 2
    assert [Path(e["source"]).name for e in by_reason["label_too_deep"]] == ["ckmk_d_sm_m_n_000009.json"]
    assert [Path(e["source"]).name for e in by_reason["label_bad_number"]] == ["ckmk_d_sm_m_n_000010.json"]
    # the good inputs are all there, and the accounting adds up
    ids = {r["utterance_id"] for r in pq.read_table(out / "records.parquet").to_pylist()}
    assert {
        "ckmk_q_sm_m_n_000001",
        "ckmk_a_sm_m_n_000001",
        "ckmk_q_sm_m_n_000004",
        "ckmk_a_sm_m_n_000006",
    } <= ids
    assert report.inputs == report.records + report.quarantined == len(ids) + len(entries)
    assert (
        f"{report.inputs} inputs = {report.records} records + {report.quarantined} quarantined"
        in report.summary
    )


def test_callcenter_bad_inputs(tmp_path: Path, params) -> None:
    raw = tmp_path / "raw"
    kdca = "질병관리본부"
    add_callcenter(raw, kdca, "검역", b"\xef\xbb\xbf[{")
    odd = callcenter_sentence(kdca, "방역", "1", 1, "로봇", "안녕하세요")
    no_id = callcenter_sentence(kdca, "방역", "2", 1, "고객", "문의합니다")
    del no_id["대화셋일련번호"]
    good = callcenter_sentence(kdca, "방역", "3", 1, "고객", "확진자 신고는 어떻게 하나요?")
    add_callcenter(raw, kdca, "방역", [odd, no_id, good])
    report = run_prepare(raw, tmp_path / "out", params.prepare)
    assert {e["reason"] for e in _reasons(tmp_path / "out")} == {
        "unparsable_json",
        "unknown_value",
        "missing_field",
    }
    assert (report.records, report.quarantined) == (1, 3)


def test_failed_run_keeps_previous_outputs(tmp_path: Path, params, monkeypatch) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    good_tree(raw, interviews=2)
    run_prepare(raw, out, params.prepare)
    before = (out / "records.parquet").read_bytes()

    from callbot.prepare.adapters import interview

    def explode(*_args, **_kwargs):
        yield from ()
        raise OSError("disk went away")

    monkeypatch.setattr(interview.InterviewAdapter, "iter_records", explode)
    with pytest.raises(OSError, match="disk went away"):
        run_prepare(raw, out, params.prepare)
    assert (out / "records.parquet").read_bytes() == before
    assert not list(out.glob(".*.tmp"))


def test_unknown_tree_is_a_clear_error(tmp_path: Path, params) -> None:
    (tmp_path / "raw" / "something else").mkdir(parents=True)
    with pytest.raises(PrepareError, match="no known dataset folder"):
        run_prepare(tmp_path / "raw", tmp_path / "out", params.prepare)
    with pytest.raises(PrepareError, match="callbot ingest"):
        run_prepare(tmp_path / "missing", tmp_path / "out", params.prepare)


def test_worker_processes_change_nothing(tmp_path: Path, params) -> None:
    raw = tmp_path / "raw"
    good_tree(raw, interviews=10)
    add_interview(raw, "SM", "MALE", "NEW", 50, audio=("question",))  # a label without its answer WAV
    write_wav(raw / INTERVIEW_ROOT / "Training" / "01.원천데이터" / "TS_extra" / "ckmk_q_sm_m_n_777777.wav")
    outputs = {}
    for workers in (1, 2):
        section = params.prepare.model_copy(update={"workers": workers})
        run_prepare(raw, tmp_path / f"out{workers}", section)
        outputs[workers] = (
            pq.read_table(tmp_path / f"out{workers}" / "records.parquet").to_pylist(),
            (tmp_path / f"out{workers}" / "quarantine.jsonl").read_text(encoding="utf-8"),
        )
    assert outputs[1] == outputs[2]
    assert '"audio_without_label"' in outputs[1][1] and '"label_without_audio"' in outputs[1][1]
