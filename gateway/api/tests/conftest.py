from apikeys.testing import admin_api, api_client, fleet, operator_api, viewer_api  # noqa: F401 (fixtures)
