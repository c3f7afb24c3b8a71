"""Smart charging of a 2.0.1 station: its state (GET), and the commands an operator sends most (POST: set,
clear, report profiles; ask for the composite schedule), built here and queued like any command (202 with
the command to follow; a profile the station could not take is a 400 with the reason)."""

from __future__ import annotations

import secrets
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from chargers.api.serializers import CommandSerializer
from chargers.api.views import CHARGE_POINT_ID_PARAM, enqueue
from chargers.models import ChargePoint
from chargers.ports import CommandRequest

from .. import selectors
from . import serializers as s

#: The versions that speak block K's messages as these endpoints build them.
VERSIONS = frozenset({"2.0.1", "2.1"})

EVSE_PARAM = OpenApiParameter("evse_id", int, description="Only this EVSE (0: the station)")


def _evse(request: Request) -> int | None:
    raw = request.query_params.get("evse_id")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({"evse_id": ["must be an integer"]}) from None


class SmartChargingViewSet(TextLookupMixin, viewsets.GenericViewSet):
    """One station's smart charging: profiles per EVSE, external limits, EV needs, composite schedules."""

    # The path's charge_point_id is a charge point's (for the schema; every action looks the charger up itself).
    queryset = ChargePoint.objects.none()
    serializer_class = s.SmartChargingSerializer
    read_permissions = ("chargers.view_chargepoint",)
    _command = ("chargers.view_chargepoint", "chargers.add_command")
    action_permissions = {"set_profile": _command, "clear": _command, "report": _command, "composite_ask": _command}

    def _charger(self, **kwargs: Any) -> ChargePoint:
        return get_object_or_404(ChargePoint, charge_point_id=kwargs["charge_point_id"])

    def _queue(
        self, request: Request, charge_point: ChargePoint, action_name: str, payload: dict[str, Any], body: s._Expiring
    ) -> Response:
        if charge_point.ocpp_version not in VERSIONS:
            raise ValidationError(
                {
                    "non_field_errors": [
                        f"{charge_point} speaks OCPP {charge_point.ocpp_version or '1.6'}: "
                        "send its SetChargingProfile etc. with POST /api/v1/commands/"
                    ]
                }
            )
        return enqueue(
            request,
            charge_point=charge_point,
            command_request=CommandRequest(action_name, payload),
            expires_in=body.validated_data.get("expires_in"),
            snake_case=False,
        )

    @extend_schema(
        summary="Smart charging state of a station",
        description="The profiles the station holds as far as we know (`source`: set by the CSMS, or reported "
        "by the station in ReportChargingProfiles, with its `charging_limit_source`), per EVSE (0: the station); "
        "its active external limits (NotifyChargingLimit, until ClearedChargingLimit), each EVSE's last EV "
        "charging needs and schedule (ISO 15118), the last composite schedule and the last profile report.",
        parameters=[CHARGE_POINT_ID_PARAM],
        responses={200: s.SmartChargingSerializer},
    )
    def retrieve(self, request: Request, **kwargs: Any) -> Response:
        charge_point = self._charger(**kwargs)
        state = selectors.smart_charging(charge_point=charge_point)
        data = {
            "profiles": [profile for evse in state.evses for profile in evse.profiles],
            "limits": state.limits,
            "ev_charging_needs": state.needs,
            "ev_charging_schedules": state.ev_schedules,
            "composite_schedule": state.composite.schedule if state.composite else None,
            "last_report": state.report,
        }
        return Response(s.SmartChargingSerializer(data).data)

    @extend_schema(
        summary="Charging profiles of a station",
        description="The active profiles, of one EVSE with `evse_id`.",
        parameters=[CHARGE_POINT_ID_PARAM, EVSE_PARAM],
        responses={200: s.ChargingProfileSerializer(many=True)},
    )
    def profiles(self, request: Request, **kwargs: Any) -> Response:
        profiles = selectors.profiles_active(charge_point=self._charger(**kwargs))
        evse = _evse(request)
        if evse is not None:
            profiles = profiles.filter(connector_id=evse)
        return Response(s.ChargingProfileSerializer(profiles, many=True).data)

    @extend_schema(
        summary="Set a charging profile (SetChargingProfile)",
        description="Checked before it is queued: a ChargingStationMaxProfile is on EVSE 0 and never Relative; a "
        "TxProfile names an active session of the station (its `transactionId`) on that EVSE; the first period "
        "starts at 0 and periods ascend; validFrom before validTo; Recurring needs recurrencyKind and "
        "startSchedule; and the station's SmartChargingCtrlr limits (stack level, periods, entries, rate units) "
        "where its device model said them. A refusal is a 400 naming the field. Stored when the station accepts.",
        parameters=[CHARGE_POINT_ID_PARAM],
        request=s.ProfileSetSerializer,
        responses={202: CommandSerializer},
    )
    def set_profile(self, request: Request, **kwargs: Any) -> Response:
        body = s.ProfileSetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._queue(request, self._charger(**kwargs), "SetChargingProfile", body.payload(), body)

    @extend_schema(
        summary="Clear charging profiles (ClearChargingProfile)",
        description="By `charging_profile_id`, else by EVSE, purpose and stack level (none: every profile).",
        parameters=[CHARGE_POINT_ID_PARAM],
        request=s.ProfileClearSerializer,
        responses={202: CommandSerializer},
    )
    @action(detail=False, methods=["post"])
    def clear(self, request: Request, **kwargs: Any) -> Response:
        body = s.ProfileClearSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._queue(request, self._charger(**kwargs), "ClearChargingProfile", body.payload(), body)

    @extend_schema(
        summary="Ask the station for its profiles (GetChargingProfiles)",
        description="The station answers in ReportChargingProfiles parts; what it reports replaces what we "
        "knew of the profiles asked for (`last_report` in the state follows it).",
        parameters=[CHARGE_POINT_ID_PARAM],
        request=s.ProfileReportRequestSerializer,
        responses={202: CommandSerializer},
    )
    @action(detail=False, methods=["post"])
    def report(self, request: Request, **kwargs: Any) -> Response:
        body = s.ProfileReportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        request_id = secrets.randbelow(2**31 - 1) + 1
        return self._queue(request, self._charger(**kwargs), "GetChargingProfiles", body.payload(request_id), body)

    @extend_schema(
        summary="Last composite schedule of a station",
        description="As the station last answered a GetCompositeSchedule (of `evse_id` when given); 404 before one.",
        parameters=[CHARGE_POINT_ID_PARAM, EVSE_PARAM],
        responses={200: s.CompositeScheduleSerializer},
    )
    def composite(self, request: Request, **kwargs: Any) -> Response:
        schedule = selectors.composite_latest(charge_point=self._charger(**kwargs), evse_id=_evse(request))
        if schedule is None:
            raise NotFound("no composite schedule yet: ask with POST")
        return Response(s.CompositeScheduleSerializer(schedule).data)

    @extend_schema(
        summary="Ask for the composite schedule (GetCompositeSchedule)",
        description="The station computes what it will draw over `duration` seconds; its answer is stored and drawn.",
        parameters=[CHARGE_POINT_ID_PARAM],
        request=s.CompositeRequestSerializer,
        responses={202: CommandSerializer},
    )
    def composite_ask(self, request: Request, **kwargs: Any) -> Response:
        body = s.CompositeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._queue(request, self._charger(**kwargs), "GetCompositeSchedule", body.payload(), body)
