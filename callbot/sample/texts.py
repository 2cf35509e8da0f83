"""Korean interview texts for the sample tree: questions, answers, summaries, emotion and intent.

Why templates with slots: downstream models must be evaluated on sentences they never saw in
training, as with the real 84,134 interviews. Each answer is assembled from sentence templates
whose slots are filled from an occupation's vocabulary, so the number of distinct sentences grows
far beyond the records of a smoke tree while every sentence stays natural Korean. Numbers are
written as words (the real transcripts spell them out, and espeak-ng then reads them right).

Each answer sentence carries its own short form; the summary is the short forms of the answer's
content sentences, so it is always shorter than the answer (as the page's KoBART task assumes).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

EMOTION_WEIGHTS = {"negative": 1518, "neutral": 6596, "positive": 5994}  # the page's KoBERT class counts


@dataclass(frozen=True)
class Vocab:
    """One occupation's words: what the work is, what it needs, what it achieves."""

    field: str  # the job as a candidate would name it
    tasks: tuple[str, ...]  # noun phrases of concrete work
    skills: tuple[str, ...]  # competencies (also the intent `expression`)
    tools: tuple[str, ...]
    partners: tuple[str, ...]  # who the work is done with
    results: tuple[str, ...]  # what went well, as a full predicate
    trends: tuple[str, ...]  # what is changing in the field
    majors: tuple[str, ...]


