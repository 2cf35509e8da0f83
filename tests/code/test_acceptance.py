"""The acceptance set is really outside the project, and its scorer counts what it says it counts."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from callbot.bot import acceptance as acc
from callbot.bot.acceptance import HANDOVER, RIGHT, WRONG, AcceptanceError, Question, Reply, Script
from callbot.sample import callcenter
from callbot.sample.texts import _JOSA_FORMS, attach_josa
from callbot.text.normalize import normalise

DATA = Path(acc.__file__).resolve().parents[1] / "sample" / "data"


@pytest.fixture(scope="module")
def the_set() -> acc.AcceptanceSet:
    return acc.load_set()


def test_the_set_loads_with_the_questions_the_issues_measured(the_set: acc.AcceptanceSet) -> None:
    expected = {q.text: q.expect for q in the_set.questions}
    assert expected["1339 상담 시간은 언제인가요?"] == "상담 시간 문의"
    assert expected["독감 주사 맞으려면 어느 병원에 가야 해요?"] == "접종기관 문의"
    assert expected["필리핀에서 돌아왔는데 공항에서 해야 할 게 있나요?"] == "입국 검역 문의"
    assert sum(q.in_scope for q in the_set.questions) >= 30
    assert sum(not q.in_scope for q in the_set.questions) >= 8
    assert len(the_set.sentences) == 12 and len(the_set.voices) >= 2
    assert not any(re.search(r"\d", q.say) for q in the_set.questions)


def test_every_expected_intent_is_a_scripted_intent_of_the_corpus(the_set: acc.AcceptanceSet) -> None:
    script = acc.callcenter_script()
    acc.check_intents(the_set, script)  # raises on a name the corpus lacks
    renamed = Script({k: v for k, v in script.answers.items() if k != "접종기관 문의"}, script.transfer)
    with pytest.raises(AcceptanceError, match=r"questions\[1\] expects '접종기관 문의'"):
        acc.check_intents(the_set, renamed)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"text": "백신 12개", "expect": "x"}, r"questions\[0\]\.text: .*digits"),
        ({"text": "1339?", "say": "1339", "expect": "x"}, r"questions\[0\]\.say"),
        ({"text": "질문"}, r"questions\[0\]: expected a mapping with text and expect"),
        ({"text": "질문", "expect": "x", "intent": "y"}, r"questions\[0\]: unknown key"),
        ({"text": " ", "expect": "x"}, r"questions\[0\]\.text: expected non-empty"),
    ],
)
def test_a_bad_question_is_refused_naming_the_item(item: dict, message: str) -> None:
    data = {"voices": [{"voice": "ko", "rate": 150, "pitch": 40}], "questions": [item], "sentences": ["가"]}
    with pytest.raises(AcceptanceError, match=message):
        acc.parse_set(data, "a.yaml")


def test_a_bad_voice_or_a_missing_list_is_refused() -> None:
    base = {"questions": [{"text": "가", "expect": "x"}], "sentences": ["나"]}
    with pytest.raises(AcceptanceError, match=r"voices\[0\]\.rate: expected an integer in 80\.\.450"):
        acc.parse_set({**base, "voices": [{"voice": "ko", "rate": 20, "pitch": 40}]}, "a.yaml")
    with pytest.raises(AcceptanceError, match=r"a\.yaml: sentences: expected a non-empty list"):
        acc.parse_set(
            {**base, "voices": [{"voice": "ko", "rate": 150, "pitch": 40}], "sentences": []}, "a.yaml"
        )


# ---- outside the project ---------------------------------------------------------------------------


def every_filling(c: callcenter.Corpus) -> set[str]:
    """Every call-centre phrasing with its slots filled by every combination of slot values."""
    out: set[str] = set()
    for intent in (*[i for intents in c.domains.values() for i in intents], *c.out_of_scope):
        for template in intent.questions:
            fields = callcenter.template_fields(template)
            for values in itertools.product(*(c.slots[f] for f in fields)):
                out.add(normalise(attach_josa(template.format(**dict(zip(fields, values, strict=True))))))
    return out


def test_no_question_is_a_corpus_phrasing_with_any_slot_values(the_set: acc.AcceptanceSet) -> None:
    filled = every_filling(callcenter.load_corpus())
    assert len(filled) > 2000  # the enumeration really ran
    assert normalise("독감 예방접종은 어디서 맞을 수 있나요?") in filled  # and can match
    copied = [q.text for q in the_set.questions if {normalise(q.text), normalise(q.say)} & filled]
    assert copied == []


def trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


def test_no_question_is_even_close_to_a_corpus_phrasing(the_set: acc.AcceptanceSet) -> None:
    """Not templated either: character-trigram Jaccard to the nearest filled phrasing stays low
    (0.26 at most when written, median 0.10; one word added to a phrasing scores 0.93)."""
    filled = [trigrams(f) for f in every_filling(callcenter.load_corpus())]
    edited = trigrams(normalise("저 독감 예방접종은 어디서 맞을 수 있나요?"))
    assert max(len(edited & f) / len(edited | f) for f in filled) > 0.6  # the measure can see a copy
    for q in the_set.questions:
        said = trigrams(normalise(q.say))
        nearest = max(len(said & f) / len(said | f) for f in filled)
        assert nearest < 0.4, (q.text, nearest)


_PIECE = re.compile(r"(\{[^{}]*\}|" + "|".join(re.escape(k) for k in _JOSA_FORMS) + ")")


def template_pattern(text: str) -> re.Pattern[str] | None:
    """A template as a regex over normalised text, each slot matching ANY words (not only the
    listed values); None for a fragment with under six literal characters (a grammar part)."""
    parts, literal = [], 0
    for piece in _PIECE.split(text):
        if piece.startswith("{"):
            parts.append(".+")
        elif piece in _JOSA_FORMS:
            parts.append("(?:" + "|".join(map(re.escape, _JOSA_FORMS[piece])) + ")")
        else:
            literal += len(normalise(piece))
            parts.append(re.escape(normalise(piece)))
    return re.compile("".join(parts)) if literal >= 6 else None


def test_no_question_matches_any_corpus_template_whatever_fills_its_slots(the_set: acc.AcceptanceSet) -> None:
    texts = acc.corpus_texts(DATA)
    patterns = [p for p in map(template_pattern, texts) if p is not None]
    assert len(patterns) > 500
    probe = normalise("제가 독감 주사를 맞으려고 하는데 어느 병원으로 가면 되나요?")
    assert any(p.fullmatch(probe) for p in patterns)  # a slot filled with words no list has
    for q in the_set.questions:
        for said in {normalise(q.text), normalise(q.say)}:
            assert not [p.pattern for p in patterns if p.fullmatch(said)], q.text


def test_the_voices_are_never_used_by_a_sample_generator(the_set: acc.AcceptanceSet) -> None:
    from callbot.sample import phone

    pc = phone.load_corpus()
    used = {f"ko+{v}" for v in (*pc.variants, *callcenter.SEEN_VARIANTS, *callcenter.UNSEEN_VARIANTS)}
    used |= {"ko+f1", "ko+f4", "ko+m1", "ko+m2", "ko+m3", "ko+m4"}  # the interview's (sample/audio.py)
    for voice in the_set.voices:
        assert voice.voice not in used
        assert voice.rate not in (*pc.rates, *callcenter.RATES) and not 175 <= voice.rate <= 224
        assert voice.pitch not in (*pc.pitches, *callcenter.PITCHES)


def test_the_everyday_sentences_are_mostly_outside_every_corpus(the_set: acc.AcceptanceSet) -> None:
    """Outside the corpus files and the phone sample's lexicon sentences (sample.phone_lexicon_sentences,
    drawn from pinned packages' tokenizers: training text too)."""
    from callbot.config import load_params
    from callbot.sample.phone import corpus, holdout, varied_texts

    sample = load_params().sample
    lexicon = varied_texts(
        "lexicon",
        sample.phone_lexicon_sentences,
        corpus(),
        holdout(corpus(), sample.seed),
        set(),
        sample.seed,
    )
    overlap = acc.corpus_overlap(the_set.sentences, acc.corpus_texts(DATA) + lexicon)
    assert overlap["words"] >= 90
    assert overlap["as_a_corpus_word"] <= 0.2 * overlap["words"]
    inside = acc.corpus_overlap(["주는 물"], ["물 주는 걸"])  # the counter can count
    assert inside == {"words": 2, "as_a_corpus_word": 2, "inside_a_corpus_text": 2}


