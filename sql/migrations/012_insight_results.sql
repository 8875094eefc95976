-- migrate:repeatable
-- 012_insight_results.sql: insight results in dashboard tiles, from the
-- results cache (ngx_dashboards_result_cache, 010_events.sql), and the
-- statements that fill it.  PostHog computes a tile's insight in its
-- serializer (calculate_for_query_based_insight, posthog/caching/
-- calculate_results.py); here the work is split so that no statement waits
-- for another:
--   1. ngx_dashboards_insight_plan: which cache keys a request must compute
--      under its ?refresh= mode (read-only);
--   2. ngx_dashboards_insight_compute: one query's response (STABLE: may run
--      on a replica or on the events' own server);
--   3. ngx_dashboards_insight_store: that response into the cache;
--   4. ngx_dashboards_retrieve / ngx_dashboards_run_insights: the answer,
--      from the cache, with what happened to the computations of this
--      request (p_outcomes: {"<cache_key>": {"error": ".."} | {"started": true}
--      | {"computed": true}}).
--
-- A cached response is kept as a jsonb object whose values are the JSON
-- texts of the response's values ({"hasMore": "false", ..}): as plain
-- jsonb, the keys of every result row would be sorted, and PostHog writes
-- them in its own order (data, labels, days, count, label, ...); as one
-- JSON text, reading its fields would parse the whole response several
-- times (json_to_record and -> cost ~10x more than this).  The results,
-- the bulk of it, are a json column of their own, read without being
-- parsed again (015_result_cache_results.sql).

-- ?refresh= ----------------------------------------------------------------

