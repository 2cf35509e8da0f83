# ruff: noqa: F811 (``tree`` is test_ingest's fixture, taken as a parameter)
"""Ingest on the hostile archives of issue 16 (items 6-11): each is a named reject, nothing good is lost.

Every test runs the real ingest beside the good split source and label archives of ``test_ingest``
and asserts the reason code and that those archives still land whole.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import tarfile
import tracemalloc
import unicodedata
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ingest import (
    TRAIN,
    _hostile,
    assert_good_ingested,
    ingest,
    make_params,
    manifest,
    reasons,
    rejects,
    tree,  # noqa: F401 (the fixture: good archives beside each hostile one)
)
from zipcraft import Entry, raw_zip

from callbot.aihub.ingest import _Journal, ingest_archive, run_ingest
from callbot.aihub.names import MemberRefused, decode_name, safe_relpath
from callbot.aihub.parts import discover

SRC_DIR = f"{TRAIN}/01.원천데이터"


def _folder(out: Path, stem: str) -> Path:
    return out / SRC_DIR / stem


def _cd_split(blob: bytes) -> tuple[bytes, bytes]:
    """(local headers and data, central directory entries) of a raw_zip without a comment."""
    cd_size, cd_offset = struct.unpack_from("<2L", blob, len(blob) - 10)
    return blob[:cd_offset], blob[cd_offset : cd_offset + cd_size]


def _with_central(local: bytes, entries: list[bytes]) -> bytes:
    central = b"".join(entries)
    eocd = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0
    )
    return local + central + eocd


# ---- 6. overlapping entries ----------------------------------------------------------------------
def _overlap_bomb() -> bytes:
    """300 directory entries, one compressed block: 40 KB each (ratio ~36, under the member limit)."""
    data = os.urandom(1000) * 40
    local, cd = _cd_split(raw_zip([Entry(b"a/0000.wav", data, method=8)]))
    return _with_central(local, [cd.replace(b"a/0000.wav", f"a/{i:04d}.wav".encode()) for i in range(300)])


@pytest.mark.parametrize(("max_ratio", "reason"), [(200.0, "bomb"), (1e9, "overlap_bomb")])
def test_entries_sharing_their_bytes_are_a_bomb(tree, max_ratio: float, reason: str) -> None:
    """The total ratio catches it at the default limit; with that lifted, the overlap itself does."""
    src, out, members = tree
    _hostile(src, "TS_overlap.zip", _overlap_bomb())
    ingest(src, out, max_ratio=max_ratio)
    [reject] = rejects(out)
    assert (reject["reason"], reject["member"]) == (reason, None)
    assert (
        not list(_folder(out, "TS_overlap").rglob("*.wav")) if _folder(out, "TS_overlap").exists() else True
    )
    assert_good_ingested(out, members)


def test_entries_listed_out_of_order_but_disjoint_are_extracted(tree) -> None:
    src, out, members = tree
    local, cd = _cd_split(raw_zip([Entry(b"o/1.wav", b"one" * 50), Entry(b"o/2.wav", b"two" * 50)]))
    size = len(cd) // 2
    _hostile(src, "TS_order.zip", _with_central(local, [cd[size:], cd[:size]]))
    ingest(src, out)
    assert rejects(out) == []
    assert (_folder(out, "TS_order") / "o" / "2.wav").read_bytes() == b"two" * 50
    assert_good_ingested(out, members)


# ---- 7. output folders ---------------------------------------------------------------------------
def test_an_archive_named_dot_zip_never_clears_its_parent(tree) -> None:
    src, out, members = tree
    ingest(src, out)
    _hostile(src, ".zip", raw_zip([Entry(b"x.wav", b"x")]))
    ingest(src, out)
    [reject] = rejects(out)
    assert reject["reason"] == "bad_archive_name" and reject["archive"].endswith("/.zip")
    assert not (out / SRC_DIR / "x.wav").exists()
    assert_good_ingested(out, members)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("TS_same.zip", "TS_same.tar"),
        ("TS_답.zip", unicodedata.normalize("NFD", "TS_답.zip")),  # equal after NFC
        ("TS_case.zip", "ts_CASE.zip"),  # equal under case folding
        ("TS_outer.zip", "TS_outer/TS_inner.zip"),  # one folder inside the other
    ],
)
def test_archives_sharing_a_folder_the_later_one_is_refused(tree, first: str, second: str) -> None:
    src, out, members = tree
    _hostile(src, first, raw_zip([Entry(b"keep.wav", b"first archive")]))
    ingest(src, out)
    kept = _folder(out, first.removesuffix(".zip")) / "keep.wav"
    assert kept.read_bytes() == b"first archive"
    path = src / SRC_DIR / second
    path.parent.mkdir(parents=True, exist_ok=True)
    if second.endswith(".tar"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            info = tarfile.TarInfo("other.wav")
            info.size = 6
            tf.addfile(info, io.BytesIO(b"second"))
        path.write_bytes(buf.getvalue())
    else:
        path.write_bytes(raw_zip([Entry(b"keep.wav", b"second archive")]))
    ingest(src, out)
    assert [r["reason"] for r in rejects(out)] == ["folder_collision"]
    assert kept.read_bytes() == b"first archive"  # the archive ingested first keeps its folder and files
    assert any(e["path"].endswith(f"{first.removesuffix('.zip')}/keep.wav") for e in manifest(out))
    assert_good_ingested(out, members)


# ---- 8. temp names -------------------------------------------------------------------------------
def test_a_member_named_like_a_temp_file_is_kept(tree) -> None:
    src, out, _ = tree
    entries = [Entry(b"t/.a.wav.ingest-tmp", b"member one"), Entry(b"t/a.wav", b"member two")]
    _hostile(src, "TS_tmpname.zip", raw_zip(entries))
    ingest(src, out)
    folder = _folder(out, "TS_tmpname") / "t"
    assert rejects(out) == []
    assert (folder / ".a.wav.ingest-tmp").read_bytes() == b"member one"
    assert (folder / "a.wav").read_bytes() == b"member two"
    ours = {e["member"] for e in manifest(out) if "TS_tmpname" in e["archive"]}
    assert ours == {"t/.a.wav.ingest-tmp", "t/a.wav"} and len(manifest(out)) == 12 + 2  # the good ones too


def test_resume_never_deletes_finished_members_named_like_temps(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    block = os.urandom(1 << 20)
    entries = [Entry(f"a/{i:02d}.ingest-tmp".encode(), block[i:] + block[:i]) for i in range(8)]
    (src).mkdir()
    (src / "TS_x.zip").write_bytes(raw_zip(entries))
    [archive] = discover(src).archives
    seen = 0

    def interrupt(n: int) -> None:
        nonlocal seen
        seen += n
        if seen > 4 << 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_archive(archive, str(out), make_params(), interrupt)
    done = {p.name: p.stat().st_ino for p in (out / "TS_x" / "a").iterdir()}
    assert len(done) >= 2
    report = run_ingest(src, out, make_params())
    assert report.files == 8 and report.rejects == []
    after = {p.name: p.stat().st_ino for p in (out / "TS_x" / "a").iterdir()}
    assert {name: after[name] for name in done} == done


# ---- 9. one bad member is a member reject --------------------------------------------------------
def test_a_path_over_the_system_limit_is_a_member_reject(tree) -> None:
    src, out, members = tree
    deep = "/".join(["d" * 250] * 20) + "/x.wav"  # each part fits NAME_MAX, the whole is over PATH_MAX
    _hostile(src, "TS_deep.zip", raw_zip([Entry(deep.encode(), b"x"), Entry(b"ok.wav", b"ok")]))
    ingest(src, out)
    assert reasons(out) == {"name_too_long"}
    assert (_folder(out, "TS_deep") / "ok.wav").read_bytes() == b"ok"
    assert_good_ingested(out, members)


def test_tar_file_and_folder_of_one_name_is_a_member_reject(tree) -> None:
    src, out, members = tree
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("x", b"file"), ("x/y.wav", b"inside"), ("z.json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    (src / TRAIN / "02.라벨링데이터" / "TL_conflict.tar").write_bytes(buf.getvalue())
    ingest(src, out)
    [reject] = rejects(out)
    assert (reject["reason"], reject["member"]) == ("path_conflict", "x/y.wav")
    folder = out / TRAIN / "02.라벨링데이터" / "TL_conflict"
    assert (folder / "x").read_bytes() == b"file" and (folder / "z.json").read_bytes() == b"{}"
    report = ingest(src, out)  # and the archive is complete: a re-run does not redo it
    assert report.skipped == report.archives
    assert_good_ingested(out, members)


def test_a_zip64_field_claiming_more_bytes_than_it_has_is_a_member_reject(tree) -> None:
    src, out, members = tree
    blob = bytearray(
        raw_zip([Entry(b"z/ok.wav", b"fine" * 100), Entry(b"z/bad.wav", b"evil" * 100)], zip64=True)
    )
    cd = blob.index(b"PK\x01\x02", blob.index(b"PK\x01\x02") + 4)  # the second directory entry
    at = blob.index(struct.pack("<2H", 1, 24), cd)
    blob[at : at + 4] = struct.pack("<2H", 1, 32)  # 32 bytes of values claimed, 24 present
    _hostile(src, "TS_zip64.zip", bytes(blob))
    ingest(src, out)
    [reject] = rejects(out)
    assert (reject["reason"], reject["member"]) == ("bad_zip64_extra", "z/bad.wav")
    assert (_folder(out, "TS_zip64") / "z" / "ok.wav").read_bytes() == b"fine" * 100
    assert_good_ingested(out, members)


# ---- 10. memory ----------------------------------------------------------------------------------
def _peak_of_ingest(src: Path, out: Path, **params: object) -> int:
    [archive] = discover(src).archives
    tracemalloc.start()
    try:
        record = ingest_archive(archive, str(out), make_params(**params))
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, record


def test_inflating_is_bounded_in_memory(tmp_path: Path) -> None:
    """96 MiB of zeros from ~94 KB: the old loop held every 1 MiB piece of one read at once (~96 MiB)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "TS_zeros.zip").write_bytes(raw_zip([Entry(b"zeros.wav", bytes(96 << 20), method=8)]))
    peak, record = _peak_of_ingest(src, tmp_path / "out", max_ratio=1e9)
    assert [f["size"] for f in record["files"]] == [96 << 20]
    assert peak < 16 << 20, f"peak {peak:,} bytes"


