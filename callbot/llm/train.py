"""`callbot train-llm`: every candidate trained the same way, so the leaderboard compares like with like.

Per candidate: a base (a real checkpoint, or under smoke a tiny model of the same architecture that
first gets a short causal-LM pretraining on the Korean corpus so it knows the language), then peft
LoRA on the chat-formatted train split with the loss on assistant tokens only, checkpoints that an
interrupted run resumes from, and finally the adapter plus merged weights (``merge_and_unload``)
for serving.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import replace_dir, write_json
from callbot.console import peft_wrapping, progress, summary
from callbot.contracts import dataset_version
from callbot.llm.collate import Collator
from callbot.llm.model import (
    BUILD_TINY,
    check_candidate,
    count_parameters,
    resolve_base,
    write_responder_config,
)
from callbot.llm.router import Script, write_script
from callbot.llm.tokenizer import load_tokenizer, train_tokenizer
from callbot.quality.verdict import gate_exclusions
from callbot.threads import set_torch_threads

if TYPE_CHECKING:
    from datasets import DatasetDict
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from callbot.llm.params import CandidateParams, LLMParams

TRAIN_FILE = "train.json"


@dataclass
class CandidateRun:
    """What training one candidate did; the evaluation and the leaderboard read it from ``train.json``."""

    name: str
    arch: str
    base: str
    parameters: int
    trainable_parameters: int
    examples: int
    pretrain_losses: list[float] = field(default_factory=list)
    lora_losses: list[float] = field(default_factory=list)
    pretrain_seconds: float = 0.0
    lora_seconds: float = 0.0
    resumed_from: str | None = None
    dataset_version: str = ""
    licence: str = ""
    lora_steps: int = 0


# ---- data ---------------------------------------------------------------------------------------
def load_llm_dataset(prepared: Path, allow_failed_gate: bool = False) -> DatasetDict:
    """The prepared ``llm`` DatasetDict, or an error that says which stage to run."""
    from datasets import load_from_disk

    path = Path(prepared) / "llm"
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no prepared llm dataset; run `callbot prepare` first")
    dd = load_from_disk(str(path))
    missing = [s for s in ("train", "test") if s not in dd]
    if missing:
        raise ValueError(f"{path}: split(s) {', '.join(missing)} missing; rerun `callbot prepare`")
    columns = {"id", "task", "messages", "reference"} - set(dd["train"].column_names)
    if columns:
        raise ValueError(f"{path}: column(s) {', '.join(sorted(columns))} missing; rerun `callbot prepare`")
    excluded = gate_exclusions(
        Path(prepared), allow_failed=allow_failed_gate, override="llm.allow_failed_gate"
    )
    if excluded:  # rows are "<task>:<answer utterance_id>"
        dd = dd.filter(lambda row: row["id"].split(":", 1)[-1] not in excluded)
    return dd


def checkpoints_dir(params: LLMParams, candidate: str) -> Path:
    """``<llm.out>.checkpoints/<candidate>``: outside the stage's output, which `dvc repro` deletes
    before it runs, so an interrupted run resumes under either entrance."""
    out = Path(params.out)
    return out.with_name(f"{out.name}.checkpoints") / candidate


def corpus_texts(dd: DatasetDict, splits: tuple[str, ...]) -> list[str]:
    """User and assistant texts (no system prompts), repeats kept.

    Repeats are kept on purpose: a scripted answer the counsellors give a hundred times is a hundred
    times as common in Korean call-centre speech, and a base that has seen it that often only has to
    learn *when* to say it during LoRA, which is what the real pretrained checkpoints bring.
    """
    texts: list[str] = []
    for split in splits:
        if split not in dd:
            continue
        for messages in dd[split]["messages"]:
            texts.extend(m["content"] for m in messages if m["role"] != "system" and m["content"])
    return texts


def chat_example(
    tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], max_length: int
) -> dict[str, list[int]]:
    """input_ids + labels with every prompt token masked (-100): the loss sees assistant tokens only.

    The prompt is tokenised exactly as :class:`callbot.llm.infer.Responder` does at inference, so the
    model learns to continue the same ids it will be given.
    """
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(messages[-1]["content"], add_special_tokens=False)["input_ids"]
    answer_ids = [*answer_ids[: max_length // 2], tokenizer.eos_token_id]
    prompt_ids = prompt_ids[-(max_length - len(answer_ids)) :]
    return {"input_ids": prompt_ids + answer_ids, "labels": [-100] * len(prompt_ids) + answer_ids}


def ars_script(train: Any, handover_prefix: str) -> Script:
    """The router's script from the train split's ARS rows: (caller words, scripted answer, caller intent)."""
    intents = train["intent"] if "intent" in train.column_names else [None] * len(train)
    return Script.from_examples(
        (
            (next((m["content"] for m in messages if m["role"] == "user"), ""), reference, intent)
            for task, messages, reference, intent in zip(
                train["task"], train["messages"], train["reference"], intents, strict=True
            )
            if task == "ars"
        ),
        handover_prefix,
    )


def training_rows(train: Any, per_task: int) -> Any:
    """All ARS rows (the bot's own task) and the first ``per_task`` rows of each other task (0 = all)."""
    if per_task <= 0:
        return train
    kept: dict[str, int] = {}
    picked = []
    for i, task in enumerate(train["task"]):
        if task == "ars" or kept.get(task, 0) < per_task:
            kept[task] = kept.get(task, 0) + 1
            picked.append(i)
    return train.select(picked)


def lm_blocks(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], length: int
) -> list[dict[str, list[int]]]:
    """Pretraining blocks: texts joined by end-of-text and cut into ``length``-token pieces."""
    stream: list[int] = []
    for text in texts:
        stream += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    blocks = [stream[i : i + length] for i in range(0, max(len(stream) - 1, 1), length)]
    return [{"input_ids": b, "labels": list(b)} for b in blocks if len(b) > 1]


