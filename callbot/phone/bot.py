"""The bot behind the line: the running Bento's /transcribe, /reply and /synthesize over HTTP.

The phone line uses the same STT, responder and TTS services as the HTTP API, so what a caller
hears on the phone is what the API answers. Every field of those JSON answers is read here and
nowhere else, defensively: the endpoints grow fields (``words``, ``summary``, a confirm turn), and a
missing optional field must not end a call.

Shapes (callbot/serve/service.py): /transcribe takes a multipart ``audio`` file and answers
``{text, segments, duration_s, words?}``; /reply takes ``{text, history}`` and answers ``{text,
guarded, reason, intent, confidence, signature, summary?}``; /synthesize takes ``{text}`` and
answers a WAV. With ``$CALLBOT_API_KEY`` set, every request carries it as ``X-API-Key``.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import numpy as np

from callbot.dialogue.policy import confirm_asked
from callbot.phone.audio import RATE, line_to_wav, wav_to_line
from callbot.phone.engine import Reply

API_KEY_ENV = "CALLBOT_API_KEY"
log = logging.getLogger(__name__)


class BotError(RuntimeError):
    """The Bento could not be reached or refused the turn: the call goes to a person."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class HttpBot:
    """One client per line process; thread-safe (httpx.Client), called from worker threads."""

    def __init__(self, url: str, timeout_s: float, voice: Any = None, history_turns: int = 10) -> None:
        import httpx

        key = os.environ.get(API_KEY_ENV, "")
        self.client = httpx.Client(
            base_url=url.rstrip("/"), timeout=timeout_s, headers={"X-API-Key": key} if key else {}
        )
        self.voice = voice  # the line's own synthesiser, for text /synthesize will not speak
        self.history_turns = history_turns  # at most serve.max_history_turns, or /reply refuses the turn

    def _post(self, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.post(path, **kwargs)
        except httpx.HTTPError as exc:
            raise BotError(f"{path}: the bot at {self.client.base_url} is unreachable ({exc})") from exc
        if response.status_code != 200:
            raise BotError(
                f"{path} answered {response.status_code}: {response.text[:200]}", response.status_code
            )
        return response

    def _recent(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return history[-self.history_turns :] if self.history_turns else []

    def transcribe(
        self, pcm: np.ndarray, rate: int = RATE, history: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Caller audio -> ``{text, words, confirm}`` (``words``: per-word confidence, [] when not served;
        ``confirm``: the closed-set yes/no scores when ``history`` ends in the confirm question)."""
        files = {"audio": ("turn.wav", line_to_wav(pcm, rate), "audio/wav")}
        recent = self._recent(history or [])
        data = {"history": json.dumps(recent, ensure_ascii=False)} if recent else None
        body = self._post("/transcribe", files=files, data=data).json()
        if not isinstance(body, dict):
            raise BotError(f"/transcribe answered {type(body).__name__}, not an object")
        words, confirm = body.get("words"), body.get("confirm")
        return {
            "text": _text(body.get("text")).strip(),
            "words": words if isinstance(words, list) else [],
            "confirm": confirm if isinstance(confirm, dict) else None,
        }

    def reply(
        self, text: str, history: list[dict[str, Any]], confirm: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The responder's answer; ``history`` comes back with this turn added, signed as served.
        ``confirm``: what /transcribe heard in a spoken reply to the confirm question."""
        recent = self._recent(history)
        sent = {"text": text, "history": recent or None, **({"confirm": confirm} if confirm else {})}
        body = self._post("/reply", json=sent).json()
        if not isinstance(body, dict):
            raise BotError(f"/reply answered {type(body).__name__}, not an object")
        answer = _text(body.get("answer")) or _text(body.get("text"))
        handover = body.get("handover", body.get("guarded"))
        turn = {"role": "assistant", "content": answer, "signature": _text(body.get("signature"))}
        served = body.get("history")
        return {
            "answer": answer,
            "handover": bool(handover) if handover is not None else not answer,
            "reason": _text(body.get("reason")) or None,
            "confidence": _number(body.get("confidence")),
            "intent": _text(body.get("intent")) or None,
            "summary": _text(body.get("summary")) or None,
            "action": _text(body.get("action")) or None,
            "history": served
            if isinstance(served, list)
            else [*history, {"role": "user", "content": text}, turn],
        }

    def speak(self, text: str) -> np.ndarray:
        """The answer spoken by the Bento's TTS, as 8 kHz int16 (the line voice if it will not say it)."""
        try:
            return wav_to_line(self._post("/synthesize", json={"text": text}).content)
        except BotError as exc:
            if self.voice is None or exc.status != 422:  # 422: the reply guard refused the text
                raise
            log.info("/synthesize would not speak %r; the line's voice says it", text[:40])
            return line_voice(self.voice, text)

    def turn(self, history: list[dict[str, Any]], audio: np.ndarray | None, text: str | None) -> tuple:
        """One turn as the engine needs it: (Reply, new history, seconds to transcript, to reply)."""
        import time

        start = time.monotonic()
        confirm = None
        if text is not None:
            heard = text
        else:  # after the confirm question the reply is also scored against the yes/no phrases
            asked = confirm_asked(history)
            got = self.transcribe(audio, history=history if asked else None)
            heard, confirm = got["text"], got["confirm"]
        stt_s = time.monotonic() - start
        if not heard:
            return Reply(heard="", answer="", handover=True, reason="empty"), history, stt_s, stt_s
        got = self.reply(heard, history, confirm)
        fields = {
            k: got[k] for k in ("answer", "handover", "reason", "intent", "confidence", "summary", "action")
        }
        return Reply(heard=heard, **fields), got["history"], stt_s, time.monotonic() - start


def line_voice(voice: Any, text: str) -> np.ndarray:
    """``text`` in the line's own voice (a callbot.tts synthesiser), as 8 kHz int16."""
    from callbot.phone.audio import to_line

    speech = voice.synthesize(text)
    return to_line(speech.samples, speech.sample_rate)
