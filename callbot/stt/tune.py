"""Joint-decoding settings chosen on the validation split, never on test.

The CTC head spells what it hears; the attention decoder recites what it knows. How much each counts
(``decode_weight``) and how many of the decoder's tokens the head may choose from (``candidates``)
decide whether a new sentence is heard or replaced by a memorised one. train-stt tries the grid in
``stt.decode_sweep`` on validation utterances, preferring those with a sentence unseen in training,
and writes the best pair into the model's ``ctc_head.json``: serving and evaluate-stt then use it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import write_json
from callbot.stt.joint import CTC_META

if TYPE_CHECKING:
    from callbot.stt.data import Utterance
    from callbot.stt.params import STTParams


def tune_decoding(
    model_dir: Path, params: STTParams, prepared: Path, train: list[Utterance]
) -> dict[str, Any]:
    """Score the grid on validation; rewrite ``ctc_head.json`` with the best; return what was tried."""
    from callbot.stt.data import STTDataError, load_split, read_audio, seen_in_training
    from callbot.stt.infer import load_transcriber
    from callbot.text.metrics import error_rates

    sweep = params.decode_sweep
    grid = [(w, c) for w in sweep.weights for c in sweep.candidates]
    if not grid or not (model_dir / CTC_META).is_file():
        return {}
    try:
        val, _ = load_split(prepared, "validation", 0)
    except STTDataError:  # no validation split: keep the configured settings
        return {}
    seen = seen_in_training(val, train)
    unseen = [u for u, s in zip(val, seen, strict=True) if not s and u.text.strip()]
    chosen = (unseen or [u for u in val if u.text.strip()])[: sweep.max_utterances]
    if not chosen:
        return {}
    transcriber = load_transcriber(
        model_dir,
        backend="hf",
        overlap_s=params.overlap_s,
        batch_size=params.eval_batch_size,
        silence_db=params.silence_db,
        min_pause_s=params.min_pause_s,
    )
    head = transcriber.ctc
    if head is None:
        return {}
    audios = [read_audio(u.audio_path, u.audio_bytes) for u in chosen]
    refs = [u.text for u in chosen]
    tried = []
    for weight, candidates in grid:
        transcriber.ctc = dataclasses.replace(head, decode_weight=weight, candidates=candidates)
        hyps = [r.text for r in transcriber.transcribe_batch(audios)]
        tried.append(
            {
                "decode_weight": weight,
                "candidates": candidates,
                "cer": round(error_rates(refs, hyps)["cer"], 4),
            }
        )
    best = min(tried, key=lambda t: (t["cer"], t["candidates"], t["decode_weight"]))
    meta_path = model_dir / CTC_META
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.update(decode_weight=best["decode_weight"], candidates=best["candidates"])
    write_json(meta_path, meta)
    return {
        "utterances": len(chosen),
        "unseen_only": bool(unseen),
        "chosen": {"decode_weight": best["decode_weight"], "candidates": best["candidates"]},
        "validation_cer": best["cer"],
        "tried": tried,
    }
