"""`callbot train-stt`: fine-tune Whisper on the prepared data, then export it for serving.

One function, :func:`train_stt`, behind the CLI, the DVC stage and the Prefect task. It cuts the
training split into window-sized segments (:mod:`callbot.stt.segment`), trains with
``Seq2SeqTrainer`` (full or LoRA, gradient accumulation, mixed precision only on a GPU, a
checkpoint every ``save_steps``), resumes from the last checkpoint when a previous run died, and
writes the HF model directory, the openai-whisper checkpoint and ``export.json``
(:mod:`callbot.stt.export`).
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.atomic import write_json, writing
from callbot.console import peft_wrapping, progress, summary
from callbot.stt.augment import RecombinedDataset, SpeechCollator, apply_spec_augment
from callbot.stt.data import SAMPLE_RATE, STTDataError, Utterance, load_split, read_audio
from callbot.stt.infer import WINDOWING
from callbot.stt.joint import save_ctc_head
from callbot.stt.loss import (
    CTC_HEAD,
    CorpusVocabLoss,
    CorpusVocabTrainer,
    attach_ctc_head,
    corpus_token_ids,
    ctc_characters,
    detach_ctc_head,
)
from callbot.stt.model import TinyWhisperShape, model_window_s, resolve_base_model, save_model_dir
from callbot.stt.segment import Quarantined, SegmentRules, TrainingSegment, segment_utterance
from callbot.stt.tune import tune_decoding
from callbot.threads import set_torch_threads

if TYPE_CHECKING:
    from collections.abc import Sequence

    from callbot.stt.params import STTParams


def checkpoints_dir(out: Path) -> Path:
    """Beside ``out``, not inside it: `dvc repro` deletes a stage's outputs before it runs, and the
    checkpoints a crashed run left must survive that for either entrance to resume."""
    return out.with_name(f"{out.name}.checkpoints")


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path
    global_step: int
    train_loss: float | None
    segments: int
    quarantined: int
    resumed_from: str | None
    samples_per_s: float


def shape_from(params: STTParams) -> TinyWhisperShape:
    t = params.tiny
    return TinyWhisperShape(
        t.d_model, t.encoder_layers, t.decoder_layers, t.heads, t.ffn_dim, params.window_s
    )


def segment_rules(params: STTParams) -> SegmentRules:
    return SegmentRules(
        SAMPLE_RATE, params.window_s, params.min_pause_s, params.silence_db, params.duration_tolerance
    )


def cut_segments(
    utterances: Sequence[Utterance], rules: SegmentRules, label: str = "segmenting", *, pack: bool = True
) -> tuple[list[tuple[TrainingSegment, np.ndarray]], list[Quarantined]]:
    """Every utterance cut into window-sized (segment, audio) pairs; the rest quarantined.

    ``pack=False`` keeps each aligned phrase apart (for recombination) instead of filling windows.
    """
    pairs: list[tuple[TrainingSegment, np.ndarray]] = []
    quarantined: list[Quarantined] = []
    with progress() as bar:
        task = bar.add_task(label, total=len(utterances))
        for utt in utterances:
            audio = read_audio(utt.audio_path, utt.audio_bytes)
            segments, left_out = segment_utterance(
                utt.utterance_id, audio, utt.text, utt.text_raw, rules, pack=pack
            )
            pairs.extend((s, audio[s.start : s.end]) for s in segments)
            quarantined.extend(left_out)
            bar.advance(task)
    return pairs, quarantined


class SegmentDataset:
    """Log-mel features and label ids of the training segments, computed once up front."""

    def __init__(self, pairs: Sequence[tuple[TrainingSegment, np.ndarray]], processor: Any) -> None:
        extractor, tokenizer = processor.feature_extractor, processor.tokenizer
        self.items: list[dict[str, Any]] = []
        for lo in range(0, len(pairs), 64):
            chunk = pairs[lo : lo + 64]
            features = extractor(
                [a for _, a in chunk], sampling_rate=SAMPLE_RATE, return_tensors="np"
            ).input_features
            for (segment, _), feats in zip(chunk, features, strict=True):
                labels = tokenizer(segment.text).input_ids
                self.items.append({"input_features": feats.astype(np.float32), "labels": labels})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]


def _write_loss(report: Path, history: list[dict[str, Any]]) -> None:
    rows = [
        {"step": h["step"], "loss": h["loss"], "learning_rate": h.get("learning_rate")}
        for h in history
        if "loss" in h and "step" in h
    ]
    write_json(report / "loss.json", rows)
    with writing(report / "loss.csv") as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "loss", "learning_rate"])
        writer.writeheader()
        writer.writerows(rows)


def _mixed_precision() -> dict[str, bool]:
    import torch

    if not torch.cuda.is_available():
        return {"use_cpu": True, "bf16": False, "fp16": False}
    bf16 = torch.cuda.is_bf16_supported()
    return {"use_cpu": False, "bf16": bf16, "fp16": not bf16}


def _wrap_lora(model: Any, params: STTParams) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=params.lora.r,
        lora_alpha=params.lora.alpha,
        lora_dropout=params.lora.dropout,
        target_modules=list(params.lora.target_modules),
        bias="none",
    )
    with peft_wrapping():
        return get_peft_model(model, config)


@dataclass
class _Segments:
    """The train split cut into training segments: what the steps after segmentation need."""

    utterances: list[Utterance]
    gated: int  # rows the validation gate excluded
    pairs: list[tuple[TrainingSegment, np.ndarray]]
    quarantined: list[Quarantined]
    recombining: bool

    @property
    def segmented_ids(self) -> set[str]:
        return {s.utterance_id for s, _ in self.pairs}


def _load_processor(params: STTParams, out: Path) -> tuple[str, Any]:
    """The base model's source (built under ``<out>/base`` for ``build:tiny``) and its processor."""
    from transformers import WhisperProcessor

    source = resolve_base_model(
        params.base_model,
        allow_hub=params.allow_hub,
        shape=shape_from(params),
        build_dir=out / "base",
        seed=params.seed,
    )
    processor = WhisperProcessor.from_pretrained(source)
    if abs(model_window_s(processor) - params.window_s) > 1e-6:
        raise STTDataError(
            f"stt.window_s is {params.window_s} s but {source} encodes {model_window_s(processor)} s windows; "
            "set stt.window_s to the model's window"
        )
    processor.tokenizer.set_prefix_tokens(language="ko", task="transcribe")
    return source, processor


