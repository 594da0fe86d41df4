"""The county slot pool (号源池): schedules and slots of every member institution, finding and
booking, cancelling and rescheduling, no-shows, check-in and queue calling, smart triage and
the KPIs the bureau watches. Rules are dated data in ``data/`` (see :mod:`.rules`)."""

from .booking import (
    BookingRequest,
    book,
    cancel,
    mark_no_show,
    refuse_early,
    reschedule,
    suspended_until,
)
from .queue import Position, QueueEntry, RoomQueue, call_next, check_in, position, room_queue
from .slots import Generated, generate_pool

__all__ = [
    "BookingRequest",
    "Generated",
    "Position",
    "QueueEntry",
    "RoomQueue",
    "book",
    "call_next",
    "cancel",
    "check_in",
    "generate_pool",
    "mark_no_show",
    "position",
    "refuse_early",
    "reschedule",
    "room_queue",
    "suspended_until",
]
