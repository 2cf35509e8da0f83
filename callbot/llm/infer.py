"""Answering a caller: the scripted answer the router picks, or a handover. Used by evaluation and the Bento.

A model directory (``models/llm/<candidate>/merged``, or one from ``build_tiny_candidate``) holds the
weights, the tokenizer with its chat template, ``responder.json`` (system prompt, guard, generation
and router settings from params.yaml at training time) and, after training, ``router.json`` (the
scripted answers and the train-split caller questions behind each, :mod:`callbot.llm.router`) and
``script.json``. A packaged model also holds ``calibration.json``, the dialogue policy's thresholds
and input checks ``evaluate-bot`` calibrated. So a Bento needs nothing but the directory.

With a router, a caller's words can only ever produce a scripted answer or the handover message;
free generation (``generate``) is kept for the interview tasks and for a model dir without a router.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.contracts import read_json
from callbot.dialogue import policy
from callbot.dialogue.policy import ANSWER, CONFIRM, HANDOVER, Action, Screen, Thresholds
from callbot.llm.guard import EMPTY, check_reply
from callbot.llm.model import RESPONDER_FILE, SCRIPT_FILE
from callbot.llm.params import GenerationParams, GuardParams, RouterParams
from callbot.llm.router import INTENT_DIR, Router, read_calibration, read_script

LOW_CONFIDENCE = policy.LOW_CONFIDENCE  # no scripted answer is likely enough
OUT_OF_SCOPE = policy.OUT_OF_SCOPE  # the likeliest answer is the handover itself
LOGLIK_MEMO = 4096  # answer log-likelihoods kept per responder (a few MB); the weights are fixed once loaded

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class ReplyResult:
    """What the bot says (``text``), whether the guard replaced the model's answer, why, and the raw answer."""

    text: str
    guarded: bool
    reason: str | None
    raw: str = ""
    intent: str | None = None  # the caller intent the bot acted on (router only)
    confidence: float | None = None  # its calibrated probability
    action: str = HANDOVER  # answer | confirm | handover (the dialogue policy's decision)
    summary: str = ""  # on a handover: one line for the counsellor (the caller's first sentence)


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
        router: Router | None = None,
        thresholds: Thresholds | None = None,
        screen: Screen | None = None,
        intent_model: Any = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"  # decoder-only batches must end where generation starts
        self.system_prompt = system_prompt
        self.guard = guard
        self.generation = generation
        self.script = router.script.answers if router is not None else script
        self.router = router
        default = router.params.threshold if router else 1.0  # until evaluate-bot calibrates: no confirm band
        self.thresholds = thresholds or Thresholds(default, 0.0, default, 0.0)
        self.screen = screen or Screen(min_hangul_ratio=guard.min_hangul_ratio)
        self.summary = (
            summary or {}
        )  # {"llm": bool, "prompt": str, "max_new_tokens": int} from calibration.json
        self.intent_model = intent_model  # when select left the LLM out of the call path: it ranks instead
        self._answers = {  # every caller intent -> its scripted answer (a confirm names one)
            intent: e.answer  # an entry training named no intent for is labelled by its answer (Router.label)
            for e in (router.script.entries if router else ())
            for intent in (e.intents or (e.answer,))
        }
        self._answers.update(getattr(intent_model, "answers", None) or {})
        self._logliks: dict[tuple[tuple[int, ...], tuple[tuple[int, ...], ...]], list[float]] = {}
        self._prefix: Any = None  # the system prompt's key/value cache (llm.scoring.Prefix), once
        questions = [policy.confirm_question(i, again) for i in self._answers for again in (False, True)]
        said = (*(self.script or ()), *self._answers.values(), *questions)
        self._speakable = {" ".join(a.split()) for a in said} | {" ".join(guard.handover_message.split())}

    def messages(self, text: str, history: list[dict[str, str]] | None = None) -> list[dict[str, str]]:
        """The chat the model sees: system prompt, earlier turns, the caller's words."""
        turns = [m for m in (history or []) if m.get("role") in ("user", "assistant")]
        return [{"role": "system", "content": self.system_prompt}, *turns, {"role": "user", "content": text}]

    def prompt_ids(self, messages: list[dict[str, str]], reserve: int | None = None) -> list[int]:
        """Token ids of the chat up to the assistant marker, fitted to the context.

        Oldest turns go first; a last turn still too long loses its oldest characters. The system
        prompt is never dropped: a caller cannot push it out of the context with a long message.
        """
        budget = context_length(self.model) - (self.generation.max_new_tokens if reserve is None else reserve)
        system, turns = messages[:1], list(messages[1:])
        while True:
            text = self.tokenizer.apply_chat_template(
                system + turns, tokenize=False, add_generation_prompt=True
            )
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(ids) <= budget:
                return ids
            if len(turns) > 1:
                turns = turns[2:] if len(turns) > 2 else turns[-1:]
                continue
            content = turns[0]["content"] if turns else ""
            if len(content) <= 1:
                return ids[:budget]  # the system prompt alone overflows: a configuration error upstream
            keep = max(1, len(content) * budget // (len(ids) + 1) - 1)
            turns = [{**turns[0], "content": content[-keep:]}]

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

    def answer_logliks(
        self, text: str, answers: list[str], history: list[dict[str, str]] | None = None
    ) -> list[float]:
        """Mean log-likelihood per token of each answer after the chat prompt.

        The prompt runs once and its cache is shared by the answers; the vocabulary head is applied
        only where an answer token is predicted (:mod:`callbot.llm.scoring`). Results are kept per
        (prompt, answers): evaluation meets the same words again (both channels, the reference text).
        """
        from callbot.llm.scoring import prefix_answer_logliks

        limit = context_length(self.model)
        answer_ids = [
            [
                *self.tokenizer(a, add_special_tokens=False)["input_ids"][: limit // 2],
                self.tokenizer.eos_token_id,
            ]
            for a in answers
        ]
        prompt = self.prompt_ids(self.messages(text, history), reserve=max(len(a) for a in answer_ids))
        key = (tuple(prompt), tuple(map(tuple, answer_ids)))
        if key not in self._logliks:
            if len(self._logliks) >= LOGLIK_MEMO:
                self._logliks.clear()
            self._logliks[key] = prefix_answer_logliks(self.model, prompt, answer_ids, self._system_prefix())
        return list(self._logliks[key])

    def loglik_memo(self) -> dict[Any, list[float]]:
        """A copy of the answer log-likelihoods computed so far, keyed by (prompt ids, answer ids):
        what a worker hands back so another responder on the same weights need not compute them."""
        return dict(self._logliks)

    def remember_logliks(self, memo: dict[Any, list[float]]) -> None:
        """Take log-likelihoods another responder on the same weights computed (its :meth:`loglik_memo`):
        :meth:`answer_logliks` then returns them as its own. Kept whole; the memo's cap applies at the
        next one computed here."""
        self._logliks.update(memo)

    def _system_prefix(self) -> Any:
        """The system prompt's cache (every chat starts with it), computed on first use; None when the
        template does not start a chat with the system turn alone."""
        from callbot.llm.scoring import encode_prefix

        if self._prefix is None:
            chat = [{"role": "system", "content": self.system_prompt}]
            text = self.tokenizer.apply_chat_template(chat, tokenize=False)
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            self._prefix = encode_prefix(self.model, ids) if ids else False
        return self._prefix or None

    def reply(
        self,
        text: str,
        history: list[dict[str, str]] | None = None,
        *,
        use_llm: bool = True,
        words: list[float] | None = None,
        confirm: dict[str, Any] | None = None,
    ) -> ReplyResult:
        """One caller turn -> what the bot says: a scripted answer, a confirm question, or the handover.

        ``use_llm=False`` ranks by retrieval alone (the baseline evaluate-bot reports); ``words``
        are the transcript's per-word confidences, when the words were heard rather than typed;
        ``confirm`` the closed-set scores of a heard reply to the confirm question (the STT's
        ``confirm_scores``), decided with the calibrated thresholds instead of parsing ``text``.
        """
        text = (text or "").strip()
        if self.router is None:
            if not text:
                return ReplyResult(self.guard.handover_message, True, EMPTY, "")
            return self.check(self.generate([self.messages(text, history)], batch_size=1)[0])
        waiting = policy.pending_confirm(history or [], list(self._answers))
        if waiting is not None:
            heard = policy.reply_heard(text, confirm, self.thresholds)
            return self.speak(policy.follow_up(text, *waiting, heard=heard), history, text)
        reason = policy.screen(text, self.screen)
        if reason is not None:
            return self.speak(Action(HANDOVER, None, 0.0, reason), history, text)
        return self.speak(
            policy.decide(self.rank(text, history, use_llm), self.thresholds, words), history, text
        )

    def rank(self, text: str, history: list[dict[str, str]] | None = None, use_llm: bool = True) -> Any:
        """The intents ranked for ``text``: the intent model, or retrieval rescored by the LLM when it is in the call path."""
        if self.intent_model is not None:
            return self.intent_model.rank([text])[0]
        assert self.router is not None
        scorer = None
        if use_llm and self.router.params.llm_weight > 0:

            def scorer(caller: str, answers: list[str]) -> list[float]:
                return self.answer_logliks(caller, answers, history)

        return self.router.rank(text, scorer)

    def answer_for(self, intent: str) -> str:
        """The scripted answer of a caller intent ("" for one the script does not know)."""
        return self._answers.get(intent, "")

    def speak(self, action: Action, history: list[dict[str, str]] | None, text: str) -> ReplyResult:
        """The words of an action: the intent's scripted answer, its confirm question, or the handover."""
        raw = self.answer_for(action.intent or "")
        confidence = action.confidence
        if action.kind == ANSWER and raw:
            return ReplyResult(raw, False, action.reason, raw, action.intent, confidence, ANSWER)
        if action.kind == CONFIRM and raw:
            again = action.reason == policy.UNCLEAR_ANSWER
            question = policy.confirm_question(action.intent or "", again=again)
            return ReplyResult(question, False, action.reason, raw, action.intent, confidence, CONFIRM)
        said = [t["content"] for t in history or [] if t.get("role") == "user"] + [text]
        return ReplyResult(
            self.guard.handover_message, True, action.reason or LOW_CONFIDENCE, raw, action.intent,
            confidence, HANDOVER, self.handover_summary(said),
        )  # fmt: skip

    def handover_summary(self, said: list[str]) -> str:
        """One line for the counsellor: the LLM's summary where it beat the caller's first sentence on
        validation (evaluate-bot; shipped in calibration.json), else that first sentence."""
        if not self.summary.get("llm") or not policy.first_sentence(said):
            return policy.first_sentence(said)
        return self.summarise(said, str(self.summary["prompt"]), int(self.summary["max_new_tokens"]))

    def summarise(self, said: list[str], prompt: str, max_new_tokens: int) -> str:
        """The LLM's one-line summary of the caller's words (greedy, capped); the first sentence if it fails the guard."""
        words = " ".join(" ".join(t.split()) for t in said)[-self.guard.max_chars :]
        chat = [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": prompt.format(text=words)},
        ]
        saved = self.generation
        self.generation = saved.model_copy(update={"max_new_tokens": max_new_tokens, "do_sample": False})
        try:
            line = (self.generate([chat], batch_size=1)[0].strip().splitlines() or [""])[0].strip()
        finally:
            self.generation = saved
        if check_reply(line, self.guard) is not None:
            return policy.first_sentence(said)
        return line

    def speakable(self, text: str) -> bool:
        """Whether ``text`` is something this bot may say: with a router, a scripted answer or the
        handover (a set lookup, milliseconds whatever the script's size); without one, what the guard passes."""
        if self.router is None:
            return check_reply(text, self.guard, self.script) is None
        return " ".join(str(text).split()) in self._speakable

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
    return read_json(path, "responder config", "`callbot train-llm`")


def load_responder(
    model_dir: Path,
    guard: GuardParams | None = None,
    generation: GenerationParams | None = None,
    system_prompt: str | None = None,
    *,
    device: str | None = None,
    router_params: RouterParams | None = None,
    thresholds: Thresholds | None = None,
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
    router_script = read_script(model_dir)
    router = None
    if router_script is not None:
        router_params = router_params or RouterParams.model_validate(saved.get("router") or {})
        router = Router(router_script, router_params)
    calibration = read_calibration(model_dir)
    thresholds, screen = thresholds or policy_of(calibration), screen_of(calibration, guard)
    intent_model = None
    if (calibration or {}).get("ranker") == "intent":  # select: the LLM did not beat the intent model alone
        from callbot.intent.model import load

        intent_model = load(model_dir / INTENT_DIR)
    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    if device:
        model = model.to(device)
    summary = (calibration or {}).get("summary")
    return Responder(
        model, tokenizer, system_prompt, guard, generation, script, router, thresholds, screen, intent_model,
        summary if isinstance(summary, dict) else None,
    )  # fmt: skip


def policy_of(calibration: dict[str, Any] | None) -> Thresholds | None:
    """The calibrated thresholds of ``calibration.json``; a bare threshold answers at it and never confirms."""
    if calibration is None:
        return None
    if "policy" in calibration:
        return Thresholds.from_json(calibration["policy"], calibration["source"])
    t = float(calibration["threshold"])
    return Thresholds(t, 0.0, t, 0.0)


def screen_of(calibration: dict[str, Any] | None, guard: GuardParams) -> Screen:
    """The input checks shipped with the calibration (``bot.policy``), with the guard's Korean share."""
    rules = (calibration or {}).get("screen") or {}
    try:
        return Screen(
            min_hangul_ratio=guard.min_hangul_ratio,
            repeat_min_words=int(rules.get("repeat_min_words", Screen.repeat_min_words)),
            max_repeat_share=float(rules.get("max_repeat_share", Screen.max_repeat_share)),
            injection_markers=tuple(map(str, rules.get("injection_markers", ()))),
        )
    except (TypeError, ValueError):
        raise ValueError(
            f"{(calibration or {}).get('source')}: `screen` is not valid; rerun `callbot evaluate-bot`"
        ) from None
