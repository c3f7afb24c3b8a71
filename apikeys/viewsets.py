"""What every API view shares beyond DRF's defaults."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.request import Request


class TextLookupMixin:
    """A NUL in a path segment is a 404, not a database error.

    PostgreSQL text cannot hold NUL, so no row can match; psycopg refuses to send it, which DRF's
    lookup would turn into a 500. Checked after authentication and permissions (401/403 come first).
    """

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if any("\x00" in str(value) for value in kwargs.values()):
            raise NotFound()
