"""Lists of requirement records that the pages, the API and the exports share: filters, search and sort."""

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog.queries import area_choices
from umbrella.core.access import Actor, visibility_q
from umbrella.core.listing import Column, Filter, Listing, flag_filter
from umbrella.needs.models import ListState, Requirement, RequirementList

# matching.AllocationState.ACTIVE, spelled out because needs sits below matching.
ACTIVE_ALLOCATION = "active"
COVERED = Sum("allocations__covers", filter=Q(allocations__state=ACTIVE_ALLOCATION))


def with_coverage(requirements: QuerySet[Requirement]) -> QuerySet[Requirement]:
    """Each requirement with `covered`: what its active allocations cover (None when nothing does)."""
    return requirements.annotate(covered=COVERED)


def overdue(actor: Actor) -> Q:
    """Requirements past their needed-by date and not fully covered by active allocations."""
    fully_covered = (
        Requirement.objects.visible_to(actor).annotate(covered=COVERED).filter(covered__gte=F("quantity")).values("pk")
    )
    return Q(needed_by__lt=timezone.localdate()) & ~Q(pk__in=fully_covered)


def is_overdue(requirement: Requirement) -> bool:
    """For a requirement read through `with_coverage`."""
    return requirement.needed_by < timezone.localdate() and (requirement.covered or 0) < requirement.quantity


def requirement_lists(actor: Actor) -> QuerySet[RequirementList]:
    """The lists the actor may see, each with the number of its requirements the actor may see (a column
    and a sort key of LISTS)."""
    visible_requirements = Count("requirements", filter=visibility_q(actor, prefix="requirements__"))
    return RequirementList.objects.visible_to(actor).select_related("owner").annotate(requirement_count=visible_requirements)


def requirements_on(actor: Actor, requirement_list: RequirementList) -> QuerySet[Requirement]:
    """The requirements on a list that the actor may see (a requirement may be marked more narrowly than its list),
    each with what active allocations cover."""
    return with_coverage(
        Requirement.objects.visible_to(actor)
        .filter(requirement_list=requirement_list)
        .select_related("item_type__capability_area", "destination")
    )


LISTS = Listing(
    columns=(
        Column(gettext_lazy("Title"), lambda o: o.title, sort="title"),
        Column(gettext_lazy("Series"), lambda o: o.series, sort="series"),
        Column(gettext_lazy("Revision"), lambda o: o.revision, sort="revision", numeric=True),
        Column(gettext_lazy("State"), lambda o: o.get_state_display(), sort="state"),
        Column(gettext_lazy("Requirements"), lambda o: o.requirement_count, sort="requirement_count", numeric=True),
        Column(gettext_lazy("Owner"), lambda o: o.owner.name, sort="owner__name"),
    ),
    filters=(Filter("state", gettext_lazy("State"), "state", lambda actor: ListState.choices),),
    search=("title", "series", "notes"),
    default_sort="series,-revision",
    states={"state": ListState},
)


REQUIREMENTS = Listing(
    columns=(
        Column(gettext_lazy("Item"), lambda o: o.item_type.name, sort="item_type__name"),
        Column(gettext_lazy("Priority"), lambda o: o.priority, sort="priority", numeric=True),
        Column(gettext_lazy("Quantity"), lambda o: o.quantity, sort="quantity", numeric=True),
        Column(gettext_lazy("Needed by"), lambda o: o.needed_by, sort="needed_by"),
        Column(gettext_lazy("Destination"), lambda o: o.destination.local_name, sort="destination__name_en"),
        Column(
            gettext_lazy("Capability area"), lambda o: o.item_type.capability_area.label, sort="item_type__capability_area__order"
        ),
        Column(gettext_lazy("Substitutes"), lambda o: _("accepted") if o.accept_substitutes else _("exact only")),
    ),
    filters=(
        Filter("priority", gettext_lazy("Priority"), "priority", lambda actor: [(str(p), f"P{p}") for p in range(1, 6)]),
        Filter("area", gettext_lazy("Capability area"), "item_type__capability_area__code", lambda actor: area_choices()),
        flag_filter("overdue", gettext_lazy("Past needed-by, not fully covered"), overdue),
    ),
    search=("item_type__name", "item_type__code", "destination__code", "destination__name_en", "destination__name_uk", "notes"),
    default_sort="priority,needed_by",
    flag=lambda o: gettext_lazy("overdue") if is_overdue(o) else "",
)
