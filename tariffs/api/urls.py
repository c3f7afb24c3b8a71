"""Routes of the tariffs and cost API (mounted under /api/v1/ by backoffice/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
