"""Slices written before fences and week slices existed are rebuilt: dropped, every day with facts
queued, and the rollups marked incomplete so reports read the raw tables until the next refresh has
rebuilt them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reporting", "0006_week_slices")]

    operations = [
        migrations.RunSQL(
            sql=(
                "DELETE FROM reporting_dayslice; "
                "INSERT INTO reporting_rollupdirtyday (day) SELECT DISTINCT day FROM reporting_incidentfact "
                "ON CONFLICT DO NOTHING; "
                "UPDATE reporting_rollupstate SET complete_as_of = NULL"
            ),
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
