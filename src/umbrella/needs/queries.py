"""Lists of requirement records that the pages, the API and the exports share: filters, search and sort."""

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog.queries import area_choices
from umbrella.core.access import Actor, visibility_q
from umbrella.core.listing import Column, Filter, Listing
from umbrella.needs.models import ListState, Requirement, RequirementList


def requirement_lists(actor: Actor) -> QuerySet[RequirementList]:
    """The lists the actor may see, each with the number of its requirements the actor may see (a column
    and a sort key of LISTS)."""
    visible_requirements = Count("requirements", filter=visibility_q(actor, prefix="requirements__"))
    return RequirementList.objects.visible_to(actor).select_related("owner").annotate(requirement_count=visible_requirements)


def requirements_on(actor: Actor, requirement_list: RequirementList) -> QuerySet[Requirement]:
    """The requirements on a list that the actor may see (a requirement may be marked more narrowly than its list)."""
    return Requirement.objects.visible_to(actor).filter(requirement_list=requirement_list).select_related("item_type__capability_area")


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
)


REQUIREMENTS = Listing(
    columns=(
        Column(gettext_lazy("Item"), lambda o: o.item_type.name, sort="item_type__name"),
        Column(gettext_lazy("Priority"), lambda o: o.priority, sort="priority", numeric=True),
        Column(gettext_lazy("Quantity"), lambda o: o.quantity, sort="quantity", numeric=True),
        Column(gettext_lazy("Needed by"), lambda o: o.needed_by, sort="needed_by"),
        Column(gettext_lazy("Destination"), lambda o: o.destination, sort="destination"),
        Column(gettext_lazy("Capability area"), lambda o: o.item_type.capability_area.label, sort="item_type__capability_area__order"),
        Column(gettext_lazy("Substitutes"), lambda o: _("accepted") if o.accept_substitutes else _("exact only")),
    ),
    filters=(
        Filter("priority", gettext_lazy("Priority"), "priority", lambda actor: [(str(p), f"P{p}") for p in range(1, 6)]),
        Filter("area", gettext_lazy("Capability area"), "item_type__capability_area__code", lambda actor: area_choices()),
    ),
    search=("item_type__name", "item_type__code", "destination", "notes"),
    default_sort="priority,needed_by",
)
