"""The interview set (129.채용면접 인터뷰 데이터): one label per interview turn, a question and an answer WAV.

Layout after ingest: ``<129.채용면접 인터뷰 데이터>/01-1.정식개방데이터/{Training,Validation}/
{01.원천데이터,02.라벨링데이터}[_YYYYMMDD_add]/<archive stem>/<occupation>/<gender>/<experience>/
ckmk_{q,a}_..._<id>.wav`` and the label JSON. A label's ``audioPath`` starts with a folder the tree does
not have (``/Mock/...``), so audio is found by the longest matching NFC path suffix, not by path.
"""

from __future__ import annotations

import multiprocessing
import os
import unicodedata
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from callbot.prepare.adapters import Quality, Quarantined, Record, dataset_dirs
from callbot.prepare.audio import WavError, WavInfo, read_wav_info
from callbot.prepare.labels import EnumMap, LabelError, read_label
from callbot.prepare.schema import EMOTIONS, INTENTS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from callbot.prepare.params import PrepareParams

FOLDER_MARKER = "채용면접"
LABEL_FOLDER_MARKER = "라벨링데이터"

GENDER = EnumMap(
    "gender", {"FEMALE": ("FEMAIL", "F", "여", "여자", "여성"), "MALE": ("MAILE", "M", "남", "남자", "남성")}
)
EXPERIENCE = EnumMap(
    "experience",
    {"NEW": ("신입", "N", "NEWCOMER"), "EXPERIENCED": ("EXPERIENCE", "EXP", "경력", "E", "CAREER")},
)
OCCUPATION = EnumMap(
    "occupation",
    {
        "BM": ("Management", "01.Management"),
        "SM": ("SalesMarketing", "Sales Marketing", "02.SalesMarketing"),
        "PS": ("PublicService", "03.PublicService"),
        "RND": ("R&D", "04.RND"),
        "ICT": ("05.ICT",),
        "ARD": ("Design", "06.Design"),
        "MM": ("ProductionManufacturing", "07.ProductionManufacturing"),
    },
)
AGE_RANGE = EnumMap(
    "ageRange", {"-34": ("~34", "34-"), "35-44": ("35~44",), "45-54": ("45~54",), "55-": ("55~", "55+")}
)
CHANNEL = EnumMap("channel", {"MOCK": ("모의",), "FACE-TO-FACE": ("FACE TO FACE", "FACETOFACE", "대면")})
PLACE = EnumMap("place", {"ONLINE": ("온라인",), "OFFLINE": ("오프라인",)})
EMOTION = EnumMap("emotion.category", {"positive": ("긍정",), "negative": ("부정",), "neutral": ("중립",)})
INTENT = EnumMap("intent.category", {name: () for name in INTENTS})
assert EMOTION.canonical == EMOTIONS


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class RawText(_Loose):
    text: str
    wordCount: int | None = None


class Tagged(_Loose):
    text: str | None = None
    expression: str | None = None
    category: str | None = None


class Summary(_Loose):
    text: str | None = None
    wordCount: int | None = None


class Info(_Loose):
    date: str | None = None
    occupation: str
    channel: str | None = None
    place: str | None = None
    gender: str
    ageRange: str | None = None
    experience: str


class Turn(_Loose):
    raw: RawText
    emotion: list[Tagged] = []
    intent: list[Tagged] = []
    summary: Summary | None = None


class DataSet(_Loose):
    info: Info
    question: Turn
    answer: Turn


class AudioInfo(_Loose):
    fileFormat: str | None = None
    fileSize: int | None = None
    duration: float | None = None
    samplingBit: int | None = None
    channelCount: int | None = None
    samplingRate: str | None = None
    audioPath: str


class RawDataInfo(_Loose):
    question: AudioInfo
    answer: AudioInfo


