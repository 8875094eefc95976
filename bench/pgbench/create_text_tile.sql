-- bench/pgbench/create_text_tile.sql: the statement the module sends for
-- POST /api/projects/2/dashboards/<random id>/create_text_tile/ with the body
-- of bench/wrk/create_text_tile.lua (ngxd_create_text_tile in
-- src/ngx_http_dashboards_sql.c), run with -M prepared like the module.
-- The JSON has a space after each colon (pgbench would take ":0" for a
-- variable); same jsonb value.
-- Variables (pgbench -D): uid, project, id_min, id_max.
\set id random(:id_min, :id_max)
SELECT ngx_dashboards_create_text_tile(:uid::int, :project::int, ''::text, :id::int, '{"body": "## Notes\nWritten by the benchmark: sign-ups are up this week.", "layouts": {"sm": {"x": 0, "y": 0, "w": 6, "h": 5}}}'::jsonb);
