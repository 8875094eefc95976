-- bench/dataset.sql: the benchmark dataset, set-based (generate_series).
--
--   psql -v ON_ERROR_STOP=1 -v key_hash='sha256$<hex>' -v key_mask='phx_...abcd' \
--        -v dashboards=10000 -v tiles=10 -f bench/dataset.sql
--
-- Into an empty, migrated database (bench/run creates one): organization
-- "Bench Org" (features advanced_permissions, tagging), project and team 1,
-- user bench@example.com (owner) with a personal API key, scopes {*},
-- :dashboards dashboards (ids 1..N, created by that user, restriction level
-- 21) with :tiles text tiles each (ids explicit, so every tile and text id
-- follows from its dashboard id), layouts in a two-column grid for sm and a
-- single column for xs, and 2 of 5 tags per dashboard.  One transaction.
\set ON_ERROR_STOP 1
\if :{?dashboards}
\else
\set dashboards 10000
\endif
\if :{?tiles}
\else
\set tiles 10
\endif
\if :{?key_mask}
\else
\set key_mask 'phx_...bnch'
\endif

BEGIN;

INSERT INTO posthog_organization (id, name, slug, created_at, updated_at, plugins_access_level,
        for_internal_metrics, is_member_join_email_enabled, available_product_features,
        members_can_use_personal_api_keys, personalization, domain_whitelist)
VALUES ('0189f0a0-0000-7000-8000-0000000be001', 'Bench Org', 'bench-org', now(), now(), 9, false, true,
        '[{"key": "advanced_permissions", "name": "Advanced permissions"},
          {"key": "tagging", "name": "Dashboard tags"}]'::jsonb,
        true, '{}'::jsonb, '{}');

INSERT INTO posthog_project (id, organization_id, name, created_at, product_description)
VALUES (1, '0189f0a0-0000-7000-8000-0000000be001', 'Bench Project', now(), 'ngx_dashboards benchmark');

INSERT INTO posthog_team (id, uuid, organization_id, project_id, api_token, name, created_at, updated_at,
        timezone, app_urls, anonymize_ips, completed_snippet_onboarding, ingested_event, is_demo,
        access_control, test_account_filters)
VALUES (1, '0189f0a0-0000-7000-8000-0000000be002', '0189f0a0-0000-7000-8000-0000000be001', 1,
        'phc_bench_project_token', 'Bench Project', now(), now(),
        'UTC', '{}', false, true, true, false, false, '[]'::jsonb);

INSERT INTO posthog_user (id, password, first_name, last_name, is_staff, is_active, date_joined, uuid, email,
        distinct_id, is_email_verified, events_column_config, current_organization_id, current_team_id)
VALUES (1, '', 'Bench', 'User', false, true, now(), '0189f0a0-0000-7000-8000-0000000be003',
        'bench@example.com', 'bench-user-distinct-id', true, '{"active": "DEFAULT"}'::jsonb,
        '0189f0a0-0000-7000-8000-0000000be001', 1);

INSERT INTO posthog_organizationmembership (id, organization_id, user_id, level, joined_at, updated_at)
VALUES (gen_random_uuid(), '0189f0a0-0000-7000-8000-0000000be001', 1, 15, now(), now());

INSERT INTO posthog_personalapikey (id, user_id, label, secure_value, mask_value, created_at, scopes,
        scoped_teams, scoped_organizations)
VALUES ('bench-personal-api-key', 1, 'Bench key', :'key_hash', :'key_mask', now(), '{*}', '{}', '{}');

INSERT INTO posthog_dashboard (id, name, description, team_id, pinned, created_at, created_by_id, deleted,
        last_accessed_at, filters, variables, breakdown_colors, creation_mode, restriction_level,
        quick_filter_ids, customization, deprecated_tags, is_shared)
SELECT d, format('Dashboard %s', lpad(d::text, 5, '0')),
       format('Benchmark dashboard number %s: ten text tiles in a two-column grid.', d),
       1, d % 100 = 0, now() - (d || ' minutes')::interval, 1, false,
       NULL, CASE WHEN d % 3 = 0 THEN '{"date_from": "-30d"}' ELSE '{}' END::jsonb,
       '{}'::jsonb, '[]'::jsonb, 'default', 21, '[]'::jsonb, '{}'::jsonb, '{}', false
  FROM generate_series(1, :dashboards) d;

INSERT INTO posthog_text (id, body, created_by_id, last_modified_at, last_modified_by_id, team_id)
SELECT (d - 1) * :tiles + k,
       format(E'## Tile %s of dashboard %s\nSign-ups, traffic and conversion at a glance; '
              'notes for the weekly review go here.', k, d),
       1, now() - (d || ' minutes')::interval, NULL, 1
  FROM generate_series(1, :dashboards) d, generate_series(1, :tiles) k;

INSERT INTO posthog_dashboardtile (id, dashboard_id, text_id, team_id, layouts, color, filters_overrides, deleted)
SELECT (d - 1) * :tiles + k, d, (d - 1) * :tiles + k, 1,
       jsonb_build_object(
           'sm', jsonb_build_object('x', ((k - 1) % 2) * 6, 'y', ((k - 1) / 2) * 5, 'w', 6, 'h', 5),
           'xs', jsonb_build_object('x', 0, 'y', (k - 1) * 5, 'w', 1, 'h', 5)),
       CASE WHEN k % 4 = 0 THEN 'blue' END, '{}'::jsonb, NULL
  FROM generate_series(1, :dashboards) d, generate_series(1, :tiles) k;

INSERT INTO posthog_tag (id, name, team_id)
SELECT ('0189f0a0-0000-7000-8000-0000000b7a0' || i)::uuid, n, 1
  FROM unnest(ARRAY['marketing', 'product', 'engineering', 'kpi', 'weekly']) WITH ORDINALITY AS t(n, i);

INSERT INTO posthog_taggeditem (id, tag_id, dashboard_id)
SELECT gen_random_uuid(), ('0189f0a0-0000-7000-8000-0000000b7a0' || (1 + (d + o) % 5))::uuid, d
  FROM generate_series(1, :dashboards) d, (VALUES (0), (2)) AS v(o);

SELECT setval(pg_get_serial_sequence('posthog_team', 'id'), 1) AS s1,
       setval(pg_get_serial_sequence('posthog_user', 'id'), 1) AS s2,
       setval(pg_get_serial_sequence('posthog_dashboard', 'id'), :dashboards) AS s3,
       setval(pg_get_serial_sequence('posthog_text', 'id'), :dashboards * :tiles) AS s4,
       setval(pg_get_serial_sequence('posthog_dashboardtile', 'id'), :dashboards * :tiles) AS s5
\gset

UPDATE posthog_team SET primary_dashboard_id = 1 WHERE id = 1;

COMMIT;
