"""Shared fixtures. Nothing here may reach a network: every model and dataset is built locally."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "DVC_NO_ANALYTICS": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "TOKENIZERS_PARALLELISM": "false",
    "CALLBOT_PROGRESS": "0",
}.items():
    os.environ.setdefault(_key, _value)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def params():
    """The repository's params.yaml, smoke profile."""
    from callbot.config import load_params

    return load_params(REPO / "params.yaml", "smoke")


# ---- real pretrained bases (issue 15): converted once per session, shared by every test using them
@pytest.fixture(scope="session")
def bases_dir(tmp_path_factory) -> Path:
    """A session's own ``models/bases`` (the tests never read the repository's)."""
    return tmp_path_factory.mktemp("bases")


@pytest.fixture(scope="session")
def whisper_base(bases_dir: Path) -> Path:
    """whisper-base converted from the pinned packages (about 10 s, 1 GB peak)."""
    from callbot.bases.whisper import build_whisper_base

    return Path(build_whisper_base(bases_dir / "whisper-base").path)


@pytest.fixture(scope="session")
def gemma_base(bases_dir: Path) -> Path:
    """Gemma 3 270M dequantised from the pinned GGUF package (about 45 s, 3.4 GB peak)."""
    from callbot.bases.gemma import build_gemma

    return Path(build_gemma(bases_dir / "gemma-3-270m").path)


@pytest.fixture
def package_bases(bases_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``package:<name>`` in params resolves to this session's bases for the test's duration."""
    from callbot.basenames import BASES_ENV

    monkeypatch.setenv(BASES_ENV, str(bases_dir))
    return bases_dir
