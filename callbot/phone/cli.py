"""`callbot phone serve`: the phone line's entrances in front of the running Bento.

Only typer at import time: ``callbot --help`` must stay fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="The phone line: SIP and Twilio Media Streams entrances to the served bot.")


@app.command()
def serve(
    ws: Annotated[bool, typer.Option("--ws", help="serve Media Streams on phone.ws.host:port")] = False,
    sip: Annotated[bool, typer.Option("--sip", help="answer SIP calls on phone.sip.host:port")] = False,
    bot_url: Annotated[str | None, typer.Option(help="the Bento's URL (default: phone.bot.url)")] = None,
) -> None:
    """Answer calls with the served bot (`callbot serve` must be running); $CALLBOT_API_KEY if set."""
    import asyncio
    import contextlib
    import logging

    from callbot.cli_common import fail, load

    if not (ws or sip):
        fail("choose an entrance: --ws, --sip or both")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    params = load()
    phone = params.phone
    if bot_url:
        phone = phone.model_copy(update={"bot": phone.bot.model_copy(update={"url": bot_url})})
    from callbot.phone.sip import SipConfigError

    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the calls in progress end with the process
            asyncio.run(_serve(phone, params.tts, ws, sip))
    except SipConfigError as exc:
        fail(str(exc))


async def _serve(phone: object, tts: object, ws: bool, sip: bool) -> None:
    import asyncio

    from callbot.phone.session import PhoneLine

    line = PhoneLine.from_params(phone, tts)
    entrances = []
    if ws:
        from callbot.phone.ws import serve as serve_ws

        entrances.append(serve_ws(line, phone.ws.host, phone.ws.port))
    if sip:
        from callbot.phone.sip import serve as serve_sip

        entrances.append(serve_sip(line))
    typer.echo(f"phone line: ws={ws} sip={sip}, bot {phone.bot.url}; Ctrl-C stops it")
    await asyncio.gather(*entrances)


@app.command()
def report(
    path: Annotated[str | None, typer.Option(help="the call log (default: phone.call_log)")] = None,
    artifact: Annotated[bool, typer.Option(help="also publish it as a Prefect markdown artifact")] = False,
) -> None:
    """Summarise the phone call log: outcomes, hand-overs, turns, latency p50/p95 (JSON on stdout)."""
    import json

    from callbot.cli_common import fail, load
    from callbot.phone.report import CallLogError, publish_artifact, summarise_calls

    log = path or load().phone.call_log
    if not log:
        fail("phone.call_log is empty (the line keeps no log): set it, or pass --path")
    try:
        summary = summarise_calls(log)
    except CallLogError as exc:
        fail(str(exc))
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    if artifact:
        publish_artifact(summary)
