"""Organizations (donor nations, the recipient, the coordinating headquarters, observers) and who acts for them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import OrganizationKind, Role

iso3_validator = RegexValidator(r"^[A-Z]{3}$", _("Use the ISO 3166-1 alpha-3 code: three capital letters, e.g. DEU."))
code_validator = RegexValidator(r"^[A-Z0-9][A-Z0-9-]{1,15}$", _("Use 2 to 16 capital letters, digits or hyphens."))


# The migration at which accounts and API tokens began to be ledgered (see core.upgrade).
LEDGERED_SINCE = ("orgs", "0005_ledger_accounts_and_tokens")


class Organization(models.Model):
    """A member of the effort. The directory of organizations is visible to everyone who can sign in."""

    code = models.CharField(_("code"), max_length=16, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=OrganizationKind.choices)
    iso3 = models.CharField(
        _("ISO 3166 alpha-3"),
        max_length=3,
        blank=True,
        validators=[iso3_validator],
        help_text=_("For nations: the ISO 3166-1 alpha-3 country code."),
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    PROTECTED_FIELDS = frozenset({"id", "version"})
    ledgered = True
    ledger_marking = "public"

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name

    @property
    def ledger_owner_code(self) -> str:
        return self.code


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    ledgered = True
    ledger_marking = "participants"

    class Meta:
        ordering = ["organization__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_organization")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} · {self.get_role_display()}"

    @property
    def ledger_owner_code(self) -> str:
        return self.organization.code


class GdpFigure(models.Model):
    """A nation's gross domestic product for one year, with where the figure comes from."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="gdp_figures")
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(1990)])
    amount_bn = models.DecimalField(_("GDP (billions)"), max_digits=14, decimal_places=3, validators=[MinValueValidator(0)])
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    source = models.CharField(_("source"), max_length=300)
    ledgered = True

    class Meta:
        ordering = ["organization__name", "-year"]
        constraints = [models.UniqueConstraint(fields=["organization", "year"], name="one_gdp_figure_per_year")]
        verbose_name = _("GDP figure")

    def __str__(self) -> str:
        return f"{self.organization.code} {self.year}: {self.amount_bn} bn {self.currency}"

    @property
    def ledger_parent(self) -> Organization:
        return self.organization


class ApiToken(models.Model):
    """A user's key to the API, acting for one of their organizations. Only a hash of the secret is kept;
    the secret is shown once, when the token is issued. Revocation takes effect on the next request."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    ledgered = True
    ledgered_since = LEDGERED_SINCE  # rows older than this migration are taken into the ledger once
    ledger_marking = "owner"
    ledger_secret_fields = frozenset({"key_hash"})

    @property
    def ledger_owner_code(self) -> str:
        return self.organization.code


class SignInAttempt(models.Model):
    """One password check at sign-in, kept for throttling (in the database, so every server process sees it).
    It is reserved as pending before the password is checked and counts as a failure until it succeeds; a
    success marks the address as one the user name signs in from."""

    class Outcome(models.TextChoices):
        PENDING = "pending"
        FAILED = "failed"
        SUCCEEDED = "succeeded"

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PENDING)

    class Meta:
        indexes = [models.Index(fields=["username", "at"]), models.Index(fields=["address", "at"])]


class SignInGate(models.Model):
    """One row per user name and per address, locked while an attempt is counted and reserved, so that
    parallel attempts queue instead of all passing the same count."""

    key = models.CharField(max_length=220, unique=True)
    touched = models.DateTimeField(db_index=True)
