-- migrate:repeatable
-- 008_tags_templates.sql: PostHog's bulk_update_tags,
-- create_from_template_json and create_unlisted_dashboard actions.
-- Collection actions: (p_user_id, p_project_id, p_scoped_orgs, p_body jsonb),
-- one function = one statement = one transaction (doc/CONTRACT.md).

-- helpers ------------------------------------------------------------------------

-- One field of a template object: present when required, null only when
-- allowed, of type string (at most p_max characters), object, array or
-- boolean.  400 validation_error naming the field (p_attr).
CREATE OR REPLACE FUNCTION ngx_dashboards_check_field(p_obj jsonb, p_key text, p_attr text, p_type text,
                                                     p_required boolean, p_nullable boolean, p_max int DEFAULT NULL)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := p_obj -> p_key;
BEGIN
    IF v IS NULL THEN
        IF p_required THEN
            PERFORM ngx_dashboards_validation('This field is required.', p_attr, 'required');
        END IF;
        RETURN;
    END IF;
    IF jsonb_typeof(v) = 'null' THEN
        IF NOT p_nullable THEN
            PERFORM ngx_dashboards_validation('This field may not be null.', p_attr, 'null');
        END IF;
        RETURN;
    END IF;
    IF p_type = 'string' AND jsonb_typeof(v) <> 'string' THEN
        PERFORM ngx_dashboards_validation('Not a valid string.', p_attr);
    ELSIF p_type = 'string' AND char_length(v #>> '{}') > p_max THEN
        PERFORM ngx_dashboards_validation(format('Ensure this field has no more than %s characters.', p_max),
                                          p_attr, 'max_length');
    ELSIF p_type = 'object' AND jsonb_typeof(v) <> 'object' THEN
        PERFORM ngx_dashboards_validation(format('Expected a dictionary of items but got type "%s".',
                                                 ngx_dashboards_pytype(v)), p_attr, 'not_a_dict');
    ELSIF p_type = 'array' AND jsonb_typeof(v) <> 'array' THEN
        PERFORM ngx_dashboards_validation(format('Expected a list of items but got type "%s".',
                                                 ngx_dashboards_pytype(v)), p_attr, 'not_a_list');
    ELSIF p_type = 'boolean' AND jsonb_typeof(v) <> 'boolean' THEN
        PERFORM ngx_dashboards_validation('Must be a valid boolean.', p_attr);
    END IF;
END $$;

-- The template object of create_from_template_json, checked field by field
-- (PostHog's dashboard_template_schema.json, with DRF-style messages and
-- attr template__<field>[__<index>__<field>]): template_name,
-- dashboard_description, dashboard_filters and tiles (1..) required; tiles
-- are objects with type TEXT or INSIGHT and their fields; tags strings;
-- variables null or objects with id, name, type "event", default,
-- description, required.  What one request may carry is capped as in the C
-- module (NGX_HTTP_DASHBOARDS_MAX_* in src/ngx_http_dashboards_module.h):
-- 200 tiles, 100 tags, 10 keys in a tile's layouts.
CREATE OR REPLACE FUNCTION ngx_dashboards_check_template(p_tpl jsonb)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    e jsonb;
    n int;
    a text;
BEGIN
    IF jsonb_typeof(p_tpl) IS DISTINCT FROM 'object' THEN
        PERFORM ngx_dashboards_check_field(jsonb_build_object('template', p_tpl), 'template', 'template',
                                           'object', true, false);
    END IF;
    PERFORM ngx_dashboards_check_field(p_tpl, 'template_name', 'template__template_name', 'string', true, false, 400);
    PERFORM ngx_dashboards_check_field(p_tpl, 'dashboard_description', 'template__dashboard_description',
                                       'string', true, false, 400);
    PERFORM ngx_dashboards_check_field(p_tpl, 'dashboard_filters', 'template__dashboard_filters', 'object', true, false);
    PERFORM ngx_dashboards_check_field(p_tpl, 'tiles', 'template__tiles', 'array', true, false);
    IF jsonb_array_length(p_tpl -> 'tiles') = 0 THEN
        PERFORM ngx_dashboards_validation('This list may not be empty.', 'template__tiles', 'empty');
    END IF;
    IF jsonb_array_length(p_tpl -> 'tiles') > 200 THEN
        PERFORM ngx_dashboards_validation('Ensure this field has no more than 200 elements.', 'template__tiles',
                                          'max_length');
    END IF;
    FOR e, n IN SELECT x, i - 1 FROM jsonb_array_elements(p_tpl -> 'tiles') WITH ORDINALITY t(x, i) LOOP
        a := 'template__tiles__' || n;
        PERFORM ngx_dashboards_check_field(jsonb_build_object('t', e), 't', a, 'object', true, false);
        PERFORM ngx_dashboards_check_field(e, 'type', a || '__type', 'string', true, false, 100);
        IF e ->> 'type' NOT IN ('TEXT', 'INSIGHT') THEN
            PERFORM ngx_dashboards_validation(format('"%s" is not a valid choice.', e ->> 'type'),
                                              a || '__type', 'invalid_choice');
        END IF;
        IF e ->> 'type' = 'INSIGHT' THEN
            PERFORM ngx_dashboards_check_field(e, 'name', a || '__name', 'string', false, true, 400);
            PERFORM ngx_dashboards_check_field(e, 'description', a || '__description', 'string', false, true, 400);
            PERFORM ngx_dashboards_check_field(e, 'query', a || '__query', 'object', false, true);
            PERFORM ngx_dashboards_check_field(e, 'filters', a || '__filters', 'object', false, true);
        ELSE
            PERFORM ngx_dashboards_check_field(e, 'body', a || '__body', 'string', false, true, 4000);
            PERFORM ngx_dashboards_check_field(e, 'transparent_background', a || '__transparent_background',
                                               'boolean', false, true);
        END IF;
        PERFORM ngx_dashboards_check_field(e, 'layouts', a || '__layouts', 'object', false, true);
        IF jsonb_typeof(e -> 'layouts') = 'object'
           AND (SELECT count(*) FROM jsonb_object_keys(e -> 'layouts')) > 10 THEN
            PERFORM ngx_dashboards_validation('Ensure this field has no more than 10 keys.', a || '__layouts',
                                              'max_length');
        END IF;
        PERFORM ngx_dashboards_check_field(e, 'color', a || '__color', 'string', false, true, 400);
    END LOOP;
    PERFORM ngx_dashboards_check_field(p_tpl, 'tags', 'template__tags', 'array', false, false);
    IF jsonb_array_length(CASE WHEN p_tpl ? 'tags' THEN p_tpl -> 'tags' ELSE '[]' END) > 100 THEN
        PERFORM ngx_dashboards_validation('Ensure this field has no more than 100 elements.', 'template__tags',
                                          'max_length');
    END IF;
    FOR e, n IN SELECT x, i - 1 FROM jsonb_array_elements(
                    CASE WHEN p_tpl ? 'tags' THEN p_tpl -> 'tags' ELSE '[]' END) WITH ORDINALITY t(x, i) LOOP
        PERFORM ngx_dashboards_check_field(jsonb_build_object('t', e), 't', 'template__tags__' || n,
                                           'string', true, false, 255);
    END LOOP;
    PERFORM ngx_dashboards_check_field(p_tpl, 'variables', 'template__variables', 'array', false, true);
    FOR e, n IN SELECT x, i - 1 FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(p_tpl -> 'variables') = 'array' THEN p_tpl -> 'variables' ELSE '[]' END)
                    WITH ORDINALITY t(x, i) LOOP
        a := 'template__variables__' || n;
        PERFORM ngx_dashboards_check_field(jsonb_build_object('v', e), 'v', a, 'object', true, false);
        PERFORM ngx_dashboards_check_field(e, 'id', a || '__id', 'string', true, false, 400);
        PERFORM ngx_dashboards_check_field(e, 'name', a || '__name', 'string', true, false, 400);
        IF NOT e ? 'type' THEN
            PERFORM ngx_dashboards_validation('This field is required.', a || '__type', 'required');
        ELSIF e -> 'type' IS DISTINCT FROM '"event"'::jsonb THEN
            PERFORM ngx_dashboards_validation(format('"%s" is not a valid choice.', e ->> 'type'),
                                              a || '__type', 'invalid_choice');
        END IF;
        PERFORM ngx_dashboards_check_field(e, 'default', a || '__default', 'object', true, false);
        PERFORM ngx_dashboards_check_field(e, 'description', a || '__description', 'string', true, false, 4000);
        PERFORM ngx_dashboards_check_field(e, 'required', a || '__required', 'boolean', true, false);
    END LOOP;
