"""Serving: latency and throughput of a served Bento on loopback, STT batching on vs off.

What it measures: p50 / p95 latency and requests/s at concurrency 1, 4 and 16 for ``/transcribe``
and ``/ars`` on two servers of the same Bento side by side, one with adaptive STT batching and
one with it off (CALLBOT_STT_BATCHING=0, the baseline), each level measured on both back to back;
then 10 % malformed or hostile requests (issue 16: odd sample rates, URLs, broken multipart, huge
fields, long file names, 21-digit numbers, chunked oversized bodies) mixed into a concurrency-16
run, with p50 / p95 / req/s and the count of 5xx answers (claim: zero).

By default it packages tiny real-architecture models into a temporary BentoML home (nothing is
downloaded; the numbers then measure the serving machinery, not model quality); ``--bento TAG``
benchmarks an already packaged Bento from your own store instead. Only 127.0.0.1 is used, every
loop is bounded, and every server it starts is stopped.

    .venv/bin/python benchmarks/serve_bench.py [--bento TAG] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = (1, 4, 16)
REQUESTS = {1: 4, 4: 8, 16: 16}  # per endpoint and level, times --scale
QUESTIONS = ["코로나 검사는 어디서 받나요", "1339 상담 시간은 언제인가요", "예방접종 예약은 어떻게 하나요"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wav_bytes(samples: Any, rate: int) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def package_tiny(home: Path) -> str:
    """Tiny STT + LLM + espeak voice packaged into ``home`` by the real `callbot package` code."""
    import torch

    from callbot.config import load_params
    from callbot.contracts import Selection, SttMetrics, write_selection, write_stt_metrics
    from callbot.llm.model import build_tiny_candidate
    from callbot.registry.package import run_package
    from callbot.stt.model import build_tiny_whisper

    sys.path.insert(0, str(REPO))  # tests/support fits the interview heads as the stage saves them
    from tests.support.interview_records import build_interview_model

    torch.set_num_threads(1)
    params = load_params(REPO / "params.yaml", "smoke")
    root = home / "repo"
    build_tiny_whisper(root / "stt", seed=0)
    llm = build_tiny_candidate("llama", root / "llm", params=params.llm, seed=0)
    selection = Selection(
        metrics={"ars_rouge_l": 0.0}, winner="tiny", merged=str(llm), handover_threshold=0.5, adapter="-",
        base="-", arch="llama", licence=None, parameters=0, base_metrics={}, dataset_version=None,
        primary_metric="ars_rouge_l", goal="max", min_improvement=0.01, previous_champion=None,
        reason="benchmark", leaderboard="-",
    )  # fmt: skip
    write_selection(root / "selected.json", selection)
    figures = {"cer": 1.0, "wer": 1.0}
    stt = SttMetrics(
        test_utterances=0, serve_backend="hf", base=figures, fine_tuned=figures, cer_improvement=0.0,
        unseen_cer=1.0, baselines={}, backends={}, gates={"passed": True, "mode": "warn"}, failures=[],
    )  # fmt: skip
    write_stt_metrics(root / "metrics.json", stt)
    section = params.package.model_copy(
        update={
            "stt_model": str(root / "stt"),
            "stt_metrics": str(root / "metrics.json"),
            "selected": str(root / "selected.json"),
            "interview_model": str(build_interview_model(root / "interview")),
            "out": str(root / "bento.json"),
        }
    )
    return run_package(section, params.tts, params.serve, root=REPO).tag


@contextmanager
def served(bento: str, batching: bool, workdir: Path) -> Iterator[str]:
    """`bentoml serve <bento>` on a free loopback port; stopped (process group) on exit."""
    import bentoml

    port = free_port()
    env = {**os.environ, "CALLBOT_STT_BATCHING": "1" if batching else "0", "CALLBOT_PROGRESS": "0"}
    log = (workdir / f"serve-{'batched' if batching else 'unbatched'}.log").open("wb")
    command = [sys.executable, "-m", "bentoml", "serve", bento, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with bentoml.SyncHTTPClient(url, server_ready_timeout=300):
            pass
        yield url
    except Exception:
        log.flush()
        print(log.name, Path(log.name).read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def run_load(
    url: str, path: str, bodies: list[bytes], concurrency: int
) -> tuple[list[float], list[int], float]:
    """POST each body once as the `audio` file, ``concurrency`` at a time; latencies, statuses, wall."""
    import httpx

    def one(body: bytes) -> tuple[float, int]:
        start = time.perf_counter()
        with httpx.Client(timeout=300) as client:
            status = client.post(url + path, files={"audio": ("a.wav", body, "audio/wav")}).status_code
        return time.perf_counter() - start, status

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, bodies))
    wall = time.perf_counter() - start
    return [r[0] for r in results], [r[1] for r in results], wall


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(urls: dict[str, str], clips: list[bytes], scale: float) -> dict[tuple[str, str, int], float]:
    """req/s per (mode, endpoint, concurrency); prints a line per run.

    Both servers run at once and each level is measured on one right after the other, so a change
    in the machine's load (it is shared) hits both modes alike instead of biasing the ratio.
    """
    rps: dict[tuple[str, str, int], float] = {}
    for path in ("/transcribe", "/ars"):
        for url in urls.values():
            run_load(url, path, clips[:1], 1)  # warm-up: first calls load lazily
        for level in CONCURRENCY:
            count = max(level, round(REQUESTS[level] * scale))
            bodies = [clips[i % len(clips)] for i in range(count)]
            for mode, url in urls.items():
                latencies, statuses, wall = run_load(url, path, bodies, level)
                ok = sum(s == 200 for s in statuses)
                rps[(mode, path, level)] = count / wall
                print(
                    f"{mode:9s} {path:11s} c={level:2d} n={count:3d} ok={ok:3d} "
                    f"p50={statistics.median(latencies):6.2f}s p95={p95(latencies):6.2f}s {count / wall:6.2f} req/s",
                    flush=True,
                )
    return rps


def hostile_requests(clips: list[bytes]) -> list[tuple[str, str, dict[str, Any]]]:
    """One request per malformed or hostile kind (issue 16): each must get a 4xx, none a 5xx."""
    import numpy as np

    def audio(body: bytes, name: str = "a.wav") -> dict[str, Any]:
        return {"files": {"audio": (name, body, "audio/wav")}}

    def chunked(size: int) -> Iterator[bytes]:
        for _ in range(0, size, 1 << 16):
            yield bytes(1 << 16)

    form = {"content-type": "multipart/form-data"}
    u8 = io.BytesIO()
    import soundfile as sf

    sf.write(u8, np.zeros(250_000, dtype=np.float32) + 0.2, 1_000_003, format="WAV", subtype="PCM_U8")

    def text_field(name: str, value: str) -> dict[str, Any]:  # multipart with `name` as a text part
        body = f'--x\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n--x--\r\n'
        return {"content": body.encode(), "headers": {"content-type": "multipart/form-data; boundary=x"}}

    return [
        ("not audio", "/transcribe", audio(b"not audio at all" * 20)),
        ("empty", "/transcribe", audio(b"")),
        ("silence", "/transcribe", audio(wav_bytes(np.zeros(16000, dtype=np.int16), 16000))),
        ("webm", "/transcribe", audio(b"\x1aE\xdf\xa3" + bytes(256))),
        ("1,000,003 Hz", "/transcribe", audio(u8.getvalue())),  # seconds of resampling before
        ("audio as text", "/transcribe", text_field("audio", "just some text")),
        ("audio as URL", "/transcribe", text_field("audio", "http://127.0.0.1:9/a.wav")),
        ("no boundary", "/transcribe", {"content": b"--x\r\n", "headers": form}),
        ("1 MiB field", "/ars", {**audio(clips[0]), "data": {"history": "[" + " " * (1 << 20) + "]"}}),
        ("1,001 fields", "/ars", {**audio(clips[0]), "data": {f"f{i}": "1" for i in range(1001)}}),
        ("250-char name", "/transcribe", audio(clips[0], "a" * 250 + ".wav")),
        ("21 digits", "/synthesize", {"json": {"text": "1" * 21 + "원입니다"}}),
        ("480 digits", "/synthesize", {"json": {"text": "9" * 480}}),
        (
            "chunked 11 MB",
            "/transcribe",
            {
                "content": chunked(11 << 20),
                "headers": {**form, "content-type": form["content-type"] + "; boundary=x"},
            },
        ),
    ]


def malformed_run(url: str, clips: list[bytes], scale: float) -> tuple[int, dict[int, int], str]:
    """Concurrency 16, every 10th request hostile (:func:`hostile_requests`, each kind at least once).

    Returns the 5xx count, the status histogram and a line with p50 / p95 / req/s of the run.
    """
    import httpx

    bad = hostile_requests(clips)
    count = max(10 * len(bad), round(40 * scale))
    good = [
        ("good", "/transcribe", {"files": {"audio": ("a.wav", clips[i % len(clips)], "audio/wav")}})
        for i in range(count)
    ]
    requests = [bad[(i // 10) % len(bad)] if i % 10 == 9 else good[i] for i in range(count)]

    def one(request: tuple[str, str, dict[str, Any]]) -> tuple[float, int]:
        _label, path, kwargs = request
        start = time.perf_counter()
        try:
            with httpx.Client(timeout=300) as client:
                status = client.post(url + path, **kwargs).status_code
        except httpx.TransportError:  # refused mid-upload: the server answered and closed
            status = 413
        return time.perf_counter() - start, status

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, requests))
    wall = time.perf_counter() - start
    statuses = [r[1] for r in results]
    latencies = [r[0] for r in results]
    histogram = {code: statuses.count(code) for code in sorted(set(statuses))}
    kinds = sorted({f"{r[0]}={code}" for r, code in zip(requests, statuses, strict=True) if r[0] != "good"})
    good_5xx = sum(code >= 500 for r, code in zip(requests, statuses, strict=True) if r[0] == "good")
    print(f"hostile kinds: {' '.join(kinds)}; 5xx among good requests: {good_5xx}", flush=True)
    line = (
        f"n={count} p50={statistics.median(latencies):.2f}s p95={p95(latencies):.2f}s "
        f"{count / wall:.2f} req/s"
    )
    return sum(code >= 500 for code in statuses), histogram, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bento", help="a packaged Bento tag in your BentoML store (default: package tiny models)"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the request counts per level")
    parser.add_argument("--hostile-only", action="store_true", help="only the 10 %% hostile run (one server)")
    args = parser.parse_args()
    os.environ.setdefault("CALLBOT_TORCH_THREADS", "1")
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    workdir = Path(tempfile.mkdtemp(prefix="callbot-serve-bench-"))
    try:
        if args.bento:
            bento = args.bento
        else:
            os.environ["BENTOML_HOME"] = str(workdir / "bentoml")
            bento = package_tiny(workdir)
        from callbot.tts.espeak import synthesize

        clips = [wav_bytes(*synthesize(text)) for text in QUESTIONS]
        print(f"bento {bento}; {os.cpu_count()} CPU cores; requests per level {REQUESTS} x {args.scale}")
        if args.hostile_only:
            with served(bento, batching=True, workdir=workdir) as batched:
                errors, histogram, line = malformed_run(batched, clips, args.scale)
            print(f"10% hostile at c=16 (batched): {line}; status counts {histogram}; 5xx={errors}")
            return
        with (
            served(bento, batching=False, workdir=workdir) as unbatched,
            served(bento, batching=True, workdir=workdir) as batched,
        ):
            rps = measure({"unbatched": unbatched, "batched": batched}, clips, args.scale)
            errors, histogram, line = malformed_run(batched, clips, args.scale)
        print(f"10% hostile at c=16 (batched): {line}; status counts {histogram}; 5xx={errors}")
        ratios = " ".join(
            f"{path.strip('/')}_c{level}={rps[('batched', path, level)] / rps[('unbatched', path, level)]:.2f}x"
            for path in ("/transcribe", "/ars")
            for level in CONCURRENCY
        )
        print(f"req/s batched/unbatched (c1 ~1x = noise floor): {ratios} 5xx_with_10pct_hostile={errors}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
