"""Joint CTC/attention decoding for a Whisper trained with a CTC head (``stt.ctc_weight`` > 0).

A small Whisper's decoder learns the language of its training text well: greedy decoding hears the
first syllables of a sentence and then may recite another sentence it knows. The CTC head trained
beside it (:mod:`callbot.stt.loss`) scores characters frame by frame and cannot do that. Joint
decoding (Watanabe et al., 2017, "Hybrid CTC/attention architecture for end-to-end speech
recognition"; ESPnet's default) picks each next token by

    (1 - w) * log p_attention(token | prefix) + w * (log p_ctc(prefix + token) - log p_ctc(prefix))

among the attention decoder's top ``candidates`` tokens and the end of text, where ``p_ctc`` is the
CTC *prefix* probability of the characters so far. ``train-stt`` saves the head beside the model
(``ctc_head.safetensors``, ``ctc_head.json``: alphabet, w, candidates); both backends read it and
run the same loop here, so their transcripts stay equal. A model without the file (a pretrained
Whisper, the ``full`` profile) decodes as before.

The model's tokens are byte-level BPE: a token may carry several characters, or part of one. A
token with part of a character is scored by the best character it can still become.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from callbot.atomic import write_json, writing

CTC_WEIGHTS = "ctc_head.safetensors"
CTC_META = "ctc_head.json"
NEG_INF = float("-inf")


class CTCHeadError(ValueError):
    """A saved CTC head that cannot be used with its model."""


@dataclass(frozen=True)
class CTCHead:
    """A trained CTC head: ``weight`` (alphabet + 1, d_model) and ``bias``; index 0 is the blank."""

    weight: Any
    bias: Any
    alphabet: list[str]
    decode_weight: float
    candidates: int

    def log_probs(self, encoded: Any) -> Any:
        """(B, T, alphabet + 1) log-probabilities over the encoder output, in float64."""
        return (encoded.float() @ self.weight.T + self.bias).log_softmax(-1).double()


def save_ctc_head(
    model_dir: Path, module: Any, alphabet: list[str], decode_weight: float, candidates: int
) -> None:
    """Write the head (safetensors) and its alphabet and decoding settings (JSON) into ``model_dir``."""
    from safetensors.torch import save_file

    if module.weight.shape[0] != len(alphabet) + 1:
        raise CTCHeadError(
            f"CTC head has {module.weight.shape[0]} outputs for {len(alphabet)} characters + blank"
        )
    with writing(model_dir / CTC_WEIGHTS) as tmp:
        save_file(
            {
                "weight": module.weight.detach().float().contiguous(),
                "bias": module.bias.detach().float().contiguous(),
            },
            str(tmp),
        )
    write_json(
        model_dir / CTC_META,
        {"alphabet": "".join(alphabet), "decode_weight": decode_weight, "candidates": candidates},
    )


def load_ctc_head(model_dir: Path, d_model: int) -> CTCHead | None:
    """The head saved beside a model, or None when there is none (or its weight is 0)."""
    meta_path, weights_path = model_dir / CTC_META, model_dir / CTC_WEIGHTS
    if not meta_path.is_file():
        return None
    from safetensors.torch import load_file

    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        alphabet, decode_weight, candidates = (
            list(meta["alphabet"]),
            float(meta["decode_weight"]),
            int(meta["candidates"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CTCHeadError(
            f"{meta_path}: unreadable ({exc}); re-run `callbot train-stt` or delete the file"
        ) from exc
    if decode_weight <= 0:
        return None
    if not weights_path.is_file():
        raise CTCHeadError(f"{weights_path}: missing beside {meta_path.name}; re-run `callbot train-stt`")
    tensors = load_file(str(weights_path))
    weight, bias = tensors.get("weight"), tensors.get("bias")
    if weight is None or bias is None or tuple(weight.shape) != (len(alphabet) + 1, d_model):
        shape = None if weight is None else tuple(weight.shape)
        raise CTCHeadError(
            f"{weights_path}: weight shape {shape} does not fit {len(alphabet)} characters + blank "
            f"and d_model {d_model}; re-run `callbot train-stt`"
        )
    if not 0 < decode_weight <= 1 or candidates < 1:
        raise CTCHeadError(f"{meta_path}: decode_weight must be in (0, 1] and candidates >= 1")
    return CTCHead(weight, bias, alphabet, decode_weight, candidates)


@lru_cache(maxsize=4)
def whisper_text_tokens(vocab_size: int) -> tuple[Any, tuple[bytes, ...]]:
    """openai-whisper's multilingual tokenizer (language ko) for this vocabulary size, and the bytes
    of every text token (ids below end-of-text). The smoke model's ids equal these (tested)."""
    from whisper.tokenizer import get_tokenizer

    tokenizer = get_tokenizer(
        multilingual=True, num_languages=vocab_size - 51765 - 1, language="ko", task="transcribe"
    )
    encoding = tokenizer.encoding
    return tokenizer, tuple(encoding.decode_single_token_bytes(i) for i in range(tokenizer.eot))


