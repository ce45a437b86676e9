"""Consignments: parts of approved allocations on their way, in legs through hubs, then received and handed over.

A consignment belongs to the donor whose allocations it ships. Its lines say what it carries (an allocation and a
quantity, with serials for serial-tracked items and lots for ammunition) and, once the recipient records the
receipt, what arrived and what went wrong. Title passes to the recipient only at handover."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import VisibleQuerySet
from umbrella.core.lifecycle import Lifecycle, Step
from umbrella.core.models import OwnedModel
from umbrella.pledges.models import REASON_MAX_LENGTH


class ConsignmentState(models.TextChoices):
    PLANNED = "planned", _("planned")
    DISPATCHED = "dispatched", _("dispatched")
    AT_HUB = "at_hub", _("at hub")
    IN_TRANSIT = "in_transit", _("in transit")
    ARRIVED = "arrived", _("arrived")
    RECEIVED = "received", _("received")
    HANDED_OVER = "handed_over", _("handed over")
    CANCELLED = "cancelled", _("cancelled")


C = ConsignmentState
ON_THE_WAY = frozenset({C.DISPATCHED, C.AT_HUB, C.IN_TRANSIT})
CONSIGNMENT_LIFECYCLE = Lifecycle(
    Step("dispatch", frozenset({C.PLANNED}), C.DISPATCHED, _("Dispatch")),
    Step("reach_hub", frozenset({C.DISPATCHED, C.IN_TRANSIT}), C.AT_HUB, _("Record arrival at a hub")),
    Step("leave_hub", frozenset({C.AT_HUB}), C.IN_TRANSIT, _("Record departure from the hub")),
    Step("arrive", ON_THE_WAY, C.ARRIVED, _("Record arrival")),
    Step("receive", frozenset({C.ARRIVED}), C.RECEIVED, _("Record the receipt")),
    Step("hand_over", frozenset({C.RECEIVED}), C.HANDED_OVER, _("Record the handover")),
    Step("cancel", frozenset({C.PLANNED, *ON_THE_WAY}), C.CANCELLED, _("Cancel")),
)
# Lines of these consignments count against their allocations (a cancelled one carries nothing).
LIVE_STATES = frozenset(set(C.values) - {C.CANCELLED})
SHIPPED_STATES = frozenset({*ON_THE_WAY, C.ARRIVED, C.RECEIVED, C.HANDED_OVER})
RECEIVED_STATES = frozenset({C.RECEIVED, C.HANDED_OVER})
NOT_YET_ARRIVED = frozenset({C.PLANNED, *ON_THE_WAY})


class Consignment(OwnedModel):
    """Part of one or more allocations of one donor on its way. The owner is the donor."""

    reference = models.CharField(_("reference"), max_length=80)
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=12, decimal_places=1, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    state = models.CharField(_("state"), max_length=12, choices=ConsignmentState.choices, default=C.PLANNED, editable=False)
    cancel_reason = models.CharField(_("reason for cancellation"), max_length=REASON_MAX_LENGTH, blank=True, editable=False)
    received_on = models.DateField(_("received on"), null=True, blank=True, editable=False)
    handover_unit = models.CharField(_("receiving unit"), max_length=200, blank=True, editable=False)
    handover_place = models.ForeignKey(
        "places.Place",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("handover place"),
    )
    handover_date = models.DateField(_("handover date"), null=True, blank=True, editable=False)
    handover_officer_role = models.CharField(_("handing-over officer's role"), max_length=200, blank=True, editable=False)
    # The handover entry in the ledger shows what was handed over where and to whom: a certificate proves it.
    history_shows_values = ("cancel_reason", "handover_unit", "handover_date", "handover_officer_role")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("consignment")
        verbose_name_plural = _("consignments")
        indexes = [models.Index(fields=["state"]), models.Index(fields=["owner", "state"])]

    def get_absolute_url(self) -> str:
        return reverse("consignment", args=[self.pk])

    def step_url(self, step: str) -> str:
        """The page that takes a step: the receipt and the handover have pages of their own."""
        if step == "receive":
            return reverse("consignment-receipt", args=[self.pk])
        if step == "hand_over":
            return reverse("consignment-handover", args=[self.pk])
        return reverse("consignment-step", args=[self.pk, step])

    def __str__(self) -> str:
        return f"{self.reference} ({self.owner.code})"


class DiscrepancyKind(models.TextChoices):
    SHORT = "short", _("short")
    DAMAGED = "damaged", _("damaged")
    WRONG_ITEM = "wrong_item", _("wrong item")
    OVER = "over", _("over")


class ConsignmentChild(models.Model):
    """Seen by whoever sees the consignment, and ledgered under it."""

    objects = VisibleQuerySet.as_manager()
    visibility_path = "consignment__"
    ledgered = True

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:
        return reverse("consignment", args=[self.consignment_id])

    @property
    def ledger_parent(self) -> Consignment:
        return self.consignment


class ConsignmentLine(ConsignmentChild):
    """What one consignment carries of one allocation, and (after the receipt) what of it arrived."""

    consignment = models.ForeignKey(Consignment, on_delete=models.CASCADE, related_name="lines", verbose_name=_("consignment"))
    allocation = models.ForeignKey(
        "matching.Allocation", on_delete=models.PROTECT, related_name="consignment_lines", verbose_name=_("allocation")
    )
    quantity = models.PositiveIntegerField(_("quantity shipped"), validators=[MinValueValidator(1)])
    serials = models.JSONField(_("serial numbers"), default=list, blank=True)
    lots = models.JSONField(_("lot numbers"), default=list, blank=True)
    quantity_received = models.PositiveIntegerField(_("quantity received"), null=True, blank=True, editable=False)
    received_serials = models.JSONField(_("serial numbers received"), default=list, blank=True, editable=False)
    discrepancy = models.CharField(_("discrepancy"), max_length=12, choices=DiscrepancyKind.choices, blank=True, editable=False)
    discrepancy_note = models.CharField(_("discrepancy note"), max_length=REASON_MAX_LENGTH, blank=True, editable=False)
    evidence_reference = models.CharField(_("evidence reference"), max_length=200, blank=True, editable=False)
    history_shows_values = ("quantity_received", "received_serials", "discrepancy", "discrepancy_note")

    class Meta:
        ordering = ["id"]
        verbose_name = _("consignment line")
        verbose_name_plural = _("consignment lines")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.allocation.pledge.item_type.name}"

    @property
    def missing_serials(self) -> list[str]:
        received = set(self.received_serials)
        return [serial for serial in self.serials if serial not in received]

    @property
    def extra_serials(self) -> list[str]:
        shipped = set(self.serials)
        return [serial for serial in self.received_serials if serial not in shipped]


class TransportMode(models.TextChoices):
    ROAD = "road", _("road")
    RAIL = "rail", _("rail")
    AIR = "air", _("air")
    SEA = "sea", _("sea")


class Leg(ConsignmentChild):
    """One stretch of a consignment's way, from one place to the next (a hub, a port, the destination)."""

    consignment = models.ForeignKey(Consignment, on_delete=models.CASCADE, related_name="legs", verbose_name=_("consignment"))
    from_place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("from"))
    to_place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    mode = models.CharField(_("mode"), max_length=8, choices=TransportMode.choices)
    planned_departure = models.DateField(_("planned departure"), null=True, blank=True)
    planned_arrival = models.DateField(_("planned arrival"), null=True, blank=True)
    actual_departure = models.DateField(_("actual departure"), null=True, blank=True)
    actual_arrival = models.DateField(_("actual arrival"), null=True, blank=True)

    class Meta:
        ordering = ["consignment_id", "id"]
        verbose_name = _("leg")
        verbose_name_plural = _("legs")

    def __str__(self) -> str:
        return f"{self.from_place.code} → {self.to_place.code} ({self.get_mode_display()})"

    def clean(self) -> None:
        problems = {}
        if self.from_place_id is not None and self.from_place_id == self.to_place_id:
            problems["to_place"] = _("A leg goes from one place to another.")
        if self.planned_departure and self.planned_arrival and self.planned_arrival < self.planned_departure:
            problems["planned_arrival"] = _("The planned arrival comes before the planned departure.")
        if self.actual_departure and self.actual_arrival and self.actual_arrival < self.actual_departure:
            problems["actual_arrival"] = _("The arrival comes before the departure.")
        if problems:
            raise ValidationError(problems)
