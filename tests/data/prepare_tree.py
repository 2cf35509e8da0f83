"""Builders of small ingested trees (RAW) for the prepare tests: label JSON and real WAV files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

INTERVIEW_ROOT = "129.채용면접 인터뷰 데이터/01-1.정식개방데이터"
CALLCENTER_ROOT = "103.민원(콜센터) 질의-응답 데이터/01-1.정식개방데이터"
OCC = {"BM": "01.Management", "SM": "02.SalesMarketing", "PS": "03.PublicService", "ICT": "05.ICT"}


def write_wav(path: Path, seconds: float = 0.25, amplitude: float = 0.3, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, subtype="PCM_16")


def interview_label(
    occ: str, gender: str, exp: str, number: int, *, question: str, answer: str, summary: str = "요약입니다."
) -> dict[str, Any]:
    code = f"{occ.lower()}_{gender[0].lower()}_{exp[0].lower()}_{number:06d}"
    folder = f"/Mock/{OCC[occ]}/{gender.title()}/{exp.title()}"
    return {
        "version": "1.0",
        "dataSet": {
            "info": {
                "date": "20230116",
                "occupation": occ,
                "channel": "MOCK",
                "place": "ONLINE",
                "gender": gender,
                "ageRange": "-34",
                "experience": exp,
            },
            "question": {
                "raw": {"text": question, "wordCount": len(question.split())},
                "emotion": [],
                "intent": [],
            },
            "answer": {
                "raw": {"text": answer, "wordCount": len(answer.split())},
                "emotion": [{"text": answer, "expression": "u-fact", "category": "neutral"}],
                "intent": [{"text": "", "expression": "", "category": "attitude"}],
                "summary": {"text": summary, "wordCount": len(summary.split())},
            },
        },
        "rawDataInfo": {
            role: {
                "fileFormat": "wav",
                "fileSize": 8044,
                "duration": 250,
                "samplingBit": 16,
                "channelCount": 1,
                "samplingRate": "16kHz",
                "audioPath": f"{folder}/ckmk_{role[0]}_{code}.wav",
            }
            for role in ("question", "answer")
        },
    }


def add_interview(
    raw: Path,
    occ: str = "SM",
    gender: str = "MALE",
    exp: str = "EXPERIENCED",
    number: int = 1,
    *,
    split_folder: str = "Training",
    label: dict[str, Any] | None = None,
    label_bytes: bytes | None = None,
    audio: tuple[str, ...] = ("question", "answer"),
) -> tuple[Path, dict[str, Any]]:
    """One interview as ingest lays it out; returns the label path and the label written."""
    label = label or interview_label(
        occ,
        gender,
        exp,
        number,
        question="지원 동기를 말씀해 주세요.",
        answer=f"저는 {number}년 동안 영업을 했습니다.",
    )
    rel = f"{OCC[occ]}/{gender.title()}/{exp.title()}"
    stem = f"{OCC[occ].split('.')[1]}_{gender.title()}_{exp.title()}"
    source = raw / INTERVIEW_ROOT / split_folder / "01.원천데이터" / f"TS_{stem}" / rel
    labels = raw / INTERVIEW_ROOT / split_folder / "02.라벨링데이터" / f"TL_{stem}" / rel
    for role in audio:
        name = Path(label["rawDataInfo"][role]["audioPath"]).name
        write_wav(source / name)
    code = Path(label["rawDataInfo"]["question"]["audioPath"]).stem.split("_", 2)[2]
    path = labels / f"ckmk_d_{code}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if label_bytes is None:
        label_bytes = json.dumps(label, ensure_ascii=False, indent=1).encode("utf-8")
    path.write_bytes(label_bytes)
    return path, label


def callcenter_sentence(
    domain: str, category: str, dialogue: str, turn: int, speaker: str, text: str
) -> dict[str, Any]:
    customer = speaker == "고객"
    return {
        "도메인": domain,
        "카테고리": category,
        "대화셋일련번호": dialogue,
        "화자": speaker,
        "문장번호": str(turn),
        "고객의도": "문의" if customer else "",
        "상담사의도": "" if customer else "안내",
        "QA": "Q" if customer else "A",
        "고객질문(요청)": text if customer else "",
        "상담사질문(요청)": "",
        "고객답변": "",
        "상담사답변": "" if customer else text,
        "개체명": "",
        "용어사전": "",
        "지식베이스": "",
    }


def add_callcenter(raw: Path, domain: str, category: str, sentences: list[dict[str, Any]] | bytes) -> Path:
    path = (
        raw / CALLCENTER_ROOT / "Training" / "02.라벨링데이터" / f"TL_{domain}" / f"{domain}_{category}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    data = sentences if isinstance(sentences, bytes) else json.dumps(sentences, ensure_ascii=False).encode()
    path.write_bytes(data)
    return path