def _split_utf8(data: bytes) -> tuple[str, bytes]:
    """Complete characters of ``data`` and the bytes of an unfinished one at its end."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(data, final=False)
    return text, decoder.getstate()[0]


def _entries(phi: Any, last: Any) -> Any:
    """log-probability of a next character starting at each frame: at frame 0 only after an empty
    prefix (``last`` < 0), at frame t from ``phi[t - 1]``, the prefix's mass it may follow."""
    import torch

    start = torch.where(last < 0, 0.0, NEG_INF).to(phi.dtype)[:, None]
    return torch.cat([start, phi[:, :-1]], dim=1)


class _PrefixScorer:
    """CTC prefix scores of one growing hypothesis per batch row (vectorised over rows and frames).

    For a prefix g the forward variables r_n[t] / r_b[t] are the log-probabilities that the first
    t + 1 frames emit exactly g ending in a character / in a blank. Extending g by c is a first-order
    linear recurrence over frames, solved with a cumulative log-sum-exp instead of a loop over t.
    """

    def __init__(self, log_probs: Any) -> None:
        import torch

        self.blank = log_probs[..., 0]  # (B, T)
        self.chars = log_probs[..., 1:].transpose(1, 2).contiguous()  # (B, V, T)
        rows, frames = self.blank.shape
        self.blank_cum = self.blank.cumsum(-1)
        self.r_n = torch.full((rows, frames), NEG_INF, dtype=log_probs.dtype)
        self.r_b = self.blank_cum.clone()
        self.last = torch.full((rows,), -1, dtype=torch.long)
        self.prefix = torch.zeros(rows, dtype=log_probs.dtype)  # log p_ctc(g as a prefix); g empty: 1

    def _enter(self, r_n: Any, r_b: Any, last: Any, char: Any) -> Any:
        """log-probability of starting ``char`` at each frame, after the prefix (r_n, r_b, last)."""
        import torch

        return _entries(torch.where((char == last)[:, None], r_b, torch.logaddexp(r_b, r_n)), last)

    def all_next(self) -> Any:
        """(B, V) prefix scores of every one-character extension of every row's hypothesis."""
        import torch

        enter = _entries(torch.logaddexp(self.r_b, self.r_n), self.last)
        scores = torch.logsumexp(enter[:, None, :] + self.chars, dim=-1)
        repeat = (self.last >= 0).nonzero().flatten()
        if len(repeat):  # repeating the last character needs a blank between the two
            last = self.last[repeat]
            enter_same = _entries(self.r_b[repeat], last)
            scores[repeat, last] = torch.logsumexp(enter_same + self.chars[repeat, last], dim=-1)
        return scores

    def extend(self, rows: Any, r_n: Any, r_b: Any, last: Any, char: Any) -> tuple[Any, Any, Any]:
        """(r_n, r_b, prefix score) of the given rows' states extended by one character each."""
        import torch

        emit = self.chars[rows, char]  # (R, T)
        enter = self._enter(r_n, r_b, last, char)
        emit_cum = emit.cumsum(-1)
        new_n = emit_cum + torch.logcumsumexp(enter - (emit_cum - emit), dim=-1)
        blank, blank_cum = self.blank[rows], self.blank_cum[rows]
        enter_b = torch.cat([torch.full_like(new_n[:, :1], NEG_INF), new_n[:, :-1]], dim=1)
        new_b = blank_cum + torch.logcumsumexp(enter_b - (blank_cum - blank), dim=-1)
        return new_n, new_b, torch.logsumexp(enter + emit, dim=-1)

    def full(self) -> Any:
        """(B,) log p_ctc(g) of each row's hypothesis as a complete transcript."""
        import torch

        return torch.logaddexp(self.r_n[:, -1], self.r_b[:, -1])

    def extend_chain(self, rows: list[int], chains: list[list[int]], commit: bool) -> Any:
        """Prefix scores after extending each row in ``rows`` by its characters ``chains[i]`` (each
        non-empty); with ``commit`` the rows' states become the extended ones."""
        import torch

        index = torch.tensor(rows, dtype=torch.long)
        r_n, r_b, last = self.r_n[index], self.r_b[index], self.last[index].clone()
        score = self.prefix[index].clone()
        longest = max(len(c) for c in chains)
        for j in range(longest):
            live = torch.tensor([k for k, c in enumerate(chains) if len(c) > j], dtype=torch.long)
            char = torch.tensor([chains[k][j] for k in live.tolist()], dtype=torch.long)
            n, b, s = self.extend(index[live], r_n[live], r_b[live], last[live], char)
            r_n[live], r_b[live], score[live], last[live] = n, b, s, char
        if commit:
            self.r_n[index], self.r_b[index], self.last[index], self.prefix[index] = r_n, r_b, last, score
        return score


