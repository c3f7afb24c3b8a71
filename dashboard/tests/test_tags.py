"""The dashboard's template tags."""

from __future__ import annotations

from django.http import QueryDict
from django.template import Context

from dashboard.templatetags.dashboard_tags import query_with


def test_pagination_links_keep_every_value_of_a_repeated_filter() -> None:
    query = QueryDict("q=CP&status=Faulted&status=Charging&page=2&online=")
    link = query_with(Context({"query": query}), page=3)
    assert link == "?q=CP&status=Faulted&status=Charging&page=3"


def test_pagination_links_from_a_plain_dict_drop_empty_values_and_the_changed_ones() -> None:
    link = query_with(Context({"query": {"q": "a b", "online": "", "page": "4"}}), page=None, state="faulted")
    assert link == "?q=a+b&state=faulted"
