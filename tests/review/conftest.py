"""A real Label Studio for the review tests: installed into .venv-labelstudio (once), started per session."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADMIN = ("admin@callbot.local", "admin-pass-123")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory, params):
    """(url, files root, server): a fresh server on a free loopback port, its data and served files in tmp."""
    from callbot.review.server import PASSWORD_ENV, USERNAME_ENV, ensure_venv, start

    venv = REPO / params.review.server.venv
    ensure_venv(venv, params.review.server.version)  # idempotent: `make test` installs it first
    root = tmp_path_factory.mktemp("review-root")
    saved = {k: os.environ.get(k) for k in (USERNAME_ENV, PASSWORD_ENV)}
    os.environ[USERNAME_ENV], os.environ[PASSWORD_ENV] = ADMIN
    url = f"http://127.0.0.1:{_free_port()}"
    server = start(url, venv, root / "ls-data", root, params.review.server.start_timeout_s)
    try:
        yield url, root, server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
