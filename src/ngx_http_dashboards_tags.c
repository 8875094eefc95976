
/*
 * Copyright (C) ngx_dashboards authors
 *
 * POST {base}/bulk_update_tags/ (as in PostHog's
 * posthog/api/tagged_item.py).
 */


#include "ngx_http_dashboards_module.h"


static const char *const  ngx_http_dashboards_tag_actions[] = {
    "add", "remove", "set", NULL
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_bulk_tags[] = {
    { "ids", NGX_HTTP_DASHBOARDS_T_INTS, NGX_HTTP_DASHBOARDS_F_REQUIRED, 0,
      NULL, NULL, NULL, NULL, 1, 500 },
    { "action", NGX_HTTP_DASHBOARDS_T_STRING, NGX_HTTP_DASHBOARDS_F_REQUIRED,
      0, NULL, NULL, NULL, ngx_http_dashboards_tag_actions, 0, 0 },
    { "tags", NGX_HTTP_DASHBOARDS_T_STRINGS, 0, 255, NULL, NULL, NULL, NULL,
      0, NGX_HTTP_DASHBOARDS_MAX_TAGS },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


ngx_int_t
ngx_http_dashboards_bulk_update_tags(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    return ngx_http_dashboards_action(r, ctx, ngx_http_dashboards_bulk_tags,
                                      NGX_HTTP_DASHBOARDS_SQL_BULK_UPDATE_TAGS,
                                      NGX_HTTP_OK);
}