class InterviewLabel(_Loose):
    """The label JSON of the dataset page (seed 000); fields downstream needs are required."""

    version: str | None = None
    dataSet: DataSet
    rawDataInfo: RawDataInfo


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class AudioIndex:
    """Every WAV under a dataset folder, looked up by NFC file name then by longest path suffix."""

    def __init__(self) -> None:
        self._by_name: dict[str, list[tuple[str, ...]]] = {}
        self._on_disk: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.unused: dict[tuple[str, ...], None] = {}  # insertion-ordered set of NFC parts
        self.claimed: list[tuple[str, ...]] = []  # resolved since the last reset (sent back by workers)

    def add(self, parts: tuple[str, ...], on_disk: tuple[str, ...]) -> None:
        """``parts`` in NFC for matching, ``on_disk`` as the file system spells them (maybe NFD)."""
        self._by_name.setdefault(parts[-1], []).append(parts)
        self._on_disk[parts] = on_disk
        self.unused[parts] = None

    def on_disk(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        return self._on_disk[parts]

    def resolve(self, audio_path: str) -> tuple[str, ...] | None:
        """The NFC parts of the best match for a label's audioPath, marked as used; None if none."""
        wanted = PurePosixPath(_nfc(audio_path).replace("\\", "/")).parts
        if not wanted:
            return None
        candidates = self._by_name.get(wanted[-1])
        if not candidates:
            return None

        def matched(parts: tuple[str, ...]) -> int:
            n = 0
            for a, b in zip(reversed(parts), reversed(wanted), strict=False):
                if a != b:
                    break
                n += 1
            return n

        best = max(candidates, key=matched)
        self.unused.pop(best, None)
        self.claimed.append(best)
        return best


def scan_dataset(root: Path, raw_root: Path) -> tuple[list[tuple[str, ...]], AudioIndex]:
    """Label files and the audio index of one dataset folder, as NFC parts relative to RAW."""
    labels: list[tuple[str, ...]] = []
    audio = AudioIndex()
    base = len(raw_root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        disk = Path(dirpath).parts[base:]
        parts = tuple(_nfc(p) for p in disk)
        in_labels = any(LABEL_FOLDER_MARKER in p for p in parts)
        for name in sorted(filenames):
            lower = name.lower()
            if lower.endswith(".json") and in_labels:
                labels.append((*disk, name))
            elif lower.endswith(".wav"):
                audio.add((*parts, _nfc(name)), (*disk, name))
    return labels, audio


def _first(items: list[Tagged]) -> Tagged | None:
    return next((t for t in items if t.category), items[0] if items else None)


class InterviewAdapter:
    name = "interview"
    strata = ("occupation", "gender", "experience")  # the archive partition of the set
    quality = Quality(
        sample_rate=16000,  # the page: 16 kHz mono 16-bit WAV
        required=("audio_path", "duration_actual_ms", "occupation", "gender", "age_range", "experience"),
        published=True,  # the page's table of label files per occupation, gender and experience
    )
    feeds = frozenset({"stt", "summary", "emotion", "intent"})

    def detect(self, raw_root: Path) -> bool:
        return bool(dataset_dirs(raw_root, FOLDER_MARKER))

    def iter_records(self, raw_root: Path, params: PrepareParams) -> Iterator[Record | Quarantined]:
        for root in dataset_dirs(raw_root, FOLDER_MARKER):
            labels, audio = scan_dataset(root, raw_root)
            _JOB["args"] = (self, raw_root, audio, params)
            try:
                for items, claimed in self._jobs(labels, params.workers):
                    for parts in claimed:
                        audio.unused.pop(parts, None)
                    yield from items
            finally:
                _JOB.clear()
            for parts in audio.unused:
                rel = "/".join(parts)
                yield Quarantined(
                    rel,
                    Path(parts[-1]).stem,
                    "audio_without_label",
                    f"{rel}: no label's audioPath names this file; add its label or remove the file",
                )

    @staticmethod
    def _jobs(
        labels: list[tuple[str, ...]], workers: int
    ) -> Iterator[tuple[list[Record | Quarantined], list]]:
        """Each label's items, in label order; parsed and measured on ``workers`` forked processes.

        Label parsing and the WAV pass are independent per label and dominate the stage, so they
        use every core; the audio index is inherited by the fork (read-only) and each worker sends
        back which files it claimed, so the parent alone decides what is left unlabelled.
        """
        count = min(workers or os.cpu_count() or 1, len(labels))
        if count <= 1:
            yield from map(_label_job, labels)
            return
        with multiprocessing.get_context("fork").Pool(count) as pool:
            yield from pool.imap(_label_job, labels, chunksize=64)

    def _label(
        self, raw_root: Path, label_parts: tuple[str, ...], audio: AudioIndex, params: PrepareParams
    ) -> Iterator[Record | Quarantined]:
        """One label file's two records (question, answer), or the quarantines that replace them."""
        rel = _nfc("/".join(label_parts))
        label = _read_label(rel, raw_root.joinpath(*label_parts))
        if isinstance(label, Quarantined):
            yield label  # the audio it names is unknown too: its files surface as audio_without_label
            return
        turns = {"question": label.rawDataInfo.question, "answer": label.rawDataInfo.answer}
        utterances = {
            role: Path(_nfc(info.audioPath).replace("\\", "/")).stem for role, info in turns.items()
        }
        fields, bad = _info_fields(label.dataSet.info)
        answer_fields, bad_answer = _answer_fields(label.dataSet.answer)
        if bad or bad_answer:
            for role, info_turn in turns.items():
                audio.resolve(info_turn.audioPath)  # its audio is accounted for by this quarantine
                yield Quarantined(
                    rel,
                    utterances[role],
                    "unknown_value",
                    f"{rel}: unknown {'; '.join(bad + bad_answer)}; map the spelling in "
                    "callbot/prepare/adapters/interview.py or correct the label",
                )
            return
        interview_id = _nfc(Path(label_parts[-1]).stem)
        for role, turn in (("question", label.dataSet.question), ("answer", label.dataSet.answer)):
            meta, utterance_id = turns[role], utterances[role]
            measured = _measure_turn(raw_root, rel, role, meta.audioPath, utterance_id, audio, params)
            if isinstance(measured, Quarantined):
                yield measured
                continue
            audio_rel, wav = measured
            record: Record = {
                "utterance_id": utterance_id,
                "interview_id": interview_id,
                "dataset": self.name,
                "role": role,
                "text_raw": turn.raw.text,
                "word_count": turn.raw.wordCount,
                "label_path": rel,
                "audio_path": audio_rel,
                "duration_ms": meta.duration,
                "duration_actual_ms": wav.duration_ms,
                "file_size": meta.fileSize,
                **_wav_columns(wav),
                **fields,
                "date": label.dataSet.info.date,
            }
            if role == "answer":
                record.update(answer_fields)
            yield record


def _wav_columns(wav: WavInfo) -> dict[str, Any]:
    """The measured WAV columns of a record."""
    return {
        "sample_rate": wav.sample_rate,
        "channels": wav.channels,
        "bits": wav.bits,
        "rms": wav.rms,
        "peak": wav.peak,
        "clipped_ratio": wav.clipped_ratio,
    }


def _read_label(rel: str, path: Path) -> InterviewLabel | Quarantined:
    try:
        return InterviewLabel.model_validate(read_label(path))
    except LabelError as exc:
        return Quarantined(rel, None, exc.reason, str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Quarantined(
            rel, None, "missing_field", f"{rel}: field '{where}' {first['msg'].lower()}; fix the label file"
        )


def _info_fields(info: Any) -> tuple[dict[str, str | None], list[str]]:
    """The speaker and session fields mapped to their canonical values, and the unknown ones."""
    fields: dict[str, str | None] = {}
    bad: list[str] = []
    for mapping, value, required in (
        (OCCUPATION, info.occupation, True),
        (GENDER, info.gender, True),
        (EXPERIENCE, info.experience, True),
        (AGE_RANGE, info.ageRange, False),
        (CHANNEL, info.channel, False),
        (PLACE, info.place, False),
    ):
        mapped = mapping.get(value)
        if mapped is None and (required or value not in (None, "")):
            bad.append(f"{mapping.field}={value!r} (known: {', '.join(mapping.canonical)})")
        fields[mapping.field] = mapped
    return {
        "occupation": fields["occupation"],
        "gender": fields["gender"],
        "age_range": fields["ageRange"],
        "experience": fields["experience"],
        "channel": fields["channel"],
        "place": fields["place"],
    }, bad


def _answer_fields(answer: Any) -> tuple[dict[str, Any], list[str]]:
    """The answer's emotion, intent and summary columns, and its unknown categories."""
    emotion, intent = _first(answer.emotion), _first(answer.intent)
    emotion_value = EMOTION.get(emotion.category) if emotion and emotion.category else None
    intent_value = INTENT.get(intent.category) if intent and intent.category else None
    bad: list[str] = []
    if emotion and emotion.category and emotion_value is None:
        bad.append(f"answer.emotion.category={emotion.category!r} (known: {', '.join(EMOTIONS)})")
    if intent and intent.category and intent_value is None:
        bad.append(f"answer.intent.category={intent.category!r} (known: {', '.join(INTENTS)})")
    return {
        "emotion": emotion_value,
        "emotion_expression": emotion.expression if emotion else None,
        "intent": intent_value,
        "intent_expression": intent.expression if intent else None,
        "summary": answer.summary.text if answer.summary else None,
        "summary_word_count": answer.summary.wordCount if answer.summary else None,
    }, bad


def _measure_turn(
    raw_root: Path,
    rel: str,
    role: str,
    audio_path: str,
    utterance_id: str,
    audio: AudioIndex,
    params: PrepareParams,
) -> tuple[str, WavInfo] | Quarantined:
    """A turn's WAV found (by its label's audioPath) and measured, or why it is quarantined."""
    found = audio.resolve(audio_path)
    if found is None:
        return Quarantined(
            rel,
            utterance_id,
            "label_without_audio",
            f"{rel}: {role} audioPath {audio_path!r} matches no WAV under RAW; "
            "ingest the source archive that holds it",
        )
    on_disk = audio.on_disk(found)
    audio_rel = "/".join(on_disk)  # as spelled on disk, so that it opens
    try:
        return audio_rel, read_wav_info(raw_root.joinpath(*on_disk), params.audio_chunk_frames)
    except (WavError, OSError) as exc:
        return Quarantined(audio_rel, utterance_id, "bad_audio", f"{exc}; re-extract or replace the file")


_JOB: dict[str, Any] = {}  # (adapter, raw_root, audio index, params), inherited by forked workers


def _label_job(label_parts: tuple[str, ...]) -> tuple[list[Record | Quarantined], list[tuple[str, ...]]]:
    adapter, raw_root, audio, params = _JOB["args"]
    audio.claimed = []
    items = list(adapter._label(raw_root, label_parts, audio, params))
    return items, audio.claimed


ADAPTER = InterviewAdapter()