END $$;

-- A new, empty dashboard of the team, as Dashboard.objects.create(...) with
-- every column filled; the template is applied afterwards.
CREATE OR REPLACE FUNCTION ngx_dashboards_new_dashboard(p_team_id int, p_user_id int, p_name text,
                                                       p_description text, p_filters jsonb, p_mode text)
RETURNS int LANGUAGE sql AS $$
    INSERT INTO posthog_dashboard (
        name, description, team_id, pinned, created_at, created_by_id, deleted, last_accessed_at,
        last_refresh, filters, variables, breakdown_colors, data_color_theme_id, creation_mode,
        restriction_level, quick_filter_ids, customization, deprecated_tags, tags, share_token, is_shared)
    VALUES (p_name, p_description, p_team_id, false, now(), p_user_id, false, NULL,
            NULL, p_filters, '{}'::jsonb, '[]'::jsonb, NULL, p_mode,
            21, '[]'::jsonb, '{}'::jsonb, '{}', NULL, NULL, false)
    RETURNING id
$$;

-- endpoints -------------------------------------------------------------------------

-- POST bulk_update_tags.  Body (checked by C): ids [int] 1..500,
-- action add | remove | set, tags [str].  Dashboards of the project that are
-- not deleted and that the user can edit get the new tag set (tagify'd);
-- the others are skipped ("Not found" / "Permission denied").  Orphan tags
-- of the teams touched are removed.  Both lists follow the order of ids.
CREATE OR REPLACE FUNCTION ngx_dashboards_bulk_update_tags(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                          p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    v_action text := p_body ->> 'action';
    v_tags text[];
    v_edit int[];
    v_teams int[];
    v_team int;
    v_tag_ids uuid[] := '{}';
    v_skipped json;
    v_max_tags int;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    PERFORM ngx_dashboards_gate(c.acl, c.level, 'editor');

    IF v_action IN ('add', 'remove') AND NOT ngx_dashboards_truthy(p_body -> 'tags') THEN
        PERFORM ngx_dashboards_validation(format('tags must not be empty for action ''%s''.', v_action), 'tags');
    END IF;
    SELECT coalesce(array_agg(DISTINCT ngx_dashboards_tagify(e #>> '{}')), '{}') INTO v_tags
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_body -> 'tags') = 'array' THEN p_body -> 'tags' ELSE '[]' END) e;
    -- one request links at most 5,000 tags to dashboards (ids x tags; C caps
    -- ids at 500 and tags at 100): 50,000 took seconds.  The tags beyond
    -- what the ids leave room for are refused as a list too long
    v_max_tags := least(100, 5000 / greatest(1, (SELECT count(DISTINCT e #>> '{}')
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_body -> 'ids') = 'array'
                                       THEN p_body -> 'ids' ELSE '[]' END) e)));
    IF jsonb_typeof(p_body -> 'tags') = 'array' AND jsonb_array_length(p_body -> 'tags') > v_max_tags THEN
        PERFORM ngx_dashboards_validation(format('Ensure this field has no more than %s elements.', v_max_tags),
                                          'tags', 'max_length');
    END IF;

    -- the dashboards whose tags change are locked (in id order), as every
    -- other write to a dashboard locks it: a PATCH of the tags runs before
    -- or after, not interleaved
    PERFORM 1 FROM posthog_dashboard d
      JOIN posthog_team tm ON tm.id = d.team_id AND tm.project_id = c.project_id
     CROSS JOIN LATERAL ngx_dashboards_perms(d.id, d.restriction_level, d.created_by_id,
                                             p_user_id, c.level, c.adv, c.acl) p
     WHERE d.id IN (SELECT (e #>> '{}')::numeric::bigint
                      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_body -> 'ids') = 'array'
                                                     THEN p_body -> 'ids' ELSE '[]' END) e)
       AND NOT d.deleted AND p.can_edit AND p.user_access_level IN ('editor', 'manager')
     ORDER BY d.id
       FOR NO KEY UPDATE OF d;

    SELECT array_agg(f.did ORDER BY f.n) FILTER (WHERE f.can_edit),
           array_agg(DISTINCT f.team_id) FILTER (WHERE f.can_edit),
           coalesce(json_agg(json_build_object('id', f.id, 'reason',
                                               CASE WHEN f.did IS NULL THEN 'Not found' ELSE 'Permission denied' END)
                             ORDER BY f.n) FILTER (WHERE NOT coalesce(f.can_edit, false)), '[]'::json)
      INTO v_edit, v_teams, v_skipped
      FROM (SELECT i.id, i.n, d.id AS did, d.team_id,
                   p.can_edit AND p.user_access_level IN ('editor', 'manager') AS can_edit
              FROM (SELECT (e #>> '{}')::numeric::bigint AS id, min(n) AS n
                      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_body -> 'ids') = 'array'
                                                     THEN p_body -> 'ids' ELSE '[]' END) WITH ORDINALITY a(e, n)
                     GROUP BY 1) i
              LEFT JOIN (posthog_dashboard d JOIN posthog_team tm ON tm.id = d.team_id
                                                                 AND tm.project_id = c.project_id)
                     ON d.id = i.id AND NOT d.deleted
              LEFT JOIN LATERAL ngx_dashboards_perms(d.id, d.restriction_level, d.created_by_id,
                                                     p_user_id, c.level, c.adv, c.acl) p ON d.id IS NOT NULL) f;
    v_edit := coalesce(v_edit, '{}');

    IF v_action IN ('add', 'set') THEN
        FOREACH v_team IN ARRAY coalesce(v_teams, '{}') LOOP
            v_tag_ids := v_tag_ids || ngx_dashboards_tag_ids(v_team, v_tags);
        END LOOP;
        INSERT INTO posthog_taggeditem (id, tag_id, dashboard_id)
        SELECT gen_random_uuid(), tg.id, d.id
          FROM posthog_dashboard d JOIN posthog_tag tg ON tg.team_id = d.team_id AND tg.id = ANY (v_tag_ids)
         WHERE d.id = ANY (v_edit)
        ON CONFLICT (tag_id, dashboard_id) WHERE dashboard_id IS NOT NULL DO NOTHING;
    END IF;
    IF v_action IN ('remove', 'set') THEN
        DELETE FROM posthog_taggeditem ti USING posthog_tag tg
         WHERE ti.dashboard_id = ANY (v_edit) AND tg.id = ti.tag_id
           AND (tg.name = ANY (v_tags)) = (v_action = 'remove');
    END IF;
    PERFORM ngx_dashboards_drop_orphan_tags(v_teams);

    RETURN json_build_object(
        'updated', (SELECT coalesce(json_agg(json_build_object('id', e.id, 'tags', tn.names) ORDER BY e.n), '[]'::json)
                      FROM unnest(v_edit) WITH ORDINALITY e(id, n)
                     CROSS JOIN LATERAL ngx_dashboards_tag_names(e.id, NULL) tn),
        'skipped', v_skipped);
