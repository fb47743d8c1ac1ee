"""What every endpoint of the templates API shares: the documented error answers and reading validated
input from a request body."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework.serializers import Serializer

from incidents.api.serializers import ErrorResponse

ERRORS = {
    400: OpenApiResponse(ErrorResponse, description="Invalid input; `fields` names each problem."),
    401: OpenApiResponse(ErrorResponse, description="Missing or invalid credentials."),
    403: OpenApiResponse(ErrorResponse, description="Your role does not allow this."),
}
NOT_FOUND = {404: OpenApiResponse(ErrorResponse, description="No such object.")}
CONFLICT = {
    409: OpenApiResponse(ErrorResponse, description="Someone else changed it first; nothing changed.")
}


def validated_input(
    serializer_class: type[Serializer], data: Any, *, partial: bool = False
) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
