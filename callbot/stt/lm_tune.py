"""After train-stt: build the jamo LM from the train split and choose the decoder on validation.

Every (alpha, beta) of ``stt.ctc.decode.grid`` decodes the same validation clips as train-stt's own
check (``stt.ctc.validation_max_utterances``, spread), at 16 kHz and through the 8 kHz G.711 line, from
one forward pass per channel; (0, 0) is greedy decoding, the baseline. The pair with the lowest CER on
unseen sentences, averaged over the two channels (one decoder serves both), wins; greedy stays
unless a pair beats it. The LM (``lm.json``) and the choice (``decoding.json``) are saved beside the
model, where :class:`~callbot.stt.ctc_infer.CTCTranscriber` reads them; the grid goes to train.json.
Clips are decoded whole (serving trims their silent edges first: greedy CER differs by about 0.002
from train-stt's own figure), so that each channel needs one forward pass for the whole grid.
"""

from __future__ import annotations

import resource
from typing import TYPE_CHECKING, Any

from callbot.stt.beam import BeamSettings, beam_emissions, save_decoding

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import numpy as np

    from callbot.stt.data import Utterance
    from callbot.stt.params import STTParams

CRITERION = "validation CER (spaces ignored) on unseen sentences, mean of 16 kHz and the 8 kHz line"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _unseen_clips(clips: tuple[Any, ...]) -> tuple[list[str], bool, list[np.ndarray]]:
    """References and audio of the unseen-sentence clips among those train-stt scored (all of them
    when none is unseen, said by the flag): the seen ones do not decide, so are not decoded."""
    rows, unseen, audios = clips
    picked = [i for i, flag in enumerate(unseen) if flag] or list(range(len(rows)))
    return [rows[i].text for i in picked], any(unseen), [audios[i] for i in picked]


def _settings(pair: Sequence[float], params: STTParams) -> BeamSettings | None:
    d = params.ctc.decode
    if pair[0] == 0 and pair[1] == 0:
        return None
    return BeamSettings(float(pair[0]), float(pair[1]), d.beam, d.top_k, d.blank_skip, d.min_prob)


def _hyps(model: Any, lps: Sequence[np.ndarray], lm: Any, settings: BeamSettings | None) -> list[str]:
    """Transcripts of the clips' log-probs: greedy when ``settings`` is None, else beam + LM."""
    from callbot.stt.ctc_infer import greedy_emissions, words_from

    def emissions(lp: np.ndarray) -> list[Any]:
        return greedy_emissions(lp) if settings is None else beam_emissions(lp, lm, settings)

    return [" ".join(w.text for w in words_from(emissions(lp), model.alphabet)) for lp in lps]


def grid_cer(
    model: Any, lm: Any, params: STTParams, refs: Sequence[str], audios: list[np.ndarray]
) -> list[dict[str, Any]]:
    """Per grid pair: CER on each channel, their mean, and decode CPU-milliseconds per clip."""
    from callbot.stt.data import through_line
    from callbot.text.metrics import cer

    rows = [{"alpha": p[0], "beta": p[1]} for p in params.ctc.decode.grid]
    batch = max(params.eval_batch_size, 1)
    for channel, clips in (("16k", audios), ("line", [through_line(a) for a in audios])):
        lps = [lp for lo in range(0, len(clips), batch) for lp in model.log_probs(clips[lo : lo + batch])]
        for row, pair in zip(rows, params.ctc.decode.grid, strict=True):
            start = _cpu()
            hyps = _hyps(model, lps, lm, _settings(pair, params))
            row[f"decode_cpu_ms_{channel}"] = round(1000 * (_cpu() - start) / max(len(lps), 1), 2)
            row[f"unseen_cer_{channel}"] = round(cer(list(refs), hyps, spaces=False), 4)
    for row in rows:
        row["unseen_cer_mean"] = round((row["unseen_cer_16k"] + row["unseen_cer_line"]) / 2, 4)
    return rows


def tune_decoding(
    model_dir: Path, params: STTParams, train: Sequence[Utterance], clips: tuple[Any, ...]
) -> dict[str, Any]:
    """Build and save the LM, score the grid on validation, save the winner; the record for train.json."""
    from callbot.stt.ctc_infer import CTCTranscriber
    from callbot.stt.lm import build_lm

    decode, start = params.ctc.decode, _cpu()
    refs, unseen, audios = _unseen_clips(clips) if decode.lm_order else ([], False, [])
    if not refs:
        save_decoding(model_dir, None, 0)
        return {"chosen": {"decoder": "greedy"}, "why": "stt.ctc.decode.lm_order is 0 or no validation clip"}
    model = CTCTranscriber(model_dir, batch_size=params.eval_batch_size)
    lm = build_lm([u.text for u in train], model.alphabet, decode.lm_order)
    grid = grid_cer(model, lm, params, refs, audios)
    best = min(grid, key=lambda row: row["unseen_cer_mean"])  # the first of equals in grid order
    settings = _settings((best["alpha"], best["beta"]), params)
    if settings is not None:
        lm.save(model_dir)
    save_decoding(model_dir, settings, decode.lm_order)
    greedy = next(row for row in grid if row["alpha"] == 0 and row["beta"] == 0)
    return {
        "criterion": CRITERION,
        "unseen_utterances": len(refs) if unseen else 0,
        "scored": "unseen sentences" if unseen else "every clip (no unseen sentence in validation)",
        "lm_order": decode.lm_order,
        "lm_contexts": len(lm.counts),
        "grid": grid,
        "chosen": {
            "decoder": "greedy" if settings is None else "beam_lm",
            "alpha": best["alpha"],
            "beta": best["beta"],
        },
        "gain_over_greedy": round(greedy["unseen_cer_mean"] - best["unseen_cer_mean"], 4),
        "cpu_seconds": round(_cpu() - start, 1),
    }
