"""`callbot sample` (interview): layout, label schema, WAV metadata, parts, quirks, determinism.

Trees are small (40 records, stub audio, 1 KiB parts) so every property is checked on every file
in seconds; real speech is checked in test_sample_speech.py. Expectations come from the dataset
page (seed 000) and the records contract (callbot.prepare.schema), not from the generator's code.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import wave
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callbot.cli import app
from callbot.prepare import schema
from callbot.sample import run_sample
from callbot.sample.archives import join_parts, part_offset
from callbot.sample.interview import build_record, plan_records
from callbot.sample.layout import STRATA, allocate
from callbot.sample.params import SampleParams

RECORDS = 40
PART_SIZE = 1024
ROOT = Path("129.채용면접 인터뷰 데이터") / "01-1.정식개방데이터"
ARCHIVE = re.compile(r"^(TS|TL|VS|VL)_(0[1-7]\.[A-Za-z]+)_(Female|Male)_(Experienced|New)\.zip$")
OCC_FOLDERS = {
    "01.Management": ("BM", "bm"),
    "02.SalesMarketing": ("SM", "sm"),
    "03.PublicService": ("PS", "ps"),
    "04.RND": ("RND", "rnd"),
    "05.ICT": ("ICT", "ict"),
    "06.Design": ("ARD", "ard"),
    "07.ProductionManufacturing": ("MM", "mm"),
}
GENDER_SPELLINGS = {"FEMALE", "MALE", "FEMAIL", "MAILE", "Female", "Male", "female", "male"}
EXPERIENCE_SPELLINGS = {"NEW", "EXPERIENCED", "New", "Experienced", "new", "experienced"}


def _params(out: Path, **overrides: object) -> SampleParams:
    values: dict[str, object] = dict(
        out=str(out), records=RECORDS, seed=7, part_size=PART_SIZE, audio="stub", clean=False, workers=1
    )
    values.update(overrides)
    return SampleParams(**values)


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _archives(out: Path) -> dict[Path, bytes]:
    """Every archive (path without .part suffix) -> its bytes, parts joined by integer offset."""
    groups: dict[Path, list[Path]] = {}
    for path in (out / ROOT).rglob("*"):
        if path.name.endswith(".zip"):
            groups.setdefault(path, []).append(path)
        elif part_offset(path) is not None:
            groups.setdefault(path.with_name(path.name.rpartition(".part")[0]), []).append(path)
    blobs = {}
    for zip_path, parts in groups.items():
        if parts == [zip_path]:
            blobs[zip_path] = zip_path.read_bytes()
        else:
            joined = zip_path.with_name(zip_path.name + ".joined")
            join_parts(parts, joined)
            blobs[zip_path] = joined.read_bytes()
            joined.unlink()
    return blobs


def _member_name(info: zipfile.ZipInfo) -> str:
    """The real name: UTF-8-flagged names as given, others were CP949 bytes (Python read CP437)."""
    if info.flag_bits & 0x800:
        return info.filename
    return info.filename.encode("cp437").decode("cp949")


def _labels(out: Path) -> dict[str, tuple[Path, bytes]]:
    """Label member path -> (its archive, raw JSON bytes)."""
    found = {}
    for archive, blob in _archives(out).items():
        if archive.name.startswith(("TL_", "VL_")):
            with zipfile.ZipFile(io.BytesIO(blob)) as zf:
                for info in zf.infolist():
                    if info.filename.endswith(".json"):
                        found[info.filename] = (archive, zf.read(info))
    return found


def _wavs(out: Path) -> dict[str, bytes]:
    found = {}
    for archive, blob in _archives(out).items():
        if archive.name.startswith(("TS_", "VS_")):
            with zipfile.ZipFile(io.BytesIO(blob)) as zf:
                for info in zf.infolist():
                    if info.filename.endswith(".wav"):
                        found[info.filename] = zf.read(info)
    return found


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "download"
    run_sample(_params(out))
    return out


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "download"
    run_sample(_params(out, clean=True))
    return out


def test_same_arguments_give_a_byte_identical_tree(tree: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run_sample(_params(again, workers=2))  # parallelism must not change a byte
    assert _digest(again) == _digest(tree)
    other = tmp_path / "other"
    run_sample(_params(other, seed=8))
    assert _digest(other) != _digest(tree)


def test_layout_and_archive_names_follow_the_page(tree: Path) -> None:
    archives = _archives(tree)
    assert archives
    for path in archives:
        rel = path.relative_to(tree / ROOT)
        split, folder = rel.parts[0], rel.parts[1]
        assert ARCHIVE.match(path.name), path.name
        prefix = path.name[:2]
        assert split == {"T": "Training", "V": "Validation"}[prefix[0]]
        expected = "01.원천데이터" if prefix[1] == "S" else "02.라벨링데이터"
        assert folder == expected or re.fullmatch(r"02\.라벨링데이터_\d{8}_add", folder), rel
        assert OCC_FOLDERS.get(ARCHIVE.match(path.name)[2])


def test_every_stratum_has_training_records_and_validation_is_about_a_fifth(tree: Path) -> None:
    sources = [p.name for p in _archives(tree) if p.name.startswith("TS_")]
    assert len(sources) == 28  # 7 occupations x 2 genders x 2 experience levels
    wavs = _wavs(tree)
    training = sum(1 for a in _archives(tree) if a.name.startswith("TS_"))
    assert training == 28 and len(wavs) == 2 * RECORDS
    counts = allocate(84_134)  # at full scale the split is ~8:2 and strata follow the table
    assert sum(counts["Validation"]) == 16_826 and sum(counts["Training"]) == 67_308
    for stratum, train, val in zip(STRATA, counts["Training"], counts["Validation"], strict=True):
        assert abs((train + val) - stratum.published) <= 30, stratum.name
    assert min(allocate(28)["Training"]) == 1 and sum(allocate(28)["Validation"]) == 0


def test_every_label_conforms_to_the_page_schema(tree: Path) -> None:
    labels = _labels(tree)
    assert len(labels) == RECORDS
    ids = []
    for name, (archive, raw) in labels.items():
        doc = json.loads(raw.decode("utf-8-sig"))
        folder_occ, gender_dir, exp_dir, file = name.split("/")
        code, short = OCC_FOLDERS[folder_occ]
        tag = f"{short}_{gender_dir[0].lower()}_{exp_dir[0].lower()}"
        match = re.fullmatch(rf"ckmk_d_{tag}_(\d{{6}})\.json", file)
        assert match, name
        ids.append(match[1])
        assert archive.name.split("_", 1)[1].startswith(f"{folder_occ}_{gender_dir}_{exp_dir}")
        assert set(doc) == {"version", "dataSet", "rawDataInfo"} and doc["version"] == "1.0"
        info = doc["dataSet"]["info"]
        assert set(info) == {"date", "occupation", "channel", "place", "gender", "ageRange", "experience"}
        assert info["occupation"] == code and code in schema.OCCUPATIONS
        assert info["channel"] in schema.CHANNELS and info["place"] in schema.PLACES
        assert info["ageRange"] in schema.AGE_RANGES
        assert info["gender"] in GENDER_SPELLINGS and info["gender"].upper()[0] == gender_dir[0].upper()
        assert info["experience"] in EXPERIENCE_SPELLINGS
        assert info["experience"].upper()[0] == exp_dir[0].upper()
        assert re.fullmatch(r"20(22|23)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])", info["date"])
        question, answer = doc["dataSet"]["question"], doc["dataSet"]["answer"]
        assert set(question) == {"raw", "emotion", "intent"}
        assert set(answer) == {"raw", "emotion", "intent", "summary"}
        for part in (question["raw"], answer["raw"], answer["summary"]):
            assert set(part) == {"text", "wordCount"}
            assert part["wordCount"] == len(part["text"].split()) >= 1
            assert re.search("[가-힣]", part["text"])
        assert 1 <= answer["raw"]["wordCount"] <= 1000
        assert answer["summary"]["wordCount"] < answer["raw"]["wordCount"]
        assert answer["emotion"] and answer["intent"]
        for emotion in answer["emotion"]:
            assert set(emotion) == {"text", "expression", "category"}
            assert emotion["category"] in schema.EMOTIONS and emotion["text"] in answer["raw"]["text"]
        for intent in answer["intent"] + question["intent"]:
            assert set(intent) == {"text", "expression", "category"}
            assert intent["category"] in schema.INTENTS
        assert set(doc["rawDataInfo"]) == {"question", "answer"}
        for kind, meta in (("q", doc["rawDataInfo"]["question"]), ("a", doc["rawDataInfo"]["answer"])):
            assert set(meta) == {
                "fileFormat",
                "fileSize",
                "duration",
                "samplingBit",
                "channelCount",
                "samplingRate",
                "audioPath",
            }
            assert meta["fileFormat"] == "wav" and meta["samplingRate"] == "16kHz"
            assert meta["samplingBit"] == 16 and meta["channelCount"] == 1
            assert isinstance(meta["duration"], int) and isinstance(meta["fileSize"], int)
            wav = f"{folder_occ}/{gender_dir}/{exp_dir}/ckmk_{kind}_{tag}_{match[1]}.wav"
            assert meta["audioPath"] == f"/Mock/{wav}"  # the page's prefix; members lack it
    assert len(set(ids)) == len(ids)  # ids unique over the tree


def test_wav_headers_match_label_metadata(tree: Path) -> None:
    wavs = _wavs(tree)
    checked = 0
    for _, raw in _labels(tree).values():
        doc = json.loads(raw.decode("utf-8-sig"))
        for meta in doc["rawDataInfo"].values():
            data = wavs[meta["audioPath"].removeprefix("/Mock/")]
            assert len(data) == meta["fileSize"]
            with wave.open(io.BytesIO(data)) as wav:
                assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
                assert wav.getnframes() > 0
                assert meta["duration"] == round(wav.getnframes() * 1000 / 16000)
            checked += 1
    assert checked == len(wavs) == 2 * RECORDS  # every WAV has a label and vice versa


def test_parts_are_byte_offsets_contiguous_and_string_sort_breaks_them(tree: Path) -> None:
    root = tree / ROOT
    parts: dict[Path, list[Path]] = {}
    for path in root.rglob("*.part*"):
        parts.setdefault(path.with_name(path.name.rpartition(".part")[0]), []).append(path)
    assert parts and max(len(v) for v in parts.values()) > 10
    for archive, pieces in parts.items():
        assert not archive.exists()  # the merged zip is not left beside its parts
        ordered = sorted(pieces, key=lambda p: part_offset(p))
        position = 0
        for piece in ordered:
            assert part_offset(piece) == position, piece.name
            position += piece.stat().st_size
        assert all(p.stat().st_size == PART_SIZE for p in ordered[:-1])
        assert 0 < ordered[-1].stat().st_size <= PART_SIZE
    archive, pieces = max(parts.items(), key=lambda kv: len(kv[1]))
    by_offset = b"".join(p.read_bytes() for p in sorted(pieces, key=lambda p: part_offset(p)))
    by_string = b"".join(p.read_bytes() for p in sorted(pieces, key=lambda p: p.name))
    assert _readable(by_offset) is not None
    assert by_string != by_offset
    assert _readable(by_string) != _readable(by_offset)


def _readable(blob: bytes) -> dict[str, bytes] | None:
    """Every member's bytes, or None when the zip cannot be read back intact."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            return {info.filename: zf.read(info) for info in zf.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def _quirks(out: Path) -> dict[str, object]:
    cp949, nfd, names = [], [], []
    for archive, blob in _archives(out).items():
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            for info in zf.infolist():
                names.append(info.filename)
                if not info.flag_bits & 0x800 and not info.filename.isascii():
                    cp949.append((archive.name, _member_name(info)))
                if info.flag_bits & 0x800 and unicodedata.normalize("NFC", info.filename) != info.filename:
                    nfd.append((archive.name, info.filename))
    labels = _labels(out)
    docs = [json.loads(raw.decode("utf-8-sig"))["dataSet"]["info"] for _, raw in labels.values()]
    patch = sorted(p.name for p in (out / ROOT / "Training").iterdir() if p.name.endswith("_add"))
    return {
        "cp949": cp949,
        "nfd": nfd,
        "bom": [n for n, (_, raw) in labels.items() if raw.startswith(b"\xef\xbb\xbf")],
        "genders": Counter(d["gender"] for d in docs),
        "experiences": Counter(d["experience"] for d in docs),
        "patch": patch,
        "patch_labels": [n for n, (a, _) in labels.items() if a.parent.name.endswith("_add")],
    }


