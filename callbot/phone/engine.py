"""The call engine: caller frames, keypad digits and the bot's replies in; what the line does out.

No I/O and no clock of its own: time is the count of 20 ms caller frames, so a call replays the
same way on any machine. An entrance (:mod:`callbot.phone.ws`, :mod:`callbot.phone.sip`) feeds it
through :mod:`callbot.phone.session`, which runs the bot for each ``Think`` and plays each ``Play``.

Turn-taking:
- a turn ends after ``end_of_utterance_ms`` of silence following at least ``min_speech_ms`` of
  speech (shorter bursts are noise), or at ``max_utterance_s``;
- barge-in: caller speech over the bot for ``barge_in_min_ms`` stops the playback and becomes the
  next turn; a shorter backchannel ("네", "음") is ignored;
- a silent caller is prompted once after ``no_input_s``, then transferred;
- keypad: "0" transfers at any time; a menu digit asks its mapped question; the menu is offered
  after ``failed_turns_before_menu`` hand-overs in a row, and one more hand-over transfers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from callbot.phone.audio import FRAME_MS
from callbot.phone.params import PhoneParams

Outcome = Literal["contained", "transferred", "abandoned"]
PREROLL_FRAMES = 10  # 200 ms kept before speech is detected: the VAD reacts after the onset


@dataclass(frozen=True)
class Reply:
    """What the bot made of one turn (read from the Bento by :mod:`callbot.phone.bot`)."""

    heard: str
    answer: str
    handover: bool
    reason: str | None = None
    intent: str | None = None
    confidence: float | None = None
    summary: str | None = None
    action: str | None = None  # the policy's answer | confirm | handover, when /reply says it


@dataclass(frozen=True)
class Think:
    """Ask the bot: the caller's audio (8 kHz int16), or the question a menu digit stands for."""

    turn: int
    audio: np.ndarray | None = None
    text: str | None = None


@dataclass(frozen=True)
class Play:
    """Speak ``text`` (``audio`` given for the line's own prompts, else synthesised by the bot)."""

    text: str
    audio: np.ndarray | None = None
    then: Literal["listen", "transfer"] = "listen"


@dataclass(frozen=True)
class StopPlayback:
    """Barge-in or keypad: cut the bot off now (the WebSocket's `clear`)."""


@dataclass(frozen=True)
class Transfer:
    """Hand the call to a person with what the bot learnt (SIP REFER headers, the WebSocket message)."""

    by: Literal["bot", "keypad", "no_input"]
    transcript: list[dict[str, str]]
    intent: str | None
    confidence: float | None
    summary: str


@dataclass(frozen=True)
class HangUp:
    reason: str


Action = Think | Play | StopPlayback | Transfer | HangUp


@dataclass
class CallRecord:
    """How the call ended and what it took: the call log's entry."""

    outcome: Outcome | None = None
    transferred_by: str | None = None
    turns: int = 0
    answered: int = 0
    failed_in_a_row: int = 0
    transcript: list[dict[str, str]] = field(default_factory=list)
    last: Reply | None = None


