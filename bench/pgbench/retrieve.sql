-- bench/pgbench/retrieve.sql: the statement the module sends for
-- GET /api/projects/:project/dashboards/<random id>/ (ngxd_retrieve in
-- src/ngx_http_dashboards_sql.c), run with -M prepared like the module.
-- Variables (pgbench -D): uid (the user of the benched key: the owner, or
-- with BENCH_ACL the plain member of bench/dataset-acl.sql), project,
-- id_min, id_max.
\set id random(:id_min, :id_max)
SELECT ngx_dashboards_retrieve(:uid::int, :project::int, ''::text, :id::int, NULL::jsonb, NULL::jsonb);
