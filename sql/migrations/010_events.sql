-- 010_events.sql: events, persons, actions and the insight results cache.
--
-- The tables insight results are computed from, with PostHog's names.
-- PostHog kept events in PostgreSQL until 2022 (model posthog/models/event.py,
-- table posthog_event) and still keeps persons there (posthog_person,
-- posthog_persondistinctid) and actions (posthog_action, steps in the
-- steps_json column since the posthog_actionstep table was folded into it).
-- The event columns follow PostHog's ClickHouse `events` table where the old
-- model had none (uuid, elements_chain), so one trends compiler can read
-- either store.  Idempotent: only what is missing is added.

CREATE TABLE IF NOT EXISTS posthog_event (
    id              bigserial PRIMARY KEY,
    uuid            uuid NOT NULL DEFAULT gen_random_uuid(),
    team_id         integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    event           varchar(200),
    distinct_id     varchar(200) NOT NULL,
    properties      jsonb NOT NULL DEFAULT '{}'::jsonb,
    "timestamp"     timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz DEFAULT now(),
    elements_chain  text NOT NULL DEFAULT ''
);
-- trends read one team's events over a time range, usually of one event name:
-- (team, event, time) serves a series of one event, (team, time) all events.
CREATE INDEX IF NOT EXISTS posthog_event_team_event_ts
    ON posthog_event (team_id, event, "timestamp");
CREATE INDEX IF NOT EXISTS posthog_event_team_ts
    ON posthog_event (team_id, "timestamp");

CREATE TABLE IF NOT EXISTS posthog_person (
    id                          bigserial PRIMARY KEY,
    uuid                        uuid NOT NULL DEFAULT gen_random_uuid(),
    team_id                     integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    properties                  jsonb NOT NULL DEFAULT '{}'::jsonb,
    properties_last_updated_at  jsonb NOT NULL DEFAULT '{}'::jsonb,
    properties_last_operation   jsonb,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    is_identified               boolean NOT NULL DEFAULT false,
    is_user_id                  integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    version                     bigint
);
CREATE INDEX IF NOT EXISTS posthog_person_team_id ON posthog_person (team_id);
CREATE UNIQUE INDEX IF NOT EXISTS posthog_person_team_uuid
    ON posthog_person (team_id, uuid);

CREATE TABLE IF NOT EXISTS posthog_persondistinctid (
    id           bigserial PRIMARY KEY,
    team_id      integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    person_id    bigint NOT NULL REFERENCES posthog_person(id) DEFERRABLE INITIALLY DEFERRED,
    distinct_id  varchar(400) NOT NULL,
    version      bigint
);
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conname = 'unique distinct_id for team') THEN
        ALTER TABLE posthog_persondistinctid
            ADD CONSTRAINT "unique distinct_id for team" UNIQUE (team_id, distinct_id);
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS posthog_persondistinctid_person_id
    ON posthog_persondistinctid (person_id);

CREATE TABLE IF NOT EXISTS posthog_action (
    id                    serial PRIMARY KEY,
    name                  varchar(400),
    description           text NOT NULL DEFAULT '',
    team_id               integer NOT NULL REFERENCES posthog_team(id) DEFERRABLE INITIALLY DEFERRED,
    created_at            timestamptz NOT NULL DEFAULT now(),
    created_by_id         integer REFERENCES posthog_user(id) DEFERRABLE INITIALLY DEFERRED,
    deleted               boolean NOT NULL DEFAULT false,
    post_to_slack         boolean NOT NULL DEFAULT false,
    slack_message_format  varchar(1200) NOT NULL DEFAULT '',
    is_calculating        boolean NOT NULL DEFAULT false,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    last_calculated_at    timestamptz,
    steps_json            jsonb,
    bytecode              jsonb,
    bytecode_error        text,
    pinned_at             timestamptz
);
CREATE INDEX IF NOT EXISTS posthog_action_team_id ON posthog_action (team_id);

-- Insight results, as PostHog keeps them in its Django cache: the key is the
-- `cache_<hex>` of the effective query (team, query after filters, timezone,
-- week start), the value the whole cached response.  UNLOGGED: a cache,
-- lost on a crash, shared by every nginx node that uses this database.
CREATE UNLOGGED TABLE IF NOT EXISTS ngx_dashboards_result_cache (
    cache_key         text PRIMARY KEY,
    team_id           integer NOT NULL,
    result            jsonb NOT NULL,
    last_refresh      timestamptz NOT NULL,
    cache_target_age  timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ngx_dashboards_result_cache_expires
    ON ngx_dashboards_result_cache (expires_at);
