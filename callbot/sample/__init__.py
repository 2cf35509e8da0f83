"""`callbot sample`: an AI-Hub-shaped download tree generated offline (the embedded default source).

Kept light: the generator (numpy, espeak-ng, multiprocessing) is imported only when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callbot.sample.params import SampleParams

DATASETS = ("interview", "callcenter", "phone")  # `callbot sample` order: interview replaces the tree


def run_sample(params: SampleParams, dataset: str = "interview") -> Any:
    """Write the sample tree of ``dataset`` as ``params`` say; returns that generator's report."""
    if dataset == "interview":
        from callbot.sample.interview import write_interview_tree

        return write_interview_tree(params)
    if dataset == "callcenter":
        from callbot.sample.callcenter import write_callcenter_tree

        return write_callcenter_tree(params)
    if dataset == "phone":
        from callbot.sample.phone import write_phone_tree

        return write_phone_tree(params)
    raise ValueError(f"unknown sample dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
