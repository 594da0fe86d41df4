"""A patient with reports from three institutions of the 医共体, for the shared reports viewer.

Organisation B (the county hospital) issued a liver panel with the 浙HR mark, values with ranges
and an H flag, a conclusion, a text report and a key image (a Media), and a blood count whose
text report is broken base64. Organisation A (a township centre) issued its own lipid panel. The
patient consented to organisation A only; organisation C has no consent.
"""

from __future__ import annotations

import base64
from typing import Any

from countyhealth.consent import grant
from countyhealth.fhir import systems
from countyhealth.fhir.consent_grants import with_custodian
from countyhealth.security.roles import caller_for
from countyhealth.store import Caller, Store, system_caller
from tests.support.accounts import put_patient

PATIENT = "p-shared-reports"
ORG_A, ORG_B, ORG_C = "org-rpt-a", "org-rpt-b", "org-rpt-c"
NAMES = {ORG_A: "青山镇卫生院", ORG_B: "青山县人民医院", ORG_C: "白水镇卫生院"}
#: A 1×1 PNG, the key image of the liver panel.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
REPORT_TEXT = "丙氨酸氨基转移酶升高，余项未见异常。"
CONCLUSION = "肝功能轻度异常，建议两周后复查。"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def clinician(org: str, role: str = "county-clinician") -> Caller:
    return caller_for(
        kind="user", id=f"dr-{org}", role_codes=(role,), organization=f"Organization/{org}"
    )


def observation(
    rid: str, name: str, value: float, unit: str, low: float, high: float, flag: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"text": name},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-03-02T08:10:00+08:00",
        "valueQuantity": {"value": value, "unit": unit},
        "referenceRange": [{"low": {"value": low, "unit": unit}, "high": {"value": high}}],
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": flag}]}],
    }


def report(rid: str, name: str, org: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "code": {"text": name},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-03-02T08:10:00+08:00",
        "performer": [{"reference": f"Organization/{org}", "display": NAMES[org]}],
        **more,
    }


def text_form(data: str, title: str = "检验报告") -> dict[str, Any]:
    return {"contentType": "text/plain; charset=utf-8", "data": data, "title": title}


def seed_reports(store: Store) -> None:
    """Write the patient, the organisations, the reports and organisation A's Consent."""
    system = store.repository(system_caller("tests"))
    for org, name in NAMES.items():
        system.update(
            "Organization", org, {"resourceType": "Organization", "id": org, "name": name}
        )
    put_patient(system, PATIENT, name="王芳")

    def put(body: dict[str, Any], org: str) -> None:
        with_custodian(body, f"Organization/{org}")
        system.update(body["resourceType"], body["id"], body)

    put(observation("obs-rpt-alt", "丙氨酸氨基转移酶", 82, "U/L", 9, 50, "H"), ORG_B)
    put(observation("obs-rpt-glu", "空腹血糖", 5.1, "mmol/L", 3.9, 6.1, "N"), ORG_B)
    put(observation("obs-rpt-hb", "血红蛋白", 131, "g/L", 115, 150, "N"), ORG_B)
    put(observation("obs-rpt-tc", "总胆固醇", 4.2, "mmol/L", 2.8, 5.2, "N"), ORG_A)
    image = {
        "resourceType": "Media",
        "id": "media-rpt-liver",
        "status": "completed",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "content": {"contentType": "image/png", "data": PNG, "title": "肝脏超声关键图像"},
    }
    put(image, ORG_B)
    mark = {
        "url": systems.EXT_RECOGNITION_MARK,
        "valueCoding": {"system": systems.RECOGNITION_MARK, "code": "ZJHR", "display": "浙HR"},
    }
    text = base64.b64encode(REPORT_TEXT.encode()).decode()
    liver = report(
        "dr-rpt-liver",
        "肝功能检查",
        ORG_B,
        extension=[mark],
        issued="2026-03-02T10:30:00+08:00",
        result=[{"reference": "Observation/obs-rpt-alt"}, {"reference": "Observation/obs-rpt-glu"}],
        media=[{"link": {"reference": "Media/media-rpt-liver"}}],
        conclusion=CONCLUSION,
        presentedForm=[text_form(text)],
    )
    put(liver, ORG_B)
    # base64 alphabet and length are right (the store accepts it) but it does not decode
    blood = report(
        "dr-rpt-blood",
        "血常规",
        ORG_B,
        issued="2026-03-01T10:00:00+08:00",
        result=[{"reference": "Observation/obs-rpt-hb"}],
        presentedForm=[text_form("A===")],
    )
    put(blood, ORG_B)
    lipids = report(
        "dr-rpt-lipids",
        "血脂四项",
        ORG_A,
        issued="2026-02-20T09:00:00+08:00",
        result=[{"reference": "Observation/obs-rpt-tc"}],
    )
    put(lipids, ORG_A)
    patient = caller_for(
        kind="user", id=f"res-{PATIENT}", role_codes=("resident",), patients=(PATIENT,)
    )
    grant(store.repository(patient), PATIENT, f"Organization/{ORG_A}")
