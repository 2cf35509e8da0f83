"""`callbot package`: the selected STT and LLM, the voice and the interview heads into the BentoML
store, then a Bento.

Why the store and not paths: a Bento carries copies of the exact models it was validated with, and
each stored model is labelled with the dataset version, its metrics and the git revision, so an
operator reading ``bentoml models list`` knows what a deployed bot was trained on. The built
Bento's tag is recorded in ``models/bento.json`` for the Prefect flow and for ``bentoml serve``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.console import summary
from callbot.contracts import (
    BentoRecord,
    Selection,
    read_json,
    read_selection,
    read_stt_metrics,
    write_bento_record,
)
from callbot.llm.router import CALIBRATION_FILE, INTENT_DIR

if TYPE_CHECKING:
    from callbot.registry.params import PackageParams
    from callbot.serve.params import ServeParams
    from callbot.tts.params import TTSParams

STT_MODEL = "callbot-stt"  # the names callbot/serve/service.py asks the store for
LLM_MODEL = "callbot-llm"
TTS_MODEL = "callbot-tts"
INTERVIEW_MODEL = "callbot-interview"
BENTOFILE = Path("bento") / "bentofile.yaml"  # the Bento's build config, relative to the repository


class PackageError(RuntimeError):
    """An input of the package stage is missing or unusable; the message says which and what to do."""


def git_revision(root: Path) -> str:
    """The commit the code was built from, ``-dirty`` when the work tree has changes; else unknown."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}-dirty" if dirty else rev


