-- bench/dataset-events.sql: the trends benchmark dataset (issue 7), set-based.
--
--   psql -v ON_ERROR_STOP=1 -v key_hash='sha256$<hex>' -v key_mask='phx_...abcd' \
--        -v events=10000000 -v persons=100000 -f bench/dataset-events.sql
--
-- Into an empty, migrated database (bench/trends creates one): organization
-- "Bench Events Org", project and team 1 (timezone UTC), user
-- bench@example.com (owner) with a personal API key, scopes {*}, and
--
--   * :persons persons (posthog_person), each with 1 (60 %), 2 (30 %) or
--     3 (10 %) distinct ids (posthog_persondistinctid, ~1.5 per person);
--   * :events events (posthog_event) over the 90 days up to the hour of the
--     load, in timestamp order (as they arrive), at an even rate:
--       - 24 event names, skewed: $pageview 35 %, $autocapture 15 %,
--         $pageleave 10 %, ... down to 0.2 % (the CASE below);
--       - the person of an event is skewed toward low person numbers (a
--         power law: person 1 sends ~1 % of all events), its distinct id
--         one of the person's; 5 % of events come from 30,000 anonymous
--         distinct ids that no person has (each its own person in dau);
--       - properties on every event: $session_id (one session per person
--         and day), $browser and $os (fixed per person: Chrome 60 %,
--         Safari 20 %, Firefox 10 %, Edge 7 %, Opera 3 %), $lib;
--         $pageview / $pageleave add $current_url and $pathname (50 paths,
--         skewed); purchase adds a numeric revenue (5..200), currency and
--         plan; search adds a query; the rest add nothing;
--   * dashboard 1 "Trends bench" with 10 insight tiles of mixed maths
--     (insights 1..10): total, dau, weekly_active, unique_session, sum, avg
--     and p90 of revenue, a breakdown by $browser, a BoldNumber, a compare
--     and a formula; all over the last 30 days by day unless said otherwise.
--
-- Deterministic (setseed) apart from the anchor hour.  One transaction; the
-- caller runs VACUUM ANALYZE afterwards.
\set ON_ERROR_STOP 1
\if :{?events}
\else
\set events 10000000
\endif
\if :{?persons}
\else
\set persons 100000
\endif
\if :{?key_hash}
\else
\set key_hash 'sha256$0000'
\endif
\if :{?key_mask}
\else
\set key_mask 'phx_...bnch'
\endif

BEGIN;

INSERT INTO posthog_organization (id, name, slug, created_at, updated_at, plugins_access_level,
        for_internal_metrics, is_member_join_email_enabled, available_product_features,
        members_can_use_personal_api_keys, personalization, domain_whitelist)
VALUES ('0189f0a0-0000-7000-8000-0000000be101', 'Bench Events Org', 'bench-events-org', now(), now(),
        9, false, true, '[]'::jsonb, true, '{}'::jsonb, '{}');

INSERT INTO posthog_project (id, organization_id, name, created_at, product_description)
VALUES (1, '0189f0a0-0000-7000-8000-0000000be101', 'Bench Events', now(), 'ngx_dashboards trends benchmark');

INSERT INTO posthog_team (id, uuid, organization_id, project_id, api_token, name, created_at, updated_at,
        timezone, app_urls, anonymize_ips, completed_snippet_onboarding, ingested_event, is_demo,
        access_control, test_account_filters)
VALUES (1, '0189f0a0-0000-7000-8000-0000000be102', '0189f0a0-0000-7000-8000-0000000be101', 1,
        'phc_bench_events_token', 'Bench Events', now(), now(),
        'UTC', '{}', false, true, true, false, false, '[]'::jsonb);

INSERT INTO posthog_user (id, password, first_name, last_name, is_staff, is_active, date_joined, uuid, email,
        distinct_id, is_email_verified, events_column_config, current_organization_id, current_team_id)
VALUES (1, '', 'Bench', 'User', false, true, now(), '0189f0a0-0000-7000-8000-0000000be103',
        'bench@example.com', 'bench-user-distinct-id', true, '{"active": "DEFAULT"}'::jsonb,
        '0189f0a0-0000-7000-8000-0000000be101', 1);

INSERT INTO posthog_organizationmembership (id, organization_id, user_id, level, joined_at, updated_at)
VALUES (gen_random_uuid(), '0189f0a0-0000-7000-8000-0000000be101', 1, 15, now(), now());

INSERT INTO posthog_personalapikey (id, user_id, label, secure_value, mask_value, created_at, scopes,
        scoped_teams, scoped_organizations)
VALUES ('bench-personal-api-key', 1, 'Bench key', :'key_hash', :'key_mask', now(), '{*}', '{}', '{}');

SELECT setseed(0.7);

