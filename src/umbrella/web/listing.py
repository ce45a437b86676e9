"""Lists that filter, search, sort and paginate the same way on every page (and export what they show)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import QueryDict

from umbrella.core.access import Actor


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Any], Any]
    sort: str | None = None
    link: bool = False
    numeric: bool = False


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    lookup: str
    choices: Callable[[Actor], Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class Listing:
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    search: tuple[str, ...] = ()
    default_sort: str = ""
    page_size: int = 50


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
    rows: list[tuple[Any, list[tuple[Any, bool]]]]  # (record, [(cell, numeric), ...])
    headers: list[SortLink]
    filters: list[FilterState]
    search: str
    total: int
    querystring: str  # the current filters and sort, without the page
    columns: tuple[Column, ...] = field(default=())


def filtered(listing: Listing, queryset: QuerySet, params: QueryDict, actor: Actor) -> QuerySet:
    """The queryset narrowed by the request's filters and search, sorted; shared by pages and exports."""
    for spec in listing.filters:
        value = params.get(spec.name, "")
        if value and value in {str(choice) for choice, _ in spec.choices(actor)}:
            queryset = queryset.filter(**{spec.lookup: value})
    text = params.get("q", "").strip()
    if text and listing.search:
        condition = Q()
        for name in listing.search:
            condition |= Q(**{f"{name}__icontains": text})
        queryset = queryset.filter(condition)
    return queryset.order_by(*_ordering(listing, params))


def _sort_keys(listing: Listing) -> set[str]:
    return {column.sort for column in listing.columns if column.sort}


def _ordering(listing: Listing, params: QueryDict) -> list[str]:
    requested = params.get("sort", "")
    key = requested.lstrip("-")
    if key in _sort_keys(listing):
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
            headers.append(SortLink(column.label, column.sort, _querystring(params, sort=target, page=None), direction, column.numeric))
        else:
            headers.append(SortLink(column.label, None, "", "", column.numeric))
    filters = [FilterState(spec.name, spec.label, spec.choices(actor), params.get(spec.name, "")) for spec in listing.filters]
    rows = [(obj, [(column.value(obj), column.numeric) for column in listing.columns]) for obj in page.object_list]
    return ListResult(
        page=page, rows=rows, headers=headers, filters=filters, search=params.get("q", ""),
        total=paginator.count, querystring=_querystring(params, page=None), columns=listing.columns,
    )
