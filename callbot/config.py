"""params.yaml -> typed settings.

params.yaml is the only place for tunables. It holds one section per stage and a profile switch:

    profile: smoke            # or full
    sample: {...}
    ...
    profiles:
      full:                   # deep-merged over the sections when profile == full
        stt: {base_model: openai/whisper-small}

Every profile is validated when the file is loaded, so a typo in the ``full`` overlay is caught on a
laptop running ``smoke``. Errors name the file, the dotted key and the expected type. Stages receive
only their own section (``load_params().stt``); nothing else reads YAML.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callbot.aihub.params import IngestParams
from callbot.bases.params import BasesParams
from callbot.bot.params import BotParams
from callbot.intent.params import IntentParams
from callbot.interview.params import InterviewParams
from callbot.llm.params import LLMParams
from callbot.orchestrate.params import OrchestrateParams, VersionParams
from callbot.phone.params import PhoneParams
from callbot.prepare.params import PrepareParams
from callbot.quality.params import ValidateParams
from callbot.registry.params import PackageParams, SelectParams
from callbot.review.params import ReviewParams
from callbot.sample.params import SampleParams
from callbot.serve.params import ServeParams
from callbot.stt.params import STTParams
from callbot.tts.params import TTSParams

Profile = Literal["smoke", "full"]
PROFILES: tuple[str, ...] = ("smoke", "full")
DEFAULT_PARAMS = Path("params.yaml")
PROFILE_ENV = "CALLBOT_PROFILE"
PARAMS_ENV = "CALLBOT_PARAMS"


class Params(BaseModel):
    """The whole params.yaml after the profile overlay has been applied."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    profile: Profile
    sample: SampleParams
    ingest: IngestParams
    prepare: PrepareParams
    validate_: ValidateParams = Field(alias="validate")  # `validate` would shadow BaseModel.validate
    version: VersionParams
    bases: BasesParams
    stt: STTParams
    llm: LLMParams
    intent: IntentParams
    interview: InterviewParams
    bot: BotParams
    select: SelectParams
    tts: TTSParams
    serve: ServeParams
    phone: PhoneParams
    package: PackageParams
    orchestrate: OrchestrateParams
    review: ReviewParams


class ParamsError(ValueError):
    """params.yaml is missing, unreadable, or holds a key or value the code does not accept."""


def _type_name(value: Any) -> str:
    return type(value).__name__


def _expected(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "literal_error" and "expected" in ctx:
        return f"one of {ctx['expected']}"
    names = {
        "int_type": "an integer",
        "float_type": "a number",
        "string_type": "a string",
        "bool_type": "true or false",
        "list_type": "a list",
        "dict_type": "a mapping",
        "model_type": "a mapping",
        "missing": "a value (the key is required)",
    }
    for prefix, name in names.items():
        if kind.startswith(prefix):
            return name
    return err.get("msg", kind)


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys accepted at the level of ``loc`` (for did-you-mean hints)."""
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        name = "validate_" if part == "validate" else str(part)
        if name not in fields:
            return []
        current = fields[name].annotation
    fields = getattr(current, "model_fields", None)
    return [k.rstrip("_") for k in fields] if fields else []


def _format(err: dict[str, Any], source: str, overlay: str | None) -> str:
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in loc)
    where = f" (set in profiles.{overlay})" if overlay else ""
    if err["type"] == "extra_forbidden":
        hint = ""
        options = _field_names(Params, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), options, n=1)
        if close:
            hint = f"; did you mean '{'.'.join([*map(str, loc[:-1]), close[0]])}'?"
        elif options:
            hint = f"; known keys here: {', '.join(sorted(options))}"
        return f"{source}: unknown key '{key}'{where}{hint}"
    return (
        f"{source}: '{key}'{where} must be {_expected(err)}, "
        f"got {err.get('input')!r} ({_type_name(err.get('input'))})"
    )


def _deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _in_overlay(loc: tuple[Any, ...], overlay: dict[str, Any]) -> bool:
    node: Any = overlay
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _build(raw: dict[str, Any], profile: str, source: str) -> Params:
    profiles = raw.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ParamsError(f"{source}: 'profiles' must be a mapping of profile name -> overrides")
    unknown = sorted(set(profiles) - set(PROFILES))
    if unknown:
        raise ParamsError(
            f"{source}: unknown profile 'profiles.{unknown[0]}'; profiles are {', '.join(PROFILES)}"
        )
    overlay = profiles.get(profile) or {}
    if not isinstance(overlay, dict):
        raise ParamsError(f"{source}: 'profiles.{profile}' must be a mapping of section -> overrides")
    body = {k: v for k, v in raw.items() if k != "profiles"}
    merged = _deep_merge(body, overlay)
    merged["profile"] = profile
    try:
        return Params.model_validate(merged)
    except ValidationError as exc:
        errors = exc.errors()
        lines = [
            _format(e, source, profile if _in_overlay(tuple(e["loc"]), overlay) else None) for e in errors
        ]
        raise ParamsError("\n".join(lines)) from None


def read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ParamsError(
            f"{path}: params file not found; run from the repository root or pass --params FILE"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: must be a mapping of section -> settings, got {_type_name(data)}")
    return data


def load_params(path: str | Path | None = None, profile: str | None = None) -> Params:
    """Load and validate params.yaml; every profile is checked, the selected one is returned.

    The file is ``path``, else ``$CALLBOT_PARAMS``, else ``./params.yaml``. The profile is
    ``profile``, else ``$CALLBOT_PROFILE``, else the file's own ``profile`` key.
    """
    path = Path(path or os.environ.get(PARAMS_ENV) or DEFAULT_PARAMS)
    raw = read_yaml(path)
    source = str(path)
    chosen = profile or os.environ.get(PROFILE_ENV) or raw.get("profile", "smoke")
    if chosen not in PROFILES:
        raise ParamsError(f"{source}: profile must be one of {', '.join(PROFILES)}, got {chosen!r}")
    selected: Params | None = None
    for name in PROFILES:
        params = _build(raw, name, source)
        if name == chosen:
            selected = params
    assert selected is not None
    return selected
