"""Training-time augmentation: recombined examples, decoder input noise, SpecAugment switches."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from callbot.stt.augment import RecombinedDataset, SpeechCollator, apply_spec_augment
from callbot.stt.segment import SegmentRules, segment_utterance

SR = 16_000


class WordTokenizer:
    """A stand-in that only maps words to ids: the dataset's own logic is what is tested."""

    def __call__(self, text: str):
        ids = [abs(hash(w)) % 1000 for w in text.split()]
        return type("Encoded", (), {"input_ids": ids})()


def augment(params, **overrides):
    return params.stt.augment.model_validate({**params.stt.augment.model_dump(), **overrides})


def units(n: int = 12) -> list[tuple[str, np.ndarray]]:
    """Phrases of 0.5 to 2.7 s, each a constant level that names it (phrase i is all i+1)."""
    return [(f"phrase{i}", np.full(int((0.5 + 0.2 * i) * SR), i + 1, np.float32)) for i in range(n)]


def test_examples_fit_the_window_and_join_texts_in_audio_order(params) -> None:
    data = RecombinedDataset(
        units(), WordTokenizer(), 4.0, augment(params, recombine=1.0), seed=0, length=200
    )
    joined = 0
    for index in range(len(data)):
        text, audio = data.compose(index)
        assert len(audio) <= 4 * SR
        starts = np.flatnonzero(np.diff(np.concatenate([[0.0], audio])) > 0)  # silence -> phrase
        order = [int(audio[i]) for i in starts]
        assert text.split() == [f"phrase{v - 1}" for v in order]
        joined += len(order) > 1
    assert joined > 150  # with recombine 1.0 nearly every example holds several phrases


def test_examples_are_fixed_by_seed_and_index_and_vary_between_them(params) -> None:
    settings = augment(params, recombine=1.0)
    a = RecombinedDataset(units(), WordTokenizer(), 4.0, settings, seed=3, length=50)
    b = RecombinedDataset(units(), WordTokenizer(), 4.0, settings, seed=3, length=50)
    c = RecombinedDataset(units(), WordTokenizer(), 4.0, settings, seed=4, length=50)
    texts_a = [a.compose(i)[0] for i in range(50)]
    assert texts_a == [b.compose(i)[0] for i in range(50)]  # a resumed run sees the same data
    assert texts_a != [c.compose(i)[0] for i in range(50)]
    assert len(set(texts_a)) > 40


def test_recombine_zero_gives_single_phrases(params) -> None:
    data = RecombinedDataset(units(), WordTokenizer(), 4.0, augment(params, recombine=0.0), seed=0, length=40)
    assert all(len(data.compose(i)[0].split()) == 1 for i in range(40))


def test_token_noise_swaps_text_inputs_only_and_keeps_labels() -> None:
    import torch

    torch.manual_seed(0)
    start, eot, ko, task, notime = 50258, 50257, 50264, 50359, 50363
    text = list(range(100, 140))
    items = [
        {"input_features": np.zeros((2, 4), np.float32), "labels": [start, ko, task, notime, *text, eot]}
    ]
    clean = SpeechCollator(start)(items)
    noisy = SpeechCollator(start, token_noise=0.5, pad_token_id=eot, first_special_id=eot)(items)
    assert torch.equal(clean["labels"], noisy["labels"])
    inputs = noisy["decoder_input_ids"][0].tolist()
    assert inputs[:4] == [start, ko, task, notime]  # start and prefix are never noised
    shifted = [start, ko, task, notime, *text]
    changed = sum(a != b for a, b in zip(inputs, shifted, strict=True))
    assert 8 <= changed <= 32  # about half of 40 text inputs (some swaps draw the same token)
    assert set(inputs[4:]) <= set(text)  # replacements are text tokens of the batch


def test_collator_featurises_raw_audio(repo) -> None:
    from transformers import WhisperFeatureExtractor

    extractor = WhisperFeatureExtractor(feature_size=80, chunk_length=2, sampling_rate=SR)
    items = [
        {"audio": np.zeros(SR, np.float32), "labels": [1, 2]},
        {"audio": np.ones(SR // 2, np.float32) * 0.1, "labels": [3]},
    ]
    batch = SpeechCollator(9, feature_extractor=extractor)(items)
    assert tuple(batch["input_features"].shape) == (2, 80, 200)
    assert batch["labels"].tolist() == [[1, 2], [3, -100]]
    assert "decoder_input_ids" not in batch


def test_spec_augment_switches_with_the_masks(params) -> None:
    config = type("Config", (), {})()
    model = type("Model", (), {"config": config})()
    apply_spec_augment(model, augment(params, time_mask_prob=0.05, feature_mask_prob=0.0))
    assert config.apply_spec_augment and config.mask_time_prob == 0.05 and config.mask_feature_prob == 0.0
    apply_spec_augment(model, augment(params, time_mask_prob=0.0, feature_mask_prob=0.0))
    assert not config.apply_spec_augment


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("token_noise", 1.5, "between 0 and 1"),
        ("gap_s", [0.5, 0.1], "shortest, longest"),
        ("gap_s", [0.1], "shortest"),
    ],
)
def test_bad_augment_settings_are_refused(params, field, value, message) -> None:
    with pytest.raises(ValidationError, match=message):
        augment(params, **{field: value})


