"""The Prefect deployments of the lifecycle flow, built from params.yaml `orchestrate`.

Two schedules, read in the call centre's time zone (Asia/Seoul by default):
- ``nightly-ingest-validate``: new AI-Hub archives are ingested, prepared and gated every night, so
  bad data is caught the morning after it lands, not at the next retrain;
- ``weekly-retrain``: the whole lifecycle to a new Bento.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callbot.orchestrate.params import OrchestrateParams

ENTRYPOINT = "flows/lifecycle.py:lifecycle"


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    cron: str
    timezone: str
    parameters: dict[str, Any]
    description: str


def deployment_specs(params: OrchestrateParams) -> list[DeploymentSpec]:
    return [
        DeploymentSpec(
            name="nightly-ingest-validate",
            cron=params.nightly_cron,
            timezone=params.timezone,
            parameters={"until": "validate,version"},
            description="Ingest, prepare and gate newly arrived AI-Hub archives; version the data.",
        ),
        DeploymentSpec(
            name="weekly-retrain",
            cron=params.weekly_cron,
            timezone=params.timezone,
            parameters={"until": "package,interview"},
            description="The whole lifecycle: retrain STT and the LLM candidates, select, build a Bento.",
        ),
    ]


def to_deployments(flow: Any, params: OrchestrateParams) -> list[Any]:
    """RunnerDeployments for ``prefect.serve`` (one long-lived process, no work pool needed)."""
    from prefect.schedules import Cron

    return [
        flow.to_deployment(
            name=spec.name,
            schedules=[Cron(spec.cron, timezone=spec.timezone)],
            parameters=spec.parameters,
            description=spec.description,
            tags=["callbot"],
        )
        for spec in deployment_specs(params)
    ]


def deploy_to_work_pool(repo_root: str, params: OrchestrateParams) -> list[Any]:
    """Register both deployments with the process work pool (a worker then runs them)."""
    from prefect import flow as prefect_flow
    from prefect.schedules import Cron

    ids = []
    for spec in deployment_specs(params):
        remote = prefect_flow.from_source(source=repo_root, entrypoint=ENTRYPOINT)
        ids.append(
            remote.deploy(
                name=spec.name,
                work_pool_name=params.work_pool,
                schedules=[Cron(spec.cron, timezone=spec.timezone)],
                parameters=spec.parameters,
                description=spec.description,
                tags=["callbot"],
            )
        )
    return ids