# ---- the scorer's bookkeeping, on given replies ---------------------------------------------------

SCRIPT = Script(
    {"상담 시간 문의": "일삼삼구는 이십사 시간 운영됩니다.", "접종기관 문의": "보건소로 가세요."},
    "연결해 드리겠습니다.",
)
ASK = Question("1339 상담 시간은?", "상담 시간 문의", "일삼삼구 상담 시간은")
OUT = Question("편도염 맞죠?", HANDOVER, "편도염 맞죠")


def test_read_reply_takes_todays_payload_and_the_action_one() -> None:
    old = acc.read_reply(
        {"text": "연결해 드리겠습니다.", "guarded": True, "intent": "상담 시간 문의|통화 요금 문의"}
    )
    assert (old.action, old.intents) == (HANDOVER, ("상담 시간 문의", "통화 요금 문의"))
    new = acc.read_reply(
        {"text": "맞으세요?", "action": "confirm", "intent": "상담 시간 문의", "guarded": False}
    )
    assert (new.action, new.intents) == ("confirm", ("상담 시간 문의",))
    assert acc.read_reply({"text": "네", "intent": None}).action == "answer"
    with pytest.raises(AcceptanceError, match="expected a JSON object with `text`"):
        acc.read_reply({"error": "boom"})


@pytest.mark.parametrize(
    ("question", "reply", "outcome"),
    [
        (ASK, Reply("answer", (), "일삼삼구는 이십사 시간 운영됩니다."), RIGHT),
        (ASK, Reply("answer", ("상담 시간 문의",), "다른 말"), RIGHT),
        (ASK, Reply("answer", ("접종기관 문의",), "보건소로 가세요."), WRONG),
        (ASK, Reply("answer", ("상담 시간 문의", "접종기관 문의"), "보건소로 가세요."), WRONG),
        (ASK, Reply(HANDOVER, ("상담 시간 문의",), "연결해 드리겠습니다."), HANDOVER),
        (ASK, Reply("answer", (), "연결해 드리겠습니다."), HANDOVER),
        (OUT, Reply(HANDOVER, (), "연결해 드리겠습니다."), RIGHT),
        (OUT, Reply("answer", ("접종기관 문의",), "보건소로 가세요."), WRONG),
    ],
)
def test_judge(question: Question, reply: Reply, outcome: str) -> None:
    assert acc.judge(question, reply, SCRIPT) == outcome


