"""The gazetteer: countries, their regions and the sites within them (cities, depots, hubs, ports, airfields).

Destinations and donors' conditions name places, and a condition follows the hierarchy: a pledge allowed to
"UA" may go to any place whose path runs through UA."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Marking
from umbrella.core.models import OwnedModel, marking_field

PATH_SEPARATOR = "/"
# The upgrade that turned destinations into places adds the packaged gazetteer to a database that has destinations
# to map; those rows are taken into the ledger once after it (core.upgrade).
LEDGERED_SINCE = ("needs", "0003_destination_place")


class PlaceKind(models.TextChoices):
    COUNTRY = "country", _("country")
    REGION = "region", _("region")
    CITY = "city", _("city")
    DEPOT = "depot", _("depot")
    LOGISTICS_HUB = "logistics-hub", _("logistics hub")
    AIRFIELD = "airfield", _("airfield")
    PORT = "port", _("port")
    TRAINING_SITE = "training-site", _("training site")


class CapacityUnit(models.TextChoices):
    CONSIGNMENTS = "consignments", _("consignments per week")
    TONNES = "tonnes", _("tonnes per week")


class Place(OwnedModel):
    """One place. `code` is its ISO 3166-1 alpha-2 code for a country, its ISO 3166-2 code for a region, and a
    code of its own for a site (UN/LOCODE where one exists). `path` is the codes from the country down to this
    place, kept by the services, so that "within UA" is one prefix test."""

    code = models.CharField(
        _("code"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9-]*$", _("Capital letters, digits and hyphens, e.g. UA-63."))],
        help_text=_("ISO 3166-1 for a country (UA), ISO 3166-2 for a region (UA-63), UN/LOCODE or an own code for a site."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=PlaceKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("within")
    )
    path = models.CharField(_("path"), max_length=200, editable=False, db_index=True)
    name_en = models.CharField(_("name in English"), max_length=120)
    name_uk = models.CharField(_("name in Ukrainian"), max_length=120, blank=True)
    aliases = models.TextField(
        _("other names"), blank=True, help_text=_("Transliterations and former names, one per line (Kiev, Київ).")
    )
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=8,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        help_text=_("WGS84, degrees north."),
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=5,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        help_text=_("WGS84, degrees east."),
    )
    hub_capacity = models.PositiveIntegerField(
        _("hub capacity per week"), null=True, blank=True, help_text=_("Set for a place that works as a logistics hub.")
    )
    hub_capacity_unit = models.CharField(_("capacity counted in"), max_length=12, choices=CapacityUnit.choices, blank=True)
    hub_handling_days = models.PositiveSmallIntegerField(
        _("handling time (days)"), null=True, blank=True, help_text=_("Days a consignment spends passing through the hub.")
    )
    source = models.CharField(_("source"), max_length=300, blank=True, help_text=_("Where the codes and coordinates come from."))
    marking = marking_field(Marking.PUBLIC)
    ledgered_since = LEDGERED_SINCE

    class Meta:
        ordering = ["path"]
        verbose_name = _("place")
        verbose_name_plural = _("places")

    def get_absolute_url(self) -> str:
        return reverse("place", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.code} — {self.local_name}"

    @property
    def local_name(self) -> str:
        """The name in the reader's language (Ukrainian where the gazetteer has it)."""
        return self.name_uk if self.name_uk and get_language() == "uk" else self.name_en

    @property
    def is_hub(self) -> bool:
        return self.hub_capacity is not None

    def alias_list(self) -> list[str]:
        return [alias.strip() for alias in self.aliases.splitlines() if alias.strip()]

    def within(self, other: Place) -> bool:
        """True when this place is `other` or lies inside it."""
        return self.path == other.path or self.path.startswith(other.path + PATH_SEPARATOR)

    def clean(self) -> None:
        hub_fields = (self.hub_capacity, self.hub_capacity_unit or None, self.hub_handling_days)
        if any(value is not None for value in hub_fields) and not all(value is not None for value in hub_fields):
            raise ValidationError(
                {"hub_capacity": _("A hub needs its capacity, the unit it is counted in and its handling time.")}
            )
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError({"longitude": _("Give both latitude and longitude, or neither.")})
        if self.kind == PlaceKind.COUNTRY and self.parent_id is not None:
            raise ValidationError({"parent": _("A country lies within no other place.")})
        if self.kind != PlaceKind.COUNTRY and self.parent_id is None:
            raise ValidationError({"parent": _("Name the country or region this place lies within.")})
