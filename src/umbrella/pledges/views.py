from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from umbrella.core.access import Marking, Role, allowed, get_visible, require_owner
from umbrella.core.errors import Invalid
from umbrella.core.money import format_eur
from umbrella.pledges import services
from umbrella.pledges.models import PLEDGE_LIFECYCLE, Pledge, PledgeSource, PledgeState
from umbrella.pledges.queries import PLEDGES
from umbrella.web.forms import ActorForm, posted_version
from umbrella.web.pages import ConfirmPage, DetailPage, FormPage, history_rows, list_or_export, submit


class PledgeForm(ActorForm):
    class Meta:
        model = Pledge
        fields = ["item_type", "quantity", "available_from", "value_eur", "valuation_basis", "end_use_restrictions",
                  "allowed_destinations", "retransfer_requires_consent", "reference", "notes", "marking"]
        widgets = {"available_from": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value_eur"].required = False
        self.fields["value_eur"].help_text = _("Leave empty to use quantity × the item type's unit value.")


class SourceForm(ActorForm):
    legend = gettext_lazy("Source")
    url = forms.URLField(label=gettext_lazy("URL"), max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = PledgeSource
        fields = ["kind", "url", "document_reference", "date", "note"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}


def pledge_list(request: HttpRequest) -> HttpResponse:
    queryset = Pledge.objects.visible_to(request.actor).select_related("owner", "item_type__capability_area")
    may_create = allowed(services.require_donor_editor, request.actor)
    return list_or_export(
        request, PLEDGES, queryset, title=_("Pledges"), export_kind="pledges",
        create_url=reverse("pledge-new") if may_create else None, create_label=_("New pledge"),
    )


def _actions(request: HttpRequest, pledge: Pledge) -> list[dict]:
    return [
        {"step": step, "label": PLEDGE_LIFECYCLE.steps[step].label, "asks_quantity": step == "deliver"}
        for step in PLEDGE_LIFECYCLE.possible(pledge.state)
        if step not in services.ALLOCATION_STEPS
        if allowed(services.require_step_party, request.actor, pledge, step)
    ]


def pledge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(Pledge.objects.select_related("owner", "item_type"), request.actor, pk=pk)
    owner_editor = allowed(require_owner, request.actor, pledge, Role.EDITOR, doing="")
    page = DetailPage(
        title=str(pledge), obj=pledge,
        fields=[
            (_("Donor"), pledge.owner.name), (_("Item type"), str(pledge.item_type)), (_("State"), pledge.get_state_display()),
            (_("Quantity pledged"), pledge.quantity), (_("Quantity delivered"), pledge.quantity_delivered),
            (_("Available from"), pledge.available_from),
            (_("Value"), f"{format_eur(pledge.value_eur)} ({pledge.get_valuation_basis_display()})"),
            (_("End-use restrictions"), pledge.end_use_restrictions),
            (_("Only to these destinations"), "; ".join(pledge.destination_list) or _("anywhere")),
            (_("Re-transfer needs consent"), _("yes") if pledge.retransfer_requires_consent else _("no")),
            (_("Donor reference"), pledge.reference), (_("Notes"), pledge.notes),
            (_("Marking"), pledge.get_marking_display()), (_("Version"), pledge.version),
        ],
        history=history_rows(pledge), actions=_actions(request, pledge),
        extra={
            "sources": pledge.sources.all(),
            "allocations": pledge.allocations.visible_to(request.actor).filter(state="active")
            .select_related("pledge__owner", "pledge__item_type", "requirement__item_type"),
            "editable": allowed(services.require_pledge_editor, request.actor, pledge),
            "deletable": owner_editor and pledge.state == PledgeState.ANNOUNCED,
            "may_add_source": allowed(services.require_source_keeper, request.actor, pledge),
        },
    )
    return render(request, "pledges/pledge_detail.html", {"page": page})


@login_required
def pledge_create(request: HttpRequest) -> HttpResponse:
    services.require_donor_editor(request.actor)
    form = PledgeForm(request.POST or None, actor=request.actor, prefix="pledge", initial={"marking": Marking.COORDINATION})
    source_form = SourceForm(request.POST or None, actor=request.actor, prefix="source")

    def save():
        fields = {name: value for name, value in form.cleaned_data.items() if not (name == "value_eur" and value is None)}
        return services.create_pledge(actor=request.actor, fields=fields, sources=[source_form.cleaned_data])

    page = FormPage(title=_("New pledge"), forms=[form, source_form], submit_label=_("Announce the pledge"), cancel_url=reverse("pledges"))
    return submit(request, page, save, done=_("Pledge announced."))


@login_required
def pledge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(Pledge.objects.all(), request.actor, pk=pk)
    services.require_pledge_editor(request.actor, pledge)
    form = PledgeForm(request.POST or None, instance=pledge, actor=request.actor, prefix="pledge")
    page = FormPage(title=_("Edit pledge"), forms=[form], submit_label=_("Save"), cancel_url=pledge.get_absolute_url(), version=pledge.version)
    return submit(request, page, lambda: services.update_pledge(
        actor=request.actor, pledge_id=pk, expected_version=posted_version(request), changes=form.changed_values()),
        done=_("Saved."))


@login_required
def pledge_delete(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(Pledge.objects.select_related("item_type", "owner"), request.actor, pk=pk)
    require_owner(request.actor, pledge, Role.EDITOR, doing=_("Deleting a pledge"))
    if request.method == "POST":
        services.delete_pledge(actor=request.actor, pledge_id=pk, expected_version=posted_version(request))
        messages.success(request, _("Pledge deleted."))
        return redirect("pledges")
    page = ConfirmPage(title=_("Delete pledge"), question=_("Delete %(pledge)s? Only an announced pledge can be deleted.") % {"pledge": pledge},
                       submit_label=_("Delete"), cancel_url=pledge.get_absolute_url(), version=pledge.version)
    return render(request, "web/confirm_page.html", {"page": page})


@require_POST
@login_required
def pledge_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    delivered = request.POST.get("quantity_delivered") or None
    if delivered is not None and not delivered.isdigit():
        raise Invalid({"quantity_delivered": [_("Give a whole number.")]})
    pledge = services.advance_pledge(
        actor=request.actor, pledge_id=pk, step=step, expected_version=posted_version(request),
        quantity_delivered=int(delivered) if delivered is not None else None,
    )
    messages.success(request, _("The pledge is now %(state)s.") % {"state": pledge.get_state_display()})
    return redirect(pledge)


@login_required
def source_create(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(Pledge.objects.select_related("item_type", "owner"), request.actor, pk=pk)
    services.require_source_keeper(request.actor, pledge)
    form = SourceForm(request.POST or None, actor=request.actor)
    page = FormPage(title=_("Add a source to %(pledge)s") % {"pledge": pledge}, forms=[form], submit_label=_("Add"), cancel_url=pledge.get_absolute_url())
    return submit(request, page, lambda: services.add_pledge_source(actor=request.actor, pledge_id=pk, fields=form.cleaned_data),
                  done=_("Source added."), redirect_to=pledge.get_absolute_url())


@require_POST
@login_required
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_visible(PledgeSource.objects.select_related("pledge"), request.actor, pk=pk)
    services.delete_pledge_source(actor=request.actor, source_id=pk)
    messages.success(request, _("Source removed."))
    return redirect(source.pledge)
