"""An incident's facts: one narrow row with everything a report counts about it already worked out from
its clocks, replies, decisions, mentions and surveys, written in one statement per batch of incidents.

The definitions are the raw computation's (reporting/metrics/compute.py), row by row: durations as
float8 exactly as the raw statements read them, a target's outcome per kind over all its clocks, the
approval steps that stopped, the mentions no reply came after, the answered surveys, and whether the
incident's category came back with each of its products within 30 days.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from incidents.filters import TARGET_CHOICES
from reporting.metrics.cohort import RECUR_WITHIN

TARGET_KINDS = [k for k, _ in TARGET_CHOICES]

FACT_COLUMNS = (
    "incident_id, created_at, day, category_id, tier, priority, status, platform, assignee_id, "
    "assigned_role, products, mention_count, surge_title, first_response_clock, resolution_clock, "
    "first_response_business, resolution_business, has_targets, targets_stopped, targets_breached, "
    "step_stages, step_clock, step_business, replies_decided, replies_sent_back, mentions, "
    "unanswered_posted, surveys_sent, survey_ratings, survey_weeks, recurrence_counted, recurred_products"
)

_UPSERT = (
    f"""
INSERT INTO reporting_incidentfact ({FACT_COLUMNS})
SELECT i.id, i.created_at, (i.created_at AT TIME ZONE 'UTC')::date, i.category_id,
    coalesce(cat.tier, ''), i.priority, i.status, i.platform, i.assignee_id, i.assigned_role,
    i.products, i.mention_count, CASE WHEN i.thread_key LIKE 'surge:%%' THEN i.title END,
    extract(epoch FROM i.first_responded_at - i.created_at)::float8,
    extract(epoch FROM i.resolved_at - i.created_at)::float8,
    coalesce(clocks.first_business, '{{}}'), coalesce(clocks.resolution_business, '{{}}'),
    coalesce(targets.has_targets, false), coalesce(targets.stopped, '{{}}'),
    coalesce(targets.breached, '{{}}'),
    coalesce(steps.stages, '{{}}'), coalesce(steps.clock, '{{}}'), coalesce(steps.business, '{{}}'),
    coalesce(decisions.decided, 0), coalesce(decisions.sent_back, 0), coalesce(ments.counts, '{{}}'),
    coalesce(ments.unanswered, '{{}}'), coalesce(surveys.sent, 0), coalesce(surveys.ratings, '{{}}'),
    coalesce(surveys.weeks, '{{}}'),
    i.category_id IS NOT NULL AND cardinality(i.products) > 0, '{{}}'
FROM incidents_incident i
LEFT JOIN protocols_category cat ON cat.id = i.category_id
LEFT JOIN LATERAL (
    SELECT array_agg(c.consumed_seconds ORDER BY c.consumed_seconds)
               FILTER (WHERE c.kind = 'first_response') AS first_business,
           array_agg(c.consumed_seconds ORDER BY c.consumed_seconds)
               FILTER (WHERE c.kind = 'resolution') AS resolution_business
    FROM incidents_slaclock c
    WHERE c.incident_id = i.id AND c.reference = '' AND c.stopped_at IS NOT NULL
      AND c.kind IN ('first_response', 'resolution')
) clocks ON true
LEFT JOIN LATERAL (
    SELECT true AS has_targets,
           array_agg(k.kind ORDER BY k.kind) FILTER (WHERE k.stopped) AS stopped,
           array_agg(k.kind ORDER BY k.kind) FILTER (WHERE k.breached) AS breached
    FROM (SELECT c.kind, bool_or(c.stopped_at IS NOT NULL) AS stopped,
                 bool_or(c.breached_at IS NOT NULL) AS breached
          FROM incidents_slaclock c WHERE c.incident_id = i.id AND c.kind = ANY(%(targets)s)
          GROUP BY c.kind) k
    HAVING count(*) > 0
) targets ON true
LEFT JOIN LATERAL (
    SELECT array_agg(split_part(c.reference, ':', 4) ORDER BY c.id) AS stages,
           array_agg(extract(epoch FROM c.stopped_at - c.started_at)::float8 ORDER BY c.id) AS clock,
           array_agg(c.consumed_seconds ORDER BY c.id) AS business
    FROM incidents_slaclock c
    WHERE c.incident_id = i.id AND c.kind = 'approval_step' AND c.stopped_at IS NOT NULL
) steps ON true
LEFT JOIN LATERAL (
    SELECT count(DISTINCT d.reply_id) AS decided,
           count(DISTINCT d.reply_id) FILTER (WHERE d.decision = 'changes_requested') AS sent_back
    FROM incidents_replydecision d JOIN incidents_reply r ON r.id = d.reply_id
    WHERE r.incident_id = i.id
) decisions ON true
LEFT JOIN LATERAL (
    SELECT (SELECT jsonb_object_agg(g.key, g.n) FROM (
                SELECT m.platform || '|' || m.sentiment AS key, count(*) AS n
                FROM incidents_mention m WHERE m.incident_id = i.id GROUP BY 1) g) AS counts,
           (SELECT array_agg((extract(epoch FROM m.posted_at) * 1000000)::bigint ORDER BY m.posted_at)
            FROM incidents_mention m WHERE m.incident_id = i.id AND NOT EXISTS (
                SELECT 1 FROM incidents_reply r
                WHERE r.incident_id = m.incident_id AND r.published_at >= m.posted_at)) AS unanswered
) ments ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS sent,
           array_agg(v.rating ORDER BY v.id) FILTER (WHERE v.answered_at IS NOT NULL) AS ratings,
           array_agg(date_trunc('week', v.answered_at AT TIME ZONE 'UTC')::date ORDER BY v.id)
               FILTER (WHERE v.answered_at IS NOT NULL) AS weeks
    FROM incidents_satisfactionsurvey v WHERE v.incident_id = i.id
) surveys ON true
WHERE i.id = ANY(%(ids)s) AND i.merged_into_id IS NULL
ON CONFLICT (incident_id) DO UPDATE SET
"""
    + ", ".join(
        f"{c} = EXCLUDED.{c}"
        for c in FACT_COLUMNS.replace(" ", "").split(",")[1:]
        if c != "recurred_products"
    )
    + (
        # Recurrence is worked out after (it reads the other facts); an incident no longer counted has none.
        ", recurred_products = CASE WHEN EXCLUDED.recurrence_counted "
        "THEN reporting_incidentfact.recurred_products ELSE '{}' END"
    )
)

# Facts whose recurrence another incident's change may have changed: the same category, sharing a
# product, created up to 30 days before it (read from the facts as they stood before and after).
_NEIGHBOURS = """
SELECT DISTINCT g.incident_id FROM reporting_incidentfact g
JOIN (SELECT category_id, products, created_at FROM reporting_incidentfact WHERE incident_id = ANY(%(ids)s)
      UNION ALL
      SELECT category_id, products, created_at FROM reporting_before) d
  ON g.category_id = d.category_id AND g.products && d.products
 AND g.created_at >= d.created_at - %(within)s AND g.created_at <= d.created_at
