"""The lifecycle as Prefect tasks over the same stage functions `callbot <stage>` and `dvc repro` run.

Each DVC stage name maps to one runner below; a runner only loads its params section and calls the
stage's pure function (the same call the CLI makes). The Prefect task around it asks DVC first
(`dvc status <stage>`): an up-to-date stage finishes as ``Cached`` without running, so a run after
`dvc repro` does nothing twice; a stage that ran is committed to dvc.lock, so `dvc repro` after a
Prefect run does nothing either. The cache key is therefore DVC's: input file hashes + the stage's
own params section + its code, never a DataFrame or a model object.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callbot.config import Params


class StageFailed(RuntimeError):
    """A stage ran and reported failure (a rejected archive under --strict, a failed data gate...)."""


@dataclass(frozen=True)
class StageSpec:
    name: str  # the dvc.yaml stage name
    run: Callable[[Params], Any]
    wave: int  # stages of one wave are independent and may run concurrently
    io: bool = False  # retried with backoff (file systems and remotes fail transiently)


def _sample(p: Params) -> Any:
    """Both stand-in datasets into one download tree (interview first: it replaces the tree)."""
    from callbot.sample import run_sample

    return [run_sample(p.sample), run_sample(p.sample, dataset="callcenter")]


def _ingest(p: Params) -> Any:
    from callbot.aihub.ingest import run_ingest

    report = run_ingest(Path(p.ingest.src), Path(p.ingest.out), p.ingest, strict=p.ingest.strict)
    if report.fatal:
        raise StageFailed(f"ingest: rejects under strict mode; see {p.ingest.out}/_rejects.jsonl")
    return report


def _prepare(p: Params) -> Any:
    from callbot.prepare.run import run_prepare

    return run_prepare(Path(p.prepare.raw), Path(p.prepare.out), p.prepare)


def _validate(p: Params) -> Any:
    from callbot.quality.gate import run_validate

    result = run_validate(Path(p.validate_.prepared), Path(p.validate_.report), p.validate_)
    if not result.passed:
        raise StageFailed(f"validate: the data gate failed; open {p.validate_.report} for the data docs")
    return result


def _bases(p: Params) -> Any:
    from callbot.bases.run import run_bases

    return run_bases(p.bases)


def _train_stt(p: Params) -> Any:
    from callbot.stt.train import train_stt

    return train_stt(p.stt, None, None, None)


def _evaluate_stt(p: Params) -> Any:
    from callbot.stt.evaluate import evaluate_stt

    result = evaluate_stt(p.stt, None, None, None)
    if result.blocking:
        raise StageFailed(f"evaluate_stt: a CER gate failed; see {p.stt.report}/metrics.json")
    return result


def _train_llm(p: Params) -> Any:
    from callbot.llm.train import run_train_llm

    return run_train_llm(Path(p.llm.prepared), p.llm)


def _evaluate_llm(p: Params) -> Any:
    from callbot.llm.evaluate import run_evaluate_llm

    return run_evaluate_llm(Path(p.llm.prepared), p.llm)


def _evaluate_bot(p: Params) -> Any:
    from callbot.bot.evaluate import run_evaluate_bot

    return run_evaluate_bot(p.bot)


def _select(p: Params) -> Any:
    from callbot.registry.select import run_select

    return run_select(p.select)


def _package(p: Params) -> Any:
    from callbot.registry.package import run_package

    return run_package(p.package, p.tts, p.serve)


STAGES: tuple[StageSpec, ...] = (
    StageSpec("sample", _sample, wave=0),
    StageSpec("ingest", _ingest, wave=1, io=True),
    StageSpec("prepare", _prepare, wave=2),
    StageSpec("validate", _validate, wave=3),
    StageSpec(
        "bases", _bases, wave=3
    ),  # independent of the data; listed after it so --until validate skips it
    StageSpec("train_stt", _train_stt, wave=4),
    StageSpec("train_llm", _train_llm, wave=4),
    StageSpec("evaluate_stt", _evaluate_stt, wave=5),
    StageSpec("evaluate_llm", _evaluate_llm, wave=5),
    StageSpec("evaluate_bot", _evaluate_bot, wave=6),
    StageSpec("select", _select, wave=7),
    StageSpec("package", _package, wave=8, io=True),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def stages_until(until: str) -> list[StageSpec]:
    if until not in STAGE_NAMES:
        raise ValueError(f"unknown stage {until!r}; stages are: {', '.join(STAGE_NAMES)}")
    last = STAGE_NAMES.index(until)
    return [s for s in STAGES if STAGE_NAMES.index(s.name) <= last]


def waves(stages: list[StageSpec]) -> list[list[StageSpec]]:
    grouped: dict[int, list[StageSpec]] = {}
    for stage in stages:
        grouped.setdefault(stage.wave, []).append(stage)
    return [grouped[k] for k in sorted(grouped)]


@dataclass(frozen=True)
class StageOutcome:
    name: str
    cached: bool
    seconds: float


def _run_in_child(name: str, root: str, params_file: str) -> None:
    """The stage function, in a fresh interpreter whose working directory is the repository."""
    import os

    from callbot.config import load_params

    os.chdir(root)
    {s.name: s for s in STAGES}[name].run(load_params(Path(root) / params_file))


def run_stage(name: str, root: Path, params_file: str = "params.yaml") -> StageOutcome:
    """Run one stage unless DVC says it is up to date, then commit it to dvc.lock.

    The stage function runs in a spawned child process, as `dvc repro` runs it in its own process:
    an orchestrator's threads (Prefect's API client, other tasks) must not be inherited by the forks
    some stages make (speech synthesis, ingest workers), and each stage gets its memory back.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from callbot.orchestrate.dvc import commit_stage, is_up_to_date

    if name not in STAGE_NAMES:
        raise ValueError(f"unknown stage {name!r}; stages are: {', '.join(STAGE_NAMES)}")
    if is_up_to_date(root, name):
        return StageOutcome(name, cached=True, seconds=0.0)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as child:
        child.submit(_run_in_child, name, str(root), params_file).result()
    commit_stage(root, name)
    return StageOutcome(name, cached=False, seconds=time.perf_counter() - start)
