"""Answering a caller: chat prompt -> generation -> ARS guard. Used by evaluation and by the Bento.

A model directory (``models/llm/<candidate>/merged``, or one from ``build_tiny_candidate``) holds the
weights, the tokenizer with its chat template, ``responder.json`` (system prompt, guard and
generation settings from params.yaml at training time) and, after training, ``script.json`` (the
scripted answers the guard compares replies with). So a Bento needs nothing but the directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.llm.guard import EMPTY, check_reply
from callbot.llm.model import RESPONDER_FILE, SCRIPT_FILE
from callbot.llm.params import GenerationParams, GuardParams

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class ReplyResult:
    """What the bot says (``text``), whether the guard replaced the model's answer, why, and the raw answer."""

    text: str
    guarded: bool
    reason: str | None
    raw: str = ""


def context_length(model: PreTrainedModel) -> int:
    """The longest sequence the model's positions allow."""
    config = model.config
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return 2048


class Responder:
    """A loaded candidate that answers ARS turns; generation is greedy by default, so replies repeat."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        system_prompt: str,
        guard: GuardParams,
        generation: GenerationParams,
        script: tuple[str, ...] | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"  # decoder-only batches must end where generation starts
        self.system_prompt = system_prompt
        self.guard = guard
        self.generation = generation
        self.script = script

    def messages(self, text: str, history: list[dict[str, str]] | None = None) -> list[dict[str, str]]:
        """The chat the model sees: system prompt, earlier turns, the caller's words."""
        turns = [m for m in (history or []) if m.get("role") in ("user", "assistant")]
        return [{"role": "system", "content": self.system_prompt}, *turns, {"role": "user", "content": text}]

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """Token ids of the chat up to the assistant marker, oldest turns dropped to fit the context."""
        budget = context_length(self.model) - self.generation.max_new_tokens
        system, turns = messages[:1], list(messages[1:])
        while True:
            text = self.tokenizer.apply_chat_template(
                system + turns, tokenize=False, add_generation_prompt=True
            )
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(ids) <= budget or len(turns) <= 1:
                return ids[-budget:]
            turns = turns[2:] if len(turns) > 2 else turns[-1:]

    def generate(self, chats: list[list[dict[str, str]]], batch_size: int = 8) -> list[str]:
        """Raw model answers for a batch of chats (no guard): evaluation scores these."""
        import torch

        answers: list[str] = []
        gen = self.generation
        kwargs: dict[str, Any] = {
            "max_new_tokens": gen.max_new_tokens,
            "num_beams": gen.num_beams,
            "do_sample": gen.do_sample,
            "repetition_penalty": gen.repetition_penalty,
            "eos_token_id": self.tokenizer.eos_token_id,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if gen.do_sample:
            kwargs["temperature"] = gen.temperature
        device = next(self.model.parameters()).device
        for start in range(0, len(chats), batch_size):
            batch = [self.prompt_ids(chat) for chat in chats[start : start + batch_size]]
            width = max(len(ids) for ids in batch)
            pad = self.tokenizer.pad_token_id
            input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=device)
            mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=device)
            with torch.no_grad():
                out = self.model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
            for row in out[:, width:]:
                answers.append(self.tokenizer.decode(row, skip_special_tokens=True).strip())
        return answers

    def reply(self, text: str, history: list[dict[str, str]] | None = None) -> ReplyResult:
        """One caller turn -> what the bot says; a refused answer becomes the hand-over message."""
        if not text or not text.strip():
            return ReplyResult(self.guard.handover_message, True, EMPTY, "")
        raw = self.generate([self.messages(text.strip(), history)], batch_size=1)[0]
        return self.check(raw)

    def speakable(self, text: str) -> bool:  # stand-in (i16s); the lead's version replaces it on merge
        """Whether ``text`` passes the same guard as the bot's replies."""
        return check_reply(text, self.guard, self.script) is None

    def check(self, raw: str) -> ReplyResult:
        """Apply the ARS guard to a raw answer."""
        reason = check_reply(raw, self.guard, self.script)
        if reason is not None:
            return ReplyResult(self.guard.handover_message, True, reason, raw)
        return ReplyResult(raw.strip(), False, None, raw)


def read_responder_config(model_dir: Path) -> dict[str, Any]:
    """``responder.json`` of a model dir, or {} when the dir was not written by training."""
    path = model_dir / RESPONDER_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); rerun `callbot train-llm` to rewrite it") from None


def load_responder(
    model_dir: Path,
    guard: GuardParams | None = None,
    generation: GenerationParams | None = None,
    system_prompt: str | None = None,
    *,
    device: str | None = None,
) -> Responder:
    """Load a merged candidate for answering; settings not passed come from its ``responder.json``."""
    from transformers import AutoModelForCausalLM

    from callbot.llm.tokenizer import load_tokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(
            f"{model_dir}: no model here (config.json missing); run `callbot train-llm` or point at "
            "models/llm/<candidate>/merged"
        )
    saved = read_responder_config(model_dir)
    missing = [
        name
        for name, value in (("guard", guard), ("generation", generation), ("system_prompt", system_prompt))
        if value is None and name not in saved
    ]
    if missing:
        raise ValueError(
            f"{model_dir / RESPONDER_FILE}: missing {', '.join(missing)}; pass them to load_responder or "
            "rebuild the model dir with `callbot train-llm` (or build_tiny_candidate(..., params=...))"
        )
    guard = guard or GuardParams.model_validate(saved["guard"])
    generation = generation or GenerationParams.model_validate(saved["generation"])
    system_prompt = system_prompt if system_prompt is not None else saved["system_prompt"]
    script_path = model_dir / SCRIPT_FILE
    script = tuple(json.loads(script_path.read_text("utf-8"))) if script_path.is_file() else None
    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    if device:
        model = model.to(device)
    return Responder(model, tokenizer, system_prompt, guard, generation, script)
