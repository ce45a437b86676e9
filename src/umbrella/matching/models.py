"""Match runs (what the engine proposed, and why) and allocations (what coordination staff approved)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Actor, VisibleQuerySet, visibility_q
from umbrella.core.ledger import still_sealed
from umbrella.core.models import OwnedModel
from umbrella.pledges.models import REASON_MAX_LENGTH

QUANTITY = {"max_digits": 18, "decimal_places": 3}


class RunState(models.TextChoices):
    PROPOSED = "proposed", _("proposed")
    DECIDED = "decided", _("decided")
    SUPERSEDED = "superseded", _("superseded by a later run")


class MatchRun(OwnedModel):
    """One solve of the approved requirement list against the accepted pledges. Owned by the headquarters.

    Its proposals and outcomes are written once, with the run, and never change; `results_digest` (in the
    ledger with the run) is the SHA-256 of their canonical form, so any later edit to them shows."""

    requirement_list = models.ForeignKey(
        "needs.RequirementList", on_delete=models.PROTECT, related_name="match_runs", verbose_name=_("requirement list")
    )
    state = models.CharField(_("state"), max_length=12, choices=RunState.choices, default=RunState.PROPOSED, editable=False)
    keep_approved = models.BooleanField(
        _("keep approved allocations"),
        default=True,
        help_text=_("Off: allocations of pledges not yet shipped are planned again, and approving replaces them."),
    )
    diversity_points = models.FloatField(_("fleet-diversity penalty (coverage points)"), default=0.0)
    complete_packages = models.BooleanField(
        _("complete packages"),
        default=False,
        help_text=_("On: the run also values deliveries that put munitions beside the launchers that fire them."),
    )
    objective = models.FloatField(_("coverage points"), default=0.0, editable=False)
    statistics = models.JSONField(_("statistics"), default=dict, editable=False)
    suggestions = models.JSONField(_("extra pledges that would help most"), default=list, editable=False)
    results_digest = models.CharField(_("results digest"), max_length=64, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("match run")
        verbose_name_plural = _("match runs")

    def get_absolute_url(self) -> str:
        return reverse("match-run", args=[self.pk])

    def sealed_rows_problem(self) -> str | None:
        """For `umbrella ledger verify`: whether the proposals and reasons still hash to the recorded digest."""
        if not still_sealed(self.results_digest, self.sealed_results()):
            return "its proposals or reasons no longer match the digest recorded with the run."
        return None

    def sealed_results(self) -> dict:
        """The run's results read back in the form their digest was computed on."""
        return sealed_results(
            [p.sealed_values() for p in self.proposals.order_by("id")],
            [o.sealed_values() for o in self.requirement_outcomes.order_by("id")],
            [o.sealed_values() for o in self.offer_outcomes.order_by("id")],
            [o.sealed_values() for o in self.package_outcomes.order_by("id")],
        )

    def __str__(self) -> str:
        return _("Match run %(number)s (%(series)s r%(revision)s)") % {
            "number": self.pk,
            "series": self.requirement_list.series,
            "revision": self.requirement_list.revision,
        }


def sealed_results(
    proposals: list[dict], requirement_outcomes: list[dict], offer_outcomes: list[dict], package_outcomes: list[dict] = ()
) -> dict:
    sealed = {"proposals": proposals, "requirements": requirement_outcomes, "offers": offer_outcomes}
    if package_outcomes:  # runs from before packages were checked sealed none, and still verify
        sealed["packages"] = list(package_outcomes)
    return sealed


class RunResult(models.Model):
    """Written with its run and never changed: derived from ledgered inputs, sealed by the run's digest."""

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="+")
    objects = VisibleQuerySet.as_manager()
    visibility_path = "run__"
    ledgered = False

    class Meta:
        abstract = True


class ProposedAllocation(RunResult):
    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="proposals", verbose_name=_("match run"))
    pledge = models.ForeignKey("pledges.Pledge", on_delete=models.PROTECT, related_name="+", verbose_name=_("pledge"))
    requirement = models.ForeignKey(
        "needs.Requirement", on_delete=models.PROTECT, related_name="+", verbose_name=_("requirement")
    )
    quantity = models.DecimalField(_("quantity (pledge units)"), **QUANTITY)
    covers = models.DecimalField(_("covers (requirement units)"), **QUANTITY)
    substitute = models.BooleanField(_("substitute"), default=False)
    late_days = models.PositiveIntegerField(_("days late"), default=0)
    points = models.FloatField(_("coverage points"), default=0.0)

    class Meta:
        ordering = ["requirement__priority", "requirement_id", "pledge_id"]
        verbose_name = _("proposed allocation")

    def sealed_values(self) -> dict:
        return {
            "pledge": self.pledge_id,
            "requirement": self.requirement_id,
            "quantity": str(self.quantity),
            "covers": str(self.covers),
            "substitute": self.substitute,
            "late_days": self.late_days,
            "points": self.points,
        }


