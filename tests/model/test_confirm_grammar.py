"""Closed-set recognition of the confirm reply (callbot.stt.grammar) on a trained CTC model and real
espeak-ng audio: a lone 네 is heard as yes; a question, another short word or noise is never a yes;
an STT without CTC posteriors (Whisper) falls back to parsing its transcript. (tests/code/
test_confirm_scores.py checks the scoring itself on posteriors built by hand, with no model.)

The checks always run on ``small_ctc`` (tests/model/conftest.py): a small model trained in this session
through ``train_ctc`` on sentences and the phone corpus's lone short answers by three training voices.
Its closed-set thresholds are calibrated here as evaluate-bot calibrates them: on clips of two voices
it never heard (the caller's yes and no, ``NOT_ANSWERS``, a question and noise in each, both
channels), no false yes allowed on them. The checks then hear three other unheard voices (the phone
corpus's own unheard f4, m6, m7). Where the shipped model exists (``models/stt``, or
``$CALLBOT_TEST_STT``) the same checks also run on it, with the benchmark's validation calibration of
that model (``RULES``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callbot.bot.evaluate import FALSE_YES_KEPT
from callbot.dialogue.policy import NO_PHRASES, NOT_ANSWERS, YES_PHRASES, Thresholds, grammar_answer, yes_no
from tests.support.ctc_corpus import HELD_OUT, TRAIN_VOICES, UNSEEN

pytestmark = pytest.mark.slow

# the benchmark's validation calibration on the demo's model (benchmarks/confirm_reply_bench.py)
RULES = Thresholds(grammar=0.23, grammar_margin=0.1)
SHIPPED = Path(os.environ.get("CALLBOT_TEST_STT", Path(__file__).resolve().parents[2] / "models" / "stt"))
MODELS = ["small", *(["shipped"] if (SHIPPED / "model" / "ctc.pt").is_file() else [])]
# the small model's calibration voices (evaluate-bot's record names: ko+m2 at rate 150, pitch 50, ...)
VALIDATION = ("m2-r150-p50", "m4-r170-p40")
TEST_VOICES = ("ko+f4", "ko+m6", "ko+m7")  # the phone corpus's unheard voices, never in training here
CHANNELS = (16000, 8000)


@pytest.fixture(scope="module")
def small_heard(small_ctc, params) -> tuple[Any, Thresholds]:
    """The session's small model and its closed-set thresholds calibrated on its validation voices."""
    from callbot.stt.infer import load_transcriber

    stt = load_transcriber(small_ctc["root"] / "models", batch_size=1)
    return stt, calibrated(stt, params.bot.policy)


@pytest.fixture(scope="module", params=MODELS)
def heard(request) -> tuple[Any, Thresholds]:
    """(transcriber, closed-set thresholds) of each model the checks run on."""
    from callbot.stt.infer import load_transcriber

    if request.param == "shipped":
        return load_transcriber(SHIPPED, batch_size=1), RULES
    return request.getfixturevalue("small_heard")


def calibrated(stt: Any, policy: Any) -> Thresholds:
    """The closed set's (threshold, margin) from the validation voices' clips, through evaluate-bot's
    own hearing (``replies_heard``, ``noise_scores``) and calibration (``calibrate_grammar``).

    Why not ``RULES``: they are the shipped model's; on the small one they take a validation voice's
    "제" (m4, 8 kHz: yes phrase 예 0.09 a frame behind the free decode) as yes (calibrated on this
    model when this test was written: threshold 0.0, margin 0.2)."""
    from callbot.bot.evaluate import hear_reply, noise_scores, replies_heard, voice_of
    from callbot.bot.scoring import calibrate_grammar

    def pair(s: dict[str, Any]) -> tuple[float, float]:
        return float(s["yes"]["deficit"]), float(s["no"]["deficit"])

    positives, negatives = [], []
    for voice in VALIDATION:
        name, rate, pitch = voice_of(voice)
        assert name in HELD_OUT
        for channel in CHANNELS:
            _, _, yes, no, others = replies_heard(stt, policy, voice, channel, negatives=True)
            positives += [(*pair(yes), True), (*pair(no), False)]
            question = hear_reply(stt, said(UNSEEN, name, rate, pitch, channel))[1]
            negatives += [pair(s) for s in [*others, question, *noise_scores(stt, channel)]]
    tau, margin, _ = calibrate_grammar(positives, negatives, policy.grammar_margins)
    return Thresholds(grammar=tau, grammar_margin=margin)


