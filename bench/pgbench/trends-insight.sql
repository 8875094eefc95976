-- bench/pgbench/trends-insight.sql: the engine computing one insight of the
-- trends bench dashboard (bench/dataset-events.sql), its query as stored.
-- Variables (pgbench -D): insight (1..10).
SELECT ngx_dashboards_trends(1, (SELECT query->'source' FROM posthog_dashboarditem WHERE id = :insight::int));
