"""Where the Whisper that training starts from comes from: a local directory, a hub id, or built here.

The smoke profile cannot download a checkpoint, so it builds a small Whisper of the real architecture
with the real multilingual tokenizer (:mod:`callbot.stt.tokenizer`); everything downstream (training,
export, serving) then runs the same code a real checkpoint would. Every saved model directory holds
the model, the processor (feature extractor + tokenizer) and a generation config that says
language ko / task transcribe, so ``generate()`` needs no extra arguments anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from callbot.atomic import replace_dir
from callbot.stt.tokenizer import LANGUAGE, NUM_LANGUAGES, TASK, load_tokenizer, special_tokens

if TYPE_CHECKING:
    from collections.abc import Callable

    from transformers import WhisperForConditionalGeneration, WhisperProcessor

SAMPLE_RATE = 16_000
HOP = 160  # Whisper's 10 ms mel hop; the encoder halves frames once more (stride-2 conv)
BUILD_PREFIX = "build:"


class ModelSourceError(ValueError):
    """stt.base_model names nothing this run can load."""


@dataclass(frozen=True)
class TinyWhisperShape:
    """Dimensions of a locally built Whisper (the smoke profile's stand-in for a checkpoint)."""

    d_model: int = 128
    encoder_layers: int = 2
    decoder_layers: int = 2
    heads: int = 4
    ffn_dim: int = 512
    window_s: float = 4.0
    max_target_positions: int = 448


def window_frames(window_s: float) -> int:
    """Mel frames in one encoder window (3000 for Whisper's 30 s)."""
    frames = round(window_s * SAMPLE_RATE / HOP)
    if frames % 2 or abs(frames * HOP - window_s * SAMPLE_RATE) > 1e-6:
        raise ValueError(f"window of {window_s} s must be a multiple of 20 ms")
    return frames


def configure_generation(model: WhisperForConditionalGeneration, max_new_tokens: int | None = None) -> None:
    """Write language ko / task transcribe and the token maps ``generate(language=...)`` needs."""
    tokens = special_tokens(NUM_LANGUAGES)
    tokenizer_ids = {tok: 50257 + i for i, tok in enumerate(tokens)}
    gen = model.generation_config
    gen._from_model_config = False  # otherwise from_pretrained drops every Whisper-specific key below
    langs = tokens[2 : 2 + NUM_LANGUAGES]
    gen.lang_to_id = {t: tokenizer_ids[t] for t in langs}
    gen.task_to_id = {
        "translate": tokenizer_ids["<|translate|>"],
        "transcribe": tokenizer_ids["<|transcribe|>"],
    }
    gen.no_timestamps_token_id = tokenizer_ids["<|notimestamps|>"]
    gen.is_multilingual = True
    gen.language = LANGUAGE
    gen.task = TASK
    gen.decoder_start_token_id = tokenizer_ids["<|startoftranscript|>"]
    gen.eos_token_id = tokenizer_ids["<|endoftext|>"]
    gen.pad_token_id = tokenizer_ids["<|endoftext|>"]
    gen.bos_token_id = tokenizer_ids["<|endoftext|>"]
    gen.forced_decoder_ids = None
    gen.begin_suppress_tokens = [220, tokenizer_ids["<|endoftext|>"]]
    if max_new_tokens is not None:
        gen.max_new_tokens = max_new_tokens
    model.config.forced_decoder_ids = None


def build_processor(window_s: float) -> WhisperProcessor:
    from transformers import WhisperFeatureExtractor, WhisperProcessor

    frames = window_frames(window_s)
    extractor = WhisperFeatureExtractor(
        feature_size=80,
        sampling_rate=SAMPLE_RATE,
        hop_length=HOP,
        chunk_length=round(window_s) if float(window_s).is_integer() else window_s,
        n_fft=400,
    )
    extractor.n_samples = frames * HOP
    extractor.nb_max_frames = frames
    return WhisperProcessor(feature_extractor=extractor, tokenizer=load_tokenizer())


def build_tiny_whisper(out_dir: Path, shape: TinyWhisperShape | None = None, seed: int = 0) -> Path:
    """Build a randomly initialised Whisper of ``shape`` with the real tokenizer into ``out_dir``.

    Used by the smoke profile as its "base model" and by tests that need a real model directory
    without a download. The same seed gives the same weights.
    """
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    shape = shape or TinyWhisperShape()
    frames = window_frames(shape.window_s)
    torch.manual_seed(seed)
    config = WhisperConfig(
        vocab_size=51865,
        num_mel_bins=80,
        d_model=shape.d_model,
        encoder_layers=shape.encoder_layers,
        decoder_layers=shape.decoder_layers,
        encoder_attention_heads=shape.heads,
        decoder_attention_heads=shape.heads,
        encoder_ffn_dim=shape.ffn_dim,
        decoder_ffn_dim=shape.ffn_dim,
        max_source_positions=frames // 2,
        max_target_positions=shape.max_target_positions,
        decoder_start_token_id=50258,
        pad_token_id=50257,
        bos_token_id=50257,
        eos_token_id=50257,
        begin_suppress_tokens=[220, 50257],
        suppress_tokens=[],
    )
    model = WhisperForConditionalGeneration(config)
    configure_generation(model)
    save_model_dir(model, build_processor(shape.window_s), Path(out_dir))
    return Path(out_dir)


def save_model_dir(
    model: WhisperForConditionalGeneration,
    processor: WhisperProcessor,
    out_dir: Path,
    extra: Callable[[Path], None] | None = None,
) -> None:
    """Write model + processor + generation config atomically (temp dir, then rename); ``extra``
    writes more files into the temp dir first (the CTC head)."""
    import shutil
    import tempfile

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        model.save_pretrained(str(tmp))
        processor.save_pretrained(str(tmp))
        if extra is not None:
            extra(tmp)
        replace_dir(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def model_window_s(processor: WhisperProcessor) -> float:
    """The audio window (seconds) one encoder pass covers."""
    return processor.feature_extractor.nb_max_frames * HOP / SAMPLE_RATE


def resolve_base_model(
    source: str, *, allow_hub: bool, shape: TinyWhisperShape, build_dir: Path, seed: int
) -> str:
    """Turn ``stt.base_model`` into something ``from_pretrained`` loads, building it if asked.

    ``build:tiny`` builds :func:`build_tiny_whisper` into ``build_dir``; ``package:whisper-base`` is
    the bases stage's ``models/bases/whisper-base``; an existing directory is used as is; anything
    else is a hub id, allowed only where ``allow_hub`` (the full profile).
    """
    from callbot.basenames import BaseMissingError, is_package, resolve_package

    if is_package(source):
        try:
            return str(resolve_package(source, "stt.base_model"))
        except BaseMissingError as exc:
            raise ModelSourceError(str(exc)) from None
    if source.startswith(BUILD_PREFIX):
        kind = source[len(BUILD_PREFIX) :]
        if kind != "tiny":
            raise ModelSourceError(
                f"stt.base_model: unknown builder '{source}'; the only one is 'build:tiny'"
            )
        return str(build_tiny_whisper(build_dir, shape, seed=seed))
    path = Path(source)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelSourceError(
                f"{path}: stt.base_model is a directory without config.json; point it at a saved "
                "Whisper model directory (save_pretrained output)"
            )
        return str(path)
    if path.suffix or source.startswith((".", "/")) or source.count("/") != 1:
        raise ModelSourceError(f"{source}: stt.base_model is neither a directory nor a hub id (owner/name)")
    if not allow_hub:
        raise ModelSourceError(
            f"stt.base_model '{source}' is a model hub id, but stt.allow_hub is false (the smoke profile "
            "runs offline); use 'build:tiny' or a local model directory, or run with --profile full"
        )
    return source
