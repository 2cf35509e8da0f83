"""The Media Streams entrance end to end: a Twilio-format bridge calls the line, which asks a
served Bento (tiny real models, ``bentoml serve``) for every transcript, answer and voice.

Nothing stands in for the STT, responder or TTS: the bot behind the line is the HTTP client of the
real service. The tiny STT has random weights, so a spoken question is not understood (the
responder hands over and the line asks again); the keypad menu's question is, and its scripted
answer must come back in the Bento's own voice.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from callbot.phone.audio import frames, pcm_to_ulaw, ulaw_to_pcm, wav_to_line
from tests.phone.audio import caller, silence
from tests.phone.conftest import API_KEY
from tests.phone.wsclient import Bridge

pytestmark = pytest.mark.slow
MENU_ANSWER = "가까운 지정 의료기관이나 보건소에서 맞으실 수 있습니다."  # the script's answer to menu 1


@pytest.fixture(scope="module")
def line(server: str, params, tmp_path_factory: pytest.TempPathFactory):
    """The phone line in front of the served Bento, as `callbot phone serve` builds it."""
    from callbot.phone.session import PhoneLine

    phone = params.phone
    phone = phone.model_copy(
        update={
            "bot": phone.bot.model_copy(update={"url": server}),
            "turn": phone.turn.model_copy(update={"no_input_s": 2.0}),
            "call_log": str(tmp_path_factory.mktemp("calls") / "phone.jsonl"),
            "max_calls": 2,
        }
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CALLBOT_API_KEY", API_KEY)  # the Bento's key: the line sends it, and requires it
        yield PhoneLine.from_params(phone, params.tts)


def calls(line) -> list[dict[str, Any]]:
    text = Path(line.params.call_log).read_text(encoding="utf-8")
    return [json.loads(row) for row in text.splitlines()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def on_line(line, scenario: Callable[[str], Awaitable[Any]]) -> Any:
    """Serve the line on a free port, run ``scenario(url)`` against it, then stop serving."""
    from callbot.phone.ws import serve

    async def main() -> Any:
        ready, port = asyncio.Event(), free_port()
        server = asyncio.create_task(serve(line, "127.0.0.1", port, ready))
        await asyncio.wait_for(ready.wait(), 30)
        try:
            return await asyncio.wait_for(scenario(f"ws://127.0.0.1:{port}"), 120)
        finally:
            server.cancel()

    return asyncio.run(main())


def connect(url: str, key: str | None = API_KEY) -> Any:
    from websockets.asyncio.client import connect as ws_connect

    return ws_connect(url, additional_headers={"X-API-Key": key} if key else {}, max_queue=None)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two recordings' log spectrograms (32 ms windows), over their common length."""
    from scipy.signal import stft

    n = min(a.size, b.size)
    spectra = [np.log1p(np.abs(stft(x[:n].astype(float), 8000, nperseg=256)[2])).ravel() for x in (a, b)]
    return float(np.corrcoef(*spectra)[0, 1])


def as_sent(samples: np.ndarray) -> np.ndarray:
    """What a bridge decodes of ``samples`` sent by the line (20 ms frames, G.711 mu-law)."""
    return ulaw_to_pcm(b"".join(pcm_to_ulaw(f) for f in frames(samples)))


def test_a_spoken_question_gets_an_answer_its_mark_and_a_logged_turn(line) -> None:
    question = caller("코로나 검사는 어디서 받나요")

    async def scenario(url: str) -> tuple:
        async with connect(url) as ws:
            bridge = Bridge(ws)
            await bridge.start()
            greeting = await bridge.hear()
            await bridge.say(np.concatenate([silence(0.3), question, silence(1.5)]))
            answer = await bridge.hear()
            await bridge.send("stop", stop={"callSid": "CA-test"})
            return greeting, answer

    greeting, answer = on_line(line, scenario)
    assert (greeting.audio == as_sent(line.prompts["greeting"])).all() and greeting.events[-1] == "mark"
    assert set(answer.events[:-1]) == {"media"} and answer.events[-1] == "mark"
    call = calls(line)[-1]
    assert call["entrance"] == "ws" and call["turns"] == 1
    timing = call["timings"][0]
    assert 0 < timing["stt_s"] <= timing["reply_s"] <= timing["first_audio_s"]
    reply = call["last_reply"]
    assert call["transcript"][0]["text"] == reply["heard"]
    if reply["handover"]:  # not understood (the tiny STT): the line's "say it again", a failed turn
        assert reply["reason"] not in line.params.turn.transfer_reasons
        assert (answer.audio == as_sent(line.prompts["retry"])).all()
        assert call["outcome"] == "abandoned"
    else:
        assert answer.audio.size > 8000 * 0.5 and call["outcome"] == "contained"


