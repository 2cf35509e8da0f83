"""The `review` Prefect flow: import accepted corrections, report, export the next batch (callbot.review.flow).

python flows/review.py           # one run now (Label Studio must answer at review.server.url)
python flows/review.py serve     # the daily schedule (review.cron, orchestrate.timezone)
"""

from __future__ import annotations

import sys
from pathlib import Path

from prefect import flow

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from callbot.review.flow import review_deployment, run_review  # noqa: E402


@flow(name="review", log_prints=True)
def review(params_file: str = "params.yaml", root: str = str(ROOT)) -> dict:
    """Import what reviewers accepted, write the 검수 report, export what the models doubt now."""
    return run_review(params_file, root)


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        from prefect import serve

        serve(review_deployment(review, str(ROOT / "params.yaml")))
    else:
        print(f"review: {review()}")
