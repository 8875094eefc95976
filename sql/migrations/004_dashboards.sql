-- migrate:repeatable
-- 004_dashboards.sql: the dashboards endpoints (PostHog's DashboardsViewSet:
-- list, create, retrieve, update) and their write helpers.  Every function is
-- called as one statement = one transaction by the C module (doc/CONTRACT.md).

-- renamed helper (the name ngx_dashboards_copy_tile belongs to the copy_tile endpoint)
DROP FUNCTION IF EXISTS ngx_dashboards_copy_tile(int, int, int, int, boolean, jsonb);

-- write helpers ---------------------------------------------------------------

-- The ids of the team's tags named p_names (exact names; NULLs and
-- duplicates ignored), created when missing.  INSERT ... ON CONFLICT makes
-- concurrent requests agree on one row per (name, team); each tag is then
-- locked FOR KEY SHARE until the end of the transaction, so that the orphan
-- clean-up of a concurrent request (ngx_dashboards_drop_orphan_tags) cannot
-- delete it before this transaction's tagged items are committed (their
-- foreign key check would fail: a 500).  A tag deleted between the insert
-- and the lock is created again.
CREATE OR REPLACE FUNCTION ngx_dashboards_tag_ids(p_team_id int, p_names text[])
RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
    v_names text[] := ARRAY(SELECT DISTINCT n FROM unnest(p_names) n WHERE n IS NOT NULL);
    v_ids uuid[];
BEGIN
    LOOP
        INSERT INTO posthog_tag (id, name, team_id)
        SELECT gen_random_uuid(), n, p_team_id FROM unnest(v_names) n
        ON CONFLICT (name, team_id) DO NOTHING;
        v_ids := ARRAY(SELECT tg.id FROM posthog_tag tg
                        WHERE tg.team_id = p_team_id AND tg.name = ANY (v_names)
                        FOR KEY SHARE);
        EXIT WHEN cardinality(v_ids) = cardinality(v_names);
    END LOOP;
    RETURN v_ids;
END $$;

