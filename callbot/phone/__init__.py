"""The phone line: a call engine with two entrances (SIP via pjsua2, a Twilio-format WebSocket).

- :mod:`callbot.phone.engine`: turn-taking (silero-vad), barge-in, keypad, transfer; no I/O.
- :mod:`callbot.phone.bot`: the running Bento's /transcribe, /reply and /synthesize over HTTP.
- :mod:`callbot.phone.session`: one call, the engine and the bot joined, with its latencies.
- :mod:`callbot.phone.ws` and :mod:`callbot.phone.sip`: the entrances.
"""
