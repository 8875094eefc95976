-- bench/pgbench/patch.sql: the statement the module sends for
-- PATCH /api/projects/:project/dashboards/<random id>/ with
-- {"description":"bench <random>"} (ngxd_update in src/ngx_http_dashboards_sql.c,
-- p_partial true), run with -M prepared like the module.
-- Variables (pgbench -D): uid, project, id_min, id_max.
\set id random(:id_min, :id_max)
\set n random(1, 1000000000)
SELECT ngx_dashboards_update(:uid::int, :project::int, ''::text, :id::int, ('{"description":"bench ' || :n || '"}')::jsonb, true::bool);
