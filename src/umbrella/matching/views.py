from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from umbrella.core.access import Actor, allowed, get_visible
from umbrella.core.errors import DomainError, Invalid
from umbrella.core.numbers import number, percent, units
from umbrella.matching import services
from umbrella.matching.models import Allocation, AllocationState, MatchRun, RunState
from umbrella.matching.queries import (
    ALLOCATIONS,
    PRIORITIES,
    RUNS,
    Decision,
    allocations,
    decision_of,
    match_runs,
    offer_outcomes,
    package_outcomes,
    package_rows,
    proposals_for,
    reason_text,
    requirement_label,
    summarize,
    unmet_outcomes,
    unmet_rows,
)
from umbrella.ui.forms import posted_version
from umbrella.ui.pages import DetailPage, FormPage, history_rows, list_or_export, submit
from umbrella.ui.sections import Section, section

NONE_SELECTED = "none_selected"


class RunForm(forms.Form):
    keep_approved = forms.BooleanField(
        label=gettext_lazy("Keep approved allocations fixed"),
        required=False,
        initial=True,
        help_text=gettext_lazy("Untick to plan again the allocations of pledges not yet shipped; approving then replaces them."),
    )
    diversity_points = forms.FloatField(
        label=gettext_lazy("Fleet-diversity penalty"),
        min_value=0,
        initial=0,
        help_text=gettext_lazy(
            "Points given up for each extra type of crew-served system in one capability area at one "
            "destination (each priority-3 unit delivered is worth 100). 0 turns the term off."
        ),
    )

    complete_packages = forms.BooleanField(
        label=gettext_lazy("Complete packages"),
        required=False,
        initial=False,
        help_text=gettext_lazy(
            "Also value deliveries that put munitions where the launchers that fire them are or are proposed, and "
            "launchers where their munitions are. Incomplete packages are listed either way."
        ),
    )

    def show(self, error: DomainError) -> None:
        if isinstance(error, Invalid):
            for name, problems in error.field_errors.items():
                for problem in problems:
                    self.add_error(name if name in self.fields else None, problem)
        else:
            raise error


def run_list(request: HttpRequest) -> HttpResponse:
    may_run = allowed(services.require_match_runner, request.actor)
    return list_or_export(
        request,
        RUNS,
        match_runs(request.actor),
        title=_("Match runs"),
        export_kind="match-runs",
        create_url=reverse("match-run-new") if may_run else None,
        create_label=_("Run a match"),
        # As on the scenarios list: whether runs exist that the reader may not see is not theirs to know.
        empty=_("No match runs yet.") if may_run else _("Match runs are made by coordination staff; none is shared with you."),
        intro=_(
            "Each run matches the approved requirement list against the accepted pledges. Coordination staff review a run "
            "and approve its proposals, which become allocations."
        ),
    )


@login_required
def run_create(request: HttpRequest) -> HttpResponse:
    services.require_match_runner(request.actor)
    form = RunForm(request.POST or None)
    page = FormPage(
        title=_("Run a match"),
        forms=[form],
        submit_label=_("Run"),
        cancel_url=reverse("match-runs"),
        intro=_("Matches the latest approved requirement list against every accepted pledge with something left."),
    )
    return submit(
        request,
        page,
        lambda: services.run_match(
            actor=request.actor,
            keep_approved=form.cleaned_data["keep_approved"],
            diversity_points=form.cleaned_data["diversity_points"],
            complete_packages=form.cleaned_data["complete_packages"],
        ),
        done=_("The match run is ready for review."),
    )


class RunListFilters(forms.Form):
    """One set of filters for the lists of a run's page; each list applies those that name something it holds."""

    donor = forms.ChoiceField(label=gettext_lazy("Donor"), required=False)
    item = forms.CharField(label=gettext_lazy("Item type (name or code)"), required=False, max_length=100)
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"),
        required=False,
        choices=[("", gettext_lazy("all")), *((str(p), f"P{p}") for p in PRIORITIES)],
    )

    def __init__(self, data, *, donors: list[tuple[str, str]]):
        super().__init__(_donor_as_listed(data, [code for code, _name in donors]))
        self.fields["donor"].choices = [("", _("all")), *donors]

    def narrow(self, rows, *, pledge: str | None = None, requirement: str | None = None):
        values = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if pledge and values.get("donor"):
            rows = rows.filter(**{f"{pledge}owner__code": values["donor"]})
        if values.get("item"):
            path = pledge or requirement
            rows = rows.filter(
                Q(**{f"{path}item_type__name__icontains": values["item"]})
                | Q(**{f"{path}item_type__code__icontains": values["item"]})
            )
        if requirement and values.get("priority"):
            rows = rows.filter(**{f"{requirement}priority": values["priority"]})
        return rows


