"""Greedy CTC decoding vs prefix beam search with a jamo n-gram LM (issue 22), measured together.

The LM is built from the TRAIN split's transcripts only; validation clips (spread like train-stt's
``stt.ctc.validation_max_utterances``) are decoded on both channels (16 kHz and the 8 kHz G.711 line)
from the same log-probs, greedy and beam for each (alpha, beta), and scored by CER (spaces ignored)
on unseen and seen sentences apart. The acceptance set's everyday sentences (words mostly outside
every corpus), spoken by its two voices, are scored too. Decode CPU-seconds per utterance are given
as ratios to greedy from the same run (the box is shared; compare ratios, not wall times):

    python benchmarks/ctc_lm_bench.py --model models/stt --prepared data/prepared --n 200

Measured (2026-12-07, the last demo's model, 1 torch thread, 2 cores shared with other jobs at load
4-8: compare the ratios), LM order 6 (53,061 contexts, 1.5 CPU-s to build), beam 8, top_k 6,
blank_skip 0.999, min_prob 0.001; CER spaces ignored; validation 200 clips (147 unseen sentences):

    decoder          val unseen 16k / line   val seen 16k / line   outside 16k / line   decode ms/clip
    greedy              0.1775 / 0.1820         0.1077 / 0.1197       0.2811 / 0.2929        0.2
    beam a0.2 b0.5      0.1106 / 0.1099         0.0353 / 0.0422       0.2744 / 0.2744      10-16
    beam a0.3 b0.5      0.0997 / 0.1008         0.0310 / 0.0293       0.2811 / 0.2677        8-13
    beam a0.5 b1.0      0.0928 / 0.0959         0.0198 / 0.0258       0.3131 / 0.2980        8-13
    beam a0.8 b1.0      0.1072 / 0.1148         0.0181 / 0.0224       0.3586 / 0.3468        8-13

"outside" is the acceptance set's 12 everyday sentences (87 % of their words in no training
transcript) by its 2 voices: 24 clips, too few to tune on, and not validation. The validation rule
picks a0.5 b1.0, which gains 0.085 there but loses 0.03 (16 kHz) on these sentences; a0.3 b0.5 gains
0.08 on validation and loses nothing outside. Even the validation clips whose words are half or more
outside the training transcripts (36) gain at a0.5 (0.238 -> 0.204 at 16 kHz): validation cannot
see the loss. The forward pass costs 41-44 CPU-ms per validation clip; beam + LM adds 8-16 ms (x1.3
of forward + greedy). On the test split (evaluate-stt, same run, 1,008 clips, 715 unseen) beam a0.5
b1.0 gives unseen 0.099 / 0.106 against greedy's 0.194 / 0.211, seen 0.028 / 0.028 against 0.102 /
0.114. A phone turn (16 acceptance questions, 6.3 s mean, 1 thread): 22 -> 31 CPU-ms p50 for STT.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def log_probs_of(model, clips, batch: int = 16) -> tuple[list[np.ndarray], float]:
    start = cpu()
    out: list[np.ndarray] = []
    for lo in range(0, len(clips), batch):
        out.extend(model.log_probs(clips[lo : lo + batch]))
    return out, cpu() - start


def decode_all(lps, alphabet, fn) -> tuple[list[str], float]:
    from callbot.stt.ctc_infer import words_from

    start = cpu()
    hyps = [" ".join(w.text for w in words_from(fn(lp), alphabet)) for lp in lps]
    return hyps, cpu() - start


def validation(prepared: Path, n: int):
    from callbot.stt.data import load_split, read_audio, seen_in_training
    from callbot.subset import spread

    train, _ = load_split(prepared, "train")
    rows, _ = load_split(prepared, "validation")
    rows = [u for u in rows if u.text.strip()]
    rows = [rows[i] for i in spread(len(rows), n)]
    unseen = [not s for s in seen_in_training(rows, train)]
    return (
        [u.text for u in train],
        [u.text for u in rows],
        unseen,
        [read_audio(u.audio_path, u.audio_bytes) for u in rows],
    )


def outside_set():
    from callbot.bot.acceptance import load_set, speak

    s = load_set()
    clips, refs = [], []
    for voice in s.voices:
        for text in s.sentences:
            clips.append(speak(text, voice).astype(np.float32) / 32768.0)
            refs.append(text)
    return refs, clips


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=Path("models/stt"))
    ap.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--order", type=int, nargs="+", default=[6])
    ap.add_argument("--grid", nargs="+", default=["0.2:0.5", "0.3:0.5", "0.5:1", "0.8:1"])
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--top-k", type=int, default=6)
    ap.add_argument("--blank-skip", type=float, default=0.999)
    ap.add_argument("--min-prob", type=float, default=0.001)
    ap.add_argument("--no-outside", action="store_true")
    ap.add_argument(
        "--test-clips", type=int, default=1008, help="evaluate-stt's test clips (each on 2 channels)"
    )
    ap.add_argument(
        "--turns", type=int, default=280, help="evaluate-bot's transcriptions (acceptance, both channels)"
    )
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from callbot.stt.beam import BeamSettings, beam_emissions
    from callbot.stt.ctc_infer import CTCTranscriber, greedy_emissions
    from callbot.stt.data import through_line
    from callbot.stt.lm import build_lm
    from callbot.text.metrics import cer

    model = CTCTranscriber(args.model / "model", batch_size=16)
    alphabet = model.alphabet
    train_texts, refs, unseen, audios = validation(args.prepared, args.n)
    sets = {"val": (refs, unseen, audios)}
    if not args.no_outside:
        o_refs, o_clips = outside_set()
        sets["outside"] = (o_refs, [True] * len(o_refs), o_clips)
    print(f"validation {len(refs)} clips ({sum(unseen)} unseen); train texts {len(train_texts)}")
    lms = {}
    for order in args.order:
        t0 = cpu()
        lms[order] = build_lm(train_texts, alphabet, order)
        print(f"LM order {order}: {len(lms[order].counts)} contexts, built in {cpu() - t0:.1f} CPU-s")
    beam_ms: list[float] = []
    for name, (r, flags, clips) in sets.items():
        for channel, cl in (("16k", clips), ("line", [through_line(c) for c in clips])):
            lps, fwd = log_probs_of(model, cl)
            frames = sum(len(lp) for lp in lps)
            g_hyps, g_cpu = decode_all(lps, alphabet, greedy_emissions)

            def score(hyps, r=r, flags=flags):
                idx = [i for i, f in enumerate(flags) if f]
                sidx = [i for i, f in enumerate(flags) if not f]
                u = cer([r[i] for i in idx], [hyps[i] for i in idx], spaces=False) if idx else float("nan")
                s = cer([r[i] for i in sidx], [hyps[i] for i in sidx], spaces=False) if sidx else float("nan")
                return u, s

            gu, gs = score(g_hyps)
            print(
                f"\n[{name} {channel}] {len(cl)} clips, {frames} frames; forward {fwd / len(cl) * 1000:.1f} CPU-ms/utt, "
                f"greedy decode {g_cpu / len(cl) * 1000:.2f} CPU-ms/utt"
            )
            print(f"  {'decoder':26s} unseen  seen    d_unseen  decode_ms/utt  x_greedy  x_(fwd+greedy)")
            print(f"  {'greedy':26s} {gu:.4f}  {gs:.4f}")
            for order, lm in lms.items():
                for ab in args.grid:
                    a, b = (float(x) for x in ab.split(":"))
                    st = BeamSettings(a, b, args.beam, args.top_k, args.blank_skip, args.min_prob)
                    hyps, c = decode_all(lps, alphabet, lambda lp, lm=lm, st=st: beam_emissions(lp, lm, st))
                    u, s = score(hyps)
                    beam_ms.append(c / len(cl) * 1000)
                    label = f"beam o{order} a{a} b{b}"
                    print(
                        f"  {label:26s} {u:.4f}  {s:.4f}  {u - gu:+.4f}   {c / len(cl) * 1000:8.2f}   "
                        f"{c / max(g_cpu, 1e-9):7.1f}   {(fwd + c) / (fwd + g_cpu):6.2f}"
                    )

    ms = float(np.mean(beam_ms)) / 1000
    print(
        f"\nextra decode CPU-s at the mean beam cost {ms * 1000:.1f} ms/clip: train-stt tuning "
        f"{len(args.grid) * sum(unseen) * 2 * ms:.0f} ({len(args.grid)} pairs x {sum(unseen)} unseen x 2 channels), "
        f"evaluate-stt {args.test_clips * 2 * ms:.0f}, evaluate-bot {args.turns * ms:.0f}, a phone turn {ms * 1000:.0f} ms"
    )


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"\nwall {time.time() - t:.0f} s, CPU {cpu():.0f} s")
