"""The `lifecycle` Prefect flow: dvc.yaml's stages, in DVC's graph. Wiring only (callbot.orchestrate).

python flows/lifecycle.py [--until STAGE]      # one run, a temporary Prefect server if none
python flows/deploy.py serve                   # the nightly and weekly schedules

Run as a script it prints one line per stage (name, ran or cached, seconds, its summary) and the
final summary; each stage's full output is in .dvc/tmp/callbot/<stage>.log, and Prefect's own
records (task logs with the same lines, artifacts) are in its UI.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":  # the terminal shows the stage lines; Prefect's INFO records go to its UI
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")

from prefect import flow

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from callbot.config import load_params  # noqa: E402
from callbot.orchestrate.flow import describe, report_summary, run_lifecycle  # noqa: E402
from callbot.orchestrate.hooks import notify_failure  # noqa: E402


def _on_failure(flow_, flow_run, state) -> None:
    """The run's own params (its parameters name them) give the webhook's timeout."""
    given = flow_run.parameters or {}
    params_file = Path(given.get("root", ROOT)) / given.get("params_file", "params.yaml")
    notify_failure(
        flow_.name, flow_run.name, state.message, load_params(params_file).orchestrate.webhook_timeout_s
    )


@flow(name="lifecycle", on_failure=[_on_failure])
def lifecycle(
    until: str = "package,interview",
    params_file: str = "params.yaml",
    root: str = str(ROOT),
    echo: bool = False,
) -> dict:
    """Run ``until`` and its upstream in dvc.yaml; stages DVC reports up to date finish as Cached.
    The settings are these parameters: params.yaml is read when the run starts (its task runner too)."""
    return run_lifecycle(until, params_file, root=root, echo=echo)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--until",
        default="package,interview",
        help="dvc.yaml stages, comma-separated: they and their upstream run",
    )
    args = parser.parse_args()
    outcomes = lifecycle(until=args.until, echo=True)
    print(f"lifecycle: {describe(outcomes)}")
    for line in report_summary(load_params(ROOT / "params.yaml"), ROOT):
        print(f"  {line}")
