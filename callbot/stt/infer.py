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

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.console import muted_log
from callbot.stt.joint import joint_greedy_decode, load_ctc_head
from callbot.stt.transcript import (
    EDGE_PAD_S as EDGE_PAD_S,
)
from callbot.stt.transcript import (
    HOP as HOP,
)
from callbot.stt.transcript import (
    MIN_PAUSE_S as MIN_PAUSE_S,
)
from callbot.stt.transcript import (  # re-exported: callers import them from here
    SAMPLE_RATE as SAMPLE_RATE,
)
from callbot.stt.transcript import (
    SILENCE_DB as SILENCE_DB,
)
from callbot.stt.transcript import (
    TOKENS_PER_SECOND as TOKENS_PER_SECOND,
)
from callbot.stt.transcript import (
    WINDOWING as WINDOWING,
)
from callbot.stt.transcript import (
    Segment as Segment,
)
from callbot.stt.transcript import (
    Transcriber as Transcriber,
)
from callbot.stt.transcript import (
    TranscriberError as TranscriberError,
)
from callbot.stt.transcript import (
    TranscriptResult as TranscriptResult,
)
from callbot.stt.transcript import (
    Window as Window,
)
from callbot.stt.transcript import (
    Word as Word,
)
from callbot.stt.transcript import (
    _is_silent as _is_silent,
)
from callbot.stt.transcript import (
    _silent_runs as _silent_runs,
)
from callbot.stt.transcript import (
    check_audio as check_audio,
)
from callbot.stt.transcript import (
    merge_overlap as merge_overlap,
)
from callbot.stt.transcript import (
    overlap_cut as overlap_cut,
)
from callbot.stt.transcript import (
    plan_windows as plan_windows,
)
from callbot.stt.transcript import (
    trim as trim,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


CT2_DIR = "ct2"  # the CTranslate2 int8 export, beside model/ and whisper.pt

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
