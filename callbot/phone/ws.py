"""The WebSocket entrance: Twilio Media Streams messages in and out, one call per connection.

From the bridge (a carrier or media server): ``connected``, ``start`` (``mediaFormat`` must be
audio/x-mulaw at 8000 Hz), ``media`` (base64 G.711 mu-law, 20 ms a message), ``mark`` (echoed when
the bot's audio before it has been played), ``dtmf`` (``{"digit": "0"}``), ``stop``.

To the bridge: ``media`` (the bot's speech, mu-law 20 ms frames, sent as fast as it is ready: the
bridge buffers and plays), a ``mark`` after each answer, ``clear`` on barge-in or a keypad digit
(drop the audio not yet played), and, on a transfer, this message, after which the bot closes the
stream (code 1000, reason "transferred"); the bridge connects the caller to a person with it:

    {"event": "transfer", "streamSid": "...", "transfer": {"by": "bot" | "keypad" | "no_input",
     "transcript": [{"role": "caller" | "bot", "text": "..."}], "intent": "..." | null,
     "confidence": 0.42 | null, "summary": "..."}}

The bot ends a call (``max_call_s``) by closing the stream (1000, "max_call_s"). With
``$CALLBOT_API_KEY`` set the handshake must carry it (``X-API-Key`` or ``Authorization: Bearer``;
else HTTP 401). Over ``phone.max_calls`` calls the handshake gets HTTP 503. A message that is not
the protocol (binary, not JSON, unknown event, bad payload) closes that stream with 1008 and its
reason; the server and the other calls go on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import os
from http import HTTPStatus
from typing import Any

import numpy as np

from callbot.phone.audio import FRAME_SAMPLES, frames, pcm_to_ulaw, ulaw_to_pcm
from callbot.phone.engine import Transfer
from callbot.phone.session import CallSession, PhoneLine

log = logging.getLogger("callbot.phone.ws")
EVENTS = frozenset({"connected", "start", "media", "mark", "dtmf", "stop"})
DIGITS = frozenset("0123456789*#")
MAX_PAYLOAD_BYTES = 1600  # 200 ms of mu-law in one `media` message at most


class ProtocolError(ValueError):
    """A message that is not Twilio Media Streams: the stream is closed with this reason."""


def _field(message: dict[str, Any], event: str) -> dict[str, Any]:
    body = message.get(event)
    if not isinstance(body, dict):
        raise ProtocolError(f"a `{event}` message needs a `{event}` object")
    return body


def parse(raw: str | bytes) -> dict[str, Any]:
    """One message, checked: a JSON object with a known ``event`` and the fields that event needs."""
    if not isinstance(raw, str):
        raise ProtocolError("binary frames are not Media Streams messages; send JSON text")
    try:
        message = json.loads(raw)
    except ValueError:
        raise ProtocolError("a message must be JSON") from None
    if not isinstance(message, dict) or message.get("event") not in EVENTS:
        raise ProtocolError(f"`event` must be one of {sorted(EVENTS)}")
    event = message["event"]
    if event in ("media", "mark", "dtmf", "start"):
        _field(message, event)
    if event == "dtmf" and message["dtmf"].get("digit") not in DIGITS:
        raise ProtocolError("dtmf.digit must be one of 0-9, * or #")
    if event == "mark" and not isinstance(message["mark"].get("name"), str):
        raise ProtocolError("mark.name must be a string")
    if event == "start":
        fmt = message["start"].get("mediaFormat") or {}
        if not isinstance(fmt, dict) or (
            fmt.get("encoding", "audio/x-mulaw"),
            str(fmt.get("sampleRate", 8000)),
        ) != (
            "audio/x-mulaw",
            "8000",
        ):
            raise ProtocolError("start.mediaFormat must be audio/x-mulaw at 8000 Hz")
    return message


def media_samples(message: dict[str, Any]) -> np.ndarray:
    """The caller's audio in a `media` message (empty for the bot's own track)."""
    media = message["media"]
    if media.get("track", "inbound") not in ("inbound", "inbound_track"):
        return np.zeros(0, dtype=np.int16)
    payload = media.get("payload")
    if not isinstance(payload, str):
        raise ProtocolError("media.payload must be base64 text")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("media.payload is not base64") from None
    if not 0 < len(data) <= MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"media.payload must hold 1..{MAX_PAYLOAD_BYTES} bytes of mu-law")
    return ulaw_to_pcm(data)


class WsLine:
    """The bot's side of one stream: audio out as `media` + `mark`, `clear`, the transfer message."""

    def __init__(self, ws: Any, stream_sid: str) -> None:
        self.ws, self.sid = ws, stream_sid
        self.marks = 0
        self.pending: str | None = None  # the mark that says the current answer has been played

    async def _send(self, event: str, **body: Any) -> None:
        await self.ws.send(json.dumps({"event": event, "streamSid": self.sid, **body}, ensure_ascii=False))

    async def play(self, samples: np.ndarray) -> None:
        for frame in frames(samples):
            payload = base64.b64encode(pcm_to_ulaw(frame)).decode("ascii")
            await self._send("media", media={"payload": payload})
        self.marks += 1
        self.pending = f"answer-{self.marks}"
        await self._send("mark", mark={"name": self.pending})

    async def stop_playback(self) -> None:
        self.pending = None
        await self._send("clear")

    async def transfer(self, transfer: Transfer) -> None:
        context = {k: getattr(transfer, k) for k in ("by", "transcript", "intent", "confidence", "summary")}
        await self._send("transfer", transfer=context)
        await self.ws.close(1000, "transferred")

    async def hang_up(self, reason: str) -> None:
        await self.ws.close(1000, reason)


