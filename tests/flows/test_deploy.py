"""Deployments: the schedules parse to the intended crons in Asia/Seoul; failures notify a webhook."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

from cronsim import CronSim

from callbot.orchestrate.deploy import deployment_specs
from callbot.orchestrate.hooks import notify_failure


def test_schedules_are_nightly_and_weekly_in_seoul(params) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    specs = {s.name: s for s in deployment_specs(params.orchestrate)}
    assert set(specs) == {"nightly-ingest-validate", "weekly-retrain"}
    seoul = ZoneInfo("Asia/Seoul")
    start = datetime(2026, 11, 20, 12, 0, tzinfo=seoul)  # a Friday noon in Seoul
    for spec in specs.values():
        schedule = CronSchedule(cron=spec.cron, timezone=spec.timezone)  # raises on a bad cron or zone
        assert schedule.timezone == "Asia/Seoul"
    nightly = next(CronSim(specs["nightly-ingest-validate"].cron, start))
    weekly = next(CronSim(specs["weekly-retrain"].cron, start))
    assert (nightly.hour, nightly.date().isoformat()) == (2, "2026-11-21")
    assert nightly.astimezone(UTC).hour == 17  # 02:00 KST is 17:00 UTC the day before
    assert weekly.weekday() == 6 and weekly.hour == 3  # Sunday 03:00 KST
    assert specs["nightly-ingest-validate"].parameters == {"until": "validate,version"}
    assert specs["weekly-retrain"].parameters == {"until": "package,interview"}


def test_deployments_build_from_the_flow(params) -> None:
    from callbot.orchestrate.deploy import to_deployments
    from flows.lifecycle import lifecycle

    deployments = to_deployments(lifecycle, params.orchestrate)
    crons = {d.name: (d.schedules[0].schedule.cron, d.schedules[0].schedule.timezone) for d in deployments}
    assert crons == {
        "nightly-ingest-validate": (params.orchestrate.nightly_cron, "Asia/Seoul"),
        "weekly-retrain": (params.orchestrate.weekly_cron, "Asia/Seoul"),
    }


def test_failure_hook_posts_to_webhook_and_survives_a_dead_one(monkeypatch, caplog) -> None:
    """The URL comes from the environment and is never logged; the post carries no exception text."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook/T0KEN-secret"
    monkeypatch.setenv("CALLBOT_WEBHOOK_URL", url)
    secret_error = "ValueError: password=hunter2 in /data/prepared"
    payload = notify_failure("lifecycle", "brave-fox", secret_error, 5.0)
    thread.join(5)
    server.server_close()
    assert payload["webhook_status"] == 204
    assert received and "brave-fox" in received[0]["text"]
    assert "hunter2" not in json.dumps(received[0])  # no raw exception text leaves the machine
    monkeypatch.setenv("CALLBOT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/T0KEN-secret")
    dead = notify_failure("lifecycle", "brave-fox", "boom", 1.0)
    assert dead["webhook_status"] == 0  # logged, not raised: the original failure stays visible
    assert "T0KEN-secret" not in caplog.text and "could not be reached" in caplog.text
    monkeypatch.delenv("CALLBOT_WEBHOOK_URL")
    assert "webhook_status" not in notify_failure("lifecycle", "brave-fox", "boom", 1.0)


def test_webhook_url_is_not_a_param(repo) -> None:
    import yaml

    params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    assert "webhook_url" not in params["orchestrate"]