VOCAB: dict[str, Vocab] = {
    "BM": Vocab(
        field="경영 지원",
        tasks=(
            "예산 편성",
            "사업 계획 수립",
            "성과 지표 관리",
            "인사 평가 제도 개선",
            "원가 분석",
            "내부 감사 대응",
            "조직 문화 개선",
            "계약 관리",
        ),
        skills=("분석력", "조정 능력", "책임감", "의사소통 능력", "꼼꼼함", "전략적 사고"),
        tools=("엑셀", "전사적 자원 관리 시스템", "회계 프로그램", "업무 관리 도구"),
        partners=("재무팀", "현업 부서", "외부 회계 법인", "경영진", "인사팀"),
        results=(
            "월말 결산 기간을 사흘 정도 줄일 수 있었습니다",
            "부서별 예산 집행률이 눈에 띄게 좋아졌습니다",
            "보고서 작성 시간이 절반 가까이 줄었습니다",
            "불필요한 비용을 연간 수천만 원 정도 절감했습니다",
            "평가 결과에 대한 직원들의 신뢰가 높아졌습니다",
        ),
        trends=("데이터 기반 의사 결정", "이에스지 경영", "업무 자동화", "유연 근무 제도"),
        majors=("경영학", "회계학", "경제학", "행정학"),
    ),
    "SM": Vocab(
        field="영업 마케팅",
        tasks=(
            "신규 거래처 발굴",
            "판촉 행사 기획",
            "고객 만족도 조사",
            "온라인 광고 운영",
            "시장 조사",
            "가격 협상",
            "브랜드 홍보",
            "매출 분석",
        ),
        skills=("협상력", "친화력", "목표 의식", "고객 지향성", "기획력", "끈기"),
        tools=("고객 관리 시스템", "광고 분석 도구", "설문 조사 플랫폼", "엑셀"),
        partners=("거래처 담당자", "디자인팀", "물류팀", "대리점 사장님들", "광고 대행사"),
        results=(
            "분기 매출이 전년보다 이십 퍼센트 가까이 늘었습니다",
            "신규 거래처를 열 곳 넘게 확보했습니다",
            "재구매율이 눈에 띄게 올라갔습니다",
            "행사 참여 고객 수가 목표의 두 배를 넘었습니다",
            "광고 비용 대비 효과가 크게 좋아졌습니다",
        ),
        trends=("소셜 미디어 마케팅", "구독 경제", "개인 맞춤형 추천", "라이브 커머스"),
        majors=("경영학", "광고홍보학", "심리학", "무역학"),
    ),
    "PS": Vocab(
        field="공공 서비스",
        tasks=(
            "민원 응대",
            "복지 사업 안내",
            "지역 행사 운영",
            "정책 홍보",
            "행정 서류 관리",
            "주민 의견 수렴",
            "안전 점검",
            "예산 집행 관리",
        ),
        skills=("공감 능력", "청렴성", "봉사 정신", "공정성", "인내심", "책임감"),
        tools=("전자 결재 시스템", "민원 처리 시스템", "엑셀", "공문서 작성 도구"),
        partners=("주민분들", "유관 기관", "동료 공무원", "자원봉사자분들", "지역 단체"),
        results=(
            "민원 처리 기간이 눈에 띄게 짧아졌습니다",
            "행사에 참여한 주민분들의 만족도가 높게 나왔습니다",
            "같은 민원이 반복해서 들어오는 일이 크게 줄었습니다",
            "복지 혜택을 몰라서 놓치는 분들이 많이 줄었습니다",
            "서류 누락으로 생기던 문제가 거의 사라졌습니다",
        ),
        trends=("디지털 행정 서비스", "고령화에 따른 복지 수요", "주민 참여 예산제", "재난 안전 관리"),
        majors=("행정학", "사회복지학", "법학", "정치외교학"),
    ),
    "RND": Vocab(
        field="연구 개발",
        tasks=(
            "시제품 설계",
            "실험 설계와 분석",
            "선행 기술 조사",
            "특허 출원",
            "성능 시험",
            "연구 과제 제안서 작성",
            "소재 개발",
            "공정 개선 연구",
        ),
        skills=("논리적 사고", "탐구심", "문제 해결 능력", "전문성", "끈기", "협업 능력"),
        tools=("통계 분석 프로그램", "시뮬레이션 도구", "설계 프로그램", "실험 장비"),
        partners=("생산팀", "공동 연구 기관", "지도 교수님", "품질팀", "선배 연구원들"),
        results=(
            "시제품의 성능을 목표치 이상으로 끌어올렸습니다",
            "실험 횟수를 줄이면서도 같은 결과를 얻을 수 있었습니다",
            "연구 결과를 학회에서 발표할 수 있었습니다",
            "특허 한 건을 출원하는 성과를 냈습니다",
            "불량의 원인을 정확히 찾아낼 수 있었습니다",
        ),
        trends=("인공지능을 활용한 연구", "친환경 소재", "이차 전지 기술", "연구 데이터 공유"),
        majors=("화학공학", "기계공학", "재료공학", "생명과학"),
    ),
    "ICT": Vocab(
        field="정보 통신",
        tasks=(
            "웹 서비스 개발",
            "데이터베이스 설계",
            "서버 운영",
            "보안 점검",
            "모바일 앱 개발",
            "데이터 분석",
            "클라우드 이전",
            "장애 대응",
        ),
        skills=("문제 해결 능력", "학습 능력", "논리적 사고", "협업 능력", "꼼꼼함", "책임감"),
        tools=("파이썬", "자바", "클라우드 서비스", "버전 관리 도구", "리눅스 서버"),
        partners=("기획자", "디자이너", "운영팀", "고객사 담당자", "다른 개발자들"),
        results=(
            "서비스 응답 속도가 두 배 가까이 빨라졌습니다",
            "장애 발생 건수가 크게 줄었습니다",
            "배포 시간이 한 시간에서 십 분으로 줄었습니다",
            "사용자 수가 꾸준히 늘어났습니다",
            "보안 취약점을 미리 찾아서 막을 수 있었습니다",
        ),
        trends=("생성형 인공지능", "클라우드 전환", "개인 정보 보호 강화", "저코드 개발"),
        majors=("컴퓨터공학", "전자공학", "정보통신공학", "통계학"),
    ),
    "ARD": Vocab(
        field="디자인",
        tasks=(
            "브랜드 아이덴티티 작업",
            "패키지 디자인",
            "사용자 경험 설계",
            "전시 공간 연출",
            "제품 디자인",
            "홍보물 제작",
            "웹 화면 디자인",
            "캐릭터 개발",
        ),
        skills=("창의성", "미적 감각", "관찰력", "소통 능력", "완성도에 대한 집념", "유연성"),
        tools=("포토샵", "일러스트레이터", "삼차원 모델링 프로그램", "프로토타입 도구"),
        partners=("기획팀", "마케팅팀", "개발자", "인쇄소", "클라이언트"),
        results=(
            "사용자 만족도 조사에서 가장 높은 점수를 받았습니다",
            "제품 판매량이 출시 석 달 만에 목표를 넘었습니다",
            "공모전에서 입상하는 성과를 냈습니다",
            "고객사에서 다음 프로젝트도 함께하자는 제안을 받았습니다",
            "수정 요청 횟수가 절반 이하로 줄었습니다",
        ),
        trends=("친환경 디자인", "사용자 중심 디자인", "인공지능 이미지 도구", "접근성을 고려한 디자인"),
        majors=("시각디자인", "산업디자인", "실내건축", "미술학"),
    ),
    "MM": Vocab(
        field="생산 제조",
        tasks=(
            "생산 공정 관리",
            "품질 검사",
            "설비 보전",
            "생산 계획 수립",
            "안전 관리",
            "불량률 개선",
            "재고 관리",
            "작업 표준서 작성",
        ),
        skills=("안전 의식", "책임감", "꼼꼼함", "현장 이해력", "문제 해결 능력", "체력과 성실함"),
        tools=("생산 관리 시스템", "측정 장비", "설비 점검표", "엑셀"),
        partners=("현장 작업자분들", "품질팀", "협력 업체", "설비팀", "구매팀"),
        results=(
            "불량률을 절반 가까이 낮출 수 있었습니다",
            "설비 고장으로 멈추는 시간이 크게 줄었습니다",
            "한 해 동안 안전사고가 한 건도 없었습니다",
            "납기를 한 번도 어기지 않았습니다",
            "생산량이 한 달에 십 퍼센트 정도 늘었습니다",
        ),
        trends=("스마트 팩토리", "공정 자동화", "탄소 배출 저감", "예지 보전"),
        majors=("산업공학", "기계공학", "전기공학", "화학공학"),
    ),
}

