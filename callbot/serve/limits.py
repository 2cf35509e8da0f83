"""What the voice bot accepts from a caller, and the 4xx it answers with otherwise.

Why here and not in the service: the checks are plain functions over bytes and strings, so they are
tested without a server, and the service only maps :class:`Rejected` to its HTTP status. Nothing a
caller sends may reach a model unchecked: a wrong format, an oversized or silent upload, an
overlong text all get a 4xx with a sentence saying what to send instead, never a 500.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from callbot.audio import to_stt_rate

if TYPE_CHECKING:
    from callbot.serve.params import ServeParams

FORMATS = "WAV, FLAC, OGG/Vorbis or MP3"


class Rejected(ValueError):
    """A request the bot will not process; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_upload_size(size: int, params: ServeParams, what: str = "audio") -> None:
    if size > params.max_upload_bytes:
        raise Rejected(
            413,
            f"{what} is {size} bytes, over the {params.max_upload_bytes}-byte limit "
            f"(serve.max_upload_bytes); send a shorter clip",
        )


def decode_caller_audio(data: bytes, params: ServeParams, what: str = "audio") -> np.ndarray:
    """Bytes of an uploaded recording -> float32 mono at 16 kHz, or :class:`Rejected`.

    The format is told from the content, never from a file name (BentoML drops the suffix of a
    file passed between services). Stereo is averaged; other rates are resampled.
    """
    import soundfile as sf

    check_upload_size(len(data), params, what)
    if not data:
        raise Rejected(422, f"{what} is empty; record or upload some speech ({FORMATS})")
    try:
        with sf.SoundFile(io.BytesIO(data)) as sound:
            rate = sound.samplerate
            frames = sound.frames
            check_sample_rate(rate, params, what)  # from the header: before anything is decoded
            if frames > 0 and frames / rate > params.max_audio_seconds:
                raise Rejected(
                    422,
                    f"{what} lasts {frames / rate:.1f} s, over the {params.max_audio_seconds:g} s limit "
                    f"(serve.max_audio_seconds); send a shorter clip",
                )
            samples = sound.read(dtype="float32", always_2d=True)
    except Rejected:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError):
        raise Rejected(
            415, f"{what} is not in a format this service reads (told by its content); send {FORMATS}"
        ) from None
    return check_caller_audio(samples.mean(axis=1), rate, params, what)


def check_sample_rate(rate: int, params: ServeParams, what: str = "audio") -> None:
    """Resampling cost grows with the rate (a 4 MHz header costs 20 s of CPU): refuse odd rates."""
    if not params.min_sample_rate <= rate <= params.max_sample_rate:
        raise Rejected(
            422,
            f"{what} is recorded at {rate} Hz; send audio at {params.min_sample_rate}-{params.max_sample_rate} Hz "
            "(serve.min_sample_rate, serve.max_sample_rate), e.g. 16000 Hz",
        )