def _segment_train_split(params: STTParams, prepared: Path, report: Path) -> _Segments:
    """The train split's utterances cut into segments; refuses an empty split or no surviving segment."""
    utterances, gated = load_split(prepared, "train", allow_failed_gate=params.allow_failed_gate)
    if not utterances:
        raise STTDataError(f"{prepared}/stt: the train split is empty; nothing to train on")
    recombining = params.augment.recombine > 0
    pairs, quarantined = cut_segments(utterances, segment_rules(params), pack=not recombining)
    if params.max_train_segments:
        pairs = pairs[: params.max_train_segments]
    if not pairs:
        raise STTDataError(
            f"{prepared}/stt: no training segment survived segmentation; see {report}/segments.json"
        )
    return _Segments(utterances, gated, pairs, quarantined, recombining)


def _write_segments_report(report: Path, segs: _Segments) -> None:
    reasons: dict[str, int] = {}
    for q in segs.quarantined:
        reasons[q.reason] = reasons.get(q.reason, 0) + 1
    write_json(
        report / "segments.json",
        {
            "utterances": len(segs.utterances),
            "excluded_by_gate": segs.gated,
            "aligned_utterances": len(segs.segmented_ids),
            "segments": len(segs.pairs),
            "segments_are": "phrases, recombined while training" if segs.recombining else "packed phrases",
            "segment_seconds": round(sum(len(a) for _, a in segs.pairs) / SAMPLE_RATE, 1),
            "quarantined": len(segs.quarantined),
            "quarantine_reasons": reasons,
            "quarantine": [asdict(q) for q in segs.quarantined[:200]],
        },
    )


def _train_set(params: STTParams, segs: _Segments, processor: Any) -> RecombinedDataset | SegmentDataset:
    if segs.recombining:
        return RecombinedDataset(
            [(s.text, a) for s, a in segs.pairs],
            processor.tokenizer,
            params.window_s,
            params.augment,
            params.seed,
            length=params.max_steps * params.batch_size * params.grad_accum,
        )
    return SegmentDataset(segs.pairs, processor)


