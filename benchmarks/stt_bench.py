"""STT speed on CPU: training samples/s, and inference real-time factor of the three serving backends.

The backends: transformers, openai-whisper and CTranslate2 int8 (``ct2-transformers-converter``
export, the runtime under faster-whisper). Besides the random-weight models below, the real
whisper-base (converted here from its pinned packages, :mod:`callbot.bases`) is timed on all three:
the issue's target is int8 CTranslate2 at least 2x faster than openai-whisper on it.

Two models with random weights (speed does not depend on what the weights learned): the smoke
model of params.yaml (width 128, 2+2 layers, 4 s windows) and a whisper-tiny-sized one (width 384,
4+4 layers, 30 s windows). Each is transcribed by transformers and by openai-whisper on the same
espeak-ng speech in the same run; greedy decoding of the same weights emits the same tokens, so the
two backends do the same work. RTF = processing seconds / audio seconds (below 1: faster than
real time). The last line holds the ratios (transformers time / openai-whisper time: above 1 means
openai-whisper is faster). For the smoke model the training step is also timed with the losses
train-stt uses (:mod:`callbot.stt.loss`): the corpus-vocabulary cross-entropy (1,058 corpus tokens,
the demo's count, plus 1,024 negatives) and that plus the CTC head, as ratios to transformers' loss.
Where ``make demo`` left a trained smoke model with its CTC head (``models/stt``), joint CTC/attention
decoding (:mod:`callbot.stt.joint`) is timed against its decoder alone on both backends: random
weights would not stop decoding where a trained model does, so this one needs the trained model.

    .venv/bin/python benchmarks/stt_bench.py [--threads N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

SENTENCES = [
    "저는 대학에서 컴퓨터 공학을 전공했습니다. 졸업 후에는 작은 회사에서 웹 서비스를 만들었습니다.",
    "고객의 불만을 들으면 먼저 공감하고, 해결 방법을 함께 찾습니다. 그 경험이 이 직무에 도움이 될 것입니다.",
]


def speech() -> list[np.ndarray]:
    from callbot.tts.espeak import resample, synthesize

    clips = []
    for text in SENTENCES:
        audio, rate = synthesize(text)
        clips.append(resample(audio, rate, 16_000).astype(np.float32) / 32768.0)
    return clips


def corpus_loss(model, corpus: int, ctc: bool):
    """train-stt's loss (:class:`CorpusVocabLoss`) bound to ``model``, outside a Trainer."""
    import torch

    from callbot.stt.loss import CorpusVocabLoss, attach_ctc_head
    from callbot.stt.tokenizer import load_tokenizer

    alphabet = [chr(0xAC00 + i) for i in range(400)]  # the demo's alphabet is about 400 syllables
    loss = CorpusVocabLoss(
        torch.randperm(50_000, generator=torch.Generator().manual_seed(0))[:corpus].tolist(),
        1024,
        ctc_weight=0.3 if ctc else 0.0,
        ctc_alphabet=alphabet,
        tokenizer=load_tokenizer(),
    )
    if ctc:
        attach_ctc_head(model, len(alphabet))
    return lambda inputs: loss(model, inputs)[0]


