-- bench/pgbench/list.sql: the statement the module sends for
-- GET /api/projects/:project/dashboards/?limit=100 (ngxd_list in
-- src/ngx_http_dashboards_sql.c), run with -M prepared like the module.
-- p_query is what the module prints with cJSON, with a space after each
-- colon: pgbench would take ":null" for a variable (same jsonb value).
-- Variables (pgbench -D): uid, project.
SELECT count, results FROM ngx_dashboards_list(:uid::int, :project::int, ''::text, '{"limit": 100, "offset": 0, "search": null, "tags": [], "creation_mode": null, "exclude_generated": false}'::jsonb);
