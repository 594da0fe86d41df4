"""The application's start-up."""

from __future__ import annotations

import anyio.to_thread
from fastapi.testclient import TestClient

from countyhealth.app import create_app
from countyhealth.config import Settings


def test_the_worker_threads_setting_bounds_the_request_threads(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"worker_threads": 3})
    with TestClient(create_app(settings)) as client:
        tokens = client.portal.call(  # type: ignore[union-attr]
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
        )
        assert tokens == 3
        assert client.get("/healthz").status_code == 200
