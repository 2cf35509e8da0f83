"""What happens when a scheduled run fails: a log line always, a webhook post when one is configured.

The webhook (Slack, Teams, a pager bridge: anything that accepts a JSON POST) is a param so the
operations team can change it without touching code; an empty URL turns it off.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

log = logging.getLogger("callbot.orchestrate")


def failure_message(flow_name: str, run_name: str, state_message: str | None) -> dict[str, Any]:
    return {
        "text": f"callbot: flow '{flow_name}' run '{run_name}' failed: {state_message or 'no message'}",
        "flow": flow_name,
        "run": run_name,
        "message": state_message,
    }


def post_webhook(url: str, payload: dict[str, Any], timeout_s: float) -> int:
    """POST ``payload`` as JSON; returns the HTTP status. Errors are logged, never raised: a broken
    notification channel must not hide the original failure."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except Exception as exc:
        log.error("failure webhook %s could not be reached: %s", url, exc)
        return 0


def notify_failure(
    flow_name: str, run_name: str, state_message: str | None, webhook_url: str, timeout_s: float
) -> dict[str, Any]:
    payload = failure_message(flow_name, run_name, state_message)
    log.error(payload["text"])
    if webhook_url:
        payload["webhook_status"] = post_webhook(webhook_url, payload, timeout_s)
    return payload
