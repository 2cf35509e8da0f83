"""Each stage's code dependencies, derived from its imports, so that dvc.yaml's ``deps`` can be exact.

A stage depends on the callbot modules its entry module imports, transitively, read statically with
:mod:`ast`: imports inside functions count (heavy things are imported lazily), ``if TYPE_CHECKING:``
blocks do not (they never run). Importing ``callbot.a.b`` runs ``callbot/__init__.py`` and
``callbot/a/__init__.py`` too, so those count. Two more things are followed, because they decide a
stage's output as much as its code does:

- package data a module reads, written as ``Path(__file__).parent / "data" / "x.yaml"`` or
  ``resources.files("callbot.x") / "data" / NAME`` (``/``, ``.joinpath`` or ``.with_name``; string
  literals or module-level string constants; a computed name is refused);
- adapters a package discovers with ``pkgutil.iter_modules(__path__)``: every module of that package.

``callbot/cli.py`` and ``callbot/config.py`` are wiring (every command, every params section) and are
left out. The lists are derived, never kept by hand: ``callbot graph --write`` (:func:`write_all`)
rewrites dvc.yaml's code deps and ``bento/bentofile.yaml``'s ``include`` from the imports (comments and
every other line kept), ``callbot graph --check`` fails when either is stale (what
tests/code/test_dvc_deps.py asserts). ``python -m callbot.orchestrate.codedeps <stage>`` prints a
stage's list, ``--why STAGE PATH`` the import chain that makes PATH a dependency.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "callbot"
CODE_ROOTS = ("callbot",)  # dvc.yaml deps under these are code, checked against the closure
WIRING = frozenset({"callbot.cli", "callbot.cli_common", "callbot.config"})
IGNORED_PARTS = frozenset({"__pycache__"})  # also in .dvcignore: bytecode is no dependency

# The stage -> entry modules mapping: the functions `callbot <cmd>` calls (see callbot/cli.py).
# A path entry ("bento/service.py") is a script outside the package.
SERVED: dict[str, tuple[str, ...]] = {"package": ("callbot.serve.service",)}  # what the Bento runs
BENTOFILE = Path("bento") / "bentofile.yaml"
BENTO_EXTRA = ("callbot/py.typed",)  # shipped beside the imports: the package's typing marker


class CodeDepsError(ValueError):
    """A stage or module that cannot be resolved; the message names it and what to do."""


@functools.cache
def _registry_entries() -> dict[str, tuple[str, ...]]:
    """Each registered stage's entry modules: the callbot modules its ``@stage`` function imports
    (callbot/stages.py, read with ``ast``: the registry is the one place a stage is declared)."""
    registry = Path(__file__).resolve().parents[1] / "stages.py"
    found: dict[str, tuple[str, ...]] = {}
    for node in ast.parse(registry.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            if (
                isinstance(deco, ast.Call)
                and getattr(deco.func, "id", "") == "stage"
                and deco.args
                and isinstance(deco.args[0], ast.Constant)
            ):
                modules = {
                    n.module
                    for n in ast.walk(node)
                    if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("callbot.")
                }
                found[deco.args[0].value] = tuple(sorted(modules))
    return found


def entries_for(stage: str) -> tuple[str, ...]:
    """The entry modules of a dvc.yaml stage: its registry function's imports (+ what the Bento runs)."""
    entries = _registry_entries()
    if stage not in entries:
        raise CodeDepsError(
            f"stage {stage!r}: not in the stage registry; add an @stage entry to callbot/stages.py"
        )
    return entries[stage] + SERVED.get(stage, ())


# ---- one file -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One Python file: its module name (None for a script outside the package) and its path."""

    name: str | None
    path: Path  # absolute
    root: Path  # the repository (the folder holding the package)
    is_package: bool = False


@dataclass
class Reads:
    """What one file pulls in: modules it imports (candidates) and package files it opens."""

    modules: set[str] = field(default_factory=set)
    files: set[Path] = field(default_factory=set)


