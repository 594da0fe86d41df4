"""Appointment/$book: take one slot of the county pool for a patient, atomically.

A CountyHealth operation after IHE ITI Scheduling ``$book`` (which books a proposed
Appointment): here the input names the slot and the patient, and the answer is the booked
Appointment (201). A slot someone else took answers 409 with OperationOutcome CH-9101; the
other refusals are listed in :func:`countyhealth.scheduling.book`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..scheduling import BookingRequest, book, refuse_early
from ..store import Repository
from ._scheduling_params import local_id, one
from .registry import Operation, OperationContext, OperationResult, register

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Appointment-book",
    "url": "https://countyhealth.example.org/fhir/OperationDefinition/Appointment-book",
    "name": "Book",
    "status": "active",
    "kind": "operation",
    "code": "book",
    "description": "Book one free, released slot of the county pool for a patient and return "
    "the booked Appointment. Reserved slots need the matching channel (family-doctor, or "
    "referral with the referral ServiceRequest) until they return to the public pool.",
    "resource": ["Appointment"],
    "system": False,
    "type": True,
    "instance": False,
    "affectsState": True,
    "parameter": [
        {"name": "slot", "use": "in", "min": 1, "max": "1", "type": "Reference"},
        {"name": "patient", "use": "in", "min": 1, "max": "1", "type": "Reference"},
        {"name": "channel", "use": "in", "min": 0, "max": "1", "type": "code"},
        {"name": "referral", "use": "in", "min": 0, "max": "1", "type": "Reference"},
        {"name": "triage", "use": "in", "min": 0, "max": "1", "type": "Reference"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "Appointment"},
    ],
}


def parse(values: Mapping[str, list[Any]]) -> BookingRequest:
    return BookingRequest(
        slot=str(local_id(one(values, "slot", True), "Slot")),
        patient=str(local_id(one(values, "patient", True), "Patient")),
        channel=one(values, "channel"),
        referral=local_id(one(values, "referral"), "ServiceRequest"),
        triage=local_id(one(values, "triage"), "QuestionnaireResponse"),
    )


def handle(params: BookingRequest, repo: Repository, ctx: OperationContext) -> OperationResult:
    stored = book(repo, params)
    return OperationResult(
        stored.resource,
        status=201,
        headers={
            "Location": f"{ctx.base_url}/Appointment/{stored.id}/_history/{stored.version}",
            "ETag": stored.etag,
        },
    )


def precheck(params: BookingRequest, repo: Repository, _ctx: OperationContext) -> None:
    refuse_early(repo, params)


OPERATION = register(Operation(DEFINITION, parse, handle, precheck))
