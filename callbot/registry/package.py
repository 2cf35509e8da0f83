"""`callbot package`: the selected STT and LLM and the voice into the BentoML store, then a Bento.

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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import write_json
from callbot.console import summary
from callbot.llm.router import CALIBRATION_FILE

if TYPE_CHECKING:
    from callbot.registry.params import PackageParams
    from callbot.serve.params import ServeParams
    from callbot.tts.params import TTSParams

STT_MODEL = "callbot-stt"  # the names callbot/serve/service.py asks the store for
LLM_MODEL = "callbot-llm"
TTS_MODEL = "callbot-tts"
BENTOFILE = Path("bento") / "bentofile.yaml"  # the Bento's build config, relative to the repository
SELECTION_KEYS = ("model_dir", "merged_dir", "merged", "path")  # where select.json names the winner


class PackageError(RuntimeError):
    """An input of the package stage is missing or unusable; the message says which and what to do."""


@dataclass(frozen=True)
class BentoRecord:
    """What ``models/bento.json`` holds: the Bento and the stored models it was built from."""

    tag: str  # the Bento, `name:version`
    models: dict[str, str]
    labels: dict[str, str]
    serve_command: str
    page_url: str


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


def dataset_version(version_file: Path) -> str:
    """``current`` of the dataset version file, or ``unversioned`` before the first versioned run."""
    if not version_file.is_file():
        return "unversioned"
    try:
        return str(json.loads(version_file.read_text(encoding="utf-8"))["current"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PackageError(
            f"{version_file}: not a dataset version file ({exc}); restore it from git"
        ) from None


def _numbers(data: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a metrics JSON, flattened to dotted keys (labels and metadata want flat)."""
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_numbers(value, f"{prefix}{key}."))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        out[prefix.rstrip(".")] = float(data)
    return out


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(f"{path}: no {what}; run the stage that writes it first") from None
    except ValueError as exc:
        raise PackageError(
            f"{path}: {what} is not valid JSON ({exc}); re-run the stage that writes it"
        ) from None
    if not isinstance(data, dict):
        raise PackageError(f"{path}: {what} must be a JSON object")
    return data


def _named_model_dir(selection: dict[str, Any]) -> str | None:
    """The winner's model directory wherever the selection puts it: top level, ``paths``, or nested
    under the winner's record (``winner``/``champion``/``selected``), in that order."""
    places: list[Any] = [selection, selection.get("paths")]
    for key in ("winner", "champion", "selected"):
        record = selection.get(key)
        if isinstance(record, dict):
            places += [record, record.get("paths")]
    for place in places:
        if isinstance(place, dict):
            for key in SELECTION_KEYS:
                if isinstance(place.get(key), str):
                    return place[key]
    return None


def selected_llm_dir(selection_path: Path) -> tuple[Path, dict[str, Any]]:
    """The winning candidate's merged model directory named by the selection, and the selection."""
    selection = _read_json(selection_path, "LLM selection (callbot select)")
    named = _named_model_dir(selection)
    if named is None:
        raise PackageError(
            f"{selection_path}: names no model directory (expected one of {', '.join(SELECTION_KEYS)}); "
            "re-run `callbot select`"
        )
    path = Path(named)
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
    meta = _read_json(export, "STT export summary") if export.is_file() else {}
    files = [p for p in (stt_dir / "model", export, stt_dir / "whisper.pt", stt_dir / "ct2") if p.exists()]
    return files, meta


def _served_backend(
    sources: list[Path], meta: dict[str, Any], report: dict[str, Any]
) -> tuple[list[Path], dict[str, Any]]:
    """Serve evaluate-stt's backend choice (the fastest whose held-out CER is within the tolerance of
    the best): the stored export.json says so, the training tree's copy is left as it was."""
    import tempfile

    choice = (report.get("backends") or {}).get("choice")
    if not choice or not meta or choice == meta.get("serve_backend"):
        return sources, meta
    meta = {**meta, "serve_backend": choice, "chosen_by": "evaluate-stt backends: held-out CER, then speed"}
    chosen = Path(tempfile.mkdtemp(prefix="callbot-export-")) / "export.json"
    chosen.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return [chosen if p.name == "export.json" else p for p in sources], meta


def _candidate_name(selection: dict[str, Any], llm_dir: Path) -> str:
    """The winner's name: a string, or the ``name`` of the winner's record; else its directory."""
    for key in ("winner", "champion", "candidate", "name"):
        value = selection.get(key)
        if isinstance(value, dict):
            value = value.get("name")
        if isinstance(value, str) and value:
            return value
    return llm_dir.parent.name if llm_dir.name == "merged" else llm_dir.name


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


def import_models(params: PackageParams, tts: TTSParams, root: Path) -> dict[str, str]:
    """Store the STT, the selected LLM and the voice bundle, labelled; returns name -> tag."""

    from callbot.tts.bundle import BundleError, write_bundle

    stt_dir = root / params.stt_model
    llm_dir, selection = selected_llm_dir(root / params.selected)
    stt_sources, stt_meta = _stt_files(stt_dir)
    common = {
        "dataset_version": _label_value(dataset_version(root / params.dataset_version)),
        "git_revision": git_revision(root),
        "project": "callbot",
    }
    stt_report = _read_json(root / params.stt_metrics, "STT evaluation (callbot evaluate-stt)")
    stt_metrics = _numbers(stt_report)
    stt_sources, stt_meta = _served_backend(stt_sources, stt_meta, stt_report)
    llm_metrics = _numbers(selection)
    candidate = _candidate_name(selection, llm_dir)
    calibration = Path(tempfile.mkdtemp(prefix=".calibration.")) / CALIBRATION_FILE
    threshold = selection.get("handover_threshold")
    if not isinstance(threshold, int | float):
        raise PackageError(
            f"{root / params.selected}: no handover_threshold; run `callbot evaluate-bot` and `callbot select`"
        )
    calibration.write_text(json.dumps({"threshold": float(threshold)}), "utf-8")
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
            [llm_dir, calibration],
            {**common, "role": "llm", "candidate": _label_value(candidate),
             "licence": _label_value(str(selection.get("licence") or "unknown")),
             **{k: f"{v:.4g}" for k, v in list(llm_metrics.items())[:8]}},
            {"source": str(llm_dir), "selection": json.loads(json.dumps(selection, default=str))},
            flat=True,
        ),
    }  # fmt: skip
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
    return tags


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


def write_record(record: BentoRecord, out: Path) -> None:
    """Write ``models/bento.json`` atomically: a half-written record must never name a Bento."""
    write_json(out, asdict(record))


def run_package(
    params: PackageParams, tts: TTSParams, serve: ServeParams, root: Path | None = None
) -> BentoRecord:
    """Import the models, build the Bento, record its tag; prints how to serve it and the page URL."""
    root = Path(root or Path.cwd()).resolve()
    if not (root / BENTOFILE).is_file() or not (root / "callbot" / "serve" / "service.py").is_file():
        raise PackageError(
            f"{root}: not the callbot repository ({BENTOFILE} or callbot/serve/service.py missing)"
        )
    tags = import_models(params, tts, root)
    labels = {
        "dataset_version": _label_value(dataset_version(root / params.dataset_version)),
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
    write_record(record, root / params.out)
    summary(
        "package",
        f"built {tag} ({', '.join(tags.values())}); serve: {record.serve_command}; page: {record.page_url}",
    )
    return record
