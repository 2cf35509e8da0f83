"""Fixtures of the model tests shared across modules."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def small_ctc(tmp_path_factory, params) -> dict[str, Any]:
    """A small jamo CTC model trained once per session through ``train_ctc`` (what `callbot train-stt`
    runs) on espeak-ng sentences and the phone corpus's lone short answers by three training voices
    (``tests/support/ctc_corpus.py``): test_stt_ctc checks the recipe on it, test_confirm_grammar the
    confirm reply's closed set on voices it never heard."""
    from tests.support.ctc_corpus import train_small

    return train_small(tmp_path_factory.mktemp("ctc"), params)