class _Characters:
    """Maps a hypothesis' unfinished bytes plus a token to alphabet indices (and new unfinished bytes)."""

    def __init__(self, alphabet: list[str], token_bytes: tuple[bytes, ...]) -> None:
        self.index = {c: i for i, c in enumerate(alphabet)}
        self.encoded = [c.encode("utf-8") for c in alphabet]
        self.token_bytes = token_bytes
        self.completions: dict[bytes, list[int]] = {}

    def step(self, pending: bytes, token: int) -> tuple[list[int], bytes, bool]:
        """(alphabet indices of the complete characters, unfinished bytes, whether any character
        outside the alphabet came out)."""
        text, rest = _split_utf8(pending + self.token_bytes[token])
        chars = [self.index[c] for c in text if c in self.index]
        foreign = any(c not in self.index and not c.isspace() for c in text)
        return chars, rest, foreign

    def completing(self, pending: bytes) -> list[int]:
        """Alphabet indices of the characters whose UTF-8 bytes start with ``pending``."""
        if pending not in self.completions:
            self.completions[pending] = [i for i, e in enumerate(self.encoded) if e.startswith(pending)]
        return self.completions[pending]


class _JointSearch:
    """Each row's state in the joint search: its CTC prefix scores, the bytes of a character not yet
    complete, and whether it has ended. Scores weigh attention by 1 - w and CTC by w."""

    def __init__(self, head: CTCHead, encoded: Any, token_bytes: tuple[bytes, ...], eot: int) -> None:
        self.scorer = _PrefixScorer(head.log_probs(encoded))
        self.characters = _Characters(head.alphabet, token_bytes)
        self.w, self.k, self.eot = head.decode_weight, head.candidates, eot
        self.pending = [b""] * encoded.shape[0]
        self.done = [False] * encoded.shape[0]

    def choose(self, att: Any, step: int) -> list[int]:
        """Each row's next token among attention's top candidates (end-of-text for ended rows)."""
        top = att[:, : self.eot].topk(min(self.k, self.eot), dim=-1).indices.tolist()
        next_scores = self.scorer.all_next()
        full = self.scorer.full()
        return [
            self.eot if self.done[row] else self._best(row, step, att, top[row], next_scores, full)
            for row in range(len(self.done))
        ]

    def _best(self, row: int, step: int, att: Any, top: list[int], next_scores: Any, full: Any) -> int:
        """The candidate with the best joint score; tokens adding several characters are scored
        together in one CTC chain."""
        w, scorer = self.w, self.scorer
        best, best_token = NEG_INF, self.eot
        if step > 0:
            best = (1 - w) * float(att[row, self.eot]) + w * float(full[row] - scorer.prefix[row])
        multi: list[tuple[int, list[int]]] = []
        for token in top:
            chars, rest, foreign = self.characters.step(self.pending[row], token)
            if foreign:
                continue  # a character the CTC alphabet (the training text) never had
            if len(chars) > 1:
                multi.append((token, chars))
                continue
            ctc = self._one_character_ctc(row, chars, rest, next_scores)
            if ctc is None:
                continue  # bytes that cannot become a character of the alphabet
            score = (1 - w) * float(att[row, token]) + w * (ctc - float(scorer.prefix[row]))
            if score > best:
                best, best_token = score, token
        if multi:
            ctcs = scorer.extend_chain([row] * len(multi), [c for _, c in multi], commit=False)
            for (token, _), ctc in zip(multi, ctcs.tolist(), strict=True):
                score = (1 - w) * float(att[row, token]) + w * (ctc - float(scorer.prefix[row]))
                if score > best:
                    best, best_token = score, token
        return best_token

    def _one_character_ctc(self, row: int, chars: list[int], rest: bytes, next_scores: Any) -> float | None:
        """CTC's prefix score after a token adding at most one character; an unfinished character
        scores as its best completion, None when no character of the alphabet completes it."""
        if chars:
            return float(next_scores[row, chars[0]])
        if rest:
            options = self.characters.completing(rest)
            if not options:
                return None
            return float(next_scores[row, options].max())
        return float(self.scorer.prefix[row])  # a space: no character for CTC to score

    def commit(self, chosen: list[int]) -> None:
        """Extend each live row's CTC hypothesis by the characters its chosen token completes."""
        commit_rows, commit_chains = [], []
        for row, token in enumerate(chosen):
            if self.done[row]:
                continue
            if token == self.eot:
                self.done[row] = True
                continue
            chars, self.pending[row], _ = self.characters.step(self.pending[row], token)
            if chars:
                commit_rows.append(row)
                commit_chains.append(chars)
        if commit_rows:
            self.scorer.extend_chain(commit_rows, commit_chains, commit=True)


