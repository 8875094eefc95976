-- 001_schema.sql: tables ngx_dashboards reads and writes.
--
-- Table and column names are PostHog's own (Django app "posthog" and "ee"),
-- so the module can be pointed at an existing PostHog database.  Every
-- statement is idempotent (IF NOT EXISTS / guarded DO blocks): applying this
-- file to a database that already has PostHog's tables adds only what is
-- missing (indexes we need for speed).
--
-- Django keeps defaults out of the database; the DEFAULTs below are ours and
-- harmless (our functions still fill every NOT NULL column on INSERT).
-- Foreign keys are DEFERRABLE INITIALLY DEFERRED, as Django creates them.

-- organizations, users, projects, teams --------------------------------------

CREATE TABLE IF NOT EXISTS posthog_organization (
    id                                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                              varchar(64) NOT NULL,
    slug                              varchar(48) UNIQUE,
    logo_media_id                     uuid,
    created_at                        timestamptz NOT NULL DEFAULT now(),
    updated_at                        timestamptz NOT NULL DEFAULT now(),
    plugins_access_level              smallint NOT NULL DEFAULT 9,
    for_internal_metrics              boolean NOT NULL DEFAULT false,
    is_member_join_email_enabled      boolean NOT NULL DEFAULT true,
    enforce_2fa                       boolean,
    customer_id                       varchar(200),
    -- [{"key": "advanced_permissions", "name": "..."}] or ["advanced_permissions"]
    available_product_features        jsonb DEFAULT '[]'::jsonb,
    members_can_use_personal_api_keys boolean NOT NULL DEFAULT true,
    is_ai_data_processing_approved    boolean,
    personalization                   jsonb NOT NULL DEFAULT '{}'::jsonb,
    domain_whitelist                  varchar(256)[] NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS posthog_user (
    id                        serial PRIMARY KEY,
    password                  varchar(128) NOT NULL DEFAULT '',
    last_login                timestamptz,
    first_name                varchar(150) NOT NULL DEFAULT '',
    last_name                 varchar(150) NOT NULL DEFAULT '',
    is_staff                  boolean NOT NULL DEFAULT false,
    is_active                 boolean NOT NULL DEFAULT true,
    date_joined               timestamptz NOT NULL DEFAULT now(),
    uuid                      uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    email                     varchar(254) NOT NULL UNIQUE,
    pending_email             varchar(254),
    temporary_token           varchar(200) UNIQUE,
    distinct_id               varchar(200) UNIQUE,
    is_email_verified         boolean,
    requested_password_reset_at timestamptz,
    has_seen_product_intro_for jsonb,
    strapi_id                 smallint,
    theme_mode                varchar(20),
    anonymize_data            boolean DEFAULT false,
    toolbar_mode              varchar(200),
    events_column_config      jsonb NOT NULL DEFAULT '{"active": "DEFAULT"}'::jsonb,
    hedgehog_config           jsonb,
    role_at_organization      varchar(64),
    current_organization_id   uuid REFERENCES posthog_organization(id) DEFERRABLE INITIALLY DEFERRED,
    current_team_id           integer          -- FK added below (posthog_team)
);

CREATE TABLE IF NOT EXISTS posthog_organizationmembership (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES posthog_organization(id) DEFERRABLE INITIALLY DEFERRED,
    user_id         integer NOT NULL REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    level           smallint NOT NULL DEFAULT 1,       -- 1 member, 8 admin, 15 owner
    joined_at       timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT unique_organization_membership UNIQUE (organization_id, user_id)
);
CREATE INDEX IF NOT EXISTS posthog_organizationmembership_user_id
    ON posthog_organizationmembership (user_id);

CREATE TABLE IF NOT EXISTS posthog_project (
    id                  bigint PRIMARY KEY,
    organization_id     uuid NOT NULL REFERENCES posthog_organization(id) DEFERRABLE INITIALLY DEFERRED,
    name                varchar(200) NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    product_description text
);
CREATE INDEX IF NOT EXISTS posthog_project_organization_id ON posthog_project (organization_id);

CREATE TABLE IF NOT EXISTS posthog_team (
    id                           serial PRIMARY KEY,
    uuid                         uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    organization_id              uuid NOT NULL REFERENCES posthog_organization(id) DEFERRABLE INITIALLY DEFERRED,
    project_id                   bigint NOT NULL REFERENCES posthog_project(id) DEFERRABLE INITIALLY DEFERRED,
    parent_team_id               integer REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    api_token                    varchar(200) NOT NULL UNIQUE,
    app_urls                     varchar(200)[] NOT NULL DEFAULT '{}',
    name                         varchar(200) NOT NULL DEFAULT 'Default project',
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    anonymize_ips                boolean NOT NULL DEFAULT false,
    completed_snippet_onboarding boolean NOT NULL DEFAULT false,
    has_completed_onboarding_for jsonb,
    ingested_event               boolean NOT NULL DEFAULT false,
    is_demo                      boolean NOT NULL DEFAULT false,
    access_control               boolean NOT NULL DEFAULT false,
    timezone                     varchar(240) NOT NULL DEFAULT 'UTC',
    week_start_day               smallint,
    test_account_filters         jsonb NOT NULL DEFAULT '[]'::jsonb,
    primary_dashboard_id         integer          -- FK added below (posthog_dashboard)
);
CREATE INDEX IF NOT EXISTS posthog_team_project_id ON posthog_team (project_id);
CREATE INDEX IF NOT EXISTS posthog_team_organization_id ON posthog_team (organization_id);

CREATE TABLE IF NOT EXISTS posthog_personalapikey (
    id                   varchar(50) PRIMARY KEY,
    user_id              integer NOT NULL REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    label                varchar(40) NOT NULL,
    value                varchar(50) UNIQUE,          -- deprecated, no longer written
    secure_value         varchar(300) UNIQUE,
    mask_value           varchar(11),
    created_at           timestamptz NOT NULL DEFAULT now(),
    last_used_at         timestamptz,
    last_rolled_at       timestamptz,
    team_id              integer REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,  -- deprecated
    scopes               varchar(100)[],
    scoped_teams         integer[],
    scoped_organizations varchar(100)[]
);
CREATE INDEX IF NOT EXISTS posthog_personalapikey_user_id ON posthog_personalapikey (user_id);

-- dashboards -------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS posthog_dashboard (
    id                  serial PRIMARY KEY,
    name                varchar(400),
    description         text NOT NULL DEFAULT '',
    team_id             integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    pinned              boolean NOT NULL DEFAULT false,
    created_at          timestamptz DEFAULT now(),
    created_by_id       integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    deleted             boolean NOT NULL DEFAULT false,
    last_accessed_at    timestamptz,
    last_refresh        timestamptz,
    filters             jsonb NOT NULL DEFAULT '{}'::jsonb,
    variables           jsonb DEFAULT '{}'::jsonb,
    breakdown_colors    jsonb DEFAULT '[]'::jsonb,
    data_color_theme_id integer,                      -- FK posthog_datacolortheme in PostHog (table not created here)
    creation_mode       varchar(16) NOT NULL DEFAULT 'default',
    restriction_level   smallint NOT NULL DEFAULT 21 CHECK (restriction_level >= 0),
    quick_filter_ids    jsonb DEFAULT '[]'::jsonb,
    customization       jsonb NOT NULL DEFAULT '{}'::jsonb,
    deprecated_tags     varchar(32)[] DEFAULT '{}',
    tags                varchar(32)[],
    share_token         varchar(400),
    is_shared           boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS idx_dashboard_deleted_team_id
    ON posthog_dashboard (pinned DESC, name, deleted, team_id) WHERE deleted = false;
CREATE INDEX IF NOT EXISTS posthog_dashboard_team_id ON posthog_dashboard (team_id);
CREATE INDEX IF NOT EXISTS posthog_dashboard_created_by_id ON posthog_dashboard (created_by_id);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'posthog_team_primary_dashboard_id_fk') THEN
        ALTER TABLE posthog_team ADD CONSTRAINT posthog_team_primary_dashboard_id_fk
            FOREIGN KEY (primary_dashboard_id) REFERENCES posthog_dashboard(id) DEFERRABLE INITIALLY DEFERRED;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'posthog_user_current_team_id_fk') THEN
        ALTER TABLE posthog_user ADD CONSTRAINT posthog_user_current_team_id_fk
            FOREIGN KEY (current_team_id) REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED;
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS posthog_text (
    id                  serial PRIMARY KEY,
    body                varchar(4000),
    created_by_id       integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    last_modified_at    timestamptz NOT NULL DEFAULT now(),
    last_modified_by_id integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    team_id             integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX IF NOT EXISTS posthog_text_team_id ON posthog_text (team_id);

CREATE TABLE IF NOT EXISTS posthog_buttontile (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url                 varchar(2000) NOT NULL,
    text                varchar(200) NOT NULL,
    placement           varchar(10) NOT NULL DEFAULT 'left',
    style               varchar(10) NOT NULL DEFAULT 'primary',
    created_by_id       integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    last_modified_at    timestamptz NOT NULL DEFAULT now(),
    last_modified_by_id integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    team_id             integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE IF NOT EXISTS posthog_dashboardwidget (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    widget_type         varchar(64) NOT NULL,
    name                varchar(400),
    description         text NOT NULL DEFAULT '',
    config              jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_by_id       integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    last_modified_at    timestamptz NOT NULL DEFAULT now(),
    last_modified_by_id integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    team_id             integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED
);

-- insights (model Insight, legacy table name) ---------------------------------

CREATE TABLE IF NOT EXISTS posthog_dashboarditem (
    id                  serial PRIMARY KEY,
    name                varchar(400),
    derived_name        varchar(400),
    description         varchar(400),
    team_id             integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    filters             jsonb NOT NULL DEFAULT '{}'::jsonb,
    filters_hash        varchar(400),
    query               jsonb,
    query_metadata      jsonb,
    "order"             integer,
    deleted             boolean NOT NULL DEFAULT false,
    saved               boolean NOT NULL DEFAULT true,
    created_at          timestamptz DEFAULT now(),
    last_refresh        timestamptz,
    refreshing          boolean NOT NULL DEFAULT false,
    created_by_id       integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    is_sample           boolean NOT NULL DEFAULT false,
    short_id            varchar(12) NOT NULL,
    favorited           boolean NOT NULL DEFAULT false,
    refresh_attempt     integer,
    last_modified_at    timestamptz NOT NULL DEFAULT now(),
    last_modified_by_id integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- deprecated columns
    dashboard_id        integer REFERENCES posthog_dashboard(id) DEFERRABLE INITIALLY DEFERRED,
    dive_dashboard_id   integer REFERENCES posthog_dashboard(id) DEFERRABLE INITIALLY DEFERRED,
    layouts             jsonb NOT NULL DEFAULT '{}'::jsonb,
    color               varchar(400),
    type                varchar(400),
    funnel              integer,
    deprecated_tags     varchar(32)[],
    tags                varchar(32)[],
    CONSTRAINT posthog_dashboarditem_team_id_short_id_uniq UNIQUE (team_id, short_id)
);

-- tiles ------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS posthog_dashboardtile (
    id                     serial PRIMARY KEY,
    dashboard_id           integer NOT NULL REFERENCES posthog_dashboard(id) DEFERRABLE INITIALLY DEFERRED,
    insight_id             integer REFERENCES posthog_dashboarditem(id) DEFERRABLE INITIALLY DEFERRED,
    text_id                integer REFERENCES posthog_text(id) DEFERRABLE INITIALLY DEFERRED,
    button_tile_id         uuid REFERENCES posthog_buttontile(id) DEFERRABLE INITIALLY DEFERRED,
    widget_id              uuid REFERENCES posthog_dashboardwidget(id) DEFERRABLE INITIALLY DEFERRED,
    team_id                integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    layouts                jsonb NOT NULL DEFAULT '{}'::jsonb,
    color                  varchar(400),
    filters_hash           varchar(400),
    last_refresh           timestamptz,
    refreshing             boolean,
    refresh_attempt        integer,
    filters_overrides      jsonb DEFAULT '{}'::jsonb,
    show_description       boolean,
    transparent_background boolean,
    deleted                boolean,            -- NULL counts as not deleted
    CONSTRAINT dash_tile_exactly_one_related_object CHECK (
        (insight_id IS NOT NULL)::int + (text_id IS NOT NULL)::int
      + (button_tile_id IS NOT NULL)::int + (widget_id IS NOT NULL)::int = 1)
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_dashboard_insight
    ON posthog_dashboardtile (dashboard_id, insight_id) WHERE insight_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_dashboard_text
    ON posthog_dashboardtile (dashboard_id, text_id) WHERE text_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_dashboard_button_tile
    ON posthog_dashboardtile (dashboard_id, button_tile_id) WHERE button_tile_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_dashboard_widget
    ON posthog_dashboardtile (dashboard_id, widget_id) WHERE widget_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS posthog_dashboardtile_dashboard_id ON posthog_dashboardtile (dashboard_id);
CREATE INDEX IF NOT EXISTS posthog_dashboardtile_insight_id ON posthog_dashboardtile (insight_id);
CREATE INDEX IF NOT EXISTS posthog_dashboardtile_text_id ON posthog_dashboardtile (text_id);
CREATE INDEX IF NOT EXISTS posthog_dashboardtile_button_tile_id ON posthog_dashboardtile (button_tile_id);
CREATE INDEX IF NOT EXISTS posthog_dashboardtile_widget_id ON posthog_dashboardtile (widget_id);

-- tags -------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS posthog_tag (
    id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name    varchar(255) NOT NULL,
    team_id integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT posthog_tag_name_team_id_uniq UNIQUE (name, team_id)
);
CREATE INDEX IF NOT EXISTS posthog_tag_team_id ON posthog_tag (team_id);

CREATE TABLE IF NOT EXISTS posthog_taggeditem (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tag_id                     uuid NOT NULL REFERENCES posthog_tag(id) DEFERRABLE INITIALLY DEFERRED,
    dashboard_id               integer REFERENCES posthog_dashboard(id) DEFERRABLE INITIALLY DEFERRED,
    insight_id                 integer REFERENCES posthog_dashboarditem(id) DEFERRABLE INITIALLY DEFERRED,
    event_definition_id        uuid,
    property_definition_id     uuid,
    action_id                  integer,
    feature_flag_id            integer,
    experiment_saved_metric_id integer,
    CONSTRAINT exactly_one_related_object CHECK (
        (dashboard_id IS NOT NULL)::int + (insight_id IS NOT NULL)::int
      + (event_definition_id IS NOT NULL)::int + (property_definition_id IS NOT NULL)::int
      + (action_id IS NOT NULL)::int + (feature_flag_id IS NOT NULL)::int
      + (experiment_saved_metric_id IS NOT NULL)::int = 1)
);
CREATE UNIQUE INDEX IF NOT EXISTS unique_dashboard_tagged_item
    ON posthog_taggeditem (tag_id, dashboard_id) WHERE dashboard_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_insight_tagged_item
    ON posthog_taggeditem (tag_id, insight_id) WHERE insight_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_event_definition_tagged_item
    ON posthog_taggeditem (tag_id, event_definition_id) WHERE event_definition_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_property_definition_tagged_item
    ON posthog_taggeditem (tag_id, property_definition_id) WHERE property_definition_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_action_tagged_item
    ON posthog_taggeditem (tag_id, action_id) WHERE action_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_feature_flag_tagged_item
    ON posthog_taggeditem (tag_id, feature_flag_id) WHERE feature_flag_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS unique_experiment_saved_metric_tagged_item
    ON posthog_taggeditem (tag_id, experiment_saved_metric_id) WHERE experiment_saved_metric_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS posthog_taggeditem_tag_id ON posthog_taggeditem (tag_id);
CREATE INDEX IF NOT EXISTS posthog_taggeditem_dashboard_id
    ON posthog_taggeditem (dashboard_id) WHERE dashboard_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS posthog_taggeditem_insight_id
    ON posthog_taggeditem (insight_id) WHERE insight_id IS NOT NULL;

-- collaborators, sharing, views, quick filters, templates ----------------------

CREATE TABLE IF NOT EXISTS ee_dashboardprivilege (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    dashboard_id integer NOT NULL REFERENCES posthog_dashboard(id) DEFERRABLE INITIALLY DEFERRED,
    user_id      integer NOT NULL REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    level        smallint NOT NULL CHECK (level >= 0),   -- 21 can view, 37 can edit
    added_at     timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT unique_explicit_dashboard_privilege UNIQUE (dashboard_id, user_id)
);

CREATE TABLE IF NOT EXISTS posthog_sharingconfiguration (
    id           serial PRIMARY KEY,
    team_id      integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    dashboard_id integer REFERENCES posthog_dashboard(id) DEFERRABLE INITIALLY DEFERRED,
    insight_id   integer REFERENCES posthog_dashboarditem(id) DEFERRABLE INITIALLY DEFERRED,
    created_at   timestamptz NOT NULL DEFAULT now(),
    enabled      boolean NOT NULL DEFAULT false,
    access_token varchar(400) UNIQUE
);
CREATE INDEX IF NOT EXISTS posthog_sharingconfiguration_dashboard_id
    ON posthog_sharingconfiguration (dashboard_id) WHERE dashboard_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS posthog_filesystemviewlog (
    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id   integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    user_id   integer NOT NULL REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    type      varchar(100) NOT NULL,
    ref       varchar(100) NOT NULL,
    viewed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT posthog_fsvl_unique_view UNIQUE (team_id, user_id, type, ref)
);

CREATE TABLE IF NOT EXISTS posthog_quickfilter (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id       integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    name          varchar(400) NOT NULL DEFAULT '',
    property_name varchar(400) NOT NULL DEFAULT '',
    type          varchar(64) NOT NULL DEFAULT 'event',
    options       jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    created_by_id integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX IF NOT EXISTS posthog_quickfilter_team_id ON posthog_quickfilter (team_id);

CREATE TABLE IF NOT EXISTS posthog_dashboardtemplate (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id               integer REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    template_name         varchar(400),
    dashboard_description varchar(400),
    dashboard_filters     jsonb,
    tiles                 jsonb,
    variables             jsonb,
    tags                  varchar(255)[],
    created_at            timestamptz DEFAULT now(),
    created_by_id         integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    deleted               boolean,
    image_url             varchar(8201),
    scope                 varchar(24),
    github_url            varchar(8201),
    availability_contexts varchar(255)[],
    is_featured           boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS posthog_dashboardtemplate_template_name
    ON posthog_dashboardtemplate (template_name);
