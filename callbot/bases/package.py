"""What every packaged base shares: the build error, the built record, package file lookup, temp folders.

Kept apart from the builders so that a light user (the intent encoder's hash check) imports none of
the STT or LLM code.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from importlib import import_module
from importlib.resources import files
from pathlib import Path

__all__ = ["BaseBuildError", "BuiltBase", "package_file", "temp_beside"]


class BaseBuildError(RuntimeError):
    """A package is missing, its bytes do not hash to the pinned value, or its content is not as expected."""


def package_file(pip_name: str, module: str, relative: str) -> Path:
    """The path of ``relative`` inside the installed package ``module``, or a clear error."""
    try:
        root = Path(str(files(import_module(module).__name__)))
    except ModuleNotFoundError:
        raise BaseBuildError(
            f"package {pip_name} is not installed (module {module}); run `pip install -e .` "
            f"(it is pinned in pyproject.toml) or `pip install {pip_name}`"
        ) from None
    path = root / relative
    if not path.is_file():
        raise BaseBuildError(f"{path}: missing from the installed {pip_name}; reinstall it")
    return path


@dataclass(frozen=True)
class BuiltBase:
    name: str
    path: str
    licence: str
    sha256: str
    parameters: int
    seconds: float


def temp_beside(dest: Path) -> Path:
    """A fresh temp folder beside ``dest`` (same filesystem), for a build renamed to ``dest`` at the end."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
