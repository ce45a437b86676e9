"""Lists of pledge records that the pages, the API and the exports share: filters, search and sort."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from umbrella.catalog.queries import area_choices
from umbrella.core.access import DONOR_KINDS, Actor, Marking
from umbrella.core.ledger import entity_name
from umbrella.core.listing import Column, Filter, Listing, flag_filter
from umbrella.core.models import ChangeRecord
from umbrella.core.numbers import format_eur, number
from umbrella.funding.rates import rate_warning
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import donor_codes
from umbrella.pledges.models import NOT_YET_SHIPPED, AidPackage, Pledge, PledgeState

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
    donors = Organization.objects.filter(kind__in=DONOR_KINDS, pk__in=Pledge.objects.visible_to(actor).values("owner"))
    return [(donor.code, donor.name) for donor in donors]


def pledges(actor: Actor) -> QuerySet[Pledge]:
    """The pledges the actor may see, with what the list shows of each and the sources the API adds (page and API alike)."""
    return (
        Pledge.objects.visible_to(actor)
        .select_related("owner", "item_type__capability_area", "supplier")
        .prefetch_related("sources__added_by", "destination_links__place", "tranches", "payers__organization")
    )


PLEDGES = Listing(
    columns=(
        Column(gettext_lazy("Pledge"), lambda o: f"{o.quantity_label} × {o.item_type.name}", sort="item_type__name"),
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


def aid_packages(actor: Actor) -> QuerySet[AidPackage]:
    """The aid packages the actor may see, with their donor and sources (page and API alike)."""
    return AidPackage.objects.visible_to(actor).select_related("owner").prefetch_related("sources__added_by")


AID_PACKAGES = Listing(
    columns=(
        Column(gettext_lazy("Aid package"), lambda o: o.reference, sort="reference", link=True),
        Column(gettext_lazy("Donor"), lambda o: o.owner.name, sort="owner__name"),
        Column(gettext_lazy("Announced"), lambda o: o.announced_on, sort="announced_on"),
        Column(
            gettext_lazy("Announced total"),
            lambda o: f"{number(o.announced_amount, 2)} {o.currency}",
            sort="announced_amount",
            numeric=True,
        ),
        Column(gettext_lazy("Value (EUR)"), lambda o: number(o.value_eur, 2), sort="value_eur", numeric=True),
        Column(gettext_lazy("Marking"), lambda o: o.get_marking_display(), sort="marking"),
    ),
    filters=(
        Filter(
            "donor",
            gettext_lazy("Donor"),
            "owner__code",
            lambda actor: [
                (donor.code, donor.name)
                for donor in Organization.objects.filter(pk__in=AidPackage.objects.visible_to(actor).values("owner"))
            ],
            known=donor_codes,
            unknown=gettext_lazy("No such donor: %(value)s."),
        ),
        Filter("marking", gettext_lazy("Marking"), "marking", lambda actor: Marking.choices),
    ),
    search=("reference", "notes", "owner__name"),
    default_sort="-announced_on",
)


@dataclass(frozen=True)
class AidPackageFigures:
    """An aid package as announced beside its lines as the reader sees them. `whole` says whether the reader sees
    every line: when not, the catalog value is of the lines released to the reader, and no difference is given
    (a difference worked out from part of the lines would present the withheld ones as missing)."""

    lines: list[Pledge]
    catalog_eur: Decimal  # the lines whose quantity is disclosed, at their value
    undisclosed_eur: Decimal  # what the undisclosed lines take of the announced value
    whole: bool
    rate_warning: str

    @property
    def undisclosed_lines(self) -> int:
        return sum(1 for line in self.lines if not line.quantity_disclosed)


def aid_package_figures(aid_package: AidPackage, actor: Actor) -> AidPackageFigures:
    lines = list(Pledge.objects.visible_to(actor).filter(aid_package=aid_package).select_related("item_type").order_by("pk"))
    return AidPackageFigures(
        lines=lines,
        catalog_eur=sum((line.value_eur for line in lines if line.quantity_disclosed), Decimal(0)),
        undisclosed_eur=sum((line.value_eur for line in lines if not line.quantity_disclosed), Decimal(0)),
        whole=not Pledge.objects.hidden_from(actor).filter(aid_package=aid_package).exists(),
        rate_warning=aid_package_rate_warning(aid_package),
    )


def aid_package_rate_warning(aid_package: AidPackage) -> str:
    return rate_warning(aid_package.currency, aid_package.fx_date, aid_package.rate_date)