def test_unpacked_segmentation_keeps_each_phrase_apart() -> None:
    from callbot.tts.espeak import resample, synthesize

    phrases = ["안녕하세요.", "감사합니다.", "커피 한 잔 주세요."]
    pause = np.zeros(int(0.4 * SR), np.float32)
    parts = []
    for phrase in phrases:
        audio, rate = synthesize(phrase)
        parts += [resample(audio, rate, SR).astype(np.float32) / 32768.0, pause]
    audio = np.concatenate([pause, *parts])
    rules = SegmentRules(SR, 4.0, 0.1, 25.0, 1.8)
    text = "안녕하세요 감사합니다 커피 한 잔 주세요"
    packed, _ = segment_utterance("u", audio, text, " ".join(phrases), rules)
    apart, quarantined = segment_utterance("u", audio, text, " ".join(phrases), rules, pack=False)
    assert not quarantined
    assert [s.text for s in apart] == ["안녕하세요", "감사합니다", "커피 한 잔 주세요"]
    assert len(packed) < len(apart)
    assert " ".join(s.text for s in packed) == text


def _loss_inputs(tmp_path):
    import torch
    from transformers import WhisperForConditionalGeneration

    from callbot.stt.model import TinyWhisperShape, build_tiny_whisper

    shape = TinyWhisperShape(
        d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=128, window_s=2.0
    )
    model = WhisperForConditionalGeneration.from_pretrained(
        str(build_tiny_whisper(tmp_path / "m", shape, seed=0))
    )
    torch.manual_seed(0)
    labels = torch.tensor(
        [[50264, 50359, 50363, 101, 2000, 31000, 50257], [50264, 50359, 50363, 777, 50257, -100, -100]]
    )
    return model, {"input_features": torch.randn(2, 80, 200), "labels": labels}


def _corpus_loss(model, inputs, corpus_ids, negatives, ctc_weight=0.0, alphabet=(), tokenizer=None):
    from callbot.stt.loss import CorpusVocabLoss

    loss, _ = CorpusVocabLoss(corpus_ids, negatives, ctc_weight, alphabet, tokenizer)(model, dict(inputs))
    return loss


def test_corpus_loss_over_the_whole_vocabulary_equals_whisper_loss(tmp_path) -> None:
    import torch

    model, inputs = _loss_inputs(tmp_path)
    model.eval()
    vocab = model.config.vocab_size
    with torch.no_grad():
        ours = _corpus_loss(model, inputs, list(range(vocab)), 0)
        theirs = model(**inputs).loss
    assert torch.allclose(ours, theirs, atol=1e-5), (ours, theirs)


def test_corpus_loss_scores_fewer_tokens_and_trains_only_those_rows(tmp_path) -> None:
    import torch

    from callbot.stt.loss import corpus_token_ids

    model, inputs = _loss_inputs(tmp_path)
    model.eval()
    corpus = corpus_token_ids(inputs["labels"].tolist())
    assert -100 not in corpus and 31000 in corpus
    small = _corpus_loss(model, inputs, corpus, 0)
    with torch.no_grad():
        assert small < model(**inputs).loss  # the partition sums over fewer tokens
    small.backward()
    grad = model.proj_out.weight.grad
    touched = torch.nonzero(grad.abs().sum(dim=1)).flatten().tolist()
    # the output layer is tied to the input embedding, so decoder inputs get gradient too
    assert set(touched) >= set(corpus) and len(touched) < 20


def test_ctc_term_is_the_characters_of_the_labels_on_the_encoder(tmp_path) -> None:
    import torch
    import torch.nn.functional as F

    from callbot.stt.loss import attach_ctc_head, ctc_characters, detach_ctc_head
    from callbot.stt.tokenizer import load_tokenizer

    tokenizer = load_tokenizer()
    tokenizer.set_prefix_tokens(language="ko", task="transcribe")
    texts = ["안녕하세요 반갑습니다", "네 감사합니다"]
    alphabet = ctc_characters(texts)
    assert " " not in alphabet and alphabet == sorted(set("안녕하세요반갑습니다네감사합니다"))
    model, inputs = _loss_inputs(tmp_path)
    ids = tokenizer(texts, padding=True).input_ids
    inputs["labels"] = torch.tensor(
        [[t if t != tokenizer.pad_token_id else -100 for t in seq[1:]] for seq in ids]
    )
    inputs["labels"][:, -1] = torch.where(inputs["labels"][:, -1] == -100, -100, tokenizer.eos_token_id)
    head = attach_ctc_head(model, len(alphabet))
    model.eval()
    corpus = list(range(model.config.vocab_size))
    with torch.no_grad():
        plain = _corpus_loss(model, inputs, corpus, 0)
        mixed = _corpus_loss(model, inputs, corpus, 0, 0.4, alphabet, tokenizer)
        encoded = model.model.encoder(inputs["input_features"]).last_hidden_state
        log_probs = head(encoded).log_softmax(-1).transpose(0, 1)
        targets = [[alphabet.index(c) + 1 for c in t.replace(" ", "")] for t in texts]
        ctc = F.ctc_loss(
            log_probs,
            torch.tensor([c for t in targets for c in t]),
            torch.full((2,), log_probs.shape[0]),
            torch.tensor([len(t) for t in targets]),
            zero_infinity=True,
        )
    assert torch.allclose(mixed, 0.6 * plain + 0.4 * ctc, atol=1e-4), (mixed, plain, ctc)
    detach_ctc_head(model)
    assert not any("ctc" in name for name in model.state_dict())


def test_ctc_term_without_an_alphabet_is_refused() -> None:
    import pytest

    from callbot.stt.loss import CorpusVocabLoss

    with pytest.raises(ValueError, match="ctc_alphabet"):
        CorpusVocabLoss(None, 0, ctc_weight=0.3)