class CallEngine:
    """One call's turn-taking; every method returns the actions the line must take, in order."""

    def __init__(self, params: PhoneParams, prompts: dict[str, np.ndarray], vad: object) -> None:
        self.p, self.t = params, params.turn
        self.prompts = prompts  # prompt name (params.phone.prompts) -> line audio
        self.vad = vad  # StreamingVad: push(frame) -> speaking now
        self.state: Literal["listening", "thinking", "speaking", "ended"] = "listening"
        self.record = CallRecord()
        self.frames = 0
        self.idle_ms, self.prompted, self.menu_offered = 0, False, False
        self.then: Literal["listen", "transfer"] = "listen"
        self.transfer_by: Literal["bot", "keypad", "no_input"] = "bot"
        self._reset_utterance()
        self.preroll: list[np.ndarray] = []

    def _reset_utterance(self) -> None:
        self.utterance: list[np.ndarray] = []
        self.voiced_ms = self.silence_ms = 0

    def _prompt(self, name: str, then: Literal["listen", "transfer"] = "listen") -> Play:
        return Play(getattr(self.p.prompts, name), self.prompts.get(name), then)

    def start(self) -> list[Action]:
        """The call is answered: greet the caller."""
        return self._play(self._prompt("greeting"))

    def _play(self, play: Play) -> list[Action]:
        self.state, self.then = "speaking", play.then
        self._reset_utterance()
        return [play]

    @property
    def elapsed_ms(self) -> int:
        return self.frames * FRAME_MS

    # ---- caller audio ---------------------------------------------------------------------
    def on_audio(self, frame: np.ndarray) -> list[Action]:
        """One 20 ms caller frame (8 kHz int16)."""
        if self.state == "ended":
            return []
        self.frames += 1
        speaking = bool(self.vad.push(frame))
        if self.elapsed_ms >= self.p.max_call_s * 1000:
            return self._end("max_call_s")
        if self.state == "listening":
            return self._listen(frame, speaking)
        if self.state == "speaking" and self.then == "listen":
            return self._barge_in(frame, speaking)
        return []  # thinking, or a hand-over message that must be heard out

    def _hear(self, frame: np.ndarray, speaking: bool) -> None:
        """Grow the current utterance (starting with the pre-roll when speech begins)."""
        if not self.utterance:
            self.preroll = [*self.preroll[-(PREROLL_FRAMES - 1) :], frame]
            if not speaking:
                return
            self.utterance = list(self.preroll)
        else:
            self.utterance.append(frame)
        self.voiced_ms += FRAME_MS if speaking else 0
        self.silence_ms = 0 if speaking else self.silence_ms + FRAME_MS

    def _listen(self, frame: np.ndarray, speaking: bool) -> list[Action]:
        self._hear(frame, speaking)
        if not self.utterance:
            return self._idle()
        self.idle_ms = 0
        long = len(self.utterance) * FRAME_MS >= self.t.max_utterance_s * 1000
        if self.silence_ms >= self.t.end_of_utterance_ms or long:
            if self.voiced_ms >= self.t.min_speech_ms:
                return self._think(audio=np.concatenate(self.utterance))
            self._reset_utterance()  # a click or a breath: not a turn
        return []

    def _idle(self) -> list[Action]:
        self.idle_ms += FRAME_MS
        if self.idle_ms < self.t.no_input_s * 1000:
            return []
        self.idle_ms = 0
        if not self.prompted:
            self.prompted = True
            return self._play(self._prompt("no_input"))
        self.transfer_by = "no_input"
        return self._play(self._prompt("transfer", then="transfer"))

    def _barge_in(self, frame: np.ndarray, speaking: bool) -> list[Action]:
        """Caller speech over the bot: long enough, it stops the bot; a backchannel fades out."""
        self._hear(frame, speaking)
        if self.utterance and self.silence_ms >= self.t.end_of_utterance_ms:
            self._reset_utterance()  # "네" while the bot talks: ignored
        if self.voiced_ms >= self.t.barge_in_min_ms:
            self.state, self.idle_ms = "listening", 0
            return [StopPlayback()]
        return []

    def _think(self, audio: np.ndarray | None = None, text: str | None = None) -> list[Action]:
        self.state = "thinking"
        self._reset_utterance()
        self.record.turns += 1
        return [Think(self.record.turns, audio, text)]

    # ---- keypad, the bot's replies, playback and hang-up ------------------------------------
    def on_dtmf(self, digit: str) -> list[Action]:
        """A keypad digit (RFC 4733 or the stream's `dtmf`): "0" transfers, menu digits ask."""
        if self.state == "ended":
            return []
        stop: list[Action] = [StopPlayback()] if self.state == "speaking" else []
        if digit == "0":
            return stop + self._transfer("keypad")
        if digit in self.p.menu and self.state != "thinking":
            return stop + self._think(text=self.p.menu[digit])
        return []

    def on_reply(self, reply: Reply) -> list[Action]:
        """The bot's answer to the turn ``Think`` asked about."""
        if self.state != "thinking":
            return []  # the caller hung up or pressed 0 meanwhile
        r = self.record
        r.last = reply
        r.transcript += [{"role": "caller", "text": reply.heard}, {"role": "bot", "text": reply.answer}]
        actions = self._respond(reply)
        said = next((a.text for a in actions if isinstance(a, Play)), reply.answer)
        r.transcript[-1]["text"] = said  # what the caller heard: a retry or menu prompt replaces the reply
        return actions

    def _respond(self, reply: Reply) -> list[Action]:
        r = self.record
        if not reply.handover:
            r.answered, r.failed_in_a_row = r.answered + 1, 0
            return self._play(Play(reply.answer))
        if reply.reason in self.t.transfer_reasons:
            return self._handover(reply)
        r.failed_in_a_row += 1
        if r.failed_in_a_row < self.t.failed_turns_before_menu:
            return self._play(self._prompt("retry"))
        if not self.menu_offered:
            self.menu_offered = True
            return self._play(self._prompt("menu"))
        return self._handover(reply)

    def _handover(self, reply: Reply) -> list[Action]:
        """The bot's hand-over message (the line's own when it said nothing), then the transfer."""
        self.transfer_by = "bot"
        if not reply.answer:
            return self._play(self._prompt("transfer", then="transfer"))
        return self._play(Play(reply.answer, then="transfer"))

    def on_failure(self) -> list[Action]:
        """The bot could not be reached for this turn: a person takes the call."""
        if self.state != "thinking":
            return []
        return self._transfer("bot")

    def on_playback_done(self) -> list[Action]:
        """The line finished playing (the stream's `mark` came back, the SIP player ended)."""
        if self.state != "speaking":
            return []
        if self.then == "transfer":
            return self._transfer(self.transfer_by)
        self.state, self.idle_ms = "listening", 0
        return []

    def on_hangup(self) -> list[Action]:
        """The caller hung up (the stream's `stop`, a SIP BYE)."""
        if self.state != "ended":
            self._finish(self._contained_or_abandoned())
        return []

    def _contained_or_abandoned(self) -> Outcome:
        """Contained: answered at least once and not left in the middle of a turn."""
        mid_turn = self.state in ("thinking", "speaking") and self.then == "listen" and self.record.turns
        heard_out = self.state == "listening" and not self.utterance
        answered = self.record.answered > 0 and self.record.failed_in_a_row == 0
        return "contained" if answered and heard_out and not mid_turn else "abandoned"

    def _end(self, reason: str) -> list[Action]:
        self._finish(self._contained_or_abandoned())
        return [HangUp(reason)]

    def _transfer(self, by: Literal["bot", "keypad", "no_input"]) -> list[Action]:
        r = self.record
        self._finish("transferred", by)
        last = r.last
        summary = (last.summary if last else None) or _summary(r.transcript)
        intent, confidence = (last.intent, last.confidence) if last else (None, None)
        return [Transfer(by, list(r.transcript), intent, confidence, summary)]

    def _finish(self, outcome: Outcome, by: str | None = None) -> None:
        self.state = "ended"
        self.record.outcome, self.record.transferred_by = outcome, by


def _summary(transcript: list[dict[str, str]]) -> str:
    """The caller's last words, when the bot gave no summary of its own."""
    said = [t["text"] for t in transcript if t["role"] == "caller" and t["text"].strip()]
    return said[-1][:200] if said else ""