def _numbers(data: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a metrics JSON, flattened to dotted keys (labels and metadata want flat)."""
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_numbers(value, f"{prefix}{key}."))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        out[prefix.rstrip(".")] = float(data)
    return out


def selected_llm_dir(selection_path: Path) -> tuple[Path, Selection]:
    """The winning candidate's merged model directory named by the selection, and the selection."""
    selection = read_selection(selection_path)
    path = Path(selection.merged)
    if not path.is_absolute() and not path.exists():
        path = selection_path.parent.parent / path  # written relative to the repository root
    if not (path / "config.json").is_file():
        raise PackageError(
            f"{selection_path}: names {path} as the selected model, but no model is there "
            "(config.json missing); re-run `callbot train-llm` and `callbot select`"
        )
    return path, selection


def _stt_files(stt_dir: Path) -> tuple[list[Path], dict[str, Any]]:
    """What to copy of the STT export: the HF model dir, export.json and the openai-whisper checkpoint."""
    if (stt_dir / "config.json").is_file():  # a bare HF model directory
        return [stt_dir], {}
    if not (stt_dir / "model" / "config.json").is_file():
        raise PackageError(
            f"{stt_dir}: no STT model here (neither config.json nor model/config.json); run `callbot train-stt` "
            "or point package.stt_model at an exported model"
        )
    export = stt_dir / "export.json"
    meta = read_json(export, "STT export summary", "`callbot train-stt`") if export.is_file() else {}
    files = [p for p in (stt_dir / "model", export, stt_dir / "whisper.pt", stt_dir / "ct2") if p.exists()]
    return files, meta


def _served_backend(
    sources: list[Path], meta: dict[str, Any], backends: dict[str, Any]
) -> tuple[list[Path], dict[str, Any]]:
    """Serve evaluate-stt's backend choice (the fastest whose held-out CER is within the tolerance of
    the best): the stored export.json says so, the training tree's copy is left as it was."""
    import tempfile

    choice = backends.get("choice")
    if not choice or not meta or choice == meta.get("serve_backend"):
        return sources, meta
    meta = {**meta, "serve_backend": choice, "chosen_by": "evaluate-stt backends: held-out CER, then speed"}
    chosen = Path(tempfile.mkdtemp(prefix="callbot-export-")) / "export.json"
    chosen.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return [chosen if p.name == "export.json" else p for p in sources], meta


def _stt_labels(metrics: dict[str, float]) -> dict[str, str]:
    """The headline figures an operator filters on: the fine-tuned model's CER and WER."""
    wanted = {"cer": "fine_tuned.cer", "wer": "fine_tuned.wer", "cer_improvement": "cer_improvement"}
    return {label: f"{metrics[key]:.4g}" for label, key in wanted.items() if key in metrics}


def _label_value(value: str) -> str:
    return value[:63]


def _storable(value: Any) -> Any:
    """BentoML metadata takes only basic types: drop nulls (a first selection has no previous
    champion), keep the rest as is."""
    if isinstance(value, dict):
        return {str(k): _storable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value if v is not None]
    return value


def content_digest(sources: list[Path], flat: bool) -> str:
    """sha256 of what :func:`_store` would copy: each file's stored path and bytes, in sorted order."""
    import hashlib

    digest = hashlib.sha256()
    for source in sources:
        prefix = Path() if flat and source.is_dir() else Path(source.name)
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in files:
            rel = (prefix / path.relative_to(source)).as_posix() if source.is_dir() else source.name
            digest.update(rel.encode("utf-8") + b"\0")
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            digest.update(b"\0")
    return digest.hexdigest()


def _store(
    name: str, sources: list[Path], labels: dict[str, str], metadata: dict[str, Any], flat: bool
) -> str:
    """Copy ``sources`` into a new stored model ``name``; returns its tag.

    A stored ``name`` with the same content (label ``content_sha256``) is reused instead: a retried
    package stage must not add a multi-GB copy of an unchanged model on every attempt.
    """
    import bentoml

    content = content_digest(sources, flat)[:32]  # a label value holds at most 63 characters
    try:
        stored_models = bentoml.models.list(name)
    except bentoml.exceptions.NotFound:  # the first model of this name
        stored_models = []
    for stored in stored_models:
        if stored.info.labels.get("content_sha256") == content:
            return str(stored.tag)
    labels = {**labels, "content_sha256": content}
    with bentoml.models.create(name, labels=labels, metadata=_storable(metadata)) as model:
        target = Path(model.path)
        for source in sources:
            if flat and source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            elif source.is_dir():
                shutil.copytree(source, target / source.name)
            else:
                shutil.copy2(source, target / source.name)
    return str(model.tag)


def calibration_of(selection: Selection, threshold: float) -> dict[str, Any]:
    """What the served responder reads beside the weights: the dialogue policy select shipped, and its input checks."""
    out: dict[str, Any] = {"threshold": threshold, "ranker": selection.ranker}
    if selection.policy is not None:
        out["policy"] = selection.policy
    if selection.screen is not None:
        out["screen"] = selection.screen
    if selection.summary is not None:
        out["summary"] = selection.summary
    return out


def calibration_file(selection: Selection, selected: Path) -> Path:
    """calibration.json (:func:`calibration_of`) in a fresh temp folder, to be stored beside the weights."""
    threshold = selection.handover_threshold
    if threshold is None:
        raise PackageError(
            f"{selected}: no handover_threshold; run `callbot evaluate-bot` and `callbot select`"
        )
    calibration = Path(tempfile.mkdtemp(prefix=".calibration.")) / CALIBRATION_FILE
    calibration.write_text(
        json.dumps(calibration_of(selection, float(threshold)), ensure_ascii=False), "utf-8"
    )
    return calibration


def intent_bundle(selection: Selection, root: Path, scratch: Path) -> list[Path]:
    """The intent model as ``intent/`` beside the weights, when select left the LLM out of the call path."""
    if selection.ranker != "intent":
        return []
    source = Path(selection.intent_model or "")
    source = source if source.is_absolute() else root / source
    if not (source / "intent.json").is_file():
        raise PackageError(
            f"{source}: the selection ranks calls by the intent model, but none is there; run "
            "`callbot train-intent`, `callbot evaluate-bot` and `callbot select`"
        )
    bundle = scratch / "intent-bundle"
    shutil.copytree(source, bundle / INTENT_DIR)
    return [bundle]


def interview_entry(
    params: PackageParams, root: Path, common: dict[str, str]
) -> tuple[list[Path], dict[str, str], dict[str, Any]]:
    """What `callbot interview` saved for serving: its directory, labels (each task's encoder) and metadata."""
    from callbot.interview.served import MODEL_FILE, InterviewModel, InterviewModelError

    source = root / params.interview_model
    try:
        InterviewModel.load(source)  # the Bento must not ship heads it cannot load
    except InterviewModelError as exc:
        raise PackageError(f"{exc} (package.interview_model)") from None
    meta = read_json(source / MODEL_FILE, "the interview model", "`callbot interview`")
    encoders = {
        f"{task}_encoder": _label_value(str(spec.get("encoder"))) for task, spec in meta["tasks"].items()
    }
    summary = meta.get("summary") or {}
    return [source], {**common, "role": "interview", **encoders}, {"source": str(source), "summary": summary}


def import_models(params: PackageParams, tts: TTSParams, root: Path) -> tuple[dict[str, str], Selection]:
    """Store the STT, the selected LLM, the interview heads and the voice bundle, labelled; returns name -> tag, and the
    selection (its ``dataset_version``, the data the LLM was trained on, labels the Bento too)."""

    from callbot.tts.bundle import BundleError, write_bundle

    stt_dir = root / params.stt_model
    llm_dir, selection = selected_llm_dir(root / params.selected)
    stt_sources, stt_meta = _stt_files(stt_dir)
    common = {
        "dataset_version": _label_value(selection.dataset_version or "unversioned"),
        "git_revision": git_revision(root),
        "project": "callbot",
    }
    interview = interview_entry(params, root, common)  # checked before anything is stored
    stt_report = read_stt_metrics(root / params.stt_metrics)
    stt_metrics = _numbers(stt_report.model_dump(mode="json", exclude={"schema_version"}))
    stt_sources, stt_meta = _served_backend(stt_sources, stt_meta, stt_report.backends)
    calibration = calibration_file(selection, root / params.selected)
    tags = {
        STT_MODEL: _store(
            STT_MODEL,
            stt_sources,
            {**common, "role": "stt", **_stt_labels(stt_metrics)},
            {"source": str(stt_dir), "metrics": stt_metrics, "export": stt_meta},
            flat=len(stt_sources) == 1 and stt_sources[0].is_dir(),
        ),
        LLM_MODEL: _store(
            LLM_MODEL,
            [llm_dir, calibration, *intent_bundle(selection, root, calibration.parent)],
            {**common, "role": "llm", "candidate": _label_value(selection.winner),
             "licence": _label_value(selection.licence or "unknown"),
             **{k: f"{v:.4g}" for k, v in list(selection.metrics.items())[:8]}},
            {"source": str(llm_dir), "selection": selection.model_dump(mode="json")},
            flat=True,
        ),
    }  # fmt: skip
    tags[INTERVIEW_MODEL] = _store(INTERVIEW_MODEL, *interview, flat=True)
    with tempfile.TemporaryDirectory(prefix="callbot-voice-") as tmp:
        voice = Path(tmp) / "voice"
        voice.mkdir()
        try:
            write_bundle(voice, tts)
        except BundleError as exc:
            raise PackageError(str(exc)) from None
        tags[TTS_MODEL] = _store(
            TTS_MODEL,
            [voice],
            {**common, "role": "tts", "engine": tts.engine, "sample_rate": str(tts.sample_rate)},
            {"tts": tts.model_dump()},
            flat=True,
        )
    shutil.rmtree(calibration.parent, ignore_errors=True)
    return tags, selection


def build_bento(
    params: PackageParams, serve: ServeParams, root: Path, labels: dict[str, str], models: dict[str, str]
) -> str:
    """``bentoml build`` with ``bento/bentofile.yaml``; returns the Bento tag.

    The stored model tags and the ``serve`` section (the request limits) go in as Bento arguments,
    kept in the Bento: the service pins its models and declares its limits from them.
    """
    import bentoml

    args: dict[str, Any] = {name.removeprefix("callbot-") + "_model": tag for name, tag in models.items()}
    args["serve"] = serve.model_dump(mode="json")
    bento = bentoml.bentos.build_bentofile(
        str(root / BENTOFILE), name=params.bento_name, labels=labels, build_ctx=str(root), args=args
    )
    return str(bento.tag)


def run_package(
    params: PackageParams, tts: TTSParams, serve: ServeParams, root: Path | None = None
) -> BentoRecord:
    """Import the models, build the Bento, record its tag; prints how to serve it and the page URL."""
    root = Path(root or Path.cwd()).resolve()
    if not (root / BENTOFILE).is_file() or not (root / "callbot" / "serve" / "service.py").is_file():
        raise PackageError(
            f"{root}: not the callbot repository ({BENTOFILE} or callbot/serve/service.py missing)"
        )
    tags, selection = import_models(params, tts, root)
    labels = {
        "dataset_version": _label_value(selection.dataset_version or "unversioned"),
        "git_revision": git_revision(root),
        "tts_engine": tts.engine,
        **{name.removeprefix("callbot-") + "_model": tag.split(":")[1] for name, tag in tags.items()},
    }
    tag = build_bento(params, serve, root, labels, tags)
    host = "localhost" if serve.host in ("0.0.0.0", "::") else serve.host
    record = BentoRecord(
        tag=tag,
        models=tags,
        labels=labels,
        serve_command=f"bentoml serve {tag} --host {serve.host} --port {serve.port}",
        page_url=f"http://{host}:{serve.port}/ui/",
    )
    write_bento_record(root / params.out, record)
    summary(
        "package",
        f"built {tag} ({', '.join(tags.values())}); serve: {record.serve_command}; page: {record.page_url}",
    )
    return record