def _build_model(params: STTParams, source: str) -> Any:
    """The Whisper to train: dropout, generation settings, SpecAugment, LoRA as ``params`` say."""
    import torch
    from transformers import WhisperForConditionalGeneration

    from callbot.stt.model import configure_generation

    model = WhisperForConditionalGeneration.from_pretrained(
        source, dtype=torch.float32, dropout=params.dropout
    )
    configure_generation(model)
    model.config.use_cache = False
    apply_spec_augment(model, params.augment)
    if params.method == "lora":
        model = _wrap_lora(model, params)
    return model


def _training_args(params: STTParams, checkpoints: Path) -> Any:
    from transformers import Seq2SeqTrainingArguments

    from callbot.console import progress_enabled

    return Seq2SeqTrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=params.batch_size,
        gradient_accumulation_steps=params.grad_accum,
        learning_rate=params.learning_rate,
        warmup_steps=params.warmup_steps,
        weight_decay=params.weight_decay,
        max_steps=params.max_steps,
        lr_scheduler_type="linear",
        save_strategy="steps",
        save_steps=params.save_steps,
        save_total_limit=2,
        logging_steps=params.logging_steps,
        eval_strategy="no",
        seed=params.seed,
        data_seed=params.seed,
        report_to=[],
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=not progress_enabled(),
        **_mixed_precision(),
    )


def _corpus_loss(params: STTParams, model: Any, processor: Any, texts: list[str]) -> tuple[Any, list[str]]:
    """The corpus-vocabulary/CTC loss (``None`` for transformers' own) and the CTC alphabet.

    With ``ctc_weight`` a CTC head over the training texts' characters is attached to ``model``.
    """
    if params.loss_vocab != "corpus" and params.ctc_weight <= 0:
        return None, []
    tokenizer = processor.tokenizer
    alphabet = ctc_characters(texts) if params.ctc_weight > 0 else []
    if alphabet:
        attach_ctc_head(model, len(alphabet))
    loss = CorpusVocabLoss(
        # a phrase joined behind another is tokenised with a leading space: count both forms
        corpus_token_ids(tokenizer([*texts, *(" " + t for t in texts)]).input_ids)
        if params.loss_vocab == "corpus"
        else None,
        params.loss_negatives,
        ctc_weight=params.ctc_weight,
        ctc_alphabet=alphabet,
        tokenizer=tokenizer,
    )
    return loss, alphabet


def _trainer(
    params: STTParams,
    model: Any,
    processor: Any,
    args: Any,
    train_set: Any,
    loss: Any,
    callbacks: list[Any] | None,
) -> Any:
    from transformers import PrinterCallback, Seq2SeqTrainer

    trainer_class: Any = Seq2SeqTrainer if loss is None else CorpusVocabTrainer
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=train_set,
        data_collator=SpeechCollator(
            model.config.decoder_start_token_id,
            processor.feature_extractor,
            params.augment.token_noise,
            pad_token_id=processor.tokenizer.pad_token_id,
            first_special_id=processor.tokenizer.eos_token_id,
        ),
        processing_class=processor.feature_extractor,
        callbacks=callbacks,
        **({} if loss is None else {"loss": loss}),
    )
    trainer.remove_callback(
        PrinterCallback
    )  # a loss dict every 10 steps buries the summary; loss.csv keeps them
    return trainer


def _fit(params: STTParams, trainer: Any, last: str | None) -> tuple[Any, float]:
    """Train (from the ``last`` checkpoint when there is one); the outcome and samples/s of this run."""
    outcome = trainer.train(resume_from_checkpoint=last)
    runtime = float(outcome.metrics.get("train_runtime") or 0.0)
    steps_run = trainer.state.global_step - (_checkpoint_step(last) if last else 0)
    return outcome, steps_run * params.batch_size * params.grad_accum / runtime if runtime else 0.0


