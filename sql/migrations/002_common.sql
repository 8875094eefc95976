-- migrate:repeatable
-- 002_common.sql: shared helpers of the ngx_dashboards_* functions:
-- errors, timestamps, JSON helpers, project context, authentication and
-- dashboard permissions.  Only CREATE OR REPLACE: sql/migrate re-applies this
-- file on every run (first line).  See doc/CONTRACT.md for the agreement with
-- the C module.

-- errors ------------------------------------------------------------------

-- The standard drf-exceptions-hog body, compact, keys in PostHog's order.
CREATE OR REPLACE FUNCTION ngx_dashboards_error_body(p_type text, p_code text, p_detail text, p_attr text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{"type":' || to_json(p_type)::text
        || ',"code":' || to_json(p_code)::text
        || ',"detail":' || to_json(p_detail)::text
        || ',"attr":' || coalesce(to_json(p_attr)::text, 'null') || '}'
$$;

-- Refuse the request: SQLSTATE 'DB' || status, MESSAGE = the JSON body.
CREATE OR REPLACE FUNCTION ngx_dashboards_fail(status int, type text, code text, detail text, attr text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'DB' || lpad(status::text, 3, '0'),
        MESSAGE = ngx_dashboards_error_body(type, code, detail, attr);
END $$;

-- Refuse the request with an arbitrary body ({"detail": ..}, {"error": ..}).
CREATE OR REPLACE FUNCTION ngx_dashboards_fail_body(status int, body json)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'DB' || lpad(status::text, 3, '0'),
        MESSAGE = body::text;
END $$;

-- Refuse with a one-key body such as {"error":"tag is required"} (compact,
-- like the standard bodies).
CREATE OR REPLACE FUNCTION ngx_dashboards_fail_key(p_status int, p_key text, p_message text)
RETURNS void LANGUAGE sql AS $$
    SELECT ngx_dashboards_fail_body(p_status, ('{' || to_json(p_key)::text || ':' || to_json(p_message)::text || '}')::json)
$$;

-- shortcuts for the common bodies
CREATE OR REPLACE FUNCTION ngx_dashboards_not_found()
RETURNS void LANGUAGE sql AS $$
    SELECT ngx_dashboards_fail(404, 'invalid_request', 'not_found', 'Not found.', NULL)
$$;

CREATE OR REPLACE FUNCTION ngx_dashboards_validation(p_detail text, p_attr text, p_code text DEFAULT 'invalid_input')
RETURNS void LANGUAGE sql AS $$
    SELECT ngx_dashboards_fail(400, 'validation_error', p_code, p_detail, p_attr)
$$;

CREATE OR REPLACE FUNCTION ngx_dashboards_denied(p_detail text)
RETURNS void LANGUAGE sql AS $$
    SELECT ngx_dashboards_fail(403, 'authentication_error', 'permission_denied', p_detail, NULL)
$$;

-- values -------------------------------------------------------------------

-- ISO 8601 in UTC with Z, as PostHog's serializers write a datetime (DRF's
-- DateTimeField: datetime.isoformat() with +00:00 as Z, PostHog sets no
-- DATETIME_FORMAT): microseconds as 6 digits, left out when they are zero
-- ("2024-03-04T05:06:07Z"); NULL stays NULL.
CREATE OR REPLACE FUNCTION ngx_dashboards_ts(timestamptz)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT replace(to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z')
$$;

-- Python truthiness of a JSON value (null, false, 0, "", [], {} are false;
-- a missing key, i.e. SQL NULL, too).
CREATE OR REPLACE FUNCTION ngx_dashboards_truthy(jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof($1)
        WHEN 'object'  THEN $1 <> '{}'::jsonb
        WHEN 'array'   THEN jsonb_array_length($1) > 0
        WHEN 'string'  THEN $1 <> '""'::jsonb
        WHEN 'number'  THEN ($1 #>> '{}')::numeric <> 0
        WHEN 'boolean' THEN $1 = 'true'::jsonb
        ELSE false END
$$;

-- A JSON value read as a DRF-lenient boolean (C normally sends true/false
-- already).  JSON null gives NULL; anything else unreadable raises 400.
CREATE OR REPLACE FUNCTION ngx_dashboards_jbool(p_value jsonb, p_attr text)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE jsonb_typeof(p_value)
    WHEN 'boolean' THEN RETURN p_value = 'true'::jsonb;
    WHEN 'null' THEN RETURN NULL;
    WHEN 'number' THEN
        IF (p_value #>> '{}')::numeric = 1 THEN RETURN true; END IF;
        IF (p_value #>> '{}')::numeric = 0 THEN RETURN false; END IF;
    WHEN 'string' THEN
        IF lower(p_value #>> '{}') IN ('true', 't', 'yes', 'y', 'on', '1') THEN RETURN true; END IF;
        IF lower(p_value #>> '{}') IN ('false', 'f', 'no', 'n', 'off', '0') THEN RETURN false; END IF;
    ELSE
        IF p_value IS NULL THEN RETURN NULL; END IF;
    END CASE;
    PERFORM ngx_dashboards_validation('Must be a valid boolean.', p_attr);
    RETURN NULL;
END $$;

-- A JSON value read as a DRF string (numbers become strings); NULL for
-- JSON null; 400 for other types or when longer than p_max.
CREATE OR REPLACE FUNCTION ngx_dashboards_jstr(p_value jsonb, p_attr text, p_max int DEFAULT NULL,
                                               p_max_message text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text;
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_value) NOT IN ('string', 'number') THEN
        PERFORM ngx_dashboards_validation('Not a valid string.', p_attr);
    END IF;
    v := p_value #>> '{}';
    IF p_max IS NOT NULL AND char_length(v) > p_max THEN
        PERFORM ngx_dashboards_validation(
            coalesce(p_max_message, format('Ensure this field has no more than %s characters.', p_max)),
            p_attr, 'max_length');
    END IF;
    RETURN v;
END $$;

-- Key p_key of p_obj read as a required DRF CharField that may be neither
-- null nor blank: 400 'required', 'null', as jstr, then 'blank'.
CREATE OR REPLACE FUNCTION ngx_dashboards_jstr_required(p_obj jsonb, p_key text, p_attr text, p_max int,
                                                        p_max_message text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text;
BEGIN
    IF NOT p_obj ? p_key THEN
        PERFORM ngx_dashboards_validation('This field is required.', p_attr, 'required');
    END IF;
    IF jsonb_typeof(p_obj -> p_key) = 'null' THEN
        PERFORM ngx_dashboards_validation('This field may not be null.', p_attr, 'null');
    END IF;
    v := ngx_dashboards_jstr(p_obj -> p_key, p_attr, p_max, p_max_message);
    IF v = '' THEN
        PERFORM ngx_dashboards_validation('This field may not be blank.', p_attr, 'blank');
    END IF;
    RETURN v;
END $$;

-- A JSON value read as a DRF datetime.  Naive values are taken as UTC (the
-- session time zone plays no part).  400 when the format is wrong.
CREATE OR REPLACE FUNCTION ngx_dashboards_jtimestamp(p_value jsonb, p_attr text)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text;
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        RETURN NULL;
    END IF;
    v := p_value #>> '{}';
    IF jsonb_typeof(p_value) = 'string'
       AND v ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?$' THEN
        BEGIN
            IF v ~ '(Z|z|[+-]\d{2}(:?\d{2})?)$' AND v ~ '[T ]' THEN
                RETURN v::timestamptz;
            END IF;
            RETURN v::timestamp AT TIME ZONE 'UTC';
        EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR data_exception THEN
            NULL;
        END;
    END IF;
    PERFORM ngx_dashboards_validation(
        'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
        p_attr);
    RETURN NULL;
END $$;

-- Python's str() of a JSON value (for messages that format a request value).
CREATE OR REPLACE FUNCTION ngx_dashboards_pystr(p_value jsonb, p_nested boolean DEFAULT false)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(p_value)
        WHEN 'string' THEN CASE WHEN NOT p_nested THEN p_value #>> '{}'
                                WHEN strpos(p_value #>> '{}', '''') > 0 AND strpos(p_value #>> '{}', '"') = 0
                                THEN '"' || replace(p_value #>> '{}', '\', '\\') || '"'
                                ELSE '''' || replace(replace(p_value #>> '{}', '\', '\\'), '''', '\''') || '''' END
        WHEN 'boolean' THEN CASE WHEN p_value = 'true'::jsonb THEN 'True' ELSE 'False' END
        WHEN 'null' THEN 'None'
        WHEN 'array' THEN '[' || coalesce((SELECT string_agg(ngx_dashboards_pystr(e, true), ', ' ORDER BY n)
                                             FROM jsonb_array_elements(p_value) WITH ORDINALITY a(e, n)), '') || ']'
        WHEN 'object' THEN '{' || coalesce((SELECT string_agg(ngx_dashboards_pystr(to_jsonb(k), true) || ': '
                                                              || ngx_dashboards_pystr(v, true), ', ')
                                              FROM jsonb_each(p_value) e(k, v)), '') || '}'
        ELSE p_value::text END
$$;

-- Python's type name of a JSON value, for DRF messages.
CREATE OR REPLACE FUNCTION ngx_dashboards_pytype(p_value jsonb)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(p_value)
        WHEN 'object' THEN 'dict' WHEN 'array' THEN 'list' WHEN 'string' THEN 'str' WHEN 'boolean' THEN 'bool'
        WHEN 'number' THEN CASE WHEN (p_value #>> '{}') ~ '^-?\d+$' THEN 'int' ELSE 'float' END
        ELSE 'NoneType' END
$$;

-- tagify(): Python's str.strip().lower()
CREATE OR REPLACE FUNCTION ngx_dashboards_tagify(text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(btrim($1, E' \t\n\r\f\v'))
$$;

-- 8 random alphanumerics, as Insight.short_id
CREATE OR REPLACE FUNCTION ngx_dashboards_short_id()
RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT string_agg(substr('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
                             1 + floor(random() * 62)::int, 1), '')
      FROM generate_series(1, 8)
$$;

-- users --------------------------------------------------------------------

-- PostHog's UserBasicSerializer of a posthog_user row; NULL for a NULL row
-- (e.g. the null side of a LEFT JOIN).  Simple enough to be inlined.
CREATE OR REPLACE FUNCTION ngx_dashboards_user_json(u posthog_user)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN (u).id IS NULL THEN NULL ELSE json_build_object(
        'id', (u).id,
        'uuid', (u).uuid,
        'distinct_id', (u).distinct_id,
        'first_name', (u).first_name,
        'last_name', (u).last_name,
        'email', (u).email,
        'is_email_verified', (u).is_email_verified,
        'hedgehog_config', (u).hedgehog_config,
        'role_at_organization', (u).role_at_organization) END
$$;

-- (ngx_dashboards_user_basic(id) had no caller)
DROP FUNCTION IF EXISTS ngx_dashboards_user_basic(int);

-- organizations --------------------------------------------------------------

-- available_product_features holds [{"key": ..}] (PostHog) or ["key"]: both count.
-- PL/pgSQL over the elements: every expression is a plain one (as SQL, its
-- EXISTS subquery kept it from being inlined, and its body was parsed and
-- planned again in every statement that called it).
CREATE OR REPLACE FUNCTION ngx_dashboards_has_feature(p_features jsonb, p_keys text[])
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    e jsonb;
BEGIN
    IF jsonb_typeof(p_features) IS DISTINCT FROM 'array' THEN
        RETURN false;
    END IF;
    FOR i IN 0 .. jsonb_array_length(p_features) - 1 LOOP
        e := p_features -> i;
        IF (CASE jsonb_typeof(e)
                WHEN 'object' THEN e ->> 'key'
                WHEN 'string' THEN e #>> '{}'
            END) = ANY (p_keys) THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;

CREATE OR REPLACE FUNCTION ngx_dashboards_has_advanced_permissions(p_features jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ngx_dashboards_has_feature(p_features,
        ARRAY['advanced_permissions', 'access_control', 'dashboard_permissioning'])
$$;

-- access control ---------------------------------------------------------------
--
-- PostHog's role-based rules (ee_accesscontrol, created by
-- 009_access_control.sql), resolved as PostHog's UserAccessControl does by
-- default (posthog/rbac/user_access_control.py): a member or role rule on
-- the object, then the rules on the whole resource, then the object's
-- "everyone" row, then the default.  The functions that read the rule
-- tables are PL/pgSQL (this file is applied before 009 on a new database).
--
-- The request's access context, "acl" (a jsonb built once by
-- ngx_dashboards_ctx and passed down).  When no rule applies (no
-- access_control, or no rule on the team, or an organization admin): NULL,
-- or {"ac": false, "padmin": ..} when the project level is not the
-- organization's (with access_control and no rule every member is a project
-- admin).  Otherwise:
--   ac        true: the organization has access_control (rules count)
--   team      the URL's team, which the rules belong to
--   member    the user's posthog_organizationmembership id
--   roles     the user's roles in the organization (only with role_based_access)
--   padmin    the user's project level is "admin" (v1 can_restrict)
--   ms        uses_most_specific_access_resolution
--   dashboard, insight   the team has rules on that resource (else no lookup)
--   known     levels the rules gave on objects already checked in this request
--             ({"dashboard": {"<id>": level}}, ngx_dashboards_gated and
--             ngx_dashboards_checked_object), read instead of the rows

-- Position of a level in its resource's order (project: none < member <
-- admin; dashboard, insight: none < viewer < editor < manager).  Unknown
-- strings count as none.
CREATE OR REPLACE FUNCTION ngx_dashboards_acl_rank(p_level text)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_level WHEN 'viewer' THEN 1 WHEN 'member' THEN 1 WHEN 'editor' THEN 2
                        WHEN 'admin' THEN 2 WHEN 'manager' THEN 3 ELSE 0 END
$$;

-- The user's roles in an organization (ee_rolemembership by user_id, as
-- PostHog's resolver), empty without the role_based_access feature.
CREATE OR REPLACE FUNCTION ngx_dashboards_roles(p_user_id int, p_org_id uuid, p_features jsonb)
RETURNS uuid[] LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT ngx_dashboards_has_feature(p_features, ARRAY['role_based_access']) THEN
        RETURN '{}';
    END IF;
    RETURN ARRAY(SELECT rm.role_id FROM ee_rolemembership rm JOIN ee_role r ON r.id = rm.role_id
                  WHERE rm.user_id = p_user_id AND r.organization_id = p_org_id);
END $$;

-- The project level of an organization member (PostHog's
-- UserTeamPermissions.effective_membership_level and the resolver on the
-- Team): 'admin', 'member', or NULL for no access.  Organization admins are
-- never blocked.  With access_control: member and role rules on the
-- project decide (highest wins, an explicit 'none' denies), else the
-- "everyone" rows, else every member is a project admin.  The older private
-- projects (posthog_team.access_control with ee_explicitteammembership,
-- under project_based_permissioning) count as an "everyone" row 'none' plus
-- a member row per explicit membership, as PostHog's rbac_team_migrations
-- converts them; without access_control they allow only their explicit
-- members.
CREATE OR REPLACE FUNCTION ngx_dashboards_project_level(p_team_id int, p_member_id uuid, p_member_level int,
                                                        p_features jsonb, p_private boolean, p_roles uuid[],
                                                        p_most_specific boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_legacy boolean := coalesce(p_private, false)
                        AND ngx_dashboards_has_feature(p_features, ARRAY['project_based_permissioning']);
    v_explicit int;
    v_member int;
    v_role int;
    v_default int;
BEGIN
    IF p_member_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_member_level >= 8 THEN
        RETURN 'admin';
    END IF;
    IF v_legacy THEN
        SELECT e.level INTO v_explicit FROM ee_explicitteammembership e
         WHERE e.team_id = p_team_id AND e.parent_membership_id = p_member_id;
    END IF;
    IF NOT ngx_dashboards_has_feature(p_features, ARRAY['access_control']) THEN
        IF v_legacy THEN
            RETURN CASE WHEN v_explicit IS NULL THEN NULL
                        WHEN v_explicit >= 8 THEN 'admin' ELSE 'member' END;
        END IF;
        RETURN 'member';
    END IF;

    SELECT max(ngx_dashboards_acl_rank(a.access_level)) FILTER (WHERE a.organization_member_id = p_member_id),
           max(ngx_dashboards_acl_rank(a.access_level)) FILTER (WHERE a.role_id IS NOT NULL),
           max(ngx_dashboards_acl_rank(a.access_level)) FILTER (WHERE a.organization_member_id IS NULL
                                                                  AND a.role_id IS NULL)
      INTO v_member, v_role, v_default
      FROM ee_accesscontrol a
     WHERE a.team_id = p_team_id AND a.resource = 'project' AND a.resource_id = p_team_id::text
       AND ((a.organization_member_id IS NULL AND a.role_id IS NULL)
            OR (a.role_id IS NULL AND a.organization_member_id = p_member_id)
            OR (a.organization_member_id IS NULL AND a.role_id = ANY (p_roles)));
    IF v_legacy THEN
        v_default := greatest(v_default, 0);
        v_member := greatest(v_member, CASE WHEN v_explicit >= 8 THEN 2 WHEN v_explicit IS NOT NULL THEN 1 END);
    END IF;

    RETURN CASE coalesce(CASE WHEN p_most_specific THEN coalesce(v_member, v_role)
                              ELSE greatest(v_member, v_role) END, v_default, 2)
           WHEN 2 THEN 'admin' WHEN 1 THEN 'member' END;
END $$;

-- The levels the rules give a user on an object of a resource ('dashboard',
-- 'insight'), after the creator / organization admin / feature checks
-- (ngx_dashboards_object_level): rules on the object, on the resource, the
-- object's "everyone" rows, else 'editor' (object_level); and from the same
-- rows the level on the resource as a whole (resource_level, PostHog's
-- access_level_for_resource), which is also object_level when p_object_id is
-- NULL.
CREATE OR REPLACE FUNCTION ngx_dashboards_rule_levels(p_acl jsonb, p_resource text, p_object_id int,
                                                      OUT resource_level text, OUT object_level text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_member uuid := (p_acl ->> 'member')::uuid;
    -- ["<uuid>", ..] as an array literal: a plain expression, no query
    v_roles uuid[] := translate((p_acl -> 'roles')::text, '[]', '{}')::uuid[];
    v_id text := p_object_id::text;
    v_team int := (p_acl ->> 'team')::int;
    o_member int; o_role int; o_default int;
    r_member int; r_role int; r_default int;
    v_rank int;
    v_all int;
BEGIN
    SELECT max(x.rank) FILTER (WHERE x.obj AND x.organization_member_id IS NOT NULL),
           max(x.rank) FILTER (WHERE x.obj AND x.role_id IS NOT NULL),
           max(x.rank) FILTER (WHERE x.obj AND x.organization_member_id IS NULL AND x.role_id IS NULL),
           max(x.rank) FILTER (WHERE NOT x.obj AND x.organization_member_id IS NOT NULL),
           max(x.rank) FILTER (WHERE NOT x.obj AND x.role_id IS NOT NULL),
           max(x.rank) FILTER (WHERE NOT x.obj AND x.organization_member_id IS NULL AND x.role_id IS NULL)
      INTO o_member, o_role, o_default, r_member, r_role, r_default
      FROM (SELECT true AS obj, a.organization_member_id, a.role_id,
                   ngx_dashboards_acl_rank(a.access_level) AS rank
              FROM ee_accesscontrol a
             WHERE a.team_id = v_team AND a.resource = p_resource AND a.resource_id = v_id
               AND ((a.organization_member_id IS NULL AND a.role_id IS NULL)
                    OR (a.role_id IS NULL AND a.organization_member_id = v_member)
                    OR (a.organization_member_id IS NULL AND a.role_id = ANY (v_roles)))
            -- the rows on the whole resource: a second index lookup (one
            -- "resource_id IS NULL OR = $n" made a BitmapOr of both)
            UNION ALL
            SELECT false, a.organization_member_id, a.role_id, ngx_dashboards_acl_rank(a.access_level)
              FROM ee_accesscontrol a
             WHERE a.team_id = v_team AND a.resource = p_resource AND a.resource_id IS NULL
               AND ((a.organization_member_id IS NULL AND a.role_id IS NULL)
                    OR (a.role_id IS NULL AND a.organization_member_id = v_member)
                    OR (a.organization_member_id IS NULL AND a.role_id = ANY (v_roles)))) x;
    IF coalesce((p_acl ->> 'ms')::boolean, false) THEN
        -- most specific first: member, role, everyone; the object before the resource
        v_rank := coalesce(o_member, o_role, o_default, r_member, r_role, r_default, 2);
        v_all := coalesce(r_member, r_role, r_default, 2);
    ELSE
        v_rank := coalesce(greatest(o_member, o_role), greatest(r_member, r_role, r_default), o_default, 2);
        v_all := coalesce(greatest(r_member, r_role, r_default), 2);
    END IF;
    object_level := (ARRAY['none', 'viewer', 'editor', 'manager'])[v_rank + 1];
    resource_level := (ARRAY['none', 'viewer', 'editor', 'manager'])[v_all + 1];
END $$;

-- The level on the object alone.  Inlined.
CREATE OR REPLACE FUNCTION ngx_dashboards_rule_level(p_acl jsonb, p_resource text, p_object_id int)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT (ngx_dashboards_rule_levels(p_acl, p_resource, p_object_id)).object_level
$$;

-- The effective level of a user on a dashboard or insight
-- (get_user_access_level): 'manager' for its creator and organization
-- admins, 'editor' without rules, else what the rules give, or what
-- ngx_dashboards_checked_object found for that object in this request
-- (p_acl -> 'known').  Inlined.
CREATE OR REPLACE FUNCTION ngx_dashboards_object_level(p_acl jsonb, p_resource text, p_object_id int,
                                                       p_created_by_id int, p_user_id int, p_level int)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN coalesce(p_created_by_id = p_user_id, false) OR coalesce(p_level, 0) >= 8 THEN 'manager'
                WHEN NOT coalesce((p_acl ->> 'ac')::boolean AND (p_acl ->> p_resource)::boolean, false)
                THEN 'editor'
                ELSE coalesce(p_acl #>> ARRAY['known', p_resource, p_object_id::text],
                              ngx_dashboards_rule_level(p_acl, p_resource, p_object_id)) END
$$;

-- PostHog's AccessControlPermission.has_permission for dashboards, before
-- any object is loaded: the level on all dashboards must reach p_required
-- ('viewer' to read, 'editor' to write); otherwise a create is refused, and
-- anything else passes only with a member or role rule of that level on
-- some dashboard.  403 "You do not have <level> access to this resource."
CREATE OR REPLACE FUNCTION ngx_dashboards_gate(p_acl jsonb, p_level int, p_required text,
                                               p_create boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF coalesce(p_level, 0) < 8
       AND coalesce((p_acl ->> 'ac')::boolean AND (p_acl ->> 'dashboard')::boolean, false) THEN
        PERFORM ngx_dashboards_gated(p_acl, p_level, p_required, NULL, p_create);
    END IF;
END $$;

-- The same gate for a request on one dashboard (p_object_id): the rules on
-- it are read in the same lookup as those on all dashboards, and the level
-- they give is remembered in the answer (known.dashboard.<id>, as
-- ngx_dashboards_checked_object does) for the object check after loading.
CREATE OR REPLACE FUNCTION ngx_dashboards_gated(p_acl jsonb, p_level int, p_required text, p_object_id int,
                                                p_create boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    v record;
BEGIN
    IF coalesce(p_level, 0) >= 8
       OR NOT coalesce((p_acl ->> 'ac')::boolean AND (p_acl ->> 'dashboard')::boolean, false) THEN
        RETURN p_acl;
    END IF;
    v := ngx_dashboards_rule_levels(p_acl, 'dashboard', p_object_id);
    IF p_object_id IS NOT NULL THEN
        p_acl := p_acl || jsonb_build_object('known', jsonb_build_object('dashboard',
                                                jsonb_build_object(p_object_id::text, v.object_level)));
    END IF;
    IF ngx_dashboards_acl_rank(v.resource_level) >= ngx_dashboards_acl_rank(p_required) THEN
        RETURN p_acl;
    END IF;
    IF p_create THEN
        PERFORM ngx_dashboards_denied('You do not have editor access to this resource.');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ee_accesscontrol a
                    WHERE a.team_id = (p_acl ->> 'team')::int AND a.resource = 'dashboard'
                      AND a.resource_id IS NOT NULL
                      AND ngx_dashboards_acl_rank(a.access_level) >= ngx_dashboards_acl_rank(p_required)
                      AND ((a.role_id IS NULL AND a.organization_member_id = (p_acl ->> 'member')::uuid)
                           OR (a.organization_member_id IS NULL
                               AND a.role_id::text IN (SELECT jsonb_array_elements_text(p_acl -> 'roles'))))) THEN
        PERFORM ngx_dashboards_denied(format('You do not have %s access to this resource.', p_required));
    END IF;
    RETURN p_acl;
END $$;

-- The object check after loading (has_object_permission): 403 unless the
-- user's level on it reaches p_required.  Answers p_acl with that level
-- remembered (known.<resource>.<id>, read by ngx_dashboards_object_level),
-- so that the answer built after the check does not look the rules up again.
CREATE OR REPLACE FUNCTION ngx_dashboards_checked_object(p_acl jsonb, p_resource text, p_object_id int,
                                                         p_created_by_id int, p_user_id int, p_level int,
                                                         p_required text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_level text := ngx_dashboards_object_level(p_acl, p_resource, p_object_id, p_created_by_id,
                                                p_user_id, p_level);
BEGIN
    IF ngx_dashboards_acl_rank(v_level) < ngx_dashboards_acl_rank(p_required) THEN
        PERFORM ngx_dashboards_denied(format('You do not have %s access to this resource.', p_required));
    END IF;
    IF p_acl IS NULL OR p_object_id IS NULL THEN
        RETURN p_acl;
    END IF;
    RETURN p_acl || jsonb_build_object('known', jsonb_build_object(p_resource,
                                                                   jsonb_build_object(p_object_id::text, v_level)));
END $$;

-- The same check alone.
CREATE OR REPLACE FUNCTION ngx_dashboards_check_object(p_acl jsonb, p_resource text, p_object_id int,
                                                       p_created_by_id int, p_user_id int, p_level int,
                                                       p_required text)
RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM ngx_dashboards_checked_object(p_acl, p_resource, p_object_id, p_created_by_id, p_user_id, p_level,
                                          p_required);
END $$;

-- The list filter (filter_queryset_by_access_level): from the object rows
-- alone, as PostHog does, the dashboards a member or role rule allows and
-- those the rules block.  keep_only: when the level on all dashboards is 'none',
-- the dashboards that stay (besides the user's own), else NULL; blocked:
-- the dashboards to drop (besides the user's own), NULL when none.
CREATE OR REPLACE FUNCTION ngx_dashboards_list_acl(p_acl jsonb, p_level int, OUT keep_only int[], OUT blocked int[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_allowed int[];
BEGIN
    IF coalesce(p_level, 0) >= 8
       OR NOT coalesce((p_acl ->> 'ac')::boolean AND (p_acl ->> 'dashboard')::boolean, false) THEN
        RETURN;
    END IF;
    SELECT coalesce(array_agg(g.id) FILTER (WHERE g.explicit AND g.any_grant), '{}'),
           array_agg(g.id) FILTER (WHERE (g.explicit AND NOT g.any_grant) OR (NOT g.explicit AND g.all_none))
      INTO v_allowed, blocked
      FROM (SELECT a.resource_id::int AS id,
                   bool_or(a.organization_member_id IS NOT NULL OR a.role_id IS NOT NULL) AS explicit,
                   coalesce(bool_or(ngx_dashboards_acl_rank(a.access_level) > 0)
                            FILTER (WHERE a.organization_member_id IS NOT NULL OR a.role_id IS NOT NULL),
                            false) AS any_grant,
                   coalesce(bool_and(ngx_dashboards_acl_rank(a.access_level) = 0)
                            FILTER (WHERE a.organization_member_id IS NULL AND a.role_id IS NULL),
                            false) AS all_none
              FROM ee_accesscontrol a
             WHERE a.team_id = (p_acl ->> 'team')::int AND a.resource = 'dashboard'
               AND a.resource_id ~ '^[0-9]{1,9}$'
               AND ((a.organization_member_id IS NULL AND a.role_id IS NULL)
                    OR (a.role_id IS NULL AND a.organization_member_id = (p_acl ->> 'member')::uuid)
                    OR (a.organization_member_id IS NULL
                        AND a.role_id::text IN (SELECT jsonb_array_elements_text(p_acl -> 'roles'))))
             GROUP BY 1) g;
    IF ngx_dashboards_rule_level(p_acl, 'dashboard', NULL) = 'none' THEN
        keep_only := v_allowed;
        blocked := NULL;
    END IF;
END $$;

-- project context --------------------------------------------------------------

-- Resolves the team of a project route (posthog_team.id = project id, as
-- PostHog's TeamAndOrgViewSetMixin) and
-- checks, in this order: team exists (404), key's scoped organizations (403),
-- organization membership (403), and the organization's personal-API-key
-- setting (403, only with the organization_security_settings feature).
-- Then the project's access rules (ngx_dashboards_project_level, 403).
-- One statement reads all of it, and with access_control a few index
-- lookups the rules (acl: the access context, see "access control").
-- Callers may assign it,
--   c := ngx_dashboards_ctx(..)
-- (a plain expression for PL/pgSQL, cheaper than SELECT * INTO c FROM ..).
DO $$
BEGIN
    -- the result gained acl: CREATE OR REPLACE cannot change it
    IF to_regprocedure('ngx_dashboards_ctx(int, int, text)') IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_proc
                        WHERE oid = to_regprocedure('ngx_dashboards_ctx(int, int, text)')
                          AND 'acl' = ANY (proargnames)) THEN
        DROP FUNCTION ngx_dashboards_ctx(int, int, text);
    END IF;
END $$;
CREATE OR REPLACE FUNCTION ngx_dashboards_ctx(
    p_user_id int, p_project_id int, p_scoped_orgs text,
    OUT team_id int, OUT project_id bigint, OUT organization_id uuid,
    OUT level int, OUT adv boolean, OUT timezone text, OUT acl jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_features jsonb;
    v_keys_allowed boolean;
    v_org_name text;
    v_member boolean;
    v_member_id uuid;
    v_private boolean;
    v_ms boolean;
    v_ac boolean;
    v_roles uuid[];
    v_rules boolean;
    v_project text;
BEGIN
    SELECT t.id, t.project_id, t.organization_id, t.timezone,
           o.available_product_features, o.members_can_use_personal_api_keys, o.name,
           ngx_dashboards_has_advanced_permissions(o.available_product_features),
           m.level, m.user_id IS NOT NULL, m.id, t.access_control,
           coalesce(o.uses_most_specific_access_resolution, false),
           -- NULL: no access_control (as ngx_dashboards_has_feature, both
           -- forms of the list); true: rules on the team for a member below
           -- organization admin (one index lookup, in this statement)
           CASE WHEN o.available_product_features @> '[{"key": "access_control"}]'
                     OR o.available_product_features @> '["access_control"]'
                THEN coalesce(m.level, 0) < 8
                     AND EXISTS (SELECT 1 FROM ee_accesscontrol a WHERE a.team_id = t.id) END
      INTO team_id, project_id, organization_id, timezone, v_features, v_keys_allowed, v_org_name,
           adv, level, v_member, v_member_id, v_private, v_ms, v_rules
      FROM posthog_team t
      JOIN posthog_organization o ON o.id = t.organization_id
      LEFT JOIN posthog_organizationmembership m ON m.organization_id = t.organization_id
                                                AND m.user_id = p_user_id
     WHERE t.id = p_project_id;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_fail(404, 'invalid_request', 'not_found', 'Project not found.', NULL);
    END IF;

    IF coalesce(p_scoped_orgs, '') <> ''
       AND NOT (organization_id::text = ANY (string_to_array(p_scoped_orgs, ','))) THEN
        PERFORM ngx_dashboards_denied(format(
            'API key does not have access to the requested organization: ID %s.', organization_id));
    END IF;

    IF NOT v_member THEN
        PERFORM ngx_dashboards_denied('You don''t have access to the project.');
    END IF;

    IF NOT v_keys_allowed AND level < 8 THEN
        IF ngx_dashboards_has_feature(v_features, ARRAY['organization_security_settings']) THEN
            PERFORM ngx_dashboards_denied(format(
                'Organization ''%s'' does not allow using personal API keys. '
                'Contact an admin to enable personal API keys for this organization.', v_org_name));
        END IF;
    END IF;

    -- the project gate (PostHog's AccessControlPermission on the team).  A
    -- project without rules and not private needs nothing more: with
    -- access_control every member is a project admin, without it the
    -- organization level decides (what ngx_dashboards_project_level says)
    IF NOT v_private AND NOT coalesce(v_rules, false) THEN
        IF v_rules IS NOT NULL AND level < 8 THEN
            acl := '{"ac": false, "padmin": true}';
        END IF;
        RETURN;
    END IF;
    v_ac := v_rules IS NOT NULL;
    v_rules := coalesce(v_rules, false);
    IF v_rules THEN
        v_roles := ngx_dashboards_roles(p_user_id, organization_id, v_features);
    END IF;
    IF v_ac AND NOT v_rules AND NOT v_private THEN
        v_project := 'admin';
    ELSE
        v_project := ngx_dashboards_project_level(team_id, v_member_id, level, v_features, v_private,
                                                  v_roles, v_ms);
    END IF;
    IF v_project IS NULL THEN
        PERFORM ngx_dashboards_denied('You don''t have access to the project.');
    END IF;

    -- without rules on the team the context says only what a project admin
    -- may do (the object checks ask for no rule then)
    IF v_rules THEN
        acl := jsonb_build_object(
            'ac', true, 'team', team_id, 'member', v_member_id, 'roles', to_jsonb(coalesce(v_roles, '{}')),
            'padmin', v_project = 'admin', 'ms', v_ms,
            'dashboard', v_rules AND EXISTS (SELECT 1 FROM ee_accesscontrol a
                                                WHERE a.team_id = ngx_dashboards_ctx.team_id AND a.resource = 'dashboard'),
            'insight', v_rules AND EXISTS (SELECT 1 FROM ee_accesscontrol a
                                              WHERE a.team_id = ngx_dashboards_ctx.team_id AND a.resource = 'insight'));
    ELSIF (v_project = 'admin') <> (level >= 8) THEN
        acl := jsonb_build_object('ac', false, 'padmin', v_project = 'admin');
    END IF;
END $$;

-- DELETE: the same checks and the access rules' gate for a write on
-- dashboards (DRF checks permissions before it answers 405), nothing else
-- (C then answers 405).
CREATE OR REPLACE FUNCTION ngx_dashboards_access(p_user_id int, p_project_id int, p_scoped_orgs text)
RETURNS void LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
BEGIN
    c := ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    PERFORM ngx_dashboards_gate(c.acl, c.level, 'editor');
END $$;

-- authentication ---------------------------------------------------------------

-- Personal API key by its stored form (sha256$<hex>).  No row = invalid key
-- (or inactive user).  last_used_at is refreshed when NULL or older than an
-- hour; on a read-only server (hot standby) that write is skipped.
CREATE OR REPLACE FUNCTION ngx_dashboards_auth(p_secure_value text)
RETURNS TABLE(user_id int, scopes text, scoped_teams text, scoped_orgs text,
              current_team_id int, key_id text)
LANGUAGE plpgsql AS $$
DECLARE
    k record;
BEGIN
    -- "@current" is the project of the user's current team; without one,
    -- PostHog's User.team falls back to the first team of the organization
    SELECT pk.id, pk.user_id, pk.scopes, pk.scoped_teams, pk.scoped_organizations,
           pk.last_used_at,
           coalesce(ct.project_id,
                    (SELECT t.project_id FROM posthog_team t
                      WHERE t.organization_id = coalesce(u.current_organization_id,
                               (SELECT m.organization_id FROM posthog_organizationmembership m
                                 WHERE m.user_id = u.id ORDER BY m.joined_at, m.id LIMIT 1))
                      ORDER BY t.access_control, t.id LIMIT 1))::int AS current_team_id
      INTO k
      FROM posthog_personalapikey pk
      JOIN posthog_user u ON u.id = pk.user_id
      LEFT JOIN posthog_team ct ON ct.id = u.current_team_id
     WHERE pk.secure_value = p_secure_value AND u.is_active;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 hour' THEN
        BEGIN
            UPDATE posthog_personalapikey SET last_used_at = now()
             WHERE id = k.id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 hour');
        EXCEPTION WHEN read_only_sql_transaction THEN
            NULL;
        END;
    END IF;

    user_id := k.user_id;
    scopes := coalesce(array_to_string(k.scopes, ','), '');
    scoped_teams := coalesce(array_to_string(k.scoped_teams, ','), '');
    scoped_orgs := coalesce(array_to_string(k.scoped_organizations, ','), '');
    current_team_id := k.current_team_id;
    key_id := k.id;
    RETURN NEXT;
END $$;

-- dashboard permissions (PostHog's restriction and privilege levels) ---------

-- p_level: the user's organization membership level; p_adv: the organization
-- has the advanced-permissions feature.  Inlined into the calling query.
-- OFFSET 0 keeps b a subquery of its own: pulled up, its privilege lookup
-- was copied into every output that uses the privilege level and ran up to
-- twice per dashboard.
-- p_acl: the access context of ngx_dashboards_ctx.  can_restrict: the
-- creator or a project admin (PostHog's UserDashboardPermissions, where
-- with access_control and no project rules every member is a project
-- admin); user_access_level: the level of the access rules
-- (ngx_dashboards_object_level), which v1 restrictions do not change.
DROP FUNCTION IF EXISTS ngx_dashboards_perms(int, int, int, int, int, boolean);
CREATE OR REPLACE FUNCTION ngx_dashboards_perms(
    p_dashboard_id int, p_restriction_level int, p_created_by_id int,
    p_user_id int, p_level int, p_adv boolean, p_acl jsonb DEFAULT NULL)
RETURNS TABLE(effective_restriction_level int, effective_privilege_level int,
              can_restrict boolean, can_edit boolean,
              user_access_level text, access_control_version text)
LANGUAGE sql STABLE AS $$
    SELECT a.er, b.ep, a.cr,
           (a.er < 37 OR b.ep >= 37),
           ngx_dashboards_object_level(p_acl, 'dashboard', p_dashboard_id, p_created_by_id, p_user_id, p_level),
           CASE WHEN p_restriction_level > 21 THEN 'v1' ELSE 'v2' END
      FROM (SELECT CASE WHEN p_adv THEN p_restriction_level ELSE 21 END AS er,
                   (coalesce(p_created_by_id = p_user_id, false)
                    OR coalesce((p_acl ->> 'padmin')::boolean, coalesce(p_level, 0) >= 8)) AS cr) a
     CROSS JOIN LATERAL (
            SELECT CASE WHEN a.er = 21 OR a.cr THEN 37
                        ELSE coalesce((SELECT pr.level::int FROM ee_dashboardprivilege pr
                                        WHERE pr.dashboard_id = p_dashboard_id
                                          AND pr.user_id = p_user_id), 21)
                   END AS ep
            OFFSET 0) b
$$;

-- The dashboard of a write on /dashboards/:id/ (update, the tile actions),
-- as PostHog's get_object() + CanEditDashboard: in the project and not
-- deleted (with p_restore deleted ones too: a PATCH that restores), else
-- 404; editable by the user, else 403.  With p_lock its row is locked FOR
-- NO KEY UPDATE first (then read with a fresh snapshot), so that writes to
-- one dashboard run one after the other; ngx_dashboards_check_edit only
-- checks (p_lock false).  The access rules (p_acl) as PostHog applies them
-- to a write: the gate on all dashboards before the dashboard is read, then
-- 'editor' on it (403 before the v1 check).
DROP FUNCTION IF EXISTS ngx_dashboards_edit_target(int, bigint, int, int, boolean);
DROP FUNCTION IF EXISTS ngx_dashboards_edit_target(int, bigint, int, int, boolean, boolean, boolean);
CREATE OR REPLACE FUNCTION ngx_dashboards_edit_target(p_id int, p_project_id bigint, p_user_id int,
                                                      p_level int, p_adv boolean,
                                                      p_restore boolean DEFAULT false,
                                                      p_lock boolean DEFAULT true,
                                                      p_acl jsonb DEFAULT NULL)
RETURNS posthog_dashboard LANGUAGE plpgsql AS $$
DECLARE
    d posthog_dashboard;
BEGIN
    PERFORM ngx_dashboards_gate(p_acl, p_level, 'editor');
    IF p_lock THEN
        -- only a row of this project is locked (or waited for): a dashboard
        -- id of another project answers 404 at once, whoever holds its row
        PERFORM 1 FROM posthog_dashboard x JOIN posthog_team t ON t.id = x.team_id
         WHERE x.id = p_id AND t.project_id = p_project_id
           FOR NO KEY UPDATE OF x;
    END IF;
    SELECT x.* INTO d FROM posthog_dashboard x JOIN posthog_team t ON t.id = x.team_id
     WHERE x.id = p_id AND t.project_id = p_project_id AND (NOT x.deleted OR coalesce(p_restore, false));
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;
    PERFORM ngx_dashboards_check_object(p_acl, 'dashboard', d.id, d.created_by_id, p_user_id, p_level, 'editor');
    IF NOT (SELECT p.can_edit FROM ngx_dashboards_perms(d.id, d.restriction_level, d.created_by_id,
                                                         p_user_id, p_level, p_adv, p_acl) p) THEN
        PERFORM ngx_dashboards_denied('You don''t have edit permissions for this dashboard.');
    END IF;
    RETURN d;
END $$;
