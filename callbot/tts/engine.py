"""Text to speech behind one small interface: espeak-ng (offline default) or VITS (mms-tts-kor).

Why an interface: the smoke profile must speak with nothing downloaded (espeak-ng ships in a wheel),
while the full profile speaks with a neural voice; the service and the benchmark must not care which.
Both engines take the bot's reply as written, read numbers the way a call centre says them
(:func:`speech_text`), and return 16-bit mono at the line's rate (16 kHz, or 8 kHz for phones).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from callbot.tts.params import TTSParams


class TTSError(RuntimeError):
    """The TTS engine could not be loaded or could not speak the text."""


@dataclass(frozen=True)
class Speech:
    """Synthesised speech: int16 mono samples, their rate, and the text actually spoken."""

    samples: np.ndarray
    sample_rate: int
    spoken: str

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate

    def to_wav(self) -> bytes:
        """A 16-bit PCM WAV, the format every phone gateway and browser plays."""
        import soundfile as sf

        buffer = io.BytesIO()
        sf.write(buffer, self.samples, self.sample_rate, format="WAV", subtype="PCM_16")
        return buffer.getvalue()


class Synthesizer(Protocol):
    """What the service needs from a TTS engine."""

    engine: str
    sample_rate: int

    def synthesize(self, text: str) -> Speech: ...


def speech_text(text: str) -> str:
    """The reply as it should be read aloud: hotlines digit by digit, amounts and dates as words.

    Neither engine reads Arabic numerals the way a Korean call centre does (espeak reads 1339 as a
    quantity; mms-tts-kor's vocabulary has no digits at all), so numbers are verbalised first with
    the project's one implementation in :mod:`callbot.text.numbers`.
    """
    from callbot.text.numbers import verbalize_numbers

    return " ".join(verbalize_numbers(text).split())


def _to_rate(samples: np.ndarray, src_rate: int, dst_rate: int, gain: float = 1.0) -> np.ndarray:
    from callbot.tts.espeak import resample

    return resample(samples, src_rate, dst_rate, gain=gain)


class EspeakSynthesizer:
    """espeak-ng Korean through the project's ctypes binding: robotic but offline and instant."""

    engine = "espeak"

    def __init__(self, params: TTSParams) -> None:
        from callbot.tts.espeak import PITCH_RANGE, RATE_RANGE

        for name, value, bounds in (
            ("tts.espeak_rate", params.espeak_rate, RATE_RANGE),
            ("tts.espeak_pitch", params.espeak_pitch, PITCH_RANGE),
        ):
            if not bounds[0] <= value <= bounds[1]:
                raise TTSError(f"params.yaml: {name} must be in {bounds[0]}..{bounds[1]}, got {value}")
        self.params = params
        self.sample_rate = params.sample_rate

    def synthesize(self, text: str) -> Speech:
        from callbot.tts.espeak import EspeakError, synthesize

        spoken = speech_text(text)
        try:
            samples, rate = synthesize(spoken, rate=self.params.espeak_rate, pitch=self.params.espeak_pitch)
        except EspeakError as exc:
            raise TTSError(str(exc)) from exc
        # espeak-ng peaks near full scale and the resampling filter overshoots: halve it first
        return Speech(_to_rate(samples, rate, self.sample_rate, gain=0.5), self.sample_rate, spoken)


class VitsSynthesizer:
    """transformers ``VitsModel`` (the facebook/mms-tts-kor architecture) from a local directory.

    mms-tts-kor was trained on uroman-romanised text; its tokenizer would build a fresh ``Uroman``
    (about 2 s) on every call, so the romaniser is built once here and the tokenizer only ever sees
    Latin text. Inference is serialised: one model, one thread at a time, so the seed holds.
    """

    engine = "vits"

    def __init__(self, params: TTSParams, model_dir: str | Path | None = None) -> None:
        import torch
        from transformers import AutoTokenizer, VitsModel

        path = Path(model_dir or params.model)
        if not params.model and model_dir is None:
            raise TTSError(
                "params.yaml: tts.engine is vits but tts.model is empty; set it to a local VITS directory"
            )
        if not (path / "config.json").is_file():
            raise TTSError(
                f"{path}: no VITS model here (config.json missing); save facebook/mms-tts-kor there with "
                "VitsModel.save_pretrained and its tokenizer, or set tts.engine: espeak"
            )
        try:
            self.model = VitsModel.from_pretrained(path).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise TTSError(f"{path}: cannot load the VITS model or tokenizer ({exc})") from exc
        self.params = params
        self.model_rate = int(self.model.config.sampling_rate)
        self.sample_rate = params.sample_rate
        self._romanizer = None
        if params.uroman:
            import uroman

            self._romanizer = uroman.Uroman()
        self._lock = threading.Lock()
        self._torch = torch

    def romanize(self, text: str) -> str:
        return self._romanizer.romanize_string(text) if self._romanizer is not None else text

    def synthesize(self, text: str) -> Speech:
        spoken = speech_text(text)
        if not spoken:
            return Speech(np.zeros(0, dtype=np.int16), self.sample_rate, spoken)
        inputs = self.tokenizer(self.romanize(spoken), return_tensors="pt")
        if inputs["input_ids"].shape[-1] == 0:
            raise TTSError(f"the VITS vocabulary has none of the characters of {spoken[:40]!r}")
        with self._lock, self._torch.inference_mode():
            self._torch.manual_seed(self.params.seed)
            waveform = self.model(**inputs).waveform[0].float().numpy()
        samples = np.clip(np.rint(waveform * 32767.0), -32768, 32767).astype(np.int16)
        return Speech(_to_rate(samples, self.model_rate, self.sample_rate), self.sample_rate, spoken)


def load_synthesizer(params: TTSParams, model_dir: str | Path | None = None) -> Synthesizer:
    """The engine ``params.engine`` names; ``model_dir`` overrides ``params.model`` (a packaged copy)."""
    if params.engine == "espeak":
        return EspeakSynthesizer(params)
    return VitsSynthesizer(params, model_dir)
