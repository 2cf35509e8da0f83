"""Acceptance: the hand-written callers' set against a served Bento, typed and spoken, over HTTP.

What it measures (``callbot/bot/data/acceptance.yaml``: questions worded outside this project,
never used for training, tuning or selection, and everyday sentences whose words are mostly outside
the sample corpora):

- typed: each question to ``/reply``; right answer / wrong answer / handover, and for the
  questions with no script whether they were handed over; a confirm turn is answered truthfully
  ("네"/"아니요") and the call counts two turns;
- spoken: each question spoken by espeak-ng in voices no sample generator uses, at 16 kHz and
  through the G.711 8 kHz line, sent to ``/transcribe``, the transcript to ``/reply`` (a confirm's
  네/아니요 is spoken and transcribed too);
- STT CER (spaces ignored) of the questions and of the everyday sentences, per channel and voice;
- baselines from the same run: a bot that always hands over, and the empty transcript.

An empty transcript is not sent to ``/reply`` (it refuses empty text); it counts as the handover
``/ars`` gives when nothing was heard. Serve the Bento first (``callbot package && callbot serve``, port 3000):

    CALLBOT_API_KEY=... .venv/bin/python benchmarks/acceptance_bench.py --url http://127.0.0.1:3000 \
        [--json reports/acceptance.json] [--channels 16k 8k] [--typed-only]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from callbot.bot import acceptance as acc  # noqa: E402

EMPTY_HANDOVER = {"text": "", "action": acc.HANDOVER, "reason": "empty", "intent": None}


def wav_bytes(samples: Any, rate: int) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _json(response: Any, path: str) -> dict[str, Any]:
    """The answer's JSON, or a clear stop naming the endpoint, its status and what it said."""
    if response.status_code == 401:
        raise SystemExit(f"{path}: 401, the service wants an API key; set CALLBOT_API_KEY")
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError:
        raise SystemExit(f"{path}: the answer is not JSON: {response.text[:300]!r}") from None


def http_bot(url: str, api_key: str, timeout: float) -> acc.Bot:
    """The served Bento as the scorer's bot: ``/transcribe`` (multipart WAV) and ``/reply`` (JSON)."""
    import httpx

    headers = {"X-API-Key": api_key} if api_key else {}
    client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def transcribe(samples: Any, rate: int) -> str:
        files = {"audio": ("caller.wav", wav_bytes(samples, rate), "audio/wav")}
        return str(_json(client.post("/transcribe", files=files), "/transcribe").get("text") or "")

    def reply(text: str, history: list[dict[str, Any]]) -> dict[str, Any]:
        if not text.strip():
            return dict(EMPTY_HANDOVER)
        return _json(client.post("/reply", json={"text": text, "history": history}), "/reply")

    return acc.Bot(transcribe=transcribe, reply=reply)


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def table(result: dict[str, Any]) -> str:
    """Replies per condition beside the always-handover baseline, then STT CER beside the empty one."""
    rows = [("typed", result["typed"]), ("always hand over", result["baseline_always_handover"])]
    rows += [(f"spoken {ch}", block["all"]["replies"]) for ch, block in result["spoken"].items()]
    lines = ["condition          success  wrong  handover  no-script-handed-over  mean-turns"]
    for name, r in rows:
        share = r["handover"] / r["in_scope"] if r["in_scope"] else None
        lines.append(
            f"{name:<18} {_pct(r['success'])} {_pct(r['wrong_answer_rate'])} {_pct(share)}"
            f"    {_pct(r['no_script_handed_over'])}               {r['mean_turns']:.2f}"
        )
    lines.append("STT (CER, spaces ignored)   questions  sentences  empty-transcript")
    for channel, block in result["spoken"].items():
        for voice, figures in [("all voices", block["all"]), *block["by_voice"].items()]:
            q, s = figures["stt_questions"], figures["stt_sentences"]
            lines.append(
                f"{channel:<4} {voice:<22} {q['cer']:9.3f}  {s['cer']:9.3f}  {q['empty_transcript_cer']:9.3f}"
            )
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> str:
    t, n = result["typed"], result["items"]
    parts = [
        f"acceptance ({n['in_scope']} scripted + {n['no_script']} no-script questions, {n['sentences']} sentences):",
        f"typed success {t['success']:.3f} wrong {t['wrong_answer_rate']:.3f} "
        f"no-script handed over {t['no_script_handed_over']:.3f}",
    ]
    for channel, block in result["spoken"].items():
        r = block["all"]["replies"]
        parts.append(
            f"{channel} success {r['success']:.3f} wrong {r['wrong_answer_rate']:.3f} "
            f"CER q {block['all']['stt_questions']['cer']:.3f} s {block['all']['stt_sentences']['cer']:.3f}"
        )
    parts.append("baseline: always-handover success 0.000, empty-transcript CER 1.000")
    return " | ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="the served Bento")
    parser.add_argument("--json", type=Path, help="write the full result here (e.g. reports/acceptance.json)")
    parser.add_argument("--channels", nargs="+", default=list(acc.CHANNELS), choices=acc.CHANNELS)
    parser.add_argument("--typed-only", action="store_true", help="only /reply, no speech")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    args = parser.parse_args(argv)
    import httpx

    try:
        s = acc.load_set()
        script = acc.callcenter_script()
        bot = http_bot(args.url, os.environ.get("CALLBOT_API_KEY", ""), args.timeout)
        result = acc.run_acceptance(s, bot, script, args.channels, spoken=not args.typed_only)
    except acc.AcceptanceError as exc:
        raise SystemExit(f"acceptance: {exc}") from None
    except httpx.TransportError as exc:
        raise SystemExit(f"acceptance: cannot reach {args.url} ({exc}); is the Bento served?") from None
    print(table(result))
    print(summary(result))
    if args.json:
        from callbot.atomic import write_json

        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, result)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