# ---- training -----------------------------------------------------------------------------------
def _fingerprint(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _training_arguments(
    checkpoints: Path,
    *,
    epochs: int,
    max_steps: int,
    learning_rate: float,
    batch_size: int,
    seed: int,
    save_steps: int,
) -> Any:
    """HF TrainingArguments: constant settings (linear schedule, no warm-up, a loss every step, one
    checkpoint kept, fixed seeds, quiet) around the given budget."""
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=epochs,
        max_steps=max_steps if max_steps > 0 else -1,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        lr_scheduler_type="linear",
        warmup_steps=0,
        weight_decay=0.0,
        logging_steps=1,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=1,
        seed=seed,
        data_seed=seed,
        report_to=[],
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )


def _fit(
    model: PreTrainedModel,
    examples: list[dict[str, list[int]]],
    pad_id: int,
    *,
    epochs: int,
    max_steps: int = 0,
    learning_rate: float,
    batch_size: int,
    seed: int,
    checkpoints: Path,
    save_steps: int,
    label: str,
) -> tuple[list[float], str | None]:
    """Train with the HF Trainer (checkpoints, resume, fixed seed); returns per-step losses and the resume point."""
    from transformers import PrinterCallback, Trainer, TrainerCallback
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints.mkdir(parents=True, exist_ok=True)
    resume = get_last_checkpoint(str(checkpoints))
    args = _training_arguments(
        checkpoints,
        epochs=epochs,
        max_steps=max_steps,
        learning_rate=learning_rate,
        batch_size=batch_size,
        seed=seed,
        save_steps=save_steps,
    )
    steps_per_epoch = -(-len(examples) // batch_size)
    total = min(steps_per_epoch * epochs, max_steps) if max_steps > 0 else steps_per_epoch * epochs

    with progress() as bar:
        task = bar.add_task(label, total=total)

        class _Progress(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                bar.update(task, completed=state.global_step)

        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=examples,
            data_collator=Collator(pad_id),
            callbacks=[_Progress()],
        )
        trainer.remove_callback(PrinterCallback)  # the summary line and the progress bar say enough
        trainer.train(resume_from_checkpoint=resume)
    losses = [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]
    return losses, resume


def _tiny_base(
    candidate: CandidateParams,
    params: LLMParams,
    tokenizer_dir: Path,
    texts: list[str],
    run: CandidateRun,
) -> Path:
    """Build the tiny ``arch`` model and pretrain it on the corpus; reused when nothing it depends on changed."""
    from callbot.llm.model import build_tiny_model

    base_dir = Path(params.out) / candidate.name / "base"
    key = _fingerprint(
        candidate.arch,
        params.tiny.model_dump(),
        params.pretrain.model_dump(),
        params.seed,
        texts,
        (tokenizer_dir / "tokenizer.json").read_text("utf-8"),
    )
    marker = base_dir / "pretrain.json"
    if marker.is_file() and json.loads(marker.read_text("utf-8")).get("key") == key:
        saved = json.loads(marker.read_text("utf-8"))
        run.pretrain_losses, run.pretrain_seconds = saved["losses"], saved["seconds"]
        return base_dir
    tokenizer = load_tokenizer(tokenizer_dir)
    model = build_tiny_model(candidate.arch, tokenizer, params.tiny.model_dump(), params.seed)
    blocks = lm_blocks(tokenizer, texts, params.pretrain.max_length)
    started = time.perf_counter()
    losses, _ = _fit(
        model,
        blocks,
        tokenizer.pad_token_id,
        epochs=params.pretrain.epochs,
        max_steps=params.pretrain.max_steps,
        learning_rate=params.pretrain.learning_rate,
        batch_size=params.pretrain.batch_size,
        seed=params.seed,
        checkpoints=checkpoints_dir(params, candidate.name) / f"pretrain-{key}",
        save_steps=10**9,
        label=f"pretrain {candidate.name}",
    )
    run.pretrain_losses, run.pretrain_seconds = losses, round(time.perf_counter() - started, 2)
    tmp = Path(tempfile.mkdtemp(prefix=".base.", dir=base_dir.parent))
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "pretrain.json").write_text(
        json.dumps({"key": key, "losses": losses, "seconds": run.pretrain_seconds, "blocks": len(blocks)}),
        "utf-8",
    )
    replace_dir(tmp, base_dir)
    shutil.rmtree(checkpoints_dir(params, candidate.name) / f"pretrain-{key}", ignore_errors=True)
    return base_dir


