"""Pairing source and label archives by name: TS_<x> with TL_<x>, VS_<x> with VL_<x>.

prepare joins labels to audio inside a pair, so a source archive without its label archive (or the
reverse) is worth knowing before hours of training. One label archive may cover several numbered
source archives (``TS_x_1.zip`` .. ``TS_x_5.zip``), and patch folders such as
``02.라벨링데이터_20230628_add`` hold archives that pair with those in the main folders.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from callbot.aihub.parts import archive_stem

_NAME = re.compile(r"^(?:\[(?:원천|라벨)\]\s*)?(?P<kind>TS|TL|VS|VL)_(?P<rest>.+)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?P<base>.+)_\d+$")
SPLITS = {"T": "Training", "V": "Validation"}


def _key(rest: str) -> str:
    return re.sub(r"\.{2,}", ".", rest).strip().lower()  # real sets carry typos like VL_02..실외


def pair_archives(rels: list[str]) -> dict[str, Any]:
    """``{"pairs": [...], "unpaired": [...], "other": [...]}`` for archive paths relative to SRC."""
    labels: dict[tuple[str, str, str], list[str]] = {}
    sources: list[tuple[str, str, str, str]] = []
    shown: dict[tuple[str, str, str], str] = {}  # key -> the name as spelled, for messages
    other: list[str] = []
    for rel in sorted(rels):
        path = PurePosixPath(rel)
        dataset = path.parts[0] if len(path.parts) > 1 else ""
        match = _NAME.match(archive_stem(path.name))
        if not match:
            other.append(rel)
            continue
        kind = match["kind"].upper()
        key = (dataset, kind[0], _key(match["rest"]))
        shown.setdefault(key, match["rest"])
        if kind[1] == "L":
            labels.setdefault(key, []).append(rel)
        else:
            sources.append((dataset, kind[0], _key(match["rest"]), rel))
    matched: dict[tuple[str, str, str], list[str]] = {key: [] for key in labels}
    unpaired: list[dict[str, str]] = []
    for dataset, split, rest, rel in sources:
        key = (dataset, split, rest)
        numbered = _NUMBERED.match(rest)
        if key not in labels and numbered:
            key = (dataset, split, numbered["base"])
        if key in labels:
            matched[key].append(rel)
        else:
            want = f"{'TL' if split == 'T' else 'VL'}_{shown[(dataset, split, rest)]}"
            unpaired.append({"archive": rel, "why": f"no label archive {want} in {dataset or 'SRC'}"})
    pairs = []
    for key, label_rels in sorted(labels.items()):
        if matched[key]:
            for label in label_rels:
                pairs.append(
                    {
                        "dataset": key[0],
                        "split": SPLITS[key[1]],
                        "label": label,
                        "sources": sorted(matched[key]),
                    }
                )
        else:
            for label in label_rels:
                want = f"{'TS' if key[1] == 'T' else 'VS'}_{shown[key]}"
                unpaired.append({"archive": label, "why": f"no source archive {want} in {key[0] or 'SRC'}"})
    unpaired.sort(key=lambda u: u["archive"])
    return {"pairs": pairs, "unpaired": unpaired, "other": other}
