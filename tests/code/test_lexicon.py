"""The broad word list's readers (callbot/sample/lexicon.py): a SentencePiece model and a tiktoken
rank file parsed without their libraries, on hand-built bytes, then the two real packaged files."""

from __future__ import annotations

import base64

from callbot.sample.lexicon import bpe_pieces, package_lexicon, sentencepiece_pieces, split_pieces


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (lengths under 128 here)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def _piece(text: str, score: float = -1.5) -> bytes:
    import struct

    return _field(1, _field(1, text.encode()) + bytes([2 << 3 | 5]) + struct.pack("<f", score))


def test_sentencepiece_pieces_reads_every_piece_and_skips_other_fields() -> None:
    trainer = _field(2, _field(1, b"ignored") + bytes([3 << 3 | 0, 0x96, 0x01]))  # a varint of two bytes
    model = _piece("<unk>") + _piece("\u2581강아지") + trainer + _piece("는") + _piece("\u2581a")
    assert sentencepiece_pieces(model) == ["<unk>", "\u2581강아지", "는", "\u2581a"]


def test_bpe_pieces_decodes_ranks_and_skips_broken_bytes() -> None:
    lines = [
        base64.b64encode(" 고양이".encode()).decode() + " 7",
        base64.b64encode(b"\xea\xb0").decode() + " 8",
    ]
    lines += [base64.b64encode("를".encode()).decode() + " 9", ""]
    assert bpe_pieces("\n".join(lines)) == [" 고양이", "를"]


def test_split_pieces_keeps_hangul_heads_and_short_tails() -> None:
    pieces = ["\u2581고양이", "\u2581가", "\u2581cat", "에서", "습니다만요", "ab", "\u2581", "을"]
    heads, tails = split_pieces(pieces, "\u2581")
    assert heads == {"고양이"}  # one syllable at a word start is too short to be a head
    assert tails == {"에서", "을"}  # four syllables and more are not a tail


def test_the_packaged_tokenizers_give_a_broad_lexicon() -> None:
    lexicon = package_lexicon()
    assert len(lexicon.heads) > 2000 and len(lexicon.tails) > 1500
    assert all(len(h) >= 2 for h in lexicon.heads) and all(1 <= len(t) <= 3 for t in lexicon.tails)
    assert {"친구", "이렇게"} <= set(lexicon.heads)  # common words
    fewer = lexicon.without("친구를 만났다")
    assert "친구" not in fewer.heads and len(fewer.heads) == len(lexicon.heads) - 1
