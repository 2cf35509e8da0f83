"""The call-centre Q&A set (민원(콜센터) 질의-응답 데이터): dialogues as one JSON array per category.

Each array element is one sentence of a dialogue with Korean keys (도메인, 카테고리, 대화셋일련번호,
화자, 문장번호, 고객의도, 상담사의도, QA, 고객질문(요청), 상담사질문(요청), 고객답변, 상담사답변,
개체명, 용어사전, 지식베이스). Its 질병관리본부 (KDCA) domain is what the ARS bot learns from. Only the
text is used: the set's ``.m4a`` audio is not decoded (no ffmpeg on a fresh machine), so call-centre
rows have no audio columns and never reach the STT dataset.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callbot.prepare.adapters import Quarantined, Record, dataset_dirs
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

    def detect(self, raw_root: Path) -> bool:
        return bool(dataset_dirs(raw_root, FOLDER_MARKER))

    def iter_records(self, raw_root: Path, params: PrepareParams) -> Iterator[Record | Quarantined]:
        base = len(raw_root.parts)
        for root in dataset_dirs(raw_root, FOLDER_MARKER):
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                parts = tuple(_nfc(p) for p in Path(dirpath).parts[base:])
                if not any(LABEL_FOLDER_MARKER in p for p in parts):
                    continue
                for name in sorted(filenames):
                    if name.lower().endswith(".json"):
                        yield from self._file(raw_root, (*parts, _nfc(name)))

    def _file(self, raw_root: Path, parts: tuple[str, ...]) -> Iterator[Record | Quarantined]:
        rel = "/".join(parts)
        try:
            data = read_label(raw_root.joinpath(*parts))
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
            yield self._sentence(rel, index, item)

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
