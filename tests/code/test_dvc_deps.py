"""dvc.yaml's code deps are exactly what each stage imports (callbot.orchestrate.codedeps).

A missing dep leaves a stage "up to date" after its code changed; an extra one re-runs it (the STT
retrains) for nothing. The analyser itself is checked on a small package written here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from callbot.orchestrate import codedeps
from callbot.orchestrate.codedeps import CodeDepsError, closure, collapse


def test_dvc_yaml_code_deps_and_the_bento_list_are_the_imports(repo: Path) -> None:
    """What `callbot graph --check` says; `callbot graph --write` fixes it."""
    problems = codedeps.stale(repo)
    assert not problems, (
        f"{problems}\nrun `callbot graph --write` (a stage's chain: "
        "`python -m callbot.orchestrate.codedeps --why STAGE PATH`)"
    )


def test_graph_write_restores_the_deps_and_keeps_comments(repo: Path, tmp_path: Path) -> None:
    """A dep dropped and a stale one added by hand: --write puts back exactly dvc.yaml's text."""
    original = (repo / "dvc.yaml").read_text(encoding="utf-8")
    assert "      - callbot/aihub\n" in original and "# accepted human review" in original
    broken = original.replace("      - callbot/aihub\n", "      - callbot/gone.py  # stale\n", 1)
    (tmp_path / "dvc.yaml").write_text(broken, encoding="utf-8")
    assert codedeps.mismatches(tmp_path / "dvc.yaml")
    assert codedeps.write_dvc_deps(tmp_path / "dvc.yaml") == ["ingest"]
    assert (tmp_path / "dvc.yaml").read_text(encoding="utf-8") == original
    assert codedeps.write_dvc_deps(tmp_path / "dvc.yaml") == []  # idempotent