def replies(*payloads: dict) -> tuple[list[tuple[str, list]], acc.ReplyFn]:
    """A bot that gives these payloads in turn, recording what it was sent."""
    sent: list[tuple[str, list]] = []
    queue = list(payloads)

    def reply(text: str, history: list) -> dict:
        sent.append((text, history))
        return queue.pop(0)

    return sent, reply


def test_a_confirm_turn_is_answered_truthfully_and_counted_as_two_turns() -> None:
    confirm = {
        "text": "상담 시간을 물으시는 건가요?",
        "action": "confirm",
        "intent": "상담 시간 문의",
        "signature": "s1",
    }
    sent, reply = replies(confirm, {"text": "일삼삼구는 이십사 시간 운영됩니다.", "action": "answer"})
    call = acc.run_call(ASK, "일삼삼구 상담 시간은", reply, lambda yn: f"<{yn}>", SCRIPT)
    assert (call.outcome, call.turns, call.heard) == (RIGHT, 2, ("일삼삼구 상담 시간은", "<네>"))
    assert sent[1] == (
        "<네>",
        [
            {"role": "user", "content": "일삼삼구 상담 시간은"},
            {"role": "assistant", "content": "상담 시간을 물으시는 건가요?", "signature": "s1"},
        ],
    )
    wrong_guess = {**confirm, "intent": "접종기관 문의"}
    sent, reply = replies(wrong_guess, {"text": "연결해 드리겠습니다.", "action": HANDOVER})
    assert acc.run_call(ASK, "x", reply, lambda yn: yn, SCRIPT).outcome == HANDOVER
    assert sent[1][0] == "아니요"


