-- migrate:repeatable
-- 003_dashboard_json.sql: JSON shapes of dashboards, tiles, texts, buttons,
-- widgets and insights, as PostHog's serializers write them.  Built with
-- json_build_object so the key order is PostHog's.  All STABLE, read-only.

-- [{id, dashboard_id, deleted}] of the non-deleted tiles on non-deleted
-- dashboards that show a text / button / widget (DashboardTileBasic); the
-- caller passes one id and NULL for the others.  p_dashboard_id / p_live:
-- the dashboard being shown and whether it is not deleted, which saves
-- looking it up for its own tiles (NULL, NULL: look up every dashboard).
-- A set-returning SQL function
-- so that it is inlined where it is used, as
--   (SELECT r.refs FROM ngx_dashboards_tile_refs(<text id>, NULL, NULL) r),
-- and the NULL branches fold away when the caller's plan is made (as a
-- function of its own, with the OR of all columns, it was planned again on
-- every call).
DROP FUNCTION IF EXISTS ngx_dashboards_tile_refs(int, int, uuid, uuid);
DROP FUNCTION IF EXISTS ngx_dashboards_tile_refs(int, uuid, uuid);
CREATE OR REPLACE FUNCTION ngx_dashboards_tile_refs(p_text_id int, p_button_tile_id uuid, p_widget_id uuid,
                                                    p_dashboard_id int DEFAULT NULL,
                                                    p_live boolean DEFAULT NULL)
RETURNS TABLE(refs json) LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object('id', t.id, 'dashboard_id', t.dashboard_id,
                                               'deleted', t.deleted) ORDER BY t.id), '[]'::json)
      FROM posthog_dashboardtile t
     WHERE (t.text_id = p_text_id OR t.button_tile_id = p_button_tile_id OR t.widget_id = p_widget_id)
       AND t.deleted IS DISTINCT FROM true
       AND CASE WHEN t.dashboard_id = p_dashboard_id THEN p_live
                ELSE NOT (SELECT d.deleted FROM posthog_dashboard d WHERE d.id = t.dashboard_id) END
$$;

-- The tag names of a dashboard or an insight (one id, NULL for the other),
-- sorted by code point (Python's sorted(), whatever the database's
-- collation).  Inlined where used:
--   (SELECT tn.names FROM ngx_dashboards_tag_names(d.id, NULL) tn)
DROP FUNCTION IF EXISTS ngx_dashboards_dashboard_tags(int);
DROP FUNCTION IF EXISTS ngx_dashboards_insight_tags(int);
CREATE OR REPLACE FUNCTION ngx_dashboards_tag_names(p_dashboard_id int, p_insight_id int)
RETURNS TABLE(names json) LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(tg.name ORDER BY tg.name COLLATE "C"), '[]'::json)
      FROM posthog_taggeditem ti JOIN posthog_tag tg ON tg.id = ti.tag_id
     WHERE ti.dashboard_id = p_dashboard_id OR ti.insight_id = p_insight_id
$$;

-- last_viewed_at of an object for a user: the latest posthog_filesystemviewlog
-- row of that type and ref (ts text, NULL when never viewed).  max(), not a
-- scalar subquery on the unique key, which would start no aggregate per
-- tile (0.9 % of a retrieve's instructions): a PostHog database older than
-- its unique constraint on (team, user, type, ref) may hold two rows, and
-- the subquery would fail the retrieve.  Inlined.
CREATE OR REPLACE FUNCTION ngx_dashboards_last_viewed(p_team_id int, p_user_id int, p_type text, p_ref text)
RETURNS TABLE(viewed_at text) LANGUAGE sql STABLE AS $$
    SELECT ngx_dashboards_ts(max(v.viewed_at)) FROM posthog_filesystemviewlog v
     WHERE v.team_id = p_team_id AND v.user_id = p_user_id AND v.type = p_type AND v.ref = p_ref
$$;

-- The looked-up fields the list and the detail of a dashboard share: the
-- user's last view, is_shared (the first sharing configuration's enabled)
-- and the tag names.  Inlined: CROSS JOIN LATERAL ngx_dashboards_dashboard_extras(..) x.
CREATE OR REPLACE FUNCTION ngx_dashboards_dashboard_extras(p_dashboard_id int, p_team_id int, p_user_id int)
RETURNS TABLE(last_viewed_at text, is_shared boolean, tags json) LANGUAGE sql STABLE AS $$
    SELECT (SELECT lv.viewed_at FROM ngx_dashboards_last_viewed(p_team_id, p_user_id, 'dashboard',
                                                               p_dashboard_id::text) lv),
           coalesce((SELECT s.enabled FROM posthog_sharingconfiguration s
                      WHERE s.dashboard_id = p_dashboard_id ORDER BY s.id LIMIT 1), false),
           (SELECT tn.names FROM ngx_dashboards_tag_names(p_dashboard_id, NULL) tn)
$$;

-- The JSON objects of tiles and their contents are built by set-returning SQL
-- functions, which the planner inlines into the statement that uses them, as
--   LEFT JOIN LATERAL ngx_dashboards_text_obj(t.text_id, ..) xo ON true
-- so that the tiles of a dashboard (and the whole detail) are one statement:
-- no nested statement per tile, no row values built to pass rows around.

