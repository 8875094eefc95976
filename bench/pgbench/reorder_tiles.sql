-- bench/pgbench/reorder_tiles.sql: the statement the module sends for
-- POST /api/projects/2/dashboards/<random id>/reorder_tiles/ with
-- {"tile_order": [its 20 tile ids, shuffled], "layout": "preserve"}
-- (ngxd_reorder_tiles in src/ngx_http_dashboards_sql.c), run with
-- -M prepared like the module.  The order is a random permutation
-- (pgbench's permute()); the body is put together from 21 parameters in the
-- statement, which costs a few µs against the function's milliseconds.
-- Variables (pgbench -D): uid, project, id_min, id_max, tile_base (tile ids of
-- dashboard d: tile_base + (d - id_min) * 20 + 1..20).
\set id random(:id_min, :id_max)
\set s random(0, 2147483646)
\set b :tile_base + (:id - :id_min) * 20 + 1
\set t1 :b + permute(0, 20, :s)
\set t2 :b + permute(1, 20, :s)
\set t3 :b + permute(2, 20, :s)
\set t4 :b + permute(3, 20, :s)
\set t5 :b + permute(4, 20, :s)
\set t6 :b + permute(5, 20, :s)
\set t7 :b + permute(6, 20, :s)
\set t8 :b + permute(7, 20, :s)
\set t9 :b + permute(8, 20, :s)
\set t10 :b + permute(9, 20, :s)
\set t11 :b + permute(10, 20, :s)
\set t12 :b + permute(11, 20, :s)
\set t13 :b + permute(12, 20, :s)
\set t14 :b + permute(13, 20, :s)
\set t15 :b + permute(14, 20, :s)
\set t16 :b + permute(15, 20, :s)
\set t17 :b + permute(16, 20, :s)
\set t18 :b + permute(17, 20, :s)
\set t19 :b + permute(18, 20, :s)
\set t20 :b + permute(19, 20, :s)
SELECT ngx_dashboards_reorder_tiles(:uid::int, :project::int, ''::text, :id::int, ('{"tile_order": [' || :t1 || ', ' || :t2 || ', ' || :t3 || ', ' || :t4 || ', ' || :t5 || ', ' || :t6 || ', ' || :t7 || ', ' || :t8 || ', ' || :t9 || ', ' || :t10 || ', ' || :t11 || ', ' || :t12 || ', ' || :t13 || ', ' || :t14 || ', ' || :t15 || ', ' || :t16 || ', ' || :t17 || ', ' || :t18 || ', ' || :t19 || ', ' || :t20 || '], "layout": "preserve"}')::jsonb);
