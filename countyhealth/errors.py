"""The one error currency of CountyHealth: OperationOutcome with a stable ``CH-####`` code.

Code raises :class:`OperationOutcomeError` built by the small constructors below; the HTTP
status comes from :data:`CODES` in one place (:func:`http_status`), and one handler per surface
(FHIR API, web UI) renders it. See https://hl7.org/fhir/R4/operationoutcome.html.

Codes are never reused for another meaning. Add new ones at the end of their block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """A stable error code: HTTP status and the FHIR ``IssueType`` it maps to."""

    code: str
    status: int
    issue_type: str
    title: str


def _codes(*entries: tuple[str, int, str, str]) -> dict[str, ErrorCode]:
    return {c: ErrorCode(c, s, t, title) for c, s, t, title in entries}


#: Every code the platform emits. docs/errors.md is checked against this table by a test.
CODES: dict[str, ErrorCode] = _codes(
    # 1xxx — request shape and HTTP contract
    ("CH-1000", 500, "exception", "Internal error"),
    ("CH-1001", 400, "structure", "Body is not valid JSON"),
    ("CH-1002", 400, "structure", "Body is not a JSON object"),
    ("CH-1003", 415, "not-supported", "Unsupported content type"),
    ("CH-1004", 413, "too-costly", "Body larger than the configured limit"),
    ("CH-1005", 406, "not-supported", "Requested format is not supported"),
    ("CH-1006", 400, "invalid", "Invalid request parameter"),
    ("CH-1007", 405, "not-supported", "Method not allowed"),
    ("CH-1008", 404, "not-found", "No such route"),
    ("CH-1009", 400, "invalid", "Invalid header value"),
    # 2xxx — resource identity and versions
    ("CH-2001", 404, "not-found", "Resource not found"),
    ("CH-2002", 410, "deleted", "Resource deleted"),
    ("CH-2003", 404, "not-found", "Version not found"),
    ("CH-2004", 400, "invalid", "Unknown resource type"),
    ("CH-2005", 400, "invalid", "resourceType does not match the URL"),
    ("CH-2006", 400, "invalid", "Resource id does not match the URL"),
    ("CH-2007", 400, "invalid", "Invalid resource id"),
    ("CH-2008", 412, "conflict", "Version does not match If-Match"),
    ("CH-2009", 409, "conflict", "Concurrent modification; retry"),
    ("CH-2011", 400, "invalid", "Resource id required on update"),
    ("CH-2012", 400, "invalid", "Invalid JSON Patch"),
    ("CH-2013", 422, "processing", "JSON Patch could not be applied"),
    ("CH-2014", 404, "not-found", "Unknown operation"),
    ("CH-2015", 412, "multiple-matches", "Conditional criteria match more than one resource"),
    ("CH-2016", 400, "invalid", "Conditional update: body id differs from the matched resource"),
    # 3xxx — validation against the R4 definitions
    ("CH-3001", 400, "structure", "Resource does not conform to FHIR R4"),
    ("CH-3002", 400, "structure", "Unknown element"),
    ("CH-3003", 400, "required", "Required element missing"),
    ("CH-3004", 400, "structure", "Cardinality violated"),
    ("CH-3005", 400, "value", "Invalid primitive value"),
    ("CH-3006", 400, "code-invalid", "Code not in required value set"),
    ("CH-3007", 400, "value", "Invalid reference"),
    ("CH-3008", 400, "structure", "Wrong JSON type for element"),
    # 6xxx — search
    ("CH-6001", 400, "not-supported", "Unknown or unsupported search parameter"),
    ("CH-6002", 400, "not-supported", "Modifier not supported for this parameter"),
    ("CH-6003", 400, "invalid", "Invalid search value"),
    ("CH-6004", 400, "invalid", "Chained search on a parameter that is not a reference"),
    ("CH-6005", 400, "too-costly", "_count above the maximum page size"),
    ("CH-6006", 400, "invalid", "Invalid or too deeply nested _has"),
    ("CH-6007", 400, "invalid", "Invalid _sort"),
    ("CH-6008", 400, "invalid", "Invalid _include or _revinclude"),
    ("CH-6009", 400, "invalid", "Invalid or expired page link"),
    ("CH-6010", 400, "incomplete", "Search parameter not yet usable: reindex in progress"),
    ("CH-6011", 400, "invalid", "Invalid result parameter (_summary, _elements, _total)"),
    # 7xxx — batch and transaction Bundles
    ("CH-7001", 400, "invalid", "Not a batch or transaction Bundle"),
    ("CH-7002", 400, "invalid", "Bundle entry request missing or invalid"),
    ("CH-7003", 400, "not-found", "Reference in the Bundle cannot be resolved"),
    ("CH-7004", 400, "invalid", "The same resource twice in one transaction"),
    # 4xxx — authentication, authorisation, consent
    ("CH-4001", 401, "login", "Authentication required"),
    ("CH-4002", 401, "login", "Invalid or expired token"),
    ("CH-4003", 403, "forbidden", "Scope does not allow this interaction"),
    ("CH-4004", 403, "suppressed", "No consent covers this patient's record"),
    ("CH-4005", 400, "required", "Break-glass needs a reason"),
    ("CH-4006", 401, "security", "Wrong user name, password or code"),
    ("CH-4007", 429, "throttled", "Too many failed attempts; try again later"),
    ("CH-4008", 403, "security", "Missing or invalid CSRF token"),
    ("CH-4009", 405, "business-rule", "Audit records are immutable"),
    ("CH-4010", 400, "invalid", "Invalid OAuth2 token request"),
    ("CH-4011", 401, "security", "Client authentication failed"),
    ("CH-4012", 400, "invalid", "Invalid Consent"),
    ("CH-4013", 403, "forbidden", "The role lacks this privilege"),
    ("CH-4014", 200, "suppressed", "Results limited to what the caller may read"),
    # 5xxx — configuration
    ("CH-5001", 500, "exception", "Unsafe configuration"),
    # 9xxx — resident identity (e-health card)
    ("CH-9001", 400, "invalid", "E-health code not recognised"),
    ("CH-9002", 400, "expired", "E-health code expired"),
    ("CH-9003", 409, "conflict", "E-health code already used"),
    ("CH-9004", 400, "required", "Static e-health code needs its second factor"),
    ("CH-9005", 403, "security", "Wrong second factor for the static e-health code"),
    ("CH-9006", 410, "expired", "E-health card revoked, replaced or expired"),
    ("CH-9007", 400, "invalid", "Invalid e-health card request"),
    # 91xx — appointments, the slot pool and queues
    ("CH-9101", 409, "conflict", "Slot already taken"),
    ("CH-9102", 422, "business-rule", "Slot has ended"),
    ("CH-9103", 422, "business-rule", "Slot closed"),
    ("CH-9104", 422, "business-rule", "Slot not released yet"),
    ("CH-9105", 403, "forbidden", "Slot reserved for referral or family-doctor booking"),
    ("CH-9106", 409, "duplicate", "Patient already booked this slot or service that day"),
    ("CH-9107", 403, "forbidden", "Online booking suspended after no-shows"),
    ("CH-9108", 422, "business-rule", "Too late to cancel or change the appointment"),
    ("CH-9109", 422, "business-rule", "No more changes allowed for this appointment"),
    ("CH-9110", 409, "conflict", "Appointment status does not allow this"),
    ("CH-9111", 404, "not-found", "No appointment to check in today"),
    ("CH-9112", 422, "business-rule", "Check-in not open yet"),
    ("CH-9113", 422, "business-rule", "Too many open appointments"),
    ("CH-9114", 400, "invalid", "Invalid booking request"),
    # 92xx — mutual recognition of exam and lab results (互认)
    ("CH-9201", 400, "invalid", "Invalid recognition request"),
    ("CH-9202", 422, "business-rule", "Re-test needs one of the national reasons"),
    ("CH-9203", 422, "business-rule", "Result does not qualify for recognition"),
    ("CH-9204", 409, "conflict", "Order already decided or not active"),
    ("CH-9205", 404, "not-found", "No such result the orderer may read"),
    # 93xx — two-way referral (双向转诊)
    ("CH-9301", 409, "conflict", "Referral state does not allow this transition"),
    ("CH-9302", 400, "invalid", "Invalid referral request"),
    ("CH-9303", 422, "business-rule", "Not a referral destination of the medical community"),
    ("CH-9304", 422, "business-rule", "Down-referral needs a receiving team or centre"),
    ("CH-9305", 403, "forbidden", "Only the receiving side may decide on the referral"),
    # 94xx — one settlement per visit (最多付一次) and the 医保 split
    ("CH-9401", 400, "invalid", "Invalid charge or payment request"),
    ("CH-9402", 409, "conflict", "The visit is closed"),
    ("CH-9403", 422, "business-rule", "Unknown price item"),
    ("CH-9404", 422, "business-rule", "Refund larger than what was paid"),
    ("CH-9405", 409, "conflict", "Nothing to settle"),
    ("CH-9406", 402, "exception", "Payment failed"),
    ("CH-9407", 409, "conflict", "Idempotency key reused with another request"),
    ("CH-9408", 422, "business-rule", "No insurance policy for the person"),
    # 95xx — the master patient index (matching, review, merge and link)
    ("CH-9501", 409, "duplicate", "Resident already registered with this identity number"),
    ("CH-9502", 400, "invalid", "Invalid match, merge or link request"),
    ("CH-9503", 409, "conflict", "These records cannot be merged or unmerged"),
    ("CH-9504", 403, "forbidden", "Identity decisions need the identity steward role"),
    ("CH-9505", 409, "conflict", "The duplicate review is already decided"),
    # 8xxx — bulk data (asynchronous jobs such as $export)
    ("CH-8001", 404, "not-found", "Unknown bulk data job"),
    ("CH-8002", 400, "invalid", "Bulk data kick-off needs Prefer: respond-async"),
    ("CH-8003", 400, "not-supported", "Unsupported _outputFormat"),
    ("CH-8004", 400, "invalid", "Invalid _typeFilter"),
    ("CH-8005", 500, "exception", "Bulk data job failed"),
    ("CH-8006", 404, "not-found", "Unknown bulk data output file"),
    ("CH-8007", 400, "not-supported", "Unsupported bulk data parameter"),
)


@dataclass(slots=True)
class Issue:
    """One OperationOutcome.issue; ``expression`` is a FHIRPath location."""

    code: str
    diagnostics: str
    expression: list[str] = field(default_factory=list)
    severity: Severity = "error"

    def to_fhir(self) -> dict[str, Any]:
        error = CODES[self.code]
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": error.issue_type,
            "details": {
                "coding": [
                    {
                        "system": "https://countyhealth.example.org/fhir/CodeSystem/error-code",
                        "code": self.code,
                        "display": error.title,
                    }
                ],
                "text": error.title,
            },
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


class OperationOutcomeError(Exception):
    """Raised anywhere below the HTTP layer; carries one or more issues.

    The first error issue decides the HTTP status (see :func:`http_status`).
    """

    def __init__(self, issues: list[Issue], headers: dict[str, str] | None = None) -> None:
        if not issues:
            raise ValueError("an OperationOutcomeError needs at least one issue")
        for issue in issues:
            if issue.code not in CODES:
                raise ValueError(f"unknown error code {issue.code}")
        super().__init__("; ".join(f"{i.code} {i.diagnostics}" for i in issues))
        self.issues = issues
        self.headers = headers or {}

    @property
    def code(self) -> str:
        return self.issues[0].code

    @property
    def status(self) -> int:
        return http_status(self.issues)

    def to_fhir(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def http_status(issues: list[Issue]) -> int:
    """The one place that maps an outcome to an HTTP status."""
    for issue in issues:
        if issue.severity in ("fatal", "error"):
            return CODES[issue.code].status
    return 200


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """Build an OperationOutcome resource from issues."""
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in issues]}


def information(diagnostics: str) -> dict[str, Any]:
    """An informational OperationOutcome (e.g. the body of a successful delete)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": diagnostics}],
    }


