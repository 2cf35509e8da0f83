"""Fine-tuned whisper-base beside the tiny model, on the same unseen test utterances (issue 15).

Runs the full profile's STT recipe (pretrained whisper-base from `callbot bases`, LoRA, full-vocabulary
loss, no CTC head, 30 s windows) for ``--steps`` optimiser steps on the prepared train split of a
finished `make demo`, then transcribes the first ``--utterances`` test utterances whose sentences are
unseen in training with three models in one run: whisper-base zero-shot (the baseline), whisper-base
fine-tuned here, and the demo's tiny STT export. Prints each CER (spaces ignored) and the ratios
against zero-shot. Run from the repository root after `make demo`:

    .venv/bin/python benchmarks/whisper_base_finetune_bench.py --steps 60 --utterances 16

Since the jamo CTC recipe became the default, `benchmarks/whisper_lora_ctc_bench.py` measures
whisper-base (encoder LoRA + a CTC head) against it at equal CPU-seconds (issue 22, part 3).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path.cwd(), help="a repository where `make demo` ran")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--utterances", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=4)
    args = ap.parse_args()

    from callbot.basenames import resolve_package
    from callbot.config import load_params
    from callbot.stt.data import load_split, read_audio, seen_in_training
    from callbot.stt.infer import load_transcriber
    from callbot.stt.train import train_stt
    from callbot.text.metrics import cer

    root = args.root.resolve()
    os.chdir(root)  # package:whisper-base is models/bases/whisper-base of this repository
    smoke = load_params(root / "params.yaml", "smoke").stt
    full = load_params(root / "params.yaml", "full").stt
    recipe = full.model_validate(
        {
            **full.model_dump(),
            "base_model": "package:whisper-base",
            "allow_hub": False,
            "threads": 0,
            "batch_size": args.batch_size,
            "grad_accum": 1,
            "max_steps": args.steps,
            "warmup_steps": max(1, args.steps // 10),
            "save_steps": 100000,
            "logging_steps": 10,
        }
    )
    prepared = root / smoke.prepared
    train, _ = load_split(prepared, "train")
    test, _ = load_split(prepared, "test")
    unseen = [u for u, seen in zip(test, seen_in_training(test, train), strict=True) if not seen]
    picked = unseen[: args.utterances]
    audios = [read_audio(u.audio_path, u.audio_bytes) for u in picked]
    refs = [u.text for u in picked]

    with tempfile.TemporaryDirectory(prefix="wb-bench.") as tmp:
        start = time.perf_counter()
        result = train_stt(recipe, prepared, Path(tmp) / "models", Path(tmp) / "reports", export=False)
        train_s = time.perf_counter() - start
        base_dir = resolve_package("package:whisper-base", "the benchmark's base")
        models = {
            "whisper-base zero-shot": load_transcriber(Path(base_dir), backend="hf"),
            f"whisper-base fine-tuned ({args.steps} LoRA steps)": load_transcriber(
                Path(tmp) / "models", backend="hf"
            ),
            "tiny model (the demo's STT)": load_transcriber(root / smoke.out),
        }
        scores = {}
        for name, transcriber in models.items():
            start = time.perf_counter()
            texts = [transcriber.transcribe(a).text for a in audios]
            scores[name] = (cer(refs, texts, spaces=False), time.perf_counter() - start)
    baseline = scores["whisper-base zero-shot"][0]
    print(
        f"{len(picked)} unseen test utterances; fine-tuning took {train_s:.0f} s, loss {result.train_loss:.3f}"
    )
    for name, (score, seconds) in scores.items():
        print(f"  {name:45s} CER {score:.3f}  ({score / baseline:.2f}x zero-shot)  {seconds:.0f} s")


if __name__ == "__main__":
    main()
