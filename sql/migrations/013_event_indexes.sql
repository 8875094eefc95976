-- 013_event_indexes.sql: the events index the trends engine reads.
--
-- Every series of a trend names its event, so the engine's statements
-- (ngx_dashboards_trends_statement in 011_trends.sql) scan one range of
-- (team_id, event, "timestamp").  Person maths (dau, weekly_active,
-- monthly_active) read the distinct_id of each event too: carried in the
-- index (INCLUDE), the scan is index-only instead of a heap fetch per event
-- (on 10,000,000 events, a 30-day dau of $pageview read 110,000 heap pages
-- for 1.2 million events; bench/RESULTS.md).  It replaces 010's index of
-- the same key, which it serves as well.
--
-- Applied once (sql/migrate), idempotent; CREATE INDEX without CONCURRENTLY
-- (migrations run in a transaction): writes to posthog_event wait for the
-- build.
CREATE INDEX IF NOT EXISTS posthog_event_team_event_ts_did
    ON posthog_event (team_id, event, "timestamp") INCLUDE (distinct_id);
DROP INDEX IF EXISTS posthog_event_team_event_ts;
