"""The report's figures as JSON: the same numbers and queue links as the dashboard (output only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reporting.metrics import Report


class ReportDurationsSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="How many durations were measured.")
    median = serializers.FloatField(allow_null=True, help_text="Seconds; interpolated like percentile_cont.")
    p90 = serializers.FloatField(allow_null=True, help_text="Seconds.")
    mean = serializers.FloatField(allow_null=True, help_text="Seconds.")


class ReportCountSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The filter value (an id, a choice, 'none').")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    value = serializers.IntegerField()
    link = serializers.CharField(help_text="The triage queue listing exactly these incidents.")


class ReportTargetSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance = serializers.FloatField(allow_null=True, help_text="met / (met + breached).")
    met_link = serializers.CharField()
    breached_link = serializers.CharField()


class ReportStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    clock = ReportDurationsSerializer()
    business = ReportDurationsSerializer()


class ReportLabelledCountSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    value = serializers.IntegerField()


class ReportDayCountSerializer(serializers.Serializer):
    day = serializers.DateField()
    incidents = serializers.IntegerField()


class ReportThemeSerializer(serializers.Serializer):
    category = serializers.CharField()
    product = serializers.CharField()
    incidents = serializers.IntegerField()
    link = serializers.CharField()


class ReportUnansweredSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        help_text="Mentions on open incidents newer than their last published reply."
    )
    oldest_seconds = serializers.FloatField(allow_null=True)
    median_seconds = serializers.FloatField(allow_null=True)
    link = serializers.CharField()


class ReportRecurrenceSerializer(serializers.Serializer):
    base = serializers.IntegerField(help_text="Incidents with a category and a product.")
    recurred = serializers.IntegerField(help_text="Of those, how many came back within 30 days.")
    share = serializers.FloatField(allow_null=True)
    themes = ReportThemeSerializer(many=True)


class ReportSurgeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReportCrisisSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    incident_id = serializers.IntegerField(allow_null=True)


class ReportCsatSerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Surveys sent for these incidents.")
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    average = serializers.FloatField(allow_null=True, help_text="Mean rating, 1 to 5.")
    weeks = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{week (Monday), average, answered}] by when answers came in.",
    )


class ReportFiguresSerializer(serializers.Serializer):
    start = serializers.DateTimeField(source="query.start")
    end = serializers.DateTimeField(source="query.end", help_text="Exclusive.")
    incidents = serializers.IntegerField()
    incidents_link = serializers.CharField()
    mentions = serializers.IntegerField()
    incidents_by = serializers.DictField(
        child=ReportCountSerializer(many=True), help_text="By category, priority, platform and product."
    )
    mentions_by = serializers.SerializerMethodField()
    per_day = serializers.SerializerMethodField()
    first_response = serializers.DictField(child=ReportDurationsSerializer(), help_text="clock and business")
    resolution = serializers.DictField(child=ReportDurationsSerializer(), help_text="clock and business")
    targets = ReportTargetSerializer(many=True)
    breaches_by = serializers.DictField(
        child=ReportCountSerializer(many=True), help_text="By category, priority, assignee and role."
    )
    compliance_by_category = ReportTargetSerializer(many=True)
    approval_stages = ReportStageSerializer(source="stages", many=True)
    replies_decided = serializers.IntegerField()
    replies_sent_back = serializers.IntegerField()
    sent_back_share = serializers.FloatField(allow_null=True)
    unanswered = serializers.SerializerMethodField()
    recurrence = serializers.SerializerMethodField()
    csat = serializers.SerializerMethodField()
    surges = serializers.SerializerMethodField()
    crises = ReportCrisisSerializer(many=True)

    @extend_schema_field(serializers.DictField(child=ReportLabelledCountSerializer(many=True)))
    def get_mentions_by(self, report: Report) -> dict[str, Any]:
        return {dim: [{"label": v, "value": n} for v, n in rows] for dim, rows in report.mentions_by.items()}

    @extend_schema_field(ReportDayCountSerializer(many=True))
    def get_per_day(self, report: Report) -> list[dict[str, Any]]:
        return [{"day": day, "incidents": n} for day, n in report.per_day]

    @extend_schema_field(ReportUnansweredSerializer)
    def get_unanswered(self, report: Report) -> dict[str, Any]:
        return {
            "count": report.unanswered,
            "oldest_seconds": report.unanswered_oldest_seconds,
            "median_seconds": report.unanswered_median_seconds,
            "link": report.unanswered_link,
        }

    @extend_schema_field(ReportRecurrenceSerializer)
    def get_recurrence(self, report: Report) -> dict[str, Any]:
        return {
            "base": report.recurrence_base,
            "recurred": report.recurred,
            "share": report.recurrence_share,
            "themes": [
                {"category": c, "product": p, "incidents": n, "link": link} for c, p, n, link in report.themes
            ],
        }

    @extend_schema_field(ReportCsatSerializer)
    def get_csat(self, report: Report) -> dict[str, Any]:
        return {
            "sent": report.csat_sent,
            "answered": report.csat_answered,
            "response_rate": report.csat_response_rate,
            "average": report.csat_average,
            "weeks": [{"week": w, "average": a, "answered": n} for w, a, n in report.csat_weeks],
        }

    @extend_schema_field(ReportSurgeSerializer(many=True))
    def get_surges(self, report: Report) -> list[dict[str, Any]]:
        return [{"id": pk, "title": title, "created_at": at.isoformat()} for pk, title, at in report.surges]


class ReportSummarySerializer(serializers.Serializer):
    current = ReportFiguresSerializer()
    previous = ReportFiguresSerializer(help_text="The period of the same length just before.")