-- persons: person p has distinct ids u<p>-1 .. u<p>-<n>
INSERT INTO posthog_person (id, team_id, properties, created_at, is_identified)
SELECT p, 1,
       jsonb_build_object('email', format('user%s@example.com', p),
                          'plan', (ARRAY['free', 'free', 'free', 'pro', 'enterprise'])[1 + p % 5],
                          'country', (ARRAY['US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP'])[1 + p % 7]),
       now() - interval '120 days' + (p % 1000) * interval '1 hour', p % 3 <> 0
  FROM generate_series(1, :persons) p;

INSERT INTO posthog_persondistinctid (team_id, person_id, distinct_id, version)
SELECT 1, p, format('u%s-%s', p, k), 0
  FROM generate_series(1, :persons) p,
       generate_series(1, CASE WHEN p % 10 < 6 THEN 1 WHEN p % 10 < 9 THEN 2 ELSE 3 END) k;

SELECT setval(pg_get_serial_sequence('posthog_person', 'id'), :persons) AS s1,
       setval(pg_get_serial_sequence('posthog_persondistinctid', 'id'),
              (SELECT max(id) FROM posthog_persondistinctid)) AS s2
\gset

-- events: r1 picks the name, r2 the person, r3 the path, r4 the revenue
INSERT INTO posthog_event (team_id, event, distinct_id, properties, "timestamp", created_at)
SELECT 1, x.event,
       CASE WHEN x.anon THEN format('anon-%s', x.p) ELSE format('u%s-%s', x.p, 1 + x.i % x.nids) END,
       jsonb_build_object('$session_id', format('s%s-%s-%s', CASE WHEN x.anon THEN 'a' ELSE '' END,
                                                x.p, x.ts::date),
                          '$browser', (ARRAY['Chrome', 'Chrome', 'Chrome', 'Chrome', 'Chrome', 'Chrome',
                                             'Chrome', 'Chrome', 'Chrome', 'Chrome', 'Chrome', 'Chrome',
                                             'Safari', 'Safari', 'Safari', 'Safari',
                                             'Firefox', 'Firefox', 'Edge', 'Opera'])[1 + x.p * 7 % 20],
                          '$os', (ARRAY['Windows', 'Mac OS X', 'iOS', 'Android', 'Linux'])[1 + x.p * 3 % 5],
                          '$lib', 'web')
       || CASE WHEN x.event IN ('$pageview', '$pageleave') THEN
              jsonb_build_object('$current_url', 'https://app.example.com/' || x.path,
                                 '$pathname', '/' || x.path)
          WHEN x.event = 'purchase' THEN
              jsonb_build_object('revenue', round((5 + 195 * x.r4 * x.r4)::numeric, 2),
                                 'currency', 'USD',
                                 'plan', CASE WHEN x.r4 < 0.7 THEN 'pro' ELSE 'enterprise' END)
          WHEN x.event = 'search' THEN
              jsonb_build_object('query', 'term ' || x.path)
          ELSE '{}'::jsonb END,
       x.ts, x.ts
  FROM (SELECT r.i, r.r4, r.anon,
               date_trunc('hour', now()) - interval '90 days'
                   + (r.i - 1) * (interval '90 days' / :events) AS ts,
               CASE WHEN r.anon THEN (r.r2 * 30000)::int
                    ELSE 1 + floor((:persons - 1) * r.r2 * r.r2 * r.r2)::int END AS p,
               CASE WHEN r.r1 < 0.350 THEN '$pageview'
                    WHEN r.r1 < 0.500 THEN '$autocapture'
                    WHEN r.r1 < 0.600 THEN '$pageleave'
                    WHEN r.r1 < 0.650 THEN '$screen'
                    WHEN r.r1 < 0.700 THEN '$feature_flag_called'
                    WHEN r.r1 < 0.740 THEN '$web_vitals'
                    WHEN r.r1 < 0.770 THEN '$identify'
                    WHEN r.r1 < 0.800 THEN 'login'
                    WHEN r.r1 < 0.830 THEN 'search'
                    WHEN r.r1 < 0.850 THEN 'purchase'
                    WHEN r.r1 < 0.870 THEN 'add_to_cart'
                    WHEN r.r1 < 0.890 THEN 'video_played'
                    WHEN r.r1 < 0.905 THEN 'checkout_started'
                    WHEN r.r1 < 0.920 THEN 'comment_added'
                    WHEN r.r1 < 0.930 THEN 'signup'
                    WHEN r.r1 < 0.940 THEN 'logout'
                    WHEN r.r1 < 0.950 THEN '$exception'
                    WHEN r.r1 < 0.960 THEN 'file_uploaded'
                    WHEN r.r1 < 0.970 THEN 'settings_changed'
                    WHEN r.r1 < 0.980 THEN 'share_clicked'
                    WHEN r.r1 < 0.985 THEN 'invite_sent'
                    WHEN r.r1 < 0.990 THEN 'export_clicked'
                    WHEN r.r1 < 0.998 THEN 'survey shown'
                    ELSE 'subscription_cancelled' END AS event,
               (ARRAY['', 'dashboard', 'insights', 'events', 'persons', 'settings', 'billing',
                      'pricing', 'docs', 'blog'])[1 + floor(10 * r.r3 * r.r3)::int]
                   || CASE WHEN r.r3 > 0.5 THEN '/' || floor(40 * r.r3)::int ELSE '' END AS path
          FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                       random() < 0.05 AS anon
                  FROM generate_series(1, :events) i) r) x0
       CROSS JOIN LATERAL (SELECT x0.*, CASE WHEN x0.p % 10 < 6 THEN 1 WHEN x0.p % 10 < 9 THEN 2
                                             ELSE 3 END AS nids) x;

