"""Our own zip reader: the central directory (ZIP64 included) and streaming member extraction.

:mod:`zipfile` decodes every name of an archive with one codec and fails the whole archive on one bad
name; AI-Hub zips mix CP949, UTF-8 and NFD names, and one hostile name must only cost that member. So
the central directory is parsed here, member by member, and each member is streamed from the
(possibly split) archive straight into a temp file while its CRC-32 and sha256 are computed in the
same pass. The file is renamed into place only when the CRC and the size match the directory.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from callbot.aihub.names import MemberRefused

try:  # ISA-L's CRC-32 uses carry-less multiply: ~5x zlib's here, and CRC runs over every byte
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - a platform without the isal wheel
    from zlib import crc32

CHUNK = 1 << 20
EOCD_SIG = b"PK\x05\x06"
EOCD64_LOC_SIG = b"PK\x06\x07"
EOCD64_SIG = b"PK\x06\x06"
CDIR_SIG = b"PK\x01\x02"
LOCAL_SIG = b"PK\x03\x04"
STORED, DEFLATED = 0, 8
TMP_SUFFIX = ".ingest-tmp"

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOC = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CDIR = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")


class ArchiveRefused(Exception):
    """The whole archive cannot be read (not a zip, truncated, corrupt directory, empty)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Member:
    """One central-directory entry, with the raw name bytes kept for decoding later."""

    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int
    external_attr: int
    create_system: int
    damaged: str = ""  # why the entry cannot be trusted (a ZIP64 field shorter than it claims); "" if fine

    @property
    def is_dir(self) -> bool:
        return self.raw_name.endswith((b"/", b"\\"))

    @property
    def unix_mode(self) -> int:
        return (self.external_attr >> 16) & 0xFFFF if self.create_system == 3 else 0


@dataclass(frozen=True)
class Directory:
    members: list[Member]
    end: int  # where the end records finish: the archive's true length
    cd_start: int = 0  # where the central directory begins: every member's bytes lie before it


def read_directory(f: BinaryIO, total: int, label: str) -> Directory:
    """Parse the end records and the central directory of the zip held in ``f`` (``total`` bytes)."""
    if total == 0:
        raise ArchiveRefused(
            "empty_archive", f"{label}: the file is 0 bytes; the download failed, fetch it again"
        )
    tail_len = min(total, _EOCD.size + 0xFFFF)
    f.seek(total - tail_len)
    tail = f.read(tail_len)
    at = len(tail)
    while True:  # the last signature whose record and comment fit in the file (data may hold "PK\5\6")
        at = tail.rfind(EOCD_SIG, 0, at)
        if at < 0 or (
            at + _EOCD.size <= len(tail) and at + _EOCD.size + _EOCD.unpack_from(tail, at)[-1] <= len(tail)
        ):
            break
    if at < 0:
        f.seek(0)
        head = f.read(4)
        if head == LOCAL_SIG:
            raise ArchiveRefused(
                "truncated",
                f"{label}: starts like a zip but its end-of-central-directory record is missing "
                f"({total:,} bytes): the last part is truncated or missing; re-download it",
            )
        raise ArchiveRefused(
            "not_zip", f"{label}: not a zip archive (starts with {head!r}); check what was downloaded"
        )
    eocd_pos = total - tail_len + at
    _, _, _, _, count, cd_size, cd_offset, comment_len = _EOCD.unpack_from(tail, at)
    end = eocd_pos + _EOCD.size + comment_len
    cd_end = eocd_pos
    if at >= _EOCD64_LOC.size and tail[at - _EOCD64_LOC.size : at - _EOCD64_LOC.size + 4] == EOCD64_LOC_SIG:
        _, _, eocd64_offset, _ = _EOCD64_LOC.unpack_from(tail, at - _EOCD64_LOC.size)
        f.seek(eocd64_offset)
        rec = f.read(_EOCD64.size)
        if len(rec) != _EOCD64.size or rec[:4] != EOCD64_SIG:
            raise ArchiveRefused(
                "bad_zip", f"{label}: the ZIP64 end record is damaged; re-download the archive"
            )
        fields = _EOCD64.unpack(rec)
        count, cd_size, cd_offset = fields[7], fields[8], fields[9]
        cd_end = eocd64_offset
    if count == 0:
        raise ArchiveRefused("empty_archive", f"{label}: the archive holds no files; check the download")
    shift = cd_end - (cd_offset + cd_size)  # bytes prepended to the zip (self-extractor or junk)
    if shift < 0:
        raise ArchiveRefused(
            "bad_zip",
            f"{label}: the central directory claims {-shift:,} more bytes than the archive holds; "
            "bytes are missing, re-download it",
        )
    # streamed through a bounded buffer: a forged size cannot make one read as large as the archive
    f.seek(cd_offset + shift)
    reader = io.BufferedReader(f, CHUNK)  # type: ignore[arg-type]
    try:
        members = _read_entries(reader, count, cd_size, shift, label)
    finally:
        reader.detach()  # the buffer must not close the archive when it is collected
    return Directory(members, end, cd_offset + shift)


