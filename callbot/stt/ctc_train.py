"""`callbot train-stt` with ``stt.recipe: ctc``: the jamo CTC acoustic model on every dataset of the
prepared STT data.

Clips are read once (16 kHz; a seeded share first passes the 8 kHz G.711 line) into log-mel
features. Each step draws a length-sorted batch and perturbs it on the features: tempo (stretched in
time), pitch (stretched on the mel axis) and SpecAugment masks, all from a generator seeded by the
step, so a resumed run sees the batches an uninterrupted one would. AdamW with a one-cycle schedule;
a checkpoint every ``save_steps`` beside the output (``<out>.checkpoints``) is resumed after a crash.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.atomic import write_json, writing
from callbot.console import log, progress, summary
from callbot.stt.ctc_model import CtcShape, build_model, log_mel, normalise, save_ctc_model
from callbot.stt.data import SAMPLE_RATE, STTDataError, Utterance, load_split, read_audio, through_line
from callbot.stt.jamo import Alphabet, build_alphabet
from callbot.stt.segment import SegmentRules, segment_utterance

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch

    from callbot.stt.params import CtcParams, STTParams

CHECKPOINT = "ctc-last.pt"


@dataclass(frozen=True)
class Example:
    features: np.ndarray  # (frames, mels) float16, not normalised
    labels: list[int]
    dataset: str = ""  # the prepared row's dataset (stt.ctc.dataset_weights)


@dataclass
class TrainingSet:
    examples: list[Example]
    alphabet: Alphabet
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CtcTrainResult:
    model_dir: Path
    global_step: int
    train_loss: float | None
    examples: int
    resumed_from: str | None
    seconds_per_step: float
    cpu_seconds_per_step: float
    validation: dict[str, Any]


def _featurise(job: tuple[Utterance, bool, int, SegmentRules | None]) -> list[tuple[np.ndarray, str]]:
    """Log-mel (float16) of one clip at 16 kHz with its text, first through the telephone line when
    asked; with ``rules``, of each piece the clip is cut into at pauses (none when it cannot be aligned)."""
    utt, line, n_mels, rules = job
    audio = read_audio(utt.audio_path, utt.audio_bytes)
    spans = [(0, len(audio), utt.text)]
    if rules is not None:  # cut on the clean audio (its pauses), each piece then goes through the line
        pieces, _ = segment_utterance(utt.utterance_id, audio, utt.text, utt.text_raw, rules)
        spans = [(p.start, p.end, p.text) for p in pieces]
    return [
        (log_mel(through_line(audio[a:b]) if line else audio[a:b], n_mels).astype(np.float16), text)
        for a, b, text in spans
    ]


def cut_rules(params: STTParams) -> SegmentRules | None:
    """How clips over ``stt.ctc.max_clip_s`` are cut into pieces that fit it (None: they are skipped)."""
    if params.ctc.long_clips != "cut":
        return None
    return SegmentRules(
        SAMPLE_RATE, params.ctc.max_clip_s, params.min_pause_s, params.silence_db, params.duration_tolerance
    )


def _one_thread() -> None:
    """A forked worker computes one clip at a time: no thread pool inherited from the parent."""
    import torch

    torch.set_num_threads(1)


def _features(
    jobs: list[tuple[Utterance, bool, int, SegmentRules | None]], workers: int, label: str
) -> list[list[tuple[np.ndarray, str]]]:
    """:func:`_featurise` over ``jobs`` in ``workers`` forked processes (in order; 1 = this process)."""
    import multiprocessing

    with progress() as bar:
        task = bar.add_task(label, total=len(jobs))
        if workers <= 1 or len(jobs) < 64:
            out = []
            for job in jobs:
                out.append(_featurise(job))
                bar.advance(task)
            return out
        with multiprocessing.get_context("fork").Pool(workers, initializer=_one_thread) as pool:
            out = []
            for feats in pool.imap(_featurise, jobs, chunksize=16):
                out.append(feats)
                bar.advance(task)
            return out


def load_training_set(
    utterances: Sequence[Utterance],
    alphabet: Alphabet,
    ctc: CtcParams,
    seed: int,
    workers: int = 1,
    rules: SegmentRules | None = None,
) -> TrainingSet:
    """Features and labels of every usable clip; a clip over ``max_clip_s`` is cut by ``rules`` into
    aligned pieces, or skipped without them. What was skipped or cut, and why, is counted."""
    rng = np.random.default_rng([seed, 7])
    lines = rng.random(len(utterances)) < ctc.line_share  # drawn for every clip: a skip shifts no other
    counts = {"clips": len(utterances), "too_long": 0, "no_label": 0, "too_short": 0, "unknown_chars": 0}
    counts |= {"cut": 0, "cut_pieces": 0, "cut_unaligned": 0}
    jobs = []
    for utt, line in zip(utterances, lines, strict=True):
        ids, unknown = alphabet.encode(utt.text)
        counts["unknown_chars"] += unknown
        long = utt.duration_s > ctc.max_clip_s
        if (long and rules is None) or not ids:
            counts["too_long" if ids else "no_label"] += 1
            continue
        counts["cut"] += long
        jobs.append((utt, bool(line), ctc.n_mels, rules if long else None))
    by_dataset: dict[str, int] = {}
    examples: list[Example] = []
    line_count = 0
    for (utt, line, _, cut), pieces in zip(jobs, _features(jobs, workers, "reading clips"), strict=True):
        if cut is not None:
            counts["cut_pieces"] += len(pieces)
            counts["cut_unaligned"] += not pieces
        for feats, text in pieces:
            ids = alphabet.encode(text)[0]
            if not ids or (len(feats) - 1) // 4 + 1 < len(ids):  # CTC fits no more labels than frames
                counts["too_short"] += 1
                continue
            name = str(utt.meta.get("dataset") or "unknown")
            examples.append(Example(feats, ids, name))
            line_count += line
            by_dataset[name] = by_dataset.get(name, 0) + 1
    counts |= {"line": line_count, "used": len(examples), "by_dataset": by_dataset}
    return TrainingSet(examples, alphabet, counts)


def weighted_indices(examples: Sequence[Example], weights: dict[str, float], seed: int) -> list[int]:
    """Each example's index as often as its dataset's weight says (the fraction by a seeded draw), so a
    dataset's share of the steps can differ from its share of the clips; no weights: each once."""
    if not weights:
        return list(range(len(examples)))
    found = {e.dataset for e in examples}
    unknown = sorted(set(weights) - found)
    if unknown:
        raise STTDataError(
            f"stt.ctc.dataset_weights names {unknown}, which no training clip has; datasets: {sorted(found)}"
        )
    draws = np.random.default_rng([seed, 13]).random(len(examples))
    out: list[int] = []
    for i, (example, draw) in enumerate(zip(examples, draws, strict=True)):
        weight = weights.get(example.dataset, 1.0)
        out += [i] * (int(weight) + int(draw < weight - int(weight)))
    return out


