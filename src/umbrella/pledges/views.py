from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core.access import Marking, Role, allowed, get_visible, require_owner
from umbrella.core.errors import NotFound
from umbrella.core.numbers import format_eur, number
from umbrella.places.forms import PlacesField, give_actor
from umbrella.pledges import services
from umbrella.pledges.models import (
    CLOSING_STEPS,
    PLEDGE_LIFECYCLE,
    REASON_MAX_LENGTH,
    AidPackage,
    Pledge,
    PledgeSource,
    PledgeState,
)
from umbrella.pledges.queries import AID_PACKAGES, PLEDGES, aid_package_figures, aid_packages, pledge_history, pledges
from umbrella.ui.forms import ActorForm, ServiceForm, posted_version
from umbrella.ui.pages import ConfirmPage, DetailPage, FormPage, history_rows, list_or_export, submit

# Steps that cannot be taken back: the pledge page leads to a page asking to confirm them (and, for closing
# steps, why) instead of taking them with one click.
CONFIRMED_STEPS = frozenset({"accept", "withdraw", "expire", "deliver", "hand_over"})
# Steps that record goods arriving: before the pledge's availability date they ask to confirm it is so.
ARRIVAL_STEPS = frozenset({"deliver", "hand_over"})
STEP_QUESTIONS = {
    "accept": gettext_lazy("Accept %(pledge)s for matching? An accepted pledge is offered to every match run."),
    "withdraw": gettext_lazy("Withdraw %(pledge)s? It cannot be offered again, and whatever was allocated from it is released."),
    "expire": gettext_lazy(
        "Mark %(pledge)s as expired? It cannot be offered again, and whatever was allocated from it is released."
    ),
    "deliver": gettext_lazy("Confirm that %(pledge)s arrived? Say how many arrived."),
    "hand_over": gettext_lazy("Confirm the handover of %(pledge)s? Title passes to the recipient."),
}


