"""What a person sees in the Prefect UI after each stage: tables and links read from the reports.

Artifacts are built from the files the stages wrote (the same files DVC tracks as metrics), so the
UI and `dvc metrics show` can never disagree. A report that is missing yields no artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callbot.contracts import ContractError, read_bento_record, read_bot_metrics, read_json


def _read_json(path: Path) -> Any:
    try:
        return read_json(path, "stage report", "the stage")
    except ContractError:
        return None


def validation_table(report_dir: Path) -> list[dict[str, Any]] | None:
    summary = _read_json(report_dir / "summary.json")
    if not isinstance(summary, dict):
        return None
    suites = summary.get("suites", summary)
    rows = []
    for name, stats in suites.items():
        if isinstance(stats, dict):
            rows.append(
                {"suite": name, **{k: v for k, v in stats.items() if not isinstance(v, (dict, list))}}
            )
    return rows or None


def stt_slice_table(report_dir: Path) -> list[dict[str, Any]] | None:
    """evaluate-stt's ``cer_by_slice.json``: one row per attribute value (n, CER, gated)."""
    rows = _read_json(report_dir / "cer_by_slice.json")
    if not isinstance(rows, list):
        return None
    return [row for row in rows if isinstance(row, dict)] or None


def leaderboard_markdown(report_dir: Path) -> str | None:
    path = report_dir / "leaderboard.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def bento_markdown(bento_json: Path) -> str | None:
    try:
        tag = read_bento_record(bento_json).tag
    except ContractError:
        return None
    return f"**Bento** `{tag}`\n\nServe it with:\n\n```\nbentoml serve {tag}\n```\n"


def bot_table(report_dir: Path) -> list[dict[str, Any]] | None:
    """evaluate-bot's ``metrics.json``: one row per candidate and baseline, test figures at its threshold."""
    try:
        metrics = read_bot_metrics(report_dir / "metrics.json")
    except ContractError:
        return None
    rows = []
    for name, result in [*metrics.candidates.items(), *metrics.baselines.items()]:
        test = result.test
        whole = test.get("all", {})
        rows.append(
            {
                "candidate": name,
                "task_success": whole.get("success"),
                "wrong_answer_rate": whole.get("wrong"),
                "handover_rate": whole.get("handover"),
                "unseen_16k": test.get("16k_unseen_wording_unseen_voice", {}).get("success"),
                "unseen_8k": test.get("8k_unseen_wording_unseen_voice", {}).get("success"),
                "threshold": result.threshold,
            }
        )
    return rows or None


def publish(stage: str, params: Any, root: Path = Path()) -> list[str]:
    """Create this stage's Prefect artifacts; returns their keys. Call inside a flow or task run.
    ``root``: the repository the params' relative paths are read from."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    keys: list[str] = []
    if stage == "validate":
        report = root / params.validate_.report
        rows = validation_table(report)
        if rows:
            create_table_artifact(rows, key="validation-summary", description="Great Expectations suites")
            keys.append("validation-summary")
        docs = next(iter(sorted(report.rglob("index.html"))), None)
        if docs is not None:
            create_link_artifact(docs.resolve().as_uri(), link_text="data docs", key="data-docs")
            keys.append("data-docs")
    elif stage == "evaluate_stt":
        rows = stt_slice_table(root / params.stt.report)
        if rows:
            create_table_artifact(rows, key="stt-cer-by-slice", description="STT CER by speaker slice")
            keys.append("stt-cer-by-slice")
    elif stage == "evaluate_bot":
        rows = bot_table(root / params.bot.report)
        if rows:
            create_table_artifact(rows, key="bot-end-to-end", description="Spoken calls, end to end (test)")
            keys.append("bot-end-to-end")
    elif stage in ("evaluate_llm", "select"):
        text = leaderboard_markdown(root / params.select.leaderboard)
        if text:
            create_markdown_artifact(text, key="llm-leaderboard", description="LLM candidates")
            keys.append("llm-leaderboard")
    elif stage == "package":
        text = bento_markdown(root / params.package.out)
        if text:
            create_markdown_artifact(text, key="bento", description="the Bento this run built")
            keys.append("bento")
    return keys
