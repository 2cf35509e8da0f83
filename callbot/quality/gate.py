"""`callbot validate`: the Great Expectations gate between prepare and training.

One file context (``validate.context``, ``gx/`` in the repository) holds the four suites, their
validation definitions and two checkpoints, all versioned in git. A run:

1. reads ``PREPARED/records.parquet`` and the ingest manifest, derives the records and dataset frames;
2. writes the suites from params.yaml into the context (only when they changed, so git shows a diff
   exactly when a rule changed);
3. runs the ``records`` checkpoint (labels, audio) and the ``dataset`` checkpoint (splits, reference).
   A GE checkpoint feeds the same dataframe to all of its validation definitions, hence two; both
   update the data docs;
4. quarantines rows failing row rules marked ``quarantine`` and decides: the gate fails when a critical
   expectation fails or the quarantined share is above ``validate.quarantine_limit``;
5. writes ``REPORT/`` (summary.json, data_docs/, validations/) by swapping in a freshly built
   directory, and next to the records ``quarantine_validate.jsonl`` (one line per failure),
   ``gate.json`` (the verdict and the excluded utterances, which the trainers honour when reading the
   HF datasets) and, when the gate passed, ``records.validated.parquet`` (the rows training may use).

Validation results and data docs go to the report directory through the ``${callbot_report}``
variable in ``great_expectations.yml``: nothing generated lands in the versioned context.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import replace_dir, write_json, write_text, writing
from callbot.console import progress, summary
from callbot.contracts import Gate, GateExclusion, write_gate
from callbot.prepare.schema import RECORD_COLUMNS
from callbot.quality.frames import GateInputError, dataset_frame, read_manifest, records_frame
from callbot.quality.offline_docs import make_offline
from callbot.quality.stable_docs import expectation_id, fingerprint, make_stable, run_id
from callbot.quality.verdict import GATE_FILE

if TYPE_CHECKING:
    import pandas as pd

    from callbot.quality.params import ValidateParams

__all__ = ["GateInputError", "GateResult", "run_validate"]

DATASOURCE = "callbot"
CHECKPOINTS = {"records": ("labels", "audio"), "dataset": ("splits", "reference")}
# `row` (position in records.parquet) identifies a record even when its utterance_id is null or repeated
INDEX_COLUMNS = {"records": ["row", "utterance_id"], "dataset": ["check_key"]}
QUARANTINE_FILE = "quarantine_validate.jsonl"
VALIDATED_FILE = "records.validated.parquet"
EXAMPLES = 20  # failing keys per expectation in summary.json (all of them are in validations/)

CONTEXT_CONFIG = """\
# callbot's Great Expectations context: suites, validation definitions and checkpoints are versioned;
# validation results and data docs go to the run's report directory (${callbot_report}, set by
# callbot.quality.gate at run time), never into this folder.
config_version: 4.0
config_variables_file_path: uncommitted/config_variables.yml
plugins_directory: plugins/
stores:
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: expectations/
  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: ${callbot_report}/validations/
  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: checkpoints/
  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: validation_definitions/
expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store
data_docs_sites:
  callbot:
    class_name: SiteBuilder
    show_how_to_buttons: false
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: ${callbot_report}/data_docs/
    site_index_builder:
      class_name: DefaultSiteIndexBuilder
progress_bars:
  globally: false
  metric_calculations: false
analytics_enabled: false
fluent_datasources: {}
"""


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, as the table and summary.json report it."""

    suite: str
    rule: str
    expectation: str
    column: str
    severity: str
    success: bool
    unexpected_count: int
    unexpected_percent: float
    unexpected_keys: tuple[str, ...] = ()  # utterance_id (records) or check_key (dataset) of each failure


@dataclass(frozen=True)
class SuiteOutcome:
    evaluated: int
    succeeded: int
    failed: int
    failed_critical: int
    quarantined: int


@dataclass
class GateResult:
    """What the gate decided and where a person can see why."""

    passed: bool
    rows: int
    quarantined_rows: int
    quarantine_share: float
    suites: dict[str, SuiteOutcome]
    outcomes: list[ExpectationOutcome]
    reasons: list[str]
    report: Path
    data_docs: Path
    quarantine: dict[str, list[str]] = field(default_factory=dict)  # utterance_id -> expectations

    def as_summary(self, limit: float) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "quarantined_rows": self.quarantined_rows,
            "quarantine_share": round(self.quarantine_share, 6),
            "quarantine_limit": limit,
            "suites": {name: vars(outcome) for name, outcome in self.suites.items()},
            "failed_expectations": [
                {
                    **{k: v for k, v in vars(o).items() if k not in ("success", "unexpected_keys")},
                    "examples": list(o.unexpected_keys[:EXAMPLES]),
                }
                for o in self.outcomes
                if not o.success
            ],
            "reasons": self.reasons,
            "data_docs": str(self.data_docs.relative_to(self.report)),
        }


