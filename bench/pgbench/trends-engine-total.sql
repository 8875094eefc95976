-- bench/pgbench/trends-engine-total.sql: the engine (sql/migrations/
-- 011_trends.sql) computing a 30-day daily total of $pageview for team 1,
-- the whole TrendsQuery response as the module would read it.
SELECT ngx_dashboards_trends(1, '{"kind": "TrendsQuery", "interval": "day", "dateRange": {"date_from": "-30d"}, "series": [{"kind": "EventsNode", "event": "$pageview", "math": "total"}]}'::jsonb);
