"""Interview analysis (callbot interview) on a real slice: generator answers, the pinned e5 weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callbot.interview.analyse import Embeddings, analyse_interview
from callbot.interview.data import InterviewError, load_answers, sentences
from callbot.interview.summarise import extract
from tests.support.interview_records import write_interview_records


@pytest.fixture(scope="module")
def e5_base(tmp_path_factory) -> Path:
    """The bases stage's e5 directory, built from the pinned package (a copy and a hash check)."""
    from callbot.bases.e5 import build_e5

    return Path(build_e5(tmp_path_factory.mktemp("bases") / "multilingual-e5-small").path)


@pytest.fixture(scope="module")
def section(params, e5_base):
    return params.interview.model_copy(update={"base": str(e5_base), "C": [1.0, 100.0]})


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory) -> Path:
    return write_interview_records(tmp_path_factory.mktemp("interview") / "prepared", records=120)


@pytest.mark.slow
def test_heads_beat_majority_and_summaries_beat_one_lead_sentence(section, slice_dir, tmp_path) -> None:
    result = analyse_interview(section, slice_dir, tmp_path / "report", tmp_path / "model")
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics == result.metrics
    _served_model_is_the_chosen_one(tmp_path / "model", metrics, load_answers(slice_dir)["test"])
    for task in ("emotion", "intent"):
        floor = metrics[task]["majority"]["test"]["macro_f1"]
        for encoder in ("e5", "tfidf"):
            assert metrics[task][encoder]["test"]["macro_f1"] > floor + 0.2, (task, encoder, metrics[task])
    summary = metrics["summary"]
    assert summary["centroid"]["test"]["rouge_l"] > summary["lead_1"]["test"]["rouge_l"], summary
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "synthetic sample data" in report and "95.19" not in report and "0.9519" in report


@pytest.mark.slow
def test_summary_is_sentences_of_the_answer(slice_dir) -> None:
    answers = load_answers(slice_dir)["test"][:4]
    embeddings = Embeddings(answers, threads=1)
    for answer in answers:
        order = embeddings.order(answer)
        assert sorted(order) == list(range(len(answer.sentences)))
        assert extract(answer, order, 0.0) in answer.sentences
        kept = sentences(extract(answer, order, 0.5))
        assert set(kept) <= set(answer.sentences) and len(kept) == int(len(answer.sentences) * 0.5 + 0.5)
        assert list(kept) == [s for s in answer.sentences if s in kept]  # answer order kept


def test_held_out_wording_is_reported_unseen(slice_dir) -> None:
    """Every answer the generator drew from held-out templates or words counts as unseen."""
    import pyarrow.parquet as pq

    flags = {
        r["interview_id"]: r["generator_unseen"]
        for r in pq.read_table(slice_dir / "records.parquet").to_pylist()
    }
    held = [a for s in ("validation", "test") for a in load_answers(slice_dir)[s]]
    assert any(flags[a.id] for a in held)
    assert all(not a.seen for a in held if flags[a.id])


