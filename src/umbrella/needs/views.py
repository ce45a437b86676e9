from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from umbrella.core import listing
from umbrella.core.access import allowed, get_visible
from umbrella.core.errors import NotFound
from umbrella.core.numbers import units
from umbrella.logistics.queries import requirement_flow
from umbrella.needs import services
from umbrella.needs.models import LIST_LIFECYCLE, ListState, Requirement, RequirementList
from umbrella.needs.queries import LISTS, REQUIREMENTS, requirement_lists, requirements_on
from umbrella.places.forms import PlaceField, give_actor
from umbrella.ui.forms import ActorForm, posted_version
from umbrella.ui.pages import ConfirmPage, DetailPage, FormPage, history_rows, list_or_export, submit


class RequirementListForm(ActorForm):
    class Meta:
        model = RequirementList
        fields = ["series", "title", "notes", "marking"]


class RequirementListEditForm(ActorForm):
    class Meta:
        model = RequirementList
        fields = ["title", "notes", "marking"]


class RequirementForm(ActorForm):
    destination = PlaceField(label=gettext_lazy("Destination"))

    class Meta:
        model = Requirement
        fields = ["item_type", "quantity", "priority", "needed_by", "destination", "accept_substitutes", "notes", "marking"]

    def __init__(self, *args, actor, **kwargs) -> None:
        super().__init__(*args, actor=actor, **kwargs)
        give_actor(self, actor)


def requirement_list_list(request: HttpRequest) -> HttpResponse:
    queryset = requirement_lists(request.actor)
    may_create = allowed(services.require_recipient_editor, request.actor)
    return list_or_export(
        request,
        LISTS,
        queryset,
        title=_("Requirement lists"),
        create_url=reverse("requirement-list-new") if may_create else None,
        create_label=_("New requirement list"),
        empty=_("No requirement lists yet."),
        intro=_(
            "The recipient's needs, in priority order. Coordination staff approve a list; "
            "a change to an approved list is a new revision."
        ),
    )


def _list_actions(request: HttpRequest, lst: RequirementList) -> list[dict]:
    steps = [(step, LIST_LIFECYCLE.steps[step].label) for step in LIST_LIFECYCLE.possible(lst.state) if step != "supersede"]
    if lst.state in (ListState.APPROVED, ListState.SUPERSEDED):
        steps.append(("new-revision", _("Start a new revision")))
    return [
        {"step": step, "label": label} for step, label in steps if allowed(services.require_list_step, request.actor, lst, step)
    ]


def requirement_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lst = get_visible(RequirementList.objects.select_related("owner", "approved_by", "supersedes"), request.actor, pk=pk)
    result = listing.run(REQUIREMENTS, requirements_on(request.actor, lst), request.GET, request.actor)
    editable = allowed(services.require_list_editor, request.actor, lst)
    page = DetailPage(
        title=lst.title,
        obj=lst,
        fields=[
            (_("Series"), lst.series),
            (_("Revision"), lst.revision),
            (_("State"), lst.get_state_display()),
            (_("Owner"), lst.owner.name),
            (_("Approved"), f"{lst.approved_at:%Y-%m-%d} by {lst.approved_by}" if lst.approved_at else None),
            (_("Supersedes"), str(lst.supersedes) if lst.supersedes else None),
            (_("Marking"), lst.get_marking_display()),
            (_("Notes"), lst.notes),
            (_("Version"), lst.version),
        ],
        history=history_rows(lst),
        actions=_list_actions(request, lst),
        extra={"result": result, "editable": editable},
    )
    return render(request, "needs/requirement_list_detail.html", {"page": page})


@login_required
def requirement_list_create(request: HttpRequest) -> HttpResponse:
    services.require_recipient_editor(request.actor)
    form = RequirementListForm(request.POST or None, actor=request.actor)
    page = FormPage(
        title=_("New requirement list"), forms=[form], submit_label=_("Create"), cancel_url=reverse("requirement-lists")
    )
    return submit(request, page, lambda: services.create_requirement_list(actor=request.actor, fields=form.cleaned_data))


@login_required
def requirement_list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lst = get_visible(RequirementList.objects.all(), request.actor, pk=pk)
    services.require_list_editor(request.actor, lst)
    form = RequirementListEditForm(request.POST or None, instance=lst, actor=request.actor)
    page = FormPage(
        title=_("Edit %(title)s") % {"title": lst.title},
        forms=[form],
        submit_label=_("Save"),
        cancel_url=lst.get_absolute_url(),
        version=lst.version,
    )
    return submit(
        request,
        page,
        lambda: services.update_requirement_list(
            actor=request.actor, list_id=pk, expected_version=posted_version(request), changes=form.changed_values()
        ),
    )


@login_required
def requirement_list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lst = get_visible(RequirementList.objects.all(), request.actor, pk=pk)
    services.require_list_editor(request.actor, lst)
    if request.method == "POST":
        services.delete_requirement_list(actor=request.actor, list_id=pk, expected_version=posted_version(request))
        messages.success(request, _("Requirement list deleted."))
        return redirect("requirement-lists")
    page = ConfirmPage(
        title=_("Delete %(title)s") % {"title": lst.title},
        question=_("Delete this draft list and its requirements?"),
        submit_label=_("Delete"),
        cancel_url=lst.get_absolute_url(),
        version=lst.version,
    )
    return render(request, "ui/confirm_page.html", {"page": page})


