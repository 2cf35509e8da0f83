"""params.yaml `ingest`: streaming extraction of AI-Hub archives."""

from __future__ import annotations

from callbot.params_base import Section


class IngestParams(Section):
    src: str
    out: str
    max_ratio: float  # a member compressed more than this is a bomb
    max_member_bytes: int
    min_free_bytes: int  # keep this much disk free after extraction
    workers: int  # 0 = all cores
    strict: bool
