"""Tolerant reading of AI-Hub label files and mapping of their enum spellings.

Real label files arrive with a UTF-8 BOM, in UTF-16, or in CP949 from Windows tools; the dataset
page itself spells gender values ``FEMAIL``/``MAILE`` while files say ``Female``/``MALE``. The
reader accepts every encoding seen; :class:`EnumMap` maps the spellings known to mean one value and
reports anything else, so an unexpected value is quarantined rather than guessed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["EnumMap", "LabelError", "read_label"]


class LabelError(ValueError):
    """A label file could not be decoded or parsed; ``reason`` is the quarantine code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp949")  # raises again if it is neither


def read_label(path: Path) -> Any:
    """The parsed JSON of a label file, whatever its encoding (UTF-8 with or without BOM, UTF-16, CP949)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LabelError("unreadable", f"{path}: cannot read label file: {exc}") from None
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise LabelError(
            "unparsable_json", f"{path}: not UTF-8, UTF-16 or CP949 text; re-export the label as UTF-8 JSON"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelError(
            "unparsable_json",
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); fix or re-download it",
        ) from None
    except RecursionError:
        raise LabelError(
            "label_too_deep",
            f"{path}: JSON nested deeper than Python's recursion limit; not an AI-Hub label, re-download it",
        ) from None
    except ValueError as exc:  # e.g. an integer over sys.get_int_max_str_digits() (4,300 digits)
        raise LabelError(
            "label_bad_number", f"{path}: a number in the JSON cannot be read ({exc}); fix or re-download it"
        ) from None


_FOLD = re.compile(r"[\s_\-./&]+")


class EnumMap:
    """Known spellings of one label field -> the canonical value; anything else is unknown.

    Spellings are compared case-insensitively with spaces, dashes, underscores, dots and ``&``
    removed, so ``Face to face`` and ``FACE-TO-FACE`` meet; the canonical values themselves always
    map to themselves.
    """

    def __init__(self, field: str, variants: dict[str, tuple[str, ...]]) -> None:
        self.field = field
        self.canonical = tuple(variants)
        self._lookup: dict[str, str] = {}
        for value, spellings in variants.items():
            for spelling in (value, *spellings):
                self._lookup[self._key(spelling)] = value

    @staticmethod
    def _key(value: str) -> str:
        return _FOLD.sub("", value).casefold()

    def get(self, value: Any) -> str | None:
        """The canonical value, or None when ``value`` is not a known spelling."""
        if not isinstance(value, str):
            return None
        return self._lookup.get(self._key(value))
