-- 009_access_control.sql: the tables of PostHog's access control (role-based
-- rules on projects, dashboards and insights; roles; the older explicit team
-- memberships of private projects) and the organization columns the rules
-- read.  Names and types are PostHog's (ee/models/rbac/access_control.py,
-- ee/models/rbac/role.py, ee/models/explicit_team_membership.py), so the
-- module reads the rows PostHog writes.  Idempotent: on a PostHog database
-- only what is missing is added.

ALTER TABLE posthog_organization
    ADD COLUMN IF NOT EXISTS available_product_features jsonb DEFAULT '[]'::jsonb;
-- newest schemas only (PostHog migration 1341); NULL / false = the legacy
-- resolution PostHog enforces
ALTER TABLE posthog_organization
    ADD COLUMN IF NOT EXISTS uses_most_specific_access_resolution boolean DEFAULT false;
ALTER TABLE posthog_team
    ADD COLUMN IF NOT EXISTS access_control boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS ee_role (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                        varchar(200) NOT NULL,
    organization_id             uuid NOT NULL REFERENCES posthog_organization(id) DEFERRABLE INITIALLY DEFERRED,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    created_by_id               integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    feature_flags_access_level  smallint NOT NULL DEFAULT 37,
    CONSTRAINT unique_role_name UNIQUE (organization_id, name)
);

CREATE TABLE IF NOT EXISTS ee_rolemembership (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    role_id                 uuid NOT NULL REFERENCES ee_role(id) DEFERRABLE INITIALLY DEFERRED,
    user_id                 integer NOT NULL REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    organization_member_id  uuid REFERENCES posthog_organizationmembership(id) DEFERRABLE INITIALLY DEFERRED,
    joined_at               timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT unique_user_and_role UNIQUE (role_id, user_id)
);
CREATE INDEX IF NOT EXISTS ngx_dashboards_rolemembership_user
    ON ee_rolemembership (user_id);

CREATE TABLE IF NOT EXISTS ee_accesscontrol (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id                 integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    access_level            varchar(32) NOT NULL,
    resource                varchar(32) NOT NULL,
    resource_id             varchar(36),
    organization_member_id  uuid REFERENCES posthog_organizationmembership(id) DEFERRABLE INITIALLY DEFERRED,
    role_id                 uuid REFERENCES ee_role(id) DEFERRABLE INITIALLY DEFERRED,
    created_by_id           integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "unique resource per target"
        UNIQUE (resource, resource_id, team_id, organization_member_id, role_id)
);
-- the lookups of every request: the rows of one team and resource, by object
CREATE INDEX IF NOT EXISTS ngx_dashboards_accesscontrol_lookup
    ON ee_accesscontrol (team_id, resource, resource_id);

CREATE TABLE IF NOT EXISTS ee_explicitteammembership (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id               integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    parent_membership_id  uuid NOT NULL REFERENCES posthog_organizationmembership(id) DEFERRABLE INITIALLY DEFERRED,
    level                 smallint NOT NULL DEFAULT 1,     -- 1 member, 8 administrator
    joined_at             timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT unique_explicit_team_membership UNIQUE (team_id, parent_membership_id)
);
