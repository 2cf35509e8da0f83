"""One call: the engine's actions carried out on a line, the bot run for each turn, the call logged.

An entrance implements :class:`Line` (send audio, cut it, transfer, hang up) and calls
``start`` / ``audio`` / ``dtmf`` / ``played`` / ``hangup`` from one asyncio loop; the bot's blocking
HTTP calls run in worker threads, so a slow turn never stalls the caller's audio.

Per turn the log has, in seconds after the end of the utterance was detected: ``stt_s`` (transcript
back), ``reply_s`` (answer chosen) and ``first_audio_s`` (first byte of the answer sent to the line).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from callbot.phone.engine import Action, CallEngine, HangUp, Play, StopPlayback, Think, Transfer

log = logging.getLogger("callbot.phone")


class Line(Protocol):
    """What an entrance does for the engine."""

    async def play(self, samples: np.ndarray) -> None: ...  # returns once the first frame is sent

    async def stop_playback(self) -> None: ...

    async def transfer(self, transfer: Transfer) -> None: ...

    async def hang_up(self, reason: str) -> None: ...


class CallSession:
    """The engine, the bot and a line joined for one call."""

    def __init__(self, call_id: str, entrance: str, engine: CallEngine, bot: Any, line: Line) -> None:
        self.call_id, self.entrance = call_id, entrance
        self.engine, self.bot, self.line = engine, bot, line
        self.history: list[dict[str, Any]] = []
        self.timings: list[dict[str, float]] = []
        self.tasks: set[asyncio.Task] = set()
        self.generation = 0  # bumped when playback is cut: a late synthesis is then dropped
        self.started = time.monotonic()
        self.finished: dict[str, Any] | None = None

    async def start(self) -> None:
        await self._act(self.engine.start())

    async def audio(self, frame: np.ndarray) -> None:
        await self._act(self.engine.on_audio(frame))

    async def dtmf(self, digit: str) -> None:
        await self._act(self.engine.on_dtmf(digit))

    async def played(self) -> None:
        await self._act(self.engine.on_playback_done())

    async def hangup(self) -> dict[str, Any]:
        """The caller is gone: end the call, stop its turn, and log it."""
        self.engine.on_hangup()
        for task in list(self.tasks):
            task.cancel()
        return self._finish()

    async def _act(self, actions: list[Action], timing: dict | None = None, eou: float = 0.0) -> None:
        for action in actions:
            if isinstance(action, Think):
                task = asyncio.create_task(self._turn(action, time.monotonic()))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            elif isinstance(action, Play):
                await self._play(action, timing, eou)
            elif isinstance(action, StopPlayback):
                self.generation += 1
                await self.line.stop_playback()
            elif isinstance(action, Transfer):
                self._finish()
                await self.line.transfer(action)
            elif isinstance(action, HangUp):
                self._finish()
                await self.line.hang_up(action.reason)

    async def _turn(self, think: Think, eou: float) -> None:
        """Transcribe and answer one turn in a worker thread, then play what the engine decides."""
        from callbot.phone.bot import BotError

        try:
            reply, self.history, stt_s, reply_s = await asyncio.to_thread(
                self.bot.turn, self.history, think.audio, think.text
            )
        except BotError as exc:
            log.warning("call %s turn %d: %s; transferring", self.call_id, think.turn, exc)
            await self._act(self.engine.on_failure())
            return
        except Exception:  # an answer the adapter could not read: a person takes the call, the line goes on
            log.exception("call %s turn %d failed; transferring", self.call_id, think.turn)
            await self._act(self.engine.on_failure())
            return
        timing = {"turn": think.turn, "stt_s": stt_s, "reply_s": reply_s}
        self.timings.append(timing)
        await self._act(self.engine.on_reply(reply), timing, eou)

    async def _play(self, play: Play, timing: dict[str, float] | None = None, eou: float = 0.0) -> None:
        generation = self.generation
        samples = play.audio
        if samples is None:
            from callbot.phone.bot import BotError

            try:
                samples = await asyncio.to_thread(self.bot.speak, play.text)
            except BotError as exc:
                log.warning("call %s: could not speak the answer: %s", self.call_id, exc)
                samples = np.zeros(0, dtype=np.int16)
        if generation != self.generation or self.engine.state != "speaking":
            return  # cut off (barge-in, keypad, hang-up) while the answer was being synthesised
        await self.line.play(samples)
        if timing is not None:
            timing["first_audio_s"] = time.monotonic() - eou
            log.info("call %s turn %d latency %s", self.call_id, timing["turn"], json.dumps(timing))

    def _finish(self) -> dict[str, Any]:
        """The call's log entry (once): outcome, turns, transcript, hand-over context, latencies."""
        if self.finished is None:
            record = self.engine.record
            last = record.last
            self.finished = {
                "call_id": self.call_id,
                "entrance": self.entrance,
                "outcome": record.outcome or "abandoned",
                "transferred_by": record.transferred_by,
                "turns": record.turns,
                "answered": record.answered,
                "duration_s": round(time.monotonic() - self.started, 3),
                "transcript": record.transcript,
                "last_reply": asdict(last) if last else None,
                "timings": self.timings,
            }
            log.info("call %s ended: %s", self.call_id, json.dumps(self.finished, ensure_ascii=False))
        return self.finished


def append_call_log(path: str, entry: dict[str, Any]) -> None:
    """Add one call to the opt-in JSONL call log (``phone.call_log``; "" keeps nothing)."""
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:  # one line per call, appended whole
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


class PhoneLine:
    """What every call of an entrance shares: params, the bot client and the prompts' audio."""

    def __init__(self, params: Any, bot: Any, prompts: dict[str, np.ndarray]) -> None:
        self.params, self.bot, self.prompts = params, bot, prompts  # params: PhoneParams
        self.active = 0  # calls in progress (phone.max_calls)

    @classmethod
    def from_params(cls, phone: Any, tts: Any) -> PhoneLine:
        """The line for ``phone`` params, its prompts spoken once now in the ``tts`` params' voice."""
        from callbot.phone.bot import HttpBot, line_voice
        from callbot.phone.vad import StreamingVad
        from callbot.tts.engine import load_synthesizer

        voice = load_synthesizer(tts)
        prompts = {name: line_voice(voice, text) for name, text in phone.prompts.model_dump().items()}
        StreamingVad(phone.turn.vad_threshold)  # load the VAD now, not on the first call
        bot = HttpBot(phone.bot.url, phone.bot.timeout_s, voice, phone.bot.history_turns)
        return cls(phone, bot, prompts)

    def session(self, call_id: str, entrance: str, line: Line) -> CallSession:
        from callbot.phone.vad import StreamingVad

        engine = CallEngine(self.params, self.prompts, StreamingVad(self.params.turn.vad_threshold))
        return CallSession(call_id, entrance, engine, self.bot, line)

    def ended(self, entry: dict[str, Any]) -> None:
        append_call_log(self.params.call_log, entry)
