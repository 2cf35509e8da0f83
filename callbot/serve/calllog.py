"""The call log: each served turn (audio, transcript, confidence, reply, handover), opt-in, local.

``serve.call_log`` in params.yaml (carried into the Bento as its `serve` argument) turns it on; it is off
by default. Entries are JSON lines in ``<dir>/calls.jsonl`` and the caller's audio is a WAV beside it
in ``<dir>/audio/``. Digit runs (phone numbers, resident registration numbers, card numbers) are
masked in every text before it is written, so nothing that leaves the host carries them; the audio
stays on the host and is removed with its entry. Retention: entries older than ``retention_days`` and
beyond the newest ``max_entries`` are pruned (with their audio) as turns are logged, at most once a
minute (pruning reads the whole log).

`callbot review export` reads the log for handed-over and low-confidence calls.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from callbot.atomic import write_text

LOG_FILE = "calls.jsonl"
AUDIO_DIR = "audio"
MASK = "●"
# Digits, possibly grouped by spaces, dots or hyphens (010-1234-5678, 900101-1234567, 1339 is kept):
# a run of MIN_DIGITS or more digits in total is masked. Korean number words (공일공 ...) are masked too.
MIN_DIGITS = 6
PRUNE_EVERY = timedelta(minutes=1)
_DIGIT_RUN = re.compile(r"\d(?:[\d\s.\-]*\d)?")
_SPOKEN = "공영일이삼사오육륙칠팔구"
_SPOKEN_RUN = re.compile(f"[{_SPOKEN}](?:[{_SPOKEN}\\s\\-]*[{_SPOKEN}])?")


def _mask_run(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() or ch in _SPOKEN for ch in text)
    if digits < MIN_DIGITS:
        return text
    return "".join(MASK if (ch.isdigit() or ch in _SPOKEN) else ch for ch in text)


def mask_pii(text: str) -> str:
    """Mask runs of 6+ digits (written or read out as 공일공...), keeping separators and short numbers."""
    return _SPOKEN_RUN.sub(_mask_run, _DIGIT_RUN.sub(_mask_run, text or ""))


class CallLog:
    """Append-only JSONL + audio files with retention; safe across the service's threads."""

    def __init__(self, directory: Path, retention_days: float, max_entries: int) -> None:
        self.dir = Path(directory)
        self.retention = timedelta(days=retention_days)
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._next_prune: datetime | None = None  # pruning reads the whole log: at most once a minute

    @classmethod
    def from_params(cls, params: Any) -> CallLog | None:
        """The log described by ``serve.call_log``, or None when it is off."""
        if params is None or not params.enabled:
            return None
        return cls(Path(params.dir), params.retention_days, params.max_entries)

    def log_turn(
        self,
        *,
        transcript: str,
        reply: dict[str, Any],
        audio_wav: bytes | None = None,
        confidence: float | None = None,
        endpoint: str = "ars",
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Record one turn; returns the masked entry as written."""
        now = now or datetime.now(UTC)
        call_id = f"{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        handed_over = bool(reply.get("guarded"))
        if confidence is None:
            confidence = reply.get("confidence")
        entry = {
            "call_id": call_id,
            "at": now.isoformat(timespec="seconds"),
            "endpoint": endpoint,
            # what the caller and the bot said: masked before it is written
            "transcript": mask_pii(transcript),
            "reply": mask_pii(str(reply.get("text", ""))),
            "reason": mask_pii(str(reply["reason"])) if reply.get("reason") else None,
            "handed_over": handed_over,
        }
        entry["confidence"] = None if confidence is None else float(confidence)
        entry["audio"] = None
        with self._lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            if audio_wav:
                audio = self.dir / AUDIO_DIR / f"{call_id}.wav"
                audio.parent.mkdir(parents=True, exist_ok=True)
                audio.write_bytes(audio_wav)
                entry["audio"] = f"{AUDIO_DIR}/{call_id}.wav"
            with (self.dir / LOG_FILE).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            if self._next_prune is None or now >= self._next_prune:
                self._prune(now)
                self._next_prune = now + PRUNE_EVERY
        return entry

    def entries(self) -> list[dict[str, Any]]:
        return read_call_log(self.dir)

    def _prune(self, now: datetime) -> None:
        entries = read_call_log(self.dir)
        cutoff = now - self.retention
        keep = [e for e in entries if datetime.fromisoformat(e["at"]) >= cutoff][-self.max_entries :]
        if len(keep) == len(entries):
            return
        kept_ids = {e["call_id"] for e in keep}
        write_text(self.dir / LOG_FILE, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in keep))
        for entry in entries:
            if entry["call_id"] not in kept_ids and entry.get("audio"):
                (self.dir / entry["audio"]).unlink(missing_ok=True)


def read_call_log(directory: Path) -> list[dict[str, Any]]:
    """Every entry of ``<directory>/calls.jsonl``; a torn last line (a crash mid-write) is skipped."""
    path = Path(directory) / LOG_FILE
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and "call_id" in entry and "at" in entry:
            entries.append(entry)
    return entries


def record(
    log: CallLog | None,
    reply: dict[str, Any],
    transcript: str,
    audio: Path | None = None,
    endpoint: str = "ars",
) -> dict[str, Any]:
    """The service's one-line hook: log the turn when the log is on; return ``reply`` unchanged.

    A full disk or an unwritable directory must not fail the caller's turn: it is logged as a warning.
    """
    if log is None:
        return reply
    try:
        wav = Path(audio).read_bytes() if audio is not None else None
        log.log_turn(transcript=transcript, reply=reply, audio_wav=wav, endpoint=endpoint)
    except OSError as exc:
        import logging

        logging.getLogger(__name__).warning("call log %s: could not record a turn (%s)", log.dir, exc)
    return reply