def check_qlora(qlora: bool) -> None:
    """QLoRA (4-bit base) is a GPU-host option: refuse it up front, before any training, elsewhere."""
    import importlib.util

    import torch

    if not qlora:
        return
    if not torch.cuda.is_available():
        raise RuntimeError(
            "params.yaml llm.lora.qlora is true but no CUDA device is visible: QLoRA's 4-bit base needs a "
            "GPU host with bitsandbytes; set llm.lora.qlora: false to train in full precision on CPU"
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise RuntimeError(
            "params.yaml llm.lora.qlora needs bitsandbytes: pip install bitsandbytes on the GPU host"
        )


def _load_base(base: str | Path, qlora: bool) -> PreTrainedModel:
    """The base model, 4-bit when QLoRA is asked for (CUDA + bitsandbytes only)."""
    import torch
    from transformers import AutoModelForCausalLM

    if not qlora:
        return AutoModelForCausalLM.from_pretrained(str(base))
    check_qlora(qlora)
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
        bnb_4bit_use_double_quant=True,
    )
    model = AutoModelForCausalLM.from_pretrained(str(base), quantization_config=quant, device_map="auto")
    return prepare_model_for_kbit_training(model)


def for_candidate(params: LLMParams, candidate: CandidateParams) -> LLMParams:
    """``params`` with the candidate's own limits (``candidates[].limits``) over ``lora`` and ``evaluate``."""
    if candidate.limits is None:
        return params
    limits = {k: v for k, v in candidate.limits.model_dump().items() if v is not None}
    lora = {k: v for k, v in limits.items() if k in params.lora.model_fields}
    evaluate = {}
    if "eval_examples_per_task" in limits:
        evaluate["max_examples_per_task"] = limits["eval_examples_per_task"]
    return params.model_copy(
        update={
            "lora": params.lora.model_copy(update=lora),
            "evaluate": params.evaluate.model_copy(update=evaluate),
            "threads": limits.get("threads", params.threads),
        }
    )


