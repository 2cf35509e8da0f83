"""The interview dataset (AI-Hub dataSetSn 71592) as a download tree, generated offline.

Nobody here can download the real set, so ingest, prepare and every later stage are built and
tested against this stand-in: same folders, archive names, member paths, label JSON and split
parts as a real `aihubshell` download, with real Korean speech. On a real host the same stages
read the real download unchanged.

QUIRKS (on by default; ``clean: true`` / ``--clean`` turns every one off). Each is present in
every default tree of 28 records or more, at fixed, testable places:

- ``cp949-name``: a ``<NN.Occupation>/설명서.txt`` member whose name is CP949 without the UTF-8
  flag (and CP949 content), in source archives of strata 0, 4, 8, ... and label archives of
  strata 1, 5, 9, ... (stratum = index in :data:`callbot.sample.layout.STRATA`).
- ``nfd-name``: a ``<member dir>/참고자료/면접 안내.txt`` member whose name is NFD (UTF-8 flag set),
  in source archives of strata 2, 6, ... and label archives of strata 3, 7, ...
- ``bom``: label JSON starting with a UTF-8 BOM, for records whose tree index % 10 == 3.
- ``spelling``: ``info.gender`` as FEMAIL / MAILE (the page's own misspellings), Female / Male
  or female / male for records whose index % 5 == 1, cycling through those three; and
  ``info.experience`` as New / new / Experienced / experienced for index % 7 == 2.
- ``patch-folder``: ``Training/02.라벨링데이터_20230628_add/TL_<stratum>.zip`` holding the last
  tenth (at least one) of the labels of the two largest Training strata, whose WAVs stay in
  ``01.원천데이터``; where a stratum has one record its main ``TL_`` archive is then absent.

Always (as on the real page, not a quirk): ``audioPath`` starts with ``/Mock`` although zip
members do not, archives are STORED, and large ones are left as ``X.zip.part<byte offset>``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from callbot.atomic import replace_dir, write_text
from callbot.sample import audio as sample_audio
from callbot.sample.archives import ArchiveWriter
from callbot.sample.layout import (
    AUDIO_PATH_PREFIX,
    DATASET_DIR,
    EXPERIENCE_LABEL,
    GENDER_LABEL,
    LABEL_DIR,
    PATCH_LABEL_DIR,
    RELEASE_DIR,
    SOURCE_DIR,
    SPLITS,
    STRATA,
    allocate,
    archive_name,
)
from callbot.sample.params import SampleParams
from callbot.sample.texts import interview_text, text_holdout, word_count

MARKER = ".callbot-sample-interview.json"  # beside the dataset folder: "ours, safe to regenerate"
GENDER_VARIANTS = {"Female": ("FEMAIL", "Female", "female"), "Male": ("MAILE", "Male", "male")}
EXPERIENCE_VARIANTS = {"Experienced": ("Experienced", "experienced"), "New": ("New", "new")}
PATCH_STRATA = 2
CP949_MEMBER = "설명서.txt"
NFD_MEMBER = "참고자료/면접 안내.txt"
README_TEXT = (
    "채용면접 인터뷰 데이터 샘플입니다. 질문과 답변 음성은 원천데이터에, "
    "라벨 JSON은 라벨링데이터에 있습니다.\r\n"
)
MIN_PART_SIZE = 1024
T = TypeVar("T")
R = TypeVar("R")


class SampleError(ValueError):
    """The sample tree cannot be written as asked (bad argument, unsafe output directory)."""


@dataclass(frozen=True)
class RecordPlan:
    """Where one interview goes and how it is seeded; all a worker needs to build its files."""

    index: int  # position in the tree; seeds the record and places the quirks
    split: str  # Training | Validation
    stratum: int  # index into STRATA
    record_id: int  # the 6-digit id in every file name, unique over the tree
    patch: bool  # its label goes to the dated patch folder
    seed: int
    speech: bool
    quirks: bool


@dataclass(frozen=True)
class RecordFiles:
    """One interview's members: question and answer WAVs, and the label JSON."""

    wavs: tuple[tuple[str, bytes], ...]
    label: tuple[str, bytes]


@dataclass
class SampleReport:
    """What a run wrote; the CLI prints its summary line, tests and flows read the figures."""

    out: Path
    records: int = 0
    wavs: int = 0
    archives: int = 0
    parts: int = 0
    bytes: int = 0
    audio_seconds: float = 0.0
    seconds: float = 0.0


