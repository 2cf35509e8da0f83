"""Seen and unseen reported apart: the end-to-end figures and the STT's sentence check."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.bot.evaluate import CallItem, Ranked, Turn, figures, latency
from callbot.bot.scoring import Scored
from callbot.dialogue.policy import Thresholds

SCRIPTED = "질병관리청 콜센터 1339는 이십사 시간 운영됩니다."
TRANSFER = "해당 문의는 담당 기관으로 연결해 드리겠습니다."


def _item(n: int, *, wording: bool, voice: bool, answer: str = SCRIPTED) -> CallItem:
    return CallItem(f"u{n}", "test", Path("x.wav"), "상담 시간", "상담 시간?", "상담 시간 문의", answer,
                    "f1", seen_voice=voice, seen_wording=wording)  # fmt: skip


def _ranked(item: CallItem, channel: int, stt_s: float, confidence: float, right: bool) -> Ranked:
    in_scope = item.answer != TRANSFER
    scored = Scored(confidence, confidence, False, right, in_scope)
    return Ranked(Turn(item, channel, "t", stt_s), scored, "상담 시간 문의", SCRIPTED, None, 0.0)


def test_figures_split_seen_and_unseen_and_their_intersection() -> None:
    ranked = [
        _ranked(_item(0, wording=True, voice=True), 16000, 0.1, 0.9, True),
        _ranked(_item(1, wording=False, voice=False), 16000, 0.1, 0.9, False),
        _ranked(_item(2, wording=False, voice=True), 16000, 0.1, 0.2, True),
        _ranked(_item(3, wording=False, voice=False), 8000, 0.3, 0.9, True),
        _ranked(_item(4, wording=True, voice=False, answer=TRANSFER), 8000, 0.1, 0.1, False),
    ]
    got = figures(ranked, Thresholds(answer=0.5, margin=0.0, confirm=0.5, word=0.0))
    assert got["all"]["items"] == 5
    assert got["all"]["success"] == pytest.approx(3 / 5)  # 0, 3 answered right; 4 handed over (out of scope)
    assert got["all"]["wrong"] == pytest.approx(1 / 5)
    assert got["16k_unseen_wording_unseen_voice"] == {
        "success": 0.0, "wrong": 1.0, "handover": 0.0, "confirm": 0.0, "turns": 1.0, "items": 1,
    }  # fmt: skip
    assert got["8k_unseen_wording_unseen_voice"]["success"] == 1.0
    assert got["wording_unseen"]["items"] == 3 and got["wording_seen"]["items"] == 2
    assert got["voice_unseen"]["items"] == 3
    assert got["8k"]["out_of_scope_handover"] == 1.0
    assert got["by_intent"] == {"상담 시간 문의": 0.6}
    assert latency(ranked)["median_s"] == pytest.approx(0.1)


def test_stt_sentences_seen_in_training_and_the_nearest_text_baseline() -> None:
    from callbot.stt.data import Utterance
    from callbot.stt.evaluate import nearest_training_text, seen_in_training

    def utt(raw: str) -> Utterance:
        return Utterance("u", "", None, raw, raw, 1.0, {})

    train = [utt("저는 예산 편성을 맡았습니다. 성과가 좋았습니다.")]
    test = [utt("저는 예산 편성을 맡았습니다."), utt("저는 예산 편성을 맡았습니다. 새 문장입니다.")]
    assert seen_in_training(test, train) == [True, False]
    assert nearest_training_text(["성과가 좋았다"], ["성과가 좋았습니다", "전혀 다른 말"]) == [
        "성과가좋았습니다"
    ]


def test_candidates_are_the_folders_holding_a_merged_model(tmp_path: Path) -> None:
    from callbot.bot.evaluate import BotEvalError, candidate_dirs

    with pytest.raises(BotEvalError, match="run `callbot train-llm`"):
        candidate_dirs(tmp_path)
    for name in ("kullm", "kogpt"):
        (tmp_path / name / "merged").mkdir(parents=True)
        (tmp_path / name / "merged" / "config.json").write_text("{}")
    (tmp_path / "tokenizer").mkdir()
    assert candidate_dirs(tmp_path) == [tmp_path / "kogpt", tmp_path / "kullm"]


def test_the_callers_voice_and_the_summary_reference() -> None:
    from callbot.bot.evaluate import summary_reference, voice_of

    assert voice_of("m1-r160-p65") == ("ko+m1", 160, 65)  # the yes/no in the caller's own voice
    assert voice_of("") == ("ko", 175, 50) and voice_of("odd") == ("ko", 175, 50)
    item = _item(0, wording=False, voice=False)
    assert summary_reference(item) == "상담 시간 문의"
    oos = CallItem("u", "test", Path("x.wav"), "", "여권은요?", "범위외:타기관", TRANSFER, "", False, False)
    assert summary_reference(oos) == "타기관"
