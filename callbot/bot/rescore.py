"""evaluate-bot's LLM rescoring of a large candidate, spread over single-thread worker processes.

Gemma 3 270M rescoring a call's five shortlisted answers is most of evaluate-bot's time (about 1.6 s a
turn on 2 threads), and torch runs one such small-batch pass on 2 threads at only about 1.2x its
1-thread speed (1.9 CPU s a turn). So the distinct words a candidate must rank (validation and test transcripts, test
reference text) are shared out, interleaved, to ``bot.rescoring_workers`` processes of one thread
each; each returns the answer log-likelihoods it computed (the responder's memo) and the seconds each
ranking took. The parent's responder starts from that memo, so its rankings, calibration and
figures are the ones it would have computed itself: the log-likelihoods are the same bits on 1 and 2
threads (tests/model/test_bot_rescore.py), and the latency of a turn is the worker's measured seconds where
the parent would have computed (the first time it meets the words), a memo hit elsewhere, as before.

``benchmarks/demo_budget.py --bot`` times both paths on the same calls and compares their reports.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callbot.llm.infer import Responder

Memo = dict[Any, list[float]]  # the responder's (prompt ids, answer ids) -> log-likelihoods


def rank_share(model_dir: str, words: list[str]) -> tuple[Memo, dict[str, float]]:
    """In a worker: ``words`` ranked by the candidate at ``model_dir`` on one thread; its memo and the
    seconds each ranking took (retrieval and LLM, as evaluate-bot times a turn)."""
    import torch

    from callbot.llm.infer import load_responder

    torch.set_num_threads(1)
    responder = load_responder(Path(model_dir))
    seconds: dict[str, float] = {}
    for text in words:
        started = time.perf_counter()
        responder.rank(text)
        seconds[text] = time.perf_counter() - started
    return responder.loglik_memo(), seconds  # the memo is what the parent needs


def prefill(responder: Responder, model_dir: Path, words: list[str], workers: int) -> dict[str, float]:
    """Rank ``words`` in ``workers`` spawned processes and give ``responder`` their memo; returns each
    word's ranking seconds as measured there. Fewer than two workers or words: nothing is done."""
    from callbot.llm.workers import run_side_by_side

    distinct = list(dict.fromkeys(words))
    workers = min(workers, len(distinct))
    if workers < 2:
        return {}
    shares = [distinct[i::workers] for i in range(workers)]
    done = run_side_by_side(rank_share, [(str(model_dir), share) for share in shares], workers)
    seconds: dict[str, float] = {}
    for memo, timed in done:
        responder.remember_logliks(memo)
        seconds.update(timed)
    return seconds
