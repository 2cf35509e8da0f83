"""Atomic writes: build the new file or folder beside the target, then rename it into place.

A reader, or a run killed at any moment, finds the target's previous content or its new content,
never half of either. Every stage writes its outputs through this module.

Files: the bytes go to a temp path in the target's own folder (a rename within one folder never
crosses a filesystem, so ``os.replace`` is atomic), and ``os.replace`` puts it over the target. If
the writer raises, the temp is removed and the target is left as it was. The temp of ``dir/name``
is ``dir/.name.tmp`` (``suffix`` changes the ``.tmp``): a fixed name, so the copy a killed process
leaves is overwritten and renamed away by the next write instead of piling up beside the outputs.
Two processes must therefore not write the same target at once (no stage does). New files get the
usual permissions (0666 less the umask). Nothing is fsynced unless ``durable=True`` is asked for
(ingest's manifest and records): the default guards against crashed and killed processes, not
against power loss.

Folders: :func:`replace_dir` swaps a fully written folder into place with two renames, the old copy
moved aside first and deleted only once the new one is in place.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["TMP_SUFFIX", "replace_dir", "temp_path", "write_bytes", "write_json", "write_text", "writing"]

TMP_SUFFIX = ".tmp"

StrPath = str | os.PathLike[str]


def temp_path(path: StrPath, suffix: str = TMP_SUFFIX) -> Path:
    """Where the new content of ``path`` is written before the rename: ``<folder>/.<name><suffix>``."""
    path = Path(path)
    return path.with_name(f".{path.name}{suffix}")


def _fsync_path(path: StrPath) -> None:
    """Flush ``path`` (a file or a folder) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def writing(path: StrPath, *, suffix: str = TMP_SUFFIX, durable: bool = False) -> Iterator[Path]:
    """Yield the temp path for ``path``; on a clean exit it replaces ``path``, on an error it is removed.

    For writers that want a path of their own (csv, parquet, ``torch.save``, ``savefig``). The temp
    name does not end in the target's extension: tell a writer that picks its format from the name
    which format to write (``savefig(tmp, format="png")``). Parent folders are created. ``durable``
    fsyncs the file before the rename and its folder after it, so the new content survives a power cut.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target, suffix)
    try:
        yield tmp
        if durable:
            _fsync_path(tmp)
        os.replace(tmp, target)
        if durable:
            _fsync_path(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: StrPath, data: bytes, *, suffix: str = TMP_SUFFIX) -> None:
    """Replace ``path`` with ``data``."""
    with writing(path, suffix=suffix) as tmp:
        tmp.write_bytes(data)


def write_text(path: StrPath, text: str, *, suffix: str = TMP_SUFFIX, durable: bool = False) -> None:
    """Replace ``path`` with ``text`` as UTF-8 (written in text mode, as ``Path.write_text`` does)."""
    with writing(path, suffix=suffix, durable=durable) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(
    path: StrPath, data: Any, *, indent: int | None = 2, end: str = "\n", suffix: str = TMP_SUFFIX
) -> None:
    """Replace ``path`` with ``data`` as UTF-8 JSON, non-ASCII kept as is (Hangul stays readable).

    ``end`` follows the document (a newline unless told otherwise).
    """
    write_text(path, json.dumps(data, ensure_ascii=False, indent=indent) + end, suffix=suffix)


def replace_dir(tmp_dir: StrPath, final_dir: StrPath, *, old: StrPath | None = None) -> None:
    """Put the finished folder ``tmp_dir`` at ``final_dir``, replacing what is there.

    ``tmp_dir`` must sit on the same filesystem as ``final_dir`` (build it beside it). An existing
    ``final_dir`` is renamed to ``old`` (default ``<folder>/.<name>.old``; a leftover there from a
    killed run is deleted first), ``tmp_dir`` is renamed to ``final_dir``, and only then is ``old``
    deleted. A run killed at any point leaves the previous copy complete (at ``final_dir``, or at
    ``old`` between the two renames) or the new one complete at ``final_dir``; never a mix. A failure
    to delete ``old`` after the swap is ignored: the new copy is in place, and the next swap retries.

    A leftover ``old`` with no ``final_dir`` is the only good copy (a kill between the renames): it is
    first moved back to ``final_dir``, so a call that then fails (``tmp_dir`` missing, disk full)
    leaves it in place. A leftover beside a ``final_dir`` is stale and deleted.
    """
    tmp_dir, final_dir = Path(tmp_dir), Path(final_dir)
    aside = Path(old) if old is not None else final_dir.with_name(f".{final_dir.name}.old")
    if aside.exists() and not final_dir.exists():
        os.replace(aside, final_dir)  # restore the copy a kill between the renames left aside
    if aside.exists():
        shutil.rmtree(aside)
    if final_dir.exists():
        os.replace(final_dir, aside)
    try:
        os.replace(tmp_dir, final_dir)
    except OSError:
        if aside.exists() and not final_dir.exists():
            os.replace(aside, final_dir)  # the new copy did not arrive: the old one goes back
        raise
    shutil.rmtree(aside, ignore_errors=True)
