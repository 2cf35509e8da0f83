"""Training-time augmentation that makes a small Whisper listen rather than recall.

The sample answers (like many scripted corpora) reuse sentences, so a decoder can reach a low
training loss by recognising a sentence from its first syllables and reciting the rest; on
held-out answers it then recites the wrong sentence. Three measures take that shortcut away:

* **Recombination** (:class:`RecombinedDataset`): most examples are drawn afresh for every step
  by joining random aligned phrases of any training utterances, with a pause between them, up to
  the window. What follows a phrase is then unpredictable, and no example is seen twice.
* **Decoder input noise** (:class:`SpeechCollator` ``token_noise``): a share of the
  teacher-forced previous tokens are replaced by other text tokens, so the next token has to be
  read from the audio instead of continued from the text.
* **SpecAugment** (:func:`apply_spec_augment`): time and mel-channel masks in Whisper's encoder
  while training (transformers' own implementation).

Every example is a pure function of ``(seed, index)``, so a resumed run sees the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from callbot.stt.params import AugmentParams

SAMPLE_RATE = 16_000


class RecombinedDataset:
    """``length`` examples; with probability ``recombine`` random phrases joined, else one phrase.

    ``units`` are ``(text, audio)`` pairs of aligned phrases, each at most the window. Audio stays
    raw; :class:`SpeechCollator` computes the log-mel features of a whole batch at once.
    """

    def __init__(
        self,
        units: Sequence[tuple[str, np.ndarray]],
        tokenizer: Any,
        window_s: float,
        augment: AugmentParams,
        seed: int,
        length: int,
    ) -> None:
        if not units:
            raise ValueError("no phrases to recombine")
        self.units = list(units)
        self.tokenizer = tokenizer
        self.window = round(window_s * SAMPLE_RATE)
        self.augment = augment
        self.seed = seed
        self.length = length

    def __len__(self) -> int:
        return self.length

    def compose(self, index: int) -> tuple[str, np.ndarray]:
        """The text and audio of example ``index`` (the same for the same seed and index)."""
        rng = np.random.default_rng([self.seed, index])
        text, audio = self.units[int(rng.integers(len(self.units)))]
        if rng.random() >= self.augment.recombine:
            return text, audio
        texts, pieces, used = [text], [audio], len(audio)
        lo, hi = self.augment.gap_s
        for _ in range(8):  # a few tries to fill the window; short phrases fit more
            gap = round(rng.uniform(lo, hi) * SAMPLE_RATE)
            next_text, next_audio = self.units[int(rng.integers(len(self.units)))]
            if used + gap + len(next_audio) > self.window:
                continue
            texts.append(next_text)
            pieces.extend((np.zeros(gap, np.float32), next_audio))
            used += gap + len(next_audio)
        return " ".join(texts), np.concatenate(pieces)

    def __getitem__(self, index: int) -> dict[str, Any]:
        text, audio = self.compose(index)
        return {"audio": audio, "labels": self.tokenizer(text).input_ids}


@dataclass
class SpeechCollator:
    """Batches features and labels (padded with -100, ignored by the loss) for Seq2SeqTrainer.

    Items carry ``input_features`` (precomputed) or ``audio`` (featurised here, batched). The
    labels lose a leading decoder start token: the model prepends it itself when it shifts labels
    right, so a label that already starts with it would teach the model to emit it twice. With
    ``token_noise`` the decoder inputs are built here, with that share of text tokens replaced
    by text tokens drawn from the batch; the labels stay clean.
    """

    decoder_start_token_id: int
    feature_extractor: Any = None
    token_noise: float = 0.0
    pad_token_id: int = 50257
    first_special_id: int = 50257  # ids from here on are special (end of text, language, task...)
    prefix_length: int = 3  # language, task, no-timestamps: never noised

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        if "audio" in features[0]:
            inputs = self.feature_extractor(
                [f["audio"] for f in features],
                sampling_rate=SAMPLE_RATE,
                return_tensors="pt",
                device="cpu",
            ).input_features.float()
        else:
            inputs = torch.from_numpy(np.stack([f["input_features"] for f in features]))
        labels = [list(f["labels"]) for f in features]
        if all(seq and seq[0] == self.decoder_start_token_id for seq in labels):
            labels = [seq[1:] for seq in labels]
        width = max(len(seq) for seq in labels)
        padded = torch.full((len(labels), width), -100, dtype=torch.long)
        for i, seq in enumerate(labels):
            padded[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        batch = {"input_features": inputs, "labels": padded}
        if self.token_noise > 0:
            batch["decoder_input_ids"] = self.noisy_decoder_inputs(padded)
        return batch

    def noisy_decoder_inputs(self, labels: Any) -> Any:
        """Labels shifted right behind the start token, some text tokens swapped for others."""
        import torch

        inputs = torch.full_like(labels, self.pad_token_id)
        inputs[:, 0] = self.decoder_start_token_id
        inputs[:, 1:] = labels[:, :-1].clamp(min=0)
        inputs[:, 1:][labels[:, :-1] == -100] = self.pad_token_id
        text = (inputs < self.first_special_id) & (inputs != self.pad_token_id)
        text[:, : 1 + self.prefix_length] = False
        pool = inputs[text]
        if pool.numel() == 0:
            return inputs
        swap = text & (torch.rand(inputs.shape) < self.token_noise)
        inputs[swap] = pool[torch.randint(len(pool), (int(swap.sum()),))]
        return inputs


def apply_spec_augment(model: Any, augment: AugmentParams) -> None:
    """Turn on transformers' SpecAugment for Whisper's encoder (active only in training mode)."""
    config = model.config
    config.apply_spec_augment = augment.time_mask_prob > 0 or augment.feature_mask_prob > 0
    config.mask_time_prob = augment.time_mask_prob
    config.mask_feature_prob = augment.feature_mask_prob