-- the dashboard and its 10 insights
INSERT INTO posthog_dashboard (id, name, description, team_id, pinned, created_at, created_by_id, deleted,
        last_accessed_at, filters, variables, breakdown_colors, creation_mode, restriction_level,
        quick_filter_ids, customization, deprecated_tags, is_shared)
VALUES (1, 'Trends bench', 'Ten insights over 10,000,000 events.', 1, false, now(), 1, false,
        NULL, '{}'::jsonb, '{}'::jsonb, '[]'::jsonb, 'default', 21, '[]'::jsonb, '{}'::jsonb, '{}', false);

INSERT INTO posthog_dashboarditem (id, name, team_id, query, short_id, created_by_id, created_at,
        last_modified_at, "order", saved)
SELECT i, n, 1,
       jsonb_build_object('kind', 'InsightVizNode',
                          'source', jsonb_build_object('kind', 'TrendsQuery', 'interval', 'day',
                                                       'dateRange', jsonb_build_object('date_from', '-30d'))
                                    || s),
       format('bench%s', lpad(i::text, 4, '0')), 1, now(), now(), i, true
  FROM (VALUES
    (1, 'Pageviews', '{"series": [{"kind": "EventsNode", "event": "$pageview", "math": "total"}]}'::jsonb),
    (2, 'Daily active users', '{"series": [{"kind": "EventsNode", "event": "$pageview", "math": "dau"}]}'),
    (3, 'Weekly active users', '{"series": [{"kind": "EventsNode", "event": "$pageview",
                                             "math": "weekly_active"}]}'),
    (4, 'Sessions', '{"series": [{"kind": "EventsNode", "event": "$pageview", "math": "unique_session"}]}'),
    (5, 'Revenue', '{"series": [{"kind": "EventsNode", "event": "purchase", "math": "sum",
                                 "math_property": "revenue"}]}'),
    (6, 'Average order', '{"series": [{"kind": "EventsNode", "event": "purchase", "math": "avg",
                                       "math_property": "revenue"}]}'),
    (7, 'Order p90', '{"series": [{"kind": "EventsNode", "event": "purchase", "math": "p90",
                                   "math_property": "revenue"}]}'),
    (8, 'Pageviews by browser', '{"series": [{"kind": "EventsNode", "event": "$pageview"}],
                                  "breakdownFilter": {"breakdown": "$browser", "breakdown_type": "event"}}'),
    (9, 'Sign-ups (30 days)', '{"series": [{"kind": "EventsNode", "event": "signup"}],
                                "trendsFilter": {"display": "BoldNumber"}}'),
    (10, 'Conversion vs last period', '{"series": [{"kind": "EventsNode", "event": "purchase", "math": "dau"},
                                                   {"kind": "EventsNode", "event": "$pageview", "math": "dau"}],
                                        "trendsFilter": {"formula": "A / B"},
                                        "compareFilter": {"compare": true}}')
  ) AS v(i, n, s);

INSERT INTO posthog_dashboardtile (id, dashboard_id, insight_id, team_id, layouts, filters_overrides, deleted)
SELECT i, 1, i, 1,
       jsonb_build_object('sm', jsonb_build_object('x', ((i - 1) % 2) * 6, 'y', ((i - 1) / 2) * 5,
                                                   'w', 6, 'h', 5)),
       '{}'::jsonb, NULL
  FROM generate_series(1, 10) i;

SELECT setval(pg_get_serial_sequence('posthog_team', 'id'), 1) AS s3,
       setval(pg_get_serial_sequence('posthog_user', 'id'), 1) AS s4,
       setval(pg_get_serial_sequence('posthog_dashboard', 'id'), 1) AS s5,
       setval(pg_get_serial_sequence('posthog_dashboarditem', 'id'), 10) AS s6,
       setval(pg_get_serial_sequence('posthog_dashboardtile', 'id'), 10) AS s7
\gset

UPDATE posthog_team SET primary_dashboard_id = 1 WHERE id = 1;

COMMIT;
