"""`callbot select`: the leaderboard and a champion/challenger rule anyone can re-check by hand.

The rule, on the fine-tuned metrics of every evaluated candidate:
1. ``best`` is the top value of ``select.primary_metric`` (``select.goal``: max or min).
2. Every candidate within ``select.min_improvement`` of ``best`` is *equivalent*: a difference that
   small does not pay for a change of model.
3. Among the equivalents the current champion (the winner in the previous ``models/selected.json``)
   stays; without it, the smaller model wins (fewer parameters: cheaper to serve); then the name.
So a challenger replaces the champion only by beating it by at least ``min_improvement``, and an
exact tie always goes to the smaller model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import write_text, writing
from callbot.console import summary
from callbot.contracts import (
    BotMetrics,
    Leaderboard,
    LeaderboardRow,
    LlmReport,
    Selection,
    read_bot_metrics,
    read_llm_report,
    read_selection,
    write_leaderboard,
    write_selection,
)

if TYPE_CHECKING:
    from callbot.registry.params import SelectParams


@dataclass(frozen=True)
class Entry:
    """One leaderboard row: a candidate, its size and its fine-tuned and base metrics."""

    candidate: str
    parameters: int
    metrics: dict[str, Any]
    base_metrics: dict[str, Any]
    report: LlmReport


@dataclass(frozen=True)
class Decision:
    winner: str
    best: str
    equivalents: list[str]
    reason: str


class SelectError(ValueError):
    """The reports cannot be ranked (none, or the primary metric missing); the message says what to do."""


def _value(entry: Entry, metric: str) -> float:
    value = entry.metrics.get(metric)
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        raise SelectError(
            f"candidate {entry.candidate} has no numeric '{metric}' (select.primary_metric); metrics are: "
            f"{', '.join(sorted(k for k, v in entry.metrics.items() if isinstance(v, int | float)))}"
        )
    return float(value)


def choose(
    entries: list[Entry], metric: str, goal: str, min_improvement: float, champion: str | None = None
) -> Decision:
    """Apply the module's rule; pure, so crafted leaderboards can test it."""
    if not entries:
        raise SelectError("no evaluated candidates; run `callbot evaluate-llm` first")
    if goal not in ("max", "min"):
        raise SelectError(f"select.goal must be max or min, got {goal!r}")
    sign = 1.0 if goal == "max" else -1.0
    scored = [(sign * _value(e, metric), e) for e in entries]
    top = max(score for score, _ in scored)
    best = next(e for score, e in scored if score == top)
    # A tiny epsilon so that a difference of exactly min_improvement (in decimal) is not lost to floats.
    equivalents = [e for score, e in scored if top - score < min_improvement - 1e-12 or score == top]
    names = [e.candidate for e in equivalents]
    if champion is not None and champion in names:
        winner = champion
        reason = (
            f"champion {champion} kept: no challenger beats it on {metric} by {min_improvement} or more"
            if champion != best.candidate or len(names) > 1
            else f"champion {champion} has the best {metric}"
        )
    else:
        pick = min(equivalents, key=lambda e: (e.parameters, e.candidate))
        winner = pick.candidate
        if len(names) == 1:
            reason = f"{winner} has the best {metric} ({goal})"
        else:
            reason = (
                f"{', '.join(names)} are within {min_improvement} on {metric}; the smallest "
                f"({pick.parameters:,} parameters) wins"
            )
        if champion is not None:
            reason += f"; previous champion {champion} is not among them"
    return Decision(winner, best.candidate, names, reason)


BOT_FIGURES = {  # leaderboard metric -> (split, figure) of evaluate-bot's per-candidate results
    "bot_task_success": ("validation", "success"),
    "bot_wrong_answer_rate": ("validation", "wrong"),
    "bot_test_task_success": ("test", "success"),
    "bot_test_wrong_answer_rate": ("test", "wrong"),
    "bot_test_handover_rate": ("test", "handover"),
}


