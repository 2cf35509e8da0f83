"""params.yaml `select` and `package`: champion/challenger selection and the Bento build."""

from __future__ import annotations

from callbot.params_base import Section


class SelectParams(Section):
    primary_metric: str
    min_improvement: float
    out: str


class PackageParams(Section):
    out: str  # where the built Bento's tag is recorded (models/bento.json)
    selected: str  # the selection naming the winning LLM (select.out)
    stt_model: str  # the STT export directory (model/, export.json, whisper.pt)
    stt_metrics: str  # the STT evaluation (evaluate-stt's metrics.json); its CER/WER label the model
    dataset_version: str  # the dataset version file; its `current` labels the models
    bento_name: str  # the Bento's name in the store (`bentoml serve <name>:<version>`)