def _save_trained(
    params: STTParams, trainer: Any, processor: Any, alphabet: list[str], model_dir: Path
) -> bool:
    """The trained model as a plain Whisper in ``model_dir`` (LoRA merged), with its CTC head file
    when joint decoding keeps it, and the inference windowing; returns whether the head was kept."""
    from callbot.stt.model import configure_generation

    trained = trainer.model
    if params.method == "lora":
        trained = trained.merge_and_unload()
    head = getattr(trained, CTC_HEAD, None)
    detach_ctc_head(trained)
    trained.config.use_cache = True
    configure_generation(trained)
    keep_head = head is not None and params.ctc_decode_weight > 0
    save_model_dir(
        trained,
        processor,
        model_dir,
        extra=(
            lambda tmp: save_ctc_head(tmp, head, alphabet, params.ctc_decode_weight, params.ctc_candidates)
        )
        if keep_head
        else None,
    )
    write_json(
        model_dir / WINDOWING,
        {"overlap_s": params.overlap_s, "silence_db": params.silence_db, "min_pause_s": params.min_pause_s},
    )
    return keep_head


def _summary_line(segs: _Segments, result: TrainResult, decoding: dict[str, Any]) -> str:
    line = (
        f"{len(segs.pairs)} segments from {len(segs.segmented_ids)}/{len(segs.utterances)} utterances "
        f"({len(segs.quarantined)} quarantined), {result.global_step} steps, "
        f"loss {result.train_loss:.3f}, {result.samples_per_s:.1f} samples/s"
    )
    if decoding:
        line += f", joint decoding {decoding['chosen']} by validation CER {decoding['validation_cer']:.3f}"
    return line + f" -> {result.model_dir}"


def train_stt(
    params: STTParams,
    prepared: Path | None = None,
    out: Path | None = None,
    report: Path | None = None,
    *,
    callbacks: list[Any] | None = None,
    export: bool = True,
) -> TrainResult:
    """Fine-tune ``params.base_model`` on ``<prepared>/stt`` train; write ``<out>/model`` and exports.

    ``callbacks`` are extra ``TrainerCallback``s (tests use one to simulate a crash). A run whose
    ``<out>.checkpoints`` holds a checkpoint resumes from it; a finished run removes them.
    """
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    prepared = Path(prepared or params.prepared)
    out = Path(out or params.out)
    report = Path(report or params.report)
    set_torch_threads(params.threads)
    set_seed(params.seed)

    source, processor = _load_processor(params, out)
    segs = _segment_train_split(params, prepared, report)
    _write_segments_report(report, segs)
    train_set = _train_set(params, segs, processor)
    model = _build_model(params, source)
    checkpoints = checkpoints_dir(out)
    checkpoints.mkdir(parents=True, exist_ok=True)
    last = get_last_checkpoint(str(checkpoints))
    args = _training_args(params, checkpoints)
    loss, alphabet = _corpus_loss(params, model, processor, [s.text for s, _ in segs.pairs])
    trainer = _trainer(params, model, processor, args, train_set, loss, callbacks)
    outcome, samples_per_s = _fit(params, trainer, last)

    model_dir = out / "model"
    keep_head = _save_trained(params, trainer, processor, alphabet, model_dir)
    decoding = tune_decoding(model_dir, params, prepared, segs.utterances) if keep_head else {}
    _write_loss(report, trainer.state.log_history)
    result = TrainResult(
        model_dir=model_dir,
        global_step=trainer.state.global_step,
        train_loss=outcome.training_loss,
        segments=len(segs.pairs),
        quarantined=len(segs.quarantined),
        resumed_from=last,
        samples_per_s=samples_per_s,
    )
    _write_train_record(params, out, source, result, decoding)
    shutil.rmtree(checkpoints, ignore_errors=True)
    if export:
        from callbot.stt.export import export_stt

        export_stt(model_dir, out, [a for _, a in segs.pairs[: params.export_bench_clips]])
    summary("train-stt", _summary_line(segs, result, decoding))
    return result


def _write_train_record(
    params: STTParams, out: Path, source: str, result: TrainResult, decoding: dict[str, Any]
) -> None:
    write_json(
        out / "train.json",
        {
            "base_model": source if Path(source).exists() else params.base_model,
            "base_dir": str(out / "base") if Path(source) == out / "base" else source,
            "global_step": result.global_step,
            "train_loss": result.train_loss,
            "segments": result.segments,
            "resumed_from": result.resumed_from,
            "samples_per_s": round(result.samples_per_s, 2),
            "method": params.method,
            "decode_sweep": decoding,
        },
    )


def _checkpoint_step(path: str) -> int:
    try:
        return int(Path(path).name.rsplit("-", 1)[-1])
    except ValueError:
        return 0
