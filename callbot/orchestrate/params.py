"""params.yaml `orchestrate`: Prefect deployments and DVC versioning."""

from __future__ import annotations

from callbot.params_base import Section


class OrchestrateParams(Section):
    timezone: str
    nightly_cron: str
    weekly_cron: str
