"""The CLI: every stage listed, fast start-up, params errors as clean exits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from callbot.cli import app

STAGES = ["sample", "ingest", "prepare", "validate"]


def test_help_lists_the_stages() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for stage in STAGES:
        assert stage in result.output


def test_startup_is_lazy_and_fast(repo: Path) -> None:
    """`callbot --help` must not import the heavy stack (torch, transformers, prefect...)."""
    code = (
        "import sys, time; t=time.perf_counter(); from callbot.cli import app; "
        "heavy=[m for m in ('torch','transformers','prefect','bentoml','great_expectations','datasets','pandas') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, check=True)
    assert out.stdout.strip() == "[]"  # start-up time itself: benchmarks/cli_bench.py


def test_bad_params_file_exits_2_with_message(tmp_path: Path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("profile: smoke\nsample: {}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--params", str(bad), "ingest"])
    assert result.exit_code == 2
    assert "error:" in result.output and str(bad) in result.output
