"""Reading the sample generators' word lists from ``callbot/sample/data/*.yaml``, checked.

Both generators (interview, call centre) keep their Korean sentences and vocabulary in data files
beside them; these helpers read such a file and check its values, so that a malformed file is a
:class:`CorpusError` naming the file and the key, never a crash mid-generation.
"""

from __future__ import annotations

import string
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any


class CorpusError(ValueError):
    """The corpus file is malformed; the message names the file and the key."""


def read_corpus_file(name: str, path: Path | None = None) -> tuple[Any, str]:
    """The parsed YAML of ``path`` (default: the packaged ``data/<name>``) and its name for errors."""
    import yaml

    if path is None:
        resource = resources.files("callbot.sample") / "data" / name
        text, source = resource.read_text(encoding="utf-8"), f"callbot/sample/data/{name}"
    else:
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        return yaml.safe_load(text), source
    except yaml.YAMLError as exc:
        raise CorpusError(f"{source}: not valid YAML ({exc})") from None


def template_fields(template: str) -> list[str]:
    """The ``{slot}`` names of a template, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def strings(value: Any, where: str, minimum: int) -> tuple[str, ...]:
    """A list of at least ``minimum`` distinct non-empty strings, stripped."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CorpusError(f"{where}: expected a list of non-empty strings")
    items = tuple(v.strip() for v in value)
    if len(set(items)) != len(items):
        raise CorpusError(
            f"{where}: repeated entries {sorted(k for k, c in Counter(items).items() if c > 1)}"
        )
    if len(items) < minimum:
        raise CorpusError(f"{where}: {len(items)} distinct entries, need at least {minimum}")
    return items


def text(value: Any, where: str, *, spoken: bool = True) -> str:
    """A non-empty string; ``spoken`` ones may hold no digits (espeak-ng would read them wrong)."""
    if not isinstance(value, str) or not value.strip():
        raise CorpusError(f"{where}: expected a non-empty string")
    if spoken and any(c.isascii() and c.isdigit() for c in value):
        raise CorpusError(f"{where}: {value!r} has digits; write numbers as Korean words (espeak reads them)")
    return value.strip()


def template(value: Any, where: str, slots: Any) -> str:
    """A spoken template whose ``{slot}`` names are all in ``slots``."""
    checked = text(value, where)
    try:
        unknown = [f for f in template_fields(checked) if f not in slots]
    except ValueError as exc:
        raise CorpusError(f"{where}: {checked!r} is not a valid template ({exc})") from None
    if unknown:
        raise CorpusError(
            f"{where}: {checked!r} uses unknown slot(s) {', '.join(unknown)}; known: {', '.join(slots)}"
        )
    return checked


def mapping(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """A mapping holding every one of ``keys``."""
    if not isinstance(value, dict):
        raise CorpusError(f"{where}: expected a mapping with {', '.join(keys)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise CorpusError(f"{where}: missing key(s) {', '.join(missing)}")
    return value
