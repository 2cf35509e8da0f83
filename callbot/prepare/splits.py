"""Train/validation/test assignment that is grouped, stratified in expectation, and stable.

By folder (the default, ``prepare.split.by: folder``): the dataset's own Training folder is train,
and its Validation folder is cut into validation and test by the hash below. The sample generators
keep held-out templates, words and voices in the Validation folder only, so test then measures
unseen content; a real AI-Hub download is split the way its publisher split it. Items under
neither folder fall back to the hash shares. ``by: hash`` ignores folders (the earlier behaviour).

The unit is the group id (an interview: its question and answer; a call-centre dialogue: all its
turns), so nothing of one conversation leaks across splits. The split is a pure function of
``salt + group id``: a 64-bit BLAKE2b hash mapped to [0, 1) and cut at the configured shares. Adding
data therefore never moves an existing row, and re-running prepare on the same tree gives the same
splits on any machine.

Stratification vs stability: an exact per-stratum 80/10/10 needs to see the whole stratum (rank the
groups, cut at quantiles), and then one new interview shifts the cut and moves old ones. A hash does
not look at the stratum at all, which is what makes it stratified *in expectation*: within every
occupation x gender x experience cell the hash is an independent uniform draw, so each cell's
shares are 80/10/10 up to binomial noise (about +-1.3 points of the train share for a cell of
1,000 interviews). :func:`stratum_shares` measures that deviation so prepare can report it; the
smallest cells of the real set (98 interviews) may deviate by several points, which we accept in
exchange for never moving data between splits.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from callbot.prepare.params import SplitParams
from callbot.prepare.schema import SPLITS

__all__ = ["assign_split", "source_folder", "split_draw", "stratum_shares"]


def split_draw(group_id: str, salt: str) -> float:
    """The group's uniform draw in [0, 1): the first 8 bytes of BLAKE2b(salt, id)."""
    digest = hashlib.blake2b(f"{salt}\x00{group_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


TRAINING_FOLDER = "Training"
VALIDATION_FOLDER = "Validation"


_NUMBERED = re.compile(r"^\d+\.")  # older sets number them: 01.데이터/1.Training, 2.Validation


def source_folder(label_path: str | None) -> str | None:
    """``Training`` or ``Validation`` when the label path lies under such a folder, else None."""
    parts = {_NUMBERED.sub("", p) for p in (label_path or "").replace("\\", "/").split("/")}
    for folder in (TRAINING_FOLDER, VALIDATION_FOLDER):
        if folder in parts:
            return folder
    return None


def assign_split(group_id: str, shares: SplitParams, label_path: str | None = None) -> str:
    """``train``, ``validation`` or ``test`` for every row of the group.

    From the id alone (``by: hash``, or a label under neither folder), else from the folder its
    label lies in (see the module docstring). A group's rows share a label file, hence a split.
    """
    draw = split_draw(group_id, shares.salt)
    folder = source_folder(label_path) if shares.by == "folder" else None
    if folder == TRAINING_FOLDER:
        return SPLITS[0]
    if folder == VALIDATION_FOLDER:
        return SPLITS[1] if draw < shares.heldout_validation else SPLITS[2]
    if draw < shares.train:
        return SPLITS[0]
    if draw < shares.train + shares.validation:
        return SPLITS[1]
    return SPLITS[2]


def stratum_shares(groups: Iterable[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Share of groups per split within each stratum, from (stratum, split) pairs, one per group."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for stratum, split in groups:
        counts[stratum][split] += 1
    return {
        stratum: {split: c[split] / sum(c.values()) for split in SPLITS}
        for stratum, c in sorted(counts.items())
    }
