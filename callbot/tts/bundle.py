"""The voice bundle: what `callbot package` stores as the ``callbot-tts`` model of a Bento.

Why a bundle: a Bento must speak exactly as it was validated, with no params.yaml beside it. The
bundle holds the TTS settings and, for VITS, a copy of the voice model, so ``bentoml serve`` of a
stored Bento needs nothing from the repository. The service limits are not the voice's: they travel
as the Bento's ``serve`` argument (:mod:`callbot.serve.params`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from callbot.tts.params import TTSParams

TTS_FILE = "tts.json"
VITS_DIR = "vits"


class BundleError(ValueError):
    """A voice bundle is incomplete or was written by an incompatible version."""


@dataclass(frozen=True)
class VoiceBundle:
    tts: TTSParams
    model_dir: Path | None  # the copied VITS model, None for espeak


def write_bundle(directory: Path, tts: TTSParams) -> None:
    """Fill ``directory`` (a fresh model directory from the store) with the settings and the voice."""
    directory = Path(directory)
    if tts.engine == "vits":
        source = Path(tts.model)
        if not (source / "config.json").is_file():
            raise BundleError(
                f"{source}: tts.engine is vits but no VITS model is there (config.json missing); save "
                "facebook/mms-tts-kor there with save_pretrained, or set tts.engine: espeak"
            )
        shutil.copytree(source, directory / VITS_DIR)
    text = json.dumps(tts.model_dump(), ensure_ascii=False, indent=2)
    (directory / TTS_FILE).write_text(text + "\n", encoding="utf-8")


def read_bundle(directory: Path) -> VoiceBundle:
    directory = Path(directory)
    try:
        tts = TTSParams.model_validate(json.loads((directory / TTS_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{directory}: unreadable voice bundle ({exc}); re-run `callbot package`") from None
    model_dir = directory / VITS_DIR if tts.engine == "vits" else None
    return VoiceBundle(tts, model_dir)
