-- 016_query_memo.sql: the effective query and cache key of each insight
-- tile, remembered with what they were computed from.
--
-- An insight tile shows its query with the dashboard's and the tile's
-- filters applied, and reads the results cache under that query's key
-- (ngx_dashboards_insight_obj, 003_dashboard_json.sql).  Applying the
-- filters and hashing the query for every tile of every retrieve cost about
-- a tenth of the retrieve of a ten-insight dashboard (bench/RESULTS.md,
-- "Trends engine (issue 7)").  A row here holds the inputs (the insight's
-- stored query, the dashboard's filters, the tile's filters_overrides, the
-- team's timezone and week start) and the two results; it is used only when
-- its inputs are byte for byte those of the tile being read, so a change by
-- any writer (this module, PostHog, a script) is never served stale: the
-- tile is then computed as before.  Rows are written by a retrieve whose
-- ?refresh= may compute (ngx_dashboards_query_memo_fill, 004_dashboards.sql):
-- a tile's results only reach the cache that way.  UNLOGGED: losing
-- it costs only the time it saves; sql/migrate empties it whenever the
-- functions that compute it may have changed (012_insight_results.sql).
--
-- Applied once (sql/migrate).
CREATE UNLOGGED TABLE IF NOT EXISTS ngx_dashboards_query_memo (
    insight_id      integer NOT NULL,
    dashboard_id    integer NOT NULL,
    query           jsonb,
    filters         jsonb,
    tile_filters    jsonb,
    timezone        varchar(240),
    week_start_day  smallint,
    effective       jsonb,
    cache_key       text,
    PRIMARY KEY (insight_id, dashboard_id)
);
