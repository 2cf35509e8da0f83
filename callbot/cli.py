"""`callbot <stage>`: the command-line entrance to every lifecycle stage.

The stage commands are generated from the stage registry (callbot.stages): each loads the params,
runs the stage, prints its one-line result and exits non-zero when it failed. Heavy libraries are imported inside the commands so that
``callbot --help`` starts in well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from callbot.cli_common import fail, load, state

app = typer.Typer(
    name="callbot",
    help="AI-Hub Korean speech and text -> fine-tuned STT and LLM -> a BentoML voice bot.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    state["params_path"] = params
    state["profile"] = profile


# ---- the lifecycle stages: one command per entry of callbot.stages ---------------------------
def _stage_command(name: str) -> Any:
    """A Typer command for stage ``name``: its options from the registry, its body `invoke`."""
    import inspect

    from callbot.stages import STAGES

    spec = STAGES[name]

    def command(**given: Any) -> None:
        from callbot.stages import StageError, invoke

        params = load()
        try:
            result = invoke(name, params, given)
        except StageError as exc:
            fail(str(exc), exc.code)
        typer.echo(f"{name}: {result.summary}")  # the last line: the Prefect task logs it
        if result.failed:
            raise typer.Exit(1)

    parameters = []
    for opt in spec.options:
        info = typer.Argument(help=opt.help) if opt.argument else typer.Option(*opt.flags, help=opt.help)
        kind = opt.type if opt.default is not None else opt.type | None
        parameters.append(
            inspect.Parameter(
                opt.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=opt.default,
                annotation=Annotated[kind, info],
            )
        )
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = spec.help
    command.__name__ = name
    return command


def _add_stage_commands() -> None:
    from callbot.stages import STAGES

    for name, spec in STAGES.items():
        app.command(spec.command)(_stage_command(name))


_add_stage_commands()


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


@app.command()
def graph(
    write: Annotated[
        bool, typer.Option("--write", help="rewrite the derived lists from the imports")
    ] = False,
    check: Annotated[bool, typer.Option("--check", help="exit 1 when a derived list is stale")] = False,
) -> None:
    """The lists derived from the registry and the imports: one dvc.yaml stanza per registry stage, each
    stanza's code deps and the Bento's include list. --write adds a skeleton stanza for a new stage and
    rewrites the lists (comments and every other line kept); --check fails when any is stale."""
    from callbot.orchestrate import codedeps

    if write == check:
        fail("give exactly one of --write or --check", 2)
    try:
        if write:
            changed = codedeps.write_all(codedeps.REPO)
            typer.echo(f"graph: rewrote {', '.join(changed)}" if changed else "graph: already current")
            return
        problems = codedeps.stale(codedeps.REPO)
    except codedeps.CodeDepsError as exc:
        fail(str(exc), 2)
    if problems:
        fail(f"{problems}\nrun `callbot graph --write`", 1)
    typer.echo(
        "graph: dvc.yaml's stanzas match the registry, its code deps and bento/bentofile.yaml the imports"
    )


# ---- review (issue 18) -------------------------------------------------------------------------
def _review_app() -> typer.Typer:
    from callbot.review.cli import app as review

    return review


app.add_typer(_review_app(), name="review")


# ---- phone line (issue 24): `callbot phone serve --ws/--sip`; callbot.phone.cli imports only typer
def _phone_app() -> typer.Typer:
    from callbot.phone.cli import app as phone

    return phone


app.add_typer(_phone_app(), name="phone")


if __name__ == "__main__":  # pragma: no cover
    app()
