"""Schedule the lifecycle flow. Wiring only: the deployments are described in callbot.orchestrate.deploy.

python flows/deploy.py serve    # one process runs every schedule, review's too (simplest single host)
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

        from callbot.review.flow import review_deployment
        from flows.lifecycle import lifecycle
        from flows.review import review

        serve(*to_deployments(lifecycle, params), review_deployment(review, str(ROOT / "params.yaml")))
    elif mode == "deploy":
        for deployment_id in deploy_to_work_pool(str(ROOT), params):
            print(f"deployment {deployment_id} registered with work pool '{params.work_pool}'")
    else:
        sys.exit(f"usage: python flows/deploy.py [serve|deploy] (got {mode!r})")


if __name__ == "__main__":
    main(sys.argv)
