-- sql/selftest.sql: assertions over every ngx_dashboards_* function.
--
-- Run against a SCRATCH database that has the migrations applied (it creates
-- fixtures with ids 9001.. / 900001.. and leaves them behind):
--
--   sql/selftest -h /tmp/sock -p 5432 -U postgres      (creates and drops a scratch database)
--   psql -X -q -v ON_ERROR_STOP=1 -d scratch -f sql/selftest.sql
--
-- Every check raises on failure; the last line prints "selftest: ok".
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
-- the functions live in schema ngx_dashboards (sql/migrate)
SET search_path = ngx_dashboards, public;

-- helpers ----------------------------------------------------------------------

CREATE FUNCTION pg_temp.check(p_ok boolean, p_what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT coalesce(p_ok, false) THEN
        RAISE EXCEPTION 'selftest FAILED: %', p_what;
    END IF;
END $$;

CREATE FUNCTION pg_temp.eq(p_got anyelement, p_want anyelement, p_what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_got IS DISTINCT FROM p_want THEN
        RAISE EXCEPTION 'selftest FAILED: %: got %, want %', p_what, p_got, p_want;
    END IF;
END $$;

-- runs p_sql and expects SQLSTATE p_state with MESSAGE p_body (when not NULL);
-- the statement's effects are rolled back (the handler's subtransaction)
CREATE FUNCTION pg_temp.fails(p_sql text, p_state text, p_body text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE p_sql;
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE <> p_state THEN
            RAISE EXCEPTION 'selftest FAILED: % gave % %, want %', p_sql, SQLSTATE, SQLERRM, p_state;
        END IF;
        IF p_body IS NOT NULL AND SQLERRM <> p_body THEN
            RAISE EXCEPTION 'selftest FAILED: % gave body %, want %', p_sql, SQLERRM, p_body;
        END IF;
        RETURN;
    END;
    RAISE EXCEPTION 'selftest FAILED: % succeeded, want %', p_sql, p_state;
END $$;

CREATE FUNCTION pg_temp.keys(j json) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(k, ',' ORDER BY n) FROM json_object_keys(j) WITH ORDINALITY AS x(k, n)
$$;

CREATE TEMP TABLE st (k text PRIMARY KEY, v int);
CREATE FUNCTION pg_temp.put(p_k text, p_v int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO st VALUES (p_k, p_v) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v
$$;
CREATE FUNCTION pg_temp.get(p_k text) RETURNS int LANGUAGE sql AS $$ SELECT v FROM st WHERE k = p_k $$;

-- fixtures -----------------------------------------------------------------------
-- org A (advanced permissions): project 9001 with teams 9001 and 9002 (environment)
-- org B (no features): project 9003, team 9003
-- users: 900001 owner of A, 900002 member of A, 900003 admin of A,
--        900004 member of B only, 900005 inactive member of A

INSERT INTO posthog_organization (id, name, slug, created_at, updated_at, available_product_features)
VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'Selftest A', 'selftest-a', now(), now(),
        '[{"key": "advanced_permissions", "name": "Advanced permissions"}]'),
       ('bbbbbbbb-0000-4000-8000-000000000002', 'Selftest B', 'selftest-b', now(), now(), '[]');
INSERT INTO posthog_project (id, organization_id, name, created_at) VALUES
    (9001, 'aaaaaaaa-0000-4000-8000-000000000001', 'Selftest project A', now()),
    (9003, 'bbbbbbbb-0000-4000-8000-000000000002', 'Selftest project B', now());
INSERT INTO posthog_team (id, organization_id, project_id, api_token, name, created_at, updated_at, timezone) VALUES
    (9001, 'aaaaaaaa-0000-4000-8000-000000000001', 9001, 'phc_selftest_9001', 'A main', now(), now(), 'Europe/Berlin'),
    (9002, 'aaaaaaaa-0000-4000-8000-000000000001', 9001, 'phc_selftest_9002', 'A env', now(), now(), 'UTC'),
    (9003, 'bbbbbbbb-0000-4000-8000-000000000002', 9003, 'phc_selftest_9003', 'B main', now(), now(), 'UTC');
INSERT INTO posthog_user (id, email, first_name, last_name, distinct_id, is_active, date_joined,
                          current_organization_id, current_team_id) VALUES
    (900001, 'owner@selftest', 'Olga', 'Owner', 'd-900001', true, now(), 'aaaaaaaa-0000-4000-8000-000000000001', 9001),
    (900002, 'member@selftest', 'Max', 'Member', 'd-900002', true, now(), NULL, 9001),
    (900003, 'admin@selftest', 'Ada', 'Admin', 'd-900003', true, now(), NULL, NULL),
    (900004, 'other@selftest', 'Oscar', 'Other', 'd-900004', true, now(), NULL, 9003),
    (900005, 'gone@selftest', 'Gus', 'Gone', 'd-900005', false, now(), NULL, 9001);
INSERT INTO posthog_organizationmembership (organization_id, user_id, level, joined_at, updated_at) VALUES
    ('aaaaaaaa-0000-4000-8000-000000000001', 900001, 15, now(), now()),
    ('aaaaaaaa-0000-4000-8000-000000000001', 900002, 1, now(), now()),
    ('aaaaaaaa-0000-4000-8000-000000000001', 900003, 8, now(), now()),
    ('bbbbbbbb-0000-4000-8000-000000000002', 900004, 1, now(), now()),
    ('aaaaaaaa-0000-4000-8000-000000000001', 900005, 1, now(), now());
INSERT INTO posthog_personalapikey (id, user_id, label, secure_value, mask_value, created_at, scopes,
                                    scoped_teams, scoped_organizations) VALUES
    ('selftest-key-1', 900001, 'k1', 'sha256$selftest1', 'phx_...est1', now(), '{dashboard:read,dashboard:write}',
     '{9001,9002}', '{aaaaaaaa-0000-4000-8000-000000000001}'),
    ('selftest-key-5', 900005, 'k5', 'sha256$selftest5', 'phx_...est5', now(), '{*}', NULL, NULL);
INSERT INTO posthog_quickfilter (id, team_id, name) VALUES
    ('11111111-2222-4333-8444-555555555555', 9001, 'Browser');
INSERT INTO posthog_dashboardtemplate (id, template_name, dashboard_description, dashboard_filters, tiles, tags,
                                       team_id, scope, created_at, deleted) VALUES
    (gen_random_uuid(), 'Selftest template', 'From a template', '{"date_from": "-14d"}',
     '[{"type": "TEXT", "body": "Hello", "layouts": {"sm": {"x": 0, "y": 0, "w": 6, "h": 2}}, "color": "blue"},
       {"type": "INSIGHT", "name": "Views", "description": "d", "query": {"kind": "InsightVizNode"},
        "filters": {}, "layouts": {"sm": {"x": 0, "y": 2, "w": 6, "h": 5}}, "color": null}]',
     '{templated}', NULL, 'global', now(), false);

-- values and errors ------------------------------------------------------------------

DO $$
BEGIN
    PERFORM pg_temp.eq(ngx_dashboards_ts('2025-01-02 10:00:00.123456+00'), '2025-01-02T10:00:00.123456Z', 'ts');
    PERFORM pg_temp.eq(ngx_dashboards_ts('2025-01-02 12:00:00+02'), '2025-01-02T10:00:00Z', 'ts zone, no microseconds');
    PERFORM pg_temp.eq(ngx_dashboards_ts('2025-01-02 10:00:00.5+00'), '2025-01-02T10:00:00.500000Z', 'ts half a second');
    PERFORM pg_temp.eq(ngx_dashboards_ts(NULL), NULL::text, 'ts null');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_fail(404, 'invalid_request', 'not_found', 'Not found.', NULL)$q$,
        'DB404', '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_fail(400, 'validation_error', 'invalid_input', 'a "b"', 'x')$q$,
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"a \"b\"","attr":"x"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_fail_body(400, '{"detail": "tile_order must contain unique tile IDs"}')$q$,
        'DB400', '{"detail": "tile_order must contain unique tile IDs"}');
    PERFORM pg_temp.check(ngx_dashboards_has_advanced_permissions('["access_control"]'), 'feature string');
    PERFORM pg_temp.check(ngx_dashboards_has_advanced_permissions('[{"key": "dashboard_permissioning"}]'), 'feature object');
    PERFORM pg_temp.check(NOT ngx_dashboards_has_advanced_permissions('[{"key": "tagging"}]'), 'no feature');
    PERFORM pg_temp.check(NOT ngx_dashboards_has_advanced_permissions(NULL), 'null features');
END $$;

-- auth -----------------------------------------------------------------------------------

DO $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM ngx_dashboards_auth('sha256$selftest1');
    PERFORM pg_temp.eq(r.user_id, 900001, 'auth user');
    PERFORM pg_temp.eq(r.scopes, 'dashboard:read,dashboard:write', 'auth scopes');
    PERFORM pg_temp.eq(r.scoped_teams, '9001,9002', 'auth scoped_teams');
    PERFORM pg_temp.eq(r.scoped_orgs, 'aaaaaaaa-0000-4000-8000-000000000001', 'auth scoped_orgs');
    PERFORM pg_temp.eq(r.current_team_id, 9001, 'auth current team');
    PERFORM pg_temp.eq(r.key_id, 'selftest-key-1', 'auth key id');
    PERFORM pg_temp.check((SELECT last_used_at IS NOT NULL FROM posthog_personalapikey WHERE id = 'selftest-key-1'),
                          'last_used_at set');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM ngx_dashboards_auth('sha256$nope')), 'unknown key');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM ngx_dashboards_auth('sha256$selftest5')), 'inactive user');
    SELECT * INTO r FROM ngx_dashboards_auth('sha256$selftest5x');
    PERFORM pg_temp.check(NOT FOUND, 'no row');
END $$;
-- last_used_at only refreshed when older than an hour
UPDATE posthog_personalapikey SET last_used_at = now() - interval '30 minutes' WHERE id = 'selftest-key-1';
DO $$
DECLARE
    v timestamptz := (SELECT last_used_at FROM posthog_personalapikey WHERE id = 'selftest-key-1');
BEGIN
    PERFORM ngx_dashboards_auth('sha256$selftest1');
    PERFORM pg_temp.eq((SELECT last_used_at FROM posthog_personalapikey WHERE id = 'selftest-key-1'), v, 'not refreshed');
END $$;
UPDATE posthog_personalapikey SET last_used_at = now() - interval '2 hours' WHERE id = 'selftest-key-1';
DO $$
BEGIN
    PERFORM ngx_dashboards_auth('sha256$selftest1');
    PERFORM pg_temp.check((SELECT last_used_at > now() - interval '1 minute' FROM posthog_personalapikey
                            WHERE id = 'selftest-key-1'), 'refreshed');
    -- empty lists
    PERFORM pg_temp.eq((SELECT scoped_teams || '|' || scoped_orgs FROM ngx_dashboards_auth('sha256$selftest1x')), NULL, 'x');
END $$;

-- context checks -------------------------------------------------------------------------

DO $$
BEGIN
    PERFORM pg_temp.fails('SELECT ngx_dashboards_access(900001, 999999, '''')', 'DB404',
        '{"type":"invalid_request","code":"not_found","detail":"Project not found.","attr":null}');
    PERFORM pg_temp.fails('SELECT ngx_dashboards_access(900001, 9001, ''bbbbbbbb-0000-4000-8000-000000000002,x'')', 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"API key does not have access to the requested organization: ID aaaaaaaa-0000-4000-8000-000000000001.","attr":null}');
    PERFORM pg_temp.fails('SELECT ngx_dashboards_access(900004, 9001, '''')', 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have access to the project.","attr":null}');
    -- the 404 comes before the membership check
    PERFORM pg_temp.fails('SELECT ngx_dashboards_list(900004, 999999, '''', ''{}'')', 'DB404', NULL);
    PERFORM ngx_dashboards_access(900001, 9001, 'x,aaaaaaaa-0000-4000-8000-000000000001');
    PERFORM ngx_dashboards_access(900002, 9001, NULL);
    PERFORM ngx_dashboards_access(900002, 9002, '');
END $$;

-- create --------------------------------------------------------------------------------------

DO $$
DECLARE
    j json;
BEGIN
    j := ngx_dashboards_create(900001, 9001, '', '{"name": "Growth", "description": "", "pinned": true, "tags": ["KPI ", "kpi", " Growth"]}');
    PERFORM pg_temp.put('growth', (j ->> 'id')::int);
    PERFORM pg_temp.eq(pg_temp.keys(j),
        'id,name,description,pinned,created_at,created_by,last_accessed_at,last_viewed_at,is_shared,deleted,'
        'creation_mode,filters,variables,breakdown_colors,data_color_theme_id,tags,restriction_level,'
        'effective_restriction_level,effective_privilege_level,user_access_level,access_control_version,'
        'last_refresh,persisted_filters,persisted_variables,team_id,quick_filter_ids,tiles,search_match_type',
        'detail keys');
    PERFORM pg_temp.eq(j ->> 'name', 'Growth', 'name');
    PERFORM pg_temp.eq((j -> 'tags')::text, '["growth", "kpi"]', 'tags normalised');
    PERFORM pg_temp.eq(j ->> 'creation_mode', 'default', 'creation_mode');
    PERFORM pg_temp.eq((j -> 'filters')::text, '{}', 'filters');
    PERFORM pg_temp.eq((j -> 'variables')::text, '{}', 'variables');
    PERFORM pg_temp.eq((j -> 'breakdown_colors')::text, '[]', 'breakdown_colors');
    PERFORM pg_temp.eq((j -> 'quick_filter_ids')::text, '[]', 'quick_filter_ids');
    PERFORM pg_temp.eq(json_typeof(j -> 'persisted_filters'), 'null', 'persisted_filters');
    PERFORM pg_temp.eq(json_typeof(j -> 'persisted_variables'), 'null', 'persisted_variables');
    PERFORM pg_temp.eq(json_typeof(j -> 'last_accessed_at'), 'null', 'last_accessed_at');
    PERFORM pg_temp.eq(j ->> 'restriction_level', '21', 'restriction');
    PERFORM pg_temp.eq(j ->> 'effective_privilege_level', '37', 'privilege');
    PERFORM pg_temp.eq(j ->> 'user_access_level', 'manager', 'access level');
    PERFORM pg_temp.eq(j ->> 'access_control_version', 'v2', 'acv');
    PERFORM pg_temp.eq(j ->> 'team_id', '9001', 'team');
    PERFORM pg_temp.eq((j -> 'tiles')::text, '[]', 'tiles');
    PERFORM pg_temp.eq(json_typeof(j -> 'search_match_type'), 'null', 'search_match_type');
    PERFORM pg_temp.eq(pg_temp.keys(j -> 'created_by'),
        'id,uuid,distinct_id,first_name,last_name,email,is_email_verified,hedgehog_config,role_at_organization',
        'user keys');
    PERFORM pg_temp.eq(j -> 'created_by' ->> 'id', '900001', 'created_by');
    PERFORM pg_temp.check((j ->> 'created_at') ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$', 'created_at format');
    -- every NOT NULL column and Django default filled
    PERFORM pg_temp.check((SELECT d.created_by_id = 900001 AND d.created_at IS NOT NULL AND NOT d.deleted
                                  AND d.customization = '{}' AND d.deprecated_tags = '{}' AND NOT d.is_shared
                                  AND d.filters = '{}' AND d.variables = '{}'
                             FROM posthog_dashboard d WHERE d.id = pg_temp.get('growth')), 'row defaults');
    PERFORM pg_temp.eq((SELECT count(*) FROM posthog_tag WHERE team_id = 9001), 2::bigint, 'two tags');

    -- truthy filters kept, {} ignored; variables likewise
    j := ngx_dashboards_create(900002, 9001, '', '{"name": "Filtered", "filters": {"date_from": "-7d"}, "variables": {}, "restriction_level": 37}');
    PERFORM pg_temp.put('filtered', (j ->> 'id')::int);
    PERFORM pg_temp.eq((j -> 'filters')::text, '{"date_from": "-7d"}', 'filters kept');
    PERFORM pg_temp.eq((j -> 'persisted_filters')::text, '{"date_from": "-7d"}', 'persisted_filters');
    PERFORM pg_temp.eq(j ->> 'restriction_level', '37', 'creator may restrict');
    PERFORM pg_temp.eq(j ->> 'access_control_version', 'v1', 'v1');
    PERFORM pg_temp.eq(j ->> 'user_access_level', 'manager', 'creator is manager');
    PERFORM pg_temp.eq(j ->> 'effective_restriction_level', '37', 'effective restriction with feature');

    -- quick filters
    j := ngx_dashboards_create(900001, 9001, '', '{"name": "Quick", "quick_filter_ids": ["11111111-2222-4333-8444-555555555555"]}');
    PERFORM pg_temp.put('quick', (j ->> 'id')::int);
    PERFORM pg_temp.eq((j -> 'quick_filter_ids')::text, '["11111111-2222-4333-8444-555555555555"]', 'quick ids');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create(900001, 9001, '', '{"quick_filter_ids": ["nope"]}')$q$, 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Invalid UUID: nope","attr":"quick_filter_ids"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create(900001, 9001, '', '{"quick_filter_ids": ["11111111-2222-4333-8444-555555555555", "{AAAAAAAA-2222-4333-8444-555555555555}"]}')$q$, 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Quick filters not found: aaaaaaaa-2222-4333-8444-555555555555","attr":"quick_filter_ids"}');

    -- use_dashboard / use_template errors
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create(900001, 9001, '', '{"use_dashboard": 1, "use_template": "x"}')$q$, 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"`use_dashboard` and `use_template` cannot be used together","attr":null}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create(900001, 9001, '', '{"use_dashboard": 987654}')$q$, 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Invalid value provided","attr":"use_dashboard"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create(900001, 9001, '', '{"use_template": "nope"}')$q$, 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Invalid template provided: nope","attr":"use_template"}');
    PERFORM pg_temp.eq((SELECT count(*) FROM posthog_dashboard WHERE team_id = 9001), 3::bigint, 'failed creates left nothing');
    PERFORM pg_temp.fails('SELECT ngx_dashboards_create(900004, 9001, '''', ''{}'')', 'DB403', NULL);
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create(900001, 9001, '', '{"restriction_level": 30}')$q$, 'DB400',
        '{"type":"validation_error","code":"invalid_choice","detail":"\"30\" is not a valid choice.","attr":"restriction_level"}');
