"""Search answers agree with a brute-force oracle over every official R4 example.

Every example instance of hl7.fhir.r4.examples@4.0.1 (not conformance resources, not Bundles,
not the known-invalid ones) goes into one database. For every search parameter of type token,
string, date, reference, quantity, number and uri that has a value in the examples, search
values are derived from the examples themselves, the search runs through the REST API, and the
ids it returns are compared with the ids the oracle (:mod:`tests.search.oracle`: fhirpathpy
over the R4 definitions, matching rules written from search.html) computes over all examples
of the type. The figures are in docs/conformance.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from countyhealth.store import Repository
from tests.fhir.known_invalid_examples import KNOWN_INVALID_EXAMPLES
from tests.support.fhir_package import PACKAGE, example_instances, skip_reason

_REASON = skip_reason()
pytestmark = [
    pytest.mark.skipif(_REASON is not None, reason=_REASON or ""),
    pytest.mark.slow,
]

fhirpathpy = pytest.importorskip("fhirpathpy")

from tests.search import oracle  # noqa: E402  (needs fhirpathpy)

BASE = "http://127.0.0.1:8000/fhir"
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")

#: Types the server writes resources of by itself (the audit trail).
SERVER_WRITTEN = frozenset({"AuditEvent"})


@dataclass(frozen=True)
class Rule:
    """A known difference: ``applies`` tells whether it explains a disagreeing outcome."""

    name: str
    reason: str
    applies: Callable[[Outcome], bool]


def _fewer(o: Outcome) -> bool:
    return o.got is not None and o.got < o.expected


def _extra(o: Outcome) -> bool:
    return o.got is not None and o.got > o.expected


#: Documented deliberate differences (docs/conformance.md). Queries under them still run
#: and are counted; a disagreement they explain is not a failure.
DELIBERATE = [
    Rule(
        "phonetic is Mandarin pinyin",
        "R4 leaves the phonetic algorithm to the server; here it is pinyin of Chinese names "
        "(full syllables and initials). Names without Chinese characters have no phonetic key, "
        "and :exact/:contains compare the pinyin key, not the written name.",
        lambda o: o.query.code == "phonetic",
    ),
    Rule(
        "string index keeps 255 characters",
        "strings are indexed in their first 255 normalised characters; a prefix or :contains "
        "value that only matches further on finds nothing",
        lambda o: o.query.modifier == "contains" and _fewer(o) and len(o.query.values[0]) > 200,
    ),
    Rule(
        "ContactPoint.system is the token system",
        "as in HAPI FHIR, ContactPoint.system (phone, email…) is indexed as the token system: "
        "telecom=value and telecom=phone|value match, |value (explicitly no system) does not",
        lambda o: o.query.tag == "ContactPoint" and _fewer(o),
    ),
    Rule(
        "references to contained resources have no type",
        "the FHIRPath subset resolves a reference's type from its text, so "
        "`where(resolve() is Patient)` does not follow #id to a contained Patient: e.g. "
        "Observation?patient:missing=true also returns Observations whose subject is a "
        "contained Patient",
        lambda o: (
            o.query.modifier == "missing"
            and _extra(o)
            and (o.got or set()) - o.expected <= o.contained
        ),
    ),
]

#: Disagreements that are server bugs, (none known; see docs/conformance.md).
#: Each must still show: once fixed, its entry goes.
KNOWN_BUGS: list[Rule] = []


@dataclass(frozen=True)
class Query:
    rtype: str
    code: str
    modifier: str | None
    values: tuple[str, ...]
    tag: str = ""  # what the values were taken from, where a rule below needs it

    @property
    def name(self) -> str:
        return f"{self.code}:{self.modifier}" if self.modifier else self.code

    def __str__(self) -> str:
        return f"{self.rtype}?{self.name}={','.join(self.values)}"


@dataclass
class Outcome:
    query: Query
    expected: set[str]
    got: set[str] | None  # None: the server refused the search
    status: int
    detail: str = ""
    contained: set[str] = field(default_factory=set)  # resources referring to contained ones
    positive: set[str] | None = None  # for :not, the oracle's answer without the modifier

    @property
    def agrees(self) -> bool:
        return self.got == self.expected


# ---------------------------------------------------------------------- data


def load(repo: Repository, only: set[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Store the examples (in chunks); the stored versions by type."""
    examples = [
        res
        for name, res in example_instances()
        if name not in KNOWN_INVALID_EXAMPLES and (only is None or res["resourceType"] in only)
    ]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(examples), 100):
        for stored in repo.put_many(examples[i : i + 100]):
            by_type.setdefault(stored.type, []).append(stored.resource)
    return by_type


# ---------------------------------------------------------------------- search values


