"""Published records of past assistance (the Kiel Ukraine Support Tracker), kept with their provenance."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Marking, VisibleQuerySet
from umbrella.core.ledger import still_sealed
from umbrella.core.models import OwnedModel, marking_field

MONEY = {"max_digits": 20, "decimal_places": 2}
EXACT_BN = {"max_digits": 30, "decimal_places": 20}  # EUR bn as published (kiel.EXACT_PLACES decimals)


class TrackerRelease(OwnedModel):
    """One imported release. Its rows are written once with it and never change; the release's ledger
    entry carries the SHA-256 of each source file and of the rows, so any later edit to them shows."""

    source = models.CharField(_("source"), max_length=100, default="Kiel Ukraine Support Tracker")
    release = models.CharField(_("release"), max_length=20)
    period = models.CharField(_("period"), max_length=20, blank=True)
    published = models.CharField(_("published"), max_length=20, blank=True)
    label = models.CharField(_("label"), max_length=200, blank=True)
    file_digests = models.JSONField(_("SHA-256 of each file"), default=dict)
    rows_digest = models.CharField(_("rows digest"), max_length=64)
    marking = marking_field(Marking.PUBLIC)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["source", "release"], name="one_import_per_release")]
        verbose_name = _("tracker release")

    def get_absolute_url(self) -> str:
        return reverse("donor-comparison") + f"?release={self.pk}"

    def __str__(self) -> str:
        return self.label or _("%(source)s, release %(release)s") % {"source": self.source, "release": self.release}

    def sealed_rows_problem(self) -> str | None:
        """For `umbrella ledger verify`: whether the imported rows still hash to the recorded digest."""
        if not still_sealed(self.rows_digest, *self.sealed_rows()):
            return "its imported rows no longer match the digest recorded with the release."
        return None

    def sealed_rows(self) -> tuple[list[dict], ...]:
        """The release's rows read back in the form their digest was computed on."""
        return sealed_documents(
            [row.sealed_values() for row in self.allocations.order_by("id")],
            [row.sealed_values() for row in self.weapons.order_by("id")],
            [row.sealed_values() for row in self.military_sources.order_by("id")],
            [row.sealed_values() for row in self.all_donor_months.order_by("id")],
        )


def sealed_documents(allocations: list[dict], weapons: list[dict], *series: list[dict]) -> tuple[list[dict], ...]:
    """What a release's digest covers: its allocations and weapons, and the monthly series where the release had
    them (so a release imported before the series were read still verifies against its digest)."""
    return (allocations, weapons, *(rows for rows in series if rows))


class ReleaseRow(models.Model):
    release = models.ForeignKey(TrackerRelease, on_delete=models.CASCADE, related_name="+")
    file = models.CharField(_("file"), max_length=60)
    row = models.PositiveIntegerField(_("row"))
    objects = VisibleQuerySet.as_manager()
    visibility_path = "release__"
    ledgered = False  # sealed by the release's digest

    class Meta:
        abstract = True


class MonthlyAllocation(ReleaseRow):
    """A donor's allocations in one month, by type of aid (EUR), with its GDP as the release gives it."""

    release = models.ForeignKey(TrackerRelease, on_delete=models.CASCADE, related_name="allocations")
    donor_name = models.CharField(_("donor"), max_length=100)
    donor_iso = models.CharField(_("ISO code"), max_length=8)
    organization = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    total_eur = models.DecimalField(_("total (EUR)"), **MONEY)
    financial_eur = models.DecimalField(_("financial (EUR)"), **MONEY)
    humanitarian_eur = models.DecimalField(_("humanitarian (EUR)"), **MONEY)
    military_eur = models.DecimalField(_("military (EUR)"), **MONEY)
    commitments_eur = models.DecimalField(_("commitments (EUR)"), **MONEY)
    to_be_allocated_eur = models.DecimalField(_("still to be allocated (EUR)"), **MONEY)
    gdp_eur_bn = models.DecimalField(_("GDP (EUR bn)"), max_digits=24, decimal_places=12, null=True)
    pct_gdp = models.DecimalField(_("share of GDP (%)"), max_digits=30, decimal_places=20)

    class Meta:
        ordering = ["donor_name", "year", "month"]
        indexes = [models.Index(fields=["release", "donor_iso"])]

    def sealed_values(self) -> dict:
        return {
            name: str(value) if isinstance(value := getattr(self, name), Decimal) else value
            for name in (
                "file",
                "row",
                "donor_name",
                "donor_iso",
                "year",
                "month",
                "total_eur",
                "financial_eur",
                "humanitarian_eur",
                "military_eur",
                "commitments_eur",
                "to_be_allocated_eur",
            )
        }


class WeaponsByCategory(ReleaseRow):
    release = models.ForeignKey(TrackerRelease, on_delete=models.CASCADE, related_name="weapons")
    donor_name = models.CharField(_("donor"), max_length=100)
    organization = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category = models.CharField(_("category"), max_length=60)
    number = models.PositiveIntegerField(_("number of weapons"))
    value_eur = models.DecimalField(_("value (EUR)"), **MONEY)
    listed = models.TextField(_("weapons as listed"))
    items = models.JSONField(_("weapons parsed"), default=list)  # [[name, count], …]

    class Meta:
        ordering = ["donor_name", "category"]

    def sealed_values(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "donor_name": self.donor_name,
            "category": self.category,
            "number": self.number,
            "value_eur": str(self.value_eur),
            "items": [list(item) for item in self.items],
        }


class MilitarySourcesMonth(ReleaseRow):
    """One month of procurement_trends.csv: all donors' military aid by where it came from (EUR bn as published)."""

    release = models.ForeignKey(TrackerRelease, on_delete=models.CASCADE, related_name="military_sources")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    stockpile_eur_bn = models.DecimalField(_("from stocks (EUR bn)"), **EXACT_BN)
    procurement_eur_bn = models.DecimalField(_("new procurement (EUR bn)"), **EXACT_BN)
    unspecified_eur_bn = models.DecimalField(_("unspecified (EUR bn)"), **EXACT_BN)
    nato_purl_eur_bn = models.DecimalField(_("NATO PURL joint purchases (EUR bn)"), **EXACT_BN)

    COLUMNS = ("stockpile", "procurement", "unspecified", "nato_purl")

    class Meta:
        ordering = ["year", "month"]

    def sealed_values(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "year": self.year,
            "month": self.month,
            **{name: str(getattr(self, f"{name}_eur_bn")) for name in self.COLUMNS},
        }


class AllDonorsMonth(ReleaseRow):
    """One month of total_allocations.csv: every donor's allocations together, by type of aid (EUR bn as published)."""

    release = models.ForeignKey(TrackerRelease, on_delete=models.CASCADE, related_name="all_donor_months")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    total_allocations_eur_bn = models.DecimalField(_("total (EUR bn)"), **EXACT_BN)
    military_eur_bn = models.DecimalField(_("military (EUR bn)"), **EXACT_BN)
    financial_eur_bn = models.DecimalField(_("financial (EUR bn)"), **EXACT_BN)
    humanitarian_eur_bn = models.DecimalField(_("humanitarian (EUR bn)"), **EXACT_BN)

    COLUMNS = ("total_allocations", "military", "financial", "humanitarian")

    class Meta:
        ordering = ["year", "month"]

    def sealed_values(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "year": self.year,
            "month": self.month,
            **{name: str(getattr(self, f"{name}_eur_bn")) for name in self.COLUMNS},
        }
