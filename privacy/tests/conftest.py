from apikeys.testing import api_client, operator_api, viewer_api  # noqa: F401 (fixtures)

# The end-to-end tests start our gateway (and connect from 127.0.0.1, never locked out).
from gateway.tests.conftest import loopback_not_locked_out, start_gateway  # noqa: F401 (fixtures)
