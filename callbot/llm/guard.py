"""The ARS guard: a caller never hears a broken answer, they are handed to a human instead.

A generated reply is refused when it is empty, too long to speak, not Korean, or off the task (it
reads like another task's output, or shares too little with the scripted call-centre answers the
model was trained on). The checks are plain string rules so operators can read and tune them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callbot.llm.params import GuardParams

EMPTY = "empty"
TOO_LONG = "too_long"
NOT_KOREAN = "not_korean"
OFF_TASK = "off_task"


def is_hangul(ch: str) -> bool:
    """Hangul syllables, jamo and compatibility jamo."""
    code = ord(ch)
    return 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def hangul_ratio(text: str) -> float:
    """Share of letters that are Hangul; 0.0 when there are no letters at all."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(is_hangul(ch) for ch in letters) / len(letters)


def _hangul_bigrams(text: str) -> list[str]:
    chars = [ch for ch in unicodedata.normalize("NFC", text) if is_hangul(ch)]
    return [a + b for a, b in pairwise(chars)]


def domain_bigrams(texts: Iterable[str]) -> set[str]:
    """Hangul character bigrams of the task's answers: a cheap fingerprint of "on task" wording."""
    seen: set[str] = set()
    for text in texts:
        seen.update(_hangul_bigrams(text))
    return seen


def domain_overlap(text: str, domain: set[str] | frozenset[str]) -> float:
    """Share of the reply's Hangul bigrams found in ``domain``."""
    grams = _hangul_bigrams(text)
    if not grams:
        return 0.0
    return sum(g in domain for g in grams) / len(grams)


def check_reply(text: str, guard: GuardParams, domain: set[str] | frozenset[str] | None = None) -> str | None:
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
    if domain and domain_overlap(reply, domain) < guard.min_domain_overlap:
        return OFF_TASK
    return None
