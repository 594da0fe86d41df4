"""Resource bodies shared by the store tests."""

from __future__ import annotations


def appointment(patient: str, status: str = "booked") -> dict:
    """An Appointment of ``patient`` for Slot/s1 on 2026-12-08."""
    return {
        "resourceType": "Appointment",
        "status": status,
        "start": "2026-12-08T08:00:00+08:00",
        "end": "2026-12-08T08:10:00+08:00",
        "slot": [{"reference": "Slot/s1"}],
        "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
    }