def test_a_forged_central_directory_size_is_not_read_whole(tmp_path: Path) -> None:
    """A ZIP64 end record claiming the whole 24 MB archive is its directory: refused, read in 1 MiB blocks."""
    src = tmp_path / "src"
    src.mkdir()
    local, _ = _cd_split(raw_zip([Entry(b"big.wav", os.urandom(24 << 20))]))
    eocd64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, len(local), 0)
    loc = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(local), 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    (src / "TS_forged.zip").write_bytes(local + eocd64 + loc + end)
    peak, record = _peak_of_ingest(src, tmp_path / "out")
    assert record["refused"]["reason"] == "bad_zip"
    assert peak < 6 << 20, f"peak {peak:,} bytes"


def test_a_worker_killed_for_memory_still_ends_with_a_manifest(tree, monkeypatch: pytest.MonkeyPatch) -> None:
    import callbot.aihub.ingest as ingest_mod

    src, out, members = tree
    _hostile(src, "TS_oom.zip", raw_zip([Entry(b"m.wav", b"m")]))
    real = ingest_mod._ingest_zip

    def oom(archive, *args, **kwargs):
        if "TS_oom" in archive.rel:
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
        return real(archive, *args, **kwargs)

    monkeypatch.setattr(ingest_mod, "_ingest_zip", oom)  # the fork workers inherit it
    report = ingest(src, out, workers=2)
    assert not report.fatal
    assert [(r["reason"], Path(r["archive"]).name) for r in rejects(out)] == [("worker_killed", "TS_oom.zip")]
    assert_good_ingested(out, members)


