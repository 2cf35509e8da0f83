"""A small prepared `llm` DatasetDict in the prepare stage's shape, for tests and benchmarks.

The LLM stages must be testable without running sample -> ingest -> prepare first. The rows follow
the contract in :mod:`callbot.prepare.schema`: KDCA call-centre ARS turns whose scripted answers
repeat exactly for the same intent, and interview answers with summary, emotion and intent tasks.
"""

from __future__ import annotations

import random
from pathlib import Path

ARS_SYSTEM = "당신은 질병관리청 1339 콜센터 상담원입니다. 질문에 정확하고 짧게 한국어로 답하세요."
INTERVIEW_SYSTEM = "당신은 채용면접 답변을 분석하는 한국어 도우미입니다."

# intent -> (ways callers ask, the counsellor's scripted answer)
KDCA_SCRIPTS: dict[str, tuple[tuple[str, ...], str]] = {
    "test_site": (
        ("코로나 검사는 어디서 받나요", "검사 받을 수 있는 곳이 어디예요", "선별진료소 위치를 알고 싶어요"),
        "가까운 보건소 선별진료소에서 검사를 받으실 수 있습니다.",
    ),
    "vaccine_booking": (
        ("백신 예약은 어떻게 하나요", "예방접종 예약하고 싶어요", "접종 예약 방법을 알려주세요"),
        "예방접종 예약은 누리집이나 위탁의료기관에서 하실 수 있습니다.",
    ),
    "fever": (
        ("열이 나고 기침을 해요", "어제부터 열이 나요", "기침이랑 발열 증상이 있어요"),
        "발열이나 기침이 있으시면 외출을 삼가고 선별진료소를 방문해 주세요.",
    ),
    "quarantine": (
        ("격리 기간은 며칠인가요", "자가격리는 얼마나 해야 하나요", "격리 해제는 언제 되나요"),
        "격리 기간은 검사일로부터 칠 일이며 보건소에서 해제 안내를 드립니다.",
    ),
    "travel": (
        ("해외에서 입국했는데 어떻게 하나요", "외국에서 돌아왔어요", "입국 후에 검사를 받아야 하나요"),
        "입국 후 증상이 있으시면 관할 보건소에 먼저 연락해 주시기 바랍니다.",
    ),
    "side_effect": (
        ("접종 후에 팔이 아파요", "백신 맞고 몸이 안 좋아요", "예방접종 부작용이 걱정돼요"),
        "접종 부위 통증은 흔한 반응이며 증상이 심하면 의료기관을 방문해 주세요.",
    ),
    "certificate": (
        ("접종 증명서는 어디서 받나요", "예방접종 증명서가 필요해요", "증명서 발급 방법이 궁금해요"),
        "접종 증명서는 누리집이나 주민센터에서 발급받으실 수 있습니다.",
    ),
    "mask": (
        ("마스크를 꼭 써야 하나요", "마스크 착용 기준이 뭐예요", "실내에서도 마스크를 쓰나요"),
        "의료기관과 감염취약시설에서는 마스크 착용을 권고합니다.",
    ),
}
OPENINGS = ("", "안녕하세요 ", "저기요 ", "문의드립니다 ", "여보세요 ")
ENDINGS = ("?", " 알려주세요.", " 궁금합니다.", "요?")

