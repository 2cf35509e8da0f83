"""Training losses for small Whisper models on CPU: a corpus-vocabulary cross-entropy and CTC.

Whisper's output layer scores all 51,865 tokens at every decoder position. For the smoke model
(width 128) that projection is about three quarters of a training step's arithmetic, while a Korean
corpus uses a few thousand of those tokens. :class:`CorpusVocabTrainer` scores only the tokens of
the training labels plus ``negatives`` others drawn at random for every step, so the rest of the
vocabulary keeps being pushed down and cannot win at inference. The model, its export and
inference are unchanged: this is a training loss only (``stt.loss_vocab: corpus``); ``full``
scores the whole vocabulary (the same value as transformers' own loss).

A model trained from scratch first learns the language and only later to listen: the decoder can
lower its loss by reciting likely text long before the encoder has learnt the sounds. With
``stt.ctc_weight`` > 0 a character CTC head on the encoder output (hybrid CTC/attention, as in
ESPnet) trains the encoder on the sounds from the first step and pushes cross-attention towards a
monotonic alignment. The head is used only in training and is removed before the model is saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from transformers import Seq2SeqTrainer


def corpus_token_ids(label_ids: Iterable[Iterable[int]]) -> list[int]:
    """Sorted distinct ids of the given label sequences (padding -100 left out)."""
    seen: set[int] = set()
    for seq in label_ids:
        seen.update(int(t) for t in seq if int(t) >= 0)
    return sorted(seen)


CTC_HEAD = "ctc_head"


def ctc_characters(texts: Iterable[str]) -> list[str]:
    """The CTC alphabet: every non-space character of the texts, sorted (index 0 is the blank)."""
    return sorted({c for t in texts for c in t if not c.isspace()})


def attach_ctc_head(model: Any, alphabet_size: int) -> Any:
    """A linear CTC head (blank + alphabet) on the encoder, registered on the model so the
    optimiser trains it and checkpoints hold it (a resumed run continues with it)."""
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = torch.nn.Linear(base.config.d_model, alphabet_size + 1)
    base.add_module(CTC_HEAD, head)
    head.requires_grad_(True)  # peft freezes what is not LoRA; the head must still learn
    return head


def detach_ctc_head(model: Any) -> None:
    """Remove the training-only CTC head before the model is saved (a plain Whisper remains)."""
    if hasattr(model, CTC_HEAD):
        delattr(model, CTC_HEAD)


class CorpusVocabLoss:
    """The corpus-vocabulary cross-entropy with an optional CTC term, for a Whisper model.

    ``corpus_ids`` None scores the whole vocabulary. ``ctc_weight`` w gives
    ``(1 - w) * cross-entropy + w * CTC``; the CTC targets are the label text's characters in
    ``ctc_alphabet`` (decoded with ``tokenizer``), scored by the head :func:`attach_ctc_head` added.
    """

    def __init__(
        self,
        corpus_ids: Iterable[int] | None,
        negatives: int,
        ctc_weight: float = 0.0,
        ctc_alphabet: Iterable[str] | None = None,
        tokenizer: Any = None,
    ) -> None:
        import torch

        if ctc_weight > 0 and (not ctc_alphabet or tokenizer is None):
            raise ValueError("a CTC term (ctc_weight > 0) needs ctc_alphabet and tokenizer")
        self.corpus_ids = None if corpus_ids is None else torch.as_tensor(list(corpus_ids), dtype=torch.long)
        self.negatives = negatives
        self.ctc_weight = ctc_weight
        self.ctc_index = {c: i + 1 for i, c in enumerate(ctc_alphabet or [])}
        self.tokenizer = tokenizer

    def _candidates(self, labels: Any, vocab_size: int) -> Any:
        import torch

        if self.corpus_ids is None:
            return torch.arange(vocab_size, device=labels.device)
        present = labels[labels >= 0]
        pool = [self.corpus_ids.to(labels.device), present]
        if self.negatives:
            pool.append(torch.randint(vocab_size, (self.negatives,), device=labels.device))
        return torch.unique(torch.cat(pool))  # sorted, so the label lookup below is a searchsorted

    def __call__(self, model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None) -> tuple[Any, Any]:
        """(loss, logits over the scored tokens). With ``num_items_in_batch`` (the Trainer's count
        of label tokens in the accumulated batch) the loss is normalised by it, else per batch."""
        import torch
        import torch.nn.functional as F
        from transformers.models.whisper.modeling_whisper import shift_tokens_right

        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        config = base.config
        labels = inputs["labels"]
        decoder_inputs = inputs.get("decoder_input_ids")
        if decoder_inputs is None:
            decoder_inputs = shift_tokens_right(labels, config.pad_token_id, config.decoder_start_token_id)
        outputs = base.model(input_features=inputs["input_features"], decoder_input_ids=decoder_inputs)
        hidden = outputs.last_hidden_state
        weight = base.proj_out.weight
        candidates = self._candidates(labels, weight.shape[0])
        logits = hidden @ weight[candidates].T
        mask = labels >= 0
        targets = torch.full_like(labels, -100)
        targets[mask] = torch.searchsorted(candidates, labels[mask])
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="sum"
        )
        loss = loss / (num_items_in_batch if num_items_in_batch is not None else mask.sum().clamp(min=1))
        if self.ctc_weight > 0:
            ctc = self._ctc_loss(base, outputs.encoder_last_hidden_state, labels)
            # the cross-entropy above may be scaled for gradient accumulation; scale CTC alike
            scale = mask.sum() / num_items_in_batch if num_items_in_batch is not None else 1.0
            loss = (1 - self.ctc_weight) * loss + self.ctc_weight * ctc * scale
        return loss, logits

    def _ctc_loss(self, base: Any, encoded: Any, labels: Any) -> Any:
        import torch
        import torch.nn.functional as F

        texts = self.tokenizer.batch_decode(labels.clamp(min=0), skip_special_tokens=True)
        targets = [[self.ctc_index[c] for c in t if c in self.ctc_index] for t in texts]
        log_probs = getattr(base, CTC_HEAD)(encoded).log_softmax(-1).transpose(0, 1)  # (T, B, C)
        frames = torch.full((len(targets),), log_probs.shape[0], dtype=torch.long)
        lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
        flat = torch.tensor([c for t in targets for c in t], dtype=torch.long)
        return F.ctc_loss(log_probs, flat, frames, lengths, blank=0, zero_infinity=True)


class CorpusVocabTrainer(Seq2SeqTrainer):
    """``Seq2SeqTrainer`` whose training loss is a :class:`CorpusVocabLoss` (``loss=``)."""

    def __init__(self, *args: Any, loss: CorpusVocabLoss, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.corpus_loss = loss

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        # normalised over the whole accumulated batch when the Trainer counted it, else per batch
        self.loss_is_scaled_for_ga = num_items_in_batch is not None
        loss, logits = self.corpus_loss(model, inputs, num_items_in_batch)
        return (loss, {"logits": logits}) if return_outputs else loss
