"""End-use monitoring in the demo: the serials its handovers registered, inspected as inspectors would.

Every sensitive item the demo handed over is in the registry (the handover registers it). On top of that:
- a stricter rule for man-portable air-defence missiles (first inventory within 60 days, then every 180);
- items handed over in 2024 and 2025, before Umbrella kept the handovers, registered from the donors' records
  and inspected in May 2025 and again in September 2026, so some are due again and some were never sighted;
- an inspection of most units that received items this autumn, by the headquarters' inspector a few weeks ago,
  that missed about one item in four; a remote inventory by the recipient, with photo evidence;
- a few losses, one acknowledged by its donor; a move to a repair depot; a third-party transfer refused and one
  waiting for consent.
So the delinquency cards show a realistic mix: most items on time, some delinquent, some due soon."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import defaultdict

from umbrella.catalog.models import ItemType
from umbrella.core.access import Actor
from umbrella.eum import services as eum
from umbrella.eum.models import ACCOUNTABLE, Serial
from umbrella.orgs.models import Organization

MANPADS = ("AD-STINGER", "AD-PIORUN", "AD-MISTRAL3", "AD-STARSTREAK")  # the missiles, not their launchers
MISSED_SHARE = 0.25  # of the items an inspection expects, about one in four is not found on the day
INSPECTED_SHARE = 0.6  # of the holding units, the inspector has visited this many so far
# Items handed over before Umbrella kept the handovers, registered from the donors' own delivery records: (item type,
# donor, units at scale 1). Their inventories go back to 2025, so some are due again and some were never sighted.
EARLIER_DELIVERIES = (
    ("AMM-JAVELIN", "USA", 120),
    ("AD-STINGER", "USA", 80),
    ("AMM-NLAW", "GBR", 90),
    ("OTH-NVG", "DEU", 150),
)
EARLIER_UNITS = (
    ("24-MECH-DEMO", "24th Mechanised Brigade (demo)", "brigade"),
    ("93-MECH-DEMO", "93rd Mechanised Brigade (demo)", "brigade"),
    ("ADB-DEMO", "Air-defence battalion, Kharkiv (demo)", "battalion"),
)
LOSSES = (
    ("destroyed", "Destroyed by artillery fire at its firing position (demo)."),
    ("lost", "Not found after the unit withdrew from a forward position (demo)."),
    ("captured", "Captured when a forward observation post was overrun (demo)."),
)


class EndUse:
    def __init__(
        self,
        rng: random.Random,
        today: dt.date,
        *,
        scale: float,
        inspector: Actor,
        recipient: Actor,
        staff: Actor,
        donor_actor,
    ) -> None:
        self.random = rng
        self.scale = scale
        self.today = today
        self.inspector = inspector
        self.recipient = recipient
        self.staff = staff
        self.donor_actor = donor_actor  # organization code → the donor's liaison

    def run(self) -> int:
        """Inspect, lose, move and ask; returns the number of serials in the registry."""
        self._rules()
        self._earlier_deliveries()
        serials = list(Serial.objects.select_related("item_type", "owner", "holder").order_by("pk"))
        if not serials:
            return 0
        self._inspections(serials)
        self._remote_inventory()
        self._losses()
        self._transfers()
        return len(serials)

    def _rules(self) -> None:
        for manpads in ItemType.objects.filter(sensitive=True, code__in=MANPADS).order_by("code"):
            eum.set_rule(
                actor=self.staff,
                item_type=manpads,
                donor=None,
                initial_days=60,
                interval_days=180,
                reason="Man-portable air defence: the strictest accounting (demo).",
            )

    def _earlier_deliveries(self) -> None:
        """Registered from the donors' records, held by three brigades, inspected in May 2025 (most of them) and
        again in September 2026 (about half of those): the rest are due again or were never sighted."""
        units = [
            eum.create_unit(actor=self.recipient, fields={"code": code, "name": name, "kind": kind})
            for code, name, kind in EARLIER_UNITS
        ]
        entries = []
        for code, donor, units_at_scale_one in EARLIER_DELIVERIES:
            item = ItemType.objects.filter(code=code, sensitive=True).first()
            owner = Organization.objects.filter(code=donor).first()
            if item is None or owner is None:
                continue
            for number in range(1, max(4, round(units_at_scale_one * self.scale)) + 1):
                handed = dt.date(2024, 9, 1) + dt.timedelta(days=self.random.randrange(0, 240))
                fields = {
                    "item_type": item,
                    "serial": f"{donor}-{code}-{number:05d}",
                    "handover_date": handed,
                    "holder": self.random.choice(units),
                }
                entries.append((owner, fields))
        registered = eum.register_serials(actor=self.recipient, entries=entries)
        first = [serial for serial in registered if self.random.random() < 0.8]
        second = [serial for serial in first if self.random.random() < 0.5]
        for day, sighted in ((dt.date(2025, 5, 15), first), (dt.date(2026, 9, 20), second)):
            for unit in units:
                seen = [serial for serial in sighted if serial.holder_id == unit.pk and serial.handover_date <= day]
                if seen:
                    eum.record_inventory(
                        actor=self.inspector,
                        fields={"conducted_on": day, "method": "physical", "holder": unit},
                        sightings=[{"item_type": serial.item_type.code, "serial": serial.serial} for serial in seen],
                    )

    def _inspections(self, serials: list[Serial]) -> None:
        """The headquarters' inspector has visited most units that received items this autumn, two to six weeks
        ago, and missed about one item in four."""
        by_unit: dict[int | None, list[Serial]] = defaultdict(list)
        for serial in serials:
            by_unit[serial.holder_id].append(serial)
        for unit_id, held in sorted(by_unit.items(), key=lambda pair: pair[0] or 0):
            if unit_id is None or held[0].consignment_id is None or self.random.random() >= INSPECTED_SHARE:
                continue
            day = self.today - dt.timedelta(days=self.random.randrange(14, 43))
            expected = [serial for serial in held if serial.handover_date <= day and serial.status in ACCOUNTABLE]
            if not expected:
                continue
            sighted = [serial for serial in expected if self.random.random() >= MISSED_SHARE]
            eum.record_inventory(
                actor=self.inspector,
                fields={
                    "conducted_on": day,
                    "method": "physical",
                    "place": held[0].handover_place,
                    "holder": held[0].holder,
                    "note": "Routine end-use inspection by the headquarters' inspector (demo).",
                },
                sightings=[{"item_type": serial.item_type.code, "serial": serial.serial} for serial in sighted],
            )

    def _remote_inventory(self) -> None:
        """The recipient's own remote check of what the unit that received items last got in the last month, with a
        photo of each serial plate."""
        month_ago = self.today - dt.timedelta(days=30)
        latest = Serial.objects.filter(handover_date__gte=month_ago, holder__isnull=False).order_by("-handover_date").first()
        if latest is None:
            return
        recent = list(
            Serial.objects.filter(status__in=ACCOUNTABLE, holder=latest.holder, handover_date__gte=month_ago)
            .select_related("item_type")
            .order_by("pk")
        )
        day = max(serial.handover_date for serial in recent)
        photo = f"demo-evidence/inventory-{day.isoformat()}.zip"
        eum.record_inventory(
            actor=self.recipient,
            fields={
                "conducted_on": day,
                "holder": latest.holder,
                "method": "photo",
                "evidence_reference": photo,
                "evidence_digest": hashlib.sha256(photo.encode()).hexdigest(),
                "note": "Photos of the serial plates taken by the receiving units (demo).",
            },
            sightings=[
                {"item_type": serial.item_type.code, "serial": serial.serial} for serial in recent if serial.handover_date <= day
            ],
        )

    def _held(self, count: int) -> list[Serial]:
        pool = list(Serial.objects.filter(status__in=ACCOUNTABLE).select_related("owner", "holder").order_by("pk"))
        return self.random.sample(pool, min(count, len(pool)))

    def _losses(self) -> None:
        for (kind, circumstances), serial in zip(LOSSES, self._held(len(LOSSES)), strict=False):
            day = serial.handover_date + dt.timedelta(days=max(0, (self.today - serial.handover_date).days // 2))
            report = eum.report_loss(
                actor=self.recipient,
                serial_id=serial.pk,
                kind=kind,
                occurred_on=day,
                circumstances=circumstances,
                place=serial.handover_place,
                evidence_reference=f"LOSS-{serial.pk:06d}",
            )
            if kind == "destroyed":
                eum.acknowledge_loss(actor=self.donor_actor(serial.owner.code), loss_id=report.pk, note="Acknowledged (demo).")

    def _transfers(self) -> None:
        moving, refused, waiting = (self._held(3) + [None, None, None])[:3]
        if moving is not None:
            depot = eum.create_unit(
                actor=self.recipient, fields={"code": "DEPOT-CENTRAL", "name": "Central repair depot (demo)", "kind": "depot"}
            )
            eum.transfer(actor=self.recipient, serial_id=moving.pk, kind="internal", to_unit=depot, reason="Sent for repair")
        for serial, decision in ((refused, False), (waiting, None)):
            if serial is None or not serial.retransfer_requires_consent:
                continue
            request = eum.request_consent(
                actor=self.recipient,
                serial_id=serial.pk,
                kind="third_party",
                third_party="Partner nation's training centre (demo)",
                reason="Joint training of crews abroad (demo).",
            )
            if decision is False:
                eum.decide_consent(
                    actor=self.donor_actor(serial.owner.code),
                    transfer_id=request.pk,
                    consent=False,
                    reason="The export licence does not cover this end user (demo).",
                )
