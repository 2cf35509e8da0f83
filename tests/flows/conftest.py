"""A throwaway copy of the project (git + DVC) on tiny params, for the orchestration tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COPY = [
    "callbot",
    "flows",
    "bento",
    "gx",
    "dvc.yaml",
    "params.yaml",
    "pyproject.toml",
    "README.md",
    ".dvcignore",
    "data/corrections",  # prepare's review-corrections dependency (a .gitkeep until a review lands)
]


def run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "CALLBOT_PROGRESS": "0",
    }
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def tiny_params(data: dict) -> dict:
    """Small and fast: the fewest records that cover every stratum (28), real speech, a few training
    steps. The STT gates are opened: these tests are about orchestration, not model quality (the
    model tests and `make demo` hold the models to their figures)."""
    data["sample"].update(
        records=28,
        audio="speech",
        callcenter_dialogues=60,
        phone_sentences=40,
        phone_short_answers=8,
        phone_lexicon_sentences=8,
    )
    data["prepare"]["split"].update(by="hash")  # 28 interviews leave the Validation folder empty
    # whisper-base 8 s; e5 (a 69 MB copy) for the interview stage, whose heads package serves;
    # gemma-3-270m (45 s, 3.4 GB) has its own tests
    data["bases"].update(names=["whisper-base", "multilingual-e5-small"])
    data["interview"].update(C=[1.0], summary_shares=[0.5])  # the stage end to end, not its figures
    data["stt"].update(
        max_steps=4,
        save_steps=2,
        logging_steps=2,
        max_eval_utterances=4,
        max_cer=1.0,
        max_slice_gap=1.0,
        export_bench_clips=1,
        decode_sweep={"weights": [0.3, 0.5], "candidates": [8], "max_utterances": 2},
        reference_max_utterances=2,
    )
    # the smoke recipe (jamo CTC): a few steps of a very small model
    data["stt"]["ctc"].update(max_steps=4, hidden=32, layers=1, conv_channels=4, validation_max_utterances=2)
    data["bot"].update(max_items=6)  # per split: the stage end to end, not its figures
    data["intent"].update(finetune_steps=4)  # e5-ft end to end, not its figures
    data["llm"]["pretrain"].update(max_steps=4)
    data["llm"]["lora"].update(max_steps=4, save_steps=2, max_examples_per_task=4)
    data["llm"]["evaluate"].update(max_examples_per_task=2)
    data["llm"]["candidates"] = [c for c in data["llm"]["candidates"] if c["base"] == "build:tiny"]
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "data_docs", "uncommitted")
    for name in COPY:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=ignore)
        else:
            shutil.copy2(src, root / name)
    params = tiny_params(yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")))
    (root / "params.yaml").write_text(
        yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    run(["git", "init", "-q"], root)
    run(["git", "config", "user.email", "ci@callbot.invalid"], root)
    run(["git", "config", "user.name", "ci"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    run([sys.executable, "-m", "dvc", "remote", "add", "-d", "local", str(tmp_path / "remote")], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "copy"], root)
    return root