END $$;

-- a dashboard in project B is not usable from project A
DO $$
DECLARE
    v int := (ngx_dashboards_create(900004, 9003, '', '{"name": "B dash"}') ->> 'id')::int;
BEGIN
    PERFORM pg_temp.put('bdash', v);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_create(900001, 9001, '''', ''{"use_dashboard": %s}'')', v), 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Invalid value provided","attr":"use_dashboard"}');
END $$;

-- templates
DO $$
DECLARE
    j json := ngx_dashboards_create(900001, 9001, '', '{"use_template": "Selftest template"}');
BEGIN
    PERFORM pg_temp.put('templated', (j ->> 'id')::int);
    PERFORM pg_temp.eq(j ->> 'name', 'Selftest template', 'template name');
    PERFORM pg_temp.eq(j ->> 'description', 'From a template', 'template description');
    PERFORM pg_temp.eq(j ->> 'creation_mode', 'template', 'template mode');
    PERFORM pg_temp.eq((j -> 'filters')::text, '{"date_from": "-14d"}', 'template filters');
    PERFORM pg_temp.eq((j -> 'tags')::text, '["templated"]', 'template tags');
    PERFORM pg_temp.eq(json_array_length(j -> 'tiles'), 2, 'template tiles');
    PERFORM pg_temp.eq(j -> 'tiles' -> 0 -> 'text' ->> 'body', 'Hello', 'template text');
    PERFORM pg_temp.eq(j -> 'tiles' -> 0 ->> 'color', 'blue', 'template color');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' ->> 'name', 'Views', 'template insight');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' ->> 'is_sample', 'true', 'template insight sample');
    -- nothing cached and no ?refresh=: PostHog's InsightSerializer shows the
    -- cached response's timezone, none on a miss (an InsightVizNode without
    -- a source has no cache key either)
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' ->> 'timezone', NULL, 'insight timezone (miss)');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' ->> 'filters_hash', NULL, 'insight filters_hash');
    PERFORM pg_temp.eq(pg_temp.keys(j -> 'tiles' -> 0),
        'id,insight,text,button_tile,widget,layouts,color,filters_overrides,show_description,'
        'transparent_background,order,last_refresh,is_cached', 'tile keys');
    PERFORM pg_temp.eq(pg_temp.keys(j -> 'tiles' -> 0 -> 'text'),
        'id,body,created_by,last_modified_at,last_modified_by,team,dashboard_tiles', 'text keys');
    PERFORM pg_temp.eq(pg_temp.keys(j -> 'tiles' -> 1 -> 'insight'),
        'id,short_id,name,derived_name,filters,query,order,deleted,dashboards,dashboard_tiles,last_refresh,'
        'cache_target_age,next_allowed_client_refresh,result,hasMore,columns,created_at,created_by,description,'
        'updated_at,tags,favorited,saved,last_modified_at,last_modified_by,is_sample,effective_restriction_level,'
        'effective_privilege_level,user_access_level,timezone,is_cached,query_status,hogql,types,'
        'resolved_date_range,alerts,last_viewed_at,search_match_type,filters_hash', 'insight keys');
    -- body tags replace the template's
    j := ngx_dashboards_create(900001, 9001, '', '{"name": "Mine", "use_template": "Selftest template", "tags": ["own"]}');
    PERFORM pg_temp.eq(j ->> 'name', 'Mine', 'template keeps given name');
    PERFORM pg_temp.eq((j -> 'tags')::text, '["own"]', 'body tags win');
    PERFORM pg_temp.put('templated2', (j ->> 'id')::int);
END $$;

-- tiles for the duplication tests: dashboard "Source" with an insight, a text and a soft-deleted text
DO $$
DECLARE
    v_src int := (ngx_dashboards_create(900001, 9001, '', '{"name": "Source", "filters": {"a": 1}, "breakdown_colors": [{"x": 1}], "quick_filter_ids": ["11111111-2222-4333-8444-555555555555"]}') ->> 'id')::int;
    v_ins int;
    v_txt int;
BEGIN
    PERFORM pg_temp.put('source', v_src);
    UPDATE posthog_dashboard SET variables = '{"v": {"code": "x"}}' WHERE id = v_src;
    INSERT INTO posthog_dashboarditem (name, team_id, filters, query, "order", deleted, saved, created_at, refreshing,
                                       created_by_id, is_sample, short_id, favorited, last_modified_at, updated_at, layouts)
    VALUES ('Signups', 9001, '{}', '{"kind": "InsightVizNode"}', 2, false, true, now(), false, 900001, false,
            'stSignup', false, now(), now(), '{}')
    RETURNING id INTO v_ins;
    PERFORM pg_temp.put('insight', v_ins);
    PERFORM ngx_dashboards_set_tags(9001, NULL, v_ins, '["Ins"]');
    INSERT INTO posthog_dashboardtile (dashboard_id, insight_id, team_id, layouts, color, filters_overrides)
    VALUES (v_src, v_ins, 9001, '{"sm": {"x": 6, "y": 0, "w": 6, "h": 5}}', 'green', '{"date_from": "-1d"}');
    INSERT INTO posthog_text (body, created_by_id, last_modified_at, team_id) VALUES ('Intro', 900001, now(), 9001)
    RETURNING id INTO v_txt;
    PERFORM pg_temp.put('text', v_txt);
    INSERT INTO posthog_dashboardtile (dashboard_id, text_id, team_id, layouts, filters_overrides)
    VALUES (v_src, v_txt, 9001, '{"sm": {"x": 0, "y": 0, "w": 6, "h": 5}}', '{}');
    INSERT INTO posthog_text (body, created_by_id, last_modified_at, team_id) VALUES ('Gone', 900001, now(), 9001)
    RETURNING id INTO v_txt;
    INSERT INTO posthog_dashboardtile (dashboard_id, text_id, team_id, layouts, filters_overrides, deleted)
    VALUES (v_src, v_txt, 9001, '{}', '{}', true);
    -- a tile without layouts sorts last (y = x = 100)
    INSERT INTO posthog_text (body, created_by_id, last_modified_at, team_id) VALUES ('Footer', 900001, now(), 9001)
    RETURNING id INTO v_txt;
    INSERT INTO posthog_dashboardtile (dashboard_id, text_id, team_id, layouts, filters_overrides)
    VALUES (v_src, v_txt, 9001, '{"sm": {"x": "left"}}', '{}');
END $$;

DO $$
DECLARE
    j json := ngx_dashboards_retrieve(900002, 9001, '', pg_temp.get('source'), NULL, NULL);
BEGIN
    PERFORM pg_temp.eq(json_array_length(j -> 'tiles'), 3, 'deleted tile hidden');
    PERFORM pg_temp.eq(j -> 'tiles' -> 0 -> 'text' ->> 'body', 'Intro', 'sorted by x');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' ->> 'name', 'Signups', 'then insight');
    PERFORM pg_temp.eq(j -> 'tiles' -> 2 -> 'text' ->> 'body', 'Footer', 'missing layout last');
    PERFORM pg_temp.eq(j -> 'tiles' -> 2 ->> 'order', '2', 'order');
    PERFORM pg_temp.eq((j -> 'tiles' -> 1 -> 'insight' -> 'tags')::text, '["ins"]', 'insight tags');
    PERFORM pg_temp.eq((j -> 'tiles' -> 1 -> 'insight' -> 'dashboards')::text, '[' || pg_temp.get('source') || ']', 'insight dashboards');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' ->> 'user_access_level', 'editor', 'member edits insight');
    PERFORM pg_temp.eq(j ->> 'user_access_level', 'editor', 'member is editor');
    PERFORM pg_temp.eq((j -> 'breakdown_colors')::text, '[{"x": 1}]', 'breakdown colors');
END $$;

-- duplicate: shared links, then deep copies
DO $$
DECLARE
    j json := ngx_dashboards_create(900002, 9001, '', format('{"name": "Copy", "use_dashboard": %s}', pg_temp.get('source'))::jsonb);
    k json;
BEGIN
    PERFORM pg_temp.eq(j ->> 'creation_mode', 'duplicate', 'duplicate mode');
    PERFORM pg_temp.eq((j -> 'filters')::text, '{"a": 1}', 'filters copied');
    PERFORM pg_temp.eq((j -> 'variables')::text, '{"v": {"code": "x"}}', 'variables copied');
    PERFORM pg_temp.eq((j -> 'breakdown_colors')::text, '[{"x": 1}]', 'colors copied');
    PERFORM pg_temp.eq((j -> 'quick_filter_ids')::text, '["11111111-2222-4333-8444-555555555555"]', 'quick filters copied');
    PERFORM pg_temp.eq(json_array_length(j -> 'tiles'), 3, 'copied tiles (not the deleted one)');
    PERFORM pg_temp.eq((j -> 'tiles' -> 1 -> 'insight' ->> 'id')::int, pg_temp.get('insight'), 'shared insight');
    PERFORM pg_temp.eq((j -> 'tiles' -> 0 -> 'text' ->> 'id')::int, pg_temp.get('text'), 'shared text');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 ->> 'color', 'green', 'color copied');
    PERFORM pg_temp.eq((j -> 'tiles' -> 1 -> 'filters_overrides')::text, '{"date_from": "-1d"}', 'overrides copied');
    PERFORM pg_temp.eq(json_array_length(j -> 'tiles' -> 1 -> 'insight' -> 'dashboards'), 2, 'insight on two dashboards');
    PERFORM pg_temp.put('copy', (j ->> 'id')::int);

    k := ngx_dashboards_create(900002, 9001, '', format('{"name": "Deep", "use_dashboard": %s, "duplicate_tiles": true, "filters": {"b": 2}}', pg_temp.get('source'))::jsonb);
    PERFORM pg_temp.eq((k -> 'filters')::text, '{"b": 2}', 'given filters win');
    PERFORM pg_temp.check((k -> 'tiles' -> 1 -> 'insight' ->> 'id')::int <> pg_temp.get('insight'), 'new insight');
    PERFORM pg_temp.eq(k -> 'tiles' -> 1 -> 'insight' ->> 'name', 'Signups (Copy)', 'copy name');
    PERFORM pg_temp.eq((k -> 'tiles' -> 1 -> 'insight' -> 'tags')::text, '["ins"]', 'copy tags');
    PERFORM pg_temp.eq(k -> 'tiles' -> 1 -> 'insight' -> 'created_by' ->> 'id', '900002', 'copy creator');
    PERFORM pg_temp.check((k -> 'tiles' -> 0 -> 'text' ->> 'id')::int <> pg_temp.get('text'), 'new text');
    PERFORM pg_temp.eq(k -> 'tiles' -> 0 -> 'text' ->> 'body', 'Intro', 'text copied');
    PERFORM pg_temp.eq((k -> 'tiles' -> 1 -> 'layouts')::text, '{"sm": {"h": 5, "w": 6, "x": 6, "y": 0}}', 'layouts copied');
    PERFORM pg_temp.put('deep', (k ->> 'id')::int);
END $$;

-- list ------------------------------------------------------------------------------------------

-- extra rows: unlisted, generated, deleted, on the environment team, with % and _ in names
INSERT INTO posthog_dashboard (name, description, team_id, pinned, created_at, created_by_id, deleted, filters,
                               creation_mode, restriction_level) VALUES
    ('Unlisted one', '', 9001, false, now(), 900001, false, '{}', 'unlisted', 21),
    ('Generated Dashboard: x', '', 9001, false, now(), 900001, false, '{}', 'default', 21),
    ('Old', '', 9001, false, now(), 900001, true, '{}', 'default', 21),
    ('Env dash', 'lives on team 9002', 9002, false, now(), NULL, false, '{}', 'default', 21),
    ('100% real_value', '', 9001, false, now(), 900001, false, '{}', 'default', 21),
    (NULL, 'nameless', 9001, false, now(), 900001, false, '{}', 'default', 21);

DO $$
DECLARE
    r record;
    names text;
BEGIN
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"limit": 100, "offset": 0}');
    SELECT string_agg(coalesce(e ->> 'name', '<null>'), '|' ORDER BY n) INTO names
      FROM json_array_elements(r.results) WITH ORDINALITY AS x(e, n);
    PERFORM pg_temp.eq(r.count, 12::bigint, 'list count');
    -- pinned first, then name in the database's collation, NULL names last
    PERFORM pg_temp.eq(names, 'Growth|' || (SELECT string_agg(n, '|' ORDER BY n) FROM unnest(ARRAY[
                              '100% real_value', 'Copy', 'Deep', 'Env dash', 'Filtered', 'Generated Dashboard: x', 'Mine',
                              'Quick', 'Selftest template', 'Source']) n) || '|<null>', 'list order');
    PERFORM pg_temp.eq(pg_temp.keys(r.results -> 0),
        'id,name,description,pinned,created_at,created_by,last_accessed_at,last_viewed_at,is_shared,deleted,'
        'creation_mode,tags,restriction_level,effective_restriction_level,effective_privilege_level,'
        'user_access_level,access_control_version,last_refresh,team_id,search_match_type', 'list keys');
    PERFORM pg_temp.eq(json_typeof(r.results -> 0 -> 'search_match_type'), 'null', 'no search');
END $$;

DO $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"limit": 2, "offset": 1}');
    PERFORM pg_temp.eq(json_array_length(r.results), 2, 'limit');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'name', '100% real_value', 'offset');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"limit": 5, "offset": 50}');
    PERFORM pg_temp.eq(r.results::text, '[]', 'empty page');
    PERFORM pg_temp.eq(r.count, 12::bigint, 'count with empty page');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"search": "%"}');
    PERFORM pg_temp.eq(r.count, 1::bigint, 'percent literal');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'search_match_type', 'exact', 'search_match_type');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"search": "E_L"}');
    PERFORM pg_temp.eq(r.count, 0::bigint, 'underscore literal');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"search": "L_VA"}');
    PERFORM pg_temp.eq(r.count, 1::bigint, 'underscore literal hit');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"search": "TEAM 9002"}');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'name', 'Env dash', 'search description');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"search": "TEMPLAT"}');
    PERFORM pg_temp.eq(r.count, 2::bigint, 'search name and tag');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"search": "copy"}');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'name', 'Copy', 'exact name first');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"tags": ["kpi", "own"]}');
    PERFORM pg_temp.eq(r.count, 2::bigint, 'tags any');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"tags": ["KPI"]}');
    PERFORM pg_temp.eq(r.count, 0::bigint, 'tags exact');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"creation_mode": "unlisted"}');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'name', 'Unlisted one', 'creation_mode');
    PERFORM pg_temp.eq(r.count, 1::bigint, 'creation_mode count');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"exclude_generated": true}');
    PERFORM pg_temp.eq(r.count, 11::bigint, 'exclude_generated');
    SELECT * INTO r FROM ngx_dashboards_list(900002, 9001, '', '{"limit": 100, "offset": 0, "search": null, "tags": [], "creation_mode": null, "exclude_generated": false}');
    PERFORM pg_temp.eq(r.count, 12::bigint, 'all keys');
    SELECT * INTO r FROM ngx_dashboards_list(900004, 9003, '', '{}');
    PERFORM pg_temp.eq(r.count, 1::bigint, 'project B');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'effective_restriction_level', '21', 'no feature');
    -- the member sees the restricted dashboard of another user as viewer? (created by 900002 itself: manager)
    SELECT * INTO r FROM ngx_dashboards_list(900001, 9001, '', '{"search": "filtered"}');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'user_access_level', 'manager', 'owner is manager');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_list(900004, 9001, '', '{}')$q$, 'DB403', NULL);
END $$;

-- retrieve --------------------------------------------------------------------------------------

DO $$
DECLARE
    j json;
BEGIN
    PERFORM pg_temp.fails('SELECT ngx_dashboards_retrieve(900001, 9001, '''', 987654, NULL, NULL)', 'DB404',
        '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_retrieve(900001, 9001, '''', %s, NULL, NULL)',
        (SELECT id FROM posthog_dashboard WHERE name = 'Old' AND team_id = 9001)), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_retrieve(900001, 9001, '''', %s, NULL, NULL)', pg_temp.get('bdash')),
        'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_retrieve(900004, 9001, '''', %s, NULL, NULL)', pg_temp.get('growth')),
        'DB403', NULL);
    -- dashboards of the environment team are visible through the project
    j := ngx_dashboards_retrieve(900001, 9001, '', (SELECT id FROM posthog_dashboard WHERE name = 'Env dash'), NULL, NULL);
    PERFORM pg_temp.eq(j ->> 'team_id', '9002', 'env dashboard');
    PERFORM pg_temp.eq(json_typeof(j -> 'created_by'), 'null', 'no creator');
    j := ngx_dashboards_retrieve(900001, 9001, '', pg_temp.get('source'), '{"date_to": "-1d", "a": 5}', '{"w": 1}');
    PERFORM pg_temp.eq((j -> 'filters')::text, '{"a": 5, "date_to": "-1d"}', 'filters override');
    PERFORM pg_temp.eq((j -> 'persisted_filters')::text, '{"a": 1}', 'persisted unchanged');
    PERFORM pg_temp.eq((j -> 'variables')::text, '{"v": {"code": "x"}, "w": 1}', 'variables override');
    PERFORM pg_temp.check(j ->> 'last_accessed_at' IS NOT NULL, 'last_accessed_at written');
END $$;
-- at most one write per minute
UPDATE posthog_dashboard SET last_accessed_at = now() - interval '30 seconds' WHERE id = (SELECT v FROM st WHERE k = 'growth');
DO $$
DECLARE
    v timestamptz := (SELECT last_accessed_at FROM posthog_dashboard WHERE id = pg_temp.get('growth'));
BEGIN
    PERFORM ngx_dashboards_retrieve(900001, 9001, '', pg_temp.get('growth'), NULL, NULL);
    PERFORM pg_temp.eq((SELECT last_accessed_at FROM posthog_dashboard WHERE id = pg_temp.get('growth')), v, 'coalesced');
END $$;
UPDATE posthog_dashboard SET last_accessed_at = now() - interval '2 minutes' WHERE id = (SELECT v FROM st WHERE k = 'growth');
DO $$
BEGIN
    PERFORM ngx_dashboards_retrieve(900001, 9001, '', pg_temp.get('growth'), NULL, NULL);
    PERFORM pg_temp.check((SELECT last_accessed_at > now() - interval '10 seconds' FROM posthog_dashboard
                            WHERE id = pg_temp.get('growth')), 'rewritten after a minute');
END $$;
-- last_viewed_at and is_shared
INSERT INTO posthog_filesystemviewlog (team_id, user_id, type, ref, viewed_at)
SELECT 9001, 900001, 'dashboard', v::text, '2025-03-04 05:06:07.5+00' FROM st WHERE k = 'growth';
INSERT INTO posthog_sharingconfiguration (team_id, dashboard_id, enabled, created_at)
SELECT 9001, v, true, now() FROM st WHERE k = 'growth';
DO $$
DECLARE
    j json := ngx_dashboards_retrieve(900001, 9001, '', pg_temp.get('growth'), NULL, NULL);
    r record;
BEGIN
    PERFORM pg_temp.eq(j ->> 'last_viewed_at', '2025-03-04T05:06:07.500000Z', 'last_viewed_at');
    PERFORM pg_temp.eq(j ->> 'is_shared', 'true', 'is_shared');
    j := ngx_dashboards_retrieve(900002, 9001, '', pg_temp.get('growth'), NULL, NULL);
    PERFORM pg_temp.eq(json_typeof(j -> 'last_viewed_at'), 'null', 'other user has not viewed');
    SELECT * INTO r FROM ngx_dashboards_list(900001, 9001, '', '{"search": "growth"}');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'last_viewed_at', '2025-03-04T05:06:07.500000Z', 'list last_viewed_at');
    PERFORM pg_temp.eq(r.results -> 0 ->> 'is_shared', 'true', 'list is_shared');
END $$;

-- permissions -------------------------------------------------------------------------------------

-- "Filtered" was created by the member 900002 with restriction 37; make one by the owner too
DO $$
DECLARE
    v int := (ngx_dashboards_create(900001, 9001, '', '{"name": "Locked", "restriction_level": 37}') ->> 'id')::int;
    j json;
BEGIN
    PERFORM pg_temp.put('locked', v);
    j := ngx_dashboards_retrieve(900002, 9001, '', v, NULL, NULL);
    PERFORM pg_temp.eq(j ->> 'effective_restriction_level', '37', 'locked restriction');
    PERFORM pg_temp.eq(j ->> 'effective_privilege_level', '21', 'member can view');
    -- user_access_level is the access rules' level (none here: editor), not v1's
    PERFORM pg_temp.eq(j ->> 'user_access_level', 'editor', 'member: rules level');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900002, 9001, '''', %s, ''{"name": "x"}'', true)', v), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have edit permissions for this dashboard.","attr":null}');
    -- admins may edit and restrict
    j := ngx_dashboards_retrieve(900003, 9001, '', v, NULL, NULL);
    PERFORM pg_temp.eq(j ->> 'user_access_level', 'manager', 'admin is manager');
    -- a collaborator with edit privilege may edit, but not restrict
    INSERT INTO ee_dashboardprivilege (dashboard_id, user_id, level, added_at, updated_at) VALUES (v, 900002, 37, now(), now());
    j := ngx_dashboards_update(900002, 9001, '', v, '{"name": "Locked!"}', true);
    PERFORM pg_temp.eq(j ->> 'name', 'Locked!', 'collaborator edits');
    PERFORM pg_temp.eq(j ->> 'user_access_level', 'editor', 'collaborator is editor');
    PERFORM pg_temp.eq(j ->> 'effective_privilege_level', '37', 'collaborator privilege');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900002, 9001, '''', %s, ''{"restriction_level": 21}'', true)', v), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"Only the dashboard owner and project admins have the restriction rights required to change the dashboard''s restriction level.","attr":null}');
    j := ngx_dashboards_update(900003, 9001, '', v, '{"restriction_level": 21}', true);
    PERFORM pg_temp.eq(j ->> 'restriction_level', '21', 'admin restricts');
    -- restriction_level in the body without the right is refused even on a 21 dashboard
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900002, 9001, '''', %s, ''{"restriction_level": 21}'', false)',
        pg_temp.get('growth')), 'DB403', NULL);
