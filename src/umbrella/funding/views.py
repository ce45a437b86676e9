from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from umbrella.core.access import Marking, allowed, get_visible
from umbrella.core.errors import DomainError
from umbrella.core.exports import FORMATS
from umbrella.core.numbers import format_eur, format_eur_short, number
from umbrella.funding import services
from umbrella.funding.models import FUNDING_LIFECYCLE, FairShareYear, Funding
from umbrella.funding.queries import FUNDING, fair_share, funding_records
from umbrella.ui.charts import Bar, bar_chart
from umbrella.ui.forms import ActorForm, posted_version
from umbrella.ui.pages import DetailPage, FormPage, history_rows, list_or_export, submit, table_download


class FundingForm(ActorForm):
    source_url = forms.URLField(label=gettext_lazy("source URL"), max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Funding
        fields = [
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
        ]
        widgets = {"fx_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument"].required = False

    def clean_instrument(self) -> str:
        """Not given (a form posted by a script from before instruments): left as it is, or the default when new."""
        return self.cleaned_data.get("instrument") or self.instance.instrument


def funding_list(request: HttpRequest) -> HttpResponse:
    may_create = allowed(services.require_funding_recorder, request.actor)
    return list_or_export(
        request,
        FUNDING,
        funding_records(request.actor),
        title=_("Funding"),
        export_kind="funding",
        create_url=reverse("funding-new") if may_create else None,
        create_label=_("Record funding"),
        empty=_("No funding recorded yet."),
    )


def funding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    funding = get_visible(Funding.objects.select_related("owner"), request.actor, pk=pk)
    page = DetailPage(
        title=str(funding),
        obj=funding,
        fields=[
            (_("Donor"), funding.owner.name),
            (_("Reference"), funding.reference),
            (_("Year"), funding.year),
            (_("Amount"), f"{number(funding.amount, 2)} {funding.currency}"),
            (
                _("Rate used"),
                f"1 EUR = {funding.units_per_eur.normalize():f} {funding.currency} (on or before {funding.fx_date})",
            ),
            (_("Value"), format_eur(funding.value_eur)),
            (_("Category"), funding.get_category_display()),
            (_("Instrument"), funding.get_instrument_display()),
            (_("Channel"), funding.get_channel_display()),
            (_("State"), funding.get_state_display()),
            (_("Source"), funding.source_url or funding.source_document),
            (_("Notes"), funding.notes),
            (_("Marking"), funding.get_marking_display()),
            (_("Version"), funding.version),
        ],
        history=history_rows(funding),
        actions=[
            {"step": step, "label": FUNDING_LIFECYCLE.steps[step].label}
            for step in FUNDING_LIFECYCLE.possible(funding.state)
            if allowed(services.require_funding_editor, request.actor, funding)
        ],
        extra={
            "editable": funding.state in services.EDITABLE_STATES
            and allowed(services.require_funding_editor, request.actor, funding)
        },
    )
    return render(request, "funding/funding_detail.html", {"page": page})


@login_required
def funding_create(request: HttpRequest) -> HttpResponse:
    services.require_funding_recorder(request.actor)
    form = FundingForm(
        request.POST or None,
        actor=request.actor,
        initial={"marking": Marking.COORDINATION, "currency": "EUR", "year": dt.date.today().year, "fx_date": dt.date.today()},
    )
    page = FormPage(
        title=_("Record funding"),
        forms=[form],
        submit_label=_("Record"),
        cancel_url=reverse("funding-list"),
        intro=_("One row per year: a multi-year commitment is one row per year, with the same reference."),
    )
    return submit(
        request, page, lambda: services.create_funding(actor=request.actor, fields=form.cleaned_data), done=_("Funding recorded.")
    )


@login_required
def funding_edit(request: HttpRequest, pk: int) -> HttpResponse:
    funding = get_visible(Funding.objects.all(), request.actor, pk=pk)
    services.require_funding_editor(request.actor, funding)
    form = FundingForm(request.POST or None, instance=funding, actor=request.actor)
    page = FormPage(
        title=_("Edit funding"),
        forms=[form],
        submit_label=_("Save"),
        cancel_url=funding.get_absolute_url(),
        version=funding.version,
    )
    return submit(
        request,
        page,
        lambda: services.update_funding(
            actor=request.actor, funding_id=pk, expected_version=posted_version(request), changes=form.changed_values()
        ),
        done=_("Saved."),
    )


@require_POST
@login_required
def funding_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    funding = services.advance_funding(actor=request.actor, funding_id=pk, step=step, expected_version=posted_version(request))
    messages.success(request, _("The funding is now %(state)s.") % {"state": funding.get_state_display()})
    return redirect(funding)


def _years(request: HttpRequest):
    return FairShareYear.objects.visible_to(request.actor).values_list("year", flat=True)


def _year(request: HttpRequest) -> int:
    years = list(_years(request))
    chosen = request.GET.get("year", "")
    return int(chosen) if chosen.isdigit() and 2014 <= int(chosen) <= 2100 else (max(years) if years else dt.date.today().year)


def fair_share_page(request: HttpRequest) -> HttpResponse:
    year = _year(request)
    try:
        report = fair_share(request.actor, year)
    except DomainError as error:
        return render(
            request, "funding/fair_share.html", {"year": year, "problem": error.message, "years": _years(request)}, status=200
        )
    if request.GET.get("format") in FORMATS:
        header, rows = report.table()
        return table_download(request.GET["format"], f"{_('Fair share')} {year}", header, rows)
    chart = (
        bar_chart(
            _("Counted towards the fair share (bar) against the target (tick), EUR"),
            [
                Bar(
                    s.name,
                    float(s.counted_eur),
                    format_eur_short(s.counted_eur),
                    marker=float(s.target_eur),
                    marker_text=_("target %(target)s") % {"target": format_eur_short(s.target_eur)},
                )
                for s in report.shares
            ],
        )
        if report.complete
        else None
    )
    return render(
        request,
        "funding/fair_share.html",
        {
            "year": year,
            "report": report,
            "chart": chart,
            "years": _years(request),
            "rows": [{"share": s, "gap_eur": report.gap_eur(s), "percent": report.percent(s)} for s in report.shares],
            "targets_total": sum(s.target_eur for s in report.shares),
            "counted_total": report.counted_total_eur,
        },
    )
