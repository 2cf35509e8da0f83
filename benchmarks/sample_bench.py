"""How fast `callbot sample` writes the interview tree: utterances/s for speech and stub audio.

Baselines measured here, in the same run: the same generator on one worker (what the worker
pool buys on this machine) and, for speech, plain in-process espeak-ng calls on the same texts
with no fork isolation, no resampling and no zips (what reproducible bytes and the archive
layout cost). Prints the figures, the projected time of the real dataset's 84,134 labels with
stub audio, and as its last line the ratios.

    .venv/bin/python benchmarks/sample_bench.py [--speech-records 28] [--stub-records 3000] [--full]

``--full`` also runs the 84,134-record stub tree for real (about a minute or two on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from callbot.sample import run_sample
from callbot.sample.interview import plan_records
from callbot.sample.layout import STRATA
from callbot.sample.params import SampleParams
from callbot.sample.texts import interview_text

FULL_RECORDS = 84_134


def _run(out: Path, records: int, audio: str, workers: int) -> tuple[float, int, float]:
    """Seconds, utterances (WAVs) and audio seconds of one generator run into a fresh folder."""
    shutil.rmtree(out, ignore_errors=True)
    params = SampleParams(
        out=str(out), records=records, seed=0, part_size=262_144, audio=audio, clean=False, workers=workers
    )
    started = time.perf_counter()
    report = run_sample(params)
    return time.perf_counter() - started, report.wavs, report.audio_seconds


def _plain_espeak(records: int) -> tuple[float, int]:
    """The same texts spoken by plain synthesize() calls in this process: the no-frills floor."""
    from callbot.tts.espeak import synthesize

    params = SampleParams(
        out="-", records=records, seed=0, part_size=262_144, audio="speech", clean=False, workers=1
    )
    texts = []
    for plan in plan_records(params):
        stratum = STRATA[plan.stratum]
        text = interview_text(
            random.Random(f"callbot.sample:0:{plan.index}"), stratum.occupation.code, stratum.experience
        )
        texts += [text.question, text.answer]
    synthesize("준비")  # load the library outside the timing
    started = time.perf_counter()
    for text in texts:
        synthesize(text, rate=200)
    return time.perf_counter() - started, len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speech-records", type=int, default=28)
    parser.add_argument("--stub-records", type=int, default=3000)
    parser.add_argument("--full", action="store_true", help="also write the 84,134-record stub tree")
    args = parser.parse_args()
    os.environ.setdefault("CALLBOT_PROGRESS", "0")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="sample-bench-") as tmp:
        root = Path(tmp)
        sp_s, sp_n, sp_audio = _run(root / "speech", args.speech_records, "speech", 0)
        sp1_s, _, _ = _run(root / "speech1", args.speech_records, "speech", 1)
        plain_s, plain_n = _plain_espeak(args.speech_records)
        st_s, st_n, _ = _run(root / "stub", args.stub_records, "stub", 0)
        st1_s, _, _ = _run(root / "stub1", args.stub_records, "stub", 1)
        print(f"cores: {cores}")
        print(
            f"speech, {cores} workers: {sp_n} utterances in {sp_s:.1f} s = {sp_n / sp_s:.1f} utt/s, "
            f"{sp_audio / sp_s:.1f} s of audio per second"
        )
        print(f"speech, 1 worker (baseline): {sp_n / sp1_s:.1f} utt/s")
        print(
            f"plain espeak-ng in-process, no isolation/resampling/zips (baseline): {plain_n / plain_s:.1f} utt/s"
        )
        print(f"stub, {cores} workers: {st_n} utterances in {st_s:.1f} s = {st_n / st_s:.0f} utt/s")
        print(f"stub, 1 worker (baseline): {st_n / st1_s:.0f} utt/s")
        projected = FULL_RECORDS * 2 / (st_n / st_s)
        print(
            f"projected --records {FULL_RECORDS} --audio stub: {projected:.0f} s ({projected / 60:.1f} min; goal < 10 min)"
        )
        smoke = 240 * 2 / (sp_n / sp_s)
        print(f"projected default smoke tree (240 records, speech): {smoke:.0f} s (goal < 120 s)")
        if args.full:
            full_s, full_n, _ = _run(root / "full", FULL_RECORDS, "stub", 0)
            print(
                f"measured --records {FULL_RECORDS} --audio stub: {full_n} WAVs in {full_s:.0f} s ({full_s / 60:.1f} min)"
            )
        print(
            f"ratios: speech parallel/1-worker {sp1_s / sp_s:.2f}x, speech generator/plain espeak "
            f"{(sp_n / sp_s) / (plain_n / plain_s):.2f}x, stub parallel/1-worker {st1_s / st_s:.2f}x, "
            f"stub/speech {(st_n / st_s) / (sp_n / sp_s):.0f}x, full stub run / 10-min goal {projected / 600:.2f}"
        )


if __name__ == "__main__":
    main()