END $$;

-- POST create_from_template_json.  Body: template (an object; its
-- fields are checked here, 400 naming the field), creation_context and
-- _create_in_folder (accepted, unused).  A "default" dashboard with the
-- template's name, description, filters, tags and tiles; nothing is left
-- behind on an error (one statement).  Returns the detail (C answers 200).
CREATE OR REPLACE FUNCTION ngx_dashboards_create_from_template_json(p_user_id int, p_project_id int,
                                                                   p_scoped_orgs text, p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    v_id int;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    PERFORM ngx_dashboards_gate(c.acl, c.level, 'editor');
    PERFORM ngx_dashboards_check_template(p_body -> 'template');

    v_id := ngx_dashboards_new_dashboard(c.team_id, p_user_id, NULL, '', '{}'::jsonb, 'default');
    PERFORM ngx_dashboards_apply_template_json(v_id, c.team_id, p_user_id, p_body -> 'template');

    RETURN ngx_dashboards_detail(v_id, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;

-- POST create_unlisted_dashboard.  Body as sent: tag.  The template
-- is a posthog_dashboardtemplate row with that tag and the availability
-- context 'unlisted' (seeded: llm-analytics, mcp-analytics).  At most one
-- live unlisted dashboard per tag and team: the team row is locked first, so
-- concurrent requests run one after the other and the second gets the 409.
-- Errors are {"error": ..} bodies.  Returns the detail (C answers 201).
CREATE OR REPLACE FUNCTION ngx_dashboards_create_unlisted_dashboard(p_user_id int, p_project_id int,
                                                                   p_scoped_orgs text, p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    v_tag jsonb := p_body -> 'tag';
    v_name text;
    tpl posthog_dashboardtemplate;
    v_id int;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    PERFORM ngx_dashboards_gate(c.acl, c.level, 'editor');

    IF NOT ngx_dashboards_truthy(v_tag) THEN
        PERFORM ngx_dashboards_fail_key(400, 'error', 'tag is required');
    END IF;
    v_name := ngx_dashboards_pystr(v_tag);
    IF jsonb_typeof(v_tag) = 'string' THEN
        SELECT * INTO tpl FROM posthog_dashboardtemplate
         WHERE v_name = ANY (tags) AND 'unlisted' = ANY (availability_contexts)
           AND deleted IS DISTINCT FROM true AND (team_id IS NULL OR team_id = c.team_id)
         ORDER BY (team_id = c.team_id) DESC NULLS LAST, created_at, id
         LIMIT 1;
    END IF;
    IF tpl.id IS NULL THEN
        PERFORM ngx_dashboards_fail_key(400, 'error', 'Unknown template tag: ' || v_name);
    END IF;

    PERFORM 1 FROM posthog_team WHERE id = c.team_id FOR NO KEY UPDATE;
    IF EXISTS (SELECT 1 FROM posthog_dashboard d
                 JOIN posthog_taggeditem ti ON ti.dashboard_id = d.id
                 JOIN posthog_tag tg ON tg.id = ti.tag_id
                WHERE d.team_id = c.team_id AND NOT d.deleted AND d.creation_mode = 'unlisted'
                  AND tg.name = v_name) THEN
        PERFORM ngx_dashboards_fail_key(409, 'error', format('Unlisted dashboard with tag ''%s'' already exists', v_name));
    END IF;

    v_id := ngx_dashboards_new_dashboard(c.team_id, p_user_id, tpl.template_name,
                                         coalesce(tpl.dashboard_description, ''), '{}'::jsonb, 'unlisted');
    PERFORM ngx_dashboards_apply_template_json(v_id, c.team_id, p_user_id, to_jsonb(tpl));
    PERFORM ngx_dashboards_add_tags(c.team_id, v_id, NULL, ARRAY[v_name]);
    UPDATE posthog_dashboard
       SET filters = CASE WHEN jsonb_typeof(tpl.dashboard_filters) = 'object' THEN tpl.dashboard_filters
                          ELSE '{}'::jsonb END || '{"__template_version": 1}'::jsonb
     WHERE id = v_id;

    RETURN ngx_dashboards_detail(v_id, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;
