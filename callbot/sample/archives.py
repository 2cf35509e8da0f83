"""Zip archives as AI-Hub ships them: STORED, fixed timestamps, and split into byte-offset parts.

Why a fixed layout: the sample tree must be byte-identical for the same arguments (DVC hashes it,
tests compare it), so every member gets the same timestamp and attributes wherever it is built.
Why byte-offset parts: ``aihubshell`` leaves ``X.zip.part0``, ``X.zip.part1073741824``, ... and a
plain string sort of those names merges them in the wrong order; ingest must order by the integer.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from callbot.atomic import replace_dir

ZIP_DATE = (2023, 7, 31, 0, 0, 0)  # the dataset's first public release (page: 1.0, 2023-07-31)
_UNIX, _WINDOWS = 3, 0
_COPY_BLOCK = 8 << 20
T = TypeVar("T")


class _CP949Info(zipfile.ZipInfo):
    """A member whose name is stored in CP949 with no UTF-8 flag, as Windows zip tools write it.

    Readers that assume UTF-8 (or CP437, Python's default) show mojibake unless they pass
    ``metadata_encoding="cp949"``: the quirk ingest has to survive.
    """

    __slots__ = ()

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # overrides zipfile's private encoder
        return self.filename.encode("cp949"), self.flag_bits & ~0x800


def _info(name: str, *, cp949: bool = False) -> zipfile.ZipInfo:
    info = _CP949Info(name, ZIP_DATE) if cp949 else zipfile.ZipInfo(name, ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = _WINDOWS if cp949 else _UNIX
    info.external_attr = 0o644 << 16
    return info


class ArchiveWriter:
    """Writes one STORED zip in the order members are added; :meth:`close` splits it into parts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.members = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True)

    def add(self, name: str, data: bytes) -> None:
        self._zip.writestr(_info(name), data)
        self.members += 1

    def add_cp949(self, name: str, data: bytes) -> None:
        """A member whose (Korean) name is CP949 bytes without the UTF-8 flag."""
        self._zip.writestr(_info(name, cp949=True), data)
        self.members += 1

    def add_nfd(self, name: str, data: bytes) -> None:
        """A member whose (Korean) name is decomposed (NFD), as zips made on macOS carry them."""
        self._zip.writestr(_info(unicodedata.normalize("NFD", name)), data)
        self.members += 1

    def close(self, part_size: int) -> list[Path]:
        """Finish the zip; if it is larger than ``part_size``, leave only its parts."""
        self._zip.close()
        return split_archive(self.path, part_size)


def part_offset(path: Path) -> int | None:
    """The byte offset in ``X.zip.part<offset>``; None for a file that is not a part."""
    stem, _, suffix = path.name.rpartition(".part")
    if not stem or not suffix.isdigit():
        return None
    return int(suffix)


def split_archive(path: Path, part_size: int) -> list[Path]:
    """Split ``path`` into ``path.part<offset>`` files of ``part_size`` bytes and delete it.

    Parts are written beside the archive, so the split costs one extra copy of one archive at
    most; nothing is split when the archive fits in one part (AI-Hub leaves those whole).
    """
    if part_size <= 0:
        raise ValueError(f"part_size must be a positive number of bytes, got {part_size}")
    size = path.stat().st_size
    if size <= part_size:
        return [path]
    parts: list[Path] = []
    with path.open("rb") as src:
        for offset in range(0, size, part_size):
            part = path.with_name(f"{path.name}.part{offset}")
            remaining = min(part_size, size - offset)
            with part.open("wb") as dst:
                while remaining:
                    block = src.read(min(_COPY_BLOCK, remaining))
                    dst.write(block)
                    remaining -= len(block)
            parts.append(part)
    os.unlink(path)
    return parts


def join_parts(parts: list[Path], dest: Path) -> None:
    """Concatenate parts in integer-offset order, checking each starts where the last ended.

    The reference reassembly that tests (and the README) use; ingest streams instead of copying.
    """
    ordered = sorted(parts, key=lambda p: part_offset(p) if part_offset(p) is not None else -1)
    position = 0
    with dest.open("wb") as out:
        for part in ordered:
            offset = part_offset(part)
            if offset != position:
                raise ValueError(f"{part}: expected a part starting at byte {position}, got {offset}")
            data = part.read_bytes()
            out.write(data)
            position += len(data)


def group_by_split_domain(items: Iterable[T]) -> dict[tuple[str, str], list[T]]:
    """Dialogues or sessions by (split, domain), in their order: one archive pair per group."""
    groups: dict[tuple[str, str], list[T]] = {}
    for item in items:
        groups.setdefault((item.split, item.domain), []).append(item)  # type: ignore[attr-defined]
    return groups


def write_dataset_tree(
    out: Path,
    dataset_dir: str,
    groups: dict[tuple[str, str], list[T]],
    write_group: Callable[[Path, str, str, list[T]], None],
) -> Path:
    """Build ``<out>/<dataset_dir>`` beside itself (``write_group(tmp, split, domain, members)`` per
    group, sorted) and swap it in; returns it. Only that folder is replaced, so the other datasets'
    folders next to it are kept, and a failure leaves the previous folder whole."""
    final = out / dataset_dir
    tmp = out / f".{dataset_dir}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        for (split, domain), members in sorted(groups.items()):
            write_group(tmp, split, domain, members)
        replace_dir(tmp, final, old=out / f".{dataset_dir}.old-{os.getpid()}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
