"""Candidate records for a Patient: the blocking step of matching.

Scoring every resident is out of the question at a million records, so the records that share
something strong with the query are fetched first, in one statement
(:mod:`countyhealth.store.patient_blocking`): the identity number (18 characters and its
15-digit legacy form), a phone, the birth date with the sex, the birth date with day and month
swapped, the full pinyin of the name within the birth year. Each block is capped; the union is
what the model scores. The lookup runs as the platform (matching must see every record of the
医共体); what the caller is shown is decided afterwards.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ...fhir import systems
from ...fhir.instant import parse_period
from ...store import BlockingKeys, Repository
from ...store.patient_blocking import ANY_SEX
from ..matching.features import MatchFeatures

#: most records one block brings (a very common name in a birth year, say)
PER_BLOCK = 60


def legacy_form(number: str) -> str | None:
    """The 15-digit GB 11643-1989 form of an 18-digit number of someone born in the 1900s."""
    if len(number) == 18 and number[6:8] == "19":
        return number[:6] + number[8:17]
    return None


def swapped(day: date) -> date | None:
    """``day`` with day and month exchanged, when that is another real date."""
    if day.day > 12 or day.day == day.month:
        return None
    try:
        return date(day.year, day.day, day.month)
    except ValueError:
        return None


def blocking_keys(f: MatchFeatures) -> BlockingKeys:
    """The keys the candidates of ``f`` are looked up by."""
    ids: tuple[str, ...] = ()
    if f.id_number:
        ids = (f.id_number, *filter(None, [legacy_form(f.id_number)]))
    days: tuple[tuple[int, int], ...] = ()
    year = (1, 0)
    if f.birth_date is not None:
        dates = [f.birth_date, *filter(None, [swapped(f.birth_date)])]
        days = tuple(parse_period(d.isoformat()) for d in dates)
        year = parse_period(str(f.birth_date.year))
    sexes = (f.sex,) if f.sex in ("male", "female") else ANY_SEX
    return BlockingKeys(
        id_system=systems.ID_CARD,
        id_numbers=ids,
        phones=tuple(f.phones[:3]),
        sexes=sexes,
        days=days,
        pinyin=f.pinyin or "",
        year=year,
    )


def find_candidates(
    platform: Repository, f: MatchFeatures, *, exclude: str | None = None
) -> list[dict[str, Any]]:
    """Every record a block finds (each once), except ``exclude`` (``Patient/id``) and records
    already merged away (``active`` false with ``replaced-by``)."""
    out: list[dict[str, Any]] = []
    for stored in platform.patient_candidates(blocking_keys(f), PER_BLOCK):
        if f"Patient/{stored.id}" == exclude:
            continue
        resource = stored.resource
        if not _merged_away(resource):
            out.append(resource)
    return out


def _merged_away(resource: dict[str, Any]) -> bool:
    return resource.get("active") is False and any(
        link.get("type") == "replaced-by" for link in resource.get("link") or []
    )
