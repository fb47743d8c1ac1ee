"""The audit log over REST (admins): sign-ins, refusals and configuration changes, newest first, with the
page's filters. Read-only: the log is append-only."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from protocols.api.access_views import NewestFirst
from protocols.api.filters import AuditEventFilter
from protocols.api.views import ERRORS
from protocols.audit_selectors import audit_event_list
from protocols.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    table = serializers.CharField(source="table_name")
    changes = serializers.JSONField(
        help_text='Configuration changes: {column: {"old", "new"}}; a secret column (password hash, token '
        'digest, shared secret) is {column: {"secret": true}}, its values never recorded.'
    )
    details = serializers.JSONField(
        help_text="Sign-ins and refusals: username (tried), path, method, needed (policy action), "
        "view_action, reason, message."
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "kind",
            "action",
            "actor",
            "actor_name",
            "table",
            "object_id",
            "changes",
            "details",
            "ip",
            "request_id",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="Audit log",
        description="Sign-ins (and failures, sign-outs, lockouts, refused tokens), refused requests and "
        "every change to the configuration, newest first. Admins only.",
        responses={200: AuditEventSerializer(many=True), **ERRORS},
    )
)
class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    action_permissions = {"list": "audit.view"}
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    pagination_class = NewestFirst
    queryset = AuditEvent.objects.none()

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_event_list()