def _candidate_base(
    candidate: CandidateParams,
    params: LLMParams,
    dd: DatasetDict,
    tokenizer_dir: Path | None,
    run: CandidateRun,
) -> str | Path:
    """The base to tune: the tiny model pretrained here (its losses go into ``run``), or the named one."""
    if candidate.base == BUILD_TINY:
        assert tokenizer_dir is not None
        return _tiny_base(candidate, params, tokenizer_dir, corpus_texts(dd, ("train",)), run)
    return resolve_base(candidate)


def _with_lora(model: PreTrainedModel, candidate: CandidateParams, settings: Any, seed: int) -> Any:
    """The base wrapped in fresh LoRA adapters on ``candidate.lora_targets``; a clear error when the
    targets are not module names of its architecture."""
    from peft import LoraConfig, get_peft_model
    from transformers import set_seed

    lora = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(candidate.lora_targets),
        task_type="CAUSAL_LM",
    )
    # Seed here, not only at the start: whether the base was pretrained in this run or reused from disk
    # must not change the LoRA initialisation (it did: results differed between a first run and a rerun).
    set_seed(seed)
    try:
        with peft_wrapping():
            return get_peft_model(model, lora)
    except ValueError as exc:
        raise ValueError(
            f"params.yaml llm.candidates[{candidate.name}].lora_targets {candidate.lora_targets} do not match "
            f"{candidate.arch} module names ({exc})"
        ) from None


def _tune_lora(
    model: Any,
    examples: list[dict[str, list[int]]],
    pad_id: int,
    candidate: CandidateParams,
    params: LLMParams,
    key: str,
    run: CandidateRun,
) -> None:
    """Train the adapters, resuming from this key's checkpoints; losses, steps and time go into ``run``."""
    settings = for_candidate(params, candidate).lora
    started = time.perf_counter()
    run.lora_losses, run.resumed_from = _fit(
        model,
        examples,
        pad_id,
        epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        batch_size=settings.batch_size,
        seed=params.seed,
        checkpoints=checkpoints_dir(params, candidate.name) / f"lora-{key}",
        save_steps=settings.save_steps,
        label=f"LoRA {candidate.name}",
    )
    run.lora_seconds = round(time.perf_counter() - started, 2)
    run.lora_steps = len(run.lora_losses)


def _save_adapter(model: Any, tokenizer: PreTrainedTokenizerBase, root: Path) -> None:
    """``<root>/adapter``: the LoRA weights and the tokenizer, replaced whole."""
    adapter_tmp = Path(tempfile.mkdtemp(prefix=".adapter.", dir=root))
    model.save_pretrained(adapter_tmp)
    tokenizer.save_pretrained(adapter_tmp)
    replace_dir(adapter_tmp, root / "adapter")


