"""The voice bot as one BentoML service: caller audio -> STT -> LLM -> TTS -> spoken answer.

``STT``, ``LLM``, ``TTS`` and ``Interview`` each hold one model, loaded once when the service instance
starts; ``ARS`` composes them with ``bentoml.depends`` and is the only service exposed: ``/transcribe``,
``/reply``, ``/synthesize``, ``/ars``, and the interview analysis ``/interview`` (audio) and
``/interview_text`` (JSON API, OpenAPI at ``/docs.json``, Swagger UI at ``/``),
``/healthz``, ``/livez`` and ``/readyz`` (BentoML's probes; ``/readyz`` also waits for the four
model services), and the web page at ``/ui/``.

Importing this module reads nothing from the model store: the models (``callbot-stt``,
``callbot-llm``, ``callbot-tts``, ``callbot-interview``, imported by ``callbot package``) are resolved when each service
instance starts. The request limits are the ``serve`` params, which ``callbot package`` writes into
the Bento as its ``serve`` argument (batching and timeouts are fixed when the service is declared,
so they are read here). Every caller input is checked by :mod:`callbot.serve.limits` before a model
sees it; a refused input is a 4xx with a sentence saying what to send, never a 500.

This package is all the Bento ships of callbot, with the inference modules it imports
(``bento/bentofile.yaml`` lists them; ``tests/service/test_bento_contents.py`` keeps the list
exact and free of training code).
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import bentoml
import numpy as np
from bentoml.exceptions import BentoMLException
from bentoml.validators import ContentType

from callbot.dialogue.policy import confirm_asked
from callbot.serve.calllog import CallLog, record
from callbot.serve.limits import (
    Rejected,
    check_confirm,
    check_form,
    check_history,
    check_text,
    decode_caller_audio,
    history_key,
    sign_turn,
)
from callbot.serve.params import limits_from_arguments
from callbot.tts.bundle import read_bundle

WEB_DIR = Path(__file__).resolve().parent / "page"


# `callbot package` pins the exact stored models as Bento arguments (kept in the Bento, restored by
# `bentoml serve <bento>`); without them (`bentoml serve callbot.serve.service:ARS --arg ...`) the
# latest stored models are used. Pinning matters: BentoML resolves a `:latest` BentoModel at
# serve time, so an old Bento would otherwise pick up models imported after it was built.
_ARGS = vars(bentoml.use_arguments())
STT_TAG = str(_ARGS.get("stt_model", "callbot-stt:latest"))
LLM_TAG = str(_ARGS.get("llm_model", "callbot-llm:latest"))
TTS_TAG = str(_ARGS.get("tts_model", "callbot-tts:latest"))
INTERVIEW_TAG = str(_ARGS.get("interview_model", "callbot-interview:latest"))
LIMITS = limits_from_arguments(_ARGS)
CALL_LOG = CallLog.from_params(LIMITS.call_log)  # None unless serve.call_log.enabled
TRAFFIC = {"timeout": LIMITS.timeout_s}
# CALLBOT_STT_BATCHING=0|1 overrides serve.stt_batching for one run of the same Bento (the benchmark
# compares both); Bento arguments cannot, as a Bento's own arguments replace those given to serve.
STT_BATCHING = os.environ.get("CALLBOT_STT_BATCHING", str(int(LIMITS.stt_batching))) not in ("0", "false")
HISTORY_KEY = history_key()  # signs the bot's turns (5.1): $CALLBOT_HISTORY_KEY or random per process
CORS = {
    "enabled": bool(LIMITS.cors_origins),
    "access_control_allow_origins": LIMITS.cors_origins,
    "access_control_allow_methods": ["GET", "POST", "OPTIONS"],
    "access_control_allow_headers": ["Content-Type", "X-API-Key"],
}
# torch threads per model service: the three share the machine's cores with the ARS front
TORCH_THREADS = max(1, int(os.environ.get("CALLBOT_TORCH_THREADS", "0")) or (os.cpu_count() or 1) // 2)


def _refuse(exc: Rejected) -> BentoMLException:
    return BentoMLException(exc.message, error_code=HTTPStatus(exc.status))


class ClientErrorLog(logging.Filter):
    """A refused request is the caller's mistake, not the service's: one INFO line, no traceback.

    BentoML logs every exception raised by an endpoint as an ERROR with its traceback, which would
    bury real faults under callers' bad uploads. 5xx records pass through untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from pydantic import ValidationError

        exc = record.exc_info[1] if record.exc_info else None
        status = (
            400 if isinstance(exc, ValidationError) else getattr(getattr(exc, "error_code", None), "value", 0)
        )
        if 400 <= status < 500:
            path = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg, record.args = "refused %s with %d: %s", (path, status, str(exc).splitlines()[0])
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


