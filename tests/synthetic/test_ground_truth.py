"""The ground truth describes what the data holds: duplicates, outbreaks, repeated tests."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from countyhealth.fhir import systems
from countyhealth.fhir.identifiers import gb11643
from countyhealth.synthetic import datafiles
from countyhealth.synthetic.names import homophones

from .conftest import County


def test_duplicates_are_planted_with_their_errors(county: County) -> None:
    patients = {p["id"]: p for p in county.of("Patient")}
    pairs = county.truth.duplicates
    share = len(pairs) / county.options.residents
    assert abs(share - county.options.duplicate_share) < 0.015
    kinds: Counter[str] = Counter()
    for pair in pairs:
        original = patients[pair["original"].split("/")[1]]
        duplicate = patients[pair["duplicate"].split("/")[1]]
        ids = [i["value"] for i in duplicate["identifier"] if i["system"] == systems.ID_CARD]
        true_id = next(i["value"] for i in original["identifier"] if i["system"] == systems.ID_CARD)
        for error in pair["errors"]:
            kinds[error] += 1
        if "missing-id" in pair["errors"]:
            assert ids == []
        elif "old-15-digit-id" in pair["errors"]:
            assert len(ids[0]) == 15
            id_typo = "typo" in pair["details"] and "position" not in pair["details"]["typo"]
            if not id_typo:
                assert gb11643.upgrade(ids[0]) == true_id
        if "swapped-day-month" in pair["errors"]:
            a, b = (
                date.fromisoformat(original["birthDate"]),
                date.fromisoformat(duplicate["birthDate"]),
            )
            assert (a.month, a.day) == (b.day, b.month)
        if "homophone" in pair["errors"]:
            change = pair["details"]["homophone"]
            assert change["to"] in homophones()[change["from"]]
            assert duplicate["name"][0]["text"] != original["name"][0]["text"]
        assert duplicate["gender"] == original["gender"]
    assert set(kinds) == {"typo", "homophone", "missing-id", "swapped-day-month", "old-15-digit-id"}


def test_duplicates_have_visits_of_their_own(county: County) -> None:
    subjects = Counter(e["subject"]["reference"] for e in county.of("Encounter"))
    for pair in county.truth.duplicates:
        assert subjects[pair["duplicate"]] >= 1


def _iso_week(day: date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def test_outbreaks_stand_out_in_their_township_and_weeks(county: County) -> None:
    township = {p["id"]: p["address"][0]["city"] for p in county.of("Patient")}
    outbreaks = county.truth.outbreaks
    assert outbreaks
    for ob in outbreaks:
        weekly: Counter[str] = Counter()
        for c in county.of("Condition"):
            if c["code"]["coding"][0]["code"] != ob["icd10"]:
                continue
            if township[c["subject"]["reference"].split("/")[1]] != ob["township"]["name"]:
                continue
            weekly[_iso_week(date.fromisoformat(c["recordedDate"]))] += 1
        in_weeks = sum(weekly[w] for w in ob["weeks"])
        assert in_weeks >= ob["cases"]
        assert sum(ob["cases_by_week"].values()) == ob["cases"] == len(ob["conditions"])
        if ob["cases"] >= 3:
            other = sum(weekly.values()) - in_weeks
            weeks_total = 53 * county.options.years
            assert in_weeks / len(ob["weeks"]) > 3 * other / (weeks_total - len(ob["weeks"]))


def test_repeat_tests_are_exactly_the_recognisable_repeats(county: County) -> None:
    items = {
        v["recognition"]["code"]: v["recognition"]["window_days"]
        for v in datafiles.load("labs")["items"].values()
        if v["recognition"]
    }
    marked = {
        r["id"]: r
        for r in county.of("DiagnosticReport")
        if any(e["url"] == systems.EXT_RECOGNITION_MARK for e in r.get("extension", []))
    }
    observations = {o["id"]: o for o in county.of("Observation")}
    events: dict[tuple[str, str], list[tuple[str, str, str, str]]] = defaultdict(list)
    for report in marked.values():
        for result in report["result"]:
            obs = observations[result["reference"].split("/")[1]]
            codes = [
                c["code"] for c in obs["code"]["coding"] if c["system"] == systems.RECOGNITION_ITEM
            ]
            if codes:
                events[(report["subject"]["reference"], codes[0])].append(
                    (
                        obs["effectiveDateTime"],
                        report["performer"][0]["reference"],
                        report["id"],
                        obs["id"],
                    )
                )
    expected = set()
    for (patient, code), found in events.items():
        found.sort()
        for j, later in enumerate(found):
            for earlier in reversed(found[:j]):
                gap = (date.fromisoformat(later[0][:10]) - date.fromisoformat(earlier[0][:10])).days
                if gap > items[code]:
                    break
                if earlier[1] != later[1]:
                    expected.add((patient, code, earlier[2], later[2]))
                    break
    listed = {
        (
            t["patient"],
            t["item"],
            t["first"]["report"].split("/")[1],
            t["repeat"]["report"].split("/")[1],
        )
        for t in county.truth.repeat_tests
    }
    assert listed == expected
    assert listed, "some tests are repeated inside their window"
    for t in county.truth.repeat_tests:
        assert 0 <= t["days_apart"] <= t["window_days"]
        assert t["first"]["organization"] != t["repeat"]["organization"]
