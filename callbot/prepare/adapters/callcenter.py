"""The call-centre Q&A set (민원(콜센터) 질의-응답 데이터): dialogues as one JSON array per category.

Each array element is one sentence of a dialogue with Korean keys (도메인, 카테고리, 대화셋일련번호,
화자, 문장번호, 고객의도, 상담사의도, QA, 고객질문(요청), 상담사질문(요청), 고객답변, 상담사답변,
개체명, 용어사전, 지식베이스). Its 질병관리본부 (KDCA) domain is what the ARS bot learns from.

A caller sentence whose ``음성파일`` names a WAV (the sample tree: ``01.원천데이터/{TS,VS}_<domain>/
<domain>/<name>.wav``) is joined to it like the interview set's audio: the row gets ``audio_path``,
the measured duration and signal figures (so validate's audio rules apply and the STT dataset takes
it), ``duration_ms`` from ``재생시간``, ``voice`` from ``화자음성`` and ``channel`` from ``음성채널``. A
named file that is not there is quarantined (``label_without_audio``); a WAV no sentence names is
quarantined too (``audio_without_label``). Sentences without ``음성파일`` stay text-only rows (the
real set's ``.m4a`` audio is not decoded: no ffmpeg on a fresh machine).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.prepare.adapters import Quality, Quarantined, Record, dataset_dirs, unlabelled_audio
from callbot.prepare.adapters.interview import AudioIndex, scan_dataset
from callbot.prepare.audio import WavError, read_wav_info
from callbot.prepare.labels import EnumMap, LabelError, read_label

if TYPE_CHECKING:
    from collections.abc import Iterator

    from callbot.prepare.params import PrepareParams

FOLDER_MARKER = "콜센터"
LABEL_FOLDER_MARKER = "라벨링데이터"
REQUIRED = ("도메인", "카테고리", "대화셋일련번호", "화자", "문장번호")
TEXT_KEYS = {  # column -> (speaker, role)
    "고객질문(요청)": ("customer", "question"),
    "고객답변": ("customer", "answer"),
    "상담사질문(요청)": ("agent", "question"),
    "상담사답변": ("agent", "answer"),
}
SPEAKER = EnumMap(
    "화자", {"customer": ("고객", "CUSTOMER", "C"), "agent": ("상담사", "상담원", "AGENT", "A")}
)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _text(value: Any) -> str:
    return _nfc(value).strip() if isinstance(value, str) else ""


class CallCenterAdapter:
    name = "callcenter"
    strata = ("domain",)
    quality = Quality(sample_rate=16000)  # spoken caller sentences; phone calls are stored back at 16 kHz
    feeds = frozenset({"stt", "ars"})

    def detect(self, raw_root: Path) -> bool:
        return bool(dataset_dirs(raw_root, FOLDER_MARKER))

    def iter_records(self, raw_root: Path, params: PrepareParams) -> Iterator[Record | Quarantined]:
        for root in dataset_dirs(raw_root, FOLDER_MARKER):
            labels, audio = scan_dataset(root, raw_root)
            for parts in labels:
                yield from self._file(raw_root, parts, audio, params)
            yield from unlabelled_audio(audio, "sentence's 음성파일")

    def _file(
        self, raw_root: Path, on_disk: tuple[str, ...], audio: AudioIndex, params: PrepareParams
    ) -> Iterator[Record | Quarantined]:
        rel = _nfc("/".join(on_disk))
        try:
            data = read_label(raw_root.joinpath(*on_disk))
        except LabelError as exc:
            yield Quarantined(rel, None, exc.reason, str(exc))
            return
        if not isinstance(data, list):
            yield Quarantined(
                rel,
                None,
                "missing_field",
                f"{rel}: expected a JSON array of dialogue sentences, got {type(data).__name__}",
            )
            return
        for index, item in enumerate(data):
            record = self._sentence(rel, index, item)
            if (
                isinstance(record, dict)
                and isinstance(item.get("음성파일"), str)
                and item["음성파일"].strip()
            ):
                record = self._audio(raw_root, rel, record, item, audio, params)
            yield record

    def _audio(
        self,
        raw_root: Path,
        rel: str,
        record: Record,
        item: dict[str, Any],
        audio: AudioIndex,
        params: PrepareParams,
    ) -> Record | Quarantined:
        """The sentence's WAV joined in, or the reason it cannot be."""
        name = _text(item["음성파일"])
        utterance = record["utterance_id"]
        found = audio.resolve(f"{record['domain']}/{name}")
        if found is None:
            return Quarantined(
                rel,
                utterance,
                "label_without_audio",
                f"{rel}: 음성파일 {name!r} matches no WAV under RAW; ingest the source archive that holds it",
            )
        on_disk = audio.on_disk(found)
        audio_rel = "/".join(on_disk)
        try:
            wav = read_wav_info(raw_root.joinpath(*on_disk), params.audio_chunk_frames)
        except (WavError, OSError) as exc:
            return Quarantined(audio_rel, utterance, "bad_audio", f"{exc}; re-extract or replace the file")
        try:  # the label's duration (ms); validate compares it with the file's
            duration: float | None = float(str(item.get("재생시간")).strip())
        except ValueError:
            duration = None
        record.update(
            audio_path=audio_rel,
            duration_ms=duration,
            duration_actual_ms=wav.duration_ms,
            sample_rate=wav.sample_rate,
            channels=wav.channels,
            bits=wav.bits,
            rms=wav.rms,
            peak=wav.peak,
            clipped_ratio=wav.clipped_ratio,
            voice=_text(item.get("화자음성")) or None,
            channel=_text(item.get("음성채널")) or None,
        )
        return record

    def _sentence(self, rel: str, index: int, item: Any) -> Record | Quarantined:
        where = f"{rel}: element {index}"
        if not isinstance(item, dict):
            return Quarantined(rel, None, "missing_field", f"{where} is not an object; fix the label file")
        missing = [k for k in REQUIRED if item.get(k) is None or str(item[k]).strip() == ""]
        if missing:
            return Quarantined(
                rel, None, "missing_field", f"{where} lacks {', '.join(missing)}; fix the label file"
            )
        domain, category = _text(item["도메인"]), _text(item["카테고리"])
        dialogue = f"cc-{domain}-{_text(str(item['대화셋일련번호']))}"
        try:
            turn = int(str(item["문장번호"]).strip())
        except ValueError:
            return Quarantined(
                rel, None, "unknown_value", f"{where}: 문장번호 {item['문장번호']!r} is not a number"
            )
        utterance = f"{dialogue}-{turn:03d}"
        speaker = SPEAKER.get(item["화자"])
        if speaker is None:
            return Quarantined(
                rel,
                utterance,
                "unknown_value",
                f"{where}: unknown 화자={item['화자']!r} (known: 고객, 상담사); map it in "
                "callbot/prepare/adapters/callcenter.py or correct the label",
            )
        texts = [(key, _text(item.get(key))) for key in TEXT_KEYS]
        texts = [(key, text) for key, text in texts if text]
        if not texts:
            return Quarantined(
                rel, utterance, "empty_text", f"{where}: no text in any of {', '.join(TEXT_KEYS)}"
            )
        key, text = texts[0]
        role = TEXT_KEYS[key][1]
        qa = _text(item.get("QA")).upper()
        if qa in ("Q", "A"):
            role = "question" if qa == "Q" else "answer"
        intent = _text(item.get("고객의도" if speaker == "customer" else "상담사의도")) or None
        return {
            "utterance_id": utterance,
            "interview_id": dialogue,
            "dataset": self.name,
            "role": role,
            "text_raw": text,
            "label_path": rel,
            "intent_expression": intent,
            "domain": domain,
            "category": category,
            "speaker": speaker,
            "turn": turn,
        }


ADAPTER = CallCenterAdapter()
