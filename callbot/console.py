"""Terminal output shared by every stage: progress bars and the one-line summary.

Every long stage shows progress and ends with exactly one summary line, ``<stage>: <what it did>``,
so a scheduled run's log reads as one line per stage.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.progress import Progress

log = logging.getLogger("callbot")


def progress_enabled() -> bool:
    """Progress bars only on an interactive terminal, and never when CALLBOT_PROGRESS=0."""
    flag = os.environ.get("CALLBOT_PROGRESS")
    if flag is not None:
        return flag not in ("0", "false", "no")
    return sys.stderr.isatty()


@contextmanager
def progress(*, transfer: bool = False) -> Iterator[Progress]:
    """A rich progress bar on stderr; ``transfer=True`` shows bytes and bytes/s."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn()]
    if transfer:
        from rich.progress import DownloadColumn

        columns += [DownloadColumn(), TransferSpeedColumn()]
    else:
        columns += [MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), disable=not progress_enabled()) as bar:
        yield bar


_collected: list[list[str]] = []  # the summary messages of the stage runs in progress (callbot.stages)


@contextmanager
def collect_summaries() -> Iterator[list[str]]:
    """Gather the summary messages of what runs inside instead of printing them: the stage registry
    prints one result line per stage (callbot.stages), so a line is never shown twice."""
    lines: list[str] = []
    _collected.append(lines)
    try:
        yield lines
    finally:
        _collected.remove(lines)


def summary(stage: str, message: str) -> str:
    """Print and log the stage's one summary line; returns it (tests and flows read it)."""
    line = f"{stage}: {message}"
    if _collected:
        _collected[-1].append(message)
    else:
        print(line, file=sys.stderr, flush=True)
    log.info(line)
    return line