def check_caller_audio(
    samples: np.ndarray, rate: int, params: ServeParams, what: str = "audio"
) -> np.ndarray:
    """Duration, emptiness and silence checks on decoded mono audio; returns it at 16 kHz."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    check_sample_rate(rate, params, what)
    seconds = samples.size / rate
    if seconds > params.max_audio_seconds:
        raise Rejected(
            422,
            f"{what} lasts {seconds:.1f} s, over the {params.max_audio_seconds:g} s limit "
            f"(serve.max_audio_seconds); send a shorter clip",
        )
    if seconds < params.min_audio_seconds:
        raise Rejected(
            422,
            f"{what} lasts {seconds:.2f} s, too short to hold speech (serve.min_audio_seconds = "
            f"{params.min_audio_seconds:g} s); record again",
        )
    if not np.all(np.isfinite(samples)):
        raise Rejected(422, f"{what} holds NaN or infinite samples; send PCM audio")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms < params.silence_rms:
        raise Rejected(
            422,
            f"{what} is silent (RMS {rms:.5f} under serve.silence_rms = {params.silence_rms:g}); "
            "check the microphone and record again",
        )
    return to_stt_rate(samples, rate)


def check_text(text: Any, params: ServeParams, what: str = "text") -> str:
    """A caller's or the bot's text: a non-blank string within ``serve.max_text_chars``."""
    if not isinstance(text, str):
        raise Rejected(422, f"{what} must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise Rejected(422, f"{what} is empty; send the sentence to answer or speak")
    if len(stripped) > params.max_text_chars:
        raise Rejected(
            422,
            f"{what} has {len(stripped)} characters, over the {params.max_text_chars}-character limit "
            "(serve.max_text_chars); send one question at a time",
        )
    return stripped


def check_history(history: Any, params: ServeParams, key: bytes) -> list[dict[str, str]]:
    """Earlier turns of the call: ``[{"role": "user"|"assistant", "content": str}, ...]``.

    An ``assistant`` turn must carry the ``signature`` the service returned with that reply
    (:func:`sign_turn` under ``key``): a caller cannot put words in the bot's mouth to steer it.
    """
    if history is None:
        return []
    if not isinstance(history, list):
        raise Rejected(422, f"history must be a list of turns, got {type(history).__name__}")
    if len(history) > params.max_history_turns:
        raise Rejected(
            422,
            f"history has {len(history)} turns, over serve.max_history_turns = {params.max_history_turns}; "
            "send only the latest turns",
        )
    turns: list[dict[str, str]] = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise Rejected(422, f"history[{i}] must be {{'role': 'user'|'assistant', 'content': str}}")
        content = check_text(turn.get("content"), params, f"history[{i}].content")
        if turn["role"] == "assistant" and not _signed(turn, content, key):
            raise Rejected(
                422,
                f"history[{i}] is an assistant turn the bot did not say (its `signature` is missing or "
                "wrong); send back the bot's turns exactly as /reply or /ars returned them, with their signature",
            )
        turns.append({"role": turn["role"], "content": content})
    return turns


HISTORY_KEY_ENV = "CALLBOT_HISTORY_KEY"  # secret for signing the bot's turns; unset: a per-process key


def history_key() -> bytes:
    """The key assistant turns are signed with: ``$CALLBOT_HISTORY_KEY``, else random per process.

    A random key means signed history does not survive a restart (the caller gets a 422 and starts
    the call again); set the variable when several processes or restarts must accept each other's.
    """
    import os
    import secrets

    secret = os.environ.get(HISTORY_KEY_ENV, "")
    return secret.encode("utf-8") if secret else secrets.token_bytes(32)


def sign_turn(content: str, key: bytes) -> str:
    """HMAC-SHA256 of what the bot said: returned with each reply, required back with each assistant turn."""
    import hashlib
    import hmac

    return hmac.new(key, content.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def _signed(turn: dict[str, Any], content: str, key: bytes) -> bool:
    import hmac

    signature = turn.get("signature")
    return isinstance(signature, str) and hmac.compare_digest(signature, sign_turn(content, key))


def check_form(body: bytes, content_type: str, params: ServeParams, file_fields: frozenset[str]) -> None:
    """A multipart/form-data body BentoML can parse without a 500, or :class:`Rejected`.

    BentoML hands the body to Starlette's form parser and then to its own field decoding; each of
    these answers 500 to a caller's mistake: no boundary, a text part over 1 MiB or more than 1,000
    parts (Starlette's limits), a file field sent as text (BentoML would fetch it as a URL), a file
    name too long for a temp file or holding a NUL, a text field that is JSON too deep or with an
    integer too long for ``json.loads``. Here the same parser (python-multipart) reads the body
    once, counting, keeping no file data. ``file_fields`` are the fields that must be file parts.
    """
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser

    boundary = _form_boundary(content_type)
    try:
        parser = MultipartParser(boundary, _FormCheck(params, file_fields).callbacks())
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise Rejected(400, f"the multipart body is malformed ({exc}); send multipart/form-data") from None


def _form_boundary(content_type: str) -> bytes:
    """The boundary from the Content-Type header; without one no part can be found."""
    from python_multipart.multipart import parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise Rejected(
            400,
            "multipart body without a boundary in its Content-Type; let your HTTP client build the "
            "multipart request (e.g. curl -F audio=@call.wav)",
        )
    return boundary


class _FormCheck:
    """python-multipart callbacks that count parts, read each part's headers and keep text fields
    (never file data) to check them the way BentoML will decode them."""

    def __init__(self, params: ServeParams, file_fields: frozenset[str]) -> None:
        self.params = params
        self.file_fields = file_fields
        self.parts = 0
        self.header = b""
        self.value = b""
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.file = False
        self.data = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.params.max_form_fields:
            raise Rejected(
                400,
                f"multipart body has over {self.params.max_form_fields} parts (serve.max_form_fields); send only `audio` and `history`",
            )
        self.headers, self.data, self.name, self.file = {}, bytearray(), "", False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header.lower()] = self.value
        self.header, self.value = b"", b""

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, disposition = parse_options_header(self.headers.get(b"content-disposition", b""))
        if b"name" not in disposition:
            raise Rejected(400, "a multipart part has no name in its Content-Disposition header")
        self.name = _form_decode(disposition[b"name"])
        self.file = b"filename" in disposition
        if self.file:
            self.check_file_part(_form_decode(disposition[b"filename"]).rsplit("/", 1)[-1])
        elif self.name in self.file_fields:
            raise Rejected(
                422,
                f"`{self.name}` must be a file upload (multipart file part with a filename), not a text field; "
                "URLs are not fetched: download the recording and upload it",
            )

    def check_file_part(self, filename: str) -> None:
        """A file name BentoML can make a temp file of, in a field that takes files."""
        name, limit = self.name, self.params.max_filename_bytes
        if len(filename.encode("utf-8", "replace")) > limit or not filename.isprintable():
            raise Rejected(
                422,
                f"upload file name in `{name}` is {len(filename)} characters or holds control characters; "
                f"rename the file (at most {limit} bytes, serve.max_filename_bytes)",
            )
        if name not in self.file_fields:
            raise Rejected(422, f"`{name}` must be a text field, not a file upload")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.file:
            return  # the endpoint checks the audio itself; the body size is already bounded
        self.data += data[start:end]
        if len(self.data) > self.params.max_field_bytes:
            raise Rejected(
                413,
                f"field `{self.name}` is over {self.params.max_field_bytes} bytes (serve.max_field_bytes)",
            )

    def on_part_end(self) -> None:
        import json

        if self.file:
            return
        try:  # what BentoML does with a text field: JSON if it parses, the string otherwise
            json.loads(_form_decode(bytes(self.data)))
        except json.JSONDecodeError:
            pass
        except (ValueError, RecursionError):
            raise Rejected(
                422, f"field `{self.name}` is JSON nested too deep or holding a number too long to read"
            ) from None


def _form_decode(raw: bytes) -> str:
    """How Starlette decodes a part's name, file name and text: UTF-8, else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def check_confirm(confirm: Any) -> dict[str, Any] | None:
    """The closed-set scores of a heard confirm reply, as /transcribe returned them (``confirm``), or None.

    ``{"yes": {"phrase": str, "deficit": float}, "no": {...}}``; the responder decides yes/no from
    them with its calibrated thresholds. Sending them says no more than typing "네" would.
    """
    if confirm is None:
        return None
    try:
        answers = {k: confirm[k] for k in ("yes", "no")}
        scores = {k: {"phrase": str(v["phrase"]), "deficit": float(v["deficit"])} for k, v in answers.items()}
    except (KeyError, TypeError, ValueError):
        raise Rejected(
            422,
            "confirm must be the `confirm` object /transcribe returned "
            '({"yes": {"phrase": ..., "deficit": number}, "no": {...}}), or left out',
        ) from None
    return {**scores, "frames": confirm.get("frames", 0)}
