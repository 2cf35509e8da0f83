"""The four expectation suites, built from params.yaml: one expectation per line, one defect each.

Every expectation carries ``meta.rule`` (the params key that sets its severity and ``mostly``) and
``meta.quarantine`` (whether its failing rows are set aside), so the gate can map a GE result back to
its rule without parsing expectation types. ``labels`` and ``audio`` run on the records frame,
``splits`` and ``reference`` on the dataset frame (:mod:`callbot.quality.frames`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callbot.prepare.adapters import adapter_names, expected_sample_rate, required_columns
from callbot.prepare.schema import (
    AGE_RANGES,
    CHANNELS,
    EMOTIONS,
    EXPERIENCES,
    GENDERS,
    INTENTS,
    OCCUPATIONS,
    PLACES,
    ROLES,
    SPEAKERS,
    SPLITS,
)
from callbot.quality import expectations as ex

if TYPE_CHECKING:
    import great_expectations as gx

    from callbot.quality.params import Rule, ValidateParams

RECORD_SUITES = ("labels", "audio")
DATASET_SUITES = ("splits", "reference")
SUITES = RECORD_SUITES + DATASET_SUITES

# Columns every record needs (the records contract); demographics are null for call-centre rows.
# What each dataset needs beyond these (its audio, demographics) and the WAV rate it ships are
# declared by its adapter (callbot.prepare.adapters.Quality), so a new dataset needs no edit here.
REQUIRED = ("utterance_id", "interview_id", "dataset", "role", "text_raw", "text", "label_path", "split")
ENUMS: dict[str, tuple[str, ...]] = {
    "role": ROLES,
    "split": SPLITS,
    "occupation": OCCUPATIONS,
    "gender": GENDERS,
    "age_range": AGE_RANGES,
    "experience": EXPERIENCES,
    "channel": CHANNELS,
    "place": PLACES,
    "emotion": EMOTIONS,
    "intent": INTENTS,
    "speaker": SPEAKERS,
}


def _judged(rule: Rule, name: str) -> dict[str, Any]:
    """severity, mostly and the meta that ties a result back to its params rule."""
    return {
        "severity": rule.severity,
        "mostly": rule.mostly,
        "meta": {"rule": name, "quarantine": bool(getattr(rule, "quarantine", False))},
    }


def _bound(cls: type[Any], **kwargs: Any) -> Any:
    """A custom rule with its bound column(s) written out and its docstring (the defect) as notes,
    which the data docs show next to the verdict."""
    return cls(**cls.bound, notes=" ".join((cls.__doc__ or "").split()), **kwargs)


def _rows_of(dataset: str) -> dict[str, str]:
    """The GE arguments that restrict an expectation to one dataset's rows."""
    return {"row_condition": f'dataset=="{dataset}"', "condition_parser": "pandas"}


def labels_expectations(params: ValidateParams) -> list[gx.expectations.Expectation]:
    """Defects of the label JSON: missing fields, unknown codes, wrong counts, broken text, duplicates."""
    r = params.labels
    core = gx_core()
    enums = {"dataset": adapter_names(), **ENUMS}
    # fmt: off
    return [
        *(core.ExpectColumnValuesToNotBeNull(column=c, notes="A required label field was lost in parsing.", **_judged(r.required_not_null, "labels.required_not_null")) for c in REQUIRED),  # a label field lost in parsing
        *(core.ExpectColumnValuesToNotBeNull(column=c, notes=f"A {name} row without a column its adapter requires.", **_rows_of(name), **_judged(r.required_not_null, "labels.required_not_null")) for name, columns in required_columns().items() for c in columns),  # audio or a demographic field missing
        *(core.ExpectColumnValuesToBeInSet(column=c, value_set=list(v), notes="An unmapped spelling or unknown code.", **_judged(r.enums_in_set, "labels.enums_in_set")) for c, v in enums.items()),  # an unmapped spelling (FEMAIL) or unknown code
        _bound(ex.ExpectWordCountInRange, min_value=r.word_count_min, max_value=r.word_count_max, **_judged(r.word_count_in_range, "labels.word_count_in_range")),  # wordCount 0 or absurd
        _bound(ex.ExpectWordCountNearEojeolCount, min_value=0, max_value=r.word_count_tolerance, **_judged(r.word_count_near_eojeols, "labels.word_count_near_eojeols")),  # text and wordCount disagree
        _bound(ex.ExpectSummaryShorterThanAnswer, ignore_row_if="either_value_is_missing", **_judged(r.summary_shorter_than_answer, "labels.summary_shorter_than_answer")),  # summary copied or mis-paired
        _bound(ex.ExpectTextHasHangul, **_judged(r.text_has_hangul, "labels.text_has_hangul")),  # mojibake or placeholder text
        core.ExpectColumnValuesToBeUnique(column="utterance_id", notes="The same utterance joined twice.", **_judged(r.ids_unique, "labels.ids_unique")),  # the same file joined twice
    ]
    # fmt: on


