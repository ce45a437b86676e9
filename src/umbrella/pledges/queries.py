"""Lists of pledge records that the pages, the API and the exports share: filters, search and sort."""

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from umbrella.catalog.queries import area_choices
from umbrella.core.access import Actor, Marking, OrganizationKind
from umbrella.core.ledger import entity_name
from umbrella.core.listing import Column, Filter, Listing, flag_filter
from umbrella.core.models import ChangeRecord
from umbrella.core.numbers import format_eur
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import donor_codes
from umbrella.pledges.models import NOT_YET_SHIPPED, Pledge, PledgeState

OVERDUE = gettext_lazy("overdue")


def overdue(actor: Actor) -> Q:
    """Pledges past their availability date and not shipped (alike for every reader)."""
    return Q(state__in=NOT_YET_SHIPPED, available_from__lt=timezone.localdate())


def pledged_by_donor(actor: Actor) -> dict[int, dict]:
    """Per donor organization (by id): how many of its live pledges the actor may see, and their value."""
    rows = (
        Pledge.objects.visible_to(actor)
        .exclude(state__in=[PledgeState.WITHDRAWN, PledgeState.EXPIRED])
        .order_by()
        .values("owner")
        .annotate(n=Count("pk"), value=Sum("value_eur"))
    )
    return {row["owner"]: row for row in rows}


def _donor_choices(actor) -> list[tuple[str, str]]:
    donors = Organization.objects.filter(kind=OrganizationKind.DONOR, pk__in=Pledge.objects.visible_to(actor).values("owner"))
    return [(donor.code, donor.name) for donor in donors]


def pledges(actor: Actor) -> QuerySet[Pledge]:
    """The pledges the actor may see, with what the list shows of each and the sources the API adds (page and API alike)."""
    return (
        Pledge.objects.visible_to(actor)
        .select_related("owner", "item_type__capability_area", "supplier")
        .prefetch_related("sources__added_by", "destination_links__place", "payers__organization")
    )


PLEDGES = Listing(
    columns=(
        Column(gettext_lazy("Pledge"), lambda o: f"{o.quantity} × {o.item_type.name}", sort="item_type__name"),
        Column(gettext_lazy("Donor"), lambda o: o.owner.name, sort="owner__name"),
        Column(gettext_lazy("State"), lambda o: o.get_state_display(), sort="state"),
        Column(gettext_lazy("Available from"), lambda o: o.available_from, sort="available_from"),
        Column(gettext_lazy("Delivered"), lambda o: o.quantity_delivered, sort="quantity_delivered", numeric=True),
        Column(gettext_lazy("Value"), lambda o: format_eur(o.value_eur), sort="value_eur", numeric=True),
        Column(
            gettext_lazy("Capability area"), lambda o: o.item_type.capability_area.label, sort="item_type__capability_area__order"
        ),
        Column(gettext_lazy("Marking"), lambda o: o.get_marking_display(), sort="marking"),
    ),
    filters=(
        Filter("state", gettext_lazy("State"), "state", lambda actor: PledgeState.choices),
        Filter(
            "donor",
            gettext_lazy("Donor"),
            "owner__code",
            _donor_choices,
            known=donor_codes,
            unknown=gettext_lazy("No such donor: %(value)s."),
        ),
        Filter("area", gettext_lazy("Capability area"), "item_type__capability_area__code", lambda actor: area_choices()),
        Filter("marking", gettext_lazy("Marking"), "marking", lambda actor: Marking.choices),
        flag_filter("overdue", gettext_lazy("Past availability, not shipped"), overdue),
    ),
    search=("item_type__name", "item_type__code", "reference", "notes", "owner__name"),
    default_sort="-available_from",
    flag=lambda o: OVERDUE if o.is_overdue(timezone.localdate()) else "",
    states={"state": PledgeState},
)


def pledge_history(pledge: Pledge, actor: Actor) -> QuerySet[ChangeRecord]:
    """The ledger entries of a pledge, of its sources (removed ones too) and of the allocations of it, newest first,
    as far as the reader may read them."""
    sources, allocations = pledge.sources.model, pledge.allocations.model
    of_this_pledge = Q(after__pledge_id=pledge.pk) | Q(before__pledge_id=pledge.pk)
    allocation_ids = [str(pk) for pk in allocations.objects.filter(pledge=pledge).values_list("pk", flat=True)]
    return (
        ChangeRecord.objects.visible_to(actor)
        .filter(
            Q(entity=entity_name(pledge), entity_id=str(pledge.pk))
            | (Q(entity=sources._meta.label_lower) & of_this_pledge)
            | Q(entity=allocations._meta.label_lower, entity_id__in=allocation_ids)
        )
        .order_by("-sequence")
    )