END $$;

-- without the feature, restriction 37 is not effective
UPDATE posthog_organization SET available_product_features = '[]' WHERE id = 'aaaaaaaa-0000-4000-8000-000000000001';
UPDATE posthog_dashboard SET restriction_level = 37 WHERE id = (SELECT v FROM st WHERE k = 'locked');
DELETE FROM ee_dashboardprivilege;
DO $$
DECLARE
    j json := ngx_dashboards_update(900002, 9001, '', pg_temp.get('locked'), '{"description": "free"}', true);
BEGIN
    PERFORM pg_temp.eq(j ->> 'effective_restriction_level', '21', 'not effective');
    PERFORM pg_temp.eq(j ->> 'access_control_version', 'v1', 'still v1');
    PERFORM pg_temp.eq(j ->> 'description', 'free', 'written');
END $$;
UPDATE posthog_organization SET available_product_features = '["advanced_permissions"]' WHERE id = 'aaaaaaaa-0000-4000-8000-000000000001';

-- update --------------------------------------------------------------------------------------------

DO $$
DECLARE
    v int := pg_temp.get('growth');
    j json;
BEGIN
    PERFORM pg_temp.fails('SELECT ngx_dashboards_update(900001, 9001, '''', 987654, ''{}'', true)', 'DB404', NULL);
    j := ngx_dashboards_update(900001, 9001, '', v, '{"name": "Growth 2", "pinned": false, "tags": ["new", "KPI"], "filters": {}, "variables": {"x": 1}, "breakdown_colors": null, "data_color_theme_id": 3, "last_refresh": "2025-01-02T10:00:00Z", "use_template": "whatever"}', false);
    PERFORM pg_temp.eq(j ->> 'name', 'Growth 2', 'name');
    PERFORM pg_temp.eq(j ->> 'pinned', 'false', 'pinned');
    PERFORM pg_temp.eq(j ->> 'description', '', 'description untouched');
    PERFORM pg_temp.eq((j -> 'tags')::text, '["kpi", "new"]', 'tags replaced');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM posthog_tag WHERE team_id = 9001 AND name = 'growth'), 'orphan tag dropped');
    PERFORM pg_temp.eq((j -> 'filters')::text, '{}', 'empty filters ignored');
    PERFORM pg_temp.eq((j -> 'variables')::text, '{"x": 1}', 'variables written');
    PERFORM pg_temp.eq(json_typeof(j -> 'breakdown_colors'), 'null', 'breakdown null');
    PERFORM pg_temp.eq(j ->> 'data_color_theme_id', '3', 'theme');
    PERFORM pg_temp.eq(j ->> 'last_refresh', '2025-01-02T10:00:00Z', 'last_refresh');
    j := ngx_dashboards_update(900001, 9001, '', v, '{"filters": {"date_from": "-90d"}, "tags": null, "quick_filter_ids": null}', true);
    PERFORM pg_temp.eq((j -> 'filters')::text, '{"date_from": "-90d"}', 'filters written');
    PERFORM pg_temp.eq((j -> 'tags')::text, '["kpi", "new"]', 'tags null = unchanged');
    PERFORM pg_temp.eq((j -> 'quick_filter_ids')::text, '[]', 'quick null');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"last_refresh": "yesterday"}'', true)', v),
        'DB400', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"quick_filter_ids": ["x"]}'', true)', v),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Invalid UUID: x","attr":"quick_filter_ids"}');
END $$;

-- tiles through PATCH
DO $$
DECLARE
    v int := pg_temp.get('copy');
    j json;
    t json;
    v_other_text int;
    v_text_tile int;
    v_insight_tile int;
BEGIN
    -- new text tile
    j := ngx_dashboards_update(900002, 9001, '', v,
        '{"tiles": [{"text": {"body": "New card"}, "layouts": {"sm": {"x": 0, "y": 20, "w": 3, "h": 2}}, "color": "red", "order": 4, "is_cached": true}]}', true);
    SELECT e INTO t FROM json_array_elements(j -> 'tiles') e WHERE e -> 'text' ->> 'body' = 'New card';
    PERFORM pg_temp.check(t IS NOT NULL, 'text tile created');
    PERFORM pg_temp.eq(t ->> 'color', 'red', 'text tile color');
    PERFORM pg_temp.eq(t -> 'text' -> 'created_by' ->> 'id', '900002', 'text creator');
    PERFORM pg_temp.eq(json_typeof(t -> 'text' -> 'last_modified_by'), 'null', 'text modifier');
    v_text_tile := (t ->> 'id')::int;
    -- update it through text.id, created_by given -> last_modified_by = caller
    j := ngx_dashboards_update(900001, 9001, '', v, format(
        '{"tiles": [{"id": %s, "text": {"id": %s, "body": "Edited", "created_by": {"id": 900002}}, "transparent_background": true}]}',
        v_text_tile, t -> 'text' ->> 'id')::jsonb, true);
    SELECT e INTO t FROM json_array_elements(j -> 'tiles') e WHERE (e ->> 'id')::int = v_text_tile;
    PERFORM pg_temp.eq(t -> 'text' ->> 'body', 'Edited', 'text edited');
    PERFORM pg_temp.eq(t -> 'text' -> 'created_by' ->> 'id', '900002', 'creator kept');
    PERFORM pg_temp.eq(t -> 'text' -> 'last_modified_by' ->> 'id', '900001', 'modifier');
    PERFORM pg_temp.eq(t ->> 'transparent_background', 'true', 'display field');
    PERFORM pg_temp.eq(t ->> 'color', 'red', 'color kept');
    -- errors
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"tiles": [{"text": {"id": 987654, "body": "x"}}]}'', true)', v),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Text tile not found in this team.","attr":"text"}');
    INSERT INTO posthog_text (body, created_by_id, last_modified_at, team_id) VALUES ('elsewhere', 900001, now(), 9001)
    RETURNING id INTO v_other_text;
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"tiles": [{"text": {"id": %s, "body": "x"}}]}'', true)', v, v_other_text),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Text tile not found.","attr":"text"}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"tiles": [{"text": {"body": "x", "created_by": {"id": 900004}}}]}'', true)', v),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"User not found in this organization.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"tiles": [{"text": {"body": "%s"}}]}'', true)', v, repeat('y', 4001)),
        'DB400', '{"type":"validation_error","code":"max_length","detail":"Text body cannot exceed 4000 characters","attr":"text__body"}');
    -- display-field updates: by id on this dashboard, unknown ids skipped, insight ignored
    SELECT (e ->> 'id')::int INTO v_insight_tile FROM json_array_elements(j -> 'tiles') e WHERE e -> 'insight' IS NOT NULL
       AND json_typeof(e -> 'insight') = 'object';
    j := ngx_dashboards_update(900001, 9001, '', v, format(
        '{"tiles": [{"id": %s, "layouts": {"sm": {"x": 0, "y": 99, "w": 12, "h": 5}}, "color": null, "insight": {"id": 1}, "show_description": true},
                    {"id": 987654, "color": "pink"}, {"id": %s, "deleted": true}]}',
        v_insight_tile, v_text_tile)::jsonb, true);
    SELECT e INTO t FROM json_array_elements(j -> 'tiles') e WHERE (e ->> 'id')::int = v_insight_tile;
    PERFORM pg_temp.eq((t -> 'layouts')::text, '{"sm": {"h": 5, "w": 12, "x": 0, "y": 99}}', 'layouts written');
    PERFORM pg_temp.eq(json_typeof(t -> 'color'), 'null', 'color cleared');
    PERFORM pg_temp.eq(t ->> 'show_description', 'true', 'show_description');
    PERFORM pg_temp.eq((t -> 'insight' ->> 'id')::int, pg_temp.get('insight'), 'insight unchanged');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM json_array_elements(j -> 'tiles') e WHERE (e ->> 'id')::int = v_text_tile),
                          'tile soft-deleted');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM posthog_dashboardtile WHERE id = 987654), 'unknown id not inserted');
    PERFORM pg_temp.eq((SELECT deleted FROM posthog_dashboardtile WHERE id = v_text_tile), true, 'deleted column');
    -- undelete through tiles (soft-deleted tiles are included)
    j := ngx_dashboards_update(900001, 9001, '', v, format('{"tiles": [{"id": %s, "deleted": false}]}', v_text_tile)::jsonb, true);
    PERFORM pg_temp.check(EXISTS (SELECT 1 FROM json_array_elements(j -> 'tiles') e WHERE (e ->> 'id')::int = v_text_tile),
                          'tile back');
    -- duplicate_tiles in PATCH: deep copy onto the same dashboard with the given layouts
    j := ngx_dashboards_update(900001, 9001, '', v, format(
        '{"duplicate_tiles": [{"id": %s, "layouts": {"sm": {"x": 0, "y": 200}}}, {"id": 987654}]}', v_insight_tile)::jsonb, true);
    PERFORM pg_temp.check(EXISTS (SELECT 1 FROM json_array_elements(j -> 'tiles') e
                                   WHERE e -> 'insight' ->> 'name' = 'Signups (Copy)'
                                     AND (e -> 'layouts')::text = '{"sm": {"x": 0, "y": 200}}'), 'duplicated tile');
    -- button tile
    j := ngx_dashboards_update(900001, 9001, '', v,
        '{"tiles": [{"button_tile": {"url": "https://posthog.com/docs", "text": "Docs"}, "layouts": {}}]}', true);
    PERFORM pg_temp.check(EXISTS (SELECT 1 FROM json_array_elements(j -> 'tiles') e
                                   WHERE e -> 'button_tile' ->> 'text' = 'Docs'
                                     AND e -> 'button_tile' ->> 'placement' = 'left'), 'button tile');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"tiles": [{"button_tile": {"url": "ftp://x", "text": "a"}}]}'', true)', v),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Must be a valid URL or a pathname starting with /","attr":"button_tile__url"}');
END $$;

-- more validation errors
DO $$
DECLARE
    v int := pg_temp.get('copy');
    v_insight_tile int := (SELECT id FROM posthog_dashboardtile WHERE dashboard_id = pg_temp.get('copy')
                            AND insight_id = pg_temp.get('insight'));
BEGIN
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"tiles": [{"id": %s, "text": {"body": "x"}}]}'', true)', v, v_insight_tile),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Tile is not a text tile.","attr":"tiles"}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"tiles": [{"text": "x"}]}'', true)', v),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Invalid data. Expected a dictionary, but got str.","attr":"text__non_field_errors"}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"filters": [1]}'', true)', v),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Filters must be a dictionary","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"variables": "x"}'', true)', v),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Filters must be a dictionary","attr":null}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create(900001, 9001, '', '{"filters": "x"}')$q$,
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Filters must be a dictionary","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"tags": "x"}'', true)', v),
        'DB400', '{"type":"validation_error","code":"not_a_list","detail":"Expected a list of items but got type \"str\".","attr":"tags"}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"pinned": "maybe"}'', true)', v),
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Must be a valid boolean.","attr":"pinned"}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"pinned": null}'', true)', v),
        'DB400', '{"type":"validation_error","code":"null","detail":"This field may not be null.","attr":"pinned"}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"name": "%s"}'', true)', v, repeat('n', 401)),
        'DB400', '{"type":"validation_error","code":"max_length","detail":"Ensure this field has no more than 400 characters.","attr":"name"}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900004, 9001, '''', %s, ''{}'', true)', v), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have access to the project.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, ''bbbbbbbb-0000-4000-8000-000000000002'', %s, ''{}'', true)', v), 'DB403', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9003, '''', %s, ''{}'', true)', v), 'DB403', NULL);
    -- empty bodies are fine, and PUT (p_partial false) writes only what is sent
    PERFORM pg_temp.eq(ngx_dashboards_update(900001, 9001, '', v, '{}', false) ->> 'name', 'Copy', 'empty PUT');
    PERFORM pg_temp.eq(ngx_dashboards_update(900001, 9001, '', v, NULL, true) ->> 'name', 'Copy', 'null body');
    PERFORM pg_temp.eq((SELECT count FROM ngx_dashboards_list(900001, 9001, '', NULL)), 13::bigint, 'null query');
END $$;

-- soft delete and restore
DO $$
DECLARE
    v int := pg_temp.get('deep');   -- its insight copy is only here
    v_ins int;
    j json;
BEGIN
    SELECT insight_id INTO v_ins FROM posthog_dashboardtile WHERE dashboard_id = v AND insight_id IS NOT NULL;
    UPDATE posthog_team SET primary_dashboard_id = v WHERE id = 9001;
    -- the shared insight of "copy" must survive a delete of "copy" with delete_insights (it is on "source" too)
    j := ngx_dashboards_update(900001, 9001, '', pg_temp.get('copy'), '{"deleted": true, "delete_insights": true}', true);
    PERFORM pg_temp.eq((SELECT deleted FROM posthog_dashboarditem WHERE id = pg_temp.get('insight')), false, 'shared insight kept');

    j := ngx_dashboards_update(900001, 9001, '', v, '{"deleted": true, "delete_insights": true}', true);
    PERFORM pg_temp.eq(j ->> 'deleted', 'true', 'deleted');
    PERFORM pg_temp.eq((j -> 'tiles')::text, '[]', 'no tiles');
    PERFORM pg_temp.eq((SELECT deleted FROM posthog_dashboarditem WHERE id = v_ins), true, 'own insight deleted');
    PERFORM pg_temp.check((SELECT bool_and(deleted) FROM posthog_dashboardtile WHERE dashboard_id = v), 'tiles deleted');
    PERFORM pg_temp.eq((SELECT primary_dashboard_id FROM posthog_team WHERE id = 9001), NULL::int, 'primary cleared');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_retrieve(900001, 9001, '''', %s, NULL, NULL)', v), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"name": "x"}'', true)', v), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900001, 9001, '''', %s, ''{"deleted": true}'', true)', v), 'DB404', NULL);
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM ngx_dashboards_list(900001, 9001, '', '{"search": "deep"}') l WHERE l.count > 0),
                          'deleted not listed');
    j := ngx_dashboards_update(900001, 9001, '', v, '{"deleted": false}', true);
    PERFORM pg_temp.eq(j ->> 'deleted', 'false', 'restored');
    PERFORM pg_temp.eq(json_array_length(j -> 'tiles'), 3, 'tiles restored');
    PERFORM pg_temp.eq((SELECT deleted FROM posthog_dashboarditem WHERE id = v_ins), false, 'insight restored');
END $$;

-- tile actions (issue 3) -------------------------------------------------------------------------

-- fixtures: "Tiles" (owner) with an insight, a text, a button and a widget tile; "Target" (owner);
-- "Restricted" (owner, restriction 37: the member 900002 may not edit it)
DO $$
DECLARE
    v_src int := (ngx_dashboards_create(900001, 9001, '', '{"name": "Tiles"}') ->> 'id')::int;
    v_ins int;
    v_txt int;
    v_btn uuid := gen_random_uuid();
    v_wid uuid := gen_random_uuid();
BEGIN
    PERFORM pg_temp.put('tiles', v_src);
    PERFORM pg_temp.put('target', (ngx_dashboards_create(900001, 9001, '', '{"name": "Target"}') ->> 'id')::int);
    PERFORM pg_temp.put('restricted', (ngx_dashboards_create(900001, 9001, '', '{"name": "Restricted", "restriction_level": 37}') ->> 'id')::int);
    INSERT INTO posthog_dashboarditem (name, team_id, filters, query, deleted, saved, created_at, refreshing, created_by_id,
                                       is_sample, short_id, favorited, last_modified_at, updated_at, layouts)
    VALUES ('Tile insight', 9001, '{}', '{"kind": "InsightVizNode"}', false, true, now(), false, 900001, false,
            'stTileIn', false, now(), now(), '{}')
    RETURNING id INTO v_ins;
    PERFORM pg_temp.put('tins', v_ins);
    INSERT INTO posthog_dashboardtile (dashboard_id, insight_id, team_id, layouts, color, filters_overrides, show_description)
    VALUES (v_src, v_ins, 9001, '{"sm": {"x": 0, "y": 0, "w": 6, "h": 5}}', 'blue', '{"date_from": "-3d"}', true);
    PERFORM pg_temp.put('tins_tile', currval('posthog_dashboardtile_id_seq')::int);
    INSERT INTO posthog_text (body, created_by_id, last_modified_at, team_id) VALUES ('Card', 900001, now(), 9001)
    RETURNING id INTO v_txt;
    PERFORM pg_temp.put('ttxt', v_txt);
    INSERT INTO posthog_dashboardtile (dashboard_id, text_id, team_id, layouts, filters_overrides)
    VALUES (v_src, v_txt, 9001, '{"sm": {"x": 6, "y": 0, "w": 6, "h": 2}}', '{}');
    PERFORM pg_temp.put('ttxt_tile', currval('posthog_dashboardtile_id_seq')::int);
    INSERT INTO posthog_buttontile (id, url, text, placement, style, created_by_id, last_modified_at, team_id)
    VALUES (v_btn, '/home', 'Home', 'left', 'primary', 900001, now(), 9001);
    INSERT INTO posthog_dashboardtile (dashboard_id, button_tile_id, team_id, layouts, filters_overrides)
    VALUES (v_src, v_btn, 9001, '{}', '{}');
    PERFORM pg_temp.put('tbtn_tile', currval('posthog_dashboardtile_id_seq')::int);
    INSERT INTO posthog_dashboardwidget (id, widget_type, name, description, config, created_by_id, last_modified_at, team_id)
    VALUES (v_wid, 'logs_list', 'Logs', '', '{"limit": 5}', 900001, now(), 9001);
    INSERT INTO posthog_dashboardtile (dashboard_id, widget_id, team_id, layouts, filters_overrides)
    VALUES (v_src, v_wid, 9001, '{}', '{}');
    PERFORM pg_temp.put('twid_tile', currval('posthog_dashboardtile_id_seq')::int);
END $$;

-- create_text_tile
DO $$
DECLARE
    v int := pg_temp.get('target');
    j json;
    k json;
BEGIN
    j := ngx_dashboards_create_text_tile(900002, 9001, '', v,
        '{"body": "## KPIs", "layouts": {"sm": {"x": 0, "y": 0, "w": 12, "h": 1}}, "color": "green"}');
    PERFORM pg_temp.eq(pg_temp.keys(j),
        'id,insight,text,button_tile,widget,layouts,color,filters_overrides,show_description,'
        'transparent_background,order,last_refresh,is_cached', 'text tile keys');
    PERFORM pg_temp.eq(json_typeof(j -> 'order'), 'null', 'text tile order null');
    PERFORM pg_temp.eq(json_typeof(j -> 'insight'), 'null', 'no insight');
    PERFORM pg_temp.eq(j -> 'text' ->> 'body', '## KPIs', 'text body');
    PERFORM pg_temp.eq(j -> 'text' -> 'created_by' ->> 'id', '900002', 'text created_by');
    PERFORM pg_temp.eq(json_typeof(j -> 'text' -> 'last_modified_by'), 'null', 'text last_modified_by');
    PERFORM pg_temp.eq(j -> 'text' ->> 'team', '9001', 'text team');
    PERFORM pg_temp.eq((j -> 'text' -> 'dashboard_tiles')::text,
        format('[{"id" : %s, "dashboard_id" : %s, "deleted" : null}]', j ->> 'id', v), 'text dashboard_tiles');
    PERFORM pg_temp.eq((j -> 'layouts')::text, '{"sm": {"h": 1, "w": 12, "x": 0, "y": 0}}', 'text tile layouts');
    PERFORM pg_temp.eq(j ->> 'color', 'green', 'text tile color');
    PERFORM pg_temp.eq((j -> 'filters_overrides')::text, '{}', 'text tile overrides');
    PERFORM pg_temp.eq(j ->> 'is_cached', 'false', 'is_cached');
    PERFORM pg_temp.put('kpi_tile', (j ->> 'id')::int);
    PERFORM pg_temp.check((SELECT t.team_id = 9001 AND t.deleted IS NULL AND t.filters_overrides = '{}'
                             FROM posthog_dashboardtile t WHERE t.id = (j ->> 'id')::int), 'text tile row');
    -- the same tile in the detail
    k := ngx_dashboards_retrieve(900002, 9001, '', v, NULL, NULL);
    PERFORM pg_temp.eq((k -> 'tiles' -> 0)::jsonb - 'order', (j)::jsonb - 'order', 'tile as in the detail');
    -- defaults: no layouts, no color
    j := ngx_dashboards_create_text_tile(900001, 9001, '', v, '{"body": "x"}');
    PERFORM pg_temp.eq((j -> 'layouts')::text, '{}', 'layouts default');
    PERFORM pg_temp.eq(json_typeof(j -> 'color'), 'null', 'color default');
    PERFORM pg_temp.put('x_tile', (j ->> 'id')::int);
    -- errors
    PERFORM pg_temp.fails('SELECT ngx_dashboards_create_text_tile(900001, 9001, '''', 987654, ''{"body": "x"}'')', 'DB404',
        '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_create_text_tile(900001, 9001, '''', %s, ''{"body": "x"}'')',
        (SELECT id FROM posthog_dashboard WHERE name = 'Old' AND team_id = 9001)), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_create_text_tile(900001, 9001, '''', %s, ''{"body": "x"}'')',
        pg_temp.get('bdash')), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_create_text_tile(900002, 9001, '''', %s, ''{"body": "x"}'')',
        pg_temp.get('restricted')), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have edit permissions for this dashboard.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_create_text_tile(900004, 9001, '''', %s, ''{"body": "x"}'')', v), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have access to the project.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_create_text_tile(900001, 9001, '''', %s, ''{"body": "%s"}'')', v, repeat('b', 4001)),
        'DB400', '{"type":"validation_error","code":"max_length","detail":"Text body cannot exceed 4000 characters","attr":"body"}');
    PERFORM pg_temp.eq((SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = v), 2::bigint, 'two text tiles');
END $$;

-- update_text_tile
DO $$
DECLARE
    v int := pg_temp.get('target');
    v_tile int := pg_temp.get('kpi_tile');
    j json;
BEGIN
    j := ngx_dashboards_update_text_tile(900001, 9001, '', v, format('{"tile_id": %s, "body": "## New"}', v_tile)::jsonb);
    PERFORM pg_temp.eq(j ->> 'id', v_tile::text, 'same tile');
    PERFORM pg_temp.eq(j -> 'text' ->> 'body', '## New', 'body updated');
    PERFORM pg_temp.eq(j -> 'text' -> 'created_by' ->> 'id', '900002', 'creator kept');
    PERFORM pg_temp.eq(j -> 'text' -> 'last_modified_by' ->> 'id', '900001', 'modifier set');
    PERFORM pg_temp.eq(j ->> 'color', 'green', 'color untouched');
    PERFORM pg_temp.eq((j -> 'layouts')::text, '{"sm": {"h": 1, "w": 12, "x": 0, "y": 0}}', 'layouts untouched');
    PERFORM pg_temp.eq(json_typeof(j -> 'order'), 'null', 'order null');
    j := ngx_dashboards_update_text_tile(900002, 9001, '', v,
        format('{"tile_id": %s, "layouts": {"xs": {"x": 0, "y": 3}}, "color": ""}', v_tile)::jsonb);
    PERFORM pg_temp.eq((j -> 'layouts')::text, '{"xs": {"x": 0, "y": 3}}', 'layouts replaced');
    PERFORM pg_temp.eq(j ->> 'color', '', 'color blank');
    PERFORM pg_temp.eq(j -> 'text' ->> 'body', '## New', 'body kept');
    PERFORM pg_temp.eq(j -> 'text' -> 'last_modified_by' ->> 'id', '900002', 'modifier always set');
    j := ngx_dashboards_update_text_tile(900002, 9001, '', v, format('{"tile_id": %s, "color": null}', v_tile)::jsonb);
    PERFORM pg_temp.eq(json_typeof(j -> 'color'), 'null', 'color cleared');
    -- errors: tile of another dashboard, unknown, soft-deleted; an insight tile; permissions
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update_text_tile(900001, 9001, '''', %s, ''{"tile_id": %s}'')',
        v, pg_temp.get('ttxt_tile')), 'DB404', '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update_text_tile(900001, 9001, '''', %s, ''{"tile_id": 987654}'')', v),
        'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update_text_tile(900001, 9001, '''', %s, ''{"tile_id": %s, "body": "x"}'')',
        pg_temp.get('tiles'), pg_temp.get('tins_tile')), 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Tile is not a text tile.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update_text_tile(900002, 9001, '''', %s, ''{"tile_id": 1}'')',
        pg_temp.get('restricted')), 'DB403', NULL);
    PERFORM pg_temp.fails('SELECT ngx_dashboards_update_text_tile(900001, 9001, '''', 987654, ''{"tile_id": 1}'')', 'DB404', NULL);
    UPDATE posthog_dashboardtile SET deleted = true WHERE id = pg_temp.get('x_tile');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update_text_tile(900001, 9001, '''', %s, ''{"tile_id": %s}'')',
        v, pg_temp.get('x_tile')), 'DB404', NULL);
END $$;

-- delete_tile and PostHog's layout compaction (as its delete_tile does)
DO $$
DECLARE
    v int := (ngx_dashboards_create(900001, 9001, '', '{"name": "Compact"}') ->> 'id')::int;
    a int; b int; c int; d int; e int;
BEGIN
    a := (ngx_dashboards_create_text_tile(900001, 9001, '', v,
          '{"body": "A", "layouts": {"sm": {"x": 0, "y": 0, "w": 6, "h": 5}, "xs": {"x": 0, "y": 0, "w": 1, "h": 5}}}') ->> 'id')::int;
    b := (ngx_dashboards_create_text_tile(900001, 9001, '', v,
          '{"body": "B", "layouts": {"sm": {"x": 6, "y": 0, "w": 6, "h": 5}, "xs": {"x": 0, "y": 5, "w": 1, "h": 5}}}') ->> 'id')::int;
    c := (ngx_dashboards_create_text_tile(900001, 9001, '', v,
          '{"body": "C", "layouts": {"sm": {"x": 6, "y": 5, "w": 6, "h": 4}, "xs": {"x": 0, "y": 10, "w": 1, "h": 4}}}') ->> 'id')::int;
    d := (ngx_dashboards_create_text_tile(900001, 9001, '', v,
          '{"body": "D", "layouts": {"sm": {"x": 0, "y": 9, "w": 12, "h": 2}, "xs": {"x": 0, "y": 14, "w": 1, "h": 2}}}') ->> 'id')::int;
    e := (ngx_dashboards_create_text_tile(900001, 9001, '', v, '{"body": "E", "layouts": {"xs": {"x": 0, "h": 3}}}') ->> 'id')::int;
    UPDATE posthog_dashboardtile SET layouts = layouts || '{"lg": "not a box"}' WHERE id = a;
    PERFORM pg_temp.eq(pg_typeof(ngx_dashboards_delete_tile(900001, 9001, '', v, format('{"tile_id": %s}', b)::jsonb))::text,
                       'void', 'delete answers nothing');
    PERFORM pg_temp.eq((SELECT deleted FROM posthog_dashboardtile WHERE id = b), true, 'soft-deleted');
    PERFORM pg_temp.check(EXISTS (SELECT 1 FROM posthog_text x JOIN posthog_dashboardtile t ON t.text_id = x.id WHERE t.id = b),
                          'text kept');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = a),
        '{"lg": "not a box", "sm": {"h": 5, "w": 6, "x": 0, "y": 0}, "xs": {"h": 5, "w": 1, "x": 0, "y": 0}}', 'A unchanged');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = c),
        '{"sm": {"h": 4, "w": 6, "x": 6, "y": 0}, "xs": {"h": 4, "w": 1, "x": 0, "y": 5}}', 'C pulled up');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = d),
        '{"sm": {"h": 2, "w": 12, "x": 0, "y": 5}, "xs": {"h": 2, "w": 1, "x": 0, "y": 9}}', 'D below A and C');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = e),
        '{"xs": {"h": 3, "x": 0, "y": 11}}', 'E gets a y');
    PERFORM pg_temp.eq(json_array_length(ngx_dashboards_retrieve(900001, 9001, '', v, NULL, NULL)::json -> 'tiles'), 4, 'four tiles left');
    -- errors: the tile again (soft-deleted), another dashboard's tile, permissions
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_delete_tile(900001, 9001, '''', %s, ''{"tile_id": %s}'')', v, b),
        'DB404', '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_delete_tile(900001, 9001, '''', %s, ''{"tile_id": %s}'')', v,
        pg_temp.get('ttxt_tile')), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_delete_tile(900002, 9001, '''', %s, ''{"tile_id": 1}'')',
        pg_temp.get('restricted')), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have edit permissions for this dashboard.","attr":null}');
    PERFORM pg_temp.eq((SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = pg_temp.get('tiles')
                          AND deleted IS DISTINCT FROM true), 4::bigint, 'other dashboard untouched');