def said(text: str, voice: str, rate: int, pitch: int, channel: int) -> np.ndarray:
    from callbot.bot.evaluate import on_line
    from callbot.tts.espeak import Utterance, synthesize_fresh

    assert voice not in TRAIN_VOICES  # the checks hear voices no training clip has
    ((samples, sr),) = synthesize_fresh([Utterance(text, rate, pitch, voice)])
    return on_line(0.5 * samples.astype(np.float32) / 32768.0, sr, channel)


@pytest.mark.parametrize(
    ("voice", "rate", "pitch", "channel"), [("ko+m6", 150, 50, 16000), ("ko+m7", 150, 40, 8000)]
)
def test_a_lone_ne_is_scored_as_yes(heard, voice, rate, pitch, channel) -> None:
    """Whatever the free decode writes, the closed set finds 네 the best phrase, the yes clearly ahead
    of every no phrase, and the thresholds never take it as a no."""
    stt, rules = heard
    clip = said("네", voice, rate, pitch, channel)
    text = stt.transcribe(clip).text
    scores = stt.confirm_scores(clip, YES_PHRASES, NO_PHRASES)
    assert scores.yes.phrase in ("네", "네네"), scores
    assert scores.yes.deficit + rules.grammar_margin < scores.no.deficit, (scores, rules)
    assert grammar_answer(scores.to_json(), rules) is not False, (scores, rules)
    assert "\ufffd" not in text and scores.frames > 0


def test_the_calibrated_closed_set_hears_most_lone_ne_as_yes(small_heard) -> None:
    """With the thresholds calibrated on the small model's validation voices, a lone 네 in the three
    test voices on both channels is heard as yes more often than not, and never as no (an unclear
    reply is asked again). The shipped model's ``RULES`` hear about half of the unheard voices' 네
    (benchmarks/confirm_reply_bench.py), so there the check is the ranking above."""
    stt, rules = small_heard
    answers = [
        grammar_answer(
            stt.confirm_scores(said("네", voice, 150, 50, channel), YES_PHRASES, NO_PHRASES).to_json(), rules
        )
        for voice in TEST_VOICES
        for channel in CHANNELS
    ]
    assert False not in answers and answers.count(True) > len(answers) / 2, (answers, rules)


def test_no_is_heard_as_no(heard) -> None:
    stt, rules = heard
    scores = stt.confirm_scores(said("아니요", "ko+f4", 150, 50, 8000), YES_PHRASES, NO_PHRASES)
    assert grammar_answer(scores.to_json(), rules) is False, (scores, rules)


@pytest.mark.parametrize("text", ["코로나 검사는 어디서 받나요", "내일", "네시"])
def test_a_question_or_another_word_is_not_a_yes(heard, text: str) -> None:
    stt, rules = heard
    for voice, rate, pitch in (("ko+m7", 150, 40), ("ko+m6", 150, 50)):
        for channel in CHANNELS:
            scores = stt.confirm_scores(said(text, voice, rate, pitch, channel), YES_PHRASES, NO_PHRASES)
            assert grammar_answer(scores.to_json(), rules) is not True, (voice, channel, scores, rules)


def test_silence_and_noise_are_not_a_yes(heard) -> None:
    stt, rules = heard
    rng = np.random.default_rng(1)
    for clip in (np.zeros(16000, np.float32), (0.05 * rng.standard_normal(24000)).astype(np.float32)):
        scores = stt.confirm_scores(clip, YES_PHRASES, NO_PHRASES)
        assert grammar_answer(scores.to_json(), rules) is not True, (scores, rules)


