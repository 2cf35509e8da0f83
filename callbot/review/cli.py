"""`callbot review ...`: the human loop's commands (wiring only; the stage functions live beside)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="review",
    help="Human review in Label Studio: export what the models doubt, report on 검수, import accepted fixes.",
    no_args_is_help=True,
)


def _params():
    from callbot.cli_common import load

    return load().review


def _client(params):
    from callbot.cli_common import fail
    from callbot.review.client import LabelStudio
    from callbot.review.server import ServerError

    try:
        return LabelStudio.connect(params.server.url)
    except ServerError as exc:
        fail(str(exc), 2)


@app.command("server")
def server(
    install_only: Annotated[bool, typer.Option(help="install into review.server.venv and exit")] = False,
) -> None:
    """Install Label Studio into its own venv (once) and run it on loopback until Ctrl-C."""
    from callbot.cli_common import fail
    from callbot.review.export import files_root
    from callbot.review.server import ServerError, ensure_venv, start

    params = _params().server
    try:
        installed = ensure_venv(Path(params.venv), params.version)
        typer.echo(
            f"label-studio=={params.version} {'installed into' if installed else 'already in'} {params.venv}"
        )
        if install_only:
            return
        running = start(
            params.url, Path(params.venv), Path(params.data_dir), files_root(Path()), params.start_timeout_s
        )
    except ServerError as exc:
        fail(str(exc), 2)
    if running.process is None:
        typer.echo(f"Label Studio already answers at {params.url}")
        return
    typer.echo(f"Label Studio at {params.url} (log {running.log}); Ctrl-C stops it")
    try:
        running.process.wait()
    except KeyboardInterrupt:
        running.stop()


@app.command("token")
def token() -> None:
    """Print a personal access token for LABEL_STUDIO_USERNAME (for LABEL_STUDIO_API_KEY or the SDK)."""
    from callbot.cli_common import fail
    from callbot.review.server import ServerError

    client = _client(_params())
    try:
        typer.echo(client.create_token())
    except ServerError as exc:
        fail(str(exc), 2)


def _stage(module: str, function: str) -> None:
    """Run one review stage against the server in params; a refusal or bad input exits 2 with its message."""
    import importlib

    from callbot.cli_common import fail
    from callbot.review.server import ServerError

    params = _params()
    try:
        getattr(importlib.import_module(module), function)(params, _client(params))
    except (ServerError, ValueError) as exc:
        fail(str(exc), 2)


@app.command("export")
def export() -> None:
    """Rank what needs human eyes and load it into the Label Studio project, pre-annotated."""
    _stage("callbot.review.export", "run_export")


@app.command("import")
def import_() -> None:
    """Reviewer-accepted annotations -> data/corrections/corrections.jsonl (bad input reported, skipped)."""
    _stage("callbot.review.imports", "run_import")


@app.command("report")
def report() -> None:
    """Per-labeller throughput, time per task, 반려율 and agreement -> reports/review/."""
    _stage("callbot.review.report", "run_report")
