"""Importing a tracker release: checked whole, written in one transaction, sealed by a digest."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext as _

from umbrella.core import services
from umbrella.core.access import Actor, OrganizationKind, Role, require_role
from umbrella.core.errors import Conflict, ImportRejected, RowError
from umbrella.core.ledger import seal
from umbrella.orgs.models import Organization
from umbrella.tracker import kiel
from umbrella.tracker.models import (
    AllDonorsMonth,
    MilitarySourcesMonth,
    MonthlyAllocation,
    TrackerRelease,
    WeaponsByCategory,
    sealed_documents,
)

KEEPERS = frozenset({OrganizationKind.COORDINATOR})


def require_tracker_keeper(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=KEEPERS, doing=_("Importing published records"))


def _as_row_errors(problems: list[kiel.Problem]) -> list[RowError]:
    return [
        RowError(row=p.row, column=f"{p.file}: {p.column}" if p.column else p.file, value=p.value, reason=p.reason)
        for p in problems
    ]


def import_kiel_release(*, actor: Actor, folder: Path, dry_run: bool = False) -> tuple[TrackerRelease | None, kiel.Release]:
    """Read the folder; refuse (ImportRejected, every problem listed) unless every row is valid; write the
    release and its rows, matching donors to organizations by ISO code or name."""
    require_tracker_keeper(actor)
    parsed = kiel.read_release(folder)
    if parsed.problems:
        raise ImportRejected(_as_row_errors(parsed.problems))
    if dry_run:
        return None, parsed
    # The tracker names a multilateral donor by a code of its own ("EU"), which is no ISO country code: an
    # organization whose code is that code is the donor too.
    by_code = {o.code: o for o in Organization.objects.filter(kind=OrganizationKind.MULTILATERAL)}
    by_iso = {o.iso3: o for o in Organization.objects.exclude(iso3="")} | by_code
    by_name = {o.name.casefold(): o for o in Organization.objects.all()}
    iso_of_name = {a.donor.casefold(): a.iso for a in parsed.allocations}
    allocations = [
        MonthlyAllocation(
            file="data_explorer.csv",
            row=a.row,
            donor_name=a.donor,
            donor_iso=a.iso,
            organization=by_iso.get(a.iso) or by_name.get(a.donor.casefold()),
            year=a.year,
            month=a.month,
            total_eur=a.total_eur,
            financial_eur=a.financial_eur,
            humanitarian_eur=a.humanitarian_eur,
            military_eur=a.military_eur,
            commitments_eur=a.commitments_eur,
            to_be_allocated_eur=a.to_be_allocated_eur,
            gdp_eur_bn=a.gdp_eur_bn,
            pct_gdp=a.pct_gdp,
        )
        for a in parsed.allocations
    ]
    weapons = [
        WeaponsByCategory(
            file="weapons.csv",
            row=w.row,
            donor_name=w.donor,
            category=w.category,
            number=w.number,
            value_eur=w.value_eur,
            listed=w.listed,
            items=[list(item) for item in w.items],
            organization=by_iso.get(iso_of_name.get(w.donor.casefold(), "")) or by_name.get(w.donor.casefold()),
        )
        for w in parsed.weapons
    ]
    series = [
        *(_series_row(MilitarySourcesMonth, "procurement_trends.csv", m) for m in parsed.procurement),
        *(_series_row(AllDonorsMonth, "total_allocations.csv", m) for m in parsed.all_donors),
    ]
    with services.atomic():
        if TrackerRelease.objects.filter(source="Kiel Ukraine Support Tracker", release=parsed.release).exists():
            raise Conflict(
                _("Release %(release)s of the tracker is already imported.") % {"release": parsed.release}, release=parsed.release
            )
        release = services.create_record(
            actor=actor,
            obj=TrackerRelease(
                owner=services.acting_organization(actor),
                release=parsed.release,
                period=parsed.period,
                published=parsed.date,
                label=parsed.label,
                file_digests=parsed.file_digests,
                rows_digest=seal(
                    *sealed_documents(
                        [a.sealed_values() for a in allocations],
                        [w.sealed_values() for w in weapons],
                        [m.sealed_values() for m in series if isinstance(m, MilitarySourcesMonth)],
                        [m.sealed_values() for m in series if isinstance(m, AllDonorsMonth)],
                    )
                ),
            ),
        )
        for row in (*allocations, *weapons, *series):
            row.release = release
        MonthlyAllocation.objects.bulk_create(allocations, batch_size=1000)
        WeaponsByCategory.objects.bulk_create(weapons, batch_size=1000)
        MilitarySourcesMonth.objects.bulk_create([m for m in series if isinstance(m, MilitarySourcesMonth)])
        AllDonorsMonth.objects.bulk_create([m for m in series if isinstance(m, AllDonorsMonth)])
        return release, parsed


def _series_row(model: type[MilitarySourcesMonth | AllDonorsMonth], filename: str, month: kiel.MonthlyFigures):
    return model(
        file=filename,
        row=month.row,
        year=month.year,
        month=month.month,
        **{f"{name}_eur_bn": value for name, value in month.figures_eur_bn.items()},
    )
