"""Which records a resident signing in may see: their own, and the minors in their care."""

from __future__ import annotations

from datetime import date

import pytest

from countyhealth.errors import OperationOutcomeError
from countyhealth.security.residents import find_by_phone, resident_of
from countyhealth.store import Repository
from tests.support.accounts import id_number, put_carer, put_patient

TODAY = date(2026, 11, 23)
PHONE = "13812345678"


@pytest.fixture
def family(repo: Repository) -> str:
    mother = id_number(date(1990, 5, 1), 12)
    put_patient(repo, "mother", phone=PHONE, number=mother)
    put_patient(repo, "mother-again", phone=PHONE, number=mother)  # registered twice
    put_patient(repo, "baby", born=date(2024, 2, 3), name="王小宝")
    put_patient(repo, "teen", born=date(2009, 1, 1), name="王小明")
    put_patient(repo, "grown-up", born=date(2008, 11, 22), name="王大明")  # 18 yesterday
    put_patient(repo, "neighbour-child", born=date(2020, 1, 1), name="张小花")
    put_carer(repo, "rp-baby", "baby", mother, "MTH")
    put_carer(repo, "rp-teen", "teen", mother, "GUARD")
    put_carer(repo, "rp-grown", "grown-up", mother, "MTH")
    put_carer(repo, "rp-friend", "neighbour-child", mother, "FRND")  # not a carer
    return mother


def test_own_records_and_minors_in_care(repo: Repository, family: str) -> None:
    found = find_by_phone(repo, PHONE, TODAY)
    assert found is not None
    assert found.patient_id == "mother"
    assert found.id_number == family
    assert found.display == "李梅"
    assert found.patients == ("mother", "mother-again", "baby", "teen")
    again = resident_of(repo, "mother", TODAY)
    assert again is not None and again.patients == ("mother", "baby", "teen")


def test_unknown_and_shared_phones(repo: Repository) -> None:
    assert find_by_phone(repo, "13900000000", TODAY) is None
    put_patient(repo, "a", phone="13700000000", number=id_number(date(1980, 1, 1), 1))
    put_patient(repo, "b", phone="13700000000", number=id_number(date(1982, 1, 1), 3))
    with pytest.raises(OperationOutcomeError) as caught:
        find_by_phone(repo, "13700000000", TODAY)
    assert caught.value.code == "CH-4006"


def test_a_record_without_identity_number_gets_no_wards(repo: Repository) -> None:
    put_patient(repo, "solo", phone="13600000000")
    found = find_by_phone(repo, "13600000000", TODAY)
    assert found is not None and found.patients == ("solo",) and found.id_number is None
