-- migrate:repeatable
-- 007_tile_actions.sql: the tile actions of PostHog's DashboardsViewSet and
-- DashboardTile's copy / move methods: create_text_tile, update_text_tile,
-- delete_tile, copy_tile, move_tile, reorder_tiles.  Each is one function =
-- one statement = one transaction; the signatures are doc/CONTRACT.md's
-- (p_user_id, p_project_id, p_scoped_orgs, p_id, p_body jsonb).

-- helpers ------------------------------------------------------------------------

-- A number of a layout box, or p_default when missing or not a number.
CREATE OR REPLACE FUNCTION ngx_dashboards_layout_num(p_box jsonb, p_key text, p_default numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p_box -> p_key) = 'number' THEN (p_box ->> p_key)::numeric ELSE p_default END
$$;

-- Layout compaction after a tile is deleted (PostHog's
-- DashboardTile compaction in delete_tile): for every breakpoint key of the
-- remaining tiles, the tiles with a box there, in tile order (y, x, 100 when
-- missing; then id), each dropped to the lowest row where it overlaps none of
-- the tiles placed before it.  Only y is written, and only where it changes.
-- The layouts are read once, as (breakpoint, box) rows in placement order,
-- and the changes written at the end, one UPDATE for all the tiles that
-- moved: one query over the tiles placed so far per box, not a read of every
-- tile's whole layouts per breakpoint (tiles carrying a thousand keys each
-- made that minutes) nor a scan per jump (a column of n tiles made n^2).
CREATE OR REPLACE FUNCTION ngx_dashboards_compact_layouts(p_dashboard_id int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    bp text;
    r record;
    px numeric[];
    py numeric[];
    pw numeric[];
    ph numeric[];
    v_y numeric;
    n int;
    k int := 0;
    v_ids int[] := '{}';
    v_bps text[] := '{}';
    v_ys numeric[] := '{}';
BEGIN
    FOR r IN SELECT t.id, e.key AS bp, e.value AS box,
                    ngx_dashboards_layout_num(e.value, 'x', 0) AS x,
                    ngx_dashboards_layout_num(e.value, 'w', 1) AS w,
                    ngx_dashboards_layout_num(e.value, 'h', 1) AS h
               FROM posthog_dashboardtile t
              CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(t.layouts) = 'object'
                                                 THEN t.layouts ELSE '{}' END) e
              WHERE t.dashboard_id = p_dashboard_id AND t.deleted IS DISTINCT FROM true
                AND jsonb_typeof(e.value) = 'object'
              ORDER BY e.key, ngx_dashboards_layout_num(e.value, 'y', 100),
                       ngx_dashboards_layout_num(e.value, 'x', 100), t.id LOOP
        IF bp IS DISTINCT FROM r.bp THEN
            bp := r.bp;
            px := '{}'; py := '{}'; pw := '{}'; ph := '{}';
            n := 0;
        END IF;
        -- PostHog drops the tile from y = 0 and, while it overlaps placed
        -- tiles, jumps to the lowest bottom edge of those it overlaps: that
        -- ends at the lowest y >= 0 where it overlaps nothing (every row it
        -- jumps over overlaps the tile whose bottom it jumps to).  The same
        -- y in one pass, without the jumps (which cost a scan each: a
        -- column of n tiles took n^2 scans): of the placed tiles that share
        -- columns with it, in order of their top edge, the first whose top
        -- leaves room for the tile under the lowest bottom edge of the ones
        -- before it (at least 0) gives that bottom edge; when none does, the
        -- lowest bottom edge of all.  unnest, not subscripts: px[i] of a
        -- numeric array walks the array
        SELECT coalesce(min(s.m) FILTER (WHERE s.y >= s.m + r.h), greatest(0, max(s.y + s.h)))
          INTO v_y
          FROM (SELECT b.y, b.h, greatest(0, max(b.y + b.h) OVER (ORDER BY b.y ROWS BETWEEN UNBOUNDED PRECEDING
                                                                                   AND 1 PRECEDING)) AS m
                  FROM unnest(px, py, pw, ph) AS b(x, y, w, h)
                 WHERE r.x < b.x + b.w AND b.x < r.x + r.w) s;
        v_y := coalesce(v_y, 0);
        n := n + 1;
        px[n] := r.x; py[n] := v_y; pw[n] := r.w; ph[n] := r.h;
        IF jsonb_typeof(r.box -> 'y') IS DISTINCT FROM 'number' AND (r.box ? 'y' OR v_y <> 0)
           OR jsonb_typeof(r.box -> 'y') = 'number' AND (r.box ->> 'y')::numeric <> v_y THEN
            k := k + 1;
            v_ids[k] := r.id; v_bps[k] := r.bp; v_ys[k] := v_y;
        END IF;
    END LOOP;

    IF k > 0 THEN
        UPDATE posthog_dashboardtile t
           SET layouts = (SELECT jsonb_object_agg(e.key, CASE WHEN u.ys ? e.key
                                                              THEN e.value || jsonb_build_object('y', u.ys -> e.key)
                                                              ELSE e.value END)
                            FROM jsonb_each(t.layouts) e)
          FROM (SELECT c.id, jsonb_object_agg(c.bp, c.y) AS ys
                  FROM unnest(v_ids, v_bps, v_ys) AS c(id, bp, y) GROUP BY c.id) u
         WHERE t.id = u.id;
    END IF;
