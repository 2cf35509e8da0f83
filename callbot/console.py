"""Terminal output shared by every stage: progress bars and the one-line summary.

Every long stage shows progress and ends with exactly one summary line, ``<stage>: <what it did>``,
so a scheduled run's log reads as one line per stage.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from contextlib import AbstractContextManager, contextmanager
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


@contextmanager
def muted_warning(message: str, category: type[Warning]) -> Iterator[None]:
    """Inside the block, hide the one third-party warning whose text starts with ``message``.

    Only for a warning a library raises about its own internals (peft reading a property that
    transformers deprecated), which no call of ours can avoid; every other warning still shows.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=re.escape(message), category=category)
        yield


class _DropMessage(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


@contextmanager
def muted_log(logger: str, *prefixes: str) -> Iterator[None]:
    """Inside the block, drop the records of ``logger`` whose message starts with one of ``prefixes``:
    the logging counterpart of :func:`muted_warning`, under the same rule."""
    target, drop = logging.getLogger(logger), _DropMessage(prefixes)
    target.addFilter(drop)
    try:
        yield
    finally:
        target.removeFilter(drop)


def peft_wrapping() -> AbstractContextManager[None]:
    """Around ``get_peft_model`` / ``PeftModel.from_pretrained``: peft reads transformers' deprecated
    ``is_gradient_checkpointing`` whenever it wraps a model, a FutureWarning per wrap."""
    return muted_warning("`is_gradient_checkpointing` is deprecated", FutureWarning)
