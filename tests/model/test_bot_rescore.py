"""evaluate-bot's rescoring in worker processes gives the rankings the parent would compute itself."""

from __future__ import annotations

from pathlib import Path

import pytest

FEVER = "접종 뒤 미열은 흔하며 대개 이삼 일 안에 좋아집니다."
ASKED = {  # (intent, scripted answer) -> the train questions behind it
    ("이상반응 문의", FEVER): ["주사 맞은 날 밤에 열이 났어요", "접종하고 몸이 으슬으슬해요"],
    ("검사 장소 문의", "코로나19 검사는 가까운 선별진료소에서 받으실 수 있습니다."): [
        "코로나 검사 받으려면 어디로 가요",
        "선별진료소 위치 알려 주세요",
    ],
    ("범위외:타기관", "해당 문의는 담당 기관으로 연결해 드리겠습니다."): ["운전면허 갱신은 어디서 해요"],
}
EXAMPLES = [(q, answer, intent) for (intent, answer), said in ASKED.items() for q in said]
WORDS = [
    "주사 맞고 열이 나요",
    "상담 시간이 언제예요",
    "주사 맞고 열이 나요",
    "여권은 어디서 만들어요",
    "팔이 아파요",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, params) -> Path:
    from callbot.llm.model import build_tiny_candidate
    from callbot.llm.router import Script, write_script

    out = build_tiny_candidate("llama", tmp_path_factory.mktemp("rescore") / "merged", params=params.llm)
    write_script(out, Script.from_examples(EXAMPLES, "범위외"))
    return out


@pytest.mark.slow
def test_rankings_from_workers_are_the_parents_own(model_dir) -> None:
    from callbot.bot.rescore import prefill
    from callbot.llm.infer import load_responder

    here = load_responder(model_dir)
    expected = [here.rank(w) for w in WORDS]
    there = load_responder(model_dir)
    seconds = prefill(there, model_dir, WORDS, 2)
    assert set(seconds) == set(WORDS) and all(s > 0 for s in seconds.values())
    memo = there.loglik_memo()
    assert memo == here.loglik_memo()  # the same bits from a 1-thread worker as from this process
    assert [there.rank(w) for w in WORDS] == expected
    assert there.loglik_memo() == memo  # every ranking was a memo hit: nothing computed twice


def test_one_worker_ranks_nothing_ahead(model_dir) -> None:
    from callbot.bot.rescore import prefill
    from callbot.llm.infer import load_responder

    responder = load_responder(model_dir)
    assert prefill(responder, model_dir, WORDS, 1) == {}
    assert prefill(responder, model_dir, WORDS[:1], 4) == {}  # one distinct word: no worker pays
    assert responder.loglik_memo() == {}


def test_remembered_logliks_are_answered_as_the_responders_own(model_dir) -> None:
    """What remember_logliks is given is what answer_logliks returns for those words: nothing recomputed."""
    from callbot.llm.infer import load_responder

    answers = [FEVER, "코로나19 검사는 가까운 선별진료소에서 받으실 수 있습니다."]
    worker = load_responder(model_dir)
    computed = worker.answer_logliks(WORDS[0], answers)
    memo = worker.loglik_memo()
    assert len(memo) == 1 and list(memo.values()) == [computed]
    memo.clear()  # a copy: the worker's own memo is untouched
    assert worker.loglik_memo() != {}
    parent = load_responder(model_dir)
    marked = {key: [-1.0, -2.0] for key in worker.loglik_memo()}  # values no model would give twice
    parent.remember_logliks(marked)
    assert parent.answer_logliks(WORDS[0], answers) == [-1.0, -2.0]
    assert parent.answer_logliks(WORDS[1], answers) != [-1.0, -2.0]  # other words are computed


def test_the_first_turn_with_the_words_is_charged_the_workers_seconds(model_dir) -> None:
    """As in one process: the first turn with a transcript computes (here: in a worker), later ones hit the memo."""
    from callbot.bot.evaluate import CallItem, Turn, rank_turns, responder_system
    from callbot.llm.infer import load_responder

    system = responder_system(load_responder(model_dir))
    item = CallItem("u1", "test", Path("a.wav"), "", WORDS[0], "이상반응 문의", FEVER, "", False, False)
    turns = [
        Turn(item, 16000, WORDS[0], 0.0),
        Turn(item, 8000, WORDS[0], 0.0),
        Turn(item, 8000, WORDS[1], 0.0),
    ]
    system.cost.update({WORDS[0]: 50.0})
    ranked = rank_turns(system, turns)
    assert ranked[0].llm_s >= 50.0 > ranked[1].llm_s and ranked[2].llm_s < 50.0
    assert system.cost == {}
