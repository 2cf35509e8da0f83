"""The human loop against a real Label Studio: export, two labellers and a reviewer through the API,
import, report, and the next dataset version (PATCH)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.data.prepare_tree import add_interview, interview_label

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]

LABELLERS = (("ann1@callbot.local", "ann1-pass-123"), ("ann2@callbot.local", "ann2-pass-123"))
REVIEWER = ("reviewer@callbot.local", "review-pass-123")


def _wav() -> bytes:
    buffer = io.BytesIO()
    t = np.arange(4000) / 16000
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000, format="WAV")
    return buffer.getvalue()


def _build(root: Path, params):
    """A prepared tree (one answer with an empty transcript is quarantined), STT predictions where
    the decoders disagree, and a handed-over call in the call log."""
    from callbot.orchestrate.version import record_version
    from callbot.prepare.run import run_prepare
    from callbot.serve.calllog import CallLog

    raw = root / "data" / "raw"
    for number in range(1, 7):
        add_interview(raw, number=number)
    empty = interview_label("SM", "MALE", "EXPERIENCED", 99, question="질문입니다.", answer="")
    add_interview(raw, number=99, label=empty)
    prepare = params.prepare.model_copy(update={"corrections": str(root / "data" / "corrections")})
    run_prepare(raw, root / "data" / "prepared", prepare)
    first = record_version(root / "data" / "prepared" / "records.parquet", root / "versions.json")

    import pyarrow.parquet as pq

    rows = pq.read_table(root / "data" / "prepared" / "records.parquet").to_pylist()
    answers = sorted((r for r in rows if r["role"] == "answer"), key=lambda r: r["utterance_id"])
    predictions = [
        {
            "utterance_id": answers[0]["utterance_id"],
            "reference": answers[0]["text"],
            "fine_tuned": "저는 일년 동안 영업을 했습니다",
            "attention_only": "저는 일 년 동안 영업했습니다",
        },
        {
            "utterance_id": answers[1]["utterance_id"],
            "reference": answers[1]["text"],
            "fine_tuned": "저는 이년 동안 영업을 했습니다",
            "attention_only": "지원 동기를 말씀해 주세요",
        },
    ]
    (root / "reports" / "stt").mkdir(parents=True)
    (root / "reports" / "stt" / "predictions.json").write_text(json.dumps(predictions, ensure_ascii=False))
    log = CallLog(root / "data" / "calls", retention_days=30, max_entries=100)
    log.log_turn(
        transcript="제 번호는 010-1234-5678 인데 확진 후 격리 기간이 며칠인가요",
        reply={
            "text": "죄송합니다. 상담원에게 연결해 드리겠습니다.",
            "guarded": True,
            "reason": "off_script",
        },
        audio_wav=_wav(),
    )
    return prepare, first, answers


def _result(transcript=None, emotion=None, intent=None, verdict=None, answer=None):
    from callbot.review.export import choice, textarea

    result = []
    if transcript is not None:
        result.append(textarea("transcript", transcript))
    if answer is not None:
        result.append(textarea("answer", answer, to="current"))
    for name, value in (("emotion", emotion), ("intent", intent), ("verdict", verdict)):
        if value is not None:
            result.append(choice(name, value))
    return result


def test_round_trip_through_label_studio(label_studio, params, monkeypatch, tmp_path_factory) -> None:
    from callbot.orchestrate.version import record_version
    from callbot.prepare.run import run_prepare
    from callbot.review.client import LabelStudio
    from callbot.review.export import run_export
    from callbot.review.imports import run_import
    from callbot.review.report import run_report
    from callbot.review.server import ServerError

    url, served, server = label_studio
    import psutil

    process = psutil.Process(server.process.pid)
    listening = {
        c.laddr.ip
        for p in (process, *process.children(recursive=True))
        for c in p.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    }
    assert listening == {"127.0.0.1"}  # loopback only, not every interface
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(served))
    root = served  # audio must lie under the served root's data/
    prepare, first, answers = _build(root, params)
    review = params.review.model_copy(
        update={
            "server": params.review.server.model_copy(update={"url": url}),
            "prepared": "data/prepared",
            "raw": "data/raw",
            "stt_predictions": "reports/stt/predictions.json",
            "call_log": "data/calls",
            "corrections": "data/corrections",
            "report": "reports/review",
            "reviewers": [REVIEWER[0]],
        }
    )
    admin = LabelStudio.connect(url)
    for email, password in (*LABELLERS, REVIEWER):
        admin.invite(email, password)

    started = time.monotonic()
    exported = run_export(review, admin, root)
    assert (
        exported.offered["stt"] == 2 and exported.offered["quarantine"] == 1 and exported.offered["call"] == 1
    )
    assert exported.loaded == exported.ranked == 4
    assert run_export(review, admin, root).loaded == 0  # a second export loads nothing twice

    tasks = {t["data"]["key"]: t for t in admin.tasks(exported.project_id)}
    call = next(t for k, t in tasks.items() if k.startswith("call:"))
    assert "●●●-●●●●-●●●●" in call["data"]["current_text"] and "5678" not in json.dumps(call)
    assert call["data"]["audio"].startswith("/data/local-files/?d=data/calls/audio/")
    stt0, stt1 = (tasks[f"stt:{a['utterance_id']}"] for a in answers[:2])
    assert stt1["data"]["value"] > stt0["data"]["value"]  # the wilder disagreement ranks higher
    quarantine = next(t for k, t in tasks.items() if k.startswith("quarantine:"))
    # a task for an utterance that is gone by import time, and one without Hangul: reported, skipped
    from callbot.review.export import to_task
    from callbot.review.pick import Item

    ghost = Item(key="stt:gone", kind="stt", utterance_id="gone", value=0.1, reason="test", text="없는 발화")
    admin.import_tasks(exported.project_id, [to_task(ghost, served)])
    gone = next(t for t in admin.tasks(exported.project_id) if t["data"]["key"] == "stt:gone")

    ann1, ann2 = (LabelStudio(url) for _ in LABELLERS)
    for client, (email, password) in zip((ann1, ann2), LABELLERS, strict=True):
        client.login(email, password)
    fixed = "저는 일 년 동안 영업을 했습니다."
    ann1.annotate(stt0["id"], _result(fixed, "neutral", "attitude"), 20.0)
    ann2.annotate(stt0["id"], _result(fixed, "neutral", "attitude"), 40.0)
    ann1.annotate(stt1["id"], _result("저는 이 년 동안 영업을 했습니다.", "positive", "attitude"), 30.0)
    ann2.annotate(stt1["id"], _result("저는 이 년 동안 영업 했습니다.", "neutral", "attitude"), 50.0)
    ann1.annotate(quarantine["id"], _result("저는 열심히 했습니다."), 10.0)
    ann2.annotate(quarantine["id"], _result("hello"), 10.0)
    ann1.annotate(call["id"], _result("확진 후 격리 기간이 며칠인가요"), 15.0)
    ann1.annotate(gone["id"], _result("없어진 발화입니다"), 5.0)

    reviewer = LabelStudio(url)
    reviewer.login(*REVIEWER)
    reviewer.annotate(stt0["id"], _result(verdict="accept"), 5.0)
    # the labellers disagree on stt1: the reviewer settles it with their own transcript and emotion
    reviewer.annotate(
        stt1["id"], _result("저는 이 년 동안 영업을 했습니다.", "neutral", verdict="accept"), 8.0
    )
    reviewer.annotate(quarantine["id"], _result(verdict="reject"), 3.0)
    reviewer.annotate(gone["id"], _result(verdict="accept"), 2.0)

    imported = run_import(review, admin, root)
    assert (imported.accepted, imported.rejected, imported.pending) == (
        3,
        1,
        1,
    )  # the call is not reviewed yet
    assert imported.fixes == 2 and imported.new_examples == 0
    assert any("'gone' no longer exists" in issue for issue in imported.issues)
    lines = [
        json.loads(x) for x in (root / "data" / "corrections" / "corrections.jsonl").read_text().splitlines()
    ]
    by_id = {c["utterance_id"]: c for c in lines}
    assert by_id[answers[0]["utterance_id"]]["fields"] == {"text_raw": fixed}
    assert by_id[answers[0]["utterance_id"]]["labelled_by"] == sorted(e for e, _ in LABELLERS)
    assert by_id[answers[1]["utterance_id"]]["reviewed_by"] == REVIEWER[0]
    assert by_id[answers[1]["utterance_id"]]["fields"]["text_raw"] == "저는 이 년 동안 영업을 했습니다."

    report = run_report(review, admin, root)
    by_user = {a["annotator"]: a for a in report["annotators"]}
    assert report["reviewed"] == 4 and report["rejected"] == 1 and report["rejection_rate"] == 0.25
    assert by_user[LABELLERS[1][0]]["rejection_rate"] == round(1 / 3, 4)  # ann2: stt0, stt1, quarantine
    assert by_user[LABELLERS[0][0]]["seconds_per_task"] == 16.0  # (20 + 30 + 10 + 15 + 5) / 5
    assert report["agreement"]["double_transcribed"] == 3
    assert 0 < report["agreement"]["transcript_cer"] < 1
    assert report["agreement"]["emotion_pairs"] == 2 and report["agreement"]["emotion_kappa"] < 1
    assert (root / "reports" / "review" / "report.html").read_text().count("<tr>") == 3

    run_prepare(root / "data" / "raw", root / "data" / "prepared", prepare)
    second = record_version(root / "data" / "prepared" / "records.parquet", root / "versions.json")
    assert (first.version, second.version, second.bump) == ("1.0.0", "1.0.1", "patch")
    import pyarrow.parquet as pq

    texts = {
        r["utterance_id"]: r["text_raw"]
        for r in pq.read_table(root / "data" / "prepared" / "records.parquet").to_pylist()
    }
    assert texts[answers[0]["utterance_id"]] == fixed

    # the reviewer accepts the handed-over call with the scripted answer: a new ARS example, MINOR
    scripted = "격리 기간은 확진일로부터 칠 일입니다."
    reviewer.annotate(call["id"], _result(verdict="accept", answer=scripted), 9.0)
    again = run_import(review, admin, root)
    assert (again.accepted, again.new_examples, again.fixes) == (4, 1, 2)
    run_prepare(root / "data" / "raw", root / "data" / "prepared", prepare)
    third = record_version(root / "data" / "prepared" / "records.parquet", root / "versions.json")
    assert (third.version, third.bump) == ("1.1.0", "minor")
    examples = [json.loads(x) for x in (root / "data" / "prepared" / "llm.jsonl").read_text().splitlines()]
    ars = [e for e in examples if e["task"] == "ars"]
    assert [e["reference"] for e in ars] == [scripted] and "격리 기간이 며칠인가요" in ars[0]["messages"][1][
        "content"
    ]
    print(
        f"round trip: {exported.loaded} tasks, 반려율 {report['rejection_rate']}, "
        f"versions {first.version} -> {second.version} -> {third.version}, "
        f"CER {report['agreement']['transcript_cer']}, emotion kappa {report['agreement']['emotion_kappa']}, "
        f"{time.monotonic() - started:.1f} s"
    )

    # a labeller's personal access token (JWT refresh) works in place of a password
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ann1.create_token())
    assert LabelStudio.connect(url).email == LABELLERS[0][0]
    monkeypatch.delenv("LABEL_STUDIO_API_KEY")

    # the scheduled `review` flow on the same project: nothing new to import or export, the report posted
    import yaml
    from prefect.testing.utilities import prefect_test_harness

    from flows.review import review as review_flow

    settings = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    settings["review"]["server"]["url"] = url
    settings["review"]["reviewers"] = [REVIEWER[0]]
    settings["review"]["corrections"] = "data/corrections"
    (root / "params.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    monkeypatch.chdir(Path.cwd())  # the flow works from the repository root: restore ours afterwards
    with prefect_test_harness(server_startup_timeout=180):
        outcome = review_flow(params_file="params.yaml", root=str(root))
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as prefect:
            artifact = prefect.read_latest_artifacts()
    assert outcome["accepted"] == 4 and outcome["exported"] == 0 and outcome["rejection_rate"] == 0.2
    assert any(a.key == "review-inspection" for a in artifact)

    bad = LabelStudio(url)
    with pytest.raises(ServerError, match="refused the login"):
        bad.login(REVIEWER[0], "wrong-password")


def test_a_server_that_is_not_running_is_a_clear_error(params, monkeypatch) -> None:
    from callbot.review.client import LabelStudio
    from callbot.review.server import ServerError

    monkeypatch.setenv("LABEL_STUDIO_USERNAME", "x@y.z")
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", "whatever-123")
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(ServerError, match="make review-server"):
        LabelStudio.connect("http://127.0.0.1:9")
