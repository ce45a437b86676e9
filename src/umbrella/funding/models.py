"""Money: donors' funding by year, category and channel, the exchange rates that value it in euros, and
each year's fair-share configuration (the floor, who takes part, who is exempt)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Marking
from umbrella.core.lifecycle import Lifecycle, Step
from umbrella.core.models import OwnedModel, marking_field
from umbrella.funding import counting

currency_code = RegexValidator(r"^[A-Z]{3}$", _("A currency is three capital letters (ISO 4217), such as EUR or USD."))
DEFAULT_FLOOR_EUR = Decimal("40000000000.00")


class FxRate(OwnedModel):
    """A euro reference rate: how many units of `currency` one euro buys on `date` (the ECB's convention)."""

    currency = models.CharField(_("currency"), max_length=3, validators=[currency_code])
    date = models.DateField(_("date"))
    units_per_eur = models.DecimalField(
        _("units per euro"), max_digits=18, decimal_places=6, validators=[MinValueValidator(Decimal("0.000001"))]
    )
    source = models.CharField(_("source"), max_length=300)
    marking = marking_field(Marking.PUBLIC)

    class Meta:
        ordering = ["currency", "-date"]
        constraints = [models.UniqueConstraint(fields=["currency", "date"], name="one_rate_per_currency_and_day")]
        verbose_name = _("exchange rate")

    def __str__(self) -> str:
        return f"1 EUR = {self.units_per_eur.normalize():f} {self.currency} ({self.date})"

    def clean(self) -> None:
        if self.currency == "EUR":
            raise ValidationError({"currency": _("The euro needs no rate.")})


class Category(models.TextChoices):
    """The seven cost categories that count towards the annual floor, whatever the channel."""

    PURCHASE = "purchase", _("purchase of equipment")
    IN_KIND = "in-kind", _("in-kind donations")
    SUPPORT = "support", _("maintenance, logistics and transport")
    TRAINING = "training", _("training")
    OPERATIONS = "operations", _("operational costs")
    INDUSTRY = "industry", _("investment in defence infrastructure and industry")
    NATO_TRUST_FUNDS = "nato-trust-funds", _("contributions to NATO trust funds")


class Channel(models.TextChoices):
    BILATERAL = "bilateral", _("bilateral")
    NATO = "nato", _("through NATO")
    POOLED = "pooled", _("pooled package")


class Instrument(models.TextChoices):
    """How assistance is given: what counts towards the floor depends on it (`counting`)."""

    GRANT = counting.GRANT, _("grant")
    LOAN = counting.LOAN, _("loan")
    GUARANTEE = counting.GUARANTEE, _("guarantee")
    IN_KIND = counting.IN_KIND, _("in-kind donation")
    PROCUREMENT = counting.PROCUREMENT, _("procurement for the recipient")
    JOINT_PURCHASE = counting.JOINT_PURCHASE, _("contribution to a joint purchase")
    TRAINING = counting.TRAINING, _("training")


RULE_SET_CHOICES = [(rules.key, f"{rules.key}: {rules.title}") for rules in counting.RULE_SETS.values()]


class FundingState(models.TextChoices):
    PLEDGED = "pledged", _("pledged")
    COMMITTED = "committed", _("committed")
    DISBURSED = "disbursed", _("disbursed")
    WITHDRAWN = "withdrawn", _("withdrawn")


F = FundingState
FUNDING_LIFECYCLE = Lifecycle(
    Step("commit", frozenset({F.PLEDGED}), F.COMMITTED, _("Record the commitment")),
    Step("disburse", frozenset({F.COMMITTED}), F.DISBURSED, _("Record the disbursement")),
    Step("withdraw", frozenset({F.PLEDGED, F.COMMITTED}), F.WITHDRAWN, _("Withdraw")),
)


class Funding(OwnedModel):
    """One year's portion of a donor's funding (a multi-year commitment is one portion per year, sharing a
    reference). Valued in euros at the rate of `fx_date`; the rate used is kept with it."""

    reference = models.CharField(_("reference"), max_length=80, help_text=_("Shared by the annual portions of one commitment."))
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2014)])
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(_("currency"), max_length=3, default="EUR", validators=[currency_code])
    fx_date = models.DateField(_("rate date"), help_text=_("The euro value uses the latest rate on or before this date."))
    units_per_eur = models.DecimalField(_("rate used (units per euro)"), max_digits=18, decimal_places=6, editable=False)
    value_eur = models.DecimalField(_("value (EUR)"), max_digits=18, decimal_places=2, editable=False)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    instrument = models.CharField(_("instrument"), max_length=20, choices=Instrument.choices, default=Instrument.GRANT)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, default=Channel.BILATERAL)
    state = models.CharField(_("state"), max_length=12, choices=FundingState.choices, default=F.PLEDGED, editable=False)
    source_url = models.URLField(_("source URL"), max_length=500, blank=True)
    source_document = models.CharField(_("source document"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-year", "owner__name", "reference"]
        verbose_name = _("funding")
        verbose_name_plural = _("funding")
        indexes = [models.Index(fields=["year", "state"])]

    def get_absolute_url(self) -> str:
        return reverse("funding", args=[self.pk])

    def __str__(self) -> str:
        return f"{self.reference} {self.year}: {self.amount:,.2f} {self.currency}"

    def clean(self) -> None:
        if not self.source_url and not self.source_document:
            raise ValidationError({"source_url": _("Give a source: a URL or a document reference.")})


class FairShareYear(OwnedModel):
    """A year's floor and who shares it. Without one (released to the reader), the year has no fair shares: the
    command, the page, the dashboards, the API and publishing all say the floor is missing
    (`queries.missing_for_report`)."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True, validators=[MinValueValidator(2014)])
    floor_eur = models.DecimalField(
        _("floor (EUR)"),
        max_digits=18,
        decimal_places=2,
        default=DEFAULT_FLOOR_EUR,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    participants = models.JSONField(_("participating donors (codes)"), default=list, blank=True)
    exemptions = models.JSONField(_("exempt donors (code → reason)"), default=dict, blank=True)
    rule_set = models.CharField(
        _("counting rules"),
        max_length=40,
        choices=RULE_SET_CHOICES,
        default=counting.DEFAULT_RULE_SET,
        help_text=_("What counts towards the floor this year (docs/funding.md sets out each rule set)."),
    )
    notes = models.TextField(_("notes"), blank=True)
    marking = marking_field(Marking.PUBLIC)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("fair-share year")

    def __str__(self) -> str:
        return _("Fair share %(year)s") % {"year": self.year}


class FairShareStatement(OwnedModel):
    """A year's fair shares as coordination staff published them: the report computed by someone who sees every
    record that counts, and the data it was computed from, kept as they were. Never changed: a later statement of
    the same year (the next `sequence`) supersedes it, and it stays readable."""

    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2014)])
    sequence = models.PositiveSmallIntegerField(_("statement number"), validators=[MinValueValidator(1)])
    rule_set = models.CharField(_("counting rules"), max_length=40)
    published_at = models.DateTimeField(_("published at"))
    reason = models.TextField(_("reason"))
    snapshot = models.JSONField(_("figures and the data behind them"))
    marking = marking_field(Marking.PUBLIC)

    class Meta:
        ordering = ["-year", "-sequence"]
        constraints = [models.UniqueConstraint(fields=["year", "sequence"], name="one_statement_number_per_year")]
        verbose_name = _("fair-share statement")

    def __str__(self) -> str:
        return _("Fair-share statement %(sequence)s of %(year)s") % {"sequence": self.sequence, "year": self.year}

    def get_absolute_url(self) -> str:
        return f"{reverse('fair-share')}?year={self.year}&statement={self.sequence}"

    @property
    def rule_set_title(self) -> str:
        return self.snapshot.get("report", {}).get("rule_set_title", "")

    @property
    def donors(self) -> list[dict]:
        """The published rows: code, name, GDP share, target, counted, gap and percent (strings and numbers)."""
        return self.snapshot.get("report", {}).get("donors", [])