def read_records(prepared: Path) -> pd.DataFrame:
    """records.parquet with every contract column, or an error saying which file and what to do."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = prepared / "records.parquet"
    if not path.is_file():
        raise GateInputError(f"{path}: not found; run `callbot prepare` first (or pass the prepared dir)")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise GateInputError(
            f"{path}: not a readable parquet file ({exc}); re-run `callbot prepare`"
        ) from None
    missing = [c for c in RECORD_COLUMNS if c not in table.column_names]
    if missing:
        raise GateInputError(
            f"{path}: missing contract columns {', '.join(missing)} (callbot/prepare/schema.py); "
            "re-run `callbot prepare` with the current code"
        )
    return table.to_pandas()


# ---- the GE context -----------------------------------------------------------------------------


def open_context(root: Path, report: Path) -> Any:
    """The file context at ``root`` (created with callbot's config when absent), results to ``report``."""
    import great_expectations as gx

    from callbot.quality import expectations  # noqa: F401  (register the custom rules first)

    config = root / "great_expectations.yml"
    if not config.is_file():
        root.mkdir(parents=True, exist_ok=True)
        config.write_text(CONTEXT_CONFIG, encoding="utf-8")
        (root / ".gitignore").write_text("uncommitted/\n", encoding="utf-8")
    elif "${callbot_report}" not in config.read_text(encoding="utf-8"):
        raise GateInputError(
            f"{config}: results and data docs must go to ${{callbot_report}}; delete the file to let "
            "callbot write its own, or point validate.context at another folder"
        )
    return gx.get_context(
        mode="file", context_root_dir=str(root), runtime_environment={"callbot_report": str(report)}
    )


def _signature(expectations: list[Any]) -> str:
    def strip(config: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in config.items() if k not in ("id", "rendered_content")}

    return json.dumps(
        [strip(e.configuration.to_json_dict()) for e in expectations], sort_keys=True, default=str
    )


def _ensure_suite(context: Any, name: str, expectations: list[Any]) -> Any:
    """The stored suite if it already says the same; otherwise its rules are replaced (a git diff),
    with ids derived from the rules (random ones would make every rewrite, and the docs, differ)."""
    import great_expectations as gx

    try:
        stored = context.suites.get(name)
    except Exception:  # DataContextError when absent; GX raises nothing narrower
        stored = None
    if stored is None:
        stored = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    elif _signature(stored.expectations) != _signature(expectations):
        stored.expectations = []  # same suite id, so the validation definitions stay valid
        for expectation in expectations:
            stored.add_expectation(expectation)
    else:
        return stored
    for index, expectation in enumerate(stored.expectations):
        expectation.id = expectation_id(name, index, _signature([expectation]))
    stored.save()
    return stored


def _ensure_batch_definition(context: Any, asset_name: str) -> Any:
    try:
        source = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("whole")


def _ensure_checkpoint(context: Any, name: str, suites: dict[str, Any]) -> Any:
    """Validation definitions and the checkpoint, re-saved only when they point elsewhere."""
    import great_expectations as gx

    batch = _ensure_batch_definition(context, name)
    definitions = []
    for suite_name in CHECKPOINTS[name]:
        suite = suites[suite_name]
        try:
            definition = context.validation_definitions.get(suite_name)
            fresh = definition.suite.id == suite.id and definition.data.id == batch.id
        except Exception:  # absent, or pointing at a suite that was replaced
            definition, fresh = None, False
        if not fresh:
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
            )
        definitions.append(definition)
    result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS[name]}
    try:
        checkpoint = context.checkpoints.get(name)
        fresh = [d.id for d in checkpoint.validation_definitions] == [d.id for d in definitions] and (
            checkpoint.result_format == result_format
        )
    except Exception:
        checkpoint, fresh = None, False
    if not fresh:
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=definitions,
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["callbot"])],
                result_format=result_format,
            )
        )
    return checkpoint


def sync_context(params: ValidateParams, report: Path) -> dict[str, Any]:
    """Bring the file context in line with params.yaml; the checkpoints, by name, ready to run.

    One context per run: both checkpoints share it, so GX starts once.
    """
    from callbot.quality.suites import build_suites

    context = open_context(Path(params.context), report)
    suites = {name: _ensure_suite(context, name, exps) for name, exps in build_suites(params).items()}
    return {name: _ensure_checkpoint(context, name, suites) for name in CHECKPOINTS}


# ---- results -> outcomes, quarantine, verdict ----------------------------------------------------


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _key(entry: dict[str, Any]) -> str:
    """How a failure is named: a record by its utterance_id (its row when the id is null), an item by key."""
    if "check_key" in entry:
        return str(entry["check_key"])
    uid = entry.get("utterance_id")
    return f"<null id, row {entry.get('row')}>" if _is_null(uid) else str(uid)


