"""The operator dashboard's pages: read through selectors, write through services, nothing else.

Every page is also live: its template names a websocket path (``live_path``) whose consumer pushes
the same fragments again when the charger(s) on the page change.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint
from chargers.services import charge_point_registration_set

from . import fragments, selectors
from .forms import ACTIONS, TRIGGER_MESSAGES, CommandForm, RegistrationForm


def _live_path(path: str, request: HttpRequest) -> str:
    """The websocket path of a page, carrying the page's query so the consumer shows the same rows."""
    query = request.GET.urlencode()
    return f"{path}?{query}" if query else path


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
    return render(request, "dashboard/fleet.html", context)


@login_required
@require_GET
def charger_view(request: HttpRequest, charge_point_id: str) -> HttpResponse:
    """One charger: identity, connectors, current session, messages, configuration, commands."""
    detail = selectors.charger_detail(charge_point_id)
    if detail is None:
        raise Http404("No such charger")
    context = {
        "detail": detail,
        "actions": ACTIONS,
        "trigger_messages": TRIGGER_MESSAGES,
        "live_path": f"/ws/chargers/{charge_point_id}/",
    }
    return render(request, "dashboard/charger.html", context)


@login_required
@require_POST
def command_create_view(request: HttpRequest, charge_point_id: str) -> HttpResponse:
    """A command button: queue the command through ``command_enqueue``; answer with the command list.

    With ``X-Requested-With: fetch`` (the page's script) the answer is JSON with the refreshed
    fragment; a plain form post gets a redirect back to the charger page and a flash message.
    """
    charge_point = get_object_or_404(ChargePoint, charge_point_id=charge_point_id)
    form = CommandForm(request.POST)
    error = ""
    command = None
    if form.is_valid():
        try:
            command = command_enqueue(
                charge_point=charge_point,
                action=form.cleaned_data["action"],
                payload=form.payload(),
                requested_by=request.user.get_username(),
            )
        except CommandError as exc:
            error = exc.message
    else:
        error = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())
    message = error or f"{form.cleaned_data['action']} queued"
    if _wants_fragment(request):
        detail = selectors.charger_detail(charge_point_id)
        body = {
            "ok": not error,
            "message": message,
            "command_id": command.pk if command else None,
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
    return HttpResponseRedirect(reverse("dashboard:pending") + "?" + urlencode({"status": "Pending"}))