def _distinct(items: list[tuple[str, Any]], key: Any = lambda x: x) -> list[Any]:
    """Up to two values: the first one, and the first of another resource that differs."""
    if not items:
        return []
    first_rid, first = items[0]
    picked = [first]
    for rid, item in items[1:]:
        if rid != first_rid and key(item) != key(first):
            picked.append(item)
            break
    return picked


def fold_differs(a: str, b: str) -> bool:
    return not oracle.fold(b).startswith(oracle.fold(_prefix(a)))


def _prefix(text: str) -> str:
    return text[: max(1, (len(text) * 3 + 4) // 5)]


def _day(point: float) -> str:
    return datetime.fromtimestamp(point / 1e6, oracle.SERVER_TZ).strftime("%Y-%m-%d")


def _plain(d: Decimal) -> str:
    return format(d, "f")


def derive(
    defn: oracle.Definition, held: list[tuple[str, oracle.Values]], turn: int = 0
) -> Iterator[Query]:
    """Search values for ``defn`` taken from what the examples hold.

    To keep the run short, some forms take turns over the parameters (``turn`` counts them):
    every form is used on many parameters, not every form on every parameter.
    """
    kind, code, t = defn.type, defn.code, defn.resource_type

    def q(modifier: str | None, *values: str, tag: str = "") -> Query:
        return Query(t, code, modifier, values, tag)

    if code == "_id":
        ids = [rid for rid, _ in held]
        yield q(None, *ids[:2][::-1])
        if turn % 3 == 0:
            yield q("not", ids[0])
        return
    if code == "_lastUpdated":
        day = _day(held[0][1].dates[0][0])
        yield q(None, PREFIXES[turn % len(PREFIXES)] + day)
        return
    light = defn.resource_level  # _tag, _profile, _security, _source: fewer forms
    if kind == "string":
        picked = _distinct([(rid, s) for rid, v in held for s in v.strings if s.strip()])
        for i, s in enumerate(picked):
            p = _prefix(s)
            yield q(None, oracle.escape(p.swapcase() if i == 0 else p))
        if picked:
            s = picked[0]
            yield q("exact", oracle.escape(s))
            if len(s) > 2:
                yield q("contains", oracle.escape(s[1:-1].upper()))
            if not s.isascii():
                yield q(None, oracle.escape(oracle.fold(_prefix(s))))
        if len(picked) == 2:
            yield q(None, *(oracle.escape(_prefix(s)) for s in picked))
    elif kind == "token":
        coded = [(rid, tok) for rid, v in held for tok in v.tokens if tok.code]
        picked = _distinct(coded, key=lambda tok: tok.code)
        if picked:
            tok = picked[0]
            yield q(None, oracle.escape(tok.code))
            if tok.system:
                yield q(None, f"{oracle.escape(tok.system)}|{oracle.escape(tok.code)}")
                if turn % 2 and not light:
                    yield q(None, oracle.escape(tok.system) + "|")
            elif tok.kind in ("Coding", "Identifier", "ContactPoint"):
                yield q(None, f"|{oracle.escape(tok.code)}", tag=tok.kind)
            if turn % 2 == 0 and not light:
                yield q("not", oracle.escape(tok.code))
        if len(picked) == 2:
            yield q(None, *(oracle.escape(tok.code) for tok in picked))
        if not light:
            texts = [(tok.texts[0], "") for _, v in held for tok in v.tokens if tok.texts]
            # a Coding.display next to a different CodeableConcept.text
            texts += [
                (tok.display, "display")
                for _, v in held
                for tok in v.tokens
                if tok.display and tok.text and fold_differs(tok.display, tok.text)
            ]
            chosen = [x for x in texts if x[1]][:1] or (texts[:1] if turn % 2 else [])
            for text, tag in chosen:
                if text.strip():
                    yield q("text", oracle.escape(_prefix(text).lower()), tag=tag)
    elif kind == "reference":
        local = _distinct(
            [(rid, r) for rid, v in held for r in v.refs if r.local], key=lambda r: (r.type, r.id)
        )
        for r in local:
            yield q(None, f"{r.type}/{oracle.escape(r.id)}")
        if local:
            r = local[-1]
            if turn % 2:
                yield q(None, oracle.escape(r.id))
            else:
                yield q(r.type, oracle.escape(r.id))
        urls = _distinct([(rid, r) for rid, v in held for r in v.refs if r.url and r.url[0] != "#"])
        for r in urls:
            yield q(None, oracle.escape(r.url))
            if r.version:
                yield q(None, oracle.escape(f"{r.url}|{r.version}"))
        idents = [
            r.identifier for _, v in held for r in v.refs if r.identifier and r.identifier.code
        ]
        if idents:
            ident = idents[0]
            system = f"{oracle.escape(ident.system)}|" if ident.system else ""
            yield q("identifier", system + oracle.escape(ident.code))
    elif kind == "date":
        finite = [
            (rid, d)
            for rid, v in held
            for d in v.dates
            if d[0] != -oracle.INF or d[1] != oracle.INF
        ]
        picked = _distinct(finite, key=lambda d: _day(d[0] if d[0] != -oracle.INF else d[1] - 1))
        for i, d in enumerate(picked):
            day = _day(d[0] if d[0] != -oracle.INF else d[1] - 1)
            if i > 0 or light:
                yield q(None, day)
                continue
            # eq, and four of the other prefixes in turn
            others = PREFIXES[1:]
            for k in range(4):
                yield q(None, others[(turn + k * 2) % len(others)] + day)
            yield q(None, "eq" + day)
            yield q(None, day[:4] if turn % 2 else "ge" + day[:7])
    elif kind == "number":
        picked = _distinct([(rid, n) for rid, v in held for n in v.numbers])
        for i, n in enumerate(picked):
            for prefix in PREFIXES if i == 0 else ("eq",):
                yield q(None, prefix + _plain(n))
    elif kind == "quantity":
        finite = [(rid, x) for rid, v in held for x in v.quantities if isinstance(x.low, Decimal)]
        picked = _distinct(finite, key=lambda x: (x.low, x.code))
        for i, x in enumerate(picked):
            assert isinstance(x.low, Decimal)
            n = _plain(x.low)
            yield q(None, n)
            if x.system and x.code:
                yield q(None, f"{n}|{oracle.escape(x.system)}|{oracle.escape(x.code)}")
            unit = x.code or x.unit
            if unit:
                yield q(None, f"{n}||{oracle.escape(unit)}")
            if i == 0:
                yield q(None, f"gt{n}")
                yield q(None, f"le{n}")
                base = oracle.ucum_base(x.code) if x.system == oracle.UCUM and x.code else None
                if base is not None and base[1] in ("g", "L", "m", "s") and x.code != base[1]:
                    yield q(None, f"{_plain(x.low * base[0])}|{oracle.UCUM}|{base[1]}")
    elif kind == "uri":
        picked = _distinct([(rid, u) for rid, v in held for u in v.uris])
        for u in picked:
            yield q(None, oracle.escape(u))
        if picked and not light:
            u = picked[0]
            if "/" in u.rstrip("/"):
                yield q("below", oracle.escape(u.rstrip("/").rsplit("/", 1)[0]))
            yield q("above", oracle.escape(u.rstrip("/") + "/x"))
    if not light and (turn % 2 or any(r.url and r.url[0] == "#" for _, v in held for r in v.refs)):
        yield q("missing", "true" if turn % 4 != 3 else "false")


# ---------------------------------------------------------------------- the run


@dataclass
class Report:
    with_data: set[tuple[str, str]]
    tried: set[tuple[str, str]]  # the parameters searched (all with data unless sampled)
    exercised: set[tuple[str, str]]  # ... and accepted by the server
    outcomes: list[Outcome]
    seconds: float

    @property
    def disagreements(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.got is not None and not o.agrees]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.got is None]

    @property
    def coverage(self) -> float:
        """Parameters exercised / parameters with data (of those searched, when sampled)."""
        return len(self.exercised) / max(1, len(self.tried))

    @staticmethod
    def rule(o: Outcome, rules: list[Rule]) -> Rule | None:
        return next((r for r in rules if r.applies(o)), None)

    @property
    def failures(self) -> list[Outcome]:
        return [
            o
            for o in self.disagreements
            if self.rule(o, DELIBERATE) is None and self.rule(o, KNOWN_BUGS) is None
        ]

    def parameters_agreeing(self) -> tuple[int, int]:
        """(parameters whose every compared query agrees, parameters compared)."""
        compared: dict[tuple[str, str], bool] = {}
        for o in self.outcomes:
            if o.got is None or self.rule(o, DELIBERATE):
                continue
            key = (o.query.rtype, o.query.code)
            compared[key] = compared.get(key, True) and o.agrees
        return sum(compared.values()), len(compared)

    def agreement(self, exclude_deliberate: bool = True) -> tuple[int, int]:
        """(agreeing, compared) queries; queries under a deliberate difference left out."""
        compared = [
            o
            for o in self.outcomes
            if o.got is not None and not (exclude_deliberate and self.rule(o, DELIBERATE))
        ]
        return sum(o.agrees for o in compared), len(compared)


def run_oracle(
    client: TestClient, by_type: dict[str, list[dict[str, Any]]], sample: int = 1
) -> Report:
    """Derive and run the searches; ``sample`` > 1 keeps every n-th parameter (faster)."""
    started = time.monotonic()
    with_data: set[tuple[str, str]] = set()
    tried: set[tuple[str, str]] = set()
    exercised: set[tuple[str, str]] = set()
    outcomes: list[Outcome] = []
    n = 0
    for rtype in sorted(by_type):
        resources = by_type[rtype]
        for defn in oracle.definitions_for(PACKAGE, rtype):
            evaluator = oracle.Evaluator(defn)
            held = []
            for res in resources:
                values = oracle.values_of(defn.type, evaluator.nodes(res), BASE)
                held.append((res["id"], values))
            if not any(v.present for _, v in held):
                continue
            key = (rtype, defn.code)
            with_data.add(key)
            n += 1
            if n % sample:
                continue
            tried.add(key)
            universe = [rid for rid, _ in held]
            queries = list(dict.fromkeys(derive(defn, held, n)))
            if not queries:  # values no other form reaches (e.g. only contained references)
                queries = [Query(rtype, defn.code, "missing", ("true",))]
            for query in queries:
                expected = {
                    rid
                    for rid, v in held
                    if oracle.holds(defn.type, query.modifier, list(query.values), v, BASE)
                }
                outcome = _search(client, query, expected, universe)
                outcome.contained = {
                    rid for rid, v in held if any(r.url and r.url[0] == "#" for r in v.refs)
                }
                if query.modifier == "not":
                    outcome.positive = {
                        rid
                        for rid, v in held
                        if oracle.holds(defn.type, None, list(query.values), v, BASE)
                    }
                outcomes.append(outcome)
                if outcome.got is not None:
                    exercised.add(key)
    return Report(with_data, tried, exercised, outcomes, time.monotonic() - started)


def _search(client: TestClient, query: Query, expected: set[str], universe: list[str]) -> Outcome:
    params = [(query.name, ",".join(query.values)), ("_count", "1000")]
    if query.rtype in SERVER_WRITTEN:
        # the server records its own AuditEvents in the same store: keep to the examples
        params.append(("_id", ",".join(universe)))
    r = client.get(f"/fhir/{query.rtype}", params=params, headers={"Prefer": "handling=strict"})
    if r.status_code != 200:
        return Outcome(query, expected, None, r.status_code, r.text[:300])
    bundle = r.json()
    got = {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"}
    return Outcome(query, expected, got, 200)


def _line(o: Outcome) -> str:
    assert o.got is not None
    return (
        f"  {o.query}: expected {sorted(o.expected)[:8]} got {sorted(o.got)[:8]}"
        f" (missing {len(o.expected - o.got)}, extra {len(o.got - o.expected)})"
    )


def summary(report: Report) -> str:
    agree, compared = report.agreement()
    lines = [
        f"parameters with data: {len(report.with_data)}; searched: {len(report.tried)}; "
        f"exercised: {len(report.exercised)} ({report.coverage:.1%})",
        f"queries: {len(report.outcomes)}; refused: {len(report.refused)}; "
        f"compared (deliberate differences left out): {compared}; agreeing: {agree} "
        f"({agree / max(1, compared):.2%}); {report.seconds:.1f} s",
        "parameters whose every query agrees: {}/{}".format(*report.parameters_agreeing()),
    ]
    for rules, title in ((DELIBERATE, "deliberate"), (KNOWN_BUGS, "known bug")):
        for rule in rules:
            hits = [o for o in report.disagreements if report.rule(o, rules) is rule]
            lines.append(f"{title} {rule.name!r}: {len(hits)} disagreeing queries")
            lines += [_line(o) for o in hits[:3]]
    unsupported = sorted({f"{o.query.rtype}.{o.query.code}" for o in report.refused})
    lines.append(f"parameters refused by the server: {unsupported}")
    lines.append(f"unexplained disagreements: {len(report.failures)}")
    lines += [_line(o) for o in report.failures[:60]]
    return "\n".join(lines)


def check(report: Report, complete: bool = True) -> None:
    text = summary(report)
    print(text)
    assert report.failures == [], text
    for rule in KNOWN_BUGS if complete else []:
        assert any(report.rule(o, KNOWN_BUGS) is rule for o in report.disagreements), (
            f"known bug {rule.name!r} no longer shows: remove its entry"
        )
    assert report.coverage >= 0.9, text


def test_search_agrees_with_oracle(client: TestClient, repo: Repository, backend: str) -> None:
    if backend == "sqlite":
        check(run_oracle(client, load(repo)))
    else:
        # PostgreSQL: the same comparison on every fifth parameter
        check(run_oracle(client, load(repo), sample=5), complete=False)
