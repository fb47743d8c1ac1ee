"""Triggers that queue, in the same transaction as the change, the incidents whose report facts a
statement changed; and the first fill of the queue (every incident), so the rollups build on the next
refresh. Statement-level, with transition tables: one INSERT per statement whatever its row count."""

from django.db import migrations

# (table, event, the incident ids the statement touched: SQL over the transition tables)
WATCHED = [
    ("incidents_incident", "INSERT", "SELECT id FROM new_rows"),
    ("incidents_incident", "UPDATE", "SELECT id FROM new_rows"),
    ("incidents_incident", "DELETE", "SELECT id FROM old_rows"),
    ("incidents_mention", "INSERT", "SELECT incident_id FROM new_rows"),
    (
        "incidents_mention",
        "UPDATE",
        "SELECT incident_id FROM new_rows UNION SELECT incident_id FROM old_rows",
    ),
    ("incidents_mention", "DELETE", "SELECT incident_id FROM old_rows"),
    ("incidents_slaclock", "INSERT", "SELECT incident_id FROM new_rows"),
    ("incidents_slaclock", "UPDATE", "SELECT incident_id FROM new_rows"),
    ("incidents_slaclock", "DELETE", "SELECT incident_id FROM old_rows"),
    ("incidents_reply", "INSERT", "SELECT incident_id FROM new_rows"),
    ("incidents_reply", "UPDATE", "SELECT incident_id FROM new_rows UNION SELECT incident_id FROM old_rows"),
    ("incidents_reply", "DELETE", "SELECT incident_id FROM old_rows"),
    (
        "incidents_replydecision",
        "INSERT",
        "SELECT r.incident_id FROM new_rows n JOIN incidents_reply r ON r.id = n.reply_id",
    ),
    (
        "incidents_replydecision",
        "DELETE",
        "SELECT r.incident_id FROM old_rows o JOIN incidents_reply r ON r.id = o.reply_id",
    ),
    ("incidents_satisfactionsurvey", "INSERT", "SELECT incident_id FROM new_rows"),
    ("incidents_satisfactionsurvey", "UPDATE", "SELECT incident_id FROM new_rows"),
    ("incidents_satisfactionsurvey", "DELETE", "SELECT incident_id FROM old_rows"),
    # A category's tier is part of its incidents' facts.
    (
        "protocols_category",
        "UPDATE",
        "SELECT i.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "JOIN incidents_incident i ON i.category_id = n.id WHERE n.tier IS DISTINCT FROM o.tier",
    ),
]


def _name(table: str, event: str) -> str:
    return f"rollup_dirty_{table}_{event.lower()}"


def _create(table: str, event: str, ids: str) -> str:
    name = _name(table, event)
    referencing = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }[event]
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reporting_rollupdirty (incident_id)
    SELECT DISTINCT t.id FROM ({ids}) AS t(id) WHERE t.id IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing}
FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""


def _drop(table: str, event: str) -> str:
    name = _name(table, event)
    return f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();"


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0002_rollups"),
        ("incidents", "0016_satisfaction_surveys"),
        ("protocols", "0009_post_incident_reviews"),
    ]

    operations = [
        migrations.RunSQL(
            sql="".join(_create(*w) for w in WATCHED),
            reverse_sql="".join(_drop(t, e) for t, e, _ in WATCHED),
        ),
        # Packed doubles do not compress: stored as they are, they are read without decompressing.
        migrations.RunSQL(
            sql="ALTER TABLE reporting_dayslice ALTER COLUMN durations SET STORAGE EXTERNAL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            sql="INSERT INTO reporting_rollupstate (id, last_incidents, last_days, last_seconds, "
            "recurrence_pending) VALUES (1, 0, 0, 0, false); "
            "INSERT INTO reporting_rollupdirty (incident_id) SELECT id FROM incidents_incident",
            reverse_sql="DELETE FROM reporting_rollupdirty; DELETE FROM reporting_rollupstate",
        ),
    ]
