"""params.yaml `intent`: the intent model's encoder candidates, head and handover-policy targets."""

from __future__ import annotations

from callbot.params_base import Section


class IntentParams(Section):
    prepared: str  # records.parquet: the call-centre caller questions, their intents and splits
    out: str  # the model directory (intent.json, head.npz, tfidf.json)
    report: str  # metrics.json (DVC metrics), curve.json, report.md
    domains: list[str]  # call-centre domains whose caller questions the line answers
    exclude_intents: list[str]  # caller turns that are not questions (a closing "thank you")
    candidates: list[str]  # encoders: tfidf, e5, e5-ft, use or `+` concatenations; chosen on validation
    ngrams: list[int]  # TF-IDF character n-gram range [low, high]
    min_improvement: float  # validation unseen accuracy a later candidate must gain
    C: list[float]  # inverse L2 strength of the logistic head, searched with each encoder
    max_iter: int
    seed: int
    threads: int  # encoder threads (e5's C engine, USE's numpy); 0 = 1
    thresholds: list[float]  # the handover policy's confidence grid (validation)
    margins: list[float]  # its top-2 margin grid
    oos_recall_target: float  # the suggested policy hands over at least this share of out-of-scope
    wrong_answer_target: float  # ... while answering at most this share wrongly (validation)
    max_chars: int  # longer caller texts are cut before encoding
    finetune_steps: int  # e5-ft: LoRA steps (the CPU knob; 0 leaves the LoRA at zero)
    finetune_batch: int  # ... distinct intents (phrasing pairs) per step
    finetune_layers: int  # ... top layers whose attention query/value get LoRA
    finetune_rank: int  # ... LoRA rank (alpha = 2 x rank)
    finetune_lr: float  # ... AdamW learning rate
    finetune_head_weight: float  # ... a joint classification head's cross-entropy weight (0: none)