class RequirementOutcome(RunResult):
    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="requirement_outcomes", verbose_name=_("match run"))
    requirement = models.ForeignKey(
        "needs.Requirement", on_delete=models.PROTECT, related_name="+", verbose_name=_("requirement")
    )
    covered = models.DecimalField(_("covered"), **QUANTITY)
    status = models.CharField(_("status"), max_length=12)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    late_days = models.PositiveIntegerField(_("days late"), default=0)
    named = models.JSONField(_("requirements that took the supply"), default=list)

    class Meta:
        ordering = ["requirement__priority", "requirement__needed_by", "requirement_id"]

    def sealed_values(self) -> dict:
        return {
            "requirement": self.requirement_id,
            "covered": str(self.covered),
            "status": self.status,
            "reason": self.reason,
            "late_days": self.late_days,
            "named": self.named,
        }


class OfferOutcome(RunResult):
    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="offer_outcomes", verbose_name=_("match run"))
    pledge = models.ForeignKey("pledges.Pledge", on_delete=models.PROTECT, related_name="+", verbose_name=_("pledge"))
    left_over = models.DecimalField(_("left over"), **QUANTITY)
    reason = models.CharField(_("reason"), max_length=40)
    late_days = models.PositiveIntegerField(_("days late"), default=0)

    class Meta:
        ordering = ["pledge_id"]

    def sealed_values(self) -> dict:
        return {"pledge": self.pledge_id, "left_over": str(self.left_over), "reason": self.reason, "late_days": self.late_days}


class PackageMissing(models.TextChoices):
    MUNITIONS = "munitions", _("munitions")
    LAUNCHER = "launcher", _("launcher")


class PackageOutcome(RunResult):
    """A package the run leaves incomplete at a destination: systems of `item_type` held or proposed there with
    no munition they fire at or around it, or munitions of `item_type` with no system that fires them; and why."""

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="package_outcomes", verbose_name=_("match run"))
    destination = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("destination"))
    item_type = models.ForeignKey("catalog.ItemType", on_delete=models.PROTECT, related_name="+", verbose_name=_("item type"))
    missing = models.CharField(_("missing"), max_length=12, choices=PackageMissing.choices)
    reason = models.CharField(_("reason"), max_length=40)
    late_days = models.PositiveIntegerField(_("days late"), default=0)
    named = models.JSONField(_("requirements asking for what is missing"), default=list)
    held = models.DecimalField(_("held (approved allocations kept)"), **QUANTITY)
    proposed = models.DecimalField(_("proposed by the run"), **QUANTITY)

    class Meta:
        ordering = ["destination_id", "item_type_id"]
        verbose_name = _("incomplete package")

    def sealed_values(self) -> dict:
        return {
            "destination": self.destination_id,
            "item_type": self.item_type_id,
            "missing": self.missing,
            "reason": self.reason,
            "late_days": self.late_days,
            "named": self.named,
            "held": str(self.held),
            "proposed": str(self.proposed),
        }


class AllocationState(models.TextChoices):
    ACTIVE = "active", _("active")
    RELEASED = "released", _("released")


class AllocationQuerySet(VisibleQuerySet):
    def visible_to(self, actor: Actor) -> AllocationQuerySet:
        """As any record, and also to the donor whose pledge it allocates."""
        condition = visibility_q(actor)
        if actor.is_member and not actor.is_system:
            condition |= Q(pledge__owner=actor.organization)
        return self.filter(condition)

    def carried(self) -> AllocationQuerySet:
        """Allocations a consignment that is not cancelled carries (umbrella.logistics): goods are planned
        or moving against them, so no re-plan or release may take them away."""
        return self.filter(consignment_lines__isnull=False).exclude(consignment_lines__consignment__state="cancelled").distinct()


class Allocation(OwnedModel):
    """An approved assignment of part of a pledge to a requirement. Owned by the headquarters."""

    pledge = models.ForeignKey("pledges.Pledge", on_delete=models.PROTECT, related_name="allocations", verbose_name=_("pledge"))
    requirement = models.ForeignKey(
        "needs.Requirement", on_delete=models.PROTECT, related_name="allocations", verbose_name=_("requirement")
    )
    quantity = models.DecimalField(_("quantity (pledge units)"), **QUANTITY)
    covers = models.DecimalField(_("covers (requirement units)"), **QUANTITY)
    state = models.CharField(
        _("state"), max_length=10, choices=AllocationState.choices, default=AllocationState.ACTIVE, editable=False
    )
    release_reason = models.CharField(_("reason for release"), max_length=REASON_MAX_LENGTH, blank=True, editable=False)
    history_shows_values = ("release_reason",)
    proposal = models.OneToOneField(
        ProposedAllocation, null=True, blank=True, on_delete=models.PROTECT, related_name="allocation", verbose_name=_("proposal")
    )

    objects = AllocationQuerySet.as_manager()

    class Meta:
        ordering = ["requirement__priority", "requirement_id", "id"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        indexes = [models.Index(fields=["state", "pledge"]), models.Index(fields=["state", "requirement"])]

    def get_absolute_url(self) -> str:
        return reverse("allocation", args=[self.pk])

    def __str__(self) -> str:
        return _("%(quantity)s of pledge %(pledge)s → requirement %(requirement)s") % {
            "quantity": f"{self.quantity.normalize():f}",
            "pledge": self.pledge_id,
            "requirement": self.requirement_id,
        }
