"""Mutual recognition of exam and lab results (检查检验结果互认, 国卫医发〔2022〕6号): the dated
item catalogue with its windows, mark and re-test reasons (:mod:`.catalogue`), the check that
finds qualifying results for an order (:mod:`.check`), the clinician's decision on the order
(:mod:`.orders`) and the KPIs (:mod:`.kpis`). docs/recognition.md describes the rules."""

from .catalogue import (
    Catalogue,
    CatalogueError,
    Mark,
    RecognitionItem,
    RetestReason,
    catalogue,
    load_catalogue,
)
from .check import CheckResult, Suggestion, parse_code, recognition_check
from .kpis import RecognitionKpis, recognition_kpis
from .order_record import OrderRecognition
from .orders import catalogue_item, check_order, place_order, recognise, retest

__all__ = [
    "Catalogue",
    "CatalogueError",
    "CheckResult",
    "Mark",
    "OrderRecognition",
    "RecognitionItem",
    "RecognitionKpis",
    "RetestReason",
    "Suggestion",
    "catalogue",
    "catalogue_item",
    "check_order",
    "load_catalogue",
    "parse_code",
    "place_order",
    "recognise",
    "recognition_check",
    "recognition_kpis",
    "retest",
]
