"""Official R4 examples (hl7.fhir.r4.examples@4.0.1) that break an R4 rule.

Each entry names the file in the package, the rule of the R4 specification it breaks, the
CountyHealth issue code, and the FHIRPath locations reported: every issue the validator
returns for the file has ``code`` and an ``expression`` matching ``expression`` (a regular
expression), and there are exactly ``count`` of them. Documented for users in
docs/conformance.md ("Official examples rejected by validation"). Keep this list short: an
entry is only justified by the text of the R4 definitions.
"""

from __future__ import annotations

from typing import NamedTuple


class KnownInvalid(NamedTuple):
    """Why an official example is rejected."""

    rule: str
    code: str
    expression: str
    count: int = 1


KNOWN_INVALID_EXAMPLES: dict[str, KnownInvalid] = {
    "DeviceMetric-example.json": KnownInvalid(
        rule="DeviceMetric.parent is Reference(Device); the example refers to "
        "DeviceDefinition/dc102",
        code="CH-3007",
        expression=r"DeviceMetric\.parent\.reference",
    ),
    "DeviceUseStatement-example.json": KnownInvalid(
        rule="DeviceUseStatement.reasonReference is Reference(Condition | Observation | "
        "DiagnosticReport | DocumentReference | Media); the example refers to "
        "Procedure/example",
        code="CH-3007",
        expression=r"DeviceUseStatement\.reasonReference\[0\]\.reference",
    ),
    "MedicationRequest-medrx0301.json": KnownInvalid(
        rule="MedicationRequest.dispenseRequest.performer is Reference(Organization); the "
        "example refers to Practitioner/f001",
        code="CH-3007",
        expression=r"MedicationRequest\.dispenseRequest\.performer\.reference",
    ),
    "Observation-clinical-gender.json": KnownInvalid(
        rule="Observation.performer is Reference(Practitioner | PractitionerRole | "
        "Organization | CareTeam | Patient | RelatedPerson); the example refers to "
        "Encounter/example",
        code="CH-3007",
        expression=r"Observation\.performer\[0\]\.reference",
    ),
    "Questionnaire-qs1.json": KnownInvalid(
        rule="Questionnaire.item.linkId is 1..1; 32 nested display items have no linkId",
        code="CH-3003",
        expression=r"Questionnaire(\.item\[\d+\])+\.linkId",
        count=32,
    ),
}
