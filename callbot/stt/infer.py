"""Speech -> text for serving and evaluation: one API over both exported backends.

``load_transcriber(model_dir)`` returns a :class:`Transcriber` whatever was exported: the HF model
directory (transformers ``generate``) or the openai-whisper checkpoint (``whisper.decode``); a
``models/stt`` directory with ``export.json`` picks the backend that export measured faster.

Audio longer than the model's window (4 s for the smoke model, 30 s for real Whisper) is windowed.
A seam is put in a pause where one lies near the window's end (nothing is cut mid-word, so nothing
is lost or doubled); where speech runs on without a pause, consecutive windows overlap and the
words both windows heard are kept once (:func:`merge_overlap`). Silence before and after speech is
trimmed first, as it was for the training segments, so leading silence does not shift the windows.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.console import muted_log
from callbot.stt.joint import CTCHead, joint_greedy_decode, load_ctc_head
from callbot.stt.vad import FRAME_S, silence_mask, speech_bounds

if TYPE_CHECKING:
    from collections.abc import Sequence

SAMPLE_RATE = 16_000
HOP = 160
SILENCE_DB = 25.0  # a frame this far below the recording's loud level counts as a pause
EDGE_PAD_S = 0.1  # kept around trimmed speech, as in training segments
CT2_DIR = "ct2"  # the CTranslate2 int8 export, beside model/ and whisper.pt
WINDOWING = "windowing.json"  # train-stt writes its pause settings here, beside the model
MIN_PAUSE_S = 0.1  # a silence this long is a pause between phrases, not a stop consonant
TOKENS_PER_SECOND = 25  # generous cap on decoded tokens per second of audio (stops repetition loops)


@dataclass(frozen=True)
class Segment:
    """One decoded window: seconds from the start of the input audio, and its text."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Word:
    """One word of a transcript (space-separated) and how sure the model was of it, in [0, 1].

    The responder hands over when the words that decide the intent were heard with low confidence
    (issue 22); ``start``/``end`` are seconds from the start of the input audio, when known.
    """

    text: str
    confidence: float
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class TranscriptResult:
    text: str
    segments: list[Segment] = field(default_factory=list)
    duration_s: float = 0.0
    words: list[Word] = field(default_factory=list)  # empty when the backend gives no confidence


@dataclass(frozen=True)
class Window:
    """A span of the input in samples; ``overlaps_next`` when the next window re-hears its tail."""

    start: int
    end: int
    overlaps_next: bool = False


class TranscriberError(ValueError):
    """The model path or the audio cannot be used."""


