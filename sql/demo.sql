-- sql/demo.sql: a small demo dataset.
--
--   psql -v ON_ERROR_STOP=1 -v key_hash='sha256$<hex of sha256(key)>' -v key_mask='phx_...abcd' -f sql/demo.sql
--
-- Creates organization "Demo Org" (feature advanced_permissions), project and
-- team 1 "Demo Project", user demo@example.com (owner), a personal API key
-- with scopes {*} stored as :key_hash, and three dashboards with text tiles,
-- tags and one insight tile.  Does nothing when "Demo Org" already exists.
-- Then, once, events, persons and insight tiles for the trends engine.
\set ON_ERROR_STOP 1

\if :{?key_hash}
\else
\warn 'demo.sql: pass -v key_hash=sha256$<hex> (and optionally -v key_mask=phx_...abcd)'
SELECT 1 / 0 AS demo_sql_needs_key_hash;
\endif
\if :{?key_mask}
\else
\set key_mask 'phx_...demo'
\endif

BEGIN;
SELECT pg_advisory_xact_lock(7268710023512) AS demo_lock \gset
SELECT NOT EXISTS (SELECT 1 FROM posthog_organization WHERE name = 'Demo Org') AS demo_needed \gset

\if :demo_needed

INSERT INTO posthog_organization (id, name, slug, created_at, updated_at, plugins_access_level,
        for_internal_metrics, is_member_join_email_enabled, available_product_features,
        members_can_use_personal_api_keys, personalization, domain_whitelist)
VALUES ('0189f0a0-0000-7000-8000-00000000d001', 'Demo Org', 'demo-org', now(), now(), 9, false, true,
        '[{"key": "advanced_permissions", "name": "Advanced permissions"},
          {"key": "tagging", "name": "Dashboard tags"}]'::jsonb,
        true, '{}'::jsonb, '{}');

INSERT INTO posthog_project (id, organization_id, name, created_at, product_description)
VALUES (1, '0189f0a0-0000-7000-8000-00000000d001', 'Demo Project', now(), 'Demo data for ngx_dashboards');

INSERT INTO posthog_team (id, uuid, organization_id, project_id, api_token, name, created_at, updated_at,
        timezone, app_urls, anonymize_ips, completed_snippet_onboarding, ingested_event, is_demo,
        access_control, test_account_filters)
VALUES (1, '0189f0a0-0000-7000-8000-00000000e001', '0189f0a0-0000-7000-8000-00000000d001', 1,
        'phc_demo_project_token_ngx_dashboards', 'Demo Project', now(), now(),
        'UTC', '{}', false, true, true, true, false, '[]'::jsonb);
SELECT setval(pg_get_serial_sequence('posthog_team', 'id'),
              greatest((SELECT max(id) FROM posthog_team), 1)) AS demo_team_seq \gset

INSERT INTO posthog_user (password, first_name, last_name, is_staff, is_active, date_joined, uuid, email,
        distinct_id, is_email_verified, events_column_config, current_organization_id, current_team_id)
VALUES ('', 'Demo', 'User', false, true, now(), '0189f0a0-0000-7000-8000-00000000f001', 'demo@example.com',
        'demo-user-distinct-id', true, '{"active": "DEFAULT"}'::jsonb,
        '0189f0a0-0000-7000-8000-00000000d001', 1);

INSERT INTO posthog_organizationmembership (id, organization_id, user_id, level, joined_at, updated_at)
SELECT gen_random_uuid(), '0189f0a0-0000-7000-8000-00000000d001', u.id, 15, now(), now()
  FROM posthog_user u WHERE u.email = 'demo@example.com';

INSERT INTO posthog_personalapikey (id, user_id, label, secure_value, mask_value, created_at, scopes,
        scoped_teams, scoped_organizations)
SELECT 'demo-personal-api-key', u.id, 'Demo key', :'key_hash', :'key_mask', now(), '{*}', '{}', '{}'
  FROM posthog_user u WHERE u.email = 'demo@example.com';

