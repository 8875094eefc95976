-- bench/dataset-actions.sql: the dashboards the action endpoints
-- (create_text_tile, reorder_tiles, bulk_update_tags) write to, loaded by
-- bench/run after bench/dataset.sql:
--
--   psql -v ON_ERROR_STOP=1 -v base_dash=10000 -v base_tile=100000 -f bench/dataset-actions.sql
--
-- A second project and team (id 2) of the same organization, so that
-- project 1 (retrieve, list, PATCH) stays exactly as bench/dataset.sql
-- leaves it.  With b = :base_dash (the last dashboard id of project 1):
--   b+1    .. b+1000   reorder_tiles: 20 text tiles each (tile and text ids
--                      :base_tile + (d - b - 1) * 20 + 1..20), two-column grid
--   b+1001 .. b+2000   create_text_tile: no tiles; bench/run deletes the
--                      tiles created here before every measured run
--   b+2001 .. b+12000  bulk_update_tags: 2 of 5 tags each, no tiles
--   b+12001            "tag anchor": holds every tag the benchmark uses, so
--                      that none becomes an orphan (and is deleted and
--                      created again) while tags come and go elsewhere
-- One transaction.
\set ON_ERROR_STOP 1

BEGIN;

INSERT INTO posthog_project (id, organization_id, name, created_at, product_description)
VALUES (2, '0189f0a0-0000-7000-8000-0000000be001', 'Bench Actions', now(), 'ngx_dashboards benchmark: actions');

INSERT INTO posthog_team (id, uuid, organization_id, project_id, api_token, name, created_at, updated_at,
        timezone, app_urls, anonymize_ips, completed_snippet_onboarding, ingested_event, is_demo,
        access_control, test_account_filters)
VALUES (2, '0189f0a0-0000-7000-8000-0000000be004', '0189f0a0-0000-7000-8000-0000000be001', 2,
        'phc_bench_actions_token', 'Bench Actions', now(), now(),
        'UTC', '{}', false, true, true, false, false, '[]'::jsonb);

INSERT INTO posthog_dashboard (id, name, description, team_id, pinned, created_at, created_by_id, deleted,
        last_accessed_at, filters, variables, breakdown_colors, creation_mode, restriction_level,
        quick_filter_ids, customization, deprecated_tags, is_shared)
SELECT :base_dash + i,
       CASE WHEN i <= 1000 THEN format('Reorder %s', lpad(i::text, 4, '0'))
            WHEN i <= 2000 THEN format('Create tiles %s', lpad((i - 1000)::text, 4, '0'))
            WHEN i <= 12000 THEN format('Tags %s', lpad((i - 2000)::text, 5, '0'))
            ELSE 'Tag anchor' END,
       'Benchmark dashboard for the action endpoints.',
       2, false, now() - (i || ' minutes')::interval, 1, false,
       NULL, '{}'::jsonb, '{}'::jsonb, '[]'::jsonb, 'default', 21, '[]'::jsonb, '{}'::jsonb, '{}', false
  FROM generate_series(1, 12001) i;

INSERT INTO posthog_text (id, body, created_by_id, last_modified_at, last_modified_by_id, team_id)
SELECT :base_tile + (i - 1) * 20 + k,
       format(E'## Tile %s of reorder dashboard %s\nNotes for the weekly review go here.', k, i),
       1, now() - (i || ' minutes')::interval, NULL, 2
  FROM generate_series(1, 1000) i, generate_series(1, 20) k;

INSERT INTO posthog_dashboardtile (id, dashboard_id, text_id, team_id, layouts, color, filters_overrides, deleted)
SELECT :base_tile + (i - 1) * 20 + k, :base_dash + i, :base_tile + (i - 1) * 20 + k, 2,
       jsonb_build_object(
           'sm', jsonb_build_object('x', ((k - 1) % 2) * 6, 'y', ((k - 1) / 2) * 5, 'w', 6, 'h', 5),
           'xs', jsonb_build_object('x', 0, 'y', (k - 1) * 5, 'w', 1, 'h', 5)),
       CASE WHEN k % 4 = 0 THEN 'blue' END, '{}'::jsonb, NULL
  FROM generate_series(1, 1000) i, generate_series(1, 20) k;

INSERT INTO posthog_tag (id, name, team_id)
SELECT gen_random_uuid(), n, 2
  FROM unnest(ARRAY['marketing', 'product', 'engineering', 'kpi', 'weekly',
                    'bench-a', 'bench-b', 'bench-q3']) AS t(n);

INSERT INTO posthog_taggeditem (id, tag_id, dashboard_id)
SELECT gen_random_uuid(), tg.id, :base_dash + i
  FROM generate_series(2001, 12000) i
 CROSS JOIN (VALUES (0), (2)) AS v(o)
  JOIN posthog_tag tg ON tg.team_id = 2
   AND tg.name = (ARRAY['marketing', 'product', 'engineering', 'kpi', 'weekly'])[1 + (i + o) % 5];

INSERT INTO posthog_taggeditem (id, tag_id, dashboard_id)
SELECT gen_random_uuid(), tg.id, :base_dash + 12001
  FROM posthog_tag tg WHERE tg.team_id = 2;

SELECT setval(pg_get_serial_sequence('posthog_team', 'id'), 2) AS s1,
       setval(pg_get_serial_sequence('posthog_dashboard', 'id'), :base_dash + 12001) AS s3,
       setval(pg_get_serial_sequence('posthog_text', 'id'), :base_tile + 20000) AS s4,
       setval(pg_get_serial_sequence('posthog_dashboardtile', 'id'), :base_tile + 20000) AS s5
\gset

COMMIT;
