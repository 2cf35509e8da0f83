"""``package:<name>`` in params -> ``models/bases/<name>``, with what to do when it is not there.

Light on purpose (no torch import): the STT and LLM stages call it to resolve their base. It sits in
the bottom layer (below both ``bases``, which builds the models with the STT's helpers, and ``stt``,
which resolves them), so the two packages do not import each other.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_PREFIX = "package:"
BASES_ENV = "CALLBOT_BASES"  # tests point it at a session's own copy
DEFAULT_ROOT = Path("models/bases")
# Every base, declared once: name -> "module:builder" (imported only when the bases stage builds it).
# params (bases.names), the bases stage and resolve_package all read this mapping.
BUILDERS: dict[str, str] = {
    "whisper-base": "callbot.bases.whisper:build_whisper_base",
    "gemma-3-270m": "callbot.bases.gemma:build_gemma",
    "multilingual-e5-small": "callbot.bases.e5:build_e5",
}
KNOWN = tuple(BUILDERS)


class BaseMissingError(ValueError):
    """A ``package:`` base is unknown, or the bases stage has not materialised it yet."""


def bases_root() -> Path:
    """Where materialised bases live: ``$CALLBOT_BASES`` or ``models/bases`` (relative to the repo)."""
    return Path(os.environ.get(BASES_ENV) or DEFAULT_ROOT)


def is_package(source: str) -> bool:
    return source.startswith(PACKAGE_PREFIX)


def resolve_package(source: str, field: str) -> Path:
    """The local directory of ``package:<name>``; ``field`` names the params key in the error."""
    name = source[len(PACKAGE_PREFIX) :]
    if name not in KNOWN:
        raise BaseMissingError(
            f"{field}: unknown package base {source!r}; known: {', '.join(PACKAGE_PREFIX + k for k in KNOWN)}"
        )
    path = bases_root() / name
    if not (path / "config.json").is_file():
        raise BaseMissingError(
            f"{field} is {source!r} but {path} holds no materialised model; run `callbot bases` "
            f"(or `dvc repro bases`) first, with '{name}' listed in params.yaml bases.names"
        )
    return path