# (answer, summary, emotion, intent): interview answers for the other three tasks.
INTERVIEWS: tuple[tuple[str, str, str, str], ...] = (
    (
        "저는 데이터 분석 프로젝트를 주도하며 팀과 함께 목표를 달성한 경험이 있습니다.",
        "데이터 분석 프로젝트를 주도함",
        "positive",
        "background",
    ),
    (
        "새로운 기술을 배우는 것을 좋아해서 매일 조금씩 공부하고 있습니다.",
        "매일 새로운 기술을 공부함",
        "positive",
        "technology",
    ),
    (
        "지난 직장에서 갈등이 있었지만 대화로 문제를 해결했습니다.",
        "갈등을 대화로 해결함",
        "neutral",
        "attitude",
    ),
    (
        "솔직히 야근이 많은 환경은 힘들었고 건강이 나빠졌습니다.",
        "야근으로 건강이 나빠짐",
        "negative",
        "etc",
    ),
    (
        "저는 꼼꼼하고 책임감이 강한 성격이라 맡은 일을 끝까지 합니다.",
        "꼼꼼하고 책임감이 강함",
        "positive",
        "personality",
    ),
    (
        "처음 발표를 맡았을 때 너무 긴장해서 실수를 많이 했습니다.",
        "첫 발표에서 긴장해 실수함",
        "negative",
        "background",
    ),
    (
        "고객의 불만을 들으면 먼저 공감하고 해결 방법을 찾습니다.",
        "고객 불만에 공감하고 해결함",
        "neutral",
        "attitude",
    ),
    (
        "클라우드 서버를 구축하고 운영한 경험을 살리고 싶습니다.",
        "클라우드 운영 경험을 살리고 싶음",
        "positive",
        "technology",
    ),
)


def _interview_rows(seed: int) -> list[dict]:
    rows = []
    for i, (answer, summary, emotion, intent) in enumerate(INTERVIEWS):
        tasks = {
            "summary": (f"다음 면접 답변을 요약하세요.\n\n{answer}", summary),
            "emotion": (
                f"다음 면접 답변의 감정을 positive, negative, neutral 중 하나로 답하세요.\n\n{answer}",
                emotion,
            ),
            "intent": (
                "다음 면접 답변의 의도를 technology, attitude, background, personality, etc 중 하나로 "
                f"답하세요.\n\n{answer}",
                intent,
            ),
        }
        for task, (prompt, reference) in tasks.items():
            rows.append(
                {
                    "id": f"iv{seed}_{i:03d}_{task}",
                    "task": task,
                    "messages": [
                        {"role": "system", "content": INTERVIEW_SYSTEM},
                        {"role": "user", "content": prompt},
                        {"role": "assistant", "content": reference},
                    ],
                    "reference": reference,
                    "occupation": ("ICT", "BM", "PS", "SM")[i % 4],
                    "gender": ("FEMALE", "MALE")[i % 2],
                    "age_range": ("-34", "35-44")[i % 2],
                    "experience": ("NEW", "EXPERIENCED")[i % 2],
                }
            )
    return rows


def sample_llm_rows(seed: int = 0, turns_per_intent: int = 14) -> dict[str, list[dict]]:
    """Rows per split: every intent appears in train and test with different wordings."""
    rng = random.Random(seed)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for intent, (questions, answer) in KDCA_SCRIPTS.items():
        wordings = sorted({o + q + e for q in questions for o in OPENINGS for e in ENDINGS})
        rng.shuffle(wordings)
        for k, question in enumerate(wordings[:turns_per_intent]):
            split = "test" if k % 7 == 0 else "validation" if k % 7 == 1 else "train"
            splits[split].append(
                {
                    "id": f"kdca_{intent}_{k:03d}",
                    "task": "ars",
                    "messages": [
                        {"role": "system", "content": ARS_SYSTEM},
                        {"role": "user", "content": question},
                        {"role": "assistant", "content": answer},
                    ],
                    "reference": answer,
                    "occupation": None,
                    "gender": None,
                    "age_range": None,
                    "experience": None,
                }
            )
    for k, row in enumerate(_interview_rows(seed)):
        interview = k // 3  # an interview's three task rows stay in one split, as prepare does
        (splits["test"] if interview % 4 == 3 else splits["train"]).append(row)
    return splits


def write_sample_llm_dataset(prepared: Path, seed: int = 0, turns_per_intent: int = 14) -> Path:
    """Save the rows as ``<prepared>/llm`` (a DatasetDict), the path the LLM stages read."""
    from datasets import Dataset, DatasetDict

    splits = sample_llm_rows(seed, turns_per_intent)
    dd = DatasetDict({name: Dataset.from_list(rows) for name, rows in splits.items()})
    out = Path(prepared) / "llm"
    dd.save_to_disk(str(out))
    return out