def test_each_quirk_is_present_by_default(tree: Path) -> None:
    q = _quirks(tree)
    assert q["cp949"] and all(re.search("[가-힣]", name) for _, name in q["cp949"])
    assert q["nfd"] and all(re.search("[가-힣]", unicodedata.normalize("NFC", n)) for _, n in q["nfd"])
    assert q["bom"]
    assert set(q["genders"]) - {"FEMALE", "MALE"}
    assert {"FEMAIL", "MAILE"} & set(q["genders"])  # the page's own misspellings
    assert set(q["experiences"]) - {"NEW", "EXPERIENCED"}
    assert q["patch"] == ["02.라벨링데이터_20230628_add"]
    assert q["patch_labels"]
    wavs = _wavs(tree)
    for name in q["patch_labels"]:  # labels in the patch pair with source archives elsewhere
        assert name.replace("ckmk_d_", "ckmk_a_").replace(".json", ".wav") in wavs


def test_clean_turns_every_quirk_off(clean_tree: Path) -> None:
    q = _quirks(clean_tree)
    assert not q["cp949"] and not q["nfd"] and not q["bom"] and not q["patch"]
    assert set(q["genders"]) <= {"FEMALE", "MALE"} and set(q["experiences"]) <= {"NEW", "EXPERIENCED"}
    assert len(_labels(clean_tree)) == RECORDS and len(_wavs(clean_tree)) == 2 * RECORDS


