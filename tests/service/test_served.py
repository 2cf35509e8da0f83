"""The Bento as an operator runs it: packaged, stored, `bentoml serve <tag>` on 127.0.0.1.

One server for the module (starting one takes seconds on 2 cores): the Bento is built from tiny
real-architecture models by ``run_package`` and served from the private store by a real
``bentoml serve`` process, started in an empty directory so nothing is read from the repository.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.slow

READY_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def record(params, package_params, bentoml_home: Path, repo: Path):
    from callbot.registry.package import run_package

    return run_package(package_params, params.tts, params.serve, root=repo)


@pytest.fixture(scope="module")
def server(record, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import bentoml

    port = free_port()
    cwd = tmp_path_factory.mktemp("serve")
    log = (cwd / "serve.log").open("wb")
    env = {**os.environ, "CALLBOT_TORCH_THREADS": "1", "CALLBOT_PROGRESS": "0"}
    command = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        record.tag,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with bentoml.SyncHTTPClient(url, server_ready_timeout=READY_TIMEOUT_S):
            pass
        yield url
    except Exception:
        log.flush()
        print((cwd / "serve.log").read_text(errors="replace")[-4000:])
        raise
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)  # circus waits out its graceful timeout; nothing to save here
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[Any]:
    import bentoml

    with bentoml.SyncHTTPClient(server, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def question(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from callbot.tts.espeak import synthesize

    samples, rate = synthesize("코로나 검사는 어디서 받나요")
    path = tmp_path_factory.mktemp("audio") / "question.wav"
    sf.write(path, samples, rate, format="WAV", subtype="PCM_16")
    return path


def _wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_package_records_a_labelled_bento_pinned_to_its_models(record, params, smoke_repo: Path) -> None:
    import bentoml

    saved = json.loads((smoke_repo / "models" / "bento.json").read_text(encoding="utf-8"))
    assert saved["tag"] == record.tag
    assert saved["serve_command"].startswith(f"bentoml serve {record.tag}")
    assert saved["page_url"].endswith("/ui/")
    bento = bentoml.get(record.tag)
    assert bento.info.labels["dataset_version"] == "1.2.0"
    assert bento.info.labels["git_revision"] != ""
    assert set(bento.info.args.values()) == set(record.models.values())  # pinned, not :latest
    stt = bentoml.models.get(record.models["callbot-stt"])
    assert stt.info.labels["dataset_version"] == "1.2.0" and stt.info.labels["role"] == "stt"
    assert stt.info.labels["cer"] == "0.125" and stt.info.metadata["metrics"]["fine_tuned.cer"] == 0.125
    llm = bentoml.models.get(record.models["callbot-llm"])
    assert llm.info.labels["candidate"] == "kullm" and llm.info.labels["ars_rouge_l"] == "0.25"


def test_every_endpoint_answers(client, question: Path, params) -> None:
    transcript = client.transcribe(audio=question)
    assert transcript["duration_s"] > 0.5 and isinstance(transcript["segments"], list)
    reply = client.reply(
        text="1339 상담 시간은 언제인가요?", history=[{"role": "user", "content": "안녕하세요"}]
    )
    assert reply["text"] and isinstance(reply["guarded"], bool)
    wav = Path(client.synthesize(text="1339로 전화하세요"))
    info = sf.info(wav)
    assert info.samplerate == params.tts.sample_rate and info.duration > 0.5
    turn = client.ars(audio=question)
    assert turn["reply"]["text"] and turn["transcript"]["text"] == transcript["text"]
    audio, rate = sf.read(io.BytesIO(base64.b64decode(turn["audio_wav_base64"])))
    assert rate == params.tts.sample_rate and audio.size > 0


def test_probes_and_openapi(server: str) -> None:
    for probe in ("/healthz", "/livez", "/readyz"):
        assert httpx.get(server + probe, timeout=30).status_code == 200, probe
    spec = httpx.get(server + "/docs.json", timeout=30).json()
    assert {"/transcribe", "/reply", "/synthesize", "/ars"} <= set(spec["paths"])


def test_web_page_and_its_assets_load(server: str) -> None:
    page = httpx.get(server + "/ui/", follow_redirects=True, timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="app.js"' in page.text and 'href="style.css"' in page.text
    script = httpx.get(server + "/ui/app.js", timeout=30)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert '"../ars"' in script.text and '"../synthesize"' in script.text  # the page calls this API
    style = httpx.get(server + "/ui/style.css", timeout=30)
    assert style.status_code == 200 and "text/css" in style.headers["content-type"]


def test_the_requests_the_page_sends_succeed(server: str, question: Path) -> None:
    """app.js posts multipart audio + a JSON `history` field to /ars, and JSON to /reply, /synthesize."""
    history = [{"role": "user", "content": "안녕하세요"}, {"role": "assistant", "content": "네, 1339입니다."}]
    turn = httpx.post(
        server + "/ars",
        files={"audio": ("speech.wav", question.read_bytes(), "audio/wav")},
        data={"history": json.dumps(history, ensure_ascii=False)},
        timeout=120,
    )
    assert turn.status_code == 200, turn.text[:300]
    assert {"transcript", "reply", "audio_wav_base64"} <= set(turn.json())
    reply = httpx.post(server + "/reply", json={"text": "접종 예약", "history": None}, timeout=120)
    assert reply.status_code == 200 and reply.json()["text"]
    speech = httpx.post(server + "/synthesize", json={"text": reply.json()["text"]}, timeout=120)
    assert speech.status_code == 200 and speech.headers["content-type"].startswith("audio/")
    assert speech.content[:4] == b"RIFF"


def _files(name: str, data: bytes) -> dict[str, Any]:
    return {"files": {"audio": (name, data, "audio/wav")}}


BAD_INPUTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("reply: text too long", "/reply", {"json": {"text": "가" * 501}}, 422),
    ("reply: blank text", "/reply", {"json": {"text": "  "}}, 422),
    ("reply: text missing", "/reply", {"json": {}}, 400),
    ("reply: text not a string", "/reply", {"json": {"text": 1339}}, 400),
    (
        "reply: history of strangers",
        "/reply",
        {"json": {"text": "안녕", "history": [{"role": "system"}]}},
        422,
    ),
    (
        "reply: broken JSON",
        "/reply",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        400,
    ),
    ("reply: XML body", "/reply", {"content": b"<a/>", "headers": {"content-type": "application/xml"}}, 400),
    ("synthesize: too long", "/synthesize", {"json": {"text": "가" * 501}}, 422),
    ("transcribe: not audio", "/transcribe", _files("a.wav", b"RIFF but not really" * 10), 415),
    ("transcribe: webm", "/transcribe", _files("a.webm", b"\x1aE\xdf\xa3" + bytes(300)), 415),
    ("transcribe: empty file", "/transcribe", _files("a.wav", b""), 422),
    ("transcribe: silence", "/transcribe", _files("a.wav", _wav(np.zeros(16000))), 422),
    ("transcribe: too long", "/transcribe", _files("a.wav", _wav(np.full(8000 * 61, 0.1), 8000)), 422),
    ("transcribe: no file", "/transcribe", {"data": {"x": "1"}}, 400),
    ("transcribe: JSON instead of a file", "/transcribe", {"json": {"audio": "abc"}}, 400),
    (
        "ars: broken multipart",
        "/ars",
        {"content": b"--x\r\nfoo", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        400,
    ),
    ("ars: silence", "/ars", _files("a.wav", _wav(np.zeros(16000))), 422),
    (
        "ars: bad history",
        "/ars",
        {**_files("a.wav", _wav(np.full(16000, 0.1))), "data": {"history": '"x"'}},
        400,
    ),
]


@pytest.mark.parametrize(
    ("case", "path", "request_kwargs", "status"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_gets_its_4xx(
    server: str, case: str, path: str, request_kwargs: dict[str, Any], status: int
) -> None:
    response = httpx.post(server + path, timeout=60, **request_kwargs)
    assert response.status_code == status, f"{case}: {response.status_code} {response.text[:200]}"
    assert response.text  # a message, not an empty body


@pytest.mark.parametrize(
    ("over", "said"),
    [(1024, "audio is"), (1 << 20, "request body is")],
    ids=["checked by the endpoint", "refused before reading"],
)
def test_oversized_upload_is_413(server: str, params, over: int, said: str) -> None:
    size = params.serve.max_upload_bytes + over
    response = httpx.post(server + "/transcribe", timeout=120, **_files("big.wav", bytes(size)))
    assert response.status_code == 413
    assert said in response.text and "serve.max_upload_bytes" in response.text