def test_graph_check_exits_non_zero_when_stale(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from callbot.cli import app

    assert CliRunner().invoke(app, ["graph", "--check"]).exit_code == 0
    (tmp_path / "callbot").symlink_to(repo / "callbot")
    (tmp_path / "bento").mkdir()
    bento = (repo / "bento" / "bentofile.yaml").read_text(encoding="utf-8")
    (tmp_path / "bento" / "bentofile.yaml").write_text(bento.replace("  - callbot/atomic.py\n", ""), "utf-8")
    (tmp_path / "dvc.yaml").write_text((repo / "dvc.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(codedeps, "REPO", tmp_path)
    result = CliRunner().invoke(app, ["graph", "--check"])
    assert result.exit_code == 1 and "add     - callbot/atomic.py" in result.output
    assert CliRunner().invoke(app, ["graph", "--write"]).exit_code == 0
    assert (tmp_path / "bento" / "bentofile.yaml").read_text(encoding="utf-8") == bento


def test_every_package_data_file_is_seen(repo: Path) -> None:
    """A data file read in a way codedeps cannot see would be no stage's dependency."""
    assert codedeps.unread_data(repo) == [], (
        "read these with Path(__file__).parent / 'data' / NAME or resources.files('callbot.x') / 'data' / NAME "
        "(string literals or module-level constants), or delete them"
    )


def test_every_dvc_stage_has_entries_in_the_registry(repo: Path) -> None:
    """The entries come from each @stage function's imports: a stage that imports no callbot module
    (or a dvc.yaml stage with no registry entry) would have no code deps at all."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for stage in stages:
        assert codedeps.entries_for(stage), f"{stage}: its @stage function imports no callbot module"


# ---- the analyser on a package written here ----------------------------------------------------
def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        {
            "callbot/__init__.py": "",
            "callbot/atomic.py": "",
            "callbot/cli.py": "import callbot.heavy\n",
            "callbot/heavy.py": "",
            "callbot/typed.py": "",
            "callbot/a/__init__.py": "",
            "callbot/a/run.py": (
                "from typing import TYPE_CHECKING\n"
                "from . import helper\n"
                "from ..b import sub\n"
                "import callbot.cli\n"
                "if TYPE_CHECKING:\n    from callbot import typed\n"
                "def go():\n    from callbot.atomic import write\n"
            ),
            "callbot/a/helper.py": "from pathlib import Path\nNAME = 'x.yaml'\nP = Path(__file__).parent / 'data' / NAME\n",
            "callbot/a/data/x.yaml": "a: 1\n",
            "callbot/a/data/y.yaml": "b: 2\n",
            "callbot/a/unused.py": "",
            "callbot/b/__init__.py": "",
            "callbot/b/sub.py": "from importlib import resources\nT = resources.files('callbot.b') / 'tpl'\n",
            "callbot/b/tpl/one.txt": "1",
            "callbot/b/tpl/two.txt": "2",
            "callbot/c/__init__.py": "import pkgutil\nfor m in pkgutil.iter_modules(__path__):\n    pass\n",
            "callbot/c/one.py": "",
            "callbot/c/two.py": "",
        },
    )
    return tmp_path


def test_closure_follows_lazy_relative_and_submodule_imports(tree: Path) -> None:
    paths = collapse(closure(["callbot.a.run"], tree), tree)
    assert paths == [
        "callbot/__init__.py",
        "callbot/a/__init__.py",
        "callbot/a/data/x.yaml",  # the constant names one file; y.yaml is no dependency
        "callbot/a/helper.py",
        "callbot/a/run.py",
        "callbot/atomic.py",  # imported inside a function
        "callbot/b",  # every file: __init__, sub.py (a submodule named by `from ..b import`), tpl/
    ]  # not cli.py (wiring) nor heavy.py behind it, not typed.py (TYPE_CHECKING), not unused.py


def test_discovered_adapters_are_all_dependencies(tree: Path) -> None:
    assert collapse(closure(["callbot.c"], tree), tree) == ["callbot/__init__.py", "callbot/c"]


def test_joinpath_and_with_name_are_package_reads(tree: Path) -> None:
    _write(
        tree,
        {
            "callbot/e.py": (
                "from pathlib import Path\n"
                "A = Path(__file__).with_name('e.json')\n"
                "def f():\n    return Path(__file__).parent.joinpath('data', 'z.txt').read_text()\n"
            ),
            "callbot/e.json": "{}",
            "callbot/data/z.txt": "z",
            "callbot/data/other.txt": "not read",
        },
    )
    assert collapse(closure(["callbot.e"], tree), tree) == [
        "callbot/__init__.py",
        "callbot/data/z.txt",
        "callbot/e.json",
        "callbot/e.py",
    ]


def test_a_computed_package_path_is_refused(tree: Path) -> None:
    _write(
        tree, {"callbot/d.py": "from pathlib import Path\ndef f(n):\n    return Path(__file__).parent / n\n"}
    )
    with pytest.raises(CodeDepsError, match=r"callbot/d.py, line 3: reads a package file by a computed name"):
        closure(["callbot.d"], tree)


def test_unknown_stage_and_module_say_what_to_fix(tree: Path) -> None:
    with pytest.raises(CodeDepsError, match=r"add an @stage entry to callbot/stages\.py"):
        codedeps.entries_for("no_such_stage")
    with pytest.raises(CodeDepsError, match=r"callbot\.nope: no such callbot module"):
        closure(["callbot.nope"], tree)


def test_graph_writes_a_missing_stanza_and_checks_stanzas_against_the_registry(
    repo: Path, tmp_path: Path
) -> None:
    """A registry stage with no stanza: --check names it, --write adds a skeleton in registry order
    (command, code deps, params sections, the profile where the full overlay changes one) and then
    only the outs are left to the author. A stanza with no registry stage fails --check too."""
    from callbot.stages import STAGES

    original = (repo / "dvc.yaml").read_text(encoding="utf-8")
    start = original.index("\n  evaluate_stt:\n") + 1
    end = original.index("\n  train_llm:\n") + 1
    (tmp_path / "dvc.yaml").write_text(original[:start] + original[end:], encoding="utf-8")
    (tmp_path / "params.yaml").write_text((repo / "params.yaml").read_text(encoding="utf-8"), "utf-8")
    assert "evaluate_stt: registered in callbot/stages.py but no dvc.yaml stanza" in "\n".join(
        codedeps.stanza_problems(tmp_path / "dvc.yaml")
    )
    assert codedeps.write_stanzas(tmp_path / "dvc.yaml", tmp_path) == ["evaluate_stt"]
    assert codedeps.stanza_problems(tmp_path / "dvc.yaml") == []
    written = yaml.safe_load((tmp_path / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    committed = yaml.safe_load(original)["stages"]
    assert list(written) == list(STAGES)
    new, old = written["evaluate_stt"], committed["evaluate_stt"]
    assert new["cmd"] == old["cmd"] and new["params"] == old["params"]
    assert new["deps"] == [d for d in old["deps"] if d.startswith("callbot/")]
    assert "outs" not in new and codedeps.mismatches(tmp_path / "dvc.yaml") == {}
    assert codedeps.write_stanzas(tmp_path / "dvc.yaml", tmp_path) == []  # idempotent

    with (tmp_path / "dvc.yaml").open("a", encoding="utf-8") as fh:
        fh.write("\n  toy:\n    cmd: callbot toy\n")
    assert codedeps.stanza_problems(tmp_path / "dvc.yaml") == [
        "  toy: a dvc.yaml stanza with no @stage entry in callbot/stages.py; add the entry or remove the stanza"
    ]