def test_rerun_replaces_only_its_own_dataset_folder(tmp_path: Path) -> None:
    out = tmp_path / "download"
    run_sample(_params(out, records=28))
    sibling = out / "98.other dataset" / "keep.txt"
    sibling.parent.mkdir()
    sibling.write_text("kept", encoding="utf-8")
    stale = out / ".129.채용면접 인터뷰 데이터.partial-4194305"  # a killed run's (pid above pid_max)
    (stale / "01-1.정식개방데이터").mkdir(parents=True)
    run_sample(_params(out, records=29))
    assert not stale.exists()
    assert sibling.read_text(encoding="utf-8") == "kept"
    assert len(_labels(out)) == 29
    assert not [p for p in out.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_cli_writes_the_tree_and_refuses_a_foreign_folder(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "download"
    sample = ["sample", "--dataset", "interview"]  # without --dataset: both, interview first
    args = ["--params", str(repo / "params.yaml"), *sample, "--out", str(out), "--records", "28"]
    result = CliRunner().invoke(app, [*args, "--audio", "stub", "--workers", "1", "--clean"])
    assert result.exit_code == 0, result.output
    assert "sample: 28 interviews" in result.output
    assert len(_labels(out)) == 28
    foreign = tmp_path / "real"
    (foreign / "129.채용면접 인터뷰 데이터").mkdir(parents=True)
    (foreign / "129.채용면접 인터뷰 데이터" / "TS_real.zip").write_bytes(b"real data")
    args[args.index(str(out))] = str(foreign)
    result = CliRunner().invoke(app, [*args, "--audio", "stub"])
    assert result.exit_code == 2
    assert "refusing to overwrite" in result.output
    assert (foreign / "129.채용면접 인터뷰 데이터" / "TS_real.zip").read_bytes() == b"real data"
    result = CliRunner().invoke(app, [*args[:-2], "--records", "5", "--audio", "stub"])
    assert result.exit_code == 2 and "sample.records" in result.output


def test_validation_holds_sentences_never_seen_in_training() -> None:
    """Held-out evaluation needs unseen sentences, as with the real 84,134 interviews."""
    params = _params(Path("unused"), records=240, seed=0)
    sentences: dict[str, set[str]] = {"Training": set(), "Validation": set()}
    for plan in plan_records(params):
        label = json.loads(build_record(plan).label[1].decode("utf-8-sig"))
        answer = label["dataSet"]["answer"]["raw"]["text"]
        sentences[plan.split].update(s.strip() for s in answer.split(". ") if s.strip())
    unseen = sentences["Validation"] - sentences["Training"]
    assert len(unseen) > 0.2 * len(sentences["Validation"])
    assert all(re.search("[가-힣]", s) for s in unseen)
