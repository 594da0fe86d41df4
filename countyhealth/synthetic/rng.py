"""Deterministic random streams and ids.

Each part of the county draws from its own stream, named by labels (``stream(seed,
"household", 17)``), so that the same seed gives the same county whatever else changes in
the order of generation, and ids never depend on memory addresses or hash randomisation.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def stream(seed: int, *labels: object) -> random.Random:
    """A random generator determined by ``seed`` and ``labels`` (string seeding is stable)."""
    return random.Random("/".join([str(seed), *map(str, labels)]))


def digest(seed: int, *labels: object, length: int = 14) -> str:
    """A stable hexadecimal digest of ``seed`` and ``labels`` (``length`` characters)."""
    text = "/".join([str(seed), *map(str, labels)]).encode()
    return hashlib.blake2b(text, digest_size=(length + 1) // 2).hexdigest()[:length]


class Weighted(Generic[T]):
    """A weighted choice with precomputed cumulative weights (O(log n) per draw)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("a weighted choice needs one weight per item")
        self._items = list(items)
        self._cum = list(accumulate(float(w) for w in weights))
        self._total = self._cum[-1]
        if self._total <= 0:
            raise ValueError("weights must not all be zero")

    @classmethod
    def of(cls, pairs: Sequence[Sequence[Any]]) -> Weighted[Any]:
        """From ``[[item, weight], …]`` as stored in the data files."""
        return cls([p[0] for p in pairs], [float(p[1]) for p in pairs])

    def pick(self, rng: random.Random) -> T:
        return self._items[bisect_right(self._cum, rng.random() * self._total)]

    @property
    def items(self) -> list[T]:
        return self._items


def step_value(table: Sequence[Sequence[float]], x: float) -> float:
    """The value of a step table ``[[from, value], …]`` (sorted by ``from``) at ``x``."""
    value = table[0][1]
    for start, v in table:
        if x >= start:
            value = v
        else:
            break
    return float(value)


def between(rng: random.Random, bounds: Sequence[float]) -> float:
    """A uniform draw between ``bounds[0]`` and ``bounds[1]``."""
    return rng.uniform(bounds[0], bounds[1])


def int_between(rng: random.Random, bounds: Sequence[float]) -> int:
    """A uniform integer draw from ``bounds[0]`` to ``bounds[1]`` inclusive."""
    return rng.randint(int(bounds[0]), int(bounds[1]))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method, fine for the small means used here)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class RecordKeys:
    """Keys of person records: shuffled within blocks of 1000, blocks in order.

    A record's key says nothing about which other record was created just before it (a
    planted duplicate gets a random place in the block of its original), yet the keys of
    one block are close together, so a database inserts each block's resources into a
    narrow range of its indexes instead of all over them.
    """

    BLOCK = 1000

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.count = 0
        self._slots: list[int] = []

    def next(self) -> str:
        block, i = divmod(self.count, self.BLOCK)
        if i == 0:
            self._slots = list(range(self.BLOCK))
            stream(self.seed, "record-block", block).shuffle(self._slots)
        self.count += 1
        return f"{block:06d}{self._slots[i]:03d}"
