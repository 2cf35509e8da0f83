"""WAV facts for the records table, read without loading whole files.

A full AI-Hub tree is hundreds of GB of WAV; prepare must not hold a file in memory, nor trust the
label's ``duration`` (labels and audio disagree often enough that validation checks it). The header
gives rate, channels, bits and the true duration; the signal statistics validation needs (RMS, peak,
clipping) come from one pass over the data chunk in fixed-size blocks.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["WavError", "WavInfo", "read_wav_info"]

_FMT_READ = 64  # bytes of a ``fmt `` chunk worth reading (WAVE_FORMAT_EXTENSIBLE ends at 40)
_MAX_BLOCK_SAMPLES = 1 << 20  # samples per read whatever the header's channel count (2 MiB of int16)


class WavError(ValueError):
    """The file is not a PCM WAV prepare can read; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class WavInfo:
    sample_rate: int
    channels: int
    bits: int
    frames: int
    duration_ms: float
    rms: float  # linear, full scale = 1.0
    peak: float
    clipped_ratio: float


def _find_chunks(handle, path: Path) -> tuple[tuple[int, int, int, int], int, int]:
    """(format, channels, rate, bits), data offset and data size, walking the RIFF chunk list."""
    riff = handle.read(12)
    if len(riff) < 12 or riff[:4] not in (b"RIFF", b"RF64") or riff[8:12] != b"WAVE":
        raise WavError(f"{path}: not a RIFF/WAVE file (header {riff[:12]!r})")
    fmt = None
    while True:
        head = handle.read(8)
        if len(head) < 8:
            break
        cid, size = head[:4], struct.unpack("<I", head[4:])[0]
        if cid == b"fmt ":
            # the fields prepare reads end at byte 26; a huge declared size is skipped, never read
            body = handle.read(min(size, _FMT_READ))
            handle.seek(size - len(body), 1)
            if len(body) < 16:
                raise WavError(f"{path}: fmt chunk too short ({len(body)} bytes)")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat names the codec
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            if fmt is None:
                raise WavError(f"{path}: data chunk before fmt chunk")
            return fmt, handle.tell(), size
        else:
            handle.seek(size + (size & 1), 1)
        if cid == b"fmt " and size & 1:
            handle.seek(1, 1)
    raise WavError(f"{path}: no data chunk (truncated file?)")


def read_wav_info(path: Path, chunk_frames: int) -> WavInfo:
    """Header fields and streaming RMS/peak/clipped share of a 16-bit PCM WAV.

    A data chunk that claims more bytes than the file holds is measured on what is there (the true
    duration is what the audio really lasts); other damage raises :class:`WavError`.
    """
    with open(path, "rb") as handle:
        (tag, channels, rate, bits), offset, size = _find_chunks(handle, path)
        if tag != 1:
            raise WavError(f"{path}: format tag {tag} is not PCM; convert to 16-bit PCM WAV")
        if bits != 16:
            raise WavError(f"{path}: {bits}-bit samples; prepare expects 16-bit PCM")
        if channels < 1 or rate < 1:
            raise WavError(f"{path}: header says {channels} channels at {rate} Hz")
        available = path.stat().st_size - offset
        size = min(size, max(available, 0))
        frame_bytes = channels * 2
        frames = size // frame_bytes
        handle.seek(offset)
        square_sum = 0.0
        peak = 0
        clipped = 0
        remaining = frames * channels
        # the block is counted in samples, so 65,535 declared channels cannot make one read the whole chunk
        block = min(max(1, chunk_frames) * channels, _MAX_BLOCK_SAMPLES)
        while remaining > 0:
            count = min(block, remaining)
            samples = np.fromfile(handle, dtype="<i2", count=count)
            if samples.size == 0:
                break
            remaining -= samples.size
            wide = samples.astype(np.int32)
            square_sum += float(np.square(wide, dtype=np.int64).sum())
            magnitude = np.abs(wide)
            peak = max(peak, int(magnitude.max()))
            clipped += int(np.count_nonzero(magnitude >= 32767))  # |x| >= 32767/32768 full scale
    total = frames * channels
    return WavInfo(
        sample_rate=rate,
        channels=channels,
        bits=bits,
        frames=frames,
        duration_ms=1000.0 * frames / rate,
        rms=math.sqrt(square_sum / total) / 32768 if total else 0.0,
        peak=peak / 32768,
        clipped_ratio=clipped / total if total else 0.0,
    )
