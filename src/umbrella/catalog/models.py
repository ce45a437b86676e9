"""The catalog: what can be asked for and given, and how items work together."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from umbrella.catalog.nsn import NSN, NsnError, parse_nsn
from umbrella.core.access import Marking
from umbrella.core.models import OwnedModel, marking_field

# The agreed capability areas (set by migration 0002), named here too so that their names are in the
# translation catalogue: a migration that adds an area adds its name here (a test checks it).
AREA_NAMES = (
    gettext_noop("Air force"),
    gettext_noop("Integrated air and missile defence"),
    gettext_noop("Artillery"),
    gettext_noop("Armour"),
    gettext_noop("Maritime"),
    gettext_noop("IT"),
    gettext_noop("Demining"),
    gettext_noop("Drones"),
    gettext_noop("Medical"),
    gettext_noop("Humanitarian"),
    gettext_noop("Other"),
)


def area_label(name: str) -> str:
    """A capability area's name in the reader's language."""
    return gettext(name)


class CapabilityArea(models.Model):
    """The managed list of capability areas, set by migrations (the first one holds the agreed list)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("capability area")
        verbose_name_plural = _("capability areas")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return area_label(self.name)


class UnitOfIssue(models.TextChoices):
    EACH = "EA", _("each")
    ROUND = "RD", _("round")
    SET = "SE", _("set")
    KIT = "KT", _("kit")
    BOX = "BX", _("box")
    PALLET = "PL", _("pallet")
    LITRE = "LI", _("litre")
    KILOGRAM = "KG", _("kilogram")
    TONNE = "TN", _("tonne")


class ValuationBasis(models.TextChoices):
    REPLACEMENT = "replacement", _("replacement cost")
    BOOK = "book", _("book value")
    PRICE_LIST = "price-list", _("price list")


def validate_nsn(value: str) -> None:
    try:
        parse_nsn(value)
    except NsnError as error:
        reasons = {
            NsnError.GROUPING: _("%(value)s is not grouped as NNNN-NN-NNN-NNNN."),
            NsnError.CHARACTERS: _("%(value)s must contain only digits and separators."),
            NsnError.LENGTH: _("%(value)s has %(count)d digits; an NSN has 13 (4 class + 2 bureau + 7 item)."),
        }
        raise ValidationError(reasons[error.problem] % {"value": repr(error.raw), "count": error.digit_count}) from None


