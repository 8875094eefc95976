-- migrate:repeatable
-- 099_version.sql: the version of the functions, and the schema's
-- housekeeping.  Runs last, after every function file (sql/migrate runs it
-- with search_path = ngx_dashboards, public).
--
-- The module compares ngx_dashboards.ngx_dashboards_version() with
-- NGX_HTTP_DASHBOARDS_SQL_VERSION (src/ngx_http_dashboards_module.h) once
-- per new connection and refuses to use a database whose functions are of
-- another version: change both together whenever C and SQL must change
-- together (doc/CONTRACT.md).

CREATE OR REPLACE FUNCTION ngx_dashboards_version()
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '2'
$$;

-- Earlier installs created the functions in public.  A function of public
-- that also has a name in ngx_dashboards is such an old copy (with the
-- same arguments, or with arguments since changed, which could make a call
-- ambiguous): dropped.  Any other function of public is left alone.
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
          FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace
           AND p.proname LIKE 'ngx\_dashboards\_%'
           AND EXISTS (SELECT 1 FROM pg_proc n
                        WHERE n.pronamespace = 'ngx_dashboards'::regnamespace
                          AND n.proname = p.proname)
    LOOP
        EXECUTE format('DROP FUNCTION public.%I(%s)', f.proname, f.args);
    END LOOP;
END $$;

-- The functions the module calls (src/ngx_http_dashboards_sql.c names them
-- with their schema) run with search_path = ngx_dashboards, public, whatever
-- the session's search_path is: behind a pooler that takes no startup
-- options (pgbouncer), with a role's own search_path.  The functions they
-- call inherit it; only these entry points pay for the setting, once per
-- statement.  CREATE OR REPLACE resets the setting: this file runs after
-- the function files on every sql/migrate.
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
          FROM pg_proc p
         WHERE p.pronamespace = 'ngx_dashboards'::regnamespace
           AND p.proname = ANY (ARRAY[
               'ngx_dashboards_auth',
               'ngx_dashboards_list',
               'ngx_dashboards_create',
               'ngx_dashboards_retrieve',
               'ngx_dashboards_update',
               'ngx_dashboards_access',
               'ngx_dashboards_me',
               'ngx_dashboards_key_current',
               'ngx_dashboards_project',
               'ngx_dashboards_create_text_tile',
               'ngx_dashboards_update_text_tile',
               'ngx_dashboards_delete_tile',
               'ngx_dashboards_copy_tile',
               'ngx_dashboards_move_tile',
               'ngx_dashboards_reorder_tiles',
               'ngx_dashboards_bulk_update_tags',
               'ngx_dashboards_create_from_template_json',
               'ngx_dashboards_create_unlisted_dashboard',
               'ngx_dashboards_check_edit',
               'ngx_dashboards_insight_plan',
               'ngx_dashboards_insight_compute',
               'ngx_dashboards_insight_store',
               'ngx_dashboards_run_insights'])
    LOOP
        EXECUTE format('ALTER FUNCTION ngx_dashboards.%I(%s) '
                       'SET search_path = ngx_dashboards, public',
                       f.proname, f.args);
    END LOOP;
END $$;

-- as the functions were in public before: anyone who may connect may call
-- them (what they read and write is still subject to the tables' grants)
GRANT USAGE ON SCHEMA ngx_dashboards TO PUBLIC;
