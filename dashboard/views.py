"""The operator dashboard's pages: read through selectors, write through services, nothing else.

Every page is also live: its template names a websocket path (``live_path``) whose consumer pushes
the same fragments again when the charger(s) on the page change.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chargers import ports
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, IdTag, IdTokenType, RegistrationStatus
from chargers.services import (
    IdTagError,
    charge_point_registration_set,
    id_tag_block,
    id_tag_create,
    id_tag_expire,
    id_tag_unblock,
)

from . import fragments, panels, selectors
from .forms import BulkAcceptForm, CommandForm, IdTagActionForm, IdTagCreateForm, RegistrationForm

FAVICON = Path(__file__).resolve().parent / "static" / "dashboard" / "favicon.ico"


def _live_path(path: str, request: HttpRequest) -> str:
    """The websocket path of a page, carrying the page's query so the consumer shows the same rows."""
    query = request.GET.urlencode()
    return f"{path}?{query}" if query else path


def _port(charge_point: ChargePoint) -> ports.ProtocolPort | None:
    """The charger's version, or None when no protocol package speaks it (its page shows, its buttons refuse)."""
    try:
        return ports.port_of(charge_point)
    except LookupError:
        return None


def _wants_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


@login_required
@require_GET
def fleet_view(request: HttpRequest) -> HttpResponse:
    """Fleet overview: counts and a filtered, paginated charger table."""
    context = {
        "fleet": selectors.fleet_page(request.GET),
        "query": request.GET,
        "states": selectors.State.CHOICES,
        "live_path": _live_path("/ws/fleet/", request),
    }
    context["panels"] = panels.fleet_panels(context, request)
    return render(request, "dashboard/fleet.html", context)


@login_required
@require_GET
def charger_view(request: HttpRequest, charge_point_id: str) -> HttpResponse:
    """One charger: identity, connectors (2.0.1: by EVSE), current sessions, messages, configuration keys
    (2.0.1: the device model, filtered by the page's query), commands.

    The buttons post the shortcut's name (``remote_start``, ``reset``...); the charger's version spells
    the command (``CommandForm``), so the page names no OCPP action.
    """
    detail = selectors.charger_detail(charge_point_id, request.GET)
    if detail is None:
        raise Http404("No such charger")
    port = _port(detail.charge_point)
    context = {
        "detail": detail,
        "trigger_messages": port.trigger_messages if port else (),
        "live_path": _live_path(f"/ws/chargers/{charge_point_id}/", request),
    }
    context["panels"] = panels.charger_panels(detail.charge_point, context, request)
    return render(request, "dashboard/charger.html", context)


@login_required
@require_POST
def command_create_view(request: HttpRequest, charge_point_id: str) -> HttpResponse:
    """A command button: queue the command through ``command_enqueue``; answer with the command list.

    With ``X-Requested-With: fetch`` (the page's script) the answer is JSON with the refreshed
    fragment; a plain form post gets a redirect back to the charger page and a flash message.
    """
    charge_point = get_object_or_404(ChargePoint, charge_point_id=charge_point_id)
    port = _port(charge_point)
    form = CommandForm(request.POST, port=port) if port else None
    error = ""
    command = None
    if form is None:
        error = f"{charge_point} speaks OCPP {charge_point.ocpp_version}, which this CSMS cannot send commands in"
    elif form.is_valid():
        try:
            # The version's builder may refuse too (2.0.1: a stop of a session the station does not name).
            shortcut = form.command()
            command = command_enqueue(
                charge_point=charge_point,
                action=shortcut.action,
                payload=shortcut.payload,
                requested_by=request.user.get_username(),
            )
        except CommandError as exc:
            error = exc.message
    else:
        error = "; ".join(f"{field}: {' '.join(str(e) for e in errs)}" for field, errs in form.errors.items())
    message = error or f"{command.action if command else ''} queued"
    if _wants_fragment(request):
        detail = selectors.charger_detail(charge_point_id, request.GET)
        body = {
            "ok": not error,
            "message": message,
            "command_id": command.pk if command else None,
            "action": command.action if command else None,
            "fragments": fragments.render_fragments(
                {"charger-commands": fragments.CHARGER["charger-commands"]}, {"detail": detail}, request
            ),
        }
        return JsonResponse(body, status=400 if error else 201)
    (messages.error if error else messages.success)(request, message)
    return HttpResponseRedirect(reverse("dashboard:charger", args=[charge_point_id]))


@login_required
@require_GET
def sessions_view(request: HttpRequest) -> HttpResponse:
    """Charging sessions with filters, newest first."""
    context = {
        "sessions": selectors.session_page(request.GET),
        "query": request.GET,
        "live_path": _live_path("/ws/sessions/", request),
    }
    return render(request, "dashboard/sessions.html", context)


