"""Building and locating candidate bases: tiny real-architecture stand-ins (smoke) or real checkpoints.

The smoke profile cannot download polyglot-ko, KoGPT or KULLM3, so it builds models of the same
architectures (GPT-NeoX, GPT-J, Llama) from configs, sized by ``llm.tiny``, on the Korean BPE. The
training, merging and serving code then runs unchanged on either kind.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.atomic import replace_dir
from callbot.llm.tokenizer import STARTER_TEXTS, load_tokenizer, train_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from callbot.llm.params import CandidateParams, LLMParams, TinyParams

BUILD_TINY = "build:tiny"
RESPONDER_FILE = "responder.json"  # system prompt, guard and generation settings next to the weights
SCRIPT_FILE = "script.json"  # the distinct ARS answers seen in training (the guard's on-task check)

# A small shape for tests and for callers without params (the serve stage's fixtures).
TEST_SHAPE: dict[str, int] = {
    "hidden_size": 64,
    "layers": 2,
    "heads": 4,
    "intermediate_size": 128,
    "max_positions": 256,
}


def _config(arch: str, vocab_size: int, shape: dict[str, int], tokenizer: PreTrainedTokenizerBase) -> Any:
    from transformers import GPTJConfig, GPTNeoXConfig, LlamaConfig

    common = {
        "vocab_size": vocab_size,
        "bos_token_id": tokenizer.eos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    head_dim = shape["hidden_size"] // shape["heads"]
    if arch == "gpt_neox":
        return GPTNeoXConfig(
            hidden_size=shape["hidden_size"],
            num_hidden_layers=shape["layers"],
            num_attention_heads=shape["heads"],
            intermediate_size=shape["intermediate_size"],
            max_position_embeddings=shape["max_positions"],
            tie_word_embeddings=False,
            **common,
        )
    if arch == "gptj":
        return GPTJConfig(
            n_embd=shape["hidden_size"],
            n_layer=shape["layers"],
            n_head=shape["heads"],
            n_inner=shape["intermediate_size"],
            n_positions=shape["max_positions"],
            rotary_dim=head_dim // 2,
            tie_word_embeddings=False,
            **common,
        )
    if arch == "llama":
        return LlamaConfig(
            hidden_size=shape["hidden_size"],
            num_hidden_layers=shape["layers"],
            num_attention_heads=shape["heads"],
            num_key_value_heads=shape["heads"],
            intermediate_size=shape["intermediate_size"],
            max_position_embeddings=shape["max_positions"],
            tie_word_embeddings=False,
            **common,
        )
    raise ValueError(f"unknown architecture {arch!r}; llm.candidates[].arch must be gpt_neox, gptj or llama")


def build_tiny_model(
    arch: str, tokenizer: PreTrainedTokenizerBase, shape: dict[str, int], seed: int
) -> PreTrainedModel:
    """A randomly initialised model of ``arch`` sized by ``shape`` on ``tokenizer``'s vocabulary."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    config = _config(arch, len(tokenizer), shape, tokenizer)
    return AutoModelForCausalLM.from_config(config)


def build_tiny_candidate(
    arch: str,
    out_dir: Path,
    tokenizer_dir: Path | None = None,
    *,
    shape: TinyParams | dict[str, int] | None = None,
    seed: int = 0,
    params: LLMParams | None = None,
) -> Path:
    """Write a random tiny ``arch`` model + tokenizer to ``out_dir``, loadable by ``load_responder``.

    For tests and service fixtures: no data and no training needed. Without ``tokenizer_dir`` a small
    Korean BPE is trained on built-in sentences. With ``params`` the responder settings (system
    prompt, guard, generation) are written beside the weights, as training does for merged models.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    if tokenizer_dir is None:
        from callbot.llm.params import TokenizerParams

        tokenizer_dir = train_tokenizer(
            STARTER_TEXTS * 4, tmp / "_tokenizer", TokenizerParams(vocab_size=400, min_frequency=1)
        )
    tokenizer = load_tokenizer(tokenizer_dir)
    if shape is None:
        dims = dict(TEST_SHAPE)
    elif isinstance(shape, dict):
        dims = shape
    else:
        dims = shape.model_dump()
    model = build_tiny_model(arch, tokenizer, dims, seed)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if params is not None:
        write_responder_config(tmp, params, script_answers=None)
    import shutil

    shutil.rmtree(tmp / "_tokenizer", ignore_errors=True)
    replace_dir(tmp, out_dir)
    return out_dir


def write_responder_config(model_dir: Path, params: LLMParams, script_answers: list[str] | None) -> None:
    """Store what serving needs beside the weights, so a model dir is self-contained in a Bento."""
    settings = {
        "system_prompt": params.system_prompt,
        "guard": params.guard.model_dump(),
        "generation": params.generation.model_dump(),
        "router": params.router.model_dump(),
    }
    (model_dir / RESPONDER_FILE).write_text(json.dumps(settings, ensure_ascii=False, indent=2), "utf-8")
    if script_answers:
        script = sorted(set(script_answers))
        (model_dir / SCRIPT_FILE).write_text(json.dumps(script, ensure_ascii=False, indent=0), "utf-8")


def is_hub_id(base: str) -> bool:
    """``org/name`` that is not a local directory: it would download."""
    from callbot.basenames import is_package

    return base != BUILD_TINY and not is_package(base) and not Path(base).exists()


def resolve_base(candidate: CandidateParams) -> str:
    """What ``from_pretrained`` loads for a non-tiny candidate: ``package:<name>`` becomes
    ``models/bases/<name>`` (or an error saying to run ``callbot bases``), anything else is as written."""
    from callbot.basenames import is_package, resolve_package

    if is_package(candidate.base):
        return str(resolve_package(candidate.base, f"params.yaml llm.candidates[{candidate.name}].base"))
    return candidate.base


def check_candidate(candidate: CandidateParams, offline: bool) -> None:
    """Refuse a base that would download when the profile is offline (smoke), with what to do."""
    if offline and is_hub_id(candidate.base):
        raise ValueError(
            f"params.yaml llm.candidates[{candidate.name}].base is {candidate.base!r}, a model hub id, but "
            f"llm.offline is true (smoke profile downloads nothing): use base: {BUILD_TINY}, a local "
            "directory, or run with --profile full on a host that can reach the hub"
        )


def count_parameters(model: PreTrainedModel) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
