"""Changes to outbound webhook subscriptions are configuration: the audit log's trigger (protocols
0010) records them, the secret only as changed."""

from django.db import migrations

ATTACH = (
    "CREATE TRIGGER firebreak_audit AFTER INSERT OR UPDATE OR DELETE ON incidents_webhooksubscription "
    "FOR EACH ROW EXECUTE FUNCTION firebreak_audit_row('secret', 'failing_since,last_error');"
)
DETACH = "DROP TRIGGER IF EXISTS firebreak_audit ON incidents_webhooksubscription;"


class Migration(migrations.Migration):
    dependencies = [("incidents", "0018_personal_data"), ("protocols", "0010_audit_log")]

    operations = [migrations.RunSQL(ATTACH, DETACH)]
