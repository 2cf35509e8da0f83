"""Export a fine-tuned HF Whisper as an openai-whisper checkpoint and pick the faster backend.

Serving may run either library; both are kept, and ``export.json`` records which one transcribed the
benchmark clips faster on this machine's CPU, so :func:`callbot.stt.infer.load_transcriber` serves
that one. The weight mapping is name for name (the architectures are the same network); dims come
from the HF config.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import write_text, writing

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

_ATTN = {"q_proj": "query", "k_proj": "key", "v_proj": "value", "out_proj": "out"}
_LAYER = {
    "self_attn_layer_norm": "attn_ln",
    "encoder_attn_layer_norm": "cross_attn_ln",
    "final_layer_norm": "mlp_ln",
    "fc1": "mlp.0",
    "fc2": "mlp.2",
}


def openai_name(hf_name: str) -> str | None:
    """The openai-whisper state-dict key of an HF Whisper weight (None: not part of it)."""
    name = hf_name.removeprefix("model.")
    if name.startswith("proj_out."):
        return None  # tied to the token embedding
    side, _, rest = name.partition(".")
    if side not in ("encoder", "decoder"):
        return None
    fixed = {
        "conv1.weight": "conv1.weight",
        "conv1.bias": "conv1.bias",
        "conv2.weight": "conv2.weight",
        "conv2.bias": "conv2.bias",
        "embed_positions.weight": "positional_embedding",
        "embed_tokens.weight": "token_embedding.weight",
        "layer_norm.weight": "ln_post.weight" if side == "encoder" else "ln.weight",
        "layer_norm.bias": "ln_post.bias" if side == "encoder" else "ln.bias",
    }
    if rest in fixed:
        return f"{side}.{fixed[rest]}"
    parts = rest.split(".")
    if parts[0] != "layers":
        return None
    index, module, tail = parts[1], parts[2], ".".join(parts[3:])
    if module in ("self_attn", "encoder_attn"):
        proj, param = tail.split(".")
        block = "attn" if module == "self_attn" else "cross_attn"
        return f"{side}.blocks.{index}.{block}.{_ATTN[proj]}.{param}"
    if module in _LAYER:
        return f"{side}.blocks.{index}.{_LAYER[module]}.{tail}"
    return None


def to_openai_checkpoint(model_dir: Path, out_path: Path) -> Path:
    """Write ``out_path`` so that ``whisper.load_model(out_path)`` loads the HF model's weights."""
    import torch
    from transformers import WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(str(model_dir), dtype=torch.float32)
    config = model.config
    for side in ("encoder", "decoder"):
        if getattr(config, f"{side}_ffn_dim") != 4 * config.d_model:
            raise ValueError(
                f"{model_dir}: {side}_ffn_dim {getattr(config, f'{side}_ffn_dim')} is not 4 x d_model "
                f"({4 * config.d_model}); openai-whisper fixes that ratio, so this model cannot be exported "
                "(set stt.tiny.ffn_dim to 4 x d_model)"
            )
    dims = {
        "n_mels": config.num_mel_bins,
        "n_audio_ctx": config.max_source_positions,
        "n_audio_state": config.d_model,
        "n_audio_head": config.encoder_attention_heads,
        "n_audio_layer": config.encoder_layers,
        "n_vocab": config.vocab_size,
        "n_text_ctx": config.max_target_positions,
        "n_text_state": config.d_model,
        "n_text_head": config.decoder_attention_heads,
        "n_text_layer": config.decoder_layers,
    }
    state: dict[str, Any] = {}
    for name, tensor in model.state_dict().items():
        key = openai_name(name)
        if key is not None:
            state[key] = tensor.detach().clone().contiguous()
    _check_complete(dims, state, model_dir)
    with writing(out_path) as tmp:
        torch.save({"dims": dims, "model_state_dict": state}, tmp)
    return out_path


def _check_complete(dims: dict[str, int], state: dict[str, Any], model_dir: Path) -> None:
    """Every openai-whisper weight is covered, so ``load_state_dict`` cannot leave one random."""
    from whisper.model import ModelDimensions, Whisper

    expected = set(Whisper(ModelDimensions(**dims)).state_dict())
    missing, extra = expected - set(state), set(state) - expected
    if missing or extra:
        raise ValueError(
            f"{model_dir}: cannot map to openai-whisper: missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}"
        )