def test_a_clip_heard_as_a_reply_carries_what_the_report_names(small_heard) -> None:
    """evaluate-bot's false-yes record reads the clip's text, voice, channel and free transcript from
    what ``hear_reply`` returns (tests/code/test_confirm_report.py checks the record itself)."""
    from callbot.bot.evaluate import hear_reply

    stt, _ = small_heard
    clip = said("제", "ko+m6", 150, 50, 8000)
    parsed, scores = hear_reply(stt, clip, "제", "m6-r150-p50", 8000)
    heard = stt.transcribe(clip).text
    assert {k: scores[k] for k in ("text", "voice", "channel", "heard", "parsed")} == {
        "text": "제", "voice": "m6-r150-p50", "channel": 8000, "heard": heard, "parsed": yes_no(heard),
    }  # fmt: skip
    assert parsed == yes_no(heard) and scores["yes"]["phrase"] in YES_PHRASES


def test_evaluate_bots_confirm_block_on_a_real_model(small_ctc, params, tmp_path: Path) -> None:
    """evaluate-bot's hearing (``transcribe``), calibration and ``confirm_reply`` block wired as
    run_evaluate_bot wires them, on the small model and two validation and one test caller: every
    not-answer clip is labelled, the closed set's calibration leaves no false yes on validation, and the
    words' false yeses are all counted and named."""
    import json

    import soundfile as sf

    from callbot.bot.evaluate import CallItem, calibrate_heard, confirm_figures, transcribe, voice_of
    from tests.support.ctc_corpus import speak

    bot = params.bot.model_copy(update={"stt": str(small_ctc["root"] / "models"), "channels": list(CHANNELS)})
    items: dict[str, list[CallItem]] = {}
    for split, voices in (("validation", VALIDATION), ("test", ("m6-r150-p50",))):
        for i, voice in enumerate(voices):
            name, rate, pitch = voice_of(voice)
            sf.write(tmp_path / f"{split}{i}.wav", speak(UNSEEN, rate, pitch, name), 16000)
            items.setdefault(split, []).append(CallItem(
                f"{split}{i}", split, tmp_path / f"{split}{i}.wav", UNSEEN, UNSEEN, "예약", "답", voice, False, False
            ))  # fmt: skip
    (val, negatives), (test, _) = transcribe(bot, items["validation"]), transcribe(bot, items["test"])
    val, test, grammar, closed = calibrate_heard(val, test, negatives, bot.policy.grammar_margins)
    block = confirm_figures(val, grammar, negatives, closed, bot.policy.caller_no)
    assert len(negatives) == len(VALIDATION) * len(CHANNELS) * len(NOT_ANSWERS) + 4 * len(CHANNELS)
    assert all(n["text"] and n["channel"] in CHANNELS and "heard" in n for n in negatives)
    words, calibrated = block["false_yes"]["words"], block["false_yes"]["closed_set"]
    parsed_yes = [c for c in [*negatives, *(t.own_scores for t in val)] if c["parsed"] is True]
    assert words["count"] == len(parsed_yes) + block["no_heard_as_yes_text"]
    named = [bot.policy.caller_no] * block["no_heard_as_yes_text"] + [c["text"] for c in parsed_yes]
    assert [c["text"] for c in words["clips"]] == named[:FALSE_YES_KEPT]
    assert calibrated is not None and calibrated["count"] == 0 and block["negatives"] == len(negatives) + 4
    assert confirm_figures(test, grammar, [], closed, bot.policy.caller_no)["negatives"] == 0
    json.dumps(block, allow_nan=False)


def test_whisper_has_no_closed_set_and_the_reply_is_parsed_from_its_text(tmp_path: Path) -> None:
    """The Whisper profile gives no CTC posteriors of its own: evaluate-bot and the service parse the text."""
    from callbot.bot.evaluate import hear_reply
    from callbot.stt.infer import load_transcriber
    from callbot.stt.model import build_tiny_whisper

    build_tiny_whisper(tmp_path / "model", seed=0)
    whisper = load_transcriber(tmp_path, batch_size=1)
    clip = said("네", "ko+m6", 150, 50, 16000)
    assert whisper.backend != "ctc" and whisper.confirm_scores(clip, YES_PHRASES, NO_PHRASES) is None
    heard, scores = hear_reply(whisper, clip)
    assert scores is None and heard == yes_no(whisper.transcribe(clip).text)
