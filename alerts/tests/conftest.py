from apikeys.testing import api_client  # noqa: F401 (fixture)
