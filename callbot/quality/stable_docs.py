"""Great Expectations' report folders made to reproduce: the same data and rules give the same bytes.

DVC hashes ``reports/validation`` (an output of validate), so a run id with the wall-clock time, a
batch load time, a random store id or random element ids in the pages would make every run a new
version of it, and two clones of one commit disagree (issue 25). GE writes all four; here:

- the run is named by a fingerprint of what was validated (records.parquet, the manifest and the
  rules) and dated :data:`RUN_TIME`, a fixed instant, so the result folders and the dates the pages
  show are the same for the same data (the real time of a run is in the stage's log, not its output);
- the batch load time GE stamps into every result is replaced by the same instant;
- the validation store's random ``.ge_store_backend_id`` is removed (nothing reads it back: the
  store is rebuilt each run);
- the random element ids GE's page renderer gives collapsible blocks are renumbered per page, in order
  of appearance (a link and its block keep sharing one id);
- expectations written into a suite get ids derived from the suite, position and rule instead of
  random ones (:func:`expectation_id`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RUN_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # the date every result carries; see the module docstring
LOAD_STAMP = RUN_TIME.strftime("%Y%m%dT%H%M%S.%fZ")
_STAMP = re.compile(r"\b\d{8}T\d{6}\.\d{6}Z\b")  # GE's ge_load_time format
_LOAD_TIME = re.compile(r'("ge_load_time":\s*")[^"]*(")')
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_NAMESPACE = uuid.UUID("6f1d3c2e-25a0-4c7e-9d0b-8a6f0c1e2b3d")  # callbot's, for uuid5


def fingerprint(files: list[Path], rules: dict[str, Any]) -> str:
    """A short hash of the validated files' bytes and the rules: the run's name."""
    digest = hashlib.sha256(json.dumps(rules, sort_keys=True, default=str).encode("utf-8"))
    for path in files:
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes() if path.is_file() else b"<absent>")
    return digest.hexdigest()[:16]


def run_id(name: str) -> Any:
    """GE's run identifier: ``name`` at :data:`RUN_TIME`."""
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=f"data-{name}", run_time=RUN_TIME)


def expectation_id(suite: str, index: int, configuration: str) -> str:
    """The id of a suite's ``index``-th expectation, from what it says (the same rules, the same id)."""
    return str(uuid.uuid5(_NAMESPACE, f"{suite}:{index}:{configuration}"))


def make_stable(report: Path) -> None:
    """Strip what varies between runs of the same data from GE's folders under ``report``."""
    for marker in report.rglob(".ge_store_backend_id"):
        marker.unlink()
    for path in sorted(report.rglob("*")):
        if path.suffix not in (".json", ".html") or "static" in path.relative_to(report).parts:
            continue
        text = path.read_text(encoding="utf-8")
        stable = _LOAD_TIME.sub(rf"\g<1>{LOAD_STAMP}\g<2>", text) if path.suffix == ".json" else text
        if path.suffix == ".html":
            stable = _renumber(_STAMP.sub(LOAD_STAMP, stable), path.relative_to(report).as_posix())
        if stable != text:
            path.write_text(stable, encoding="utf-8")


def _renumber(html: str, page: str) -> str:
    """Each distinct UUID of a page replaced by one derived from the page and its order of appearance."""
    seen: dict[str, str] = {}

    def stable(match: re.Match[str]) -> str:
        found = match.group(0)
        if found not in seen:
            seen[found] = str(uuid.uuid5(_NAMESPACE, f"{page}:{len(seen)}"))
        return seen[found]

    return _UUID.sub(stable, html)
