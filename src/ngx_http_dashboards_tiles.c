
/*
 * Copyright (C) ngx_dashboards authors
 *
 * PostHog's tile actions: create_text_tile, update_text_tile,
 * delete_tile, copy_tile, move_tile and reorder_tiles.  Types are checked
 * here; the rest (tile on the dashboard, permissions, layouts) is one
 * statement each, see doc/CONTRACT.md.
 */


#include "ngx_http_dashboards_module.h"


#define I   NGX_HTTP_DASHBOARDS_T_INT
#define S   NGX_HTTP_DASHBOARDS_T_STRING
#define O   NGX_HTTP_DASHBOARDS_T_OBJECT
#define N   NGX_HTTP_DASHBOARDS_F_NULL
#define R   NGX_HTTP_DASHBOARDS_F_REQUIRED


static const ngx_http_dashboards_field_t  ngx_http_dashboards_rect[] = {
    { "x", I, 0, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "y", I, 0, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "w", I, 0, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "h", I, 0, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_layouts[] = {
    { "sm", O, 0, 0, NULL, ngx_http_dashboards_rect, NULL, NULL, 0, 0 },
    { "xs", O, 0, 0, NULL, ngx_http_dashboards_rect, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_create_text[] = {
    { "body", S, R|NGX_HTTP_DASHBOARDS_F_NOTRIM, 4000, NULL, NULL,
      "Text body cannot exceed 4000 characters", NULL, 0, 0 },
    { "layouts", O, 0, 0, NULL, ngx_http_dashboards_layouts, NULL, NULL,
      0, 0 },
    { "color", S, N|NGX_HTTP_DASHBOARDS_F_BLANK, 400, NULL, NULL,
      "Color cannot exceed 400 characters", NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_update_text[] = {
    { "tile_id", I, R, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "body", S, NGX_HTTP_DASHBOARDS_F_NOTRIM, 4000, NULL, NULL,
      "Text body cannot exceed 4000 characters", NULL, 0, 0 },
    { "layouts", O, 0, 0, NULL, ngx_http_dashboards_layouts, NULL, NULL,
      0, 0 },
    { "color", S, N|NGX_HTTP_DASHBOARDS_F_BLANK, 400, NULL, NULL,
      "Color cannot exceed 400 characters", NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_tile_id[] = {
    { "tile_id", I, R, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_copy[] = {
    { "fromDashboardId", I, R, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "tileId", I, R, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_tile_ref[] = {
    { "id", I, R, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_move[] = {
    { "to_dashboard", I, R, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "tile", O, R, 0, NULL, ngx_http_dashboards_tile_ref, NULL, NULL,
      0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const char *const  ngx_http_dashboards_layout_modes[] = {
    "preserve", "two_column", "full_width", NULL
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_reorder[] = {
    { "tile_order", NGX_HTTP_DASHBOARDS_T_INTS, R, 0, NULL, NULL, NULL, NULL,
      1, NGX_HTTP_DASHBOARDS_MAX_TILES },
    { "layout", S, 0, 0, NULL, NULL, NULL, ngx_http_dashboards_layout_modes,
      0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


/* POST {base}/:id/create_text_tile/ */

ngx_int_t
ngx_http_dashboards_create_text_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    return ngx_http_dashboards_action(r, ctx, ngx_http_dashboards_create_text,
                                      NGX_HTTP_DASHBOARDS_SQL_CREATE_TEXT_TILE,
                                      NGX_HTTP_CREATED);
}


/* POST {base}/:id/update_text_tile/ */

ngx_int_t
ngx_http_dashboards_update_text_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    return ngx_http_dashboards_action(r, ctx, ngx_http_dashboards_update_text,
                                      NGX_HTTP_DASHBOARDS_SQL_UPDATE_TEXT_TILE,
                                      NGX_HTTP_OK);
}


/* POST {base}/:id/delete_tile/ */

ngx_int_t
ngx_http_dashboards_delete_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    return ngx_http_dashboards_action(r, ctx, ngx_http_dashboards_tile_id,
                                      NGX_HTTP_DASHBOARDS_SQL_DELETE_TILE,
                                      NGX_HTTP_NO_CONTENT);
}


/* POST {base}/:id/copy_tile/ */

ngx_int_t
ngx_http_dashboards_copy_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    return ngx_http_dashboards_written_action(r, ctx,
               ngx_http_dashboards_copy, NGX_HTTP_DASHBOARDS_SQL_COPY_TILE,
               NGX_HTTP_OK);
}


/* PATCH or POST {base}/:id/move_tile/ */

ngx_int_t
ngx_http_dashboards_move_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    cJSON  *old;

    /* older clients send "toDashboard" */

    if (cJSON_IsObject(ctx->body)
        && !cJSON_HasObjectItem(ctx->body, "to_dashboard"))
    {
        old = cJSON_GetObjectItemCaseSensitive(ctx->body, "toDashboard");

        if (old) {
            old = cJSON_Duplicate(old, 1);
            if (old == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            cJSON_AddItemToObject(ctx->body, "to_dashboard", old);
        }
    }

    return ngx_http_dashboards_written_action(r, ctx,
               ngx_http_dashboards_move, NGX_HTTP_DASHBOARDS_SQL_MOVE_TILE,
               NGX_HTTP_OK);
}


/* POST {base}/:id/reorder_tiles/ */

ngx_int_t
ngx_http_dashboards_reorder_tiles(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    if (cJSON_IsObject(ctx->body)
        && !cJSON_HasObjectItem(ctx->body, "layout"))
    {
        if (cJSON_AddStringToObject(ctx->body, "layout", "preserve") == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_dashboards_written_action(r, ctx,
               ngx_http_dashboards_reorder,
               NGX_HTTP_DASHBOARDS_SQL_REORDER_TILES, NGX_HTTP_OK);
}
