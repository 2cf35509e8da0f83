"""A PROXY for what the call-centre corpus's ``train_questions`` buy the intent model.

The frozen-e5 logistic head (``callbot.intent.train.fit_head``, the shipped candidate) is fitted on
the KDCA Training caller questions of the sample built twice with the same params and seed: without
``train_questions`` (what ``data/prepared`` holds before them: the script checks the two are equal)
and with them. Both are scored on the prepared validation split, which the extras leave unchanged.
Validation only (test is left for the real run); a proxy because the real stage retrains from a
fresh ``prepare`` and also weighs e5-ft, calibration and the handover threshold.

    python benchmarks/train_phrasings_bench.py   # from a checkout whose data/prepared is current
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callbot.intent.data import Example
    from callbot.intent.params import IntentParams

NEIGHBOURS = ({"입국 검역 문의", "입국 후 증상 발생"}, {"광견병 노출 후 접종", "동물 물림 대처"})


def training_questions(extras: bool) -> list[tuple[str, str]]:
    """(text, intent) of every KDCA Training caller question, with or without the train-only phrasings."""
    from callbot.config import load_params
    from callbot.sample.callcenter import KDCA, build_dialogues, corpus

    c = corpus()
    if not extras:
        bare = {d: tuple(dataclasses.replace(i, train_questions=()) for i in g) for d, g in c.domains.items()}
        c = dataclasses.replace(c, domains=bare)
    return [
        (s["고객질문(요청)"], s["고객의도"])
        for d in build_dialogues(load_params().sample, c)
        if d.split == "Training" and d.domain == KDCA
        for s in d.sentences
        if s["고객질문(요청)"]
    ]


def score(
    pairs: list[tuple[str, str]], emb: dict[str, Any], val: list[Example], params: IntentParams
) -> dict[float, dict[str, float]]:
    """Validation accuracy per regularisation C, and unseen errors between the known neighbour intents."""
    import numpy as np

    from callbot.intent.train import accuracy, fit_head

    labels = sorted({i for _, i in pairs})
    x = np.stack([emb[t] for t, _ in pairs]).astype(np.float32)
    y = np.array([labels.index(i) for _, i in pairs])
    v = np.stack([emb[e.text] for e in val]).astype(np.float32)
    out = {}
    for c in (10.0, 100.0, 1000.0):
        pred = [labels[i] for i in fit_head(x, y, c, params).logits(v).argmax(1)]
        a = accuracy(pred, val)
        mixed = sum(not e.seen and {e.intent, q} in NEIGHBOURS for e, q in zip(val, pred, strict=True))
        out[c] = {"unseen": a["unseen"], "in_scope_unseen": a["in_scope_unseen"], "neighbour_errors": mixed}
    return out


def main() -> None:
    import torch

    from callbot.config import load_params
    from callbot.intent.data import load_examples
    from callbot.intent.encoders import pretrained

    torch.set_num_threads(1)
    params = load_params().intent
    examples = load_examples(params)
    val = examples.splits["validation"]
    before, after = training_questions(False), training_questions(True)
    prepared = [(e.text, e.intent) for e in examples.splits["train"]]
    if Counter(before) != Counter(prepared):
        raise SystemExit(
            "data/prepared's train split is not this sample without train_questions; rerun prepare"
        )
    texts = list(dict.fromkeys([t for t, _ in before + after] + [e.text for e in val]))
    started = time.process_time()
    emb = dict(zip(texts, pretrained("e5", texts, 1), strict=True))
    print(f"e5 on {len(texts)} texts: {time.process_time() - started:.1f} CPU s")
    for name, pairs in (("without", before), ("with", after)):
        unique = list(dict.fromkeys(pairs))
        for c, s in score(unique, emb, val, params).items():
            print(f"{name} train_questions: {len(unique)} distinct questions, C={c:g}: {s}")


if __name__ == "__main__":
    main()
