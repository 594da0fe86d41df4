"""The two-way referral KPIs (``data/referral_kpis.json``): referrals up and down per period
and institution, acceptance rate, median time to acceptance, down-referrals followed up within
two weeks and the year-on-year change, for the bureau's page and (in
:mod:`countyhealth.operations.referral_kpis`) as a summary FHIR MeasureReport.

The figures are counted from the stored referrals — ServiceRequests with the referral-direction
extension, their referral Tasks and the Encounters based on them — in a few paged searches
over the whole period (no read per referral). The reads run for the platform in aggregate mode
(:meth:`Repository.elevated`): the AuditEvents record the queries without naming every counted
patient, so only counts, rates and institutions leave this module.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from ..errors import forbidden
from ..fhir import systems
from ..records.query import find_all
from ..scheduling.calendar import COUNTY_TZ, at, fhir_datetime, local_now, parse_datetime
from ..scheduling.calendar import check_period as period_check
from ..store import Repository

MAX_DAYS = 366
#: periods up to this many days are charted day by day, longer ones month by month
DAILY_SERIES_DAYS = 62
KPI_SYSTEM = f"{systems.BASE}/CodeSystem/referral-kpi"
MEASURE = f"{systems.BASE}/Measure/referral-kpis"
REFERRAL_CODE = "306206005"  # SNOMED CT: Referral to service
DIRECTIONS = ("up", "down")
_DATA = Path(__file__).parent / "data" / "referral_kpis.json"
_ERROR = "CH-9302"
#: values per search parameter (the search parser's limit)
_BATCH = 100


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(_DATA.read_bytes())
    return data


def definitions() -> tuple[dict[str, Any], ...]:
    """The KPI definitions in report order (id, zh, en, scoring, unit, reference, wording)."""
    return tuple(_data()["kpis"])


@dataclass(frozen=True, slots=True)
class KpiRules:
    """The rule data of the definitions: the follow-up window and which Task states count."""

    follow_up_days: int
    accepted_statuses: frozenset[str]
    rejected_statuses: frozenset[str]
    follow_up_excluded_statuses: frozenset[str]
    not_a_visit: frozenset[str]


@cache
def kpi_rules() -> KpiRules:
    """The rules of ``data/referral_kpis.json``."""
    r = _data()["rules"]
    return KpiRules(
        follow_up_days=int(r["follow_up_days"]),
        accepted_statuses=frozenset(r["accepted_statuses"]),
        rejected_statuses=frozenset(r["rejected_statuses"]),
        follow_up_excluded_statuses=frozenset(r["follow_up_excluded_statuses"]),
        not_a_visit=frozenset(r["not_a_visit"]),
    )


@dataclass(frozen=True, slots=True)
class DirectionCounts:
    """The raw counts of one direction (up or down) over the period."""

    made: int  # referrals made in the period
    previous: int  # made in the same days a year earlier
    by_status: dict[str, int]  # by Task status ("unknown": no referral Task)
    accepted: int
    decided: int  # accepted + rejected
    timed: int  # accepted with the acceptance instant
    median_hours: float | None  # to acceptance, over the timed ones


@dataclass(frozen=True, slots=True)
class FollowUpCounts:
    """The down-referrals' follow-up within :attr:`days` days."""

    days: int
    due: int  # not cancelled, window closed: the denominator
    done: int  # of those, followed up in time
    open: int  # not cancelled, window still open (in neither count)


@dataclass(frozen=True, slots=True)
class FacilityRow:
    """What one institution sent and received in the period."""

    organization: str  # Organization/id
    name: str
    up_sent: int = 0
    down_sent: int = 0
    up_received: int = 0
    down_received: int = 0