PAST = {
    "Experienced": ("이전 회사", "전 직장", "첫 직장", "지난 회사"),
    "New": ("대학교 동아리", "인턴십", "졸업 프로젝트", "학교 팀 과제", "아르바이트"),
}
DURATIONS = ("두 달", "석 달", "여섯 달", "일 년", "일 년 반", "이 년", "삼 년")
TEAM_SIZES = ("세 명", "네 명", "다섯 명", "여섯 명", "열 명")


@dataclass(frozen=True)
class Line:
    """An answer sentence and its short form for the summary (``None``: not summarised)."""

    full: str
    short: str | None


@dataclass(frozen=True)
class Topic:
    """A kind of interview question, its intent category and the sentences that answer it."""

    name: str
    intent: str  # technology | attitude | background | personality | etc
    questions: tuple[str, ...]
    lines: tuple[Line, ...]


def _l(full: str, short: str | None) -> Line:
    return Line(full, short)


TOPICS: tuple[Topic, ...] = (
    Topic(
        "motivation",
        "attitude",
        (
            "{field} 직무에 지원하신 동기를 말씀해 주세요",
            "여러 회사 중에서 저희 회사의 {field} 직무를 선택하신 이유는 무엇인가요",
            "왜 {field} 분야에서 일하고 싶으신지 궁금합니다",
            "지원자님이 이 직무에 관심을 갖게 된 계기가 무엇인지 말씀해 주시겠어요",
        ),
        (
            _l(
                "저는 {past}에서 {task} 업무를 처음 접하면서 이 일에 관심을 갖게 되었습니다.",
                "{past}에서 {task}을/를 접하며 관심을 가졌습니다.",
            ),
            _l(
                "{task}을/를 하면서 제가 한 일이 바로 결과로 이어지는 것이 가장 큰 매력이었습니다.",
                "결과로 이어지는 점이 매력이었습니다.",
            ),
            _l(
                "특히 {partner}와/과 일하면서 {field} 업무가 회사 전체에 얼마나 중요한지 알게 되었습니다.",
                "{field} 업무의 중요성을 알게 되었습니다.",
            ),
            _l(
                "귀사는 {trend}에 누구보다 앞서 투자하고 있어서 제가 가장 배우고 싶은 곳이라고 생각했습니다.",
                "귀사가 {trend}에 앞서 있어 지원했습니다.",
            ),
            _l(
                "제가 가진 {skill}을/를 가장 잘 살릴 수 있는 일이 바로 {field} 직무라고 판단했습니다.",
                "{skill}을/를 살릴 수 있는 직무입니다.",
            ),
            _l(
                "전공인 {major}에서 배운 내용을 현장에서 직접 써 보고 싶다는 마음도 컸습니다.",
                "{major} 전공을 현장에서 활용하고 싶습니다.",
            ),
        ),
    ),
    Topic(
        "experience",
        "technology",
        (
            "{task} 업무를 해 본 경험이 있다면 구체적으로 설명해 주시겠어요",
            "지금까지 맡았던 일 중에서 {task}와/과 관련된 경험을 소개해 주세요",
            "{tool}을/를 활용해서 성과를 낸 경험이 있으신가요",
            "본인이 주도적으로 진행했던 프로젝트 하나를 소개해 주세요",
        ),
        (
            _l(
                "{past}에서 {duration} 동안 {task}을/를 맡아서 진행한 적이 있습니다.",
                "{past}에서 {duration} 동안 {task}을/를 맡았습니다.",
            ),
            _l(
                "당시 {team}이 한 팀이었고 저는 {tool}을/를 이용해서 자료를 정리하는 역할을 했습니다.",
                "{tool}(으)로 자료를 정리했습니다.",
            ),
            _l(
                "처음에는 업무 절차가 없어서 {partner}에게 하나하나 물어 가며 기준을 세웠습니다.",
                "업무 기준을 직접 세웠습니다.",
            ),
            _l(
                "매주 진행 상황을 {partner}와/과 공유하면서 문제가 생기면 바로 고쳐 나갔습니다.",
                "진행 상황을 공유하며 문제를 고쳤습니다.",
            ),
            _l("그 결과 {result}.", "{result}."),
            _l("이 경험 덕분에 {task}의 전체 흐름을 이해하게 되었습니다.", "{task}의 흐름을 이해했습니다."),
        ),
    ),
    Topic(
        "difficulty",
        "attitude",
        (
            "{task} 과정에서 가장 어려웠던 점은 무엇이었고 어떻게 극복하셨나요",
            "업무를 하다가 큰 실수를 했던 경험이 있다면 말씀해 주세요",
            "계획대로 일이 풀리지 않았을 때 어떻게 대처하셨는지 궁금합니다",
        ),
        (
            _l(
                "{past}에서 {task}을/를 하던 중에 일정이 갑자기 절반으로 줄어든 적이 있었습니다.",
                "{task} 중에 일정이 크게 줄었습니다.",
            ),
            _l(
                "그때 저는 해야 할 일을 중요한 순서대로 다시 정리하고 {partner}에게 도움을 요청했습니다.",
                "일을 다시 정리하고 도움을 요청했습니다.",
            ),
            _l(
                "제가 놓친 부분이 있다는 것을 알고 바로 팀에 알린 뒤 원인부터 찾았습니다.",
                "실수를 바로 알리고 원인을 찾았습니다.",
            ),
            _l(
                "같은 문제가 다시 생기지 않도록 점검 목록을 만들어서 팀원들과 함께 썼습니다.",
                "점검 목록을 만들어 공유했습니다.",
            ),
            _l("결국 마감 전에 일을 마칠 수 있었고 {result}.", "마감을 지켰고 {result}."),
            _l(
                "이 일을 통해 어려울수록 혼자 끌어안지 않고 빨리 공유하는 것이 중요하다는 것을 배웠습니다.",
                "빨리 공유하는 것이 중요함을 배웠습니다.",
            ),
        ),
    ),
    Topic(
        "strength",
        "personality",
        (
            "본인의 가장 큰 장점은 무엇이라고 생각하시나요",
            "본인의 강점이 {field} 업무에 어떻게 도움이 될지 말씀해 주세요",
            "주변 사람들은 지원자님을 어떤 사람이라고 이야기하나요",
        ),
        (
            _l("저의 가장 큰 장점은 {skill}(이)라고 생각합니다.", "장점은 {skill}입니다."),
            _l(
                "{past}에서도 동료들이 어려운 일이 생기면 저를 먼저 찾곤 했습니다.",
                "동료들이 저를 먼저 찾았습니다.",
            ),
            _l("한번 맡은 일은 끝까지 책임지고 마무리하려고 노력합니다.", "맡은 일은 끝까지 마무리합니다."),
            _l(
                "이런 {skill}은/는 {task}처럼 여러 사람과 함께하는 일에서 특히 빛을 발한다고 생각합니다.",
                "{skill}은/는 {task}에 도움이 됩니다.",
            ),
            _l("실제로 {past}에서 {task}을/를 할 때 {result}.", "{task}에서 {result}."),
        ),
    ),
    Topic(
        "weakness",
        "personality",
        (
            "본인의 단점은 무엇이고 그것을 보완하기 위해 어떤 노력을 하고 계신가요",
            "스스로 부족하다고 느끼는 부분이 있다면 말씀해 주세요",
        ),
        (
            _l(
                "저는 일을 꼼꼼하게 보려다 보니 가끔 속도가 느려진다는 단점이 있습니다.",
                "꼼꼼하다 보니 속도가 느릴 때가 있습니다.",
            ),
            _l(
                "다른 사람에게 부탁하기보다 혼자 해결하려는 습관이 있었습니다.",
                "혼자 해결하려는 습관이 있었습니다.",
            ),
            _l(
                "그래서 요즘은 하루 일과를 시작할 때 시간 계획부터 세우고 있습니다.",
                "시간 계획을 먼저 세웁니다.",
            ),
            _l(
                "{partner}에게 중간 결과를 자주 보여 주면서 방향을 빨리 확인하려고 합니다.",
                "중간 결과를 자주 공유합니다.",
            ),
            _l(
                "부족한 {skill}을/를 기르기 위해 관련 강의를 듣고 {tool} 공부도 꾸준히 하고 있습니다.",
                "강의와 {tool} 공부로 보완하고 있습니다.",
            ),
        ),
    ),
    Topic(
        "conflict",
        "personality",
        (
            "동료와 의견이 달랐을 때 어떻게 해결하셨는지 말씀해 주세요",
            "팀으로 일하면서 갈등이 생겼던 경험이 있나요",
            "상사의 지시가 본인의 생각과 다를 때는 어떻게 하시겠습니까",
        ),
        (
            _l(
                "{past}에서 {task} 방식을 두고 {partner}와/과 의견이 크게 갈린 적이 있습니다.",
                "{task} 방식으로 의견이 갈렸습니다.",
            ),
            _l(
                "저는 먼저 상대방이 왜 그렇게 생각하는지 끝까지 들어 보았습니다.",
                "상대의 의견을 끝까지 들었습니다.",
            ),
            _l(
                "서로의 안을 표로 정리해서 장단점을 비교해 보니 의외로 공통점이 많았습니다.",
                "장단점을 비교해 공통점을 찾았습니다.",
            ),
            _l("결국 두 의견을 합친 방법으로 진행했고 {result}.", "의견을 합쳐 진행했고 {result}."),
            _l(
                "지시가 제 생각과 다르더라도 우선 따르고 근거를 정리해서 따로 말씀드리는 편입니다.",
                "지시를 따르고 근거를 따로 말씀드립니다.",
            ),
        ),
    ),
    Topic(
        "knowledge",
        "technology",
        (
            "{field} 분야에서 최근 가장 중요한 변화는 무엇이라고 생각하시나요",
            "{trend}에 대해 어떻게 생각하시는지 말씀해 주세요",
            "{tool}을/를 어느 정도 다룰 수 있으신가요",
        ),
        (
            _l(
                "저는 요즘 {field} 분야에서 가장 큰 변화가 {trend}(이)라고 생각합니다.",
                "가장 큰 변화는 {trend}입니다.",
            ),
            _l(
                "{trend}은/는 일하는 방식 자체를 바꾸고 있기 때문에 미리 준비하지 않으면 뒤처질 수 있습니다.",
                "{trend}에 미리 준비해야 합니다.",
            ),
            _l(
                "{tool}은/는 {past}에서 {duration} 정도 꾸준히 써 와서 실무에 바로 활용할 수 있습니다.",
                "{tool}을/를 실무에 바로 쓸 수 있습니다.",
            ),
            _l(
                "최근에는 {trend} 관련 사례를 정리하면서 우리 회사에 적용할 방법을 고민해 보았습니다.",
                "{trend} 적용 방법을 고민했습니다.",
            ),
            _l(
                "새로운 기술이 나와도 결국 {task}의 기본을 잘 아는 사람이 잘 활용할 수 있다고 봅니다.",
                "{task}의 기본이 중요합니다.",
            ),
        ),
    ),
    Topic(
        "background",
        "background",
        (
            "학창 시절이나 이전 직장에서 가장 기억에 남는 경험은 무엇인가요",
            "전공이 {field} 업무와 어떻게 연결된다고 생각하시나요",
            "자기소개를 간단히 부탁드립니다",
        ),
        (
            _l(
                "저는 {major}을/를 전공했고 {past}에서 {task}을/를 경험했습니다.",
                "{major} 전공으로 {task}을/를 경험했습니다.",
            ),
            _l(
                "{major}에서 배운 분석 방법은 {task}에 그대로 쓸 수 있었습니다.",
                "{major} 지식을 {task}에 썼습니다.",
            ),
            _l(
                "가장 기억에 남는 것은 {team}이 함께 {duration} 동안 밤늦게까지 준비했던 발표입니다.",
                "팀 발표 준비가 기억에 남습니다.",
            ),
            _l(
                "그 발표를 마친 뒤 {partner}에게 좋은 평가를 받았을 때 정말 뿌듯했습니다.",
                "좋은 평가를 받았습니다.",
            ),
            _l("이런 경험이 지금의 저를 만든 바탕이 되었다고 생각합니다.", None),
        ),
    ),
    Topic(
        "future",
        "etc",
        (
            "입사 후 오 년 뒤 본인의 모습은 어떨 것 같나요",
            "이 회사에서 이루고 싶은 목표가 있다면 말씀해 주세요",
            "마지막으로 하고 싶은 말씀이 있으신가요",
        ),
        (
            _l(
                "입사 후 처음 몇 년은 {task}을/를 제대로 익히는 데 집중하겠습니다.",
                "먼저 {task}을/를 익히겠습니다.",
            ),
            _l(
                "오 년 뒤에는 {trend}을/를 이끄는 {field} 전문가가 되어 있고 싶습니다.",
                "{trend}을/를 이끄는 전문가가 되고 싶습니다.",
            ),
            _l(
                "후배들이 믿고 찾아오는 선배가 되는 것도 제 목표 가운데 하나입니다.",
                "믿음직한 선배가 되고 싶습니다.",
            ),
            _l("오늘 면접 기회를 주셔서 진심으로 감사드립니다.", None),
            _l(
                "제가 가진 {skill}(으)로 회사에 꼭 필요한 사람이 되겠습니다.", "{skill}(으)로 기여하겠습니다."
            ),
        ),
    ),
    Topic(
        "teamwork",
        "attitude",
        (
            "팀워크를 발휘했던 경험을 말씀해 주세요",
            "다른 부서와 협업할 때 가장 중요하다고 생각하는 것은 무엇인가요",
        ),
        (
            _l(
                "{past}에서 {partner}와/과 함께 {task}을/를 진행한 경험이 있습니다.",
                "{partner}와/과 {task}을/를 함께 했습니다.",
            ),
            _l(
                "저는 회의 내용을 정리해서 모두가 같은 정보를 갖도록 하는 역할을 맡았습니다.",
                "회의 내용을 정리해 공유했습니다.",
            ),
            _l(
                "협업에서 가장 중요한 것은 서로의 일정을 존중하고 약속을 지키는 것이라고 생각합니다.",
                "협업에서는 약속을 지키는 것이 중요합니다.",
            ),
            _l("덕분에 {duration} 만에 일을 마쳤고 {result}.", "{duration} 만에 마쳤고 {result}."),
        ),
    ),
)

