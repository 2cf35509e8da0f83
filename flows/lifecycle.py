"""The `lifecycle` Prefect flow: sample/ingest -> ... -> Bento. Wiring only (callbot.orchestrate).

python flows/lifecycle.py [--until STAGE]      # one run, a temporary Prefect server if none
python flows/deploy.py serve                   # the nightly and weekly schedules
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from callbot.config import load_params  # noqa: E402
from callbot.orchestrate.flow import describe, report_summary, run_lifecycle, task_runner  # noqa: E402
from callbot.orchestrate.hooks import notify_failure  # noqa: E402


def _on_failure(flow_, flow_run, state) -> None:
    p = load_params(ROOT / "params.yaml").orchestrate
    notify_failure(flow_.name, flow_run.name, state.message, p.webhook_timeout_s)


@flow(
    name="lifecycle",
    on_failure=[_on_failure],
    task_runner=task_runner(load_params(ROOT / "params.yaml")),
    log_prints=True,
)
def lifecycle(until: str = "package", params_file: str = "params.yaml", root: str = str(ROOT)) -> dict:
    """Run every stage up to ``until``; stages DVC reports up to date finish as Cached."""
    return run_lifecycle(until, params_file, root=root)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--until", default="package")
    args = parser.parse_args()
    outcomes = lifecycle(until=args.until)
    print(f"lifecycle: {describe(outcomes)}")
    for line in report_summary(load_params(ROOT / "params.yaml")):
        print(f"  {line}")
