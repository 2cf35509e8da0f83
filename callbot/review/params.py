"""params.yaml `review`: the Label Studio server, what export picks, where corrections and reports go."""

from __future__ import annotations

from callbot.params_base import Section


class ServerParams(Section):
    url: str  # where the server answers, loopback: http://127.0.0.1:PORT
    venv: str  # its own virtual environment (its pins are its own), gitignored
    version: str  # label-studio==VERSION installed into venv
    data_dir: str  # LABEL_STUDIO_BASE_DATA_DIR: its SQLite database and uploads
    start_timeout_s: float  # /health must answer within this (about 30 s on SQLite, minutes on first start)


class ReviewParams(Section):
    server: ServerParams
    project: str  # the Label Studio project title export fills and import reads
    prepared: str  # prepare's output: records.parquet and quarantine*.jsonl
    raw: str  # ingest's tree: record audio paths are relative to it
    stt_predictions: str  # evaluate-stt's predictions.json (joint vs decoder alone)
    call_log: str  # the service's call log directory (serve.call_log.dir)
    corrections: str  # import writes corrections.jsonl here (DVC-tracked)
    report: str  # report.json and report.html
    max_tasks: int  # most items one export loads (the highest expected value first)
    min_stt_confidence: float  # an STT prediction below this is sent for review
    min_call_confidence: float  # a served call below this is sent for review
    cleanlab_folds: int  # cross-validation folds for out-of-sample label probabilities
    cleanlab_min_examples: int  # fewer labelled train rows than this: no label-issue search
    reviewers: list[str]  # Label Studio user e-mails whose annotations are verdicts (검수), not labels
    cron: str  # the `review` flow's schedule, in orchestrate.timezone