def test_a_menu_digit_is_answered_by_the_responder_in_the_bentos_voice(line, server: str) -> None:
    async def scenario(url: str) -> Any:
        async with connect(url) as ws:
            bridge = Bridge(ws)
            await bridge.start()
            await bridge.hear()
            await bridge.press("1")
            answer = await bridge.hear()
            await bridge.send("stop", stop={})
            return answer

    answer = on_line(line, scenario)
    spoken = httpx.post(
        server + "/synthesize", json={"text": MENU_ANSWER}, headers={"X-API-Key": API_KEY}, timeout=60
    )
    expected = as_sent(wav_to_line(spoken.content))
    assert abs(answer.audio.size - expected.size) <= 2 * 160
    # espeak-ng's samples vary a little with the synthesising process's history: compare the sound
    assert similarity(answer.audio, expected) > 0.9  # log spectrograms; another sentence scores far less
    call = calls(line)[-1]
    assert call["last_reply"]["answer"] == MENU_ANSWER and call["outcome"] == "contained"


def test_keypad_zero_clears_the_audio_and_transfers_with_context(line) -> None:
    async def scenario(url: str) -> Any:
        async with connect(url) as ws:
            bridge = Bridge(ws)
            await bridge.start()
            await bridge.hear(echo=False)  # the greeting is still playing
            await bridge.press("0")
            return await bridge.hear()

    heard = on_line(line, scenario)
    assert heard.events == ["clear", "transfer"] and heard.closed == (1000, "transferred")
    assert heard.transfer["by"] == "keypad" and heard.transfer["transcript"] == []
    call = calls(line)[-1]
    assert call["outcome"] == "transferred" and call["transferred_by"] == "keypad" and call["turns"] == 0


def test_a_silent_caller_is_prompted_once_then_transferred(line) -> None:
    async def scenario(url: str) -> list:
        async with connect(url) as ws:
            bridge = Bridge(ws)
            await bridge.start()
            heard = [await bridge.hear()]
            for _ in range(2):
                await bridge.say(silence(2.2))
                heard.append(await bridge.hear())
            heard.append(await bridge.hear())
            return heard

    _greeting, prompt, notice, end = on_line(line, scenario)
    assert (prompt.audio == as_sent(line.prompts["no_input"])).all()
    assert (notice.audio == as_sent(line.prompts["transfer"])).all()
    assert end.transfer["by"] == "no_input" and end.closed == (1000, "transferred")
    assert calls(line)[-1]["outcome"] == "transferred"


def test_a_hang_up_mid_turn_ends_the_call_as_abandoned(line) -> None:
    async def scenario(url: str) -> None:
        async with connect(url) as ws:
            bridge = Bridge(ws)
            await bridge.start()
            await bridge.hear()
            await bridge.say(np.concatenate([caller("주말에도 상담이 되나요"), silence(1.0)]))
            await bridge.send("stop", stop={})  # while the bot is thinking
            await asyncio.sleep(0.5)

    on_line(line, scenario)
    call = calls(line)[-1]
    assert call["outcome"] == "abandoned" and call["turns"] == 1 and call["timings"] == []


def test_what_is_not_the_protocol_is_refused_and_the_line_stays_up(line) -> None:
    from websockets.exceptions import InvalidStatus

    async def refused(url: str, first: Any) -> tuple[int, str]:
        async with connect(url) as ws:
            await ws.send(first)
            return (await Bridge(ws).hear()).closed

    async def scenario(url: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["binary"] = await refused(url, b"\x00\x01")
        seen["json"] = await refused(url, "{not json")
        seen["event"] = await refused(url, json.dumps({"event": "hello"}))
        seen["media first"] = await refused(url, json.dumps({"event": "media", "media": {"payload": "AA=="}}))
        for key in (None, "wrong"):
            try:
                async with connect(url, key):
                    seen[f"key {key}"] = "accepted"
            except InvalidStatus as exc:
                seen[f"key {key}"] = exc.response.status_code
        async with connect(url) as first, connect(url) as second:
            for ws in (first, second):
                bridge = Bridge(ws)
                await bridge.start()
                await bridge.hear()
            try:
                async with connect(url):
                    seen["third call"] = "accepted"
            except InvalidStatus as exc:
                seen["third call"] = exc.response.status_code
            bridge = Bridge(first)  # the busy line still answers its callers
            await bridge.press("0")
            seen["after"] = (await bridge.hear()).transfer
        return seen

    seen = on_line(line, scenario)
    for what in ("binary", "json", "event", "media first"):
        assert seen[what][0] == 1008, (what, seen[what])
    assert seen["key None"] == 401 and seen["key wrong"] == 401
    assert seen["third call"] == 503 and seen["after"]["by"] == "keypad"
