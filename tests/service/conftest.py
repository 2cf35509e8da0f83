"""Fixtures for the service tests: a private BentoML home holding tiny models packaged for real.

The tiny models are the real architectures with random weights (``build_tiny_whisper``,
``build_tiny_candidate``), imported into the store by the same ``import_models`` that
``callbot package`` runs, so the service under test loads exactly what a Bento would.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Before anything touches the store: BentoML reads BENTOML_HOME when the store is first used.
_HOME = Path(tempfile.mkdtemp(prefix="callbot-bentoml-"))
atexit.register(shutil.rmtree, _HOME, True)  # also when no test here asked for the store
os.environ["BENTOML_HOME"] = str(_HOME)
os.environ.setdefault("CALLBOT_TORCH_THREADS", "1")


# The served LLM answers from a script like train-llm writes: (caller words, scripted answer, intent).
ROUTER_EXAMPLES = [
    (
        "독감 예방접종은 어디서 맞을 수 있나요?",
        "가까운 지정 의료기관이나 보건소에서 맞으실 수 있습니다.",
        "접종기관 문의",
    ),
    (
        "독감 주사 맞을 병원을 알려 주세요.",
        "가까운 지정 의료기관이나 보건소에서 맞으실 수 있습니다.",
        "접종기관 문의",
    ),
    ("1339 상담은 몇 시까지 하나요?", "질병관리청 콜센터 1339는 이십사 시간 운영됩니다.", "상담 시간 문의"),
    ("주말에도 1339 상담이 되나요?", "질병관리청 콜센터 1339는 이십사 시간 운영됩니다.", "상담 시간 문의"),
    ("여권 재발급은 어디서 하나요?", "해당 문의는 담당 기관으로 연결해 드리겠습니다.", "범위외:타기관"),
]


def build_smoke_repo(root: Path, params) -> dict[str, object]:
    """Tiny STT + LLM model dirs and a selection naming the LLM, laid out as the stages write them."""
    from callbot.llm.model import build_tiny_candidate
    from callbot.llm.router import Script, write_script
    from callbot.stt.model import build_tiny_whisper

    stt = build_tiny_whisper(root / "models" / "stt" / "model", seed=0)
    llm = build_tiny_candidate(
        "llama", root / "models" / "llm" / "kullm" / "merged", params=params.llm, seed=0
    )
    write_script(llm, Script.from_examples(ROUTER_EXAMPLES, params.llm.router.handover_intent_prefix))
    selection = {"winner": "kullm", "model_dir": str(llm), "ars_rouge_l": 0.25, "handover_threshold": 0.5}
    (root / "models" / "selected.json").write_text(json.dumps(selection), encoding="utf-8")
    (root / "reports" / "stt").mkdir(parents=True)
    metrics = {"fine_tuned": {"cer": 0.125, "wer": 0.3}, "cer_improvement": 0.5}
    (root / "reports" / "stt" / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (root / "versions").mkdir()
    (root / "versions" / "dataset.json").write_text(json.dumps({"current": "1.2.0", "history": []}), "utf-8")
    return {"stt": stt, "llm": llm}


@pytest.fixture(scope="session")
def bentoml_home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def smoke_repo(params, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory laid out as the training stages leave it, holding tiny real-architecture models."""
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("repo")
    build_smoke_repo(root, params)
    return root


def package_section(params, root: Path):
    """The package params pointed at ``root`` (absolute paths, so the code root stays the repository)."""
    return params.package.model_copy(
        update={
            "stt_model": str(root / "models" / "stt" / "model"),
            "stt_metrics": str(root / "reports" / "stt" / "metrics.json"),
            "selected": str(root / "models" / "selected.json"),
            "out": str(root / "models" / "bento.json"),
            "dataset_version": str(root / "versions" / "dataset.json"),
        }
    )


@pytest.fixture(scope="session")
def packaged(bentoml_home: Path, params, smoke_repo: Path) -> dict[str, str]:
    """The tiny models imported into the private store as ``callbot package`` would; name -> tag."""
    from callbot.registry.package import import_models

    return import_models(package_section(params, smoke_repo), params.tts, smoke_repo)


@pytest.fixture(scope="session")
def package_params(params, smoke_repo: Path):
    """The package section pointed at the tiny models (what ``callbot package`` would read)."""
    return package_section(params, smoke_repo)