-- (the former per-row helpers, replaced by the *_obj functions below)
DROP FUNCTION IF EXISTS ngx_dashboards_text_json(posthog_text);
DROP FUNCTION IF EXISTS ngx_dashboards_button_json(posthog_buttontile);
DROP FUNCTION IF EXISTS ngx_dashboards_widget_json(posthog_dashboardwidget);
DROP FUNCTION IF EXISTS ngx_dashboards_insight_json(posthog_dashboarditem, int, int, boolean, text);
DROP FUNCTION IF EXISTS ngx_dashboards_insight_json(posthog_dashboarditem, int, int, boolean, text, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_tile_object(posthog_dashboardtile, posthog_dashboarditem,
    posthog_text, posthog_buttontile, posthog_dashboardwidget, bigint, int, int, boolean, text);
DROP FUNCTION IF EXISTS ngx_dashboards_tile_object(posthog_dashboardtile, posthog_dashboarditem,
    posthog_text, posthog_buttontile, posthog_dashboardwidget, bigint, int, int, boolean, text, jsonb);

-- The user object (UserBasicSerializer) of a user id: no row for NULL or an
-- unknown id.  OFFSET 0 keeps it a subquery of its own, so that, joined as
--   LEFT JOIN LATERAL ngx_dashboards_user_obj(d.created_by_id) u ON true
-- the object is built below the join, where the planner can put a Memoize
-- node (the dashboards of a list page mostly share their creators).
CREATE OR REPLACE FUNCTION ngx_dashboards_user_obj(p_user_id int)
RETURNS TABLE(j json) LANGUAGE sql STABLE AS $$
    SELECT ngx_dashboards_user_json(u) FROM posthog_user u WHERE u.id = p_user_id OFFSET 0
$$;

-- The user object of p_user_id where p_owner (the object of p_owner_id,
-- built once by the caller: a dashboard's creator) can stand for it.
-- Inlined as an expression.
CREATE OR REPLACE FUNCTION ngx_dashboards_user_or_owner(p_user_id int, p_owner_id int, p_owner json)
RETURNS TABLE(j json) LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_user_id IS NULL THEN NULL
                WHEN p_user_id = p_owner_id THEN p_owner
                ELSE (SELECT o.j FROM ngx_dashboards_user_obj(p_user_id) o) END
$$;

-- Text (DashboardTileSerializer's text); no row for NULL or an unknown id.
-- Joined as
--   LEFT JOIN LATERAL ngx_dashboards_text_obj(t.text_id, ..) xo ON true
-- p_owner_id / p_owner: see ngx_dashboards_user_or_owner (NULL, NULL: none);
-- p_dashboard_id / p_live: see ngx_dashboards_tile_refs.
DROP FUNCTION IF EXISTS ngx_dashboards_text_obj(int);
DROP FUNCTION IF EXISTS ngx_dashboards_text_obj(int, int, json);
CREATE OR REPLACE FUNCTION ngx_dashboards_text_obj(p_text_id int, p_owner_id int, p_owner json,
                                                   p_dashboard_id int DEFAULT NULL,
                                                   p_live boolean DEFAULT NULL)
RETURNS TABLE(j json) LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
            'id', x.id,
            'body', x.body,
            'created_by', cu.j,
            'last_modified_at', ngx_dashboards_ts(x.last_modified_at),
            'last_modified_by', mu.j,
            'team', x.team_id,
            'dashboard_tiles', (SELECT r.refs FROM ngx_dashboards_tile_refs(x.id, NULL, NULL,
                                                                           p_dashboard_id, p_live) r))
      FROM posthog_text x
     CROSS JOIN LATERAL ngx_dashboards_user_or_owner(x.created_by_id, p_owner_id, p_owner) cu
     CROSS JOIN LATERAL ngx_dashboards_user_or_owner(x.last_modified_by_id, p_owner_id, p_owner) mu
     WHERE x.id = p_text_id
$$;

-- Button tile (DashboardTileSerializer's button_tile)
CREATE OR REPLACE FUNCTION ngx_dashboards_button_obj(p_button_id uuid)
RETURNS TABLE(j json) LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
            'id', b.id,
            'url', b.url,
            'text', b.text,
            'placement', b.placement,
            'style', b.style,
            'created_by', ngx_dashboards_user_json(cu),
            'last_modified_at', ngx_dashboards_ts(b.last_modified_at),
            'last_modified_by', ngx_dashboards_user_json(mu),
            'team', b.team_id,
            'dashboard_tiles', (SELECT r.refs FROM ngx_dashboards_tile_refs(NULL, b.id, NULL) r))
      FROM posthog_buttontile b
      LEFT JOIN posthog_user cu ON cu.id = b.created_by_id
      LEFT JOIN posthog_user mu ON mu.id = b.last_modified_by_id
     WHERE b.id = p_button_id
$$;

-- Widget (DashboardTileSerializer's widget)
CREATE OR REPLACE FUNCTION ngx_dashboards_widget_obj(p_widget_id uuid)
RETURNS TABLE(j json) LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
            'id', w.id,
            'widget_type', w.widget_type,
            'name', w.name,
            'description', w.description,
            'config', w.config,
            'created_by', ngx_dashboards_user_json(cu),
            'last_modified_at', ngx_dashboards_ts(w.last_modified_at),
            'last_modified_by', ngx_dashboards_user_json(mu),
            'team', w.team_id,
            'dashboard_tiles', (SELECT r.refs FROM ngx_dashboards_tile_refs(NULL, NULL, w.id) r))
      FROM posthog_dashboardwidget w
      LEFT JOIN posthog_user cu ON cu.id = w.created_by_id
      LEFT JOIN posthog_user mu ON mu.id = w.last_modified_by_id
     WHERE w.id = p_widget_id
$$;

-- The button and widget objects as PL/pgSQL functions: a statement that
-- calls them carries a function call instead of their plans, which would
-- otherwise be started with every statement that lists tiles (PostgreSQL
-- initialises every subplan of a statement, used or not).  Their own plans
-- are cached per session and started only for such tiles.
CREATE OR REPLACE FUNCTION ngx_dashboards_button_json(p_button_id uuid)
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT o.j FROM ngx_dashboards_button_obj(p_button_id) o);
END
$$;

CREATE OR REPLACE FUNCTION ngx_dashboards_widget_json(p_widget_id uuid)
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT o.j FROM ngx_dashboards_widget_obj(p_widget_id) o);
END
$$;

