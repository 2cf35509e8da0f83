"""params.yaml `orchestrate`: Prefect deployments, failure notification and DVC versioning."""

from __future__ import annotations

from callbot.params_base import Section


class OrchestrateParams(Section):
    timezone: str  # IANA zone the crons are read in
    nightly_cron: str  # ingest + validate of newly arrived archives
    weekly_cron: str  # the full retrain, sample/ingest to bento
    work_pool: str  # a Prefect process work pool
    webhook_timeout_s: float  # the URL itself is a secret: env CALLBOT_WEBHOOK_URL
    push: bool  # `dvc push` of the run's stages after the flow (the default remote is local)
    task_runner: str  # thread | dask
    max_parallel_stages: int  # stages with no path between them in dvc.yaml's graph run at once
    dask_workers: int
    retries: dict[str, int]  # per stage (I/O stages: file systems and remotes fail transiently); `push` too
    retry_delay_s: float  # first delay; doubled at each retry


class VersionParams(Section):
    """params.yaml `version`: the dataset's semantic version (callbot version, a DVC stage)."""

    prepared: str  # reads <prepared>/records.parquet
    out: str  # versions/dataset.json: the history, kept in git (a persisted DVC output, not cached)
    note: str  # written beside each new version
