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
BEGIN
    SELECT * INTO c FROM ngx_dashboards_ctx(p_user_id, p_project_id, p_scoped_orgs);
    IF p_id IS NOT NULL THEN
        PERFORM ngx_dashboards_edit_target(p_id, c.project_id, p_user_id, c.level, c.adv,
                                           coalesce(p_restore, false), false, c.acl);
    ELSE
        -- a write on the collection: the access rules' gate on all dashboards
        PERFORM ngx_dashboards_gate(c.acl, c.level, 'editor');
    END IF;
END $$;
