"""What donors offer, with the sources that prove it, through its lifecycle to handover."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.catalog.models import ValuationBasis
from umbrella.core.access import VisibleQuerySet
from umbrella.core.lifecycle import Lifecycle, Step
from umbrella.core.models import OwnedModel
from umbrella.funding.models import Instrument, currency_code

UNDISCLOSED = _("undisclosed")
country_code = RegexValidator(r"^[A-Z]{3}$", _("A country is three capital letters (ISO 3166-1 alpha-3), such as USA or DEU."))


class PledgeState(models.TextChoices):
    ANNOUNCED = "announced", _("announced")
    OFFERED = "offered", _("offered")
    ACCEPTED = "accepted", _("accepted")
    ALLOCATED = "allocated", _("allocated")
    SHIPPED = "shipped", _("shipped")
    PARTLY_DELIVERED = "partly_delivered", _("partly delivered")
    DELIVERED = "delivered", _("delivered")
    HANDED_OVER = "handed_over", _("handed over")
    WITHDRAWN = "withdrawn", _("withdrawn")
    EXPIRED = "expired", _("expired")


S = PledgeState
PLEDGE_LIFECYCLE = Lifecycle(
    Step("offer", frozenset({S.ANNOUNCED}), S.OFFERED, _("Offer")),
    Step("accept", frozenset({S.OFFERED}), S.ACCEPTED, _("Accept")),
    Step("allocate", frozenset({S.ACCEPTED}), S.ALLOCATED, _("Allocate")),
    Step("release", frozenset({S.ALLOCATED}), S.ACCEPTED, _("Release")),
    Step("ship", frozenset({S.ALLOCATED}), S.SHIPPED, _("Ship")),
    Step("deliver", frozenset({S.SHIPPED}), S.DELIVERED, _("Confirm delivery")),
    Step("hand_over", frozenset({S.DELIVERED}), S.HANDED_OVER, _("Confirm handover")),
    Step("withdraw", frozenset({S.ANNOUNCED, S.OFFERED, S.ACCEPTED, S.ALLOCATED}), S.WITHDRAWN, _("Withdraw")),
    Step("expire", frozenset({S.ANNOUNCED, S.OFFERED, S.ACCEPTED, S.ALLOCATED}), S.EXPIRED, _("Mark expired")),
)
# Steps that close a pledge before it ships: they ask why, and release whatever was allocated from it. Once
# shipped, goods are on their way and a pledge ends by delivery and handover instead.
CLOSING_STEPS = frozenset({"withdraw", "expire"})
REASON_MAX_LENGTH = 500
OPEN_STATES = frozenset({S.ANNOUNCED, S.OFFERED, S.ACCEPTED, S.ALLOCATED, S.SHIPPED, S.PARTLY_DELIVERED})
# The states a pledge's consignments drive (umbrella.logistics): what was shipped, received and handed over.
DELIVERY_STATES = frozenset({S.ALLOCATED, S.SHIPPED, S.PARTLY_DELIVERED, S.DELIVERED, S.HANDED_OVER})
EDITABLE_STATES = frozenset({S.ANNOUNCED, S.OFFERED})
# A pledge still in one of these states after its availability date is overdue: it should be on its way.
NOT_YET_SHIPPED = frozenset({S.ANNOUNCED, S.OFFERED, S.ACCEPTED, S.ALLOCATED})


class AidPackage(OwnedModel):
    """A donor's announcement of aid as made: a reference, a date and a total in the announcing currency, valued in
    euros at the rate of `fx_date` (the rate used and its date are kept with it). Its pledges are its lines; a line
    whose quantity was not disclosed takes its value from the announced total (`umbrella.pledges.valuation`).
    The owner is the donor."""

    reference = models.CharField(_("reference"), max_length=80)
    announced_on = models.DateField(_("date announced"))
    announced_amount = models.DecimalField(
        _("announced total"), max_digits=18, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR", validators=[currency_code])
    fx_date = models.DateField(_("rate date"), help_text=_("The euro value uses the latest rate on or before this date."))
    units_per_eur = models.DecimalField(_("rate used (units per euro)"), max_digits=18, decimal_places=6, editable=False)
    rate_date = models.DateField(_("date of the rate used"), editable=False)
    value_eur = models.DecimalField(_("announced value (EUR)"), max_digits=18, decimal_places=2, editable=False)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-announced_on", "id"]
        verbose_name = _("aid package")
        verbose_name_plural = _("aid packages")

    def get_absolute_url(self) -> str:
        return reverse("aid-package", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.reference} ({self.owner.code})"

    def rate_age_days(self) -> int:
        """How much older the rate used is than the day it values the total on (0 for the euro)."""
        return 0 if self.currency == "EUR" else (self.fx_date - self.rate_date).days


class Pledge(OwnedModel):
    """A donor's offer of a quantity of one item type. The owner is the donor. The quantity may be undisclosed
    (empty) on a line of an aid package: such a pledge is valued from its aid package and cannot be matched,
    allocated or shipped until its quantity is known."""

    item_type = models.ForeignKey(
        "catalog.ItemType", on_delete=models.PROTECT, related_name="pledges", verbose_name=_("item type")
    )
    quantity = models.PositiveIntegerField(
        _("quantity pledged"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: not disclosed (only on a line of an aid package)."),
    )
    aid_package = models.ForeignKey(
        AidPackage,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pledges",
        verbose_name=_("aid package"),
    )
    # Sums over the pledge's consignments (umbrella.logistics keeps them); `quantity_delivered` is what was received.
    quantity_shipped = models.PositiveIntegerField(_("quantity shipped"), default=0, editable=False)
    quantity_delivered = models.PositiveIntegerField(_("quantity delivered"), default=0, editable=False)
    quantity_handed_over = models.PositiveIntegerField(_("quantity handed over"), default=0, editable=False)
    closed_short = models.BooleanField(
        _("closed short"), default=False, editable=False, help_text=_("The donor closed the pledge after part of it arrived.")
    )
    available_from = models.DateField(_("available from"))
    value_eur = models.DecimalField(
        _("value (EUR)"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("Total value of the pledge on the valuation basis."),
    )
    valuation_basis = models.CharField(
        _("valuation basis"), max_length=12, choices=ValuationBasis.choices, default=ValuationBasis.REPLACEMENT
    )
    instrument = models.CharField(_("instrument"), max_length=20, choices=Instrument.choices, default=Instrument.IN_KIND)
    supplier = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supplied_pledges",
        verbose_name=_("supplier"),
        help_text=_("The organization that delivers (empty: the donor itself)."),
    )
    origin = models.CharField(
        _("origin"),
        max_length=3,
        blank=True,
        validators=[country_code],
        help_text=_("The country where it is made (ISO 3166-1 alpha-3 code)."),
    )
    end_use_restrictions = models.TextField(_("end-use restrictions"), blank=True)
    allowed_destinations = models.ManyToManyField(
        "places.Place",
        through="PledgeDestination",
        blank=True,
        related_name="+",
        verbose_name=_("only to these destinations"),
        help_text=_(
            "A donor's condition: the places it may go to, one per line (or separated by ';'); a country or region "
            "includes every place within it. Empty means anywhere."
        ),
    )
    retransfer_requires_consent = models.BooleanField(_("re-transfer needs the donor's consent"), default=True)
    state = models.CharField(_("state"), max_length=20, choices=PledgeState.choices, default=S.ANNOUNCED, editable=False)
    reference = models.CharField(_("donor reference"), max_length=80, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    closing_reason = models.CharField(
        _("reason for withdrawal, expiry or closing short"), max_length=REASON_MAX_LENGTH, blank=True, editable=False
    )
    # A record's history shows what these fields were given (the reason), not only that they changed.
    history_shows_values = ("closing_reason",)

    class Meta:
        ordering = ["-available_from", "id"]
        verbose_name = _("pledge")
        verbose_name_plural = _("pledges")
        indexes = [models.Index(fields=["state"]), models.Index(fields=["owner", "state"])]

    def get_absolute_url(self) -> str:
        return reverse("pledge", args=[self.pk])

    def step_url(self, step: str) -> str:
        """The page that asks what a lifecycle step needs (a confirmation, a quantity, a reason) and takes it."""
        return reverse("pledge-step", args=[self.pk, step])

    def __str__(self) -> str:
        return f"{self.quantity_label} × {self.item_type.name} ({self.owner.code})"

    def clean(self) -> None:
        if self.quantity is not None and self.quantity_delivered > self.quantity:
            raise ValidationError({"quantity_delivered": _("Cannot deliver more than was pledged.")})

    @property
    def quantity_disclosed(self) -> bool:
        return self.quantity is not None

    @property
    def quantity_label(self) -> str:
        return str(self.quantity) if self.quantity_disclosed else str(UNDISCLOSED)

    def is_overdue(self, today: datetime.date) -> bool:
        return self.state in NOT_YET_SHIPPED and self.available_from < today

    @property
    def destination_list(self) -> list:
        """The places the donor allows, in the order given (prefetch `destination_links__place` for many)."""
        return [link.place for link in self.destination_links.all()]

    @property
    def unit_value_eur(self):
        return self.value_eur / self.quantity

    def payer_shares(self) -> list[tuple[str, object]]:
        """Who pays what share (codes): the payers recorded, or the donor paying all of it when none are
        (prefetch `payers__organization` for many)."""
        payers = [(payer.organization.code, payer.share) for payer in self.payers.all()]
        return payers or [(self.owner.code, Decimal(1))]

    @property
    def quantity_due(self) -> int:
        """What is still to arrive in all: the pledge, or what arrived when the donor closed it short (an
        undisclosed quantity is nothing known to be due)."""
        return self.quantity_delivered if self.closed_short else (self.quantity or 0)

    @property
    def quantity_outstanding(self) -> int:
        return self.quantity_due - self.quantity_delivered


class SourceKind(models.TextChoices):
    OFFICIAL = "official", _("official")
    MEDIA = "media", _("media")
    DONOR_CONFIRMED = "donor-confirmed", _("donor-confirmed")
    RECIPIENT_CONFIRMED = "recipient-confirmed", _("recipient-confirmed")


class PledgeSource(models.Model):
    """Evidence for a pledge. Seen by whoever sees the pledge."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="sources", verbose_name=_("pledge"))
    added_by = models.ForeignKey(
        "orgs.Organization",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("added by"),
        help_text=_("The organization that added the source (empty: the system)."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SourceKind.choices)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    document_reference = models.CharField(_("document reference"), max_length=200, blank=True)
    date = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    removal_reason = models.CharField(_("reason for removal"), max_length=REASON_MAX_LENGTH, blank=True, editable=False)
    history_shows_values = ("removal_reason",)

    objects = VisibleQuerySet.as_manager()
    visibility_path = "pledge__"
    ledgered = True

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("pledge source")
        verbose_name_plural = _("pledge sources")

    def get_absolute_url(self) -> str:
        return reverse("pledge", args=[self.pledge_id])

    def __str__(self) -> str:
        return self.url or self.document_reference

    def clean(self) -> None:
        if not self.url and not self.document_reference:
            raise ValidationError({"url": _("Give a URL or a document reference.")})

    @property
    def ledger_parent(self) -> Pledge:
        return self.pledge


class PledgeDestination(models.Model):
    """One place a donor allows a pledge to go to (with the places within it). Written with the pledge, by its
    services; each link has its own ledger entry, so a change of a donor's condition is in the ledger."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="destination_links", verbose_name=_("pledge"))
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("place"))

    objects = VisibleQuerySet.as_manager()
    visibility_path = "pledge__"
    ledgered = True
    # Links the upgrade made from the text destinations of older pledges are taken into the ledger once after it.
    ledgered_since = ("pledges", "0005_allowed_destination_places")

    class Meta:
        ordering = ["id"]
        verbose_name = _("allowed destination")
        verbose_name_plural = _("allowed destinations")

    def get_absolute_url(self) -> str:
        return reverse("pledge", args=[self.pledge_id])

    def __str__(self) -> str:
        return str(self.place)

    @property
    def ledger_parent(self) -> Pledge:
        return self.pledge


class AidPackageSource(models.Model):
    """Evidence for an aid package (the announcement itself, as a rule). Seen by whoever sees the aid package."""

    aid_package = models.ForeignKey(AidPackage, on_delete=models.CASCADE, related_name="sources", verbose_name=_("aid package"))
    added_by = models.ForeignKey(
        "orgs.Organization", null=True, on_delete=models.PROTECT, related_name="+", editable=False, verbose_name=_("added by")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SourceKind.choices)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    document_reference = models.CharField(_("document reference"), max_length=200, blank=True)
    date = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = VisibleQuerySet.as_manager()
    visibility_path = "aid_package__"
    ledgered = True

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("aid package source")
        verbose_name_plural = _("aid package sources")

    def get_absolute_url(self) -> str:
        return reverse("aid-package", args=[self.aid_package_id])

    def __str__(self) -> str:
        return self.url or self.document_reference

    def clean(self) -> None:
        if not self.url and not self.document_reference:
            raise ValidationError({"url": _("Give a URL or a document reference.")})

    @property
    def ledger_parent(self) -> AidPackage:
        return self.aid_package


class PledgeTranche(models.Model):
    """Part of a pledge due on a date: the donor's schedule of deliveries. Seen by whoever sees the pledge."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="tranches", verbose_name=_("pledge"))
    date = models.DateField(_("date"))
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])

    objects = VisibleQuerySet.as_manager()
    visibility_path = "pledge__"
    ledgered = True

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("tranche")
        verbose_name_plural = _("tranches")

    def get_absolute_url(self) -> str:
        return reverse("pledge", args=[self.pledge_id])

    def __str__(self) -> str:
        return f"{self.date}: {self.quantity}"

    @property
    def ledger_parent(self) -> Pledge:
        return self.pledge


class PledgePayer(models.Model):
    """One organization paying a share of a pledge. The shares of a pledge's payers add up to exactly 1; a pledge
    with no payer recorded is paid by its donor. Seen by whoever sees the pledge; written with it, by its services."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="payers", verbose_name=_("pledge"))
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="paid_pledges", verbose_name=_("payer")
    )
    share = models.DecimalField(
        _("share"),
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal(1))],
        help_text=_("Of the pledge's value, from 0.0001 to 1."),
    )

    objects = VisibleQuerySet.as_manager()
    visibility_path = "pledge__"
    ledgered = True

    class Meta:
        ordering = ["-share", "id"]
        verbose_name = _("payer")
        verbose_name_plural = _("payers")
        # One row per payer is the services' rule (`pledges.services`), checked with every problem of the payers
        # at once; a database constraint would make every row of a pledge import wait for the rows before it.

    def get_absolute_url(self) -> str:
        return reverse("pledge", args=[self.pledge_id])

    def __str__(self) -> str:
        return f"{self.organization.code} {self.share}"

    @property
    def ledger_parent(self) -> Pledge:
        return self.pledge
