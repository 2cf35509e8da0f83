"""The ARS guard: a caller never hears a broken answer, they are handed to a human instead.

A generated reply is refused when it is empty, too long to speak, not Korean, or off the task (it
reads like another task's output, or is not close to any scripted call-centre answer the model
was trained on: the KDCA counsellors' answers are scripted, so a reply far from all of them is not one). The checks are plain string rules so operators can read and tune them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from callbot.text.hangul import hangul_ratio, is_hangul

if TYPE_CHECKING:
    from callbot.llm.params import GuardParams

EMPTY = "empty"
TOO_LONG = "too_long"
NOT_KOREAN = "not_korean"
OFF_TASK = "off_task"

__all__ = ["EMPTY", "NOT_KOREAN", "OFF_TASK", "TOO_LONG", "check_reply", "hangul_ratio", "is_hangul"]


def script_similarity(text: str, script: Sequence[str]) -> float:
    """Best character ROUGE-L F1 between the reply and any scripted answer (1.0 = says one verbatim)."""
    from callbot.llm.rouge import rouge_l

    return max((rouge_l(text, answer).f1 for answer in script), default=0.0)


def check_reply(text: str, guard: GuardParams, script: Sequence[str] | None = None) -> str | None:
    """The reason a reply must not be spoken (``empty``, ``too_long``, ``not_korean``, ``off_task``) or None."""
    reply = text.strip()
    if not reply:
        return EMPTY
    if len(reply) > guard.max_chars:
        return TOO_LONG
    broken = any(ch == "\ufffd" or unicodedata.category(ch) == "Cc" for ch in reply)
    if broken or hangul_ratio(reply) < guard.min_hangul_ratio:
        return NOT_KOREAN  # a cut UTF-8 sequence or control bytes cannot be read out either
    lowered = reply.lower()
    if any(marker.lower() in lowered for marker in guard.off_task_markers):
        return OFF_TASK
    if script and script_similarity(reply, script) < guard.min_script_similarity:
        return OFF_TASK  # e.g. the model echoing a caller's question, or drifting into interview talk
    return None