def to_ct2(model_dir: Path, out_dir: Path, quantization: str = "int8") -> Path:
    """Convert the HF Whisper at ``model_dir`` to a CTranslate2 directory (``ct2-transformers-converter``),
    written beside ``out_dir`` and renamed into place."""
    import shutil
    import tempfile

    from ctranslate2.converters import TransformersConverter

    from callbot.atomic import replace_dir

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        TransformersConverter(str(model_dir)).convert(str(tmp), quantization=quantization, force=True)
        replace_dir(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def time_backends(
    model_dir: Path,
    checkpoint: Path,
    clips: Sequence[np.ndarray],
    repeats: int = 2,
    ct2_dir: Path | None = None,
) -> dict[str, dict[str, float]]:
    """Seconds and real-time factor of each backend transcribing ``clips`` (best of ``repeats``)."""
    from callbot.stt.infer import SAMPLE_RATE, CT2Transcriber, HFTranscriber, OpenAIWhisperTranscriber

    audio_s = sum(len(c) for c in clips) / SAMPLE_RATE
    results: dict[str, dict[str, float]] = {}
    backends: list[tuple[str, Any]] = [
        ("hf", HFTranscriber(model_dir)),
        ("openai-whisper", OpenAIWhisperTranscriber(checkpoint, ctc_dir=model_dir)),
    ]
    if ct2_dir is not None:
        backends.append(("ctranslate2", CT2Transcriber(ct2_dir, model_dir)))
    for name, transcriber in backends:
        transcriber.transcribe_batch(list(clips[:1]))  # warm-up: first-call allocations
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            transcriber.transcribe_batch(list(clips))
            best = min(best, time.perf_counter() - start)
        results[name] = {"seconds": round(best, 4), "rtf": round(best / audio_s, 5) if audio_s else 0.0}
    return results


BACKEND_CER_TOLERANCE = 0.005  # a faster backend may serve if its held-out CER is this close to the best


def choose_backend(cers: dict[str, float], timings: dict[str, dict[str, float]]) -> str:
    """The fastest backend (``timings`` seconds) whose CER is within the tolerance of the best CER."""
    best = min(cers.values())
    eligible = [b for b, c in cers.items() if c <= best + BACKEND_CER_TOLERANCE + 1e-12]
    return min(eligible, key=lambda b: (timings.get(b, {}).get("seconds", float("inf")), cers[b], b))


def export_stt(model_dir: Path, out: Path, clips: Sequence[np.ndarray]) -> dict[str, Any]:
    """Write ``<out>/whisper.pt``, ``<out>/ct2`` (CTranslate2 int8) and ``<out>/export.json``.

    ``serve_backend`` is the faster on ``clips`` of the two backends with joint CTC/attention decoding;
    ``callbot evaluate-stt`` then
    scores every backend's CER on the test split (CTranslate2 has no joint CTC decoding) and
    ``callbot package`` serves the fastest whose CER is within ``BACKEND_CER_TOLERANCE`` of the best.
    """
    from callbot.stt.infer import CT2_DIR

    checkpoint = to_openai_checkpoint(model_dir, out / "whisper.pt")
    ct2_dir = to_ct2(model_dir, out / CT2_DIR)
    timings = time_backends(model_dir, checkpoint, clips, ct2_dir=ct2_dir) if len(clips) else {}
    # until evaluate-stt has measured its CER, serve the faster of the two backends with joint decoding
    joint = {k: v for k, v in timings.items() if k != "ctranslate2"}
    backend = min(joint, key=lambda k: joint[k]["seconds"]) if joint else "hf"
    record = {
        "serve_backend": backend,
        "hf_dir": os.path.relpath(model_dir, out),
        "openai_whisper": checkpoint.name,
        "ctranslate2": ct2_dir.name,
        "timings": timings,
        "clips": len(clips),
        "device": "cpu",
    }
    write_text(out / "export.json", json.dumps(record, indent=2) + "\n")  # \u-escaped non-ASCII, as before
    return record
