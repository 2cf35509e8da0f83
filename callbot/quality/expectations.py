"""The gate's own expectations: built-in GE expectations pre-bound to a column, one class per defect.

A named subclass (``ExpectAudioNotSilent`` instead of a bare ``ExpectColumnValuesToBeBetween`` on
``rms``) makes the suite JSON and the data docs say which defect a row has. GX registers these classes
when they are defined, so this module must be imported before a file context loads a suite that uses
them, or GX drops the rule silently: :mod:`callbot.quality.gate` imports it first.

Each class names the column(s) it judges in ``bound`` (a class variable, not a field default: GX
leaves defaults out of the stored suite and the data docs, and a reviewer needs the column there).
Thresholds, ``mostly`` and severity come from params.yaml through :mod:`callbot.quality.suites`.
"""

from __future__ import annotations

import os
from typing import ClassVar

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # nothing may reach a network

import great_expectations as gx

Between = gx.expectations.ExpectColumnValuesToBeBetween
InSet = gx.expectations.ExpectColumnValuesToBeInSet

# ---- labels (records frame) ---------------------------------------------------------------------


class ExpectWordCountInRange(Between):
    """The label's wordCount lies in the page's 1..1000: 0 or a huge count is a broken label."""

    bound: ClassVar[dict[str, str]] = {"column": "word_count"}


class ExpectWordCountNearEojeolCount(Between):
    """|wordCount - eojeols in the text| is small: a large gap means text and label disagree."""

    bound: ClassVar[dict[str, str]] = {"column": "word_count_gap"}


class ExpectSummaryShorterThanAnswer(gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB):
    """An answer summary at least as long as the answer is a copy or a mis-paired summary."""

    bound: ClassVar[dict[str, str]] = {"column_A": "text_chars", "column_B": "summary_chars"}


class ExpectTextHasHangul(gx.expectations.ExpectColumnValuesToMatchRegex):
    """Text without a single Hangul syllable is mojibake (CP949 read as UTF-8) or a placeholder."""

    bound: ClassVar[dict[str, str]] = {"column": "text", "regex": "[가-힣]"}


# ---- audio (records frame) ----------------------------------------------------------------------


class ExpectSampleRate(InSet):
    """The WAV header's rate is the one its dataset ships (the adapter declares it: 16 kHz for the
    interview page, 8 kHz for a phone line): another rate means a file from elsewhere mixed in."""

    bound: ClassVar[dict[str, str]] = {"column": "sample_rate"}


class ExpectMonoAudio(InSet):
    """One channel, as the page states: stereo files double-count samples in duration maths."""

    bound: ClassVar[dict[str, str]] = {"column": "channels"}


class ExpectBitDepth(InSet):
    """16-bit PCM, as the page states: other depths break RMS and clipping figures."""

    bound: ClassVar[dict[str, str]] = {"column": "bits"}


class ExpectDurationMatchesLabel(Between):
    """|WAV duration - label duration| is small: a gap means truncated audio or the wrong file."""

    bound: ClassVar[dict[str, str]] = {"column": "duration_gap_ms"}


class ExpectAudioNotSilent(Between):
    """RMS above a floor: a silent recording has a transcript but nothing to hear."""

    bound: ClassVar[dict[str, str]] = {"column": "rms"}


class ExpectAudioNotClipped(Between):
    """Few samples at full scale: heavy clipping distorts the speech the model learns from."""

    bound: ClassVar[dict[str, str]] = {"column": "clipped_ratio"}


class ExpectDurationInBounds(Between):
    """Audio neither a click nor an hour: both are recording or cutting errors."""

    bound: ClassVar[dict[str, str]] = {"column": "duration_actual_ms"}


# ---- splits (dataset frame) ---------------------------------------------------------------------


class ExpectInterviewInOneSplit(Between):
    """An interview's question and answer share one split: otherwise the test set leaks into training."""

    bound: ClassVar[dict[str, str]] = {"column": "interview_splits"}


class ExpectStratumInEverySplit(Between):
    """Every stratum its adapter declares (interview: occupation x gender x experience) is in every
    split, so every slice is evaluated."""

    bound: ClassVar[dict[str, str]] = {"column": "stratum_splits"}


class ExpectSplitDistributionNearWhole(Between):
    """Each split's label shares are close to the whole set's: a skewed split misleads evaluation."""

    bound: ClassVar[dict[str, str]] = {"column": "split_share_gap_pct"}


# ---- reference (dataset frame) ------------------------------------------------------------------


class ExpectOccupationNearPublished(Between):
    """Occupation shares close to the dataset page's table: a gap means archives are missing."""

    bound: ClassVar[dict[str, str]] = {"column": "occupation_gap_pct"}


class ExpectGenderNearPublished(Between):
    """Gender shares close to the dataset page: a gap means archives are missing or mis-mapped."""

    bound: ClassVar[dict[str, str]] = {"column": "gender_gap_pct"}


class ExpectExperienceNearPublished(Between):
    """Experience shares close to the dataset page: a gap means archives are missing."""

    bound: ClassVar[dict[str, str]] = {"column": "experience_gap_pct"}


class ExpectAudioListedInManifest(Between):
    """Every record's audio is a file ingest verified: else prepare read something unverified."""

    bound: ClassVar[dict[str, str]] = {"column": "audio_not_in_manifest"}


class ExpectManifestCoverage(Between):
    """Most verified audio and label files became records: a low share means prepare dropped data."""

    bound: ClassVar[dict[str, str]] = {"column": "manifest_coverage"}