END $$;

-- copy_tile
DO $$
DECLARE
    v_src int := pg_temp.get('tiles');
    v_dst int := pg_temp.get('target');
    j json;
    t json;
    v_row int;
BEGIN
    j := ngx_dashboards_copy_tile(900002, 9001, '', v_dst,
        format('{"fromDashboardId": %s, "tileId": %s}', v_src, pg_temp.get('tins_tile'))::jsonb);
    PERFORM pg_temp.eq((j ->> 'id')::int, v_dst, 'destination detail');
    SELECT e INTO t FROM json_array_elements(j -> 'tiles') e WHERE json_typeof(e -> 'insight') = 'object';
    PERFORM pg_temp.eq((t -> 'insight' ->> 'id')::int, pg_temp.get('tins'), 'insight shared');
    PERFORM pg_temp.eq(t ->> 'color', 'blue', 'color copied');
    PERFORM pg_temp.eq((t -> 'layouts')::text, '{"sm": {"h": 5, "w": 6, "x": 0, "y": 0}}', 'layouts copied');
    PERFORM pg_temp.eq((t -> 'filters_overrides')::text, '{"date_from": "-3d"}', 'overrides copied');
    PERFORM pg_temp.eq(t ->> 'show_description', 'true', 'show_description copied');
    PERFORM pg_temp.eq(json_array_length(t -> 'insight' -> 'dashboards'), 2, 'insight on both');
    v_row := (t ->> 'id')::int;
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', %s, ''{"fromDashboardId": %s, "tileId": %s}'')',
        v_dst, v_src, pg_temp.get('tins_tile')), 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"This insight is already on the destination dashboard.","attr":null}');
    -- text: shared too
    j := ngx_dashboards_copy_tile(900001, 9001, '', v_dst,
        format('{"fromDashboardId": %s, "tileId": %s}', v_src, pg_temp.get('ttxt_tile'))::jsonb);
    PERFORM pg_temp.check(EXISTS (SELECT 1 FROM json_array_elements(j -> 'tiles') e
                                   WHERE (e -> 'text' ->> 'id')::int = pg_temp.get('ttxt')), 'text shared');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', %s, ''{"fromDashboardId": %s, "tileId": %s}'')',
        v_dst, v_src, pg_temp.get('ttxt_tile')), 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"This text card is already on the destination dashboard.","attr":null}');
    -- buttons are refused, widgets cloned
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', %s, ''{"fromDashboardId": %s, "tileId": %s}'')',
        v_dst, v_src, pg_temp.get('tbtn_tile')), 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Only insight, text, and widget tiles can be copied between dashboards.","attr":null}');
    j := ngx_dashboards_copy_tile(900001, 9001, '', v_dst,
        format('{"fromDashboardId": %s, "tileId": %s}', v_src, pg_temp.get('twid_tile'))::jsonb);
    SELECT e INTO t FROM json_array_elements(j -> 'tiles') e WHERE json_typeof(e -> 'widget') = 'object';
    PERFORM pg_temp.eq(t -> 'widget' ->> 'name', 'Logs (Copy)', 'widget cloned');
    PERFORM pg_temp.check((t -> 'widget' ->> 'id')::uuid <> (SELECT widget_id FROM posthog_dashboardtile
                                                              WHERE id = pg_temp.get('twid_tile')), 'new widget row');
    -- errors, in PostHog's order
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', %s, ''{"fromDashboardId": %s, "tileId": 987654}'')',
        v_dst, v_dst), 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Destination must be a different dashboard than the source.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', %s, ''{"fromDashboardId": 987654, "tileId": 1}'')',
        v_dst), 'DB404', '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', %s, ''{"fromDashboardId": %s, "tileId": 1}'')',
        v_dst, pg_temp.get('bdash')), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', %s, ''{"fromDashboardId": %s, "tileId": %s}'')',
        v_dst, v_src, pg_temp.get('kpi_tile')), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', 987654, ''{"fromDashboardId": %s, "tileId": 1}'')',
        v_src), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900002, 9001, '''', %s, ''{"fromDashboardId": %s, "tileId": %s}'')',
        pg_temp.get('restricted'), v_src, pg_temp.get('ttxt_tile')), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have edit permissions for this dashboard.","attr":null}');
    -- a member may copy from a dashboard it can only view
    PERFORM ngx_dashboards_create_text_tile(900001, 9001, '', pg_temp.get('restricted'), '{"body": "locked card"}');
    j := ngx_dashboards_copy_tile(900002, 9001, '', v_dst, format('{"fromDashboardId": %s, "tileId": %s}',
        pg_temp.get('restricted'), (SELECT id FROM posthog_dashboardtile WHERE dashboard_id = pg_temp.get('restricted')))::jsonb);
    PERFORM pg_temp.check(EXISTS (SELECT 1 FROM json_array_elements(j -> 'tiles') e WHERE e -> 'text' ->> 'body' = 'locked card'),
                          'copied from a view-only source');
    -- a soft-deleted copy on the destination is revived (same row), with the source's display fields
    PERFORM ngx_dashboards_delete_tile(900001, 9001, '', v_dst, format('{"tile_id": %s}', v_row)::jsonb);
    UPDATE posthog_dashboardtile SET color = 'red' WHERE id = pg_temp.get('tins_tile');
    j := ngx_dashboards_copy_tile(900001, 9001, '', v_dst,
        format('{"fromDashboardId": %s, "tileId": %s}', v_src, pg_temp.get('tins_tile'))::jsonb);
    SELECT e INTO t FROM json_array_elements(j -> 'tiles') e WHERE json_typeof(e -> 'insight') = 'object';
    PERFORM pg_temp.eq((t ->> 'id')::int, v_row, 'revived row');
    PERFORM pg_temp.eq(t ->> 'color', 'red', 'revived with the source color');
    PERFORM pg_temp.eq((SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = v_dst AND insight_id = pg_temp.get('tins')),
                       1::bigint, 'one row for the insight');
    UPDATE posthog_dashboardtile SET team_id = 9002, deleted = true WHERE id = v_row;
    PERFORM ngx_dashboards_copy_tile(900001, 9001, '', v_dst,
        format('{"fromDashboardId": %s, "tileId": %s}', v_src, pg_temp.get('tins_tile'))::jsonb);
    PERFORM pg_temp.eq((SELECT team_id FROM posthog_dashboardtile WHERE id = v_row), 9001, 'revived row takes the destination team');
    -- a soft-deleted source tile is not found
    UPDATE posthog_dashboardtile SET deleted = true WHERE id = pg_temp.get('tbtn_tile');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_copy_tile(900001, 9001, '''', %s, ''{"fromDashboardId": %s, "tileId": %s}'')',
        v_dst, v_src, pg_temp.get('tbtn_tile')), 'DB404', NULL);
    UPDATE posthog_dashboardtile SET deleted = NULL WHERE id = pg_temp.get('tbtn_tile');