def find_module(name: str, root: Path = REPO) -> Source | None:
    """The file of a callbot module, or None when ``name`` is no module (e.g. a function imported from one).

    A folder without ``__init__.py`` (a namespace package) is a Source whose path is the folder.
    """
    base = root.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return Source(name, base / "__init__.py", root, is_package=True)
    if base.with_suffix(".py").is_file():
        return Source(name, base.with_suffix(".py"), root)
    if base.is_dir():
        return Source(name, base, root, is_package=True)
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST):
    """Every node that can run: ``if TYPE_CHECKING:`` bodies are skipped (their ``else`` is not)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend([node.test, *node.orelse])
            continue
        stack.extend(ast.iter_child_nodes(node))


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "literal"`` bindings, so ``/ CORPUS_FILE`` resolves like a literal."""
    found: dict[str, str] = {}
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        found.update({t.id: value.value for t in targets if isinstance(t, ast.Name)})
    return found


def _package_of(source: Source) -> str:
    if source.name is None:
        return ""
    return source.name if source.is_package else source.name.rpartition(".")[0]


def _resolve_from(node: ast.ImportFrom, source: Source) -> str | None:
    """The absolute module an ``ImportFrom`` names (relative imports resolved against ``source``)."""
    if node.level == 0:
        return node.module
    package = _package_of(source).split(".") if source.name else []
    if node.level - 1 > len(package) or not package:
        raise CodeDepsError(f"{_rel(source.path, source.root)}: relative import beyond the top-level package")
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _anchor(node: ast.expr, source: Source) -> Path | None:
    """Where a path expression starts: ``Path(__file__)`` (with ``.parent``/``.parents[n]``/``.resolve()``)
    or ``resources.files("callbot.x")``; None for anything else."""
    if isinstance(node, ast.Call) and _called(node) == "files" and len(node.args) == 1:
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            package = arg.value
        elif isinstance(arg, ast.Name) and arg.id in ("__name__", "__package__"):
            package = _package_of(source)
        else:
            return None
        return source.root.joinpath(*package.split(".")) if package.split(".")[0] == PACKAGE else None
    ups, inner = 0, node
    while True:  # peel .parent / .parents[n] / .resolve() / .absolute() down to Path(__file__)
        if isinstance(inner, ast.Attribute) and inner.attr == "parent":
            ups, inner = ups + 1, inner.value
        elif (
            isinstance(inner, ast.Subscript)
            and isinstance(inner.value, ast.Attribute)
            and inner.value.attr == "parents"
            and isinstance(inner.slice, ast.Constant)
        ):
            ups, inner = ups + inner.slice.value + 1, inner.value.value
        elif isinstance(inner, ast.Call) and _called(inner) in ("resolve", "absolute"):
            inner = inner.func.value  # type: ignore[attr-defined]
        elif isinstance(inner, ast.Call) and _called(inner) == "Path" and len(inner.args) == 1:
            arg = inner.args[0]
            if not (isinstance(arg, ast.Name) and arg.id == "__file__"):
                return None
            anchor = source.path
            for _ in range(ups):
                anchor = anchor.parent
            return anchor
        else:
            return None


def _called(node: ast.expr) -> str | None:
    """The name a call calls (``f`` of ``f(…)`` and of ``a.f(…)``); None for anything but a call."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _base(node: ast.expr) -> ast.expr | None:
    """The path a path step extends: ``a`` of ``a / x``, ``a.joinpath(x)`` and ``a.with_name(x)``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return node.left
    if isinstance(node, ast.Call) and _called(node) in ("joinpath", "with_name"):
        return node.func.value  # type: ignore[attr-defined]
    return None


def _data_path(node: ast.expr, source: Source, constants: dict[str, str]) -> tuple[Path, bool] | None:
    """The package path ``node`` names and whether every step of it is known: steps are string literals
    or module-level string constants; after the first computed step the path stops (a folder)."""
    base = _base(node)
    if base is None:
        anchor = _anchor(node, source)
        return None if anchor is None else (anchor, True)
    start = _data_path(base, source, constants)
    if start is None or not start[1]:
        return start
    path = start[0].parent if _called(node) == "with_name" else start[0]  # type: ignore[arg-type]
    args = [node.right] if isinstance(node, ast.BinOp) else node.args  # type: ignore[attr-defined]
    for arg in args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            path = path / arg.value
        elif isinstance(arg, ast.Name) and arg.id in constants:
            path = path / constants[arg.id]
        else:
            return path, False
    return path, True


