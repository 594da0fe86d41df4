"""Repeated tests that mutual recognition (互认) could have avoided, found per resident.

A result is recognisable when a laboratory report carrying the provincial mark holds an item
with a recognition window (data/labs.json). A repeat is the same item measured again at
another institution within that window; every such pair of the resident's record goes into
the ground truth, whether it arose from a referral or by chance.
"""

from __future__ import annotations

from collections import defaultdict

from .chart import Chart, LabEvent


def find_repeats(chart: Chart) -> None:
    if len(chart.labs) < 2:
        return
    by_item: dict[str, list[LabEvent]] = defaultdict(list)
    for event in sorted(chart.labs, key=lambda e: (e.day, e.minute)):
        by_item[event.code].append(event)
    for code, events in by_item.items():
        for j, later in enumerate(events):
            for earlier in reversed(events[:j]):
                gap = (later.day - earlier.day).days
                if gap > later.window_days:
                    break
                if earlier.organization == later.organization:
                    continue
                chart.truth.repeat_tests.append(
                    {
                        "patient": f"Patient/{chart.patient_id}",
                        "item": code,
                        "window_days": later.window_days,
                        "days_apart": gap,
                        "first": _describe(earlier),
                        "repeat": _describe(later),
                    }
                )
                break


def _describe(e: LabEvent) -> dict[str, str]:
    return {
        "report": f"DiagnosticReport/{e.report}",
        "observation": f"Observation/{e.observation}",
        "organization": f"Organization/{e.organization}",
        "date": e.day.isoformat(),
    }
