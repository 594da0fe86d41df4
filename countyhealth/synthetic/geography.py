"""Geography of the fictional county: townships on a jittered grid, villages inside them.

Townships are the cells of a grid around the county centre whose inner vertices and edge
midpoints are moved at random; neighbouring townships therefore share their edges exactly and
the polygons tile the county. Villages are placed inside their township by bilinear
interpolation of its corners. Everything is drawn from the seed (data/geography.json).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..fhir import systems
from . import datafiles
from .fhirtypes import concept, geojson_attachment, ref
from .options import SeedOptions
from .rng import stream

Point = tuple[float, float]  # (longitude, latitude)


@dataclass(slots=True)
class Village:
    index: int
    id: str
    name: str
    kind: str  # "village" (村) or "community" (社区)
    township: Township
    lon: float
    lat: float
    weight: float
    code: str  # 12-digit statistical division code

    @property
    def address_line(self) -> str:
        return self.name


@dataclass(slots=True)
class Township:
    index: int
    id: str
    name: str
    kind: str  # "subdistrict" (街道), "town" (镇) or "township" (乡)
    short: str
    ring: list[Point]
    corners: tuple[Point, Point, Point, Point]  # SW, SE, NE, NW
    code: str  # 9-digit statistical division code
    group: str = ""
    villages: list[Village] = field(default_factory=list)

    @property
    def centre(self) -> Point:
        xs = [c[0] for c in self.corners]
        ys = [c[1] for c in self.corners]
        return sum(xs) / 4, sum(ys) / 4

    def inside(self, u: float, v: float) -> Point:
        """The point at (u, v) ∈ [0, 1]² of the township's corner quadrilateral."""
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.corners
        x = (1 - u) * (1 - v) * x0 + u * (1 - v) * x1 + u * v * x2 + (1 - u) * v * x3
        y = (1 - u) * (1 - v) * y0 + u * (1 - v) * y1 + u * v * y2 + (1 - u) * v * y3
        return x, y


@dataclass(slots=True)
class County:
    name: str
    code: str
    centre: Point
    townships: list[Township]
    villages: list[Village]


def build_county(options: SeedOptions) -> County:
    """Lay out the townships and villages of the county for ``options.seed``."""
    geo = datafiles.load("geography")
    rng = stream(options.seed, "geography")
    cols, rows = geo["grid"]["columns"], geo["grid"]["rows"]
    dx, dy = geo["cell_size_degrees"]["longitude"], geo["cell_size_degrees"]["latitude"]
    cx, cy = geo["centre"]["longitude"], geo["centre"]["latitude"]
    west, south = cx - cols * dx / 2, cy - rows * dy / 2

    def vertex(c: int, r: int) -> Point:
        inner = 0 < c < cols and 0 < r < rows
        j = stream(options.seed, "vertex", c, r)
        jx = j.uniform(-0.18, 0.18) * dx if inner else 0.0
        jy = j.uniform(-0.18, 0.18) * dy if inner else 0.0
        return round(west + c * dx + jx, 5), round(south + r * dy + jy, 5)

    def midpoint(a: Point, b: Point, key: tuple[object, ...]) -> Point:
        j = stream(options.seed, "edge", *key)
        return (
            round((a[0] + b[0]) / 2 + j.uniform(-0.06, 0.06) * dx, 5),
            round((a[1] + b[1]) / 2 + j.uniform(-0.06, 0.06) * dy, 5),
        )

    dropped = {tuple(c) for c in geo["grid"]["drop_cells"]}
    urban = {tuple(c) for c in geo["subdistrict_cells"]}
    cells = [(c, r) for r in range(rows) for c in range(cols) if (c, r) not in dropped]
    cells = cells[: geo["townships"]]
    # The rural township (乡) is the cell farthest from the centre.
    far = max(cells, key=lambda cr: (cr[0] - (cols - 1) / 2) ** 2 + (cr[1] - (rows - 1) / 2) ** 2)
    sub_names = rng.sample(geo["subdistrict_names"], sum(1 for c in cells if c in urban))
    town_names = rng.sample(geo["town_names"], len(cells))
    rural_name = rng.choice(geo["rural_township_names"])

    townships: list[Township] = []
    for i, (c, r) in enumerate(cells):
        sw, se, ne, nw = vertex(c, r), vertex(c + 1, r), vertex(c + 1, r + 1), vertex(c, r + 1)
        ring = [
            sw,
            midpoint(sw, se, ("h", c, r)),
            se,
            midpoint(se, ne, ("v", c + 1, r)),
            ne,
            midpoint(nw, ne, ("h", c, r + 1)),
            nw,
            midpoint(sw, nw, ("v", c, r)),
            sw,
        ]
        if (c, r) in urban:
            kind, short, suffix, number = "subdistrict", sub_names.pop(), "街道", 1 + i
        elif (c, r) == far:
            kind, short, suffix, number = "township", rural_name, "乡", 200 + i
        else:
            kind, short, suffix, number = "town", town_names.pop(), "镇", 100 + i
        code = f"{options.county_code}{number:03d}"
        townships.append(
            Township(
                i, f"loc-t{i + 1:02d}", short + suffix, kind, short, ring, (sw, se, ne, nw), code
            )
        )
    by_longitude = sorted(townships, key=lambda t: t.centre[0])
    half = len(townships) // 2
    for k, t in enumerate(by_longitude):
        t.group = "ich-1" if k < half else "ich-2"

    villages = _place_villages(options, geo, townships, rng)
    return County(options.county_name, options.county_code, (cx, cy), townships, villages)