@cache
def reads_of(source: Source) -> Reads:
    """The callbot modules ``source`` may import and the package files it reads."""
    try:
        tree = ast.parse(source.path.read_text(encoding="utf-8"), filename=str(source.path))
    except SyntaxError as exc:
        raise CodeDepsError(
            f"{_rel(source.path, source.root)}: cannot parse ({exc.msg}, line {exc.lineno})"
        ) from None
    constants = _constants(tree)
    reads = Reads()
    nodes = list(_runtime_nodes(tree))
    # in `a / "data" / NAME` only the whole path is read, not its prefix `a / "data"`
    prefixes = {id(base) for n in nodes if isinstance(n, ast.expr) and (base := _base(n)) is not None}
    for node in nodes:
        if isinstance(node, ast.Import):
            reads.modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve_from(node, source)
            if module:
                reads.modules.add(module)
                reads.modules.update(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.expr) and _base(node) is not None and id(node) not in prefixes:
            found = _data_path(node, source, constants)
            if found is None:
                continue
            path, _ = found
            if path in (source.path, source.path.parent, source.root / PACKAGE, source.root):
                raise CodeDepsError(
                    f"{_rel(source.path, source.root)}, line {node.lineno}: reads a package file by a computed "
                    'name; start the path with a string literal or a module-level constant ("data" / NAME)'
                )
            if path.exists():
                reads.files.add(path)
        elif isinstance(node, ast.Call) and source.is_package and _discovers_modules(node):
            reads.modules.update(f"{source.name}.{m}" for m in _submodules(source.path.parent))
    reads.modules = {m for m in reads.modules if m.split(".")[0] == PACKAGE}
    return reads


def _discovers_modules(node: ast.Call) -> bool:
    """``pkgutil.iter_modules(__path__)``: a package that imports every module it holds."""
    return _called(node) == "iter_modules" and any(
        isinstance(a, ast.Name) and a.id == "__path__" for a in node.args
    )


def _submodules(folder: Path) -> list[str]:
    found = [p.stem for p in folder.glob("*.py") if p.name != "__init__.py"]
    found += [p.name for p in folder.iterdir() if (p / "__init__.py").is_file()]
    return sorted(found)


# ---- the closure ------------------------------------------------------------------------------
def _source_for(entry: str, root: Path) -> Source:
    if entry.endswith(".py"):
        path = root / entry
        if not path.is_file():
            raise CodeDepsError(f"{entry}: no such script")
        return Source(None, path, root)
    source = find_module(entry, root)
    if source is None:
        raise CodeDepsError(
            f"{entry}: no such callbot module; fix the imports of its @stage entry in callbot/stages.py"
        )
    return source


def _walk(entries: tuple[str, ...] | list[str], root: Path = REPO) -> dict[Path, Path | None]:
    """Every file (absolute) the entries run or read, each with the file that pulled it in."""
    by: dict[Path, Path | None] = {}
    seen: set[Source] = set()
    todo: list[tuple[Source, Path | None]] = [(_source_for(e, root), None) for e in entries]
    while todo:
        source, parent = todo.pop(0)  # breadth first: the chain `--why` shows is a shortest one
        if source in seen:
            continue
        seen.add(source)
        if source.path.is_file():
            by.setdefault(source.path, parent)
        if source.name is not None:  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            parts = source.name.split(".")
            packages = [find_module(".".join(parts[:i]), root) for i in range(1, len(parts))]
            todo.extend((s, source.path) for s in packages if s is not None)
        if not source.path.is_file():
            continue
        reads = reads_of(source)
        for name in sorted(reads.modules - WIRING):
            found = find_module(name, root)
            if found is not None:
                todo.append((found, source.path))
        for path in sorted(reads.files):
            for file in [path] if path.is_file() else _tree_files(path):
                by.setdefault(file, source.path)
    return by


def closure(entries: tuple[str, ...] | list[str], root: Path = REPO) -> set[Path]:
    """Every file (absolute) the entries run or read: modules, their packages' ``__init__``, data."""
    return set(_walk(entries, root))


def why(stage: str, path: str) -> list[str]:
    """The import chain from the stage's entry to ``path`` (repo-relative), entry first; [] if none."""
    by = _walk(entries_for(stage))
    target = REPO / path
    found = [f for f in by if f == target or target in f.parents]
    if not found:
        return []
    chain, node = [], min(found)
    while node is not None:
        chain.append(_rel(node))
        node = by[node]
    return chain[::-1]


