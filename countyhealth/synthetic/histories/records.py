"""Building blocks of clinical records: encounters, observations, reports, orders, conditions.

Each function adds its resources to the chart and returns their ids. Laboratory reports from
institutions in the provincial recognition scheme carry the 浙HR mark, and every recognised
item they hold is remembered on the chart so that repeats at other institutions can be
found afterwards (recognition.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from ...fhir import systems
from .. import datafiles
from ..fhirtypes import coding, concept, concepts, quantity, ref, when
from ..network import Facility
from ..rng import digest
from .chart import Chart, LabEvent

_ENCOUNTER_CLASS = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "IMP": "inpatient encounter",
    "HH": "home health",
    "FLD": "field",
}
_VITAL = concept(systems.OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
_LAB = concept(systems.OBSERVATION_CATEGORY, "laboratory", "Laboratory")
_LAB_REPORT = concept(systems.V2_DIAGNOSTIC_SERVICE, "LAB", "Laboratory")
_RAD_REPORT = concept(systems.V2_DIAGNOSTIC_SERVICE, "RAD", "Radiology")


@cache
def _codes() -> dict[str, Any]:
    return datafiles.load("codesystems")


@cache
def _labs() -> dict[str, Any]:
    return datafiles.load("labs")


def encounter(
    chart: Chart,
    kind: str,
    fac: Facility,
    dept: str | None,
    day: date,
    minute: int,
    *,
    cls: str = "AMB",
    minutes: int = 15,
    end_day: date | None = None,
    reasons: list[tuple[str, str]] | None = None,
    practitioner: str | None = None,
    based_on: str | None = None,
    episode: str | None = None,
    location: str | None = None,
    hospitalization: dict[str, Any] | None = None,
    diagnoses: list[str] | None = None,
) -> str:
    """An Encounter of ``kind`` (encounter-type code) at ``fac``; finished unless still open."""
    eid = chart.id("enc")
    if end_day is None:
        finish_day, finish_minute = day, minute + minutes
    else:
        finish_day, finish_minute = end_day, chart.rng.randint(540, 660)
    open_now = finish_day + timedelta(days=finish_minute // 1440) >= chart.end
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": eid,
        "status": "in-progress" if open_now else "finished",
        "class": coding(systems.V3_ACT_CODE, cls, _ENCOUNTER_CLASS[cls]),
        "type": [concept(systems.ENCOUNTER_TYPE, kind, _codes()["encounter_type"][kind])],
        "subject": chart.subject,
    }
    if dept and dept in fac.services:
        resource["serviceType"] = concept(systems.DEPARTMENT, dept, _codes()["department"][dept])
    if episode:
        resource["episodeOfCare"] = [ref(f"EpisodeOfCare/{episode}")]
    if based_on:
        resource["basedOn"] = [ref(f"ServiceRequest/{based_on}")]
    if practitioner:
        resource["participant"] = [{"individual": ref(f"PractitionerRole/{practitioner}")}]
    period: dict[str, str] = {"start": when(day, minute)}
    if not open_now:
        period["end"] = when(finish_day, finish_minute)
    resource["period"] = period
    if reasons:
        resource["reasonCode"] = [concept(systems.ICD_10, c, d) for c, d in reasons]
    if diagnoses:
        resource["diagnosis"] = [
            {"condition": ref(f"Condition/{c}"), "rank": i + 1} for i, c in enumerate(diagnoses)
        ]
    if hospitalization:
        resource["hospitalization"] = hospitalization
    resource["location"] = [{"location": ref(location or fac.loc_ref)}]
    resource["serviceProvider"] = ref(fac.org_ref, fac.name)
    chart.add(resource)
    return eid


def _observation(
    chart: Chart,
    category: dict[str, Any],
    code: dict[str, Any],
    enc: str | None,
    performer: str | None,
    day: date,
    minute: int,
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": chart.id("obs"),
        "status": "final",
        "category": [category],
        "code": code,
        "subject": chart.subject,
    }
    if enc:
        obs["encounter"] = ref(f"Encounter/{enc}")
    obs["effectiveDateTime"] = when(day, minute)
    if performer:
        obs["performer"] = [ref(f"PractitionerRole/{performer}")]
    chart.add(obs)
    return obs


def blood_pressure(
    chart: Chart, enc: str | None, performer: str | None, day: date, minute: int, sbp: int, dbp: int
) -> str:
    v = _labs()["vitals"]["bp"]
    obs = _observation(
        chart,
        _VITAL,
        concept(systems.LOINC, v["loinc"], v["display"], "血压"),
        enc,
        performer,
        day,
        minute,
    )
    obs["component"] = [
        {
            "code": concept(systems.LOINC, v["systolic"], "Systolic blood pressure"),
            "valueQuantity": quantity(sbp, "mmHg", "mm[Hg]"),
        },
        {
            "code": concept(systems.LOINC, v["diastolic"], "Diastolic blood pressure"),
            "valueQuantity": quantity(dbp, "mmHg", "mm[Hg]"),
        },
    ]
    return str(obs["id"])


def vital(
    chart: Chart,
    key: str,
    value: float,
    enc: str | None,
    performer: str | None,
    day: date,
    minute: int,
    *,
    text: str | None = None,
) -> str:
    """A vital sign or body measurement named in data/labs.json ``vitals``."""
    v = _labs()["vitals"][key]
    unit = v["unit"]
    display_unit = {"Cel": "°C", "kg/m2": "kg/m²"}.get(unit, unit)
    obs = _observation(
        chart,
        _VITAL,
        concept(systems.LOINC, v["loinc"], v["display"], text),
        enc,
        performer,
        day,
        minute,
    )
    obs["valueQuantity"] = quantity(value, display_unit, unit)
    return str(obs["id"])


def lab_value(
    chart: Chart, item: str, *, shift: float = 0.0, abnormal: float | None = None
) -> float:
    """A plausible value of ``item``: inside its reference interval, sometimes outside."""
    spec = _labs()["items"][item]
    if abnormal is None:
        abnormal = _labs()["abnormal_share"]
    low, high = _interval(chart, spec)
    rng = chart.rng
    if rng.random() < abnormal:
        value = rng.choice([low * rng.uniform(0.75, 0.97), high * rng.uniform(1.03, 1.35)])
    else:
        value = rng.uniform(low + 0.1 * (high - low), high - 0.15 * (high - low))
    return round(max(0.01, value + shift), spec["decimals"])


def _interval(chart: Chart, spec: dict[str, Any]) -> tuple[float, float]:
    if chart.resident.age < 14 and "normal_child" in spec:
        low, high = spec["normal_child"]
    elif chart.resident.sex == "male" and "normal_male" in spec:
        low, high = spec["normal_male"]
    else:
        low, high = spec["normal"]
    return float(low), float(high)


def lab_panel(
    chart: Chart,
    panel: str,
    fac: Facility,
    enc: str | None,
    performer: str | None,
    day: date,
    minute: int,
    values: dict[str, float] | None = None,
    *,
    based_on: str | None = None,
) -> str:
    """A laboratory DiagnosticReport with one Observation per item; returns the report id."""
    labs = _labs()
    spec = labs["panels"][panel]
    mark = fac.kind in labs["mark"]["facility_kinds"]
    result_minute = minute + chart.rng.randint(40, 150)
    results: list[dict[str, Any]] = []
    rid = chart.id("dr")
    for item in spec["items"]:
        item_spec = labs["items"][item]
        value = (values or {}).get(item)
        if value is None:
            value = lab_value(chart, item)
        codings = [coding(systems.LOINC, item_spec["loinc"], item_spec["display"])]
        recognition = item_spec["recognition"]
        if recognition:
            codings.append(coding(systems.RECOGNITION_ITEM, recognition["code"], item_spec["name"]))
        obs = _observation(
            chart, _LAB, concepts(*codings, text=item_spec["name"]), enc, performer, day, minute
        )
        obs["issued"] = when(day, result_minute)
        unit = item_spec["unit"]
        obs["valueQuantity"] = quantity(value, unit, unit)
        low, high = _interval(chart, item_spec)
        flag = "H" if value > high else ("L" if value < low else "N")
        obs["interpretation"] = [
            concept(
                "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                flag,
                {"H": "High", "L": "Low", "N": "Normal"}[flag],
            )
        ]
        obs["referenceRange"] = [
            {"low": quantity(low, unit, unit), "high": quantity(high, unit, unit)}
        ]
        results.append(ref(f"Observation/{obs['id']}"))
        if mark and recognition:
            chart.labs.append(
                LabEvent(
                    item,
                    recognition["code"],
                    recognition["window_days"],
                    day,
                    minute,
                    fac.org_id,
                    rid,
                    str(obs["id"]),
                )
            )
    report: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": rid}
    if mark:
        m = labs["mark"]
        report["extension"] = [
            {
                "url": systems.EXT_RECOGNITION_MARK,
                "valueCoding": coding(systems.RECOGNITION_MARK, m["code"], m["display"]),
            }
        ]
    if based_on:
        report["basedOn"] = [ref(f"ServiceRequest/{based_on}")]
    report.update(
        {
            "status": "final",
            "category": [_LAB_REPORT],
            "code": concept(systems.LOINC, spec["loinc"], spec["display"], spec["name"]),
            "subject": chart.subject,
        }
    )
    if enc:
        report["encounter"] = ref(f"Encounter/{enc}")
    report["effectiveDateTime"] = when(day, minute)
    report["issued"] = when(day, result_minute)
    report["performer"] = [ref(fac.org_ref, fac.name)]
    report["result"] = results
    chart.add(report)
    return rid


def imaging(
    chart: Chart,
    exam: str,
    fac: Facility,
    enc: str | None,
    referrer: str | None,
    day: date,
    minute: int,
    *,
    abnormal: bool | None = None,
) -> str:
    """An ImagingStudy with its imaging DiagnosticReport; returns the report id."""
    spec = datafiles.load("imaging")["exams"][exam]
    rng = chart.rng
    sid, rid = chart.id("img"), chart.id("dr")
    findings = spec["findings"]
    if abnormal is None:
        choice = rng.choices(findings, weights=[f[2] for f in findings])[0]
    else:
        choice = findings[1] if abnormal and len(findings) > 1 else findings[0]
    instances = rng.randint(*spec["instances"])
    uid = f"2.25.{int(digest(chart.options.seed, 'study', sid, length=24), 16)}"
    exam_code = concepts(coding(systems.IMAGING_EXAM, exam, spec["name"]), text=spec["name"])
    study: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": sid,
        "identifier": [{"system": systems.DICOM_UID, "value": f"urn:oid:{uid}"}],
        "status": "available",
        "modality": [coding(systems.DICOM_DCM, spec["modality"])],
        "subject": chart.subject,
    }
    if enc:
        study["encounter"] = ref(f"Encounter/{enc}")
    study["started"] = when(day, minute)
    if referrer:
        study["referrer"] = ref(f"PractitionerRole/{referrer}")
    study.update(
        {
            "numberOfSeries": 1,
            "numberOfInstances": instances,
            "procedureCode": [exam_code],
            "location": ref(fac.loc_ref, fac.name),
            "series": [
                {
                    "uid": f"{uid}.1",
                    "number": 1,
                    "modality": coding(systems.DICOM_DCM, spec["modality"]),
                    "numberOfInstances": instances,
                    "bodySite": coding(
                        systems.SNOMED_CT, spec["body_site"][0], spec["body_site"][1]
                    ),
                }
            ],
        }
    )
    chart.add(study)
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "category": [_RAD_REPORT],
        "code": concepts(
            coding(systems.LOINC, "18748-4", "Diagnostic imaging study"),
            coding(systems.IMAGING_EXAM, exam, spec["name"]),
            text=spec["name"],
        ),
        "subject": chart.subject,
    }
    if enc:
        report["encounter"] = ref(f"Encounter/{enc}")
    report["effectiveDateTime"] = when(day, minute)
    report["issued"] = when(day, minute + rng.randint(30, 240))
    report["performer"] = [ref(fac.org_ref, fac.name)]
    report["imagingStudy"] = [ref(f"ImagingStudy/{sid}")]
    report["conclusion"] = f"{choice[0]} {choice[1]}"
    chart.add(report)
    return rid


def condition(
    chart: Chart,
    code: str,
    display: str,
    onset: date,
    *,
    category: str = "encounter-diagnosis",
    enc: str | None = None,
    recorder: str | None = None,
    snomed: str | None = None,
    resolved: date | None = None,
    recorded: date | None = None,
    condition_id: str | None = None,
) -> str:
    """A Condition coded in ICD-10 (plus SNOMED CT where given).

    ``condition_id`` lets a caller reserve the id first (an Encounter that cites its
    diagnosis is written before the Condition that points back to it).
    """
    cid = condition_id or chart.id("cond")
    codings = [coding(systems.ICD_10, code, display)]
    if snomed:
        codings.append(coding(systems.SNOMED_CT, snomed))
    is_resolved = resolved is not None and resolved < chart.end
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": concept(
            systems.CONDITION_CLINICAL, "resolved" if is_resolved else "active"
        ),
        "verificationStatus": concept(systems.CONDITION_VERIFICATION, "confirmed"),
        "category": [
            concept(
                systems.CONDITION_CATEGORY,
                category,
                "Problem List Item" if category == "problem-list-item" else "Encounter Diagnosis",
            )
        ],
        "code": concepts(*codings, text=display),
        "subject": chart.subject,
    }
    if enc:
        resource["encounter"] = ref(f"Encounter/{enc}")
    resource["onsetDateTime"] = onset.isoformat()
    if is_resolved and resolved is not None:
        resource["abatementDateTime"] = resolved.isoformat()
    resource["recordedDate"] = (recorded or onset).isoformat()
    if recorder:
        resource["recorder"] = ref(f"PractitionerRole/{recorder}")
    chart.add(resource)
    return cid


def medication(
    chart: Chart,
    drug: str,
    day: date,
    minute: int,
    requester: str,
    enc: str | None,
    *,
    supply_days: int | None = None,
    reason: str | None = None,
    long_prescription: bool = False,
    repeats: int = 0,
    category: str = "outpatient",
) -> str:
    """A MedicationRequest of a formulary drug (data/medications.json)."""
    spec = datafiles.load("medications")["drugs"][drug]
    days = supply_days or spec.get("days", 28)
    mid = chart.id("mrx")
    units = max(1, round(spec["daily_units"] * days))
    finished = day + timedelta(days=days * (1 + repeats)) < chart.end
    resource: dict[str, Any] = {"resourceType": "MedicationRequest", "id": mid}
    if long_prescription:
        resource["extension"] = [{"url": systems.EXT_LONG_PRESCRIPTION, "valueBoolean": True}]
    resource.update(
        {
            "status": "completed" if finished else "active",
            "intent": "order",
            "category": [
                concept(
                    "http://terminology.hl7.org/CodeSystem/medicationrequest-category", category
                )
            ],
            "medicationCodeableConcept": concepts(
                coding(systems.ATC, spec["atc"]),
                coding(systems.DRUG, drug, f"{spec['name']} {spec['strength']}"),
                text=f"{spec['name']} {spec['strength']}",
            ),
            "subject": chart.subject,
        }
    )
    if enc:
        resource["encounter"] = ref(f"Encounter/{enc}")
    resource["authoredOn"] = when(day, minute)
    resource["requester"] = ref(f"PractitionerRole/{requester}")
    if reason:
        resource["reasonReference"] = [ref(f"Condition/{reason}")]
    if not spec.get("acute"):
        resource["courseOfTherapyType"] = concept(
            "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
            "continuous",
            "Continuous long term therapy",
        )
    resource["dosageInstruction"] = [{"text": spec["dosage"]}]
    resource["dispenseRequest"] = {
        "numberOfRepeatsAllowed": repeats,
        "quantity": {"value": units, "unit": spec["form"]},
        "expectedSupplyDuration": {"value": days, "unit": "d", "system": systems.UCUM, "code": "d"},
    }
    chart.add(resource)
    return mid


def point_of_care_glucose(
    chart: Chart, enc: str, performer: str, day: date, minute: int, value: float
) -> str:
    """A capillary glucose measured at the village clinic: not a recognisable result."""
    spec = _labs()["items"]["glucose-poct"]
    obs = _observation(
        chart,
        _LAB,
        concept(systems.LOINC, spec["loinc"], spec["display"], spec["name"]),
        enc,
        performer,
        day,
        minute,
    )
    obs["valueQuantity"] = quantity(value, "mmol/L")
    return str(obs["id"])