# Sentences that fit any topic; long answers add one or two of them.
ELABORATIONS = (
    _l("이 과정에서 {skill}이/가 얼마나 중요한지 다시 한번 느꼈습니다.", "{skill}의 중요성을 느꼈습니다."),
    _l(
        "그때의 경험은 {task}을/를 바라보는 제 시각을 넓혀 주었습니다.",
        "{task}을/를 보는 시각이 넓어졌습니다.",
    ),
    _l(
        "무엇보다 {partner}와/과 신뢰를 쌓는 것이 중요하다는 것을 알게 되었습니다.",
        "신뢰가 중요함을 알았습니다.",
    ),
    _l(
        "그래서 지금도 새로운 일을 시작할 때는 목표와 기준부터 분명히 정하고 있습니다.",
        "목표와 기준부터 정합니다.",
    ),
    _l(
        "요즘은 {trend}에 관한 책과 강의를 찾아보면서 부족한 부분을 채우고 있습니다.",
        "{trend}을/를 공부하고 있습니다.",
    ),
)

OPENERS = (
    "네, 말씀드리겠습니다.",
    "좋은 질문 감사합니다.",
    "제 경험을 바탕으로 말씀드리겠습니다.",
    "그 부분에 대해서는 평소에도 많이 고민해 봤습니다.",
    "네, 조금 길어질 수도 있지만 구체적으로 말씀드리겠습니다.",
)

