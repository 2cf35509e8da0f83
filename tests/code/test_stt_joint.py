"""Joint CTC/attention decoding: the CTC prefix scores against brute force, and the saved head."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


def _collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(k for k, _ in itertools.groupby(path) if k != 0)


def _brute_force(log_probs, prefix: tuple[int, ...]) -> tuple[float, float]:
    """(log P(transcript starts with prefix), log P(transcript == prefix)) over every frame path."""
    frames, classes = log_probs.shape
    starts, exact = [], []
    for path in itertools.product(range(classes), repeat=frames):
        score = float(sum(log_probs[t, k] for t, k in enumerate(path)))
        text = _collapse(path)
        if text[: len(prefix)] == prefix:
            starts.append(score)
        if text == prefix:
            exact.append(score)
    return (
        float(torch.logsumexp(torch.tensor(starts, dtype=torch.float64), 0)),
        float(torch.logsumexp(torch.tensor(exact, dtype=torch.float64), 0)) if exact else -math.inf,
    )


@pytest.mark.parametrize("prefix", [(1,), (2,), (1, 1), (1, 2), (2, 1, 2), (1, 1, 2)])
def test_prefix_scores_equal_a_sum_over_every_frame_path(prefix) -> None:
    from callbot.stt.joint import _PrefixScorer

    torch.manual_seed(len(prefix) * 7 + prefix[0])
    log_probs = torch.randn(1, 6, 3, dtype=torch.float64).log_softmax(-1)  # blank + 2 characters
    scorer = _PrefixScorer(log_probs)
    chars = [c - 1 for c in prefix]
    for j, char in enumerate(chars):  # before each extension, all_next must foresee its score
        foreseen = float(scorer.all_next()[0, char])
        got = float(scorer.extend_chain([0], [[char]], commit=True)[0])
        assert got == pytest.approx(foreseen, abs=1e-9)
        assert got == pytest.approx(_brute_force(log_probs[0], prefix[: j + 1])[0], abs=1e-9)
    starts, exact = _brute_force(log_probs[0], prefix)
    assert float(scorer.prefix[0]) == pytest.approx(starts, abs=1e-9)
    assert float(scorer.full()[0]) == pytest.approx(exact, abs=1e-9)
    ctc = torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1),
        torch.tensor([prefix]),
        torch.tensor([6]),
        torch.tensor([len(prefix)]),
        reduction="sum",
    )
    assert float(scorer.full()[0]) == pytest.approx(-float(ctc), abs=1e-6)


def test_a_chain_without_commit_leaves_the_hypothesis_alone() -> None:
    from callbot.stt.joint import _PrefixScorer

    log_probs = torch.randn(2, 5, 4, dtype=torch.float64).log_softmax(-1)
    scorer = _PrefixScorer(log_probs)
    scorer.extend_chain([0, 1], [[0], [2]], commit=True)
    before = scorer.r_n.clone(), scorer.r_b.clone(), scorer.prefix.clone()
    looked = scorer.extend_chain([1, 1], [[0, 1], [2]], commit=False)
    assert torch.equal(scorer.r_n, before[0]) and torch.equal(scorer.prefix, before[2])
    assert float(looked[0]) <= float(scorer.prefix[1])  # a longer prefix is never more likely


def test_characters_follow_tokens_that_split_a_syllable() -> None:
    from callbot.stt.joint import _Characters

    syllable = "습".encode()
    table = (syllable[:2], syllable[2:], " 네".encode(), b"a", "니다".encode())
    chars = _Characters(["네", "니", "다", "습"], table)
    assert chars.step(b"", 0) == ([], syllable[:2], False)  # half a syllable: nothing to score yet
    assert chars.completing(syllable[:2]) == [3]
    assert chars.step(syllable[:2], 1) == ([3], b"", False)
    assert chars.step(b"", 2) == ([0], b"", False)  # the space is not a CTC character
    assert chars.step(b"", 3) == ([], b"", True)  # outside the alphabet the head was trained on
    assert chars.step(b"", 4) == ([1, 2], b"", False)


def _save(tmp_path: Path, rows: int = 4, d_model: int = 8, weight: float = 0.3):
    from callbot.stt.joint import save_ctc_head

    head = torch.nn.Linear(d_model, rows)
    save_ctc_head(tmp_path, head, ["가", "나", "다"][: rows - 1], weight, 5)
    return head


def test_saved_head_loads_back_and_bad_ones_name_the_file(tmp_path: Path) -> None:
    from callbot.stt.joint import CTC_META, CTC_WEIGHTS, CTCHeadError, load_ctc_head

    assert load_ctc_head(tmp_path, 8) is None  # no head: attention-only decoding
    head = _save(tmp_path)
    loaded = load_ctc_head(tmp_path, 8)
    assert loaded is not None and loaded.alphabet == ["가", "나", "다"] and loaded.candidates == 5
    assert torch.equal(loaded.weight, head.weight.detach()) and loaded.decode_weight == 0.3
    with pytest.raises(CTCHeadError, match=CTC_WEIGHTS):
        load_ctc_head(tmp_path, 16)  # a head for another model width
    meta = json.loads((tmp_path / CTC_META).read_text())
    (tmp_path / CTC_META).write_text(json.dumps({**meta, "decode_weight": 0.0}))
    assert load_ctc_head(tmp_path, 8) is None  # weight 0 turns joint decoding off
    (tmp_path / CTC_META).write_text("{not json")
    with pytest.raises(CTCHeadError, match=CTC_META):
        load_ctc_head(tmp_path, 8)
    _save(tmp_path)
    (tmp_path / CTC_WEIGHTS).unlink()
    with pytest.raises(CTCHeadError, match="missing"):
        load_ctc_head(tmp_path, 8)


def test_a_head_that_does_not_fit_its_alphabet_is_not_saved(tmp_path: Path) -> None:
    from callbot.stt.joint import CTC_WEIGHTS, CTCHeadError, save_ctc_head

    with pytest.raises(CTCHeadError, match="3 characters"):
        save_ctc_head(tmp_path, torch.nn.Linear(8, 9), ["가", "나", "다"], 0.3, 5)
    assert not (tmp_path / CTC_WEIGHTS).exists()
