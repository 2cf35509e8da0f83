"""The champion/challenger rule on crafted leaderboards, and the files `callbot select` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.contracts import (
    BotMetrics,
    LlmReport,
    read_leaderboard,
    write_bot_metrics,
    write_llm_report,
)
from callbot.registry.select import Entry, SelectError, choose, run_select


def entry(name: str, params: int, rouge: float, ppl: float = 10.0) -> Entry:
    return Entry(name, params, {"ars_rouge_l": rouge, "perplexity": ppl}, {"ars_rouge_l": 0.1}, {})


def test_clear_best_wins():
    board = [entry("small", 1_000, 0.50), entry("big", 9_000, 0.80), entry("mid", 5_000, 0.60)]
    assert choose(board, "ars_rouge_l", "max", 0.01).winner == "big"


def test_exact_tie_goes_to_the_smaller_model():
    board = [entry("big", 9_000, 0.70), entry("small", 1_000, 0.70)]
    decision = choose(board, "ars_rouge_l", "max", 0.01)
    assert decision.winner == "small"
    assert set(decision.equivalents) == {"big", "small"}


def test_gain_below_min_improvement_does_not_pay_for_a_bigger_model():
    board = [entry("big", 9_000, 0.705), entry("small", 1_000, 0.70)]
    assert choose(board, "ars_rouge_l", "max", 0.01).winner == "small"
    assert choose(board, "ars_rouge_l", "max", 0.001).winner == "big"


def test_champion_is_kept_unless_beaten_by_min_improvement():
    board = [entry("champ", 9_000, 0.70), entry("challenger", 1_000, 0.705)]
    assert choose(board, "ars_rouge_l", "max", 0.01, champion="champ").winner == "champ"
    board = [entry("champ", 9_000, 0.70), entry("challenger", 9_500, 0.72)]
    assert choose(board, "ars_rouge_l", "max", 0.01, champion="champ").winner == "challenger"


def test_min_goal_for_perplexity():
    board = [entry("a", 1_000, 0.5, ppl=12.0), entry("b", 2_000, 0.5, ppl=4.0)]
    assert choose(board, "perplexity", "min", 0.5).winner == "b"


def test_missing_metric_names_the_candidate_and_the_metric():
    with pytest.raises(SelectError, match=r"candidate a has no numeric 'ars_bleu'"):
        choose([entry("a", 1, 0.5)], "ars_bleu", "max", 0.01)


def _report(d: Path, name: str, params: int, rouge: float) -> None:
    paths = {k: f"models/llm/{name}/{k}" for k in ("merged", "adapter", "base")}
    report = LlmReport(
        candidate=name, arch="llama", base=f"models/bases/{name}", licence=f"licence of {name}",
        parameters=params, dataset_version="1.0.0", trained_on="1.0.0", paths=paths,
        metrics={"ars_rouge_l": rouge, "ars_exact_match": rouge, "samples": {}},
        base_metrics={"ars_rouge_l": rouge / 3},
    )  # fmt: skip
    write_llm_report(d / f"{name}.json", report)


def _bot(path: Path, results: dict[str, tuple[float, float]]) -> None:
    """evaluate-bot's metrics.json with (validation success, validation wrong rate) per candidate."""

    def split(success: float, wrong: float) -> dict:
        return {"all": {"success": success, "wrong": wrong, "handover": round(1 - success - wrong, 4)}}

    metrics = BotMetrics(
        best="kullm",
        headline={"task_success": 0.9},
        candidates={
            n: {"threshold": 0.5, "validation": split(s, w), "test": split(s - 0.05, w)}
            for n, (s, w) in results.items()
        },
        baselines={"retrieval": {"test": split(0.5, 0.01)}},
        beats_retrieval=True,
    )
    write_bot_metrics(path, metrics)


