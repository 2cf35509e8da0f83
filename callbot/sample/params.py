"""params.yaml `sample`: the offline AI-Hub-shaped download tree (the embedded default source)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from callbot.params_base import Section


class SampleParams(Section):
    out: str
    records: int  # label files (interviews) in the interview tree
    seed: int
    part_size: int  # bytes; archives larger than this are left split as X.zip.part<offset>
    audio: Literal["speech", "stub"]
    clean: bool  # True turns the real-world quirks off
    workers: int  # 0 = all cores
    callcenter_dialogues: int = 1700  # KDCA dialogues of the call-centre tree (a fifth in Validation)
    phone_share: float = 0.3  # share of Training calls passed through the telephone channel
    phone_sentences: int = 4000  # utterances of the phone-line set (8 kHz; every fifth session in Validation)
    phone_short_answers: int = 1600  # lone short answers (네, 아니요, ...) added to Training phone sessions
    # Training phone sessions of varied text: seen words in random order / pseudo-word strings (0 = none)
    phone_random_words: Annotated[int, Field(ge=0)] = 0
    phone_random_syllables: Annotated[int, Field(ge=0)] = 0
    # Training phone sentences of words from a broad lexicon (callbot/sample/lexicon.py; 0 = none)
    phone_lexicon_sentences: Annotated[int, Field(ge=0)] = 0
