"""Fixtures of the periodic event streams tests."""

from apikeys.testing import api_client  # noqa: F401 (fixture: the API tests)