def with_bot_metrics(entries: list[Entry], bot: BotMetrics | None, max_wrong: float) -> list[Entry]:
    """Entries with evaluate-bot's figures merged in; those over ``max_wrong`` on validation dropped.

    A candidate that answers wrongly too often is not eligible whatever its success: a confident
    wrong answer is the worst outcome on a public-health line. ``bot`` None (select.bot_metrics ""):
    rank on evaluate-llm's metrics alone.
    """
    if bot is None:
        return entries
    merged = []
    for entry in entries:
        result = bot.candidates.get(entry.candidate)
        if result is None:
            raise SelectError(
                f"evaluate-bot has no result for {entry.candidate}; rerun `callbot evaluate-bot`"
            )
        splits = {"validation": result.validation, "test": result.test}
        try:
            extra = {name: splits[split]["all"][key] for name, (split, key) in BOT_FIGURES.items()}
        except KeyError as exc:
            raise SelectError(
                f"evaluate-bot's result for {entry.candidate} has no {exc} figure; rerun `callbot evaluate-bot`"
            ) from None
        extra["bot_threshold"] = result.threshold
        extra["bot_test_unseen_16k"] = result.test.get("16k_unseen_wording_unseen_voice", {}).get("success")
        extra["bot_test_unseen_8k"] = result.test.get("8k_unseen_wording_unseen_voice", {}).get("success")
        merged.append(
            Entry(
                entry.candidate,
                entry.parameters,
                {**entry.metrics, **extra},
                entry.base_metrics,
                entry.report,
            )
        )
    eligible = [e for e in merged if e.metrics["bot_wrong_answer_rate"] <= max_wrong]
    if not eligible:
        raise SelectError(
            f"no candidate answers wrongly at most {max_wrong} of validation calls (select.max_wrong_answer); "
            "none can be served: see reports/bot/metrics.json"
        )
    return eligible


def load_entries(report_dir: Path) -> list[Entry]:
    """Every ``<candidate>.json`` written by evaluate-llm (the leaderboard files themselves skipped)."""
    if not report_dir.is_dir():
        raise SelectError(f"{report_dir}: no LLM reports; run `callbot evaluate-llm` first")
    reports = [read_llm_report(p) for p in sorted(report_dir.glob("*.json")) if p.stem != "leaderboard"]
    if not reports:
        raise SelectError(f"{report_dir}: no candidate reports; run `callbot evaluate-llm` first")
    return [Entry(r.candidate, r.parameters, r.metrics, r.base_metrics, r) for r in reports]


COLUMNS = (
    "bot_task_success", "bot_wrong_answer_rate", "bot_test_task_success", "bot_test_unseen_16k",
    "bot_test_unseen_8k", "ars_rouge_l", "ars_exact_match", "ars_seen_exact_match", "summary_rouge_l", "emotion_accuracy",
    "emotion_macro_f1", "intent_accuracy", "perplexity",
)  # fmt: skip


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