-- dashboards, texts, tiles, tags
CREATE TEMP TABLE demo_dash ON COMMIT DROP AS
WITH u AS (SELECT id FROM posthog_user WHERE email = 'demo@example.com'),
ins AS (
    INSERT INTO posthog_dashboard (name, description, team_id, pinned, created_at, created_by_id, deleted,
            filters, variables, breakdown_colors, creation_mode, restriction_level, quick_filter_ids,
            customization, deprecated_tags, is_shared)
    SELECT v.name, v.description, 1, v.pinned, now(), u.id, false,
           v.filters::jsonb, '{}'::jsonb, '[]'::jsonb, 'default', 21, '[]'::jsonb, '{}'::jsonb, '{}', false
      FROM u, (VALUES ('Marketing overview', 'Traffic and campaign KPIs', true, '{"date_from": "-30d"}'),
                      ('Product metrics', 'Activation and retention', false, '{}'),
                      ('Engineering health', '', false, '{}')) AS v(name, description, pinned, filters)
    RETURNING id, name)
SELECT id, name FROM ins;

CREATE TEMP TABLE demo_text ON COMMIT DROP AS
WITH u AS (SELECT id FROM posthog_user WHERE email = 'demo@example.com'),
src (dash, body, layouts) AS (VALUES
    ('Marketing overview', '## Weekly KPIs\nSign-ups, traffic and conversion at a glance.',
     '{"sm": {"x": 0, "y": 0, "w": 6, "h": 5}, "xs": {"x": 0, "y": 0, "w": 1, "h": 5}}'),
    ('Marketing overview', 'Campaign notes: spring launch starts on the 1st.',
     '{"sm": {"x": 6, "y": 0, "w": 6, "h": 5}, "xs": {"x": 0, "y": 5, "w": 1, "h": 5}}'),
    ('Product metrics', '## Activation\nUsers who finish onboarding within 7 days.',
     '{"sm": {"x": 0, "y": 0, "w": 12, "h": 4}, "xs": {"x": 0, "y": 0, "w": 1, "h": 4}}'),
    ('Engineering health', 'Deploys, incidents and error budget.',
     '{"sm": {"x": 0, "y": 0, "w": 6, "h": 5}, "xs": {"x": 0, "y": 0, "w": 1, "h": 5}}')),
ins AS (
    INSERT INTO posthog_text (body, created_by_id, last_modified_at, last_modified_by_id, team_id)
    SELECT replace(s.body, '\n', E'\n'), u.id, now(), NULL, 1 FROM src s, u
    RETURNING id, body)
SELECT i.id AS text_id, d.id AS dashboard_id, s.layouts::jsonb AS layouts
  FROM ins i
  JOIN src s ON replace(s.body, '\n', E'\n') = i.body
  JOIN demo_dash d ON d.name = s.dash;

INSERT INTO posthog_dashboardtile (dashboard_id, text_id, team_id, layouts, color, filters_overrides, deleted)
SELECT dashboard_id, text_id, 1, layouts, NULL, '{}'::jsonb, NULL FROM demo_text;

WITH u AS (SELECT id FROM posthog_user WHERE email = 'demo@example.com'),
ins AS (
    INSERT INTO posthog_dashboarditem (name, derived_name, description, team_id, filters, query, "order",
            deleted, saved, created_at, refreshing, created_by_id, is_sample, short_id, favorited,
            last_modified_at, last_modified_by_id, updated_at, layouts, deprecated_tags)
    SELECT 'Pageviews', NULL, 'Daily pageviews, last 7 days', 1, '{}'::jsonb,
           '{"kind": "InsightVizNode", "source": {"kind": "TrendsQuery",
             "series": [{"kind": "EventsNode", "event": "$pageview", "name": "$pageview", "math": "total"}],
             "interval": "day", "dateRange": {"date_from": "-7d", "date_to": null}, "properties": [],
             "filterTestAccounts": false, "trendsFilter": {"display": "ActionsLineGraph"},
             "breakdownFilter": null, "compareFilter": null}}'::jsonb,
           0, false, true, now(), false, u.id, false, 'DemoPgv1', false, now(), u.id, now(), '{}'::jsonb, '{}'
      FROM u
    RETURNING id)
