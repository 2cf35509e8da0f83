"""The adapter seam: nothing outside a dataset's own modules filters on its name.

Stages after prepare learn what a dataset is from its adapter's declarations (strata, quality, the
tasks it feeds). A comparison of a ``dataset`` value with a dataset name anywhere else means the next
dataset would need an edit there, which is what the seam exists to prevent.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from callbot.prepare.adapters import TASKS, adapter_names, datasets_feeding, discover_adapters

# A dataset's adapter and its sample generator are where its name belongs.
OWNERS = ("callbot/prepare/adapters/", "callbot/sample/")


def _mentions_dataset(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.Constant) and n.value == "dataset")
        or (isinstance(n, ast.Attribute) and n.attr == "dataset")
        or (isinstance(n, ast.Name) and n.id == "dataset")
        for n in ast.walk(node)
    )


def _filters(source: str, names: set[str]) -> list[str]:
    """Comparisons and calls that put a ``dataset`` value beside a dataset name, and GE row conditions."""
    found = []
    condition = re.compile(r"dataset\s*==\s*['\"](" + "|".join(map(re.escape, names)) + r")['\"]")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and condition.search(node.value):
            found.append(f"line {node.lineno}: {node.value!r}")
        parts = [node.left, *node.comparators] if isinstance(node, ast.Compare) else None
        parts = list(node.args) if isinstance(node, ast.Call) else parts
        if not parts or not any(_mentions_dataset(p) for p in parts):
            continue
        if any(isinstance(n, ast.Constant) and n.value in names for p in parts for n in ast.walk(p)):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_no_module_filters_on_a_dataset_name(repo: Path) -> None:
    names = set(adapter_names())
    assert {"interview", "callcenter", "phone"} <= names
    offenders = {}
    for path in sorted((repo / "callbot").rglob("*.py")):
        rel = path.relative_to(repo).as_posix()
        if not rel.startswith(OWNERS):
            found = _filters(path.read_text(encoding="utf-8"), names)
            if found:
                offenders[rel] = found
    assert not offenders, (
        f"filter through callbot.prepare.adapters (datasets_feeding, ...) instead: {offenders}"
    )


def test_the_probe_sees_a_name_filter() -> None:
    names = {"interview", "callcenter"}
    assert _filters('if row["dataset"] == "callcenter": pass', names)
    assert _filters('t.filter(pc.equal(table["dataset"], "interview"))', names)
    assert _filters('ROWS = {"row_condition": \'dataset=="interview"\'}', names)
    assert not _filters('t.filter(pc.is_in(table["dataset"], datasets_feeding("ars")))', names)


def test_declarations_route_the_tasks() -> None:
    assert datasets_feeding("ars") == ("callcenter",)
    assert set(datasets_feeding("stt")) == {"interview", "callcenter", "phone"}
    assert all(datasets_feeding(t) == ("interview",) for t in ("summary", "emotion", "intent"))
    for adapter in discover_adapters():
        assert set(adapter.feeds) <= set(TASKS) and adapter.quality is not None