# ---- 11. names and resume ------------------------------------------------------------------------
@pytest.mark.parametrize("char", ["\u0085", "\u2028", "\u2029", "\u202e", "\u200b", "\ufeff", "\x1b"])
def test_unicode_controls_in_names_are_refused(tree, char: str) -> None:
    src, out, members = tree
    name = f"n/evil{char}gpj.wav".encode()
    _hostile(src, "TS_ctrl.zip", raw_zip([Entry(name, b"x"), Entry(b"n/ok.wav", b"ok")]))
    ingest(src, out)
    assert reasons(out) == {"control_char"}
    assert [p.name for p in (_folder(out, "TS_ctrl") / "n").iterdir()] == ["ok.wav"]
    assert_good_ingested(out, members)


def test_names_equal_under_case_folding_are_refused(tree) -> None:
    src, out, members = tree
    _hostile(
        src,
        "TS_fold.zip",
        raw_zip([Entry(b"c/A.wav", b"1"), Entry(b"c/a.wav", b"2"), Entry(b"c/b.wav", b"3")]),
    )
    ingest(src, out)
    found = rejects(out)
    assert sorted((r["reason"], r["member"]) for r in found) == [
        ("case_collision", "c/A.wav"),
        ("case_collision", "c/a.wav"),
    ]
    assert [p.name for p in (_folder(out, "TS_fold") / "c").iterdir()] == ["b.wav"]
    assert_good_ingested(out, members)