def _attention_log_probs(logits: Any, eot: int, banned: list[int]) -> Any:
    """Attention's log-probabilities over text tokens and end-of-text, ``banned`` tokens excluded."""
    logits = logits.float()
    logits[:, eot + 1 :] = NEG_INF  # no timestamps or other special tokens
    logits[:, banned] = NEG_INF
    return logits.log_softmax(-1)


def joint_greedy_decode(
    encoded: Any,
    next_logits: Callable[[Any], Any],
    head: CTCHead,
    *,
    max_new_tokens: int,
    vocab_size: int,
) -> list[str]:
    """Transcripts of a batch of encoded windows by joint CTC/attention greedy search.

    ``encoded``: the encoder output (B, T, d_model). ``next_logits(tokens)``: the attention decoder's
    logits (B, vocab) for the token after ``tokens`` (B, L), the whole prefix each call.
    """
    import torch

    tokenizer, token_bytes = whisper_text_tokens(vocab_size)
    eot = tokenizer.eot
    search = _JointSearch(head, encoded, token_bytes, eot)
    prompt = list(tokenizer.sot_sequence_including_notimestamps)
    tokens = torch.tensor([prompt] * encoded.shape[0], dtype=torch.long)
    blank_tokens = [*tokenizer.encode(" "), eot]
    for step in range(max_new_tokens):
        # like Whisper: no empty transcript, no leading space
        att = _attention_log_probs(next_logits(tokens), eot, blank_tokens if step == 0 else [])
        chosen = search.choose(att, step)
        search.commit(chosen)
        tokens = torch.cat([tokens, torch.tensor(chosen, dtype=torch.long)[:, None]], dim=1)
        if all(search.done):
            break
    return [tokenizer.decode([t for t in seq[len(prompt) :] if t < eot]).strip() for seq in tokens.tolist()]
