"""e5-ft smoke test on the real e5 weights: a few LoRA steps lower the contrastive loss, the run is
deterministic, and the served path (factors saved, merged into a fresh torch e5) gives the rows the
training scored."""

from __future__ import annotations

import numpy as np
import pytest

from callbot.intent.encoders import EncoderError
from callbot.intent.finetune import finetune, pair_batches
from callbot.intent.tuned import Adapter, Tuned

PHRASINGS = {
    "접종기관 문의": [
        "독감 주사는 어디서 맞아요?",
        "예방접종 하는 병원을 알고 싶어요",
        "접종 가능한 기관이 어디예요?",
    ],
    "검사결과 문의": [
        "코로나 검사 결과는 언제 나와요?",
        "검사 결과를 어떻게 확인하나요?",
        "결과 통보는 문자로 오나요?",
    ],
    "진드기 물림": [
        "진드기에 물렸는데 어떻게 해요?",
        "등산하고 진드기를 발견했어요",
        "진드기 물린 자국이 부었어요",
    ],
    "해외입국": [
        "필리핀에서 돌아왔는데 할 일이 있나요?",
        "해외에서 입국하면 신고해야 하나요?",
        "입국 후 증상이 있으면요?",
    ],
}
TEXTS = [t for phrasings in PHRASINGS.values() for t in phrasings]
INTENTS = [i for i, phrasings in PHRASINGS.items() for _ in phrasings]
OTHERS = ["1339 상담 시간은 언제인가요?", "아이가 열이 나요"]


@pytest.fixture(scope="module")
def section(params):
    update = {"finetune_steps": 8, "finetune_batch": 4, "finetune_layers": 2, "finetune_rank": 4,
              "finetune_lr": 0.002, "threads": 1, "seed": 0, "finetune_head_weight": 0.0}  # fmt: skip
    return params.intent.model_copy(update=update)


@pytest.fixture(scope="module")
def tuned(section):
    return finetune(TEXTS, INTENTS, TEXTS + OTHERS, section)


def test_batches_pair_two_phrasings_of_distinct_intents(section) -> None:
    batches = pair_batches(TEXTS, INTENTS, section)
    assert len(batches) == section.finetune_steps
    for pairs in batches:
        intents = [INTENTS[TEXTS.index(a)] for a, _ in pairs]
        assert len(set(intents)) == len(pairs) == 4
        assert all(a != b and INTENTS[TEXTS.index(b)] == INTENTS[TEXTS.index(a)] for a, b in pairs)
    with pytest.raises(EncoderError, match="e5-ft"):
        pair_batches(TEXTS[:2], ["a", "b"], section)


@pytest.mark.slow
def test_a_few_steps_lower_the_loss_deterministically(tuned, section) -> None:
    adapter, rows = tuned
    losses = adapter.losses
    assert len(losses) == section.finetune_steps
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.05, losses
    assert len(adapter.factors) == 2 * section.finetune_layers  # query and value of each top layer
    assert all(np.abs(b).max() > 0 for _, b in adapter.factors.values())  # the adapters moved
    again, rows_again = finetune(TEXTS, INTENTS, TEXTS + OTHERS, section)
    assert again.losses == losses
    np.testing.assert_array_equal(rows, rows_again)


@pytest.mark.slow
def test_the_saved_adapter_merged_into_a_fresh_e5_gives_the_training_rows(tuned, tmp_path) -> None:
    adapter, rows = tuned
    adapter.save(tmp_path / "e5ft.npz")
    served = Tuned(Adapter.load(tmp_path / "e5ft.npz"), threads=1).encode(TEXTS + OTHERS)
    assert np.abs(served - rows).max() < 1e-4
    assert np.allclose(np.linalg.norm(served, axis=1), 1.0, atol=1e-5)


def test_a_broken_adapter_file_is_named(tmp_path) -> None:
    (tmp_path / "e5ft.npz").write_bytes(b"not a zip")
    with pytest.raises(EncoderError, match=r"e5ft\.npz"):
        Adapter.load(tmp_path / "e5ft.npz")


@pytest.mark.slow
def test_an_e5_ft_model_saves_and_loads_with_its_merged_encoder(params, tmp_path) -> None:
    """train-intent with e5-ft alone: the model directory holds the adapter, and the loaded model (the
    LoRA merged into a fresh torch e5 from the package weights) ranks as the trained one did."""
    from callbot.intent.model import IntentModelError, load
    from callbot.intent.train import train_intent
    from tests.support.intent_records import write_records

    prepared = write_records(params.sample, tmp_path / "prepared", dialogues=120)
    update = {
        "candidates": ["e5-ft"],
        "C": [10.0],
        "finetune_steps": 3,
        "finetune_batch": 4,
        "finetune_layers": 1,
    }
    trained = train_intent(params.intent.model_copy(update=update), prepared, tmp_path / "m", tmp_path / "r")
    assert (tmp_path / "m" / "e5ft.npz").is_file() and trained.metrics["finetune"]["steps"] == 3
    texts = ["독감 주사는 어디서 맞아요?", "진드기에 물렸는데 어떻게 해요?"]
    loaded = load(tmp_path / "m")
    assert loaded.encoder.name == "e5-ft" and loaded.encoder.tuned is not None
    np.testing.assert_allclose(loaded.probabilities(texts), trained.model.probabilities(texts), atol=1e-5)
    (tmp_path / "m" / "e5ft.npz").unlink()
    with pytest.raises(IntentModelError, match=r"e5ft\.npz"):
        load(tmp_path / "m")


def test_the_joint_head_adds_its_weighted_cross_entropy_to_the_contrastive_loss() -> None:
    """SetFit's second stage, joint: weight 0 is the contrastive loss alone; a weight adds weight x the
    head's cross-entropy on the same rows, so the encoder is pushed toward the label boundaries."""
    import torch

    from callbot.intent.finetune import LOSS_SCALE, _step_loss

    torch.manual_seed(0)
    rows = torch.nn.functional.normalize(torch.randn(6, 384), dim=-1)
    pairs = [("a", "b"), ("c", "d"), ("e", "f")]
    head, labels = torch.nn.Linear(384, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    alone = _step_loss(rows, pairs, None, labels, 0.0)
    assert torch.equal(_step_loss(rows, pairs, head, labels, 0.0), alone)
    ce = torch.nn.functional.cross_entropy(head(rows * LOSS_SCALE), labels)
    assert torch.allclose(_step_loss(rows, pairs, head, labels, 0.5), alone + 0.5 * ce)


@pytest.mark.slow
def test_a_weighted_head_trains_with_the_adapters_and_changes_the_rows(tuned, section) -> None:
    adapter, rows = tuned
    joint, joint_rows = finetune(
        TEXTS, INTENTS, TEXTS + OTHERS, section.model_copy(update={"finetune_head_weight": 1.0})
    )
    assert (
        joint.losses[0] > adapter.losses[0] + 0.5
    )  # the head's cross-entropy over 4 intents starts near ln 4
    assert np.mean(joint.losses[-3:]) < np.mean(joint.losses[:3]) - 0.1, joint.losses
    assert np.abs(joint_rows - rows).max() > 1e-3