def test_a_call_still_confirming_after_the_last_turn_is_a_handover_and_a_blind_confirm_is_refused() -> None:
    confirm = {"text": "맞으세요?", "action": "confirm", "intent": "상담 시간 문의"}
    _, reply = replies(*[confirm] * acc.MAX_TURNS)
    call = acc.run_call(ASK, "x", reply, lambda yn: yn, SCRIPT)
    assert (call.outcome, call.turns) == (HANDOVER, acc.MAX_TURNS)
    _, reply = replies({"text": "맞으세요?", "action": "confirm"})
    with pytest.raises(AcceptanceError, match="without `intent`"):
        acc.run_call(ASK, "x", reply, lambda yn: yn, SCRIPT)


def test_summarise_counts_given_outcomes_and_the_always_handover_baseline() -> None:
    questions = [ASK, ASK, ASK, ASK, OUT, OUT]
    got = acc.summarise(questions, [RIGHT, RIGHT, WRONG, HANDOVER, RIGHT, WRONG], [1, 2, 1, 1, 1, 1])
    assert (got["right"], got["wrong"], got["handover"], got["success"]) == (2, 1, 1, 0.5)
    assert (got["no_script_handed_over"], got["wrong_answer_rate"]) == (0.5, round(2 / 6, 4))
    assert (got["mean_turns"], got["two_turn_calls"]) == (round(7 / 6, 3), 1)
    base = acc.always_handover(questions)
    assert (base["success"], base["wrong_answer_rate"], base["no_script_handed_over"]) == (0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="6 questions, 1 outcomes"):
        acc.summarise(questions, [RIGHT], [1])


def test_stt_cer_ignores_spaces_and_punctuation_beside_the_empty_baseline() -> None:
    got = acc.stt_cer(["일삼삼구 상담 시간은?", "가나다"], ["일삼삼구상담 시간은", "가나"])
    assert got == {"cer": round(1 / 12, 4), "empty_transcript_cer": 1.0, "utterances": 2}


@pytest.mark.slow
def test_one_item_spoken_through_the_8khz_line_has_the_expected_length(the_set: acc.AcceptanceSet) -> None:
    voice, question = the_set.voices[0], the_set.questions[0]
    wide = acc.speak(question.say, voice)
    line, rate = acc.on_channel(wide, "8k")
    assert rate == 8000 and line.dtype == wide.dtype
    assert abs(line.size - wide.size / 2) <= 2
    assert 1.2 < line.size / rate < 6.0  # about fifteen syllables at 150 words a minute
    assert 1000 < abs(line.astype(int)).max() < 32767  # speech, not silence, not clipped


def test_the_bench_prints_a_table_and_a_summary_line_from_a_typed_run(the_set: acc.AcceptanceSet) -> None:
    """The bench's plumbing on given replies (every call handed over): no figure here is a claim."""
    import importlib.util

    path = Path(acc.__file__).resolve().parents[2] / "benchmarks" / "acceptance_bench.py"
    spec = importlib.util.spec_from_file_location("acceptance_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    script = acc.callcenter_script()
    bot = acc.Bot(transcribe=lambda samples, rate: "", reply=lambda text, history: dict(bench.EMPTY_HANDOVER))
    result = acc.run_acceptance(the_set, bot, script, spoken=False)
    assert result["typed"] == result["baseline_always_handover"]
    assert "always hand over" in bench.table(result)
    line = bench.summary(result)
    n = result["items"]
    assert f"{n['in_scope']} scripted + {n['no_script']} no-script" in line and "typed success 0.000" in line
