"""Hangul jamo as the CTC model's alphabet, and a composition back to syllables that only ever
yields whole characters.

A syllable is decomposed into conjoining jamo (initial U+1100.., vowel U+1161.., final U+11A8..):
initials and finals are different code points, so the way back is unambiguous. The alphabet is the
set of symbols the TRAIN split's transcripts use (a model cannot learn a symbol it never heard), saved
beside the model; characters outside it are skipped and counted. Composing a decoded symbol sequence
keeps a syllable only when an initial is followed by a vowel: a lone jamo (half a syllable) is
dropped, so a transcript never holds U+FFFD or a broken character.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callbot.atomic import write_json

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
S_COUNT = L_COUNT * V_COUNT * T_COUNT
SPACE = " "
ALPHABET_FILE = "alphabet.json"
# jamo blocks (conjoining, extended A/B, compatibility, halfwidth): never a character on their own
_JAMO_BLOCKS = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF), (0x3131, 0x318E), (0xFFA0, 0xFFDC))


class AlphabetError(ValueError):
    """An alphabet file is missing or malformed."""


def _kind(ch: str) -> str:
    """'L' initial, 'V' vowel, 'T' final, 'S' space, 'O' another character."""
    code = ord(ch)
    if L_BASE <= code < L_BASE + L_COUNT:
        return "L"
    if V_BASE <= code < V_BASE + V_COUNT:
        return "V"
    if T_BASE < code < T_BASE + T_COUNT:
        return "T"
    return "S" if ch == SPACE else "O"


def _keepable(ch: str) -> bool:
    """A character that may stand alone in a transcript: printable, not a replacement or a jamo."""
    if ch == SPACE:
        return True
    category = unicodedata.category(ch)
    code = ord(ch)
    jamo = any(lo <= code <= hi for lo, hi in _JAMO_BLOCKS)
    return ch != "\ufffd" and category[0] in "LN" and not jamo


def decompose(text: str) -> list[str]:
    """Syllables -> conjoining jamo; runs of whitespace -> one space; other characters kept as they are."""
    out: list[str] = []
    for ch in " ".join(unicodedata.normalize("NFC", text).split()):
        code = ord(ch) - S_BASE
        if 0 <= code < S_COUNT:
            out.append(chr(L_BASE + code // (V_COUNT * T_COUNT)))
            out.append(chr(V_BASE + (code % (V_COUNT * T_COUNT)) // T_COUNT))
            if code % T_COUNT:
                out.append(chr(T_BASE + code % T_COUNT))
        else:
            out.append(ch)
    return out


def compose(symbols: Iterable[str]) -> str:
    """Jamo (and other characters) -> text of whole syllables only.

    An initial followed by a vowel makes a syllable, closed by a following final if there is one; a
    jamo out of that order is dropped. Characters that cannot stand alone (U+FFFD, controls,
    compatibility jamo) are dropped too. Spaces are collapsed and trimmed.
    """
    out: list[str] = []
    initial: int | None = None  # pending initial index
    syllable: list[int] | None = None  # [L, V] of an open syllable waiting for a final
    for ch in symbols:
        kind = _kind(ch) if len(ch) == 1 else "X"
        if kind == "T" and syllable is not None:
            out.append(chr(S_BASE + (syllable[0] * V_COUNT + syllable[1]) * T_COUNT + ord(ch) - T_BASE))
            syllable = None
            continue
        if syllable is not None:
            out.append(chr(S_BASE + (syllable[0] * V_COUNT + syllable[1]) * T_COUNT))
            syllable = None
        if kind == "V" and initial is not None:
            syllable = [initial, ord(ch) - V_BASE]
            initial = None
            continue
        initial = ord(ch) - L_BASE if kind == "L" else None
        if kind in ("S", "O") and _keepable(ch):
            out.append(ch)
    if syllable is not None:
        out.append(chr(S_BASE + (syllable[0] * V_COUNT + syllable[1]) * T_COUNT))
    return " ".join("".join(out).split())


@dataclass(frozen=True)
class Alphabet:
    """CTC output symbols: index 0 is the blank, then ``symbols`` in order."""

    symbols: tuple[str, ...]

    @property
    def size(self) -> int:
        """Output classes, the blank included."""
        return len(self.symbols) + 1

    def encode(self, text: str) -> tuple[list[int], int]:
        """Label ids of ``text`` (1-based) and how many characters were outside the alphabet (skipped)."""
        index = {s: i + 1 for i, s in enumerate(self.symbols)}
        ids: list[int] = []
        skipped = 0
        for symbol in decompose(text):
            if symbol in index:
                ids.append(index[symbol])
            else:
                skipped += 1
        return ids, skipped

    def symbol(self, label: int) -> str:
        return self.symbols[label - 1] if 0 < label <= len(self.symbols) else ""

    def save(self, directory: Path) -> None:
        write_json(directory / ALPHABET_FILE, {"blank": 0, "symbols": list(self.symbols)})

    @classmethod
    def load(cls, directory: Path) -> Alphabet:
        path = directory / ALPHABET_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            symbols = tuple(str(s) for s in data["symbols"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AlphabetError(
                f"{path}: unreadable CTC alphabet ({exc}); re-run `callbot train-stt`"
            ) from None
        if not symbols or any(len(s) != 1 for s in symbols):
            raise AlphabetError(f"{path}: symbols must be single characters; re-run `callbot train-stt`")
        return cls(symbols)


def build_alphabet(texts: Sequence[str]) -> Alphabet:
    """Every jamo, space and standalone character the (training) ``texts`` use, in code-point order."""
    used = {s for text in texts for s in decompose(text)}
    keep = {s for s in used if _kind(s) in "LVT" or _keepable(s)}
    if not keep - {SPACE}:
        raise AlphabetError("the training transcripts hold no usable character; check the prepared STT data")
    return Alphabet(tuple(sorted(keep)))