async def _dispatch(message: dict[str, Any], session: CallSession, line: WsLine, buffer: list) -> bool:
    """Feed one checked message to the call; False when the caller hung up."""
    event = message["event"]
    if event == "media":
        buffer[0] = np.concatenate([buffer[0], media_samples(message)])
        while buffer[0].size >= FRAME_SAMPLES:
            frame, buffer[0] = buffer[0][:FRAME_SAMPLES], buffer[0][FRAME_SAMPLES:]
            await session.audio(frame)
    elif event == "mark" and message["mark"]["name"] == line.pending:
        line.pending = None
        await session.played()
    elif event == "dtmf":
        await session.dtmf(message["dtmf"]["digit"])
    elif event == "start":
        raise ProtocolError("a stream has one `start`")
    return event != "stop"


async def _open(ws: Any, phone: PhoneLine) -> tuple[CallSession, WsLine]:
    """Read up to the `start` message and answer the call."""
    async for raw in ws:
        message = parse(raw)
        if message["event"] == "connected":
            continue
        if message["event"] != "start":
            raise ProtocolError("the stream must begin with `start` (after `connected`)")
        sid = str(message.get("streamSid") or message["start"].get("streamSid") or "")[:64]
        call_id = str(message["start"].get("callSid") or sid)[:64]
        line = WsLine(ws, sid)
        session = phone.session(call_id, "ws", line)
        await session.start()
        return session, line
    raise ProtocolError("the stream closed before `start`")


async def handle(ws: Any, phone: PhoneLine) -> None:
    """One stream = one call, whatever the bridge sends; the call is logged however it ends."""
    from websockets.exceptions import ConnectionClosed

    session: CallSession | None = None
    phone.active += 1
    try:
        async with asyncio.timeout(phone.params.max_call_s + 30):  # the engine ends it first when audio flows
            session, line = await _open(ws, phone)
            buffer = [np.zeros(0, dtype=np.int16)]
            async for raw in ws:
                if not await _dispatch(parse(raw), session, line, buffer):
                    break
    except ProtocolError as exc:
        log.info("stream refused: %s", exc)
        await ws.close(1008, str(exc)[:120])
    except (ConnectionClosed, TimeoutError):
        pass
    finally:
        phone.active -= 1
        if session is not None:
            phone.ended(await session.hangup())
        await ws.close()


def _gate(phone: PhoneLine) -> Any:
    """The handshake check: the API key when one is set, and the concurrent-call limit."""
    key = os.environ.get("CALLBOT_API_KEY", "").encode("utf-8")

    def check(connection: Any, request: Any) -> Any:
        if key:
            sent = request.headers.get("X-API-Key") or request.headers.get("Authorization", "").removeprefix(
                "Bearer "
            )
            if not hmac.compare_digest(sent.encode("utf-8"), key):
                return connection.respond(
                    HTTPStatus.UNAUTHORIZED, "this line needs the API key as X-API-Key\n"
                )
        if phone.active >= phone.params.max_calls:
            return connection.respond(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"all {phone.params.max_calls} lines are busy (phone.max_calls)\n",
            )
        return None

    return check


async def serve(phone: PhoneLine, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Serve streams on ``host:port`` until cancelled."""
    from websockets.asyncio.server import serve as ws_serve

    async with ws_serve(
        lambda ws: handle(ws, phone),
        host,
        port,
        process_request=_gate(phone),
        max_size=phone.params.ws.max_message_bytes,
        compression=None,
    ) as server:
        log.info("phone line (Media Streams) on ws://%s:%d", host, port)
        if ready is not None:
            ready.set()
        await server.serve_forever()