END $$;

-- move_tile
DO $$
DECLARE
    v_src int := pg_temp.get('tiles');
    v_dst int := pg_temp.get('target');
    v_env int := (SELECT id FROM posthog_dashboard WHERE name = 'Env dash');
    j json;
    v_soft int;
BEGIN
    -- the button moves to the environment team's dashboard: dashboard and team change
    j := ngx_dashboards_move_tile(900002, 9001, '', v_src, format('{"to_dashboard": %s, "tile": {"id": %s}}', v_env,
        pg_temp.get('tbtn_tile'))::jsonb);
    PERFORM pg_temp.eq((j ->> 'id')::int, v_src, 'source detail');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM json_array_elements(j -> 'tiles') e
                                       WHERE (e ->> 'id')::int = pg_temp.get('tbtn_tile')), 'tile gone from the source');
    PERFORM pg_temp.check((SELECT dashboard_id = v_env AND team_id = 9002 FROM posthog_dashboardtile
                            WHERE id = pg_temp.get('tbtn_tile')), 'tile on the destination');
    -- a live tile of the same content on the destination refuses the move
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_move_tile(900001, 9001, '''', %s, ''{"to_dashboard": %s, "tile": {"id": %s}}'')',
        v_src, v_dst, pg_temp.get('tins_tile')), 'DB400',
        '{"type":"validation_error","code":"invalid_input","detail":"Invalid request data for moving tile.","attr":null}');
    -- a soft-deleted one is removed
    SELECT id INTO v_soft FROM posthog_dashboardtile WHERE dashboard_id = v_dst AND insight_id = pg_temp.get('tins');
    PERFORM ngx_dashboards_delete_tile(900001, 9001, '', v_dst, format('{"tile_id": %s}', v_soft)::jsonb);
    j := ngx_dashboards_move_tile(900001, 9001, '', v_src, format('{"to_dashboard": %s, "tile": {"id": %s}}', v_dst,
        pg_temp.get('tins_tile'))::jsonb);
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM posthog_dashboardtile WHERE id = v_soft), 'stale row removed');
    PERFORM pg_temp.eq((SELECT dashboard_id FROM posthog_dashboardtile WHERE id = pg_temp.get('tins_tile')), v_dst, 'insight tile moved');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM json_array_elements(j -> 'tiles') e WHERE json_typeof(e -> 'insight') = 'object'),
                          'no insight left on the source');
    -- errors
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_move_tile(900001, 9001, '''', %s, ''{"to_dashboard": %s, "tile": {"id": %s}}'')',
        v_src, v_dst, pg_temp.get('tins_tile')), 'DB404', '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_move_tile(900001, 9001, '''', %s, ''{"to_dashboard": 987654, "tile": {"id": %s}}'')',
        v_dst, pg_temp.get('tins_tile')), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_move_tile(900001, 9001, '''', %s, ''{"to_dashboard": %s, "tile": {"id": %s}}'')',
        v_dst, pg_temp.get('bdash'), pg_temp.get('tins_tile')), 'DB404', NULL);
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_move_tile(900002, 9001, '''', %s, ''{"to_dashboard": %s, "tile": {"id": %s}}'')',
        v_dst, pg_temp.get('restricted'), pg_temp.get('tins_tile')), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have edit permissions for this dashboard.","attr":null}');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_move_tile(900002, 9001, '''', %s, ''{"to_dashboard": %s, "tile": {"id": 1}}'')',
        pg_temp.get('restricted'), v_dst), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have edit permissions for this dashboard.","attr":null}');
    PERFORM pg_temp.eq((SELECT dashboard_id FROM posthog_dashboardtile WHERE id = pg_temp.get('tins_tile')), v_dst, 'failed moves left it');
