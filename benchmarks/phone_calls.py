"""A scripted batch of phone calls for the closing note: the acceptance set spoken on the phone line.

Each call is a Twilio-format bridge on the WebSocket entrance of a running phone line (`callbot
phone serve --ws` in front of a served Bento). The caller speaks one acceptance question
(``callbot/bot/data/acceptance.yaml``: worded outside the project) in a held-out espeak-ng voice
through the G.711 8 kHz line, in real time (20 ms a frame), and listens:

- the bot's speech is recognised by comparing it with the candidates it can say: the line's
  prompts (its own voice, the ``tts`` params) and every confirm question (the Bento's /synthesize);
- a confirm question is answered truthfully (네 when it names the expected intent, else 아니요),
  spoken in the same voice; a retry or menu prompt is answered by asking again; anything else is an
  answer, and the caller hangs up unless the bot transfers at once;
- every ``--keypad-every``-th call presses 0 right after asking, before the bot has answered
  (its question then counts as handed over).

The figures come from the line's call log (``--call-log``, the line's ``phone.call_log``): outcomes
(contained / transferred by bot, keypad, no input / abandoned), turns, end of utterance -> first
audio byte p50 / p95, and right / wrong answers judged from the logged reply text against the
expected intent's scripted answer (``callbot.bot.acceptance.judge``), beside the always-hand-over
baseline on the same questions.

    .venv/bin/python benchmarks/phone_calls.py --ws-url ws://127.0.0.1:3100 \
        --bento-url http://127.0.0.1:3000 --call-log data/calls/phone.jsonl [--calls 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]
MATCH = 0.8  # log-spectrogram correlation of the same sentence synthesised twice is ~1; others score far less
MAX_CALLER_TURNS = 4  # a caller asks at most this often before hanging up
TRANSFER_WAIT_S = 1.5  # after an answer: how long the caller waits for an immediate transfer


@dataclass(frozen=True)
class Candidate:
    kind: str  # a prompt name (greeting, retry, menu, transfer, no_input) or "confirm"
    intent: str | None
    audio: np.ndarray


class Ear:
    """What the caller makes of the bot's speech: the best-matching candidate, or an answer."""

    def __init__(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates

    def recognise(self, heard: np.ndarray) -> Candidate | None:
        best, score = None, MATCH
        from tests.phone.audio import similarity

        for c in self.candidates:
            if abs(heard.size - c.audio.size) > max(0.15 * c.audio.size, 1600):
                continue  # a different sentence: lengths differ too much
            s = similarity(heard, c.audio)
            if s > score:
                best, score = c, s
        return best


def build_ear(params: Any, bento_url: str, intents: list[str]) -> Ear:
    """The line's prompts in its own voice and every confirm question in the Bento's voice."""
    from callbot.dialogue.policy import confirm_question
    from callbot.phone.bot import HttpBot, line_voice
    from callbot.tts.engine import load_synthesizer
    from tests.phone.audio import as_sent

    voice = load_synthesizer(params.tts)
    candidates = [
        Candidate(name, None, as_sent(line_voice(voice, text)))
        for name, text in params.phone.prompts.model_dump().items()
    ]
    bot = HttpBot(bento_url, params.phone.bot.timeout_s, voice)
    for intent in intents:
        for again in (False, True):
            candidates.append(
                Candidate("confirm", intent, as_sent(bot.speak(confirm_question(intent, again))))
            )
    return Ear(candidates)


class Caller:
    """One call's caller: speaks on a bridge in real time and keeps what it heard."""

    def __init__(self, bridge: Any, speak: Any) -> None:
        self.bridge, self.speak = bridge, speak  # speak(text) -> 8 kHz int16 through the line

    async def say(self, text: str, tail_s: float = 1.2) -> None:
        from phone_bench import say_in_real_time

        from tests.phone.audio import silence

        await say_in_real_time(self.bridge, np.concatenate([silence(0.3), self.speak(text), silence(tail_s)]))

    async def hear(self, timeout_s: float = 120.0) -> Any:
        return await asyncio.wait_for(self.bridge.hear(), timeout_s)


async def open_call(ws: Any, sid: str) -> Any:
    """``connected`` + ``start`` with this call's own callSid (the call log's ``call_id``)."""
    from tests.phone.wsclient import Bridge

    bridge = Bridge(ws, sid=f"MZ-{sid}")
    await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    fmt = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
    await bridge.send("start", start={"streamSid": bridge.sid, "callSid": sid, "mediaFormat": fmt})
    return bridge


async def converse(caller: Caller, ear: Ear, question: Any, keypad: bool) -> None:
    """Ask, then answer confirms and re-asks until an answer, a transfer or MAX_CALLER_TURNS."""
    from callbot.bot.acceptance import NO, YES

    said = 1
    if keypad:  # asks, and presses 0 before the turn is over (the line is still listening)
        await caller.say(question.say, tail_s=0.2)
        await caller.bridge.press("0")
    else:
        await caller.say(question.say)
    while True:
        heard = await caller.hear()
        if heard.transfer is not None or heard.closed is not None:
            return
        got = ear.recognise(heard.audio)
        kind = got.kind if got else "answer"
        if kind == "transfer":
            continue  # the line's transfer prompt: the transfer message follows
        if kind == "answer" or said >= MAX_CALLER_TURNS:
            with contextlib.suppress(TimeoutError):  # a hand-over answer: the transfer follows at once
                await caller.hear(TRANSFER_WAIT_S)
            return
        said += 1
        await caller.say(
            (YES if got.intent == question.expect else NO) if kind == "confirm" else question.say
        )


async def place_call(url: str, sid: str, ear: Ear, question: Any, speak: Any, keypad: bool) -> None:
    """One call on the line, ended by the caller (``stop``) unless the line closed it."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    key = os.environ.get("CALLBOT_API_KEY", "")
    async with connect(url, additional_headers={"X-API-Key": key} if key else {}, max_queue=None) as ws:
        caller = Caller(await open_call(ws, sid), speak)
        await caller.hear()  # the greeting
        await converse(caller, ear, question, keypad)
        with contextlib.suppress(ConnectionClosed):
            await caller.bridge.send("stop", stop={"callSid": sid})


def pick(questions: list[Any], n: int) -> list[Any]:
    """``n`` questions spread evenly over the set (so both scripted and no-script ones are asked)."""
    return (
        [questions[i * len(questions) // n] for i in range(n)]
        if n <= len(questions)
        else (questions * (n // len(questions) + 1))[:n]
    )


def judged(entry: dict[str, Any], question: Any, script: Any) -> str:
    """right / wrong / handover of one logged call: its last reply text against the expected script."""
    from callbot.bot.acceptance import ACTIONS, HANDOVER, Reply, judge

    last = entry.get("last_reply") or {}
    said = [t.get("text", "") for t in entry.get("transcript") or [] if t.get("role") == "bot"]
    text = said[-1] if said else ""
    action = last.get("action")
    if action not in ACTIONS:
        action = HANDOVER if last.get("handover", True) else "answer"
    if action == "confirm" or not text:  # still confirming when the call ended: nobody answered
        action = HANDOVER
    intents = tuple(n.strip() for n in str(last.get("intent") or "").split("|") if n.strip())
    return judge(question, Reply(action, intents, text), script)


def wait_for_log(path: Path, ids: list[str], timeout_s: float = 30.0) -> dict[str, dict[str, Any]]:
    """The call log's entries of these calls (the line appends each once the call has ended)."""
    from callbot.phone.report import read_calls

    deadline = time.monotonic() + timeout_s
    while True:
        found = {e.get("call_id"): e for e in read_calls(path)} if path.exists() else {}
        missing = [i for i in ids if i not in found]
        if not missing:
            return {i: found[i] for i in ids}
        if time.monotonic() > deadline:
            raise SystemExit(
                f"{path}: {len(missing)} call(s) never logged ({missing[:3]}); is it the line's phone.call_log?"
            )
        time.sleep(0.5)


def figures(entries: list[dict[str, Any]], questions: list[Any], script: Any) -> dict[str, Any]:
    """The line's outcomes and latency, the answers judged, and the always-hand-over baseline."""
    from callbot.bot.acceptance import always_handover, summarise
    from callbot.phone.report import summarise_entries

    outcomes = [judged(e, q, script) for e, q in zip(entries, questions, strict=True)]
    return {
        "line": summarise_entries(entries),
        "answers": summarise(questions, outcomes, [max(1, int(e.get("turns") or 0)) for e in entries]),
        "baseline_always_handover": always_handover(questions),
        "calls": [
            {
                "call_id": e["call_id"],
                "expect": q.expect,
                "judged": o,
                "outcome": e["outcome"],
                "transferred_by": e.get("transferred_by"),
                "turns": e.get("turns"),
            }
            for e, q, o in zip(entries, questions, outcomes, strict=True)
        ],
    }


def summary_line(result: dict[str, Any]) -> str:
    line, answers, base = result["line"], result["answers"], result["baseline_always_handover"]
    o, by, first = line["outcomes"], line["transferred_by"], line["latency_s"]["first_audio_s"]
    return (
        f"{line['calls']} calls: contained {o['contained']}, transferred {o['transferred']} "
        f"(bot {by['bot']}, keypad {by['keypad']}, no input {by['no_input']}), abandoned {o['abandoned']}; "
        f"in scope right {answers['right']} wrong {answers['wrong']} handed over {answers['handover']} "
        f"of {answers['in_scope']} (always hand over: right {base['right']}), no-script handed over "
        f"{answers['no_script_handed_over']}; wrong-answer rate {answers['wrong_answer_rate']} "
        f"(baseline {base['wrong_answer_rate']}); turns/call {line['mean_turns']}; "
        f"end of utterance -> first audio p50 {first['p50']} s p95 {first['p95']} s ({first['turns']} turns)"
    )


def run_batch(args: argparse.Namespace, params: Any) -> dict[str, Any]:
    """Place the calls one after another and read their figures from the call log."""
    from callbot.bot.acceptance import callcenter_script, check_intents, load_set, on_channel, speak

    accept, script = load_set(), callcenter_script()
    check_intents(accept, script)
    voice = accept.voices[args.voice]
    questions = pick(list(accept.questions), args.calls)
    ear = build_ear(params, args.bento_url, sorted(script.answers))
    cache: dict[str, np.ndarray] = {}

    def spoken(text: str) -> np.ndarray:
        if text not in cache:
            cache[text] = on_channel(speak(text, voice), "8k")[0]
        return cache[text]

    ids = [f"batch-{uuid.uuid4().hex[:8]}-{i}" for i in range(len(questions))]
    for i, (sid, q) in enumerate(zip(ids, questions, strict=True)):
        keypad = args.keypad_every > 0 and i % args.keypad_every == args.keypad_every - 1
        asyncio.run(place_call(args.ws_url, sid, ear, q, spoken, keypad))
        print(f"call {i + 1}/{len(ids)} ({q.expect}) done", file=sys.stderr)
    logged = wait_for_log(Path(args.call_log), ids)
    result = figures([logged[i] for i in ids], questions, script)
    result["conditions"] = {"voice": voice.id, "channel": "8k", "ws_url": args.ws_url, "cpus": os.cpu_count()}
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from callbot.atomic import write_json
    from callbot.config import load_params

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--params", default=None, help="params.yaml (default: $CALLBOT_PARAMS or ./params.yaml)"
    )
    parser.add_argument("--profile", default=None)
    parser.add_argument("--ws-url", help="the line's WebSocket entrance (default: phone.ws host:port)")
    parser.add_argument("--bento-url", help="the Bento behind it (default: phone.bot.url)")
    parser.add_argument("--call-log", help="the line's call log (default: phone.call_log)")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--keypad-every", type=int, default=10, help="every n-th call presses 0 (0: none)")
    parser.add_argument("--voice", type=int, default=0, help="index of the acceptance set's held-out voices")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    params = load_params(args.params, args.profile)
    phone = params.phone
    args.ws_url = args.ws_url or f"ws://{phone.ws.host}:{phone.ws.port}"
    args.bento_url = args.bento_url or phone.bot.url
    args.call_log = args.call_log or phone.call_log
    if not args.call_log:
        parser.error("the line keeps no call log: pass --call-log, the line's phone.call_log")
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    result = run_batch(args, params)
    print(summary_line(result))
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