class PledgeForm(ActorForm):
    payers = forms.CharField(
        label=gettext_lazy("Payers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Who pays what share: an organization code and its share, one per line (or separated by ';'), such as "
            "NLD 0.6; DEU 0.4. The shares add up to exactly 1. Empty: the donor pays all of it."
        ),
    )
    allowed_destinations = PlacesField(
        label=gettext_lazy("Only to these destinations"),
        help_text=gettext_lazy(
            "A donor's condition: places by code, name or alias, one per line (or separated by ';'); a country or "
            "region includes every place within it. Empty means anywhere."
        ),
    )

    class Meta:
        model = Pledge
        fields = [
            "item_type",
            "quantity",
            "available_from",
            "value_eur",
            "valuation_basis",
            "end_use_restrictions",
            "allowed_destinations",
            "retransfer_requires_consent",
            "instrument",
            "supplier",
            "origin",
            "payers",
            "reference",
            "notes",
            "aid_package",
            "marking",
        ]
        widgets = {"available_from": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        give_actor(self, self.actor)
        if self.instance.pk:
            self.initial["allowed_destinations"] = self.instance.destination_list
            self.initial["payers"] = services.payers_text(self.instance)
        self.fields["value_eur"].required = False
        self.fields["value_eur"].help_text = _(
            "Leave empty to use quantity × the item type's unit value. A line whose quantity is undisclosed takes "
            "its value from its aid package."
        )
        self.fields["aid_package"].queryset = AidPackage.objects.visible_to(self.actor).filter(
            owner_id=getattr(self.actor.organization, "pk", None)
        )
        self.fields["instrument"].required = False

    def clean_instrument(self) -> str:
        """Not given (a form posted by a script from before instruments): left as it is, or the default when new."""
        return self.cleaned_data.get("instrument") or self.instance.instrument


class SourceForm(ActorForm):
    legend = gettext_lazy("Source")
    url = forms.URLField(label=gettext_lazy("URL"), max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = PledgeSource
        fields = ["kind", "url", "document_reference", "date", "note"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}


def reason_field(required: bool, pledge: Pledge) -> forms.CharField:
    """A reason is kept in the ledger and read with the pledge, so the field says by whom before it is written."""
    readers = Marking(pledge.marking).label
    return forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=REASON_MAX_LENGTH,
        required=required,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the ledger, and shown with the pledge to everyone it is released to: %(readers)s.")
        % {"readers": readers},
    )


class StepForm(ServiceForm):
    """What a step asks beyond confirmation: the quantity that arrived, or why a pledge closes."""

    def __init__(self, *args, pledge: Pledge, step: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if step == "deliver":
            self.fields["quantity_delivered"] = forms.IntegerField(
                label=gettext_lazy("Quantity delivered"), min_value=1, max_value=pledge.quantity, initial=pledge.quantity
            )
        if step in CLOSING_STEPS:
            self.fields["reason"] = reason_field(required=True, pledge=pledge)
        if step in ARRIVAL_STEPS and timezone.localdate() < pledge.available_from:
            self.fields["before_availability"] = forms.BooleanField(
                label=_("Yes, before the availability date (%(date)s)") % {"date": date_format(pledge.available_from)},
                help_text=gettext_lazy("The pledge is not available until then; confirm that it arrived early all the same."),
                error_messages={"required": gettext_lazy("Tick this to confirm it happened before the availability date.")},
            )

    def service_arguments(self) -> dict:
        """What the service takes: the early-arrival confirmation is the page's question, not the service's."""
        return {name: value for name, value in self.cleaned_data.items() if name != "before_availability"}


class SourceRemovalForm(ServiceForm):
    def __init__(self, *args, reason_required: bool, pledge: Pledge, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"] = reason_field(required=reason_required, pledge=pledge)


def pledge_list(request: HttpRequest) -> HttpResponse:
    queryset = pledges(request.actor)
    may_create = allowed(services.require_donor_editor, request.actor)
    return list_or_export(
        request,
        PLEDGES,
        queryset,
        title=_("Pledges"),
        export_kind="pledges",
        create_url=reverse("pledge-new") if may_create else None,
        create_label=_("New pledge"),
        empty=_("No pledges yet."),
    )


def _actions(request: HttpRequest, pledge: Pledge) -> list[dict]:
    return [
        {"step": step, "label": PLEDGE_LIFECYCLE.steps[step].label, "confirmed": step in CONFIRMED_STEPS}
        for step in PLEDGE_LIFECYCLE.possible(pledge.state)
        if step not in services.ALLOCATION_STEPS
        if not (step in services.MANUAL_DELIVERY_STEPS and pledge.quantity_shipped)  # its consignments drive it
        if pledge.quantity_disclosed or step not in services.STEPS_NEEDING_QUANTITY
        if allowed(services.require_step_party, request.actor, pledge, step)
    ]


def of_pledged(part: int, pledge: Pledge) -> str:
    """Part of the pledge as "6 of 14": it arrives in consignments, so how much of it has moved is the question."""
    if not pledge.quantity_disclosed:
        return number(part)
    return _("%(part)s of %(quantity)s") % {"part": number(part), "quantity": number(pledge.quantity)}


def _payers_shown(pledge: Pledge) -> str:
    """Each payer by name with its share in per cent, largest first (the form takes them as codes and fractions)."""
    shown = []
    for payer in pledge.payers.select_related("organization"):
        percent = payer.share * 100
        shown.append(f"{payer.organization.name} {number(percent, 0 if percent == percent.to_integral() else 2)} %")
    return "; ".join(shown)


def pledge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(
        Pledge.objects.select_related("owner", "item_type", "supplier", "aid_package__owner").prefetch_related(
            "payers__organization"
        ),
        request.actor,
        pk=pk,
    )
    owner_editor = allowed(require_owner, request.actor, pledge, Role.EDITOR, doing="")
    page = DetailPage(
        title=str(pledge),
        obj=pledge,
        fields=[
            (_("Donor"), pledge.owner.name),
            (_("Item type"), str(pledge.item_type)),
            (_("State"), pledge.get_state_display()),
            (
                _("Quantity pledged"),
                pledge.quantity if pledge.quantity_disclosed else f"{pledge.quantity_label}: {services.UNDISCLOSED_REFUSAL}",
            ),
            (_("Quantity shipped"), of_pledged(pledge.quantity_shipped, pledge)),
            (_("Quantity received"), of_pledged(pledge.quantity_delivered, pledge)),
            (_("Quantity handed over"), of_pledged(pledge.quantity_handed_over, pledge)),
            *(
                [(_("Closed short"), _("at %(quantity)s") % {"quantity": pledge.quantity_delivered})]
                if pledge.closed_short
                else []
            ),
            (_("Available from"), pledge.available_from),
            (_("Value"), f"{format_eur(pledge.value_eur)} ({pledge.get_valuation_basis_display()})"),
            (_("Instrument"), pledge.get_instrument_display()),
            (_("Payers"), _payers_shown(pledge) or _("the donor, all of it")),
            (_("Supplier"), pledge.supplier.name if pledge.supplier_id else _("the donor")),
            (_("Origin"), pledge.origin or _("not recorded")),
            (_("End-use restrictions"), pledge.end_use_restrictions),
            (_("Only to these destinations"), "; ".join(str(place) for place in pledge.destination_list) or _("anywhere")),
            (_("Re-transfer needs consent"), _("yes") if pledge.retransfer_requires_consent else _("no")),
            (_("Donor reference"), pledge.reference),
            (_("Notes"), pledge.notes),
            *(
                [
                    (
                        _("Reason for closing short") if pledge.closed_short else _("Reason for withdrawal or expiry"),
                        pledge.closing_reason,
                    )
                ]
                if pledge.closing_reason
                else []
            ),
            (_("Marking"), pledge.get_marking_display()),
            (_("Version"), pledge.version),
        ],
        history=history_rows(pledge, pledge_history(pledge, request.actor)),
        actions=_actions(request, pledge),
        extra={
            "aid_package": pledge.aid_package
            if pledge.aid_package_id and AidPackage.objects.visible_to(request.actor).filter(pk=pledge.aid_package_id).exists()
            else None,
            "tranches": list(pledge.tranches.all()),
            "sources": [
                (source, allowed(services.require_source_remover, request.actor, source))
                for source in pledge.sources.select_related("added_by")
            ],
            "allocations": pledge.allocations.visible_to(request.actor)
            .filter(state="active")
            .select_related("pledge__owner", "pledge__item_type", "requirement__item_type", "requirement__destination"),
            "editable": allowed(services.require_pledge_editor, request.actor, pledge),
            "deletable": owner_editor and pledge.state == PledgeState.ANNOUNCED,
            "may_close_short": owner_editor
            and not pledge.closed_short
            and pledge.state in (PledgeState.SHIPPED, PledgeState.PARTLY_DELIVERED)
            and pledge.quantity_shipped == pledge.quantity_delivered,  # nothing still on its way
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

    page = FormPage(
        title=_("New pledge"), forms=[form, source_form], submit_label=_("Announce the pledge"), cancel_url=reverse("pledges")
    )
    return submit(request, page, save, done=_("Pledge announced."))


@login_required
def pledge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(Pledge.objects.all(), request.actor, pk=pk)
    services.require_pledge_editor(request.actor, pledge)
    form = PledgeForm(request.POST or None, instance=pledge, actor=request.actor, prefix="pledge")
    page = FormPage(
        title=_("Edit pledge"), forms=[form], submit_label=_("Save"), cancel_url=pledge.get_absolute_url(), version=pledge.version
    )
    return submit(
        request,
        page,
        lambda: services.update_pledge(
            actor=request.actor, pledge_id=pk, expected_version=posted_version(request), changes=form.changed_values()
        ),
        done=_("Saved."),
    )


@login_required
def pledge_delete(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(Pledge.objects.select_related("item_type", "owner"), request.actor, pk=pk)
    require_owner(request.actor, pledge, Role.EDITOR, doing=_("Deleting a pledge"))
    if request.method == "POST":
        services.delete_pledge(actor=request.actor, pledge_id=pk, expected_version=posted_version(request))
        messages.success(request, _("Pledge deleted."))
        return redirect("pledges")
    page = ConfirmPage(
        title=_("Delete pledge"),
        question=_("Delete %(pledge)s? Only an announced pledge can be deleted.") % {"pledge": pledge},
        submit_label=_("Delete"),
        cancel_url=pledge.get_absolute_url(),
        version=pledge.version,
    )
    return render(request, "ui/confirm_page.html", {"page": page})


@login_required
def pledge_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """A step's page: what it asks (a confirmation, a delivered quantity, a reason), then the step itself."""
    pledge = get_visible(Pledge.objects.select_related("item_type", "owner"), request.actor, pk=pk)
    if step not in PLEDGE_LIFECYCLE.steps:  # an address no page has, not a step refused in this state
        raise NotFound(_("There is no step called %(step)s.") % {"step": repr(step)})
    services.require_step(request.actor, pledge, step)
    form = StepForm(request.POST or None, pledge=pledge, step=step)
    label = PLEDGE_LIFECYCLE.steps[step].label
    question = STEP_QUESTIONS.get(step, gettext_lazy("%(pledge)s: %(step)s?")) % {"pledge": pledge, "step": label}
    page = FormPage(
        title=f"{label}: {pledge}",
        forms=[form],
        submit_label=label,
        cancel_url=pledge.get_absolute_url(),
        version=pledge.version,
        intro=question,
    )

    def take_step() -> Pledge:
        done = services.advance_pledge(
            actor=request.actor, pledge_id=pk, step=step, expected_version=posted_version(request), **form.service_arguments()
        )
        messages.success(request, _("The pledge is now %(state)s.") % {"state": done.get_state_display()})
        return done

    return submit(request, page, take_step)


@login_required
def source_create(request: HttpRequest, pk: int) -> HttpResponse:
    pledge = get_visible(Pledge.objects.select_related("item_type", "owner"), request.actor, pk=pk)
    services.require_source_keeper(request.actor, pledge)
    form = SourceForm(request.POST or None, actor=request.actor)
    page = FormPage(
        title=_("Add a source to %(pledge)s") % {"pledge": pledge},
        forms=[form],
        submit_label=_("Add"),
        cancel_url=pledge.get_absolute_url(),
    )
    return submit(
        request,
        page,
        lambda: services.add_pledge_source(actor=request.actor, pledge_id=pk, fields=form.cleaned_data),
        done=_("Source added."),
        redirect_to=pledge.get_absolute_url(),
    )


@login_required
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_visible(
        PledgeSource.objects.select_related("pledge__item_type", "pledge__owner", "added_by"), request.actor, pk=pk
    )
    services.require_source_remover(request.actor, source)
    reason_required = services.source_removal_needs_reason(request.actor, source)
    form = SourceRemovalForm(request.POST or None, reason_required=reason_required, pledge=source.pledge)
    question = (
        _("Remove this source, added by %(organization)s? Say why: the ledger keeps your reason.")
        if reason_required
        else _("Remove this source from %(pledge)s?")
    ) % {"organization": source.added_by or _("the system"), "pledge": source.pledge}
    page = FormPage(
        title=_("Remove a source: %(source)s") % {"source": source},
        forms=[form],
        submit_label=_("Remove"),
        cancel_url=source.pledge.get_absolute_url(),
        intro=question,
    )
    return submit(
        request,
        page,
        lambda: services.delete_pledge_source(actor=request.actor, source_id=pk, reason=form.cleaned_data["reason"]),
        done=_("Source removed."),
        redirect_to=source.pledge.get_absolute_url(),
    )


def aid_package_list(request: HttpRequest) -> HttpResponse:
    return list_or_export(
        request,
        AID_PACKAGES,
        aid_packages(request.actor),
        title=_("Aid packages"),
        intro=_(
            "Aid as announced: each aid package's total in the currency it was announced in, valued in euros at the "
            "rate recorded with it. Its pledges are its lines."
        ),
        empty=_("No aid packages yet."),
    )


def aid_package_detail(request: HttpRequest, pk: int) -> HttpResponse:
    aid_package = get_visible(aid_packages(request.actor), request.actor, pk=pk)
    figures = aid_package_figures(aid_package, request.actor)
    rate = (
        _("%(rate)s %(currency)s per euro, of %(date)s")
        % {"rate": number(aid_package.units_per_eur, 4), "currency": aid_package.currency, "date": aid_package.rate_date}
        if aid_package.currency != "EUR"
        else _("none needed (euros)")
    )
    page = DetailPage(
        title=_("Aid package %(reference)s") % {"reference": aid_package.reference},
        obj=aid_package,
        fields=[
            (_("Donor"), aid_package.owner.name),
            (_("Date announced"), aid_package.announced_on),
            (_("Announced total"), f"{number(aid_package.announced_amount, 2)} {aid_package.currency}"),
            (_("Rate used"), rate),
            (_("Announced value"), format_eur(aid_package.value_eur)),
            (_("Notes"), aid_package.notes),
            (_("Marking"), aid_package.get_marking_display()),
            (_("Version"), aid_package.version),
        ],
        history=history_rows(aid_package),
        extra={
            "figures": figures,
            "difference_eur": aid_package.value_eur - figures.catalog_eur if figures.whole else None,
            "sources": list(aid_package.sources.all()),
        },
    )
    return render(request, "pledges/aid_package_detail.html", {"page": page})
