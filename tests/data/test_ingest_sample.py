"""End to end: `callbot sample` (stub audio, quirks on) -> `callbot ingest`.

Every member of every sample archive must land under its correct Korean NFC name with the bytes of
the source member. The expected names and bytes come from :mod:`zipfile` over the parts joined in
memory, not from ingest's own decoder, so a decoding or ordering bug in ingest cannot hide.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from pathlib import Path

from callbot.aihub.ingest import run_ingest
from callbot.aihub.params import IngestParams
from callbot.sample import run_sample
from callbot.sample.params import SampleParams

PART = re.compile(r"^(?P<zip>.+\.zip)\.part(?P<offset>\d+)$")


def _source_archives(src: Path) -> dict[str, bytes]:
    """Archive path relative to SRC (no .part suffix) -> the whole zip's bytes."""
    groups: dict[str, list[tuple[int, Path]]] = {}
    for path in src.rglob("*"):
        match = PART.match(path.name)
        if match:
            rel = (path.parent / match["zip"]).relative_to(src).as_posix()
            groups.setdefault(rel, []).append((int(match["offset"]), path))
        elif path.name.endswith(".zip"):
            groups.setdefault(path.relative_to(src).as_posix(), []).append((0, path))
    return {rel: b"".join(p.read_bytes() for _, p in sorted(parts)) for rel, parts in groups.items()}


def _member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename if info.flag_bits & 0x800 else info.filename.encode("cp437").decode("cp949")
    return unicodedata.normalize("NFC", name)


def test_sample_tree_ingests_byte_identical_under_korean_names(tmp_path: Path) -> None:
    src, out = tmp_path / "download", tmp_path / "raw"
    run_sample(
        SampleParams(out=str(src), records=120, seed=3, part_size=4096, audio="stub", clean=False, workers=1)
    )
    archives = _source_archives(src)
    parts = [len(list(src.rglob(f"{Path(rel).name}.part*"))) for rel in archives]
    assert max(parts) > 10  # string order != offset order for at least one archive
    params = IngestParams(
        src=str(src),
        out=str(out),
        max_ratio=200.0,
        max_member_bytes=1 << 30,
        min_free_bytes=0,
        workers=2,
        strict=True,
    )
    report = run_ingest(src, out, params, strict=True)
    assert not report.fatal and report.rejects == []
    manifest = {
        e["path"]: e for e in map(json.loads, (out / "_manifest.jsonl").read_text("utf-8").splitlines())
    }
    expected = 0
    korean_names = 0
    for rel, blob in archives.items():
        folder = Path(rel).parent / Path(rel).name.removesuffix(".zip")
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                name = _member_name(info)
                target = (folder / name).as_posix()
                assert (out / target).read_bytes() == zf.read(info), target
                assert manifest[target]["archive"] == rel and manifest[target]["member"] == name
                korean_names += any("가" <= ch <= "힣" for ch in name)
                expected += 1
    assert expected == len(manifest) == report.files
    assert korean_names >= 2  # the CP949 and NFD quirk members were among them
    pairs = json.loads((out / "_pairs.json").read_text("utf-8"))
    assert pairs["pairs"] and not any(
        u["archive"].endswith(".zip") and "TS_" in u["archive"] for u in pairs["unpaired"]
    )
