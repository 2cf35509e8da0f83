"""Fixtures for the service tests: a private BentoML home holding tiny models packaged for real.

The tiny models are the real architectures with random weights (``build_tiny_whisper``,
``build_tiny_candidate``), imported into the store by the same ``import_models`` that
``callbot package`` runs, so the service under test loads exactly what a Bento would.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from callbot.contracts import Selection, SttMetrics, write_selection, write_stt_metrics

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


# the dialogue policy the tiny Bento ships: sure answers (>= 0.95) are said, middling ones (>= 0.5) confirmed
POLICY = {"answer": 0.95, "margin": 0.0, "confirm": 0.5, "word": 0.0, "grammar": 0.2, "grammar_margin": 0.1}


def build_smoke_repo(root: Path, params) -> dict[str, object]:
    """Tiny STT + LLM model dirs, a selection naming the LLM, and interview heads on the real e5,
    laid out as the stages write them."""
    from callbot.llm.model import build_tiny_candidate
    from callbot.llm.router import Script, write_script
    from callbot.stt.model import build_tiny_whisper
    from tests.support.interview_records import build_interview_model

    stt = build_tiny_whisper(root / "models" / "stt" / "model", seed=0)
    llm = build_tiny_candidate(
        "llama", root / "models" / "llm" / "kullm" / "merged", params=params.llm, seed=0
    )
    write_script(llm, Script.from_examples(ROUTER_EXAMPLES, params.llm.router.handover_intent_prefix))
    write_selection(root / "models" / "selected.json", tiny_selection(llm, dataset_version="1.2.0"))
    write_stt_metrics(root / "reports" / "stt" / "metrics.json", tiny_stt_metrics())
    interview = build_interview_model(root / "models" / "interview")
    return {"stt": stt, "llm": llm, "interview": interview}


def tiny_selection(merged: Path, **changes: object) -> Selection:
    """A selection as `callbot select` writes it, naming ``merged`` (kullm, ARS ROUGE-L 0.25)."""
    fields: dict[str, object] = {
        "metrics": {"ars_rouge_l": 0.25}, "winner": "kullm", "merged": str(merged), "handover_threshold": 0.5,
        "adapter": str(merged.parent / "adapter"), "base": str(merged.parent / "base"), "arch": "llama",
        "licence": "apache-2.0", "parameters": 1000, "base_metrics": {"ars_rouge_l": 0.1},
        "dataset_version": "1.0.0", "primary_metric": "ars_rouge_l", "goal": "max", "min_improvement": 0.01,
        "previous_champion": None, "reason": "the only candidate", "leaderboard": "reports/llm/leaderboard.json",
        "policy": POLICY, "screen": {"repeat_min_words": 8, "max_repeat_share": 0.5, "injection_markers": ["무시하고"]},
    }  # fmt: skip
    return Selection.model_validate({**fields, **changes})


def tiny_stt_metrics() -> SttMetrics:
    """An STT evaluation as `callbot evaluate-stt` writes it (fine-tuned CER 0.125)."""
    figures = {"cer": 0.125, "wer": 0.3}
    return SttMetrics(
        test_utterances=8, serve_backend="hf", base={"cer": 0.625, "wer": 0.9}, fine_tuned=figures,
        cer_improvement=0.5, unseen_cer=0.125, baselines={}, backends={},
        gates={"passed": True, "mode": "fail"}, failures=[],
    )  # fmt: skip


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
            "interview_model": str(root / "models" / "interview"),
            "out": str(root / "models" / "bento.json"),
        }
    )


@pytest.fixture(scope="session")
def packaged(bentoml_home: Path, params, smoke_repo: Path) -> dict[str, str]:
    """The tiny models imported into the private store as ``callbot package`` would; name -> tag."""
    from callbot.registry.package import import_models

    return import_models(package_section(params, smoke_repo), params.tts, smoke_repo)[0]


@pytest.fixture(scope="session")
def package_params(params, smoke_repo: Path):
    """The package section pointed at the tiny models (what ``callbot package`` would read)."""
    return package_section(params, smoke_repo)