def _describe(entry: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in entry.items() if k not in ("row", "utterance_id"))


Quarantine = dict[int, list[tuple[str, str, str]]]  # row -> (suite, expectation, message) for each failure


def _collect(checkpoint_result: Any, quarantine: Quarantine) -> list[ExpectationOutcome]:
    """Outcomes of one checkpoint run; rows failing a quarantine rule are added to ``quarantine``."""
    outcomes = []
    for run in checkpoint_result.run_results.values():
        suite = run.suite_name
        for result in run.results:
            config = result.expectation_config
            meta = config.meta or {}
            stats = result.result or {}
            failures = stats.get("unexpected_index_list") or []
            keys = tuple(_key(e) for e in failures)
            outcomes.append(
                ExpectationOutcome(
                    suite=suite,
                    rule=str(meta.get("rule", "")),
                    expectation=config.type,
                    column=str(config.kwargs.get("column") or config.kwargs.get("column_A") or ""),
                    severity=str(getattr(config.severity, "value", config.severity)),
                    success=bool(result.success),
                    unexpected_count=int(stats.get("unexpected_count") or 0),
                    unexpected_percent=float(stats.get("unexpected_percent") or 0.0),
                    unexpected_keys=keys,
                )
            )
            if meta.get("quarantine"):
                for entry in failures:
                    if "row" in entry:
                        quarantine.setdefault(int(entry["row"]), []).append(
                            (suite, config.type, _describe(entry))
                        )
    return outcomes


def _suite_outcomes(outcomes: list[ExpectationOutcome], quarantine_by_suite: dict[str, set[int]]) -> dict:
    from callbot.quality.suites import SUITES

    table = {}
    for name in SUITES:
        mine = [o for o in outcomes if o.suite == name]
        table[name] = SuiteOutcome(
            evaluated=len(mine),
            succeeded=sum(o.success for o in mine),
            failed=sum(not o.success for o in mine),
            failed_critical=sum(not o.success and o.severity == "critical" for o in mine),
            quarantined=len(quarantine_by_suite.get(name, ())),
        )
    return table


# ---- outputs -------------------------------------------------------------------------------------


