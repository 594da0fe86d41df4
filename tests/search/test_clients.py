"""Search through two real FHIR client libraries against the real server (a subprocess).

* ``fhirclient`` (SMART on FHIR, R4 models): ``FHIRSearch`` with ``perform_iter`` following
  the ``next`` links, ``include``/reverse include, a chained parameter.
* ``fhirpy``: ``SyncFHIRClient`` search sets with ``fetch_all`` (follows ``next``),
  ``include``/``revinclude``, ``has`` and a chained parameter written the fhirpy way.

Both authenticate with a bearer token from ``countyhealth.api.auth.issue_token``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from countyhealth.api.auth import issue_token
from countyhealth.config import Settings
from tests.support.server import ServerProcess

fhirclient = pytest.importorskip("fhirclient")
fhirpy = pytest.importorskip("fhirpy")

pytestmark = pytest.mark.slow

PATIENTS = 12  # with _count=5: three pages
FAMILIES = ("王", "Lovelace")


def _data() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"resourceType": "Organization", "id": "org-county", "name": "县人民医院"},
    ]
    for i in range(PATIENTS):
        out.append(
            {
                "resourceType": "Patient",
                "id": f"pt{i:02d}",
                "name": [{"family": FAMILIES[i % 2], "given": [f"G{i:02d}"]}],
                "birthDate": f"19{50 + i}-03-0{1 + i % 9}",
                "managingOrganization": {"reference": "Organization/org-county"},
            }
        )
        for k in range(2):
            out.append(
                {
                    "resourceType": "Observation",
                    "id": f"obs{i:02d}-{k}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "subject": {"reference": f"Patient/pt{i:02d}"},
                    "effectiveDateTime": f"2024-05-{1 + k:02d}T08:00:00+08:00",
                    "valueQuantity": {
                        "value": 60 + i + k,
                        "unit": "/min",
                        "system": "http://unitsofmeasure.org",
                        "code": "/min",
                    },
                }
            )
    return out


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[str, str]]:
    """(FHIR base URL, bearer token) of a running server holding the test data."""
    proc = ServerProcess({})
    base = f"{proc.base}/fhir"
    proc.env.update(
        {
            "COUNTYHEALTH_ENVIRONMENT": "test",
            "COUNTYHEALTH_SECRET_KEY": settings.secret_key,
            "COUNTYHEALTH_DATABASE_URL": settings.database_url,
            "COUNTYHEALTH_AUDIT_SPOOL_DIR": settings.audit_spool_dir,
            "COUNTYHEALTH_BASE_URL": base,
        }
    )
    proc.start()
    try:
        token = issue_token(settings, "client-libraries", "system/*.*")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            for res in _data():
                r = http.put(f"/{res['resourceType']}/{res['id']}", json=res)
                assert r.status_code in (200, 201), r.text
        yield base, token
    finally:
        proc.stop()


def test_smart_fhirclient(server: tuple[str, str]) -> None:
    from fhirclient.models.bundle import Bundle
    from fhirclient.models.fhirsearch import FHIRSearch
    from fhirclient.models.observation import Observation
    from fhirclient.models.patient import Patient
    from fhirclient.server import FHIRServer

    base, token = server
    fhir = FHIRServer(None, base_uri=base)
    fhir.session.headers["Authorization"] = f"Bearer {token}"

    # paging: perform_iter follows the next links
    search = Patient.where(struct={"family": "Lovelace", "_count": "2", "_sort": "birthdate"})
    pages = list(search.perform_iter(fhir))
    assert len(pages) == 3
    assert all(isinstance(p, Bundle) for p in pages)
    found = [e.resource.id for p in pages for e in p.entry or []]
    assert found == [f"pt{i:02d}" for i in range(1, PATIENTS, 2)]

    patients = list(Patient.where(struct={"_count": "5"}).perform_resources_iter(fhir))
    assert sorted(p.id for p in patients) == [f"pt{i:02d}" for i in range(PATIENTS)]

    # _include and _revinclude (the library builds them from model fields)
    search = Observation.where(struct={"_id": "obs03-0"}).include("subject")
    bundle = next(search.perform_iter(fhir))
    modes = {(e.resource.resource_type, e.resource.id): e.search.mode for e in bundle.entry}
    assert modes == {("Observation", "obs03-0"): "match", ("Patient", "pt03"): "include"}

    search = Patient.where(struct={"_id": "pt04"}).include("subject", Observation, reverse=True)
    bundle = next(search.perform_iter(fhir))
    included = {e.resource.id for e in bundle.entry if e.search.mode == "include"}
    assert included == {"obs04-0", "obs04-1"}

    # a chained parameter, with paging, through the library's search construct
    search = FHIRSearch(
        Observation, {"subject:Patient.name": "王", "date": "2024-05-01", "_count": "4"}
    )
    observations = list(search.perform_resources_iter(fhir))
    assert sorted(o.id for o in observations) == [f"obs{i:02d}-0" for i in range(0, PATIENTS, 2)]
    assert all(o.valueQuantity.unit == "/min" for o in observations)


def test_fhirpy(server: tuple[str, str]) -> None:
    from fhirpy import SyncFHIRClient

    logging.getLogger("fhirpy").setLevel(logging.WARNING)
    base, token = server
    client = SyncFHIRClient(base, authorization=f"Bearer {token}")

    # paging: fetch_all follows the next links
    patients = client.resources("Patient").search(family="王").sort("birthdate").limit(2)
    found = [p.id for p in patients.fetch_all()]
    assert found == [f"pt{i:02d}" for i in range(0, PATIENTS, 2)]
    # fhirpy's count() asks for _count=0 and reads Bundle.total, which this server gives only
    # when asked (_total=accurate; the R4 default is none)
    counted = client.resources("Patient").search(name="lovelace", _total="accurate")
    assert counted.count() == PATIENTS // 2

    # _include (fetch_raw keeps the included resources) and _revinclude
    raw = (
        client.resources("Observation")
        .search(_id="obs05-1")
        .include("Observation", "subject")
        .include("Patient", "organization", iterate=True)
        .fetch_raw()
    )
    got = {(e.resource.resourceType, e.resource.id, e.search.mode) for e in raw.entry}
    assert got == {
        ("Observation", "obs05-1", "match"),
        ("Patient", "pt05", "include"),
        ("Organization", "org-county", "include"),
    }
    raw = client.resources("Patient").search(_id="pt06").revinclude("Observation", "subject")
    entries = raw.fetch_raw().entry
    assert {e.resource.id for e in entries if e.search.mode == "include"} == {
        "obs06-0",
        "obs06-1",
    }

    # chained parameters in fhirpy's notation, over several pages
    observations = (
        client.resources("Observation")
        .search(subject__Patient__name="Lovelace", value_quantity__ge=70)
        .limit(3)
        .fetch_all()
    )
    expected = {
        f"obs{i:02d}-{k}" for i in range(1, PATIENTS, 2) for k in range(2) if 60 + i + k >= 70
    }
    assert {o.id for o in observations} == expected
    chained = client.resources("Observation").search(subject__Patient__organization__name="县人民")
    assert len(chained.limit(7).fetch_all()) == 2 * PATIENTS

    # reverse chain
    has = client.resources("Patient").has("Observation", "subject", value_quantity__gt=70)
    assert {p.id for p in has.fetch_all()} == {"pt10", "pt11"}
