"""params.yaml `orchestrate`: Prefect deployments, failure notification and DVC versioning."""

from __future__ import annotations

from callbot.params_base import Section


class OrchestrateParams(Section):
    timezone: str  # IANA zone the crons are read in
    nightly_cron: str  # ingest + validate of newly arrived archives
    weekly_cron: str  # the full retrain, sample/ingest to bento
    work_pool: str  # a Prefect process work pool
    webhook_timeout_s: float  # the URL itself is a secret: env CALLBOT_WEBHOOK_URL
    version_file: str  # the dataset's semantic version history, kept in git
    push: bool  # `dvc push` after versioning (the default remote is local)
    task_runner: str  # thread | dask
    max_parallel_stages: int  # stages of one wave (train_stt with train_llm) run at once
    dask_workers: int
    retries: int  # for I/O stages (ingest, version, package)
    retry_delay_s: float  # first delay; doubled at each retry
