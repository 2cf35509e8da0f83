"""What happens when a scheduled run fails: a log line always, a webhook post when one is configured.

The webhook (Slack, Teams, a pager bridge: anything that accepts a JSON POST) is a secret, since
anyone holding its URL can post to the channel: it is read from the environment variable
``CALLBOT_WEBHOOK_URL`` (unset or empty turns it off), never kept in params.yaml and never logged.
The post names the flow and the run only: the failure's own text (an exception message may hold
paths, data or credentials) stays in the local log and the Prefect UI.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

log = logging.getLogger("callbot.orchestrate")

WEBHOOK_ENV = "CALLBOT_WEBHOOK_URL"


def failure_message(flow_name: str, run_name: str) -> dict[str, Any]:
    """What the webhook receives: no exception text, only where to look."""
    return {
        "text": f"callbot: flow '{flow_name}' run '{run_name}' failed; see that run's logs in Prefect",
        "flow": flow_name,
        "run": run_name,
    }


def post_webhook(url: str, payload: dict[str, Any], timeout_s: float) -> int:
    """POST ``payload`` as JSON; returns the HTTP status (0 when unreachable). Errors are logged, never
    raised: a broken notification channel must not hide the original failure. Neither the URL nor the
    error's text (which may quote it) is logged: only the error's type."""
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
        status = getattr(exc, "code", 0)
        log.error(
            "failure webhook (%s) could not be reached: %s%s",
            WEBHOOK_ENV,
            type(exc).__name__,
            f" HTTP {status}" if status else "",
        )
        return int(status) if isinstance(status, int) else 0


def notify_failure(
    flow_name: str, run_name: str, state_message: str | None, timeout_s: float
) -> dict[str, Any]:
    """Log the failure (with its message, locally) and post it to ``$CALLBOT_WEBHOOK_URL`` if set."""
    payload = failure_message(flow_name, run_name)
    log.error("%s: %s", payload["text"], state_message or "no message")
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if url:
        payload["webhook_status"] = post_webhook(url, payload, timeout_s)
    return payload
