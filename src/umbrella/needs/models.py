"""What the recipient needs, in priority order, on versioned requirement lists that coordination approves."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Marking
from umbrella.core.lifecycle import Lifecycle, Step
from umbrella.core.models import OwnedModel, marking_field


class ListState(models.TextChoices):
    DRAFT = "draft", _("draft")
    PROPOSED = "proposed", _("proposed")
    APPROVED = "approved", _("approved")
    SUPERSEDED = "superseded", _("superseded")


LIST_LIFECYCLE = Lifecycle(
    Step("propose", frozenset({ListState.DRAFT}), ListState.PROPOSED, _("Propose")),
    Step("approve", frozenset({ListState.PROPOSED}), ListState.APPROVED, _("Approve")),
    Step("return", frozenset({ListState.PROPOSED}), ListState.DRAFT, _("Return to draft")),
    Step("supersede", frozenset({ListState.APPROVED}), ListState.SUPERSEDED, _("Supersede")),
)


class RequirementList(OwnedModel):
    """One revision of a series of requirement lists. Approved revisions are frozen: a change is a new revision."""

    series = models.CharField(
        _("series"),
        max_length=40,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")],
        help_text=_("Stable name shared by every revision, e.g. UA-2026."),
    )
    revision = models.PositiveIntegerField(_("revision"), default=1, editable=False)
    title = models.CharField(_("title"), max_length=200)
    state = models.CharField(_("state"), max_length=12, choices=ListState.choices, default=ListState.DRAFT, editable=False)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by", editable=False
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    notes = models.TextField(_("notes"), blank=True)
    marking = marking_field(Marking.PARTICIPANTS)

    class Meta:
        ordering = ["series", "-revision"]
        verbose_name = _("requirement list")
        verbose_name_plural = _("requirement lists")
        constraints = [models.UniqueConstraint(fields=["series", "revision"], name="one_revision_number_per_series")]

    def get_absolute_url(self) -> str:
        return reverse("requirement-list", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.title} ({self.series} r{self.revision})"

    @property
    def is_editable(self) -> bool:
        return self.state == ListState.DRAFT


class Requirement(OwnedModel):
    requirement_list = models.ForeignKey(
        RequirementList, on_delete=models.CASCADE, related_name="requirements", verbose_name=_("requirement list")
    )
    item_type = models.ForeignKey(
        "catalog.ItemType", on_delete=models.PROTECT, related_name="requirements", verbose_name=_("item type")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 is the most urgent, 5 the least."),
    )
    needed_by = models.DateField(_("needed by"))
    destination = models.ForeignKey(
        "places.Place", on_delete=models.PROTECT, related_name="requirements", verbose_name=_("destination")
    )
    accept_substitutes = models.BooleanField(
        _("accept substitutes"), default=True, help_text=_("Any item that substitutes for this one will do.")
    )
    notes = models.TextField(_("notes"), blank=True)
    marking = marking_field(Marking.PARTICIPANTS)
    carried_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="carried_to",
        editable=False,
        verbose_name=_("carried from"),
        help_text=_("The row of the earlier revision this one was copied from."),
    )

    class Meta:
        ordering = ["priority", "needed_by", "id"]
        verbose_name = _("requirement")
        verbose_name_plural = _("requirements")
        indexes = [models.Index(fields=["requirement_list", "priority"])]

    def get_absolute_url(self) -> str:
        return reverse("requirement", args=[self.pk])

    def __str__(self) -> str:
        return f"P{self.priority} {self.quantity} × {self.item_type.name} → {self.destination.name_en}"
