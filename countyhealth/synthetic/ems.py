"""Emergency assets: ambulance stations of the 120 centre and public AEDs.

Stations sit at the hospitals that run ambulances and at the health centres of the towns
farthest from the county seat; AEDs follow the Zhejiang density target (45 per 100,000
people, DOMAIN.md §2j) over the modelled residents, placed in villages by population weight.
"""

from __future__ import annotations

from ..fhir import systems
from . import datafiles
from .fhirtypes import concept, ref
from .network import AmbulanceStation, Network, distance_km
from .rng import Weighted, stream


def add_emergency_assets(network: Network) -> None:
    data = datafiles.load("facilities")
    codes = datafiles.load("codesystems")
    kinds = codes["location_kind"]
    rng = stream(network.options.seed, "ems")
    ems = network.public["ems"]
    sites = [
        h for h, spec in zip(network.hospitals, data["hospitals"], strict=True) if spec["ambulance"]
    ]
    cx, cy = network.county.centre
    remote = sorted(
        (c for c in network.health_centres if c.township and c.township.kind != "subdistrict"),
        key=lambda c: -distance_km(cx, cy, c.lon, c.lat),
    )
    sites += remote[: data["ambulance"]["stations_at_township_centres"]]
    for i, fac in enumerate(sites):
        station = AmbulanceStation(
            f"loc-amb-{i + 1:02d}",
            f"{fac.name}急救站",
            round(fac.lon + 0.0008, 6),
            round(fac.lat + 0.0005, 6),
            fac,
        )
        network.ambulance_stations.append(station)
        network.resources.append(
            {
                "resourceType": "Location",
                "id": station.loc_id,
                "status": "active",
                "name": station.name,
                "mode": "instance",
                "type": [
                    concept(systems.LOCATION_KIND, "ambulance-station", kinds["ambulance-station"])
                ],
                "physicalType": concept(systems.LOCATION_PHYSICAL_TYPE, "bu", "Building"),
                "position": {"longitude": station.lon, "latitude": station.lat},
                "managingOrganization": ref(ems.org_ref, ems.name),
                "partOf": ref(fac.loc_ref, fac.name),
            }
        )
    aed = data["aed"]
    count = max(aed["minimum"], round(aed["per_100k"] * network.options.residents / 100_000))
    villages = Weighted(network.county.villages, [v.weight for v in network.county.villages])
    site_kinds: Weighted[str] = Weighted.of(aed["site_kinds"])
    for i in range(count):
        village = villages.pick(rng)
        kind = site_kinds.pick(rng)
        loc_id, dev_id = f"loc-aed-{i + 1:03d}", f"aed-{i + 1:03d}"
        name = f"{village.name}{kind}"
        network.resources.append(
            {
                "resourceType": "Location",
                "id": loc_id,
                "status": "active",
                "name": f"{name}AED",
                "mode": "instance",
                "type": [concept(systems.LOCATION_KIND, "aed-site", kinds["aed-site"])],
                "position": {
                    "longitude": round(village.lon + rng.uniform(-0.003, 0.003), 6),
                    "latitude": round(village.lat + rng.uniform(-0.003, 0.003), 6),
                },
                "managingOrganization": ref(ems.org_ref, ems.name),
                "partOf": ref(f"Location/{village.id}", village.name),
            }
        )
        network.resources.append(
            {
                "resourceType": "Device",
                "id": dev_id,
                "status": "active",
                "serialNumber": f"AED{network.options.seed % 1000:03d}{i + 1:05d}",
                "deviceName": [{"name": "自动体外除颤器", "type": "user-friendly-name"}],
                "type": concept(systems.DEVICE_KIND, "aed", codes["device_kind"]["aed"]),
                "owner": ref(ems.org_ref, ems.name),
                "location": ref(f"Location/{loc_id}", f"{name}AED"),
            }
        )
