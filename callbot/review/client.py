"""A small Label Studio HTTP client (httpx): the calls the review loop needs, nothing more.

Why not label-studio-sdk: 2.1.2 pins numpy<2.3 (through opencv-python-headless), which would
downgrade the project's numpy 2.4; its HTTP API is small and stable, so httpx talks to it directly.

Authentication, in this order:
- ``LABEL_STUDIO_API_KEY``: a personal access token (a JWT refresh token); it is exchanged at
  ``/api/token/refresh/`` for a short-lived access token, renewed on a 401;
- ``LABEL_STUDIO_USERNAME``/``LABEL_STUDIO_PASSWORD``: a session login (the scripted test users).
Legacy ``Token`` keys are refused by Label Studio 1.23 and are not used.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from callbot.review.server import PASSWORD_ENV, TOKEN_ENV, USERNAME_ENV, ServerError


class LabelStudioError(ServerError):
    """An API call failed; the message names the call and what to do."""


class LabelStudio:
    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout, follow_redirects=False)
        self._refresh: str | None = None
        self.email: str | None = None

    # ---- authentication ----------------------------------------------------------------------
    @classmethod
    def connect(cls, url: str) -> LabelStudio:
        """A client authenticated from the environment; a clear error when that is impossible."""
        client = cls(url)
        token = os.environ.get(TOKEN_ENV, "")
        if token:
            client.use_token(token)
        else:
            username, password = os.environ.get(USERNAME_ENV, ""), os.environ.get(PASSWORD_ENV, "")
            if not username or not password:
                raise ServerError(
                    f"no Label Studio credentials: set {TOKEN_ENV} (a personal access token from Account & "
                    f"Settings) or {USERNAME_ENV} and {PASSWORD_ENV}"
                )
            client.login(username, password)
        client.email = client.whoami()["email"]
        return client

    def _unreachable(self, exc: Exception) -> ServerError:
        return ServerError(
            f"Label Studio is not answering at {self.url} ({type(exc).__name__}); start it with "
            "`make review-server` (or `callbot review server`), or fix review.server.url"
        )

    def login(self, email: str, password: str) -> None:
        try:
            self.http.get("/user/login/")
            response = self.http.post(
                "/user/login/",
                data={
                    "email": email,
                    "password": password,
                    "csrfmiddlewaretoken": self.http.cookies.get("csrftoken", ""),
                },
                headers={"Referer": f"{self.url}/user/login/"},
            )
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if response.status_code != 302 or "sessionid" not in self.http.cookies:
            raise ServerError(
                f"Label Studio at {self.url} refused the login of {email!r}; check {USERNAME_ENV} and "
                f"{PASSWORD_ENV} (they create the first user only on a fresh review.server.data_dir)"
            )
        self.http.headers["X-CSRFToken"] = self.http.cookies.get("csrftoken", "")
        self.http.headers["Referer"] = self.url

    def use_token(self, refresh: str) -> None:
        self._refresh = refresh
        self._renew()

    def _renew(self) -> None:
        try:
            response = self.http.post("/api/token/refresh/", json={"refresh": self._refresh})
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if response.status_code != 200:
            raise ServerError(
                f"Label Studio at {self.url} refused {TOKEN_ENV} ({response.status_code}): create a personal "
                "access token in Account & Settings (legacy tokens are disabled in 1.23)"
            )
        self.http.headers["Authorization"] = f"Bearer {response.json()['access']}"

    def create_token(self) -> str:
        """A personal access token for the logged-in user (one per user: 409 when one exists)."""
        response = self.http.post("/api/token/")
        if response.status_code == 409:
            raise ServerError(
                f"{self.email} already has a personal access token; use the saved one or revoke it in "
                "Account & Settings"
            )
        return str(self._check(response, "create a personal access token")["token"])

    # ---- plumbing ----------------------------------------------------------------------------
    def _check(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 400:
            raise LabelStudioError(
                f"Label Studio could not {what}: {response.request.method} {response.request.url.path} -> "
                f"{response.status_code} {response.text[:300]}"
            )
        return response.json() if response.content else None

    def request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
            if response.status_code == 401 and self._refresh:
                self._renew()
                response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if response.status_code in (401, 403):
            raise ServerError(
                f"Label Studio at {self.url} refused the credentials for {what} ({response.status_code}); "
                f"check {TOKEN_ENV} or {USERNAME_ENV}/{PASSWORD_ENV}"
            )
        return self._check(response, what)

    # ---- the calls ---------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        return self.request("GET", "/api/current-user/whoami", "say who is logged in")

    def users(self) -> dict[int, str]:
        return {u["id"]: u["email"] for u in self.request("GET", "/api/users/", "list users")}

    def invite(self, email: str, password: str) -> None:
        """Sign ``email`` up into this organisation with the invitation link (scripted users, tests)."""
        token = self.request("GET", "/api/invite", "read the invitation link")["token"]
        fresh = httpx.Client(base_url=self.url, timeout=60.0, follow_redirects=False)
        fresh.get("/user/signup/")
        response = fresh.post(
            f"/user/signup/?token={token}",
            data={
                "email": email,
                "password": password,
                "csrfmiddlewaretoken": fresh.cookies.get("csrftoken", ""),
                "how_find_us": "",
                "allow_newsletters": "false",
            },
            headers={"Referer": f"{self.url}/user/signup/"},
        )
        if response.status_code != 302:
            raise LabelStudioError(f"Label Studio did not sign up {email!r} ({response.status_code})")

    def project(self, title: str) -> dict[str, Any] | None:
        found = self.request(
            "GET", "/api/projects/", "list projects", params={"title": title, "page_size": 1000}
        )
        for project in found.get("results", found) if isinstance(found, dict) else found:
            if project["title"] == title:
                return project
        return None

    def ensure_project(self, title: str, label_config: str, description: str) -> dict[str, Any]:
        project = self.project(title)
        if project is not None:
            if project["label_config"] != label_config:
                self.request(
                    "PATCH",
                    f"/api/projects/{project['id']}/",
                    "update the labelling interface",
                    json={"label_config": label_config},
                )
            return project
        return self.request(
            "POST",
            "/api/projects/",
            f"create project {title!r}",
            json={
                "title": title,
                "label_config": label_config,
                "description": description,
                "maximum_annotations": 3,
                "show_skip_button": True,
            },
        )

    def ensure_local_storage(self, project_id: int, path: str) -> None:
        """Let the project's tasks play audio under ``path`` (local-files serving checks a storage)."""
        existing = self.request(
            "GET", "/api/storages/localfiles/", "list local storages", params={"project": project_id}
        )
        if any(s.get("path") == path for s in existing):
            return
        self.request(
            "POST",
            "/api/storages/localfiles/",
            "add the local audio storage",
            json={"project": project_id, "path": path, "title": "callbot audio", "use_blob_urls": False},
        )

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> int:
        if not tasks:
            return 0
        done = self.request("POST", f"/api/projects/{project_id}/import", "import tasks", json=tasks)
        return int(done.get("task_count", len(tasks)))

    def tasks(self, project_id: int) -> list[dict[str, Any]]:
        """Every task with its annotations (the JSON export)."""
        return self.request(
            "GET",
            f"/api/projects/{project_id}/export",
            "export the annotations",
            params={"exportType": "JSON", "download_all_tasks": "true"},
        )

    def annotate(self, task_id: int, result: list[dict[str, Any]], lead_time: float) -> dict[str, Any]:
        return self.request(
            "POST",
            f"/api/tasks/{task_id}/annotations/",
            f"annotate task {task_id}",
            json={"result": result, "lead_time": lead_time},
        )