def _donor_as_listed(data, codes: list[str]):
    """The filters with the donor code spelled as listed, so a typed `?donor=deu` finds DEU."""
    typed = data.get("donor") if data is not None else None
    listed = {code.casefold(): code for code in codes}
    if not typed or typed.casefold() not in listed:
        return data
    data = data.copy()
    data["donor"] = listed[typed.casefold()]
    return data


def _section(request: HttpRequest, unfiltered, rows, param: str) -> Section:
    return section(request, rows, param, total=unfiltered.count(), keep_out=("select", NONE_SELECTED))


def _donors(run: MatchRun, actor: Actor) -> list[tuple[str, str]]:
    """The donors of the run's rows, by code as every other list names a donor (`?donor=XDA`)."""
    owners = set(proposals_for(run, actor).values_list("pledge__owner__code", "pledge__owner__name")) | set(
        offer_outcomes(run, actor).values_list("pledge__owner__code", "pledge__owner__name")
    )
    return sorted(owners, key=lambda owner: owner[1])


def _proposal_decision(proposal, run: MatchRun) -> str:
    if getattr(proposal, "allocation", None) is not None:
        return _("approved")
    return {RunState.PROPOSED: _("awaiting review"), RunState.SUPERSEDED: _("superseded")}.get(run.state, _("declined"))


def _points(points: float, available: float) -> str:
    return f"{number(points, 1)} / {number(available, 1)} ({percent(100 * points / available)})"


def _run_fields(run: MatchRun, decision: Decision) -> list[tuple[str, object]]:
    available = run.statistics.get("points_available") or 1.0
    planned = _points(run.objective, available)
    if run.state == RunState.DECIDED:
        points = [
            (_("Coverage points planned, were every proposal approved"), planned),
            (_("Coverage points approved"), _points(decision.approved_points, available)),
        ]
    else:
        points = [(_("Coverage points planned"), planned)]
    if decision.kept_points >= 0.05:
        points.append((_("Of these, kept from allocations approved before the run"), number(decision.kept_points, 1)))
    return [
        (_("State"), run.get_state_display()),
        (_("Created"), f"{run.created_at:%Y-%m-%d %H:%M} UTC ({run.created_by or _('system')})"),
        *points,
        (_("Greedy baseline (coverage points)"), number(run.statistics.get("greedy_points", 0), 1)),
        (
            _("Objective with preferences / greedy"),
            f"{number(run.statistics.get('objective', 0), 3)} / {number(run.statistics.get('greedy_objective', 0), 3)}",
        ),
        (_("Approved allocations"), _("kept fixed") if run.keep_approved else _("planned again")),
        (_("Fleet-diversity penalty"), run.diversity_points),
        (
            _("Complete packages"),
            _("valued (%(points)s points per package completed)") % {"points": number(run.statistics.get("package_points", 0), 0)}
            if run.complete_packages
            else _("not valued"),
        ),
        (_("Decided"), f"{run.decided_at:%Y-%m-%d %H:%M} UTC ({run.decided_by})" if run.decided_at else None),
        (_("Results digest (SHA-256)"), run.results_digest),
    ]


def _suggestions(run: MatchRun) -> list[dict]:
    """The run's extra pledges, each marked `past` when the day its requirements need it by had already passed
    when the run was made: no new pledge can be available by then, only as soon as possible."""
    made = run.created_at.date().isoformat()
    return [{**suggestion, "past": suggestion["available_by"] < made} for suggestion in run.suggestions]


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_visible(MatchRun.objects.select_related("requirement_list", "created_by", "decided_by"), request.actor, pk=pk)
    summary = summarize(run, request.actor, unmet_limit=0)
    decision = decision_of(run, request.actor)
    filters = RunListFilters(request.GET or None, donors=_donors(run, request.actor))
    proposals, gaps, unused = (
        proposals_for(run, request.actor),
        unmet_outcomes(run, request.actor),
        offer_outcomes(run, request.actor),
    )
    proposal_section = _section(
        request, proposals, filters.narrow(proposals, pledge="pledge__", requirement="requirement__"), "proposals_page"
    )
    unmet_section = _section(request, gaps, filters.narrow(gaps, requirement="requirement__"), "unmet_page")
    unused_section = _section(request, unused, filters.narrow(unused, pledge="pledge__"), "unused_page")
    packages = package_outcomes(run, request.actor)
    package_section = _section(request, packages, filters.narrow(packages, requirement=""), "packages_page")
    page = DetailPage(
        title=str(run),
        obj=run,
        fields=_run_fields(run, decision),
        history=history_rows(run),
        extra={
            "summary": summary,
            "suggestions": _suggestions(run),
            "decision": decision,
            "filters": filters,
            "proposals": proposal_section,
            "proposal_rows": [
                {
                    "proposal": p,
                    "decision": _proposal_decision(p, run),
                    "label": _("Select: requirement %(requirement)s from %(pledge)s")
                    % {
                        "requirement": requirement_label(p.requirement),
                        "pledge": f"{p.pledge.item_type.name} ({p.pledge.owner.name})",
                    },
                }
                for p in proposal_section.page.object_list
            ],
            "select_page": request.GET.get("select") == "page",
            "none_selected": bool(request.GET.get(NONE_SELECTED)),
            "unmet": unmet_section,
            "unmet_rows": unmet_rows(list(unmet_section.page.object_list), request.actor),
            "unused": unused_section,
            "unused_rows": [(o, reason_text(o.reason, o.late_days, [])) for o in unused_section.page.object_list],
            "packages": package_section,
            "package_rows": package_rows(list(package_section.page.object_list), run, request.actor),
            "may_approve": run.state == RunState.PROPOSED
            and decision.proposals > 0
            and allowed(services.require_allocation_approver, request.actor),
            "nothing_to_approve": run.state == RunState.PROPOSED and decision.proposals == 0,
        },
    )
    return render(request, "matching/run_detail.html", {"page": page}, status=400 if filters.errors else 200)


