from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from umbrella.core.access import allowed, get_visible
from umbrella.core.errors import DomainError, Invalid
from umbrella.core.numbers import number, percent, units
from umbrella.matching import services
from umbrella.matching.models import Allocation, AllocationState, MatchRun, OfferOutcome, RunState
from umbrella.matching.queries import ALLOCATIONS, RUNS, proposals_for, reason_text, requirement_label, summarize
from umbrella.web.forms import posted_version
from umbrella.web.pages import DetailPage, FormPage, history_rows, list_or_export, submit

PROPOSALS_PER_PAGE = 100
UNMET_SHOWN = 100


class RunForm(forms.Form):
    keep_approved = forms.BooleanField(
        label=gettext_lazy("Keep approved allocations fixed"), required=False, initial=True,
        help_text=gettext_lazy("Untick to plan again the allocations of pledges not yet shipped; approving then replaces them."),
    )
    diversity_points = forms.FloatField(
        label=gettext_lazy("Fleet-diversity penalty"), min_value=0, initial=0,
        help_text=gettext_lazy("Points given up for each extra type of crew-served system in one capability area at one "
                               "destination (each priority-3 unit delivered is worth 100). 0 turns the term off."),
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
        request, RUNS, MatchRun.objects.visible_to(request.actor).select_related("requirement_list"), title=_("Match runs"),
        export_kind="match-runs",
        create_url=reverse("match-run-new") if may_run else None, create_label=_("Run a match"),
        intro=_("Each run matches the approved requirement list against the accepted pledges. Coordination staff review a run "
                "and approve its proposals, which become allocations."),
    )


@login_required
def run_create(request: HttpRequest) -> HttpResponse:
    services.require_match_runner(request.actor)
    form = RunForm(request.POST or None)
    page = FormPage(title=_("Run a match"), forms=[form], submit_label=_("Run"), cancel_url=reverse("match-runs"),
                    intro=_("Matches the latest approved requirement list against every accepted pledge with something left."))
    return submit(request, page, lambda: services.run_match(
        actor=request.actor, keep_approved=form.cleaned_data["keep_approved"], diversity_points=form.cleaned_data["diversity_points"]),
        done=_("The match run is ready for review."))


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_visible(MatchRun.objects.select_related("requirement_list", "created_by", "decided_by"), request.actor, pk=pk)
    summary = summarize(run, request.actor, unmet_limit=UNMET_SHOWN)
    proposals = Paginator(proposals_for(run, request.actor), PROPOSALS_PER_PAGE).get_page(request.GET.get("page"))
    unused = (OfferOutcome.objects.visible_to(request.actor).filter(run=run)
              .select_related("pledge__owner", "pledge__item_type").order_by("reason", "pledge_id")[:UNMET_SHOWN])
    available = run.statistics.get("points_available") or 1.0
    page = DetailPage(
        title=str(run), obj=run,
        fields=[
            (_("State"), run.get_state_display()), (_("Created"), f"{run.created_at:%Y-%m-%d %H:%M} UTC ({run.created_by or _('system')})"),
            (_("Coverage points"), f"{number(run.objective, 1)} / {number(available, 1)} ({percent(100 * run.objective / available)})"),
            (_("Greedy baseline (coverage points)"), number(run.statistics.get('greedy_points', 0), 1)),
            (_("Objective with preferences / greedy"), f"{number(run.statistics.get('objective', 0), 3)} / {number(run.statistics.get('greedy_objective', 0), 3)}"),
            (_("Approved allocations"), _("kept fixed") if run.keep_approved else _("planned again")),
            (_("Fleet-diversity penalty"), run.diversity_points),
            (_("Decided"), f"{run.decided_at:%Y-%m-%d %H:%M} UTC ({run.decided_by})" if run.decided_at else None),
            (_("Results digest (SHA-256)"), run.results_digest),
        ],
        history=history_rows(run),
        extra={
            "summary": summary, "proposals": proposals, "unmet": summary.unmet, "unmet_total": summary.unmet_total,
            "unused": [(o, reason_text(o.reason, o.late_days, [])) for o in unused],
            "may_approve": run.state == RunState.PROPOSED and allowed(services.require_allocation_approver, request.actor),
            "label": requirement_label,
        },
    )
    return render(request, "matching/run_detail.html", {"page": page})


@require_POST
@login_required
def run_approve(request: HttpRequest, pk: int) -> HttpResponse:
    chosen = None if request.POST.get("all") else request.POST.getlist("proposal")
    if chosen is not None and not all(value.isdigit() for value in chosen):
        raise Invalid({"proposals": [_("Choose proposals from the list.")]})
    allocations = services.approve_proposals(actor=request.actor, run_id=pk, expected_version=posted_version(request),
                                             proposal_ids=chosen)
    messages.success(request, _("%(count)d allocations approved.") % {"count": len(allocations)})
    return redirect("match-run", pk=pk)


def allocation_list(request: HttpRequest) -> HttpResponse:
    queryset = Allocation.objects.visible_to(request.actor).select_related("pledge__owner", "pledge__item_type", "requirement__item_type")
    return list_or_export(request, ALLOCATIONS, queryset, title=_("Allocations"), export_kind="allocations",
                          intro=_("Pledges assigned to requirements by approved match runs."))


def allocation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_visible(Allocation.objects.select_related("pledge__owner", "pledge__item_type", "requirement__item_type", "proposal__run"),
                             request.actor, pk=pk)
    run = MatchRun.objects.visible_to(request.actor).filter(pk=allocation.proposal.run_id).first() if allocation.proposal else None
    page = DetailPage(
        title=str(allocation), obj=allocation,
        fields=[
            (_("Pledge"), str(allocation.pledge)), (_("Requirement"), requirement_label(allocation.requirement)),
            (_("Quantity (pledge units)"), units(allocation.quantity)), (_("Covers (requirement units)"), units(allocation.covers)),
            (_("State"), allocation.get_state_display()), (_("Approved from"), str(run) if run else None),
            *([(_("Reason for release"), allocation.release_reason)] if allocation.release_reason else []),
        ],
        history=history_rows(allocation),
        extra={"may_release": allocation.state == AllocationState.ACTIVE and allowed(services.require_allocation_approver, request.actor),
               "run": run},
    )
    return render(request, "matching/allocation_detail.html", {"page": page})


@require_POST
@login_required
def allocation_release(request: HttpRequest, pk: int) -> HttpResponse:
    services.release_allocation(actor=request.actor, allocation_id=pk, expected_version=posted_version(request))
    messages.success(request, _("Allocation released."))
    return redirect("allocation", pk=pk)
