"""HTTP authentication endpoint in EMQX's ``authn`` HTTP format.

EMQX's HTTP authenticator POSTs a JSON body rendered from its template (by default
``{"username": "${username}", "password": "${password}"}``; add ``"clientid": "${clientid}"``)
and expects 200 with ``{"result": "allow" | "deny" | "ignore"}``. For OCPP 1.6 security profile 1
the username is the charge point id, so the client id is preferred and the username is the fallback.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gateway import services


@csrf_exempt
@require_POST
def auth_view(request: HttpRequest) -> JsonResponse:
    """Answer one EMQX authentication request (JSON or form-encoded body)."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return JsonResponse({"result": "deny"})
    else:
        body = request.POST
    charge_point_id = str(body.get("clientid") or body.get("username") or "")
    password = body.get("password")
    if not charge_point_id or not isinstance(password, str) or not password:
        return JsonResponse({"result": "deny"})
    allowed = services.credential_check(charge_point_id, password)
    return JsonResponse({"result": "allow" if allowed else "deny", "is_superuser": False})
