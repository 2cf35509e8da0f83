"""A served Bento for the phone line's end-to-end tests: the service tests' own tiny real models.

The Bento is built and served exactly as ``tests/service/test_served.py`` does it (its fixtures,
reused here: tiny real-architecture models, ``callbot package``, ``bentoml serve`` with an API key).
"""

from __future__ import annotations

from tests.service.conftest import bentoml_home, package_params, smoke_repo  # noqa: F401 (fixtures)
from tests.service.test_served import API_KEY, record, server  # noqa: F401 (fixtures)

__all__ = ["API_KEY"]