def audio_expectations(params: ValidateParams) -> list[gx.expectations.Expectation]:
    """Defects of the WAV files: wrong format, truncation, silence, clipping, absurd length."""
    a = params.audio
    # fmt: off
    return [
        *(_bound(ex.ExpectSampleRate, value_set=[expected_sample_rate(name, a.sample_rate)], **_rows_of(name), **_judged(a.sample_rate_matches, "audio.sample_rate_matches")) for name in adapter_names()),  # 8 kHz phone audio mixed into a 16 kHz set
        _bound(ex.ExpectMonoAudio, value_set=[a.channels], **_judged(a.mono, "audio.mono")),  # stereo recording
        _bound(ex.ExpectBitDepth, value_set=[a.bits], **_judged(a.bit_depth_matches, "audio.bit_depth_matches")),  # 8/24/32-bit PCM
        _bound(ex.ExpectDurationMatchesLabel, min_value=0, max_value=a.duration_tolerance_ms, **_judged(a.duration_matches_label, "audio.duration_matches_label")),  # truncated or wrong file
        _bound(ex.ExpectAudioNotSilent, min_value=a.rms_floor, **_judged(a.not_silent, "audio.not_silent")),  # silent recording
        _bound(ex.ExpectAudioNotClipped, min_value=0, max_value=a.clipped_ratio_max, **_judged(a.not_clipped, "audio.not_clipped")),  # overdriven microphone
        _bound(ex.ExpectDurationInBounds, min_value=a.duration_min_ms, max_value=a.duration_max_ms, **_judged(a.duration_in_bounds, "audio.duration_in_bounds")),  # a click or a runaway recording
    ]
    # fmt: on


def splits_expectations(params: ValidateParams) -> list[gx.expectations.Expectation]:
    """Defects of the train/validation/test split: leakage, missing strata, skewed labels."""
    s = params.splits
    # fmt: off
    return [
        _bound(ex.ExpectInterviewInOneSplit, min_value=1, max_value=1, **_judged(s.interview_in_one_split, "splits.interview_in_one_split")),  # question in train, answer in test
        _bound(ex.ExpectStratumInEverySplit, min_value=len(SPLITS), max_value=len(SPLITS), **_judged(s.strata_in_every_split, "splits.strata_in_every_split")),  # a slice never evaluated
        _bound(ex.ExpectSplitDistributionNearWhole, min_value=0, max_value=s.distribution_tolerance_pct, **_judged(s.distribution_close_to_whole, "splits.distribution_close_to_whole")),  # a skewed split
    ]
    # fmt: on


def reference_expectations(params: ValidateParams) -> list[gx.expectations.Expectation]:
    """Defects against the outside world: the page's published table and ingest's manifest."""
    f = params.reference
    # fmt: off
    return [
        _bound(ex.ExpectOccupationNearPublished, min_value=0, max_value=f.tolerance_pct, **_judged(f.occupation_close, "reference.occupation_close")),  # an occupation's archives missing
        _bound(ex.ExpectGenderNearPublished, min_value=0, max_value=f.tolerance_pct, **_judged(f.gender_close, "reference.gender_close")),  # a gender spelling not mapped
        _bound(ex.ExpectExperienceNearPublished, min_value=0, max_value=f.tolerance_pct, **_judged(f.experience_close, "reference.experience_close")),  # experienced/new archives missing
        _bound(ex.ExpectAudioListedInManifest, min_value=0, max_value=0, **_judged(f.audio_in_manifest, "reference.audio_in_manifest")),  # records built from unverified files
        _bound(ex.ExpectManifestCoverage, min_value=f.min_manifest_coverage, max_value=1, **_judged(f.manifest_coverage, "reference.manifest_coverage")),  # prepare silently dropped files
    ]
    # fmt: on


def gx_core() -> Any:
    """great_expectations.expectations (imported with the custom rules already registered)."""
    import great_expectations as gx

    return gx.expectations


def build_suites(params: ValidateParams) -> dict[str, list[gx.expectations.Expectation]]:
    """Suite name -> its expectations, in the order the data docs list them."""
    return {
        "labels": labels_expectations(params),
        "audio": audio_expectations(params),
        "splits": splits_expectations(params),
        "reference": reference_expectations(params),
    }
