"""Every write of funding, exchange rates and fair-share years.

A donor (editor role) records its own funding and moves it from pledged to committed to disbursed (or
withdraws it); coordination staff (editor role) keep the exchange rates and the fair-share configuration, and
publish a year's fair-share statement.
Each funding row is valued in euros at the latest rate on or before its rate date, and keeps that rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from umbrella.core import services
from umbrella.core.access import DONOR_KINDS, Actor, OrganizationKind, Role, allowed, get_visible, require_owner, require_role
from umbrella.core.errors import Invalid, InvalidTransition
from umbrella.funding.models import FUNDING_LIFECYCLE, FairShareStatement, FairShareYear, Funding, FundingState, FxRate
from umbrella.funding.queries import missing_for_report, statement_snapshot
from umbrella.funding.rates import rate_on

DONORS = DONOR_KINDS
COORDINATORS = frozenset({OrganizationKind.COORDINATOR})
FUNDING_FIELDS = frozenset(
    {
        "reference",
        "year",
        "amount",
        "currency",
        "fx_date",
        "category",
        "instrument",
        "channel",
        "source_url",
        "source_document",
        "notes",
        "marking",
    }
)
RATE_FIELDS = frozenset({"currency", "date", "units_per_eur", "source", "marking"})
YEAR_FIELDS = frozenset({"year", "floor_eur", "participants", "exemptions", "rule_set", "notes", "marking"})
EDITABLE_STATES = frozenset({FundingState.PLEDGED, FundingState.COMMITTED})


def require_funding_recorder(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=DONORS, doing=_("Recording funding"))


def require_funding_editor(actor: Actor, funding: Funding) -> None:
    require_owner(actor, funding, Role.EDITOR, doing=_("Changing funding"))


def require_rate_keeper(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=_("Keeping exchange rates and fair-share years"))


def _valued(funding: Funding) -> None:
    if funding.currency and funding.fx_date and funding.amount is not None:
        funding.units_per_eur = rate_on(funding.currency, funding.fx_date)
        funding.value_eur = (funding.amount / funding.units_per_eur).quantize(Decimal("0.01"))


def create_funding(*, actor: Actor, fields: Mapping[str, Any]) -> Funding:
    with services.atomic():
        require_funding_recorder(actor)
        funding = Funding(owner=services.acting_organization(actor), **services.writable(fields, FUNDING_FIELDS))
        _valued(funding)
        return services.create_record(actor=actor, obj=funding)


def _locked(actor: Actor, funding_id: int) -> Funding:
    return get_visible(Funding.objects.select_for_update(), actor, pk=funding_id)


def update_funding(*, actor: Actor, funding_id: int, expected_version: int, changes: Mapping[str, Any]) -> Funding:
    """Change a pledged or committed row; a change of amount, currency or rate date values it again."""
    with services.atomic():
        funding = _locked(actor, funding_id)
        require_funding_editor(actor, funding)
        if funding.state not in EDITABLE_STATES:
            raise InvalidTransition(
                _("Funding that is %(state)s can no longer be changed.") % {"state": funding.get_state_display()},
                state=funding.state,
            )
        values = services.writable(changes, FUNDING_FIELDS)
        services.check_version(funding, expected_version)
        probe = Funding(**{**{f.attname: getattr(funding, f.attname) for f in Funding._meta.concrete_fields}, **values})
        _valued(probe)
        values.update({"units_per_eur": probe.units_per_eur, "value_eur": probe.value_eur})
        return services.update_record(actor=actor, obj=funding, changes=values, expected_version=expected_version)


def advance_funding(*, actor: Actor, funding_id: int, step: str, expected_version: int) -> Funding:
    with services.atomic():
        funding = _locked(actor, funding_id)
        target = FUNDING_LIFECYCLE.step(step, funding, may=lambda other: allowed(require_funding_editor, actor, funding)).target
        require_funding_editor(actor, funding)
        return services.update_record(
            actor=actor, obj=funding, changes={"state": target}, expected_version=expected_version, action=step
        )


def record_rate(*, actor: Actor, fields: Mapping[str, Any]) -> FxRate:
    with services.atomic():
        require_rate_keeper(actor)
        return services.create_record(
            actor=actor, obj=FxRate(owner=services.acting_organization(actor), **services.writable(fields, RATE_FIELDS))
        )


def configure_year(*, actor: Actor, fields: Mapping[str, Any]) -> FairShareYear:
    """Create or change a year's floor, participants, exemptions and counting rules (`counting.RULE_SETS`)."""
    with services.atomic():
        require_rate_keeper(actor)
        values = services.writable(fields, YEAR_FIELDS)
        existing = FairShareYear.objects.select_for_update().filter(year=values.get("year")).first()
        if existing is None:
            return services.create_record(actor=actor, obj=FairShareYear(owner=services.acting_organization(actor), **values))
        return services.update_record(actor=actor, obj=existing, changes=values, expected_version=existing.version)


def require_statement_publisher(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=_("Publishing a fair-share statement"))


def publish_statement(*, actor: Actor, year: int, reason: str) -> FairShareStatement:
    """Keep the year's fair shares as they are now, with the data behind them, for everyone to read (marked
    public). Refused, with nothing written, when the year has no floor or GDP figure, or when some record that
    counts is not released to the publisher: a statement is never computed from part of the records."""
    with services.atomic():
        require_statement_publisher(actor)
        errors: dict[str, list[str]] = {}
        if not (reason or "").strip():
            errors["reason"] = [_("Say why the statement is published (it is shown with it).")]
        missing = missing_for_report(actor, year)
        if missing:
            errors["year"] = missing
        if errors:
            raise Invalid(errors)
        report, snapshot = statement_snapshot(actor, year)
        if not report.complete:
            raise Invalid(
                {
                    "year": [
                        _(
                            "Some records that count towards the shares of %(year)s are not released to you; a statement "
                            "is published only by someone who sees every one of them."
                        )
                        % {"year": year}
                    ]
                }
            )
        latest = FairShareStatement.objects.select_for_update().filter(year=year).order_by("-sequence").first()
        statement = FairShareStatement(
            owner=services.acting_organization(actor),
            year=year,
            sequence=(latest.sequence if latest else 0) + 1,
            rule_set=report.rule_set,
            published_at=timezone.now(),
            reason=reason.strip(),
            snapshot=snapshot,
        )
        return services.create_record(actor=actor, obj=statement, action="publish")
