"""The audit log: its append-only table, and a row trigger on every configuration table that writes what
changed there (whoever changed it: the app, the admin, the API, a shell or a bulk UPDATE).

The tables are listed here as they were when this migration was written (a migration must not change
when the app does); protocols/audit_tables.py is the living list, and a test keeps the database's
triggers equal to it, so a table added later needs a migration that attaches its trigger."""

import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

# table: (secret columns, ignored columns)
AUDITED = {
    "auth_user": ("password", "last_login"),
    "auth_group": ("", ""),
    "auth_group_permissions": ("", ""),
    "auth_user_groups": ("", ""),
    "auth_user_user_permissions": ("", ""),
    "protocols_roleassignment": ("", ""),
    "protocols_apitoken": ("digest", "last_used_at"),
    "protocols_intakesource": ("secret", ""),
    "protocols_socialaccount": ("webhook_secret,mastodon_access_token", "updated_at"),
    "protocols_socialaccountaccess": ("", ""),
    "protocols_webhookendpoint": ("url", "failing_since,last_error"),
    "protocols_category": ("", ""),
    "protocols_checklistquestion": ("", ""),
    "protocols_triagerule": ("", ""),
    "protocols_businesscalendar": ("", "updated_at"),
    "protocols_openinghours": ("", ""),
    "protocols_holiday": ("", ""),
    "protocols_escalationchain": ("", "updated_at"),
    "protocols_escalationstep": ("", ""),
    "protocols_slapolicy": ("", "updated_at"),
    "protocols_approvalchain": ("", "updated_at"),
    "protocols_approvalstep": ("", ""),
    "protocols_approvalrule": ("", "updated_at"),
    "protocols_moderationrule": ("", ""),
    "protocols_spikesettings": ("", ""),
    "protocols_reviewschedule": ("", "reminded_for"),
    "templates_app_responsetemplate": ("", "updated_at"),
    "templates_app_responsetemplate_categories": ("", ""),
    "templates_app_templateversion": ("", "updated_at"),
    "templates_app_templateversion_authors": ("", ""),
    "templates_app_faqentry": ("", "updated_at,search_vector"),
    "templates_app_faqentry_categories": ("", ""),
    "templates_app_bannedphrase": ("", "updated_at"),
    "templates_app_requiredelement": ("", "updated_at"),
    "templates_app_platformlimit": ("", "updated_at"),
    "templates_app_tonenote": ("", "updated_at"),
}

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION firebreak_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON protocols_auditevent
    FOR EACH ROW EXECUTE FUNCTION firebreak_refuse_audit_change();
"""

APPEND_ONLY_REVERSE = """
DROP TRIGGER IF EXISTS audit_event_append_only ON protocols_auditevent;
DROP FUNCTION IF EXISTS firebreak_refuse_audit_change();
"""

# One function for every table: TG_ARGV[0] lists the secret columns, TG_ARGV[1] the ignored ones. The
# actor and the request come from settings of the database session (protocols/audit_actor.py sets them
# before a request's first write to one of these tables and clears them at its end).
AUDIT_ROW_SQL = """
CREATE OR REPLACE FUNCTION firebreak_audit_row() RETURNS trigger AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    secrets text[] := string_to_array(TG_ARGV[0], ',');
    ignored text[] := string_to_array(TG_ARGV[1], ',');
    changes jsonb := '{}';
    actor text := nullif(current_setting('firebreak.actor_id', true), '');
    col text;
BEGIN
    FOR col IN SELECT jsonb_object_keys(coalesce(new_row, old_row)) LOOP
        CONTINUE WHEN col = ANY(ignored);
        IF col = ANY(secrets) THEN
            IF coalesce(old_row ->> col, '') IS DISTINCT FROM coalesce(new_row ->> col, '') THEN
                changes := changes || jsonb_build_object(col, jsonb_build_object('secret', true));
            END IF;
        ELSIF (old_row -> col) IS DISTINCT FROM (new_row -> col) THEN
            changes := changes || jsonb_build_object(
                col, jsonb_build_object('old', old_row -> col, 'new', new_row -> col));
        END IF;
    END LOOP;
    IF TG_OP = 'UPDATE' AND changes = '{}' THEN
        RETURN NULL;  -- nothing but bookkeeping changed, or nothing at all
    END IF;
    INSERT INTO protocols_auditevent
        (at, kind, action, actor_id, actor_name, table_name, object_id, changes, details, ip, request_id)
    VALUES (
        now(), 'config', lower(TG_OP), actor::integer,
        coalesce(current_setting('firebreak.actor_name', true), ''),
        TG_TABLE_NAME, coalesce(coalesce(new_row, old_row) ->> 'id', ''), changes, '{}', NULL,
        coalesce(current_setting('firebreak.request_id', true), '')
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _attach(table: str, secrets: str, ignored: str) -> str:
    return (
        f"CREATE TRIGGER firebreak_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION firebreak_audit_row('{secrets}', '{ignored}');"
    )


ATTACH_SQL = "\n".join(_attach(table, *columns) for table, columns in AUDITED.items())
DETACH_SQL = "\n".join(f"DROP TRIGGER IF EXISTS firebreak_audit ON {table};" for table in AUDITED)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("protocols", "0009_post_incident_reviews"),
        ("templates_app", "0002_platform_limits"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                (
                    "kind",
                    models.CharField(
                        choices=[("auth", "Sign-in"), ("refusal", "Refusal"), ("config", "Configuration change")],
                        max_length=8,
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("insert", "Created"),
                            ("update", "Changed"),
                            ("delete", "Deleted"),
                            ("login", "Signed in"),
                            ("login_failed", "Sign-in failed"),
                            ("logout", "Signed out"),
                            ("locked_out", "Locked out"),
                            ("token_failed", "API token refused"),
                            ("refused", "Refused"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("actor_name", models.CharField(blank=True, max_length=150)),
                ("table_name", models.CharField(blank=True, max_length=63)),
                ("object_id", models.CharField(blank=True, max_length=64)),
                ("changes", models.JSONField(blank=True, default=dict)),
                ("details", models.JSONField(blank=True, default=dict)),
                ("ip", models.GenericIPAddressField(blank=True, null=True)),
                ("request_id", models.CharField(blank=True, max_length=32)),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["at"], name="audit_event_at"),
                    models.Index(fields=["table_name", "object_id"], name="audit_event_object"),
                    models.Index(fields=["actor"], name="audit_event_actor"),
                ],
            },
        ),
        migrations.RunSQL(APPEND_ONLY_SQL, APPEND_ONLY_REVERSE),
        migrations.RunSQL(AUDIT_ROW_SQL, "DROP FUNCTION IF EXISTS firebreak_audit_row();"),
        migrations.RunSQL(ATTACH_SQL, DETACH_SQL),
    ]
