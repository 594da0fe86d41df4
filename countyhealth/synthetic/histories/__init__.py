"""Histories of residents over the simulated period, one module per domain of care."""

from __future__ import annotations

from ..outbreaks import Outbreak
from ..residents import Resident
from .admissions import admissions
from .chart import Chart
from .checkups import health_checks
from .child_health import child_health
from .chronic import follow_up, problem_list
from .emergency import emergencies
from .immunisation import immunisations
from .infectious import infections
from .maternity import newborn, pregnancies
from .outpatient import outpatient_visits
from .recognition import find_repeats

__all__ = ["Chart", "write_history"]


def write_history(chart: Chart, outbreaks: list[Outbreak], newborns: list[Resident]) -> None:
    """Write the whole history of the chart's resident, domain by domain (order is fixed)."""
    problems = problem_list(chart)
    follow_up(chart, problems)
    health_checks(chart)
    outpatient_visits(chart)
    admissions(chart)
    child_health(chart)
    newborn(chart)
    immunisations(chart)
    pregnancies(chart, newborns)
    infections(chart, outbreaks)
    emergencies(chart)
    find_repeats(chart)