def check_audio(audio: np.ndarray) -> np.ndarray:
    """Float32 mono 16 kHz as a 1-D array, or a clear error."""
    array = np.asarray(audio)
    if array.ndim != 1:
        raise TranscriberError(
            f"audio must be mono (1-D), got shape {array.shape}; average the channels first"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise TranscriberError(
            f"audio must be float samples in [-1, 1], got {array.dtype}; divide int16 by 32768"
        )
    if not np.all(np.isfinite(array)):
        raise TranscriberError("audio holds NaN or infinite samples")
    return array.astype(np.float32, copy=False)


def _silent_runs(silent: np.ndarray, lo: int, hi: int) -> list[tuple[int, int]]:
    """``(first, end)`` frame ranges of consecutive silent frames within ``[lo, hi)``."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    for f in range(lo, hi + 1):
        quiet = f < hi and f < len(silent) and bool(silent[f])
        if quiet and first is None:
            first = f
        elif not quiet and first is not None:
            runs.append((first, f))
            first = None
    return runs


def plan_windows(
    audio: np.ndarray,
    window_s: float,
    overlap_s: float,
    silence_db: float = SILENCE_DB,
    min_pause_s: float = MIN_PAUSE_S,
) -> list[Window]:
    """Cover the speech in ``audio`` with windows of at most ``window_s`` seconds.

    Each window ends in the middle of its last pause of at least ``min_pause_s`` (so windows are
    as long as they can be without cutting a word); failing that, in the longest shorter silence of
    its second half; with no silence at all it ends at full length and the next window starts
    ``overlap_s`` earlier (the seam is then merged by words).
    """
    if len(audio) == 0:
        return []
    start, stop = speech_bounds(audio, SAMPLE_RATE, silence_db)
    pad = round(EDGE_PAD_S * SAMPLE_RATE)
    start, stop = max(0, start - pad), min(len(audio), stop + pad)
    size = round(window_s * SAMPLE_RATE)
    overlap = min(round(overlap_s * SAMPLE_RATE), size // 2)
    hop = round(FRAME_S * SAMPLE_RATE)
    min_frames = max(1, round(min_pause_s / FRAME_S))
    silent = silence_mask(audio, SAMPLE_RATE, silence_db)
    windows: list[Window] = []
    while stop - start > size:
        runs = _silent_runs(silent, start // hop + 1, (start + size) // hop)
        pauses = [r for r in runs if r[1] - r[0] >= min_frames]
        late = [r for r in runs if r[0] * hop >= start + size // 2]
        chosen = pauses[-1] if pauses else (max(late, key=lambda r: r[1] - r[0]) if late else None)
        if chosen is not None:
            cut = min(((chosen[0] + chosen[1]) // 2) * hop, start + size)
            windows.append(Window(start, cut))
            start = cut
        else:
            windows.append(Window(start, start + size, overlaps_next=True))
            start = start + size - overlap
    windows.append(Window(start, stop))
    return windows


def overlap_cut(previous: list[str], following: list[str], max_words: int = 12) -> tuple[int, int]:
    """Where to cut two windows' words that heard the same stretch of speech, keeping it once.

    The longest run of words the tail of ``previous`` shares with the head of ``following`` is the
    overlap; each side keeps its half of it (the half nearer its own centre, where it heard best).
    Returns ``(a, b)``: keep ``previous[:a] + following[b:]``. With no shared word, nothing is cut.
    """
    tail = previous[-max_words:]
    head = following[:max_words]
    match = difflib.SequenceMatcher(a=tail, b=head, autojunk=False).find_longest_match(
        0, len(tail), 0, len(head)
    )
    if match.size == 0:
        return len(previous), 0
    keep = (match.size + 1) // 2
    return len(previous) - len(tail) + match.a + keep, match.b + keep


def merge_overlap(previous: list[str], following: list[str], max_words: int = 12) -> list[str]:
    """``previous`` and ``following`` joined with their shared words kept once (:func:`overlap_cut`)."""
    a, b = overlap_cut(previous, following, max_words)
    return [*previous[:a], *following[b:]]


def trim(clip: np.ndarray, silence_db: float = SILENCE_DB) -> np.ndarray:
    """The clip's speech with ``EDGE_PAD_S`` of margin, as training segments are cut."""
    lo, hi = speech_bounds(clip, SAMPLE_RATE, silence_db)
    pad = round(EDGE_PAD_S * SAMPLE_RATE)
    return clip[max(0, lo - pad) : min(len(clip), hi + pad)]


def _is_silent(clip: np.ndarray) -> bool:
    return len(clip) == 0 or float(np.max(np.abs(clip))) < 1e-4


class Transcriber:
    """Windows the audio, decodes windows in batches (backend-specific), stitches the text."""

    backend = "base"
    ctc: CTCHead | None = None  # set by a backend whose model has a CTC head (joint decoding)

    def __init__(
        self,
        window_s: float,
        overlap_s: float | None = None,
        batch_size: int = 8,
        silence_db: float = SILENCE_DB,
        min_pause_s: float = MIN_PAUSE_S,
        use_ctc: bool = True,
    ) -> None:
        self.window_s = window_s
        self.use_ctc = use_ctc  # joint CTC/attention decoding where the model has a CTC head
        self.overlap_s = overlap_s if overlap_s is not None else min(window_s / 4, 5.0)
        self.batch_size = batch_size
        self.silence_db = silence_db
        self.min_pause_s = min_pause_s
        self.max_new_tokens = max(8, round(window_s * TOKENS_PER_SECOND))

    def decode_windows(self, clips: Sequence[np.ndarray]) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def transcribe(self, audio: np.ndarray) -> TranscriptResult:
        return self.transcribe_batch([audio])[0]

    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[TranscriptResult]:
        checked = [check_audio(a) for a in audios]
        plans = [
            plan_windows(a, self.window_s, self.overlap_s, self.silence_db, self.min_pause_s) for a in checked
        ]
        jobs = [
            (i, w)
            for i, plan in enumerate(plans)
            for w in plan
            if not _is_silent(checked[i][w.start : w.end])
        ]
        texts: dict[tuple[int, int], str] = {}
        for lo in range(0, len(jobs), self.batch_size):
            chunk = jobs[lo : lo + self.batch_size]
            decoded = self.decode_windows(
                [trim(checked[i][w.start : w.end], self.silence_db) for i, w in chunk]
            )
            for (i, w), text in zip(chunk, decoded, strict=True):
                texts[(i, w.start)] = text.strip()
        return [self._stitch(plans[i], texts, i, len(checked[i])) for i in range(len(checked))]

    @staticmethod
    def _stitch(
        plan: list[Window], texts: dict[tuple[int, int], str], index: int, n: int
    ) -> TranscriptResult:
        words: list[str] = []
        segments: list[Segment] = []
        carried_overlap = False
        for window in plan:
            window_words = texts.get((index, window.start), "").split()
            if carried_overlap:
                a, b = overlap_cut(words, window_words)
                dropped, words, window_words = len(words) - a, words[:a], window_words[b:]
                while dropped and segments:  # earlier windows give up the words heard twice
                    last = segments.pop()
                    last_words = last.text.split()
                    keep = max(0, len(last_words) - dropped)
                    dropped -= len(last_words) - keep
                    if keep:
                        segments.append(Segment(last.start, last.end, " ".join(last_words[:keep])))
            words = [*words, *window_words]
            if window_words:
                start_s, end_s = round(window.start / SAMPLE_RATE, 3), round(window.end / SAMPLE_RATE, 3)
                segments.append(Segment(start_s, end_s, " ".join(window_words)))
            carried_overlap = window.overlaps_next
        return TranscriptResult(" ".join(words), segments, round(n / SAMPLE_RATE, 3))


# What transformers' Whisper generate logs about its own internals, whatever the caller passes: it
# hands the generic generate a generation config together with suppress-token arguments, and its
# start tokens (the same for every row, never padded) with pad = eos and no decoder mask.
WHISPER_INTERNAL_WARNINGS = (
    "Passing `generation_config` together with generation-related arguments",
    "The attention mask is not set with a batched input",
)


class HFTranscriber(Transcriber):
    """transformers ``WhisperForConditionalGeneration.generate``, greedy, language ko."""

    backend = "hf"

    def __init__(self, model_dir: Path, **kwargs: Any) -> None:
        import torch
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        from callbot.stt.model import model_window_s

        self.processor = WhisperProcessor.from_pretrained(str(model_dir))
        self.model = WhisperForConditionalGeneration.from_pretrained(str(model_dir), dtype=torch.float32)
        self.model.eval()
        super().__init__(model_window_s(self.processor), **kwargs)
        self.max_new_tokens = min(self.max_new_tokens, self.model.config.max_target_positions - 4)
        self.ctc = load_ctc_head(model_dir, self.model.config.d_model) if self.use_ctc else None

    def decode_windows(self, clips: Sequence[np.ndarray]) -> list[str]:
        import torch

        features = self.processor.feature_extractor(
            list(clips), sampling_rate=SAMPLE_RATE, return_tensors="pt"
        )
        with torch.inference_mode():
            if self.ctc is not None:
                model = self.model
                encoded = model.model.encoder(features.input_features).last_hidden_state

                def next_logits(tokens: Any) -> Any:
                    hidden = model.model.decoder(
                        input_ids=tokens, encoder_hidden_states=encoded, use_cache=False
                    ).last_hidden_state
                    return model.proj_out(hidden[:, -1])

                return joint_greedy_decode(
                    encoded,
                    next_logits,
                    self.ctc,
                    max_new_tokens=self.max_new_tokens,
                    vocab_size=model.config.vocab_size,
                )
            # Whisper's generate counts max_length after its start tokens, so this is max_new_tokens
            # new tokens. Passing max_new_tokens instead logs "Both `max_new_tokens` and `max_length`
            # seem to have been set" on every batch: Whisper fills the default max_length (20) into the
            # config it hands to the generic generate, which then sees both set.
            with muted_log("transformers.generation.utils", *WHISPER_INTERNAL_WARNINGS):
                ids = self.model.generate(
                    features.input_features,
                    language="ko",
                    task="transcribe",
                    max_length=self.max_new_tokens,
                    do_sample=False,
                    num_beams=1,
                )
        return self.processor.tokenizer.batch_decode(ids, skip_special_tokens=True)


class OpenAIWhisperTranscriber(Transcriber):
    """openai-whisper ``decode`` on a checkpoint written by the export (``whisper.load_model``)."""

    backend = "openai-whisper"

    def __init__(self, checkpoint: Path, ctc_dir: Path | None = None, **kwargs: Any) -> None:
        import whisper

        self.model = whisper.load_model(str(checkpoint), device="cpu")
        self.model.eval()
        self.frames = self.model.dims.n_audio_ctx * 2
        super().__init__(self.frames * HOP / SAMPLE_RATE, **kwargs)
        self.max_new_tokens = min(self.max_new_tokens, self.model.dims.n_text_ctx // 2)
        self.ctc = load_ctc_head(ctc_dir, self.model.dims.n_audio_state) if self.use_ctc and ctc_dir else None

    def decode_windows(self, clips: Sequence[np.ndarray]) -> list[str]:
        import torch
        import whisper

        n_samples = self.frames * HOP
        mels = []
        for clip in clips:
            padded = np.zeros(n_samples, dtype=np.float32)
            padded[: min(len(clip), n_samples)] = clip[:n_samples]
            mel = whisper.log_mel_spectrogram(torch.from_numpy(padded), self.model.dims.n_mels)
            mels.append(whisper.pad_or_trim(mel, self.frames))
        options = whisper.DecodingOptions(
            language="ko",
            task="transcribe",
            without_timestamps=True,
            fp16=False,
            sample_len=self.max_new_tokens,
            suppress_tokens="",
        )
        with torch.inference_mode():
            if self.ctc is not None:
                model = self.model
                encoded = model.encoder(torch.stack(mels))
                return joint_greedy_decode(
                    encoded,
                    lambda tokens: model.decoder(tokens, encoded)[:, -1],
                    self.ctc,
                    max_new_tokens=self.max_new_tokens,
                    vocab_size=model.dims.n_vocab,
                )
            results = whisper.decode(self.model, torch.stack(mels), options)
        return [r.text for r in results]


class CT2Transcriber(Transcriber):
    """CTranslate2 (the runtime under faster-whisper), int8 weights, greedy, language ko.

    Windows are cut and stitched by :class:`Transcriber` like the other backends; features come from
    the model's own processor, so only the network runs in CTranslate2. It has no joint CTC/attention
    decoding: the decoder alone, so its CER must be measured, never assumed equal to the others'.
    """

    backend = "ctranslate2"

    def __init__(self, ct2_dir: Path, hf_dir: Path, compute_type: str = "int8", **kwargs: Any) -> None:
        import ctranslate2
        import torch
        from transformers import WhisperProcessor

        from callbot.stt.model import model_window_s

        kwargs.pop("use_ctc", None)
        self.processor = WhisperProcessor.from_pretrained(str(hf_dir))
        self.model = ctranslate2.models.Whisper(
            str(ct2_dir), device="cpu", compute_type=compute_type, intra_threads=torch.get_num_threads()
        )
        super().__init__(model_window_s(self.processor), use_ctc=False, **kwargs)
        tokenizer = self.processor.tokenizer
        self.prompt = tokenizer.convert_tokens_to_ids(
            ["<|startoftranscript|>", "<|ko|>", "<|transcribe|>", "<|notimestamps|>"]
        )
        config = json.loads((Path(hf_dir) / "config.json").read_text(encoding="utf-8"))
        self.max_new_tokens = min(self.max_new_tokens, int(config["max_target_positions"]) - 4)

    def decode_windows(self, clips: Sequence[np.ndarray]) -> list[str]:
        import ctranslate2

        features = self.processor.feature_extractor(
            list(clips), sampling_rate=SAMPLE_RATE, return_tensors="np"
        ).input_features
        view = ctranslate2.StorageView.from_array(np.ascontiguousarray(features, dtype=np.float32))
        results = self.model.generate(
            view,
            [self.prompt] * len(clips),
            beam_size=1,
            max_length=self.max_new_tokens + len(self.prompt),
        )
        return self.processor.tokenizer.batch_decode(
            [r.sequences_ids[0] for r in results], skip_special_tokens=True
        )


def _ctc_model_dir(path: Path) -> Path | None:
    """The jamo CTC model directory at ``path`` or its ``model/``, if that is what was exported."""
    from callbot.stt.ctc_model import is_ctc_dir

    for candidate in (path, path / "model"):
        if candidate.is_dir() and is_ctc_dir(candidate):
            return candidate
    return None


def load_transcriber(model_dir: Path, backend: str | None = None, **kwargs: Any) -> Transcriber:
    """A transcriber for ``model_dir``: an export directory, an HF model directory or a ``.pt`` file.

    A jamo CTC export (``stt.recipe: ctc``) gives a :class:`~callbot.stt.ctc_infer.CTCTranscriber`.
    ``backend`` ("hf" | "openai-whisper") overrides the export's measured choice. ``kwargs`` go to
    the transcriber (``overlap_s``, ``batch_size``).
    """
    path = Path(model_dir)
    ctc = _ctc_model_dir(path)
    if ctc is not None and backend in (None, "ctc"):
        from callbot.stt.ctc_infer import CTCTranscriber

        return CTCTranscriber(ctc, **kwargs)
    export = path / "export.json"
    if backend is None and export.is_file():
        backend = json.loads(export.read_text(encoding="utf-8"))["serve_backend"]
    if path.is_dir() and (path / "model" / "config.json").is_file() and not (path / "config.json").is_file():
        hf_dir, checkpoint = path / "model", path / "whisper.pt"
    elif path.is_dir():
        hf_dir, checkpoint = path, path / "whisper.pt"
    else:
        hf_dir, checkpoint = path.parent / "model", path
    if backend is None:
        backend = "openai-whisper" if path.suffix == ".pt" else "hf"
    windowing = hf_dir / WINDOWING
    if windowing.is_file():  # the pause settings the model was trained with, unless overridden
        kwargs = {**json.loads(windowing.read_text(encoding="utf-8")), **kwargs}
    if backend == "hf":
        if not (hf_dir / "config.json").is_file():
            raise TranscriberError(f"{hf_dir}: no config.json; point at a saved Whisper model directory")
        return HFTranscriber(hf_dir, **kwargs)
    if backend == "ctranslate2":
        ct2_dir = (path if path.is_dir() else path.parent) / CT2_DIR
        if not (ct2_dir / "model.bin").is_file():
            raise TranscriberError(f"{ct2_dir}: no CTranslate2 export; run `callbot train-stt` to export")
        return CT2Transcriber(ct2_dir, hf_dir, **kwargs)
    if backend == "openai-whisper":
        if not checkpoint.is_file():
            raise TranscriberError(
                f"{checkpoint}: no openai-whisper checkpoint; run `callbot train-stt` to export"
            )
        return OpenAIWhisperTranscriber(checkpoint, ctc_dir=hf_dir, **kwargs)
    raise TranscriberError(
        f"{model_dir}: unknown backend {backend!r}; use 'hf', 'openai-whisper' or 'ctranslate2'"
    )
