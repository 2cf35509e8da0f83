"""params.yaml `select` and `package`: champion/challenger selection and the Bento build."""

from __future__ import annotations

from callbot.params_base import Section


class SelectParams(Section):
    primary_metric: str
    min_improvement: float
    out: str


class PackageParams(Section):
    out: str