END $$;

-- reorder_tiles
DO $$
DECLARE
    v int := (ngx_dashboards_create(900001, 9001, '', '{"name": "Reorder"}') ->> 'id')::int;
    t1 int; t2 int; t3 int; t4 int; t5 int; t6 int;
    j json;
BEGIN
    t1 := (ngx_dashboards_create_text_tile(900001, 9001, '', v, '{"body": "1", "layouts": {"sm": {"x": 0, "y": 0, "w": 6, "h": 5}}}') ->> 'id')::int;
    t2 := (ngx_dashboards_create_text_tile(900001, 9001, '', v, '{"body": "2", "layouts": {"sm": {"x": 6, "y": 0, "w": 4, "h": 3}}}') ->> 'id')::int;
    t3 := (ngx_dashboards_create_text_tile(900001, 9001, '', v, '{"body": "3", "layouts": {"sm": {"x": 0, "y": 5, "w": 12, "h": 2}}}') ->> 'id')::int;
    t4 := (ngx_dashboards_create_text_tile(900001, 9001, '', v, '{"body": "4"}') ->> 'id')::int;
    t5 := (ngx_dashboards_create_text_tile(900001, 9001, '', v, '{"body": "5"}') ->> 'id')::int;
    t6 := (ngx_dashboards_create_text_tile(900001, 9001, '', v, '{"body": "6"}') ->> 'id')::int;
    UPDATE posthog_dashboardtile SET layouts = '{"sm": {"x": 1, "y": 1, "w": 6.0, "h": "x"}, "lg": {}}' WHERE id = t5;
    UPDATE posthog_dashboardtile SET layouts = '{"sm": {"w": 20, "h": 0}}' WHERE id = t6;

    j := ngx_dashboards_reorder_tiles(900001, 9001, '', v, format('{"tile_order": [%s, %s, %s, %s], "layout": "preserve"}',
        t2, t1, t3, t4)::jsonb);
    PERFORM pg_temp.eq((j ->> 'id')::int, v, 'reorder detail');
    PERFORM pg_temp.eq((SELECT string_agg(e -> 'text' ->> 'body', '' ORDER BY n) FROM json_array_elements(j -> 'tiles')
                          WITH ORDINALITY AS x(e, n)), '215346', 'tiles in the new order (t5 and t6 keep theirs)');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t2),
        '{"sm": {"h": 3, "w": 4, "x": 0, "y": 0}, "xs": {"h": 3, "w": 1, "x": 0, "y": 0}}', 'preserve t2');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t1),
        '{"sm": {"h": 5, "w": 6, "x": 4, "y": 0}, "xs": {"h": 5, "w": 1, "x": 0, "y": 3}}', 'preserve t1 (lowest segment)');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t3),
        '{"sm": {"h": 2, "w": 12, "x": 0, "y": 5}, "xs": {"h": 2, "w": 1, "x": 0, "y": 8}}', 'preserve t3');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t4),
        '{"sm": {"h": 5, "w": 6, "x": 0, "y": 7}, "xs": {"h": 5, "w": 1, "x": 0, "y": 10}}', 'preserve t4 (default size)');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t5),
        '{"lg": {}, "sm": {"h": "x", "w": 6.0, "x": 1, "y": 1}}', 'unlisted tile untouched');
    -- sizes: a float or string is not an int (6 x 5), w is clamped to 12, h 0 is not positive
    PERFORM ngx_dashboards_reorder_tiles(900001, 9001, '', v, format('{"tile_order": [%s, %s, %s], "layout": "preserve"}',
        t5, t6, t2)::jsonb);
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t5),
        '{"sm": {"h": 5, "w": 6, "x": 0, "y": 0}, "xs": {"h": 5, "w": 1, "x": 0, "y": 0}}', 'preserve t5');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t6),
        '{"sm": {"h": 5, "w": 12, "x": 0, "y": 5}, "xs": {"h": 5, "w": 1, "x": 0, "y": 5}}', 'preserve t6');
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t2),
        '{"sm": {"h": 3, "w": 4, "x": 0, "y": 10}, "xs": {"h": 3, "w": 1, "x": 0, "y": 10}}', 'preserve t2 below the full-width t6');

    PERFORM ngx_dashboards_reorder_tiles(900002, 9001, '', v, format('{"tile_order": [%s, %s, %s], "layout": "two_column"}',
        t3, t1, t2)::jsonb);
    PERFORM pg_temp.eq((SELECT string_agg(layouts::text, ' | ' ORDER BY layouts -> 'xs' -> 'y') FROM posthog_dashboardtile
                         WHERE id IN (t1, t2, t3)),
        '{"sm": {"h": 5, "w": 6, "x": 0, "y": 0}, "xs": {"h": 5, "w": 1, "x": 0, "y": 0}} | '
        '{"sm": {"h": 5, "w": 6, "x": 6, "y": 0}, "xs": {"h": 5, "w": 1, "x": 0, "y": 5}} | '
        '{"sm": {"h": 5, "w": 6, "x": 0, "y": 5}, "xs": {"h": 5, "w": 1, "x": 0, "y": 10}}', 'two_column');
    PERFORM pg_temp.eq((SELECT layouts -> 'sm' ->> 'x' FROM posthog_dashboardtile WHERE id = t1), '6', 'two_column second');
    PERFORM ngx_dashboards_reorder_tiles(900001, 9001, '', v, format('{"tile_order": [%s, %s]}', t2, t1)::jsonb);
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t1),
        '{"sm": {"h": 5, "w": 6, "x": 6, "y": 0}, "xs": {"h": 5, "w": 1, "x": 0, "y": 5}}', 'layout defaults to preserve');
    PERFORM ngx_dashboards_reorder_tiles(900001, 9001, '', v, format('{"tile_order": [%s, %s], "layout": "full_width"}',
        t1, t2)::jsonb);
    PERFORM pg_temp.eq((SELECT layouts::text FROM posthog_dashboardtile WHERE id = t2),
        '{"sm": {"h": 5, "w": 12, "x": 0, "y": 5}, "xs": {"h": 5, "w": 1, "x": 0, "y": 5}}', 'full_width');
    -- errors ({"detail": ..} bodies)
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_reorder_tiles(900001, 9001, '''', %s, ''{"tile_order": [%s, %s, %s], "layout": "preserve"}'')',
        v, t1, t2, t1), 'DB400', '{"detail":"tile_order must contain unique tile IDs"}');
    UPDATE posthog_dashboardtile SET deleted = true WHERE id = t6;
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_reorder_tiles(900001, 9001, '''', %s, ''{"tile_order": [%s, 987654, %s, %s], "layout": "preserve"}'')',
        v, t1, t6, pg_temp.get('ttxt_tile')), 'DB404',
        format('{"detail":"Tile IDs not found on this dashboard: [%s, %s, 987654]"}', pg_temp.get('ttxt_tile'), t6));
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_reorder_tiles(900002, 9001, '''', %s, ''{"tile_order": [1]}'')',
        pg_temp.get('restricted')), 'DB403', NULL);
    PERFORM pg_temp.fails('SELECT ngx_dashboards_reorder_tiles(900001, 9001, '''', 987654, ''{"tile_order": [1]}'')', 'DB404',
        '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
END $$;

-- bulk_update_tags
DO $$
DECLARE
    b1 int := (ngx_dashboards_create(900001, 9001, '', '{"name": "Bulk 1", "tags": ["one"]}') ->> 'id')::int;
    b2 int := (ngx_dashboards_create(900001, 9001, '', '{"name": "Bulk 2", "tags": ["two"]}') ->> 'id')::int;
    v_old int := (SELECT id FROM posthog_dashboard WHERE name = 'Old' AND team_id = 9001);
    v_env int := (SELECT id FROM posthog_dashboard WHERE name = 'Env dash');
    j json;
BEGIN
    j := ngx_dashboards_bulk_update_tags(900002, 9001, '', format(
        '{"ids": [%s, 987654, %s, %s, %s, %s, %s, %s], "action": "add", "tags": [" Zed ", "one", "a-b", "ab"]}',
        b1, pg_temp.get('restricted'), b2, b1, v_old, pg_temp.get('bdash'), v_env)::jsonb);
    PERFORM pg_temp.eq(j::jsonb, format('{"updated": [{"id": %s, "tags": ["a-b", "ab", "one", "zed"]}, '
                                        '{"id": %s, "tags": ["a-b", "ab", "one", "two", "zed"]}, {"id": %s, "tags": ["a-b", "ab", "one", "zed"]}], '
                                        '"skipped": [{"id": 987654, "reason": "Not found"}, {"id": %s, "reason": "Permission denied"}, '
                                        '{"id": %s, "reason": "Not found"}, {"id": %s, "reason": "Not found"}]}',
                                        b1, b2, v_env, pg_temp.get('restricted'), v_old, pg_temp.get('bdash'))::jsonb, 'bulk add');
    PERFORM pg_temp.eq(pg_temp.keys(j), 'updated,skipped', 'bulk keys');
    PERFORM pg_temp.check((SELECT count(*) = 4 FROM posthog_tag WHERE team_id = 9002), 'tags of the env team');
    j := ngx_dashboards_bulk_update_tags(900001, 9001, '', format('{"ids": [%s, %s], "action": "remove", "tags": ["ONE", "x"]}', b1, b2)::jsonb);
    PERFORM pg_temp.eq(j::jsonb, format('{"updated": [{"id": %s, "tags": ["a-b", "ab", "zed"]}, {"id": %s, "tags": ["a-b", "ab", "two", "zed"]}], "skipped": []}',
                                        b1, b2)::jsonb, 'bulk remove');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM posthog_tag WHERE team_id = 9001 AND name = 'one'), 'orphan "one" removed');
    PERFORM pg_temp.check(EXISTS (SELECT 1 FROM posthog_tag WHERE team_id = 9002 AND name = 'one'), '"one" of the env team kept');
    j := ngx_dashboards_bulk_update_tags(900001, 9001, '', format('{"ids": [%s, %s], "action": "set", "tags": ["Solo"]}', b1, b2)::jsonb);
    PERFORM pg_temp.eq(j::jsonb, format('{"updated": [{"id": %s, "tags": ["solo"]}, {"id": %s, "tags": ["solo"]}], "skipped": []}',
                                        b1, b2)::jsonb, 'bulk set');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM posthog_tag WHERE team_id = 9001 AND name IN ('two', 'zed')), 'orphans removed');
    j := ngx_dashboards_bulk_update_tags(900001, 9001, '', format('{"ids": [%s], "action": "set"}', b1)::jsonb);
    PERFORM pg_temp.eq(j::jsonb, format('{"updated": [{"id": %s, "tags": []}], "skipped": []}', b1)::jsonb, 'bulk set nothing');
    PERFORM pg_temp.eq((ngx_dashboards_retrieve(900001, 9001, '', b2, NULL, NULL)::json -> 'tags')::text, '["solo"]', 'tags in the detail');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_bulk_update_tags(900001, 9001, '', '{"ids": [1], "action": "add", "tags": []}')$q$,
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"tags must not be empty for action ''add''.","attr":"tags"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_bulk_update_tags(900001, 9001, '', '{"ids": [1], "action": "remove"}')$q$,
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"tags must not be empty for action ''remove''.","attr":"tags"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_bulk_update_tags(900004, 9001, '', '{"ids": [1], "action": "set"}')$q$, 'DB403', NULL);
END $$;

