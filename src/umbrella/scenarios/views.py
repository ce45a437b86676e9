from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog.models import area_label
from umbrella.core.access import DONOR_KINDS, allowed, get_visible
from umbrella.core.collation import alphabetical_key
from umbrella.core.errors import DomainError, Invalid
from umbrella.core.numbers import format_eur_short, number
from umbrella.orgs.models import Organization
from umbrella.scenarios import services
from umbrella.scenarios.analysis import in_reader_language
from umbrella.scenarios.models import WithdrawalRole, WithdrawalScenario
from umbrella.scenarios.queries import SCENARIOS, scenarios
from umbrella.ui.charts import Bar, bar_chart
from umbrella.ui.pages import DetailPage, FormPage, history_rows, list_or_export, submit
from umbrella.ui.sections import section

TOP_UPS_CHARTED = 15


class ScenarioForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    donors = forms.MultipleChoiceField(label=gettext_lazy("Donors who stop"), widget=forms.SelectMultiple(attrs={"size": 10}))
    as_of = forms.DateField(label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}))
    role = forms.ChoiceField(
        label=gettext_lazy("They stop"),
        choices=WithdrawalRole.choices,
        initial=WithdrawalRole.PAYER,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "As payer: the pledges they pay any share of and their funding. As supplier: the pledges they deliver, "
            "whoever pays. As origin: the pledges made in their country, whoever pays and delivers."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["donors"].choices = list(
            Organization.objects.filter(kind__in=DONOR_KINDS).order_by("name").values_list("code", "name")
        )

    def show(self, error: DomainError) -> None:
        if not isinstance(error, Invalid):
            raise error
        for name, problems in error.field_errors.items():
            for problem in problems:
                self.add_error(name if name in self.fields else None, problem)


def scenario_list(request: HttpRequest) -> HttpResponse:
    may_create = allowed(services.require_planner, request.actor)
    return list_or_export(
        request,
        SCENARIOS,
        scenarios(request.actor),
        title=_("Withdrawal scenarios"),
        export_kind="scenarios",
        create_url=reverse("scenario-new") if may_create else None,
        create_label=_("New scenario"),
        # Whether scenarios exist that the reader may not see is itself not theirs to know (need to know): a
        # reader who cannot work on scenarios is told who does, not "none yet", which would read as "none at all".
        empty=_("No scenarios yet.")
        if may_create
        else _("Withdrawal scenarios are worked on by coordination staff; none is shared with you."),
        intro=_(
            "What if one or more donors stopped: the requirements left uncovered, the money lost each year and the top-up each "
            "remaining donor would need at its GDP share. Scenarios never change live data. Compare two from a scenario's page."
        ),
    )


@login_required
def scenario_create(request: HttpRequest) -> HttpResponse:
    services.require_planner(request.actor)
    form = ScenarioForm(request.POST or None, initial={"as_of": dt.date.today()})
    page = FormPage(
        title=_("New withdrawal scenario"),
        forms=[form],
        submit_label=_("Work it out and save"),
        cancel_url=reverse("scenarios"),
        intro=_(
            "Nothing live changes: the scenario re-runs the matching without the undelivered pledges these donors "
            "pay for, deliver or make (the role you choose) and, as payers, without their funding not yet disbursed, "
            "and keeps the result for comparison."
        ),
    )
    return submit(
        request,
        page,
        lambda: services.save_scenario(
            actor=request.actor,
            name=form.cleaned_data["name"],
            donors=form.cleaned_data["donors"],
            as_of=form.cleaned_data["as_of"],
            role=form.cleaned_data["role"],
        ),
        done=_("Scenario saved."),
    )


def _top_up_chart(results: dict, year: str):
    rows = results["top_ups"].get(year, [])[:TOP_UPS_CHARTED]
    return bar_chart(
        _("Top-up needed in %(year)s, largest %(n)d donors, EUR") % {"year": year, "n": len(rows)},
        [Bar(r["name"], float(r["top_up_eur"]), format_eur_short(r["top_up_eur"])) for r in rows],
    )


def scenario_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = get_visible(WithdrawalScenario.objects.all(), request.actor, pk=pk)
    # The largest losses first: what a reader weighs first (the results keep them by pledge).
    by_money = sorted(scenario.results.get("lost_pledges", []), key=lambda row: -Decimal(row.get("money_lost_eur") or 0))
    lost = section(request, by_money, "lost_page")
    uncovered = section(request, scenario.results["uncovered"], "uncovered_page")
    # Only the rows on the page are put into words: a large donor's scenario loses thousands of pledges.
    results = in_reader_language(
        {**scenario.results, "lost_pledges": lost.rows, "uncovered": uncovered.rows},
        every_lost_pledge=scenario.results.get("lost_pledges", []),
    )
    if "lost_pledges" not in scenario.results:  # saved before lost pledges were kept
        results.pop("lost_pledges")
    page = DetailPage(
        title=str(scenario),
        obj=scenario,
        fields=[
            (_("Donors who stop"), ", ".join(results["donors"])),
            (_("From"), scenario.as_of),
            (_("They stop"), scenario.get_role_display()),
            (_("Requirement list"), results["requirement_list_label"]),
            (
                _("Coverage points"),
                f"{number(results['coverage_points_before'], 1)} → {number(results['coverage_points_after'], 1)} "
                f"/ {number(results['points_available'], 1)}",
            ),
            (_("Pledges and allocations dropping out"), f"{results['pledges_dropped']} / {results['allocations_dropped']}"),
        ],
        history=history_rows(scenario),
        extra={
            "results": results,
            "charts": [(year, _top_up_chart(results, year)) for year in results["top_ups"]],
            "areas": sorted(
                ((area_label(area), counts) for area, counts in results["uncovered_by_area_priority"].items()),
                key=lambda row: alphabetical_key(row[0]),
            ),
            "others": WithdrawalScenario.objects.visible_to(request.actor).exclude(pk=pk).order_by("-id")[:50],
            "lost": lost,
            "uncovered": uncovered,
        },
    )
    return render(request, "scenarios/scenario_detail.html", {"page": page})


def scenario_compare(request: HttpRequest) -> HttpResponse:
    chosen = [value for value in request.GET.getlist("scenario") if value.isdigit()][:4]
    scenarios = [get_visible(WithdrawalScenario.objects.all(), request.actor, pk=int(pk)) for pk in chosen]
    years = sorted({year for s in scenarios for year in s.results["lost_by_year"]})
    areas = sorted(
        {area for s in scenarios for area in s.results["uncovered_by_area_priority"]},
        key=lambda area: alphabetical_key(area_label(area)),
    )
    return render(
        request,
        "scenarios/scenario_compare.html",
        {
            "scenarios": scenarios,
            "lost": [(year, [s.results["lost_by_year"].get(year, {}).get("total_eur") for s in scenarios]) for year in years],
            "areas": [
                (area_label(area), [sum(s.results["uncovered_by_area_priority"].get(area, {}).values()) for s in scenarios])
                for area in areas
            ],
        },
    )
