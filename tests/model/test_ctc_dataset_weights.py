"""stt.ctc.dataset_weights: a dataset's share of the CTC steps apart from its share of the clips; none
given, the batches are exactly those of every example once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from callbot.config import ParamsError, load_params
from callbot.stt.ctc_train import Example, length_batches, weighted_indices
from callbot.stt.data import STTDataError


def _examples() -> list[Example]:
    rng = np.random.default_rng(0)
    names = ["callcenter"] * 300 + ["phone"] * 200 + ["interview"] * 100
    return [Example(np.zeros((int(rng.integers(50, 900)), 2), np.float16), [1, 2], name) for name in names]


def test_no_weights_keep_every_example_once_and_the_same_batches() -> None:
    examples = _examples()
    assert weighted_indices(examples, {}, 0) == list(range(len(examples)))
    index = weighted_indices(examples, {}, 0)
    assert length_batches(examples, 32.0, index) == length_batches(examples, 32.0)


def test_weights_set_each_datasets_share_of_an_epoch() -> None:
    examples = _examples()
    index = weighted_indices(examples, {"phone": 2.0, "callcenter": 0.5}, 7)
    counts = Counter(examples[i].dataset for i in index)
    assert counts["phone"] == 400 and counts["interview"] == 100  # whole weights: exact
    assert 120 <= counts["callcenter"] <= 180  # a half: a seeded draw per clip
    assert index == weighted_indices(examples, {"phone": 2.0, "callcenter": 0.5}, 7)  # deterministic
    batches = length_batches(examples, 32.0, index)
    assert sorted(i for b in batches for i in b) == sorted(index)
    assert all(sum(len(examples[i].features) for i in b) <= 3200 or len(b) == 1 for b in batches)


def test_a_weight_for_a_dataset_no_clip_has_names_the_field() -> None:
    with pytest.raises(STTDataError, match=r"stt\.ctc\.dataset_weights names \['phnoe'\].*'phone'"):
        weighted_indices(_examples(), {"phnoe": 2.0}, 0)


@pytest.mark.parametrize("bad", [-1.0, 11.0, "twice"])
def test_a_bad_weight_is_a_params_error_naming_the_field(tmp_path: Path, repo: Path, bad) -> None:
    data = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    assert data["stt"]["ctc"]["dataset_weights"] == {}  # off by default: the committed demo is unchanged
    data["stt"]["ctc"]["dataset_weights"] = {"phone": bad}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError, match=r"stt\.ctc\.dataset_weights"):
        load_params(path)
