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
    FROM incidents_reply r JOIN LATERAL (
        SELECT d.reply_id, d.decision FROM incidents_replydecision d WHERE d.reply_id = r.id) d ON true
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

# Every (incident, product) of the categorised facts, for recurrence (came_back worked out after).
_PRODUCTS_DELETE = "DELETE FROM reporting_factproduct WHERE incident_id = ANY(%(ids)s)"
_PRODUCTS_INSERT = """
INSERT INTO reporting_factproduct (incident_id, category_id, product, created_at, came_back)
SELECT DISTINCT f.incident_id, f.category_id, t.product, f.created_at, false
FROM reporting_incidentfact f, unnest(f.products) AS t(product)
WHERE f.incident_id = ANY(%(ids)s) AND f.recurrence_counted
"""

# The products whose "came back" a change can flip: of the same category and product, created in the
# 30 days before an incident that now has the product (those that had not come back yet: their own
# small index) or that had it before the change (those that had).
_NEIGHBOURS = """
SELECT g.incident_id
FROM reporting_factproduct d
CROSS JOIN LATERAL (
    SELECT g.incident_id FROM reporting_factproduct g
    WHERE g.category_id = d.category_id AND g.product = d.product AND NOT g.came_back
      AND g.created_at >= d.created_at - %(within)s AND g.created_at < d.created_at
) g
WHERE d.incident_id = ANY(%(ids)s)
UNION
SELECT g.incident_id
FROM (
    SELECT b.category_id, t.product, b.created_at
    FROM reporting_before b, unnest(b.products) AS t(product) WHERE b.category_id IS NOT NULL
      AND NOT EXISTS (  -- unchanged where recurrence looks: nothing it made come back can change
          SELECT 1 FROM reporting_incidentfact n WHERE n.incident_id = b.incident_id
             AND n.category_id = b.category_id AND n.products = b.products AND n.created_at = b.created_at)
) d
CROSS JOIN LATERAL (
    SELECT g.incident_id FROM reporting_factproduct g
    WHERE g.category_id = d.category_id AND g.product = d.product AND g.came_back
      AND g.created_at >= d.created_at - %(within)s AND g.created_at < d.created_at
) g
"""

# Whether each product came back: a later incident (strictly) of the same category with that product,
# within 30 days: one index range each. Then the facts' lists of products that came back.
_RECURRENCE_PROBE = """
UPDATE reporting_factproduct p SET came_back = r.came_back
FROM (
    SELECT p2.id, EXISTS (
        SELECT 1 FROM reporting_factproduct g
        WHERE g.category_id = p2.category_id AND g.product = p2.product AND g.created_at > p2.created_at
          AND g.created_at <= p2.created_at + %(within)s) AS came_back
    FROM reporting_factproduct p2 WHERE p2.incident_id = ANY(%(ids)s)
) r
WHERE p.id = r.id AND p.came_back <> r.came_back
"""

# The same for every product at once (a build): one sort and a sliding frame per category and product,
# as the raw computation does it.
_RECURRENCE_ALL = """
UPDATE reporting_factproduct p SET came_back = w.later > 0
FROM (
    SELECT g.id, count(*) OVER (PARTITION BY g.category_id, g.product
        ORDER BY g.created_at RANGE BETWEEN INTERVAL '1 microsecond' FOLLOWING AND %(within)s FOLLOWING)
        AS later
    FROM reporting_factproduct g
) w
WHERE p.id = w.id AND p.came_back <> (w.later > 0)
"""

# The facts' recurred products from their products' flags (all of them, or those of `ids`).
_RECURRED = """
UPDATE reporting_incidentfact f SET recurred_products = r.products
FROM (
    SELECT f2.incident_id, coalesce(array_agg(p.product ORDER BY p.product) FILTER (WHERE p.came_back), '{}')
        AS products
    FROM reporting_incidentfact f2 JOIN reporting_factproduct p ON p.incident_id = f2.incident_id
    WHERE %(all)s OR f2.incident_id = ANY(%(ids)s)
    GROUP BY 1
) r
WHERE f.incident_id = r.incident_id AND f.recurred_products IS DISTINCT FROM r.products
RETURNING f.day
"""


def recurrence_rewrite_all() -> set[Any]:
    """Every fact's recurrence at once (after a build: one sort instead of a probe per fact); returns
    the days whose facts changed."""
    with connection.cursor() as cursor:
        params: dict[str, Any] = {"within": RECUR_WITHIN, "all": True, "ids": []}
        cursor.execute(_RECURRENCE_ALL, params)
        cursor.execute(_RECURRED, params)
        return {d for (d,) in cursor.fetchall()}


def facts_rewrite(ids: list[int], *, recurrence: bool = True) -> set[Any]:
    """Rewrites the facts of `ids` (deleting those of incidents merged away or gone) and, unless told
    not to (a build does it once at the end), the recurrence of every fact the change can affect;
    returns the days whose slices changed."""
    params: dict[str, Any] = {"ids": ids, "targets": TARGET_KINDS, "within": RECUR_WITHIN}
    days: set[Any] = set()
    with connection.cursor() as cursor:
        # Thousands of small index probes: compiling them (JIT) costs more than running them.
        cursor.execute("SET LOCAL jit = off")
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
        cursor.execute(_PRODUCTS_DELETE, params)
        cursor.execute(_PRODUCTS_INSERT, params)
        cursor.execute(
            "SELECT DISTINCT day FROM reporting_incidentfact WHERE incident_id = ANY(%(ids)s)", params
        )
        days.update(d for (d,) in cursor.fetchall())
        if recurrence:
            cursor.execute(_NEIGHBOURS, params)
            affected = sorted({*ids, *(pk for (pk,) in cursor.fetchall())})
            cursor.execute(_RECURRENCE_PROBE, {**params, "ids": affected})
            cursor.execute(_RECURRED, {**params, "ids": affected, "all": False})
            days.update(d for (d,) in cursor.fetchall())
    return days