-- Deletes the tags of these teams that no item uses any more (PostHog
-- cleans up after every tag change).  Tags a concurrent request is linking
-- (locked by ngx_dashboards_tag_ids) are skipped; the candidates are locked
-- first and checked again with a fresh snapshot, so that an item committed
-- in between keeps its tag.
CREATE OR REPLACE FUNCTION ngx_dashboards_drop_orphan_tags(p_team_ids int[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
BEGIN
    v_ids := ARRAY(SELECT tg.id FROM posthog_tag tg
                    WHERE tg.team_id = ANY (p_team_ids)
                      AND NOT EXISTS (SELECT 1 FROM posthog_taggeditem ti WHERE ti.tag_id = tg.id)
                    FOR UPDATE SKIP LOCKED);
    IF cardinality(v_ids) > 0 THEN
        DELETE FROM posthog_tag tg
         WHERE tg.id = ANY (v_ids)
           AND NOT EXISTS (SELECT 1 FROM posthog_taggeditem ti WHERE ti.tag_id = tg.id);
    END IF;
END $$;

-- Links the team's tags p_names (exact names, created when missing) to a
-- dashboard or an insight (one id, NULL for the other), keeping the tags it
-- has.  Returns the ids of the tags named.
DROP FUNCTION IF EXISTS ngx_dashboards_add_tags(int, int, text[]);
CREATE OR REPLACE FUNCTION ngx_dashboards_add_tags(p_team_id int, p_dashboard_id int, p_insight_id int,
                                                   p_names text[])
RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[] := ngx_dashboards_tag_ids(p_team_id, p_names);
BEGIN
    IF p_dashboard_id IS NOT NULL THEN
        INSERT INTO posthog_taggeditem (id, tag_id, dashboard_id)
        SELECT gen_random_uuid(), t, p_dashboard_id FROM unnest(v_ids) t
        ON CONFLICT (tag_id, dashboard_id) WHERE dashboard_id IS NOT NULL DO NOTHING;
    ELSE
        INSERT INTO posthog_taggeditem (id, tag_id, insight_id)
        SELECT gen_random_uuid(), t, p_insight_id FROM unnest(v_ids) t
        ON CONFLICT (tag_id, insight_id) WHERE insight_id IS NOT NULL DO NOTHING;
    END IF;
    RETURN v_ids;
END $$;

-- Tags of a dashboard or an insight (one id, NULL for the other), as
-- PostHog's posthog/api/tagged_item.py sets them:
-- tagify + dedupe, get-or-create posthog_tag, link, unlink the others, drop
-- the team's orphan tags.  p_tags NULL (key absent or JSON null) = no change.
CREATE OR REPLACE FUNCTION ngx_dashboards_set_tags(p_team_id int, p_dashboard_id int,
                                                   p_insight_id int, p_tags jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_names text[];
    v_ids uuid[];
BEGIN
    IF p_tags IS NULL OR jsonb_typeof(p_tags) = 'null' THEN
        RETURN;
    END IF;
    IF jsonb_typeof(p_tags) <> 'array' THEN
        PERFORM ngx_dashboards_validation(format('Expected a list of items but got type "%s".',
                                                 ngx_dashboards_pytype(p_tags)), 'tags', 'not_a_list');
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_tags) e WHERE jsonb_typeof(e) NOT IN ('string', 'number')) THEN
        PERFORM ngx_dashboards_validation('Not a valid string.', 'tags');
    END IF;
    SELECT coalesce(array_agg(DISTINCT ngx_dashboards_tagify(e #>> '{}')), '{}')
      INTO v_names
      FROM jsonb_array_elements(p_tags) e;
    IF EXISTS (SELECT 1 FROM unnest(v_names) n WHERE char_length(n) > 255) THEN
        PERFORM ngx_dashboards_validation('Ensure this field has no more than 255 characters.', 'tags', 'max_length');
    END IF;

    v_ids := ngx_dashboards_add_tags(p_team_id, p_dashboard_id, p_insight_id, v_names);
    IF p_dashboard_id IS NOT NULL THEN
        DELETE FROM posthog_taggeditem ti WHERE ti.dashboard_id = p_dashboard_id AND NOT (ti.tag_id = ANY (v_ids));
    ELSE
        DELETE FROM posthog_taggeditem ti WHERE ti.insight_id = p_insight_id AND NOT (ti.tag_id = ANY (v_ids));
    END IF;
    PERFORM ngx_dashboards_drop_orphan_tags(ARRAY[p_team_id]);
END $$;

-- quick_filter_ids (DashboardSerializer): canonical lowercase UUID strings
-- that must exist in posthog_quickfilter for the team.  NULL / [] -> [].
CREATE OR REPLACE FUNCTION ngx_dashboards_quick_filter_ids(p_team_id int, p_value jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    e jsonb;
    v_norm text[] := '{}';
    v_missing text[];
BEGIN
    IF NOT ngx_dashboards_truthy(p_value) THEN
        RETURN '[]'::jsonb;
    END IF;
    IF jsonb_typeof(p_value) <> 'array' THEN
        PERFORM ngx_dashboards_validation(format('Expected a list of items but got type "%s".',
                                                 ngx_dashboards_pytype(p_value)), 'quick_filter_ids', 'not_a_list');
    END IF;
    FOR e IN SELECT value FROM jsonb_array_elements(p_value) LOOP
        BEGIN
            IF jsonb_typeof(e) NOT IN ('string', 'number') THEN
                RAISE invalid_text_representation;
            END IF;
            v_norm := v_norm || ((e #>> '{}')::uuid)::text;
        EXCEPTION WHEN invalid_text_representation THEN
            PERFORM ngx_dashboards_validation(format('Invalid UUID: %s',
                CASE jsonb_typeof(e) WHEN 'string' THEN e #>> '{}' ELSE e::text END), 'quick_filter_ids');
        END;
    END LOOP;
    SELECT array_agg(n ORDER BY o) INTO v_missing
      FROM unnest(v_norm) WITH ORDINALITY AS u(n, o)
     WHERE NOT EXISTS (SELECT 1 FROM posthog_quickfilter q WHERE q.team_id = p_team_id AND q.id = n::uuid);
    IF v_missing IS NOT NULL THEN
        PERFORM ngx_dashboards_validation('Quick filters not found: ' || array_to_string(v_missing, ', '),
                                          'quick_filter_ids');
    END IF;
    RETURN to_jsonb(v_norm);
END $$;

-- Deep copy of an insight (dashboard duplication): name + " (Copy)", tags
-- copied, created by the caller; the deleted flag is copied too (PostHog
-- copies through the serializer, where it is writable).  Returns the new id.
CREATE OR REPLACE FUNCTION ngx_dashboards_copy_insight(p_insight_id int, p_team_id int, p_user_id int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    v_id int;
BEGIN
    INSERT INTO posthog_dashboarditem (
        name, derived_name, description, team_id, filters, filters_hash, query, query_metadata,
        "order", deleted, saved, created_at, last_refresh, refreshing, created_by_id, is_sample,
        short_id, favorited, refresh_attempt, last_modified_at, last_modified_by_id, updated_at,
        layouts, color, deprecated_tags, tags)
    SELECT CASE WHEN coalesce(i.name, '') <> '' THEN i.name || ' (Copy)' END,
           i.derived_name, i.description, p_team_id, i.filters, NULL, i.query, i.query_metadata,
           i."order", i.deleted, i.saved, now(), NULL, false, p_user_id, false,
           ngx_dashboards_short_id(), i.favorited, NULL, now(), p_user_id, now(),
           '{}'::jsonb, NULL, '{}', NULL
      FROM posthog_dashboarditem i WHERE i.id = p_insight_id
    RETURNING id INTO v_id;

    PERFORM ngx_dashboards_add_tags(p_team_id, NULL, v_id,
        ARRAY(SELECT tg.name FROM posthog_taggeditem ti JOIN posthog_tag tg ON tg.id = ti.tag_id
               WHERE ti.insight_id = p_insight_id));
    RETURN v_id;
END $$;

-- Copies one tile onto p_dest: a shared link (same insight / text / button
-- row) or, with p_deep, a deep copy of the content.  Widgets are always
-- deep-copied (name + " (Copy)").  p_layouts overrides the layouts when not
-- NULL.  An existing link of the same content on p_dest is revived (if
-- soft-deleted) or left alone.
CREATE OR REPLACE FUNCTION ngx_dashboards_clone_tile(p_tile_id int, p_dest int, p_dest_team int,
                                                    p_user_id int, p_deep boolean, p_layouts jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t posthog_dashboardtile;
    v_insight int;
    v_text int;
    v_button uuid;
    v_widget uuid;
    v_layouts jsonb;
BEGIN
    SELECT * INTO t FROM posthog_dashboardtile WHERE id = p_tile_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_insight := t.insight_id; v_text := t.text_id; v_button := t.button_tile_id; v_widget := t.widget_id;
    v_layouts := coalesce(p_layouts, t.layouts, '{}'::jsonb);

    IF p_deep AND v_insight IS NOT NULL THEN
        v_insight := ngx_dashboards_copy_insight(v_insight, p_dest_team, p_user_id);
    ELSIF p_deep AND v_text IS NOT NULL THEN
        INSERT INTO posthog_text (body, created_by_id, last_modified_at, last_modified_by_id, team_id)
        SELECT x.body, p_user_id, now(), NULL, p_dest_team FROM posthog_text x WHERE x.id = v_text
        RETURNING id INTO v_text;
    ELSIF p_deep AND v_button IS NOT NULL THEN
        INSERT INTO posthog_buttontile (id, url, text, placement, style, created_by_id,
                                        last_modified_at, last_modified_by_id, team_id)
        SELECT gen_random_uuid(), b.url, b.text, b.placement, b.style, p_user_id, now(), NULL, p_dest_team
          FROM posthog_buttontile b WHERE b.id = v_button
        RETURNING id INTO v_button;
    ELSIF v_widget IS NOT NULL THEN
        INSERT INTO posthog_dashboardwidget (id, widget_type, name, description, config, created_by_id,
                                             last_modified_at, last_modified_by_id, team_id)
        SELECT gen_random_uuid(), w.widget_type,
               CASE WHEN coalesce(w.name, '') <> '' THEN w.name || ' (Copy)' ELSE w.name END,
               w.description, w.config, p_user_id, now(), NULL, p_dest_team
          FROM posthog_dashboardwidget w WHERE w.id = v_widget
        RETURNING id INTO v_widget;
    END IF;

    -- shared link already on the destination: revive it with the source's display fields
    UPDATE posthog_dashboardtile d
       SET deleted = false, team_id = p_dest_team, layouts = v_layouts, color = t.color,
           filters_overrides = t.filters_overrides, show_description = t.show_description,
           transparent_background = t.transparent_background
     WHERE d.dashboard_id = p_dest AND d.deleted IS TRUE
       AND (d.insight_id = v_insight OR d.text_id = v_text
            OR d.button_tile_id = v_button OR d.widget_id = v_widget);
    IF FOUND THEN
        RETURN;
    END IF;

    INSERT INTO posthog_dashboardtile (dashboard_id, insight_id, text_id, button_tile_id, widget_id, team_id,
                                       layouts, color, filters_hash, last_refresh, refreshing, refresh_attempt,
                                       filters_overrides, show_description, transparent_background, deleted)
    VALUES (p_dest, v_insight, v_text, v_button, v_widget, p_dest_team,
            v_layouts, t.color, NULL, NULL, NULL, NULL,
            t.filters_overrides, t.show_description, t.transparent_background, NULL)
    ON CONFLICT DO NOTHING;
END $$;

-- Copy-on-write of a text or a button shared by several dashboards (copy_tile
-- and a duplication without duplicate_tiles link the same row).  PostHog
-- edits the shared row in place, so a change made on one dashboard shows on
-- every dashboard linking the row, restricted ones (level 37) included:
-- there a member who may only view one could rewrite it through a copy on a
-- dashboard of their own.  Here a change must not reach a dashboard the user
-- may not edit: when such a dashboard links the row (through a live or a
-- soft-deleted tile), the tile of p_dashboard_id gets a copy of the row of
-- its own, which the caller then changes, and every other dashboard keeps
-- the old row.  Otherwise the row stays shared and is changed in place, as
-- PostHog does.  The row is locked first: a concurrent copy_tile linking it
-- (its foreign key check) waits until this change is committed.  Returns
-- the id of the row to change.
DROP FUNCTION IF EXISTS ngx_dashboards_shown_read_only(int, int, uuid, int);
DROP FUNCTION IF EXISTS ngx_dashboards_own_text(int, int, int);
DROP FUNCTION IF EXISTS ngx_dashboards_own_button(int, uuid, int);
DROP FUNCTION IF EXISTS ngx_dashboards_update_tile(posthog_dashboard, uuid, int, jsonb);
-- "may not edit": the restriction level (v1) or the access rules (p_acl,
-- from ngx_dashboards_ctx) below editor.
CREATE OR REPLACE FUNCTION ngx_dashboards_shown_read_only(p_dashboard_id int, p_text_id int, p_button_id uuid,
                                                          p_user_id int, p_acl jsonb DEFAULT NULL)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM posthog_dashboardtile o
          JOIN posthog_dashboard x ON x.id = o.dashboard_id
          JOIN posthog_team tm ON tm.id = x.team_id
          JOIN posthog_organization org ON org.id = tm.organization_id
          LEFT JOIN posthog_organizationmembership m ON m.organization_id = tm.organization_id
                                                    AND m.user_id = p_user_id
         CROSS JOIN LATERAL ngx_dashboards_perms(x.id, x.restriction_level, x.created_by_id, p_user_id,
                                                 m.level, ngx_dashboards_has_advanced_permissions(
                                                              org.available_product_features),
                                                 p_acl) p
         WHERE (o.text_id = p_text_id OR o.button_tile_id = p_button_id)
           AND o.dashboard_id <> p_dashboard_id
           AND (NOT p.can_edit OR p.user_access_level NOT IN ('editor', 'manager')))
$$;

CREATE OR REPLACE FUNCTION ngx_dashboards_own_text(p_dashboard_id int, p_text_id int, p_user_id int,
                                                   p_acl jsonb DEFAULT NULL)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    v_id int;
BEGIN
    PERFORM 1 FROM posthog_text WHERE id = p_text_id FOR UPDATE;
    IF NOT ngx_dashboards_shown_read_only(p_dashboard_id, p_text_id, NULL, p_user_id, p_acl) THEN
        RETURN p_text_id;
    END IF;
    INSERT INTO posthog_text (body, created_by_id, last_modified_at, last_modified_by_id, team_id)
    SELECT x.body, x.created_by_id, x.last_modified_at, x.last_modified_by_id, x.team_id
      FROM posthog_text x WHERE x.id = p_text_id
    RETURNING id INTO v_id;
    UPDATE posthog_dashboardtile SET text_id = v_id WHERE dashboard_id = p_dashboard_id AND text_id = p_text_id;
    RETURN v_id;
END $$;

CREATE OR REPLACE FUNCTION ngx_dashboards_own_button(p_dashboard_id int, p_button_id uuid, p_user_id int,
                                                     p_acl jsonb DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM 1 FROM posthog_buttontile WHERE id = p_button_id FOR UPDATE;
    IF NOT ngx_dashboards_shown_read_only(p_dashboard_id, NULL, p_button_id, p_user_id, p_acl) THEN
        RETURN p_button_id;
    END IF;
    INSERT INTO posthog_buttontile (id, url, text, placement, style, created_by_id,
                                    last_modified_at, last_modified_by_id, team_id)
    SELECT gen_random_uuid(), b.url, b.text, b.placement, b.style, b.created_by_id,
           b.last_modified_at, b.last_modified_by_id, b.team_id
      FROM posthog_buttontile b WHERE b.id = p_button_id
    RETURNING id INTO v_id;
    UPDATE posthog_dashboardtile SET button_tile_id = v_id
     WHERE dashboard_id = p_dashboard_id AND button_tile_id = p_button_id;
    RETURN v_id;
END $$;

-- Applies a template (posthog_dashboardtemplate columns as a JSON object:
-- template_name, dashboard_description, dashboard_filters, tags, tiles) to a
-- new dashboard, as PostHog's create_from_template: name (when empty),
-- description, filters, tags (exact names), then one tile per TEXT /
-- INSIGHT / BUTTON entry (other types are skipped).  Insights are samples
-- created by p_user_id (NULL for use_template, as PostHog); a tile with a
-- query gets filters {}, a legacy filters-only tile keeps its filters with
-- filter_test_accounts (default true).
CREATE OR REPLACE FUNCTION ngx_dashboards_apply_template_json(p_dashboard_id int, p_team_id int,
                                                             p_user_id int, p_tpl jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tile jsonb;
    v_id int;
    v_button uuid;
    v_filters jsonb;
BEGIN
    UPDATE posthog_dashboard
       SET name = CASE WHEN coalesce(name, '') = '' THEN p_tpl ->> 'template_name' ELSE name END,
           filters = coalesce(nullif(p_tpl -> 'dashboard_filters', 'null'::jsonb), '{}'::jsonb),
           description = coalesce(p_tpl ->> 'dashboard_description', '')
     WHERE id = p_dashboard_id;
    PERFORM ngx_dashboards_add_tags(p_team_id, p_dashboard_id, NULL,
        ARRAY(SELECT e #>> '{}' FROM jsonb_array_elements(
                  CASE WHEN jsonb_typeof(p_tpl -> 'tags') = 'array' THEN p_tpl -> 'tags' ELSE '[]' END) e
               WHERE jsonb_typeof(e) = 'string'));

    FOR tile IN SELECT value FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(p_tpl -> 'tiles') = 'array' THEN p_tpl -> 'tiles' ELSE '[]' END) LOOP
        v_id := NULL; v_button := NULL;
        IF tile ->> 'type' = 'INSIGHT' THEN
            IF ngx_dashboards_truthy(tile -> 'query') THEN
                v_filters := '{}'::jsonb;
            ELSE
                v_filters := CASE WHEN jsonb_typeof(tile -> 'filters') = 'object' THEN tile -> 'filters'
                                  ELSE '{}'::jsonb END;
                IF NOT v_filters ? 'filter_test_accounts' THEN
                    v_filters := v_filters || '{"filter_test_accounts": true}'::jsonb;
                END IF;
            END IF;
            INSERT INTO posthog_dashboarditem (
                name, derived_name, description, team_id, filters, query, "order", deleted, saved,
                created_at, refreshing, created_by_id, is_sample, short_id, favorited,
                last_modified_at, last_modified_by_id, updated_at, layouts, deprecated_tags)
            VALUES (tile ->> 'name', NULL, tile ->> 'description', p_team_id, v_filters,
                    nullif(tile -> 'query', 'null'::jsonb), NULL, false, true,
                    now(), false, p_user_id, true, ngx_dashboards_short_id(), false,
                    now(), p_user_id, now(), '{}'::jsonb, '{}')
            RETURNING id INTO v_id;
        ELSIF tile ->> 'type' = 'TEXT' THEN
            INSERT INTO posthog_text (body, created_by_id, last_modified_at, last_modified_by_id, team_id)
            VALUES (left(tile ->> 'body', 4000), NULL, now(), NULL, p_team_id)
            RETURNING id INTO v_id;
        ELSIF tile ->> 'type' = 'BUTTON' THEN
            INSERT INTO posthog_buttontile (id, url, text, placement, style, created_by_id,
                                            last_modified_at, last_modified_by_id, team_id)
            VALUES (gen_random_uuid(), left(coalesce(tile ->> 'url', ''), 2000), left(coalesce(tile ->> 'text', ''), 200),
                    coalesce(tile ->> 'placement', 'left'), coalesce(tile ->> 'style', 'primary'),
                    NULL, now(), NULL, p_team_id)
            RETURNING id INTO v_button;
        ELSE
            CONTINUE;
        END IF;
        INSERT INTO posthog_dashboardtile (dashboard_id, insight_id, text_id, button_tile_id, team_id,
                                           layouts, color, filters_overrides, transparent_background, deleted)
        VALUES (p_dashboard_id,
                CASE WHEN tile ->> 'type' = 'INSIGHT' THEN v_id END,
                CASE WHEN tile ->> 'type' = 'TEXT' THEN v_id END,
                v_button, p_team_id,
                CASE WHEN jsonb_typeof(tile -> 'layouts') = 'object' THEN tile -> 'layouts' ELSE '{}'::jsonb END,
                left(tile ->> 'color', 400), '{}'::jsonb,
                CASE WHEN tile ->> 'type' <> 'INSIGHT' AND jsonb_typeof(tile -> 'transparent_background') = 'boolean'
                     THEN (tile ->> 'transparent_background')::boolean END,
                NULL);
    END LOOP;
END $$;

-- use_template (PostHog's create): the template by name from
-- posthog_dashboardtemplate
-- (not deleted; global, team-less or the team's own; the team's first).
-- false when there is none.
CREATE OR REPLACE FUNCTION ngx_dashboards_apply_template(p_dashboard_id int, p_team_id int, p_template_name text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    tpl posthog_dashboardtemplate;
BEGIN
    SELECT * INTO tpl FROM posthog_dashboardtemplate
     WHERE template_name = p_template_name AND deleted IS DISTINCT FROM true
       AND (team_id IS NULL OR team_id = p_team_id OR scope = 'global')
     ORDER BY (team_id = p_team_id) DESC NULLS LAST, created_at, id
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM ngx_dashboards_apply_template_json(p_dashboard_id, p_team_id, NULL, to_jsonb(tpl));
    RETURN true;
END $$;

-- A user given as {"id": n} in a text/button payload must belong to the
-- organization (else 400, non-field error).
CREATE OR REPLACE FUNCTION ngx_dashboards_org_user(p_org uuid, p_user jsonb)
RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id int;
    v_num numeric;
BEGIN
    IF jsonb_typeof(p_user -> 'id') = 'number' OR (p_user ->> 'id') ~ '^\s*-?\d{1,9}\s*$' THEN
        v_num := (p_user ->> 'id')::numeric;
        -- an integer in int range (a larger number is no user: 400, not a cast error)
        IF v_num = trunc(v_num) AND abs(v_num) <= 2147483647 THEN
            SELECT m.user_id INTO v_id FROM posthog_organizationmembership m
             WHERE m.organization_id = p_org AND m.user_id = v_num::int;
        END IF;
    END IF;
    IF v_id IS NULL THEN
        PERFORM ngx_dashboards_validation('User not found in this organization.', NULL);
    END IF;
    RETURN v_id;
END $$;

-- The "text" / "button_tile" object (p_key) of a PATCH tiles element: a
-- dictionary (else 400 <key>__non_field_errors), with its creator: the
-- organization member given as created_by (modified by the caller), else
-- the caller (not modified).
CREATE OR REPLACE FUNCTION ngx_dashboards_tile_content(p_tile jsonb, p_key text, p_org uuid, p_user_id int,
                                                       OUT content jsonb, OUT created_by int, OUT modified_by int)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    content := p_tile -> p_key;
    IF jsonb_typeof(content) <> 'object' THEN
        PERFORM ngx_dashboards_validation(format('Invalid data. Expected a dictionary, but got %s.',
                                                 ngx_dashboards_pytype(content)), p_key || '__non_field_errors');
    END IF;
    IF ngx_dashboards_truthy(content -> 'created_by') THEN
        created_by := ngx_dashboards_org_user(p_org, content -> 'created_by');
        modified_by := p_user_id;
    ELSE
        created_by := p_user_id;
        modified_by := NULL;
    END IF;
END $$;

-- restriction_level must be 21 or 37 (C normally checks this already)
CREATE OR REPLACE FUNCTION ngx_dashboards_check_restriction_level(p_body jsonb)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_body ? 'restriction_level' AND jsonb_typeof(p_body -> 'restriction_level') <> 'null'
       AND ngx_dashboards_jint(p_body -> 'restriction_level') IS DISTINCT FROM 21
       AND ngx_dashboards_jint(p_body -> 'restriction_level') IS DISTINCT FROM 37 THEN
        PERFORM ngx_dashboards_validation(format('"%s" is not a valid choice.', p_body ->> 'restriction_level'),
                                          'restriction_level', 'invalid_choice');
    END IF;
END $$;

-- tile id from a payload: NULL when absent or not an integer
CREATE OR REPLACE FUNCTION ngx_dashboards_jint(p_value jsonb)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p_value) = 'number' AND (p_value #>> '{}') ~ '^-?\d{1,9}$'
                  OR jsonb_typeof(p_value) = 'string' AND (p_value #>> '{}') ~ '^\s*-?\d{1,9}\s*$'
                THEN btrim(p_value #>> '{}')::int END
$$;

-- Writes the display fields present in p_tile on tile p_tile_id.
CREATE OR REPLACE FUNCTION ngx_dashboards_tile_display(p_tile_id int, p_tile jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_color text := ngx_dashboards_jstr(p_tile -> 'color', 'color', 400);
    v_deleted boolean := ngx_dashboards_jbool(p_tile -> 'deleted', 'deleted');
    v_show boolean := ngx_dashboards_jbool(p_tile -> 'show_description', 'show_description');
    v_transparent boolean := ngx_dashboards_jbool(p_tile -> 'transparent_background', 'transparent_background');
BEGIN
    UPDATE posthog_dashboardtile SET
        deleted = CASE WHEN p_tile ? 'deleted' THEN v_deleted ELSE deleted END,
        color = CASE WHEN p_tile ? 'color' THEN v_color ELSE color END,
        layouts = CASE WHEN p_tile ? 'layouts' THEN coalesce(nullif(p_tile -> 'layouts', 'null'::jsonb), '{}'::jsonb)
                       ELSE layouts END,
        filters_overrides = CASE WHEN p_tile ? 'filters_overrides'
                                 THEN nullif(p_tile -> 'filters_overrides', 'null'::jsonb)
                                 ELSE filters_overrides END,
        show_description = CASE WHEN p_tile ? 'show_description' THEN v_show ELSE show_description END,
        transparent_background = CASE WHEN p_tile ? 'transparent_background' THEN v_transparent
                                      ELSE transparent_background END
     WHERE id = p_tile_id;
END $$;

-- One element of PATCH "tiles" (DashboardSerializer.update's tiles).
CREATE OR REPLACE FUNCTION ngx_dashboards_update_tile(p_dashboard posthog_dashboard, p_org uuid,
                                                      p_user_id int, p_tile jsonb,
                                                      p_acl jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_content jsonb;
    v_created_by int;
    v_modified_by int;
    v_body text;
    v_text_id int;
    v_button_id uuid;
    v_url text;
    v_label text;
    v_placement text;
    v_style text;
    v_tile_id int := ngx_dashboards_jint(p_tile -> 'id');
    v_existing posthog_dashboardtile;
BEGIN
    IF jsonb_typeof(p_tile) IS DISTINCT FROM 'object' THEN
        RETURN;
    END IF;
    p_tile := p_tile - 'is_cached' - 'order';

    IF v_tile_id IS NOT NULL THEN
        SELECT * INTO v_existing FROM posthog_dashboardtile
         WHERE id = v_tile_id AND dashboard_id = p_dashboard.id;
    END IF;

    IF ngx_dashboards_truthy(p_tile -> 'text') THEN
        SELECT * INTO v_content, v_created_by, v_modified_by
          FROM ngx_dashboards_tile_content(p_tile, 'text', p_org, p_user_id);
        v_body := ngx_dashboards_jstr(v_content -> 'body', 'text__body', 4000,
                                      'Text body cannot exceed 4000 characters');

        IF ngx_dashboards_truthy(v_content -> 'id') THEN
            v_text_id := ngx_dashboards_jint(v_content -> 'id');
            IF v_text_id IS NULL
               OR NOT EXISTS (SELECT 1 FROM posthog_text WHERE id = v_text_id AND team_id = p_dashboard.team_id) THEN
                PERFORM ngx_dashboards_validation('Text tile not found in this team.', 'text');
            END IF;
            IF NOT EXISTS (SELECT 1 FROM posthog_dashboardtile
                            WHERE dashboard_id = p_dashboard.id AND text_id = v_text_id
                              AND deleted IS DISTINCT FROM true) THEN
                PERFORM ngx_dashboards_validation('Text tile not found.', 'text');
            END IF;
            -- shown on a dashboard the user may not edit: this one gets a copy
            v_text_id := ngx_dashboards_own_text(p_dashboard.id, v_text_id, p_user_id, p_acl);
            UPDATE posthog_text SET
                body = CASE WHEN v_content ? 'body' THEN v_body ELSE body END,
                created_by_id = v_created_by,
                last_modified_by_id = v_modified_by,
                last_modified_at = now()
             WHERE id = v_text_id;
        ELSE
            INSERT INTO posthog_text (body, created_by_id, last_modified_at, last_modified_by_id, team_id)
            VALUES (v_body, v_created_by, now(), v_modified_by, p_dashboard.team_id)
            RETURNING id INTO v_text_id;
        END IF;
    ELSIF ngx_dashboards_truthy(p_tile -> 'button_tile') THEN
        SELECT * INTO v_content, v_created_by, v_modified_by
          FROM ngx_dashboards_tile_content(p_tile, 'button_tile', p_org, p_user_id);
        -- ButtonTileSerializer: url and text required, placement left|right, style primary|secondary
        v_url := ngx_dashboards_jstr_required(v_content, 'url', 'button_tile__url', 2000,
                                              'Button URL cannot exceed 2000 characters');
        IF left(v_url, 1) = '/' THEN
            IF v_url !~ '^/[a-zA-Z0-9._~:/?#\[\]@!$&''()*+,;=%-]*$' THEN
                PERFORM ngx_dashboards_validation('Pathname must start with / and contain valid URL path characters',
                                                  'button_tile__url');
            END IF;
        ELSIF v_url !~* '^https?://[^\s/?#]+\.?[^\s]*$' THEN
            PERFORM ngx_dashboards_validation('Must be a valid URL or a pathname starting with /', 'button_tile__url');
        END IF;
        v_label := ngx_dashboards_jstr_required(v_content, 'text', 'button_tile__text', 200,
                                                'Button text cannot exceed 200 characters');
        v_placement := coalesce(v_content ->> 'placement', 'left');
        IF v_placement NOT IN ('left', 'right') THEN
            PERFORM ngx_dashboards_validation(format('"%s" is not a valid choice.', v_placement),
                                              'button_tile__placement', 'invalid_choice');
        END IF;
        v_style := coalesce(v_content ->> 'style', 'primary');
        IF v_style NOT IN ('primary', 'secondary') THEN
            PERFORM ngx_dashboards_validation(format('"%s" is not a valid choice.', v_style),
                                              'button_tile__style', 'invalid_choice');
        END IF;

        IF ngx_dashboards_truthy(v_content -> 'id') THEN
            BEGIN
                v_button_id := (v_content ->> 'id')::uuid;
            EXCEPTION WHEN invalid_text_representation THEN
                v_button_id := NULL;
            END;
            IF v_button_id IS NULL
               OR NOT EXISTS (SELECT 1 FROM posthog_buttontile WHERE id = v_button_id AND team_id = p_dashboard.team_id) THEN
                PERFORM ngx_dashboards_validation('Button tile not found in this team.', 'button_tile');
            END IF;
            IF NOT EXISTS (SELECT 1 FROM posthog_dashboardtile
                            WHERE dashboard_id = p_dashboard.id AND button_tile_id = v_button_id
                              AND deleted IS DISTINCT FROM true) THEN
                PERFORM ngx_dashboards_validation('Button tile not found.', 'button_tile');
            END IF;
            -- shown on a dashboard the user may not edit: this one gets a copy
            v_button_id := ngx_dashboards_own_button(p_dashboard.id, v_button_id, p_user_id, p_acl);
            UPDATE posthog_buttontile SET url = v_url, text = v_label, placement = v_placement, style = v_style,
                   created_by_id = v_created_by, last_modified_by_id = v_modified_by, last_modified_at = now()
             WHERE id = v_button_id;
        ELSE
            INSERT INTO posthog_buttontile (id, url, text, placement, style, created_by_id, last_modified_at,
                                            last_modified_by_id, team_id)
            VALUES (gen_random_uuid(), v_url, v_label, v_placement, v_style, v_created_by, now(),
                    v_modified_by, p_dashboard.team_id)
            RETURNING id INTO v_button_id;
        END IF;
    ELSE
        -- display fields of an existing tile of this dashboard; unknown ids skipped, insight ignored
        IF v_existing.id IS NOT NULL
           AND (p_tile ?| ARRAY['deleted', 'color', 'layouts', 'filters_overrides',
                                'show_description', 'transparent_background']) THEN
            PERFORM ngx_dashboards_tile_display(v_existing.id, p_tile);
        END IF;
        RETURN;
    END IF;

    -- upsert the tile of the text / button: by tile id on this dashboard, else
    -- the tile already linking this content here, else a new tile
    IF v_existing.id IS NOT NULL
       AND (v_existing.insight_id IS NOT NULL OR v_existing.widget_id IS NOT NULL
            OR (v_text_id IS NOT NULL AND v_existing.button_tile_id IS NOT NULL)
            OR (v_button_id IS NOT NULL AND v_existing.text_id IS NOT NULL)) THEN
        PERFORM ngx_dashboards_validation(
            CASE WHEN v_text_id IS NOT NULL THEN 'Tile is not a text tile.' ELSE 'Tile is not a button tile.' END,
            'tiles');
    END IF;
    IF v_existing.id IS NULL THEN
        SELECT * INTO v_existing FROM posthog_dashboardtile
         WHERE dashboard_id = p_dashboard.id
           AND (text_id = v_text_id OR button_tile_id = v_button_id);
    END IF;
    IF v_existing.id IS NULL THEN
        INSERT INTO posthog_dashboardtile (dashboard_id, text_id, button_tile_id, team_id, layouts,
                                           filters_overrides, deleted)
        VALUES (p_dashboard.id, v_text_id, v_button_id, p_dashboard.team_id, '{}'::jsonb, '{}'::jsonb, NULL)
        RETURNING id INTO v_existing.id;
    ELSE
        UPDATE posthog_dashboardtile SET text_id = v_text_id, button_tile_id = v_button_id
         WHERE id = v_existing.id;
    END IF;
    PERFORM ngx_dashboards_tile_display(v_existing.id, p_tile);
END $$;

-- endpoints ---------------------------------------------------------------------

-- The dashboards a list request matches: the page and the count read
-- the same set.  A set-returning SQL function, inlined into both statements,
-- where the NULL / false filters fold away in the caller's plan.
-- p_only / p_blocked: the access rules' filter (ngx_dashboards_list_acl),
-- which never hides the user's (p_user_id) own dashboards.
DROP FUNCTION IF EXISTS ngx_dashboards_list_matches(bigint, text, boolean, uuid[], text, uuid[]);
CREATE OR REPLACE FUNCTION ngx_dashboards_list_matches(p_project_id bigint, p_mode text, p_exclude boolean,
                                                       p_tag_ids uuid[], p_search text,
                                                       p_search_tag_ids uuid[], p_user_id int,
                                                       p_only int[], p_blocked int[])
RETURNS TABLE(id int, name varchar, pinned boolean) LANGUAGE sql STABLE AS $$
    SELECT d.id, d.name, d.pinned
      FROM posthog_dashboard d
      JOIN posthog_team t ON t.id = d.team_id
     WHERE t.project_id = p_project_id
       AND NOT d.deleted
       AND CASE WHEN p_mode IS NOT NULL THEN d.creation_mode = p_mode
                ELSE d.creation_mode <> 'unlisted' END
       AND (NOT p_exclude OR d.name IS NULL OR NOT starts_with(d.name, 'Generated Dashboard'))
       AND (p_tag_ids IS NULL OR d.id IN (
               SELECT ti.dashboard_id FROM posthog_taggeditem ti WHERE ti.tag_id = ANY (p_tag_ids)))
       AND (p_search IS NULL
            OR strpos(lower(d.name), p_search) > 0
            OR strpos(lower(d.description), p_search) > 0
            OR d.id IN (SELECT ti.dashboard_id FROM posthog_taggeditem ti
                         WHERE ti.tag_id = ANY (p_search_tag_ids)))
       AND (p_only IS NULL OR d.id = ANY (p_only) OR coalesce(d.created_by_id = p_user_id, false))
       AND (p_blocked IS NULL OR NOT d.id = ANY (p_blocked) OR coalesce(d.created_by_id = p_user_id, false))
$$;

-- GET list.  Read-only.  Search: case-insensitive substring of name,
-- description or a tag name (% and _ are literal); every hit is "exact"
-- (no trigram matching); full-name matches first, then pinned, name, id.
-- Statements of one snapshot (STABLE): the ids of the page (without a
-- search, in the order of the partial index on (pinned DESC, name), so
-- only the page is read), the count (unless this is the last page), then
-- the page's JSON, whose tags, last views and sharing are each read for the
-- whole page at once.
CREATE OR REPLACE FUNCTION ngx_dashboards_list(p_user_id int, p_project_id int, p_scoped_orgs text, p_query jsonb)
RETURNS TABLE(count bigint, results json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
    v_limit bigint := CASE WHEN (p_query ->> 'limit') ~ '^\d{1,18}$' THEN (p_query ->> 'limit')::bigint ELSE 100 END;
    v_offset bigint := CASE WHEN (p_query ->> 'offset') ~ '^\d{1,18}$' THEN (p_query ->> 'offset')::bigint ELSE 0 END;
    -- PostHog strips the term (normalize_search_term); blank = no search
    v_search text := nullif(lower(btrim(p_query ->> 'search', E' \t\n\r\f\v')), '');
    v_tags text[];
    v_mode text := nullif(p_query ->> 'creation_mode', '');
    v_exclude boolean := coalesce(ngx_dashboards_truthy(p_query -> 'exclude_generated'), false);
    v_tag_ids uuid[];
    v_search_tag_ids uuid[];
    v_count bigint;
    v_page int[];
    a record;
BEGIN
    c := ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    -- the access rules: the gate, then what the list leaves out
    PERFORM ngx_dashboards_gate(c.acl, c.level, 'viewer');
    a := ngx_dashboards_list_acl(c.acl, c.level);

    -- the (few) tags that match, once, instead of per dashboard
    IF jsonb_typeof(p_query -> 'tags') = 'array' AND jsonb_array_length(p_query -> 'tags') > 0 THEN
        v_tags := ARRAY(SELECT jsonb_array_elements_text(p_query -> 'tags'));
        v_tag_ids := ARRAY(SELECT tg.id FROM posthog_tag tg JOIN posthog_team t ON t.id = tg.team_id
                            WHERE t.project_id = c.project_id AND tg.name = ANY (v_tags));
    END IF;
    IF v_search IS NOT NULL THEN
        v_search_tag_ids := ARRAY(SELECT tg.id FROM posthog_tag tg JOIN posthog_team t ON t.id = tg.team_id
                                   WHERE t.project_id = c.project_id AND strpos(lower(tg.name), v_search) > 0);
    END IF;

    -- the matching dashboards: the ids of the page in order, then their
    -- count unless the page tells it (planned for each call, so that the
    -- optional filters fold away: the ORDER BY of the page then matches
    -- idx_dashboard_deleted_team_id when there is no search)
    v_page := ARRAY(
        SELECT m.id
          FROM ngx_dashboards_list_matches(c.project_id, v_mode, v_exclude, v_tag_ids,
                                           v_search, v_search_tag_ids, p_user_id, a.keep_only, a.blocked) m
         ORDER BY coalesce(lower(m.name) = v_search, false) DESC, m.pinned DESC, m.name, m.id
         LIMIT v_limit OFFSET v_offset);
    IF cardinality(v_page) < v_limit AND (cardinality(v_page) > 0 OR v_offset = 0) THEN
        -- the last page
        v_count := v_offset + cardinality(v_page);
    ELSE
        SELECT count(*) INTO v_count
          FROM ngx_dashboards_list_matches(c.project_id, v_mode, v_exclude, v_tag_ids,
                                           v_search, v_search_tag_ids, p_user_id, a.keep_only, a.blocked) m;
    END IF;

    -- the page.  One plan for every call: level and adv reach perms through
    -- k, so they do not fold into a plan of their own (the custom plan would
    -- win and the statement would be planned again on every call).  Tags,
    -- last views and sharing (the first configuration) of the page are read
    -- in one pass each.
    RETURN QUERY
    SELECT v_count,
           coalesce((
               SELECT json_agg(json_build_object(
                   'id', d.id,
                   'name', d.name,
                   'description', d.description,
                   'pinned', d.pinned,
                   'created_at', ngx_dashboards_ts(d.created_at),
                   'created_by', u.j,
                   'last_accessed_at', ngx_dashboards_ts(d.last_accessed_at),
                   'last_viewed_at', ngx_dashboards_ts(lv.viewed_at),
                   'is_shared', coalesce(sh.enabled, false),
                   'deleted', d.deleted,
                   'creation_mode', d.creation_mode,
                   'tags', coalesce(tn.names, '[]'::json),
                   'restriction_level', d.restriction_level,
                   'effective_restriction_level', p.effective_restriction_level,
                   'effective_privilege_level', p.effective_privilege_level,
                   'user_access_level', p.user_access_level,
                   'access_control_version', p.access_control_version,
                   'last_refresh', ngx_dashboards_ts(d.last_refresh),
                   'team_id', d.team_id,
                   'search_match_type', CASE WHEN v_search IS NOT NULL THEN 'exact' END)
                   ORDER BY pg.n)
                 FROM unnest(v_page) WITH ORDINALITY AS pg(id, n)
                 JOIN posthog_dashboard d ON d.id = pg.id
                 LEFT JOIN LATERAL ngx_dashboards_user_obj(d.created_by_id) u ON true
                 LEFT JOIN (SELECT v.team_id, v.ref, max(v.viewed_at) AS viewed_at
                              FROM posthog_filesystemviewlog v
                             WHERE v.user_id = p_user_id AND v.type = 'dashboard'
                               AND v.ref = ANY (v_page::text[])
                               AND v.team_id IN (SELECT t.id FROM posthog_team t WHERE t.project_id = c.project_id)
                             GROUP BY v.team_id, v.ref) lv ON lv.team_id = d.team_id AND lv.ref = d.id::text
                 LEFT JOIN (SELECT DISTINCT ON (s.dashboard_id) s.dashboard_id, s.enabled
                              FROM posthog_sharingconfiguration s
                             WHERE s.dashboard_id = ANY (v_page)
                             ORDER BY s.dashboard_id, s.id) sh ON sh.dashboard_id = d.id
                 LEFT JOIN (SELECT ti.dashboard_id, json_agg(tg.name ORDER BY tg.name COLLATE "C") AS names
                              FROM posthog_taggeditem ti JOIN posthog_tag tg ON tg.id = ti.tag_id
                             WHERE ti.dashboard_id = ANY (v_page)
                             GROUP BY ti.dashboard_id) tn ON tn.dashboard_id = d.id
                CROSS JOIN (SELECT c.level AS level, c.adv AS adv, c.acl AS acl OFFSET 0) k
                CROSS JOIN LATERAL ngx_dashboards_perms(d.id, d.restriction_level, d.created_by_id,
                                                        p_user_id, k.level, k.adv, k.acl) p
           ), '[]'::json);
END $$;

-- POST create (DashboardSerializer.create).  Returns the detail (C answers
-- 201).
CREATE OR REPLACE FUNCTION ngx_dashboards_create(p_user_id int, p_project_id int, p_scoped_orgs text, p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    src posthog_dashboard;
    v_id int;
    v_use_dashboard int;
    v_use_template text := p_body ->> 'use_template';
    v_has_template boolean := ngx_dashboards_truthy(p_body -> 'use_template');
    v_has_source boolean := ngx_dashboards_truthy(p_body -> 'use_dashboard');
    v_quick jsonb;
    v_filters jsonb;
    v_tile int;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    PERFORM ngx_dashboards_gate(c.acl, c.level, 'editor', true);
    p_body := coalesce(p_body, '{}'::jsonb);

    -- serializer validation: fields, then validate()
    v_quick := CASE WHEN p_body ? 'quick_filter_ids'
                    THEN ngx_dashboards_quick_filter_ids(c.team_id, p_body -> 'quick_filter_ids') END;
    PERFORM ngx_dashboards_check_restriction_level(p_body);
    IF v_has_source AND v_has_template THEN
        PERFORM ngx_dashboards_validation('`use_dashboard` and `use_template` cannot be used together', NULL);
    END IF;

    IF v_has_source THEN
        v_use_dashboard := ngx_dashboards_jint(p_body -> 'use_dashboard');
        SELECT d.* INTO src FROM posthog_dashboard d JOIN posthog_team t ON t.id = d.team_id
         WHERE d.id = v_use_dashboard AND t.project_id = c.project_id AND NOT d.deleted;
        IF NOT FOUND THEN
            PERFORM ngx_dashboards_validation('Invalid value provided', 'use_dashboard');
        END IF;
        -- the copy shows what the source shows: the user must be able to
        -- view it, and (duplicate_tiles) each insight copied
        PERFORM ngx_dashboards_check_object(c.acl, 'dashboard', src.id, src.created_by_id, p_user_id, c.level,
                                            'viewer');
        IF ngx_dashboards_truthy(p_body -> 'duplicate_tiles') THEN
            PERFORM ngx_dashboards_check_object(c.acl, 'insight', i.id, i.created_by_id, p_user_id, c.level,
                                                'viewer')
               FROM posthog_dashboardtile t JOIN posthog_dashboarditem i ON i.id = t.insight_id
              WHERE t.dashboard_id = src.id AND t.deleted IS DISTINCT FROM true AND NOT i.deleted;
        END IF;
    END IF;

    IF ngx_dashboards_truthy(p_body -> 'filters') THEN
        v_filters := p_body -> 'filters';
        IF jsonb_typeof(v_filters) <> 'object' THEN
            PERFORM ngx_dashboards_validation('Filters must be a dictionary', NULL);
        END IF;
    ELSIF src.id IS NOT NULL THEN
        v_filters := src.filters;
    ELSE
        v_filters := '{}'::jsonb;
    END IF;

    INSERT INTO posthog_dashboard (
        name, description, team_id, pinned, created_at, created_by_id, deleted, last_accessed_at,
        last_refresh, filters, variables, breakdown_colors, data_color_theme_id, creation_mode,
        restriction_level, quick_filter_ids, customization, deprecated_tags, tags, share_token, is_shared)
    VALUES (
        ngx_dashboards_jstr(p_body -> 'name', 'name', 400),
        coalesce(ngx_dashboards_jstr(p_body -> 'description', 'description'), ''),
        c.team_id,
        coalesce(ngx_dashboards_jbool(p_body -> 'pinned', 'pinned'), false),
        now(),
        p_user_id,
        coalesce(ngx_dashboards_jbool(p_body -> 'deleted', 'deleted'), false),
        ngx_dashboards_jtimestamp(p_body -> 'last_accessed_at', 'last_accessed_at'),
        ngx_dashboards_jtimestamp(p_body -> 'last_refresh', 'last_refresh'),
        v_filters,
        CASE WHEN jsonb_typeof(p_body -> 'variables') = 'object' AND p_body -> 'variables' <> '{}'::jsonb
                 THEN p_body -> 'variables'
             WHEN ngx_dashboards_truthy(src.variables) THEN src.variables
             ELSE '{}'::jsonb END,
        CASE WHEN ngx_dashboards_truthy(src.breakdown_colors) THEN src.breakdown_colors
             WHEN p_body ? 'breakdown_colors' THEN nullif(p_body -> 'breakdown_colors', 'null'::jsonb)
             ELSE '[]'::jsonb END,
        CASE WHEN coalesce(src.data_color_theme_id, 0) <> 0 THEN src.data_color_theme_id
             ELSE ngx_dashboards_jint(p_body -> 'data_color_theme_id') END,
        CASE WHEN v_has_template THEN 'template' WHEN v_has_source THEN 'duplicate' ELSE 'default' END,
        coalesce(ngx_dashboards_jint(p_body -> 'restriction_level'), 21),
        CASE WHEN ngx_dashboards_truthy(src.quick_filter_ids) AND jsonb_typeof(src.quick_filter_ids) = 'array'
             THEN coalesce((SELECT jsonb_agg(e ORDER BY o) FROM jsonb_array_elements(src.quick_filter_ids)
                                   WITH ORDINALITY AS q(e, o)
                             WHERE EXISTS (SELECT 1 FROM posthog_quickfilter f
                                            WHERE f.team_id = c.team_id AND f.id::text = e #>> '{}')),
                           '[]'::jsonb)
             ELSE coalesce(v_quick, '[]'::jsonb) END,
        '{}'::jsonb, '{}', NULL, NULL, false)
    RETURNING id INTO v_id;

    IF v_has_template THEN
        IF NOT ngx_dashboards_apply_template(v_id, c.team_id, v_use_template) THEN
            PERFORM ngx_dashboards_validation(format('Invalid template provided: %s', v_use_template),
                                              'use_template');
        END IF;
    ELSIF src.id IS NOT NULL THEN
        FOR v_tile IN SELECT t.id FROM posthog_dashboardtile t
                       WHERE t.dashboard_id = src.id AND t.deleted IS DISTINCT FROM true
                       ORDER BY t.id LOOP
            PERFORM ngx_dashboards_clone_tile(v_tile, v_id, c.team_id, p_user_id,
                                             ngx_dashboards_truthy(p_body -> 'duplicate_tiles'));
        END LOOP;
    END IF;

    PERFORM ngx_dashboards_set_tags(c.team_id, v_id, NULL, p_body -> 'tags');

    RETURN ngx_dashboards_detail(v_id, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;

-- Remember the effective query, its JSON text and its cache key for each
-- insight tile of a dashboard (ngx_dashboards_query_memo, 016_query_memo.sql)
-- whose row is missing or was computed from other inputs; forget those of
-- insights no longer on it (or on a soft-deleted tile only).  The same
-- inputs as the tiles of the detail without a filters_override: the
-- dashboard's filters.  Called by a retrieve whose ?refresh= may compute
-- (not force_cache: results reach the cache only that way), so that
-- reading the cache writes nothing; a row locked by another such retrieve
-- is waited for.
CREATE OR REPLACE FUNCTION ngx_dashboards_query_memo_fill(p_dashboard_id int)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ngx_dashboards_query_memo x
     WHERE x.dashboard_id = p_dashboard_id
       AND NOT EXISTS (SELECT 1 FROM posthog_dashboardtile t
                        WHERE t.dashboard_id = p_dashboard_id AND t.insight_id = x.insight_id
                          AND t.deleted IS DISTINCT FROM true);
    INSERT INTO ngx_dashboards_query_memo AS m
           (insight_id, dashboard_id, query, filters, tile_filters, timezone, week_start_day, effective, cache_key,
            shown)
    SELECT i.id, d.id, i.query, d.filters, t.filters_overrides, tm.timezone, tm.week_start_day, e.query,
           ngx_dashboards_insight_cache_key(i.team_id, e.query), e.query::text
      FROM posthog_dashboard d
      JOIN posthog_dashboardtile t ON t.dashboard_id = d.id
      JOIN posthog_dashboarditem i ON i.id = t.insight_id
      JOIN posthog_team tm ON tm.id = i.team_id
     CROSS JOIN LATERAL (SELECT ngx_dashboards_apply_dashboard_filters(i.query, d.filters, t.filters_overrides)
                                AS query OFFSET 0) e
     WHERE d.id = p_dashboard_id AND t.deleted IS DISTINCT FROM true
       AND NOT EXISTS (SELECT FROM ngx_dashboards_query_memo_hit(i.id, d.id, i.team_id, i.query, d.filters,
                                                                 t.filters_overrides))
     -- in one order: two retrieves writing the same rows never wait on each other in a circle
     ORDER BY i.id
    ON CONFLICT (insight_id, dashboard_id) DO UPDATE
       SET query = EXCLUDED.query, filters = EXCLUDED.filters, tile_filters = EXCLUDED.tile_filters,
           timezone = EXCLUDED.timezone, week_start_day = EXCLUDED.week_start_day,
           effective = EXCLUDED.effective, cache_key = EXCLUDED.cache_key, shown = EXCLUDED.shown;
END $$;

-- GET retrieve.  last_accessed_at is written at most once a minute per
-- dashboard (PostHog writes it on every GET: README.md, "Differences from
-- PostHog"); overrides are merged over the stored objects.  p_refresh: the
-- raw ?refresh= value; p_outcomes: the insight computations of this request
-- (see ngx_dashboards_insight_obj, 012_insight_results.sql), with the
-- failed background computations async modes show
-- (ngx_dashboards_stored_outcomes); p_tile_filters_override: the request's
-- tile_filters_override (see ngx_dashboards_tiles).  The answer is the
-- JSON text of ngx_dashboards_detail, as it is sent.
-- Without sequential scans, as the detail (003_dashboard_json.sql): every
-- row the retrieve reads is found by a key with an index of its own
-- (the project's team, organization and membership in ngx_dashboards_ctx,
-- the dashboard and its tiles), and a sequential scan of a small table
-- reads its size from the kernel on every start: 0.02 ms less per
-- retrieve (bench/RESULTS.md, "Fewer executor nodes").
DROP FUNCTION IF EXISTS ngx_dashboards_retrieve(int, int, text, int, jsonb, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_retrieve(int, int, text, int, jsonb, jsonb, text, jsonb);
DROP FUNCTION IF EXISTS ngx_dashboards_retrieve(int, int, text, int, jsonb, jsonb, text, jsonb, jsonb);
CREATE OR REPLACE FUNCTION ngx_dashboards_retrieve(p_user_id int, p_project_id int, p_scoped_orgs text, p_id int,
                                                   p_filters_override jsonb, p_variables_override jsonb,
                                                   p_refresh text DEFAULT NULL, p_outcomes jsonb DEFAULT NULL,
                                                   p_tile_filters_override jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    c record;
    v_accessed timestamptz;
    v_text_only boolean;
    v_created_by int;
BEGIN
    c := ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    -- the access rules: on all dashboards before the dashboard is read, then
    -- on it (PostHog's AccessControlPermission); none to check when the
    -- context holds no rules (ngx_dashboards_ctx)
    IF (c.acl ->> 'ac')::boolean THEN
        c.acl := ngx_dashboards_gated(c.acl, c.level, 'viewer', p_id);
    END IF;
    -- v_text_only: only text tiles, the detail's small statement will do
    -- (a hint: that statement checks it again).  bool_and, not NOT EXISTS
    -- (.. text_id IS NULL): that one could be planned on the index of
    -- text_id, whose NULLs are all the insight tiles of every dashboard.
    SELECT d.last_accessed_at,
           coalesce((SELECT bool_and(x.text_id IS NOT NULL) FROM posthog_dashboardtile x
                      WHERE x.dashboard_id = d.id AND x.deleted IS DISTINCT FROM true), true),
           d.created_by_id
      INTO v_accessed, v_text_only, v_created_by
      FROM posthog_dashboard d JOIN posthog_team t ON t.id = d.team_id
     WHERE d.id = p_id AND t.project_id = c.project_id AND NOT d.deleted;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;
    IF (c.acl ->> 'ac')::boolean THEN
        -- the level found is remembered for the detail's user_access_level
        c.acl := ngx_dashboards_checked_object(c.acl, 'dashboard', p_id, v_created_by, p_user_id, c.level,
                                               'viewer');
    END IF;
    IF v_accessed IS NULL OR v_accessed < now() - interval '1 minute' THEN
        -- never wait for a writer holding the row: skip the bookkeeping instead
        UPDATE posthog_dashboard SET last_accessed_at = now()
         WHERE id = (SELECT x.id FROM posthog_dashboard x
                      WHERE x.id = p_id
                        AND (x.last_accessed_at IS NULL OR x.last_accessed_at < now() - interval '1 minute')
                        FOR UPDATE SKIP LOCKED);
    END IF;
    IF NOT v_text_only AND ngx_dashboards_refresh_mode(p_refresh) <> 'force_cache'
       AND jsonb_typeof(p_filters_override) IS DISTINCT FROM 'object' THEN
        PERFORM ngx_dashboards_query_memo_fill(p_id);
    END IF;
    RETURN ngx_dashboards_detail(p_id, p_user_id, c.level, c.adv, c.timezone,
                                 p_filters_override, p_variables_override, v_text_only, c.acl,
                                 ngx_dashboards_refresh_requested(p_refresh),
                                 ngx_dashboards_stored_outcomes(c.project_id, p_refresh, p_outcomes),
                                 p_tile_filters_override);
END $$;

-- PUT / PATCH (DashboardSerializer.update).  Both write only the keys present
-- in the body.
CREATE OR REPLACE FUNCTION ngx_dashboards_update(p_user_id int, p_project_id int, p_scoped_orgs text, p_id int,
                                                 p_body jsonb, p_partial boolean)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    d posthog_dashboard;
    v_quick jsonb;
    v_restore boolean;
    v_delete boolean;
    v_tile jsonb;
    v_tile_id int;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    p_body := coalesce(p_body, '{}'::jsonb);

    -- a deleted dashboard is found only when the body asks to restore it
    d := ngx_dashboards_edit_target(p_id, c.project_id, p_user_id, c.level, c.adv,
             p_body ? 'deleted' AND jsonb_typeof(p_body -> 'deleted') <> 'null'
             AND NOT coalesce(ngx_dashboards_jbool(p_body -> 'deleted', 'deleted'), true),
             p_acl => c.acl);

    -- serializer field validation
    IF p_body ? 'quick_filter_ids' THEN
        v_quick := ngx_dashboards_quick_filter_ids(c.team_id, p_body -> 'quick_filter_ids');
    END IF;
    IF p_body ? 'description' AND jsonb_typeof(p_body -> 'description') = 'null' THEN
        PERFORM ngx_dashboards_validation('This field may not be null.', 'description', 'null');
    END IF;
    IF p_body ? 'pinned' AND jsonb_typeof(p_body -> 'pinned') = 'null' THEN
        PERFORM ngx_dashboards_validation('This field may not be null.', 'pinned', 'null');
    END IF;
    IF p_body ? 'deleted' AND jsonb_typeof(p_body -> 'deleted') = 'null' THEN
        PERFORM ngx_dashboards_validation('This field may not be null.', 'deleted', 'null');
    END IF;
    IF p_body ? 'restriction_level' AND jsonb_typeof(p_body -> 'restriction_level') = 'null' THEN
        PERFORM ngx_dashboards_validation('This field may not be null.', 'restriction_level', 'null');
    END IF;

    PERFORM ngx_dashboards_check_restriction_level(p_body);

    IF p_body ? 'restriction_level'
       AND NOT (SELECT p.can_restrict FROM ngx_dashboards_perms(d.id, d.restriction_level, d.created_by_id,
                                                                p_user_id, c.level, c.adv, c.acl) p) THEN
        PERFORM ngx_dashboards_denied('Only the dashboard owner and project admins have the restriction rights '
                                      'required to change the dashboard''s restriction level.');
    END IF;

    v_delete := p_body ? 'deleted' AND ngx_dashboards_jbool(p_body -> 'deleted', 'deleted');
    v_restore := d.deleted AND p_body ? 'deleted' AND NOT ngx_dashboards_jbool(p_body -> 'deleted', 'deleted');

    IF v_restore THEN
        UPDATE posthog_dashboardtile SET deleted = false WHERE dashboard_id = d.id;
        UPDATE posthog_dashboarditem i SET deleted = false
          FROM posthog_dashboardtile t
         WHERE t.dashboard_id = d.id AND t.insight_id = i.id AND i.deleted;
    END IF;

    IF v_delete THEN
        IF coalesce(ngx_dashboards_jbool(p_body -> 'delete_insights', 'delete_insights'), false) THEN
            UPDATE posthog_dashboarditem i SET deleted = true
             WHERE i.id IN (SELECT t.insight_id FROM posthog_dashboardtile t
                             WHERE t.dashboard_id = d.id AND t.insight_id IS NOT NULL
                               AND t.deleted IS DISTINCT FROM true)
               AND (SELECT count(*) FROM posthog_dashboardtile o
                     WHERE o.insight_id = i.id AND o.deleted IS DISTINCT FROM true) = 1;
        END IF;
        UPDATE posthog_dashboardtile SET deleted = true WHERE dashboard_id = d.id;
        UPDATE posthog_team SET primary_dashboard_id = NULL
         WHERE id = d.team_id AND primary_dashboard_id = d.id;
    END IF;

    IF ngx_dashboards_truthy(p_body -> 'filters') AND jsonb_typeof(p_body -> 'filters') <> 'object' THEN
        PERFORM ngx_dashboards_validation('Filters must be a dictionary', NULL);
    END IF;
    IF ngx_dashboards_truthy(p_body -> 'variables') AND jsonb_typeof(p_body -> 'variables') <> 'object' THEN
        PERFORM ngx_dashboards_validation('Filters must be a dictionary', NULL);
    END IF;

    UPDATE posthog_dashboard SET
        name = CASE WHEN p_body ? 'name' THEN ngx_dashboards_jstr(p_body -> 'name', 'name', 400) ELSE name END,
        description = CASE WHEN p_body ? 'description'
                           THEN ngx_dashboards_jstr(p_body -> 'description', 'description') ELSE description END,
        pinned = CASE WHEN p_body ? 'pinned' THEN ngx_dashboards_jbool(p_body -> 'pinned', 'pinned') ELSE pinned END,
        last_accessed_at = CASE WHEN p_body ? 'last_accessed_at'
                                THEN ngx_dashboards_jtimestamp(p_body -> 'last_accessed_at', 'last_accessed_at')
                                ELSE last_accessed_at END,
        deleted = CASE WHEN p_body ? 'deleted' THEN ngx_dashboards_jbool(p_body -> 'deleted', 'deleted') ELSE deleted END,
        breakdown_colors = CASE WHEN p_body ? 'breakdown_colors'
                                THEN nullif(p_body -> 'breakdown_colors', 'null'::jsonb) ELSE breakdown_colors END,
        data_color_theme_id = CASE WHEN p_body ? 'data_color_theme_id'
                                   THEN ngx_dashboards_jint(p_body -> 'data_color_theme_id') ELSE data_color_theme_id END,
        restriction_level = CASE WHEN p_body ? 'restriction_level'
                                 THEN ngx_dashboards_jint(p_body -> 'restriction_level') ELSE restriction_level END,
        last_refresh = CASE WHEN p_body ? 'last_refresh'
                            THEN ngx_dashboards_jtimestamp(p_body -> 'last_refresh', 'last_refresh') ELSE last_refresh END,
        quick_filter_ids = CASE WHEN p_body ? 'quick_filter_ids' THEN v_quick ELSE quick_filter_ids END,
        filters = CASE WHEN ngx_dashboards_truthy(p_body -> 'filters') THEN p_body -> 'filters' ELSE filters END,
        variables = CASE WHEN ngx_dashboards_truthy(p_body -> 'variables') THEN p_body -> 'variables' ELSE variables END
     WHERE id = d.id
    RETURNING * INTO d;

    PERFORM ngx_dashboards_set_tags(d.team_id, d.id, NULL, p_body -> 'tags');

    IF jsonb_typeof(p_body -> 'tiles') = 'array' THEN
        FOR v_tile IN SELECT value FROM jsonb_array_elements(p_body -> 'tiles') LOOP
            PERFORM ngx_dashboards_update_tile(d, c.organization_id, p_user_id, v_tile, c.acl);
        END LOOP;
    END IF;

    IF jsonb_typeof(p_body -> 'duplicate_tiles') = 'array' THEN
        FOR v_tile IN SELECT value FROM jsonb_array_elements(p_body -> 'duplicate_tiles') LOOP
            v_tile_id := ngx_dashboards_jint(v_tile -> 'id');
            IF v_tile_id IS NOT NULL AND EXISTS (SELECT 1 FROM posthog_dashboardtile
                                                  WHERE id = v_tile_id AND dashboard_id = d.id) THEN
                PERFORM ngx_dashboards_clone_tile(v_tile_id, d.id, d.team_id, p_user_id, true,
                    CASE WHEN jsonb_typeof(v_tile -> 'layouts') = 'object' THEN v_tile -> 'layouts'
                         ELSE '{}'::jsonb END);
            END IF;
        END LOOP;
    END IF;

    RETURN ngx_dashboards_detail(d.id, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;
