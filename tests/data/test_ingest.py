"""`callbot ingest`: every bad input is refused with its reason code and never costs the good archives.

Each bad-input test puts one hostile or damaged archive next to a good split source archive and a
good label archive, runs the real ingest, asserts the reason code in ``_rejects.jsonl`` and that
every good member is on disk under its NFC name with the bytes of the original.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import unicodedata
import zipfile
from pathlib import Path

import pytest
from zipcraft import S_IFIFO, S_IFLNK, Entry, raw_zip, sparse_stored_zip, write_parts

from callbot.aihub.ingest import run_ingest
from callbot.aihub.params import IngestParams
from callbot.aihub.parts import PartedFile, discover

TRAIN = "129.채용면접 인터뷰 데이터/01-1.정식개방데이터/Training"
SOURCE = f"{TRAIN}/01.원천데이터/TS_02.SalesMarketing_Male_Experienced.zip"
LABEL = f"{TRAIN}/02.라벨링데이터/TL_02.SalesMarketing_Male_Experienced.zip"
GOOD_DIR = "02.SalesMarketing/Male/Experienced"


def make_params(**changes: object) -> IngestParams:
    values: dict[str, object] = dict(
        src="unused",
        out="unused",
        max_ratio=200.0,
        max_member_bytes=1 << 33,
        min_free_bytes=0,
        workers=1,
        strict=False,
    )
    values.update(changes)
    return IngestParams(**values)


def good_members() -> dict[str, dict[str, bytes]]:
    """Archive (relative to SRC) -> member name -> bytes, for the two archives that must always land."""
    wavs = {f"{GOOD_DIR}/ckmk_a_sm_m_e_{i:06d}.wav": os.urandom(20_000 + i) for i in range(6)}
    labels = {
        f"{GOOD_DIR}/ckmk_d_sm_m_e_{i:06d}.json": json.dumps(
            {"답변": "네 " * 40, "i": i}, ensure_ascii=False
        ).encode()
        for i in range(6)
    }
    return {SOURCE: wavs, LABEL: labels}


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, dict[str, dict[str, bytes]]]:
    """SRC with a good source archive split into 13 parts (string order != offset order) and a label zip."""
    src, out = tmp_path / "src", tmp_path / "out"
    members = good_members()
    wav_zip = raw_zip([Entry(n.encode(), d) for n, d in members[SOURCE].items()])
    write_parts(src / SOURCE, wav_zip, part_size=len(wav_zip) // 12)
    (src / LABEL).parent.mkdir(parents=True)
    with zipfile.ZipFile(src / LABEL, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members[LABEL].items():
            zf.writestr(name, data)
    return src, out, members


def ingest(src: Path, out: Path, **changes: object):
    return run_ingest(src, out, make_params(**changes), strict=False)


def rejects(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "_rejects.jsonl").read_text(encoding="utf-8").splitlines()]


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "_manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def assert_good_ingested(out: Path, members: dict[str, dict[str, bytes]]) -> None:
    entries = {e["path"]: e for e in manifest(out)}
    for archive, files in members.items():
        folder = Path(archive).parent / Path(archive).name.removesuffix(".zip")
        for name, data in files.items():
            rel = (folder / name).as_posix()
            assert (out / rel).read_bytes() == data, rel
            assert entries[rel]["archive"] == archive and entries[rel]["size"] == len(data)
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".ingest-tmp")]
    assert leftovers == []


def reasons(out: Path) -> set[str]:
    return {r["reason"] for r in rejects(out)}


# ---- the good path ------------------------------------------------------------------------------
def test_split_archive_is_streamed_in_integer_offset_order(tree) -> None:
    src, out, members = tree
    parts = sorted(p.name for p in (src / SOURCE).parent.iterdir())
    assert len(parts) == 13 and parts != sorted(parts, key=lambda n: int(n.rsplit("part", 1)[1]))
    report = ingest(src, out)
    assert not report.fatal and rejects(out) == []
    assert_good_ingested(out, members)
    assert len(manifest(out)) == 12
    # no merged copy anywhere
    assert not list(out.rglob("*.zip")) and not (src / SOURCE).exists()


def test_manifest_sha256_and_crc_are_of_the_extracted_bytes(tree) -> None:
    import hashlib
    import zlib

    src, out, _ = tree
    ingest(src, out)
    for entry in manifest(out):
        data = (out / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["crc32"] == f"{zlib.crc32(data):08x}"


def test_parted_file_reads_like_the_merged_bytes(tmp_path: Path) -> None:
    data = os.urandom(10_007)
    write_parts(tmp_path / "x.zip", data, 1000)
    archive = discover(tmp_path).archives[0]
    with PartedFile(archive.parts) as f:
        for start, length in [(0, 10), (995, 10), (2999, 2002), (9_990, 100), (0, 20_000)]:
            f.seek(start)
            assert f.read(length) == data[start : start + length]
        f.seek(-7, io.SEEK_END)
        assert f.read() == data[-7:]


def test_zip64_and_deflate_members_are_extracted(tree) -> None:
    src, out, members = tree
    payload = {"a/큰파일.wav": os.urandom(50_000), "a/text.json": "안녕하세요 ".encode() * 300}
    blob = raw_zip([Entry(n.encode(), d, method=8) for n, d in payload.items()], zip64=True)
    assert zipfile.ZipFile(io.BytesIO(blob)).testzip() is None  # the crafted ZIP64 is a real zip
    (src / TRAIN / "01.원천데이터" / "TS_z64.zip").write_bytes(blob)
    ingest(src, out)
    for name, data in payload.items():
        assert (out / TRAIN / "01.원천데이터" / "TS_z64" / name).read_bytes() == data
    assert_good_ingested(out, members)


def test_cp949_and_nfd_names_land_as_nfc(tree) -> None:
    src, out, members = tree
    nfd = unicodedata.normalize("NFD", "면접/답변.wav")
    blob = raw_zip(
        [
            Entry("면접/질문.wav".encode("cp949"), b"q" * 100, flags=0),  # Windows zip, no UTF-8 flag
            Entry(nfd.encode(), b"a" * 100),  # macOS zip, NFD
            Entry(b"odd/\x80\xff.wav", b"z" * 100, flags=0),  # neither CP949 nor UTF-8
        ]
    )
    (src / TRAIN / "01.원천데이터" / "TS_names.zip").write_bytes(blob)
    report = ingest(src, out)
    assert len(report.name_warnings) == 1 and "odd/" in report.name_warnings[0]
    folder = out / TRAIN / "01.원천데이터" / "TS_names"
    assert (folder / "면접" / "질문.wav").read_bytes() == b"q" * 100
    assert (folder / "면접" / "답변.wav").read_bytes() == b"a" * 100
    names = {unicodedata.is_normalized("NFC", e["path"]) for e in manifest(out)}
    assert names == {True}
    warned = [e for e in manifest(out) if "name_warning" in e]
    assert len(warned) == 1 and "CP437" in warned[0]["name_warning"]
    assert_good_ingested(out, members)


def test_tar_gz_archive_is_extracted(tree) -> None:
    src, out, members = tree
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = "라벨".encode() * 100
        info = tarfile.TarInfo("labels/첫번째.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (src / TRAIN / "02.라벨링데이터" / "TL_extra.tar.gz").write_bytes(buf.getvalue())
    ingest(src, out)
    assert (out / TRAIN / "02.라벨링데이터" / "TL_extra" / "labels" / "첫번째.json").read_bytes() == data
    assert_good_ingested(out, members)


def test_pairs_cover_numbered_sources_and_add_folders(tree) -> None:
    src, out, _ = tree
    one = raw_zip([Entry(b"x.wav", b"x")])
    for n in (1, 2):
        (src / TRAIN / "01.원천데이터" / f"TS_03.PublicService_Female_New_{n}.zip").write_bytes(one)
    patch = src / TRAIN / "02.라벨링데이터_20230628_add"
    patch.mkdir()
    (patch / "TL_03.PublicService_Female_New.zip").write_bytes(one)
    (src / TRAIN / "01.원천데이터" / "TS_04.RND_Male_New.zip").write_bytes(one)
    ingest(src, out)
    pairs = json.loads((out / "_pairs.json").read_text(encoding="utf-8"))
    by_label = {Path(p["label"]).name: [Path(s).name for s in p["sources"]] for p in pairs["pairs"]}
    assert by_label["TL_03.PublicService_Female_New.zip"] == [
        "TS_03.PublicService_Female_New_1.zip",
        "TS_03.PublicService_Female_New_2.zip",
    ]
    assert by_label["TL_02.SalesMarketing_Male_Experienced.zip"] == [
        "TS_02.SalesMarketing_Male_Experienced.zip"
    ]
    assert [Path(u["archive"]).name for u in pairs["unpaired"]] == ["TS_04.RND_Male_New.zip"]


def test_rerun_skips_complete_archives_and_redoes_changed_ones(tree) -> None:
    src, out, members = tree
    ingest(src, out)
    before = (out / "_manifest.jsonl").read_bytes()
    report = ingest(src, out)
    assert report.skipped == 2 and (out / "_manifest.jsonl").read_bytes() == before
    new = {LABEL: {f"{GOOD_DIR}/new.json": b"{}"}}
    (src / LABEL).write_bytes(raw_zip([Entry(b"02.SalesMarketing/Male/Experienced/new.json", b"{}")]))
    report = ingest(src, out)
    assert report.skipped == 1
    assert_good_ingested(out, {SOURCE: members[SOURCE], **new})
    label_dir = out / TRAIN / "02.라벨링데이터" / "TL_02.SalesMarketing_Male_Experienced"
    assert sorted(p.name for p in label_dir.rglob("*.json")) == ["new.json"]  # old copy gone


def test_parallel_workers_give_the_same_tree_and_manifest(tree, tmp_path: Path) -> None:
    src, out, members = tree
    ingest(src, out, workers=1)
    other = tmp_path / "out2"
    ingest(src, other, workers=2)
    assert (out / "_manifest.jsonl").read_bytes() == (other / "_manifest.jsonl").read_bytes()
    assert_good_ingested(other, members)


def test_strict_makes_a_reject_fatal(tree) -> None:
    src, out, _ = tree
    (src / TRAIN / "01.원천데이터" / "TS_bad.zip").write_bytes(b"<html>502 Bad Gateway</html>")
    assert not run_ingest(src, out, make_params(), strict=False).fatal
    assert run_ingest(src, out, make_params(), strict=True).fatal


def test_cli_exit_codes(tree, tmp_path: Path, repo: Path) -> None:
    from typer.testing import CliRunner

    from callbot.cli import app

    src, out, _ = tree
    (src / TRAIN / "01.원천데이터" / "TS_bad.zip").write_bytes(b"not a zip")
    params = repo / "params.yaml"
    ok = CliRunner().invoke(app, ["--params", str(params), "ingest", str(src), "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    strict = CliRunner().invoke(
        app, ["--params", str(params), "ingest", str(src), "--out", str(out), "--strict"]
    )
    assert strict.exit_code == 1
    missing = CliRunner().invoke(
        app, ["--params", str(params), "ingest", str(tmp_path / "nope"), "--out", str(out)]
    )
    assert missing.exit_code == 1 and "not a directory" in missing.output
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(
        app, ["--params", str(params), "ingest", str(tmp_path / "empty"), "--out", str(out)]
    )
    assert empty.exit_code == 1 and "no .zip" in empty.output


# ---- bad input: one test per failure, each asserting the reason code -----------------------------
def _hostile(src: Path, name: str, blob: bytes) -> Path:
    path = src / TRAIN / "01.원천데이터" / name
    path.write_bytes(blob)
    return path


def _split_bad(src: Path) -> tuple[Path, list[Path]]:
    data = raw_zip([Entry(f"b/{i}.wav".encode(), os.urandom(3000)) for i in range(4)])
    path = src / TRAIN / "01.원천데이터" / "TS_09.split_Male_New.zip"
    return path, write_parts(path, data, 4000)


def test_missing_middle_part(tree) -> None:
    src, out, members = tree
    _, parts = _split_bad(src)
    parts[1].unlink()
    ingest(src, out)
    [reject] = rejects(out)
    assert reject["reason"] == "missing_part"
    assert "bytes 4,000..7,999 (4,000 bytes)" in reject["message"] and ".part4000" in reject["message"]
    assert_good_ingested(out, members)


def test_truncated_last_part(tree) -> None:
    src, out, members = tree
    _, parts = _split_bad(src)
    parts[-1].write_bytes(parts[-1].read_bytes()[:-30])
    ingest(src, out)
    [reject] = rejects(out)
    assert reject["reason"] == "truncated" and parts[-1].name in reject["message"]
    assert_good_ingested(out, members)


def test_short_middle_part_names_the_gap(tree) -> None:
    src, out, members = tree
    _, parts = _split_bad(src)
    parts[1].write_bytes(parts[1].read_bytes()[:-10])
    ingest(src, out)
    [reject] = rejects(out)
    assert reject["reason"] == "truncated_part" and "7,990..7,999 (10 bytes)" in reject["message"]
    assert_good_ingested(out, members)


@pytest.mark.parametrize("where", ["after_end", "overlapping"])
def test_stray_extra_part(tree, where: str) -> None:
    src, out, members = tree
    path, parts = _split_bad(src)
    end = sum(p.stat().st_size for p in parts)
    offset = end if where == "after_end" else 5000
    path.with_name(f"{path.name}.part{offset}").write_bytes(b"junk" * 100)
    ingest(src, out)
    assert reasons(out) == {"stray_part"}
    assert_good_ingested(out, members)


def test_flipped_byte_is_a_crc_mismatch(tree) -> None:
    src, out, members = tree
    blob = bytearray(raw_zip([Entry(b"c/ok.wav", b"k" * 500), Entry(b"c/bad.wav", b"A" * 500)]))
    at = blob.index(b"A" * 500) + 250
    blob[at] ^= 0x01
    _hostile(src, "TS_crc.zip", bytes(blob))
    ingest(src, out)
    [reject] = rejects(out)
    assert reject["reason"] == "crc_mismatch" and reject["member"] == "c/bad.wav"
    folder = out / TRAIN / "01.원천데이터" / "TS_crc" / "c"
    assert (folder / "ok.wav").exists() and not (folder / "bad.wav").exists()
    assert_good_ingested(out, members)


def test_not_a_zip(tree) -> None:
    src, out, members = tree
    _hostile(src, "TS_html.zip", b"<html><body>Service Unavailable</body></html>")
    ingest(src, out)
    assert reasons(out) == {"not_zip"}
    assert_good_ingested(out, members)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (b"../../evil.wav", "path_traversal"),
        (b"a/../../evil.wav", "path_traversal"),
        (b"..\\evil.wav", "path_traversal"),
        (b"/etc/evil.wav", "absolute_path"),
        (b"C:/evil.wav", "drive_letter"),
    ],
)
def test_escaping_member_names(tree, tmp_path: Path, name: bytes, reason: str) -> None:
    src, out, members = tree
    _hostile(src, "TS_escape.zip", raw_zip([Entry(name, b"pwned"), Entry(b"fine.wav", b"ok")]))
    ingest(src, out)
    assert reasons(out) == {reason}
    assert not list(tmp_path.rglob("evil.wav")) and not Path("/etc/evil.wav").exists()
    assert (out / TRAIN / "01.원천데이터" / "TS_escape" / "fine.wav").read_bytes() == b"ok"
    assert_good_ingested(out, members)


def test_symlink_and_special_members(tree) -> None:
    src, out, members = tree
    _hostile(
        src,
        "TS_links.zip",
        raw_zip(
            [
                Entry(b"link.wav", b"/etc/passwd", mode=S_IFLNK | 0o777),
                Entry(b"fifo", b"", mode=S_IFIFO | 0o644),
            ]
        ),
    )
    ingest(src, out)
    assert reasons(out) == {"symlink", "special_file"}
    assert not (out / TRAIN / "01.원천데이터" / "TS_links" / "link.wav").exists()
    assert_good_ingested(out, members)


def test_compression_bomb(tree) -> None:
    src, out, members = tree
    _hostile(src, "TS_bomb.zip", raw_zip([Entry(b"zeros.wav", bytes(2_000_000), method=8)]))
    ingest(src, out)
    assert reasons(out) == {"bomb"}
    assert not (out / TRAIN / "01.원천데이터" / "TS_bomb").exists() or not list(
        (out / TRAIN / "01.원천데이터" / "TS_bomb").rglob("*.wav")
    )
    assert_good_ingested(out, members)


def test_member_expanding_past_its_declared_size(tree) -> None:
    src, out, members = tree
    _hostile(src, "TS_liar.zip", raw_zip([Entry(b"liar.wav", os.urandom(1000) * 50, method=8, size=1000)]))
    ingest(src, out, max_ratio=1e9)
    assert reasons(out) == {"size_mismatch"}
    assert_good_ingested(out, members)


def test_member_over_the_size_limit(tree) -> None:
    src, out, members = tree
    _hostile(src, "TS_big.zip", raw_zip([Entry(b"big.wav", os.urandom(300_000))]))
    ingest(src, out, max_member_bytes=200_000)
    assert reasons(out) == {"too_large"}
    assert_good_ingested(out, members)


def test_duplicate_member_names(tree) -> None:
    src, out, members = tree
    nfd = unicodedata.normalize("NFD", "답.wav").encode()
    blob = raw_zip(
        [
            Entry(b"d/x.wav", b"one"),
            Entry(b"d/x.wav", b"two"),
            Entry("답.wav".encode(), b"3"),
            Entry(nfd, b"4"),
        ]
    )
    _hostile(src, "TS_dup.zip", blob)
    ingest(src, out)
    found = rejects(out)
    assert {r["reason"] for r in found} == {"duplicate_name"} and len(found) == 4
    assert not (out / TRAIN / "01.원천데이터" / "TS_dup" / "d" / "x.wav").exists()
    assert_good_ingested(out, members)


def test_empty_archive(tree) -> None:
    src, out, members = tree
    _hostile(src, "TS_empty.zip", raw_zip([]))
    _hostile(src, "TS_zero.zip", b"")
    _hostile(src, "TS_dirs.zip", raw_zip([Entry(b"a/", b""), Entry(b"a/b/", b"")]))
    ingest(src, out)
    assert [r["reason"] for r in rejects(out)] == ["empty_archive"] * 3
    assert_good_ingested(out, members)


def test_undecodable_name(tree) -> None:
    src, out, members = tree
    long = "가".encode() * 90 + b".wav"  # 274 bytes: over NAME_MAX
    _hostile(
        src,
        "TS_badname.zip",
        raw_zip([Entry(b"bad\xff\xfe.wav", b"x"), Entry(long, b"z"), Entry(b"ok.wav", b"y")]),
    )
    ingest(src, out)
    assert [r["reason"] for r in rejects(out)] == ["bad_name", "bad_name"]
    assert (out / TRAIN / "01.원천데이터" / "TS_badname" / "ok.wav").read_bytes() == b"y"
    assert_good_ingested(out, members)


def test_not_enough_disk(tree) -> None:
    """The big archive holds 3 GB (sparse: its bytes are never read); the params limit leaves room for 1 GB."""
    src, out, members = tree
    out.mkdir()
    sparse_stored_zip(src / TRAIN / "01.원천데이터" / "TS_huge.zip", b"huge.wav", 3 << 30)
    free = shutil.disk_usage(out).free
    ingest(src, out, min_free_bytes=free - (1 << 30))
    [reject] = rejects(out)
    assert reject["reason"] == "no_space" and "ingest.min_free_bytes" in reject["message"]
    assert_good_ingested(out, members)


def test_error_body_download_tar(tree) -> None:
    src, out, members = tree
    (src / "download.tar").write_bytes(b'{"status": 502, "message": "not approved for this dataset"}')
    ingest(src, out)
    [reject] = rejects(out)
    assert reject["reason"] == "error_body" and "not approved" in reject["message"]
    assert_good_ingested(out, members)


def test_link_planted_in_the_output_is_not_followed(tree, tmp_path: Path) -> None:
    src, out, members = tree
    _hostile(src, "TS_target.zip", raw_zip([Entry(b"x.wav", b"data")]))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = out / TRAIN / "01.원천데이터" / "TS_target"
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    ingest(src, out)
    assert reasons(out) == {"outside_out"}
    assert list(elsewhere.iterdir()) == []
    assert_good_ingested(out, members)


@pytest.mark.parametrize(
    ("kind", "name", "reason"),
    [
        ("sym", "a/link.wav", "symlink"),
        ("reg", "../../evil.wav", "path_traversal"),
        ("fifo", "a/p", "special_file"),
    ],
)
def test_hostile_tar_members(tree, tmp_path: Path, kind: str, name: str, reason: str) -> None:
    src, out, members = tree
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo(name)
        info.type = {"sym": tarfile.SYMTYPE, "reg": tarfile.REGTYPE, "fifo": tarfile.FIFOTYPE}[kind]
        info.linkname = "/etc/passwd" if kind == "sym" else ""
        tf.addfile(info, io.BytesIO(b""))
        ok = tarfile.TarInfo("a/ok.json")
        ok.size = 2
        tf.addfile(ok, io.BytesIO(b"{}"))
    (src / TRAIN / "02.라벨링데이터" / "TL_tar.tar").write_bytes(buf.getvalue())
    ingest(src, out)
    assert reasons(out) == {reason}
    assert (out / TRAIN / "02.라벨링데이터" / "TL_tar" / "a" / "ok.json").read_bytes() == b"{}"
    assert (
        not list(tmp_path.rglob("evil.wav"))
        and not (out / TRAIN / "02.라벨링데이터" / "TL_tar" / "a" / "link.wav").exists()
    )
    assert_good_ingested(out, members)


def test_output_inside_src_is_not_ingested_again(tree) -> None:
    src, _, members = tree
    out = src / "raw"
    nested = raw_zip([Entry(b"inner.wav", b"inner")])
    (src / TRAIN / "01.원천데이터" / "TS_nested.zip").write_bytes(raw_zip([Entry(b"TS_inner.zip", nested)]))
    ingest(src, out)
    first = (out / "_manifest.jsonl").read_bytes()
    report = ingest(src, out)
    assert report.skipped == report.archives == 3 and (out / "_manifest.jsonl").read_bytes() == first
    assert_good_ingested(out, members)


def test_pairing_tolerates_real_world_spellings() -> None:
    from callbot.aihub.layout import pair_archives

    result = pair_archives(
        [
            "set/Validation/원천/VS_02.실외.zip",
            "set/Validation/라벨/VL_02..실외.zip",  # the doubled dot seen in a real set
            "set/Training/[원천]TS_a_1.zip",
            "set/Training/[라벨]TL_a.zip",
            "set/Training/TL_orphan.zip",
            "set/readme.zip",
        ]
    )
    assert [
        (p["split"], Path(p["label"]).name, [Path(s).name for s in p["sources"]]) for p in result["pairs"]
    ] == [
        ("Training", "[라벨]TL_a.zip", ["[원천]TS_a_1.zip"]),
        ("Validation", "VL_02..실외.zip", ["VS_02.실외.zip"]),
    ]
    assert [u["archive"] for u in result["unpaired"]] == ["set/Training/TL_orphan.zip"]
    assert "TS_orphan" in result["unpaired"][0]["why"] and result["other"] == ["set/readme.zip"]


def test_merged_copy_next_to_its_parts(tree) -> None:
    """aihubshell merges in place: when X.zip and X.zip.part* both exist, X.zip is used, parts reported."""
    src, out, members = tree
    path, parts = _split_bad(src)
    path.write_bytes(b"".join(p.read_bytes() for p in parts))
    ingest(src, out)
    [reject] = rejects(out)
    assert reject["reason"] == "stray_part" and "merged" in reject["message"]
    assert (out / TRAIN / "01.원천데이터" / "TS_09.split_Male_New" / "b" / "3.wav").stat().st_size == 3000
    assert_good_ingested(out, members)


def test_damaged_deflate_stream(tree) -> None:
    src, out, members = tree
    blob = bytearray(
        raw_zip([Entry(b"z/ok.json", b"{}" * 50, method=8), Entry(b"z/bad.json", b"x" * 100, method=8)])
    )
    data_at = blob.index(b"z/bad.json") + len(b"z/bad.json")  # local header name, then the deflate stream
    blob[data_at] = 0xFF  # BFINAL=1, BTYPE=11: a block type that does not exist
    _hostile(src, "TL_deflate.zip", bytes(blob))
    ingest(src, out)
    [reject] = rejects(out)
    assert reject["reason"] == "corrupt_data" and reject["member"] == "z/bad.json"
    assert (out / TRAIN / "01.원천데이터" / "TL_deflate" / "z" / "ok.json").exists()
    assert_good_ingested(out, members)


def test_end_signature_inside_member_data_is_not_taken_for_the_end(tree) -> None:
    """A cut-off zip whose last data bytes happen to hold "PK\\5\\6" is still reported as truncated."""
    src, out, members = tree
    decoy = os.urandom(500) + b"PK\x05\x06" + b"\xff" * 40
    blob = raw_zip([Entry(b"d/decoy.wav", decoy)])
    cut = blob[: blob.index(decoy) + len(decoy)]
    _hostile(src, "TS_decoy.zip", cut)
    ingest(src, out)
    assert reasons(out) == {"truncated"}
    assert_good_ingested(out, members)
