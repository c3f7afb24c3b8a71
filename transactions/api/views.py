"""Views of the sessions API: transactions of both versions (list, detail, CSV export), their meter values
and (2.0.1) their TransactionEvents."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from apikeys.pagination import cursor_pagination
from fleet.selectors import session_duration_seconds, session_energy_wh, with_latest_energy
from tariffs.selectors import session_cost
from transactions.filtersets import MeterValueFilterSet, TransactionEventFilterSet, TransactionFilterSet
from transactions.models import MeterValue, Transaction, TransactionEvent

from .serializers import MeterValueSerializer, TransactionEventSerializer, TransactionSerializer


class CSVRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: text/csv``; the export streams its own body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        # Only errors get here (the export itself is a StreamingHttpResponse): one "detail" line.
        return JSONRenderer().render(data)


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream without a buffer."""

    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = [
    "id",
    "charge_point_id",
    "connector_id",
    "id_tag",
    "id_tag_status",
    "started_at",
    "stopped_at",
    "duration_seconds",
    "meter_start",
    "meter_stop",
    "energy_wh",
    "energy_final",
    "stop_reason",
    "stop_id_tag",
    # Appended (readers by column name and by position keep working): the charger's id, EVSE, version.
    "transaction_id",
    "evse_id",
    "ocpp_version",
    # Appended: the cost (final once stopped, else so far; empty without a tariff) and its currency.
    "cost",
    "currency",
]


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ is a formula to a spreadsheet: never let an id tag run one.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(queryset: QuerySet[Transaction]) -> Iterator[str]:
    """The header, then one line per session, read from the database in chunks."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    now = timezone.now()
    for tx in queryset.iterator(chunk_size=2000):
        energy = session_energy_wh(tx)
        cost = session_cost(tx, energy_wh=energy, now=now)
        yield writer.writerow(
            [
                tx.pk,
                _cell(tx.charge_point.charge_point_id),
                tx.connector_id,
                _cell(tx.id_tag),
                _cell(tx.id_tag_status),
                tx.started_at.isoformat(),
                tx.stopped_at.isoformat() if tx.stopped_at else "",
                session_duration_seconds(tx, now=now),
                "" if tx.meter_start is None else tx.meter_start,
                "" if tx.meter_stop is None else tx.meter_stop,
                "" if energy is None else energy,
                "true" if tx.meter_stop is not None else "false",
                _cell(tx.stop_reason),
                _cell(tx.stop_id_tag),
                _cell(tx.transaction_id),
                "" if tx.evse_id is None else tx.evse_id,
                tx.charge_point.ocpp_version,
                "" if cost is None else cost,
                tx.currency,
            ]
        )


TRANSACTION_ID_PARAM = OpenApiParameter(
    "id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The session's `id` (1.6: the transactionId the charger was given; a 2.0.1 session is found by "
    "the charger's own id with `?transaction_id=` on the list)",
)


@extend_schema_view(
    list=extend_schema(
        summary="List charging sessions",
        description="Newest first, both OCPP versions. Filter by charger, EVSE, connector, id tag, active, "
        "start/stop time range, `transaction_id` (the id the charger knows the session by: a 2.0.1 charger's "
        "own transactionId, a 1.6 session's `id`), `ocpp_version` of the charger, 2.0.1 token type and "
        "charging state. `energy_wh` is null until an energy register reading is known (a 2.0.1 session "
        "whose events carried none yet has no `meter_start`).",
    ),
    retrieve=extend_schema(
        summary="A charging session, with its energy and duration",
        parameters=[TRANSACTION_ID_PARAM],
        examples=[
            OpenApiExample(
                "Charging",
                response_only=True,
                value={
                    "id": 8,
                    "url": "https://csms.example.com/api/v1/transactions/8/",
                    "transaction_id": "8",
                    "charge_point_id": "CP-0001",
                    "ocpp_version": "1.6",
                    "evse_id": 1,
                    "connector_id": 1,
                    "id_tag": "04A2B3C4",
                    "id_token_type": "",
                    "id_tag_status": "Accepted",
                    "reservation_id": None,
                    "remote_start_id": None,
                    "active": True,
                    "charging_state": "",
                    "time_spent_charging": None,
                    "meter_start": 1000,
                    "meter_stop": None,
                    "energy_wh": 4200,
                    "energy_final": False,
                    "started_at": "2026-11-23T10:00:00Z",
                    "stopped_at": None,
                    "duration_seconds": 1800,
                    "start_received_at": "2026-11-23T10:00:01Z",
                    "stop_received_at": None,
                    "stop_reason": "",
                    "stop_id_tag": "",
                    "tariff": 1,
                    "currency": "EUR",
                    "cost": "1.55",
                    "cost_final": False,
                    "charging_seconds": None,
                    "meter_values_url": "https://csms.example.com/api/v1/transactions/8/meter-values/",
                    "events_url": "https://csms.example.com/api/v1/transactions/8/events/",
                },
            )
        ],
    ),
)
class TransactionViewSet(viewsets.ReadOnlyModelViewSet):
    """Charging sessions of both versions; ``id`` is ours (1.6: the transactionId the charger was given)."""

    queryset = Transaction.objects.select_related("charge_point", "tariff").order_by("-started_at", "-id")
    serializer_class = TransactionSerializer
    filterset_class = TransactionFilterSet
    read_permissions = ("transactions.view_transaction",)

    def get_queryset(self) -> QuerySet[Transaction]:
        return with_latest_energy(super().get_queryset())

    @extend_schema(
        summary="Export charging sessions as CSV",
        description="The same filters as the list; every matching session (no pagination), streamed. "
        "Columns: " + ", ".join(CSV_COLUMNS) + ". Times are ISO 8601 UTC, energy in Wh, cost in `currency` "
        "(final once stopped, else so far; empty when no tariff priced the session).",
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="CSV with a header line",
                examples=[
                    OpenApiExample(
                        "Two sessions",
                        value=",".join(CSV_COLUMNS) + "\r\n"
                        "8,CP-0001,1,04A2B3C4,Accepted,2026-11-23T10:00:00+00:00,,900,1000,,250,false,,,8,1,1.6,0.60,EUR\r\n"
                        "7,CS-2001,1,04A2B3C5,Accepted,2026-11-23T08:00:00+00:00,2026-11-23T09:00:00+00:00,"
                        "3600,0,11000,11000,true,Local,04A2B3C5,abc-123,2,2.0.1,4.05,EUR\r\n",
                        response_only=True,
                    )
                ],
            ),
        },
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="export",
        renderer_classes=[JSONRenderer, CSVRenderer],
        pagination_class=None,
    )
    def export(self, request: Request) -> StreamingHttpResponse:
        queryset = self.filter_queryset(self.get_queryset())
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="transactions-{stamp}.csv"'
        return response


@extend_schema_view(
    list=extend_schema(
        summary="Meter values of a charging session",
        description="Oldest first, cursor-paginated (follow `next`). Filter by measurand, phase, context and "
        "time range (the charger's clock).",
        parameters=[TRANSACTION_ID_PARAM],
    ),
)
class MeterValueViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The sampled values of one session."""

    queryset = MeterValue.objects.none()
    serializer_class = MeterValueSerializer
    filterset_class = MeterValueFilterSet
    pagination_class = cursor_pagination("timestamp", "id")
    read_permissions = ("transactions.view_transaction", "transactions.view_metervalue")

    def get_queryset(self) -> QuerySet[MeterValue]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        transaction = get_object_or_404(Transaction.objects.only("pk"), pk=self.kwargs["pk"])
        return MeterValue.objects.filter(transaction=transaction)


@extend_schema_view(
    list=extend_schema(
        summary="TransactionEvents of a charging session (OCPP 2.0.1)",
        description="In seqNo order, cursor-paginated (follow `next`): each event as the charger sent it "
        "(`payload`) and what we answered (`reply`). A replayed seqNo is one row. Empty for a 1.6 session. "
        "Filter by event type, trigger reason, offline.",
        parameters=[TRANSACTION_ID_PARAM],
    ),
)
class TransactionEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The TransactionEvents of one session."""

    queryset = TransactionEvent.objects.none()
    serializer_class = TransactionEventSerializer
    filterset_class = TransactionEventFilterSet
    pagination_class = cursor_pagination("seq_no", "id")
    read_permissions = ("transactions.view_transaction",)

    def get_queryset(self) -> QuerySet[TransactionEvent]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        transaction = get_object_or_404(Transaction.objects.only("pk"), pk=self.kwargs["pk"])
        return TransactionEvent.objects.filter(transaction=transaction)
