"""Documentation is tested: every setting and every error code appears in docs/."""

from __future__ import annotations

from pathlib import Path

from countyhealth.config import Settings
from countyhealth.errors import CODES

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"COUNTYHEALTH_{name.upper()}" not in text]
    assert missing == []


def test_every_error_code_is_documented() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    assert [code for code in CODES if code not in text] == []


def test_every_dependency_is_explained() -> None:
    import tomllib

    project = tomllib.loads((DOCS.parent / "pyproject.toml").read_text())["project"]
    text = (DOCS / "architecture.md").read_text(encoding="utf-8").lower()
    names = [
        d.split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for d in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]
    assert [n for n in names if n not in text] == []
