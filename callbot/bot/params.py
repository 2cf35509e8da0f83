"""params.yaml `bot`: the end-to-end evaluation of the voice bot on held-out spoken caller questions."""

from __future__ import annotations

from callbot.params_base import Section


class PolicyParams(Section):
    """The dialogue policy's calibration (callbot.bot.scoring) and the input checks shipped with it."""

    confirm_cost: float  # a confirm turn must succeed more often than this to be worth asking
    margins: list[float]  # top-1 minus top-2 cuts tried for answering without a confirm
    word_cuts: list[float]  # lowest-word-confidence cuts tried (0 = never hand over for unclear audio)
    grammar_margins: list[float]  # closed-set confirm reply: yes-vs-no per-frame margins tried
    intent_floor: bool  # answer no lower than the threshold the intent model suggests (its validation)
    repeat_min_words: int  # a text this long whose most frequent word ...
    max_repeat_share: float  # ... is over this share of its words is not a question: handover
    injection_markers: list[str]  # a caller text holding one is handed over (reason: injection)
    caller_yes: str  # what a caller who means yes says in evaluate-bot's two-turn calls (synthesised)
    caller_no: str  # and what one who means no says
    summary_prompt: str  # the LLM's handover summary: {text} = the caller's words
    summary_max_new_tokens: int  # caps the summary's cost (Gemma: about 1 s per 24 tokens on 2 cores)
    summary_items: int  # validation calls whose summary is scored per candidate (each one generation)


class BotParams(Section):
    prepared: str  # records.parquet (caller questions with audio) and gate.json
    raw: str  # the ingested tree the records' audio_path is relative to
    stt: str  # the STT export the Bento serves (train-stt's out)
    intent: str  # the trained intent model (train-intent's out); "" = score the router only
    llm: str  # the LLM candidates' folders (<llm>/<candidate>/merged), every one is scored
    report: str  # metrics.json (DVC metrics), calibration.json, turns.jsonl
    domains: list[str]  # call-centre domains whose caller questions the bot must handle
    exclude_intents: list[str]  # caller turns that are not questions (a closing "thank you")
    channels: list[int]  # 16000 = the wideband recording; 8000 = through the telephone channel (G.711)
    wrong_answer_target: (
        float  # calibration: the handover threshold keeps validation wrong answers at most this
    )
    policy: PolicyParams
    max_items: int  # per split, evenly spread; 0 = all
    threads: int  # torch threads; 0 = all cores
    rescoring_workers: int  # single-thread processes a large candidate's LLM rescoring is shared by; 0 = one per core, 1 = none
    rescoring_min_parameters: int  # smaller candidates rescore in process (a worker's start costs more)