class ItemType(OwnedModel):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    nsn = models.CharField(
        _("NATO Stock Number"),
        max_length=20,
        blank=True,
        validators=[validate_nsn],
        help_text=_("13 digits, e.g. 1320-12-345-6789; stored without separators."),
    )
    capability_area = models.ForeignKey(
        CapabilityArea, on_delete=models.PROTECT, related_name="item_types", verbose_name=_("capability area")
    )
    unit_of_issue = models.CharField(_("unit of issue"), max_length=2, choices=UnitOfIssue.choices, default=UnitOfIssue.EACH)
    unit_value_eur = models.DecimalField(
        _("unit value (EUR)"), max_digits=16, decimal_places=2, validators=[MinValueValidator(0)]
    )
    valuation_basis = models.CharField(
        _("valuation basis"), max_length=12, choices=ValuationBasis.choices, default=ValuationBasis.REPLACEMENT
    )
    standard = models.CharField(
        _("standard or calibre"), max_length=60, blank=True, help_text=_("e.g. 155 mm NATO, 152 mm, 5.56×45 mm NATO")
    )
    sensitive = models.BooleanField(_("sensitive (serial-tracked)"), default=False)
    bulk = models.BooleanField(
        _("bulk"), default=False, help_text=_("Divisible supply (ammunition, fuel): may be allocated in fractions.")
    )
    crew_size = models.PositiveSmallIntegerField(
        _("crew size"), null=True, blank=True, help_text=_("For systems: the crew one unit needs.")
    )
    description = models.TextField(_("description"), blank=True)
    marking = marking_field(Marking.PARTICIPANTS)

    class Meta:
        ordering = ["code"]
        verbose_name = _("item type")
        verbose_name_plural = _("item types")
        constraints = [
            models.UniqueConstraint(fields=["nsn"], condition=~Q(nsn=""), name="unique_nsn_when_given"),
        ]

    def get_absolute_url(self) -> str:
        return reverse("item-type", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if self.nsn:
            try:
                self.nsn = parse_nsn(self.nsn).digits
            except ValueError:
                pass  # the field validator reports it
        if self.crew_size is not None and self.bulk:
            raise ValidationError({"crew_size": _("Bulk supply has no crew.")})

    @property
    def parsed_nsn(self) -> NSN | None:
        try:
            return parse_nsn(self.nsn) if self.nsn else None
        except ValueError:
            return None


class CompatibilityKind(models.TextChoices):
    FIRES = "fires", _("fires")
    CONSUMES = "consumes", _("consumes")
    SPARES_FOR = "spares-for", _("spares for")
    SUBSTITUTES_FOR = "substitutes-for", _("substitutes for")


# A link read from each end, as the item type page's "This item" column says it: from its source ("M777 fires
# M795") and from its target ("M795 is fired by M777").
LINK_FROM_SOURCE = {
    CompatibilityKind.FIRES: _("fires"),
    CompatibilityKind.CONSUMES: _("consumes"),
    CompatibilityKind.SPARES_FOR: _("is a spare part for"),
    CompatibilityKind.SUBSTITUTES_FOR: _("substitutes for"),
}
LINK_FROM_TARGET = {
    CompatibilityKind.FIRES: _("is fired by"),
    CompatibilityKind.CONSUMES: _("is consumed by"),
    CompatibilityKind.SPARES_FOR: _("has as spare parts"),
    CompatibilityKind.SUBSTITUTES_FOR: _("can be substituted by"),
}


class Compatibility(OwnedModel):
    """`source` <kind> `target`, e.g. "M777 fires 155 mm HE M795", "DM121 substitutes-for M795".

    `ratio` is how many units of the target one unit of the source stands for: for substitutes-for, the
    units of the target one unit of the source replaces; for consumes, units consumed per unit per day."""

    source = models.ForeignKey(ItemType, on_delete=models.CASCADE, related_name="links_from", verbose_name=_("item"))
    kind = models.CharField(_("kind"), max_length=16, choices=CompatibilityKind.choices)
    target = models.ForeignKey(ItemType, on_delete=models.CASCADE, related_name="links_to", verbose_name=_("related item"))
    ratio = models.DecimalField(_("ratio"), max_digits=12, decimal_places=4, default=1, validators=[MinValueValidator(0.0001)])
    note = models.CharField(_("note"), max_length=300, blank=True)
    citation = models.CharField(
        _("source"),
        max_length=500,
        blank=True,
        help_text=_("Where the link is documented: a manufacturer's page, a standard or a technical manual."),
    )
    marking = marking_field(Marking.PARTICIPANTS)

    class Meta:
        ordering = ["source__code", "kind", "target__code"]
        verbose_name = _("compatibility")
        verbose_name_plural = _("compatibilities")
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "target"], name="one_link_per_kind"),
        ]

    def get_absolute_url(self) -> str:
        return reverse("item-type", args=[self.source_id])

    def __str__(self) -> str:
        return f"{self.source.code} {self.get_kind_display()} {self.target.code}"

    @property
    def label_from_source(self) -> str:
        """What the source does to the target: "fires", "is a spare part for"."""
        return str(LINK_FROM_SOURCE[CompatibilityKind(self.kind)])

    @property
    def label_from_target(self) -> str:
        """The link read backwards, from the target: "is fired by", "has as spare parts"."""
        return str(LINK_FROM_TARGET[CompatibilityKind(self.kind)])

    def clean(self) -> None:
        if self.source_id is not None and self.source_id == self.target_id:
            raise ValidationError({"target": _("An item cannot be linked to itself.")})


