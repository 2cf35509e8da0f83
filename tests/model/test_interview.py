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
    result = analyse_interview(section, slice_dir, tmp_path / "report")
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics == result.metrics
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