def length_batches(
    examples: Sequence[Example], batch_seconds: float, index: Sequence[int] | None = None
) -> list[list[int]]:
    """Indices (``index``, default every example once) grouped by length so a batch holds at most
    ``batch_seconds`` of padded audio."""
    every = range(len(examples)) if index is None else index
    order = sorted(every, key=lambda i: len(examples[i].features))
    budget = batch_seconds * 100  # frames
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and len(examples[i].features) * (len(current) + 1) > budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def batch_for_step(batches: list[list[int]], step: int, seed: int) -> list[int]:
    """The batch of ``step``: each epoch visits every batch once, in an order seeded by the epoch."""
    epoch, position = divmod(step, len(batches))
    order = np.random.default_rng([seed, epoch]).permutation(len(batches))
    return batches[int(order[position])]


def _interpolate(x: np.ndarray, pos: np.ndarray, axis: int) -> np.ndarray:
    """``x`` read at the fractional positions ``pos`` along ``axis`` (linear between neighbours)."""
    n = x.shape[axis]
    pos = np.clip(pos, 0, n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (pos - lo).astype(np.float32)
    a, b = np.take(x, lo, axis=axis), np.take(x, hi, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = len(pos)
    return a + (b - a) * w.reshape(shape)


def _stretch(x: np.ndarray, factor: float, axis: int, size: int | None = None) -> np.ndarray:
    """Linear resampling of ``x`` along ``axis`` by ``factor`` (to ``size`` points when given)."""
    n = x.shape[axis]
    if size is not None:
        return _interpolate(x, np.arange(size) * factor, axis)
    return _interpolate(x, np.linspace(0, n - 1, max(1, round(n / factor))), axis)


def _slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Hz on the Slaney mel scale of Whisper's filters (linear to 1 kHz, logarithmic above)."""
    return np.where(hz < 1000, hz * 3 / 200, 15 + np.log(np.maximum(hz, 1e-9) / 1000) * 27 / np.log(6.4))


def vtlp_positions(
    n_mels: int, alpha: float, boundary_hz: float = 4800.0, top_hz: float = 8000.0
) -> np.ndarray:
    """Fractional mel bins to read so a clip sounds as from a vocal tract ``alpha`` times shorter.

    Jaitly and Hinton's warp: frequency f moves to ``alpha * f`` up to a boundary, then linearly to
    ``top_hz``, which stays put. Unlike a stretch of the mel axis, it scales formants in Hz: the low
    (linear) bins move by the factor, the high (logarithmic) ones by a near-constant shift.
    """
    edge = boundary_hz * min(alpha, 1.0) / alpha
    src = np.linspace(0, top_hz, 4 * n_mels + 1)
    warped = np.where(
        src <= edge, alpha * src, top_hz - (top_hz - alpha * edge) * (top_hz - src) / (top_hz - edge)
    )
    centres_mel = np.linspace(0, _slaney_mel(np.array(top_hz)), n_mels + 2)[1:-1]
    mel_of_src, mel_of_warped = _slaney_mel(src), _slaney_mel(warped)
    # output bin centre c holds what the source had at mel_of_src where the warp lands on c
    source_mel = np.interp(centres_mel, mel_of_warped, mel_of_src)
    return np.interp(source_mel, centres_mel, np.arange(n_mels, dtype=float))


def perturb(feats: np.ndarray, ctc: CtcParams, rng: np.random.Generator) -> np.ndarray:
    """Tempo (time axis), pitch (mel axis) and, when on, vocal-tract-length perturbation of one
    clip's features (VTLP draws nothing while ``vtlp`` is [1, 1], so other draws stay as they were)."""
    x = feats.astype(np.float32)
    x = _stretch(x, float(rng.uniform(*ctc.speed)), axis=0)
    x = _stretch(x, 1.0 / float(rng.uniform(*ctc.pitch)), axis=1, size=x.shape[1])
    if ctc.vtlp[0] != ctc.vtlp[1] or ctc.vtlp[0] != 1.0:
        x = _interpolate(x, vtlp_positions(x.shape[1], float(rng.uniform(*ctc.vtlp))), axis=1)
    return x


def spec_augment(
    batch: torch.Tensor, lengths: torch.Tensor, ctc: CtcParams, rng: np.random.Generator
) -> None:
    """Zero ``freq_masks`` mel bands and ``time_masks`` time spans of each clip, in place."""
    n_mels = batch.shape[2]
    for b in range(batch.shape[0]):
        for _ in range(ctc.freq_masks):
            width = int(rng.integers(0, ctc.freq_mask_bins + 1))
            start = int(rng.integers(0, max(1, n_mels - width)))
            batch[b, :, start : start + width] = 0.0
        frames = int(lengths[b])
        for _ in range(ctc.time_masks):
            width = int(rng.integers(0, int(ctc.time_mask_share * frames) + 1))
            start = int(rng.integers(0, max(1, frames - width)))
            batch[b, start : start + width, :] = 0.0


def make_batch(
    examples: Sequence[Example], index: Sequence[int], ctc: CtcParams, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Perturbed, normalised, masked features with their lengths; concatenated targets and lengths."""
    import torch

    feats = [torch.from_numpy(perturb(examples[i].features, ctc, rng)) for i in index]
    lengths = torch.tensor([len(f) for f in feats])
    batch = normalise(torch.nn.utils.rnn.pad_sequence(feats, batch_first=True), lengths)
    spec_augment(batch, lengths, ctc, rng)
    targets = torch.tensor([t for i in index for t in examples[i].labels], dtype=torch.long)
    target_lengths = torch.tensor([len(examples[i].labels) for i in index])
    return batch, lengths, targets, target_lengths


def shape_of(ctc: CtcParams, alphabet: Alphabet) -> CtcShape:
    return CtcShape(
        ctc.n_mels,
        ctc.conv_channels,
        ctc.hidden,
        ctc.layers,
        alphabet.size,
        ctc.dropout,
        ctc.encoder,
        ctc.kernel,
    )


@dataclass
class _Loop:
    model: Any
    optimiser: Any
    schedule: Any
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def _new_loop(params: STTParams, alphabet: Alphabet) -> _Loop:
    import torch

    ctc = params.ctc
    torch.manual_seed(params.seed)
    model = build_model(shape_of(ctc, alphabet))
    optimiser = torch.optim.AdamW(model.parameters(), lr=ctc.learning_rate, weight_decay=ctc.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=ctc.learning_rate, total_steps=ctc.max_steps, pct_start=ctc.warmup_share
    )
    return _Loop(model, optimiser, schedule)


def _save_checkpoint(loop: _Loop, path: Path) -> None:
    import torch

    state = {
        "model": loop.model.state_dict(),
        "optimiser": loop.optimiser.state_dict(),
        "schedule": loop.schedule.state_dict(),
        "step": loop.step,
        "history": loop.history,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with writing(path) as tmp:
        torch.save(state, tmp)


def _resume(loop: _Loop, path: Path) -> str | None:
    """Continue from the checkpoint at ``path`` when there is one; its path, or None."""
    import torch

    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    loop.model.load_state_dict(state["model"])
    loop.optimiser.load_state_dict(state["optimiser"])
    loop.schedule.load_state_dict(state["schedule"])
    loop.step, loop.history = int(state["step"]), list(state["history"])
    return str(path)


def native_bf16() -> bool:
    """True where the CPU computes bf16 natively (x86 avx512_bf16 or AMX); elsewhere torch would
    emulate it, slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def autocast_for(precision: str) -> Any:
    """The forward's context: CPU bf16 autocast when asked and native, else none (fp32)."""
    import contextlib

    import torch

    if precision != "bf16":
        return contextlib.nullcontext
    if not native_bf16():
        log.warning("stt.ctc.precision is bf16 but this CPU has no native bf16; training in fp32")
        return contextlib.nullcontext
    return lambda: torch.autocast("cpu", dtype=torch.bfloat16)


def _run_steps(
    params: STTParams, data: TrainingSet, loop: _Loop, checkpoint: Path, stop_at: int
) -> tuple[float, float]:
    """Train from ``loop.step`` up to ``stop_at``; wall and CPU seconds spent."""
    import torch

    ctc = params.ctc
    index = weighted_indices(data.examples, ctc.dataset_weights, params.seed)
    batches = length_batches(data.examples, ctc.batch_seconds, index)
    loss_fn = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    forward_context = autocast_for(ctc.precision)
    loop.model.train()
    wall, cpu, running = time.perf_counter(), time.process_time(), []
    with progress() as bar:
        task = bar.add_task("train-stt (ctc)", total=stop_at, completed=loop.step)
        while loop.step < stop_at:
            rng = np.random.default_rng([params.seed, loop.step, 11])
            batch, lengths, targets, target_lengths = make_batch(
                data.examples, batch_for_step(batches, loop.step, params.seed), ctc, rng
            )
            with forward_context():
                log_probs, out_lens = loop.model(batch, lengths)  # log-probs are fp32 in either case
            loss = loss_fn(log_probs.transpose(0, 1), targets, out_lens, target_lengths)
            loop.optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(loop.model.parameters(), 5.0)
            loop.optimiser.step()
            loop.schedule.step()
            loop.step += 1
            running.append(float(loss.detach()))
            if loop.step % params.logging_steps == 0 or loop.step == stop_at:
                lr = loop.schedule.get_last_lr()[0]
                loop.history.append({"step": loop.step, "loss": float(np.mean(running)), "learning_rate": lr})
                running = []
            if loop.step % params.save_steps == 0 and loop.step < ctc.max_steps:
                _save_checkpoint(loop, checkpoint)
            bar.advance(task)
    return time.perf_counter() - wall, time.process_time() - cpu


def _write_loss(report: Path, history: list[dict[str, float]]) -> None:
    import csv

    write_json(report / "loss.json", history)
    with writing(report / "loss.csv") as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "loss", "learning_rate"])
        writer.writeheader()
        writer.writerows(history)


ValidationClips = tuple  # (rows, unseen flag per row, audio per row): see validation_clips


def validation_clips(params: STTParams, prepared: Path, train: Sequence[Utterance]) -> ValidationClips:
    """The validation clips train-stt scores (spread over the split), whether each sentence is unseen
    in training, and their audio: read once for the CER below and the decoder tuning (stt.lm_tune)."""
    from callbot.stt.data import seen_in_training
    from callbot.subset import spread

    rows, _ = load_split(prepared, "validation", allow_failed_gate=params.allow_failed_gate)
    rows = [u for u in rows if u.text.strip()]
    rows = [rows[i] for i in spread(len(rows), params.ctc.validation_max_utterances)]
    if not rows:
        return [], [], []
    unseen = [not s for s in seen_in_training(rows, train)]
    return rows, unseen, [read_audio(u.audio_path, u.audio_bytes) for u in rows]


def validation_cer(model_dir: Path, params: STTParams, clips: ValidationClips) -> dict[str, Any]:
    """CER (spaces ignored) on validation, 16 kHz and over the line, all and unseen sentences."""
    from callbot.stt.ctc_infer import CTCTranscriber
    from callbot.text.metrics import cer

    rows, unseen, audios = clips
    if not rows:
        return {}
    model = CTCTranscriber(model_dir, batch_size=params.eval_batch_size)
    out: dict[str, Any] = {"utterances": len(rows), "unseen_utterances": sum(unseen)}
    for channel, channel_clips in (("16k", audios), ("line", [through_line(a) for a in audios])):
        hyps = [r.text for r in model.transcribe_batch(channel_clips)]
        out[f"cer_{channel}"] = round(cer([u.text for u in rows], hyps, spaces=False), 4)
        picked = [i for i, flag in enumerate(unseen) if flag]
        if picked:
            out[f"unseen_cer_{channel}"] = round(
                cer([rows[i].text for i in picked], [hyps[i] for i in picked], spaces=False), 4
            )
    return out


def train_ctc(
    params: STTParams,
    prepared: Path | None = None,
    out: Path | None = None,
    report: Path | None = None,
    *,
    stop_after: int | None = None,
) -> CtcTrainResult:
    """Train the jamo CTC model on ``<prepared>/stt`` train; write ``<out>/model`` and ``export.json``.

    ``stop_after`` ends the run early at that step, leaving its checkpoint (tests simulate a crash).
    """
    from callbot.threads import set_torch_threads

    prepared, out = Path(prepared or params.prepared), Path(out or params.out)
    report = Path(report or params.report)
    set_torch_threads(params.threads)
    train, gated = load_split(prepared, "train", allow_failed_gate=params.allow_failed_gate)
    if not train:
        raise STTDataError(f"{prepared}/stt: the train split is empty; nothing to train on")
    alphabet = build_alphabet([u.text for u in train])
    workers = params.threads if params.threads > 0 else max(os.cpu_count() or 1, 1)
    data = load_training_set(train, alphabet, params.ctc, params.seed, workers, cut_rules(params))
    if not data.examples:
        raise STTDataError(
            f"{prepared}/stt: no usable training clip ({data.counts}); check the prepared data"
        )
    loop = _new_loop(params, alphabet)
    checkpoint = out.with_name(f"{out.name}.checkpoints") / CHECKPOINT
    resumed = _resume(loop, checkpoint)
    first = loop.step
    wall, cpu = _run_steps(
        params, data, loop, checkpoint, min(stop_after or params.ctc.max_steps, params.ctc.max_steps)
    )
    ran = max(loop.step - first, 1)
    if loop.step < params.ctc.max_steps:
        _save_checkpoint(loop, checkpoint)
        raise STTDataError(
            f"train-stt stopped at step {loop.step} of {params.ctc.max_steps}; run it again to resume"
        )
    model_dir = _save_model(loop, params, alphabet, out)
    clips = validation_clips(params, prepared, train)
    validation = validation_cer(model_dir, params, clips)
    validation |= _tune_decoding(model_dir, params, train, clips, validation)
    result = CtcTrainResult(
        model_dir,
        loop.step,
        loop.history[-1]["loss"] if loop.history else None,
        len(data.examples),
        resumed,
        wall / ran,
        cpu / ran,
        validation,
    )
    _write_records(params, out, report, result, data, gated, loop.history)
    shutil.rmtree(checkpoint.parent, ignore_errors=True)
    summary("train-stt", _summary_line(result, data))
    return result


def _tune_decoding(
    model_dir: Path,
    params: STTParams,
    train: list[Utterance],
    clips: ValidationClips,
    validation: dict[str, Any],
) -> dict[str, Any]:
    """The jamo LM and the decoder chosen on validation, saved beside the model (callbot.stt.lm_tune)."""
    from callbot.stt.lm_tune import tune_decoding

    return {"decoding": tune_decoding(model_dir, params, train, clips)} if validation else {}


def _save_model(loop: _Loop, params: STTParams, alphabet: Alphabet, out: Path) -> Path:
    """The trained model and its alphabet in ``<out>/model`` (an older model there is replaced)."""
    model_dir = out / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    save_ctc_model(
        loop.model, shape_of(params.ctc, alphabet), model_dir, {"recipe": "ctc", "steps": loop.step}
    )
    alphabet.save(model_dir)
    return model_dir


def _write_records(
    params: STTParams,
    out: Path,
    report: Path,
    result: CtcTrainResult,
    data: TrainingSet,
    gated: int,
    history: list[dict[str, float]],
) -> None:
    params_count = sum(p.numel() for p in build_model(shape_of(params.ctc, data.alphabet)).parameters())
    write_json(out / "export.json", {"serve_backend": "ctc", "recipe": "ctc", "timings": {}})
    write_json(
        out / "train.json",
        {
            "recipe": "ctc",
            "base_dir": "",  # trained from random weights: no base model
            "parameters": params_count,
            "alphabet_size": data.alphabet.size,
            "global_step": result.global_step,
            "train_loss": result.train_loss,
            "resumed_from": result.resumed_from,
            "seconds_per_step": round(result.seconds_per_step, 3),
            "cpu_seconds_per_step": round(result.cpu_seconds_per_step, 3),
            "validation": result.validation,
        },
    )
    write_json(report / "segments.json", {"recipe": "ctc", "excluded_by_gate": gated, **data.counts})
    _write_loss(report, history)


def _summary_line(result: CtcTrainResult, data: TrainingSet) -> str:
    v = result.validation
    heard = (
        f"; validation CER {v.get('cer_16k', float('nan')):.3f} at 16 kHz, {v.get('cer_line', float('nan')):.3f} "
        f"on the 8 kHz line (unseen {v.get('unseen_cer_16k', float('nan')):.3f} / {v.get('unseen_cer_line', float('nan')):.3f})"
        if v
        else ""
    )
    loss = f"{result.train_loss:.3f}" if result.train_loss is not None else "n/a"
    return (
        f"jamo CTC ({data.alphabet.size} symbols) on {len(data.examples)}/{data.counts['clips']} clips "
        f"({data.counts['line']} via the 8 kHz line), {result.global_step} steps, loss {loss}, "
        f"{result.seconds_per_step:.2f} s/step ({result.cpu_seconds_per_step:.2f} CPU s){heard} -> {result.model_dir}"
    )
