"""What the Bento ships: callbot/serve and the inference modules it imports, never training code.

The list in ``bento/bentofile.yaml`` is checked against the service's imports, read from the source
(lazy imports inside functions included, since the model services import their loaders when they
start), and matched the way ``bentoml build`` matches it. The service is then imported in a fresh
interpreter where every training module is blocked and the model store is empty.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml

SERVICE = "callbot.serve.service"
# Stage code the service must never import: training, data preparation, evaluation, orchestration.
TRAINING = (
    "callbot.aihub",
    "callbot.bases.gemma",
    "callbot.bases.run",
    "callbot.bases.whisper",
    "callbot.bot",
    "callbot.cli",
    "callbot.config",
    "callbot.llm.evaluate",
    "callbot.llm.sample_data",
    "callbot.llm.train",
    "callbot.orchestrate",
    "callbot.prepare",
    "callbot.quality",
    "callbot.registry",
    "callbot.review",
    "callbot.sample",
    "callbot.stt.augment",
    "callbot.stt.data",
    "callbot.stt.evaluate",
    "callbot.stt.export",
    "callbot.stt.train",
    "callbot.stt.tune",
)
TRAINING_DISTRIBUTIONS = (
    "peft",
    "datasets",
    "accelerate",
    "prefect",
    "dvc",
    "great-expectations",
    "cleanlab",
)


def _module_file(root: Path, module: str) -> Path | None:
    base = root / module.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def service_modules(root: Path) -> dict[str, Path]:
    """Every callbot module the service imports, directly or not, at import time or later."""
    found: dict[str, Path] = {}
    todo = [SERVICE]
    while todo:
        module = todo.pop()
        path = _module_file(root, module)
        if module in found or path is None:
            continue
        found[module] = path
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run first
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.startswith("callbot")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("callbot"):
                todo += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return found


def bento_files(root: Path) -> set[str]:
    """The repository files ``bentoml build -f bento/bentofile.yaml`` copies, matched as BentoML does."""
    from bentoml._internal.bento.build_config import BentoPathSpec

    config = yaml.safe_load((root / "bento" / "bentofile.yaml").read_text(encoding="utf-8"))
    specs = BentoPathSpec(config["include"], config["exclude"], str(root))
    files = {p.relative_to(root).as_posix() for p in (root / "callbot").rglob("*") if p.is_file()}
    return {f for f in files if specs.includes(f)}


def _is_training(module: str) -> bool:
    return any(module == t or module.startswith(t + ".") for t in TRAINING)


def test_the_bento_includes_exactly_the_service_and_its_inference_modules(repo: Path) -> None:
    needed = {path.relative_to(repo).as_posix() for path in service_modules(repo).values()}
    shipped = bento_files(repo)
    shipped_modules = {f.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for f in shipped}
    assert not [m for m in shipped_modules if _is_training(m)], "training code in the Bento"
    assert not [m for m in service_modules(repo) if _is_training(m)], "the service imports training code"
    assert sorted(needed - shipped) == [], "imported by the service but not in bento/bentofile.yaml"
    assert sorted(f for f in shipped if f.endswith(".py")) == sorted(needed), "shipped but never imported"
    page = {f for f in shipped if f.startswith("callbot/serve/page/")}
    assert {"callbot/serve/page/index.html", "callbot/serve/page/app.js"} <= page


def test_the_bento_installs_serving_packages_pinned_as_in_pyproject(repo: Path) -> None:
    config = yaml.safe_load((repo / "bento" / "bentofile.yaml").read_text(encoding="utf-8"))
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    packages = config["python"]["packages"]
    assert sorted(set(packages) - set(project["dependencies"])) == [], "a pin differs from pyproject.toml"
    names = {p.split("=")[0].split(">")[0].split("<")[0] for p in packages}
    assert not names & set(TRAINING_DISTRIBUTIONS)
    assert {"bentoml", "torch", "transformers", "openai-whisper"} <= names


def test_the_service_imports_with_training_blocked_and_an_empty_store(
    repo: Path, params, tmp_path: Path
) -> None:
    """No training module, no training package, no model store read: only the Bento's own arguments."""
    modules = sorted(service_modules(repo))
    script = textwrap.dedent(
        f"""
        import importlib, importlib.abc, json, sys

        BLOCKED = {list(TRAINING)!r} + ["datasets", "peft", "accelerate", "prefect", "dvc",
                                         "great_expectations", "cleanlab", "pandas"]

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                    raise ImportError(f"{{name}} is training code: the service must not import it")
                return None

        sys.meta_path.insert(0, Block())
        from bentoml._internal.utils.args import set_arguments

        set_arguments({{"stt_model": "callbot-stt:absent", "llm_model": "callbot-llm:absent",
                        "tts_model": "callbot-tts:absent", "serve": json.loads(sys.argv[1])}})
        service = importlib.import_module("{SERVICE}")
        for module in {modules!r}:  # the loaders the model services import when they start
            importlib.import_module(module)
        print(json.dumps({{"max_upload_bytes": service.LIMITS.max_upload_bytes,
                           "stt": service.STT_TAG}}))
        """
    )
    home = tmp_path / "empty-bentoml-home"
    home.mkdir()
    env = {**os.environ, "BENTOML_HOME": str(home), "PYTHONPATH": str(repo)}
    result = subprocess.run(
        [sys.executable, "-c", script, params.serve.model_dump_json()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"max_upload_bytes": params.serve.max_upload_bytes, "stt": "callbot-stt:absent"}
    assert not any(home.iterdir())  # nothing was read from, or written to, the store


def test_a_service_without_its_serve_argument_says_to_package(repo: Path, tmp_path: Path) -> None:
    script = "import callbot.serve.service"
    env = {**os.environ, "BENTOML_HOME": str(tmp_path), "PYTHONPATH": str(repo)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "callbot package" in result.stderr


@pytest.mark.parametrize("bad", [{"max_upload_bytes": "big"}, "not a section"])
def test_a_malformed_serve_argument_is_refused_by_name(bad, params) -> None:
    from callbot.serve.params import limits_from_arguments

    arguments = {"serve": {**params.serve.model_dump(mode="json"), **bad} if isinstance(bad, dict) else bad}
    with pytest.raises(RuntimeError, match="`serve` argument is not a valid serve section"):
        limits_from_arguments(arguments)
    assert limits_from_arguments({"serve": params.serve.model_dump(mode="json")}) == params.serve
