"""The SIP entrance: a pjsua2 user agent that answers G.711 calls and runs the call engine.

- PJSIP (``pjsua2-python``) with the null audio device: no sound card; the conference bridge runs
  at 8 kHz and its clock drives a custom ``AudioMediaPort`` per call, which hands the caller's
  20 ms frames to the engine and plays the bot's frames back (silence when it has nothing to say).
- UDP on ``phone.sip.host:port`` (loopback by default); only PCMU and PCMA are offered; RTP only on
  ``rtp_port .. rtp_port + rtp_port_range``. No proxying: the agent answers calls and never
  forwards a request (no open relay).
- Registration is opt-in: with ``phone.sip.registrar`` set to a registrar URI the account registers
  as ``sip:$CALLBOT_SIP_USER@<registrar host>`` and answers the registrar's digest challenge with
  ``$CALLBOT_SIP_PASSWORD`` (credentials only from the environment, never params). The registrar
  (or the PBX behind it) must still be in ``allow_peers`` for its calls to be answered.
- Callers from addresses outside ``allow_peers`` get 403; over ``phone.max_calls``, 486 Busy; the
  engine ends a call at ``max_call_s``. PJSIP itself refuses malformed SIP (a 400, or the packet
  is dropped) and the agent goes on.
- Keypad: RFC 4733 telephone-events (``onDtmfDigit``). A transfer is a REFER (``Call.xfer``) to
  ``agent_uri`` carrying the context as URL-encoded headers: ``X-Callbot-Transcript``,
  ``X-Callbot-Intent``, ``X-Callbot-Confidence``, ``X-Callbot-Summary``, ``X-Callbot-Transferred-By``;
  the bot hangs up once the transfer succeeds.

All SIP callbacks run on the asyncio loop's thread (``threadCnt = 0``: the loop polls PJSIP); the
media clock's thread only moves frames through thread-safe queues.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import threading
from typing import Any
from urllib.parse import quote

import numpy as np

from callbot.phone.audio import FRAME_SAMPLES, RATE, frames
from callbot.phone.engine import Transfer
from callbot.phone.session import PhoneLine

log = logging.getLogger("callbot.phone.sip")
CODECS = ("PCMU/8000/1", "PCMA/8000/1")
USER_ENV, PASSWORD_ENV = "CALLBOT_SIP_USER", "CALLBOT_SIP_PASSWORD"


class SipConfigError(RuntimeError):
    """The SIP entrance cannot start as configured; the message says what to set."""


def registration(registrar: str, env: dict[str, str] | None = None) -> tuple[str, str, str] | None:
    """(address of record, user, password) for ``phone.sip.registrar``; None when not registering."""
    if not registrar:
        return None
    env = os.environ if env is None else env
    user, password = env.get(USER_ENV, ""), env.get(PASSWORD_ENV, "")
    if not user or not password:
        raise SipConfigError(
            f"phone.sip.registrar is {registrar!r}: set ${USER_ENV} and ${PASSWORD_ENV} "
            "to the registrar's digest credentials (they are never read from params)"
        )
    scheme, _, host = registrar.partition(":")
    return f"{scheme}:{user}@{host}", user, password


SILENCE = bytes(FRAME_SAMPLES * 2)


def _pj() -> Any:
    import pjsua2

    return pjsua2


def _guarded(method: Any) -> Any:
    """A PJSIP callback must never raise into C++: log the error and go on."""

    def wrapper(self: Any, *args: Any) -> Any:
        try:
            return method(self, *args)
        except Exception:
            log.exception("SIP callback %s failed", method.__name__)
            return None

    return wrapper


def transfer_headers(transfer: Transfer) -> dict[str, str]:
    """The hand-over context as SIP header values (URL-encoded UTF-8: SIP headers are ASCII)."""
    transcript = " / ".join(f"{t['role']}: {t['text']}" for t in transfer.transcript)
    values = {
        "X-Callbot-Transcript": transcript[-900:],
        "X-Callbot-Intent": transfer.intent or "",
        "X-Callbot-Confidence": "" if transfer.confidence is None else f"{transfer.confidence:.3f}",
        "X-Callbot-Summary": transfer.summary[:300],
        "X-Callbot-Transferred-By": transfer.by,
    }
    return {name: quote(value, safe="") for name, value in values.items()}


@functools.cache
def _media_port_class() -> type:
    pj = _pj()

    class BotPort(pj.AudioMediaPort):
        """The call's audio both ways, on the media clock's thread: 20 ms of 16-bit PCM a frame."""

        def __init__(self, loop: asyncio.AbstractEventLoop, heard: asyncio.Queue) -> None:
            super().__init__()
            self.loop, self.heard = loop, heard
            self.out: collections.deque[bytes] = collections.deque()
            self.lock = threading.Lock()
            self.playing = False
            fmt = pj.MediaFormatAudio()
            fmt.type, fmt.clockRate, fmt.channelCount = pj.PJMEDIA_TYPE_AUDIO, RATE, 1
            fmt.bitsPerSample, fmt.frameTimeUsec = 16, 20000
            self.createPort("callbot", fmt)

        def onFrameReceived(self, frame: Any) -> None:
            data = bytes(frame.buf)
            if len(data) == FRAME_SAMPLES * 2:
                samples = np.frombuffer(data, dtype=np.int16).copy()
                self.loop.call_soon_threadsafe(self.heard.put_nowait, ("audio", samples))

        def onFrameRequested(self, frame: Any) -> None:
            with self.lock:
                chunk = self.out.popleft() if self.out else None
                drained = chunk is None and self.playing
                self.playing = self.playing and not drained
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
            frame.buf = pj.ByteVector(chunk or SILENCE)
            frame.size = FRAME_SAMPLES * 2
            if drained:
                self.loop.call_soon_threadsafe(self.heard.put_nowait, ("played", None))

        def play(self, samples: np.ndarray) -> None:
            with self.lock:
                self.out.extend(f.tobytes() for f in frames(samples))
                self.playing = True

        def clear(self) -> None:
            with self.lock:
                self.out.clear()
                self.playing = False

    return BotPort


class SipLine:
    """The engine's actions on one SIP call (the session's Line)."""

    def __init__(self, agent: SipAgent, call: Any) -> None:
        self.agent, self.call = agent, call
        self.port: Any = None  # set when the call's media is up

    async def play(self, samples: np.ndarray) -> None:
        if self.port is not None:
            self.port.play(samples)

    async def stop_playback(self) -> None:
        if self.port is not None:
            self.port.clear()

    async def transfer(self, transfer: Transfer) -> None:
        pj = _pj()
        prm = pj.CallOpParam(True)
        for name, value in transfer_headers(transfer).items():
            header = pj.SipHeader()
            header.hName, header.hValue = name, value
            prm.txOption.headers.append(header)
        log.info("call %s: REFER to %s", self.call.call_id, self.agent.params.sip.agent_uri)
        self.call.xfer(self.agent.params.sip.agent_uri, prm)

    async def hang_up(self, reason: str) -> None:
        log.info("call %s: hanging up (%s)", self.call.call_id, reason)
        self.call.hangup(_pj().CallOpParam(True))


def _peer_ip(address: str) -> str:
    """'127.0.0.1:5060' or '[::1]:5060' -> the IP."""
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 or address.startswith("[") else address
    return host.strip("[]")


@functools.cache
def _call_class() -> type:
    pj = _pj()

    class BotCall(pj.Call):
        """One answered call: its media port, its session, its events queued to the loop."""

        def __init__(self, agent: SipAgent, account: Any, call_id: int) -> None:
            super().__init__(account, call_id)
            self.agent, self.call_id = agent, f"sip-{call_id}-{id(self) & 0xFFFF:x}"
            self.events: asyncio.Queue = asyncio.Queue()
            self.line = SipLine(agent, self)
            self.session = agent.line.session(self.call_id, "sip", self.line)
            self.worker: asyncio.Task | None = None
            self.accepted = False

        @_guarded
        def onCallMediaState(self, prm: Any) -> None:
            info = self.getInfo()
            for i, media in enumerate(info.media):
                active = media.status == pj.PJSUA_CALL_MEDIA_ACTIVE
                if media.type == pj.PJMEDIA_TYPE_AUDIO and active and self.line.port is None:
                    audio = pj.AudioMedia.typecastFromMedia(self.getMedia(i))
                    self.line.port = _media_port_class()(self.agent.loop, self.events)
                    audio.startTransmit(self.line.port)
                    self.line.port.startTransmit(audio)
                    self.worker = asyncio.ensure_future(self.agent.run(self))

        @_guarded
        def onDtmfDigit(self, prm: Any) -> None:
            self.events.put_nowait(("dtmf", str(prm.digit)))

        @_guarded
        def onCallTransferStatus(self, prm: Any) -> None:
            log.info("call %s: transfer status %d %s", self.call_id, prm.statusCode, prm.reason)
            if prm.finalNotify and 200 <= prm.statusCode < 300:
                self.hangup(pj.CallOpParam(True))
            prm.cont = not prm.finalNotify

        @_guarded
        def onCallState(self, prm: Any) -> None:
            if self.getInfo().state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.events.put_nowait(("bye", None))
                if self.worker is None:  # never got media: end it here
                    self.agent.forget(self)

    return BotCall


class SipAgent:
    """The user agent: one PJSIP endpoint, one local account, the calls in progress."""

    def __init__(self, line: PhoneLine, loop: asyncio.AbstractEventLoop) -> None:
        self.line, self.params, self.loop = line, line.params, loop
        self.calls: dict[str, Any] = {}  # keeps the Python objects alive as long as PJSIP uses them
        self.ep: Any = None
        self.account: Any = None

    def start(self) -> None:
        pj = _pj()
        registration(self.params.sip.registrar)  # missing credentials: refuse before the library starts
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        config = pj.EpConfig()
        config.uaConfig.threadCnt, config.uaConfig.mainThreadOnly = 0, True
        config.uaConfig.maxCalls = max(self.params.max_calls + 1, 2)  # one over: the agent answers 486
        config.uaConfig.userAgent = "callbot-phone"
        config.logConfig.level = config.logConfig.consoleLevel = 2
        config.medConfig.clockRate = config.medConfig.sndClockRate = RATE
        config.medConfig.noVad = True
        self.ep.libInit(config)
        transport = pj.TransportConfig()
        transport.boundAddress, transport.port = self.params.sip.host, self.params.sip.port
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()
        for codec in self.ep.codecEnum2():
            self.ep.codecSetPriority(codec.codecId, 255 if codec.codecId in CODECS else 0)
        self.account = _account_class()(self)
        log.info("phone line (SIP) on sip:bot@%s:%d", self.params.sip.host, self.params.sip.port)

    async def run(self, call: Any) -> None:
        """Answer the call, then feed its frames, digits and playback ends to its session in order."""
        session = call.session
        await session.start()
        while True:
            kind, value = await call.events.get()
            if kind == "audio":
                await session.audio(value)
            elif kind == "dtmf":
                await session.dtmf(value)
            elif kind == "played":
                await session.played()
            elif kind == "bye":
                break
        self.line.ended(await session.hangup())
        self.forget(call)

    def forget(self, call: Any) -> None:
        """The call is over: free its media port now, while the library is up (its destructor needs it)."""
        port, call.line.port = call.line.port, None
        if port is not None:
            port.clear()
        del port  # the last reference: the port leaves the conference bridge here
        if self.calls.pop(call.call_id, None) is not None and call.accepted:
            self.line.active -= 1

    def stop(self) -> None:
        """Hang up what is left, let PJSIP finish with every call object, then close the library."""
        import gc

        if self.ep is None:
            return
        self.ep.hangupAllCalls()
        for _ in range(20):  # the BYEs go out and the calls reach DISCONNECTED
            self.ep.libHandleEvents(10)
        for call in list(self.calls.values()):  # their tasks were cancelled with the loop
            self.forget(call)
        self.account = None
        gc.collect()  # a call object freed after libDestroy would touch a closed library
        self.ep.libDestroy()
        self.ep = None


@functools.cache
def _account_class() -> type:
    pj = _pj()

    class BotAccount(pj.Account):
        """The account every call arrives on: local (the PBX sends calls here) or registered (phone.sip.registrar)."""

        def __init__(self, agent: SipAgent) -> None:
            super().__init__()
            self.agent = agent
            sip = agent.params.sip
            config = pj.AccountConfig()
            config.idUri = f"sip:bot@{sip.host}:{sip.port}"
            registered = registration(sip.registrar)
            if registered is not None:
                config.idUri, user, password = registered
                config.regConfig.registrarUri = sip.registrar
                config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
            media = config.mediaConfig.transportConfig
            media.port, media.portRange, media.boundAddress = sip.rtp_port, sip.rtp_port_range, sip.host
            self.create(config)

        @_guarded
        def onIncomingCall(self, prm: Any) -> None:
            agent = self.agent
            call = _call_class()(agent, self, prm.callId)
            agent.calls[call.call_id] = call  # refused ones too, until PJSIP is done with them
            peer = _peer_ip(prm.rdata.srcAddress)
            answer = pj.CallOpParam(True)
            if peer not in agent.params.sip.allow_peers:
                log.info("refused a call from %s (not in phone.sip.allow_peers)", peer)
                answer.statusCode = pj.PJSIP_SC_FORBIDDEN
            elif agent.line.active >= agent.params.max_calls:
                log.info("refused a call from %s: all %d lines busy", peer, agent.params.max_calls)
                answer.statusCode = pj.PJSIP_SC_BUSY_HERE
            else:
                call.accepted = True
                agent.line.active += 1
                answer.statusCode = pj.PJSIP_SC_OK
            call.answer(answer)

    return BotAccount


async def serve(line: PhoneLine, ready: asyncio.Event | None = None) -> None:
    """Answer SIP calls until cancelled (the loop polls PJSIP every 5 ms)."""
    agent = SipAgent(line, asyncio.get_running_loop())
    agent.start()
    if ready is not None:
        ready.set()
    try:
        while True:
            agent.ep.libHandleEvents(0)
            await asyncio.sleep(0.005)
    finally:
        agent.stop()