-- templates ---------------------------------------------------------------------------------------

-- the seeded templates (applied twice by sql/selftest: still one row each)
DO $$
DECLARE
    j json;
BEGIN
    PERFORM pg_temp.eq((SELECT count(*) FROM posthog_dashboardtemplate WHERE id::text LIKE '0f6a9e52-6c1e-4d3b-9a51-3d1f6f1c000_'),
                       4::bigint, 'built-in templates');
    PERFORM pg_temp.check((SELECT bool_and(jsonb_array_length(tiles) >= 5 AND dashboard_filters ? 'date_from'
                                           AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(tiles) t
                                                            WHERE NOT t -> 'layouts' ? 'sm' OR NOT t -> 'layouts' ? 'xs'
                                                               OR t ->> 'type' NOT IN ('TEXT', 'INSIGHT')
                                                               OR t ->> 'type' = 'INSIGHT' AND t -> 'query' -> 'source' ->> 'kind' <> 'TrendsQuery'))
                             FROM posthog_dashboardtemplate WHERE id::text LIKE '0f6a9e52-6c1e-4d3b-9a51-3d1f6f1c000_'),
                          'built-in template tiles');
    PERFORM ngx_dashboards_check_template(to_jsonb(t) - 'id' - 'team_id' - 'created_at' - 'image_url' - 'github_url'
                                          - 'scope' - 'availability_contexts' - 'is_featured' - 'deleted' - 'created_by_id')
       FROM posthog_dashboardtemplate t WHERE id::text LIKE '0f6a9e52-6c1e-4d3b-9a51-3d1f6f1c000_';
    -- use_template with a general one
    j := ngx_dashboards_create(900002, 9001, '', '{"use_template": "Website traffic"}');
    PERFORM pg_temp.eq(j ->> 'name', 'Website traffic', 'website template');
    PERFORM pg_temp.eq(j ->> 'creation_mode', 'template', 'website mode');
    PERFORM pg_temp.eq((j -> 'tags')::text, '["marketing"]', 'website tags');
    PERFORM pg_temp.eq(j -> 'filters' ->> 'date_from', '-30d', 'website filters');
    PERFORM pg_temp.eq(json_array_length(j -> 'tiles'), 7, 'website tiles');
    PERFORM pg_temp.eq(j -> 'tiles' -> 0 -> 'insight' -> 'query' -> 'source' ->> 'kind', 'TrendsQuery', 'website query');
    PERFORM pg_temp.eq(json_typeof(j -> 'tiles' -> 0 -> 'insight' -> 'created_by'), 'null', 'use_template insights have no creator');
    PERFORM pg_temp.eq((j -> 'tiles' -> 0 -> 'insight' -> 'filters')::text, '{}', 'query insights have no filters');
    j := ngx_dashboards_create(900002, 9001, '', '{"name": "PA", "use_template": "Product analytics"}');
    PERFORM pg_temp.eq(j ->> 'name', 'PA', 'product template keeps the name');
    PERFORM pg_temp.eq(j -> 'tiles' -> 0 -> 'text' ->> 'body' LIKE '## Product analytics%', true, 'product template text');
END $$;

-- create_from_template_json
DO $$
DECLARE
    n bigint := (SELECT count(*) FROM posthog_dashboard);
    tpl text := '{"template_name": "From JSON", "dashboard_description": "JSON made", "dashboard_filters": {"date_from": "-3d"},
                  "tags": ["Json", "json"], "variables": null, "scope": "team", "id": "x",
                  "tiles": [{"type": "TEXT", "body": "Hi", "layouts": {"sm": {"x": 0, "y": 0, "w": 12, "h": 1}}, "color": "purple",
                             "transparent_background": true},
                            {"type": "INSIGHT", "name": "Views", "description": "d", "query": {"kind": "InsightVizNode"},
                             "layouts": {"sm": {"x": 0, "y": 1, "w": 6, "h": 5}}, "color": null}]}';
    j json;
BEGIN
    j := ngx_dashboards_create_from_template_json(900002, 9001, '',
        ('{"template": ' || tpl || ', "creation_context": "onboarding", "_create_in_folder": "x"}')::jsonb);
    PERFORM pg_temp.eq(j ->> 'name', 'From JSON', 'json name');
    PERFORM pg_temp.eq(j ->> 'description', 'JSON made', 'json description');
    PERFORM pg_temp.eq((j -> 'filters')::text, '{"date_from": "-3d"}', 'json filters');
    PERFORM pg_temp.eq((j -> 'tags')::text, '["Json", "json"]', 'json tags as given');
    PERFORM pg_temp.eq(j ->> 'creation_mode', 'default', 'json mode');
    PERFORM pg_temp.eq(j -> 'created_by' ->> 'id', '900002', 'json creator');
    PERFORM pg_temp.eq(json_array_length(j -> 'tiles'), 2, 'json tiles');
    PERFORM pg_temp.eq(j -> 'tiles' -> 0 -> 'text' ->> 'body', 'Hi', 'json text');
    PERFORM pg_temp.eq(j -> 'tiles' -> 0 ->> 'color', 'purple', 'json color');
    PERFORM pg_temp.eq(j -> 'tiles' -> 0 ->> 'transparent_background', 'true', 'json transparent');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' ->> 'name', 'Views', 'json insight');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' -> 'created_by' ->> 'id', '900002', 'json insight creator');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' ->> 'is_sample', 'true', 'json insight sample');
    PERFORM pg_temp.eq((j -> 'tiles' -> 1 -> 'layouts')::text, '{"sm": {"h": 5, "w": 6, "x": 0, "y": 1}}', 'json layouts');
    n := n + 1;
    -- invalid templates: 400 naming the field, and no dashboard left behind
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT"}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"required","detail":"This field is required.","attr":"template__template_name"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": 5, "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT"}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Not a valid string.","attr":"template__template_name"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_filters": {}, "tiles": [{"type": "TEXT"}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"required","detail":"This field is required.","attr":"template__dashboard_description"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": [], "tiles": [{"type": "TEXT"}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"not_a_dict","detail":"Expected a dictionary of items but got type \"list\".","attr":"template__dashboard_filters"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": []}}')$q$,
        'DB400', '{"type":"validation_error","code":"empty","detail":"This list may not be empty.","attr":"template__tiles"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": {"type": "TEXT"}}}')$q$,
        'DB400', '{"type":"validation_error","code":"not_a_list","detail":"Expected a list of items but got type \"dict\".","attr":"template__tiles"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT"}, {"type": "BUTTON"}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"invalid_choice","detail":"\"BUTTON\" is not a valid choice.","attr":"template__tiles__1__type"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"body": "x"}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"required","detail":"This field is required.","attr":"template__tiles__0__type"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": ["TEXT"]}}')$q$,
        'DB400', '{"type":"validation_error","code":"not_a_dict","detail":"Expected a dictionary of items but got type \"str\".","attr":"template__tiles__0"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "INSIGHT", "query": "q"}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"not_a_dict","detail":"Expected a dictionary of items but got type \"str\".","attr":"template__tiles__0__query"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT", "layouts": [1]}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"not_a_dict","detail":"Expected a dictionary of items but got type \"list\".","attr":"template__tiles__0__layouts"}');
    PERFORM pg_temp.fails(format($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT", "body": "%s"}]}}')$q$, repeat('y', 4001)),
        'DB400', '{"type":"validation_error","code":"max_length","detail":"Ensure this field has no more than 4000 characters.","attr":"template__tiles__0__body"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT"}], "tags": ["a", 1]}}')$q$,
        'DB400', '{"type":"validation_error","code":"invalid_input","detail":"Not a valid string.","attr":"template__tags__1"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT"}], "variables": [{"id": "V", "name": "n", "type": "action", "default": {}, "description": "", "required": true}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"invalid_choice","detail":"\"action\" is not a valid choice.","attr":"template__variables__0__type"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT"}], "variables": [{"id": "V", "name": "n", "type": "event", "default": {}, "description": ""}]}}')$q$,
        'DB400', '{"type":"validation_error","code":"required","detail":"This field is required.","attr":"template__variables__0__required"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900004, 9001, '', '{"template": {}}')$q$, 'DB403', NULL);
    -- an error after the dashboard, its tags and a first tile were written takes them all back
    CREATE FUNCTION pg_temp.boom() RETURNS trigger LANGUAGE plpgsql AS $b$
    BEGIN
        IF NEW.color = 'boom' THEN RAISE EXCEPTION 'boom'; END IF;
        RETURN NEW;
    END $b$;
    CREATE TRIGGER selftest_boom BEFORE INSERT ON posthog_dashboardtile FOR EACH ROW EXECUTE FUNCTION pg_temp.boom();
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "t", "dashboard_description": "", "dashboard_filters": {}, "tiles": [{"type": "TEXT", "body": "first"}, {"type": "TEXT", "color": "boom"}], "tags": ["boomtag"]}}')$q$,
        'P0001', 'boom');
    DROP TRIGGER selftest_boom ON posthog_dashboardtile;
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM posthog_tag WHERE name = 'boomtag')
                          AND NOT EXISTS (SELECT 1 FROM posthog_text WHERE body = 'first'), 'nothing of the failed template left');
    PERFORM pg_temp.eq((SELECT count(*) FROM posthog_dashboard), n, 'invalid templates left no dashboard');
    -- a valid template with a variables list
    j := ngx_dashboards_create_from_template_json(900001, 9001, '', '{"template": {"template_name": "", "dashboard_description": "",
        "dashboard_filters": {}, "tiles": [{"type": "INSIGHT", "filters": {"insight": "TRENDS"}}],
        "variables": [{"id": "V", "name": "n", "type": "event", "default": {}, "description": "", "required": true}]}}');
    PERFORM pg_temp.eq(j ->> 'name', '', 'empty template name');
    PERFORM pg_temp.eq((j -> 'tiles' -> 0 -> 'insight' -> 'filters')::text, '{"insight": "TRENDS", "filter_test_accounts": true}',
                       'legacy filters');
    PERFORM pg_temp.eq((j -> 'tiles' -> 0 -> 'layouts')::text, '{}', 'no layouts');
END $$;

-- create_unlisted_dashboard
DO $$
DECLARE
    j json;
    v int;
BEGIN
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{}')$q$, 'DB400', '{"error":"tag is required"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": null}')$q$, 'DB400', '{"error":"tag is required"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": ""}')$q$, 'DB400', '{"error":"tag is required"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": 0}')$q$, 'DB400', '{"error":"tag is required"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": "nope"}')$q$, 'DB400',
        '{"error":"Unknown template tag: nope"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": 5}')$q$, 'DB400',
        '{"error":"Unknown template tag: 5"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": true}')$q$, 'DB400',
        '{"error":"Unknown template tag: True"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": ["llm-analytics", "it''s"]}')$q$, 'DB400',
        '{"error":"Unknown template tag: [''llm-analytics'', \"it''s\"]"}');
    -- a general template is not an unlisted one
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": "marketing"}')$q$, 'DB400',
        '{"error":"Unknown template tag: marketing"}');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900004, 9001, '', '{"tag": "llm-analytics"}')$q$, 'DB403', NULL);

    j := ngx_dashboards_create_unlisted_dashboard(900002, 9001, '', '{"tag": "llm-analytics"}');
    v := (j ->> 'id')::int;
    PERFORM pg_temp.eq(j ->> 'name', 'LLM analytics', 'unlisted name');
    PERFORM pg_temp.eq(j ->> 'creation_mode', 'unlisted', 'unlisted mode');
    PERFORM pg_temp.eq((j -> 'filters')::text, '{"date_from": "-30d", "__template_version": 1}', 'unlisted filters');
    PERFORM pg_temp.eq((j -> 'tags')::text, '["llm-analytics"]', 'unlisted tags');
    PERFORM pg_temp.eq(json_array_length(j -> 'tiles'), 8, 'unlisted tiles');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' -> 'query' -> 'source' -> 'series' -> 0 ->> 'event', '$ai_generation',
                       'llm insight event');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' -> 'created_by' ->> 'id', '900002', 'unlisted insight creator');
    PERFORM pg_temp.eq(j ->> 'team_id', '9001', 'unlisted team');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": "llm-analytics"}')$q$, 'DB409',
        '{"error":"Unlisted dashboard with tag ''llm-analytics'' already exists"}');
    PERFORM pg_temp.check(NOT EXISTS (SELECT 1 FROM ngx_dashboards_list(900001, 9001, '', '{"search": "LLM analytics"}') l
                                       WHERE l.count > 0), 'unlisted not listed');
    j := ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": "mcp-analytics", "other": 1}');
    PERFORM pg_temp.eq(j ->> 'name', 'MCP analytics', 'mcp name');
    PERFORM pg_temp.eq(j -> 'tiles' -> 1 -> 'insight' -> 'query' -> 'source' -> 'series' -> 0 ->> 'event', '$mcp_tool_call',
                       'mcp insight event');
    -- a deleted one does not count
    PERFORM ngx_dashboards_update(900001, 9001, '', v, '{"deleted": true}', true);
    j := ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": "llm-analytics"}');
    PERFORM pg_temp.check((j ->> 'id')::int <> v, 'a new one after delete');
    -- an unlisted dashboard of the environment team does not block the project's team
    UPDATE posthog_dashboard SET team_id = 9002 WHERE id = (j ->> 'id')::int;
    PERFORM ngx_dashboards_create_unlisted_dashboard(900001, 9001, '', '{"tag": "llm-analytics"}');
