"""How long and how far a pledge travels to a requirement's destination, through the best logistics hub.

Pure (numpy only; no Django). The rule, written out in docs/matching.md:

    route_km(o, h, d) = detour × (great_circle(o, h) + great_circle(h, d))
    lead_days(o, d)   = min over hubs h of  ceil(route_km(o, h, d) / km_per_day) + handling_days(h)

with no hub, the direct route (no handling). A pledge whose origin, or a requirement whose destination, has no
coordinates travels 0 km in 0 days: nothing is known, so nothing is assumed (the run says how many arcs).
Origins and destinations are few (countries, cities) while arcs are many, so the table is built once per
(origin, destination) pair and each arc looks its pair up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0
UNKNOWN = -1


@dataclass(frozen=True)
class Routes:
    """Places as degrees (NaN where unknown). Offers point at an origin, requirements' destinations are the
    market's destination indices; hubs carry their handling time in days."""

    origin_lat: np.ndarray
    origin_lon: np.ndarray
    offer_origin: np.ndarray  # per offer: an index into origin_*, or UNKNOWN
    destination_lat: np.ndarray  # per destination index of the market
    destination_lon: np.ndarray
    hub_lat: np.ndarray
    hub_lon: np.ndarray
    hub_handling_days: np.ndarray
    km_per_day: float = 500.0  # a convoy's day on the road, loading and border crossings included
    detour: float = 1.3  # roads and rail are longer than the great circle


@dataclass(frozen=True)
class Legs:
    """Per arc: the days on the way and the kilometres of the route (0 where nothing is known)."""

    lead_days: np.ndarray
    route_km: np.ndarray
    unknown: np.ndarray  # True where the origin or the destination has no coordinates


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine distance, broadcasting like numpy."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = np.radians(lon2 - lon1) / 2
    a = np.sin(half_dphi) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def pair_table(routes: Routes) -> tuple[np.ndarray, np.ndarray]:
    """(lead_days, route_km), each origins × destinations, NaN where either end is unknown."""
    o_lat, o_lon = routes.origin_lat[:, None], routes.origin_lon[:, None]
    d_lat, d_lon = routes.destination_lat[None, :], routes.destination_lon[None, :]
    if not len(routes.hub_lat):
        km = routes.detour * great_circle_km(o_lat, o_lon, d_lat, d_lon)
        return np.ceil(km / routes.km_per_day), km
    to_hub = great_circle_km(o_lat, o_lon, routes.hub_lat[None, :], routes.hub_lon[None, :])  # origins × hubs
    from_hub = great_circle_km(routes.hub_lat[:, None], routes.hub_lon[:, None], d_lat, d_lon)  # hubs × destinations
    km = routes.detour * (to_hub[:, :, None] + from_hub[None, :, :])  # origins × hubs × destinations
    days = np.ceil(km / routes.km_per_day) + routes.hub_handling_days[None, :, None]
    best = np.argmin(np.where(np.isnan(days), np.inf, days), axis=1)  # per origin × destination: the best hub
    pick = best[:, None, :]
    return np.take_along_axis(days, pick, axis=1)[:, 0, :], np.take_along_axis(km, pick, axis=1)[:, 0, :]


def legs(routes: Routes, offer: np.ndarray, destination: np.ndarray) -> Legs:
    """Each arc's lead time and route length, for arcs from `offer` to requirements at `destination`."""
    origin = routes.offer_origin[offer]
    known_origin = origin != UNKNOWN
    lead = np.zeros(len(offer))
    km = np.zeros(len(offer))
    if len(routes.origin_lat) and len(routes.destination_lat):
        table_days, table_km = pair_table(routes)
        rows = np.where(known_origin, origin, 0)
        days_here, km_here = table_days[rows, destination], table_km[rows, destination]
        known = known_origin & ~np.isnan(days_here)
        lead[known], km[known] = days_here[known], km_here[known]
    else:
        known = np.zeros(len(offer), dtype=bool)
    return Legs(lead_days=lead.astype(np.int64), route_km=km, unknown=~known)
