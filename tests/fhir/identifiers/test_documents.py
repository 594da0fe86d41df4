"""Permits, permanent residence cards and passports: each system valid and invalid."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from countyhealth.fhir import systems
from countyhealth.fhir.identifiers import identifier_problem, is_validated
from countyhealth.fhir.identifiers.gb11643 import build, check_character

TODAY = date(2026, 1, 1)
HONG_KONG_PERMIT = build("810000", date(1990, 5, 1), 13)
TAIWAN_PERMIT = build("830000", date(1985, 12, 31), 24)
PERMANENT_2023 = "9338401990010101" + "2"
PERMANENT_2023 += check_character(PERMANENT_2023)


def part(system: str, value: str) -> str | None:
    problem = identifier_problem(system, value)
    return None if problem is None else problem.part


@pytest.mark.parametrize(
    ("system", "value"),
    [
        (systems.ID_CARD, "11010519491231002X"),
        (systems.ID_CARD, "513101198201130014"),
        (systems.ID_CARD, "130503670401001"),  # the 1989 form is accepted as it is
        (systems.RESIDENCE_PERMIT, HONG_KONG_PERMIT),
        (systems.RESIDENCE_PERMIT, TAIWAN_PERMIT),
        (systems.HK_MACAO_TRAVEL_PERMIT, "H12345678"),
        (systems.HK_MACAO_TRAVEL_PERMIT, "M1234567801"),
        (systems.TAIWAN_TRAVEL_PERMIT, "12345678"),
        (systems.TAIWAN_TRAVEL_PERMIT, "1234567802"),
        (systems.FOREIGN_PERMANENT_RESIDENT, PERMANENT_2023),
        (systems.FOREIGN_PERMANENT_RESIDENT, "USA330019900101"),
        (systems.passport_system("RUS"), "K4582013"),
        (systems.passport_system("chn"), "E12345678"),  # passport_system upper-cases
    ],
)
def test_valid_values(system: str, value: str) -> None:
    assert is_validated(system)
    assert identifier_problem(system, value) is None


@pytest.mark.parametrize(
    ("system", "value", "expected"),
    [
        (systems.ID_CARD, "11010519491231002Y", "check digit"),
        (systems.ID_CARD, "130503670231001", "birth date"),
        (systems.ID_CARD, "ID000001", "length"),
        (systems.RESIDENCE_PERMIT, "11010519491231002X", "region"),
        (systems.RESIDENCE_PERMIT, HONG_KONG_PERMIT[:-1] + "0", "check digit"),
        (systems.RESIDENCE_PERMIT, "810000" + "19900231" + "0131", "birth date"),
        (systems.RESIDENCE_PERMIT, HONG_KONG_PERMIT[:17], "length"),
        (systems.HK_MACAO_TRAVEL_PERMIT, "C12345678", "prefix"),
        (systems.HK_MACAO_TRAVEL_PERMIT, "h12345678", "prefix"),
        (systems.HK_MACAO_TRAVEL_PERMIT, "H1234567", "number"),
        (systems.HK_MACAO_TRAVEL_PERMIT, "H12345678A", "number"),
        (systems.TAIWAN_TRAVEL_PERMIT, "1234567", "number"),
        (systems.TAIWAN_TRAVEL_PERMIT, "1234567B", "number"),
        (systems.FOREIGN_PERMANENT_RESIDENT, "1" + PERMANENT_2023[1:], "prefix"),
        (systems.FOREIGN_PERMANENT_RESIDENT, PERMANENT_2023[:-1] + "Y", "check digit"),
        (systems.FOREIGN_PERMANENT_RESIDENT, "9338401990A101012", "length"),
        (systems.FOREIGN_PERMANENT_RESIDENT, "US1330019900101", "nationality"),
        (systems.FOREIGN_PERMANENT_RESIDENT, "USA33001990010A", "number"),
        (systems.passport_system("RUS"), "K45-8201", "number"),
        (systems.passport_system("RUS"), "K458201300", "number"),
        (systems.passport_system("RU"), "K4582013", "country"),
        (systems.PASSPORT, "K4582013", "country"),
    ],
)
def test_invalid_values_name_the_part(system: str, value: str, expected: str) -> None:
    assert part(system, value) == expected


def test_messages_say_what_is_expected() -> None:
    problem = identifier_problem(systems.ID_CARD, "110105194912310021")
    assert problem is not None and "MOD 11-2 of the first 17 digits gives X" in str(problem)
    problem = identifier_problem(systems.FOREIGN_PERMANENT_RESIDENT, "1" + PERMANENT_2023[1:])
    assert problem is not None and "starts with 9" in str(problem)


def test_a_single_wrong_digit_of_the_2023_permanent_residence_number_is_caught() -> None:
    for pos in range(17):
        digit = "0" if PERMANENT_2023[pos] != "0" else "1"
        altered = PERMANENT_2023[:pos] + digit + PERMANENT_2023[pos + 1 :]
        if altered[0] == "9":
            assert part(systems.FOREIGN_PERMANENT_RESIDENT, altered) == "check digit"


def test_other_systems_are_not_checked() -> None:
    assert not is_validated(systems.E_HEALTH_CARD)
    assert not is_validated(systems.mrn_system("org-thc-03"))
    assert identifier_problem(systems.mrn_system("org-thc-03"), "anything") is None
    assert identifier_problem("urn:oid:1.2.36.146.595.217.0.1", "12345") is None


def test_passport_country_of_a_system() -> None:
    assert systems.passport_country(systems.passport_system("deu")) == "DEU"
    assert systems.passport_country(systems.ID_CARD) is None


def test_every_checked_system_is_documented() -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "identifiers.md").read_text()
    for name in (
        "ID_CARD",
        "RESIDENCE_PERMIT",
        "HK_MACAO_TRAVEL_PERMIT",
        "TAIWAN_TRAVEL_PERMIT",
        "FOREIGN_PERMANENT_RESIDENT",
        "PASSPORT",
    ):
        system: str = getattr(systems, name)
        assert is_validated(system) or name == "PASSPORT"
        assert f"`{name}`" in text
        assert system.replace(systems.BASE, "BASE") in text
