"""OpenAPI: the error responses every operation can give, documented once for all of them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error other than invalid input."""

    detail = serializers.CharField()


# 400 bodies are DRF's: field name -> list of messages ("non_field_errors" for the request as a
# whole); nested inputs give nested objects. Hence a free-form object.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {},
    "description": "Field name -> list of messages; `non_field_errors` for the request as a whole.",
}

_ERRORS: dict[str, OpenApiResponse] = {
    "400": OpenApiResponse(
        response=VALIDATION_ERROR_SCHEMA,
        description="Invalid input (body or query parameters): the messages per field.",
        examples=[
            OpenApiExample(
                "Invalid fields",
                value={"connector_id": ["Ensure this value is greater than or equal to 1."]},
                status_codes=["400"],
                response_only=True,
            )
        ],
    ),
    "401": OpenApiResponse(
        response=ErrorSerializer,
        description="Not authenticated: no credentials, or an invalid, revoked or expired token.",
        examples=[
            OpenApiExample(
                "No credentials",
                value={"detail": "Authentication credentials were not provided."},
                status_codes=["401"],
                response_only=True,
            )
        ],
    ),
    "403": OpenApiResponse(
        response=ErrorSerializer,
        description="Authenticated, but the role (viewer, operator, admin) does not allow this.",
        examples=[
            OpenApiExample(
                "Role too low",
                value={"detail": "You do not have permission to perform this action."},
                status_codes=["403"],
                response_only=True,
            )
        ],
    ),
    "404": OpenApiResponse(
        response=ErrorSerializer,
        description="Unknown id in the path (or an invalid pagination cursor).",
        examples=[
            OpenApiExample("Unknown id", value={"detail": "Not found."}, status_codes=["404"], response_only=True)
        ],
    ),
    "429": OpenApiResponse(
        response=ErrorSerializer,
        description="Too many requests for this token; retry after the `Retry-After` header's seconds.",
        examples=[
            OpenApiExample(
                "Throttled",
                value={"detail": "Request was throttled. Expected available in 12 seconds."},
                status_codes=["429"],
                response_only=True,
            )
        ],
    ),
}


class ApiAutoSchema(AutoSchema):
    """AutoSchema that adds the common error responses to every operation that does not document them."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, response in _ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
