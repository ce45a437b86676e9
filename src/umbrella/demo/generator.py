"""The demo's random draws, apart from the database: what is needed and what is offered, item by item.

The demo loader writes these through the services; the matching benchmarks build the same market in memory
at scales the database would take hours to fill. Both consume the random stream in the same order.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path
from typing import Any, Protocol

DATA = Path(__file__).parent / "data"
BASE_DATE = dt.date(2026, 1, 1)
REQUIREMENTS_PER_SCALE = 520
PLEDGES_PER_SCALE = 2100
DESTINATIONS = (
    "Lviv logistics base",
    "Kyiv",
    "Kharkiv",
    "Dnipro",
    "Zaporizhzhia",
    "Odesa",
    "Mykolaiv",
    "Sumy",
    "Chernihiv",
    "Poltava",
    "Kramatorsk",
    "Vinnytsia",
)
AREA_WEIGHTS = {
    "artillery": 25,
    "iamd": 20,
    "armour": 12,
    "drones": 12,
    "air-force": 6,
    "other": 8,
    "demining": 5,
    "it": 5,
    "medical": 5,
    "humanitarian": 4,
    "maritime": 3,
}
PRIORITY_WEIGHTS = (15, 25, 30, 20, 10)
RESTRICTED_SHARE = 0.08  # pledges whose donor names the only destinations it may go to


class Item(Protocol):
    unit_of_issue: str
    bulk: bool
    crew_size: int | None
    unit_value_eur: Any


class Generator:
    def __init__(self, rng: random.Random, by_area: dict[str, list[Item]]) -> None:
        self.random = rng
        self.by_area = by_area

    def item_type(self) -> Item:
        areas = [area for area in AREA_WEIGHTS if area in self.by_area]
        area = self.random.choices(areas, weights=[AREA_WEIGHTS[a] for a in areas])[0]
        return self.random.choice(self.by_area[area])

    def typical_quantity(self, item: Item) -> int:
        if item.unit_of_issue == "LI":
            low, high = 50_000, 5_000_000
        elif item.bulk and item.unit_of_issue == "RD":
            low, high = 1_000, 200_000
        elif item.crew_size:
            low, high = 1, 24
        elif item.unit_value_eur >= 100_000:
            low, high = 2, 120
        else:
            low, high = 10, 5_000
        return max(1, round(math.exp(self.random.uniform(math.log(low), math.log(high)))))

    def requirement(self, item: Item) -> dict:
        return {
            "item_type": item,
            "quantity": self.typical_quantity(item),
            "priority": self.random.choices(range(1, 6), weights=PRIORITY_WEIGHTS)[0],
            "needed_by": BASE_DATE + dt.timedelta(days=self.random.randrange(30, 720)),
            "destination": self.random.choice(DESTINATIONS),
            "accept_substitutes": self.random.random() < 0.8,
        }

    def offer(self) -> dict:
        """What a pledge offers and when; a destination condition on a few."""
        item = self.item_type()
        quantity = max(1, round(self.typical_quantity(item) * self.random.uniform(0.05, 0.6)))
        available = BASE_DATE + dt.timedelta(days=self.random.randrange(-180, 540))
        destinations = self.random.sample(DESTINATIONS, 3) if self.random.random() < RESTRICTED_SHARE else []
        return {"item_type": item, "quantity": quantity, "available_from": available, "allowed_destinations": destinations}
