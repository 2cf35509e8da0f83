"""A retried package stage reuses a stored model whose content is unchanged (issue 16, item 14)."""

from __future__ import annotations

from pathlib import Path


def test_store_reuses_an_identical_model_and_stores_a_changed_one(bentoml_home: Path, tmp_path: Path) -> None:
    import bentoml

    from callbot.registry.package import _store

    model = tmp_path / "merged"
    (model / "sub").mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"w" * 4096)
    (model / "sub" / "config.json").write_text("{}", encoding="utf-8")
    name = "callbot-reuse-test"
    first = _store(name, [model], {"role": "llm"}, {"source": str(model)}, flat=True)
    again = _store(name, [model], {"role": "llm", "git_revision": "other"}, {}, flat=True)  # a retry
    assert again == first and len(bentoml.models.list(name)) == 1
    stored = Path(bentoml.models.get(first).path)
    assert (stored / "weights.bin").read_bytes() == b"w" * 4096 and (stored / "sub" / "config.json").is_file()
    (model / "weights.bin").write_bytes(b"v" * 4096)  # retrained: new content, a new stored model
    changed = _store(name, [model], {"role": "llm"}, {}, flat=True)
    assert changed != first and len(bentoml.models.list(name)) == 2
    (model / "weights.bin").rename(model / "renamed.bin")  # same bytes, another layout: not the same model
    assert _store(name, [model], {"role": "llm"}, {}, flat=True) not in (first, changed)