def time_training(model_dir: Path, steps: int, batch: int, loss: str = "full") -> float:
    """Samples per second of full fine-tuning steps (forward, backward, AdamW) on window-sized input.

    ``loss``: "full" (transformers' loss over the whole vocabulary), "corpus" or "corpus+ctc".
    """
    import torch
    from transformers import WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(str(model_dir))
    model.train()
    compute = (
        (lambda inputs: model(**inputs).loss)
        if loss == "full"
        else corpus_loss(model, 1058, ctc=loss.endswith("ctc"))
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    frames = model.config.max_source_positions * 2
    features = torch.randn(batch, 80, frames)
    generator = torch.Generator().manual_seed(0)
    text = torch.randint(0xAC00, 0xAC00 + 400, (batch, 30), generator=generator)  # Hangul syllables
    from callbot.stt.tokenizer import load_tokenizer

    tokenizer = load_tokenizer()
    tokenizer.set_prefix_tokens(language="ko", task="transcribe")
    ids = tokenizer(["".join(chr(int(c)) for c in row) for row in text], padding=True).input_ids
    labels = torch.tensor([seq[1:81] for seq in ids])  # about the demo's 82 tokens per example
    best = float("inf")
    for _ in range(steps + 1):  # the first step pays one-off allocations
        start = time.perf_counter()
        compute({"input_features": features, "labels": labels}).backward()
        optimizer.step()
        optimizer.zero_grad()
        best = min(best, time.perf_counter() - start)
    return batch / best


def whisper_base_backends(tmp: Path, clips: list[np.ndarray]) -> str:
    """The three backends on the real whisper-base (greedy, language ko, the same clips)."""
    from callbot.bases.whisper import build_whisper_base
    from callbot.stt.export import time_backends, to_ct2, to_openai_checkpoint

    model_dir = Path(build_whisper_base(tmp / "whisper-base").path)
    checkpoint = to_openai_checkpoint(model_dir, tmp / "whisper-base.pt")
    ct2 = to_ct2(model_dir, tmp / "whisper-base-ct2")
    t = time_backends(model_dir, checkpoint, clips, repeats=2, ct2_dir=ct2)
    print(
        "whisper-base       "
        + " | ".join(f"{k} RTF {v['rtf']:.4f} ({v['seconds']:.2f}s)" for k, v in t.items())
    )
    return (
        f"whisper-base: openai-whisper/ct2-int8={t['openai-whisper']['seconds'] / t['ctranslate2']['seconds']:.2f}x "
        f"hf/ct2-int8={t['hf']['seconds'] / t['ctranslate2']['seconds']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from callbot.config import load_params
    from callbot.stt.export import time_backends, to_ct2, to_openai_checkpoint
    from callbot.stt.model import TinyWhisperShape, build_tiny_whisper
    from callbot.stt.train import shape_from

    shapes = {
        "smoke": shape_from(load_params(profile="smoke").stt),
        "whisper-tiny-size": TinyWhisperShape(
            d_model=384, encoder_layers=4, decoder_layers=4, heads=6, ffn_dim=1536, window_s=30.0
        ),
    }
    clips = speech()
    audio_s = sum(len(c) for c in clips) / 16_000
    print(f"threads {args.threads}; {len(clips)} clips, {audio_s:.1f} s of espeak-ng Korean speech")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape in shapes.items():
            model_dir = build_tiny_whisper(Path(tmp) / name, shape, seed=0)
            checkpoint = to_openai_checkpoint(model_dir, Path(tmp) / f"{name}.pt")
            train_rate = time_training(model_dir, steps=3, batch=16 if name == "smoke" else 4)
            if name == "smoke":
                corpus = time_training(model_dir, steps=3, batch=16, loss="corpus")
                with_ctc = time_training(model_dir, steps=3, batch=16, loss="corpus+ctc")
                ratios.append(
                    f"smoke train-stt loss: corpus={corpus / train_rate:.2f}x, "
                    f"corpus+ctc={with_ctc / train_rate:.2f}x the samples/s of the full-vocabulary loss"
                )
                print(
                    f"smoke train step: full loss {train_rate:.1f}, corpus {corpus:.1f}, "
                    f"corpus+ctc {with_ctc:.1f} samples/s"
                )
            ct2 = to_ct2(model_dir, Path(tmp) / f"{name}-ct2")
            timings = time_backends(model_dir, checkpoint, clips, repeats=2, ct2_dir=ct2)
            hf, ow, c2 = timings["hf"], timings["openai-whisper"], timings["ctranslate2"]
            ratios.append(
                f"{name}: hf/openai-whisper={hf['seconds'] / ow['seconds']:.2f}x "
                f"openai-whisper/ct2-int8={ow['seconds'] / c2['seconds']:.2f}x train={train_rate:.1f} samples/s"
            )
            print(
                f"{name:18s} train {train_rate:7.1f} samples/s ({train_rate * shape.window_s:7.1f} audio-s/s) | "
                f"transformers RTF {hf['rtf']:.4f} ({hf['seconds']:.2f}s) | "
                f"openai-whisper RTF {ow['rtf']:.4f} ({ow['seconds']:.2f}s) | "
                f"ctranslate2 int8 RTF {c2['rtf']:.4f} ({c2['seconds']:.2f}s)"
            )
        ratios.append(whisper_base_backends(Path(tmp), clips))
    trained = Path("models/stt")
    if (trained / "model" / "ctc_head.json").is_file():
        from callbot.stt.infer import load_transcriber

        for backend in ("hf", "openai-whisper"):
            seconds = {}
            for joint in (True, False):
                transcriber = load_transcriber(trained, backend=backend, use_ctc=joint)
                transcriber.transcribe_batch(clips[:1])
                start = time.perf_counter()
                transcriber.transcribe_batch(clips)
                seconds[joint] = time.perf_counter() - start
            print(
                f"trained smoke, {backend}: joint CTC/attention RTF {seconds[True] / audio_s:.4f}, "
                f"decoder alone RTF {seconds[False] / audio_s:.4f}"
            )
            ratios.append(
                f"trained smoke {backend}: joint/decoder-alone={seconds[True] / seconds[False]:.2f}x"
            )
    else:
        print(f"{trained}: no trained model with a CTC head (run `make demo`); joint decoding not timed")
    print("ratios: " + "; ".join(ratios))


if __name__ == "__main__":
    main()
