"""`callbot prepare`: dataset adapters -> records.parquet, splits, HF datasets for STT and the LLM.

Kept light: the stage lives in `callbot.prepare.run`; the records contract in `callbot.prepare.schema`.
"""