def plan_records(params: SampleParams) -> list[RecordPlan]:
    """Every record's place in the tree, split by split and stratum by stratum, ids ascending."""
    try:
        counts = allocate(params.records)
    except ValueError as exc:
        raise SampleError(str(exc)) from None
    ids = np.random.default_rng(params.seed).choice(900_000, params.records, replace=False) + 100_000
    ids_left = iter(int(i) for i in ids)
    patched: set[int] = set()
    if not params.clean:
        training = counts["Training"]
        by_size = sorted(range(len(STRATA)), key=lambda i: (-training[i], -STRATA[i].published, i))
        largest = by_size[:PATCH_STRATA]
        patched = set(largest)
    plans: list[RecordPlan] = []
    for split in SPLITS:
        for stratum, count in enumerate(counts[split]):
            record_ids = sorted(next(ids_left) for _ in range(count))
            in_patch = max(1, count // 10) if split == "Training" and stratum in patched else 0
            for position, record_id in enumerate(record_ids):
                plans.append(
                    RecordPlan(
                        index=len(plans),
                        split=split,
                        stratum=stratum,
                        record_id=record_id,
                        patch=position >= count - in_patch,
                        seed=params.seed,
                        speech=params.audio == "speech",
                        quirks=not params.clean,
                    )
                )
    return plans


def _date(rng: random.Random) -> str:
    """A label date inside the build period (late 2022 to mid 2023), as YYYYMMDD."""
    day = np.datetime64("2022-10-01") + rng.randrange(273)
    return str(day).replace("-", "")


def _age_range(rng: random.Random, experience: str) -> str:
    weights = (0.85, 0.12, 0.03, 0.0) if experience == "New" else (0.25, 0.4, 0.25, 0.1)
    return rng.choices(("-34", "35-44", "45-54", "55-"), weights=weights)[0]


def _interview_info(rng: random.Random, plan: RecordPlan) -> dict[str, str]:
    """The label's ``info``: the stratum's occupation, gender and experience (in the release's odd
    spellings on quirky records) and drawn date, channel, place and age range."""
    stratum = STRATA[plan.stratum]
    gender = GENDER_LABEL[stratum.gender]
    experience = EXPERIENCE_LABEL[stratum.experience]
    if plan.quirks and plan.index % 5 == 1:
        gender = GENDER_VARIANTS[stratum.gender][(plan.index // 5) % 3]
    if plan.quirks and plan.index % 7 == 2:
        experience = EXPERIENCE_VARIANTS[stratum.experience][(plan.index // 7) % 2]
    return {
        "date": _date(rng),
        "occupation": stratum.occupation.code,
        "channel": "MOCK" if rng.random() < 0.8 else "FACE-TO-FACE",
        "place": "ONLINE" if rng.random() < 0.6 else "OFFLINE",
        "gender": gender,
        "ageRange": _age_range(rng, stratum.experience),
        "experience": experience,
    }


def _interview_samples(rng: random.Random, plan: RecordPlan, question: str, answer: str) -> list[np.ndarray]:
    """Question (an interviewer of either gender) and answer (the candidate's gender) as audio:
    synthesised speech, or short stubs when the plan asks for no speech."""
    interviewer = sample_audio.voice_for(rng.choice(("Female", "Male")), [rng.random() for _ in range(4)])
    candidate = sample_audio.voice_for(STRATA[plan.stratum].gender, [rng.random() for _ in range(4)])
    if plan.speech:
        return sample_audio.speech_samples([question, answer], [interviewer, candidate])
    return [sample_audio.stub_samples((rng.random(), rng.random())) for _ in range(2)]


def _wav_members(
    plan: RecordPlan, samples: list[np.ndarray]
) -> tuple[list[tuple[str, bytes]], dict[str, dict[str, object]]]:
    """The two WAV members (name, bytes) and the label's ``rawDataInfo`` describing them."""
    stratum = STRATA[plan.stratum]
    wavs: list[tuple[str, bytes]] = []
    raw_info: dict[str, dict[str, object]] = {}
    for kind, role, audio in (("q", "question", samples[0]), ("a", "answer", samples[1])):
        name = f"{stratum.member_dir}/{stratum.file_name(kind, plan.record_id)}"
        data = sample_audio.wav_bytes(audio)
        wavs.append((name, data))
        raw_info[role] = {
            "fileFormat": "wav",
            "fileSize": len(data),
            "duration": sample_audio.duration_ms(len(audio)),
            "samplingBit": sample_audio.BITS,
            "channelCount": sample_audio.CHANNELS,
            "samplingRate": "16kHz",
            "audioPath": f"{AUDIO_PATH_PREFIX}/{name}",
        }
    return wavs, raw_info


def build_record(plan: RecordPlan) -> RecordFiles:
    """Text, audio and label of one interview, from its own seed only (any worker, same bytes)."""
    rng = random.Random(f"callbot.sample:{plan.seed}:{plan.index}")
    stratum = STRATA[plan.stratum]
    # about half the Validation interviews use held-out templates and words (never in Training)
    unseen = plan.split == "Validation" and rng.random() < 0.5
    text = interview_text(rng, stratum.occupation.code, stratum.experience, text_holdout(plan.seed), unseen)
    info = _interview_info(rng, plan)
    wavs, raw_info = _wav_members(plan, _interview_samples(rng, plan, text.question, text.answer))
    data_set = {
        "info": info,
        "question": {
            "raw": {"text": text.question, "wordCount": word_count(text.question)},
            "emotion": [],
            "intent": text.question_intent,
        },
        "answer": {
            "raw": {"text": text.answer, "wordCount": word_count(text.answer)},
            "emotion": text.answer_emotion,
            "intent": text.answer_intent,
            "summary": {"text": text.summary, "wordCount": word_count(text.summary)},
        },
    }
    label = {"version": "1.0", "dataSet": data_set, "rawDataInfo": raw_info}
    body = json.dumps(label, ensure_ascii=False, indent=2).encode("utf-8")
    if plan.quirks and plan.index % 10 == 3:
        body = b"\xef\xbb\xbf" + body  # some release labels start with a UTF-8 byte-order mark
    label_name = f"{stratum.member_dir}/{stratum.file_name('d', plan.record_id)}"
    return RecordFiles(wavs=tuple(wavs), label=(label_name, body))


def _add_quirk_members(writer: ArchiveWriter, kind: str, stratum_index: int) -> None:
    """The CP949 and NFD name quirks at their documented places (see QUIRKS)."""
    stratum = STRATA[stratum_index]
    shift = 0 if kind == "source" else 1
    if stratum_index % 4 == shift:
        writer.add_cp949(f"{stratum.occupation.folder}/{CP949_MEMBER}", README_TEXT.encode("cp949"))
    elif stratum_index % 4 == shift + 2:
        writer.add_nfd(f"{stratum.member_dir}/{NFD_MEMBER}", README_TEXT.encode("utf-8"))


class _TreeWriter:
    """Streams records into their archives; a group (split x stratum) is finished when it ends."""

    def __init__(self, root: Path, params: SampleParams, report: SampleReport) -> None:
        self.base = root / RELEASE_DIR  # root becomes <out>/<DATASET_DIR> when done
        self.params = params
        self.report = report
        self.group: tuple[str, int] | None = None
        self.writers: dict[str, ArchiveWriter] = {}

    def _writer(self, kind: str) -> ArchiveWriter:
        if kind not in self.writers:
            assert self.group is not None
            split, stratum_index = self.group
            stratum = STRATA[stratum_index]
            folder = {"source": SOURCE_DIR, "label": LABEL_DIR, "patch": PATCH_LABEL_DIR}[kind]
            name = archive_name(split, "source" if kind == "source" else "label", stratum)
            writer = ArchiveWriter(self.base / split / folder / name)
            if not self.params.clean and kind != "patch":
                _add_quirk_members(writer, kind, stratum_index)
            self.writers[kind] = writer
        return self.writers[kind]

    def add(self, plan: RecordPlan, files: RecordFiles) -> None:
        if self.group != (plan.split, plan.stratum):
            self.finish_group()
            self.group = (plan.split, plan.stratum)
        source = self._writer("source")
        for name, data in files.wavs:
            source.add(name, data)
            self.report.audio_seconds += (len(data) - 44) / (2 * sample_audio.SAMPLE_RATE)
        self._writer("patch" if plan.patch else "label").add(*files.label)
        self.report.records += 1
        self.report.wavs += len(files.wavs)

    def finish_group(self) -> None:
        for kind in ("source", "label", "patch"):
            writer = self.writers.get(kind)
            if writer is None:
                continue
            paths = writer.close(self.params.part_size)
            self.report.archives += 1
            if len(paths) > 1:
                self.report.parts += len(paths)
            self.report.bytes += sum(p.stat().st_size for p in paths)
        self.writers = {}


def _worker_count(params: SampleParams) -> int:
    if params.workers < 0:
        raise SampleError(
            f"sample.workers (--workers) must be 0 (all cores) or a positive count, got {params.workers}"
        )
    return params.workers or os.cpu_count() or 1


@contextmanager
def fork_map(
    func: Callable[[T], R], items: list[T], workers: int, *, speech: bool, chunk: int
) -> Iterator[Iterator[R]]:
    """``func`` over ``items`` on ``workers`` forked processes, yielded in item order (so bytes never
    depend on the worker count).

    Forked workers, so nothing is re-imported and no ``__main__`` guard is needed. Forking is safe
    for speech too: :func:`callbot.tts.espeak.synthesize_fresh` speaks from a fresh private copy
    of the library, whatever this process did with espeak-ng before.
    """
    if speech:  # imported once here and inherited by every forked worker (seconds each otherwise)
        import scipy.signal  # noqa: F401

        import callbot.tts.espeak  # noqa: F401
    if workers == 1 or len(items) < 2:
        yield map(func, items)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield pool.imap(func, items, chunksize=chunk)


@contextmanager
def _record_builder(plans: list[RecordPlan], workers: int) -> Iterator[Iterator[RecordFiles]]:
    """Build records on ``workers`` processes, in plan order (see :func:`fork_map`)."""
    speech = bool(plans) and plans[0].speech
    with fork_map(build_record, plans, workers, speech=speech, chunk=1 if speech else 64) as records:
        yield records


def _check_out(out: Path) -> None:
    """Refuse to replace a dataset folder this generator did not write (a real download, say)."""
    if out.exists() and not out.is_dir():
        raise SampleError(f"{out}: exists and is not a directory; choose another --out or remove it yourself")
    final = out / DATASET_DIR
    if final.exists() and not (out / MARKER).is_file():
        raise SampleError(
            f"{final}: exists and was not written by callbot sample (no {out / MARKER}); refusing to "
            "overwrite what may be a real download. Choose another --out, or move that folder away yourself."
        )


def _remove_stale(out: Path) -> None:
    """Remove partial or old dataset folders left by a run that was killed (its pid is gone).

    Left in place they would look like a second copy of the dataset to anything scanning ``out``.
    """
    for leftover in out.glob(f".{DATASET_DIR}.*-*"):
        kind, _, pid = leftover.name.rpartition("-")
        if not kind.endswith((".partial", ".old")) or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(leftover, ignore_errors=True)
        except (PermissionError, OverflowError):
            continue


def write_interview_tree(params: SampleParams) -> SampleReport:
    """Write ``<out>/129.채용면접 인터뷰 데이터``; same params, byte-identical tree.

    Only that dataset folder is replaced (other datasets' folders under ``out``, such as the
    call-centre sample, are left alone). It is built in a temporary folder beside it and renamed
    into place, so an interrupted run leaves the previous tree intact. A dataset folder that this
    generator did not write (no marker file beside it) is refused (see :class:`SampleError`).
    """
    from callbot.console import progress, summary

    started = time.perf_counter()
    if params.part_size < MIN_PART_SIZE:
        raise SampleError(
            f"sample.part_size (--part-size) must be at least {MIN_PART_SIZE} bytes, got {params.part_size}"
        )
    workers = _worker_count(params)
    plans = plan_records(params)
    out = Path(params.out)
    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    tmp = out / f".{DATASET_DIR}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    report = SampleReport(out=out)
    try:
        tree = _TreeWriter(tmp, params, report)
        speech = params.audio == "speech"
        # workers fork before the progress bar starts its refresh thread
        with _record_builder(plans, workers) as records, progress() as bar:
            task = bar.add_task("sample: speech" if speech else "sample: stub audio", total=len(plans))
            for plan, files in zip(plans, records, strict=True):
                tree.add(plan, files)
                bar.advance(task)
        tree.finish_group()
        marker = {
            "generator": "callbot sample",
            "dataset": "interview",
            **{k: v for k, v in params.model_dump().items() if k not in ("out", "workers")},
        }
        write_text(out / MARKER, json.dumps(marker, indent=2) + "\n")
        # the old copy goes aside under this run's pid, which _remove_stale knows
        replace_dir(tmp, out / DATASET_DIR, old=out / f".{DATASET_DIR}.old-{os.getpid()}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.seconds = time.perf_counter() - started
    quirks = "quirks off" if params.clean else "quirks on"
    summary(
        "sample",
        f"{report.records} interviews ({report.wavs} WAVs, {report.audio_seconds / 60:.1f} min of "
        f"{params.audio} audio) in {report.archives} archives ({report.parts} parts), "
        f"{report.bytes / 1e6:.1f} MB -> {out} [{quirks}] in {report.seconds:.1f} s",
    )
    return report
