"""The blocking step of identity matching as one statement (master patient index).

Matching a registration against a million residents starts from the few records that share
something strong with it. The generic search engine could run each block as its own
``Patient?…`` search, but building and compiling five searches costs more than the database
work; here the blocks are one fixed, precompiled statement over the same index tables the
searches use (``idx_token``, ``idx_date``, ``idx_string``): a UNION of small capped
subqueries, each an index range:

- the identity number (any of its forms) in ``identifier``;
- any of the phones in ``phone``;
- each birth date (the given one, the day/month swap) with the sex in ``gender``;
- the full pinyin in ``phonetic`` within the birth year.

An absent key is passed as an empty list or an empty range and selects nothing. Only callers
that read all patient data may ask (the identity service runs elevated); the caller's
operation is what gets audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, TextClause, bindparam, text

from .stored import Stored

#: an empty range of microseconds (low > high): the block selects nothing
NO_RANGE = (1, 0)
#: every Patient.gender code (a birth-date block of a query without a sex accepts any)
ANY_SEX = ("male", "female", "other", "unknown")


@dataclass(frozen=True, slots=True)
class BlockingKeys:
    """What the candidates are looked up by; empty tuples and NO_RANGE mean "no such key"."""

    id_system: str
    id_numbers: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    #: the sexes a birth-date block accepts (the query's, or all when it has none)
    sexes: tuple[str, ...] = ANY_SEX
    #: up to two days as (low_us, high_us): the birth date and its day/month swap
    days: tuple[tuple[int, int], ...] = ()
    pinyin: str = ""
    #: the birth year as (low_us, high_us), for the pinyin block
    year: tuple[int, int] = NO_RANGE


_DAY_BLOCK = """
    SELECT res_pk FROM (
        SELECT d.res_pk FROM idx_date d
        WHERE d.res_type = 'Patient' AND d.param = 'birthdate'
          AND d.low_us >= :{n}_low AND d.low_us <= :{n}_high AND d.high_us <= :{n}_high
          AND EXISTS (SELECT 1 FROM idx_token g WHERE g.res_pk = d.res_pk
                      AND g.param = 'gender' AND g.code IN :sexes)
        LIMIT :cap) AS by_{n}"""

_SQL = f"""
SELECT r.res_id, r.version_id, r.last_updated_us, r.content
FROM resource r
WHERE r.res_pk IN (
    SELECT res_pk FROM (
        SELECT t.res_pk FROM idx_token t
        WHERE t.res_type = 'Patient' AND t.param = 'identifier'
          AND t.code IN :ids AND t.system = :id_system
        LIMIT :cap) AS by_id
    UNION
    SELECT res_pk FROM (
        SELECT t.res_pk FROM idx_token t
        WHERE t.res_type = 'Patient' AND t.param = 'phone' AND t.code IN :phones
        LIMIT :cap) AS by_phone
    UNION{_DAY_BLOCK.format(n="d1")}
    UNION{_DAY_BLOCK.format(n="d2")}
    UNION
    SELECT res_pk FROM (
        SELECT s.res_pk FROM idx_string s
        WHERE s.res_type = 'Patient' AND s.param = 'phonetic' AND s.value_norm = :pinyin
          AND EXISTS (SELECT 1 FROM idx_date d WHERE d.res_pk = s.res_pk
                      AND d.param = 'birthdate' AND d.low_us >= :y_low AND d.high_us <= :y_high)
        LIMIT :cap) AS by_name
)
AND r.deleted = :deleted
"""


@cache
def _statement() -> TextClause:
    return text(_SQL).bindparams(
        bindparam("ids", expanding=True),
        bindparam("phones", expanding=True),
        bindparam("sexes", expanding=True),
    )


def patient_candidates(conn: Connection, keys: BlockingKeys, cap: int) -> list[Stored]:
    """The current Patients any block of ``keys`` selects, each block capped at ``cap``."""
    days = list(keys.days[:2]) + [NO_RANGE] * (2 - len(keys.days[:2]))
    rows = conn.execute(
        _statement(),
        {
            "ids": list(keys.id_numbers) or [""],
            "id_system": keys.id_system,
            "phones": list(keys.phones) or [""],
            "sexes": list(keys.sexes),
            "d1_low": days[0][0],
            "d1_high": days[0][1],
            "d2_low": days[1][0],
            "d2_high": days[1][1],
            "pinyin": keys.pinyin or "-",  # phonetic keys are letters only: matches nothing
            "y_low": keys.year[0],
            "y_high": keys.year[1],
            "cap": cap,
            "deleted": False,
        },
    )
    return [
        Stored("Patient", r.res_id, r.version_id, r.last_updated_us, False, r.content) for r in rows
    ]