def leaderboard_markdown(entries: list[Entry], decision: Decision, metric: str) -> str:
    """The leaderboard as a table: fine-tuned (base) per metric, the winner marked."""
    lines = [
        f"# LLM leaderboard (primary: {metric})",
        "",
        f"Winner: **{decision.winner}**: {decision.reason}.",
        "",
        "ROUGE is on characters (Hangul syllables). Cells: fine-tuned (base, zero-shot). References from the "
        "dataset page: KoBART summary ROUGE recall 67.76 / precision 64.34, KoBERT emotion accuracy 95.19 %.",
        "",
        "| rank | candidate | parameters | licence | " + " | ".join(COLUMNS) + " |",
        "| --- | --- | ---: | --- | " + " | ".join("---:" for _ in COLUMNS) + " |",
    ]
    for rank, e in enumerate(entries, 1):
        cells = [f"{_fmt(e.metrics.get(c))} ({_fmt(e.base_metrics.get(c))})" for c in COLUMNS]
        mark = " ★" if e.candidate == decision.winner else ""
        licence = e.report.licence or "-"
        lines.append(
            f"| {rank} | {e.candidate}{mark} | {e.parameters:,} | {licence} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def baselines_markdown(bot: BotMetrics | None, winner: str, head: dict[str, Any]) -> str:
    """The served bot's call figures and the same run's baselines under the table: a bot that does not beat them says so."""
    if bot is None or winner not in bot.candidates:
        return ""
    lines = ["", f"Headline ({winner}, test calls end to end, scored once): " + _headline_text(head), ""]
    lines += ["Baselines (same run, test calls end to end):", ""]
    for name, result in bot.baselines.items():
        whole = result.test.get("all", {})
        lines.append(
            f"- {name}: task success {_fmt(whole.get('success'))}, wrong answers {_fmt(whole.get('wrong'))}"
        )
    retrieval = bot.baselines.get("retrieval")
    if retrieval is not None:
        beats = (head.get("task_success") or 0.0) > retrieval.test.get("all", {}).get("success", 0.0)
        verdict = "beats" if beats else "does NOT beat"
        lines.append(f"- {winner} (the selection) {verdict} the retrieval baseline on test task success")
    return "\n".join(lines) + "\n"


def _headline_text(head: dict[str, float | None]) -> str:
    return ", ".join(f"{k} {_fmt(v)}" for k, v in head.items())


def leaderboard_chart(entries: list[Entry], metric: str, path: Path) -> None:
    """Bars of the primary metric, base beside fine-tuned, per candidate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [e.candidate for e in entries]
    tuned = [float(e.metrics.get(metric) or 0.0) for e in entries]
    base = [float(e.base_metrics.get(metric) or 0.0) for e in entries]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(names)), 3.2), dpi=100)
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], base, width=0.4, label="base (zero-shot)", color="#bbbbbb")
    ax.bar([x + 0.2 for x in xs], tuned, width=0.4, label="LoRA fine-tuned", color="#3b75af")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel(metric)
    ax.set_title(f"LLM candidates: {metric}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with writing(path) as tmp:
        fig.savefig(tmp, format="png")  # the temp name has no .png to go by
    plt.close(fig)


def _champion(selected_path: Path) -> str | None:
    """The previous selection's winner; none before the first selection."""
    return read_selection(selected_path).winner if selected_path.is_file() else None


def _bot_metrics(path: Path) -> BotMetrics | None:
    return None if str(path) in ("", ".") else read_bot_metrics(path)


def call_path(bot: BotMetrics | None, winner: str, min_improvement: float) -> tuple[str, Any, str]:
    """Whether the LLM rescoring earns its place in the call: (``llm`` | ``intent``, that system's evaluate-bot
    result, why). It must beat the intent model alone on validation task success by ``min_improvement``;
    within that, the smaller system (no LLM) is kept."""
    chosen = bot.candidates.get(winner) if bot is not None else None
    alone = bot.baselines.get("intent") if bot is not None else None
    if alone is None or chosen is None:
        return "llm", chosen, "no intent model was scored alone: the LLM rescoring stays in the call path"
    s_llm = float(chosen.validation["all"]["success"])
    s_alone = float(alone.validation["all"]["success"])
    if s_llm - s_alone >= min_improvement - 1e-12:
        return (
            "llm",
            chosen,
            (
                f"{winner}'s rescoring beats the intent model alone on validation task success "
                f"({s_llm:.3f} vs {s_alone:.3f}) by {min_improvement} or more"
            ),
        )
    return (
        "intent",
        alone,
        (
            f"the intent model alone ({s_alone:.3f}) is within {min_improvement} of {winner}'s rescoring "
            f"({s_llm:.3f}) or above it on validation task success: no LLM in the call path ({winner} ships for "
            "the handover summary)"
        ),
    )


def run_select(params: SelectParams) -> Selection:
    """Rank the reports, write ``leaderboard.{json,md,png}`` and ``select.out`` (models/selected.json)."""
    bot = _bot_metrics(Path(params.bot_metrics))
    entries = with_bot_metrics(load_entries(Path(params.reports)), bot, params.max_wrong_answer)
    champion = _champion(Path(params.out)) if params.keep_champion else None
    decision = choose(entries, params.primary_metric, params.goal, params.min_improvement, champion)
    sign = 1.0 if params.goal == "max" else -1.0
    entries.sort(key=lambda e: (-sign * _value(e, params.primary_metric), e.parameters, e.candidate))
    ranker, system, why = call_path(bot, decision.winner, params.min_improvement)
    head = dict(getattr(system, "headline", None) or {})
    write_board(params, entries, decision, bot, head, why)
    win = next(e for e in entries if e.candidate == decision.winner)
    metrics = {k: v for k, v in win.metrics.items() if _number(v)}
    metrics = {params.primary_metric: metrics.pop(params.primary_metric), **metrics}
    selected = Selection(
        metrics=metrics,  # first: package labels the stored model with the leading figures
        winner=decision.winner, merged=win.report.paths.merged,
        handover_threshold=getattr(system, "threshold", None),  # calibrated on validation by evaluate-bot
        policy=getattr(system, "policy", None), screen=getattr(system, "screen", None), headline=head,
        ranker=ranker, intent_model=getattr(bot, "intent_model", None) if ranker == "intent" else None,
        call_path=why, summary=getattr(bot.candidates[decision.winner], "summary", None) if bot else None,
        adapter=win.report.paths.adapter, base=win.report.paths.base, arch=win.report.arch,
        licence=win.report.licence, parameters=win.parameters,
        base_metrics={k: v for k, v in win.base_metrics.items() if _number(v)},
        dataset_version=win.report.trained_on or win.report.dataset_version,
        primary_metric=params.primary_metric, goal=params.goal, min_improvement=params.min_improvement,
        previous_champion=champion, reason=decision.reason,
        leaderboard=str(Path(params.leaderboard) / "leaderboard.json"),
    )  # fmt: skip
    write_selection(Path(params.out), selected)
    said = f"; headline: {_headline_text(head)}" if head else ""
    summary(
        "select",
        f"{decision.winner} wins on {params.primary_metric}={metrics[params.primary_metric]:.3f} "
        f"of {len(entries)} candidates ({decision.reason}); {why}{said} -> {params.out}",
    )
    return selected


def write_board(
    params: SelectParams, entries: list[Entry], decision: Decision, bot: BotMetrics | None,
    head: dict[str, Any], why: str,
) -> None:  # fmt: skip
    """leaderboard.{json,md,png}: every candidate ranked, the decision, the call path and the headline."""
    board_dir = Path(params.leaderboard)
    board = Leaderboard(
        primary_metric=params.primary_metric, goal=params.goal, min_improvement=params.min_improvement,
        winner=decision.winner, reason=decision.reason, headline=head, call_path=why,
        rows=[
            LeaderboardRow(
                rank=i, candidate=e.candidate, parameters=e.parameters, licence=e.report.licence,
                metrics={k: v for k, v in e.metrics.items() if k != "samples"},
                base_metrics={k: v for k, v in e.base_metrics.items() if k != "samples"},
            )
            for i, e in enumerate(entries, 1)
        ],
    )  # fmt: skip
    write_leaderboard(board_dir / "leaderboard.json", board)
    text = leaderboard_markdown(entries, decision, params.primary_metric)
    text += f"\nCall path: {why}.\n" + baselines_markdown(bot, decision.winner, head)
    write_text(board_dir / "leaderboard.md", text)
    leaderboard_chart(entries, params.primary_metric, board_dir / "leaderboard.png")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
