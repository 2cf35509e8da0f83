"""`kill -9` during ingest, then a re-run: the same tree and the same manifest as an uninterrupted run.

The kill lands at several moments of a real run in a subprocess (its whole process group, so pool
workers die too); the comparison covers every file under OUT, the state records included.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from zipcraft import Entry, raw_zip, write_parts

from callbot.aihub.ingest import run_ingest
from callbot.aihub.params import IngestParams

SCRIPT = """
import json, sys
from pathlib import Path
from callbot.aihub.ingest import run_ingest
from callbot.aihub.params import IngestParams
params = IngestParams(**json.loads(sys.argv[3]))
print("start", flush=True)
run_ingest(Path(sys.argv[1]), Path(sys.argv[2]), params)
"""


def _params(workers: int) -> dict[str, object]:
    return dict(
        src="-",
        out="-",
        max_ratio=200.0,
        max_member_bytes=1 << 33,
        min_free_bytes=0,
        workers=workers,
        strict=False,
    )


def _build(src: Path) -> None:
    """Three archives of ~12 MB (one split in 5 parts), many members each, plus one refused archive."""
    block = os.urandom(1 << 20)
    base = src / "129.채용면접 인터뷰 데이터" / "01-1.정식개방데이터" / "Training" / "01.원천데이터"
    base.mkdir(parents=True)
    for n in range(3):
        entries = [
            Entry(f"0{n}.Job/Male/New/ckmk_a_{i:04d}.wav".encode(), block[i:] + block[:i]) for i in range(12)
        ]
        blob = raw_zip(entries)
        if n == 0:
            write_parts(base / f"TS_0{n}.Job_Male_New.zip", blob, len(blob) // 4)
        else:
            (base / f"TS_0{n}.Job_Male_New.zip").write_bytes(blob)
    with zipfile.ZipFile(base.parent / "TL_00.Job_Male_New.zip", "w") as zf:
        zf.writestr("a.json", "{}")
    (base / "TS_bad.zip").write_bytes(raw_zip([Entry(b"../x.wav", b"x"), Entry(b"ok.wav", b"ok")]))


def _tree(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _killed_run(src: Path, out: Path, workers: int, delay: float) -> bool:
    """Start ingest, SIGKILL its process group ``delay`` s after it began; True if it was still running."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(src), str(out), json.dumps(_params(workers))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"start"
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_then_rerun_equals_an_uninterrupted_run(tmp_path: Path, workers: int) -> None:
    src = tmp_path / "src"
    _build(src)
    reference = tmp_path / "reference"
    started = time.perf_counter()
    run_ingest(src, reference, IngestParams(**_params(1)))
    took = time.perf_counter() - started
    expected = _tree(reference)
    assert any(k.endswith("ckmk_a_0011.wav") for k in expected)
    killed_mid_run = 0
    for attempt, fraction in enumerate((0.2, 0.6)):
        out = tmp_path / f"out{attempt}"
        killed_mid_run += _killed_run(src, out, workers, took * fraction)
        killed_mid_run += _killed_run(src, out, workers, took * fraction / 2)  # and again while resuming
        run_ingest(src, out, IngestParams(**_params(workers)))
        assert _tree(out) == expected
    assert killed_mid_run >= 2  # the kills really interrupted work


def test_interrupted_archive_resumes_without_rewriting_finished_members(tmp_path: Path) -> None:
    """Members journaled before the interruption stay as they are (same inode); the rest are added."""
    from callbot.aihub.ingest import ingest_archive
    from callbot.aihub.parts import discover

    src, out = tmp_path / "src", tmp_path / "out"
    block = os.urandom(1 << 20)
    blob = raw_zip([Entry(f"a/{i:02d}.wav".encode(), block[i:] + block[:i]) for i in range(12)])
    write_parts(src / "TS_x.zip", blob, len(blob) // 3)
    [archive] = discover(src).archives
    seen = 0

    def interrupt(n: int) -> None:
        nonlocal seen
        seen += n
        if seen > 6 << 20:
            raise KeyboardInterrupt  # as a Ctrl-C or a kill would stop it, mid-archive

    with pytest.raises(KeyboardInterrupt):
        ingest_archive(archive, str(out), IngestParams(**_params(1)), interrupt)
    assert not (out / "_manifest.jsonl").exists()  # the archive is not in any manifest yet
    done = {p.name: p.stat().st_ino for p in (out / "TS_x" / "a").glob("*.wav")}
    assert 2 <= len(done) < 12
    report = run_ingest(src, out, IngestParams(**_params(1)))
    assert report.files == 12 and report.rejects == []
    after = {p.name: p.stat().st_ino for p in (out / "TS_x" / "a").glob("*.wav")}
    assert {name: after[name] for name in done} == done
    reference = tmp_path / "reference"
    run_ingest(src, reference, IngestParams(**_params(1)))
    assert (out / "_manifest.jsonl").read_bytes() == (reference / "_manifest.jsonl").read_bytes()


def test_resume_state_lives_outside_the_output_and_is_checked_against_it(tmp_path: Path) -> None:
    """OUT is a DVC output: it holds only content (no parts' mtimes), the same in every clone. The
    state beside it is trusted only while OUT still holds what it lists (DVC may replace OUT)."""
    from callbot.aihub.ingest import state_dir

    src, out = tmp_path / "src", tmp_path / "raw"
    blob = raw_zip([Entry(f"a/{i}.wav".encode(), bytes([i]) * 100) for i in range(3)])
    (src / "TS_x.zip").parent.mkdir(parents=True)
    (src / "TS_x.zip").write_bytes(blob)
    (out / ".ingest").mkdir(parents=True)  # a state of the old layout is moved out of the output
    (out / ".ingest" / "old.done").write_text("{}", encoding="utf-8")
    run_ingest(src, out, IngestParams(**_params(1)))
    assert state_dir(out) == tmp_path / "raw.ingest-state"
    assert (state_dir(out) / "old.done").is_file() and len(list(state_dir(out).glob("*.done"))) == 2
    assert not any(p.name.startswith(".") for p in out.rglob("*")), "nothing but content in OUT"
    expected = _tree(out)
    (out / "TS_x" / "a" / "1.wav").unlink()  # as a `dvc checkout` of another version might
    report = run_ingest(src, out, IngestParams(**_params(1)))
    assert report.skipped == 0 and _tree(out) == expected
    assert run_ingest(src, out, IngestParams(**_params(1))).skipped == 1
