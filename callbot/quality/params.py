"""params.yaml `validate`: the Great Expectations data gate.

Every threshold, every ``mostly`` and every severity of the gate lives here, so that tightening a rule is
a params change that ``dvc params diff`` shows, and the suites in ``gx/expectations/`` follow from it.
"""

from __future__ import annotations

from typing import Literal

from callbot.params_base import Section

Severity = Literal["critical", "warning"]


class Rule(Section):
    """How one expectation judges: ``critical`` fails the gate, ``warning`` is only reported.

    ``mostly`` is the share of evaluated values that must pass for the expectation to succeed.
    """

    severity: Severity
    mostly: float


class RowRule(Rule):
    """A rule on single records: with ``quarantine`` its failing rows are set aside, not trained on."""

    quarantine: bool


class LabelRules(Section):
    word_count_min: int
    word_count_max: int
    word_count_tolerance: int
    required_not_null: RowRule
    enums_in_set: RowRule
    word_count_in_range: RowRule
    word_count_near_eojeols: RowRule
    summary_shorter_than_answer: RowRule
    text_has_hangul: RowRule
    ids_unique: Rule


class AudioRules(Section):
    sample_rate: int  # for a dataset whose adapter declares no rate (Quality.sample_rate)
    channels: int
    bits: int
    duration_tolerance_ms: float
    rms_floor: float
    clipped_ratio_max: float
    duration_min_ms: float
    duration_max_ms: float
    sample_rate_matches: RowRule
    mono: RowRule
    bit_depth_matches: RowRule
    duration_matches_label: RowRule
    not_silent: RowRule
    not_clipped: RowRule
    duration_in_bounds: RowRule


class SplitRules(Section):
    stratum_min_interviews: int
    distribution_columns: list[str]
    distribution_tolerance_pct: float
    interview_in_one_split: Rule
    strata_in_every_split: Rule
    distribution_close_to_whole: Rule


class ReferenceRules(Section):
    tolerance_pct: float
    occupation_pct: dict[str, float]
    gender_pct: dict[str, float]
    experience_pct: dict[str, float]
    min_manifest_coverage: float
    occupation_close: Rule
    gender_close: Rule
    experience_close: Rule
    audio_in_manifest: Rule
    manifest_coverage: Rule


class ValidateParams(Section):
    prepared: str
    report: str
    manifest: str
    context: str
    quarantine_limit: float
    labels: LabelRules
    audio: AudioRules
    splits: SplitRules
    reference: ReferenceRules
