-- bench/dataset-acl.sql: the access-control variants of the retrieve bench
-- (BENCH_ACL in bench/run), applied on top of bench/dataset.sql.
--
--   psql -v ON_ERROR_STOP=1 -v mode=off|none|rules -v key_hash='sha256$<hex>' \
--        -v key_mask='phx_...abcd' -v dashboards=10000 -f bench/dataset-acl.sql
--
-- Every mode first undoes what an earlier run added (the rows below, the
-- features), so that "off" is bench/dataset.sql as it was.  Then:
--   none   "Bench Org" gets the features access_control and
--          role_based_access; user 1001 (acl-member@example.com), a plain
--          member (organization membership level 1, creator of no
--          dashboard), has a personal API key scoped {*}; 20 other members,
--          users 1002-1021; roles "Bench Analysts" (user 1001 and 5 others)
--          and "Bench Marketing" (10 others, not 1001); no rule.
--   rules  the same and 1,000 rows in ee_accesscontrol for project 1:
--            3 on the project (everyone member, 1001 member, Analysts admin);
--            300 for 1001 on single dashboards (200 editor, 100 viewer), 100
--              of the editor ones also with an "everyone none" row (a
--              private dashboard shared with 1001), so 100 everyone rows;
--            300 for the other members (none, viewer, editor);
--            150 for "Bench Analysts" (viewer, editor);
--            147 for "Bench Marketing" (none, viewer, editor).
--          None leaves 1001 below viewer on a dashboard: every retrieve of
--          1001 answers 200 (with user_access_level viewer or editor).
-- One transaction.
\set ON_ERROR_STOP 1
\if :{?dashboards}
\else
\set dashboards 10000
\endif
\if :{?key_mask}
\else
\set key_mask 'phx_...acl0'
\endif

BEGIN;

DELETE FROM ee_accesscontrol WHERE team_id = 1;
DELETE FROM ee_rolemembership WHERE user_id BETWEEN 1001 AND 1021;
DELETE FROM ee_role WHERE organization_id = '0189f0a0-0000-7000-8000-0000000be001';
DELETE FROM posthog_personalapikey WHERE id = 'bench-acl-member-key';
DELETE FROM posthog_organizationmembership WHERE user_id BETWEEN 1001 AND 1021;
DELETE FROM posthog_user WHERE id BETWEEN 1001 AND 1021;
UPDATE posthog_organization
   SET available_product_features = '[{"key": "advanced_permissions", "name": "Advanced permissions"},
                                      {"key": "tagging", "name": "Dashboard tags"}]'::jsonb
 WHERE id = '0189f0a0-0000-7000-8000-0000000be001';

SELECT :'mode' IN ('off', 'none', 'rules') AS mode_ok \gset
\if :mode_ok
\else
\echo 'bench/dataset-acl.sql: mode must be off, none or rules'
\quit 3
\endif
SELECT :'mode' <> 'off' AS with_acl, :'mode' = 'rules' AS with_rules \gset

\if :with_acl
UPDATE posthog_organization
   SET available_product_features = '[{"key": "advanced_permissions", "name": "Advanced permissions"},
                                      {"key": "tagging", "name": "Dashboard tags"},
                                      {"key": "access_control", "name": "Access control"},
                                      {"key": "role_based_access", "name": "Role-based access"}]'::jsonb
 WHERE id = '0189f0a0-0000-7000-8000-0000000be001';

INSERT INTO posthog_user (id, password, first_name, last_name, is_staff, is_active, date_joined, uuid, email,
        distinct_id, is_email_verified, events_column_config, current_organization_id, current_team_id)
SELECT u, '', 'Member', u::text, false, true, now(),
       ('0189f0a0-0000-7000-8000-00000000' || lpad(u::text, 4, '0'))::uuid,
       CASE WHEN u = 1001 THEN 'acl-member@example.com' ELSE format('member-%s@example.com', u) END,
       format('bench-member-%s', u), true, '{"active": "DEFAULT"}'::jsonb,
       '0189f0a0-0000-7000-8000-0000000be001', 1
  FROM generate_series(1001, 1021) u;

