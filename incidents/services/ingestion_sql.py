"""The SQL of one intake batch: each statement takes its rows as one JSON document and is prepared
once per database session (see config.prepared)."""

from __future__ import annotations

from config.prepared import Prepared
from incidents.models import OPEN_STATUS_VALUES

LOCK_NAMESPACE = 7301  # the first key of pg_advisory_xact_lock(int, int), reserved for ingestion

# The open statuses are spelled out so the planner can use the partial indexes in a generic plan.
_OPEN = "status IN (" + ", ".join(f"'{status}'" for status in OPEN_STATUS_VALUES) + ")"
LOCK_BUCKETS_SQL = Prepared(
    "fb_ingest_lock",
    ("int[]",),
    f"SELECT pg_advisory_xact_lock({LOCK_NAMESPACE}, b) FROM (SELECT unnest(%s) AS b ORDER BY 1) AS s",  # noqa: S608 - constants
)
# LATERAL with OFFSET 0 (never flattened into a hash join): one unique-index probe per key, which
# stays cheap however large the mentions table grows.
FIND_STORED_SQL = Prepared(
    "fb_ingest_find_stored",
    ("text[]", "text[]"),
    "SELECT m.id, m.platform, m.external_id, m.incident_id "
    "FROM unnest(%s, %s) AS k(platform, external_id) CROSS JOIN LATERAL ("
    "  SELECT id, platform, external_id, incident_id FROM incidents_mention "
    "  WHERE platform = k.platform AND external_id = k.external_id OFFSET 0) AS m",
)
FIND_THREADS_SQL = Prepared(
    "fb_ingest_find_threads",
    ("text[]",),
    f"SELECT thread_key, max(id) FROM incidents_incident WHERE {_OPEN} AND thread_key = ANY(%s) "  # noqa: S608
    "GROUP BY thread_key",
)
FIND_AUTHORS_SQL = Prepared(
    "fb_ingest_find_authors",
    ("text[]", "timestamptz"),
    "SELECT DISTINCT ON (author_key) author_key, id, last_mention_at FROM incidents_incident "  # noqa: S608
    f"WHERE {_OPEN} AND author_key = ANY(%s) AND last_mention_at >= %s "
    "ORDER BY author_key, last_mention_at DESC",
)
# Within one batch every new incident has its own thread key, so it maps the returned ids back.
INSERT_INCIDENTS_SQL = Prepared(
    "fb_ingest_incidents",
    ("timestamptz", "json"),
    "INSERT INTO incidents_incident (title, description, category_id, priority, status, assigned_role, "
    "tags, products, platform, thread_key, author_key, mention_count, last_mention_at, search_vector, "
    "created_at, updated_at, follow_up_required) "
    "SELECT r.title, r.description, r.category_id, r.priority, 'new', r.assigned_role, r.tags, r.products, "
    "r.platform, r.thread_key, r.author_key, r.n, r.last_at, to_tsvector('english', r.search), "
    "t.now, t.now, false FROM (SELECT %s AS now) AS t, json_to_recordset(%s) AS r(title text, "
    "description text, category_id bigint, priority text, assigned_role text, tags varchar[], "
    "products varchar[], platform text, thread_key text, author_key text, n int, last_at timestamptz, "
    "search text) RETURNING id, thread_key",
)
INSERT_MENTIONS_SQL = Prepared(
    "fb_ingest_mentions",
    ("timestamptz", "json"),
    "INSERT INTO incidents_mention (platform, external_id, url, author_handle, author_name, text, "
    "posted_at, thread_id, parent_id, language, sentiment, sentiment_is_computed, tags, products, "
    "raw, incident_id, received_at) "
    "SELECT r.platform, r.external_id, r.url, r.author_handle, r.author_name, r.body, r.posted_at, "
    "r.thread_id, r.parent_id, r.language, r.sentiment, r.computed, r.tags, r.products, r.raw::jsonb, "
    "r.incident_id, t.now FROM (SELECT %s AS now) AS t, json_to_recordset(%s) AS r(platform text, "
    "external_id text, url text, author_handle text, author_name text, body text, "
    "posted_at timestamptz, thread_id text, parent_id text, language text, sentiment text, "
    "computed boolean, tags varchar[], products varchar[], raw text, incident_id bigint) "
    "ON CONFLICT (platform, external_id) DO NOTHING RETURNING id, platform, external_id, incident_id",
)
# Priority only goes up: the CASE keeps the higher of the current and the rule's priority. Tags are
# only appended when new, so the common case changes no indexed column and PostgreSQL can update the
# row in place (HOT). Joining the table again as `old` reads the row as it was, for the timeline.
UPDATE_TOUCHED_SQL = Prepared(
    "fb_ingest_touch",
    ("timestamptz", "json"),
    "UPDATE incidents_incident AS i SET mention_count = i.mention_count + v.n, "
    "last_mention_at = GREATEST(i.last_mention_at, v.last_at), "
    "tags = i.tags || ARRAY(SELECT unnest(v.tags) EXCEPT SELECT unnest(i.tags)), "
    "products = i.products || ARRAY(SELECT unnest(v.products) EXCEPT SELECT unnest(i.products)), "
    "priority = CASE WHEN v.raise_to IS NULL THEN i.priority "
    "  WHEN array_position(ARRAY['low','normal','high','critical'], v.raise_to) > "
    "       array_position(ARRAY['low','normal','high','critical'], i.priority::text) THEN v.raise_to "
    "  ELSE i.priority END, "
    "updated_at = t.now "
    "FROM (SELECT %s AS now) AS t, json_to_recordset(%s) AS v(id bigint, n int, last_at timestamptz, "
    "tags varchar[], products varchar[], raise_to text) "
    "JOIN incidents_incident AS old ON old.id = v.id "
    "WHERE i.id = v.id RETURNING i.id, old.priority, i.priority",
)
INSERT_EVENTS_SQL = Prepared(
    "fb_ingest_events",
    ("bigint", "text", "timestamptz", "json"),
    "INSERT INTO incidents_timelineevent (incident_id, kind, actor_id, actor_label, before, after, note, "
    "created_at) SELECT r.incident_id, r.kind, %s, %s, r.before, r.after, r.note, %s "
    "FROM json_to_recordset(%s) AS r(incident_id bigint, kind text, before jsonb, after jsonb, note text)",
)
# Spike detection's per-minute counts: one upsert per batch over its new mentions, by product tag and
# sentiment (a mention without product tags counts under none). Never reads the mentions table.
INSERT_BUCKETS_SQL = Prepared(
    "fb_ingest_buckets",
    ("json",),
    "INSERT INTO incidents_mentionbucket AS b (tag, sentiment, bucket_start, count) "
    "SELECT p.tag, r.sentiment, date_trunc('minute', r.posted_at), count(*) "
    "FROM json_to_recordset(%s) AS r(sentiment text, posted_at timestamptz, products varchar[]) "
    "CROSS JOIN LATERAL (SELECT DISTINCT unnest(r.products)) AS p(tag) "
    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
    "ON CONFLICT (tag, sentiment, bucket_start) DO UPDATE SET count = b.count + EXCLUDED.count",
)