@dataclass(frozen=True, slots=True)
class ReferralKpis:
    """The referral KPIs over ``first``..``last`` (county days, inclusive) for the county or
    the referrals one institution sent or received; raw counts beside every figure."""

    first: date
    last: date
    organization: str | None
    previous_first: date
    previous_last: date
    up: DirectionCounts
    down: DirectionCounts
    median_hours: float | None  # both directions
    follow_up: FollowUpCounts
    facilities: tuple[FacilityRow, ...]
    #: (first day of the bucket, up, down), day by day or month by month
    series: tuple[tuple[str, int, int], ...] = field(default=())

    @property
    def made(self) -> int:
        return self.up.made + self.down.made

    @property
    def previous(self) -> int:
        return self.up.previous + self.down.previous

    @property
    def accepted(self) -> int:
        return self.up.accepted + self.down.accepted

    @property
    def decided(self) -> int:
        return self.up.decided + self.down.decided

    @property
    def timed(self) -> int:
        return self.up.timed + self.down.timed

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted / decided referrals, percent to one decimal."""
        return _rate(self.accepted, self.decided)

    @property
    def follow_up_rate(self) -> float | None:
        """Down-referrals followed up in time / those whose window closed, percent."""
        return _rate(self.follow_up.done, self.follow_up.due)

    @property
    def change(self) -> float | None:
        """Year-on-year change of the referrals made, percent to two decimals."""
        return _change(self.made, self.previous)

    def direction(self, name: str) -> DirectionCounts:
        return self.up if name == "up" else self.down


def check_period(first: date, last: date) -> None:
    """CH-9302 unless ``first``..``last`` is a period of 1 to :data:`MAX_DAYS` days."""
    period_check(first, last, _ERROR, MAX_DAYS)


def year_earlier(day: date) -> date:
    """The same day a year earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def referral_kpis(
    repo: Repository, first: date, last: date, organization: str | None = None
) -> ReferralKpis:
    """The referral KPIs over the county days ``first``..``last`` (inclusive).

    Args:
        repo: the caller's Repository; the caller needs MeasureReport read and a role that
            reaches all patients' data.
        first: the first day of the period.
        last: the last day (at most :data:`MAX_DAYS` days after ``first``, inclusive).
        organization: ``Organization/id`` to count the referrals that institution sent or
            received; None for the county.

    Raises:
        OperationOutcomeError: CH-4003 without MeasureReport read or county-wide reach,
            CH-9302 for a period that is reversed or too long.
    """
    repo.require("MeasureReport", "read")
    # The aggregate reads below reach every patient's data; a role confined to its own
    # organisation's or consenting patients must not learn county-wide counts through them.
    if repo.caller.access != "all" and repo.caller.kind != "system":
        raise forbidden("the referral KPIs are for roles that reach all patients' data")
    check_period(first, last)
    reader = repo.elevated(aggregate=True)
    rules = kpi_rules()
    today = local_now(repo.store.clock.now_us()).date()
    start, end = _bounds(first, last)
    before_first, before_last = year_earlier(first), year_earlier(last)
    earlier_start, earlier_end = _bounds(before_first, before_last)

    requests = list(_requests(reader, start, end))
    earlier = list(_requests(reader, earlier_start, earlier_end))
    roles = _role_organizations(reader, [*requests, *earlier])
    tasks = _tasks(reader, [str(sr["id"]) for sr in requests])
    referrals = _referrals(requests, tasks, roles, organization)
    earlier_tasks = _tasks(reader, [str(sr["id"]) for sr in earlier])
    previous = Counter(r.direction for r in _referrals(earlier, earlier_tasks, roles, organization))
    visits = _first_visits(reader, {r.id for r in referrals if r.direction == "down"}, rules)

    tallies = {d: _Tally() for d in DIRECTIONS}
    follow_up = _FollowUpTally()
    for r in referrals:
        tallies[r.direction].add(r, rules)
        if r.direction == "down" and r.status not in rules.follow_up_excluded_statuses:
            follow_up.add(r.day + timedelta(days=rules.follow_up_days), visits.get(r.id), today)
    up, down = (tallies[d].counts(previous[d]) for d in DIRECTIONS)
    return ReferralKpis(
        first=first,
        last=last,
        organization=organization,
        previous_first=before_first,
        previous_last=before_last,
        up=up,
        down=down,
        median_hours=_median([*tallies["up"].hours, *tallies["down"].hours]),
        follow_up=FollowUpCounts(
            rules.follow_up_days, follow_up.due, follow_up.done, follow_up.open
        ),
        facilities=_facilities(reader, referrals),
        series=_series(first, last, referrals),
    )


@dataclass(slots=True)
class _Tally:
    made: int = 0
    accepted: int = 0
    decided: int = 0
    status: Counter[str] = field(default_factory=Counter)
    hours: list[float] = field(default_factory=list)

    def add(self, r: _Referral, rules: KpiRules) -> None:
        self.made += 1
        self.status[r.status] += 1
        if r.accepted_at is not None or r.status in rules.accepted_statuses:
            self.accepted += 1
            self.decided += 1
            if r.accepted_at is not None:
                seconds = (r.accepted_at - r.task_authored).total_seconds()
                self.hours.append(max(0.0, seconds / 3600))
        elif r.status in rules.rejected_statuses:
            self.decided += 1

    def counts(self, previous: int) -> DirectionCounts:
        return DirectionCounts(
            made=self.made,
            previous=previous,
            by_status=dict(sorted(self.status.items())),
            accepted=self.accepted,
            decided=self.decided,
            timed=len(self.hours),
            median_hours=_median(self.hours),
        )


