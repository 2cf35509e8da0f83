"""params.yaml `prepare`: labels joined to audio, splits, HF datasets."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from callbot.params_base import Section


class TextParams(Section):
    """How label text becomes the normalised reference (:func:`callbot.text.normalize.normalize_text`)."""

    dual_form: Literal["spelling", "pronunciation"]  # which side of (A)/(B) to keep
    drop_fillers: bool  # 어/ 음/ removed from the reference
    numbers_as_words: bool  # 1339 -> 일삼삼구, 15000원 -> 만 오천 원


class SplitParams(Section):
    """How rows get their split; interview (or dialogue) ids are the unit.

    ``by: folder``: an item under a ``Training`` folder is train, one under ``Validation`` is
    validation or test by the hash of its id (``heldout_validation`` of them validation); an item
    under neither falls back to the hash shares. ``by: hash``: the shares alone, wherever it lies.
    """

    by: Literal["folder", "hash"] = "folder"
    train: float
    validation: float
    test: float
    heldout_validation: float = 0.5  # share of the Validation folder's groups that become validation
    salt: str  # part of the hashed key; changing it reshuffles every split (a MAJOR data change)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> SplitParams:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-9 or min(self.train, self.validation, self.test) < 0:
            raise ValueError(f"prepare.split shares must be >= 0 and sum to 1, got {total}")
        if not 0.0 <= self.heldout_validation <= 1.0:
            raise ValueError(
                f"prepare.split.heldout_validation must be in [0, 1], got {self.heldout_validation}"
            )
        return self


class TemplateParams(Section):
    """The LLM instruction templates; ``{text}`` is the utterance, ``{labels}`` the label set."""

    system: str  # system prompt of the interview tasks
    ars_system: str  # system prompt of the call-centre (ARS) task
    ars: str  # user turn: the caller's question
    summary: str
    emotion: str
    intent: str


class PrepareParams(Section):
    raw: str
    out: str
    text: TextParams
    split: SplitParams
    ars_domains: list[str]  # call-centre domains (도메인) that feed the ARS dialogue task
    audio_chunk_frames: int  # frames per read in the streaming signal-statistics pass
    workers: int  # processes parsing labels and measuring WAVs; 0 = all cores
    templates: TemplateParams
    corrections: str  # accepted review corrections (callbot review import), applied by utterance id
