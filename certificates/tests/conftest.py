from apikeys.testing import admin_api, api_client, viewer_api  # noqa: F401 (fixtures)
