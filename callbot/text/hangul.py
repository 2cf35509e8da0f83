"""Is it Korean? Letter classes shared by the reply guard and the dialogue's input screen."""

from __future__ import annotations


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
