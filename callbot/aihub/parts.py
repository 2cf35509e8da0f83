"""Finding archives in an AI-Hub download tree and reading split parts as one stream.

AI-Hub splits big archives into ``X.zip.part<byte offset>`` files. The suffix is the offset of the
part in the whole archive, so parts are ordered by that integer (a string sort breaks archives of
more than ten parts) and every missing, short or stray byte range can be named exactly. The parts
are then read through :class:`PartedFile`, a seekable view over all of them, so no merged copy is
ever written to disk.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

PART_RE = re.compile(r"^(?P<stem>.+\.zip)\.part(?P<offset>\d+)$", re.IGNORECASE)
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
ERROR_BODY_MAX = 1 << 20  # aihubshell's download.tar under 1 MB is an HTTP error body, not data


@dataclass(frozen=True)
class Part:
    """One file on disk holding the bytes ``offset .. offset + size`` of an archive."""

    path: Path
    offset: int
    size: int
    mtime_ns: int
    sample: str = ""  # sha256 of the first and last MiB: a re-download with the same size and mtime differs


@dataclass
class Archive:
    """A logical archive: one file, or the ordered parts of a split zip."""

    rel: str  # archive path relative to SRC, NFC, without any .part suffix (e.g. a/TS_x.zip)
    kind: str  # zip | tar
    parts: list[Part]
    stem: str = ""  # the folder its members go into

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    def fingerprint(self) -> list[list[object]]:
        """Names, sizes, mtimes and head/tail hashes of the parts: a re-run skips the archive while this
        is unchanged. A part re-downloaded with the same size and server mtime still differs here."""
        return [[p.path.name, p.offset, p.size, p.mtime_ns, p.sample] for p in self.parts]


@dataclass
class DiscoveryReject:
    """An input refused before any byte was extracted (reason code + a message a person can act on)."""

    archive: str
    reason: str
    message: str


@dataclass
class Discovery:
    archives: list[Archive] = field(default_factory=list)
    rejects: list[DiscoveryReject] = field(default_factory=list)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def archive_stem(name: str) -> str:
    """``TS_x.zip`` -> ``TS_x``; ``x.tar.gz`` -> ``x``."""
    lower = name.lower()
    for suffix in (".tar.gz", ".tgz", ".zip", ".tar"):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".tar", ".tar.gz", ".tgz")):
        return "tar"
    return None


SAMPLE_BYTES = 1 << 20


def _sample(path: Path, size: int) -> str:
    """sha256 of the first and the last MiB (the whole file when it is under 2 MiB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(SAMPLE_BYTES))
        if size > SAMPLE_BYTES:
            handle.seek(max(SAMPLE_BYTES, size - SAMPLE_BYTES))
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def _part(path: Path, offset: int) -> Part:
    st = path.stat()
    return Part(
        path=path, offset=offset, size=st.st_size, mtime_ns=st.st_mtime_ns, sample=_sample(path, st.st_size)
    )


def check_contiguity(rel: str, parts: list[Part]) -> DiscoveryReject | None:
    """Each part must start exactly where the previous one ended; name the gap or overlap if not."""
    expected = 0
    typical = max((p.size for p in parts), default=0)
    for index, part in enumerate(parts):
        prev = parts[index - 1] if index else None
        if part.offset > expected:
            gap = f"bytes {expected:,}..{part.offset - 1:,} ({part.offset - expected:,} bytes)"
            if prev is not None and prev.size < typical and part.offset - expected < typical:
                return DiscoveryReject(
                    rel,
                    "truncated_part",
                    f"{rel}: part {prev.path.name} is short, {gap} are missing before {part.path.name}; "
                    f"re-download {prev.path.name}",
                )
            return DiscoveryReject(
                rel,
                "missing_part",
                f"{rel}: {gap} are missing before {part.path.name} (expected a part named "
                f"{Path(rel).name}.part{expected}); download the missing part(s) and run ingest again",
            )
        if part.offset < expected:
            assert prev is not None
            return DiscoveryReject(
                rel,
                "stray_part",
                f"{rel}: {part.path.name} starts at byte {part.offset:,} but {prev.path.name} ends at byte "
                f"{expected:,} ({expected - part.offset:,} bytes overlap); remove the stray part",
            )
        expected = part.offset + part.size
    return None


def discover(src: Path, skip: Path | None = None) -> Discovery:
    """Every archive under ``src``: split parts grouped and ordered by integer offset, then checked.

    Walks in sorted order so the result (and everything derived from it) is deterministic. ``skip``
    (the output folder, when it lies inside ``src``) is not walked: zips extracted there are data.
    """
    found = Discovery()
    if not src.is_dir():
        raise FileNotFoundError(
            f"{src}: not a directory; pass the AI-Hub download tree (callbot sample --out)"
        )
    groups: dict[Path, list[Part]] = {}
    singles: list[Path] = []
    skipped = os.path.realpath(skip) if skip is not None else None
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if os.path.realpath(os.path.join(dirpath, d)) != skipped)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_file() or path.is_symlink():
                continue
            match = PART_RE.match(name)
            if match:
                groups.setdefault(Path(dirpath) / match["stem"], []).append(_part(path, int(match["offset"])))
            elif _kind(name):
                singles.append(path)
    whole = set(singles)
    for path in singles:
        rel = nfc(path.relative_to(src).as_posix())
        kind = _kind(path.name) or "zip"
        found.archives.append(Archive(rel, kind, [_part(path, 0)], nfc(archive_stem(path.name))))
    for logical, parts in sorted(groups.items()):
        rel = nfc(logical.relative_to(src).as_posix())
        parts.sort(key=lambda p: p.offset)
        if logical in whole:
            found.rejects.append(
                DiscoveryReject(
                    rel,
                    "stray_part",
                    f"{rel}: both the merged archive and its .part files are present; the merged file is "
                    f"ingested, delete the {len(parts)} part file(s) (or the merged file if it is partial)",
                )
            )
            continue
        gap = check_contiguity(rel, parts)
        if gap:
            found.rejects.append(gap)
            continue
        found.archives.append(Archive(rel, "zip", parts, nfc(archive_stem(logical.name))))
    found.archives.sort(key=lambda a: a.rel)
    return found


class PartedFile(io.RawIOBase):
    """The ordered parts of a split archive as one read-only, seekable file (no merged copy)."""

    def __init__(self, parts: list[Part]) -> None:
        super().__init__()
        self._parts = parts
        self._starts = [p.offset for p in parts]
        self._size = sum(p.size for p in parts)
        self._fds: dict[int, int] = {}
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise OSError("seek before the start of the archive")
        self._pos = pos
        return pos

    def _fd(self, index: int) -> int:
        fd = self._fds.get(index)
        if fd is None:
            fd = os.open(self._parts[index].path, os.O_RDONLY)
            self._fds[index] = fd
        return fd

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position, crossing part boundaries as needed."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._pos < self._size:
            index = bisect.bisect_right(self._starts, self._pos) - 1
            part = self._parts[index]
            within = self._pos - part.offset
            want = min(len(view) - filled, part.size - within)
            got = os.preadv(self._fd(index), [view[filled : filled + want]], within)
            if got <= 0:
                raise OSError(f"{part.path}: shorter than when it was listed (changed during ingest?)")
            filled += got
            self._pos += got
        return filled

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        buf = bytearray(max(0, min(size, self._size - self._pos)))
        n = self.readinto(buf)
        return bytes(buf[:n])

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        super().close()
