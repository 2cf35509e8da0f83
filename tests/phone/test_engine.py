"""The call engine with the real silero-vad on real (espeak-ng, 8 kHz G.711) caller audio.

These tests are about turn-taking and keypad mechanics, so the bot's replies are scripted
``Reply`` values handed to ``on_reply`` (the engine never calls the bot itself); the end-to-end
tests through a served Bento are in ``test_ws.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from callbot.phone.audio import FRAME_MS
from callbot.phone.engine import CallEngine, Play, Reply, StopPlayback, Think, Transfer
from callbot.phone.vad import StreamingVad
from tests.phone.audio import caller, caller_frames, silence

ANSWER = Reply(
    heard="코로나 검사는 어디서 받나요", answer="가까운 선별진료소에서 받으실 수 있습니다.", handover=False
)
FAILED = Reply(heard="음", answer="상담원에게 연결해 드리겠습니다.", handover=True, reason="low_confidence")
DECLINED = Reply(
    heard="아니요", answer="죄송합니다. 상담원에게 연결해 드리겠습니다.", handover=True, reason="declined"
)


@pytest.fixture(scope="module")
def question() -> np.ndarray:
    return caller("코로나 검사는 어디서 받나요")


@pytest.fixture()
def engine(params) -> CallEngine:
    phone = params.phone.model_copy(update={"turn": params.phone.turn.model_copy(update={"no_input_s": 2.0})})
    prompts = {name: np.zeros(800, dtype=np.int16) for name in phone.prompts.model_dump()}
    return CallEngine(phone, prompts, StreamingVad(phone.turn.vad_threshold))


def feed(engine: CallEngine, frames: list[np.ndarray]) -> list[tuple[int, object]]:
    """(frame index, action) for every action the frames caused."""
    return [(i, a) for i, f in enumerate(frames) for a in engine.on_audio(f)]


def listening(engine: CallEngine) -> CallEngine:
    assert isinstance(engine.start()[0], Play)
    engine.on_playback_done()
    return engine


def test_a_turn_ends_after_the_configured_silence(engine, question, params) -> None:
    listening(engine)
    lead = silence(0.5)
    actions = feed(engine, caller_frames(lead, question, silence(1.5)))
    assert [type(a) for _, a in actions] == [Think]
    at, think = actions[0]
    speech_end_ms = (lead.size + question.size) / 8
    eou = params.phone.turn.end_of_utterance_ms
    assert speech_end_ms + eou - 100 <= (at + 1) * FRAME_MS <= speech_end_ms + eou + 300
    assert think.audio.size >= question.size  # the whole utterance, onset included (pre-roll)


def test_a_backchannel_does_not_stop_the_bot_but_speech_does(engine, question) -> None:
    engine.start()  # the greeting is playing
    assert feed(engine, caller_frames(silence(0.3), caller("네"), silence(1.0))) == []
    assert engine.state == "speaking"
    actions = [a for _, a in feed(engine, caller_frames(question, silence(1.0)))]
    assert isinstance(actions[0], StopPlayback) and isinstance(actions[1], Think)
    assert actions[1].audio.size >= question.size * 0.9  # the barge-in is the next turn, not lost


def test_a_silent_caller_is_prompted_once_then_transferred(engine) -> None:
    listening(engine)
    first = feed(engine, caller_frames(silence(2.1)))
    assert [a.text for _, a in first] == [engine.p.prompts.no_input]
    engine.on_playback_done()
    second = [a for _, a in feed(engine, caller_frames(silence(2.1)))]
    assert len(second) == 1 and second[0].text == engine.p.prompts.transfer and second[0].then == "transfer"
    transfer = engine.on_playback_done()
    assert isinstance(transfer[0], Transfer) and transfer[0].by == "no_input"
    assert engine.record.outcome == "transferred"


def test_keypad_zero_transfers_with_the_context_at_any_time(engine, question) -> None:
    listening(engine)
    think = next(a for _, a in feed(engine, caller_frames(question, silence(1.0))))
    engine.on_reply(ANSWER)  # the answer is playing
    actions = engine.on_dtmf("0")
    assert isinstance(actions[0], StopPlayback)
    transfer = actions[1]
    assert transfer.by == "keypad" and transfer.summary == ANSWER.heard
    assert transfer.transcript == [
        {"role": "caller", "text": ANSWER.heard},
        {"role": "bot", "text": ANSWER.answer},
    ]
    assert think.turn == 1 and engine.record.turns == 1 and engine.record.outcome == "transferred"


def test_two_failed_turns_offer_the_menu_and_a_digit_asks_its_question(engine) -> None:
    listening(engine)
    for expected in ("retry", "menu"):
        engine.state = "thinking"  # as after a Think (the turn's audio does not matter here)
        play = engine.on_reply(FAILED)[0]
        assert play.text == getattr(engine.p.prompts, expected)
        engine.on_playback_done()
    said = [t["text"] for t in engine.record.transcript if t["role"] == "bot"]
    assert said == [engine.p.prompts.retry, engine.p.prompts.menu]  # what the caller heard, not the reply
    think = engine.on_dtmf("1")[0]
    assert isinstance(think, Think) and think.text == engine.p.menu["1"]
    play = engine.on_reply(FAILED)[0]  # a third hand-over: the bot transfers
    assert play.then == "transfer"
    assert engine.on_playback_done()[0].by == "bot"


def test_a_hang_up_mid_turn_is_abandoned_and_after_an_answer_contained(params, engine, question) -> None:
    listening(engine)
    feed(engine, caller_frames(question, silence(1.0)))
    assert engine.state == "thinking"
    assert engine.on_hangup() == [] and engine.record.outcome == "abandoned"
    assert engine.on_reply(ANSWER) == []  # a late reply for a call that is over does nothing
    prompts = {name: np.zeros(800, dtype=np.int16) for name in params.phone.prompts.model_dump()}
    other = listening(CallEngine(params.phone, prompts, StreamingVad(0.5)))
    feed(other, caller_frames(question, silence(1.0)))
    other.on_reply(ANSWER)
    other.on_playback_done()
    other.on_hangup()
    assert other.record.outcome == "contained" and other.record.turns == 1


def test_a_declined_confirm_is_transferred_at_once_with_what_was_said(engine) -> None:
    """The caller said no to the bot's guess: asking again would get the same guess, so a person takes
    the call after the bot's own hand-over line, and the transcript says what the caller heard."""
    listening(engine)
    engine.state = "thinking"
    play = engine.on_reply(DECLINED)[0]
    assert play.text == DECLINED.answer and play.then == "transfer"
    transfer = engine.on_playback_done()[0]
    assert isinstance(transfer, Transfer) and transfer.by == "bot"
    assert transfer.transcript[-1] == {"role": "bot", "text": DECLINED.answer}
    assert engine.record.outcome == "transferred"
