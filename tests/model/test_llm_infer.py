"""The serving contract: a tiny model dir loads, answers, and the ARS guard hands bad answers over."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callbot.llm.guard import check_reply

SCRIPTED = "코로나19 검사는 가까운 선별진료소에서 받으실 수 있습니다."


@pytest.fixture(scope="module")
def llm_params(repo):
    """Only the smoke `llm` section: other sections being mid-edit must not fail these tests."""
    from callbot.config import read_yaml
    from callbot.llm.params import LLMParams

    return LLMParams.model_validate(read_yaml(repo / "params.yaml")["llm"])


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, llm_params) -> Path:
    from callbot.llm.model import build_tiny_candidate

    return build_tiny_candidate("llama", tmp_path_factory.mktemp("llm") / "merged", params=llm_params)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("가" * 400, "too_long"),
        ("Please hold the line while we connect you", "not_korean"),
        ("1339", "not_korean"),
        ("코로나\ufffd검사", "not_korean"),
        ("positive", "not_korean"),
        ("저의 지원 동기는 성장입니다", "off_task"),
        ("오늘 점심 메뉴는 김치찌개와 비빔밥입니다", "off_task"),  # nothing like the scripted answers
        (SCRIPTED, None),
        ("선별진료소에서 검사를 받으실 수 있습니다.", None),
        ("저기요 예방접종 예약하고 싶어요 궁금합니다.", "off_task"),  # a caller's words, not an answer
    ],
)
def test_guard_cases(llm_params, reply, reason):
    script = [SCRIPTED, "예방접종은 위탁의료기관에서 받으실 수 있습니다."]
    assert check_reply(reply, llm_params.guard, script) == reason


def test_guard_without_script_accepts_any_korean(llm_params):
    assert check_reply("오늘 점심 메뉴는 김치찌개입니다", llm_params.guard, None) is None


def test_tiny_dir_loads_and_replies(tiny_dir, llm_params):
    from callbot.llm.infer import ReplyResult, load_responder

    responder = load_responder(tiny_dir)
    result = responder.reply("코로나 검사는 어디서 받나요?")
    assert isinstance(result, ReplyResult)
    # A random model speaks garbage: the guard must catch it or it must at least be Korean text.
    if result.guarded:
        assert result.text == llm_params.guard.handover_message
        assert result.reason in {"empty", "too_long", "not_korean", "off_task"}
    else:
        assert check_reply(result.text, llm_params.guard, None) is None
    empty = responder.reply("  ")
    assert empty.guarded and empty.reason == "empty" and empty.text == llm_params.guard.handover_message


def test_history_is_trimmed_to_fit_the_context(tiny_dir):
    from callbot.llm.infer import context_length, load_responder

    responder = load_responder(tiny_dir)
    history = [{"role": "user", "content": "질문 " * 60}, {"role": "assistant", "content": "답변 " * 60}] * 6
    ids = responder.prompt_ids(responder.messages("검사는 어디서 받나요?", history))
    assert len(ids) <= context_length(responder.model) - responder.generation.max_new_tokens
    assert responder.reply("검사는 어디서 받나요?", history).text


def test_missing_model_dir_names_the_path(tmp_path):
    from callbot.llm.infer import load_responder

    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path))):
        load_responder(tmp_path)


def test_dir_without_settings_needs_them(tmp_path):
    from callbot.llm.infer import load_responder
    from callbot.llm.model import build_tiny_candidate

    bare = build_tiny_candidate("gpt_neox", tmp_path / "bare")
    with pytest.raises(ValueError, match=r"responder\.json"):
        load_responder(bare)
