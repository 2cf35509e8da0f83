"""The phone-line set (저음질 전화망): generator, content split, its adapter, and the seam it proves.

The seam test runs sample -> ingest -> prepare -> validate on a tree holding all three datasets: the
phone adapter was added without an edit in callbot/quality, and the gate still passes, 8 kHz and all.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile

from callbot.prepare.adapters import datasets_feeding, expected_sample_rate, stratum_of
from callbot.prepare.adapters.phone import check_transcript
from callbot.sample.phone import DATASET_DIR, build_sessions, corpus, holdout, write_phone_tree


def _sample(params, out: Path, **extra):
    return params.sample.model_validate({**params.sample.model_dump(), "out": str(out), **extra})


@pytest.fixture(scope="module")
def three(tmp_path_factory, params) -> dict[str, Path]:
    """A stub-audio download with interview, call-centre and phone sets, ingested and prepared."""
    from callbot.aihub.ingest import run_ingest
    from callbot.prepare.run import run_prepare
    from callbot.sample import DATASETS, run_sample

    root = tmp_path_factory.mktemp("three")
    download, raw, prepared = root / "download", root / "raw", root / "prepared"
    sample = _sample(  # phone_share 0: the call-centre stub tones (150-300 Hz) fall below the phone band
        params,
        download,
        records=30,
        audio="stub",
        workers=1,
        callcenter_dialogues=60,
        phone_sentences=120,
        phone_short_answers=20,
        phone_lexicon_sentences=12,
        phone_share=0.0,
    )
    assert DATASETS[0] == "interview" and "phone" in DATASETS  # interview first: it replaces the tree
    for dataset in DATASETS:
        run_sample(sample, dataset=dataset)
    ingest = params.ingest.model_validate(
        {**params.ingest.model_dump(), "src": str(download), "out": str(raw)}
    )
    assert not run_ingest(download, raw, ingest, strict=False).fatal
    run_prepare(raw, prepared, params.prepare)
    return {"root": root, "download": download, "raw": raw, "prepared": prepared}


def test_content_split_keeps_sentences_words_and_voices_out_of_training(params) -> None:
    c = corpus()
    held = holdout(c, params.sample.seed)
    sessions = build_sessions(_sample(params, Path("unused"), phone_sentences=1500, phone_lexicon_sentences=0), c)
    turns = [(s, t) for s in sessions for _, t in s.turns if t not in c.short_answers]
    assert len(turns) == 1500
    assert len({t for _, t in turns}) == 1500  # every sentence distinct (lone short answers apart)
    train = [(s, t) for s, t in turns if s.split == "Training"]
    valid = [(s, t) for s, t in turns if s.split == "Validation"]
    assert len(valid) > 150 and {t for _, t in train}.isdisjoint(t for _, t in valid)
    train_variants = {v.variant for s, _ in train for v in s.voices}
    assert train_variants.isdisjoint(held.variants) and len(train_variants) >= 50
    assert held.rate not in {v.rate for s, _ in train for v in s.voices}
    assert held.pitch not in {v.pitch for s, _ in train for v in s.voices}
    valid_variants = {v.variant for s, _ in valid for v in s.voices}
    assert valid_variants & held.variants and valid_variants - held.variants  # seen and unseen voices
    held_words = held.all_words()
    assert len(held_words) >= 10 and not any(w in t for _, t in train for w in held_words)
    assert any(w in t for _, t in valid for w in held_words)
    texts = [t for _, t in turns]
    for mark in (")/(", "어/", "b/"):  # dual forms, fillers, noise tags
        assert sum(mark in t for t in texts) > 5, mark
    assert all(check_transcript(t) is None for t in texts)


def test_phone_adapter_reads_the_generated_tree(three) -> None:
    rows = pq.read_table(three["prepared"] / "records.parquet").to_pylist()
    phone = [r for r in rows if r["dataset"] == "phone"]
    assert len(phone) == 152  # 120 sentences, 20 lone short answers and 12 lexicon sentences (Training only)
    answers = set(corpus().short_answers)
    assert {r["split"] for r in phone if r["text"] in answers} == {"train"}
    assert {r["sample_rate"] for r in phone} == {8000} and {r["channel"] for r in phone} == {"phone"}
    assert all(r["voice"] and r["speaker"] in ("customer", "agent") and r["gender"] for r in phone)
    assert all(abs(r["duration_ms"] - r["duration_actual_ms"]) < 5 for r in phone)
    for r in phone:  # the split follows the folder: 1.Training -> train, 2.Validation -> validation/test
        assert (r["split"] == "train") == ("/1.Training/" in r["label_path"])
        assert "(" not in r["text"] and "/" not in r["text"] and r["text"]
    assert any(")/(" in r["text_raw"] for r in phone)
    assert stratum_of(phone[0]) == f"phone/{phone[0]['domain']}"
    quarantine = (three["prepared"] / "quarantine.jsonl").read_text(encoding="utf-8")
    assert "phone" not in quarantine  # the BOM and CP949 transcripts are read, not rejected
    from datasets import load_from_disk

    stt = load_from_disk(str(three["prepared"] / "stt"))
    stt_phone = [r for split in stt.values() for r in split if r["dataset"] == "phone"]
    assert len(stt_phone) == 152 and "phone" in datasets_feeding("stt")
    from callbot.contracts import stt_audio_file

    audio = stt_audio_file(three["prepared"] / "stt", stt_phone[0]["audio"]["path"])
    assert soundfile.info(str(audio)).samplerate == 8000  # the file's own rate; the STT trainer resamples


def test_malformed_dual_form_and_unknown_tag_are_quarantined(three, params, tmp_path: Path) -> None:
    from callbot.prepare.run import run_prepare

    raw = tmp_path / "raw"
    shutil.copytree(three["raw"] / DATASET_DIR, raw / DATASET_DIR)
    texts = sorted((raw / DATASET_DIR).rglob("*.txt"))
    texts[0].write_text("(3개)/(세 개 샀어요", encoding="utf-8")
    texts[1].write_text("x/ 안녕하세요 (1339)/(일삼삼구)", encoding="utf-8")
    report = run_prepare(raw, tmp_path / "prepared", params.prepare)
    lines = [json.loads(x) for x in (tmp_path / "prepared" / "quarantine.jsonl").read_text().splitlines()]
    reasons = {(q["utterance"], q["reason"]) for q in lines}
    ids = [f"{t.parent.name}_{t.stem}" for t in texts[:2]]
    assert reasons == {(ids[0], "malformed_dual_form"), (ids[1], "unknown_tag")}
    assert report.records == 150 and report.quarantined == 2  # their WAVs are not left unlabelled
    assert check_transcript("b/ 어/ (010-1234-5678)/(공일공 일이삼사 오육칠팔)로 n/") is None
    assert check_transcript("()/(일) 전화")[0] == "malformed_dual_form"


def test_gate_passes_on_all_three_datasets_without_edits_in_quality(three, params, tmp_path: Path) -> None:
    import pandas as pd

    from callbot.quality.gate import run_validate
    from callbot.quality.params import ValidateParams

    prepared = tmp_path / "prepared"
    shutil.copytree(three["prepared"], prepared)
    records = pd.read_parquet(prepared / "records.parquet")
    assert set(records["dataset"]) == {"interview", "callcenter", "phone"}
    phone = records.index[records["dataset"] == "phone"]
    records.loc[phone[0], "voice"] = None  # a phone row without what its adapter requires
    records.loc[phone[1], "sample_rate"] = 16000  # wideband audio in the 8 kHz set
    records.to_parquet(prepared / "records.parquet", index=False)
    section = params.validate_.model_dump()
    section.update(manifest=str(three["raw"] / "_manifest.jsonl"), context=str(tmp_path / "gx"))
    section["audio"]["duration_min_ms"] = 50.0  # stub WAVs are about 70 ms long
    assert section["audio"]["sample_rate"] == 16000 and expected_sample_rate("phone", 16000) == 8000
    result = run_validate(prepared, tmp_path / "report", ValidateParams.model_validate(section))
    assert result.passed, result.reasons
    bad = records.loc[phone[:2], "utterance_id"].tolist()
    assert set(result.quarantine) == set(bad)  # and no 8 kHz phone row set aside by a 16 kHz rule
    assert result.quarantine[bad[0]] == ["expect_column_values_to_not_be_null"]
    assert result.quarantine[bad[1]] == ["expect_sample_rate"]


@pytest.mark.slow
def test_phone_speech_is_8khz_telephone_band_and_reproducible(tmp_path: Path, params) -> None:
    extra = dict(
        phone_sentences=12,
        phone_short_answers=2,
        phone_lexicon_sentences=2,
        audio="speech",
        workers=2,
        part_size=1 << 30,
        clean=True,
    )
    first = write_phone_tree(_sample(params, tmp_path / "a", **extra))
    second = write_phone_tree(_sample(params, tmp_path / "b", **extra))
    zips = sorted(p.relative_to(first) for p in first.rglob("*.zip"))
    assert zips and all((first / z).read_bytes() == (second / z).read_bytes() for z in zips)
    import io
    import zipfile

    source = next(first.rglob("TS_*.zip"))
    with zipfile.ZipFile(source) as archive:
        wav = archive.read(next(n for n in archive.namelist() if n.endswith(".wav")))
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="float64")
    assert rate == 8000 and len(samples) > 0.4 * rate
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = spectrum[(freqs > 300) & (freqs < 3400)].sum() / spectrum.sum()
    assert band > 0.8  # speech energy sits in the telephone band
