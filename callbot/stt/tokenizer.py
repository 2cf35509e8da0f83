"""The real multilingual Whisper tokenizer, built offline from the vocabulary openai-whisper ships.

No model hub is reachable here, yet the smoke model must speak the same token ids as every real
Whisper checkpoint (so a smoke-trained pipeline is the real one, only smaller). openai-whisper
bundles ``assets/multilingual.tiktoken`` (byte-level BPE ranks); the HF tokenizer is rebuilt from
it: ranks become the byte-to-unicode vocabulary, merges are recovered from the ranks, and the
special tokens follow in openai-whisper's order (so ``<|ko|>``, ``<|transcribe|>``... get the same
ids). Building takes seconds, so the result is cached on disk and copied from there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import WhisperTokenizer

NUM_LANGUAGES = 99  # the multilingual v1/v2 vocabulary: 51,865 ids
LANGUAGE = "ko"
TASK = "transcribe"
CACHE_ENV = "CALLBOT_CACHE"


def cache_root() -> Path:
    """Where built artefacts that depend only on installed packages are kept between runs."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "callbot")


def _tiktoken_path() -> Path:
    import whisper

    return Path(whisper.__file__).parent / "assets" / "multilingual.tiktoken"


def special_tokens(num_languages: int = NUM_LANGUAGES) -> list[str]:
    """openai-whisper's special tokens in id order (ids follow the last BPE rank)."""
    from whisper.tokenizer import LANGUAGES

    return [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *[f"<|{lang}|>" for lang in list(LANGUAGES)[:num_languages]],
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nocaptions|>",  # openai-whisper calls it <|nospeech|>; same id, HF's name
        "<|notimestamps|>",
    ]


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map used by byte-level BPE vocabularies."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def vocab_and_merges(ranks: dict[bytes, int]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level vocabulary and merges equivalent to tiktoken's rank-ordered BPE.

    tiktoken stores only ranks; a merge ``a + b -> ab`` exists for each token whose two halves are
    tokens of lower rank. Ordering merges by the rank of the merged token reproduces tiktoken's
    greedy lowest-rank-first merging.
    """
    encoder = _bytes_to_unicode()

    def as_text(token: bytes) -> str:
        return "".join(encoder[b] for b in token)

    vocab = {as_text(token): rank for token, rank in ranks.items()}
    merges: list[tuple[int, int, int, bytes, bytes]] = []
    for token, rank in ranks.items():
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            if left in ranks and right in ranks:
                merges.append((rank, ranks[left], ranks[right], left, right))
    merges.sort()
    return vocab, [(as_text(left), as_text(right)) for *_, left, right in merges]


def _build(out_dir: Path) -> None:
    from tiktoken.load import load_tiktoken_bpe
    from tokenizers import AddedToken
    from transformers import WhisperTokenizer

    ranks = load_tiktoken_bpe(str(_tiktoken_path()))
    vocab, merges = vocab_and_merges(ranks)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges, language=None, task=None)
    specials = special_tokens()
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, normalized=False, special=True) for t in specials[1:]]}
    )
    timestamps = [AddedToken(f"<|{i * 0.02:.2f}|>", normalized=False, special=False) for i in range(1501)]
    tokenizer.add_tokens(timestamps)
    tokenizer.pad_token = tokenizer.eos_token
    first = tokenizer.convert_tokens_to_ids(specials[0])
    expected = len(ranks)
    if (
        first != expected
        or tokenizer.convert_tokens_to_ids("<|notimestamps|>") != expected + len(specials) - 1
    ):
        raise RuntimeError(f"{_tiktoken_path()}: built tokenizer's special ids do not follow the BPE ranks")
    tokenizer.save_pretrained(str(out_dir))


@cache
def tokenizer_dir() -> Path:
    """A directory holding the built tokenizer; built once per openai-whisper vocabulary."""
    source = _tiktoken_path()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    target = cache_root() / f"whisper-tokenizer-{digest}"
    if (target / "tokenizer.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        _build(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race; its copy is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_tokenizer() -> WhisperTokenizer:
    """The multilingual Whisper tokenizer with language ko / task transcribe prefixes."""
    from transformers import WhisperTokenizer

    return WhisperTokenizer.from_pretrained(str(tokenizer_dir()), language=LANGUAGE, task=TASK)
