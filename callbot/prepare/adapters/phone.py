"""The low-quality telephone speech set (007.저음질 전화망 음성인식 데이터, dataSetSn 571): 8 kHz calls.

Layout after ingest (``docs/aihub_phone.md``): ``<007.저음질 전화망 음성인식 데이터>/01.데이터/
{1.Training,2.Validation}/{원천데이터,라벨링데이터}_230316/<archive stem>/D0k/Jxx/S000123/``, the label
side holding the session JSON ``S000123.json`` (``dataSet.typeInfo.speakers[]``: id, type 고객/상담사,
gender; ``dataSet.dialogs[]``: speaker, audioPath, duration in seconds, text) and one KsponSpeech
transcript per utterance (``0001.txt``, UTF-8 or CP949), the source side ``0001.wav`` (8 kHz mono).

One record per dialog: the transcript from its ``.txt`` (the JSON's ``text`` where none), checked
before prepare normalises it: a malformed dual form (an unmatched parenthesis, ``(A)/`` without its
``(B)``, an empty side) is quarantined as ``malformed_dual_form``, a tag other than ``b/ n/ o/ l/ u/``
as ``unknown_tag``. The session is the split unit; its folder (1.Training / 2.Validation) decides
the split. Records keep the WAV's real rate (8000): the STT trainer resamples, validate expects it.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from callbot.prepare.adapters import Quality, Quarantined, Record, dataset_dirs, unlabelled_audio
from callbot.prepare.adapters.callcenter import SPEAKER
from callbot.prepare.adapters.interview import GENDER, AudioIndex, _wav_columns, scan_dataset
from callbot.prepare.audio import WavError, read_wav_info
from callbot.prepare.labels import LabelError, read_label

if TYPE_CHECKING:
    from collections.abc import Iterator

    from callbot.prepare.params import PrepareParams

FOLDER_MARKER = "전화망"
ROLE = {"customer": "question", "agent": "answer"}  # the caller asks, the counsellor answers
# (A)/(B) with neither side empty nor nested; anything with a parenthesis left after them is malformed
_DUAL = re.compile(r"\(([^()]+)\)\s*/\s*\(([^()]+)\)")
_TAG = re.compile(r"(?<![\w/])([A-Za-z]+)/")
KNOWN_TAGS = frozenset("bnolu")


def check_transcript(text: str) -> tuple[str, str] | None:
    """``(reason, what is wrong)`` for a transcript prepare cannot normalise faithfully; None if fine."""
    rest = _DUAL.sub(" ", text)
    if "(" in rest or ")" in rest:
        return "malformed_dual_form", f"a dual form is not (spelling)/(pronunciation) in {text!r}"
    unknown = sorted({m.group(1) for m in _TAG.finditer(rest) if m.group(1).lower() not in KNOWN_TAGS})
    if unknown:
        return (
            "unknown_tag",
            f"unknown tag(s) {', '.join(t + '/' for t in unknown)} in {text!r} (known: b/ n/ o/ l/ u/)",
        )
    return None


def read_transcript(path: Path) -> str:
    """A ``.txt`` transcript: UTF-8 (a BOM allowed), else CP949 as KsponSpeech ships; NFC, stripped."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp949")  # UnicodeDecodeError again: the caller quarantines it
    return unicodedata.normalize("NFC", text).strip()


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class PhoneAdapter:
    name = "phone"
    strata = ("domain",)
    quality = Quality(sample_rate=8000, required=("audio_path", "duration_actual_ms", "voice", "channel"))
    feeds = frozenset({"stt"})

    def detect(self, raw_root: Path) -> bool:
        return bool(dataset_dirs(raw_root, FOLDER_MARKER))

    def iter_records(self, raw_root: Path, params: PrepareParams) -> Iterator[Record | Quarantined]:
        for root in dataset_dirs(raw_root, FOLDER_MARKER):
            labels, audio = scan_dataset(root, raw_root)
            for parts in labels:
                yield from self._session(raw_root, parts, audio, params)
            yield from unlabelled_audio(audio, "session JSON's audioPath")

    def _session(
        self, raw_root: Path, on_disk: tuple[str, ...], audio: AudioIndex, params: PrepareParams
    ) -> Iterator[Record | Quarantined]:
        """Every dialog of one session JSON, a record or the reason it is quarantined."""
        rel = _nfc("/".join(on_disk))
        session = _read_session(raw_root.joinpath(*on_disk), rel)
        if isinstance(session, Quarantined):
            yield session
            return
        info, dialogs = session
        speakers = {str(s.get("id")): s for s in info.get("speakers") or [] if isinstance(s, dict)}
        base = {
            "interview_id": f"phone-{Path(on_disk[-1]).stem}",
            "dataset": self.name,
            "label_path": rel,
            "domain": _nfc(str(info.get("category") or "")) or None,
            "category": _nfc(str(info.get("subcategory") or "")) or None,
            "channel": "phone",
        }
        for turn, dialog in enumerate(dialogs, start=1):
            record = self._dialog(raw_root, on_disk, dialog, speakers, {**base, "turn": turn})
            if isinstance(record, dict):
                record = _measure(raw_root, rel, record, dialog, audio, params)
            elif isinstance(dialog, dict) and isinstance(dialog.get("audioPath"), str):
                audio.resolve(dialog["audioPath"])  # its audio is accounted for by this quarantine
            yield record

    def _dialog(
        self,
        raw_root: Path,
        on_disk: tuple[str, ...],
        dialog: Any,
        speakers: dict[str, Any],
        base: dict[str, Any],
    ) -> Record | Quarantined:
        """One utterance's fields from its dialog entry, its speaker and its transcript."""
        rel = base["label_path"]
        where = f"{rel}: dialogs[{base['turn'] - 1}]"
        if not isinstance(dialog, dict) or not isinstance(dialog.get("audioPath"), str):
            return Quarantined(rel, None, "missing_field", f"{where} has no audioPath; fix the label file")
        stem = PurePosixPath(_nfc(dialog["audioPath"]).replace("\\", "/")).stem
        utterance = f"{Path(on_disk[-1]).stem}_{stem}"
        speaker = speakers.get(str(dialog.get("speaker")))
        kind = SPEAKER.get(speaker.get("type")) if speaker else None
        gender = GENDER.get(speaker.get("gender")) if speaker else None
        if kind is None or gender is None:
            return Quarantined(
                rel,
                utterance,
                "unknown_value",
                f"{where}: speaker {dialog.get('speaker')!r} is not in typeInfo.speakers or has an unknown "
                "type/gender (known: 고객, 상담사; 여, 남); map it in callbot/prepare/adapters/phone.py",
            )
        text = _transcript(raw_root, on_disk, stem, dialog)
        if isinstance(text, tuple):
            return Quarantined(rel, utterance, text[0], f"{where}: {text[1]}")
        problem = check_transcript(text)
        if problem:
            return Quarantined(rel, utterance, problem[0], f"{where}: {problem[1]}; correct the transcript")
        return {
            **base,
            "utterance_id": utterance,
            "role": ROLE[kind],
            "speaker": kind,
            "gender": gender,
            "voice": _nfc(str(speaker.get("id"))),
            "text_raw": text,
        }