# (full, short, expression) per emotion category; the full sentence is the emotion `text`.
EMOTION_LINES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "positive": (
        ("그 경험을 통해 {field} 일에 큰 보람을 느꼈습니다.", "큰 보람을 느꼈습니다.", "u-pride"),
        ("그때 받은 칭찬은 지금도 저에게 큰 힘이 됩니다.", "칭찬이 힘이 됩니다.", "u-joy"),
        (
            "앞으로 이 회사에서 일할 생각을 하면 정말 설레고 기대가 됩니다.",
            "입사가 기대됩니다.",
            "u-expectation",
        ),
        (
            "{skill}만큼은 누구에게도 뒤지지 않는다고 자신 있게 말씀드릴 수 있습니다.",
            "{skill}에 자신이 있습니다.",
            "u-confidence",
        ),
    ),
    "negative": (
        ("솔직히 당시에는 많이 힘들고 부담스러웠습니다.", "당시에는 부담스러웠습니다.", "u-burden"),
        (
            "처음 결과가 나왔을 때는 실망스러워서 며칠 동안 잠을 잘 못 잤습니다.",
            "결과가 실망스러웠습니다.",
            "u-disappointment",
        ),
        ("제 실수로 팀에 피해를 준 것 같아 지금 생각해도 아쉽습니다.", "실수가 아쉽습니다.", "u-regret"),
        ("면접을 앞두고 사실 많이 긴장되고 걱정도 됩니다.", "긴장되고 걱정됩니다.", "u-anxiety"),
    ),
    "neutral": (
        (
            "{task}은/는 결국 기본 절차를 지키는 것에서 시작한다고 생각합니다.",
            "{task}은/는 기본 절차가 중요합니다.",
            "u-opinion",
        ),
        (
            "그 일은 {duration} 정도 걸렸고 {team}이 함께 참여했습니다.",
            "{duration} 동안 함께 진행했습니다.",
            "u-fact",
        ),
        ("앞으로는 {tool} 활용 능력을 더 키워 나갈 계획입니다.", "{tool} 능력을 키울 계획입니다.", "u-plan"),
        ("{field} 업무는 {partner}와/과의 협업이 많은 편입니다.", "협업이 많은 업무입니다.", "u-fact"),
    ),
}

