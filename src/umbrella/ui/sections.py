"""Long tables on a page that shows several of them: each paged on its own, by its own query parameter, so
that a page at scale renders a page of rows per table and still says how many there are in all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

ROWS_PER_PAGE = 50  # as the list pages (`core.listing.Listing.page_size`)


@dataclass
class Section:
    """One table's page of rows, how many rows it holds in all and how many the filters leave."""

    page: Page
    total: int
    param: str
    querystring: str

    @property
    def matched(self) -> int:
        return self.page.paginator.count

    @property
    def rows(self) -> list[Any]:
        return list(self.page.object_list)


def section(
    request: HttpRequest, rows: Sequence[Any] | Any, param: str, *, total: int | None = None, keep_out: tuple[str, ...] = ()
) -> Section:
    """A page of `rows` (a list or a queryset), chosen by `?<param>=N`; `total` is the count before filters (the
    rows' own count when not given). The links to other pages keep every other parameter but `keep_out`."""
    query = request.GET.copy()
    for name in (param, *keep_out):
        query.pop(name, None)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get(param))
    return Section(page=page, total=page.paginator.count if total is None else total, param=param, querystring=query.urlencode())
