"""What every command module shares: the params of this invocation and the one way to fail.

``callbot.cli`` (the stage commands) and the command groups it mounts (``callbot.review.cli``) both
import this module, never each other, so the command modules form no import circle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

# set by the `callbot` callback (--params, --profile) before any command runs
state: dict[str, Path | str | None] = {"params_path": None, "profile": None}


def load() -> Any:
    """The validated params for this invocation; a bad file ends the command with its message."""
    from callbot.config import ParamsError, load_params

    try:
        return load_params(state["params_path"], state["profile"])
    except ParamsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> None:
    """End the command with ``message`` on stderr and exit status ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