@dataclass(slots=True)
class _FollowUpTally:
    due: int = 0
    done: int = 0
    open: int = 0

    def add(self, last_day: date, visit: date | None, today: date) -> None:
        """A down-referral whose window ends with ``last_day``, first visited on ``visit``."""
        if last_day < today:
            self.due += 1
            self.done += visit is not None and visit <= last_day
        else:
            self.open += 1


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Referral:
    id: str
    direction: str
    day: date  # county day it was made
    sender: str | None  # Organization/id
    receiver: str | None
    status: str  # of its referral Task; "unknown" without one
    task_authored: datetime
    accepted_at: datetime | None


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return at(first, time(0, 0)), at(last + timedelta(days=1), time(0, 0))


def _window(name: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
    return [(name, f"ge{fhir_datetime(start)}"), (name, f"lt{fhir_datetime(end)}")]


def _requests(reader: Repository, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """The referral ServiceRequests made in ``start``..``end`` (not entered in error)."""
    params = [("code", f"{systems.SNOMED_CT}|{REFERRAL_CODE}"), *_window("authored", start, end)]
    for sr in find_all(reader, "ServiceRequest", params):
        if sr.get("status") != "entered-in-error" and _direction(sr) in DIRECTIONS:
            yield sr


def _tasks(reader: Repository, requests: list[str]) -> dict[str, dict[str, Any]]:
    """The referral Task of each of the ServiceRequests ``requests``, by request id (of
    several, the one modified last). One ``focus`` list per batch: the reference index answers
    it by key (a chain on the request's date made PostgreSQL rescan the window per Task)."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(requests), _BATCH):
        chunk = ",".join(f"ServiceRequest/{r}" for r in requests[i : i + _BATCH])
        params = [("code", f"{systems.TASK_KIND}|referral"), ("focus", chunk)]
        for task in find_all(reader, "Task", params):
            sr = _local(task.get("focus"), "ServiceRequest")
            if sr is None:
                continue
            known = out.get(sr)
            if known is None or str(task.get("lastModified") or "") > str(
                known.get("lastModified") or ""
            ):
                out[sr] = task
    return out


def _first_visits(reader: Repository, wanted: set[str], rules: KpiRules) -> dict[str, date]:
    """The county day of the first visit (Encounter based on it) of each request in
    ``wanted``, read in batches of ``based-on`` lists."""
    out: dict[str, date] = {}
    ids = sorted(wanted)
    for i in range(0, len(ids), _BATCH):
        chunk = ",".join(f"ServiceRequest/{r}" for r in ids[i : i + _BATCH])
        for encounter in find_all(reader, "Encounter", [("based-on", chunk)]):
            began = (encounter.get("period") or {}).get("start")
            if encounter.get("status") in rules.not_a_visit or not began:
                continue
            day = _county_day(str(began))
            for ref in encounter.get("basedOn") or []:
                sr = _local(ref, "ServiceRequest")
                if sr in wanted and (sr not in out or day < out[sr]):
                    out[sr] = day
    return out


def _role_organizations(reader: Repository, requests: Iterable[dict[str, Any]]) -> dict[str, str]:
    """``PractitionerRole/id`` → ``Organization/id`` for the requesters of ``requests``."""
    ids = sorted(
        {rid for sr in requests if (rid := _local(sr.get("requester"), "PractitionerRole"))}
    )
    out: dict[str, str] = {}
    for i in range(0, len(ids), _BATCH):
        chunk = ids[i : i + _BATCH]
        for role in find_all(reader, "PractitionerRole", [("_id", ",".join(chunk))]):
            org = _local(role.get("organization"), "Organization")
            if org:
                out[f"PractitionerRole/{role['id']}"] = f"Organization/{org}"
    return out


def _referrals(
    requests: list[dict[str, Any]],
    tasks: dict[str, dict[str, Any]],
    roles: dict[str, str],
    organization: str | None,
) -> list[_Referral]:
    """``requests`` with their referral Tasks as counted (a Task entered in error drops its
    referral), those ``organization`` sent or received when it is given."""
    out = []
    for sr in requests:
        task = tasks.get(str(sr["id"]))
        if task is not None and task.get("status") == "entered-in-error":
            continue
        sender = _sender(sr, roles)
        receiver = _receiver(sr, task)
        if organization is not None and organization not in (sender, receiver):
            continue
        authored = parse_datetime(str(sr["authoredOn"]))
        task_authored = task.get("authoredOn") if task else None
        accepted = _accepted_at(task) if task else None
        out.append(
            _Referral(
                id=str(sr["id"]),
                direction=_direction(sr),
                day=authored.astimezone(COUNTY_TZ).date(),
                sender=sender,
                receiver=receiver,
                status=str(task.get("status")) if task else "unknown",
                task_authored=parse_datetime(str(task_authored)) if task_authored else authored,
                accepted_at=accepted,
            )
        )
    return out


def _facilities(reader: Repository, referrals: list[_Referral]) -> tuple[FacilityRow, ...]:
    """One row per institution that sent or received a referral, by name."""
    tally: dict[str, Counter[str]] = {}
    for r in referrals:
        if r.sender:
            tally.setdefault(r.sender, Counter())[f"{r.direction}_sent"] += 1
        if r.receiver:
            tally.setdefault(r.receiver, Counter())[f"{r.direction}_received"] += 1
    names = _names(reader, sorted(tally))
    rows = [
        FacilityRow(
            organization=org,
            name=names.get(org, org),
            up_sent=c["up_sent"],
            down_sent=c["down_sent"],
            up_received=c["up_received"],
            down_received=c["down_received"],
        )
        for org, c in tally.items()
    ]
    return tuple(sorted(rows, key=lambda f: (f.name, f.organization)))


def _names(reader: Repository, organizations: list[str]) -> dict[str, str]:
    ids = [o.removeprefix("Organization/") for o in organizations]
    out: dict[str, str] = {}
    for i in range(0, len(ids), _BATCH):
        for org in find_all(reader, "Organization", [("_id", ",".join(ids[i : i + _BATCH]))]):
            if org.get("name"):
                out[f"Organization/{org['id']}"] = str(org["name"])
    return out


def _series(
    first: date, last: date, referrals: list[_Referral]
) -> tuple[tuple[str, int, int], ...]:
    """Referrals made per day (short periods) or per month, both directions, zeros kept."""
    daily = (last - first).days < DAILY_SERIES_DAYS

    def bucket(day: date) -> date:
        return day if daily else day.replace(day=1)

    keys: list[date] = []
    day = first
    while day <= last:
        if not keys or keys[-1] != bucket(day):
            keys.append(bucket(day))
        day += timedelta(days=1)
    counts: Counter[tuple[date, str]] = Counter((bucket(r.day), r.direction) for r in referrals)
    return tuple((k.isoformat(), counts[(k, "up")], counts[(k, "down")]) for k in keys)


# ---------------------------------------------------------------------- resource fields


def _direction(sr: dict[str, Any]) -> str:
    for e in sr.get("extension") or []:
        if e.get("url") == systems.EXT_REFERRAL_DIRECTION:
            coding = e.get("valueCoding") or {}
            if coding.get("system") == systems.REFERRAL_DIRECTION:
                return str(coding.get("code") or "")
    return ""


def _accepted_at(task: dict[str, Any]) -> datetime | None:
    for e in task.get("extension") or []:
        if e.get("url") == systems.EXT_REFERRAL_ACCEPTED and e.get("valueDateTime"):
            return parse_datetime(str(e["valueDateTime"]))
    return None


def _sender(sr: dict[str, Any], roles: dict[str, str]) -> str | None:
    """The requester's institution: its PractitionerRole's organisation, the requester
    Organization, else the institution that recorded the request (custodian)."""
    requester = sr.get("requester") or {}
    role = _local(requester, "PractitionerRole")
    if role and f"PractitionerRole/{role}" in roles:
        return roles[f"PractitionerRole/{role}"]
    org = _local(requester, "Organization")
    if org:
        return f"Organization/{org}"
    for tag in (sr.get("meta") or {}).get("tag") or []:
        if tag.get("system") == systems.CUSTODIAN and tag.get("code"):
            return f"Organization/{tag['code']}"
    return None


def _receiver(sr: dict[str, Any], task: dict[str, Any] | None) -> str | None:
    """The receiving institution: the Organization among the performers, else the Task's
    owner when it is an Organization."""
    for performer in sr.get("performer") or []:
        org = _local(performer, "Organization")
        if org:
            return f"Organization/{org}"
    org = _local((task or {}).get("owner"), "Organization")
    return f"Organization/{org}" if org else None


def _local(ref: Any, rtype: str) -> str | None:
    text = ref.get("reference") if isinstance(ref, dict) else None
    if isinstance(text, str) and text.startswith(f"{rtype}/"):
        rid = text[len(rtype) + 1 :]
        if rid and "/" not in rid:
            return rid
    return None


def _county_day(text: str) -> date:
    return parse_datetime(text).astimezone(COUNTY_TZ).date()


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _rate(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 1) if denominator else None


def _change(now: int, before: int) -> float | None:
    return round(100 * (now - before) / before, 2) if before else None
