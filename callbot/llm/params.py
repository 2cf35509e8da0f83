"""params.yaml `llm`: LoRA fine-tuning and evaluation of the LLM candidates."""

from __future__ import annotations

from callbot.params_base import Section


class LLMParams(Section):
    out: str
    report: str
    seed: int
