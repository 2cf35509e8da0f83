"""params.yaml `bot`: the end-to-end evaluation of the voice bot on held-out spoken caller questions."""

from __future__ import annotations

from callbot.params_base import Section


class BotParams(Section):
    prepared: str  # records.parquet (caller questions with audio) and gate.json
    raw: str  # the ingested tree the records' audio_path is relative to
    stt: str  # the STT export the Bento serves (train-stt's out)
    llm: str  # the LLM candidates' folders (<llm>/<candidate>/merged), every one is scored
    report: str  # metrics.json (DVC metrics), calibration.json, turns.jsonl
    domains: list[str]  # call-centre domains whose caller questions the bot must handle
    exclude_intents: list[str]  # caller turns that are not questions (a closing "thank you")
    channels: list[int]  # 16000 = the wideband recording; 8000 = through the telephone channel (G.711)
    wrong_answer_target: (
        float  # calibration: the handover threshold keeps validation wrong answers at most this
    )
    max_wrong_answer: float  # selection: candidates above this validation wrong-answer rate are not eligible
    max_items: int  # per split, evenly spread; 0 = all
    threads: int  # torch threads; 0 = all cores
