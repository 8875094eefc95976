-- 014_cache_status.sql: the query status of failed background computations.
--
-- PostHog keeps the status of an async computation in Redis under its query
-- id, the cache key (QueryStatusManager, posthog/clickhouse/client/
-- execute_async.py), for STATUS_TTL_SECONDS (20 minutes) after it was last
-- written.  A failed one (complete, error, the message when it may be
-- shown) is then what a later async read of that key shows, instead of
-- starting the computation again.  Only failures are kept here: a
-- successful computation is in ngx_dashboards_result_cache, and a running
-- one is known to the worker running it.  error_message NULL: a failure
-- whose message is not shown (PostHog shows only its exposed errors').
-- UNLOGGED like the results cache; written by ngx_dashboards_insight_store
-- (012_insight_results.sql), which also deletes expired rows.
--
-- Applied once (sql/migrate), idempotent.
CREATE UNLOGGED TABLE IF NOT EXISTS ngx_dashboards_query_status (
    cache_key         text PRIMARY KEY,
    team_id           integer NOT NULL,
    error_message     text,
    end_time          timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ngx_dashboards_query_status_expires
    ON ngx_dashboards_query_status (expires_at);
CREATE INDEX IF NOT EXISTS ngx_dashboards_query_status_team
    ON ngx_dashboards_query_status (team_id);