@login_required
def run_approve(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_visible(MatchRun.objects.select_related("requirement_list"), request.actor, pk=pk)
    if request.method != "POST":
        # Reached by reloading, from history, or after a refusal sent the browser back to its confirmation page:
        # the run's own page says what state it is in and what may be done with it.
        return redirect("match-run", pk=pk)
    services.require_allocation_approver(request.actor)
    chosen = None if request.POST.get("all") else request.POST.getlist("proposal")
    if chosen is not None and not all(value.isdigit() for value in chosen):
        raise Invalid({"proposals": [_("Choose proposals from the list.")]})
    if chosen == []:
        # Said beside the approval form, where the browser lands, not at the top of a long page out of view.
        return redirect(f"{run.get_absolute_url()}?{NONE_SELECTED}=1#proposals")
    if not request.POST.get("confirmed"):
        return _confirm_approval(request, run, chosen)
    allocations = services.approve_proposals(
        actor=request.actor, run_id=pk, expected_version=posted_version(request), proposal_ids=chosen
    )
    messages.success(
        request,
        ngettext("%(count)d allocation approved.", "%(count)d allocations approved.", len(allocations))
        % {"count": len(allocations)},
    )
    return redirect("match-run", pk=pk)


def _confirm_approval(request: HttpRequest, run: MatchRun, chosen: list[str] | None) -> HttpResponse:
    """What approving will do, in numbers, before it is done: the rest of the run's proposals are declined."""
    proposals = proposals_for(run, request.actor)
    total = proposals.count()
    approving = total if chosen is None else proposals.filter(pk__in=chosen).count()
    page = {
        "title": _("Approve proposals of %(run)s") % {"run": run},
        "run": run,
        "chosen": chosen or [],
        "all": chosen is None,
        "approving": approving,
        "declining": total - approving,
        "total": total,
        "version": posted_version(request),
    }
    return render(request, "matching/approve_confirm.html", {"page": page})


def allocation_list(request: HttpRequest) -> HttpResponse:
    return list_or_export(
        request,
        ALLOCATIONS,
        allocations(request.actor),
        title=_("Allocations"),
        export_kind="allocations",
        intro=_("Pledges assigned to requirements by approved match runs."),
        empty=_("No allocations yet."),
    )


def allocation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_visible(
        Allocation.objects.select_related(
            "pledge__owner", "pledge__item_type", "requirement__item_type", "requirement__destination", "proposal__run"
        ),
        request.actor,
        pk=pk,
    )
    run = (
        MatchRun.objects.visible_to(request.actor).filter(pk=allocation.proposal.run_id).first() if allocation.proposal else None
    )
    page = DetailPage(
        title=str(allocation),
        obj=allocation,
        fields=[
            (_("Pledge"), str(allocation.pledge)),
            (_("Requirement"), requirement_label(allocation.requirement)),
            (_("Quantity (pledge units)"), units(allocation.quantity)),
            (_("Covers (requirement units)"), units(allocation.covers)),
            (_("State"), allocation.get_state_display()),
            (_("Approved from"), str(run) if run else None),
            *([(_("Reason for release"), allocation.release_reason)] if allocation.release_reason else []),
        ],
        history=history_rows(allocation),
        extra={
            "may_release": allocation.state == AllocationState.ACTIVE
            and allowed(services.require_allocation_approver, request.actor),
            "run": run,
        },
    )
    return render(request, "matching/allocation_detail.html", {"page": page})


@require_POST
@login_required
def allocation_release(request: HttpRequest, pk: int) -> HttpResponse:
    services.release_allocation(actor=request.actor, allocation_id=pk, expected_version=posted_version(request))
    messages.success(request, _("Allocation released."))
    return redirect("allocation", pk=pk)
