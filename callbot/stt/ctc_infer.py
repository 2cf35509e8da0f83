"""Greedy CTC decoding of the jamo model into words with a confidence each, behind the same
:class:`~callbot.stt.infer.Transcriber` API as the Whisper backends.

A word's confidence is the mean, over the symbols it was spelt with, of each symbol's peak frame
posterior: a word heard clearly scores near 1, one pieced together from weak guesses (noise, another
language) low. Text comes only from :func:`callbot.stt.jamo.compose`, which never yields half a
syllable or U+FFFD.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.stt.beam import Emission, beam_emissions, load_decoding
from callbot.stt.ctc_model import FRAME_S, STRIDE, load_ctc_model, log_mel, normalise
from callbot.stt.grammar import ConfirmScores, PhraseScore, confirm_scores
from callbot.stt.jamo import SPACE, Alphabet, compose
from callbot.stt.transcript import (
    SAMPLE_RATE,
    Segment,
    Transcriber,
    TranscriptResult,
    Word,
    check_audio,
    plan_windows,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


WINDOW_S = 30.0  # either encoder reads any length; windows only bound memory on long calls
STEP_S = FRAME_S * STRIDE


def greedy_emissions(log_probs: np.ndarray) -> list[Emission]:
    """Best path of (frames, classes) log-probs with repeats merged and blanks (0) removed."""
    best = log_probs.argmax(axis=1)
    peak = np.exp(log_probs.max(axis=1))
    emissions: list[Emission] = []
    previous = 0
    for t, label in enumerate(best.tolist()):
        if label != 0 and label == previous and emissions:
            last = emissions[-1]
            emissions[-1] = Emission(last.label, last.frame, max(last.prob, float(peak[t])))
        elif label != 0:
            emissions.append(Emission(label, t, float(peak[t])))
        previous = label
    return emissions


def words_from(emissions: Sequence[Emission], alphabet: Alphabet, offset_s: float = 0.0) -> list[Word]:
    """Emissions split at spaces into words (whole syllables only) with their mean symbol posterior."""
    words: list[Word] = []
    run: list[Emission] = []
    for emission in [*emissions, None]:
        if emission is not None and alphabet.symbol(emission.label) != SPACE:
            run.append(emission)
            continue
        text = compose(alphabet.symbol(e.label) for e in run)
        for piece in text.split():  # a dropped half syllable may leave nothing, never two words
            words.append(
                Word(
                    piece,
                    round(float(np.mean([e.prob for e in run])), 4),
                    round(offset_s + run[0].frame * STEP_S, 3),
                    round(offset_s + (run[-1].frame + 1) * STEP_S, 3),
                )
            )
        run = []
    return words


class CTCTranscriber(Transcriber):
    """The jamo CTC model: whole clips (up to 30 s windows) in batches, words with confidence.

    It decodes as train-stt chose on validation (``decoding.json`` beside the model): greedy, or
    prefix beam search fused with the jamo LM (``beam_lm``); a model without that file decodes greedily.
    """

    backend = "ctc"

    def __init__(self, model_dir: Path, **kwargs: Any) -> None:
        self.model, self.config = load_ctc_model(model_dir)
        self.alphabet = Alphabet.load(model_dir)
        self.beam, self.lm = load_decoding(model_dir)
        kwargs.pop("use_ctc", None)
        kwargs["overlap_s"] = 0.0  # a window ends in a pause or hard; no seam to merge
        super().__init__(WINDOW_S, use_ctc=False, **kwargs)

    @property
    def decoding(self) -> str:
        """The served decoder: ``greedy`` or ``beam_lm``."""
        return "greedy" if self.beam is None else "beam_lm"

    def log_probs(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        """(frames, classes) log-posteriors of each clip."""
        import torch

        feats = [torch.from_numpy(log_mel(c, self.config["shape"]["n_mels"])) for c in clips]
        lengths = torch.tensor([len(f) for f in feats])
        batch = normalise(torch.nn.utils.rnn.pad_sequence(feats, batch_first=True), lengths)
        with torch.inference_mode():
            out, lens = self.model(batch, lengths)
        return [out[i, : int(lens[i])].numpy() for i in range(len(clips))]

    def emissions(self, log_probs: np.ndarray, decoder: str) -> list[Emission]:
        """``greedy`` or ``beam_lm`` (the latter only when the model has an LM) emissions of one clip."""
        if decoder == "greedy":
            return greedy_emissions(log_probs)
        if self.beam is None:
            raise ValueError(f"decoder {decoder!r}: this model has no LM decoding (see its decoding.json)")
        return beam_emissions(log_probs, self.lm, self.beam)

    def decode_words(
        self, clips: Sequence[np.ndarray], offsets: Sequence[float], decoders: Sequence[str] = ()
    ) -> dict[str, list[list[Word]]]:
        """Words of each clip per decoder (default: the served one), from one forward pass."""
        lps = self.log_probs(clips)
        return {
            name: [
                words_from(self.emissions(lp, name), self.alphabet, off)
                for lp, off in zip(lps, offsets, strict=True)
            ]
            for name in decoders or (self.decoding,)
        }

    def confirm_scores(self, audio: np.ndarray, yes: Sequence[str], no: Sequence[str]) -> ConfirmScores:
        """The closed-set scores of a reply to the confirm question, over the speech the transcript hears
        (the first window: a yes or no is far shorter); no speech scores nothing (infinite deficits)."""
        return self.hear_confirm(audio, yes, no)[1]

    def hear_confirm(
        self, audio: np.ndarray, yes: Sequence[str], no: Sequence[str]
    ) -> tuple[TranscriptResult, ConfirmScores]:
        """The transcript and the closed-set scores of a confirm reply from one forward pass (a reply
        in one window, as a yes or no is; a longer one is transcribed apart)."""
        checked = check_audio(audio)
        plan = plan_windows(checked, self.window_s, 0.0, self.silence_db, self.min_pause_s)
        if not plan or plan[0].end - plan[0].start < 400:
            nothing = PhraseScore("", float("inf"))
            return self._result(plan, {}, 0, len(checked)), ConfirmScores(nothing, nothing, 0)
        window = plan[0]
        log_probs = self.log_probs([checked[window.start : window.end]])[0]
        if len(plan) > 1:
            return self.transcribe(checked), confirm_scores(log_probs, yes, no, self.alphabet)
        words = words_from(
            self.emissions(log_probs, self.decoding), self.alphabet, window.start / SAMPLE_RATE
        )
        heard = " ".join(w.text for w in words)
        scores = confirm_scores(log_probs, yes, no, self.alphabet, heard)
        return self._result(plan, {(0, window.start): words}, 0, len(checked)), scores

    def decode_windows(self, clips: Sequence[np.ndarray]) -> list[str]:
        words = self.decode_words(clips, [0.0] * len(clips))[self.decoding]
        return [" ".join(w.text for w in ws) for ws in words]

    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[TranscriptResult]:
        return self.transcribe_decoders(audios, (self.decoding,))[self.decoding]

    def transcribe_decoders(
        self, audios: Sequence[np.ndarray], decoders: Sequence[str]
    ) -> dict[str, list[TranscriptResult]]:
        """Each decoder's results of the same audio (evaluate-stt scores greedy beside the served one)."""
        checked = [check_audio(a) for a in audios]
        plans = [plan_windows(a, self.window_s, 0.0, self.silence_db, self.min_pause_s) for a in checked]
        jobs = [(i, w) for i, plan in enumerate(plans) for w in plan if w.end - w.start >= 400]
        heard: dict[str, dict[tuple[int, int], list[Word]]] = {name: {} for name in decoders}
        for lo in range(0, len(jobs), self.batch_size):
            chunk = jobs[lo : lo + self.batch_size]
            decoded = self.decode_words(
                [checked[i][w.start : w.end] for i, w in chunk],
                [w.start / SAMPLE_RATE for _, w in chunk],
                decoders,
            )
            for name, words in decoded.items():
                heard[name].update({(i, w.start): ws for (i, w), ws in zip(chunk, words, strict=True)})
        return {
            name: [self._result(plans[i], heard[name], i, len(checked[i])) for i in range(len(checked))]
            for name in decoders
        }

    @staticmethod
    def _result(
        plan: Sequence[Any], heard: dict[tuple[int, int], list[Word]], index: int, n: int
    ) -> TranscriptResult:
        words: list[Word] = []
        segments: list[Segment] = []
        for window in plan:
            found = heard.get((index, window.start), [])
            if found:
                words.extend(found)
                segments.append(
                    Segment(
                        round(window.start / SAMPLE_RATE, 3),
                        round(window.end / SAMPLE_RATE, 3),
                        " ".join(w.text for w in found),
                    )
                )
        return TranscriptResult(" ".join(w.text for w in words), segments, round(n / SAMPLE_RATE, 3), words)