_JOSA_FORMS = {  # written pair -> (after a final consonant, after a vowel)
    "을/를": ("을", "를"),
    "이/가": ("이", "가"),
    "은/는": ("은", "는"),
    "와/과": ("과", "와"),
    "(으)로": ("으로", "로"),
    "(이)라": ("이라", "라"),
}
_JOSA = re.compile(r"(\S)(" + "|".join(re.escape(k) for k in _JOSA_FORMS) + ")")


def _has_final(syllable: str) -> bool | None:
    """Whether a Hangul syllable ends in a consonant (받침); None for anything else."""
    code = ord(syllable) - 0xAC00
    if 0 <= code < 11172:
        return code % 28 != 0
    return None


def attach_josa(text: str) -> str:
    """Resolve ``을/를``-style particle pairs after slot filling (받침 decides; ㄹ takes 로)."""

    def pick(match: re.Match[str]) -> str:
        prev, pair = match.group(1), match.group(2)
        with_final, without = _JOSA_FORMS[pair]
        final = _has_final(prev)
        if pair == "(으)로" and final and (ord(prev) - 0xAC00) % 28 == 8:  # ㄹ받침 takes 로
            return prev + without
        return prev + (with_final if final else without)

    return _JOSA.sub(pick, text)


def word_count(text: str) -> int:
    """Eojeol: whitespace-separated units, the page's ``wordCount``."""
    return len(text.split())


