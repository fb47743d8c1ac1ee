"""The timeline is a record: the database itself refuses to change or delete an event.

TRUNCATE stays possible on purpose: it is an administrator's whole-table operation (and the test
runner's way of resetting the database), not a change to an incident's history."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION firebreak_refuse_timeline_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'timeline events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER timeline_append_only
    BEFORE UPDATE OR DELETE ON incidents_timelineevent
    FOR EACH ROW EXECUTE FUNCTION firebreak_refuse_timeline_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS timeline_append_only ON incidents_timelineevent;
DROP FUNCTION IF EXISTS firebreak_refuse_timeline_change();
"""


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