def _write_validated(prepared: Path, records: pd.DataFrame, excluded: list[int]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from callbot.prepare.schema import RECORD_SCHEMA

    kept = records.drop(index=records.index[excluded])
    table = pa.Table.from_pandas(kept[list(RECORD_COLUMNS)], schema=RECORD_SCHEMA, preserve_index=False)
    with writing(prepared / VALIDATED_FILE) as tmp:
        pq.write_table(table, tmp)


def print_table(result: GateResult) -> None:
    """The short terminal table: one line per suite, then each failed expectation."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="validate: Great Expectations gate", title_justify="left")
    for column in ("suite", "evaluated", "succeeded", "failed", "critical", "quarantined"):
        table.add_column(column, justify="left" if column == "suite" else "right")
    for name, s in result.suites.items():
        table.add_row(
            name,
            str(s.evaluated),
            str(s.succeeded),
            str(s.failed),
            str(s.failed_critical),
            str(s.quarantined),
        )
    console = Console(stderr=True, width=120)
    console.print(table)
    for o in result.outcomes:
        if not o.success:
            console.print(
                f"  [{'red' if o.severity == 'critical' else 'yellow'}]{o.severity}[/] {o.suite}: "
                f"{o.expectation}({o.column}) {o.unexpected_count} unexpected ({o.unexpected_percent:.2f}%)"
            )


def _frames(records: pd.DataFrame, params: ValidateParams) -> dict[str, pd.DataFrame]:
    """What each checkpoint validates: one row per record, and one per dataset-level item."""
    manifest = read_manifest(Path(params.manifest))
    return {"records": records_frame(records), "dataset": dataset_frame(records, manifest, params)}


def _decide(
    prepared: Path,
    report: Path,
    records: pd.DataFrame,
    outcomes: list[ExpectationOutcome],
    quarantine: Quarantine,
    limit: float,
) -> GateResult:
    """The verdict: failed on a critical expectation, no records, or a quarantine share over ``limit``."""
    by_suite: dict[str, set[int]] = defaultdict(set)
    for row, failures in quarantine.items():
        for suite_name, _, _ in failures:
            by_suite[suite_name].add(row)
    ids = records["utterance_id"]
    rows = len(records)
    share = len(quarantine) / rows if rows else 0.0
    reasons = [
        f"{o.suite}: {o.expectation}({o.column}) failed, {o.unexpected_percent:.2f}% unexpected"
        for o in outcomes
        if not o.success and o.severity == "critical"
    ]
    if rows == 0:
        reasons.append(f"{prepared / 'records.parquet'}: no records; re-run `callbot prepare`")
    if share > limit:
        reasons.append(
            f"quarantined {len(quarantine)} of {rows} rows ({share:.2%}) > limit {limit:.2%} "
            "(validate.quarantine_limit)"
        )
    return GateResult(
        passed=not reasons,
        rows=rows,
        quarantined_rows=len(quarantine),
        quarantine_share=share,
        suites=_suite_outcomes(outcomes, by_suite),
        outcomes=outcomes,
        reasons=reasons,
        report=report.resolve(),
        data_docs=report.resolve() / "data_docs" / "index.html",
        quarantine={
            _key({"row": r, "utterance_id": ids.iat[r]}): [e for _, e, _ in f] for r, f in quarantine.items()
        },
    )


def _portable(path: Path) -> str:
    """``path`` relative to the working directory (the repository root under DVC) when inside it: a
    DVC output holds no absolute path, so two clones write the same gate.json."""
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _write_outputs(prepared: Path, records: pd.DataFrame, quarantine: Quarantine, result: GateResult) -> None:
    """The quarantine lines, ``gate.json``, and the gated records (only when the gate passed)."""
    ids, interviews = records["utterance_id"], records["interview_id"]
    uid = {row: None if _is_null(ids.iat[row]) else str(ids.iat[row]) for row in quarantine}
    lines = [
        {
            "source": "validate",
            "utterance_id": uid[row],
            "row": row,
            "reason": f"expectation:{e}",
            "message": m,
        }
        for row, failures in sorted(quarantine.items())
        for _, e, m in failures
    ]
    write_text(prepared / QUARANTINE_FILE, "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    excluded = [
        GateExclusion(
            utterance_id=uid[row],
            interview_id=None if _is_null(interviews.iat[row]) else str(interviews.iat[row]),
            expectations=sorted({e for _, e, _ in failures}),
        )
        for row, failures in sorted(quarantine.items())
    ]
    gate = Gate(
        passed=result.passed,
        reasons=result.reasons,
        excluded=excluded,
        summary=_portable(result.report / "summary.json"),
    )
    write_gate(prepared / GATE_FILE, gate)
    if result.passed:
        _write_validated(prepared, records, sorted(quarantine))
    else:  # a stale gated table must not let training run on data this run rejected
        (prepared / VALIDATED_FILE).unlink(missing_ok=True)


def _fingerprint(prepared: Path, params: ValidateParams) -> str:
    """What a run validates: the records, the ingest manifest the audio checks read, the rules (not
    where the files are: a clone elsewhere names its run the same)."""
    rules = params.model_dump(exclude={"context", "prepared", "report", "manifest"})
    return fingerprint([prepared / "records.parquet", Path(params.manifest)], rules)


def run_validate(prepared: Path, report: Path, params: ValidateParams) -> GateResult:
    """Validate ``PREPARED`` against the four suites; write the report and the gated records.

    Returns the verdict; ``passed`` is false when a critical expectation failed or more than
    ``params.quarantine_limit`` of the rows were quarantined. Bad inputs raise :class:`GateInputError`.
    """
    prepared, report = Path(prepared), Path(report)
    with progress() as bar:
        task = bar.add_task("validate", total=6)
        records = read_records(prepared)
        frames = _frames(records, params)
        bar.advance(task)
        report.parent.mkdir(parents=True, exist_ok=True)
        built = Path(tempfile.mkdtemp(prefix=f".{report.name}.", dir=report.parent)).resolve()
        try:
            checkpoints = sync_context(params, built)
            bar.advance(task)
            quarantine: Quarantine = {}
            outcomes: list[ExpectationOutcome] = []
            run = run_id(_fingerprint(prepared, params))
            for name, checkpoint in checkpoints.items():
                checked = checkpoint.run(batch_parameters={"dataframe": frames[name]}, run_id=run)
                outcomes += _collect(checked, quarantine)
                bar.advance(task)
            make_offline(built / "data_docs")  # CDN assets -> local copies: opens without internet
            make_stable(built)  # no run time, load time or random id: the same data, the same bytes
            result = _decide(prepared, report, records, outcomes, quarantine, params.quarantine_limit)
            write_json(built / "summary.json", result.as_summary(params.quarantine_limit))
            replace_dir(built, report)  # a reader never sees half a report
        except BaseException:
            shutil.rmtree(built, ignore_errors=True)
            raise
        bar.advance(task)
        _write_outputs(prepared, records, quarantine, result)
        bar.advance(task)

    print_table(result)
    verdict = "passed" if result.passed else "FAILED (" + "; ".join(result.reasons) + ")"
    summary(
        "validate",
        f"{verdict}; {result.rows} rows, {result.quarantined_rows} quarantined ({result.quarantine_share:.2%}); "
        f"data docs: {result.data_docs}",
    )
    return result
