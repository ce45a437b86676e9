from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from umbrella.core.access import DONOR_KINDS, allowed
from umbrella.core.exports import FORMATS
from umbrella.core.numbers import format_eur_short, percent
from umbrella.orgs.models import Organization
from umbrella.pledges.queries import pledged_by_donor
from umbrella.tracker.queries import donor_totals, releases
from umbrella.tracker.services import require_tracker_keeper
from umbrella.ui.charts import Bar, bar_chart
from umbrella.ui.pages import table_download

CHART_DONORS = 25


def _donor_organizations(actor) -> list[dict]:
    pledged = pledged_by_donor(actor)
    return [
        {"organization": donor, "pledges": pledged.get(donor.pk, {}).get("n", 0), "value": pledged.get(donor.pk, {}).get("value")}
        for donor in Organization.objects.filter(kind__in=DONOR_KINDS).order_by("name")
    ]


def donor_comparison(request: HttpRequest) -> HttpResponse:
    """The donor organizations with the pledges the reader may see (from the start), and the donors compared on an
    imported tracker release: totals by type of aid and as % of GDP."""
    available = releases(request.actor)
    chosen = request.GET.get("release", "")
    release = available.filter(pk=chosen).first() if chosen.isdigit() else available.first()
    totals = donor_totals(request.actor, release) if release else []
    header = [
        _("Donor"),
        _("ISO"),
        _("Total (EUR)"),
        _("Military (EUR)"),
        _("Financial (EUR)"),
        _("Humanitarian (EUR)"),
        _("Share of GDP (%)"),
        _("Months"),
    ]
    rows = [
        [
            t.donor,
            t.iso,
            t.eur["total"],
            t.eur["military"],
            t.eur["financial"],
            t.eur["humanitarian"],
            round(t.pct_gdp, 4) if t.pct_gdp is not None else None,
            t.months,
        ]
        for t in totals
    ]
    if request.GET.get("format") in FORMATS and release:
        return table_download(request.GET["format"], f"{_('Donors compared')} {release.release}", header, rows)
    by_share = sorted((t for t in totals if t.pct_gdp is not None), key=lambda t: -t.pct_gdp)[:CHART_DONORS]
    context = {
        "donors": _donor_organizations(request.actor),
        "release": release,
        "releases": available,
        "totals": totals,
        # The command line is named only to whoever could run an import with it.
        "may_import": allowed(require_tracker_keeper, request.actor),
        "total_chart": bar_chart(
            _("Allocations, EUR, largest %(n)d donors") % {"n": CHART_DONORS},
            [Bar(t.donor, float(t.eur["total"]), format_eur_short(t.eur["total"])) for t in totals[:CHART_DONORS]],
        ),
        "share_chart": bar_chart(
            _("Allocations as %% of GDP, highest %(n)d donors") % {"n": CHART_DONORS},
            [Bar(t.donor, float(t.pct_gdp), percent(t.pct_gdp, 3)) for t in by_share],
        ),
    }
    return render(request, "tracker/donor_comparison.html", context)
