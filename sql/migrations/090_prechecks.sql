-- migrate:repeatable
--
-- The checks PostHog makes before it validates a request body: project
-- access and, for an object, that it exists and may be edited.  The module
-- runs this only when the body failed its own validation, so that a bad
-- body on a missing dashboard is still a 404 and on a read-only one a 403.

CREATE OR REPLACE FUNCTION ngx_dashboards_check_edit(p_user_id int, p_project_id int,
                                                     p_scoped_orgs text, p_id int,
                                                     p_restore boolean)
RETURNS void LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
    d posthog_dashboard;
    p record;
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);

    IF p_id IS NULL THEN
        RETURN;
    END IF;

    SELECT x.* INTO d FROM posthog_dashboard x JOIN posthog_team t ON t.id = x.team_id
     WHERE x.id = p_id AND t.project_id = c.project_id
       AND (NOT x.deleted OR coalesce(p_restore, false));
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_not_found();
    END IF;

    SELECT * INTO p FROM ngx_dashboards_perms(d.id, d.restriction_level, d.created_by_id,
                                              p_user_id, c.level, c.adv);
    IF NOT p.can_edit THEN
        PERFORM ngx_dashboards_denied('You don''t have edit permissions for this dashboard.');
    END IF;
END $$;
