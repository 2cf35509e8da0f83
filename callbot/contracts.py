"""The files one stage writes and another reads, as typed contracts: one writer and one reader each.

Every contract is a pydantic model with a ``schema_version``. A writer (``write_<name>``) validates
the model and writes it atomically (:mod:`callbot.atomic`); its reader (``read_<name>``) returns the
model or raises :class:`ContractError`, whose message names the file, what is wrong with it (missing,
not JSON, an older or newer ``schema_version``, a missing or mistyped field) and the command that
writes it again. Nothing else reads these files by guessing at keys.

Metrics files keep the keys that ``dvc.yaml`` plots, ``dvc metrics show``, the README and the
leaderboard read; their models allow extra keys where the sections vary from run to run (per-slice
figures, per-task metrics), and type the fields a reader relies on.

Contracts (file: writer -> readers):

- ``_manifest.jsonl`` (one :class:`ManifestEntry` a line): ingest -> validate
- ``data/corrections/corrections.jsonl`` (:func:`read_corrections`): review import -> prepare (accepted
  human review is a data input of prepare, not a package it imports)
- ``prepared/stt`` audio paths (:func:`stt_audio_ref`, :func:`stt_audio_file`): prepare -> train-stt,
  evaluate-stt (relative to the dataset's folder, so a moved or second checkout reads the same bytes)
- ``gate.json`` (:class:`Gate`): validate -> train-stt, train-llm, evaluate-bot
- ``versions/dataset.json`` (:class:`DatasetVersions`): version -> train-llm, evaluate-llm
- ``reports/stt/metrics.json`` (:class:`SttMetrics`): evaluate-stt -> package, the flow's summary
- ``<llm.report>/<candidate>.json`` (:class:`LlmReport`): evaluate-llm -> select
- ``reports/bot/metrics.json`` (:class:`BotMetrics`): evaluate-bot -> select, the flow's summary
- ``leaderboard.json`` (:class:`Leaderboard`): select -> DVC metrics, the README
- ``models/selected.json`` (:class:`Selection`): select -> package, select (the champion)
- ``models/bento.json`` (:class:`BentoRecord`): package -> serve, the flow's summary
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callbot.atomic import TMP_SUFFIX, write_json, write_text

__all__ = [
    "BentoRecord",
    "BotCandidate",
    "BotMetrics",
    "ContractError",
    "DatasetVersions",
    "Fingerprint",
    "Gate",
    "GateExclusion",
    "Leaderboard",
    "LeaderboardRow",
    "LlmReport",
    "ManifestEntry",
    "Selection",
    "SttMetrics",
    "VersionEntry",
    "dataset_version",
    "file_digest",
    "load_corrections",
    "read_bento_record",
    "read_bot_metrics",
    "read_corrections",
    "read_dataset_versions",
    "read_gate",
    "read_json",
    "read_leaderboard",
    "read_llm_report",
    "read_manifest",
    "read_selection",
    "read_stt_metrics",
    "stt_audio_file",
    "stt_audio_ref",
    "write_bento_record",
    "write_bot_metrics",
    "write_dataset_versions",
    "write_gate",
    "write_leaderboard",
    "write_llm_report",
    "write_manifest",
    "write_selection",
    "write_stt_metrics",
]


class ContractError(ValueError):
    """A file between stages is missing or in an old or unknown shape; the message names the file and
    the command that writes it again."""


class Contract(BaseModel):
    """A file one stage writes for another. ``WHAT`` names it in messages, ``REDO`` says how to rewrite it."""

    model_config = ConfigDict(extra="forbid")
    SCHEMA: ClassVar[int] = 1
    WHAT: ClassVar[str] = ""
    REDO: ClassVar[str] = ""

    schema_version: int = 1


class Metrics(Contract):
    """A metrics file: the typed fields readers use, and whatever sections the run added."""

    model_config = ConfigDict(extra="allow")


class Part(BaseModel):
    """A nested record of a contract (versioned with the file that holds it)."""

    model_config = ConfigDict(extra="forbid")


C = TypeVar("C", bound=Contract)


def _problems(exc: ValidationError) -> str:
    shown = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg'].lower()}" for e in exc.errors()[:5]]
    more = len(exc.errors()) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _parse(path: Path, data: Any, kind: type[C], where: str = "") -> C:
    """``data`` as a ``kind``, or a :class:`ContractError` naming ``path`` (and ``where`` in it)."""
    at = f"{path}{where}"
    if not isinstance(data, dict):
        raise ContractError(f"{at}: not a {kind.WHAT} (a JSON object expected); re-run {kind.REDO}")
    version = data.get("schema_version")
    if version != kind.SCHEMA:
        found = (
            "no schema_version (written by an older callbot)"
            if version is None
            else f"schema_version {version!r}"
        )
        raise ContractError(
            f"{at}: {kind.WHAT} has {found}; this callbot reads schema_version {kind.SCHEMA}. Re-run {kind.REDO}"
        )
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        raise ContractError(
            f"{at}: {kind.WHAT} in an unknown shape ({_problems(exc)}); re-run {kind.REDO}"
        ) from None


def _text(path: Path, what: str, redo: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ContractError(f"{path}: no {what}; run {redo} first") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: cannot read the {what} ({exc}); re-run {redo}") from None


def read_json(path: Path, what: str, redo: str) -> Any:
    """A JSON file's content, or a :class:`ContractError` naming ``path``, the ``what`` it should
    hold and the command (``redo``) that writes it again. For the small files beside a model
    (export, responder, router, calibration) that travel inside stored models without a version."""
    try:
        return json.loads(_text(path, what, redo))
    except json.JSONDecodeError as exc:
        raise ContractError(f"{path}: {what} is not valid JSON ({exc}); re-run {redo}") from None


def _read(path: Path, kind: type[C]) -> C:
    return _parse(Path(path), read_json(path, kind.WHAT, kind.REDO), kind)


def _write(path: Path, model: Contract, *, indent: int | None = 2, end: str = "\n") -> None:
    write_json(path, model.model_dump(mode="json"), indent=indent, end=end)


# ---- ingest -> validate --------------------------------------------------------------------------


class ManifestEntry(Contract):
    """One verified file ingest extracted (a line of ``_manifest.jsonl``)."""

    WHAT: ClassVar[str] = "ingest manifest entry"
    REDO: ClassVar[str] = "`callbot ingest`"

    path: str  # relative to the ingest output, NFC
    size: int
    sha256: str
    crc32: str  # 8 hex digits (a zip member's is checked against the archive's)
    archive: str
    member: str
    name_warning: str | None = None


def write_manifest(path: Path, entries: list[ManifestEntry], *, suffix: str = TMP_SUFFIX) -> None:
    """One entry a line, keys sorted (a re-run writes the same bytes); fsynced (ingest's record of work).
    ``suffix``: ingest's own temp suffix, which its resume logic recognises."""
    lines = (
        json.dumps(e.model_dump(exclude_none=True), ensure_ascii=False, sort_keys=True) + "\n"
        for e in entries
    )
    write_text(path, "".join(lines), suffix=suffix, durable=True)


def read_manifest(path: Path) -> list[ManifestEntry]:
    entries = []
    for number, line in enumerate(_text(path, ManifestEntry.WHAT, ManifestEntry.REDO).splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ContractError(f"{path}:{number}: not valid JSON ({exc}); re-run `callbot ingest`") from None
        entries.append(_parse(Path(path), data, ManifestEntry, f":{number}"))
    return entries


# ---- review import -> prepare: data/corrections/ ------------------------------------------------
CORRECTIONS_FILE = "corrections.jsonl"
APPLIED_FIELDS = ("text_raw", "emotion", "intent")  # what a correction may change in a record
_CORRECTIONS_REDO = "restore the file from DVC (`dvc checkout`) or re-run `callbot review import`"


def corrections_file(path: str | Path) -> Path:
    """The corrections file of a corrections directory (``path`` itself when it names a file)."""
    path = Path(path)
    return path / CORRECTIONS_FILE if path.is_dir() or not path.suffix else path


def read_corrections(path: str | Path) -> list[dict[str, Any]]:
    """Every entry of the corrections file (each with an ``utterance_id`` and a ``fields`` object);
    empty when there is none. A malformed line raises :class:`ContractError` naming file and line."""
    path = corrections_file(path)
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            ok = isinstance(entry, dict) and "utterance_id" in entry and isinstance(entry.get("fields"), dict)
        except ValueError:
            ok = False
        if not ok:
            raise ContractError(
                f"{path}:{number}: not a correction (utterance_id and fields); {_CORRECTIONS_REDO}"
            )
        entries.append(entry)
    return entries


def load_corrections(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{utterance_id: fields}`` prepare applies (only :data:`APPLIED_FIELDS`); empty when there is none."""
    return {
        str(e["utterance_id"]): {k: v for k, v in e["fields"].items() if k in APPLIED_FIELDS}
        for e in read_corrections(path)
    }


# ---- prepare -> the STT dataset's readers --------------------------------------------------------


def stt_audio_ref(dataset: Path, audio: Path) -> str:
    """How the prepared STT dataset at ``dataset`` stores ``audio``: relative to the dataset's own
    folder (``../../raw/…``), so the dataset holds no absolute path and hashes the same in every clone.
    Lexical (no symlink resolution), as :func:`stt_audio_file` reads it back."""
    return Path(os.path.relpath(Path(audio).absolute(), Path(dataset).absolute())).as_posix()


def stt_audio_file(dataset: Path, stored: str) -> Path:
    """The audio file a prepared STT dataset row names: the one reader of :func:`stt_audio_ref`'s paths
    (an absolute path, as older datasets stored, is taken as it is)."""
    path = Path(stored)
    return path if path.is_absolute() else Path(os.path.normpath(Path(dataset).absolute() / path))


# ---- validate -> the trainers --------------------------------------------------------------------


class GateExclusion(Part):
    utterance_id: str | None
    interview_id: str | None
    expectations: list[str]


class Gate(Contract):
    """``gate.json``: the validation gate's verdict and the utterances it set aside."""

    WHAT: ClassVar[str] = "validation gate verdict"
    REDO: ClassVar[str] = "`callbot validate`"

    passed: bool
    reasons: list[str]
    excluded: list[GateExclusion]
    summary: str  # the validation report's summary.json

    def excluded_ids(self) -> set[str]:
        return {e.utterance_id for e in self.excluded if e.utterance_id}


def write_gate(path: Path, gate: Gate) -> None:
    _write(path, gate, indent=1)


def read_gate(path: Path) -> Gate:
    return _read(path, Gate)


# ---- version -> the trainers ---------------------------------------------------------------------


class Fingerprint(Part):
    """What the version rule compares: the schema, the set of utterance ids, the content."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    schema_: str = Field(alias="schema")  # "schema" would shadow BaseModel.schema
    ids: str
    content: str
    records: int


class VersionEntry(Part):
    version: str
    bump: Literal["initial", "major", "minor", "patch", "none"]
    fingerprint: Fingerprint
    created: str
    note: str


class DatasetVersions(Contract):
    """``versions/dataset.json``: the prepared dataset's semantic version history, kept in git."""

    WHAT: ClassVar[str] = "dataset version file"
    REDO: ClassVar[str] = "`git checkout versions/dataset.json` (or delete it to start again at 1.0.0)"

    current: str
    history: list[VersionEntry]


def write_dataset_versions(path: Path, versions: DatasetVersions) -> None:
    _write(path, versions)


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks (16 hex digits, as fingerprints keep it)."""
    content = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            content.update(block)
    return content.hexdigest()[:16]


def dataset_version(prepared: Path, version_file: Path) -> str:
    """The version of the data in ``prepared``: what a model trained or scored on it is labelled with.

    ``version_file`` is trusted only when one of its entries fingerprints exactly this
    ``records.parquet``: then ``"<version>"``. Otherwise (no file, or data not yet versioned)
    ``"sha256:<hash of the llm dataset files>"``, so a label never names a version the data is not.
    """
    prepared = Path(prepared)
    records = prepared / "records.parquet"
    if Path(version_file).is_file() and records.is_file():
        content = file_digest(records)
        for entry in reversed(read_dataset_versions(Path(version_file)).history):
            if entry.fingerprint.content == content:
                return entry.version
    digest = hashlib.sha256()
    for path in sorted((prepared / "llm").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(prepared)).encode())
            digest.update(path.read_bytes())
    return f"sha256:{digest.hexdigest()[:16]}"


def read_dataset_versions(path: Path) -> DatasetVersions:
    return _read(path, DatasetVersions)


# ---- the evaluations -> select and package -------------------------------------------------------


class SttFigures(Part):
    model_config = ConfigDict(extra="allow")
    cer: float
    wer: float


class SttGates(Part):
    model_config = ConfigDict(extra="allow")
    passed: bool
    mode: str


class SttMetrics(Metrics):
    """evaluate-stt's ``metrics.json`` (DVC metrics)."""

    WHAT: ClassVar[str] = "STT evaluation"
    REDO: ClassVar[str] = "`callbot evaluate-stt`"

    test_utterances: int
    serve_backend: str
    base: SttFigures
    fine_tuned: SttFigures
    cer_improvement: float
    unseen_cer: float
    baselines: dict[str, Any]
    backends: dict[str, Any]  # `choice`: the backend package serves, when several were exported
    gates: SttGates
    failures: list[str]
    recipe: str = "whisper"  # ctc: the jamo CTC model (base is then the empty output)
    unseen_cer_line: float | None = None  # unseen sentences after the 8 kHz G.711 line (ctc recipe)


def write_stt_metrics(path: Path, metrics: SttMetrics) -> None:
    _write(path, metrics)


def read_stt_metrics(path: Path) -> SttMetrics:
    return _read(path, SttMetrics)


class CandidatePaths(Part):
    merged: str
    adapter: str
    base: str


class LlmReport(Metrics):
    """evaluate-llm's ``<llm.report>/<candidate>.json``: one candidate's base and fine-tuned metrics."""

    WHAT: ClassVar[str] = "LLM candidate report"
    REDO: ClassVar[str] = "`callbot evaluate-llm`"

    candidate: str
    arch: str
    base: str
    licence: str | None
    parameters: int
    dataset_version: str  # the data it was scored on
    trained_on: str | None  # the data it was trained on (train-llm's record)
    paths: CandidatePaths
    metrics: dict[str, Any]
    base_metrics: dict[str, Any]


def write_llm_report(path: Path, report: LlmReport) -> None:
    _write(path, report, end="")


def read_llm_report(path: Path) -> LlmReport:
    return _read(path, LlmReport)


class BotCandidate(Part):
    """One candidate's (or baseline's) end-to-end figures: ``<split>`` -> ``<slice>`` -> figure."""

    model_config = ConfigDict(extra="allow")
    threshold: float | None = None
    validation: dict[str, dict[str, Any]] = {}
    test: dict[str, dict[str, Any]]


class BotMetrics(Metrics):
    """evaluate-bot's ``metrics.json`` (DVC metrics): spoken calls end to end, per candidate."""

    WHAT: ClassVar[str] = "end-to-end call evaluation"
    REDO: ClassVar[str] = "`callbot evaluate-bot`"

    candidates: dict[str, BotCandidate]  # each with its calibrated `policy` and `headline`; select picks
    baselines: dict[str, BotCandidate]


def write_bot_metrics(path: Path, metrics: BotMetrics) -> None:
    _write(path, metrics)


def read_bot_metrics(path: Path) -> BotMetrics:
    return _read(path, BotMetrics)


# ---- select -> package ---------------------------------------------------------------------------


class LeaderboardRow(Part):
    rank: int
    candidate: str
    parameters: int
    licence: str | None
    metrics: dict[str, Any]
    base_metrics: dict[str, Any]


class Leaderboard(Contract):
    """``leaderboard.json`` (DVC metrics): every candidate ranked, and the rule's decision."""

    WHAT: ClassVar[str] = "LLM leaderboard"
    REDO: ClassVar[str] = "`callbot select`"

    primary_metric: str
    goal: Literal["max", "min"]
    min_improvement: float
    winner: str
    reason: str
    rows: list[LeaderboardRow]
    headline: dict[str, float | None] = {}  # the served bot's evaluate-bot figures (test, scored once)
    call_path: str = ""  # whether the LLM rescoring earns its place against the intent model alone, and why


def write_leaderboard(path: Path, board: Leaderboard) -> None:
    _write(path, board, end="")


def read_leaderboard(path: Path) -> Leaderboard:
    return _read(path, Leaderboard)


class Selection(Contract):
    """``models/selected.json``: the winning LLM, where its model is, and why it won."""

    WHAT: ClassVar[str] = "LLM selection"
    REDO: ClassVar[str] = "`callbot select`"

    metrics: dict[
        str, float
    ]  # the primary metric first: package labels the stored model with the leading ones
    winner: str
    merged: str  # the winner's merged model directory
    handover_threshold: float | None  # calibrated on validation by evaluate-bot; None without it
    policy: dict[str, float] | None = None  # the dialogue policy's thresholds (answer, margin, confirm, word)
    screen: dict[str, Any] | None = None  # the input checks shipped with them
    headline: dict[str, float | None] = {}  # the served bot's evaluate-bot figures (the leaderboard's)
    ranker: Literal["llm", "intent"] = (
        "llm"  # the call ranks by the router + LLM, or by the intent model alone
    )
    intent_model: str | None = None  # the intent model directory the Bento ships when ranker is intent
    call_path: str = ""  # why
    summary: dict[str, Any] | None = (
        None  # the handover summary: the LLM's (and its prompt) or the first sentence
    )
    adapter: str
    base: str
    arch: str
    licence: str | None
    parameters: int
    base_metrics: dict[str, float]
    dataset_version: str | None  # the data the winner was trained on (see orchestrate.version)
    primary_metric: str
    goal: Literal["max", "min"]
    min_improvement: float
    previous_champion: str | None
    reason: str
    leaderboard: str


def write_selection(path: Path, selection: Selection) -> None:
    _write(path, selection, end="")


def read_selection(path: Path) -> Selection:
    return _read(path, Selection)


# ---- package -> serve ----------------------------------------------------------------------------


class BentoRecord(Contract):
    """``models/bento.json``: the Bento package built and the stored models it was built from."""

    WHAT: ClassVar[str] = "packaged Bento record"
    REDO: ClassVar[str] = "`callbot package`"

    tag: str  # the Bento, `name:version`
    models: dict[str, str]  # stored model name -> tag
    labels: dict[str, str]
    serve_command: str
    page_url: str


def write_bento_record(path: Path, record: BentoRecord) -> None:
    """Atomic: a half-written record must never name a Bento."""
    _write(path, record)


def read_bento_record(path: Path) -> BentoRecord:
    return _read(path, BentoRecord)
