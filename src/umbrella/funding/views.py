from __future__ import annotations

import datetime as dt
from decimal import Decimal

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
from umbrella.core.errors import DomainError, Invalid
from umbrella.core.exports import FORMATS
from umbrella.core.numbers import format_eur, format_eur_short, number
from umbrella.funding import services
from umbrella.funding.models import FUNDING_LIFECYCLE, FairShareStatement, FairShareYear, Funding
from umbrella.funding.queries import FUNDING, fair_share, funding_records, own_share, statement_table, statements_of
from umbrella.funding.rates import funding_rate_warning
from umbrella.ui.charts import Bar, bar_chart
from umbrella.ui.forms import ActorForm, ServiceForm, posted_version
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
            and allowed(services.require_funding_editor, request.actor, funding),
            "rate_warning": funding_rate_warning(funding),
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
    """The year asked for; without one, the latest configured (or this year). A year out of range or not a number
    is refused (`Invalid`: a 400 page saying so, as for an unknown list filter), never read as another year."""
    chosen = request.GET.get("year", "").strip()
    if not chosen:
        years = list(_years(request))
        return max(years) if years else dt.date.today().year
    if not (chosen.isdigit() and 2014 <= int(chosen) <= 2100):
        raise Invalid({"year": [_("%(value)s is not a year of fair shares (2014 to 2100).") % {"value": repr(chosen)}]})
    return int(chosen)


def _own_row(actor, year: int) -> dict | None:
    """A donor's own live row: whole when it may see every record behind it, else labelled partial."""
    own = own_share(actor, year)
    if own is None:
        return None
    share, whole = own
    return {
        "share": share,
        "whole": whole,
        "gap_eur": share.gap_eur if whole else None,
        "percent": share.percent if whole else None,
    }


def _statement_rows(statement: FairShareStatement) -> list[dict]:
    def amount(value):
        return None if value is None else Decimal(value)

    return [
        {
            "name": d["name"],
            "code": d["code"],
            "gdp_percent": Decimal(str(d["gdp_share"])) * 100,
            "target_eur": Decimal(d["target_eur"]),
            "counted_eur": Decimal(d["counted_eur"]),
            "gap_eur": amount(d["gap_eur"]),
            "percent": None if d["percent"] is None else Decimal(str(d["percent"])),
        }
        for d in statement.donors
    ]


def _published(statement: FairShareStatement) -> dict:
    """What the statement's report says besides its rows: floor, GDP basis, totals, exemptions."""
    report = statement.snapshot.get("report", {})
    return {
        "floor_eur": Decimal(report["floor_eur"]),
        "gdp_note": report.get("gdp", ""),
        "donors": len(statement.donors),
        "targets_total": Decimal(report["targets_total_eur"]),
        "counted_total": Decimal(report["counted_total_eur"]),
        "exemptions": report.get("exemptions", {}),
    }


def _problems(error: DomainError) -> list[str]:
    """What a refused report lacks, each on its own (`queries.missing_for_report`), as the command says it."""
    if isinstance(error, Invalid):
        return [message for messages_ in error.field_errors.values() for message in messages_]
    return [error.message]


def fair_share_page(request: HttpRequest) -> HttpResponse:
    """The year's latest published statement for everyone (and its earlier ones on request); the live figures
    only to a reader who sees every record behind them; to anyone else at most its own organization's live row,
    labelled partial when some record behind it is not released to it."""
    year = _year(request)
    actor = request.actor
    statements = list(statements_of(actor, year))
    chosen = request.GET.get("statement", "").strip()
    statement = next((s for s in statements if str(s.sequence) == chosen), None if chosen else next(iter(statements), None))
    if chosen and statement is None:  # never the latest in its place, which would be read as the one asked for
        raise Invalid({"statement": [_("No statement %(sequence)s of %(year)s.") % {"sequence": chosen, "year": year}]})
    try:
        report, problems = fair_share(actor, year), []
    except DomainError as error:
        report, problems = None, _problems(error)
    live = report if report is not None and report.complete else None
    if request.GET.get("format") in FORMATS and (live or statement):
        if live:
            header, rows = live.table()
            title = f"{_('Fair share')} {year}"
        else:
            header, rows = statement_table(statement)
            title = f"{_('Fair-share statement')} {year}-{statement.sequence}"
        return table_download(request.GET["format"], title, header, rows)
    context = {
        "year": year,
        "years": _years(request),
        "problems": problems,
        "statement": statement,
        "statement_rows": _statement_rows(statement) if statement else [],
        "published": _published(statement) if statement else None,
        "statements": statements,
        "superseded": statement is not None and statement != statements[0],
        "live": live,
        "own": None if live or problems else _own_row(actor, year),
        "may_publish": not problems and allowed(services.require_statement_publisher, actor),
    }
    if live:
        context |= {
            "report": live,
            "chart": bar_chart(
                _("Counted towards the fair share (bar) against the target (tick), EUR"),
                [
                    Bar(
                        s.name,
                        float(s.counted_eur),
                        format_eur_short(s.counted_eur),
                        marker=float(s.target_eur),
                        marker_text=_("target %(target)s") % {"target": format_eur_short(s.target_eur)},
                    )
                    for s in live.shares
                ],
            ),
            "rows": [{"share": s, "gap_eur": s.gap_eur, "percent": s.percent} for s in live.shares],
            "targets_total": sum(s.target_eur for s in live.shares),
            "counted_total": live.counted_total_eur,
        }
    return render(request, "funding/fair_share.html", context)


class PublishForm(ServiceForm):
    """The year is fixed by the page the form was opened from: sent back hidden and shown as text in the title; a
    refusal about it (no floor, no GDP figure, records not released) is shown above the fields."""

    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2014, max_value=2100, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Shown with the statement to everyone who reads it."),
        error_messages={"required": gettext_lazy("Say why the statement is published (it is shown with it).")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that a published statement cannot be changed or withdrawn; a later one supersedes it."),
        error_messages={"required": gettext_lazy("Tick the box to confirm that a published statement cannot be changed.")},
    )

    def _post_clean(self) -> None:
        for message in self._errors.pop("year", []) if self._errors else []:
            self.add_error(None, message)

    def show(self, error: DomainError) -> None:
        if isinstance(error, Invalid) and "year" in error.field_errors:
            error = Invalid({("__all__" if name == "year" else name): m for name, m in error.field_errors.items()})
        super().show(error)


@login_required
def publish_statement(request: HttpRequest) -> HttpResponse:
    services.require_statement_publisher(request.actor)
    posted = request.POST.get("year", "").strip()
    year = int(posted) if posted.isdigit() and 2014 <= int(posted) <= 2100 else _year(request)
    form = PublishForm(request.POST or None, initial={"year": year})
    page = FormPage(
        title=_("Publish the fair-share statement of %(year)s") % {"year": year},
        forms=[form],
        submit_label=_("Publish statement"),
        cancel_url=f"{reverse('fair-share')}?year={year}",
        intro=_(
            "The year's fair shares are computed now from every record that counts and kept as they are, with the "
            "data behind them, for participants and the public to read."
        ),
    )
    return submit(
        request,
        page,
        lambda: services.publish_statement(
            actor=request.actor, year=form.cleaned_data["year"], reason=form.cleaned_data["reason"]
        ),
        done=_("Statement published."),
    )
