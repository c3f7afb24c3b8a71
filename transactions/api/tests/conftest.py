from apikeys.testing import admin_api, api_client, fleet, operator_api, viewer_api  # noqa: F401 (fixtures)
from chargers.api.tests.v201 import v201  # noqa: F401 (fixture)
