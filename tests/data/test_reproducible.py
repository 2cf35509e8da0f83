"""Two clones of one commit, at different paths, running the data stages on the same inputs must write
the same bytes: DVC would otherwise hash a new version of every dataset on every machine (issue 25).

Each clone runs sample -> ingest -> prepare -> validate as dvc.yaml does (from its own root, with
params.yaml's relative paths), and every file of every declared output is compared by md5, which is
what DVC's hashes in dvc.lock are made of. A resume marker with an mtime, or an absolute path in the
STT dataset, fails it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from callbot.config import Params, load_params
from callbot.stages import invoke

DATA_STAGES = ("sample", "ingest", "prepare", "validate")


def _small(repo: Path) -> Params:
    """The smoke profile at a test's size: stub WAVs (~70 ms, some silent: the gate is eased), few records."""
    params = load_params(repo / "params.yaml", "smoke")
    sample = params.sample.model_copy(update={"records": 28, "audio": "stub", "callcenter_dialogues": 30})
    section = params.validate_.model_dump()
    section["audio"]["duration_min_ms"] = 50.0
    section["audio"]["not_silent"]["mostly"] = 0.5  # some stub WAVs are silence
    validate = type(params.validate_).model_validate(section)
    return params.model_copy(update={"sample": sample, "validate_": validate})


def _outputs(repo: Path, params: Params) -> list[str]:
    """The data stages' declared outs and metrics, their ``${section.key}`` filled from params."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    sections = {
        "validate": params.validate_.model_dump(),
        **{s: getattr(params, s).model_dump() for s in DATA_STAGES[:3]},
    }
    found = []
    for name in DATA_STAGES:
        for entry in stages[name].get("outs", []) + stages[name].get("metrics", []):
            path = entry if isinstance(entry, str) else next(iter(entry))
            for section, values in sections.items():
                for key, value in values.items():
                    path = path.replace(f"${{{section}.{key}}}", str(value))
            assert "${" not in path, f"{name}: unresolved {path}"
            found.append(path)
    return found


def _hashes(root: Path, outputs: list[str]) -> dict[str, str]:
    """md5 of every file of every output, keyed by its path inside the clone."""
    found = {}
    for out in outputs:
        path = root / out
        assert path.exists(), f"{out}: declared in dvc.yaml but not written"
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            found[file.relative_to(root).as_posix()] = hashlib.md5(file.read_bytes()).hexdigest()
    return found


def _clone(repo: Path, root: Path, params: Params, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Run the data stages in a fresh checkout at ``root`` (params.yaml and gx/ as committed)."""
    root.mkdir(parents=True)
    shutil.copy(repo / "params.yaml", root / "params.yaml")
    shutil.copytree(repo / "gx", root / "gx")
    (root / "data" / "corrections").mkdir(parents=True)
    monkeypatch.chdir(root)
    for stage in DATA_STAGES:
        result = invoke(stage, params, {})
        assert not result.failed, f"{stage}: {result.summary}"
    return _hashes(root, _outputs(repo, params))


@pytest.mark.slow
def test_two_clones_at_different_paths_write_identical_outputs(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = _small(repo)
    first = _clone(repo, tmp_path / "a", params, monkeypatch)
    second = _clone(repo, tmp_path / "elsewhere" / "deeper" / "b", params, monkeypatch)
    assert any(p.startswith("data/prepared/stt/") for p in first)
    assert any(p.startswith("data/raw/") for p in first)
    assert any(p.startswith("reports/validation/data_docs/validations/") for p in first)  # GE's own
    differ = sorted(p for p in first.keys() | second.keys() if first.get(p) != second.get(p))
    assert not differ, f"outputs differ between the two clones: {differ[:20]}"
