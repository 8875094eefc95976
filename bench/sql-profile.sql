-- bench/sql-profile.sql: where PostgreSQL spends a retrieve, per function.
--
--   . bench/var/bench.env; PGHOST=$PGHOST PGPORT=$PGPORT \
--     psql -X -U postgres -d bench -v n=2000 -f bench/sql-profile.sql
--
-- Runs :n retrieves of random dashboards in one session with
-- track_functions = all and prints calls, total and self time per function
-- (self time per call in µs).  Needs the cluster bench/run leaves running
-- with BENCH_KEEP=1.  Single session, no concurrency: the figures are CPU
-- cost, not throughput.
\set ON_ERROR_STOP 1
\if :{?n}
\else
\set n 2000
\endif
SET track_functions = 'all';
SELECT pg_stat_reset() \gset
\timing on
SELECT count(ngx_dashboards_retrieve(u.user_id, 1, '', (1 + random() * (max_id - 1))::int, NULL, NULL))
  FROM generate_series(1, :n),
       (SELECT user_id FROM posthog_personalapikey WHERE id = 'bench-personal-api-key') u,
       (SELECT max(id) AS max_id FROM posthog_dashboard) m;
\timing off
SELECT pg_stat_force_next_flush() \gset
SELECT funcname, calls,
       round(total_time::numeric, 1) AS total_ms,
       round(self_time::numeric, 1) AS self_ms,
       round((self_time / nullif(calls, 0) * 1000)::numeric, 1) AS self_us_per_call,
       round((self_time * 1000 / :n)::numeric, 1) AS self_us_per_retrieve
  FROM pg_stat_user_functions
 WHERE calls > 0
 ORDER BY self_time DESC;
