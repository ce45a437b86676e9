"""Saved what-ifs: if these donors stopped on this date, what would go uncovered and who would make it up."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.models import OwnedModel


class WithdrawalRole(models.TextChoices):
    """In what capacity the donors stop (docs/funding.md, "Withdrawal scenarios"): the pledges each role loses."""

    PAYER = "payer", _("as payer")
    SUPPLIER = "supplier", _("as supplier")
    ORIGIN = "origin", _("as country of origin")
    ALL = "all", _("in every role")


class WithdrawalScenario(OwnedModel):
    """Its results are computed once, when it is saved, from the data as it was then; live data is never
    changed by a scenario."""

    name = models.CharField(_("name"), max_length=120)
    donors = models.JSONField(_("withdrawing donors (codes)"))
    as_of = models.DateField(_("from"))
    role = models.CharField(_("stops as"), max_length=8, choices=WithdrawalRole.choices, default=WithdrawalRole.PAYER)
    requirement_list = models.ForeignKey("needs.RequirementList", on_delete=models.PROTECT, related_name="+")
    results = models.JSONField(_("results"), editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("withdrawal scenario")

    def get_absolute_url(self) -> str:
        return reverse("scenario", args=[self.pk])

    def __str__(self) -> str:
        return self.name
