
/*
 * Copyright (C) ngx_dashboards authors
 *
 * What PostHog's clients ask first to find their project and scopes:
 * GET /api/users/@me/, GET /api/personal_api_keys/@current/ and
 * GET /api/projects/:id/.
 */


#include "ngx_http_dashboards_module.h"


ngx_int_t
ngx_http_dashboards_me(ngx_http_request_t *r, ngx_http_dashboards_ctx_t *ctx)
{
    ctx->query.values[0] = (const char *) ctx->user_id;

    return ngx_http_dashboards_run(r, ctx, NGX_HTTP_DASHBOARDS_SQL_ME, 1,
                                   ngx_http_dashboards_json_done);
}


ngx_int_t
ngx_http_dashboards_key_current(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    ctx->query.values[0] = (const char *) ctx->auth.key_id.data;

    return ngx_http_dashboards_run(r, ctx,
                                   NGX_HTTP_DASHBOARDS_SQL_KEY_CURRENT, 1,
                                   ngx_http_dashboards_json_done);
}


ngx_int_t
ngx_http_dashboards_project(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    ngx_http_dashboards_base_values(ctx);

    return ngx_http_dashboards_run(r, ctx, NGX_HTTP_DASHBOARDS_SQL_PROJECT, 3,
                                   ngx_http_dashboards_json_done);
}