def _save_merged(
    base: str | Path, tokenizer: PreTrainedTokenizerBase, root: Path, dd: DatasetDict, params: LLMParams
) -> None:
    """``<root>/merged``: the adapter merged onto a full-precision base (also right after QLoRA, whose
    base is 4-bit), with the responder's config and the ARS script from the train split."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    full = AutoModelForCausalLM.from_pretrained(str(base))
    with peft_wrapping():
        merged = PeftModel.from_pretrained(full, str(root / "adapter")).merge_and_unload()
    merged_tmp = Path(tempfile.mkdtemp(prefix=".merged.", dir=root))
    merged.save_pretrained(merged_tmp)
    tokenizer.save_pretrained(merged_tmp)
    ars_answers = [
        r for t, r in zip(dd["train"]["task"], dd["train"]["reference"], strict=True) if t == "ars"
    ]
    write_responder_config(merged_tmp, params, script_answers=ars_answers)
    write_script(merged_tmp, ars_script(dd["train"], params.router.handover_intent_prefix))
    replace_dir(merged_tmp, root / "merged")


def train_candidate(
    candidate: CandidateParams,
    params: LLMParams,
    dd: DatasetDict,
    tokenizer_dir: Path | None,
    version: str,
) -> CandidateRun:
    """Base (pretrained when tiny) -> LoRA -> adapter/ and merged/ under ``<out>/<candidate>/``."""
    import torch

    check_candidate(candidate, params.offline)
    torch.manual_seed(params.seed)
    root = Path(params.out) / candidate.name
    root.mkdir(parents=True, exist_ok=True)
    run = CandidateRun(
        candidate.name,
        candidate.arch,
        candidate.base,
        0,
        0,
        0,
        dataset_version=version,
        licence=candidate.licence,
    )
    settings = for_candidate(params, candidate).lora
    base = _candidate_base(candidate, params, dd, tokenizer_dir, run)
    tokenizer = load_tokenizer(base)
    rows = training_rows(dd["train"], settings.max_examples_per_task)
    examples = [chat_example(tokenizer, m, settings.max_length) for m in rows["messages"]]
    run.examples = len(examples)
    model = _with_lora(_load_base(base, settings.qlora), candidate, settings, params.seed)
    run.parameters, run.trainable_parameters = count_parameters(model)
    run.parameters -= run.trainable_parameters
    key = _fingerprint(settings.model_dump(), candidate.model_dump(), params.seed, version, str(base))
    _tune_lora(model, examples, tokenizer.pad_token_id, candidate, params, key, run)
    _save_adapter(model, tokenizer, root)
    _save_merged(base, tokenizer, root, dd, params)
    # finished: a rerun starts fresh
    shutil.rmtree(checkpoints_dir(params, candidate.name), ignore_errors=True)
    write_json(root / TRAIN_FILE, asdict(run), end="")
    return run


def train_in_worker(
    candidate: CandidateParams, prepared: Path, params: LLMParams, tokenizer_dir: Path | None, version: str
) -> CandidateRun:
    """:func:`train_candidate` on one thread in a worker process (:mod:`callbot.llm.workers`)."""
    set_torch_threads(1)
    dd = load_llm_dataset(prepared, params.allow_failed_gate)
    return train_candidate(candidate, params, dd, tokenizer_dir, version)


def _train_all(
    prepared: Path, params: LLMParams, dd: DatasetDict, tokenizer_dir: Path | None, version: str
) -> list[CandidateRun]:
    """Every candidate, in params order: those trained on one thread side by side in ``llm.workers``
    processes first, then the others here on their own threads."""
    from callbot.llm.workers import one_thread_side_by_side, worker_count

    def here(candidate: CandidateParams) -> CandidateRun:
        set_torch_threads(for_candidate(params, candidate).threads)
        return train_candidate(candidate, params, dd, tokenizer_dir, version)

    return one_thread_side_by_side(
        params.candidates, lambda c: for_candidate(params, c).threads, train_in_worker,
        lambda c: (c, prepared, params, tokenizer_dir, version), here, worker_count(params.workers),
    )  # fmt: skip


def run_train_llm(prepared: Path, params: LLMParams) -> list[CandidateRun]:
    """Train every candidate in ``params.candidates``; the Korean BPE is trained first when any is tiny."""
    set_torch_threads(params.threads)
    for candidate in params.candidates:  # refuse before any work is done
        check_candidate(candidate, params.offline)
    check_qlora(params.lora.qlora)
    names = [c.name for c in params.candidates]
    if len(set(names)) != len(names):
        raise ValueError(f"params.yaml llm.candidates: names must be unique, got {names}")
    dd = load_llm_dataset(prepared, params.allow_failed_gate)
    version = dataset_version(prepared, Path(params.version_file))
    tokenizer_dir = None
    if any(c.base == BUILD_TINY for c in params.candidates):
        tokenizer_dir = Path(params.out) / "tokenizer"
        texts = corpus_texts(dd, ("train",))  # a vocabulary from held-out text would leak it
        system = sorted({m[0]["content"] for m in dd["train"]["messages"] if m and m[0]["role"] == "system"})
        train_tokenizer([*system, *texts], tokenizer_dir, params.tokenizer)
    started = time.perf_counter()
    runs = _train_all(prepared, params, dd, tokenizer_dir, version)
    parts = ", ".join(
        f"{r.name} loss {r.lora_losses[0]:.2f}->{r.lora_losses[-1]:.2f}" for r in runs if r.lora_losses
    )
    summary(
        "train-llm",
        f"{len(runs)} candidates LoRA-tuned on {runs[0].examples if runs else 0} examples ({parts}) "
        f"in {time.perf_counter() - started:.0f}s -> {params.out}",
    )
    return runs
