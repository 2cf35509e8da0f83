"""Orchestration overhead: a no-op `dvc repro` and a fully cached Prefect run, each as a ratio of the
first full run, all in one throwaway copy of the project (tiny params, as tests/flows uses).

Goal: a no-op `dvc repro` under 10 s. (`make demo` itself, the smoke run from nothing, is timed by
running it: about 15 minutes on 2 cores.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.flows.conftest import COPY, run, tiny_params  # noqa: E402


def _project(tmp: Path) -> Path:
    import shutil

    root = tmp / "project"
    root.mkdir()
    for name in COPY:
        src = ROOT / name
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "data_docs", "uncommitted")
        (shutil.copytree(src, root / name, ignore=ignore) if src.is_dir() else shutil.copy2(src, root / name))
    params = tiny_params(yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")))
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), "utf-8")
    run(["git", "init", "-q"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    run([sys.executable, "-m", "dvc", "remote", "add", "-d", "local", str(tmp / "remote")], root)
    return root


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    os.environ.setdefault("BENTOML_HOME", tempfile.mkdtemp(prefix="bentoml-bench-"))
    with tempfile.TemporaryDirectory() as tmp:
        root = _project(Path(tmp))
        flow = [sys.executable, str(root / "flows" / "lifecycle.py")]
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

        def prefect() -> None:
            subprocess.run(flow, cwd=root, env=env, check=True, capture_output=True)

        def dvc_repro() -> None:
            run([sys.executable, "-m", "dvc", "repro"], root)

        first = _timed(prefect)
        noop_dvc = _timed(dvc_repro)
        cached = _timed(prefect)
    print(f"first full Prefect run (tiny params) {first:.1f}s")
    print(f"no-op dvc repro                      {noop_dvc:.1f}s")
    print(f"fully cached Prefect re-run          {cached:.1f}s")
    print(
        f"noop_dvc_vs_first={noop_dvc / first:.3f}x cached_prefect_vs_first={cached / first:.3f}x "
        f"noop_dvc_s={noop_dvc:.1f} goal=<10s {'OK' if noop_dvc < 10 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
