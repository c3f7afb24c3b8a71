"""Pagination shared by the API: limit/offset for ordinary lists, cursors for the large tables."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class DefaultPagination(LimitOffsetPagination):
    """``?limit=&offset=`` with a total ``count``; for the lists that stay small enough to count."""

    default_limit = 50
    max_limit = 500


class TimeCursorPagination(CursorPagination):
    """Cursor pagination for append-only tables (meter values, message log, status history).

    No COUNT and no OFFSET: a page costs the same at the end of a table of millions as at its start,
    and rows appended while a client pages through do not shift the pages. Views set ``ordering``.
    """

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def cursor_pagination(*ordering: str) -> type[TimeCursorPagination]:
    """A TimeCursorPagination over ``ordering`` (a time field first, the id to break ties)."""
    return type("CursorPagination", (TimeCursorPagination,), {"ordering": ordering})
