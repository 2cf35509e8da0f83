"""The bot adapter reads the Bento's answers defensively, and the SIP transfer headers are ASCII.

The end-to-end path through a served Bento is in ``test_calls.py``; here the answers are fixed
JSON bodies (the shapes /reply has had and is growing: ``answer``/``handover``/``summary``/
``history`` beside ``text``/``guarded``), served by httpx's in-memory transport, because the
question is only how each shape is read.
"""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import numpy as np
import pytest

from callbot.phone.bot import BotError, HttpBot
from callbot.phone.engine import Transfer
from callbot.phone.sip import transfer_headers


def bot_answering(status: int, body: object) -> HttpBot:
    bot = HttpBot("http://bento.invalid", 5.0, history_turns=2)
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    bot.client = httpx.Client(base_url="http://bento.invalid", transport=transport)
    return bot


def test_the_served_reply_shape_today() -> None:
    body = {"text": "네, 가능합니다.", "guarded": False, "reason": None, "intent": "상담 시간 문의",
            "confidence": 0.91, "signature": "abc"}  # fmt: skip
    got = bot_answering(200, body).reply("주말에도 되나요", [])
    assert (got["answer"], got["handover"], got["intent"], got["confidence"]) == (
        "네, 가능합니다.",
        False,
        "상담 시간 문의",
        0.91,
    )
    assert got["summary"] is None and got["history"][-1] == {
        "role": "assistant",
        "content": "네, 가능합니다.",
        "signature": "abc",
    }


def test_a_grown_reply_shape_and_odd_fields() -> None:
    served_history = [{"role": "user", "content": "x"}]
    body = {"answer": "확인해 드릴까요?", "handover": True, "reason": "confirm", "confidence": "high",
            "summary": "주말 상담 문의", "history": served_history}  # fmt: skip
    got = bot_answering(200, body).reply("주말", [{"role": "user", "content": str(i)} for i in range(5)])
    assert got["handover"] is True and got["summary"] == "주말 상담 문의"
    assert got["confidence"] is None and got["history"] == served_history  # a non-number is not a confidence


def test_a_refusal_or_a_non_object_is_a_bot_error() -> None:
    with pytest.raises(BotError) as refused:
        bot_answering(422, {"error": "too long"}).reply("x", [])
    assert refused.value.status == 422
    with pytest.raises(BotError, match="not an object"):
        bot_answering(200, ["x"]).transcribe(np.zeros(1600, dtype=np.int16))


def test_transfer_context_becomes_url_encoded_sip_headers() -> None:
    transfer = Transfer(
        "keypad", [{"role": "caller", "text": "검사 어디서 받나요?"}], "검사 문의", 0.4267, "검사 장소"
    )
    headers = transfer_headers(transfer)
    assert all(value.isascii() and "\r" not in value and " " not in value for value in headers.values())
    assert unquote(headers["X-Callbot-Transcript"]) == "caller: 검사 어디서 받나요?"
    assert unquote(headers["X-Callbot-Intent"]) == "검사 문의" and headers["X-Callbot-Confidence"] == "0.427"
    assert (
        unquote(headers["X-Callbot-Summary"]) == "검사 장소"
        and headers["X-Callbot-Transferred-By"] == "keypad"
    )


def test_registering_needs_digest_credentials_from_the_environment(params) -> None:
    """``phone.sip.registrar`` takes its credentials from the environment only; without them the
    entrance refuses to start (no registrar is run here: registering itself is not tested)."""
    from pydantic import ValidationError

    from callbot.phone.sip import SipConfigError, registration

    assert registration("") is None
    env = {"CALLBOT_SIP_USER": "1339bot", "CALLBOT_SIP_PASSWORD": "s3cret"}
    assert registration("sip:pbx.example:5060", env) == ("sip:1339bot@pbx.example:5060", "1339bot", "s3cret")
    with pytest.raises(SipConfigError, match=r"set \$CALLBOT_SIP_USER and \$CALLBOT_SIP_PASSWORD"):
        registration("sip:pbx.example", {"CALLBOT_SIP_USER": "1339bot"})
    with pytest.raises(ValidationError, match="registrar"):
        params.phone.sip.model_validate({**params.phone.sip.model_dump(), "registrar": "pbx.example"})


def test_after_a_confirm_question_the_reply_is_scored_and_the_scores_go_to_reply() -> None:
    """The line sends the history to /transcribe only when the bot's last turn was the confirm question,
    and passes the closed-set scores /transcribe heard on to /reply (the responder decides with them)."""
    import json

    from callbot.dialogue.policy import confirm_question

    scores = {"yes": {"phrase": "네", "deficit": 0.05}, "no": {"phrase": "노", "deficit": 0.4}, "frames": 10}
    seen: list[tuple[str, bytes]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.read()))
        if request.url.path == "/transcribe":
            heard = {"text": "나", "words": []}
            return httpx.Response(
                200, json={**heard, "confirm": scores if b"history" in request.content else None}
            )
        return httpx.Response(
            200, json={"text": "접종기관 안내입니다.", "guarded": False, "action": "answer"}
        )

    bot = HttpBot("http://bento.invalid", 5.0, history_turns=4)
    bot.client = httpx.Client(base_url="http://bento.invalid", transport=httpx.MockTransport(answer))
    asked = [{"role": "user", "content": "독감 병원"},
             {"role": "assistant", "content": confirm_question("접종기관 문의"), "signature": "s"}]  # fmt: skip
    reply, _, _, _ = bot.turn(asked, np.zeros(8000, dtype=np.int16), None)
    assert reply.heard == "나" and reply.action == "answer"
    assert json.loads(seen[1][1])["confirm"] == scores  # /reply got what /transcribe heard
    seen.clear()
    bot.turn([{"role": "user", "content": "안녕"}], np.zeros(8000, dtype=np.int16), None)
    assert b"history" not in seen[0][1] and "confirm" not in json.loads(seen[1][1])  # no confirm pending