def unread_data(root: Path = REPO) -> list[str]:
    """Files under callbot/ that are neither Python nor read by a pattern codedeps sees (so no stage
    would depend on them); ``py.typed`` is a marker for type checkers, not data."""
    read: set[Path] = set()
    for path in sorted((root / PACKAGE).rglob("*.py")):
        if IGNORED_PARTS.intersection(path.parts):
            continue
        rel = path.relative_to(root).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        source = find_module(name, root)
        for file in reads_of(source).files if source else ():
            read.update([file] if file.is_file() else _tree_files(file))
    data = [p for p in _tree_files(root / PACKAGE) if p.suffix != ".py" and p.name != "py.typed"]
    return [p.relative_to(root).as_posix() for p in data if p not in read]


def _tree_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not IGNORED_PARTS.intersection(p.parts))


def collapse(files: set[Path], root: Path = REPO) -> list[str]:
    """Repo-relative paths, a folder standing for its files only when every one of them is listed."""
    covered: dict[Path, bool] = {}

    def is_covered(folder: Path) -> bool:
        if folder not in covered:
            inside = _tree_files(folder)
            covered[folder] = bool(inside) and all(p in files for p in inside)
        return covered[folder]

    out: set[str] = set()
    for path in files:
        top = path
        for parent in path.parents:
            if parent == root or root not in parent.parents or not is_covered(parent):
                break
            top = parent
        out.add(top.relative_to(root).as_posix())
    return sorted(out)


def code_deps(stage: str) -> list[str]:
    """The minimal sorted list of code paths a dvc.yaml stage depends on."""
    return collapse(closure(entries_for(stage)))


# ---- dvc.yaml --------------------------------------------------------------------------------
def _is_code(path: str) -> bool:
    return any(path == r or path.startswith(f"{r}/") for r in CODE_ROOTS)


def declared_code_deps(dvc_yaml: Path = REPO / "dvc.yaml") -> dict[str, list[str]]:
    """Each stage's ``deps`` under callbot/ and bento/, as written in dvc.yaml."""
    import yaml

    stages = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8")).get("stages", {})
    return {
        name: sorted(d.rstrip("/") for d in stage.get("deps", []) if isinstance(d, str) and _is_code(d))
        for name, stage in stages.items()
    }


def mismatches(dvc_yaml: Path = REPO / "dvc.yaml") -> dict[str, tuple[list[str], list[str]]]:
    """Stage -> (paths to add, paths to remove) wherever dvc.yaml disagrees with the imports (stages
    with no registry entry are :func:`stanza_problems`)."""
    found = {}
    for stage, declared in declared_code_deps(dvc_yaml).items():
        if stage not in _registry_entries():
            continue
        derived = code_deps(stage)
        add = [p for p in derived if p not in declared]
        remove = [p for p in declared if p not in derived]
        if add or remove:
            found[stage] = (add, remove)
    return found


def describe(found: dict[str, tuple[list[str], list[str]]]) -> str:
    lines = []
    for stage, (add, remove) in found.items():
        lines.append(f"{stage}:")
        lines += [f"  add     - {p}" for p in add]
        lines += [f"  remove  - {p}" for p in remove]
    return "\n".join(lines)


# ---- writing the derived lists ----------------------------------------------------------------
_ITEM = re.compile(r"^(?P<indent>\s*)- (?P<path>[^\s#]+)")


def _code_item(line: str) -> str | None:
    """The code path a ``- path  # comment`` list line names, or None for any other line."""
    match = _ITEM.match(line)
    return match["path"].rstrip("/") if match and _is_code(match["path"]) else None


def _stage_deps_span(lines: list[str], stage: str) -> tuple[int, int] | None:
    """The [start, end) line range of stage ``stage``'s ``deps:`` items in dvc.yaml's lines."""
    head = next((i for i, line in enumerate(lines) if line.rstrip() == f"  {stage}:"), None)
    if head is None:
        return None
    for i in range(head + 1, len(lines)):
        if re.match(r"^  \S", lines[i]):
            return None  # the next stage: this one has no deps
        if lines[i].strip() == "deps:":
            end = i + 1
            while end < len(lines) and (lines[end].lstrip().startswith(("-", "#")) or not lines[end].strip()):
                end += 1
            return i + 1, end
    return None