def _read_session(path: Path, rel: str) -> tuple[dict[str, Any], list[Any]] | Quarantined:
    """(typeInfo, dialogs) of a session JSON, or why it cannot be read."""
    try:
        data = read_label(path)
    except LabelError as exc:
        return Quarantined(rel, None, exc.reason, str(exc))
    dataset = data.get("dataSet") if isinstance(data, dict) else None
    info = dataset.get("typeInfo") if isinstance(dataset, dict) else None
    dialogs = dataset.get("dialogs") if isinstance(dataset, dict) else None
    if not isinstance(info, dict) or not isinstance(dialogs, list):
        return Quarantined(
            rel,
            None,
            "missing_field",
            f"{rel}: expected dataSet.typeInfo and a dataSet.dialogs list; fix the label file",
        )
    return info, dialogs


def _transcript(
    raw_root: Path, on_disk: tuple[str, ...], stem: str, dialog: dict[str, Any]
) -> str | tuple[str, str]:
    """The utterance's ``.txt`` beside its session JSON, else the dialog's ``text``; (reason, message) if none."""
    path = raw_root.joinpath(*on_disk[:-1], f"{stem}.txt")
    if path.is_file():
        try:
            text = read_transcript(path)
        except UnicodeDecodeError:
            return "bad_encoding", f"{path.name} is neither UTF-8 nor CP949; re-save it as UTF-8"
    else:
        text = _nfc(str(dialog.get("text") or "")).strip()
    return text or ("empty_text", f"no transcript in {stem}.txt or the dialog's text; fill it in")


def _measure(
    raw_root: Path, rel: str, record: Record, dialog: dict[str, Any], audio: AudioIndex, params: PrepareParams
) -> Record | Quarantined:
    """The record with its WAV found (by audioPath) and measured, or why it is quarantined."""
    utterance = record["utterance_id"]
    found = audio.resolve(dialog["audioPath"])
    if found is None:
        return Quarantined(
            rel,
            utterance,
            "label_without_audio",
            f"{rel}: audioPath {dialog['audioPath']!r} matches no WAV under RAW; ingest the source archive that holds it",
        )
    audio_rel = "/".join(audio.on_disk(found))
    try:
        wav = read_wav_info(raw_root / audio_rel, params.audio_chunk_frames)
    except (WavError, OSError) as exc:
        return Quarantined(audio_rel, utterance, "bad_audio", f"{exc}; re-extract or replace the file")
    try:  # the label's duration is in seconds; validate compares it with the file's (ms)
        duration: float | None = float(str(dialog.get("duration")).strip()) * 1000.0
    except ValueError:
        duration = None
    record.update(
        audio_path=audio_rel, duration_ms=duration, duration_actual_ms=wav.duration_ms, **_wav_columns(wav)
    )
    return record


ADAPTER = PhoneAdapter()