END $$;

-- identity ------------------------------------------------------------------------------------------

DO $$
DECLARE
    j json;
BEGIN
    j := ngx_dashboards_me(900001);
    PERFORM pg_temp.eq(j ->> 'email', 'owner@selftest', 'me email');
    PERFORM pg_temp.eq(j -> 'team' ->> 'id', '9001', 'me team');
    PERFORM pg_temp.eq(j -> 'team' ->> 'api_token', 'phc_selftest_9001', 'me team token');
    PERFORM pg_temp.eq(j -> 'organization' ->> 'id', 'aaaaaaaa-0000-4000-8000-000000000001', 'me org');
    PERFORM pg_temp.eq(j -> 'organization' ->> 'membership_level', '15', 'me level');
    PERFORM pg_temp.eq(json_array_length(j -> 'organization' -> 'teams'), 2, 'me teams');
    PERFORM pg_temp.eq(j -> 'organization' -> 'projects' -> 0 ->> 'id', '9001', 'me projects');
    PERFORM pg_temp.eq(j -> 'organization' ->> 'member_count', '3', 'member_count (active users)');
    PERFORM pg_temp.eq(json_array_length(j -> 'organizations'), 1, 'me organizations');
    PERFORM pg_temp.check((j ->> 'date_joined') ~ 'Z$', 'date_joined');
    j := ngx_dashboards_me(900003);
    PERFORM pg_temp.eq(j -> 'team' ->> 'id', '9001', 'no current team: the organization''s first (User.team)');
    PERFORM pg_temp.eq(j -> 'organization' ->> 'name', 'Selftest A', 'org from membership');
    j := ngx_dashboards_me(900004);
    PERFORM pg_temp.eq(j -> 'team' ->> 'id', '9003', 'other team');
    PERFORM pg_temp.fails('SELECT ngx_dashboards_me(900005)', 'DB404', NULL);

    j := ngx_dashboards_key_current('selftest-key-1');
    PERFORM pg_temp.eq(pg_temp.keys(j), 'id,label,mask_value,created_at,last_used_at,user_id,scopes,scoped_teams,'
                                        'scoped_organizations,last_rolled_at', 'key keys');
    PERFORM pg_temp.eq((j -> 'scopes')::text, '["dashboard:read","dashboard:write"]', 'key scopes');
    PERFORM pg_temp.eq((j -> 'scoped_teams')::text, '[9001,9002]', 'key teams');
    PERFORM pg_temp.eq((ngx_dashboards_key_current('selftest-key-5') -> 'scoped_teams')::text, '[]', 'null teams');
    PERFORM pg_temp.fails($q$SELECT ngx_dashboards_key_current('nope')$q$, 'DB404', NULL);
    -- a legacy key without scopes shows ["*"]; @current of a user without a current team is the organization's first
    INSERT INTO posthog_personalapikey (id, user_id, label, secure_value, mask_value, created_at, scopes)
    VALUES ('selftest-key-3', 900003, 'k3', 'sha256$selftest3', 'phx_...est3', now(), '{}');
    PERFORM pg_temp.eq((ngx_dashboards_key_current('selftest-key-3') -> 'scopes')::text, '["*"]', 'legacy scopes');
    PERFORM pg_temp.eq((SELECT current_team_id FROM ngx_dashboards_auth('sha256$selftest3')), 9001, 'auth @current fallback');

    j := ngx_dashboards_project(900002, 9001, '');
    PERFORM pg_temp.eq(j ->> 'id', '9001', 'project id');
    PERFORM pg_temp.eq(j ->> 'organization', 'aaaaaaaa-0000-4000-8000-000000000001', 'project org');
    PERFORM pg_temp.eq(j ->> 'name', 'Selftest project A', 'project name');
    PERFORM pg_temp.eq(j ->> 'effective_membership_level', '1', 'project level');
    PERFORM pg_temp.eq(j ->> 'has_group_types', 'false', 'group types');
    -- ProjectViewSet: a project of another organization is simply not found
    PERFORM pg_temp.fails('SELECT ngx_dashboards_project(900004, 9001, '''')', 'DB404',
        '{"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}');
    PERFORM pg_temp.fails('SELECT ngx_dashboards_project(900001, 9002, '''')', 'DB404', NULL);
    PERFORM pg_temp.fails('SELECT ngx_dashboards_project(900001, 9001, ''bbbbbbbb-0000-4000-8000-000000000002'')', 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"API key does not have access to the requested organization: ID aaaaaaaa-0000-4000-8000-000000000001.","attr":null}');
    PERFORM pg_temp.fails('SELECT ngx_dashboards_project(900001, 424242, '''')', 'DB404', NULL);
END $$;

-- organizations that forbid personal API keys (with the security feature) refuse non-admins
UPDATE posthog_organization SET members_can_use_personal_api_keys = false,
       available_product_features = '[{"key": "organization_security_settings"}]'
 WHERE id = 'bbbbbbbb-0000-4000-8000-000000000002';
DO $$
BEGIN
    PERFORM pg_temp.fails('SELECT ngx_dashboards_access(900004, 9003, '''')', 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"Organization ''Selftest B'' does not allow using personal API keys. Contact an admin to enable personal API keys for this organization.","attr":null}');
END $$;

-- access control (ee_accesscontrol, roles) ----------------------------------------------------------

UPDATE posthog_organization SET available_product_features = '["access_control", "role_based_access"]'
 WHERE id = 'aaaaaaaa-0000-4000-8000-000000000001';
DO $$
DECLARE
    v_org uuid := 'aaaaaaaa-0000-4000-8000-000000000001';
    v_features jsonb := '["access_control", "role_based_access"]';
    m uuid := (SELECT id FROM posthog_organizationmembership WHERE user_id = 900002 AND organization_id = v_org);
    v int := pg_temp.get('growth');
    v_role uuid;
    c record;
    a record;
    j json;
    k jsonb;
BEGIN
    PERFORM pg_temp.eq(ngx_dashboards_acl_rank('manager'), 3, 'rank manager');
    PERFORM pg_temp.eq(ngx_dashboards_acl_rank('bogus'), 0, 'unknown level = none');
    PERFORM pg_temp.eq(ngx_dashboards_project_level(9001, m, 1, v_features, false, '{}'), 'admin',
                       'no project rules: project admin');
    PERFORM pg_temp.check(ngx_dashboards_project_level(9001, NULL, NULL, v_features, false, '{}') IS NULL,
                          'no membership: no access');
    -- no rule on the team: the context holds nothing to look up
    c := ngx_dashboards_ctx(900002, 9001, '');
    PERFORM pg_temp.eq(c.acl, '{"ac": false, "padmin": true}'::jsonb, 'no rule: member context');
    c := ngx_dashboards_ctx(900003, 9001, '');
    PERFORM pg_temp.check(c.acl IS NULL, 'no rule: admin context');

    -- a private project; a role lets the member in
    INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id) VALUES (9001, 'none', 'project', '9001');
    PERFORM pg_temp.check(ngx_dashboards_project_level(9001, m, 1, v_features, false, '{}') IS NULL, 'private');
    PERFORM pg_temp.eq(ngx_dashboards_project_level(9001, m, 8, v_features, false, '{}'), 'admin', 'org admin passes');
    PERFORM pg_temp.fails('SELECT ngx_dashboards_access(900002, 9001, '''')', 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You don''t have access to the project.","attr":null}');
    INSERT INTO ee_role (name, organization_id) VALUES ('Selftest role', v_org) RETURNING id INTO v_role;
    INSERT INTO ee_rolemembership (role_id, user_id, organization_member_id) VALUES (v_role, 900002, m);
    PERFORM pg_temp.eq(ngx_dashboards_roles(900002, v_org, v_features), ARRAY[v_role], 'roles');
    PERFORM pg_temp.eq(ngx_dashboards_roles(900002, v_org, '["access_control"]'), '{}'::uuid[],
                       'no roles without role_based_access');
    INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id, role_id)
    VALUES (9001, 'member', 'project', '9001', v_role);
    c := ngx_dashboards_ctx(900002, 9001, '');
    PERFORM pg_temp.eq(c.acl ->> 'padmin', 'false', 'member through the role');
    DELETE FROM ee_accesscontrol WHERE resource = 'project';

    -- a dashboard hidden from everyone but the admin
    INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id) VALUES (9001, 'none', 'dashboard', v::text);
    c := ngx_dashboards_ctx(900002, 9001, '');
    PERFORM pg_temp.eq(c.acl ->> 'dashboard', 'true', 'acl: dashboard rules');
    PERFORM pg_temp.eq(ngx_dashboards_rule_level(c.acl, 'dashboard', v), 'none', 'object default none');
    PERFORM pg_temp.eq(ngx_dashboards_rule_level(c.acl, 'dashboard', NULL), 'editor', 'resource: default');
    a := ngx_dashboards_list_acl(c.acl, c.level);
    PERFORM pg_temp.eq(a.blocked, ARRAY[v], 'list: blocked');
    PERFORM pg_temp.check(a.keep_only IS NULL, 'list: no keep_only');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_retrieve(900002, 9001, '''', %s, NULL, NULL)', v), 'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You do not have viewer access to this resource.","attr":null}');
    j := ngx_dashboards_retrieve(900003, 9001, '', v, NULL, NULL);
    PERFORM pg_temp.eq(j ->> 'user_access_level', 'manager', 'admin: manager');
    -- the role's grant on the object wins over the object's "everyone" row
    INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id, role_id)
    VALUES (9001, 'viewer', 'dashboard', v::text, v_role);
    j := ngx_dashboards_retrieve(900002, 9001, '', v, NULL, NULL);
    PERFORM pg_temp.eq(j ->> 'user_access_level', 'viewer', 'role grant: viewer');
    -- one lookup for the gate and the object; the level found is remembered
    PERFORM pg_temp.eq(to_jsonb(ngx_dashboards_rule_levels(c.acl, 'dashboard', v)),
                       '{"object_level": "viewer", "resource_level": "editor"}'::jsonb, 'levels');
    PERFORM pg_temp.eq((ngx_dashboards_rule_levels(c.acl || jsonb_build_object('roles',
                           jsonb_build_array(gen_random_uuid(), v_role)), 'dashboard', v)).object_level,
                       'viewer', 'the second of two roles');
    k := ngx_dashboards_gated(c.acl, c.level, 'viewer', v);
    PERFORM pg_temp.eq(k -> 'known', jsonb_build_object('dashboard', jsonb_build_object(v::text, 'viewer')),
                       'gated: level remembered');
    PERFORM pg_temp.eq(ngx_dashboards_object_level(k || jsonb_build_object('known', jsonb_build_object(
                           'dashboard', jsonb_build_object(v::text, 'editor'))), 'dashboard', v, NULL, 900002, 1),
                       'editor', 'a remembered level is not looked up again');
    PERFORM pg_temp.eq(ngx_dashboards_object_level(k, 'dashboard', v, 900002, 900002, 1), 'manager',
                       'remembered: the creator still manager');
    PERFORM pg_temp.eq(ngx_dashboards_checked_object(c.acl, 'dashboard', v, NULL, 900002, 1, 'viewer') -> 'known',
                       k -> 'known', 'checked: level remembered');
    PERFORM pg_temp.fails(format('SELECT ngx_dashboards_update(900002, 9001, '''', %s, ''{"name": "x"}'', true)', v),
        'DB403',
        '{"type":"authentication_error","code":"permission_denied","detail":"You do not have editor access to this resource.","attr":null}');

    DELETE FROM ee_accesscontrol WHERE team_id = 9001;
    DELETE FROM ee_rolemembership WHERE role_id = v_role;
    DELETE FROM ee_role WHERE id = v_role;
END $$;
UPDATE posthog_organization SET available_product_features = '["advanced_permissions"]'
 WHERE id = 'aaaaaaaa-0000-4000-8000-000000000001';

-- insight results (012_insight_results.sql) ---------------------------------------------------------
DO $$
BEGIN
    PERFORM pg_temp.eq(ngx_dashboards_refresh_mode(NULL), 'force_cache', 'refresh: none');
    PERFORM pg_temp.eq(ngx_dashboards_refresh_mode(''), 'force_blocking', 'refresh: empty');
    PERFORM pg_temp.eq(ngx_dashboards_refresh_mode('yes'), 'force_blocking', 'refresh: yes');
    PERFORM pg_temp.eq(ngx_dashboards_refresh_mode('0'), 'force_cache', 'refresh: 0');
    PERFORM pg_temp.eq(ngx_dashboards_refresh_mode('lazy_async'), 'lazy_async', 'refresh: lazy_async');
    PERFORM pg_temp.eq(ngx_dashboards_refresh_mode('soon'), 'force_cache', 'refresh: unknown');
    PERFORM pg_temp.eq(ngx_dashboards_format_number('2.000001'), '2.', 'format_number 2.');
    PERFORM pg_temp.eq(ngx_dashboards_format_number('8.0'), '8', 'format_number 8.0');
    PERFORM pg_temp.eq(ngx_dashboards_format_number('null'), 'N/A', 'format_number None');
    PERFORM pg_temp.eq(ngx_dashboards_trends_text('[]'), 'No data recorded for this time period.', 'text: empty');
    PERFORM pg_temp.eq(ngx_dashboards_insight_compute(9001, '{"kind": "FunnelsQuery"}', 'k')::text,
        '{"error" : "FunnelsQuery is not supported here."}', 'compute: other kind');
END $$;

\echo selftest: ok
