"""params.yaml `phone`: the phone line's turn-taking, keypad, limits and its two entrances.

Read only by :mod:`callbot.phone` (the call engine and the SIP / WebSocket entrances). Secrets are
never here: the API key is ``$CALLBOT_API_KEY``, for the Bento this line calls and for callers of
the WebSocket entrance alike; a registrar's digest credentials are ``$CALLBOT_SIP_USER`` and
``$CALLBOT_SIP_PASSWORD``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from callbot.params_base import Section


class TurnParams(Section):
    vad_threshold: Annotated[float, Field(gt=0.0, lt=1.0)]  # silero speech probability counted as speech
    end_of_utterance_ms: Annotated[int, Field(ge=100)]  # this much silence after speech ends a turn
    min_speech_ms: Annotated[int, Field(ge=20)]  # shorter speech is noise: not a turn
    barge_in_min_ms: Annotated[int, Field(ge=20)]  # caller speech over the bot stops it only past this
    no_input_s: Annotated[float, Field(gt=0.0)]  # silence before the caller is prompted (then transferred)
    max_utterance_s: Annotated[float, Field(gt=0.0)]  # a turn is cut here and answered
    failed_turns_before_menu: Annotated[int, Field(ge=1)]  # handovers in a row before the keypad menu
    transfer_reasons: list[str]  # reply `reason`s the bot transfers on at once (not a failed turn)


class PromptParams(Section):
    greeting: str  # the line's own phrases, spoken by the line's voice (tts params), not by /synthesize
    no_input: str
    retry: str
    menu: str
    transfer: str


class BotParams(Section):
    url: str  # the running Bento (`callbot serve`): /transcribe, /reply, /synthesize
    timeout_s: Annotated[float, Field(gt=0.0)]
    history_turns: Annotated[int, Field(ge=0)]  # earlier turns sent to /reply; <= serve.max_history_turns


class WsParams(Section):
    host: str
    port: int
    max_message_bytes: Annotated[int, Field(ge=1024)]  # a bigger WebSocket message closes the stream


class SipParams(Section):
    host: str  # the UDP transport's address (loopback by default)
    port: int
    agent_uri: str  # where a transfer sends the call (SIP REFER)
    allow_peers: list[str]  # caller IP addresses accepted; any other gets 403
    rtp_port: int  # first RTP port
    rtp_port_range: Annotated[int, Field(ge=2)]  # RTP ports used: rtp_port .. rtp_port + range
    registrar: Annotated[str, Field(pattern=r"^(sips?:[^\s@;?]+)?$")]  # "" or sip:host[:port]


class PhoneParams(Section):
    turn: TurnParams
    prompts: PromptParams
    menu: dict[str, str]  # keypad digit -> the caller question it stands for (sent to /reply)
    bot: BotParams
    max_calls: Annotated[int, Field(ge=1)]  # concurrent calls per entrance; more are refused
    max_call_s: Annotated[float, Field(gt=0.0)]  # a call is ended here
    call_log: str  # JSONL of ended calls (outcome, turns, transcript, latencies); "" keeps nothing
    ws: WsParams
    sip: SipParams
