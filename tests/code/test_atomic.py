"""callbot.atomic: a failed or killed write leaves the previous file or folder whole, and no temp behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callbot import atomic
from callbot.atomic import replace_dir, temp_path, write_bytes, write_json, write_text, writing


class Boom(RuntimeError):
    pass


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


OLD = {"model.bin": b"old weights", "config/setup.json": b'{"v": 1}'}
NEW = {"model.bin": b"new weights!", "config/setup.json": b'{"v": 2}', "extra.txt": b"only in new"}


# ---- files ----------------------------------------------------------------------------------------


def test_writing_keeps_the_old_file_when_the_writer_raises_midway(tmp_path: Path) -> None:
    target = tmp_path / "loss.csv"
    target.write_text("step,loss\n1,0.5\n", encoding="utf-8")
    with pytest.raises(Boom), writing(target) as tmp:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write("step,loss\n1,0.4\n2,")  # half a file
        assert tmp.is_file() and tmp.parent == target.parent  # beside the target: one rename, no copy
        raise Boom
    assert target.read_text(encoding="utf-8") == "step,loss\n1,0.5\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.csv"]  # the temp is gone


def test_write_bytes_keeps_the_old_file_when_the_disk_fails_midway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "whisper.pt"
    target.write_bytes(b"previous checkpoint")
    real = Path.write_bytes

    def half_then_fail(self: Path, data: bytes) -> int:
        real(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        write_bytes(target, b"new checkpoint, much longer than the old one")
    monkeypatch.undo()
    assert target.read_bytes() == b"previous checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["whisper.pt"]


def test_a_failed_rename_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "gate.json"
    write_json(target, {"passed": True})

    def refuse(*_args: object) -> None:
        raise PermissionError("read-only")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_json(target, {"passed": False})
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == '{\n  "passed": true\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["gate.json"]


def test_successful_writes_replace_the_file_create_parents_and_leave_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "stt" / "metrics.json"
    write_text(target, "first\n")
    write_text(target, "second\n")
    assert target.read_text(encoding="utf-8") == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["metrics.json"]
    with writing(tmp_path / "a" / "b.parquet") as tmp:
        tmp.write_bytes(b"PAR1")
    assert (tmp_path / "a" / "b.parquet").read_bytes() == b"PAR1"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.parquet"]


def test_a_temp_left_by_a_killed_writer_is_reused_not_piled_up(tmp_path: Path) -> None:
    target = tmp_path / "_manifest.jsonl"
    leftover = temp_path(target, ".ingest-tmp")
    assert leftover == tmp_path / "._manifest.jsonl.ingest-tmp"
    leftover.write_text("half a line from a killed run", encoding="utf-8")
    write_text(target, '{"path": "a"}\n', suffix=".ingest-tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["_manifest.jsonl"]
    assert target.read_text(encoding="utf-8") == '{"path": "a"}\n'


def test_json_is_utf8_with_korean_unescaped(tmp_path: Path) -> None:
    data = {"text": "안녕하세요, 1339 콜센터입니다", "n": 1}
    write_json(tmp_path / "a.json", data)
    assert (tmp_path / "a.json").read_bytes() == (
        '{\n  "text": "안녕하세요, 1339 콜센터입니다",\n  "n": 1\n}\n'.encode()
    )
    write_json(tmp_path / "b.json", data, indent=1, end="")
    raw = (tmp_path / "b.json").read_bytes()
    assert raw == '{\n "text": "안녕하세요, 1339 콜센터입니다",\n "n": 1\n}'.encode()
    assert b"\\u" not in raw
    write_text(tmp_path / "c.txt", "상담원 연결\n")
    assert (tmp_path / "c.txt").read_bytes() == "상담원 연결\n".encode()


def test_new_files_get_the_umask_permissions_not_a_private_temp_mode(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_json(tmp_path / "bento.json", {"tag": "callbot:1"})
        with writing(tmp_path / "chart.png") as tmp:
            tmp.write_bytes(b"\x89PNG")
    finally:
        os.umask(previous)
    assert (tmp_path / "bento.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "chart.png").stat().st_mode & 0o777 == 0o644


# ---- folders --------------------------------------------------------------------------------------


def test_replace_dir_puts_the_new_tree_in_place_and_removes_the_old(tmp_path: Path) -> None:
    final = _make_tree(tmp_path / "merged", OLD)
    replace_dir(_make_tree(tmp_path / ".merged.tmp", NEW), final)
    assert _tree(final) == NEW
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]
    replace_dir(_make_tree(tmp_path / ".fresh", OLD), tmp_path / "new-dir")  # no earlier copy
    assert _tree(tmp_path / "new-dir") == OLD


@pytest.mark.parametrize("fail_at", [1, 2])
def test_a_swap_killed_at_either_rename_leaves_a_whole_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int
) -> None:
    final = _make_tree(tmp_path / "adapter", OLD)
    built = _make_tree(tmp_path / ".adapter.build", NEW)
    aside = tmp_path / ".adapter.old"
    real = os.replace
    calls = []

    def dies_at(src: object, dst: object) -> None:
        calls.append(src)
        if len(calls) == fail_at:
            raise KeyboardInterrupt  # the process is stopped between the two renames, or before them
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", dies_at)
    with pytest.raises(KeyboardInterrupt):
        replace_dir(built, final)
    monkeypatch.undo()
    if fail_at == 1:
        assert _tree(final) == OLD and not aside.exists()
    else:  # between the renames the old tree waits, whole, beside the target
        assert not final.exists() and _tree(aside) == OLD
    assert _tree(built) == NEW  # nothing was half moved
    # the next run clears the leftover and swaps cleanly
    replace_dir(built, final)
    assert _tree(final) == NEW
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]


def test_a_call_after_a_kill_between_the_renames_never_deletes_the_only_copy(tmp_path: Path) -> None:
    """The old tree waits alone at ``.name.old``; the next call fails (its build is missing): the old
    tree must be back at the target, not deleted as a leftover."""
    final, aside = tmp_path / "model", _make_tree(tmp_path / ".model.old", OLD)
    with pytest.raises(FileNotFoundError):
        replace_dir(tmp_path / ".model.build-that-died", final)
    assert _tree(final) == OLD and not aside.exists()
    replace_dir(_make_tree(tmp_path / ".model.build", NEW), final)
    assert _tree(final) == NEW and sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_failed_cleanup_after_the_swap_keeps_the_new_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = _make_tree(tmp_path / "report", OLD)
    real = atomic.shutil.rmtree

    def stuck(path: object, ignore_errors: bool = False) -> None:
        if not ignore_errors:
            real(path)
        # a busy file: the old copy stays, ignored, until the next swap clears it

    monkeypatch.setattr(atomic.shutil, "rmtree", stuck)
    replace_dir(_make_tree(tmp_path / ".report.build", NEW), final)
    monkeypatch.undo()
    assert _tree(final) == NEW
    assert _tree(tmp_path / ".report.old") == OLD
    replace_dir(_make_tree(tmp_path / ".report.build", OLD), final)
    assert _tree(final) == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_replace_dir_can_put_the_old_copy_under_a_given_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = _make_tree(tmp_path / "dataset", OLD)
    aside = tmp_path / f".dataset.old-{os.getpid()}"
    seen: list[str] = []
    real = os.replace

    def spy(src: object, dst: object) -> None:
        seen.append(Path(str(dst)).name)
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    replace_dir(_make_tree(tmp_path / ".dataset.partial", NEW), final, old=aside)
    assert seen == [aside.name, "dataset"]
    assert _tree(final) == NEW and not aside.exists()
