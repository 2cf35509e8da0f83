"""Splits: grouped by interview, stable when data is added, 80/10/10 within each stratum."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
from prepare_tree import add_interview

from callbot.prepare.params import SplitParams
from callbot.prepare.run import run_prepare
from callbot.prepare.splits import assign_split, stratum_shares

SHARES = SplitParams(train=0.8, validation=0.1, test=0.1, salt="test-salt")


def test_adding_data_never_moves_existing_rows(tmp_path: Path, params) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    for i in range(20):
        add_interview(raw, "SM", "MALE", "NEW", i)
    run_prepare(raw, out, params.prepare)
    before = {r["utterance_id"]: r["split"] for r in pq.read_table(out / "records.parquet").to_pylist()}
    for i in range(20, 45):
        add_interview(raw, ("BM", "PS")[i % 2], "FEMALE", "EXPERIENCED", i)
    run_prepare(raw, out, params.prepare)
    rows = pq.read_table(out / "records.parquet").to_pylist()
    after = {r["utterance_id"]: r["split"] for r in rows}
    assert len(after) == 90
    assert {k: after[k] for k in before} == before
    # grouping: a question and its answer always share the split
    by_interview: dict[str, set[str]] = {}
    for r in rows:
        by_interview.setdefault(r["interview_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_interview.values())
    shares = json.loads((out / "splits.json").read_text())["shares_by_stratum"]
    assert set(shares) == {
        "interview/SM/MALE/NEW",
        "interview/BM/FEMALE/EXPERIENCED",
        "interview/PS/FEMALE/EXPERIENCED",
    }
    assert all(abs(sum(v.values()) - 1) < 1e-9 for v in shares.values())


def test_assignment_is_a_pure_function_of_id_and_salt() -> None:
    ids = [f"ckmk_d_sm_m_n_{i:06d}" for i in range(200)]
    first = [assign_split(i, SHARES) for i in ids]
    assert first == [assign_split(i, SHARES) for i in reversed(ids)][::-1]
    other = SplitParams(train=0.8, validation=0.1, test=0.1, salt="another")
    assert first != [assign_split(i, other) for i in ids]  # the salt reshuffles


def test_shares_hold_within_every_stratum() -> None:
    strata = [f"{o}/{g}/{e}" for o in ("BM", "SM", "PS", "RND") for g in ("F", "M") for e in ("N", "E")]
    groups = [(s, assign_split(f"{s}/{i}", SHARES)) for s in strata for i in range(2000)]
    overall = Counter(split for _, split in groups)
    assert abs(overall["train"] / len(groups) - 0.8) < 0.01
    for stratum, shares in stratum_shares(groups).items():
        # binomial noise for n=2000: sd 0.9 points (train), 0.7 points (validation, test)
        assert abs(shares["train"] - 0.8) < 0.03, stratum
        assert abs(shares["validation"] - 0.1) < 0.025, stratum
        assert abs(shares["test"] - 0.1) < 0.025, stratum


def test_shares_must_sum_to_one() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="sum to 1"):
        SplitParams(train=0.8, validation=0.1, test=0.2, salt="x")


def test_split_by_folder_keeps_training_in_train_and_cuts_validation() -> None:
    folder = SplitParams(by="folder", train=0.8, validation=0.1, test=0.1, heldout_validation=0.5, salt="s")
    by_hash = SplitParams(by="hash", train=0.8, validation=0.1, test=0.1, salt="s")
    ids = [f"id-{i}" for i in range(2000)]
    train = Counter(
        assign_split(i, folder, f"ds/01-1.정식개방데이터/Training/02.라벨링데이터/{i}.json") for i in ids
    )
    held = Counter(
        assign_split(i, folder, f"ds/01-1.정식개방데이터/Validation/02.라벨링데이터/{i}.json") for i in ids
    )
    assert train == {"train": 2000}
    assert set(held) == {"validation", "test"} and abs(held["validation"] - 1000) < 100
    # neither folder: the hash shares; by hash: the folder is ignored
    assert [assign_split(i, folder, "loose/x.json") for i in ids] == [assign_split(i, by_hash) for i in ids]
    ignored = Counter(assign_split(i, by_hash, f"Training/{i}.json") for i in ids)
    assert set(ignored) == {"train", "validation", "test"}