STEPS = {
    "propose": services.propose_requirement_list,
    "approve": services.approve_requirement_list,
    "return": services.return_requirement_list,
}


@require_POST
@login_required
def requirement_list_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    if step == "new-revision":
        draft = services.start_new_revision(actor=request.actor, list_id=pk)
        messages.success(request, _("Revision %(n)s started as a draft.") % {"n": draft.revision})
        return redirect(draft)
    if step not in STEPS:
        get_visible(RequirementList.objects.all(), request.actor, pk=pk)
        raise NotFound(_("There is no step called %(step)s.") % {"step": step})
    lst = STEPS[step](actor=request.actor, list_id=pk, expected_version=posted_version(request))
    messages.success(request, _("The list is now %(state)s.") % {"state": lst.get_state_display()})
    return redirect(lst)


def requirement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    requirement = get_visible(
        Requirement.objects.select_related("item_type", "requirement_list", "owner", "destination"), request.actor, pk=pk
    )
    editable = allowed(services.require_list_editor, request.actor, requirement.requirement_list)
    page = DetailPage(
        title=str(requirement),
        obj=requirement,
        fields=[
            (_("Requirement list"), str(requirement.requirement_list)),
            (_("Item type"), str(requirement.item_type)),
            (_("Quantity"), requirement.quantity),
            (_("Priority"), requirement.priority),
            (_("Needed by"), requirement.needed_by),
            (_("Destination"), f"{requirement.destination.local_name} ({requirement.destination.code})"),
            (_("Substitutes"), _("accepted") if requirement.accept_substitutes else _("exact item only")),
            (_("Notes"), requirement.notes),
            (_("Marking"), requirement.get_marking_display()),
            (_("Version"), requirement.version),
            *_carried_from(request, requirement),
            *_flow(request, requirement),
        ],
        history=history_rows(requirement),
        extra={
            "editable": editable,
            "allocations": requirement.allocations.visible_to(request.actor)
            .filter(state="active")
            .select_related("pledge__owner", "pledge__item_type", "requirement__item_type", "requirement__destination"),
        },
    )
    return render(request, "needs/requirement_detail.html", {"page": page})


def _flow(request: HttpRequest, requirement: Requirement) -> list[tuple[str, str]]:
    """What its approved allocations have brought so far, each part counted once: handed over, on its way, or only
    allocated (never more than the allocations cover)."""
    flow = requirement_flow(request.actor, [requirement.pk]).get(requirement.pk)
    if flow is None:
        return []
    return [
        (_("Handed over"), units(flow["handed_over"])),
        (_("In transit"), units(flow["in_transit"])),
        (_("Only allocated"), units(flow["allocated"])),
    ]


def _carried_from(request: HttpRequest, requirement: Requirement) -> list[tuple[str, str]]:
    """The row of the earlier revision this one was copied from, when the reader may see it."""
    if requirement.carried_from_id is None:
        return []
    earlier = (
        Requirement.objects.visible_to(request.actor)
        .filter(pk=requirement.carried_from_id)
        .select_related("requirement_list")
        .first()
    )
    return [(_("Copied from"), f"{earlier.requirement_list} #{earlier.pk}")] if earlier else []


@login_required
def requirement_create(request: HttpRequest, pk: int) -> HttpResponse:
    lst = get_visible(RequirementList.objects.all(), request.actor, pk=pk)
    services.require_list_editor(request.actor, lst)
    form = RequirementForm(request.POST or None, actor=request.actor, initial={"marking": lst.marking})
    page = FormPage(
        title=_("Add a requirement to %(title)s") % {"title": lst.title},
        forms=[form],
        submit_label=_("Add"),
        cancel_url=lst.get_absolute_url(),
    )
    return submit(
        request,
        page,
        lambda: services.create_requirement(actor=request.actor, list_id=pk, fields=form.cleaned_data),
        done=_("Requirement added."),
        redirect_to=lst.get_absolute_url(),
    )


@login_required
def requirement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    requirement = get_visible(Requirement.objects.select_related("requirement_list"), request.actor, pk=pk)
    services.require_list_editor(request.actor, requirement.requirement_list)
    form = RequirementForm(request.POST or None, instance=requirement, actor=request.actor)
    page = FormPage(
        title=_("Edit requirement"),
        forms=[form],
        submit_label=_("Save"),
        cancel_url=requirement.get_absolute_url(),
        version=requirement.version,
    )
    return submit(
        request,
        page,
        lambda: services.update_requirement(
            actor=request.actor, requirement_id=pk, expected_version=posted_version(request), changes=form.changed_values()
        ),
    )


@login_required
def requirement_delete(request: HttpRequest, pk: int) -> HttpResponse:
    requirement = get_visible(Requirement.objects.select_related("requirement_list"), request.actor, pk=pk)
    services.require_list_editor(request.actor, requirement.requirement_list)
    if request.method == "POST":
        services.delete_requirement(actor=request.actor, requirement_id=pk, expected_version=posted_version(request))
        messages.success(request, _("Requirement deleted."))
        return redirect(requirement.requirement_list)
    page = ConfirmPage(
        title=_("Delete requirement"),
        question=str(requirement),
        submit_label=_("Delete"),
        cancel_url=requirement.get_absolute_url(),
        version=requirement.version,
    )
    return render(request, "ui/confirm_page.html", {"page": page})