def _read_entries(
    reader: io.BufferedReader, count: int, cd_size: int, shift: int, label: str
) -> list[Member]:
    members: list[Member] = []
    left = cd_size
    for _ in range(count):
        head = reader.read(_CDIR.size) if left >= _CDIR.size else b""
        if len(head) < 4 or head[:4] != CDIR_SIG:
            if len(head) < _CDIR.size and left >= _CDIR.size:
                raise ArchiveRefused(
                    "truncated", f"{label}: the central directory is cut short; re-download the archive"
                )
            raise ArchiveRefused("bad_zip", f"{label}: central directory entry {len(members) + 1} is damaged")
        (_, made, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, xattr, offset) = (
            _CDIR.unpack(head)
        )
        tail = reader.read(nlen + xlen + clen)
        left -= _CDIR.size + nlen + xlen + clen
        if len(tail) < nlen + xlen + clen:
            raise ArchiveRefused(
                "truncated", f"{label}: the central directory is cut short; re-download the archive"
            )
        if left < 0:
            raise ArchiveRefused(
                "bad_zip",
                f"{label}: central directory entry {len(members) + 1} runs past the directory's end",
            )
        raw_name = tail[:nlen]
        extra = tail[nlen : nlen + xlen]
        damaged = ""
        if 0xFFFFFFFF in (usize, csize, offset):
            try:
                usize, csize, offset = _zip64_sizes(extra, usize, csize, offset, label, raw_name)
            except struct.error:
                damaged = "its ZIP64 extra field claims more bytes than it holds"
            except ArchiveRefused:
                damaged = "its sizes need a ZIP64 extra field that is missing"
        members.append(
            Member(raw_name, flags, method, crc, csize, usize, offset + shift, xattr, made >> 8, damaged)
        )
    return members


def _zip64_sizes(
    extra: bytes, usize: int, csize: int, offset: int, label: str, raw_name: bytes
) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, i)
        if tag == 1:
            values = list(struct.unpack_from(f"<{length // 8}Q", extra, i + 4))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            return usize, csize, offset
        i += 4 + length
    raise ArchiveRefused("bad_zip", f"{label}: member {raw_name!r} needs a ZIP64 field that is missing")


def check_member(m: Member, name: str, max_ratio: float, max_bytes: int) -> None:
    """Refuse symlinks, special files, encrypted or unknown methods, and bombs, before writing."""
    kind = stat.S_IFMT(m.unix_mode)
    if kind == stat.S_IFLNK:
        raise MemberRefused("symlink", f"member {name!r} is a symbolic link; links are never extracted")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise MemberRefused("special_file", f"member {name!r} is a device, socket or pipe; refusing it")
    if m.flags & 0x1:
        raise MemberRefused("encrypted", f"member {name!r} is encrypted; ingest cannot read it")
    if m.method not in (STORED, DEFLATED):
        raise MemberRefused(
            "unsupported_method",
            f"member {name!r} uses compression method {m.method}; only STORED and DEFLATE",
        )
    if m.size > max_bytes:
        raise MemberRefused(
            "too_large",
            f"member {name!r} declares {m.size:,} bytes, over ingest.max_member_bytes={max_bytes:,}; "
            "raise the limit in params.yaml if the file is genuine",
        )
    if m.size and m.size > max_ratio * max(m.compressed_size, 1):
        raise MemberRefused(
            "bomb",
            f"member {name!r} expands {m.compressed_size:,} -> {m.size:,} bytes "
            f"(ratio {m.size / max(m.compressed_size, 1):.0f}:1 > ingest.max_ratio={max_ratio:g}); refusing it",
        )


LOCAL_HEADER_SIZE = _LOCAL.size


def data_offset(f: BinaryIO, m: Member, name: str) -> int:
    """Where the member's compressed bytes start (after its local header)."""
    f.seek(m.header_offset)
    head = f.read(_LOCAL.size)
    if len(head) != _LOCAL.size or head[:4] != LOCAL_SIG:
        raise MemberRefused(
            "bad_zip", f"member {name!r}: local header at byte {m.header_offset:,} is damaged"
        )
    fields = _LOCAL.unpack(head)
    return m.header_offset + _LOCAL.size + fields[9] + fields[10]


