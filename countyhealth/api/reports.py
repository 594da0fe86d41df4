"""Reports for the health bureau: break-glass openings (privilege ``audit-report``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from ..errors import error
from ..fhir.instant import parse_period
from ..store import Store
from .principal import require_caller

router = APIRouter(prefix="/api/reports", tags=["bureau"], dependencies=[Depends(require_caller)])


@router.get("/break-glass", summary="Break-glass openings since a date, newest first")
async def break_glass(
    request: Request,
    since: Annotated[str, Query(max_length=40, description="FHIR date or dateTime")] = "1970",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    caller = require_caller(request)
    store: Store = request.app.state.store
    try:
        since_us = parse_period(since)[0]
    except ValueError as exc:
        raise error("CH-1006", f"since: {exc}", "since") from exc
    repo = store.repository(caller)
    openings = await run_in_threadpool(repo.break_glass_openings, since_us, limit)
    return [o.to_json() for o in openings]
