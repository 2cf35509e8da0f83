"""params.yaml `bases`: which pinned package weights the bases stage materialises."""

from __future__ import annotations

from typing import Literal

from callbot.params_base import Section

BaseName = Literal["whisper-base", "gemma-3-270m"]


class BasesParams(Section):
    names: list[BaseName]  # what to materialise under models/bases/<name>
    threads: int  # torch CPU threads while converting; 0 = all cores