def test_run_select_writes_leaderboard_and_selection(tmp_path, repo):
    from callbot.config import read_yaml
    from callbot.registry.params import SelectParams

    reports = tmp_path / "reports"
    reports.mkdir()
    _report(reports, "polyglot-ko", 500, 0.90)
    _report(reports, "kullm", 400, 0.90)  # tie: the smaller wins
    _report(reports, "kogpt", 450, 0.40)
    _report(reports, "gemma", 300, 0.99)
    bot = tmp_path / "bot.json"
    # gemma answers best but wrongly too often: not eligible; kullm and polyglot-ko tie: the smaller wins
    _bot(bot, {"polyglot-ko": (0.9, 0.01), "kullm": (0.9, 0.02), "kogpt": (0.4, 0.0), "gemma": (0.95, 0.05)})
    raw = read_yaml(repo / "params.yaml")["select"]
    params = SelectParams.model_validate(
        {
            **raw,
            "bot_metrics": str(bot),
            "reports": str(reports),
            "leaderboard": str(tmp_path / "board"),
            "out": str(tmp_path / "selected.json"),
        }
    )
    selected = run_select(params)
    assert selected.winner == "kullm"
    assert selected.merged == "models/llm/kullm/merged" and selected.adapter == "models/llm/kullm/adapter"
    assert selected.dataset_version == "1.0.0"
    assert next(iter(selected.metrics)) == "bot_task_success"
    assert selected.handover_threshold == 0.5
    board_dir = tmp_path / "board"
    board = read_leaderboard(board_dir / "leaderboard.json")
    assert [r.candidate for r in board.rows] == ["kullm", "polyglot-ko", "kogpt"]
    board_md = (board_dir / "leaderboard.md").read_text("utf-8")
    assert "kullm ★" in board_md and "gemma" not in board_md
    assert "retrieval: task success 0.5" in board_md
    assert [r.licence for r in board.rows] == [f"licence of {n}" for n in ("kullm", "polyglot-ko", "kogpt")]
    assert selected.licence == "licence of kullm"  # package stores it with the model in BentoML
    assert "| kullm ★ | 400 | licence of kullm |" in (board_dir / "leaderboard.md").read_text("utf-8")
    assert (board_dir / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Next run: a slightly better challenger does not unseat the champion.
    _bot(
        bot, {"polyglot-ko": (0.9, 0.01), "kullm": (0.9, 0.02), "kogpt": (0.905, 0.0), "gemma": (0.95, 0.05)}
    )
    assert run_select(params).winner == "kullm"


def _bot_with_policies(
    path: Path, results: dict[str, tuple[float, float]], intent: float | None = None
) -> None:
    """evaluate-bot's metrics.json as it now writes it: per candidate (and for the intent model alone,
    ``intent``'s validation success) its calibrated policy and headline."""

    def split(success: float, wrong: float) -> dict:
        return {"all": {"success": success, "wrong": wrong, "handover": round(1 - success - wrong, 4)}}

    candidates = {
        n: {
            "threshold": 0.6, "validation": split(s, w), "test": split(s - 0.05, w),
            "policy": {"answer": 0.6, "margin": 0.1, "confirm": round(s / 3, 4), "word": 0.0},
            "screen": {"repeat_min_words": 8, "max_repeat_share": 0.5, "injection_markers": ["ignore"]},
            "headline": {"task_success": round(s - 0.05, 4), "wrong_answer_rate": w},
        }
        for n, (s, w) in results.items()
    }  # fmt: skip
    baselines = {"retrieval": {"test": split(0.5, 0.01)}}
    if intent is not None:
        baselines["intent"] = {
            "threshold": 0.5, "validation": split(intent, 0.0), "test": split(intent, 0.0),
            "policy": {"answer": 0.5, "margin": 0.0, "confirm": 0.25, "word": 0.0},
            "headline": {"task_success": intent, "wrong_answer_rate": 0.0},
        }  # fmt: skip
    metrics = BotMetrics(candidates=candidates, baselines=baselines, intent_model="models/intent")
    write_bot_metrics(path, metrics)


def test_one_selection_drives_the_headline_and_the_packaged_policy_together(tmp_path, repo):
    """The winner is chosen once (select); its headline and the policy the Bento ships follow it."""
    from callbot.config import read_yaml
    from callbot.registry.package import calibration_of
    from callbot.registry.params import SelectParams

    reports = tmp_path / "reports"
    reports.mkdir()
    _report(reports, "kullm", 400, 0.5)
    _report(reports, "gemma", 300, 0.5)
    bot = tmp_path / "bot.json"
    raw = read_yaml(repo / "params.yaml")["select"]
    params = SelectParams.model_validate(
        {**raw, "bot_metrics": str(bot), "reports": str(reports), "leaderboard": str(tmp_path / "board"),
         "out": str(tmp_path / "selected.json"), "keep_champion": False, "min_improvement": 0.01}
    )  # fmt: skip  # the tie margin pinned: the figures below sit around 0.01
    board_md = tmp_path / "board" / "leaderboard.md"
    for numbers, winner in (
        ({"kullm": (0.9, 0.01), "gemma": (0.6, 0.0)}, "kullm"),
        ({"kullm": (0.6, 0.01), "gemma": (0.9, 0.0)}, "gemma"),
        ({"kullm": (0.905, 0.01), "gemma": (0.9, 0.0)}, "gemma"),  # within min_improvement: the smaller
    ):
        _bot_with_policies(bot, numbers)
        selected = run_select(params)
        expected = round(numbers[winner][0] - 0.05, 4)
        assert selected.winner == winner and selected.headline["task_success"] == expected
        assert read_leaderboard(tmp_path / "board" / "leaderboard.json").headline == selected.headline
        assert f"Headline ({winner}," in board_md.read_text("utf-8")
        shipped = calibration_of(selected, selected.handover_threshold)
        assert shipped["policy"]["confirm"] == round(numbers[winner][0] / 3, 4)
        assert shipped["screen"]["injection_markers"] == ["ignore"]
    assert "within 0.01" in selected.reason and "smallest" in selected.reason
    assert selected.ranker == "llm"

    # The intent model alone is as good as the winner's rescoring: the LLM leaves the call path.
    _bot_with_policies(bot, {"kullm": (0.9, 0.01), "gemma": (0.6, 0.0)}, intent=0.895)
    selected = run_select(params)
    assert (selected.winner, selected.ranker, selected.intent_model) == ("kullm", "intent", "models/intent")
    assert selected.headline["task_success"] == 0.895 and selected.policy["confirm"] == 0.25
    assert "no LLM in the call path" in read_leaderboard(tmp_path / "board" / "leaderboard.json").call_path
    assert "no LLM in the call path" in board_md.read_text("utf-8")
    _bot_with_policies(bot, {"kullm": (0.9, 0.01), "gemma": (0.6, 0.0)}, intent=0.7)
    assert run_select(params).ranker == "llm"  # the rescoring beats it: it stays