def test_journal_lines_survive_line_separators_in_names(tmp_path: Path) -> None:
    """U+2028 in an archive's name: str.splitlines() cut the old journal's entry in two."""
    out, folder = tmp_path / "out", tmp_path / "out" / "a"
    entry = {"path": "a/x.wav", "size": 3, "archive": "TS_\u2028\u0085x.zip", "member": "x.wav"}
    journal = _Journal(tmp_path / "j.journal", ["fp"], out, folder, tmp_path / "j.tmp")
    folder.mkdir(parents=True)
    (folder / "x.wav").write_bytes(b"abc")
    journal.add(entry)
    journal.close()
    again = _Journal(tmp_path / "j.journal", ["fp"], out, folder, tmp_path / "j.tmp")
    again.close()
    assert again.done == {"x.wav": entry}
    assert (tmp_path / "j.journal").read_bytes().isascii()


def test_a_part_redownloaded_with_the_same_size_and_mtime_is_ingested_again(tree) -> None:
    src, out, members = tree
    path = _hostile(src, "TS_redo.zip", raw_zip([Entry(b"r.wav", b"A" * 3000)]))
    ingest(src, out)
    stat = path.stat()
    path.write_bytes(raw_zip([Entry(b"r.wav", b"B" * 3000)]))  # same length, new bytes
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = ingest(src, out)
    assert report.ingested == 3 and report.skipped == 2
    assert (_folder(out, "TS_redo") / "r.wav").read_bytes() == b"B" * 3000
    assert_good_ingested(out, members)


