"""Lists that filter, search, sort and paginate the same way on every page (and export what they show)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core.access import Actor
from umbrella.core.errors import Invalid
from umbrella.core.lifecycle import in_lifecycle_order


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Any], Any]
    sort: str | None = None
    link: bool = False
    numeric: bool = False


@dataclass(frozen=True)
class Filter:
    """`choices` are what a page offers this actor; `known` (when given) is every value that names something,
    whoever asks, so a donor without records the actor may see filters to an empty list instead of being
    refused. Any other value is refused with `unknown`, never ignored (which would return everything).
    `condition` (when given) builds the filter from the value instead of `lookup`, for what no one field holds
    (a pledge past its availability date and not shipped)."""

    name: str
    label: str
    lookup: str
    choices: Callable[[Actor], Sequence[tuple[str, str]]]
    known: Callable[[], Collection[str]] | None = None
    unknown: str = gettext_lazy("%(value)s is not one of the choices.")
    condition: Callable[[str, Actor], Q] | None = None

    def q(self, value: str, actor: Actor) -> Q:
        return self.condition(value, actor) if self.condition is not None else Q(**{self.lookup: value})

    def accepts(self, value: str, actor: Actor) -> bool:
        if self.known is not None:
            return value in {str(known) for known in self.known()}
        return value in {str(choice) for choice, _ in self.choices(actor)}


def flag_filter(name: str, label: str, condition: Callable[[Actor], Q]) -> Filter:
    """A yes/no filter: the records `condition` flags, or the others. Spelled "True"/"False" as the API's
    booleans are (`params_of`)."""
    return Filter(
        name,
        label,
        "",
        lambda actor: [("True", gettext_lazy("yes")), ("False", gettext_lazy("no"))],
        condition=lambda value, actor: condition(actor) if value == "True" else ~condition(actor),
    )


@dataclass(frozen=True)
class Listing:
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    search: tuple[str, ...] = ()
    # Where else a search looks, by a rule of its own (an NSN is kept as digits and searched only when typed as one;
    # an item type's other names are records of their own, visible as the reader may see them).
    search_also: Callable[[str, Actor], Q | None] = lambda text, actor: None
    default_sort: str = ""
    page_size: int = 50
    flag: Callable[[Any], str] | None = None  # what a row is flagged with ("overdue"), or "" for none
    states: Mapping[str, Any] = field(default_factory=dict)  # sort key → its TextChoices, sorted in lifecycle order

    def flag_of(self, obj: Any) -> str:
        return self.flag(obj) if self.flag is not None else ""

    def sort_keys(self) -> tuple[str, ...]:
        return tuple(column.sort for column in self.columns if column.sort)

    def sort_values(self) -> tuple[str, ...]:
        """Every value `sort` takes: each key, ascending or (prefixed with -) descending."""
        return tuple(value for key in self.sort_keys() for value in (key, f"-{key}"))


def params_of(filters: Any) -> dict[str, str]:
    """An API filter schema's validated values, spelled as a page's query parameters (True as "True", an enum
    as its value), so a list reads the same from either."""
    return {name: str(value) for name, value in filters.model_dump(mode="json", exclude_none=True).items()}


def sort_type(listing: Listing) -> Any:
    """The API's type of a list's `sort` parameter: an enum of the same keys the page's headers sort by."""
    return Literal[listing.sort_values()]


@dataclass
class FilterState:
    name: str
    label: str
    choices: Sequence[tuple[str, str]]
    selected: str


@dataclass
class SortLink:
    label: str
    key: str | None
    querystring: str
    direction: str  # "ascending", "descending" or "" (unsorted), for aria-sort
    numeric: bool


@dataclass
class ListResult:
    page: Any
    rows: list[tuple[Any, list[tuple[Any, bool]], str]]  # (record, [(cell, numeric), ...], flag)
    headers: list[SortLink]
    filters: list[FilterState]
    search: str
    total: int
    querystring: str  # the current filters and sort, without the page
    columns: tuple[Column, ...] = field(default=())
    narrowed: bool = False  # a filter or a search is given, so an empty list says "nothing matches", not "nothing yet"


def filtered(listing: Listing, queryset: QuerySet, params: Mapping[str, str], actor: Actor) -> QuerySet:
    """The queryset narrowed by the request's filters and search, sorted; shared by pages, API and exports.
    An unknown filter value or sort key is `Invalid` (every one at once), never silently ignored."""
    problems: dict[str, list[str]] = {}
    for spec in listing.filters:
        value = params.get(spec.name, "")
        if not value:
            continue
        if spec.accepts(value, actor):
            queryset = queryset.filter(spec.q(value, actor))
        else:
            problems[spec.name] = [spec.unknown % {"value": repr(value)}]
    sort = params.get("sort", "")
    if sort and sort.removeprefix("-") not in listing.sort_keys():
        problems["sort"] = [_("%(value)s is not a sort key of this list.") % {"value": repr(sort)}]
    if problems:
        raise Invalid(problems)
    text = params.get("q", "").strip()
    if text and listing.search:
        condition = Q()
        for name in listing.search:
            condition |= Q(**{f"{name}__icontains": text})
        also = listing.search_also(text, actor)
        queryset = queryset.filter(condition if also is None else condition | also)
    return queryset.order_by(*_ordering(listing, params))


def _ordering(listing: Listing, params: Mapping[str, str]) -> list[Any]:
    requested = params.get("sort", "")
    key = requested.removeprefix("-")
    if key in listing.states:
        order = in_lifecycle_order(key, listing.states[key])
        return [order.desc() if requested.startswith("-") else order.asc(), "pk"]
    if key in listing.sort_keys():
        return [requested, "pk"]
    return [*(listing.default_sort.split(",") if listing.default_sort else []), "pk"]


def _querystring(params: QueryDict, **changes: str | None) -> str:
    query = params.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return query.urlencode()


def run(listing: Listing, queryset: QuerySet, params: QueryDict, actor: Actor) -> ListResult:
    results = filtered(listing, queryset, params, actor)
    paginator = Paginator(results, listing.page_size)
    page = paginator.get_page(params.get("page"))
    current = params.get("sort", "")
    headers = []
    for column in listing.columns:
        if column.sort:
            direction = "ascending" if current == column.sort else "descending" if current == f"-{column.sort}" else ""
            target = f"-{column.sort}" if current == column.sort else column.sort
            headers.append(
                SortLink(column.label, column.sort, _querystring(params, sort=target, page=None), direction, column.numeric)
            )
        else:
            headers.append(SortLink(column.label, None, "", "", column.numeric))
    filters = [FilterState(spec.name, spec.label, spec.choices(actor), params.get(spec.name, "")) for spec in listing.filters]
    rows = [
        (obj, [(column.value(obj), column.numeric) for column in listing.columns], listing.flag_of(obj))
        for obj in page.object_list
    ]
    return ListResult(
        page=page,
        rows=rows,
        headers=headers,
        filters=filters,
        search=params.get("q", ""),
        total=paginator.count,
        querystring=_querystring(params, page=None),
        columns=listing.columns,
        narrowed=bool(params.get("q", "").strip()) or any(params.get(spec.name) for spec in listing.filters),
    )
