"""The scripted batch of calls (benchmarks/phone_calls.py) against a real line and a served Bento.

Two calls through the WebSocket entrance, the second pressing 0: the batch's bookkeeping (call
log entries found by call id, outcomes, hand-over causes, turns, latency) must agree with what the
line logged. The tiny Bento's STT has random weights, so the spoken question is not understood:
the line asks again and offers the menu, which the caller recognises by ear and answers by asking
again, until the bot hands over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from pathlib import Path

import pytest

from tests.phone.conftest import API_KEY
from tests.phone.test_calls import free_port

pytestmark = pytest.mark.slow
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


@pytest.fixture()
def running_line(server: str, params, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`callbot phone serve --ws` in front of the served Bento, on its own thread and loop."""
    from callbot.phone.session import PhoneLine
    from callbot.phone.ws import serve

    monkeypatch.setenv("CALLBOT_API_KEY", API_KEY)
    phone = params.phone.model_copy(
        update={
            "bot": params.phone.bot.model_copy(update={"url": server}),
            "call_log": str(tmp_path / "calls.jsonl"),
        }
    )
    line, port, loop, ready = (
        PhoneLine.from_params(phone, params.tts),
        free_port(),
        asyncio.new_event_loop(),
        threading.Event(),
    )

    def run() -> None:
        async def main() -> None:
            started = asyncio.Event()
            task = asyncio.create_task(serve(line, "127.0.0.1", port, started))
            await started.wait()
            ready.set()
            await asyncio.gather(task, return_exceptions=True)

        with contextlib.suppress(asyncio.CancelledError):  # the fixture's teardown cancels it
            loop.run_until_complete(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(60)
    yield f"ws://127.0.0.1:{port}", phone.call_log
    loop.call_soon_threadsafe(lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
    thread.join(10)


def test_two_scripted_calls_are_counted_as_the_line_logged_them(
    running_line, server: str, tmp_path: Path
) -> None:
    from phone_calls import main

    url, call_log = running_line
    out = tmp_path / "batch.json"
    argv = ["--profile", "smoke", "--ws-url", url, "--bento-url", server, "--call-log", call_log]
    result = main([*argv, "--calls", "2", "--keypad-every", "2", "--json", str(out)])
    logged = [json.loads(row) for row in Path(call_log).read_text(encoding="utf-8").splitlines()]
    assert [c["call_id"] for c in result["calls"]] == [e["call_id"] for e in logged]
    keyed = result["calls"][1]
    assert (keyed["outcome"], keyed["transferred_by"]) == ("transferred", "keypad")
    first = logged[0]  # not understood (random tiny STT): the bot hands over, or /reply refuses the turn
    assert (first["outcome"], first["transferred_by"]) == ("transferred", "bot") and first["turns"] >= 1
    line = result["line"]
    assert line["calls"] == 2 and sum(line["outcomes"].values()) == 2
    assert line["transferred_by"]["keypad"] == 1 and line["transferred_by"]["bot"] == 1
    timed = [t for e in logged for t in e["timings"] if "first_audio_s" in t]
    assert line["latency_s"]["first_audio_s"]["turns"] == len(timed) >= 2
    answers = result["answers"]
    assert answers["right"] + answers["wrong"] + answers["handover"] == answers["in_scope"]
    assert answers["calls"] == 2 and json.loads(out.read_text(encoding="utf-8")) == result


def test_the_caller_recognises_the_line_prompts_by_ear(params) -> None:
    """What the batch's caller does next depends on this: a prompt is named, an answer is not."""
    from phone_calls import Candidate, Ear

    from callbot.phone.bot import line_voice
    from callbot.tts.engine import load_synthesizer
    from tests.phone.audio import as_sent

    voice = load_synthesizer(params.tts)
    prompts = params.phone.prompts.model_dump()
    ear = Ear([Candidate(name, None, as_sent(line_voice(voice, text))) for name, text in prompts.items()])
    heard = {name: ear.recognise(as_sent(line_voice(voice, text))) for name, text in prompts.items()}
    assert {name: got.kind for name, got in heard.items() if got} == {name: name for name in prompts}
    other = as_sent(line_voice(voice, "가까운 보건소에서 맞으실 수 있습니다. 평일에 방문해 주세요."))
    assert ear.recognise(other) is None
