-- bench/pgbench/trends-retrieve.sql: the retrieve statement the module sends
-- for GET /api/projects/1/dashboards/<id>/?refresh=force_cache (ngxd_retrieve
-- in src/ngx_http_dashboards_sql.c: the refresh mode goes in as text, no
-- outcomes), run with -M prepared like the module (bench/trends-http).
-- Variables (pgbench -D): id.
SELECT ngx_dashboards.ngx_dashboards_retrieve(1, 1, ''::text, :id::int, NULL::jsonb, NULL::jsonb,
                                              'force_cache'::text, NULL::jsonb);
