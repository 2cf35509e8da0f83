"""A tiny random VITS of the facebook/mms-tts-kor architecture, built offline.

Why: the full profile speaks with mms-tts-kor, which no test or CI machine here can download. A
randomly initialised ``VitsModel`` with the same classes, the same uroman-Latin character vocabulary
and the same tokenizer settings exercises the whole VITS code path (load, romanise, tokenise,
synthesise, resample, package) in a second; it babbles, which is all a code-path test needs.
"""

from __future__ import annotations

import json
from pathlib import Path

# mms-tts-kor's vocabulary is the Latin characters uroman emits, plus space and a few marks
VOCAB = ["<pad>", " ", "'", "-", *"abcdefghijklmnopqrstuvwxyz"]


def build_tiny_vits(directory: str | Path, seed: int = 0, sampling_rate: int = 16000) -> Path:
    """Save a tiny random ``VitsModel`` and its ``VitsTokenizer`` (uroman input) to ``directory``."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.json"
    vocab_file.write_text(
        json.dumps({c: i for i, c in enumerate(VOCAB)}, ensure_ascii=False), encoding="utf-8"
    )
    tokenizer = VitsTokenizer(
        vocab_file=str(vocab_file), pad_token="<pad>", unk_token="<pad>", language="kor", add_blank=True,
        normalize=True, phonemize=False, is_uroman=True,
    )  # fmt: skip
    config = VitsConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, ffn_dim=64,
        flow_size=16, spectrogram_bins=33, upsample_initial_channel=32, upsample_rates=[8, 8, 4],
        upsample_kernel_sizes=[16, 16, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        depth_separable_num_layers=1, duration_predictor_num_flows=1, duration_predictor_filter_channels=32,
        prior_encoder_num_flows=1, prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
        sampling_rate=sampling_rate, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = VitsModel(config).eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