def _rewrite_items(items: list[str], derived: list[str], indent: str) -> list[str]:
    """``items`` with its code lines replaced by ``derived`` (sorted, where the first code line was);
    a path that stays keeps its line, comment included."""
    kept = {path: line for line in items if (path := _code_item(line))}
    first = next((i for i, line in enumerate(items) if _code_item(line)), len(items))
    others = [line for line in items if not _code_item(line)]
    before = sum(1 for line in items[:first] if not _code_item(line))
    new = [kept.get(p, f"{indent}- {p}") for p in derived]
    return others[:before] + new + others[before:]


def write_dvc_deps(dvc_yaml: Path = REPO / "dvc.yaml") -> list[str]:
    """Rewrite every stage's code deps in dvc.yaml from the imports; the stages changed."""
    lines = dvc_yaml.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = []
    for stage, declared in declared_code_deps(dvc_yaml).items():
        if stage not in _registry_entries():
            continue
        derived = code_deps(stage)
        if derived == declared:
            continue
        span = _stage_deps_span(lines, stage)
        if span is None:
            raise CodeDepsError(f"dvc.yaml: stage {stage!r} has no deps: list to write its code deps into")
        start, end = span
        items = lines[start:end]
        indent = next((m["indent"] for line in items if (m := _ITEM.match(line))), "      ")
        lines[start:end] = [
            f"{line}\n" if not line.endswith("\n") else line
            for line in _rewrite_items(items, derived, indent)
        ]
        changed.append(stage)
    if changed:
        from callbot.atomic import write_text

        write_text(dvc_yaml, "".join(lines))
    return changed


# ---- one stanza per registry stage ----------------------------------------------------------------
def stanza_problems(dvc_yaml: Path = REPO / "dvc.yaml") -> list[str]:
    """A registry stage with no dvc.yaml stanza, a stanza with no registry stage: one line each."""
    declared, registry = list(declared_code_deps(dvc_yaml)), list(_registry_entries())
    return [
        f"  {s}: registered in callbot/stages.py but no dvc.yaml stanza (--write adds a skeleton)"
        for s in registry
        if s not in declared
    ] + [
        f"  {s}: a dvc.yaml stanza with no @stage entry in callbot/stages.py; add the entry or remove the stanza"
        for s in declared
        if s not in registry
    ]


def stanza(stage: str, root: Path = REPO) -> str:
    """A skeleton dvc.yaml stanza for a registry stage: its command, its code deps, its params
    sections (and the profile where params.yaml's full overlay changes one); outs left to fill in."""
    import yaml

    from callbot.stages import STAGES

    spec = STAGES[stage]
    overlay = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["profiles"]["full"]
    full = [f"profiles.full.{s}" for s in spec.sections if s in overlay]
    params = [*spec.sections, *(["profile", *full] if full else [])]
    lines = [f"  {stage}:", f"    cmd: callbot {spec.command}", "    deps:"]
    lines += [f"      - {p}" for p in code_deps(stage)]
    lines += ["    params:", *[f"      - {p}" for p in params]]
    lines += [
        "    # outs: the files it writes (a skeleton from `callbot graph --write`: add its data deps and outs)"
    ]
    return "\n".join(lines) + "\n"


def write_stanzas(dvc_yaml: Path = REPO / "dvc.yaml", root: Path = REPO) -> list[str]:
    """Add a skeleton stanza for each registry stage dvc.yaml lacks, in registry order; the stages added."""
    registry = list(_registry_entries())
    missing = [s for s in registry if s not in declared_code_deps(dvc_yaml)]
    if not missing:
        return []
    lines = dvc_yaml.read_text(encoding="utf-8").splitlines(keepends=True)
    for stage in missing:
        present = set(declared_stages(lines))
        later = [s for s in registry[registry.index(stage) + 1 :] if s in present]
        at = next(
            (i for i, line in enumerate(lines) if later and line.rstrip() == f"  {later[0]}:"), len(lines)
        )
        if at == len(lines) and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines[at:at] = [*stanza(stage, root).splitlines(keepends=True), "\n"]
    from callbot.atomic import write_text

    write_text(dvc_yaml, "".join(lines))
    return missing