-- The execution mode of a ?refresh= value (posthog/api/utils.py
-- _request_has_key_set + execution_mode_from_refresh): true, 1, yes or empty
-- force a blocking computation; the mode names are taken as they are; false,
-- 0, no, an unknown value or none read the cache only.
CREATE OR REPLACE FUNCTION ngx_dashboards_refresh_mode(p_refresh text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_refresh IN ('async', 'blocking', 'force_async', 'force_blocking', 'force_cache',
                           'lazy_async') THEN p_refresh
        WHEN lower(p_refresh) IN ('true', '1', 'yes', '') THEN 'force_blocking'
        ELSE 'force_cache' END
$$;

-- Whether the client asked for a refresh at all (refresh_requested_by_client:
-- a mode name or a true value, even ?refresh=force_cache): the insight then
-- shows the team's timezone instead of the cached response's
-- (InsightSerializer.get_timezone).
CREATE OR REPLACE FUNCTION ngx_dashboards_refresh_requested(p_refresh text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_refresh IN ('async', 'blocking', 'force_async', 'force_blocking', 'force_cache',
                                  'lazy_async')
                    OR lower(p_refresh) IN ('true', '1', 'yes', ''), false)
$$;

-- cache keys and entries ------------------------------------------------------

-- The cache key of an insight's effective query, for every kind the key
-- ngx_dashboards_trends_cache_key gives a TrendsQuery ("cache_" + md5 of
-- the cache payload: runner, query without tags and series custom_name,
-- team, timezone, week start, version), the runner being PostHog's
-- <Kind>Runner; so that a tile always has its filters_hash.  NULL without
-- a query or a kind.  PL/pgSQL, whose statement plans are kept by the
-- session: a nested SQL function would be planned again on every call
-- (t/201-insight-results.t checks that the trends keys are the engine's).
CREATE OR REPLACE FUNCTION ngx_dashboards_insight_cache_key(p_team_id int, p_query jsonb)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    q jsonb := CASE WHEN p_query->>'kind' = 'InsightVizNode' THEN p_query->'source' ELSE p_query END;
    t record;
BEGIN
    IF jsonb_typeof(q) IS DISTINCT FROM 'object' OR jsonb_typeof(q->'kind') IS DISTINCT FROM 'string' THEN
        RETURN NULL;
    END IF;
    SELECT tm.timezone, tm.week_start_day INTO t FROM posthog_team tm WHERE tm.id = p_team_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- (rebuilt only when needed: an empty list becomes null, as there)
    IF jsonb_typeof(q->'series') = 'array'
       AND (jsonb_array_length(q->'series') = 0 OR jsonb_path_exists(q->'series', '$[*].custom_name')) THEN
        q := q || jsonb_build_object('series', (
                 SELECT jsonb_agg(CASE WHEN jsonb_typeof(s) = 'object' THEN s - 'custom_name' ELSE s END
                                  ORDER BY o)
                   FROM jsonb_array_elements(q->'series') WITH ORDINALITY a(s, o)));
    END IF;
    RETURN 'cache_' || md5(jsonb_build_object(
               'query_runner', (q->>'kind') || 'Runner',
               'query', q - 'tags',
               'team_id', p_team_id,
               'timezone', t.timezone,
               'week_start_day', coalesce(t.week_start_day, 0),
               'version', 2)::text);
END $$;

-- The cached response of a key, its fields as the insight shows them: the
-- results as json, the other fields as their JSON texts (as stored, so
-- that their key order is the response's; NULL when absent); besides them
-- the time of the refresh and how long the computation took
-- (018_compute_duration.sql, for ngx_dashboards_insight_plan).  Nothing
-- when missing or past expires_at.  The stored value is decompressed once
-- (r, OFFSET 0), not once per field.  Inlined:
--   LEFT JOIN LATERAL ngx_dashboards_cached(key, team, query) cr ON ..
-- The results carry the custom_name of p_query's series
-- (ngx_dashboards_series_custom_names, below); they are read only when the
-- series differ from those the entry was computed with (kept beside it,
-- 015_result_cache_results.sql): queries of one key differ only in their
-- series' custom_name, so equal series need no patch, the common case, at
-- the cost of one comparison instead of a reading of the results.
-- The columns of 015_result_cache_results.sql, which runs after this file
-- on a first install: the body is checked when called.
SET LOCAL check_function_bodies = off;
DROP FUNCTION IF EXISTS ngx_dashboards_cached(text, int);
DROP FUNCTION IF EXISTS ngx_dashboards_cached(text, int, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_cached(p_cache_key text, p_team_id int, p_query jsonb)
RETURNS TABLE(results json, "hasMore" text, columns text, last_refresh text, cache_target_age text,
              next_allowed_client_refresh text, timezone text, query_status text, hogql text,
              types text, resolved_date_range text, refreshed_at timestamptz, compute_ms int)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN c.series = coalesce(p_query #> '{source,series}', p_query -> 'series') THEN c.results
                ELSE ngx_dashboards_series_custom_names(p_query, c.results) END,
           x.r->>'hasMore', x.r->>'columns', x.r->>'last_refresh', x.r->>'cache_target_age',
           x.r->>'next_allowed_client_refresh', x.r->>'timezone', x.r->>'query_status',
           x.r->>'hogql', x.r->>'types', x.r->>'resolved_date_range', c.last_refresh, c.compute_ms
      FROM ngx_dashboards_result_cache c
     CROSS JOIN LATERAL (SELECT c.result || '{}'::jsonb AS r OFFSET 0) x
     WHERE c.cache_key = p_cache_key AND c.team_id = p_team_id AND c.expires_at > now()
$$;
RESET check_function_bodies;

-- A cached result with the series' custom_name of the query shown: the
-- cache key leaves custom_name out, so an entry computed before a series
-- was renamed holds the old name (QueryRunner.apply_series_custom_names,
-- posthog/hogql_queries/query_runner.py: for TrendsQuery, StickinessQuery
-- and LifecycleQuery, each result row whose action.order is the index of
-- a series gets that series' custom_name, null when it has none; label
-- and the rest stay).  The rows and actions keep their keys' order; a
-- result that needs no change is returned as it is.  PostHog also writes
-- the patched response back into its cache; reads here write nothing, so
-- the patch is made on every read instead.
CREATE OR REPLACE FUNCTION ngx_dashboards_series_custom_names(p_query jsonb, p_results json)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    q jsonb := CASE WHEN p_query->>'kind' = 'InsightVizNode' THEN p_query->'source' ELSE p_query END;
    v_names jsonb;
    v_fix jsonb;
BEGIN
    IF p_results IS NULL OR json_typeof(p_results) IS DISTINCT FROM 'array'
       OR (q->>'kind') NOT IN ('TrendsQuery', 'StickinessQuery', 'LifecycleQuery')
       OR jsonb_typeof(q->'series') IS DISTINCT FROM 'array' THEN
        RETURN p_results;
    END IF;
    -- the custom_name of each series, by index (null when absent)
    SELECT jsonb_agg(CASE WHEN jsonb_typeof(s) = 'object' THEN coalesce(s->'custom_name', 'null') ELSE 'null' END
                     ORDER BY o)
      INTO v_names
      FROM jsonb_array_elements(q->'series') WITH ORDINALITY a(s, o);
    IF v_names IS NULL THEN
        RETURN p_results;
    END IF;
    -- no series named and no row with a custom_name other than null: as
    -- it is, without reading it (a scan of its text, ~10x cheaper than
    -- jsonb; a key's quotes are never escaped, a string's always are)
    IF NOT EXISTS (SELECT FROM jsonb_array_elements(v_names) n WHERE n <> 'null'::jsonb)
       AND p_results::text !~ '"custom_name"\s*:\s*[^n\s]' THEN
        RETURN p_results;
    END IF;
    -- the rows to change: {"<position>": <new custom_name>}, read once as
    -- jsonb, whose fields cost nothing to reach (each -> on json parses its
    -- text again)
    SELECT jsonb_object_agg(y.o::text, v_names->(y.n::int)) INTO v_fix
      FROM (SELECT r.o, r.r->'action'->'custom_name' AS cn,
                   CASE WHEN jsonb_typeof(r.r->'action'->'order') = 'number'
                        THEN CASE WHEN (r.r->'action'->>'order')::numeric
                                       BETWEEN 0 AND jsonb_array_length(v_names) - 1
                                  THEN (r.r->'action'->>'order')::numeric END END AS n
              FROM jsonb_array_elements(p_results::jsonb) WITH ORDINALITY r(r, o)) y
     WHERE y.n = trunc(y.n)
       AND coalesce(y.cn, 'null') IS DISTINCT FROM v_names->(CASE WHEN y.n = trunc(y.n) THEN y.n::int END);
    IF v_fix IS NULL THEN
        RETURN p_results;
    END IF;
    -- rebuilt from the json text, keys in their order
    RETURN (
        SELECT json_agg(CASE WHEN x.name IS NULL THEN x.r ELSE (
                   SELECT json_object_agg(e.key, CASE WHEN e.key = 'action' THEN (
                              -- custom_name in its place, or last
                              SELECT json_object_agg(z.k, z.v ORDER BY z.o)
                                FROM (SELECT a.key AS k, CASE WHEN a.key = 'custom_name' THEN x.name::json
                                                              ELSE a.value END AS v, a.o
                                        FROM json_each(x.r->'action') WITH ORDINALITY a(key, value, o)
                                      UNION ALL
                                      SELECT 'custom_name', x.name::json, 2147483647
                                       WHERE NOT EXISTS (SELECT FROM json_each(x.r->'action') c
                                                          WHERE c.key = 'custom_name')) z)
                                                        ELSE e.value END ORDER BY e.o)
                     FROM json_each(x.r) WITH ORDINALITY e(key, value, o)) END ORDER BY x.o)
          FROM (SELECT r.r, r.o, v_fix->(r.o::text) AS name
                  FROM json_array_elements(p_results) WITH ORDINALITY r(r, o)) x);
END $$;

-- PostHog's QueryStatus (posthog/schema.py, keys in its order) for what
-- happened to a tile's computation in this request: {"error": message} (a
-- failed computation: complete, error) or {"started": true} (running in
-- the background: query_async, not complete; "id" and "start_time" may be
-- given by the caller); or {"failed": {"id", "error_message", "end_time",
-- "expiration_time"}}, the stored status of a background computation that
-- failed (ngx_dashboards_stored_outcomes: complete, error, the message
-- when it may be shown, as execute_process_query leaves it).  NULL for
-- anything else.  PL/pgSQL: the id is random, and a volatile call would
-- keep the callers from being inlined.
CREATE OR REPLACE FUNCTION ngx_dashboards_query_status(p_outcome jsonb, p_team_id int, p_insight_id int,
                                                       p_dashboard_id int)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    f jsonb := CASE WHEN jsonb_typeof(p_outcome->'failed') = 'object' THEN p_outcome->'failed' END;
    v_error boolean := jsonb_typeof(p_outcome) = 'object' AND p_outcome ? 'error';
BEGIN
    IF f IS NULL AND NOT v_error
       AND NOT (jsonb_typeof(p_outcome) = 'object' AND ngx_dashboards_truthy(p_outcome->'started')) THEN
        RETURN NULL;
    END IF;
    RETURN json_build_object(
        'complete', f IS NOT NULL OR v_error,
        'dashboard_id', p_dashboard_id,
        'end_time', CASE WHEN f IS NOT NULL THEN f->>'end_time' WHEN v_error THEN ngx_dashboards_ts(now()) END,
        'error', f IS NOT NULL OR v_error,
        'error_message', CASE WHEN f IS NOT NULL THEN f->>'error_message'
                              WHEN v_error THEN coalesce(p_outcome->>'error', '') END,
        'expiration_time', f->>'expiration_time',
        'id', CASE WHEN f IS NOT NULL THEN f->>'id'
                   ELSE coalesce(p_outcome->>'id', replace(gen_random_uuid()::text, '-', '')) END,
        'insight_id', p_insight_id,
        'labels', NULL,
        'pickup_time', NULL,
        'query_async', true,
        'query_progress', NULL,
        'results', NULL,
        'start_time', CASE WHEN f IS NULL AND NOT v_error
                           THEN coalesce(p_outcome->>'start_time', ngx_dashboards_ts(now())) END,
        'task_id', NULL,
        'team_id', p_team_id);
END $$;

-- The outcomes a dashboard's answer shows: p_outcomes (the computations of
-- this request) over, when the ?refresh= mode is async or lazy_async, the
-- failed statuses of the project's keys that have no result in the cache
-- ({"<key>": {"failed": {..}}}, see ngx_dashboards_query_status).  PostHog
-- shows such a status only there: on a cache miss in those modes,
-- enqueue_async_calculation returns the stored status of a key it has
-- seen instead of starting it again (ngx_dashboards_insight_plan leaves
-- those keys out); its get_async_query_status hides a complete status
-- from every other read (force_cache among them).  PL/pgSQL: the status
-- table is created after this file on a first install.
CREATE OR REPLACE FUNCTION ngx_dashboards_stored_outcomes(p_project_id bigint, p_refresh text, p_outcomes jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF ngx_dashboards_refresh_mode(p_refresh) NOT IN ('async', 'lazy_async') THEN
        RETURN p_outcomes;
    END IF;
    RETURN coalesce((
        SELECT jsonb_object_agg(s.cache_key, jsonb_build_object('failed', jsonb_build_object(
                   'id', s.cache_key,
                   'error_message', s.error_message,
                   'end_time', ngx_dashboards_ts(s.end_time),
                   'expiration_time', ngx_dashboards_ts(s.expires_at))))
          FROM ngx_dashboards_query_status s
          JOIN posthog_team t ON t.id = s.team_id
         WHERE t.project_id = p_project_id AND s.expires_at > now()
           AND NOT EXISTS (SELECT FROM ngx_dashboards_result_cache c
                            WHERE c.cache_key = s.cache_key AND c.team_id = s.team_id
                              AND c.expires_at > now())), '{}'::jsonb)
           || coalesce(p_outcomes, '{}'::jsonb);
END $$;

-- A request's variables_override over a HogQL insight's variables
-- (apply_dashboard_variables_to_dict, posthog/hogql_queries/
-- apply_dashboard_filters.py): through the wrapper nodes (DataTableNode,
-- DataVisualizationNode, InsightVizNode) to their source; in a HogQLQuery
-- whose variables is an object, each variable the override names (and the
-- query has, not empty) becomes {"variableId": <its id>, "code_name": its
-- code_name, "value": the override's value}.  Anything else, or no
-- override (NULL, {}), leaves the query as it is.  The query shown, and
-- so its cache key, carries the override, as PostHog's InsightSerializer
-- shows it.
CREATE OR REPLACE FUNCTION ngx_dashboards_apply_dashboard_variables(p_query jsonb, p_variables jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_vars jsonb;
BEGIN
    IF jsonb_typeof(p_variables) IS DISTINCT FROM 'object' OR p_variables = '{}'::jsonb
       OR jsonb_typeof(p_query) IS DISTINCT FROM 'object' THEN
        RETURN p_query;
    END IF;
    IF p_query->>'kind' IN ('DataTableNode', 'DataVisualizationNode', 'InsightVizNode') THEN
        IF jsonb_typeof(p_query->'source') IS DISTINCT FROM 'object' THEN
            RETURN p_query;
        END IF;
        RETURN p_query || jsonb_build_object('source',
                              ngx_dashboards_apply_dashboard_variables(p_query->'source', p_variables));
    END IF;
    IF p_query->>'kind' IS DISTINCT FROM 'HogQLQuery' OR jsonb_typeof(p_query->'variables') <> 'object' THEN
        RETURN p_query;
    END IF;
    SELECT p_query->'variables' || coalesce(jsonb_object_agg(o.key, jsonb_build_object(
               'variableId', o.key,
               'code_name', coalesce(p_query->'variables'->o.key->'code_name', 'null'),
               'value', coalesce(CASE WHEN jsonb_typeof(o.value) = 'object' THEN o.value->'value' END,
                                 'null'))), '{}'::jsonb)
      INTO v_vars
      FROM jsonb_each(p_variables) o
     WHERE ngx_dashboards_truthy(p_query->'variables'->o.key);
    RETURN p_query || jsonb_build_object('variables', v_vars);
END $$;

-- A dashboard's insight tiles that have a query, with their effective query
-- (ngx_dashboards_apply_dashboard_filters: p_filters = the filters_override
-- of the request or the dashboard's filters, then the tile's
-- filters_overrides, with p_tile_filters_override merged over them as
-- ngx_dashboards_tiles does; then p_variables, the request's
-- variables_override, ngx_dashboards_apply_dashboard_variables) and its
-- cache key; ord = the position among all the dashboard's tiles in
-- PostHog's order (ngx_dashboards_tiles, "sm").
-- Inlined.
DROP FUNCTION IF EXISTS ngx_dashboards_insight_tiles(int, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_insight_tiles(int, jsonb, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_insight_tiles(p_dashboard_id int, p_filters jsonb,
                                                        p_variables jsonb DEFAULT NULL,
                                                        p_tile_filters_override jsonb DEFAULT NULL)
RETURNS TABLE(tile_id int, ord bigint, insight_id int, short_id text, name text, derived_name text,
              team_id int, created_by_id int, query jsonb, cache_key text)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.ord, i.id, i.short_id::text, i.name::text, i.derived_name::text, i.team_id,
           i.created_by_id, e.query, e.key
      FROM (SELECT t.id, t.insight_id, t.filters_overrides,
                   row_number() OVER (ORDER BY
                       CASE WHEN jsonb_typeof(t.layouts #> '{sm,y}') = 'number'
                            THEN (t.layouts #> '{sm,y}')::numeric ELSE 100 END,
                       CASE WHEN jsonb_typeof(t.layouts #> '{sm,x}') = 'number'
                            THEN (t.layouts #> '{sm,x}')::numeric ELSE 100 END,
                       x."order" NULLS LAST, t.id) - 1 AS ord
              FROM posthog_dashboardtile t
              LEFT JOIN posthog_dashboarditem x ON x.id = t.insight_id
             WHERE t.dashboard_id = p_dashboard_id
               AND t.deleted IS DISTINCT FROM true
               AND (t.insight_id IS NULL OR NOT x.deleted)) s
      JOIN posthog_dashboarditem i ON i.id = s.insight_id
     -- computed once each (OFFSET 0, see ngx_dashboards_insight_obj)
     CROSS JOIN LATERAL (SELECT x.query, ngx_dashboards_insight_cache_key(i.team_id, x.query) AS key
                           FROM (SELECT ngx_dashboards_apply_dashboard_variables(
                                           ngx_dashboards_apply_dashboard_filters(
                                               i.query, p_filters,
                                               ngx_dashboards_merge(s.filters_overrides, p_tile_filters_override)),
                                           p_variables) AS query
                                 OFFSET 0) x OFFSET 0) e
     WHERE jsonb_typeof(i.query) IS DISTINCT FROM 'null' AND i.query IS NOT NULL
$$;

-- The checks of a read of one dashboard, as retrieve makes them (project,
-- the access rules' gate, 404, the object rule), without its
-- last_accessed_at write; the context and the filters the tiles use (the
-- request's filters_override when it is an object, else the dashboard's).
CREATE OR REPLACE FUNCTION ngx_dashboards_read_target(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                      p_id int, p_filters_override jsonb,
                                                      OUT level int, OUT timezone text, OUT acl jsonb,
                                                      OUT filters jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
    v_created_by int;
BEGIN
    c := ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    PERFORM ngx_dashboards_gate(c.acl, c.level, 'viewer');
    SELECT d.created_by_id, d.filters INTO v_created_by, filters
      FROM posthog_dashboard d JOIN posthog_team t ON t.id = d.team_id
     WHERE d.id = p_id AND t.project_id = c.project_id AND NOT d.deleted;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;
    PERFORM ngx_dashboards_check_object(c.acl, 'dashboard', p_id, v_created_by, p_user_id, c.level, 'viewer');
    IF jsonb_typeof(p_filters_override) = 'object' THEN
        filters := p_filters_override;
    END IF;
    level := c.level;
    timezone := c.timezone;
    acl := c.acl;
END $$;

-- plan ------------------------------------------------------------------------

-- The computations a request needs under its ?refresh= value: one row per
-- distinct cache key among the insight tiles the user may view, the
-- longest first (the duration of the key's last computation,
-- 018_compute_duration.sql; unknown, the entry missing or expired:
-- first), then in tile order.  The module starts them in this order,
-- dashboards_queries_per_request at a time: a long computation started
-- last would run alone at the end, the other slots idle.  blocking /
-- async: missing or stale entries (DEFAULT thresholds), lazy_async: LAZY
-- thresholds, force_blocking / force_async: all; the other modes compute
-- nothing.  Staleness as the trends runner's
-- (ngx_dashboards_trends_is_stale over the cached resolved date_to).
-- Read-only.
DROP FUNCTION IF EXISTS ngx_dashboards_insight_plan(int, int, text, int, jsonb, jsonb, text);
CREATE OR REPLACE FUNCTION ngx_dashboards_insight_plan(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                       p_id int, p_filters_override jsonb,
                                                       p_variables_override jsonb, p_refresh text,
                                                       p_tile_filters_override jsonb DEFAULT NULL)
RETURNS TABLE(cache_key text, team_id int, query jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
    v_mode text := ngx_dashboards_refresh_mode(p_refresh);
BEGIN
    c := ngx_dashboards_read_target(p_user_id, p_project_id, p_scoped_orgs, p_id, p_filters_override);
    IF v_mode NOT IN ('blocking', 'async', 'lazy_async', 'force_blocking', 'force_async') THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT k.key, k.team, k.query
          FROM (SELECT DISTINCT ON (it.cache_key)
                       it.cache_key AS key, it.team_id AS team, it.query, it.ord,
                       cr.refreshed_at, cr.resolved_date_range::json AS resolved_date_range,
                       cr.compute_ms AS ms,
                       -- a background computation of the key failed lately
                       v_mode IN ('async', 'lazy_async')
                       AND EXISTS (SELECT FROM ngx_dashboards_query_status qs
                                    WHERE qs.cache_key = it.cache_key AND qs.team_id = it.team_id
                                      AND qs.expires_at > now()) AS failed
                  FROM ngx_dashboards_insight_tiles(p_id, c.filters, p_variables_override,
                                                    p_tile_filters_override) it
                  LEFT JOIN LATERAL ngx_dashboards_cached(it.cache_key, it.team_id, it.query) cr ON true
                 WHERE it.cache_key IS NOT NULL
                   AND ngx_dashboards_object_level(c.acl, 'insight', it.insight_id, it.created_by_id,
                                                   p_user_id, c.level) <> 'none'
                 ORDER BY it.cache_key, it.ord) k
         -- a key whose background computation failed lately is not started
         -- again by async on a miss, nor by lazy_async (PostHog's
         -- enqueue_process_query_task returns the stored status unless the
         -- refresh is requested: force_async, async on a stale entry)
         WHERE NOT (k.failed AND (v_mode = 'lazy_async' OR k.refreshed_at IS NULL))
           AND (v_mode IN ('force_blocking', 'force_async')
            OR k.refreshed_at IS NULL
            OR ngx_dashboards_trends_is_stale(
                   CASE WHEN json_typeof(k.resolved_date_range->'date_to') = 'string'
                        THEN (k.resolved_date_range->>'date_to')::timestamptz END,
                   k.refreshed_at,
                   ngx_dashboards_trends_target_age(
                       CASE WHEN k.query->>'kind' = 'InsightVizNode' THEN k.query->'source'
                            ELSE k.query END ->> 'interval',
                       k.refreshed_at, v_mode = 'lazy_async')))
         ORDER BY k.ms DESC NULLS FIRST, k.ord;
END $$;

-- compute, store --------------------------------------------------------------

-- The response to cache for one query (QueryRunner.run: the runner's
-- response plus is_cached, last_refresh, next_allowed_client_refresh,
-- cache_key, timezone, cache_target_age), keys in the order of PostHog's
-- CachedTrendsQueryResponse.  A kind other than TrendsQuery, or a query
-- the engine refuses (its 400s), gives {"error": "<message>"} instead;
-- other failures (statement timeout, ...) are raised.  Writes nothing.
-- p_side_by_side: the module runs other computations of the same request
-- at the same time (dashboards_queries_per_request, or the background
-- computations an async refresh starts together); this one then runs
-- without PostgreSQL's parallel workers, for its own transaction, unless
-- the operator chose max_parallel_workers_per_gather (postgresql.conf,
-- ALTER SYSTEM, DATABASE or ROLE, the conninfo's options).  On the bench's
-- ten tiles two at a time, the ten took 5.0-5.7 s and 10.0-10.7 s of CPU
-- without workers, 6.0-7.0 s and 11.8-13.7 s with them; a tile alone gains
-- up to 16 % from them (bench/RESULTS.md), and keeps them.
DROP FUNCTION IF EXISTS ngx_dashboards_insight_compute(int, jsonb, text);
CREATE OR REPLACE FUNCTION ngx_dashboards_insight_compute(p_team_id int, p_query jsonb, p_cache_key text,
                                                          p_side_by_side boolean DEFAULT false)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    q jsonb := CASE WHEN p_query->>'kind' = 'InsightVizNode' THEN p_query->'source' ELSE p_query END;
    v_now timestamptz := now();
    v_started timestamptz := clock_timestamp();
    v_plan jsonb;
    v_body json;
    v_msg text;
BEGIN
    IF jsonb_typeof(q) IS DISTINCT FROM 'object' THEN
        RETURN json_build_object('error', 'The insight has no query to compute.');
    END IF;
    IF (q->>'kind') IS DISTINCT FROM 'TrendsQuery' THEN
        RETURN json_build_object('error', format('%s is not supported here.',
                                                 coalesce(q->>'kind', 'A query without a kind')));
    END IF;
    IF p_side_by_side
       AND (SELECT source FROM pg_settings WHERE name = 'max_parallel_workers_per_gather') = 'default' THEN
        PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    END IF;
    BEGIN
        v_plan := ngx_dashboards_trends_plan(p_team_id, p_query, v_now);
        v_body := ngx_dashboards_trends_format(v_plan, ngx_dashboards_trends_aggregate(p_team_id, v_plan));
    EXCEPTION
        WHEN SQLSTATE 'DB400' THEN
            GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT;
            RETURN json_build_object('error', coalesce(v_msg::json->>'detail', v_msg));
        WHEN data_exception THEN
            RETURN json_build_object('error', SQLERRM);
    END;
    RETURN json_build_object(
        'cache_key', coalesce(p_cache_key, ngx_dashboards_insight_cache_key(p_team_id, p_query)),
        'cache_target_age', ngx_dashboards_ts(ngx_dashboards_trends_target_age(v_plan->>'query_interval',
                                                                               v_now)),
        'calculation_trigger', NULL,
        'error', NULL,
        'hasMore', v_body->'hasMore',
        'hogql', NULL,
        'is_cached', false,
        'last_refresh', ngx_dashboards_ts(v_now),
        'modifiers', NULL,
        'next_allowed_client_refresh',
            ngx_dashboards_ts(v_now + ngx_dashboards_trends_refresh_frequency(v_plan)),
        'query_metadata', NULL,
        'query_status', NULL,
        'resolved_date_range', v_body->'resolved_date_range',
        'results', v_body->'results',
        'timezone', v_plan->>'tz',
        'timings', NULL,
        -- not PostHog's: the series computed and the milliseconds it took,
        -- kept beside the entry by ngx_dashboards_insight_store (see
        -- ngx_dashboards_cached, ngx_dashboards_insight_plan)
        'ngx_series', q->'series',
        'ngx_ms', round(extract(epoch FROM clock_timestamp() - v_started) * 1000));
END $$;

-- A computed response into the cache (upsert; an older response never
-- replaces a newer one).  A response with an error is not cached, as
-- PostHog does not cache them: it becomes the key's failed query status
-- instead (ngx_dashboards_query_status, 014_cache_status.sql: the message
-- when "error" is a string, none when it is true), for 20 minutes
-- (QueryStatusManager.STATUS_TTL_SECONDS); the module stores only the
-- failures of background computations.  A result deletes its key's failed
-- status.  Target age from the response (the query's
-- interval, see ngx_dashboards_insight_compute); the entry expires 7 days
-- after its refresh (PostHog's CACHED_RESULTS_TTL).  p_response is json,
-- not jsonb: its values are kept as the texts they came in (see the top of
-- this file).
-- Every call also deletes up to 100 expired entries of any team, and as
-- many expired statuses (Redis drops PostHog's on their TTL; nothing else
-- deletes these): after the upsert, so that the only lock this
-- transaction may wait for is the one of its own key, and SKIP LOCKED, so
-- that it never waits for a row another store holds.  Read-only requests
-- never write.
DROP FUNCTION IF EXISTS ngx_dashboards_insight_store(int, text, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_insight_store(p_team_id int, p_cache_key text, p_response json)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_last timestamptz;
    v_target timestamptz;
BEGIN
    IF p_team_id IS NULL OR p_cache_key IS NULL OR json_typeof(p_response) IS DISTINCT FROM 'object' THEN
        RETURN;
    END IF;
    SELECT * INTO r FROM json_to_record(p_response) AS x(error json, last_refresh text, cache_target_age text);
    IF json_typeof(r.error) IS DISTINCT FROM 'null' AND r.error IS NOT NULL THEN
        INSERT INTO ngx_dashboards_query_status AS s (cache_key, team_id, error_message, end_time, expires_at)
        VALUES (p_cache_key, p_team_id, CASE WHEN json_typeof(r.error) = 'string' THEN r.error #>> '{}' END,
                now(), now() + interval '20 minutes')
        ON CONFLICT (cache_key) DO UPDATE
           SET team_id = EXCLUDED.team_id, error_message = EXCLUDED.error_message,
               end_time = EXCLUDED.end_time, expires_at = EXCLUDED.expires_at;
        PERFORM ngx_dashboards_cache_sweep(p_cache_key);
        RETURN;
    END IF;
    v_last := CASE WHEN r.last_refresh ~ '^\d{4}-\d\d-\d\dT' THEN r.last_refresh::timestamptz ELSE now() END;
    v_target := CASE WHEN r.cache_target_age ~ '^\d{4}-\d\d-\d\dT' THEN r.cache_target_age::timestamptz
                     ELSE ngx_dashboards_trends_target_age(NULL, v_last) END;
    INSERT INTO ngx_dashboards_result_cache AS c
           (cache_key, team_id, result, results, series, last_refresh, cache_target_age, expires_at, compute_ms)
    VALUES (p_cache_key, p_team_id,
            coalesce((SELECT jsonb_object_agg(e.key, e.value::text) FROM json_each(p_response) e
                       WHERE e.key NOT IN ('results', 'ngx_series', 'ngx_ms')), '{}'),
            p_response -> 'results', (p_response -> 'ngx_series')::jsonb, v_last, v_target,
            greatest(v_target, v_last + interval '7 days'),
            CASE WHEN p_response ->> 'ngx_ms' ~ '^\d{1,9}$' THEN (p_response ->> 'ngx_ms')::int END)
    ON CONFLICT (cache_key) DO UPDATE
       SET team_id = EXCLUDED.team_id, result = EXCLUDED.result, results = EXCLUDED.results,
           series = EXCLUDED.series, compute_ms = EXCLUDED.compute_ms,
           last_refresh = EXCLUDED.last_refresh,
           cache_target_age = EXCLUDED.cache_target_age, expires_at = EXCLUDED.expires_at
     WHERE c.last_refresh <= EXCLUDED.last_refresh;
    DELETE FROM ngx_dashboards_query_status s WHERE s.cache_key = p_cache_key;
    PERFORM ngx_dashboards_cache_sweep(p_cache_key);
END $$;

-- Up to 100 expired cache entries and 100 expired statuses deleted (see
-- ngx_dashboards_insight_store), other than p_keep's (the key the caller
-- just stored, whatever its dates): on the expires_at indexes, rows
-- another transaction holds skipped.
CREATE OR REPLACE FUNCTION ngx_dashboards_cache_sweep(p_keep text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ngx_dashboards_result_cache c
     WHERE c.cache_key IN (SELECT x.cache_key FROM ngx_dashboards_result_cache x
                            WHERE x.expires_at <= now() AND x.cache_key <> p_keep
                            LIMIT 100 FOR UPDATE SKIP LOCKED);
    DELETE FROM ngx_dashboards_query_status s
     WHERE s.cache_key IN (SELECT x.cache_key FROM ngx_dashboards_query_status x
                            WHERE x.expires_at <= now() AND x.cache_key <> p_keep
                            LIMIT 100 FOR UPDATE SKIP LOCKED);
END $$;

-- run_insights ----------------------------------------------------------------

-- PostHog's format_number (ee/hogai/context/insight/format/utils.py): None
-- "N/A", a whole number without decimals, else 5 decimals with the zeros
-- on the right stripped ("2." for 2.000001); a non-number as str().
CREATE OR REPLACE FUNCTION ngx_dashboards_format_number(p_value jsonb)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v float8;
    n numeric;
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        RETURN 'N/A';
    ELSIF jsonb_typeof(p_value) = 'boolean' THEN
        RETURN CASE WHEN p_value = 'true'::jsonb THEN '1' ELSE '0' END;
    ELSIF jsonb_typeof(p_value) = 'number'
          OR (jsonb_typeof(p_value) = 'string'
              AND p_value #>> '{}' ~ '^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$') THEN
        v := btrim(p_value #>> '{}')::float8;
        n := v::numeric;
        IF n = trunc(n) THEN
            RETURN trunc(n)::text;
        END IF;
        RETURN rtrim(round(n, 5)::text, '0');
    END IF;
    RETURN ngx_dashboards_pystr(p_value);
END $$;

-- A series label (TrendsResultsFormatter._extract_series_label): the
-- action's custom_name, else the label; "breakdown for the value `v`" when
-- the row has a breakdown value (lists joined with ", "); the breakdown
-- markers humanized.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_text_label(p_row jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(
               coalesce(CASE WHEN jsonb_typeof(p_row->'action'->'custom_name') NOT IN ('null')
                             THEN ngx_dashboards_pystr(p_row->'action'->'custom_name') END,
                        CASE WHEN jsonb_typeof(p_row->'label') <> 'null'
                             THEN ngx_dashboards_pystr(p_row->'label') END, '')
               || CASE WHEN jsonb_typeof(p_row->'breakdown_value') IS DISTINCT FROM 'null'
                            AND p_row ? 'breakdown_value'
                       THEN ' breakdown for the value `'
                            || CASE WHEN jsonb_typeof(p_row->'breakdown_value') = 'array'
                                    THEN (SELECT string_agg(ngx_dashboards_pystr(v), ', ' ORDER BY o)
                                            FROM jsonb_array_elements(p_row->'breakdown_value')
                                                 WITH ORDINALITY a(v, o))
                                    ELSE ngx_dashboards_pystr(p_row->'breakdown_value') END || '`'
                       ELSE '' END,
               ngx_dashboards_trends_other_marker(), 'Other (i.e. all remaining values)'),
               ngx_dashboards_trends_null_marker(), 'None (i.e. no value)')
$$;

-- One table of rows (_format_results): the aggregated table when the first
-- row has an aggregated_value, else one line per bucket of the first row.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_text_table(p_rows jsonb)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_first jsonb := p_rows->0;
    v_lines text[];
    v_line text;
    v_days jsonb;
    v_day text;
    r jsonb;
    i int;
BEGIN
    IF jsonb_typeof(v_first->'aggregated_value') IS DISTINCT FROM 'null' AND v_first ? 'aggregated_value' THEN
        v_line := 'Date range';
        FOR r IN SELECT e FROM jsonb_array_elements(p_rows) WITH ORDINALITY a(e, o) ORDER BY o LOOP
            v_line := v_line || '|Aggregated value for ' || ngx_dashboards_trends_text_label(r);
        END LOOP;
        v_lines := ARRAY[v_line];
        v_days := CASE WHEN jsonb_typeof(v_first->'action'->'days') = 'array' THEN v_first->'action'->'days'
                       ELSE '[]' END;
        v_line := CASE WHEN jsonb_array_length(v_days) = 0 THEN 'All time'
                       ELSE ngx_dashboards_pystr(v_days->0) || ' to ' || ngx_dashboards_pystr(v_days->-1) END;
        FOR r IN SELECT e FROM jsonb_array_elements(p_rows) WITH ORDINALITY a(e, o) ORDER BY o LOOP
            v_line := v_line || '|' || ngx_dashboards_format_number(r->'aggregated_value');
        END LOOP;
        v_lines := v_lines || v_line;
    ELSE
        v_line := 'Date';
        FOR r IN SELECT e FROM jsonb_array_elements(p_rows) WITH ORDINALITY a(e, o) ORDER BY o LOOP
            v_line := v_line || '|' || ngx_dashboards_trends_text_label(r);
        END LOOP;
        v_lines := ARRAY[v_line];
        v_days := v_first->'days';
        IF jsonb_typeof(v_days) IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION 'a row without days';
        END IF;
        FOR i IN 0 .. jsonb_array_length(v_days) - 1 LOOP
            v_day := v_days->>i;
            -- strip_datetime_seconds
            v_line := CASE WHEN strpos(v_day, ':') > 0 THEN to_char(v_day::timestamp, 'YYYY-MM-DD HH24:MI')
                           ELSE to_char(v_day::timestamp, 'YYYY-MM-DD') END;
            FOR r IN SELECT e FROM jsonb_array_elements(p_rows) WITH ORDINALITY a(e, o) ORDER BY o LOOP
                IF jsonb_typeof(r->'data') IS DISTINCT FROM 'array' OR jsonb_array_length(r->'data') <= i THEN
                    RAISE EXCEPTION 'a row without data for bucket %', i;
                END IF;
                v_line := v_line || '|' || ngx_dashboards_format_number(r->'data'->i);
            END LOOP;
            v_lines := v_lines || v_line;
        END LOOP;
    END IF;
    RETURN btrim(array_to_string(v_lines, E'\n'), E' \t\n\r\x0b\x0c');
END $$;

-- PostHog's text of trends results for language models (TrendsResultsFormatter,
-- ee/hogai/context/insight/format/trends.py): "No data recorded for this
-- time period." without rows; the previous and the current period in two
-- tables when both are there; else one table.  Raises on rows it cannot
-- read (PostHog's formatter too: the caller keeps the raw result then).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_text(p_results jsonb)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_current jsonb;
    v_previous jsonb;
BEGIN
    IF jsonb_typeof(p_results) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'results are not a list';
    END IF;
    IF jsonb_array_length(p_results) = 0 THEN
        RETURN 'No data recorded for this time period.';
    END IF;
    SELECT jsonb_agg(e ORDER BY o) FILTER (WHERE e->>'compare_label' = 'current'),
           jsonb_agg(e ORDER BY o) FILTER (WHERE e->>'compare_label' = 'previous')
      INTO v_current, v_previous
      FROM jsonb_array_elements(p_results) WITH ORDINALITY a(e, o);
    IF v_current IS NOT NULL AND v_previous IS NOT NULL THEN
        RETURN 'Previous period:' || E'\n' || ngx_dashboards_trends_text_table(v_previous)
               || E'\n\nCurrent period:\n' || ngx_dashboards_trends_text_table(v_current);
    END IF;
    RETURN ngx_dashboards_trends_text_table(p_results);
END $$;

-- A tile's result for run_insights: with output_format "optimized" (the
-- default) the text of a TrendsQuery's results; the raw result when the
-- format is another, the kind has no text, the result is null or cannot be
-- read (format_query_results_for_llm failing: PostHog keeps the result).
CREATE OR REPLACE FUNCTION ngx_dashboards_insight_text(p_query jsonb, p_result json, p_output_format text)
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_result IS NULL OR coalesce(p_output_format, 'optimized') <> 'optimized'
       OR (CASE WHEN p_query->>'kind' = 'InsightVizNode' THEN p_query->'source' ELSE p_query END)->>'kind'
          IS DISTINCT FROM 'TrendsQuery' THEN
        RETURN p_result;
    END IF;
    BEGIN
        RETURN to_json(ngx_dashboards_trends_text(p_result::jsonb));
    EXCEPTION WHEN data_exception OR raise_exception THEN
        RETURN p_result;
    END;
END $$;

-- GET run_insights (posthog-analytics: DashboardViewSet.run_insights):
-- {"results": [{"id": tile, "insight": {"id", "short_id", "name",
-- "derived_name", "result"}, "order", "last_refresh": null, "is_cached":
-- false}]} for the insight tiles whose insight has a query, "order" being
-- the position among all tiles.  Results from the cache, after the module
-- computed what ngx_dashboards_insight_plan asked for; a computation that
-- failed in this request (p_outcomes error) and an insight the user may not
-- view give a null result.  Same checks as retrieve; read-only.
CREATE OR REPLACE FUNCTION ngx_dashboards_run_insights(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                       p_id int, p_filters_override jsonb,
                                                       p_variables_override jsonb, p_output_format text,
                                                       p_outcomes jsonb)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
BEGIN
    c := ngx_dashboards_read_target(p_user_id, p_project_id, p_scoped_orgs, p_id, p_filters_override);
    RETURN json_build_object('results', coalesce((
        SELECT json_agg(json_build_object(
                   'id', it.tile_id,
                   'insight', json_build_object(
                       'id', it.insight_id,
                       'short_id', it.short_id,
                       'name', it.name,
                       'derived_name', it.derived_name,
                       'result', ngx_dashboards_insight_text(
                                     it.query, cr.results,
                                     p_output_format)),
                   'order', it.ord,
                   'last_refresh', NULL,
                   'is_cached', false) ORDER BY it.ord)
          FROM ngx_dashboards_insight_tiles(p_id, c.filters, p_variables_override) it
          LEFT JOIN LATERAL ngx_dashboards_cached(it.cache_key, it.team_id, it.query) cr
                 ON NOT coalesce((p_outcomes -> it.cache_key) ? 'error', false)
                    AND ngx_dashboards_object_level(c.acl, 'insight', it.insight_id, it.created_by_id,
                                                    p_user_id, c.level) <> 'none'), '[]'::json));
END $$;

-- The effective queries and keys remembered for tiles (016_query_memo.sql)
-- were computed by functions this run may have changed: forgotten.  (The
-- table exists from the second run of sql/migrate on.)
DO $$
BEGIN
    IF to_regclass('public.ngx_dashboards_query_memo') IS NOT NULL THEN
        DELETE FROM public.ngx_dashboards_query_memo;
    END IF;
END $$;
