"""End-use monitoring: every sensitive item accounted for after handover.

A `Serial` is one serial-tracked item the recipient received, owned by its donor and marked for coordination
(the donor, the headquarters and the recipient see it; other donors and the public never do). The recipient
keeps its own structure of `Unit`s that hold the items. `InventoryRule`s say when a serial must be sighted;
an `Inventory` records sightings; a `LossReport` and a `Transfer` change what a serial's status is.

A serial's schedule columns (last sighting, next due date) are kept by the services from its ledgered
sightings and the rules, by `schedule.py`; they are an index the reports read, left out of the ledger's
snapshots (`ledger_ignored_fields`) because the sightings and rules they come from are in it, and
`umbrella eum check` recomputes them to prove it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import VisibleQuerySet
from umbrella.core.models import OwnedModel
from umbrella.eum import schedule
from umbrella.pledges.models import REASON_MAX_LENGTH

SERIAL_MAX_LENGTH = 80
DIGEST_VALIDATOR = RegexValidator(r"^[0-9a-f]{64}$", _("A SHA-256 digest: 64 lower-case hexadecimal digits."))


class UnitKind(models.TextChoices):
    BRIGADE = "brigade", _("brigade")
    BATTALION = "battalion", _("battalion")
    REGIMENT = "regiment", _("regiment")
    DEPOT = "depot", _("depot")
    OTHER = "other", _("other")


class Unit(OwnedModel):
    """A unit of the recipient's own structure (brigade, battalion, depot) that holds items. The recipient keeps
    the list; a handover to a unit it has not listed yet adds that unit."""

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9-]*$", _("Capital letters, digits and hyphens, e.g. 47-MECH."))],
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=UnitKind.choices, default=UnitKind.OTHER)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("part of")
    )
    station = models.ForeignKey(
        "places.Place",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("stationed at"),
        help_text=_("Where the unit is based: readiness counts its qualified crews at this place."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def get_absolute_url(self) -> str:
        return reverse("eum-unit", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class SerialStatus(models.TextChoices):
    IN_SERVICE = "in_service", _("in service")
    UNDER_REPAIR = "under_repair", _("under repair")
    LOST = "lost", _("lost")
    DESTROYED = "destroyed", _("destroyed")
    CAPTURED = "captured", _("captured")
    TRANSFERRED = "transferred", _("transferred")
    RETURNED = "returned", _("returned")
    DISPOSED_OF = "disposed_of", _("disposed of")


# Held by the recipient and so to be inventoried; every other status ends the schedule.
ACCOUNTABLE = frozenset({SerialStatus.IN_SERVICE, SerialStatus.UNDER_REPAIR})
LOSS_STATUSES = frozenset({SerialStatus.LOST, SerialStatus.DESTROYED, SerialStatus.CAPTURED})


class SightingMethod(models.TextChoices):
    PHYSICAL = "physical", _("physical inspection")
    PHOTO = "photo", _("remote: photo")
    VIDEO = "video", _("remote: video")
    SCAN = "scan", _("remote: scan of the serial plate")


REMOTE_METHODS = frozenset({SightingMethod.PHOTO, SightingMethod.VIDEO, SightingMethod.SCAN})


class InventoryRule(OwnedModel):
    """When serials must be sighted: for an item type, a donor's programme, or both. Where several rules apply
    to one serial, each deadline is the strictest of them; where none does, 90 and 365 days."""

    item_type = models.ForeignKey(
        "catalog.ItemType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("item type"),
        help_text=_("Empty: every item type (of the donor, if one is named)."),
    )
    donor = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("donor programme"),
        help_text=_("Empty: every donor."),
    )
    initial_days = models.PositiveSmallIntegerField(
        _("initial inventory within (days)"),
        default=schedule.DEFAULT_INITIAL_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Days after the handover by which every serial must be sighted for the first time."),
    )
    interval_days = models.PositiveSmallIntegerField(
        _("then every (days)"),
        default=schedule.DEFAULT_INTERVAL_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Days after each sighting by which the serial must be sighted again."),
    )
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("inventory rule")
        verbose_name_plural = _("inventory rules")
        constraints = [
            models.UniqueConstraint(
                fields=["item_type", "donor"],
                name="eum_one_rule_per_item_and_donor",
                violation_error_message=_("A rule for this item type and donor already exists: change it instead."),
            )
        ]

    def get_absolute_url(self) -> str:
        return reverse("eum-rules")

    def __str__(self) -> str:
        item = self.item_type.code if self.item_type_id else _("every item type")
        donor = self.donor.code if self.donor_id else _("every donor")
        return f"{item} · {donor}: {self.initial_days} / {self.interval_days}"

    @property
    def rule(self) -> schedule.Rule:
        return schedule.Rule(self.initial_days, self.interval_days)


class Serial(OwnedModel):
    """One serial-tracked item handed over. The owner is its donor; the marking stays `coordination`."""

    item_type = models.ForeignKey("catalog.ItemType", on_delete=models.PROTECT, related_name="+", verbose_name=_("item type"))
    serial = models.CharField(_("serial number"), max_length=SERIAL_MAX_LENGTH)
    pledge = models.ForeignKey(
        "pledges.Pledge", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("pledge")
    )
    consignment = models.ForeignKey(
        "logistics.Consignment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consignment"),
    )
    handover_date = models.DateField(_("handover date"))
    handover_place = models.ForeignKey(
        "places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("handover place")
    )
    holder = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="serials", verbose_name=_("holder")
    )
    status = models.CharField(_("status"), max_length=16, choices=SerialStatus.choices, default=SerialStatus.IN_SERVICE)
    status_on = models.DateField(_("status since"))
    retransfer_requires_consent = models.BooleanField(_("re-transfer needs the donor's consent"), default=True)
    # The schedule: derived from the ledgered sightings and rules by the services (see the module's docstring).
    last_sighted_on = models.DateField(_("last sighted on"), null=True, blank=True, editable=False)
    last_sighting_place = models.ForeignKey(
        "places.Place",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("last sighted at"),
    )
    last_sighting_method = models.CharField(
        _("last sighted by"), max_length=12, choices=SightingMethod.choices, blank=True, editable=False
    )
    due_on = models.DateField(_("next inventory due"), null=True, blank=True, editable=False)
    ledger_ignored_fields = frozenset({"last_sighted_on", "last_sighting_place_id", "last_sighting_method", "due_on"})
    history_created_shows = ("handover_date", "status")

    class Meta:
        ordering = ["item_type_id", "serial"]
        verbose_name = _("serial")
        verbose_name_plural = _("serials")
        constraints = [
            models.UniqueConstraint(
                fields=["item_type", "serial"],
                name="eum_serial_unique_per_item_type",
                violation_error_message=_("This serial number is already registered for this item type."),
            )
        ]
        indexes = [
            models.Index(fields=["due_on"]),
            models.Index(fields=["owner", "due_on"]),
            # With the marking and owner the visibility rule reads, so that counting the delinquent serials (a list's
            # pages) and a unit's held ones reads these indexes alone, not a million rows of the table. The due date
            # leads: led by the status, SQLite (without statistics) took it for the list's page too, and sorted every
            # delinquent serial by due date to show the first fifty.
            models.Index(fields=["due_on", "status", "marking", "owner"], name="eum_serial_due_status"),
            models.Index(fields=["holder", "status", "due_on", "marking", "owner"], name="eum_serial_holder_status"),
            # Covers the summaries (`queries.delinquency`, the dashboards' card, a donor's report, the public figures):
            # each reads this index alone, once, in the order it groups by, and never the table's wide rows.
            models.Index(
                fields=[
                    "owner",
                    "item_type",
                    "holder",
                    "handover_place",
                    "marking",
                    "status",
                    "status_on",
                    "handover_date",
                    "due_on",
                    "last_sighted_on",
                ],
                name="eum_serial_summary",
            ),
        ]

    def get_absolute_url(self) -> str:
        return reverse("eum-serial", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.item_type.code} {self.serial}"

    @property
    def accountable(self) -> bool:
        return self.status in ACCOUNTABLE

    def validate_constraints(self, exclude=None) -> None:
        # A batch whose (item type, serial) pairs were looked up together, in one query per chunk, before its rows
        # were made (`services.register_serials`, a handover) is not asked again row by row: a million rows would
        # cost a million queries. The database's constraint still refuses a pair written meanwhile.
        if self.__dict__.get("_pair_checked_with_batch"):
            exclude = {*(exclude or ()), "serial"}
        super().validate_constraints(exclude=exclude)


class Inventory(OwnedModel):
    """One inventory: who inspected (the owner: headquarters, a donor or the recipient), when, where and how,
    and which serials it expected (its scope) and sighted."""

    conducted_on = models.DateField(_("conducted on"))
    place = models.ForeignKey(
        "places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("place")
    )
    method = models.CharField(_("method"), max_length=12, choices=SightingMethod.choices)
    evidence_reference = models.CharField(
        _("evidence reference"), max_length=300, blank=True, help_text=_("Where the photo, video or scan is kept.")
    )
    evidence_digest = models.CharField(_("evidence digest (SHA-256)"), max_length=64, blank=True, validators=[DIGEST_VALIDATOR])
    holder = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit inspected")
    )
    item_type = models.ForeignKey(
        "catalog.ItemType", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("item type")
    )
    donor = models.ForeignKey(
        "orgs.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("donor")
    )
    closed = models.BooleanField(_("closed"), default=False, editable=False)
    expected_count = models.PositiveIntegerField(_("serials expected"), default=0, editable=False)
    sighted_count = models.PositiveIntegerField(_("serials sighted"), default=0, editable=False)
    not_sighted = models.JSONField(_("serials not sighted"), default=list, blank=True, editable=False)
    note = models.TextField(_("note"), blank=True)
    history_shows_values = ("conducted_on", "method", "expected_count", "sighted_count")

    class Meta:
        ordering = ["-conducted_on", "-id"]
        verbose_name = _("inventory")
        verbose_name_plural = _("inventories")

    def get_absolute_url(self) -> str:
        return reverse("eum-inventory", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.conducted_on.isoformat()} · {self.get_method_display()} ({self.owner.code})"

    def clean(self) -> None:
        if self.method in REMOTE_METHODS and not (self.evidence_reference and self.evidence_digest):
            raise ValidationError(
                {"evidence_reference": _("A remote inventory keeps its evidence: give its reference and SHA-256 digest.")}
            )


class SerialChild(models.Model):
    """Seen by whoever sees the serial (its donor, the headquarters, the recipient), and ledgered under it."""

    objects = VisibleQuerySet.as_manager()
    visibility_path = "serial__"
    ledgered = True

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:
        return reverse("eum-serial", args=[self.serial_id])

    @property
    def ledger_parent(self) -> Serial:
        return self.serial


class Sighting(SerialChild):
    """A serial seen in an inventory: when, where, how, and in what state. A donor sees the sightings of its own
    serials, with the day, place and method copied from the inventory it may not see."""

    serial = models.ForeignKey(Serial, on_delete=models.PROTECT, related_name="sightings", verbose_name=_("serial"))
    inventory = models.ForeignKey(Inventory, on_delete=models.PROTECT, related_name="sightings", verbose_name=_("inventory"))
    sighted_on = models.DateField(_("sighted on"))
    place = models.ForeignKey(
        "places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("place")
    )
    method = models.CharField(_("method"), max_length=12, choices=SightingMethod.choices)
    status = models.CharField(
        _("status seen"),
        max_length=16,
        choices=[(value, label) for value, label in SerialStatus.choices if value in ACCOUNTABLE],
        default=SerialStatus.IN_SERVICE,
    )
    evidence_reference = models.CharField(_("evidence reference"), max_length=300, blank=True)

    class Meta:
        ordering = ["-sighted_on", "-id"]
        verbose_name = _("sighting")
        verbose_name_plural = _("sightings")
        indexes = [models.Index(fields=["serial", "sighted_on"])]

    def __str__(self) -> str:
        return f"{self.serial_id} · {self.sighted_on.isoformat()}"


class LossKind(models.TextChoices):
    LOST = SerialStatus.LOST.value, SerialStatus.LOST.label
    DESTROYED = SerialStatus.DESTROYED.value, SerialStatus.DESTROYED.label
    CAPTURED = SerialStatus.CAPTURED.value, SerialStatus.CAPTURED.label


class LossReport(SerialChild):
    """The recipient reports an item lost, destroyed or captured; its donor acknowledges the report."""

    serial = models.ForeignKey(Serial, on_delete=models.PROTECT, related_name="losses", verbose_name=_("serial"))
    kind = models.CharField(_("what happened"), max_length=12, choices=LossKind.choices)
    occurred_on = models.DateField(_("occurred on"))
    place = models.ForeignKey(
        "places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("place")
    )
    circumstances = models.TextField(_("circumstances"))
    evidence_reference = models.CharField(_("evidence reference"), max_length=300, blank=True)
    acknowledged_on = models.DateField(_("acknowledged on"), null=True, blank=True, editable=False)
    acknowledgement_note = models.CharField(_("donor's note"), max_length=REASON_MAX_LENGTH, blank=True, editable=False)
    history_shows_values = ("kind", "occurred_on", "acknowledged_on")

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name = _("loss report")
        verbose_name_plural = _("loss reports")
        # What waits for a donor's acknowledgement is found from the few reports not acknowledged, not by visiting
        # every serial of the donor (a plan SQLite picks without statistics when nothing else is indexed).
        indexes = [models.Index(fields=["acknowledged_on"], name="eum_loss_acknowledged")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.occurred_on.isoformat()}"


class TransferKind(models.TextChoices):
    INTERNAL = "internal", _("between the recipient's own units")
    THIRD_PARTY = "third_party", _("to a third party")
    END_USE = "end_use", _("change of end use")


class TransferState(models.TextChoices):
    REQUESTED = "requested", _("consent requested")
    CONSENTED = "consented", _("consented")
    REFUSED = "refused", _("refused")
    DONE = "done", _("done")


class Transfer(SerialChild):
    """A move of an item: between the recipient's own units (recorded, no consent), or to a third party or to
    another end use, which needs the donor's consent when the item's pledge says so."""

    serial = models.ForeignKey(Serial, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("serial"))
    kind = models.CharField(_("kind"), max_length=12, choices=TransferKind.choices)
    state = models.CharField(_("state"), max_length=10, choices=TransferState.choices, editable=False)
    to_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("to unit")
    )
    third_party = models.CharField(_("third party"), max_length=200, blank=True)
    end_use = models.CharField(_("new end use"), max_length=300, blank=True)
    reason = models.CharField(_("reason"), max_length=REASON_MAX_LENGTH)
    transferred_on = models.DateField(_("transferred on"), null=True, blank=True, editable=False)
    decided_on = models.DateField(_("decided on"), null=True, blank=True, editable=False)
    decision_reason = models.CharField(_("donor's reason"), max_length=REASON_MAX_LENGTH, blank=True, editable=False)
    history_shows_values = ("kind", "state", "third_party", "end_use", "decision_reason")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        # As for loss reports: the consent requests waiting are found by their state.
        indexes = [models.Index(fields=["state"], name="eum_transfer_state")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_state_display()}"

    def clean(self) -> None:
        problems = {}
        if self.kind == TransferKind.INTERNAL and self.to_unit_id is None:
            problems["to_unit"] = _("Name the unit that takes the item over.")
        if self.kind == TransferKind.THIRD_PARTY and not self.third_party.strip():
            problems["third_party"] = _("Name the third party.")
        if self.kind == TransferKind.END_USE and not self.end_use.strip():
            problems["end_use"] = _("Say what the new end use is.")
        if problems:
            raise ValidationError(problems)