def test_disk_full_while_writing_is_a_reject_and_the_rerun_completes(
    tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import callbot.aihub.zipstream as zipstream
    from callbot import contracts

    src, out, members = tree
    _hostile(src, "TS_full.zip", raw_zip([Entry(b"f/1.wav", b"1" * 100), Entry(b"f/full.wav", b"2" * 100)]))
    real_write = zipstream._write_all

    def full_on_big(fd: int, piece) -> None:
        if bytes(piece) == b"2" * 100:  # only full.wav (random WAV bytes may start with "2")
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(fd, piece)

    monkeypatch.setattr(zipstream, "_write_all", full_on_big)
    report = ingest(src, out)
    assert not report.fatal and [r["reason"] for r in rejects(out)] == ["no_space"]
    assert (_folder(out, "TS_full") / "f" / "1.wav").read_bytes() == b"1" * 100  # kept for the re-run
    monkeypatch.undo()
    before = manifest(out)
    real_text = contracts.write_text  # the manifest is written by its contract's writer

    def full_on_manifest(path, *args, **kwargs):
        if Path(path).name == "_manifest.jsonl":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_text(path, *args, **kwargs)

    monkeypatch.setattr(contracts, "write_text", full_on_manifest)
    report = ingest(src, out)
    assert report.fatal and "free disk space" in report.summary
    assert manifest(out) == before  # the previous manifest is whole
    monkeypatch.undo()
    ingest(src, out)
    assert rejects(out) == [] and (_folder(out, "TS_full") / "f" / "full.wav").read_bytes() == b"2" * 100
    assert_good_ingested(out, members)


# ---- properties ----------------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
)
def test_any_member_name_is_a_safe_relative_path_or_a_reject(raw: bytes) -> None:
    for flags in (0, 0x800):
        try:
            name = safe_relpath(decode_name(raw, flags).text)
        except MemberRefused as exc:
            assert exc.reason and exc.message
            continue
        parts = PurePosixPath(name).parts
        assert parts and not name.startswith("/") and ".." not in parts and "." not in parts
        assert all(0 < len(p.encode("utf-8")) <= 255 for p in parts)
        assert unicodedata.is_normalized("NFC", name) or True  # NFC-ness is decode_name's: checked below
        assert not any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp", "Co"} for c in name)
        assert "\\" not in name
        assert os.path.normpath(os.path.join("/base", name)).startswith("/base/")


def _safe_or_none(raw: bytes) -> str | None:
    try:
        return safe_relpath(decode_name(raw, 0x800).text)
    except MemberRefused:
        return None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="aAbB/._\u00e9\u0301", min_size=1, max_size=8), min_size=1, max_size=6))
def test_any_set_of_member_names_extracts_each_file_once_or_rejects_it(
    tmp_path_factory, names: list[str]
) -> None:
    """Whatever the names: a file whose name is safe and alone in its case-folded, NFC group lands with
    its own bytes unless it clashes as file and folder (then a path_conflict reject); no other does."""
    root = tmp_path_factory.mktemp("names")
    src, out = root / "src", root / "out"
    src.mkdir()
    entries = [Entry(n.encode(), f"data {i}".encode()) for i, n in enumerate(names)]
    (src / "TS_p.zip").write_bytes(raw_zip(entries))
    run_ingest(src, out, make_params())
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for e in entries:
        safe = None if e.name.endswith(b"/") else _safe_or_none(e.name)
        if safe is not None:
            groups.setdefault(safe.casefold(), []).append((safe, e.data))
    want = {group[0][0]: group[0][1] for group in groups.values() if len(group) == 1}
    got = {e["member"]: (out / e["path"]).read_bytes() for e in manifest(out)}
    assert all(want.get(member) == data for member, data in got.items())
    conflicts = {r["member"] for r in rejects(out) if r["reason"] == "path_conflict"}
    assert set(want) - set(got) <= conflicts
    assert len({p.casefold() for p in got}) == len(got)


def test_zipcraft_overlap_bomb_lists_300_entries_over_one_block() -> None:
    """zipfile lists the crafted bomb's 300 entries and reads the first: the bytes are a real zip."""
    with zipfile.ZipFile(io.BytesIO(_overlap_bomb())) as zf:
        infos = zf.infolist()
        assert len(infos) == 300 and {i.header_offset for i in infos} == {0}
        assert zlib.crc32(zf.read(infos[0])) == infos[0].CRC
