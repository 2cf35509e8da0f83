"""Schedule the lifecycle flow. Wiring only: the deployments are described in callbot.orchestrate.deploy.

python flows/deploy.py serve    # one process runs both schedules (simplest single host)
python flows/deploy.py deploy   # register with the process work pool; then `prefect worker start`
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> None:
    from callbot.config import load_params
    from callbot.orchestrate.deploy import deploy_to_work_pool, to_deployments

    params = load_params(ROOT / "params.yaml").orchestrate
    mode = argv[1] if len(argv) > 1 else "serve"
    if mode == "serve":
        from prefect import serve

        from flows.lifecycle import lifecycle

        serve(*to_deployments(lifecycle, params))
    elif mode == "deploy":
        for deployment_id in deploy_to_work_pool(str(ROOT), params):
            print(f"deployment {deployment_id} registered with work pool '{params.work_pool}'")
    else:
        sys.exit(f"usage: python flows/deploy.py [serve|deploy] (got {mode!r})")


if __name__ == "__main__":
    main(sys.argv)