INSERT INTO posthog_dashboardtile (dashboard_id, insight_id, team_id, layouts, color, filters_overrides, deleted)
SELECT d.id, ins.id, 1, '{"sm": {"x": 0, "y": 5, "w": 12, "h": 6}, "xs": {"x": 0, "y": 10, "w": 1, "h": 6}}'::jsonb,
       'blue', '{}'::jsonb, NULL
  FROM ins, demo_dash d WHERE d.name = 'Marketing overview';

INSERT INTO posthog_tag (id, name, team_id)
SELECT gen_random_uuid(), n, 1 FROM unnest(ARRAY['marketing', 'kpi', 'product', 'engineering']) n;
INSERT INTO posthog_taggeditem (id, tag_id, dashboard_id)
SELECT gen_random_uuid(), tg.id, d.id
  FROM (VALUES ('Marketing overview', 'marketing'), ('Marketing overview', 'kpi'),
               ('Product metrics', 'product'), ('Engineering health', 'engineering'),
               ('Engineering health', 'kpi')) AS v(dash, tag)
  JOIN demo_dash d ON d.name = v.dash
  JOIN posthog_tag tg ON tg.name = v.tag AND tg.team_id = 1;

UPDATE posthog_team SET primary_dashboard_id = (SELECT id FROM demo_dash WHERE name = 'Marketing overview')
 WHERE id = 1;

\echo demo.sql: created Demo Org, project 1 and three dashboards
\else
\echo demo.sql: Demo Org exists, nothing to do
\endif

-- Events, persons and insight tiles for the trends engine: about 100,000
-- events over the last 30 days (pageviews with $current_url, $browser and
-- $session_id, page leaves, sign-ups, purchases with a numeric revenue) by
-- 2,000 persons, a third of them with a second distinct id (an anonymous id
-- merged into an identified one).  Seeded once per team (setseed makes the
-- shape repeatable; the dates follow today).
SELECT NOT EXISTS (SELECT 1 FROM posthog_event WHERE team_id = 1)
       AND EXISTS (SELECT 1 FROM posthog_team WHERE id = 1) AS demo_events_needed \gset

\if :demo_events_needed
SELECT setseed(0.42) AS demo_seed \gset

INSERT INTO posthog_person (id, uuid, team_id, properties, created_at, is_identified, version)
SELECT 900000 + g, gen_random_uuid(), 1,
       jsonb_build_object('email', 'user' || g || '@example.com',
                          'plan', (ARRAY['free', 'pro', 'enterprise'])[1 + g % 3],
                          'country', (ARRAY['US', 'DE', 'FR', 'GB', 'BR', 'IN'])[1 + g % 6]),
       now() - interval '30 days', g % 3 = 0, 0
  FROM generate_series(1, 2000) g;

INSERT INTO posthog_persondistinctid (team_id, person_id, distinct_id, version)
SELECT 1, 900000 + g, 'user-' || g, 0 FROM generate_series(1, 2000) g
UNION ALL
SELECT 1, 900000 + g, 'anon-' || g, 0 FROM generate_series(1, 2000) g WHERE g % 3 = 0;

CREATE TEMP TABLE demo_ev ON COMMIT DROP AS
SELECT g,
       1 + (hashint4(g) & 2147483647) % 2000 AS person,
       now() - (random() * interval '30 days') AS ts,
       random() AS r
  FROM generate_series(1, 100000) g;

INSERT INTO posthog_event (uuid, team_id, event, distinct_id, properties, "timestamp", created_at,
        elements_chain)
SELECT gen_random_uuid(), 1,
       CASE WHEN e.r < 0.70 THEN '$pageview'
            WHEN e.r < 0.90 THEN '$pageleave'
            WHEN e.r < 0.96 THEN 'signed_up'
            ELSE 'purchase' END,
       CASE WHEN e.person % 3 = 0 AND e.g % 2 = 0 THEN 'anon-' ELSE 'user-' END || e.person,
       jsonb_build_object(
           '$current_url', 'https://demo.example.com/'
               || (ARRAY['', 'pricing', 'docs', 'blog', 'signup', 'checkout'])[1 + e.g % 6],
           '$browser', (ARRAY['Chrome', 'Chrome', 'Chrome', 'Safari', 'Firefox', 'Edge'])[1 + e.person % 6],
           '$os', (ARRAY['Mac OS X', 'Windows', 'Linux', 'iOS', 'Android'])[1 + e.person % 5],
           '$session_id', 'demo-session-' || e.person || '-' || to_char(e.ts, 'YYYYMMDD'))
       || CASE WHEN e.r >= 0.96
               THEN jsonb_build_object('revenue', round((5 + (e.g % 200))::numeric + 0.99, 2),
                                       'currency', 'USD')
               ELSE '{}'::jsonb END,
       e.ts, e.ts, ''
  FROM demo_ev e;

