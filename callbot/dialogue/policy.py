"""The dialogue policy: answer, confirm first, or hand over, from an intent ranking and how well the words were heard.

Why a policy and not one threshold: a calibrated ranking is often right at middling confidence
(the right intent first at 0.4), and a handover there loses a caller the bot could have served.
So between "sure" and "unsure" the bot asks, from the intent's name, whether that is what the
caller wants; a yes gets the scripted answer, a no a counsellor. The thresholds are calibrated on
the validation calls by evaluate-bot under a wrong-answer target and shipped beside the model.

Everything here is pure (strings, numbers, a :class:`~callbot.intent.Ranking`): the served
responder and evaluate-bot run the same decisions, and tests need no model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from callbot.intent import Ranking
from callbot.text.hangul import hangul_ratio
from callbot.text.normalize import normalise

ANSWER, CONFIRM, HANDOVER = "answer", "confirm", "handover"

# why a turn was handed over (or answered after a confirm), returned as `reason`
EMPTY = "empty"
NOT_KOREAN = "not_korean"
REPETITIVE = "repetitive"
INJECTION = "injection"
OUT_OF_SCOPE = "out_of_scope"
LOW_CONFIDENCE = "low_confidence"
UNCLEAR_AUDIO = "unclear_audio"
CONFIRMED = "confirmed"
DECLINED = "declined"
UNCLEAR_ANSWER = "unclear_answer"

CONFIRM_TAIL = "맞으면 네, 아니면 아니요라고 말씀해 주세요."
REASK_HEAD = "죄송합니다, 잘 듣지 못했습니다."
YES = frozenset(
    {"네", "예", "넵", "네네", "예예", "맞아요", "맞습니다", "맞아", "맞네요", "응", "그래요", "그렇습니다"}
)
NO = frozenset({"아니요", "아니오", "아뇨", "아니", "아닙니다", "아니에요", "틀려요", "틀렸어요", "노"})
# the closed set the confirm reply is scored against when it is heard (callbot.stt.grammar): the words
# above and the short combinations callers say; yes_no parses every one of them the same way
YES_PHRASES = tuple(
    sorted(YES | {"네 맞아요", "네 맞습니다", "예 맞아요", "예 맞습니다", "응 맞아", "네 그래요"})
)
# ("노", typed English "no", is left out of the closed set: heard, it is one vowel away from 네, and the
# margin between them turned half the lone 네s into "unclear")
NO_PHRASES = tuple(
    sorted((NO - {"노"}) | {"아니요 아니에요", "아니요 아닙니다", "아니요 틀려요", "아니 아니에요"})
)
# what a caller may say to the confirm question that is no answer: evaluate-bot speaks them in each
# validation voice as negatives of the calibration (no false yes allowed on them, beside the caller's
# own questions and noise). Lone near-homophones of 네 (내 is one in Seoul speech; 나, 너, 노래, 네시)
# were left out: no caller replies with them, and a quarter second of espeak-ng cannot tell them from 네
# (a model that hears a lone 네 hears them as 네 too, so they would veto every way of hearing yes)
NOT_ANSWERS = (
    "제", "내일", "아마", "글쎄요", "잠깐만요", "상담원", "상담원 바꿔 주세요", "모르겠어요", "뭐라고요",
    "다시 말해 주세요",
)  # fmt: skip
_HANGUL_WORD = re.compile(r"[가-힣]+")


@dataclass(frozen=True)
class Thresholds:
    """Calibrated on validation (evaluate-bot); the defaults answer nothing and never confirm."""

    answer: float = 1.0  # top probability at or above (with the margin): answer
    margin: float = 0.0  # top-1 minus top-2 at least this to answer without asking
    confirm: float = 1.0  # at or above (and not answered): ask first
    word: float = 0.0  # a word heard below this confidence: hand over (the words may be wrong)
    # the heard confirm reply (closed set): the best phrase's per-frame deficit to the free decode at
    # most ``grammar``, and the other answer's at least ``grammar_margin`` worse; None (a calibration
    # from before the closed set): the reply's words are parsed, as they were then
    grammar: float | None = None
    grammar_margin: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Any, source: str) -> Thresholds:
        try:
            values = {k: float(data[k]) for k in ("answer", "margin", "confirm", "word")}
            # a calibration from before the closed-set reply keeps the defaults (words parsed)
            values |= {k: float(data[k]) for k in ("grammar", "grammar_margin") if k in data}
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"{source}: policy needs numbers answer, margin, confirm, word; rerun `callbot evaluate-bot`, "
                "`callbot select` and `callbot package`"
            ) from None
        return cls(**values)


@dataclass(frozen=True)
class Screen:
    """Input checks before any model: what is not a question gets a handover with a reason."""

    min_hangul_ratio: float = 0.6
    repeat_min_words: int = 8  # only texts this long can be "repetitive"
    max_repeat_share: float = 0.5  # the most frequent word is more than this share of the words
    injection_markers: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Action:
    """What the bot does with a turn: ``kind`` (answer | confirm | handover), about which intent, why."""

    kind: str
    intent: str | None
    confidence: float
    reason: str | None = None


def screen(text: str, rules: Screen) -> str | None:
    """The reason ``text`` cannot be a caller's question (empty, not Korean, repetitive, injection) or None."""
    stripped = text.strip()
    if not normalise(stripped):
        return EMPTY
    if hangul_ratio(stripped) < rules.min_hangul_ratio:
        return NOT_KOREAN
    words = stripped.split()
    if len(words) >= rules.repeat_min_words:
        top = Counter(words).most_common(1)[0][1]
        if top / len(words) > rules.max_repeat_share:
            return REPETITIVE
    lowered = stripped.lower()
    if any(marker.lower() in lowered for marker in rules.injection_markers):
        return INJECTION
    return None


