"""params.yaml `validate`: the Great Expectations data gate."""

from __future__ import annotations

from callbot.params_base import Section


class ValidateParams(Section):
    prepared: str
    report: str
