"""The base class every params.yaml section derives from.

Kept apart from :mod:`callbot.config` so that each stage can declare its own section next to its
code (``callbot/<stage>/params.py``) without an import cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A params.yaml section: unknown keys are errors, values are not coerced across types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
