"""Lone short answers (네, 예, 응, 아니요, 아니에요, 맞아요) as the confirm turn hears them (issue 22).

The confirm question asks "맞으면 네, 아니면 아니요라고 말씀해 주세요"; evaluate-bot's simulated caller
and real callers answer with one word. Each answer is spoken by voices that never say a short answer
in the training sample: the held-out variants (``ko+f4``, ``ko+m6``, ``ko+m7``: ``phone.SHORT_ANSWER_UNHEARD``)
at three rates, and the acceptance set's two voices (``ko`` r150 p40, ``ko+Mr serious`` r135 p60, used
by no generator) at their rate and +-20; at 16 kHz and through the 8 kHz G.711 line. Scored per model
and decoder: exact words (the transcript, spaces squeezed, equals the answer) and the confirm turn's
parse (``policy.yes_no`` gives the answer's meaning; None or the opposite is a miss).

    python benchmarks/short_answers_bench.py /work/main/models/stt models/stt-after [--json out.json]

A model directory without an LM (a ``stt_ctc_bench.py budget`` candidate) is scored greedy only.

Measured (2026-12-08, 90 clips per channel: 6 answers x (9 held-out + 6 acceptance voice/rate pairs)).
Equal steps: ``stt_ctc_bench.py budget --only base --steps 1600`` (half the demo's 3,200) on main's
prepared data and on the same data with the phone set's short answers, each model then given the jamo LM
of its own train split at main's chosen alpha 0.5 / beta 1.0; 2 cores shared with other engineers
(A and B 1 torch thread each, side by side, ~300 CPU-s of training each; B2 2 threads alone, 578 CPU-s):

    model                          decoder  16k yes/no  line yes/no  lone 네  예    응    아니에요
    main's demo model (3,200 steps) greedy     0.233       0.322     0.07   0.00  0.00  0.17
    main's demo model (3,200 steps) beam_lm    0.344       0.378     0.00   0.00  0.03  0.20
    A: no short answers, 1,600      greedy     0.233       0.256     0.00   0.00  0.00  0.00
    A: no short answers, 1,600      beam_lm    0.311       0.322     0.00   0.00  0.00  0.00
    B: 800 short answers, 1,600     greedy     0.444       0.478     0.00   0.07  0.10  0.77
    B: 800 short answers, 1,600     beam_lm    0.878       0.889     0.67   0.70  0.93  1.00
    B2: 1,600 short answers, 1,600 greedy     0.367       0.456     0.03   0.10  0.07  0.47
    B2: 1,600 short answers, 1,600 beam_lm    0.889       0.944     0.90   0.73  1.00  0.87

(exact-word accuracy equals the yes/no accuracy in every row: no misspelt answer still parses; the
misses of 네 are non-words such as 뇌, 켁, 케, 나, 제 or an empty transcript). Validation unseen-sentence CER, greedy, 696
clips, 16 kHz / line: A 0.239 / 0.256, B 0.246 / 0.259, B2 0.248 / 0.264 (seed noise at 800 steps
0.003 / 0.004; at equal steps the 4.5 % / 9 % of audio that is short answers takes those steps from the
sentences). OUTSIDE (beam): A 0.179 / 0.186, B 0.166 / 0.193, B2 0.138 / 0.186. The acoustic model
alone still misses a lone 네 at 1,600 steps; the LM, which now holds lone answers, lets the beam pick it.
Cost of 1,600 short answers: the phone sample's CPU-seconds 89.0 -> 117.4 (2 workers, same loaded box).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ANSWERS = {"네": True, "예": True, "응": True, "맞아요": True, "아니요": False, "아니에요": False}
HELD_OUT = [(v, r, 50) for v in ("ko+f4", "ko+m6", "ko+m7") for r in (140, 170, 200)]
ACCEPTANCE = [
    (v, r + d, p) for v, r, p in (("ko", 150, 40), ("ko+Mr serious", 135, 60)) for d in (-20, 0, 20)
]


@dataclass(frozen=True)
class Clip:
    answer: str
    group: str  # held-out | acceptance
    voice: str
    channel: str  # 16k | line
    audio: np.ndarray


def clips() -> list[Clip]:
    """Every answer by every voice, at 16 kHz and through the line."""
    from callbot.stt.data import SAMPLE_RATE, through_line
    from callbot.tts.channel import to_rate
    from callbot.tts.espeak import synthesize

    out = []
    for group, voices in (("held-out", HELD_OUT), ("acceptance", ACCEPTANCE)):
        for voice, rate, pitch in voices:
            for answer in ANSWERS:
                samples, sr = synthesize(answer, rate=rate, pitch=pitch, voice=voice)
                wide = to_rate(samples, sr, SAMPLE_RATE)
                name = f"{voice}-r{rate}-p{pitch}"
                out.append(Clip(answer, group, name, "16k", wide))
                out.append(Clip(answer, group, name, "line", through_line(wide)))
    return out


def score(model: Path, items: list[Clip]) -> dict[str, dict]:
    """Per decoder, per channel and group: exact-word and yes/no accuracy, and the commonest misreadings."""
    from callbot.dialogue.policy import yes_no
    from callbot.stt.infer import load_transcriber

    stt = load_transcriber(model)
    decoders = ("greedy",) if stt.decoding == "greedy" else ("greedy", stt.decoding)
    heard = stt.transcribe_decoders([c.audio for c in items], decoders)
    out: dict[str, dict] = {}
    for decoder, results in heard.items():
        texts = [" ".join(r.text.split()) for r in results]
        rows = out.setdefault(decoder, {})
        for channel in ("16k", "line"):
            for group in ("held-out", "acceptance", "all"):
                idx = [i for i, c in enumerate(items) if c.channel == channel and group in ("all", c.group)]
                exact = np.mean([texts[i] == items[i].answer for i in idx])
                parse = np.mean([yes_no(texts[i]) is ANSWERS[items[i].answer] for i in idx])
                rows[f"{channel}/{group}"] = {
                    "clips": len(idx),
                    "exact": round(float(exact), 3),
                    "yes_no": round(float(parse), 3),
                }
        rows["by_answer"] = {
            a: round(float(np.mean([texts[i] == a for i, c in enumerate(items) if c.answer == a])), 3)
            for a in ANSWERS
        }
        rows["misheard_ne"] = sorted(
            {texts[i] for i, c in enumerate(items) if c.answer == "네" and texts[i] != "네"}
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="+", type=Path, help="CTC model directories (models/stt)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    items = clips()
    report = {}
    for model in args.models:
        report[str(model)] = score(model, items)
        for decoder, rows in report[str(model)].items():
            print(f"== {model} [{decoder}]")
            for key, row in rows.items():
                print(f"  {key:<22} {row}")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
