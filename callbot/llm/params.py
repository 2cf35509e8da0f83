"""params.yaml `llm`: LoRA fine-tuning and evaluation of the LLM candidates.

Every tunable of the LLM stages lives here as a strict, default-free model so that the smoke and
full profiles differ only in params.yaml, never in code.
"""

from __future__ import annotations

from typing import Literal

from callbot.params_base import Section

Arch = Literal["gpt_neox", "gptj", "llama", "gemma3"]


class CandidateLimits(Section):
    """Per-candidate limits over ``llm.lora`` / ``llm.evaluate`` for a base far larger than the others (a real checkpoint
    beside tiny stand-ins), so that it fits the same time budget; unset keys follow ``llm.lora``."""

    max_steps: int | None = None
    batch_size: int | None = None
    max_length: int | None = None
    learning_rate: float | None = None  # a pretrained base needs far less than a tiny one (0.01 diverged)
    threads: int | None = None  # torch threads while this candidate trains and is scored (0 = all cores)
    eval_examples_per_task: int | None = None  # over llm.evaluate.max_examples_per_task


class CandidateParams(Section):
    """One LLM candidate: a name, where its base comes from, and the modules LoRA adapts.

    ``base`` is ``build:tiny`` (a tiny model of ``arch`` built locally and pretrained on the Korean
    corpus: smoke only), ``package:<name>`` (real weights from a pinned package, materialised by
    ``callbot bases``), a local directory, or a hub id (full profile only: nothing downloads under
    smoke). ``licence`` travels with the weights into the leaderboard and the BentoML store.
    """

    name: str
    arch: Arch
    base: str
    lora_targets: list[str]
    licence: str
    limits: CandidateLimits | None = None


class TinyParams(Section):
    """Shape of the locally built stand-in models (smoke)."""

    hidden_size: int
    layers: int
    heads: int
    intermediate_size: int
    max_positions: int


class TokenizerParams(Section):
    """The Korean byte-level BPE trained on every prepared text (an artifact under ``out``)."""

    vocab_size: int
    min_frequency: int


class PretrainParams(Section):
    """Causal-LM pretraining of the tiny bases on the train split's texts (smoke only)."""

    epochs: int
    max_steps: int  # caps the epochs on a big corpus; 0 = no cap
    learning_rate: float
    batch_size: int
    max_length: int


class LoraParams(Section):
    """peft LoRA fine-tuning on the chat-formatted train split (loss on assistant tokens only)."""

    r: int
    alpha: int
    dropout: float
    epochs: int
    max_steps: int  # caps the epochs on a big train split; 0 = no cap
    learning_rate: float
    batch_size: int
    max_length: int
    max_examples_per_task: int  # train rows per interview task (summary, emotion, intent); ARS: all; 0 = all
    save_steps: int  # checkpoint every N optimiser steps; a rerun resumes from the newest
    qlora: bool  # 4-bit base (bitsandbytes) on CUDA hosts only; refused on CPU


class GenerationParams(Section):
    """Decoding settings shared by evaluation and serving."""

    max_new_tokens: int
    num_beams: int
    do_sample: bool
    temperature: float
    repetition_penalty: float


class GuardParams(Section):
    """The ARS guard: replies that fail these checks become the scripted hand-over message."""

    handover_message: str
    max_chars: int
    min_hangul_ratio: float  # share of letters that must be Hangul syllables/jamo
    min_script_similarity: float  # best char ROUGE-L F1 against the trained ARS answers (script.json)
    off_task_markers: list[str]  # phrases that mark another task's output (labels, interview talk)


class RouterParams(Section):
    """Grounded ARS answers (:mod:`callbot.llm.router`): which scripted answer, and when to hand over."""

    ngram_min: int  # character n-grams of the retrieval index (spaces and punctuation dropped)
    ngram_max: int
    shortlist: int  # answers the LLM rescores, best by retrieval first
    temperature: float  # cosine similarity / temperature = the retrieval logit
    llm_weight: float  # times the answer's mean log-likelihood per token; 0 = retrieval only
    none_similarity: float  # the "none of these" logit's similarity: below it, hand over
    threshold: float  # confidence below which the caller is handed over, until evaluate-bot calibrates one
    handover_intent_prefix: (
        str  # caller intents that start with this are out of scope (their answer is the handover)
    )


class EvaluateParams(Section):
    """Test-split evaluation sizes (generation is the slow part)."""

    max_examples_per_task: int
    batch_size: int


class LLMParams(Section):
    prepared: str
    allow_failed_gate: bool  # train even when gate.json says the validation gate failed
    version_file: str  # versions/dataset.json: the dataset version models are labelled with
    out: str
    report: str
    seed: int
    threads: int  # torch threads; 0 = all cores
    workers: int  # processes the 1-thread candidates train and are scored in side by side; 0 = one per core, 1 = none
    offline: bool  # hub ids refused (smoke): nothing downloads
    system_prompt: str
    candidates: list[CandidateParams]
    tiny: TinyParams
    tokenizer: TokenizerParams
    pretrain: PretrainParams
    lora: LoraParams
    generation: GenerationParams
    guard: GuardParams
    router: RouterParams
    evaluate: EvaluateParams
