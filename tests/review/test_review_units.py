"""Fast checks of the review loop's pure parts: masking, the call log, ranking, agreement, import rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callbot.review.annotations import Annotation, Task
from callbot.review.imports import decide
from callbot.review.pick import Item, call_items, label_issues, quarantine_items, rank, stt_items
from callbot.review.report import build_report, cohen_kappa
from callbot.serve.calllog import CallLog, mask_pii, read_call_log


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("010-1234-5678로 연락 주세요", "●●●-●●●●-●●●●로 연락 주세요"),
        ("주민번호 900101-1234567 입니다", "주민번호 ●●●●●●-●●●●●●● 입니다"),
        ("01012345678", "●●●●●●●●●●●"),
        ("공일공 일이삼사 오육칠팔", "●●● ●●●● ●●●●"),
        ("1339에 전화하세요, 3일 격리", "1339에 전화하세요, 3일 격리"),  # short numbers stay
    ],
)
def test_digit_runs_are_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


def test_call_log_masks_keeps_audio_and_prunes_old_and_extra_entries(tmp_path: Path) -> None:
    log = CallLog(tmp_path, retention_days=7, max_entries=3)
    now = datetime(2026, 1, 10, tzinfo=UTC)
    old = log.log_turn(
        transcript="제 번호 010 1234 5678",
        reply={"text": "네", "guarded": True},
        audio_wav=b"RIFF",
        now=now - timedelta(days=8),
    )
    assert (tmp_path / old["audio"]).is_file() and "5678" not in (tmp_path / "calls.jsonl").read_text()
    for day in range(4):
        log.log_turn(transcript=f"질문 {day}", reply={"text": "답"}, now=now + timedelta(minutes=day))
    kept = read_call_log(tmp_path)
    assert [e["transcript"] for e in kept] == ["질문 1", "질문 2", "질문 3"]
    assert not (tmp_path / old["audio"]).exists()  # pruned with its entry


def test_call_log_is_off_unless_enabled(params) -> None:
    assert params.serve.call_log.enabled is False
    assert CallLog.from_params(params.serve.call_log) is None


def _record(uid: str, text: str = "저는 영업을 했습니다", **labels: str) -> dict:
    return {"utterance_id": uid, "text": text, "text_raw": text, "audio": None, "split": "train", **labels}


def test_stt_items_rank_by_disagreement_and_confidence() -> None:
    records = {"a": _record("a"), "b": _record("b"), "c": _record("c")}
    predictions = [
        {"utterance_id": "a", "fine_tuned": "저는 영업을 했습니다", "attention_only": "저는 영업을 했습니다"},
        {"utterance_id": "b", "fine_tuned": "저는 영업을 했습니다", "attention_only": "저는 영업했습니다"},
        {
            "utterance_id": "c",
            "fine_tuned": "저는 영업을 했습니다",
            "attention_only": "지원 동기를 말씀해 주세요",
        },
    ]
    items = stt_items(predictions, records, min_confidence=0.5)
    assert [i.utterance_id for i in rank(items, 10)] == ["c", "b"]  # agreeing decoders: nothing to review
    assert all(0 < i.value <= 1 for i in items)


def test_quarantine_sends_only_what_a_person_can_fix() -> None:
    rows = [
        {"utterance": "q1", "reason": "empty_text", "message": "fill in the transcript"},
        {"utterance_id": "q2", "reason": "expectation:expect_audio_not_silent", "message": "silent"},
        {"utterance_id": "q3", "reason": "expectation:expect_text_has_hangul", "message": "mojibake"},
    ]
    assert sorted(i.utterance_id for i in quarantine_items(rows, {})) == ["q1", "q3"]


def test_rank_keeps_one_item_per_utterance_and_the_limit() -> None:
    items = [
        Item(key="stt:a", kind="stt", utterance_id="a", value=0.3, reason="r1"),
        Item(key="label:a", kind="label", utterance_id="a", value=0.6, reason="r2"),
        Item(key="call:x", kind="call", utterance_id="x", value=1.0, reason="r3"),
        Item(key="stt:b", kind="stt", utterance_id="b", value=0.1, reason="r4"),
    ]
    ranked = rank(items, 2)
    assert [i.key for i in ranked] == ["call:x", "label:a"] and "also stt" in ranked[1].reason


def test_handed_over_calls_come_first() -> None:
    entries = [
        {"call_id": "1", "handed_over": True, "confidence": None, "transcript": "격리", "reply": "연결"},
        {"call_id": "2", "handed_over": False, "confidence": 0.9, "transcript": "검사", "reply": "네"},
        {"call_id": "3", "handed_over": False, "confidence": 0.2, "transcript": "백신", "reply": "네"},
    ]
    assert [i.utterance_id for i in rank(call_items(entries, Path(), 0.5), 5)] == ["1", "3"]


def test_cleanlab_flags_a_flipped_label() -> None:
    positive = ["정말 즐겁고 보람 있었습니다", "행복하게 일했습니다", "좋은 경험이었고 즐거웠습니다"]
    negative = ["너무 힘들고 괴로웠습니다", "실패해서 슬펐습니다", "고통스럽고 힘들었습니다"]
    rows = []
    for n in range(12):
        rows.append((f"p{n}", {"text": positive[n % 3] + f" {n}", "emotion": "positive"}))
        rows.append((f"n{n}", {"text": negative[n % 3] + f" {n}", "emotion": "negative"}))
    rows[0] = ("p0", {"text": positive[0] + " 0", "emotion": "negative"})  # the mistake
    flagged = label_issues(rows, "emotion", folds=3, min_examples=10)
    assert flagged and flagged[0][0] == "p0" and flagged[0][2] == "positive"
    assert label_issues(rows[:5], "emotion", folds=3, min_examples=10) == []  # too few to judge


def test_cohen_kappa() -> None:
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    assert cohen_kappa(["a", "a", "a", "b"], ["a", "a", "b", "b"]) == pytest.approx(0.5)
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["a", "a"], ["a", "a"]) == 1.0


def _ann(user: str, n: int, **values: str) -> Annotation:
    return Annotation(id=n, user=user, values=values, lead_time=10.0, created_at="2026-01-01T00:00:00Z")


def _task(n: int, uid: str, labels: list[Annotation], verdicts: list[Annotation], **data: str) -> Task:
    return Task(
        n, {"utterance_id": uid, "kind": "stt", "current_text": "예전 문장", **data}, labels, verdicts
    )


def test_report_agreement_and_rejection_rate() -> None:
    tasks = [
        _task(
            1,
            "a",
            [
                _ann("x", 1, transcript="가나다라", emotion="neutral"),
                _ann("y", 2, transcript="가나다마", emotion="neutral"),
            ],
            [_ann("r", 3, verdict="accept")],
        ),
        _task(
            2,
            "b",
            [
                _ann("x", 4, transcript="바사", emotion="positive"),
                _ann("y", 5, transcript="바사", emotion="negative"),
            ],
            [_ann("r", 6, verdict="reject")],
        ),
        _task(3, "c", [_ann("y", 7, transcript="아자")], []),
    ]
    report = build_report(tasks)
    by = {a["annotator"]: a for a in report["annotators"]}
    assert report["rejection_rate"] == 0.5 and by["x"]["rejection_rate"] == 0.5 and by["y"]["reviewed"] == 2
    assert report["agreement"]["transcript_cer"] == pytest.approx(0.125)  # (1/4 + 0) / 2
    assert report["agreement"]["emotion_kappa"] == pytest.approx(
        cohen_kappa(["neutral", "positive"], ["neutral", "negative"]), abs=1e-4
    )
    assert by["y"]["tasks"] == 3 and by["y"]["tasks_per_hour"] == 360.0


def test_import_reports_and_skips_bad_input() -> None:
    known = {"a", "b", "c", "d", "e", "f"}
    ok = [_ann("x", 1, transcript="고친 문장입니다", emotion="neutral")]
    tasks = [
        _task(1, "a", ok, [_ann("r", 2, verdict="accept")]),  # applied
        _task(2, "gone", ok, [_ann("r", 3, verdict="accept")]),  # the item no longer exists
        _task(
            3, "b", [_ann("x", 4, transcript="hello world")], [_ann("r", 5, verdict="accept")]
        ),  # no Hangul
        _task(
            4, "c", [_ann("x", 6, emotion="angry")], [_ann("r", 7, verdict="accept")]
        ),  # label outside its set
        _task(
            5,
            "d",
            [_ann("x", 8, transcript="하나"), _ann("y", 9, transcript="둘")],
            [_ann("r", 10, verdict="accept")],
        ),
        _task(
            6, "e", ok, [_ann("r", 11, verdict="accept"), _ann("s", 12, verdict="reject")]
        ),  # reviewers disagree
        _task(7, "f", [_ann("x", 13, transcript="첫째 수정")], [_ann("r", 14, verdict="accept")]),
        _task(
            8, "f", [_ann("x", 15, transcript="둘째 수정")], [_ann("r", 16, verdict="accept")]
        ),  # duplicate, conflicting
        _task(9, "a", ok, [_ann("r", 17, verdict="accept")]),  # duplicate, same values: kept once
        _task(10, "b", ok, []),  # not reviewed
        _task(11, "c", ok, [_ann("r", 18, verdict="reject")]),
        _task(
            12, "d", [_ann("x", 19, transcript="예전 문장")], [_ann("r", 20, verdict="accept")]
        ),  # no change
    ]
    result = decide(tasks, known, "now")
    assert [c["utterance_id"] for c in result.corrections] == ["a"]
    assert result.corrections[0]["fields"] == {"text_raw": "고친 문장입니다", "emotion": "neutral"}
    text = "\n".join(result.issues)
    for expected in (
        "'gone' no longer exists",
        "has no Hangul",
        "'angry' is not one of",
        "labellers disagree",
        "reviewers disagree",
        "utterance f: accepted tasks 7, 8",
    ):
        assert expected in text
    assert (result.pending, result.rejected, result.unchanged) == (1, 1, 1)


def test_corrections_file_round_trip_and_bad_file(tmp_path: Path) -> None:
    from callbot.prepare.reviewed import apply_correction, load_corrections

    (tmp_path / "corrections.jsonl").write_text(
        json.dumps({"utterance_id": "a", "fields": {"text_raw": "고침", "emotion": "neutral", "evil": 1}})
        + "\n"
    )
    fixes = load_corrections(tmp_path)
    assert apply_correction({"utterance_id": "a", "text_raw": "틀림"}, fixes) == {
        "utterance_id": "a",
        "text_raw": "고침",
        "emotion": "neutral",
    }
    assert load_corrections(tmp_path / "missing") == {}
    (tmp_path / "corrections.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match=r"corrections.jsonl:1"):
        load_corrections(tmp_path)


def test_service_hook_logs_when_on_and_never_fails_the_turn(tmp_path: Path) -> None:
    from callbot.serve.calllog import record

    reply = {"text": "선별진료소에서 받으실 수 있습니다.", "guarded": False}
    assert record(None, reply, "검사는 어디서 받나요") is reply  # off: nothing written anywhere
    wav = tmp_path / "in.wav"
    wav.write_bytes(b"RIFF....")
    log = CallLog(tmp_path / "calls", retention_days=1, max_entries=10)
    assert record(log, reply, "검사는 어디서 받나요", wav) is reply
    (entry,) = read_call_log(tmp_path / "calls")
    assert (
        entry["transcript"] == "검사는 어디서 받나요"
        and (tmp_path / "calls" / entry["audio"]).read_bytes() == b"RIFF...."
    )
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert record(CallLog(blocked, 1, 10), reply, "질문") is reply  # an unwritable log is a warning only


def test_cli_names_what_to_start_or_set(monkeypatch, repo: Path, tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from callbot.cli import app

    settings = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    settings["review"]["server"]["url"] = "http://127.0.0.1:9"  # nothing listens there
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    args = ["--params", str(tmp_path / "params.yaml"), "review", "export"]
    for key in ("LABEL_STUDIO_API_KEY", "LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "set LABEL_STUDIO_API_KEY" in result.output
    monkeypatch.setenv("LABEL_STUDIO_USERNAME", "lead@example.org")
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", "long-enough-1")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "make review-server" in result.output


def test_review_deployment_is_daily_in_seoul(params, repo: Path) -> None:
    from callbot.review.flow import review_deployment
    from flows.review import review

    deployment = review_deployment(review, str(repo / "params.yaml"))
    schedule = deployment.schedules[0].schedule
    assert deployment.name == "daily-review" and deployment.parameters == {
        "params_file": str(repo / "params.yaml")
    }
    assert (schedule.cron, schedule.timezone) == (params.review.cron, params.orchestrate.timezone)


def test_corrections_are_rewritten_only_when_a_review_changes(tmp_path: Path) -> None:
    from callbot.review.imports import write_corrections

    entry = {"utterance_id": "a", "task_id": 1, "fields": {"text_raw": "고침"}, "imported_at": "day 1"}
    path = write_corrections(tmp_path, [entry])
    first = path.read_bytes()
    write_corrections(tmp_path, [{**entry, "imported_at": "day 2"}])  # the daily flow imports it again
    assert path.read_bytes() == first
    write_corrections(
        tmp_path, [{**entry, "task_id": 2, "fields": {"text_raw": "다시 고침"}, "imported_at": "day 3"}]
    )
    assert json.loads(path.read_text())["fields"] == {"text_raw": "다시 고침"}


def test_the_flow_tracks_corrections_with_dvc(tmp_path: Path, repo: Path) -> None:
    import subprocess
    import sys

    import yaml

    from callbot.review.flow import track_corrections

    settings = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    settings["orchestrate"]["push"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    assert track_corrections(tmp_path) is None  # not a DVC repository: nothing to track
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True)
    assert track_corrections(tmp_path) is None  # no corrections yet
    folder = tmp_path / settings["review"]["corrections"]
    folder.mkdir(parents=True)
    (folder / "corrections.jsonl").write_text('{"utterance_id": "a", "fields": {}}\n')
    tracked = track_corrections(tmp_path)
    dvc_file = yaml.safe_load((tmp_path / tracked).read_text())
    assert dvc_file["outs"][0]["path"] == "corrections.jsonl" and dvc_file["outs"][0]["md5"]
    assert "/corrections.jsonl" in (folder / ".gitignore").read_text()
