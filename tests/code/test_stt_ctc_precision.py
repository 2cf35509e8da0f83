"""The CTC model's faster training paths compute what the plain ones do.

The pointwise layers run as matrix products over their 1x1 convolution weights: a saved model must
give the same output as with the convolutions. bf16 autocast must keep the log-probabilities (and so
the CTC loss) in fp32 and close to the fp32 forward; a CPU without native bf16 trains in fp32.
"""

from __future__ import annotations

import contextlib
import logging

import pytest


def _model(seed: int = 0):
    import torch

    from callbot.stt.ctc_model import CtcShape, build_model

    torch.manual_seed(seed)
    shape = CtcShape(n_mels=80, conv_channels=8, hidden=64, layers=2, vocab=12, encoder="conv", kernel=5)
    return build_model(shape).eval()


def test_matmul_pointwise_layers_equal_the_saved_convolutions() -> None:
    import torch
    from torch import nn

    block = _model().encoder.blocks[0]
    h = torch.randn(3, 64, 40)
    assert torch.allclose(block(h), nn.Sequential.forward(block, h), atol=1e-5)


def test_bf16_forward_gives_fp32_log_probs_close_to_fp32() -> None:
    import torch

    model = _model()
    feats, lengths = torch.randn(2, 120, 80), torch.tensor([120, 80])
    plain, lens = model(feats, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast, fast_lens = model(feats, lengths)
    assert fast.dtype == torch.float32 and torch.equal(lens, fast_lens)
    assert torch.allclose(fast.exp().sum(-1), torch.ones(2, fast.shape[1]), atol=1e-4)
    assert (fast - plain).abs().max() < 0.1, (fast - plain).abs().max()
    assert fast.argmax(-1).eq(plain.argmax(-1)).float().mean() > 0.9


def test_precision_picks_autocast_only_where_the_cpu_has_bf16(monkeypatch, caplog) -> None:
    import torch

    from callbot.stt import ctc_train

    assert ctc_train.autocast_for("fp32") is contextlib.nullcontext
    monkeypatch.setattr(ctc_train, "native_bf16", lambda: True)
    with ctc_train.autocast_for("bf16")():
        assert torch.is_autocast_enabled("cpu")
    monkeypatch.setattr(ctc_train, "native_bf16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="callbot"):
        assert ctc_train.autocast_for("bf16") is contextlib.nullcontext
    assert "no native bf16" in caplog.text


def test_unknown_precision_is_refused(params) -> None:
    from pydantic import ValidationError

    data = params.stt.ctc.model_dump() | {"precision": "fp16"}
    with pytest.raises(ValidationError, match="precision"):
        type(params.stt.ctc).model_validate(data)
