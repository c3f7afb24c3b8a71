from apikeys.testing import api_client, operator_api  # noqa: F401 (fixtures: the API tests)