@dataclass(frozen=True)
class InterviewText:
    """Everything a label JSON says in words, for one question and its answer."""

    question: str
    answer: str
    summary: str
    topic: str
    intent: str
    emotion: str
    answer_emotion: list[dict[str, str]] = field(default_factory=list)
    answer_intent: list[dict[str, str]] = field(default_factory=list)
    question_intent: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TextHoldOut:
    """Sentence templates and vocabulary values that only Validation interviews may use."""

    templates: frozenset[str] = frozenset()  # question templates, Line.full templates, openers
    values: frozenset[str] = frozenset()  # vocabulary values (tasks, tools, durations, ...)

    def pick(self, rng: random.Random, options: tuple[str, ...] | list[str], unseen: bool) -> str:
        """One option: a seen one, or (``unseen``) a held-out one where the list has any."""
        held = [o for o in options if o in self.templates or o in self.values]
        seen = [o for o in options if o not in held]
        return rng.choice(held if unseen and held else seen or list(options))


HELDOUT_TEMPLATE_SHARE = 0.2


def _vocab_lists() -> list[tuple[str, ...]]:
    lists: list[tuple[str, ...]] = []
    for vocab in VOCAB.values():
        lists += [
            vocab.tasks,
            vocab.skills,
            vocab.tools,
            vocab.partners,
            vocab.results,
            vocab.trends,
            vocab.majors,
        ]
    return [*lists, *PAST.values(), DURATIONS, TEAM_SIZES]


@lru_cache(maxsize=4)
def text_holdout(seed: int) -> TextHoldOut:
    """A fifth of the answer-sentence templates (one per topic at least), one question template per
    topic of three or more, one opener and one elaboration, and one or two values of every vocabulary
    list; deterministic in ``seed``.

    A value is held out only where no other text contains it (엑셀 is a tool of four occupations;
    holding it out of one would still leave it in Training). Emotion sentences are kept: each is the
    only example of its expression label.
    """
    rng = random.Random(f"interview-holdout:{seed}")
    templates: set[str] = set()
    for topic in TOPICS:
        lines = [line.full for line in topic.lines]
        templates.update(rng.sample(lines, max(1, round(len(lines) * HELDOUT_TEMPLATE_SHARE))))
        if len(topic.questions) >= 3:
            templates.add(rng.choice(topic.questions))
    templates.add(rng.choice([line.full for line in ELABORATIONS]))
    templates.add(rng.choice(OPENERS))
    lists = _vocab_lists()
    texts = [
        t
        for topic in TOPICS
        for t in (*topic.questions, *(x for line in topic.lines for x in (line.full, line.short or "")))
    ]
    texts += [t for line in ELABORATIONS for t in (line.full, line.short or "")] + list(OPENERS)
    texts += [t for lines in EMOTION_LINES.values() for line in lines for t in line[:2]]
    texts += [v.field for v in VOCAB.values()]
    every_value = [v for items in lists for v in items]
    lists_with = Counter(v for items in lists for v in set(items))
    values: set[str] = set()
    for items in lists:
        eligible = sorted(
            v
            for v in set(items)
            if lists_with[v] == 1 and not any(v in o for o in (*texts, *every_value) if o != v)
        )
        values.update(rng.sample(eligible, min(2 if len(items) >= 8 else 1, len(eligible))))
    return TextHoldOut(frozenset(templates), frozenset(values))