"""

# Whether each product of the incident came back: a later incident (strictly) of the same category
# with that product, within 30 days. Probed per fact through (category_id, created_at).
_RECURRENCE_PROBE = """
UPDATE reporting_incidentfact f SET recurred_products = r.products
FROM (
    SELECT f2.incident_id, coalesce((
        SELECT array_agg(DISTINCT p.product ORDER BY p.product) FROM unnest(f2.products) AS p(product)
        WHERE EXISTS (
            SELECT 1 FROM reporting_incidentfact g
            WHERE g.category_id = f2.category_id AND g.created_at > f2.created_at
              AND g.created_at <= f2.created_at + %(within)s AND g.products @> ARRAY[p.product])
    ), '{}') AS products
    FROM reporting_incidentfact f2 WHERE f2.incident_id = ANY(%(ids)s) AND f2.recurrence_counted
) r
WHERE f.incident_id = r.incident_id AND f.recurred_products IS DISTINCT FROM r.products
RETURNING f.day
"""

# The same for every fact at once (the first build): one sort and a sliding frame per category and
# product, as the raw computation does it.
_RECURRENCE_ALL = """
UPDATE reporting_incidentfact f SET recurred_products = r.products
FROM (
    SELECT w.incident_id, coalesce(array_agg(DISTINCT w.product ORDER BY w.product)
                                   FILTER (WHERE w.later > 0), '{}') AS products FROM (
        SELECT g.incident_id, t.product, count(*) OVER (PARTITION BY g.category_id, t.product
            ORDER BY g.created_at RANGE BETWEEN INTERVAL '1 microsecond' FOLLOWING AND %(within)s FOLLOWING)
            AS later
        FROM reporting_incidentfact g, unnest(g.products) AS t(product) WHERE g.recurrence_counted) w
    GROUP BY 1
) r
WHERE f.incident_id = r.incident_id AND f.recurred_products IS DISTINCT FROM r.products
RETURNING f.day
"""

FULL_RECURRENCE_FROM = 50_000


def facts_rewrite(ids: list[int]) -> set[Any]:
    """Rewrites the facts of `ids` (deleting those of incidents merged away or gone) and the recurrence
    of every fact the change can affect; returns the days whose slices changed."""
    params: dict[str, Any] = {"ids": ids, "targets": TARGET_KINDS, "within": RECUR_WITHIN}
    days: set[Any] = set()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS reporting_before")
        cursor.execute(
            "CREATE TEMPORARY TABLE reporting_before ON COMMIT DROP AS "
            "SELECT incident_id, day, category_id, products, created_at FROM reporting_incidentfact "
            "WHERE incident_id = ANY(%(ids)s)",
            params,
        )
        cursor.execute("SELECT DISTINCT day FROM reporting_before")
        days.update(d for (d,) in cursor.fetchall())
        cursor.execute(
            "DELETE FROM reporting_incidentfact f WHERE f.incident_id = ANY(%(ids)s) AND NOT EXISTS ("
            "SELECT 1 FROM incidents_incident i WHERE i.id = f.incident_id AND i.merged_into_id IS NULL)",
            params,
        )
        cursor.execute(_UPSERT, params)
        cursor.execute(
            "SELECT DISTINCT day FROM reporting_incidentfact WHERE incident_id = ANY(%(ids)s)", params
        )
        days.update(d for (d,) in cursor.fetchall())
        if len(ids) >= FULL_RECURRENCE_FROM:
            cursor.execute(_RECURRENCE_ALL, params)
        else:
            cursor.execute(_NEIGHBOURS, params)
            affected = sorted({*ids, *(pk for (pk,) in cursor.fetchall())})
            cursor.execute(_RECURRENCE_PROBE, {**params, "ids": affected})
        days.update(d for (d,) in cursor.fetchall())
    return days
