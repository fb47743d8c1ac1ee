"""The report over the REST API: the dashboard's figures for a range and filter, with the previous
period, for other systems (BI tools, a weekly digest) to pull."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ValidationFailed
from incidents.api import serializers as s
from reporting.api.serializers import ReportSummarySerializer
from reporting.figures import report_pair
from reporting.forms import ReportFilterForm, report_filter_form

RANGE_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (UTC); default 29 days before end."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, inclusive (UTC); default today."),
    OpenApiParameter("category", str, description="Category id, or 'none'."),
    OpenApiParameter("tier", str, enum=["routine", "high_priority", "crisis"]),
    OpenApiParameter("priority", str, enum=["low", "normal", "high", "critical"]),
    OpenApiParameter("platform", str),
    OpenApiParameter("product", str),
    OpenApiParameter("assignee", str, description="User id, or 'none'."),
    OpenApiParameter("assigned_role", str),
]


def _valid_form(request: Request) -> ReportFilterForm:
    """The dashboard's own form validates the API's parameters, so both accept exactly the same."""
    form = report_filter_form(request.query_params, today=timezone.now().date())
    if not form.is_valid():
        fields = {
            ("non_field_errors" if name == "__all__" else name): [str(e) for e in errors]
            for name, errors in form.errors.items()
        }
        message = "; ".join(
            " ".join(errors) if name == "non_field_errors" else f"{name}: {' '.join(errors)}"
            for name, errors in fields.items()
        )
        raise ValidationFailed(message, fields=fields)
    return form


class ReportSummaryView(APIView):
    action_permissions = {"get": "report.view"}

    @extend_schema(
        summary="Report figures for a range and filter",
        description=(
            "Every figure of the reports dashboard for the incidents created in the range (merged "
            "duplicates left out) that match the filters, and the same for the period of equal length "
            "before it. Durations are seconds; every count carries `link`, the triage queue listing "
            "exactly the incidents behind it. Managers and admins only."
        ),
        parameters=RANGE_PARAMETERS,
        responses={
            200: ReportSummarySerializer,
            400: OpenApiResponse(
                s.ErrorResponse, description="A bad date, range or filter; `fields` names it."
            ),
            401: OpenApiResponse(s.ErrorResponse, description="Missing or invalid credentials."),
            403: OpenApiResponse(s.ErrorResponse, description="Your role does not allow reading reports."),
        },
    )
    def get(self, request: Request) -> Response:
        query = _valid_form(request).report_query()
        now = timezone.now()
        current, previous = report_pair(query=query, user=request.user, now=now)
        return Response(ReportSummarySerializer({"current": current, "previous": previous}).data)
