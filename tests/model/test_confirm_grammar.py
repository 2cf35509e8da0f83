"""Closed-set recognition of the confirm reply (callbot.stt.grammar) on the shipped CTC model and real
espeak-ng audio: a lone 네 is scored as yes; a question, another short word or noise is never a yes;
an STT without CTC posteriors (Whisper) falls back to parsing its transcript. (tests/code/
test_confirm_scores.py checks the scoring itself on posteriors built by hand, with no model.)

The shipped model is train-stt's output (``models/stt``, or ``$CALLBOT_TEST_STT``); without it the
model tests skip and say which command makes it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from callbot.dialogue.policy import NO_PHRASES, YES_PHRASES, Thresholds, grammar_answer, yes_no

pytestmark = pytest.mark.slow

# the benchmark's validation calibration on the demo's model (benchmarks/confirm_reply_bench.py)
RULES = Thresholds(grammar=0.23, grammar_margin=0.1)


@pytest.fixture(scope="module")
def stt(repo: Path):
    from callbot.stt.infer import load_transcriber

    model = Path(os.environ.get("CALLBOT_TEST_STT", repo / "models" / "stt"))
    if not (model / "model" / "ctc.pt").is_file():
        pytest.skip(f"{model}: no trained CTC STT; run `callbot train-stt` (or set CALLBOT_TEST_STT)")
    return load_transcriber(model, batch_size=1)


def said(text: str, voice: str, rate: int, pitch: int, channel: int) -> np.ndarray:
    from callbot.bot.evaluate import on_line
    from callbot.tts.espeak import Utterance, synthesize_fresh

    ((samples, sr),) = synthesize_fresh([Utterance(text, rate, pitch, voice)])
    return on_line(0.5 * samples.astype(np.float32) / 32768.0, sr, channel)


@pytest.mark.parametrize(
    ("voice", "rate", "pitch", "channel"), [("ko+m6", 150, 50, 16000), ("ko", 150, 40, 8000)]
)
def test_a_lone_ne_is_scored_as_yes(stt, voice, rate, pitch, channel) -> None:
    """Whatever the free decode writes (the model before the short answers read 나 or 캐 here), the
    closed set finds 네 the best phrase and the yes clearly ahead of every no phrase."""
    clip = said("네", voice, rate, pitch, channel)
    text = stt.transcribe(clip).text
    scores = stt.confirm_scores(clip, YES_PHRASES, NO_PHRASES)
    assert (
        scores.yes.phrase in ("네", "네네") and scores.yes.deficit + RULES.grammar_margin < scores.no.deficit
    )
    assert "\ufffd" not in text and scores.frames > 0


def test_no_is_heard_as_no(stt) -> None:
    scores = stt.confirm_scores(said("아니요", "ko+f4", 150, 50, 8000), YES_PHRASES, NO_PHRASES)
    assert grammar_answer(scores.to_json(), RULES) is False


@pytest.mark.parametrize("text", ["코로나 검사는 어디서 받나요", "내일", "네시"])
def test_a_question_or_another_word_is_not_a_yes(stt, text: str) -> None:
    for voice, rate, pitch in (("ko", 150, 40), ("ko+m6", 150, 50)):
        for channel in (16000, 8000):
            scores = stt.confirm_scores(said(text, voice, rate, pitch, channel), YES_PHRASES, NO_PHRASES)
            assert grammar_answer(scores.to_json(), RULES) is not True, (voice, channel, scores)


def test_silence_and_noise_are_not_a_yes(stt) -> None:
    rng = np.random.default_rng(1)
    for clip in (np.zeros(16000, np.float32), (0.05 * rng.standard_normal(24000)).astype(np.float32)):
        scores = stt.confirm_scores(clip, YES_PHRASES, NO_PHRASES)
        assert grammar_answer(scores.to_json(), RULES) is not True, scores


def test_whisper_has_no_closed_set_and_the_reply_is_parsed_from_its_text(tmp_path: Path) -> None:
    """The Whisper profile gives no CTC posteriors of its own: evaluate-bot and the service parse the text."""
    from callbot.bot.evaluate import hear_reply
    from callbot.stt.infer import load_transcriber
    from callbot.stt.model import build_tiny_whisper

    build_tiny_whisper(tmp_path / "model", seed=0)
    whisper = load_transcriber(tmp_path, batch_size=1)
    clip = said("네", "ko", 150, 40, 16000)
    assert whisper.backend != "ctc" and whisper.confirm_scores(clip, YES_PHRASES, NO_PHRASES) is None
    heard, scores = hear_reply(whisper, clip)
    assert scores is None and heard == yes_no(whisper.transcribe(clip).text)