class PackageRule(OwnedModel):
    """What one crew-served system needs to fight, beside the system itself: its crews, its munitions (the item
    types it fires, counted in days of supply) and its spares (the item types linked as spares for it).

    Readiness (`training/readiness.py`) reads these rules: a destination holding N systems needs
    N × `crews_per_system` crews of the item type's `crew_size` people qualified on it, N × `rounds_per_day` ×
    `days_of_supply` rounds of anything the system fires, and N × `spare_kits_per_system` units of its spares."""

    system = models.OneToOneField(ItemType, on_delete=models.CASCADE, related_name="package_rule", verbose_name=_("system"))
    crews_per_system = models.PositiveSmallIntegerField(
        _("crews per system"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Crews one system needs to be used around the clock or in shifts, e.g. 2 for a fighter."),
    )
    rounds_per_day = models.DecimalField(
        _("rounds per system per day"),
        max_digits=10,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_("Munitions one system uses in a day of sustained use; 0 for a system that fires nothing."),
    )
    days_of_supply = models.PositiveSmallIntegerField(
        _("days of supply"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("Days of munitions a destination must hold for its systems to count as supplied."),
    )
    spare_kits_per_system = models.DecimalField(
        _("spare kits per system"),
        max_digits=8,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_("Units of its spares (any item linked as spares for it) one system needs; 0 for none."),
    )
    source = models.CharField(
        _("source"), max_length=500, help_text=_("Where the figures come from: a URL or a document, with its date.")
    )
    marking = marking_field(Marking.PARTICIPANTS)

    class Meta:
        ordering = ["system__code"]
        verbose_name = _("package rule")
        verbose_name_plural = _("package rules")

    def get_absolute_url(self) -> str:
        return reverse("item-type", args=[self.system_id])

    def __str__(self) -> str:
        return gettext("Package of %(system)s") % {"system": self.system.code}

    def clean(self) -> None:
        if self.system_id is not None and not self.system.crew_size:
            raise ValidationError({"system": _("Only a crew-served system (an item type with a crew size) has a package.")})


def alias_key(name: str) -> str:
    """The form in which names are compared: case, accents and spaces do not count ("D-30 Howitzer" and
    "d-30  howitzer" are one name, as are "Büffel" and "Buffel")."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace()).casefold()


# What the schemes the catalog knows stand for, so a reader is not left with a bare slug; others show as written.
SCHEME_LABELS = {"kiel": _("Kiel Ukraine Support Tracker")}


class ItemTypeAlias(OwnedModel):
    """A name an item type goes by elsewhere, e.g. "Panzerhaubitze 2000" in the Kiel tracker's weapons list for
    the catalog's ART-PZH2000. Within one scheme a name (compared by `alias_key`) means one item type."""

    item_type = models.ForeignKey(ItemType, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("item type"))
    name = models.CharField(_("name as written"), max_length=200)
    scheme = models.SlugField(
        _("scheme"), max_length=40, default="kiel", help_text=_("Where the name is used, e.g. kiel for the Kiel tracker.")
    )
    key = models.CharField(max_length=200, editable=False)
    marking = marking_field(Marking.PARTICIPANTS)

    class Meta:
        ordering = ["scheme", "name"]
        verbose_name = _("item type alias")
        verbose_name_plural = _("item type aliases")
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "key"],
                name="one_item_type_per_alias",
                violation_error_message=_("This name already stands for an item type in this scheme."),
            )
        ]

    def get_absolute_url(self) -> str:
        return reverse("item-type", args=[self.item_type_id])

    @property
    def scheme_label(self) -> str:
        """The scheme as a reader knows it: "Kiel Ukraine Support Tracker" for kiel, any other as written."""
        return str(SCHEME_LABELS.get(self.scheme, self.scheme))

    def __str__(self) -> str:
        return f"{self.name} ({self.scheme}) → {self.item_type.code}"

    def clean(self) -> None:
        self.name = " ".join(self.name.split())
        self.key = alias_key(self.name)
        if not self.key:
            raise ValidationError({"name": _("An alias needs a name.")})
