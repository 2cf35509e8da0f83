"""A small CTC acoustic model over Hangul jamo: log-mel -> 2 strided convolutions -> encoder -> CTC.

The encoder is a BiGRU (``gru``) or a stack of residual depthwise-separable 1-D convolutions
(``conv``, QuartzNet/ConvNeXt-like): the convolutions see every frame at once, so a CPU runs them as
large matrix products instead of the GRU's one small product per frame.

It must spell what it hears: there is no decoder that could recite training sentences, and 68-odd
jamo instead of thousands of syllables. Features are Whisper's log-mel front end (openai-whisper's
``log_mel_spectrogram``, no padding to 30 s) normalised per utterance, so level and line colour
matter less.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.atomic import write_json, writing

if TYPE_CHECKING:
    from pathlib import Path

    import torch

SAMPLE_RATE = 16_000
FRAME_S = 0.01  # Whisper's hop: 160 samples at 16 kHz
STRIDE = 4  # two stride-2 convolutions in time
CONFIG_FILE = "config.json"  # the packager and load_transcriber look for it in the model dir
WEIGHTS_FILE = "ctc.pt"
MODEL_TYPE = "callbot-jamo-ctc"


@dataclass(frozen=True)
class CtcShape:
    n_mels: int
    conv_channels: int
    hidden: int
    layers: int
    vocab: int  # output classes, blank included
    dropout: float = 0.0
    encoder: str = "gru"  # gru | conv (models saved before the option have no field: gru)
    kernel: int = 15  # conv: depthwise kernel in output frames (40 ms each)


def log_mel(audio: np.ndarray, n_mels: int) -> np.ndarray:
    """(frames, n_mels) float32 log-mel of 16 kHz ``audio`` (Whisper's scaling, not yet normalised)."""
    import torch
    import whisper

    samples = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    if samples.numel() < 400:  # shorter than one FFT window: pad so every clip has a frame
        samples = torch.nn.functional.pad(samples, (0, 400 - samples.numel()))
    return whisper.log_mel_spectrogram(samples, n_mels).T.contiguous().numpy()


def normalise(features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per-utterance, per-channel mean and variance normalisation over each clip's real frames."""
    import torch

    mask = (torch.arange(features.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).float()
    count = mask.sum(1, keepdim=True).clamp(min=1.0)
    mean = (features * mask).sum(1, keepdim=True) / count
    var = (((features - mean) * mask) ** 2).sum(1, keepdim=True) / count
    return (features - mean) / (var.sqrt() + 1e-5) * mask


def out_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Frames after the two (kernel 3, stride 2, padding 1) convolutions."""
    for _ in range(2):
        lengths = (lengths - 1) // 2 + 1
    return lengths


def _conv_block(dim: int, kernel: int, dropout: float) -> torch.nn.Module:
    """Depthwise conv over time, then a pointwise 2x feed-forward (ConvNeXt-like); used residually.

    The pointwise layers keep their 1x1 ``Conv1d`` weights (saved models load unchanged) but run as
    matrix products over (frames, channels): one GEMM instead of a convolution kernel, measured
    faster on CPU in fp32 and bf16 (``benchmarks/stt_ctc_bench.py speed``).
    """
    from torch import nn
    from torch.nn import functional

    class Block(nn.Sequential):
        def forward(self, h: torch.Tensor) -> torch.Tensor:  # (batch, dim, frames)
            depthwise, norm, up, act, down, drop = self
            y = norm(depthwise(h)).transpose(1, 2)
            y = act(functional.linear(y, up.weight.squeeze(-1), up.bias))
            return drop(functional.linear(y, down.weight.squeeze(-1), down.bias).transpose(1, 2))

    return Block(
        nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim),
        nn.BatchNorm1d(dim),
        nn.Conv1d(dim, 2 * dim, 1),
        nn.ReLU(),
        nn.Conv1d(2 * dim, dim, 1),
        nn.Dropout(dropout),
    )


def _encoder(shape: CtcShape) -> torch.nn.Module:
    """(batch, frames, hidden) projected features and lengths -> (batch, frames, width) encodings."""
    import torch
    from torch import nn

    if shape.encoder not in ("gru", "conv"):
        raise ValueError(f"CTC encoder {shape.encoder!r} is unknown; write gru or conv")

    class Gru(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.GRU(
                shape.hidden,
                shape.hidden,
                num_layers=shape.layers,
                batch_first=True,
                bidirectional=True,
                dropout=shape.dropout if shape.layers > 1 else 0.0,
            )

        def forward(self, x: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
            packed = nn.utils.rnn.pack_padded_sequence(x, lens.cpu(), batch_first=True, enforce_sorted=False)
            y, _ = self.rnn(packed)
            return nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])[0]

    class Conv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(
                _conv_block(shape.hidden, shape.kernel, shape.dropout) for _ in range(shape.layers)
            )

        def forward(self, x: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
            mask = (torch.arange(x.shape[1])[None, :] < lens[:, None]).unsqueeze(1).to(x.dtype)
            h = x.transpose(1, 2)
            for block in self.blocks:  # padding is zeroed so it never leaks into a clip's frames
                h = h + block(h * mask)
            return (h * mask).transpose(1, 2)

    return Gru() if shape.encoder == "gru" else Conv()


def build_model(shape: CtcShape) -> torch.nn.Module:
    import torch
    from torch import nn

    class JamoCTC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c = shape.conv_channels
            self.conv = nn.Sequential(
                nn.Conv2d(1, c, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(c, c, 3, stride=2, padding=1),
                nn.ReLU(),
            )
            freq = (shape.n_mels - 1) // 2 // 2 + 1
            self.proj = nn.Linear(c * freq, shape.hidden)
            self.encoder = _encoder(shape)
            width = 2 * shape.hidden if shape.encoder == "gru" else shape.hidden
            self.head = nn.Linear(width, shape.vocab)

        def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """(batch, frames, mels) normalised features -> (batch, frames/4, vocab) log-probs, lengths."""
            x = self.conv(feats.unsqueeze(1))  # (B, C, T/4, F/4)
            b, c, t, f = x.shape
            x = self.proj(x.permute(0, 2, 1, 3).reshape(b, t, c * f))
            lens = out_lengths(lengths).clamp(min=1, max=t)
            logits = self.head(self.encoder(x, lens)).float()  # fp32 even under bf16 autocast
            return torch.log_softmax(logits, dim=-1), lens

    return JamoCTC()


def save_ctc_model(model: torch.nn.Module, shape: CtcShape, directory: Path, extra: dict[str, Any]) -> None:
    """Weights and config (``model_type`` tells loaders this is not a Whisper) into ``directory``."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    with writing(directory / WEIGHTS_FILE) as tmp:
        torch.save(model.state_dict(), tmp)
    write_json(directory / CONFIG_FILE, {"model_type": MODEL_TYPE, "shape": asdict(shape), **extra})


def is_ctc_dir(directory: Path) -> bool:
    """True for a directory holding this module's export (its config names the model type)."""
    config = directory / CONFIG_FILE
    if not config.is_file() or not (directory / WEIGHTS_FILE).is_file():
        return False
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type") == MODEL_TYPE
    except (OSError, ValueError, AttributeError):
        return False


def load_ctc_model(directory: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The saved model in eval mode and its config."""
    import torch

    config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    model = build_model(CtcShape(**config["shape"]))
    state = torch.load(directory / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    # models saved before the encoder option kept the BiGRU at ``rnn``
    model.load_state_dict({f"encoder.{k}" if k.startswith("rnn.") else k: v for k, v in state.items()})
    model.eval()
    return model, config
