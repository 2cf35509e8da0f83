"""params.yaml `serve`: what the service accepts from a caller, and how it is reached.

`callbot package` writes this section into the Bento as its ``serve`` argument, so a stored Bento
serves under the limits it was built with, with no params.yaml beside it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field

from callbot.params_base import Section


class CallLogParams(Section):
    enabled: bool  # off by default: nothing about a call is kept unless this is true
    dir: str  # calls.jsonl and audio/ (local to the service host)
    retention_days: float  # older entries are pruned with their audio
    max_entries: int  # at most this many entries are kept (the newest)


class ServeParams(Section):
    max_upload_bytes: int  # a bigger upload is refused with 413
    min_sample_rate: int  # caller audio below this rate: 422, before any resampling
    max_sample_rate: int  # caller audio above this rate: 422, before any resampling
    # at most Starlette's own limits (1,000 parts, 1 MiB a part), past which BentoML answers 500
    max_form_fields: Annotated[int, Field(ge=2, le=1000)]  # a multipart body with more parts: 400
    max_field_bytes: Annotated[
        int, Field(ge=1024, le=1 << 20)
    ]  # a multipart text field larger than this: 413
    max_filename_bytes: int  # an upload file name longer than this: 422
    max_audio_seconds: float  # longer caller audio: 422
    min_audio_seconds: float  # shorter caller audio counts as empty: 422
    silence_rms: float  # RMS (full scale 1.0) under which caller audio is silent: 422
    max_text_chars: int  # longer /reply or /synthesize text: 422
    max_history_turns: int  # more /reply history turns: 422
    timeout_s: int  # per-request timeout of each service
    stt_batching: bool  # adaptive batching for the STT service (the benchmark turns it off to compare)
    stt_max_batch_size: int
    stt_max_latency_ms: int
    host: str  # what `callbot serve` binds to and prints
    port: int
    cors_origins: list[str]  # origins a browser may call the API from (CORS); [] = same origin only
    synthesize_free_text: bool  # false: /synthesize speaks only text that passes the reply guard
    call_log: CallLogParams  # opt-in log of served turns for review (callbot.serve.calllog)


def limits_from_arguments(arguments: dict[str, Any]) -> ServeParams:
    """The ``serve`` Bento argument, typed: the params.yaml section `callbot package` built it with."""
    given = arguments.get("serve")
    if given is None:
        raise RuntimeError(
            "this service has no `serve` argument (the request limits): serve a Bento built by "
            "`callbot package` (`callbot serve`), not the module on its own"
        )
    try:
        return ServeParams.model_validate_json(json.dumps(given))
    except (TypeError, ValueError) as exc:
        raise RuntimeError(
            f"the Bento's `serve` argument is not a valid serve section ({exc}); re-run `callbot package`"
        ) from None
