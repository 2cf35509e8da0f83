"""Phone line: end of utterance -> first audio byte, p50 / p95 at 1 and 4 concurrent calls.

Each call is a Twilio-format bridge (``tests/phone/wsclient.py``) on the WebSocket entrance,
streaming an espeak-ng question through the 8 kHz line in real time (20 ms a frame), ``--turns``
times, and playing the answers back (marks echoed). The latency is the line's own per-turn figure
(``first_audio_s`` in the call log: from the moment the end of the utterance is detected to the
first answer frame sent). Baseline from the same run: the bot's own cost for the same turn (HTTP
/transcribe then /reply, no phone line), one at a time.

By default it packages tiny real-architecture models (``serve_bench.package_tiny``; random weights:
the tiny STT decodes to its length limit, so the numbers measure the machinery, not a trained
model); ``--url`` benchmarks a running Bento (`callbot serve`) instead. Only 127.0.0.1 is used.
Issue 24's target: p50 <= 0.8 s and p95 <= 1.5 s with 4 calls (LiveKit's published cascade
median to first audio: 1.2 s).

    .venv/bin/python benchmarks/phone_bench.py [--url URL] [--turns 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]
LEVELS = (1, 4)
QUESTION = "코로나 검사는 어디서 받나요"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def say_in_real_time(bridge, samples: np.ndarray) -> None:
    """Send 20 ms frames on a 20 ms clock, as a carrier does."""
    from callbot.phone.audio import frames

    start = time.monotonic()
    for i, frame in enumerate(frames(samples)):
        await bridge.say(frame)
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))


async def one_call(url: str, utterance: np.ndarray, turns: int) -> None:
    from websockets.asyncio.client import connect

    from tests.phone.wsclient import Bridge

    key = os.environ.get("CALLBOT_API_KEY", "")
    async with connect(url, additional_headers={"X-API-Key": key} if key else {}, max_queue=None) as ws:
        bridge = Bridge(ws, sid=f"MZ-{id(ws):x}")
        await bridge.start()
        await bridge.hear()
        for _ in range(turns):
            await say_in_real_time(bridge, utterance)
            await bridge.hear()
        await bridge.send("stop", stop={})


async def run_level(line, calls: int, utterance: np.ndarray, turns: int) -> list[float]:
    """``calls`` concurrent calls on a fresh entrance; every turn's end of utterance -> first audio."""
    from serve_bench import free_port

    from callbot.phone.ws import serve

    log = Path(line.params.call_log)
    log.unlink(missing_ok=True)
    ready, port = asyncio.Event(), free_port()
    server = asyncio.create_task(serve(line, "127.0.0.1", port, ready))
    await ready.wait()
    try:
        await asyncio.gather(*(one_call(f"ws://127.0.0.1:{port}", utterance, turns) for _ in range(calls)))
        await asyncio.sleep(0.5)
    finally:
        server.cancel()
    entries = [json.loads(row) for row in log.read_text(encoding="utf-8").splitlines()]
    return [t["first_audio_s"] for e in entries for t in e["timings"] if "first_audio_s" in t]


def baseline(bot, utterance: np.ndarray, turns: int) -> list[float]:
    """The bot alone: /transcribe + /reply for the same utterance, one at a time."""
    seconds = []
    for _ in range(turns):
        start = time.monotonic()
        bot.turn([], utterance, None)
        seconds.append(time.monotonic() - start)
    return seconds


def line_for(url: str, workdir: Path):
    from callbot.config import load_params
    from callbot.phone.session import PhoneLine

    params = load_params(REPO / "params.yaml", "smoke")
    phone = params.phone
    phone = phone.model_copy(
        update={
            "bot": phone.bot.model_copy(update={"url": url}),
            "turn": phone.turn.model_copy(update={"failed_turns_before_menu": 1000}),  # keep calls going
            "call_log": str(workdir / "calls.jsonl"),
            "max_calls": max(LEVELS),
        }
    )
    return PhoneLine.from_params(phone, params.tts)


def report(url: str, workdir: Path, turns: int) -> None:
    import torch

    from tests.phone.audio import caller, silence

    torch.set_num_threads(1)
    line = line_for(url, workdir)
    utterance = np.concatenate([silence(0.3), caller(QUESTION), silence(1.2)])
    base = baseline(line.bot, caller(QUESTION), turns)
    print(f"{os.cpu_count()} CPU cores; {turns} turns per call; bot {url}")
    print(
        f"baseline (bot alone, /transcribe + /reply): p50 {statistics.median(base):.3f} s p95 {p95(base):.3f} s"
    )
    results = {}
    for calls in LEVELS:
        seconds = asyncio.run(run_level(line, calls, utterance, turns))
        results[calls] = seconds
        print(
            f"{calls} call(s): end of utterance -> first audio p50 {statistics.median(seconds):.3f} s "
            f"p95 {p95(seconds):.3f} s over {len(seconds)} turns"
        )
    one, four = results[1], results[max(LEVELS)]
    print(
        f"ratio {max(LEVELS)} calls / 1 call: p50 {statistics.median(four) / statistics.median(one):.2f}x "
        f"p95 {p95(four) / p95(one):.2f}x; line p50 / bot alone p50 at 1 call: "
        f"{statistics.median(one) / statistics.median(base):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running Bento (default: package and serve tiny models)")
    parser.add_argument("--turns", type=int, default=3, help="turns per call")
    args = parser.parse_args()
    os.environ.setdefault("CALLBOT_TORCH_THREADS", "1")
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    workdir = Path(tempfile.mkdtemp(prefix="callbot-phone-bench-"))
    if args.url:
        report(args.url, workdir, args.turns)
        return
    os.environ["BENTOML_HOME"] = str(workdir / "bentoml")
    from serve_bench import package_tiny, served

    bento = package_tiny(workdir)
    with served(bento, batching=True, workdir=workdir) as url:
        report(url, workdir, args.turns)


if __name__ == "__main__":
    main()