def _place_villages(
    options: SeedOptions, geo: dict[str, Any], townships: list[Township], rng: random.Random
) -> list[Village]:
    unit = {"subdistrict": 18.0, "town": 23.0, "township": 14.0}
    raw = [unit[t.kind] for t in townships]
    total = geo["villages"]
    counts = [int(total * w / sum(raw)) for w in raw]
    for k in sorted(range(len(raw)), key=lambda k: -(total * raw[k] / sum(raw) - counts[k])):
        if sum(counts) >= total:
            break
        counts[k] += 1
    used: set[str] = set()
    parts_v, parts_c = geo["village_parts"], geo["community_parts"]
    villages: list[Village] = []
    for t, n in zip(townships, counts, strict=True):
        communities = (
            round(n * (1 - geo["village_share_of_subdistricts"])) if t.kind == "subdistrict" else 0
        )
        for k in range(n):
            community = k < communities
            for _ in range(200):
                if community:
                    name = rng.choice(parts_c["first"]) + rng.choice(parts_c["second"]) + "社区"
                elif rng.random() < 0.35:
                    name = rng.choice(parts_v["clan"]) + rng.choice(parts_v["second"]) + "村"
                else:
                    name = rng.choice(parts_v["first"]) + rng.choice(parts_v["second"]) + "村"
                if name not in used:
                    break
            used.add(name)
            u, v = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)
            lon, lat = t.inside(u, v)
            pw = geo["population_weight"]
            if community:
                density = pw["community"]
            else:
                density = pw["rural_township_village" if t.kind == "township" else "village"]
            weight = density * rng.uniform(0.5, 1.5)
            index = len(villages)
            number = (1 + k) if community else (200 + k)
            village = Village(
                index,
                f"loc-v{index + 1:03d}",
                name,
                "community" if community else "village",
                t,
                round(lon, 6),
                round(lat, 6),
                weight,
                f"{t.code}{number:03d}",
            )
            t.villages.append(village)
            villages.append(village)
    return villages


def geography_resources(county: County) -> Iterator[dict[str, Any]]:
    """Location resources of the county, its townships (with boundaries) and villages."""
    kinds = datafiles.load("codesystems")["location_kind"]
    yield {
        "resourceType": "Location",
        "id": "loc-county",
        "identifier": [{"system": systems.ADMINISTRATIVE_DIVISION, "value": county.code}],
        "status": "active",
        "name": county.name,
        "mode": "instance",
        "type": [concept(systems.LOCATION_KIND, "county", kinds["county"])],
        "physicalType": concept(systems.LOCATION_PHYSICAL_TYPE, "jdn", "Jurisdiction"),
        "position": {"longitude": county.centre[0], "latitude": county.centre[1]},
    }
    for t in county.townships:
        polygon = {"type": "Polygon", "coordinates": [[list(p) for p in t.ring]]}
        lon, lat = t.centre
        yield {
            "resourceType": "Location",
            "id": t.id,
            "extension": [
                {
                    "url": systems.LOCATION_BOUNDARY_GEOJSON,
                    "valueAttachment": geojson_attachment(orjson.dumps(polygon)),
                }
            ],
            "identifier": [{"system": systems.ADMINISTRATIVE_DIVISION, "value": t.code}],
            "status": "active",
            "name": t.name,
            "mode": "instance",
            "type": [concept(systems.LOCATION_KIND, "township", kinds["township"])],
            "physicalType": concept(systems.LOCATION_PHYSICAL_TYPE, "area", "Area"),
            "position": {"longitude": round(lon, 6), "latitude": round(lat, 6)},
            "partOf": ref("Location/loc-county", county.name),
        }
    for v in county.villages:
        yield {
            "resourceType": "Location",
            "id": v.id,
            "identifier": [{"system": systems.ADMINISTRATIVE_DIVISION, "value": v.code}],
            "status": "active",
            "name": v.name,
            "mode": "instance",
            "type": [concept(systems.LOCATION_KIND, v.kind, kinds[v.kind])],
            "physicalType": concept(systems.LOCATION_PHYSICAL_TYPE, "area", "Area"),
            "address": {
                "line": [v.name],
                "city": v.township.name,
                "district": county.name,
                "state": datafiles.load("regions")["province"],
                "country": "CN",
            },
            "position": {"longitude": v.lon, "latitude": v.lat},
            "partOf": ref(f"Location/{v.township.id}", v.township.name),
        }