def interview_text(
    rng: random.Random,
    occupation_code: str,
    experience: str,
    holdout: TextHoldOut | None = None,
    unseen: bool = False,
) -> InterviewText:
    """One question and answer for an occupation code (BM..MM) and an experience (Experienced|New).

    Draws use only ``rng``, so a record's text depends on its own seed and nothing else. With a
    ``holdout``, only seen templates and values are used, or (``unseen``) held-out ones wherever a
    list has any, and at least one held-out answer sentence.
    """
    held = holdout or TextHoldOut()
    vocab = VOCAB[occupation_code]
    slots = {
        "field": vocab.field,
        "task": held.pick(rng, vocab.tasks, unseen),
        "skill": held.pick(rng, vocab.skills, unseen),
        "tool": held.pick(rng, vocab.tools, unseen),
        "partner": held.pick(rng, vocab.partners, unseen),
        "result": held.pick(rng, vocab.results, unseen),
        "trend": held.pick(rng, vocab.trends, unseen),
        "major": held.pick(rng, vocab.majors, unseen),
        "past": held.pick(rng, PAST[experience], unseen),
        "duration": held.pick(rng, DURATIONS, unseen),
        "team": held.pick(rng, TEAM_SIZES, unseen),
    }

    def fill(template: str) -> str:
        return attach_josa(template.format(**slots))

    topic = rng.choice(TOPICS)
    question = fill(held.pick(rng, topic.questions, unseen))
    # Several sentences, sometimes many: real answers run from a line to a minute and more.
    forced = [i for i, line in enumerate(topic.lines) if line.full in held.templates]
    pool = (
        list(range(len(topic.lines))) if unseen else [i for i in range(len(topic.lines)) if i not in forced]
    )
    count = min(len(pool), rng.choice((2, 3, 3, 4, 4, 5, 6)))
    if unseen and forced:
        first = rng.choice(forced)
        rest = [i for i in pool if i != first]
        chosen = sorted([first, *rng.sample(rest, count - 1)])
    else:
        chosen = sorted(rng.sample(pool, count))
    lines = [topic.lines[i] for i in chosen]
    if count >= 4:  # long answers add a sentence or two that fit any topic
        extras = [i for i, line in enumerate(ELABORATIONS) if unseen or line.full not in held.templates]
        extra = rng.sample(extras, rng.choice((1, 2)))
        lines.extend(ELABORATIONS[i] for i in sorted(extra))
    emotion = rng.choices(list(EMOTION_WEIGHTS), weights=list(EMOTION_WEIGHTS.values()))[0]
    emo_full, emo_short, expression = rng.choice(EMOTION_LINES[emotion])
    emo_line = Line(emo_full, emo_short)
    lines.insert(rng.randint(1, len(lines)), emo_line)
    opener = held.pick(rng, OPENERS, unseen) if rng.random() < 0.6 else None

    sentences = [fill(line.full) for line in lines]
    answer = " ".join(([opener] if opener else []) + sentences)
    summary = " ".join(fill(line.short) for line in lines if line.short is not None)
    if word_count(summary) >= word_count(answer):  # every short form is shorter; keep it so
        summary = fill(lines[0].short or lines[0].full)

    competency = slots["skill"]
    answer_intent = {"text": sentences[0], "expression": competency, "category": topic.intent}
    if rng.random() < 0.2:  # as in the page's own example: category only, text and expression empty
        answer_intent = {"text": "", "expression": "", "category": topic.intent}
    question_intent: list[dict[str, str]] = []
    if rng.random() < 0.25:
        question_intent = [{"text": question, "category": topic.intent, "expression": competency}]
    return InterviewText(
        question=question,
        answer=answer,
        summary=summary,
        topic=topic.name,
        intent=topic.intent,
        emotion=emotion,
        answer_emotion=[{"text": fill(emo_full), "expression": expression, "category": emotion}],
        answer_intent=[answer_intent],
        question_intent=question_intent,
    )