def declared_stages(lines: list[str]) -> list[str]:
    """The stage names of dvc.yaml's lines (two-space-indented keys under ``stages:``)."""
    return [m[1] for line in lines if (m := re.match(r"^  ([A-Za-z_][\w-]*):\s*$", line))]


def bento_includes(root: Path = REPO) -> list[str]:
    """What the Bento ships: the files the service imports or reads (folders where all of one is),
    and the typing marker."""
    files = closure(list(SERVED["package"]), root) | {root / p for p in BENTO_EXTRA}
    return collapse(files, root)


def _include_span(lines: list[str]) -> tuple[int, int]:
    start = next((i + 1 for i, line in enumerate(lines) if line.rstrip() == "include:"), None)
    if start is None:
        raise CodeDepsError(
            f"{BENTOFILE}: no top-level include: list; add one (callbot graph --write fills it)"
        )
    end = start
    while end < len(lines) and lines[end].startswith((" ", "#")):
        end += 1
    return start, end


def bento_stale(root: Path = REPO) -> tuple[list[str], list[str]]:
    """(paths to add, paths to remove) where bentofile.yaml's include differs from the service's imports."""
    lines = (root / BENTOFILE).read_text(encoding="utf-8").splitlines()
    start, end = _include_span(lines)
    declared = [m["path"] for line in lines[start:end] if (m := _ITEM.match(line))]
    derived = bento_includes(root)
    return [p for p in derived if p not in declared], [p for p in declared if p not in derived]


def write_bentofile(root: Path = REPO) -> bool:
    """Rewrite bentofile.yaml's include list from the service's imports; True when it changed."""
    if bento_stale(root) == ([], []):
        return False
    from callbot.atomic import write_text

    lines = (root / BENTOFILE).read_text(encoding="utf-8").splitlines(keepends=True)
    start, end = _include_span(lines)
    lines[start:end] = [f"  - {p}\n" for p in bento_includes(root)]
    write_text(root / BENTOFILE, "".join(lines))
    return True


def stale(root: Path = REPO) -> str:
    """What ``callbot graph --check`` reports: every derived list that differs from its file ("" if none)."""
    parts = []
    stanzas = stanza_problems(root / "dvc.yaml")
    if stanzas:
        parts.append("dvc.yaml stages differ from the registry:\n" + "\n".join(stanzas))
    found = mismatches(root / "dvc.yaml")
    if found:
        parts.append("dvc.yaml code deps differ from the imports:\n" + describe(found))
    add, remove = bento_stale(root)
    if add or remove:
        rows = [f"  add     - {p}" for p in add] + [f"  remove  - {p}" for p in remove]
        parts.append(f"{BENTOFILE} include differs from the service's imports:\n" + "\n".join(rows))
    return "\n".join(parts)


def write_all(root: Path = REPO) -> list[str]:
    """``callbot graph --write``: a skeleton stanza for each registry stage dvc.yaml lacks, and both
    derived lists rewritten; what changed, for the message."""
    changed = [f"dvc.yaml:{s} (new stanza: fill in its outs)" for s in write_stanzas(root / "dvc.yaml", root)]
    changed += [f"dvc.yaml:{s}" for s in write_dvc_deps(root / "dvc.yaml")]
    return changed + ([str(BENTOFILE)] if write_bentofile(root) else [])


def _rel(path: Path, root: Path = REPO) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    usage = "usage: python -m callbot.orchestrate.codedeps STAGE... | --check | --why STAGE PATH"
    if not argv or argv[0] in ("-h", "--help"):
        print(f"{usage}\nstages: {', '.join(_registry_entries())}")
        return 0 if argv else 2
    try:
        if argv == ["--check"]:
            found = mismatches()
            print(describe(found) if found else "dvc.yaml code deps match the imports")
            return 1 if found else 0
        if argv[0] == "--why" and len(argv) == 3:
            chain = why(argv[1], argv[2])
            print(" -> ".join(chain) if chain else f"{argv[1]} does not depend on {argv[2]}")
            return 0
        for stage in argv:
            if len(argv) > 1:
                print(f"{stage}:")
            print("\n".join(f"      - {p}" for p in code_deps(stage)))
    except CodeDepsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