def error(
    code: str, diagnostics: str, expression: str | list[str] | None = None
) -> OperationOutcomeError:
    """Build an error with one issue. ``raise error("CH-2001", "Patient/1 not found")``."""
    expr = [expression] if isinstance(expression, str) else list(expression or [])
    return OperationOutcomeError([Issue(code, diagnostics, expr)])


# Named constructors for the common cases (STYLE.md §1).


def not_found(type_: str, id_: str) -> OperationOutcomeError:
    return error("CH-2001", f"{type_}/{id_} is not known")


def gone(type_: str, id_: str, version: int) -> OperationOutcomeError:
    err = error("CH-2002", f"{type_}/{id_} was deleted (version {version})")
    err.headers["ETag"] = f'W/"{version}"'
    return err


def bad_request(diagnostics: str, expression: str | None = None) -> OperationOutcomeError:
    return error("CH-1006", diagnostics, expression)


def precondition_failed(diagnostics: str) -> OperationOutcomeError:
    return error("CH-2008", diagnostics)


def conflict(diagnostics: str) -> OperationOutcomeError:
    return error("CH-2009", diagnostics)


def forbidden(diagnostics: str) -> OperationOutcomeError:
    return error("CH-4003", diagnostics)


def unauthorized(diagnostics: str, code: str = "CH-4001") -> OperationOutcomeError:
    return OperationOutcomeError(
        [Issue(code, diagnostics)], headers={"WWW-Authenticate": 'Bearer realm="countyhealth"'}
    )