def test_missing_records_or_column_or_base_is_named(section, tmp_path) -> None:
    with pytest.raises(InterviewError, match=r"records\.parquet: not found; run `callbot prepare`"):
        analyse_interview(section, tmp_path / "nowhere", tmp_path / "report")
    lacking = write_interview_records(tmp_path / "lacking", records=20, drop=("emotion",))
    with pytest.raises(InterviewError, match=r"records\.parquet: lacks column\(s\) emotion"):
        analyse_interview(section, lacking, tmp_path / "report")
    complete = write_interview_records(tmp_path / "complete", records=20)
    no_base = section.model_copy(update={"base": str(tmp_path / "bases" / "multilingual-e5-small")})
    with pytest.raises(InterviewError, match=r"base\.json: not found; run `callbot bases`"):
        analyse_interview(no_base, complete, tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_no_encoder_is_named_before_any_work(section, tmp_path) -> None:
    with pytest.raises(InterviewError, match=r"'interview.encoders' is empty; name e5 and/or tfidf"):
        analyse_interview(section.model_copy(update={"encoders": []}), tmp_path / "nowhere", tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_unlabelled_split_is_named(section, tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    prepared = write_interview_records(tmp_path / "prepared", records=20)
    table = pq.read_table(prepared / "records.parquet").to_pylist()
    rows = [{**r, "intent": None} if r["split"] == "test" else r for r in table]
    pq.write_table(pa.Table.from_pylist(rows), prepared / "records.parquet")
    with pytest.raises(InterviewError, match=r"split\(s\) test has a value in column intent"):
        analyse_interview(section, prepared, tmp_path / "report")


def test_cli_exits_1_with_the_message(repo, tmp_path) -> None:
    from callbot.cli import app

    result = CliRunner().invoke(
        app, ["--params", str(repo / "params.yaml"), "interview", "--prepared", str(tmp_path)]
    )
    assert result.exit_code == 1 and "run `callbot prepare` first" in result.output, result.output


def _served_model_is_the_chosen_one(model: Path, metrics: dict, test: list) -> None:
    """The saved heads are validation's choice and score test as the stage did; the summary is the
    centroid's at its chosen share."""
    from callbot.interview.served import InterviewModel

    served = InterviewModel.load(model)
    assert served.share == metrics["summary"]["centroid"]["share"]
    answers = [served.analyse(a.text) for a in test]
    for task in ("emotion", "intent"):
        encoder = served.heads[task].encoder
        others = [n for n in ("e5", "tfidf") if n != encoder]
        assert all(
            metrics[task][encoder]["validation"]["macro_f1"] >= metrics[task][n]["validation"]["macro_f1"]
            for n in others
        )
        right = [got[task]["label"] == getattr(a, task) for got, a in zip(answers, test, strict=True)]
        assert round(sum(right) / len(right), 4) == metrics[task][encoder]["test"]["accuracy"], task
        assert all(got[task]["confidence"] == max(got[task]["scores"].values()) for got in answers)
    for got, answer in zip(answers, test, strict=True):
        assert set(sentences(got["summary"])) <= set(answer.sentences) and got["sentences"] == len(
            answer.sentences
        )


@pytest.mark.parametrize("classes", [2, 3])
def test_served_probabilities_are_scikit_learns(classes: int) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from callbot.interview.served import Head

    rng = np.random.default_rng(classes)
    rows = rng.normal(size=(60, 8))
    labels = [f"l{i % classes}" for i in range(60)]
    model = LogisticRegression(C=10.0, max_iter=500).fit(
        rows + np.array([[i % classes, 0, 0, 0, 0, 0, 0, 0] for i in range(60)]), labels
    )
    head = Head("e5", list(model.classes_), model.coef_, model.intercept_)
    for row in rows[:10]:
        assert head.probabilities(row) == pytest.approx(model.predict_proba(row[None])[0], abs=1e-12)


def test_a_broken_saved_model_is_named(tmp_path) -> None:
    import numpy as np

    from callbot.interview.served import Head, InterviewModel, InterviewModelError, save_model

    with pytest.raises(InterviewModelError, match=r"interview\.json.*`callbot interview`"):
        InterviewModel.load(tmp_path / "nowhere")
    heads = {t: Head("e5", ["a", "b", "c"], np.zeros((3, 384)), np.zeros(3)) for t in ("emotion", "intent")}
    save_model(tmp_path / "ok", heads, 0.5, None)
    assert InterviewModel.load(tmp_path / "ok").heads["intent"].labels == ["a", "b", "c"]
    narrow = {**heads, "intent": Head("e5", ["a", "b", "c"], np.zeros((3, 100)), np.zeros(3))}
    save_model(tmp_path / "narrow", narrow, 0.5, None)
    with pytest.raises(
        InterviewModelError, match=r"heads\.npz: the intent head is \(3, 100\), not \(3, 384\)"
    ):
        InterviewModel.load(tmp_path / "narrow")
    tfidf = {**heads, "emotion": Head("tfidf", ["a", "b", "c"], np.zeros((3, 5)), np.zeros(3))}
    save_model(tmp_path / "no-state", tfidf, 0.5, None)
    with pytest.raises(InterviewModelError, match=r"tasks\.emotion reads TF-IDF but no `tfidf` state"):
        InterviewModel.load(tmp_path / "no-state")
    meta = json.loads((tmp_path / "ok" / "interview.json").read_text(encoding="utf-8"))
    (tmp_path / "ok" / "interview.json").write_text(
        json.dumps({**meta, "e5": {"sha256": "0" * 64}}), encoding="utf-8"
    )
    with pytest.raises(InterviewModelError, match=r"other e5 weights than the pinned"):
        InterviewModel.load(tmp_path / "ok")