-- Insight (PostHog's InsightSerializer inside a tile).  Permissions, simple
-- equivalent of UserInsightPermissions: effective_restriction_level = highest
-- effective restriction of the dashboards showing it (21 when none);
-- effective_privilege_level = 37 when on no dashboard or editable on one of
-- them, else 21; user_access_level = the access rules on the insight
-- (ngx_dashboards_object_level).
-- (ngx_dashboards_apply_filters, PostHog's older filter merge, gave way to
-- ngx_dashboards_apply_dashboard_filters.)
DROP FUNCTION IF EXISTS ngx_dashboards_apply_filters(jsonb, jsonb);

-- An insight the user may not view, as PostHog's InsightSerializer reduces
-- it inside a dashboard: its id and short_id only (no result is computed).
CREATE OR REPLACE FUNCTION ngx_dashboards_insight_hidden(p_id int, p_short_id text)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('id', p_id, 'short_id', p_short_id, 'user_access_level', 'none')
$$;

-- The effective query and cache key remembered for an insight's tile on a
-- dashboard (ngx_dashboards_query_memo, 016_query_memo.sql), with the JSON
-- text of the query (017_memo_text.sql; NULL in older rows), when they
-- were computed from these inputs: the insight's query, the dashboard's
-- filters (p_filters), the tile's overrides and the team's timezone and
-- week start, byte for byte (record_image_eq, NULL as NULL).  Nothing
-- otherwise, or without a dashboard.  Inlined:
--   LEFT JOIN LATERAL ngx_dashboards_query_memo_hit(..) m ON ..
-- (the table of 016 is created after this file on a first install)
SET LOCAL check_function_bodies = off;
DROP FUNCTION IF EXISTS ngx_dashboards_query_memo_hit(int, int, int, jsonb, jsonb, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_query_memo_hit(p_insight_id int, p_dashboard_id int, p_team_id int,
                                                         p_query jsonb, p_filters jsonb, p_tile_filters jsonb)
RETURNS TABLE(effective jsonb, cache_key text, shown text) LANGUAGE sql STABLE AS $$
    SELECT x.effective, x.cache_key, x.shown
      FROM ngx_dashboards_query_memo x
      JOIN posthog_team tm ON tm.id = p_team_id
     WHERE x.insight_id = p_insight_id AND x.dashboard_id = p_dashboard_id
       AND record_image_eq(ROW(x.query, x.filters, x.tile_filters, x.timezone, x.week_start_day),
                           ROW(p_query, p_filters, p_tile_filters, tm.timezone, tm.week_start_day))
$$;
RESET check_function_bodies;

-- The insight object, as JSON text; p_owner_id / p_owner: see
-- ngx_dashboards_user_or_owner.
-- In a dashboard, the query shown and computed is the insight's with
-- p_filters (the request's filters_override, else the dashboard's filters)
-- and the tile's p_tile_filters applied (ngx_dashboards_apply_dashboard_filters,
-- 011_trends.sql); its result fields come from the results cache under
-- that query's key (filters_hash, also on a miss), as PostHog's
-- InsightSerializer reads them from insight_result(): on a miss result
-- null and is_cached false; a stale entry as it is.  p_refresh: the
-- request asked for a refresh (the timezone is then the team's, else the
-- cached response's); p_outcomes: the computations of this request
-- (012_insight_results.sql: an error shows no result and its query_status,
-- a started one its query_status over what the cache holds, a computed one
-- is_cached false: PostHog says so of a result its request computed).  Besides the
-- object: last_refresh (JSON text) and is_cached, which the tile repeats.
-- p_variables: the request's variables_override
-- (ngx_dashboards_apply_dashboard_variables, applied after the filters).
--
-- Written compactly ({"key":value,...}, keys in PostHog's order), as
-- PostHog's renderer writes it and as the module sends it (it compacts the
-- parts that are not: src/ngx_http_dashboards_compact.c), and joined from
-- JSON texts by format(), the keys in its format string and the values
-- its %s, each a text (NULL as null): json_build_object, which writes
-- "key" : value, looks up the type and output function of each of its
-- arguments, keys included, on every call, which was about a third of the
-- instructions of a retrieve of ten insight tiles (bench/RESULTS.md);
-- array_to_string, used before, copies each piece into an array, out of it
-- and into its buffer through a printf-like format, 4 % more time per
-- retrieve than format(), which looks up the output function of text once
-- per call and appends each value as it is (bench/RESULTS.md, "Fewer
-- executor nodes").  Each value is a JSON text: a number or boolean cast
-- to text, a json or jsonb value cast to text, a string through to_json,
-- or quoted as it is when it can hold no character to escape (timestamps
-- of ngx_dashboards_ts, cache keys, access levels).  The results, most of
-- the object's bytes, are not a value of the format but joined to its two
-- halves with ||, which copies them twice: format() would copy them out
-- as a C string, measure and append them, then copy its buffer into the
-- text it returns (bench/RESULTS.md, "Fewer copies").
-- The functions of 011 and 012 it calls, and the table of 016, are created
-- after this file on a first install: their names are resolved when it is
-- called.
SET LOCAL check_function_bodies = off;
DROP FUNCTION IF EXISTS ngx_dashboards_insight_obj(int, int, int, boolean, text, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_insight_obj(int, int, int, boolean, text, jsonb, int, json);
DROP FUNCTION IF EXISTS ngx_dashboards_insight_obj(int, int, int, boolean, text, jsonb, int, json, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_insight_obj(int, int, int, boolean, text, jsonb, int, json, jsonb, jsonb,
                                                   int, boolean, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_insight_obj(int, int, int, boolean, text, jsonb, int, json, jsonb, jsonb,
                                                   int, boolean, jsonb, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_insight_obj(p_insight_id int, p_user_id int, p_level int,
                                                      p_adv boolean, p_timezone text, p_filters jsonb,
                                                      p_owner_id int, p_owner json, p_acl jsonb DEFAULT NULL,
                                                      p_tile_filters jsonb DEFAULT NULL,
                                                      p_dashboard_id int DEFAULT NULL,
                                                      p_refresh boolean DEFAULT false,
                                                      p_outcomes jsonb DEFAULT NULL,
                                                      p_variables jsonb DEFAULT NULL)
RETURNS TABLE(j text, last_refresh text, is_cached boolean) LANGUAGE sql STABLE AS $$
    SELECT format('{"id":%s,"short_id":%s,"name":%s,"derived_name":%s,"filters":%s,"query":%s,'
                  '"order":%s,"deleted":%s,"dashboards":%s,"dashboard_tiles":%s,"last_refresh":%s,'
                  '"cache_target_age":%s,"next_allowed_client_refresh":%s,"result":',
                  i.id::text,
                  to_json(i.short_id)::text,
                  coalesce(to_json(i.name)::text, 'null'),
                  coalesce(to_json(i.derived_name)::text, 'null'),
                  coalesce(i.filters::text, 'null'),
                  coalesce(k.shown, 'null'),
                  coalesce(i."order"::text, 'null'),
                  i.deleted::text,
                  r.dashboards,
                  r.tiles,
                  coalesce(cr.last_refresh, 'null'),
                  coalesce(cr.cache_target_age, 'null'),
                  coalesce(cr.next_allowed_client_refresh, 'null'))
        || coalesce(cr.results::text, 'null')
        || format(',"hasMore":%s,"columns":%s,"created_at":%s,"created_by":%s,"description":%s,'
                  '"updated_at":%s,"tags":%s,"favorited":%s,"saved":%s,"last_modified_at":%s,'
                  '"last_modified_by":%s,"is_sample":%s,"effective_restriction_level":%s,'
                  '"effective_privilege_level":%s,"user_access_level":%s,"timezone":%s,"is_cached":%s,'
                  '"query_status":%s,"hogql":%s,"types":%s,"resolved_date_range":%s,"alerts":[],'
                  '"last_viewed_at":%s,"search_match_type":null,"filters_hash":%s}',
                  coalesce(cr."hasMore", 'null'),
                  coalesce(cr.columns, 'null'),
                  coalesce('"' || ngx_dashboards_ts(i.created_at) || '"', 'null'),
                  coalesce(cu.j::text, 'null'),
                  coalesce(to_json(i.description)::text, 'null'),
                  coalesce('"' || ngx_dashboards_ts(i.updated_at) || '"', 'null'),
                  (SELECT tn.names FROM ngx_dashboards_tag_names(NULL, i.id) tn)::text,
                  coalesce(i.favorited::text, 'null'),
                  coalesce(i.saved::text, 'null'),
                  coalesce('"' || ngx_dashboards_ts(i.last_modified_at) || '"', 'null'),
                  coalesce(mu.j::text, 'null'),
                  coalesce(i.is_sample::text, 'null'),
                  r.er::text,
                  r.ep::text,
                  coalesce('"' || ngx_dashboards_object_level(p_acl, 'insight', i.id, i.created_by_id,
                                                              p_user_id, p_level) || '"', 'null'),
                  coalesce(CASE WHEN p_refresh THEN to_json(p_timezone)::text ELSE cr.timezone END, 'null'),
                  CASE WHEN cr.refreshed_at IS NOT NULL AND NOT coalesce(k.outcome ? 'computed', false)
                       THEN 'true' ELSE 'false' END,
                  coalesce(CASE WHEN k.outcome IS NOT NULL
                                THEN ngx_dashboards_query_status(k.outcome, i.team_id, i.id,
                                                                 p_dashboard_id)::text END,
                           cr.query_status, 'null'),
                  coalesce(cr.hogql, 'null'),
                  coalesce(cr.types, 'null'),
                  coalesce(cr.resolved_date_range, 'null'),
                  coalesce('"' || (SELECT lv.viewed_at FROM ngx_dashboards_last_viewed(i.team_id, p_user_id,
                                                                                   'insight', i.short_id) lv)
                           || '"', 'null'),
                  coalesce('"' || k.key || '"', 'null')),
           cr.last_refresh, cr.refreshed_at IS NOT NULL AND NOT coalesce(k.outcome ? 'computed', false)
      FROM posthog_dashboarditem i
     CROSS JOIN LATERAL ngx_dashboards_user_or_owner(i.created_by_id, p_owner_id, p_owner) cu
     CROSS JOIN LATERAL ngx_dashboards_user_or_owner(i.last_modified_by_id, p_owner_id, p_owner) mu
     -- the dashboards of the insight's tiles (JSON texts, as above), with
     -- the user's levels on them: without the advanced permissions
     -- (p_adv) every dashboard's are 21 and 37 (ngx_dashboards_perms),
     -- and they are not looked up.  The tiles reach the aggregates in id
     -- order (a subquery that ends with its ORDER BY, nothing joined at
     -- the aggregates' level, as in ngx_dashboards_tiles): an ORDER BY in
     -- each string_agg would start a sort of its own for each tile.
     CROSS JOIN LATERAL (
            SELECT coalesce('[' || string_agg(t.dashboard_id::text, ',') || ']', '[]') AS dashboards,
                   coalesce('[' || string_agg('{"id":' || t.id || ',"dashboard_id":' || t.dashboard_id
                                              || ',"deleted":' || coalesce(t.deleted::text, 'null') || '}',
                                              ',') || ']', '[]') AS tiles,
                   coalesce(max(t.er), 21) AS er,
                   CASE WHEN NOT p_adv OR count(*) = 0 OR bool_or(t.can_edit) THEN 37 ELSE 21 END AS ep
              FROM (SELECT t.id, t.dashboard_id, t.deleted, p.effective_restriction_level AS er, p.can_edit
                      FROM posthog_dashboardtile t
                      JOIN posthog_dashboard d ON d.id = t.dashboard_id
                      LEFT JOIN LATERAL ngx_dashboards_perms(d.id, d.restriction_level, d.created_by_id,
                                                             p_user_id, p_level, p_adv, p_acl) p ON p_adv
                     WHERE t.insight_id = i.id AND t.deleted IS DISTINCT FROM true AND NOT d.deleted
                     ORDER BY t.id) t) r
     -- the effective query, its JSON text and its key: as remembered for
     -- this tile (ngx_dashboards_query_memo_hit; not with variables), else
     -- computed, each once (OFFSET 0: not pulled up, which would compute
     -- them again wherever they are used)
     LEFT JOIN LATERAL ngx_dashboards_query_memo_hit(i.id, p_dashboard_id, i.team_id, i.query, p_filters,
                                                    p_tile_filters) m
            ON p_variables IS NULL
     CROSS JOIN LATERAL (
            SELECT x.query, x.key, coalesce(m.shown, x.query::text) AS shown, p_outcomes -> x.key AS outcome
              FROM (SELECT e.query, coalesce(m.cache_key, ngx_dashboards_insight_cache_key(i.team_id, e.query)) AS key
                      FROM (SELECT CASE WHEN m.cache_key IS NOT NULL THEN m.effective
                                        ELSE ngx_dashboards_apply_dashboard_variables(
                                                 ngx_dashboards_apply_dashboard_filters(i.query, p_filters,
                                                                                        p_tile_filters),
                                                 p_variables)
                                   END AS query OFFSET 0) e OFFSET 0) x) k
      LEFT JOIN LATERAL ngx_dashboards_cached(k.key, i.team_id, k.query) cr
             ON NOT coalesce(k.outcome ? 'error', false)
     WHERE i.id = p_insight_id
$$;

-- One tile (PostHog's DashboardTileSerializer) as JSON text, from its
-- columns and the objects of its content (NULL for the others; the
-- insight's as JSON text, see ngx_dashboards_insight_obj); p_order is its
-- position (NULL for the tile endpoints, which have no order in their
-- context); p_last_refresh (JSON text) / p_is_cached: the insight's
-- (ngx_dashboards_insight_obj).  Written with format() and the insight's
-- text joined with ||, as the results are in ngx_dashboards_insight_obj.
-- Inlined.
DROP FUNCTION IF EXISTS ngx_dashboards_tile_object(int, json, json, json, json, jsonb, text, jsonb, boolean,
                                                   boolean, bigint);
DROP FUNCTION IF EXISTS ngx_dashboards_tile_object(int, json, json, json, json, jsonb, text, jsonb, boolean,
                                                   boolean, bigint, json, boolean);
CREATE OR REPLACE FUNCTION ngx_dashboards_tile_object(p_id int, p_insight text, p_text json, p_button json,
                                                      p_widget json, p_layouts jsonb, p_color text,
                                                      p_filters_overrides jsonb, p_show_description boolean,
                                                      p_transparent_background boolean, p_order bigint,
                                                      p_last_refresh text DEFAULT NULL,
                                                      p_is_cached boolean DEFAULT false)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '{"id":' || p_id::text || ',"insight":' || coalesce(p_insight, 'null')
        || format(',"text":%s,"button_tile":%s,"widget":%s,"layouts":%s,"color":%s,"filters_overrides":%s,'
                  '"show_description":%s,"transparent_background":%s,"order":%s,"last_refresh":%s,'
                  '"is_cached":%s}',
                  coalesce(p_text::text, 'null'),
                  coalesce(p_button::text, 'null'),
                  coalesce(p_widget::text, 'null'),
                  coalesce(p_layouts::text, 'null'),
                  coalesce(to_json(p_color)::text, 'null'),
                  coalesce(p_filters_overrides::text, 'null'),
                  coalesce(p_show_description::text, 'null'),
                  coalesce(p_transparent_background::text, 'null'),
                  coalesce(p_order::text, 'null'),
                  coalesce(p_last_refresh, 'null'),
                  CASE WHEN p_is_cached THEN 'true' ELSE 'false' END)
$$;

-- The tiles of a dashboard, in PostHog's tile order, as the text of a JSON
-- array: not soft-deleted, insight (if any) not deleted; sorted by
-- layouts.<size>.y, then .x (100 when missing or not a number), stable over
-- insight."order" (NULLs last) and tile id; "order" is the position after
-- sorting.  Inlined:
--   CROSS JOIN LATERAL ngx_dashboards_tiles(d.id, ...) tj
-- p_text_only (a constant in the caller's statement) leaves out what only
-- insight, button and widget tiles need, which makes a much smaller plan to
-- start for each call: "complete" is then false (and tiles NULL) when the
-- dashboard has a tile of another kind, and the caller runs the statement
-- again with p_text_only false.  p_owner_id / p_owner: the dashboard's
-- creator and its user object (see ngx_dashboards_user_or_owner); p_live:
-- the dashboard is not deleted (see ngx_dashboards_tile_refs); p_filters,
-- p_refresh, p_outcomes, p_variables: see ngx_dashboards_insight_obj;
-- p_tile_filters_override: the request's tile_filters_override, merged over
-- every tile's filters_overrides for its insight (PostHog's
-- tile_filters_override_requested_by_client: {**tile, **override}); the tile
-- still shows its own.
-- The tiles are put in order before their objects are built, and joined in
-- that order: string_agg reads a subquery that ends with the ORDER BY,
-- with nothing joined at the aggregate's level, so the rows reach it in
-- that order; the nested loops over the ordered tiles keep the order, so
-- that ORDER BY costs no sort (t/050-retrieve.t and t/120-reorder.t check
-- the order).  An ORDER BY inside string_agg sorts the rows it aggregates
-- itself, which copied every tile's whole text into the sort
-- (bench/RESULTS.md, "Fewer copies").
DROP FUNCTION IF EXISTS ngx_dashboards_tiles(int, int, int, boolean, text, text, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_tiles(int, int, int, boolean, text, text, jsonb, boolean);
DROP FUNCTION IF EXISTS ngx_dashboards_tiles(int, int, int, boolean, text, text, jsonb, boolean, int, json);
DROP FUNCTION IF EXISTS ngx_dashboards_tiles(int, int, int, boolean, text, text, jsonb, boolean, int, json,
                                             boolean);
DROP FUNCTION IF EXISTS ngx_dashboards_tiles(int, int, int, boolean, text, text, jsonb, boolean, int, json,
                                             boolean, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_tiles(int, int, int, boolean, text, text, jsonb, boolean, int, json,
                                             boolean, jsonb, boolean, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_tiles(int, int, int, boolean, text, text, jsonb, boolean, int, json,
                                             boolean, jsonb, boolean, jsonb, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_tiles(int, int, int, boolean, text, text, jsonb, boolean, int, json,
                                             boolean, jsonb, boolean, jsonb, jsonb, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_tiles(p_dashboard_id int, p_user_id int, p_level int,
                                                p_adv boolean, p_timezone text, p_layout_size text,
                                                p_filters jsonb, p_text_only boolean,
                                                p_owner_id int, p_owner json, p_live boolean,
                                                p_acl jsonb DEFAULT NULL, p_refresh boolean DEFAULT false,
                                                p_outcomes jsonb DEFAULT NULL, p_variables jsonb DEFAULT NULL,
                                                p_tile_filters_override jsonb DEFAULT NULL)
RETURNS TABLE(tiles text, complete boolean) LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT p_text_only OR NOT coalesce(bool_or(q.text_id IS NULL), false) THEN
               coalesce('[' || string_agg(q.tile, ',') || ']', '[]') END,
           NOT p_text_only OR NOT coalesce(bool_or(q.text_id IS NULL), false)
      FROM (SELECT s.text_id, ngx_dashboards_tile_object(
                   s.id,
                   CASE WHEN s.hidden THEN ngx_dashboards_insight_hidden(s.insight_id, s.short_id)::text
                        ELSE io.j END,
                   xo.j,
                   CASE WHEN p_text_only OR s.button_tile_id IS NULL THEN NULL
                        ELSE ngx_dashboards_button_json(s.button_tile_id) END,
                   CASE WHEN p_text_only OR s.widget_id IS NULL THEN NULL
                        ELSE ngx_dashboards_widget_json(s.widget_id) END,
                   s.layouts, s.color, s.filters_overrides, s.show_description, s.transparent_background,
                   s.ord, io.last_refresh, io.is_cached) AS tile
              FROM (SELECT t.id, t.insight_id, t.text_id, t.button_tile_id, t.widget_id, t.layouts, t.color,
                           t.filters_overrides, t.show_description, t.transparent_background,
                           i.short_id,
                           NOT p_text_only AND t.insight_id IS NOT NULL
                               AND ngx_dashboards_object_level(p_acl, 'insight', t.insight_id, i.created_by_id,
                                                               p_user_id, p_level) = 'none' AS hidden,
                           row_number() OVER (ORDER BY
                               CASE WHEN jsonb_typeof(t.layouts #> ARRAY[p_layout_size, 'y']) = 'number'
                                    THEN (t.layouts #> ARRAY[p_layout_size, 'y'])::numeric ELSE 100 END,
                               CASE WHEN jsonb_typeof(t.layouts #> ARRAY[p_layout_size, 'x']) = 'number'
                                    THEN (t.layouts #> ARRAY[p_layout_size, 'x'])::numeric ELSE 100 END,
                               CASE WHEN NOT p_text_only THEN i."order" END NULLS LAST, t.id) - 1 AS ord
                      FROM posthog_dashboardtile t
                      LEFT JOIN posthog_dashboarditem i ON i.id = t.insight_id
                     WHERE t.dashboard_id = p_dashboard_id
                       AND t.deleted IS DISTINCT FROM true
                       AND (p_text_only OR t.insight_id IS NULL OR NOT i.deleted)
                     ORDER BY ord) s
              LEFT JOIN LATERAL ngx_dashboards_text_obj(s.text_id, p_owner_id, p_owner, p_dashboard_id, p_live) xo
                     ON true
              LEFT JOIN LATERAL ngx_dashboards_insight_obj(s.insight_id, p_user_id, p_level, p_adv, p_timezone,
                                                           p_filters, p_owner_id, p_owner, p_acl,
                                                           ngx_dashboards_merge(s.filters_overrides,
                                                                                p_tile_filters_override),
                                                           p_dashboard_id, p_refresh, p_outcomes, p_variables) io
                     ON NOT p_text_only AND s.insight_id IS NOT NULL AND NOT s.hidden
             ORDER BY s.ord OFFSET 0) q
$$;

-- A tile by id (create_text_tile / update_text_tile answers: "order" null).
DROP FUNCTION IF EXISTS ngx_dashboards_tile_json(int, int, int, boolean, text);
CREATE OR REPLACE FUNCTION ngx_dashboards_tile_json(p_tile_id int, p_user_id int, p_level int,
                                                    p_adv boolean, p_timezone text, p_acl jsonb DEFAULT NULL)
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT ngx_dashboards_tile_object(
                   t.id,
                   CASE WHEN t.insight_id IS NULL THEN NULL
                        WHEN ngx_dashboards_object_level(p_acl, 'insight', i.id, i.created_by_id,
                                                         p_user_id, p_level) = 'none'
                        THEN ngx_dashboards_insight_hidden(i.id, i.short_id)::text
                        ELSE io.j END,
                   (SELECT o.j FROM ngx_dashboards_text_obj(t.text_id, NULL, NULL) o),
                   CASE WHEN t.button_tile_id IS NULL THEN NULL
                        ELSE ngx_dashboards_button_json(t.button_tile_id) END,
                   CASE WHEN t.widget_id IS NULL THEN NULL
                        ELSE ngx_dashboards_widget_json(t.widget_id) END,
                   t.layouts, t.color, t.filters_overrides, t.show_description, t.transparent_background,
                   NULL, io.last_refresh, io.is_cached)
          FROM posthog_dashboardtile t
          LEFT JOIN posthog_dashboarditem i ON i.id = t.insight_id
          LEFT JOIN posthog_dashboard d ON d.id = t.dashboard_id
          LEFT JOIN LATERAL ngx_dashboards_insight_obj(t.insight_id, p_user_id, p_level, p_adv, p_timezone,
                                                       d.filters, NULL, NULL, p_acl, t.filters_overrides,
                                                       t.dashboard_id) io ON t.insight_id IS NOT NULL
         WHERE t.id = p_tile_id);
END
$$;

-- (ngx_dashboards_tiles_json had no caller left: the detail inlines ngx_dashboards_tiles)
DROP FUNCTION IF EXISTS ngx_dashboards_tiles_json(int, int, int, boolean, text, text);
DROP FUNCTION IF EXISTS ngx_dashboards_tiles_json(int, int, int, boolean, text, text, jsonb);

-- shallow merge of an override object over a stored object
CREATE OR REPLACE FUNCTION ngx_dashboards_merge(p_stored jsonb, p_override jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p_override) = 'object' AND p_override <> '{}'::jsonb
                     AND (p_stored IS NULL OR jsonb_typeof(p_stored) = 'object')
                THEN coalesce(p_stored, '{}'::jsonb) || p_override
                ELSE p_stored END
$$;

-- Detail (PostHog's DashboardSerializer) as JSON text, keys in PostHog's
-- order, with tiles (JSON text, see ngx_dashboards_insight_obj) and
-- search_match_type after the others.
-- p_level / p_adv / p_timezone come from ngx_dashboards_ctx.  Inlined;
-- p_text_only: see ngx_dashboards_tiles (j is NULL when incomplete).
-- p_refresh, p_outcomes: see ngx_dashboards_insight_obj; p_tile_filters_override:
-- see ngx_dashboards_tiles.
DROP FUNCTION IF EXISTS ngx_dashboards_detail_obj(int, int, int, boolean, text, jsonb, jsonb, boolean);
DROP FUNCTION IF EXISTS ngx_dashboards_detail_obj(int, int, int, boolean, text, jsonb, jsonb, boolean, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_detail_obj(int, int, int, boolean, text, jsonb, jsonb, boolean, jsonb,
                                                  boolean, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_detail_obj(int, int, int, boolean, text, jsonb, jsonb, boolean, jsonb,
                                                  boolean, jsonb, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_detail_obj(p_id int, p_user_id int, p_level int, p_adv boolean,
                                                     p_timezone text, p_filters_override jsonb,
                                                     p_variables_override jsonb, p_text_only boolean,
                                                     p_acl jsonb DEFAULT NULL, p_refresh boolean DEFAULT false,
                                                     p_outcomes jsonb DEFAULT NULL,
                                                     p_tile_filters_override jsonb DEFAULT NULL)
RETURNS TABLE(j text) LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN tj.complete THEN left(json_build_object(
            'id', d.id,
            'name', d.name,
            'description', d.description,
            'pinned', d.pinned,
            'created_at', ngx_dashboards_ts(d.created_at),
            'created_by', u.j,
            'last_accessed_at', ngx_dashboards_ts(d.last_accessed_at),
            'last_viewed_at', x.last_viewed_at,
            'is_shared', x.is_shared,
            'deleted', d.deleted,
            'creation_mode', d.creation_mode,
            'filters', coalesce(ngx_dashboards_merge(d.filters, p_filters_override), '{}'::jsonb),
            'variables', coalesce(ngx_dashboards_merge(d.variables, p_variables_override), '{}'::jsonb),
            'breakdown_colors', d.breakdown_colors,
            'data_color_theme_id', d.data_color_theme_id,
            'tags', x.tags,
            'restriction_level', d.restriction_level,
            'effective_restriction_level', p.effective_restriction_level,
            'effective_privilege_level', p.effective_privilege_level,
            'user_access_level', p.user_access_level,
            'access_control_version', p.access_control_version,
            'last_refresh', ngx_dashboards_ts(d.last_refresh),
            'persisted_filters', CASE WHEN ngx_dashboards_truthy(d.filters) THEN d.filters END,
            'persisted_variables', CASE WHEN ngx_dashboards_truthy(d.variables) THEN d.variables END,
            'team_id', d.team_id,
            'quick_filter_ids', coalesce(d.quick_filter_ids, '[]'::jsonb))::text, -1)
        || ',"tiles":' || tj.tiles || ',"search_match_type":null}' END
      FROM posthog_dashboard d
      LEFT JOIN LATERAL ngx_dashboards_user_obj(d.created_by_id) u ON true
     CROSS JOIN LATERAL ngx_dashboards_tiles(d.id, p_user_id, p_level, p_adv, p_timezone, 'sm',
                                             CASE WHEN jsonb_typeof(p_filters_override) = 'object'
                                                  THEN p_filters_override ELSE d.filters END, p_text_only,
                                             d.created_by_id, u.j, NOT d.deleted, p_acl, p_refresh, p_outcomes,
                                             p_variables_override, p_tile_filters_override) tj
     CROSS JOIN LATERAL ngx_dashboards_perms(d.id, d.restriction_level, d.created_by_id,
                                             p_user_id, p_level, p_adv, p_acl) p
     CROSS JOIN LATERAL ngx_dashboards_dashboard_extras(d.id, d.team_id, p_user_id) x
     WHERE d.id = p_id
$$;

-- The detail as a function (JSON text: the callers that return json cast
-- it): p_text_only true (a hint: the caller saw only text tiles) tries the
-- small statement first.
-- Without sequential scans: every row the detail reads is found by a key
-- with an index of its own (001_schema.sql), and on the small tables of
-- most installs (a page or two) the planner prefers a sequential scan,
-- which reads the table's size from the kernel on every start (lseek),
-- once per tile and per table: with them a dashboard of ten insight
-- tiles served from the cache ran ~25 % fewer requests per second
-- (bench/RESULTS.md, "Insight tiles from the cache").  On a table too big
-- for a sequential scan to pay, the plans are the same.
-- Without Memoize: the planner put one over each insight's object, keyed
-- by the tile's insight and overrides, which a dashboard seldom repeats
-- (no hit in ten tiles), and it copied every object's text into its
-- cache (bench/RESULTS.md, "Fewer copies").
-- Without bitmap scans: the planner read each insight's cache entry
-- (ngx_dashboards_cached) through one, which builds a bitmap and, like a
-- sequential scan, reads the table's size from the kernel on every
-- rescan, once per tile, for the one row of a key: a plain index scan
-- takes 12 % less time per retrieve of ten insight tiles (bench/RESULTS.md,
-- "Fewer executor nodes").
-- With its generic plan from the first call: PostgreSQL plans a statement
-- with its parameters' values for its first five runs on a connection
-- before it settles on the generic plan, and planning this one takes about
-- 20 ms, so the second to sixth retrieves on each new connection took
-- 17-25 ms instead of about 1 ms (bench/RESULTS.md, "Fewer executor
-- nodes").  Its rows are all found by keys, so the generic plan is the
-- plan it settles on anyway.
DROP FUNCTION IF EXISTS ngx_dashboards_detail(int, int, int, boolean, text, jsonb, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_detail(int, int, int, boolean, text, jsonb, jsonb, boolean);
DROP FUNCTION IF EXISTS ngx_dashboards_detail(int, int, int, boolean, text, jsonb, jsonb, boolean, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_detail(int, int, int, boolean, text, jsonb, jsonb, boolean, jsonb, boolean,
                                              jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_detail(int, int, int, boolean, text, jsonb, jsonb, boolean, jsonb, boolean,
                                              jsonb, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_detail(p_id int, p_user_id int, p_level int, p_adv boolean,
                                                 p_timezone text, p_filters_override jsonb DEFAULT NULL,
                                                 p_variables_override jsonb DEFAULT NULL,
                                                 p_text_only boolean DEFAULT false,
                                                 p_acl jsonb DEFAULT NULL, p_refresh boolean DEFAULT false,
                                                 p_outcomes jsonb DEFAULT NULL,
                                                 p_tile_filters_override jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_memoize = off SET enable_bitmapscan = off
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v text;
BEGIN
    IF p_text_only THEN
        v := (SELECT o.j FROM ngx_dashboards_detail_obj(p_id, p_user_id, p_level, p_adv, p_timezone,
                                                        p_filters_override, p_variables_override, true,
                                                        p_acl, p_refresh, p_outcomes, p_tile_filters_override) o);
        IF v IS NOT NULL THEN
            RETURN v;
        END IF;
    END IF;
    RETURN (SELECT o.j FROM ngx_dashboards_detail_obj(p_id, p_user_id, p_level, p_adv, p_timezone,
                                                      p_filters_override, p_variables_override, false,
                                                      p_acl, p_refresh, p_outcomes, p_tile_filters_override) o);
END
$$;
