"""Korean transcript normalisation: label text -> the reference an STT model is scored against.

AI-Hub and KsponSpeech transcripts carry annotation that no speech model can or should produce:
dual forms ``(70%)/(칠십 퍼센트)``, noise tags ``b/ n/ o/ l/ u/``, fillers marked ``어/``, repeat and
uncertainty marks ``+`` and ``*``. The steps below follow ESPnet's KsponSpeech recipe, each one
explicit and in a fixed order (order matters: dual forms first, since their parentheses and slashes
would otherwise be eaten by the punctuation step).

Unicode: NFC only. NFKD (or any decomposition) splits Hangul syllables into jamo, which silently
inflates CER; NFC is what every tokenizer here was trained on.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from callbot.text.numbers import verbalize_numbers

__all__ = ["DualForm", "normalise", "normalize_text", "resolve_dual_forms"]

DualForm = Literal["spelling", "pronunciation"]

# (A)/(B): A is the spelling (70%), B the pronunciation (칠십 퍼센트). Neither side nests parentheses.
_DUAL = re.compile(r"\(([^()]*)\)\s*/\s*\(([^()]*)\)")
# Noise tags: breath, noise, other speaker, laughter, unintelligible. Written as a letter and a slash,
# standing alone or glued to a word.
_NOISE = re.compile(r"(?<![\w/])[bnoluBNOLU]/")
# Fillers (간투어) are words marked with a trailing slash: 어/ 음/ 그/.
_FILLER = re.compile(r"(?<!\S)[^\s/]+/(?=\s|$)")
# Repeats (+) and uncertain words (*) keep the word, lose the mark.
_MARKS = re.compile(r"[+*]")
# Punctuation and symbols that are not spoken. % and digits have already been verbalised.
_PUNCT = re.compile(r"[^\w\s]|_")
_SPACE = re.compile(r"\s+")
# What texts are matched by (retrieval, seen/unseen sentences): Hangul, jamo, Latin letters, digits.
_KEEP = re.compile(r"[^0-9a-z\uac00-\ud7a3\u3131-\u318e]+")


def normalise(text: str) -> str:
    """NFC, lower case, only Hangul, Latin letters and digits: the key two texts are matched by."""
    return _KEEP.sub("", unicodedata.normalize("NFC", text).lower())


def resolve_dual_forms(text: str, form: DualForm) -> str:
    """Keep one side of every ``(A)/(B)``: ``spelling`` keeps A, ``pronunciation`` keeps B."""
    index = 1 if form == "spelling" else 2
    return _DUAL.sub(lambda m: m.group(index), text)


def normalize_text(text: str, *, dual_form: DualForm, drop_fillers: bool, numbers_as_words: bool) -> str:
    """The normalised reference: one dual form, no tags or marks, numbers as words, no punctuation.

    ``dual_form`` picks the spelling or the pronunciation side; ``drop_fillers`` removes 어/-style
    fillers (keep them when the model should learn to transcribe hesitations); ``numbers_as_words``
    reads digits the way they are spoken (:func:`callbot.text.numbers.verbalize_numbers`).
    """
    text = unicodedata.normalize("NFC", text)
    text = resolve_dual_forms(text, dual_form)
    text = _NOISE.sub(" ", text)
    if drop_fillers:
        text = _FILLER.sub(" ", text)
    text = text.replace("/", " ")
    text = _MARKS.sub("", text)
    if numbers_as_words:
        text = verbalize_numbers(text)
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()
