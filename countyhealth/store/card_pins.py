"""Rows of e-health card PINs (``card_pin``): one hash per card, replaced when reissued,
removed when the card is revoked."""

from __future__ import annotations

from sqlalchemy import delete, select

from .dialect import Engines
from .schema_accounts import card_pin


class CardPins:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    def put(self, card_id: str, pin_hash: str, now_us: int) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(delete(card_pin).where(card_pin.c.card_id == card_id))
            conn.execute(
                card_pin.insert().values(card_id=card_id, pin_hash=pin_hash, set_us=now_us)
            )

    def get(self, card_id: str) -> str | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(card_pin.c.pin_hash).where(card_pin.c.card_id == card_id)
            ).first()
        return None if row is None else str(row.pin_hash)

    def remove(self, card_id: str) -> None:
        with self.engines.write.begin() as conn:
            conn.execute(delete(card_pin).where(card_pin.c.card_id == card_id))