END $$;

-- endpoints -------------------------------------------------------------------------

-- POST create_text_tile.  Body (checked by C): body, layouts?, color?.
-- Returns the tile (order null); C answers 201.
CREATE OR REPLACE FUNCTION ngx_dashboards_create_text_tile(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                          p_id int, p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    d posthog_dashboard;
    v_text int;
    v_tile int;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    d := ngx_dashboards_edit_target(p_id, c.project_id, p_user_id, c.level, c.adv, p_acl => c.acl);

    INSERT INTO posthog_text (body, created_by_id, last_modified_at, last_modified_by_id, team_id)
    VALUES (ngx_dashboards_jstr(p_body -> 'body', 'body', 4000, 'Text body cannot exceed 4000 characters'),
            p_user_id, now(), NULL, d.team_id)
    RETURNING id INTO v_text;
    INSERT INTO posthog_dashboardtile (dashboard_id, text_id, team_id, layouts, color, filters_hash, last_refresh,
                                       refreshing, refresh_attempt, filters_overrides, show_description,
                                       transparent_background, deleted)
    VALUES (d.id, v_text, d.team_id,
            CASE WHEN jsonb_typeof(p_body -> 'layouts') = 'object' THEN p_body -> 'layouts' ELSE '{}'::jsonb END,
            ngx_dashboards_jstr(p_body -> 'color', 'color', 400, 'Color cannot exceed 400 characters'),
            NULL, NULL, NULL, NULL, '{}'::jsonb, NULL, NULL, NULL)
    RETURNING id INTO v_tile;

    RETURN ngx_dashboards_tile_json(v_tile, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;

-- POST update_text_tile.  Body: tile_id, body?, layouts? (replaces),
-- color? (null or "" as sent).  The text's last_modified_* are always set.
CREATE OR REPLACE FUNCTION ngx_dashboards_update_text_tile(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                          p_id int, p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    d posthog_dashboard;
    t posthog_dashboardtile;
    v_text int;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    d := ngx_dashboards_edit_target(p_id, c.project_id, p_user_id, c.level, c.adv, p_acl => c.acl);

    SELECT * INTO t FROM posthog_dashboardtile
     WHERE id = ngx_dashboards_jint(p_body -> 'tile_id') AND dashboard_id = d.id AND deleted IS DISTINCT FROM true
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;
    IF t.text_id IS NULL THEN
        PERFORM ngx_dashboards_validation('Tile is not a text tile.', NULL);
    END IF;

    -- a text also shown on a dashboard the user may not edit is copied for
    -- this tile first (ngx_dashboards_own_text): the change reaches only the
    -- dashboards the user may edit
    v_text := ngx_dashboards_own_text(d.id, t.text_id, p_user_id, c.acl);
    UPDATE posthog_text SET
        body = CASE WHEN p_body ? 'body'
                    THEN ngx_dashboards_jstr(p_body -> 'body', 'body', 4000, 'Text body cannot exceed 4000 characters')
                    ELSE body END,
        last_modified_by_id = p_user_id,
        last_modified_at = now()
     WHERE id = v_text;
    IF p_body ? 'layouts' OR p_body ? 'color' THEN
        UPDATE posthog_dashboardtile SET
            layouts = CASE WHEN p_body ? 'layouts'
                           THEN coalesce(nullif(p_body -> 'layouts', 'null'::jsonb), '{}'::jsonb) ELSE layouts END,
            color = CASE WHEN p_body ? 'color'
                         THEN ngx_dashboards_jstr(p_body -> 'color', 'color', 400, 'Color cannot exceed 400 characters')
                         ELSE color END
         WHERE id = t.id;
    END IF;

    RETURN ngx_dashboards_tile_json(t.id, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;

-- POST delete_tile: soft delete, then PostHog's layout compaction.  C
-- answers 204 with no body.
CREATE OR REPLACE FUNCTION ngx_dashboards_delete_tile(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                     p_id int, p_body jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c record;
    d posthog_dashboard;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    d := ngx_dashboards_edit_target(p_id, c.project_id, p_user_id, c.level, c.adv, p_acl => c.acl);

    UPDATE posthog_dashboardtile SET deleted = true
     WHERE id = ngx_dashboards_jint(p_body -> 'tile_id') AND dashboard_id = d.id AND deleted IS DISTINCT FROM true;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;
    PERFORM ngx_dashboards_compact_layouts(d.id);
END $$;

-- POST copy_tile (DashboardTile.copy_to_dashboard).  The URL dashboard is
-- the destination; body
-- fromDashboardId, tileId.  Insight and text tiles are shared (a soft-deleted
-- row of the same content on the destination is revived), widget tiles
-- deep-cloned, buttons refused.  Returns the destination's detail.
CREATE OR REPLACE FUNCTION ngx_dashboards_copy_tile(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                   p_id int, p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    d posthog_dashboard;
    v_from int := ngx_dashboards_jint(p_body -> 'fromDashboardId');
    t posthog_dashboardtile;
    v_from_creator int;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    d := ngx_dashboards_edit_target(p_id, c.project_id, p_user_id, c.level, c.adv, p_acl => c.acl);

    IF v_from = d.id THEN
        PERFORM ngx_dashboards_validation('Destination must be a different dashboard than the source.', NULL);
    END IF;
    -- the source: in the project and not deleted, and viewable under the
    -- access rules (v1 restrictions never block viewing)
    SELECT s.created_by_id INTO v_from_creator
      FROM posthog_dashboard s JOIN posthog_team tm ON tm.id = s.team_id
      WHERE s.id = v_from AND tm.project_id = c.project_id AND NOT s.deleted;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;
    PERFORM ngx_dashboards_check_object(c.acl, 'dashboard', v_from, v_from_creator, p_user_id, c.level, 'viewer');
    SELECT * INTO t FROM posthog_dashboardtile
     WHERE id = ngx_dashboards_jint(p_body -> 'tileId') AND dashboard_id = v_from AND deleted IS DISTINCT FROM true;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;

    IF t.widget_id IS NULL THEN
        IF t.insight_id IS NULL AND t.text_id IS NULL THEN
            PERFORM ngx_dashboards_validation('Only insight, text, and widget tiles can be copied between dashboards.', NULL);
        END IF;
        IF EXISTS (SELECT 1 FROM posthog_dashboardtile o
                    WHERE o.dashboard_id = d.id AND o.deleted IS DISTINCT FROM true
                      AND (o.insight_id = t.insight_id OR o.text_id = t.text_id)) THEN
            PERFORM ngx_dashboards_validation(CASE WHEN t.insight_id IS NOT NULL
                                                   THEN 'This insight is already on the destination dashboard.'
                                                   ELSE 'This text card is already on the destination dashboard.' END,
                                              NULL);
        END IF;
    END IF;
    -- shared link (revived when soft-deleted there); widgets are cloned
    PERFORM ngx_dashboards_clone_tile(t.id, d.id, d.team_id, p_user_id, false);

    RETURN ngx_dashboards_detail(d.id, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;

-- PATCH / POST move_tile (DashboardTile.prepare_move_to_dashboard).  The URL
-- dashboard is the source;
-- body to_dashboard (C copies the older toDashboard), tile {id}.  Rows of the
-- same content on the destination: soft-deleted ones are removed, a live one
-- refuses the move.  Returns the source's detail.
CREATE OR REPLACE FUNCTION ngx_dashboards_move_tile(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                   p_id int, p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    d posthog_dashboard;
    dest posthog_dashboard;
    t posthog_dashboardtile;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    -- both dashboards are written: their rows are locked, in id order (a
    -- move the other way waits instead of deadlocking), before the checks,
    -- so that a copy_tile / move_tile into the destination cannot slip in
    -- between the check for the same content there and the move
    PERFORM 1 FROM posthog_dashboard x JOIN posthog_team tm ON tm.id = x.team_id
      WHERE x.id IN (p_id, ngx_dashboards_jint(p_body -> 'to_dashboard')) AND tm.project_id = c.project_id
      ORDER BY x.id
        FOR NO KEY UPDATE OF x;
    d := ngx_dashboards_edit_target(p_id, c.project_id, p_user_id, c.level, c.adv, p_acl => c.acl);

    SELECT * INTO t FROM posthog_dashboardtile
     WHERE id = ngx_dashboards_jint(p_body -> 'tile' -> 'id') AND dashboard_id = d.id
       AND deleted IS DISTINCT FROM true
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;
    -- the destination as the URL dashboard: 404, then 403.  PostHog checks it
    -- with the viewset's object permissions (CanEditDashboard) first, so its
    -- message is the generic one; the explicit "... for the destination
    -- dashboard." check after it never fires
    dest := ngx_dashboards_edit_target(ngx_dashboards_jint(p_body -> 'to_dashboard'), c.project_id,
                                       p_user_id, c.level, c.adv, p_acl => c.acl);

    IF EXISTS (SELECT 1 FROM posthog_dashboardtile o
                WHERE o.dashboard_id = dest.id AND o.id <> t.id AND o.deleted IS DISTINCT FROM true
                  AND (o.insight_id = t.insight_id OR o.text_id = t.text_id
                       OR o.button_tile_id = t.button_tile_id OR o.widget_id = t.widget_id)) THEN
        PERFORM ngx_dashboards_validation('Invalid request data for moving tile.', NULL);
    END IF;
    DELETE FROM posthog_dashboardtile o
     WHERE o.dashboard_id = dest.id AND o.id <> t.id AND o.deleted IS TRUE
       AND (o.insight_id = t.insight_id OR o.text_id = t.text_id
            OR o.button_tile_id = t.button_tile_id OR o.widget_id = t.widget_id);
    UPDATE posthog_dashboardtile SET dashboard_id = dest.id, team_id = dest.team_id WHERE id = t.id;

    RETURN ngx_dashboards_detail(d.id, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;

-- POST reorder_tiles.  Body: tile_order [int] (1..), layout
-- preserve | two_column | full_width (C fills preserve).  Only the listed
-- tiles get new layouts {sm, xs}.  Errors are {"detail": ..} bodies.
CREATE OR REPLACE FUNCTION ngx_dashboards_reorder_tiles(p_user_id int, p_project_id int, p_scoped_orgs text,
                                                       p_id int, p_body jsonb)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    c record;
    d posthog_dashboard;
    v_order bigint[];
    v_missing text;
    v_mode text := coalesce(p_body ->> 'layout', 'preserve');
    v_ids int[] := '{}';
    v_layouts jsonb[] := '{}';
    r record;
    heights numeric[] := array_fill(0::numeric, ARRAY[12]);
    v_wn numeric;
    v_w int;
    v_h numeric;
    v_x int;
    v_top numeric;
    v_best_x int;
    v_best_y numeric;
    v_xs_y numeric := 0;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    d := ngx_dashboards_edit_target(p_id, c.project_id, p_user_id, c.level, c.adv, p_acl => c.acl);

    SELECT array_agg((e #>> '{}')::numeric::bigint ORDER BY n) INTO v_order
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_body -> 'tile_order') = 'array'
                                     THEN p_body -> 'tile_order' ELSE '[]' END) WITH ORDINALITY AS a(e, n);
    IF cardinality(v_order) <> (SELECT count(DISTINCT o) FROM unnest(v_order) o) THEN
        PERFORM ngx_dashboards_fail_key(400, 'detail', 'tile_order must contain unique tile IDs');
    END IF;
    SELECT string_agg(o::text, ', ' ORDER BY o) INTO v_missing
      FROM unnest(v_order) o
     WHERE NOT EXISTS (SELECT 1 FROM posthog_dashboardtile t
                        WHERE t.id = o AND t.dashboard_id = d.id AND t.deleted IS DISTINCT FROM true);
    IF v_missing IS NOT NULL THEN
        PERFORM ngx_dashboards_fail_key(404, 'detail', 'Tile IDs not found on this dashboard: [' || v_missing || ']');
    END IF;

    FOR r IN SELECT t.id, n - 1 AS i, t.layouts -> 'sm' AS sm
               FROM unnest(v_order) WITH ORDINALITY AS o(id, n)
               JOIN posthog_dashboardtile t ON t.id = o.id
              ORDER BY n LOOP
        v_ids := v_ids || r.id;
        IF v_mode = 'two_column' THEN
            v_layouts := v_layouts || jsonb_build_object(
                'sm', jsonb_build_object('x', (r.i % 2) * 6, 'y', (r.i / 2) * 5, 'w', 6, 'h', 5),
                'xs', jsonb_build_object('x', 0, 'y', r.i * 5, 'w', 1, 'h', 5));
        ELSIF v_mode = 'full_width' THEN
            v_layouts := v_layouts || jsonb_build_object(
                'sm', jsonb_build_object('x', 0, 'y', r.i * 5, 'w', 12, 'h', 5),
                'xs', jsonb_build_object('x', 0, 'y', r.i * 5, 'w', 1, 'h', 5));
        ELSE
            -- skyline packing: keep the tile's sm size (a positive integer, else 6 x 5)
            v_wn := CASE WHEN jsonb_typeof(r.sm -> 'w') = 'number' AND (r.sm ->> 'w') ~ '^\d+$'
                             AND (r.sm ->> 'w')::numeric > 0 THEN (r.sm ->> 'w')::numeric
                        WHEN r.sm -> 'w' = 'true'::jsonb THEN 1 ELSE 6 END;
            v_h := CASE WHEN jsonb_typeof(r.sm -> 'h') = 'number' AND (r.sm ->> 'h') ~ '^\d+$'
                             AND (r.sm ->> 'h')::numeric > 0 THEN (r.sm ->> 'h')::numeric
                        WHEN r.sm -> 'h' = 'true'::jsonb THEN 1 ELSE 5 END;
            v_w := greatest(1, least(v_wn, 12));
            v_best_x := 0;
            v_best_y := (SELECT max(v) FROM unnest(heights[1:v_w]) v);
            FOR v_x IN 1 .. 12 - v_w LOOP
                v_top := (SELECT max(v) FROM unnest(heights[v_x + 1:v_x + v_w]) v);
                IF v_top < v_best_y THEN
                    v_best_x := v_x;
                    v_best_y := v_top;
                END IF;
            END LOOP;
            v_layouts := v_layouts || jsonb_build_object(
                'sm', jsonb_build_object('x', v_best_x, 'y', v_best_y, 'w', v_w, 'h', v_h),
                'xs', jsonb_build_object('x', 0, 'y', v_xs_y, 'w', 1, 'h', v_h));
            FOR v_x IN v_best_x + 1 .. v_best_x + v_w LOOP
                heights[v_x] := v_best_y + v_h;
            END LOOP;
            v_xs_y := v_xs_y + v_h;
        END IF;
    END LOOP;

    UPDATE posthog_dashboardtile t SET layouts = u.layouts
      FROM unnest(v_ids, v_layouts) AS u(id, layouts)
     WHERE t.id = u.id;

    RETURN ngx_dashboards_detail(d.id, p_user_id, c.level, c.adv, c.timezone, p_acl => c.acl);
END $$;