INSERT INTO posthog_organizationmembership (id, organization_id, user_id, level, joined_at, updated_at)
SELECT ('0189f0a0-0000-7000-8000-00000001' || lpad(u::text, 4, '0'))::uuid,
       '0189f0a0-0000-7000-8000-0000000be001', u, 1, now(), now()
  FROM generate_series(1001, 1021) u;

INSERT INTO posthog_personalapikey (id, user_id, label, secure_value, mask_value, created_at, scopes,
        scoped_teams, scoped_organizations)
VALUES ('bench-acl-member-key', 1001, 'Bench member key', :'key_hash', :'key_mask', now(), '{*}', '{}', '{}');

INSERT INTO ee_role (id, name, organization_id, created_by_id)
VALUES ('0189f0a0-0000-7000-8000-0000000a0001', 'Bench Analysts', '0189f0a0-0000-7000-8000-0000000be001', 1),
       ('0189f0a0-0000-7000-8000-0000000a0002', 'Bench Marketing', '0189f0a0-0000-7000-8000-0000000be001', 1);

INSERT INTO ee_rolemembership (role_id, user_id, organization_member_id)
SELECT CASE WHEN u <= 1006 THEN '0189f0a0-0000-7000-8000-0000000a0001'
            ELSE '0189f0a0-0000-7000-8000-0000000a0002' END::uuid,
       u, ('0189f0a0-0000-7000-8000-00000001' || lpad(u::text, 4, '0'))::uuid
  FROM generate_series(1001, 1016) u;
\endif

\if :with_rules
-- the project: everyone member, 1001 member, Analysts admin
INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id, organization_member_id,
        role_id, created_by_id)
VALUES (1, 'member', 'project', '1', NULL, NULL, 1),
       (1, 'member', 'project', '1', '0189f0a0-0000-7000-8000-000000011001', NULL, 1),
       (1, 'admin', 'project', '1', NULL, '0189f0a0-0000-7000-8000-0000000a0001', 1);

-- 1001 on 300 dashboards: editor on every 20th from 20 (200), viewer on
-- every 20th from 10 up to 2000 (100); everyone none on the first 100
-- editor ones (private, shared with 1001)
INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id, organization_member_id,
        role_id, created_by_id)
SELECT 1, CASE WHEN d % 20 = 0 THEN 'editor' ELSE 'viewer' END, 'dashboard', d::text,
       '0189f0a0-0000-7000-8000-000000011001', NULL, 1
  FROM generate_series(1, :dashboards) d
 WHERE (d % 20 = 0 AND d <= 4000) OR (d % 20 = 10 AND d <= 2000);
INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id, organization_member_id,
        role_id, created_by_id)
SELECT 1, 'none', 'dashboard', d::text, NULL, NULL, 1
  FROM generate_series(20, 2000, 20) d;

-- the other members: 300 rows over 20 members and spread dashboards
INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id, organization_member_id,
        role_id, created_by_id)
SELECT 1, (ARRAY['none', 'viewer', 'editor'])[1 + i % 3], 'dashboard', (1 + (i * 37) % :dashboards)::text,
       ('0189f0a0-0000-7000-8000-00000001' || lpad((1002 + i % 20)::text, 4, '0'))::uuid, NULL, 1
  FROM generate_series(0, 299) i;

-- Analysts (1001 is one): viewer and editor on 150 dashboards
INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id, organization_member_id,
        role_id, created_by_id)
SELECT 1, CASE WHEN i % 2 = 0 THEN 'viewer' ELSE 'editor' END, 'dashboard', (3 + i * 61)::text,
       NULL, '0189f0a0-0000-7000-8000-0000000a0001', 1
  FROM generate_series(0, 149) i;

-- Marketing (1001 is not): none, viewer and editor on 147 dashboards
INSERT INTO ee_accesscontrol (team_id, access_level, resource, resource_id, organization_member_id,
        role_id, created_by_id)
SELECT 1, (ARRAY['none', 'viewer', 'editor'])[1 + i % 3], 'dashboard', (7 + i * 67)::text,
       NULL, '0189f0a0-0000-7000-8000-0000000a0002', 1
  FROM generate_series(0, 146) i;
\endif

COMMIT;

ANALYZE ee_accesscontrol;
ANALYZE ee_role;
ANALYZE ee_rolemembership;
