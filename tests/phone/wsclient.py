"""A Twilio-format bridge for the tests: sends a caller's audio and keys, plays back marks."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from callbot.phone.audio import frames, pcm_to_ulaw, ulaw_to_pcm


@dataclass
class Heard:
    """What the bot sent up to a mark, a transfer or the end of the stream."""

    audio: np.ndarray
    events: list[str] = field(default_factory=list)
    transfer: dict[str, Any] | None = None
    closed: tuple[int, str] | None = None


class Bridge:
    """One stream, driven step by step: the caller speaks or keys, then listens to the answer."""

    def __init__(self, ws: Any, sid: str = "MZ-test") -> None:
        self.ws, self.sid = ws, sid
        self.sequence = 0

    async def send(self, event: str, **body: Any) -> None:
        self.sequence += 1
        message = {"event": event, "sequenceNumber": str(self.sequence), "streamSid": self.sid, **body}
        await self.ws.send(json.dumps(message))

    async def start(self) -> None:
        await self.ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        fmt = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        await self.send("start", start={"streamSid": self.sid, "callSid": "CA-test", "mediaFormat": fmt})

    async def say(self, samples: np.ndarray) -> None:
        for i, frame in enumerate(frames(samples)):
            payload = base64.b64encode(pcm_to_ulaw(frame)).decode("ascii")
            await self.send("media", media={"track": "inbound", "chunk": str(i), "payload": payload})

    async def press(self, digit: str) -> None:
        await self.send("dtmf", dtmf={"track": "inbound_track", "digit": digit})

    async def hear(self, echo: bool = True) -> Heard:
        """Read the bot's messages up to its next mark (echoed, as a bridge does once played)."""
        from websockets.exceptions import ConnectionClosed

        heard, chunks = Heard(np.zeros(0, dtype=np.int16)), []
        try:
            while True:
                message = json.loads(await self.ws.recv())
                heard.events.append(message["event"])
                if message["event"] == "media":
                    chunks.append(base64.b64decode(message["media"]["payload"]))
                elif message["event"] == "transfer":
                    heard.transfer = message["transfer"]
                elif message["event"] == "mark":
                    if echo:
                        await self.send("mark", mark={"name": message["mark"]["name"]})
                    break
        except ConnectionClosed as exc:
            heard.closed = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (1006, "")
        heard.audio = ulaw_to_pcm(b"".join(chunks))
        return heard
