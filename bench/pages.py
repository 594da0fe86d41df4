"""Page benchmark: server time of every web page each role reaches, on the 20,000-resident demo.

Builds (or reuses) the demo county the way ``make run`` does — ``countyhealth seed --residents
20000 --seed 1`` and the demo accounts — in ``.cache/bench/pages/`` (or uses ``--database-url``).
Then, in process (no network: server time only), signs in as each role's demo account and walks
the pages it can reach from its home page by their links (tests/support/crawl.py), plus the
heaviest pages on purpose: a search for the commonest surname and the overview of the patient
with the most observations. Each page is timed ``--repeat`` times (median), after one untimed
visit. Baseline in the same run: ``/healthz`` (one database round trip). Prints one JSON line:
``{"bench":"pages","residents":…,"pages":N,"max_ms":…,"p95_ms":…,"baseline_ms":…,
"slowest":[[role, url, ms]…],"by_role":{role:{"pages":n,"max_ms":…}}}``.

    .venv/bin/python bench/pages.py [--residents 20000] [--repeat 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from countyhealth.app import create_app, warm_up
from countyhealth.config import Settings
from countyhealth.fhir.search_request import parse_search
from countyhealth.security.demo import read_demo_file
from countyhealth.store import Store, system_caller
from tests.support.crawl import walk

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(folder: Path, residents: int) -> str:
    """The demo database under ``folder``, seeded once (CLI, exactly as ``make run``)."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'demo.db'}"
    env = {"COUNTYHEALTH_DATABASE_URL": url, "PATH": str(ROOT / ".venv" / "bin")}
    cli = str(ROOT / ".venv" / "bin" / "countyhealth")
    for command in (
        ["migrate"],
        ["seed", "--residents", str(residents), "--seed", "1", "--if-empty"],
        ["users", "demo", "--if-missing"],
    ):
        subprocess.run([cli, *command], check=True, env=env, cwd=ROOT, capture_output=True)
    return url


def sign_in(client: TestClient, account: dict[str, Any]) -> None:
    token = CSRF.search(client.get("/auth/login").text)
    assert token
    if account["role"] == "resident":
        page = client.post("/auth/otp", data={"phone": account["phone"], "csrf_token": token[1]})
        code = re.search(r"<code>(\d{6})</code>", page.text)
        assert code, "the one-time code is shown only in development"
        data = {"phone": account["phone"], "code": code[1], "csrf_token": token[1]}
        answer = client.post("/auth/otp/verify", data=data, follow_redirects=False)
    else:
        data = {
            "username": account["username"],
            "password": account["password"],
            "csrf_token": token[1],
        }
        answer = client.post("/auth/login", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]


def timed(client: TestClient, url: str, repeat: int) -> tuple[float, int]:
    client.get(url)
    samples = []
    status = 0
    for _ in range(repeat):
        started = time.perf_counter()
        status = client.get(url).status_code
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), status


def heavy_pages(store: Store) -> list[str]:
    repo = store.repository(system_caller("bench"))
    observed = repo.search(
        parse_search(("Observation",), [("_count", "1000"), ("code", "http://loinc.org|85354-9")])
    )
    counts: dict[str, int] = {}
    for s in observed.entries:
        pid = s.resource["subject"]["reference"].split("/")[1]
        counts[pid] = counts.get(pid, 0) + 1
    busiest = max(counts, key=lambda p: counts[p]) if counts else None
    pages = ["/app/patients?q=王", "/app/patients?q=wang", "/app/patients?q=w"]
    if busiest:
        pages.append(f"/app/patients/{busiest}")
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-pages", type=int, default=40, help="pages per role")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    url = args.database_url or build(ROOT / ".cache" / "bench" / "pages", args.residents)
    settings = Settings(database_url=url, bulk_worker=False)
    store = Store.open(settings)
    app = create_app(settings, store)
    warm_up()
    accounts = [a for a in read_demo_file(settings) if a.get("kind") == "user"]
    heavy = heavy_pages(store)
    results: list[tuple[str, str, float]] = []
    by_role: dict[str, dict[str, Any]] = {}
    with TestClient(app) as client:
        baseline, _ = timed(client, "/healthz", 20)
        for account in accounts:
            client.cookies.clear()
            sign_in(client, account)
            role = account["role"]
            urls = [u for u, answer, _ in walk(client.get, max_pages=args.max_pages)]
            if role not in ("resident", "bureau-admin"):
                urls += [u for u in heavy if u not in urls]
            times = []
            for page_url in urls:
                ms, status = timed(client, page_url, args.repeat)
                if status < 400:
                    times.append(ms)
                    results.append((role, page_url, ms))
            by_role[role] = {"pages": len(times), "max_ms": round(max(times, default=0), 1)}
    store.close()
    all_ms = sorted(ms for _, _, ms in results)
    p95 = all_ms[max(0, int(len(all_ms) * 0.95) - 1)] if all_ms else 0.0
    slowest = sorted(results, key=lambda r: -r[2])[:5]
    print(
        json.dumps(
            {
                "bench": "pages",
                "residents": args.residents,
                "backend": settings.database_url.split(":")[0],
                "pages": len(results),
                "max_ms": round(all_ms[-1], 1) if all_ms else None,
                "p95_ms": round(p95, 1),
                "baseline_ms": round(baseline, 2),
                "slowest": [[r, u, round(ms, 1)] for r, u, ms in slowest],
                "by_role": by_role,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
