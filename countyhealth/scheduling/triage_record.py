"""Recording smart triage (智能导诊): what the resident entered, what was suggested, and the
department they accepted, as a QuestionnaireResponse of the triage questionnaire
(https://hl7.org/fhir/R4/questionnaireresponse.html). The booking that follows names it in
``Appointment.supportingInformation``.
"""

from __future__ import annotations

from typing import Any

from ..fhir import systems
from ..store import Repository
from .calendar import fhir_datetime, local_now


def _item(link: str, text: str, answers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"linkId": link, "text": text, "answer": answers}


def record_triage(
    repo: Repository, patient: str, text: str, picks: list[str], departments: list[str]
) -> str:
    """Store one triage (status ``in-progress`` until a suggestion is accepted); its id."""
    items = [_item("symptoms", "症状描述", [{"valueString": text}])] if text else []
    if picks:
        items.append(_item("picks", "常见症状", [{"valueString": p} for p in picks]))
    items.append(
        _item(
            "suggestion",
            "推荐科室",
            [{"valueCoding": {"system": systems.DEPARTMENT, "code": d}} for d in departments],
        )
    )
    stored = repo.create(
        {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": systems.TRIAGE_QUESTIONNAIRE,
            "status": "in-progress",
            "subject": {"reference": f"Patient/{patient}"},
            "authored": fhir_datetime(local_now(repo.store.clock.now_us())),
            "item": items,
        }
    )
    return stored.id


def record_acceptance(repo: Repository, response_id: str, department: str) -> None:
    """Mark the triage completed with the department the resident chose to book."""
    stored = repo.read("QuestionnaireResponse", response_id)
    body = {k: v for k, v in stored.resource.items() if k != "meta"}
    body["status"] = "completed"
    body["item"] = [
        *[i for i in body.get("item") or [] if i.get("linkId") != "accepted"],
        _item(
            "accepted",
            "选择科室",
            [{"valueCoding": {"system": systems.DEPARTMENT, "code": department}}],
        ),
    ]
    repo.update("QuestionnaireResponse", response_id, body, if_match=stored.version)
