"""The lifecycle as dvc.yaml declares it: DVC's own stage graph, each stage's `cmd` run as `dvc repro`
runs it.

There is no second list of stages here. :func:`pipeline` reads the stages, their commands and the
edges between them from DVC's index (``Repo.index.graph``); :func:`run_stage` asks DVC whether a stage
is up to date (``dvc status``), and if not removes its non-persistent outputs, runs its `cmd` in a
subprocess in the stage's directory and commits the stage to dvc.lock. So a run after `dvc repro`
finds every stage cached, and `dvc repro` after a run has nothing to do. The cache key is DVC's:
input file hashes, the stage's params and its code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from callbot.orchestrate.dvc import commit_stage, is_up_to_date, open_repo, remove_outs


class StageFailed(RuntimeError):
    """A stage ran and failed (a rejected archive under --strict, a failed data gate, an error)."""


@dataclass(frozen=True)
class StageNode:
    name: str  # the dvc.yaml stage
    cmd: str
    wdir: str
    upstream: tuple[str, ...]  # the stages whose outputs it reads


@dataclass(frozen=True)
class StageOutcome:
    name: str
    cached: bool
    seconds: float
    summary: str = ""

    def line(self) -> str:
        """What the flow prints and logs for the stage: name, ran or cached, seconds, its summary."""
        if self.cached:
            return f"{self.name:<13} cached  up to date in dvc.lock"
        return f"{self.name:<13} ran {self.seconds:6.0f}s  {self.summary}"


def pipeline(root: Path) -> dict[str, StageNode]:
    """dvc.yaml's stages in an order that runs every stage after its upstream (DVC's graph)."""
    import networkx as nx
    from dvc.stage import PipelineStage

    repo = open_repo(root)
    try:
        graph = repo.index.graph  # an edge runs from a stage to a stage whose output it reads
        order = list(reversed(list(nx.topological_sort(graph))))
        return {
            s.name: StageNode(
                s.name,
                s.cmd if isinstance(s.cmd, str) else " && ".join(s.cmd),
                s.wdir,
                tuple(d.name for d in graph.successors(s) if isinstance(d, PipelineStage)),
            )
            for s in order
            if isinstance(s, PipelineStage) and s.cmd
        }
    finally:
        repo.close()


def upstream_of(nodes: dict[str, StageNode], until: str) -> dict[str, StageNode]:
    """The stages of ``until`` (comma-separated) and every stage they depend on, in running order."""
    todo = [name.strip() for name in until.split(",") if name.strip()]
    unknown = [name for name in todo if name not in nodes]
    if unknown or not todo:
        raise ValueError(f"unknown stage {until!r}; dvc.yaml's stages are: {', '.join(nodes)}")
    wanted: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(nodes[name].upstream)
    return {name: node for name, node in nodes.items() if name in wanted}


def stage_log(root: Path, name: str) -> Path:
    """Where a stage's full output goes (DVC's own tmp directory: ignored by git and DVC)."""
    return Path(root) / ".dvc" / "tmp" / "callbot" / f"{name}.log"


def _summary(name: str, stdout: str) -> str:
    """The stage's result line: the CLI prints ``<stage>: <summary>`` last on stdout."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(f"{name}: "):
            return line[len(name) + 2 :].strip()
    return ""


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_stage(root: Path, node: StageNode) -> StageOutcome:
    """Run one stage as `dvc repro` would, unless DVC says it is up to date; then commit it.

    The cmd runs in its own process (an orchestrator's threads must not be inherited by the forks
    some stages make, and each stage gets its memory back), with the venv's scripts on PATH. Its
    output goes to :func:`stage_log`; a failure raises with the end of it.
    """
    root = Path(root)
    if is_up_to_date(root, node.name):
        return StageOutcome(node.name, cached=True, seconds=0.0)
    remove_outs(root, node.name)
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "DVC_ROOT": str(root),
        "DVC_STAGE": node.name,
        "CALLBOT_PROGRESS": "0",  # a log file, not a terminal
    }
    start = time.perf_counter()
    done = subprocess.run(
        node.cmd, shell=True, cwd=node.wdir, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    log = stage_log(root, node.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ {node.cmd}\n{done.stdout}\n--- stderr ---\n{done.stderr}", encoding="utf-8")
    summary = _summary(node.name, done.stdout)
    if done.returncode != 0:
        detail = summary or _tail(done.stderr) or _tail(done.stdout)
        raise StageFailed(
            f"{node.name}: `{node.cmd}` exited {done.returncode} after {seconds:.0f}s: {detail} "
            f"(full output: {log})"
        )
    commit_stage(root, node.name)
    return StageOutcome(node.name, cached=False, seconds=seconds, summary=summary)
