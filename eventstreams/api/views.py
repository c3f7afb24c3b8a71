"""/api/v1/event-streams/: the periodic event streams of OCPP 2.1 stations, their values, and Adjust."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.viewsets import TextLookupMixin
from chargers.commands import CommandError, command_enqueue

from ..models import PeriodicEventStream
from .serializers import PeriodicEventStreamSerializer, StreamAdjustSerializer, StreamValueSerializer

#: At most this many values in one answer (the newest ones when more match).
VALUES_LIMIT = 5000


class PeriodicEventStreamViewSet(TextLookupMixin, viewsets.ReadOnlyModelViewSet[PeriodicEventStream]):
    """Streams stations opened (OpenPeriodicEventStream), newest values last."""

    serializer_class = PeriodicEventStreamSerializer
    read_permissions = ("chargers.view_chargepoint",)
    action_permissions = {"adjust": ("chargers.view_chargepoint", "chargers.add_command")}

    def get_queryset(self) -> QuerySet[PeriodicEventStream]:
        queryset = PeriodicEventStream.objects.select_related("charge_point")
        charge_point = self.request.query_params.get("charge_point")
        if charge_point:
            queryset = queryset.filter(charge_point__charge_point_id=charge_point)
        state = self.request.query_params.get("status")
        if state:
            queryset = queryset.filter(status=state)
        return queryset

    @extend_schema(
        summary="Periodic event streams",
        parameters=[
            OpenApiParameter("charge_point", str, description="Only this charge point's streams"),
            OpenApiParameter("status", str, enum=PeriodicEventStream.Status.values),
        ],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="A periodic event stream")
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Values of a periodic event stream",
        description=f"The stream's values in time order (at most {VALUES_LIMIT}, the newest), optionally between "
        "`from` and `to` (ISO 8601 times, the station's clock).",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME),
            OpenApiParameter("to", OpenApiTypes.DATETIME),
        ],
        responses=StreamValueSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def values(self, request: Request, pk: str | None = None) -> Response:
        stream = self.get_object()
        queryset = stream.stream_values.all()
        for name, lookup in (("from", "timestamp__gte"), ("to", "timestamp__lte")):
            raw = request.query_params.get(name)
            if raw:
                try:
                    moment = datetime.fromisoformat(raw)
                except ValueError:
                    raise ValidationError({name: ["not an ISO 8601 date-time"]}) from None
                if moment.tzinfo is None:
                    raise ValidationError({name: ["needs an offset (Z for UTC)"]})
                queryset = queryset.filter(**{lookup: moment})
        newest = list(queryset.order_by("-timestamp")[:VALUES_LIMIT])
        return Response(StreamValueSerializer(newest[::-1], many=True).data)

    @extend_schema(
        summary="Adjust a periodic event stream",
        description="Queues an AdjustPeriodicEventStream to the station (OCPP 2.1) with the new interval and/or "
        "number of values; the stream takes them when the station accepts. 202 with the command's id.",
        request=StreamAdjustSerializer,
        responses={202: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"])
    def adjust(self, request: Request, pk: str | None = None) -> Response:
        stream = self.get_object()
        body = StreamAdjustSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if stream.status != PeriodicEventStream.Status.OPEN:
            raise ValidationError({"stream": [f"stream {stream.stream_id} is {stream.status}"]})
        try:
            command = command_enqueue(
                charge_point=stream.charge_point,
                action="AdjustPeriodicEventStream",
                payload={"id": stream.stream_id, "params": dict(body.validated_data)},
                requested_by=f"api: {request.user}",
            )
        except CommandError as exc:
            raise ValidationError(exc.errors or {"payload": [str(exc)]}) from None
        return Response({"id": command.pk, "action": command.action, "status": command.status},
                        status=status.HTTP_202_ACCEPTED)  # fmt: skip
