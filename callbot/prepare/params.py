"""params.yaml `prepare`: labels joined to audio, splits, HF datasets."""

from __future__ import annotations

from callbot.params_base import Section


class PrepareParams(Section):
    raw: str
    out: str