def decide(
    ranking: Ranking,
    thresholds: Thresholds,
    word_confidences: Sequence[float] | None = None,
    out_of_scope_prefix: str = "범위외",
) -> Action:
    """Answer, confirm or hand over one ranked turn (see the module docstring for why)."""
    top, confidence = ranking.top, ranking.confidence
    if out_of_scope_prefix and top.startswith(out_of_scope_prefix):
        return Action(HANDOVER, top, confidence, OUT_OF_SCOPE)
    if word_confidences and min(word_confidences) < thresholds.word:
        return Action(HANDOVER, top, confidence, UNCLEAR_AUDIO)
    if confidence >= thresholds.answer and ranking.margin >= thresholds.margin:
        return Action(ANSWER, top, confidence)
    if confidence >= thresholds.confirm:
        return Action(CONFIRM, top, confidence)
    return Action(HANDOVER, top, confidence, LOW_CONFIDENCE)


def topic(intent: str) -> str:
    """The readable subject of an intent name: ``접종기관 문의`` -> ``접종기관``."""
    name = " ".join(intent.split("|")[0].split())
    for tail in (" 문의", "문의"):
        if name.endswith(tail) and len(name) > len(tail):
            return name[: -len(tail)].strip()
    return name


def confirm_question(intent: str, again: bool = False) -> str:
    """The confirm turn, from the intent's name: e.g. "접종기관에 대해 물으시는 건가요? 맞으면 네, ..."."""
    question = f"{topic(intent)}에 대해 물으시는 건가요? {CONFIRM_TAIL}"
    return f"{REASK_HEAD} {question}" if again else question


def yes_no(text: str) -> bool | None:
    """A caller's answer to the confirm turn: True (네/예/맞아요), False (아니요/아니), None (anything else)."""
    words = _HANGUL_WORD.findall(text)
    if not words:
        return None
    first, whole = words[0], "".join(words)
    if first in NO or whole in NO or first.startswith("아니"):
        return False
    if first in YES or whole in YES:
        return True
    return None


def reply_heard(text: str, scores: dict[str, Any] | None, thresholds: Thresholds) -> bool | None:
    """A spoken or typed reply to the confirm question: decided from its closed-set scores where the STT
    gave them and the policy has calibrated thresholds for them, else parsed from its words."""
    if scores is None or thresholds.grammar is None:
        return yes_no(text)
    return grammar_answer(scores, thresholds)


def grammar_answer(scores: dict[str, Any], thresholds: Thresholds) -> bool | None:
    """The caller's yes/no from closed-set scores (``ConfirmScores.to_json``): the best answer when its
    phrase explains the audio nearly as well as the free decode and clearly better than the other
    answer; None (unclear) otherwise. A false yes answers what the caller did not agree to."""
    try:
        yes, no = float(scores["yes"]["deficit"]), float(scores["no"]["deficit"])
    except (KeyError, TypeError, ValueError):
        return None
    best, other = min(yes, no), max(yes, no)
    if thresholds.grammar is None or best > thresholds.grammar or other - best < thresholds.grammar_margin:
        return None
    return yes < no


def confirm_asked(history: Sequence[dict[str, str]]) -> bool:
    """Whether the bot's last turn was the confirm question (the reply is then a yes or a no)."""
    said = next((t.get("content", "") for t in reversed(history) if t.get("role") == "assistant"), "")
    return CONFIRM_TAIL in said


def pending_confirm(history: Sequence[dict[str, str]], intents: Sequence[str]) -> tuple[str, bool] | None:
    """The intent the bot's last turn asked about, and whether it already asked twice; None when it did not ask.

    The state is the bot's own words: an assistant turn comes back only with the signature the
    service gave it, so a caller cannot claim the bot asked about an intent it did not.
    """
    said = next((t["content"] for t in reversed(history) if t.get("role") == "assistant"), None)
    if said is None or CONFIRM_TAIL not in said:
        return None
    said = " ".join(said.split())
    for intent in intents:
        if said == confirm_question(intent):
            return intent, False
        if said == confirm_question(intent, again=True):
            return intent, True
    return None


def follow_up(reply: str, intent: str, asked_twice: bool, heard: bool | str | None = "text") -> Action:
    """The turn after a confirm question: yes -> answer, no -> handover, unclear -> ask once more, then hand over.

    ``heard`` is the closed-set decision on the reply's audio (True, False, None unclear); the
    default ``"text"`` parses the words (typed, or heard by an STT without CTC posteriors).
    """
    said = yes_no(reply) if heard == "text" else heard
    if said is True:
        return Action(ANSWER, intent, 1.0, CONFIRMED)
    if said is False:
        return Action(HANDOVER, intent, 1.0, DECLINED)
    if not asked_twice:
        return Action(CONFIRM, intent, 0.0, UNCLEAR_ANSWER)
    return Action(HANDOVER, intent, 0.0, UNCLEAR_ANSWER)


def first_sentence(texts: Sequence[str], max_chars: int = 120) -> str:
    """The extractive summary (the baseline an LLM summary must beat): the caller's first sentence."""
    for text in texts:
        words = " ".join(text.split())
        if normalise(words):
            sentence = re.split(r"(?<=[.?!。？！])\s", words, maxsplit=1)[0]
            return sentence[:max_chars]
    return ""
