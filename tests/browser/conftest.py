"""Browser tests: Playwright driving the system's Chromium (/usr/bin/chromium) against a live
server. Without Chromium they skip with the reason; with ``COUNTYHEALTH_REQUIRE_BROWSER=1``
(set by .ci/run) they fail instead. Screenshots of each step are kept under
``COUNTYHEALTH_ARTIFACTS`` (default ``.cache/artifacts``)/browser/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("COUNTYHEALTH_CHROMIUM", "/usr/bin/chromium"))


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make install)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("COUNTYHEALTH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-dev-shm-usage"],  # root in a container
        )
        yield browser
        browser.close()


class Steps:
    """Takes a numbered screenshot of the page at each step of one test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def shot(self, page: object, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path


@pytest.fixture
def steps(request: pytest.FixtureRequest) -> Steps:
    root = Path(os.environ.get("COUNTYHEALTH_ARTIFACTS", ".cache/artifacts")) / "browser"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    return Steps(root / safe)