logging.getLogger("bentoml._internal.server.http_app").addFilter(ClientErrorLog())


API_KEY_ENV = "CALLBOT_API_KEY"  # set it to require `X-API-Key` on the API; never in params or logs
OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/metrics")  # probes answer without a key
PAGE_PREFIX = "/ui"  # the page's static files: it must load to ask for the key
FILE_ENDPOINTS = {n: frozenset({"audio"}) for n in ("/transcribe", "/ars", "/interview")}
JSON_ENDPOINTS = frozenset({"/reply", "/synthesize", "/interview_text"})
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")  # BentoML parses both as forms


class CallerGate:
    """Who may call, and a body BentoML can parse: every refusal here is a 4xx before BentoML reads it.

    - API key: with ``$CALLBOT_API_KEY`` set, every request but the probes, the web page and CORS
      preflights must carry it as ``X-API-Key`` or ``Authorization: Bearer`` (401 otherwise; the
      page then asks for it). The key is compared in constant time and never logged.
    - Size: a declared Content-Length over the limit is refused unread; a body of unknown length
      (chunked) is counted as it arrives and refused with 413 the moment it passes the limit.
    - Shape: the file endpoints take multipart only (BentoML would fetch a URL sent instead),
      checked by :func:`callbot.serve.limits.check_form`; the JSON endpoints take no forms.
    The body is then replayed to BentoML, which would have read it whole into memory anyway.
    """

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.api_key = os.environ.get(API_KEY_ENV, "").encode("utf-8")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        headers = dict(scope.get("headers") or [])
        try:
            self._check_key(path, method, headers)
            if method != "POST":
                await self.app(scope, receive, send)
                return
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                raise Rejected(413, f"request body is {int(declared)} bytes, {self._over}")
            body = await self._read(receive)
            self._check_shape(path, headers.get(b"content-type", b"").decode("latin-1"), body)
        except Rejected as exc:
            await self._answer(exc, scope, send)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only http.disconnect

        await self.app(scope, replay, send)

    @property
    def _over(self) -> str:
        return (
            f"over the upload limit (serve.max_upload_bytes = {LIMITS.max_upload_bytes} plus form framing); "
            "send a shorter clip"
        )

    def _check_key(self, path: str, method: str, headers: dict[bytes, bytes]) -> None:
        import hmac

        if not self.api_key or method == "OPTIONS" or path in OPEN_PATHS:
            return
        if path == PAGE_PREFIX or path.startswith(PAGE_PREFIX + "/"):
            return
        sent = headers.get(b"x-api-key") or headers.get(b"authorization", b"").removeprefix(b"Bearer ")
        if not hmac.compare_digest(sent, self.api_key):
            raise Rejected(
                401, "this service needs an API key: send it as X-API-Key (or Authorization: Bearer)"
            )

    async def _read(self, receive: Any) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Rejected(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise Rejected(413, f"request body is over {self.max_body_bytes} bytes, {self._over}")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _check_shape(self, path: str, content_type: str, body: bytes) -> None:
        media_type = content_type.split(";")[0].strip()  # exactly as BentoML picks its parser
        if path in FILE_ENDPOINTS:
            if media_type != "multipart/form-data":
                raise Rejected(
                    415,
                    f"{path} takes multipart/form-data with the recording as the `audio` file "
                    f"(got {media_type or 'no Content-Type'}); URLs are not fetched",
                )
            check_form(body, content_type, LIMITS, FILE_ENDPOINTS[path])
        elif path in JSON_ENDPOINTS and media_type in FORM_TYPES:
            raise Rejected(415, f"{path} takes a JSON body (Content-Type: application/json), not a form")

    @staticmethod
    async def _answer(exc: Rejected, scope: dict[str, Any], send: Any) -> None:
        from starlette.responses import JSONResponse

        logging.getLogger(__name__).info("refused %s with %d: %s", scope.get("path"), exc.status, exc.message)
        extra = {"api_key_required": True} if exc.status == 401 else {}
        response = JSONResponse({"error": exc.message, **extra}, status_code=exc.status)
        await response(scope, _no_receive, send)


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a model service once more if its connection was dropped under the request.

    BentoML 1.4's client closes its HTTP session to a dependency every 100 requests (and every
    300 s) with requests still in flight on it; each of those fails with ServerDisconnectedError
    (bentoml/BentoML#4971; the open PR #5698 adds the same retry inside BentoML),
    a 500 to callers who did nothing wrong (10 of 126 good requests in serve_bench's hostile run).
    Every model call here is a pure function of its input, so sending it again is safe.
    """
    from aiohttp import ClientConnectionError  # ServerDisconnectedError, a connection reset

    try:
        return method(*args, **kwargs)
    except ClientConnectionError:
        logging.getLogger(__name__).info("model service connection dropped by the client; calling again")
        return method(*args, **kwargs)


def _web_app() -> Any:
    """The try-it page: static files, no build step, served by the same process as the API."""
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def index(_request: Any) -> RedirectResponse:
        return RedirectResponse("index.html")

    return Starlette(
        routes=[Route("/", index), Mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")]
    )


def transcript_json(r: Any) -> dict[str, Any]:
    """A :class:`~callbot.stt.transcript.TranscriptResult` as the API returns it."""
    return {
        "text": r.text,
        "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in r.segments],
        "duration_s": r.duration_s,
        "words": [{"text": w.text, "confidence": w.confidence} for w in r.words],
    }


def hear_reply(transcriber: Any, clip: np.ndarray) -> dict[str, Any]:
    """The transcript of a confirm reply and its closed-set scores against the policy's yes/no phrases."""
    from callbot.dialogue.policy import NO_PHRASES, YES_PHRASES

    result, scores = transcriber.hear_confirm(clip, YES_PHRASES, NO_PHRASES)
    return {**transcript_json(result), "confirm": scores and scores.to_json()}


@bentoml.service(name="callbot-stt", traffic=TRAFFIC, workers=1)
class STT:
    """The trained STT (jamo CTC or Whisper) on 16 kHz float32 clips, words with confidence;
    concurrent requests are batched adaptively."""

    model = bentoml.models.BentoModel(STT_TAG)

    def __init__(self) -> None:
        import torch

        from callbot.stt.infer import load_transcriber

        torch.set_num_threads(TORCH_THREADS)
        self.transcriber = load_transcriber(Path(self.model.path), batch_size=LIMITS.stt_max_batch_size)

    @bentoml.api(
        batchable=STT_BATCHING,
        max_batch_size=LIMITS.stt_max_batch_size,
        max_latency_ms=LIMITS.stt_max_latency_ms,
    )
    def transcribe_clips(self, clips: list[np.ndarray]) -> list[dict[str, Any]]:
        """One transcript per clip; a batch is decoded together (windows of all clips in one pass)."""
        results = self.transcriber.transcribe_batch([np.asarray(c, dtype=np.float32) for c in clips])
        return [transcript_json(r) for r in results]

    @bentoml.api
    def hear_confirm(self, clip: np.ndarray) -> dict[str, Any]:
        """A reply to the confirm question: its transcript and ``confirm``, the closed-set yes/no scores
        (callbot.stt.grammar); ``confirm`` is None where the STT has no CTC posteriors (Whisper)."""
        return hear_reply(self.transcriber, np.asarray(clip, dtype=np.float32))


@bentoml.service(name="callbot-llm", traffic=TRAFFIC, workers=1)
class LLM:
    """The selected LoRA-merged candidate, answering with the ARS guard."""

    model = bentoml.models.BentoModel(LLM_TAG)

    def __init__(self) -> None:
        import torch

        from callbot.llm.infer import load_responder

        torch.set_num_threads(TORCH_THREADS)
        self.responder = load_responder(Path(self.model.path))

    @bentoml.api
    def answer(
        self,
        text: str,
        history: list[dict[str, str]] | None = None,
        words: list[float] | None = None,
        confirm: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The dialogue policy's turn: ``action`` answer | confirm | handover, and on a handover a ``summary``."""
        result = self.responder.reply(text, history or None, words=words or None, confirm=confirm)
        return {
            "text": result.text,
            "action": result.action,
            "guarded": result.guarded,
            "reason": result.reason,
            "intent": result.intent,
            "confidence": result.confidence,
            "summary": result.summary or None,
        }

    @bentoml.api
    def speakable(self, text: str) -> bool:
        """Whether ``text`` passes the guard the bot's own replies pass (what /synthesize may say)."""
        return bool(self.responder.speakable(text))


@bentoml.service(name="callbot-tts", traffic=TRAFFIC, workers=1)
class TTS:
    """espeak-ng or VITS, numbers read as a call centre reads them, at the line's sample rate."""

    voice = bentoml.models.BentoModel(TTS_TAG)

    def __init__(self) -> None:
        import torch

        from callbot.tts.engine import load_synthesizer

        torch.set_num_threads(TORCH_THREADS)
        self.bundle = read_bundle(Path(self.voice.path))
        self.synthesizer = load_synthesizer(self.bundle.tts, self.bundle.model_dir)

    @bentoml.api
    def speak(self, text: str) -> dict[str, Any]:
        """WAV bytes of the spoken text, with what was actually read aloud."""
        from callbot.tts.engine import TTSError

        try:
            speech = self.synthesizer.synthesize(text)
        except TTSError as exc:
            raise _refuse(Rejected(422, f"this text cannot be spoken ({exc}); send Korean words")) from None
        return {
            "wav": speech.to_wav(),
            "spoken": speech.spoken,
            "sample_rate": speech.sample_rate,
            "duration_s": speech.duration_s,
        }


@bentoml.service(name="callbot-interview", traffic=TRAFFIC, workers=1)
class Interview:
    """The interview stage's heads on frozen e5: an answer's emotion, intent and extractive summary."""

    model = bentoml.models.BentoModel(INTERVIEW_TAG)

    def __init__(self) -> None:
        from callbot.interview.served import InterviewModel

        self.analyser = InterviewModel.load(Path(self.model.path), threads=TORCH_THREADS)

    @bentoml.api
    def analyse(self, text: str) -> dict[str, Any]:
        """Emotion and intent with confidences, the summary, and how many sentences the answer has."""
        return self.analyser.analyse(text)


@bentoml.service(
    name="callbot",
    traffic=TRAFFIC,
    workers=1,
    threads=32,  # the front only waits on the model services; enough threads to let STT batch
    http={"cors": CORS},  # serve.cors_origins; [] = same origin only
)
@bentoml.asgi_app(_web_app(), path="/ui")
class ARS:
    """The caller-facing API and the web page; every input is checked before a model sees it."""

    stt = bentoml.depends(STT)
    llm = bentoml.depends(LLM)
    tts = bentoml.depends(TTS)
    analyser = bentoml.depends(Interview)

    def _audio(self, audio: Path) -> np.ndarray:
        try:
            size = audio.stat().st_size
        except OSError:
            raise _refuse(
                Rejected(422, "audio upload is missing; send a file in the `audio` field")
            ) from None
        try:
            if size > LIMITS.max_upload_bytes:  # refuse before reading it into memory
                raise Rejected(
                    413,
                    f"audio is {size} bytes, over the {LIMITS.max_upload_bytes}-byte limit "
                    "(serve.max_upload_bytes); send a shorter clip",
                )
            return decode_caller_audio(audio.read_bytes(), LIMITS)
        except Rejected as exc:
            raise _refuse(exc) from None

    def _transcribe(self, clip: np.ndarray, turns: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """The transcript; after the bot's confirm question also the reply's closed-set yes/no scores."""
        if turns and confirm_asked(turns):
            return _call(self.stt.hear_confirm, clip)
        return _call(self.stt.transcribe_clips, [clip])[0]

    def _reply(
        self,
        text: str,
        history: list[dict[str, str]],
        words: list[float] | None = None,
        confirm: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The bot's turn, signed: the caller sends the signature back with this turn in `history`.

        The signed words are the confirm turn's state too: a yes/no answers the question they hold.
        """
        answer = _call(self.llm.answer, text=text, history=history or None, words=words, confirm=confirm)
        return {**answer, "signature": sign_turn(answer["text"], HISTORY_KEY)}

    def _speak(self, text: str) -> dict[str, Any]:
        try:
            text = check_text(text, LIMITS, "reply text")
        except Rejected as exc:
            raise _refuse(exc) from None
        return _call(self.tts.speak, text=text)

    @bentoml.api
    def transcribe(self, audio: Path, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Caller audio (WAV, FLAC, OGG or MP3; any rate, mono or stereo) -> text, segments, duration, words
        [{text, confidence}]; with a `history` whose last bot turn is the confirm question also `confirm`,
        the reply's closed-set yes/no scores, to send with the text to /reply."""
        try:
            turns = check_history(history, LIMITS, HISTORY_KEY)
        except Rejected as exc:
            raise _refuse(exc) from None
        return self._transcribe(self._audio(audio), turns)

    @bentoml.api
    def reply(
        self,
        text: str,
        history: list[dict[str, Any]] | None = None,
        confirm: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The caller's words (+ earlier turns) -> the bot's turn: `action` answer | confirm | handover,
        the intent and its confidence; on a handover a one-line `summary` for the counsellor. `confirm`:
        what /transcribe heard in a spoken reply to the confirm question (typed replies leave it out)."""
        try:
            text = check_text(text, LIMITS)
            turns = check_history(history, LIMITS, HISTORY_KEY)
            scores = check_confirm(confirm)
        except Rejected as exc:
            raise _refuse(exc) from None
        return record(CALL_LOG, self._reply(text, turns, confirm=scores), text, endpoint="reply")

    @bentoml.api
    def synthesize(
        self,
        text: str,
        ctx: bentoml.Context = None,  # BentoML injects it by this exact annotation
    ) -> Annotated[Path, ContentType("audio/wav")]:
        """Text -> a 16-bit mono WAV at the configured line rate (16 or 8 kHz).

        Only text the reply guard passes (a scripted answer or the hand-over), unless
        serve.synthesize_free_text: the bot's voice must not say what the bot would not.
        """
        try:
            text = check_text(text, LIMITS)
            if not LIMITS.synthesize_free_text and not _call(self.llm.speakable, text=text):
                raise Rejected(
                    422,
                    "this service speaks only what the bot would answer (the reply guard refused this "
                    "text); send a scripted answer, or set serve.synthesize_free_text: true",
                )
        except Rejected as exc:
            raise _refuse(exc) from None
        speech = _call(self.tts.speak, text=text)
        directory = None  # in-process, outside a request: the caller removes the file
        if ctx is not None:
            try:
                directory = ctx.temp_dir  # removed by BentoML once the response is sent
            except (AttributeError, LookupError, RuntimeError):
                directory = None
        fd, name = tempfile.mkstemp(suffix=".wav", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(speech["wav"])
        return Path(name)

    @bentoml.api
    def ars(self, audio: Path, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """One call turn: caller audio -> transcript -> answer -> the answer spoken (base64 WAV)."""
        try:
            turns = check_history(history, LIMITS, HISTORY_KEY)
        except Rejected as exc:
            raise _refuse(exc) from None
        transcript = self._transcribe(self._audio(audio), turns)
        heard = transcript["text"].strip()
        # no words heard (noise, silence under the STT): the responder hands over with reason "empty"
        confidences = [float(w["confidence"]) for w in transcript.get("words") or [] if "confidence" in w]
        said = self._reply(
            heard[: LIMITS.max_text_chars], turns, confidences or None, transcript.get("confirm")
        )
        answer = record(CALL_LOG, said, heard, audio)
        speech = self._speak(answer["text"])
        return {
            "transcript": transcript,
            "reply": answer,
            "spoken": speech["spoken"],
            "audio_wav_base64": base64.b64encode(speech["wav"]).decode("ascii"),
            "sample_rate": speech["sample_rate"],
            "duration_s": speech["duration_s"],
        }

    @bentoml.api
    def interview(self, audio: Path) -> dict[str, Any]:
        """A recorded interview answer (WAV, FLAC, OGG or MP3) -> the transcript, the answer's emotion
        and intent with confidences, and its extractive summary."""
        transcript = self._transcribe(self._audio(audio))
        heard = transcript["text"].strip()
        if not heard:
            raise _refuse(
                Rejected(422, "no words were recognised in `audio`; send a recording of a spoken answer")
            )
        return {"transcript": transcript, **_call(self.analyser.analyse, text=heard)}

    @bentoml.api
    def interview_text(self, text: str) -> dict[str, Any]:
        """An interview answer as text -> its emotion and intent with confidences, and its extractive summary."""
        try:
            text = check_text(text, LIMITS)
        except Rejected as exc:
            raise _refuse(exc) from None
        return _call(self.analyser.analyse, text=text)

    def __is_ready__(self) -> bool:
        return WEB_DIR.joinpath("index.html").is_file()


# multipart framing adds a few hundred bytes; history fields a few KB more
ARS.add_asgi_middleware(CallerGate, max_body_bytes=LIMITS.max_upload_bytes + 64 * 1024)
