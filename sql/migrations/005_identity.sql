-- migrate:repeatable
-- 005_identity.sql: /api/users/@me/, /api/personal_api_keys/@current/ and
-- /api/projects/:id/ (the parts PostHog's SDKs and tools read).

-- TeamBasicSerializer
CREATE OR REPLACE FUNCTION ngx_dashboards_team_basic_json(t posthog_team)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN (t).id IS NULL THEN NULL ELSE json_build_object(
        'id', (t).id,
        'uuid', (t).uuid,
        'organization', (t).organization_id,
        'project_id', (t).project_id,
        'api_token', (t).api_token,
        'name', (t).name,
        'completed_snippet_onboarding', (t).completed_snippet_onboarding,
        'has_completed_onboarding_for', (t).has_completed_onboarding_for,
        'ingested_event', (t).ingested_event,
        'is_demo', (t).is_demo,
        'timezone', (t).timezone,
        'access_control', (t).access_control) END
$$;

-- The user may access the team (its project's rules let them in).
CREATE OR REPLACE FUNCTION ngx_dashboards_team_visible(p_team_id int, p_private boolean, p_member_id uuid,
                                                       p_member_level int, p_user_id int, o posthog_organization)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_member_level >= 8 OR NOT (p_private
                                   OR ngx_dashboards_has_feature(o.available_product_features,
                                                                 ARRAY['access_control'])) THEN
        RETURN true;
    END IF;
    RETURN ngx_dashboards_project_level(p_team_id, p_member_id, p_member_level, o.available_product_features,
                                        p_private, ngx_dashboards_roles(p_user_id, o.id,
                                                                        o.available_product_features),
                                        coalesce(o.uses_most_specific_access_resolution, false)) IS NOT NULL;
END $$;

-- OrganizationSerializer (subset) for a member
CREATE OR REPLACE FUNCTION ngx_dashboards_organization_json(p_org_id uuid, p_user_id int)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', o.id,
        'name', o.name,
        'slug', o.slug,
        'logo_media_id', o.logo_media_id,
        'created_at', ngx_dashboards_ts(o.created_at),
        'updated_at', ngx_dashboards_ts(o.updated_at),
        'membership_level', m.level,
        'plugins_access_level', o.plugins_access_level,
        -- the teams and projects the user may access (the access rules of
        -- each project, ngx_dashboards_project_level)
        'teams', (SELECT coalesce(json_agg(ngx_dashboards_team_basic_json(t) ORDER BY t.id), '[]'::json)
                    FROM posthog_team t WHERE t.organization_id = o.id
                     AND ngx_dashboards_team_visible(t.id, t.access_control, m.id, m.level, p_user_id, o)),
        'projects', (SELECT coalesce(json_agg(json_build_object('id', pr.id, 'name', pr.name,
                                                                'organization_id', pr.organization_id)
                                              ORDER BY pr.id), '[]'::json)
                       FROM posthog_project pr WHERE pr.organization_id = o.id
                        AND EXISTS (SELECT 1 FROM posthog_team t
                                     WHERE t.id = pr.id AND t.organization_id = o.id
                                       AND ngx_dashboards_team_visible(t.id, t.access_control, m.id, m.level,
                                                                       p_user_id, o))),
        'available_product_features', coalesce(o.available_product_features, '[]'::jsonb),
        'is_member_join_email_enabled', o.is_member_join_email_enabled,
        'metadata', json_build_object('instance_tag', 'none'),
        'customer_id', o.customer_id,
        'enforce_2fa', o.enforce_2fa,
        'member_count', (SELECT count(*) FROM posthog_organizationmembership mc
                           JOIN posthog_user mu ON mu.id = mc.user_id AND mu.is_active
                          WHERE mc.organization_id = o.id),
        'members_can_use_personal_api_keys', o.members_can_use_personal_api_keys,
        'is_ai_data_processing_approved', o.is_ai_data_processing_approved)
      FROM posthog_organization o
      JOIN posthog_organizationmembership m ON m.organization_id = o.id AND m.user_id = p_user_id
     WHERE o.id = p_org_id
$$;

-- GET /api/users/@me/
CREATE OR REPLACE FUNCTION ngx_dashboards_me(p_user_id int)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    u posthog_user;
    v_team posthog_team;
    v_org uuid;
BEGIN
    SELECT * INTO u FROM posthog_user WHERE id = p_user_id AND is_active;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;

    -- current team, if the user is (still) a member of its organization
    SELECT t.* INTO v_team FROM posthog_team t
      JOIN posthog_organizationmembership m ON m.organization_id = t.organization_id AND m.user_id = u.id
     WHERE t.id = u.current_team_id;
    -- current organization: the stored one if a member, else the current team's, else the oldest membership
    SELECT m.organization_id INTO v_org FROM posthog_organizationmembership m
     WHERE m.user_id = u.id
     ORDER BY (m.organization_id = u.current_organization_id) DESC,
              (m.organization_id = v_team.organization_id) DESC NULLS LAST,
              m.joined_at, m.id
     LIMIT 1;
    -- no current team: PostHog's User.team takes the organization's first
    IF v_team.id IS NULL AND v_org IS NOT NULL THEN
        SELECT t.* INTO v_team FROM posthog_team t
         WHERE t.organization_id = v_org
         ORDER BY t.access_control, t.id
         LIMIT 1;
    END IF;

    RETURN json_build_object(
        'date_joined', ngx_dashboards_ts(u.date_joined),
        'uuid', u.uuid,
        'distinct_id', u.distinct_id,
        'first_name', u.first_name,
        'last_name', u.last_name,
        'email', u.email,
        'pending_email', u.pending_email,
        'is_email_verified', u.is_email_verified,
        'notification_settings', '{}'::json,
        'anonymize_data', coalesce(u.anonymize_data, false),
        'toolbar_mode', u.toolbar_mode,
        'has_password', coalesce(u.password, '') <> '' AND left(u.password, 1) <> '!',
        'id', u.id,
        'is_staff', u.is_staff,
        'is_impersonated', false,
        'is_impersonated_until', NULL,
        'sensitive_session_expires_at', NULL,
        'team', ngx_dashboards_team_basic_json(v_team),
        'organization', CASE WHEN v_org IS NOT NULL THEN ngx_dashboards_organization_json(v_org, u.id) END,
        'organizations', (SELECT coalesce(json_agg(json_build_object(
                                      'id', o.id,
                                      'name', o.name,
                                      'slug', o.slug,
                                      'logo_media_id', o.logo_media_id,
                                      'membership_level', m.level,
                                      'members_can_use_personal_api_keys', o.members_can_use_personal_api_keys)
                                  ORDER BY o.name, o.id), '[]'::json)
                            FROM posthog_organizationmembership m
                            JOIN posthog_organization o ON o.id = m.organization_id
                           WHERE m.user_id = u.id),
        'events_column_config', u.events_column_config,
        'is_2fa_enabled', false,
        'has_social_auth', false,
        'has_sso_enforcement', false,
        'has_seen_product_intro_for', u.has_seen_product_intro_for,
        'scene_personalisation', '[]'::json,
        'theme_mode', u.theme_mode,
        'hedgehog_config', u.hedgehog_config,
        'role_at_organization', u.role_at_organization);
END $$;

-- GET /api/personal_api_keys/@current/
CREATE OR REPLACE FUNCTION ngx_dashboards_key_current(p_key_id text)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    v json;
BEGIN
    SELECT json_build_object(
        'id', k.id,
        'label', k.label,
        'mask_value', k.mask_value,
        'created_at', ngx_dashboards_ts(k.created_at),
        'last_used_at', ngx_dashboards_ts(k.last_used_at),
        'user_id', k.user_id,
        -- legacy keys without scopes may do anything: PostHog shows ["*"]
        'scopes', coalesce(to_json(nullif(k.scopes, '{}')), '["*"]'::json),
        'scoped_teams', coalesce(to_json(k.scoped_teams), '[]'::json),
        'scoped_organizations', coalesce(to_json(k.scoped_organizations), '[]'::json),
        'last_rolled_at', ngx_dashboards_ts(k.last_rolled_at))
      INTO v
      FROM posthog_personalapikey k
     WHERE k.id = p_key_id;
    IF v IS NULL THEN
        PERFORM ngx_dashboards_not_found();
    END IF;
    RETURN v;
END $$;

-- GET /api/projects/:id/
CREATE OR REPLACE FUNCTION ngx_dashboards_project(p_user_id int, p_project_id int, p_scoped_orgs text)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    t posthog_team;
    v_level int;
    v_member_id uuid;
    v_org posthog_organization;
    v_project text;
BEGIN
    -- ProjectViewSet: get_object_or_404 over the projects the user can see,
    -- so a missing project, an environment id and a foreign project are all
    -- 404 "Not found."; the main environment shares the project's id
    SELECT tm.* INTO t FROM posthog_team tm
      JOIN posthog_project pr ON pr.id = tm.project_id
     WHERE tm.id = p_project_id AND tm.project_id = p_project_id;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;

    SELECT m.level, m.id INTO v_level, v_member_id FROM posthog_organizationmembership m
     WHERE m.organization_id = t.organization_id AND m.user_id = p_user_id;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;

    IF coalesce(p_scoped_orgs, '') <> ''
       AND NOT (t.organization_id::text = ANY (string_to_array(p_scoped_orgs, ','))) THEN
        PERFORM ngx_dashboards_fail(403, 'authentication_error', 'permission_denied',
            format('API key does not have access to the requested organization: ID %s.',
                   t.organization_id), NULL);
    END IF;

    -- the project's access rules; a project admin by the rules counts as an
    -- administrator (UserTeamPermissions.effective_membership_level)
    SELECT o.* INTO v_org FROM posthog_organization o WHERE o.id = t.organization_id;
    v_project := ngx_dashboards_project_level(t.id, v_member_id, v_level, v_org.available_product_features,
                                              t.access_control,
                                              CASE WHEN v_level < 8 THEN ngx_dashboards_roles(
                                                  p_user_id, v_org.id, v_org.available_product_features) END,
                                              coalesce(v_org.uses_most_specific_access_resolution, false));
    IF v_project IS NULL THEN
        PERFORM ngx_dashboards_denied('You don''t have access to the project.');
    END IF;
    IF v_project = 'admin' AND v_level < 8 THEN
        v_level := 8;
    END IF;

    RETURN (
        SELECT json_build_object(
            'id', t.project_id,
            'organization', t.organization_id,
            'name', coalesce(pr.name, t.name),
            'product_description', pr.product_description,
            'created_at', ngx_dashboards_ts(coalesce(pr.created_at, t.created_at)),
            'effective_membership_level', v_level,
            'has_group_types', false,
            'group_types', '[]'::json,
            'live_events_token', NULL,
            'updated_at', ngx_dashboards_ts(t.updated_at),
            'uuid', t.uuid,
            'api_token', t.api_token,
            'app_urls', to_json(t.app_urls),
            'anonymize_ips', t.anonymize_ips,
            'completed_snippet_onboarding', t.completed_snippet_onboarding,
            'ingested_event', t.ingested_event,
            'test_account_filters', t.test_account_filters,
            'is_demo', t.is_demo,
            'timezone', t.timezone,
            'access_control', t.access_control,
            'week_start_day', t.week_start_day,
            'primary_dashboard', t.primary_dashboard_id,
            'has_completed_onboarding_for', t.has_completed_onboarding_for)
          FROM posthog_project pr
         WHERE pr.id = t.project_id);
END $$;