WITH u AS (SELECT id FROM posthog_user WHERE email = 'demo@example.com'),
d AS (SELECT id FROM posthog_dashboard WHERE team_id = 1 AND name = 'Product metrics' AND NOT deleted
       ORDER BY id LIMIT 1),
src (name, description, short_id, y, query) AS (VALUES
    ('Daily active users', 'Unique persons per day, last 30 days', 'DemoDau1', 0,
     '{"kind": "InsightVizNode", "source": {"kind": "TrendsQuery",
       "series": [{"kind": "EventsNode", "event": "$pageview", "name": "$pageview", "math": "dau"}],
       "interval": "day", "dateRange": {"date_from": "-30d", "date_to": null}, "properties": [],
       "filterTestAccounts": false, "trendsFilter": {"display": "ActionsLineGraph"}}}'),
    ('Sign-ups by browser', 'signed_up events broken down by $browser', 'DemoSgn1', 6,
     '{"kind": "InsightVizNode", "source": {"kind": "TrendsQuery",
       "series": [{"kind": "EventsNode", "event": "signed_up", "name": "signed_up", "math": "total"}],
       "interval": "day", "dateRange": {"date_from": "-14d", "date_to": null}, "properties": [],
       "filterTestAccounts": false, "trendsFilter": {"display": "ActionsLineGraph"},
       "breakdownFilter": {"breakdown": "$browser", "breakdown_type": "event"}}}'),
    ('Revenue', 'Sum of purchase revenue, last 30 days', 'DemoRev1', 12,
     '{"kind": "InsightVizNode", "source": {"kind": "TrendsQuery",
       "series": [{"kind": "EventsNode", "event": "purchase", "name": "purchase", "math": "sum",
                   "math_property": "revenue"}],
       "interval": "day", "dateRange": {"date_from": "-30d", "date_to": null}, "properties": [],
       "filterTestAccounts": false, "trendsFilter": {"display": "BoldNumber"}}}'),
    ('Weekly pageviews', 'Pageviews per week against the previous period', 'DemoWk1', 18,
     '{"kind": "InsightVizNode", "source": {"kind": "TrendsQuery",
       "series": [{"kind": "EventsNode", "event": "$pageview", "name": "$pageview", "math": "total"}],
       "interval": "week", "dateRange": {"date_from": "-4w", "date_to": null}, "properties": [],
       "filterTestAccounts": false, "trendsFilter": {"display": "ActionsLineGraph"},
       "compareFilter": {"compare": true}}}')),
ins AS (
    INSERT INTO posthog_dashboarditem (name, derived_name, description, team_id, filters, query, "order",
            deleted, saved, created_at, refreshing, created_by_id, is_sample, short_id, favorited,
            last_modified_at, last_modified_by_id, updated_at, layouts, deprecated_tags)
    SELECT s.name, NULL, s.description, 1, '{}'::jsonb, s.query::jsonb, 0, false, true, now(), false,
           u.id, false, s.short_id, false, now(), u.id, now(), '{}'::jsonb, '{}'
      FROM src s, u
    RETURNING id, short_id)
INSERT INTO posthog_dashboardtile (dashboard_id, insight_id, team_id, layouts, color, filters_overrides, deleted)
SELECT d.id, ins.id, 1,
       jsonb_build_object('sm', jsonb_build_object('x', 0, 'y', 4 + s.y, 'w', 12, 'h', 6),
                          'xs', jsonb_build_object('x', 0, 'y', 4 + s.y, 'w', 1, 'h', 6)),
       NULL, '{}'::jsonb, NULL
  FROM ins JOIN src s ON s.short_id = ins.short_id, d;

\echo demo.sql: seeded 100,000 events, 2,000 persons and four insight tiles
\endif

COMMIT;