@login_required
@require_GET
def session_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One session: energy, duration and the meter-value chart."""
    detail = selectors.session_detail(pk)
    if detail is None:
        raise Http404("No such session")
    context = {"session": detail, "live_path": f"/ws/sessions/{pk}/"}
    return render(request, "dashboard/session.html", context)


@login_required
@require_GET
def pending_view(request: HttpRequest) -> HttpResponse:
    """Chargers waiting for an operator to accept or reject them."""
    context = {
        "registrations": selectors.registration_page(request.GET),
        "query": request.GET,
        "live_path": _live_path("/ws/pending/", request),
    }
    return render(request, "dashboard/pending.html", context)


@login_required
@require_POST
def registration_view(request: HttpRequest, charge_point_id: str) -> HttpResponse:
    """Accept or reject a charger (takes effect at its next BootNotification)."""
    charge_point = get_object_or_404(ChargePoint, charge_point_id=charge_point_id)
    form = RegistrationForm(request.POST)
    if form.is_valid():
        charge_point_registration_set(charge_point=charge_point, status=form.cleaned_data["status"])
        messages.success(request, f"{charge_point_id} is now {form.cleaned_data['status']}")
    else:
        messages.error(request, "Choose accept or reject")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(back)
    return HttpResponseRedirect(_pending_url(RegistrationStatus.PENDING))


def _pending_url(status: str) -> str:
    return reverse("dashboard:pending") + "?" + urlencode({"status": status})


@login_required
@require_POST
def pending_accept_view(request: HttpRequest) -> HttpResponse:
    """Accept the ticked chargers, or every charger waiting with the tab's status.

    Each one goes through ``charge_point_registration_set``, the service a single Accept uses (it
    also tells an online Pending charger at once). Only chargers still waiting are accepted: one
    that another operator decided on meanwhile keeps that decision.
    """
    form = BulkAcceptForm(request.POST, charge_point_ids=request.POST.getlist("charge_point_id"))
    if not form.is_valid():
        problems = " ".join(str(error) for error in form.non_field_errors())
        messages.error(request, problems or "Choose which chargers to accept")
        return HttpResponseRedirect(_pending_url(request.POST.get("status") or RegistrationStatus.PENDING))
    data = form.cleaned_data
    if data["scope"] == "all":
        waiting = ChargePoint.objects.filter(registration_status=data["status"])
    else:
        waiting = ChargePoint.objects.filter(
            charge_point_id__in=data["charge_point_ids"],
            registration_status__in=(RegistrationStatus.PENDING, RegistrationStatus.REJECTED),
        )
    accepted = []
    for charge_point in waiting.order_by("charge_point_id"):
        charge_point_registration_set(charge_point=charge_point, status=RegistrationStatus.ACCEPTED)
        accepted.append(charge_point.charge_point_id)
    if accepted:
        shown = ", ".join(accepted[:10]) + (f" and {len(accepted) - 10} more" if len(accepted) > 10 else "")
        messages.success(request, f"Accepted {len(accepted)} charger{'s' if len(accepted) != 1 else ''}: {shown}")
    skipped = len(data.get("charge_point_ids", [])) - len(accepted)
    if skipped > 0:
        messages.warning(request, f"{skipped} of the ticked chargers were not waiting any more")
    if not accepted and skipped <= 0:
        messages.warning(request, "No charger was waiting")
    return HttpResponseRedirect(_pending_url(data["status"]))


@login_required
@require_http_methods(["GET", "POST"])
def id_tags_view(request: HttpRequest) -> HttpResponse:
    """The authorization list: search, filter, and add an id tag (through ``id_tag_create``)."""
    form = IdTagCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tag = id_tag_create(
                id_tag=data["id_tag"],
                type=data["type"],
                expiry_date=data["expiry_date"],
                parent=data["parent"],
                note=data["note"],
            )
        except IdTagError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except IntegrityError:  # created by someone else between the form's check and the insert
            form.add_error("id_tag", "This id tag exists already.")
        else:
            messages.success(request, f"Id tag {tag.id_tag} added")
            return HttpResponseRedirect(reverse("dashboard:id-tags") + "?" + urlencode({"search": tag.id_tag}))
    context = {
        "tags": selectors.id_tag_page(request.GET),
        "query": request.GET,
        "form": form,
        "statuses": IdTag._meta.get_field("status").choices,
        "token_types": IdTokenType.choices,
    }
    return render(request, "dashboard/id_tags.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def id_tag_action_view(request: HttpRequest, id_tag: str) -> HttpResponse:
    """Block, unblock or expire one id tag (through the id tag services)."""
    tag = get_object_or_404(IdTag, id_tag=id_tag)
    form = IdTagActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose block, unblock or expire")
    else:
        action = form.cleaned_data["action"]
        if action == "block":
            id_tag_block(tag=tag)
            messages.success(request, f"{tag.id_tag} is blocked")
        elif action == "unblock":
            id_tag_unblock(tag=tag)
            messages.success(request, f"{tag.id_tag} is accepted again")
        else:
            id_tag_expire(tag=tag, at=timezone.now())
            messages.success(request, f"{tag.id_tag} has expired")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(back)
    return HttpResponseRedirect(reverse("dashboard:id-tags"))


@require_GET
@cache_control(max_age=86400, public=True)
def favicon_view(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on every page (the admin and API docs included)."""
    return HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