_BUFFERS: dict[int, memoryview] = {}


def _buffer() -> memoryview:
    """One chunk buffer per thread, reused across members: a fresh 1 MiB buffer per member cost page
    faults and zeroing that showed up as a third of ingest's system time."""
    key = threading.get_ident()
    if key not in _BUFFERS:
        _BUFFERS[key] = memoryview(bytearray(CHUNK))
    return _BUFFERS[key]


def _write_all(fd: int, piece: bytes | memoryview) -> None:
    view = memoryview(piece)
    while view:
        view = view[os.write(fd, view) :]


class _MemberSink:
    """Writes one member's bytes to ``fd`` while counting them and hashing them (sha256, CRC-32)."""

    def __init__(self, fd: int, m: Member, name: str) -> None:
        self.fd, self.m, self.name = fd, m, name
        self.sha = hashlib.sha256()
        self.crc = 0
        self.written = 0

    def emit(self, piece: bytes | memoryview) -> None:
        """Write ``piece``; refuse as soon as the output passes the declared size (a bomb)."""
        self.written += len(piece)
        if self.written > self.m.size:
            raise MemberRefused(
                "size_mismatch",
                f"member {self.name!r} expands past its declared {self.m.size:,} bytes (a bomb or a damaged "
                "archive); refusing it",
            )
        self.crc = crc32(piece, self.crc)
        self.sha.update(piece)
        _write_all(self.fd, piece)

    def check_complete(self) -> None:
        """The output is exactly the size and CRC-32 the directory records."""
        m, name = self.m, self.name
        if self.written != m.size:
            raise MemberRefused(
                "size_mismatch",
                f"member {name!r}: {self.written:,} bytes extracted, the directory says {m.size:,}",
            )
        if self.crc != m.crc:
            raise MemberRefused(
                "crc_mismatch",
                f"member {name!r}: CRC-32 {self.crc:08x} != {m.crc:08x} recorded in the archive; the download "
                "is damaged, re-download the archive",
            )


def _stream_member(
    f: BinaryIO, m: Member, name: str, sink: _MemberSink, on_bytes: Callable[[int], None] | None
) -> None:
    """Read the member's compressed bytes CHUNK by CHUNK (from f's position) and emit them, inflated
    if deflated: one read that expands a thousandfold is emitted CHUNK by CHUNK, never whole."""
    remaining = m.compressed_size
    view = _buffer()
    inflater = zlib.decompressobj(-15) if m.method == DEFLATED else None
    while remaining:
        got = f.readinto(view[: min(CHUNK, remaining)])  # type: ignore[attr-defined]
        if not got:
            raise MemberRefused("truncated", f"member {name!r}: archive ends {remaining:,} bytes early")
        remaining -= got
        if on_bytes:
            on_bytes(got)
        if inflater is None:
            sink.emit(view[:got])
            continue
        data: bytes = inflater.decompress(view[:got], CHUNK)
        while True:
            sink.emit(data)  # raises as soon as the output passes the declared size
            if not inflater.unconsumed_tail:
                break
            data = inflater.decompress(inflater.unconsumed_tail, CHUNK)
    if inflater is not None and (tail := inflater.flush()):  # all input is in: at most a few bytes
        sink.emit(tail)


def extract_member(
    f: BinaryIO,
    m: Member,
    name: str,
    dest: Path,
    tmp: Path,
    on_bytes: Callable[[int], None] | None = None,
) -> tuple[str, int]:
    """Stream one member into ``dest`` through the temp file ``tmp``; returns (sha256 hex, crc32).

    CRC-32, sha256 and the output length are computed while writing, so a damaged byte or a lying
    size header is caught without reading the data twice. Inflated data is written CHUNK by CHUNK as
    it comes out: one compressed read that expands a thousandfold never sits in memory whole. On any
    failure the temp file is removed and the existing ``dest`` (if any) is left untouched.
    """
    start = data_offset(f, m, name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sink = _MemberSink(fd, m, name)
    try:
        f.seek(start)
        _stream_member(f, m, name, sink, on_bytes)
        sink.check_complete()
    except zlib.error as exc:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise MemberRefused(
            "corrupt_data",
            f"member {name!r}: the compressed data is damaged ({exc}); re-download the archive",
        ) from None
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, dest)
    return sink.sha.hexdigest(), sink.crc
