"""params.yaml `select` and `package`: champion/challenger selection and the Bento build."""

from __future__ import annotations

from typing import Literal

from callbot.params_base import Section


class SelectParams(Section):
    """Champion/challenger selection over evaluate-llm's reports (rule in callbot.registry.select)."""

    reports: str  # evaluate-llm's <candidate>.json (that stage's output folder)
    bot_metrics: str  # evaluate-bot's metrics.json (the end-to-end call figures per candidate); "" = none
    max_wrong_answer: float  # a candidate whose validation wrong-answer rate is above this is not eligible
    leaderboard: str  # where leaderboard.{json,md,png} go (apart from reports: another stage's output)
    primary_metric: str  # a key of the fine-tuned metrics, e.g. bot_task_success (validation, end to end)
    goal: Literal["max", "min"]  # min for perplexity
    min_improvement: float  # a challenger must beat the best/champion by this much, else the smaller wins
    keep_champion: bool  # the previous models/selected.json winner stays unless beaten by min_improvement
    out: str


class PackageParams(Section):
    out: str  # where the built Bento's tag is recorded (models/bento.json)
    selected: str  # the selection naming the winning LLM (select.out)
    stt_model: str  # the STT export directory (model/, export.json, whisper.pt)
    stt_metrics: str  # the STT evaluation (evaluate-stt's metrics.json); its CER/WER label the model
    interview_model: str  # the interview stage's served heads (interview.json, heads.npz)
    bento_name: str  # the Bento's name in the store (`bentoml serve <name>:<version>`)
