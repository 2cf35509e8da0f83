"""A real Label Studio server on loopback, in its own virtual environment.

Label Studio pins its own stack (Django, an older numpy through label-studio-sdk), so it lives in
``review.server.venv`` (``.venv-labelstudio``, gitignored) and the project talks to it over HTTP
(:mod:`callbot.review.client`). ``make review-server`` and the test fixture both call
:func:`ensure_venv` (idempotent: a no-op when the pinned version is installed) and :func:`start`.

Credentials come only from the environment: ``LABEL_STUDIO_USERNAME`` and ``LABEL_STUDIO_PASSWORD``
create the first user on a fresh data directory (Label Studio reads the same variables), and the
client logs in with them to obtain a personal access token (1.23 refuses legacy tokens).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

USERNAME_ENV = "LABEL_STUDIO_USERNAME"
PASSWORD_ENV = "LABEL_STUDIO_PASSWORD"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"


class ServerError(RuntimeError):
    """Label Studio cannot be installed, started or reached; the message says what to run or set."""


def venv_python(venv: Path) -> Path:
    return Path(venv) / "bin" / "python"


def installed_version(venv: Path) -> str | None:
    python = venv_python(venv)
    if not python.is_file():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('label-studio'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() or None if probe.returncode == 0 else None


def ensure_venv(venv: Path, version: str) -> bool:
    """Install ``label-studio==version`` into ``venv`` unless it is there; True when it installed."""
    venv = Path(venv)
    if installed_version(venv) == version:
        return False
    if not venv_python(venv).is_file():
        # the base interpreter (pyenv's 3.11), not the project's venv: the two venvs share nothing
        subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True)
    result = subprocess.run(
        [str(venv_python(venv)), "-m", "pip", "install", "-q", f"label-studio=={version}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or installed_version(venv) != version:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise ServerError(
            f"{venv}: installing label-studio=={version} failed; check the network to PyPI, or delete "
            f"{venv} and run `make review-server` again:\n{tail}"
        )
    return True


def healthy(url: str, timeout: float = 2.0) -> bool:
    import httpx

    try:
        return httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes] | None  # None when one was already running there
    log: Path | None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def server_env(data_dir: Path, username: str, password: str, files_root: Path) -> dict[str, str]:
    """The environment Label Studio starts with: its data under ``data_dir``, local audio served from
    ``files_root`` (tasks point at ``/data/local-files/?d=<path under files_root>``)."""
    return {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(Path(data_dir).resolve()),
        USERNAME_ENV: username,
        PASSWORD_ENV: password,
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(Path(files_root).resolve()),
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",  # people join by invitation only
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    }


def credentials() -> tuple[str, str]:
    username, password = os.environ.get(USERNAME_ENV, ""), os.environ.get(PASSWORD_ENV, "")
    if not username or not password:
        raise ServerError(
            f"set {USERNAME_ENV} (an e-mail) and {PASSWORD_ENV} (8 characters or more): the Label Studio "
            "account that owns the review project"
        )
    return username, password


def start(
    url: str, venv: Path, data_dir: Path, files_root: Path, timeout_s: float, log: Path | None = None
) -> Server:
    """Start Label Studio on ``url`` (loopback) and wait for ``/health``; reuse one already answering."""
    if healthy(url):
        return Server(url, None, None)
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1") or not parsed.port:
        raise ServerError(
            f"review.server.url is {url!r}: give a loopback URL with a port, e.g. http://127.0.0.1:8089"
        )
    binary = Path(venv) / "bin" / "label-studio"
    if not binary.is_file():
        raise ServerError(f"{binary}: Label Studio is not installed; run `make review-server`")
    username, password = credentials()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = Path(log or data_dir / "server.log")
    handle = log.open("ab")
    # --internal-host is what it binds (its default is 0.0.0.0, every interface); --host only names it
    command = [
        str(binary),
        "start",
        "--no-browser",
        "--internal-host",
        parsed.hostname,
        "--port",
        str(parsed.port),
    ]
    process = subprocess.Popen(
        command,
        env=server_env(data_dir, username, password, files_root),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    server = Server(url, process, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:])
            raise ServerError(
                f"Label Studio exited with {process.returncode} while starting; see {log}:\n{tail}"
            )
        if healthy(url):
            return server
        time.sleep(1.0)
    server.stop()
    raise ServerError(
        f"Label Studio did not answer {url}/health within {timeout_s:.0f} s (review.server.start_timeout_s); see {log}"
    )
