"""Byte-level zip and split-part builders for the ingest tests.

:mod:`zipfile` refuses to write most hostile archives (``../`` names, duplicates, lying sizes,
unflagged CP949 names), so the tests lay out local headers, the central directory and the end
records themselves. :func:`raw_zip` output is checked against :mod:`zipfile` in the tests, so the
builder cannot drift into writing something no real tool would read.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

S_IFREG, S_IFLNK, S_IFIFO = 0o100000, 0o120000, 0o010000


@dataclass
class Entry:
    name: bytes
    data: bytes
    method: int = 0  # 0 STORED, 8 DEFLATE
    flags: int = 0x800  # UTF-8 name
    crc: int | None = None  # None: the real CRC-32
    size: int | None = None  # None: the real length (lie to build bombs)
    mode: int = S_IFREG | 0o644


def raw_zip(entries: list[Entry], *, zip64: bool = False) -> bytes:
    """A zip holding ``entries`` exactly as given (names, flags and sizes are not checked)."""
    out = bytearray()
    central = bytearray()
    for e in entries:
        payload = e.data
        if e.method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = c.compress(e.data) + c.flush()
        crc = zlib.crc32(e.data) if e.crc is None else e.crc
        size = len(e.data) if e.size is None else e.size
        offset = len(out)
        if zip64:
            local_extra = struct.pack("<2H2Q", 1, 16, size, len(payload))
            cd_extra = struct.pack("<2H3Q", 1, 24, size, len(payload), offset)
            lsize = lcsize = coff = 0xFFFFFFFF
        else:
            local_extra = cd_extra = b""
            lsize, lcsize, coff = size, len(payload), offset
        need = 45 if zip64 else 20
        out += struct.pack(
            "<4s5H3L2H",
            b"PK\x03\x04",
            need,
            e.flags,
            e.method,
            0,
            0x21,
            crc,
            lcsize,
            lsize,
            len(e.name),
            len(local_extra),
        )
        out += e.name + local_extra + payload
        central += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            (3 << 8) | need,
            need,
            e.flags,
            e.method,
            0,
            0x21,
            crc,
            lcsize,
            lsize,
            len(e.name),
            len(cd_extra),
            0,
            0,
            0,
            e.mode << 16,
            coff,
        )
        central += e.name + cd_extra
    cd_offset = len(out)
    out += central
    n = len(entries)
    if zip64:
        eocd64 = len(out)
        out += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
        out += struct.pack("<4sLQL", b"PK\x06\x07", 0, eocd64, 1)
        out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(central), cd_offset, 0)
    return bytes(out)


def write_parts(path: Path, data: bytes, part_size: int) -> list[Path]:
    """Split ``data`` the AI-Hub way: ``<path>.part<byte offset>``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    for offset in range(0, len(data), part_size):
        part = path.with_name(f"{path.name}.part{offset}")
        part.write_bytes(data[offset : offset + part_size])
        parts.append(part)
    return parts


def sparse_stored_zip(path: Path, name: bytes, size: int) -> None:
    """A zip of one STORED member of ``size`` zero bytes, written as a sparse file (no disk used):
    a genuine big archive for the disk-space checks, which no ratio or overlap check refuses."""
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0x800, 0, 0, 0x21, 0, size, size, len(name), 0)
    central = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", (3 << 8) | 20, 20, 0x800, 0, 0, 0x21, 0, size, size, len(name),
        0, 0, 0, 0, (S_IFREG | 0o644) << 16, 0,
    ) + name  # fmt: skip
    cd_offset = len(local) + len(name) + size
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), cd_offset, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(local + name)
        fh.seek(cd_offset)
        fh.write(central + end)
