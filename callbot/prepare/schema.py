"""The contract between prepare and everything downstream (validate, train_stt, train_llm).

``records.parquet`` holds one row per utterance (an interview's question and its answer are two rows;
a call-centre dialogue turn is one row). Columns, in order, with their pyarrow types. Downstream
stages may rely on every column below existing; values may be null where the column says so.

The HF datasets written by prepare:
- ``stt/`` (DatasetDict train/validation/test): ``utterance_id``, ``audio`` (``Audio(decode=False)``,
  ``path`` absolute), ``text`` (normalised reference), ``text_raw``, ``duration_s``, ``role``,
  ``occupation``, ``gender``, ``age_range``, ``experience``, ``dataset``, ``voice``, ``channel``
  (every row with audio: interview turns and spoken call-centre caller sentences).
- ``llm/`` (DatasetDict train/validation/test): ``id``, ``task`` (ars | summary | emotion | intent),
  ``messages`` (list of {role, content}: system, user, assistant), ``reference`` (the assistant text),
  plus ``occupation``, ``gender``, ``age_range``, ``experience`` (null for call-centre rows) and
  ``intent`` (the caller's 고객의도 for ``ars`` examples, ``범위외:<kind>`` out of scope; null otherwise).
- ``llm.jsonl``: the same examples, one JSON object per line, with a ``split`` key.
"""

from __future__ import annotations

import pyarrow as pa

SPLITS = ("train", "validation", "test")
ROLES = ("question", "answer")
OCCUPATIONS = ("BM", "SM", "PS", "RND", "ICT", "ARD", "MM")  # codes used in label JSON `info.occupation`
GENDERS = ("FEMALE", "MALE")
AGE_RANGES = ("-34", "35-44", "45-54", "55-")
EXPERIENCES = ("NEW", "EXPERIENCED")
# interview info.channel, and the call audio channel (call-centre 음성채널; the phone set: always phone, 8 kHz)
CHANNELS = ("MOCK", "FACE-TO-FACE", "wideband", "phone")
PLACES = ("ONLINE", "OFFLINE")
EMOTIONS = ("positive", "negative", "neutral")
INTENTS = ("technology", "attitude", "background", "personality", "etc")
SPEAKERS = ("customer", "agent")  # call-centre 화자: 고객, 상담사

RECORD_SCHEMA = pa.schema(
    [
        ("utterance_id", pa.string()),  # audio file stem, e.g. ckmk_a_sm_m_e_208288; unique
        ("interview_id", pa.string()),  # groups a question with its answer; the split unit
        ("dataset", pa.string()),  # adapter name (callbot.prepare.adapters): interview | callcenter | phone
        ("role", pa.string()),  # question | answer
        ("text_raw", pa.string()),  # label text as written
        ("text", pa.string()),  # normalised (callbot.text)
        ("word_count", pa.int32()),  # label's wordCount (eojeol), null if absent
        ("label_path", pa.string()),  # relative to RAW
        ("audio_path", pa.string()),  # relative to RAW; null for text-only datasets
        ("duration_ms", pa.float64()),  # label's duration (ms)
        ("duration_actual_ms", pa.float64()),  # from the WAV header
        ("file_size", pa.int64()),  # label's fileSize
        ("sample_rate", pa.int32()),  # from the WAV header
        ("channels", pa.int16()),
        ("bits", pa.int16()),
        ("rms", pa.float64()),  # linear, full scale = 1.0
        ("peak", pa.float64()),  # linear, full scale = 1.0
        ("clipped_ratio", pa.float64()),  # share of samples at |x| >= 32767/32768
        ("occupation", pa.string()),  # OCCUPATIONS
        ("gender", pa.string()),  # GENDERS (variants mapped)
        ("age_range", pa.string()),  # AGE_RANGES
        ("experience", pa.string()),  # EXPERIENCES
        ("channel", pa.string()),  # CHANNELS: interview MOCK | FACE-TO-FACE; call audio wideband | phone
        ("place", pa.string()),
        ("emotion", pa.string()),  # first emotion category (answers), EMOTIONS or null
        ("emotion_expression", pa.string()),
        ("intent", pa.string()),  # first intent category (answers), INTENTS or null
        ("intent_expression", pa.string()),
        ("summary", pa.string()),  # answers only
        ("summary_word_count", pa.int32()),
        ("date", pa.string()),  # info.date, YYYYMMDD
        ("split", pa.string()),  # SPLITS
        # added by prepare for the call-centre set (null for interview rows)
        ("domain", pa.string()),  # 도메인, e.g. 질병관리본부
        ("category", pa.string()),  # 카테고리
        ("speaker", pa.string()),  # SPEAKERS: who said it (화자)
        ("turn", pa.int32()),  # 문장번호: order within the dialogue
        (
            "voice",
            pa.string(),
        ),  # 화자음성 of a spoken call sentence / the phone set's speaker id, e.g. f1-r160-p50
    ]
)
RECORD_COLUMNS = tuple(RECORD_SCHEMA.names)
