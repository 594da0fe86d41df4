"""Dependencies point one way (docs/architecture.md): fhir/ and domain packages import neither
FastAPI nor SQLAlchemy, and only store/ writes SQL."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "countyhealth"
FRAMEWORK_FREE = [
    "administration",
    "billing",
    "bulk",
    "consent",
    "fhir",
    "identity",
    "ingest",
    "linkage",
    "operations",
    "recognition",
    "referral",
    "records",
    "scheduling",
    "rest",
    "security",
]
WEB_LAYERS = {"api", "web"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(("." * node.level) + node.module)
    return names


def test_pure_packages_import_no_framework() -> None:
    for folder in FRAMEWORK_FREE:
        for path in (PACKAGE / folder).rglob("*.py"):
            for name in imports_of(path):
                assert not name.startswith(("fastapi", "starlette", "sqlalchemy")), (
                    f"{path.relative_to(PACKAGE)} imports {name}"
                )


def test_only_store_touches_sqlalchemy() -> None:
    allowed = {"store"}
    for path in PACKAGE.rglob("*.py"):
        top = path.relative_to(PACKAGE).parts[0]
        if top in allowed:
            continue
        for name in imports_of(path):
            assert not name.startswith("sqlalchemy"), f"{path.relative_to(PACKAGE)} imports {name}"


def test_lower_layers_do_not_import_the_web_layers() -> None:
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in WEB_LAYERS or rel.name in ("app.py", "cli.py"):
            continue
        for name in imports_of(path):
            stripped = name.lstrip(".")
            assert not any(
                stripped == w
                or stripped.startswith(f"{w}.")
                or stripped.startswith(f"countyhealth.{w}")
                for w in WEB_LAYERS
            ), f"{rel} imports {name}"
