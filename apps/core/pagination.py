"""Pagination for every list page: an out-of-range or malformed `?page=` shows the nearest page, never an error.

A link to page 7 of a list that has since shrunk, a hand-edited `?page=0` or a bot's `?page=abc` all answer
200 with a real page: the last page when the number is too large, the first page when it is below 1 or not a
number. Pages use `paginate()` (function style) or `NearestPageMixin` (ListView), both built on
`NearestPagePaginator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


class NearestPagePaginator(Paginator):
    """`get_page()` answers the nearest valid page: the first for 0, negatives and garbage, the last past the end.

    Django's own `get_page()` answers the last page for 0 and negative numbers; a page below 1 is nearer the
    first page. Any size of number is accepted: Python integers have no 64-bit limit and the database only
    ever sees an offset within the list.
    """

    def get_page(self, number: Any) -> Page:
        try:
            return self.page(self.validate_number(number))
        except PageNotAnInteger:
            # "last" as Django's ListView allows; digits too many for int() (over 4300) are past the end too.
            too_large = isinstance(number, str) and (number == "last" or number.strip().isdecimal())
            return self.page(self.num_pages if too_large else 1)
        except EmptyPage:
            # validate_number() read it as a whole number, so int() does too: below 1 or past the last page.
            return self.page(1 if int(number) < 1 else self.num_pages)


def paginate(request: HttpRequest, object_list: QuerySet | Sequence, per_page: int, *, param: str = "page") -> Page:
    """The page of `object_list` asked for by `?<param>=`, or the nearest valid one."""
    return NearestPagePaginator(object_list, per_page).get_page(request.GET.get(param))


class NearestPageMixin:
    """For ListView: `?page=` beyond the list, below 1 or not a number shows the nearest page instead of a 404."""

    paginator_class: type[Paginator] = NearestPagePaginator
    page_kwarg = "page"
    request: HttpRequest
    kwargs: dict[str, Any]

    def paginate_queryset(self, queryset, page_size):
        paginator = self.get_paginator(  # type: ignore[attr-defined]
            queryset,
            page_size,
            orphans=self.get_paginate_orphans(),  # type: ignore[attr-defined]
            allow_empty_first_page=self.get_allow_empty(),  # type: ignore[attr-defined]
        )
        page = paginator.get_page(self.kwargs.get(self.page_kwarg) or self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()
