"""The call-centre Q&A set (민원(콜센터) 질의-응답 데이터) as a download tree, generated offline.

The ARS bot learns from this set's 질병관리본부 (KDCA) domain; nobody here can download it, so this
stand-in has its shape: ``<NNN>.민원(콜센터) 질의-응답 데이터/01-1.정식개방데이터/{Training,Validation}/
02.라벨링데이터/{TL,VL}_<domain>.zip``, each zip holding one JSON array per category whose elements
are dialogue sentences with the real Korean keys. Text only: the real ``.m4a`` audio is not
generated (prepare does not decode it).

What the LLM engineer relies on: a counsellor answer is a fixed script per intent, repeated
exactly wherever that intent occurs, while the caller's question varies (paraphrase templates with
slots), so exact-match and ROUGE on answers measure whether the model learned the script. Two
other domains (서울특별시 120, 국민건강보험공단) make the KDCA filter matter.

Size: ``max(24, records // 2)`` KDCA dialogues (at most 5,000) and a third of that per other domain, so the demo
and the scale run grow together without a key of their own. Same params, byte-identical zips.
Run it after the interview sample into the same ``--out``: it replaces only its own dataset folder
(the interview generator replaces the whole tree).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from callbot.atomic import replace_dir
from callbot.sample.archives import ArchiveWriter

if TYPE_CHECKING:
    from callbot.sample.params import SampleParams

DATASET_DIR = "98.민원(콜센터) 질의-응답 데이터"
RELEASE_DIR = "01-1.정식개방데이터"
LABEL_DIR = "02.라벨링데이터"
KDCA = "질병관리본부"
MAX_KDCA_DIALOGUES = 5000  # the order of the real domain; the scale run is about the interview set
VALIDATION_EVERY = 10  # every tenth dialogue goes to Validation, as AI-Hub ships about 9:1


@dataclass(frozen=True)
class Intent:
    """One caller need: paraphrasable questions, one scripted answer, a category to file it under."""

    category: str
    name: str  # 고객의도
    questions: tuple[str, ...]  # templates; {thing} {when} {who} are filled from the slots
    answer: str  # 상담사답변, verbatim every time
    agent_intent: str = "정보제공"


SLOTS = {
    "thing": ("독감", "코로나19", "폐렴구균", "대상포진", "A형간염"),
    "when": ("이번 주에", "내일", "다음 달에", "오늘"),
    "who": ("저희 어머니", "아이", "제가", "남편이", "할아버지께서"),
    "country": ("베트남", "태국", "인도네시아", "필리핀", "케냐"),
    "disease": ("결핵", "홍역", "수두", "쯔쯔가무시증", "말라리아"),
}

KDCA_INTENTS = (
    Intent(
        "예방접종",
        "접종기관 문의",
        (
            "{thing} 예방접종은 어디서 맞을 수 있나요?",
            "{who} {thing} 주사를 맞으려고 하는데 어느 병원으로 가면 되나요?",
            "{when} {thing} 접종하려는데 가까운 접종 기관을 알 수 있을까요?",
        ),
        "예방접종도우미 누리집이나 보건소에서 가까운 지정 의료기관을 확인하신 뒤 방문하시면 됩니다.",
    ),
    Intent(
        "예방접종",
        "무료접종 대상 문의",
        (
            "{who} {thing} 무료로 맞을 수 있나요?",
            "{thing} 접종 비용이 드나요?",
            "{thing} 국가 무료 접종 대상이 어떻게 되나요?",
        ),
        "만 65세 이상 어르신과 생후 6개월부터 13세 어린이, 임신부는 국가예방접종 무료 대상입니다.",
    ),
    Intent(
        "예방접종",
        "이상반응 문의",
        (
            "{who} {thing} 주사를 맞고 열이 나는데 괜찮은 건가요?",
            "{thing} 접종 후에 팔이 붓고 아파요.",
        ),
        "접종 부위 통증이나 미열은 흔한 이상반응으로 대개 이삼 일 안에 좋아지며, 고열이 지속되면 의료기관 진료를 받으시기 바랍니다.",
    ),
    Intent(
        "감염병신고",
        "감염병 신고 방법",
        (
            "{disease} 환자를 진단했는데 신고는 어떻게 하나요?",
            "병원에서 {disease} 신고를 하려면 어디로 해야 하나요?",
        ),
        "감염병 신고는 질병보건통합관리시스템에서 하시거나 관할 보건소로 신고하시면 됩니다.",
    ),
    Intent(
        "감염병신고",
        "감염 의심 상담",
        (
            "{who} {disease} 증상이 있는 것 같은데 어떻게 해야 하나요?",
            "{disease}에 걸린 것 같아요. 검사는 어디서 받나요?",
        ),
        "가까운 보건소나 선별진료소에 먼저 연락하신 뒤 안내에 따라 검사를 받으시기 바랍니다.",
    ),
    Intent(
        "검역",
        "입국 검역 문의",
        (
            "{country}에서 {when} 입국하는데 검역 절차가 있나요?",
            "{who} {country} 다녀왔는데 공항에서 따로 신고해야 하나요?",
        ),
        "검역관리지역에서 입국하시는 분은 큐코드로 건강상태를 신고하시고 증상이 있으면 검역관에게 알려 주시기 바랍니다.",
    ),
    Intent(
        "해외여행건강",
        "여행 전 예방접종",
        (
            "{country} 여행 가기 전에 맞아야 하는 예방접종이 있나요?",
            "{when} {country}로 출장 가는데 필요한 접종이 뭔가요?",
        ),
        "해외감염병 누리집에서 국가별 권고 예방접종을 확인하시고 출국 이 주 전까지 접종을 마치시기 바랍니다.",
    ),
    Intent(
        "1339안내",
        "상담 시간 문의",
        (
            "1339 상담은 몇 시까지 하나요?",
            "주말에도 1339에 전화하면 상담할 수 있나요?",
            "질병관리청 콜센터 운영 시간이 어떻게 되나요?",
        ),
        "질병관리청 콜센터 1339는 24시간 연중무휴로 운영됩니다.",
    ),
)

OTHER_INTENTS = {
    "서울특별시": (
        Intent(
            "교통",
            "버스 노선 문의",
            ("{when} 시청 가는 버스 노선을 알려 주세요.", "시청까지 가는 버스가 몇 번인가요?"),
            "서울교통포털에서 출발지와 도착지를 입력하시면 이용 가능한 노선을 확인하실 수 있습니다.",
        ),
        Intent(
            "생활",
            "대형폐기물 배출",
            ("{when} 소파를 버리려는데 어떻게 하나요?", "대형 폐기물은 어떻게 신고하나요?"),
            "대형폐기물은 구청 누리집에서 배출 신고 후 수수료를 납부하시고 스티커를 붙여 내놓으시면 됩니다.",
        ),
    ),
    "국민건강보험공단": (
        Intent(
            "보험료",
            "보험료 납부 문의",
            ("{who} 건강보험료를 카드로 낼 수 있나요?", "보험료 납부 기한이 언제인가요?"),
            "건강보험료는 매월 10일까지 납부하시며 카드, 계좌이체, 가상계좌로 납부하실 수 있습니다.",
        ),
        Intent(
            "건강검진",
            "검진 대상 문의",
            ("{who} 올해 건강검진 대상인가요?", "{when} 건강검진 받으려면 어떻게 하나요?"),
            "건강검진 대상 여부는 공단 누리집이나 앱에서 조회하실 수 있습니다.",
        ),
    ),
}

THANKS = ("네 알겠습니다. 감사합니다.", "감사합니다.", "네 고맙습니다.")
CLOSING = "더 궁금하신 점이 있으시면 언제든지 다시 연락 주십시오."


def _sentence(
    domain: str, category: str, dialogue: str, turn: int, speaker: str, text: str, intent: str
) -> dict:
    customer = speaker == "고객"
    question = customer and not text.startswith(THANKS)
    return {
        "도메인": domain,
        "카테고리": category,
        "대화셋일련번호": dialogue,
        "화자": speaker,
        "문장번호": turn,
        "고객의도": intent if customer else "",
        "상담사의도": "" if customer else intent,
        "QA": "Q" if customer else "A",
        "고객질문(요청)": text if question else "",
        "상담사질문(요청)": "",
        "고객답변": text if customer and not question else "",
        "상담사답변": "" if customer else text,
        "개체명": "",
        "용어사전": "",
        "지식베이스": "",
    }


def _dialogue(rng: random.Random, domain: str, intents: tuple[Intent, ...], number: int) -> list[dict]:
    """Caller asks, counsellor answers the script; sometimes a second question, then thanks."""
    dialogue = f"{number:06d}"
    first = intents[number % len(intents)]
    asked = [first]
    if rng.random() < 0.4:
        same = [i for i in intents if i.category == first.category and i is not first]
        if same:
            asked.append(rng.choice(same))
    sentences = []
    turn = 1
    for intent in asked:
        slots = {k: rng.choice(v) for k, v in SLOTS.items()}
        question = rng.choice(intent.questions).format(**slots)
        sentences.append(_sentence(domain, first.category, dialogue, turn, "고객", question, intent.name))
        sentences.append(
            _sentence(
                domain, first.category, dialogue, turn + 1, "상담사", intent.answer, intent.agent_intent
            )
        )
        turn += 2
    sentences.append(_sentence(domain, first.category, dialogue, turn, "고객", rng.choice(THANKS), "감사"))
    sentences.append(_sentence(domain, first.category, dialogue, turn + 1, "상담사", CLOSING, "마무리"))
    return sentences


def build_dialogues(params: SampleParams) -> dict[tuple[str, str], dict[str, list[dict]]]:
    """(split, domain) -> category -> sentences, in dialogue order; deterministic in ``params.seed``."""
    rng = random.Random(f"callcenter:{params.seed}")
    kdca = min(max(24, params.records // 2), MAX_KDCA_DIALOGUES)
    plan = [(KDCA, KDCA_INTENTS, kdca)] + [(d, i, max(6, kdca // 3)) for d, i in OTHER_INTENTS.items()]
    files: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for domain, intents, count in plan:
        for number in range(1, count + 1):
            split = "Validation" if number % VALIDATION_EVERY == 0 else "Training"
            sentences = _dialogue(rng, domain, intents, number)
            category = sentences[0]["카테고리"]
            files.setdefault((split, domain), {}).setdefault(category, []).extend(sentences)
    return files


def write_callcenter_tree(params: SampleParams) -> Path:
    """Write the call-centre dataset folder under ``params.out``; returns that folder.

    Only ``<out>/98.민원(콜센터) 질의-응답 데이터`` is replaced (built beside it, then renamed), so
    the interview tree next to it is kept.
    """
    from callbot.console import summary

    out = Path(params.out)
    final = out / DATASET_DIR
    tmp = out / f".{DATASET_DIR}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    files = build_dialogues(params)
    archives = sentences = dialogues = 0
    try:
        for (split, domain), categories in sorted(files.items()):
            prefix = "TL" if split == "Training" else "VL"
            writer = ArchiveWriter(tmp / RELEASE_DIR / split / LABEL_DIR / f"{prefix}_{domain}.zip")
            for index, (category, items) in enumerate(sorted(categories.items())):
                data = json.dumps(items, ensure_ascii=False, indent=1).encode("utf-8")
                if not params.clean and index == 0 and split == "Training":
                    data = b"\xef\xbb\xbf" + data  # quirk: a BOM, as Windows tools write it
                writer.add(f"{domain}/{category}.json", data)
                sentences += len(items)
                dialogues += len({s["대화셋일련번호"] for s in items})
            writer.close(params.part_size)
            archives += 1
        replace_dir(tmp, final, old=out / f".{DATASET_DIR}.old-{os.getpid()}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary(
        "sample",
        f"callcenter: {dialogues} dialogues, {sentences} sentences in {archives} archives -> {final}",
    )
    return final
