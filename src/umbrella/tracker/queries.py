"""Totals of imported tracker releases: per donor (EUR and % of GDP) and per year."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from umbrella.core.access import Actor
from umbrella.tracker.models import AllDonorsMonth, MilitarySourcesMonth, MonthlyAllocation, TrackerRelease

BILLION = Decimal(1_000_000_000)
AID_TYPES = ("total", "military", "financial", "humanitarian")
CENT = Decimal("0.01")


@dataclass
class DonorTotal:
    donor: str
    iso: str
    organization: str  # Umbrella's code, or "" for a donor that is not an organization here
    months: int = 0
    eur: dict[str, Decimal] = field(default_factory=lambda: {name: Decimal(0) for name in AID_TYPES})
    gdp_eur_bn: Decimal | None = None
    commitments_eur: Decimal = Decimal(0)

    @property
    def pct_gdp(self) -> Decimal | None:
        """Allocations as % of the GDP the release gives (its GDP year), as the tracker computes it."""
        if not self.gdp_eur_bn:
            return None
        return self.eur["total"] / (self.gdp_eur_bn * BILLION) * 100

    def as_json(self) -> dict:
        return {
            "donor": self.donor,
            "iso": self.iso,
            "organization": self.organization,
            "months": self.months,
            **{f"{name}_eur": str(value) for name, value in self.eur.items()},
            "commitments_eur": str(self.commitments_eur),
            "gdp_eur_bn": str(self.gdp_eur_bn) if self.gdp_eur_bn is not None else None,
            "pct_gdp": float(self.pct_gdp) if self.pct_gdp is not None else None,
        }


def releases(actor: Actor):
    return TrackerRelease.objects.visible_to(actor).order_by("-id")


def latest_release(actor: Actor) -> TrackerRelease | None:
    return releases(actor).first()


def donor_totals(actor: Actor, release: TrackerRelease) -> list[DonorTotal]:
    """Every donor of the release, largest total first; sums in exact decimal arithmetic."""
    totals: dict[str, DonorTotal] = {}
    rows = MonthlyAllocation.objects.visible_to(actor).filter(release=release).select_related("organization").order_by("id")
    for row in rows:
        total = totals.setdefault(
            row.donor_iso, DonorTotal(row.donor_name, row.donor_iso, row.organization.code if row.organization else "")
        )
        total.months += 1
        for name in AID_TYPES:
            total.eur[name] += getattr(row, f"{name}_eur")
        total.commitments_eur += row.commitments_eur
        total.gdp_eur_bn = row.gdp_eur_bn
    return sorted(totals.values(), key=lambda t: (-t.eur["total"], t.donor))


def year_totals(actor: Actor, release: TrackerRelease) -> dict[int, dict[str, Decimal]]:
    years: dict[int, dict[str, Decimal]] = defaultdict(lambda: {name: Decimal(0) for name in AID_TYPES})
    for row in MonthlyAllocation.objects.visible_to(actor).filter(release=release).order_by("id"):
        for name in AID_TYPES:
            years[row.year][name] += getattr(row, f"{name}_eur")
    return dict(sorted(years.items()))


def series_totals(actor: Actor, release: TrackerRelease) -> dict[str, dict[str, Decimal]] | None:
    """The release's all-donor monthly series summed over every month, in EUR to the cent (summed exactly in EUR bn,
    then rounded once): military aid by source (stocks, procurement, unspecified, NATO PURL joint purchases) and
    allocations by type of aid. None where the release had no such series."""
    found = {}
    for key, model in (("military_sources", MilitarySourcesMonth), ("all_donors", AllDonorsMonth)):
        rows = list(model.objects.visible_to(actor).filter(release=release).order_by("id"))
        if rows:
            found[key] = {
                name: (sum((getattr(row, f"{name}_eur_bn") for row in rows), Decimal(0)) * BILLION).quantize(CENT)
                for name in model.COLUMNS
            }
    return found or None
