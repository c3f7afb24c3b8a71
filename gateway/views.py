"""HTTP authentication endpoint in EMQX's ``authn`` HTTP format.

EMQX's HTTP authenticator POSTs a JSON body rendered from its template and expects 200 with
``{"result": "allow" | "deny" | "ignore"}``. The template must carry the charge point id EMQX took from
the URL (``"clientid": "${clientid}"``): without it the username rule (it must equal the charge point id)
cannot be checked, and the request is denied. deploy/emqx/base.hocon has the full template:

- ``clientid``, ``username``, ``password``: the id from the URL and the Basic auth credentials;
- ``peerhost``: the charger's address, for the per-address lockout (without it only the id is locked);
- ``transport``: a constant per listener, ``ws``, ``wss`` or ``mqtt``; only ``wss`` counts as TLS
  (security profiles 2 and 3);
- ``cert_common_name``: the CN of the client certificate EMQX verified on a wss listener (``verify_peer``);
- ``cert_pem``: that certificate, looked up in the CRLs of CSMS_GATEWAY_TLS_CRL when there are any (EMQX
  checks no CRL on wss listeners). With CRLs configured, a certificate that is not sent, or cannot be read,
  is refused: it cannot be shown not to be revoked.

``transport: mqtt`` is EMQX's MQTT listener: the backoffice's own MQTT user (MQTT_URL's username and
password) is admitted there, and a charger speaking MQTT itself logs in with its charge point id as client
id and username (deploy/emqx/acl.conf then limits each to its own topics).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gateway import revocation, services

TRANSPORTS = ("ws", "wss", "mqtt")
_FIELD_MAX_LENGTH = 1024
_PEM_MAX = 16384


def _deny() -> JsonResponse:
    return JsonResponse({"result": "deny", "is_superuser": False})


def _text(body: Any, name: str) -> str | None:
    """A string field of the body, None when absent, empty or not a (reasonably short) string."""
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > _FIELD_MAX_LENGTH:
        return None
    return value


def _address(raw: str | None) -> str:
    """The charger's address as EMQX saw it; anything but an IP address is ignored (never a Redis key)."""
    if not raw:
        return ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return ""


@csrf_exempt
@require_POST
def auth_view(request: HttpRequest) -> JsonResponse:
    """Answer one EMQX authentication request (JSON or form-encoded body)."""
    token = settings.CSMS_GATEWAY_AUTH_TOKEN
    if token and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        return JsonResponse({"result": "deny", "is_superuser": False}, status=403)
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return _deny()
    else:
        body = request.POST
    charge_point_id = _text(body, "clientid")
    username, password = _text(body, "username"), _text(body, "password")
    transport = _text(body, "transport") or "ws"
    if transport not in TRANSPORTS:
        return _deny()
    address = _address(_text(body, "peerhost"))
    if transport == "mqtt":
        backoffice = services.backoffice_mqtt_login(username=username, password=password, address=address)
        if backoffice is not None:
            return JsonResponse({"result": "allow" if backoffice else "deny", "is_superuser": False})
    if charge_point_id is None or not services.charge_point_id_is_valid(charge_point_id):
        return _deny()
    # EMQX renders a placeholder it has no value for as an empty string; "undefined" is kept out too.
    common_name = _text(body, "cert_common_name") if transport == "wss" else None
    if common_name == "undefined":
        common_name = None
    revoked = False
    if common_name is not None and settings.CSMS_GATEWAY_TLS_CRL:
        pem = body.get("cert_pem")
        certificate = revocation.certificate_from_text(pem) if isinstance(pem, str) and len(pem) < _PEM_MAX else None
        revoked = certificate is None or revocation.certificate_revoked(
            certificate=certificate, crl_files=list(settings.CSMS_GATEWAY_TLS_CRL)
        )
    attempt = services.HandshakeAttempt(
        charge_point_id=charge_point_id,
        username=username,
        password=password,
        address=address,
        tls=transport == "wss",
        certificate_cn=common_name,
        certificate_revoked=revoked,
        gateway=f"emqx-{transport}",
    )
    decision = services.handshake_authenticate(attempt=attempt)
    return JsonResponse({"result": "allow" if decision.allowed else "deny", "is_superuser": False})
