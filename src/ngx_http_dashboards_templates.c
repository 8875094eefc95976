
/*
 * Copyright (C) ngx_dashboards authors
 *
 * Dashboards from templates: POST {base}/create_from_template_json/ and
 * POST {base}/create_unlisted_dashboard/, PostHog's actions of those names.
 * The templates live in posthog_dashboardtemplate, seeded by the
 * migrations.
 */


#include "ngx_http_dashboards_module.h"


static const ngx_http_dashboards_field_t  ngx_http_dashboards_template[] = {
    { "template", NGX_HTTP_DASHBOARDS_T_DICT, NGX_HTTP_DASHBOARDS_F_REQUIRED,
      0, NULL, NULL, NULL, NULL, 0, 0 },
    { "creation_context", NGX_HTTP_DASHBOARDS_T_STRING,
      NGX_HTTP_DASHBOARDS_F_BLANK|NGX_HTTP_DASHBOARDS_F_NULL, 0, NULL, NULL,
      NULL, NULL, 0, 0 },
    { "_create_in_folder", NGX_HTTP_DASHBOARDS_T_STRING,
      NGX_HTTP_DASHBOARDS_F_BLANK, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


ngx_int_t
ngx_http_dashboards_from_template_json(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    return ngx_http_dashboards_written_action(r, ctx,
               ngx_http_dashboards_template,
               NGX_HTTP_DASHBOARDS_SQL_FROM_TEMPLATE_JSON, NGX_HTTP_OK);
}


/* the body goes as sent: the errors are PostHog's {"error": ...} ones */

ngx_int_t
ngx_http_dashboards_create_unlisted(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    return ngx_http_dashboards_written_action(r, ctx, NULL,
               NGX_HTTP_DASHBOARDS_SQL_CREATE_UNLISTED, NGX_HTTP_CREATED);
}
