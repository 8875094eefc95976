
/*
 * Copyright (C) ngx_dashboards authors
 *
 * The content handler: the route table, reading the body, the order of
 * checks (authentication, method, scopes, project), then the endpoint.
 * The query string is read by ngx_http_dashboards_args.c, statements run
 * through ngx_http_dashboards_request.c.
 */


#include "ngx_http_dashboards_module.h"


/* path shapes */
#define NGX_HTTP_DASHBOARDS_COLLECTION         1   /* .../dashboards/ */
#define NGX_HTTP_DASHBOARDS_COLLECTION_ACTION  2   /* .../dashboards/x/ */
#define NGX_HTTP_DASHBOARDS_OBJECT             3   /* .../dashboards/1/ */
#define NGX_HTTP_DASHBOARDS_OBJECT_ACTION      4   /* .../dashboards/1/x/ */
#define NGX_HTTP_DASHBOARDS_ME                 5   /* /api/users/@me/ */
#define NGX_HTTP_DASHBOARDS_KEY_CURRENT        6
#define NGX_HTTP_DASHBOARDS_PROJECT            7   /* /api/projects/1/ */

#define NGX_HTTP_DASHBOARDS_MAX_SEGMENTS       8

#define NGX_HTTP_DASHBOARDS_GET   (NGX_HTTP_GET|NGX_HTTP_HEAD)


static ngx_int_t ngx_http_dashboards_route(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
static void ngx_http_dashboards_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_dashboards_read_body(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
static ngx_int_t ngx_http_dashboards_check_scope(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
static ngx_int_t ngx_http_dashboards_in_list(ngx_str_t *list,
    u_char *item, size_t len);
static ngx_int_t ngx_http_dashboards_valid_host(ngx_str_t *host);
static ngx_int_t ngx_http_dashboards_preflight(ngx_http_request_t *r);
static ngx_int_t ngx_http_dashboards_options(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
static void ngx_http_dashboards_options_done(ngx_http_request_t *r,
    PGresult *res);
static ngx_int_t ngx_http_dashboards_send_options(ngx_http_request_t *r);
static void ngx_http_dashboards_cleanup(void *data);


static ngx_http_dashboards_route_t  ngx_http_dashboards_routes[] = {

    { NGX_HTTP_DASHBOARDS_COLLECTION, ngx_null_string,
      NGX_HTTP_DASHBOARDS_GET, NGX_HTTP_DASHBOARDS_READ, "dashboard",
      ngx_http_dashboards_list },

    { NGX_HTTP_DASHBOARDS_COLLECTION, ngx_null_string,
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_create },

    { NGX_HTTP_DASHBOARDS_OBJECT, ngx_null_string,
      NGX_HTTP_DASHBOARDS_GET, NGX_HTTP_DASHBOARDS_READ, "dashboard",
      ngx_http_dashboards_retrieve },

    { NGX_HTTP_DASHBOARDS_OBJECT, ngx_null_string,
      NGX_HTTP_PUT|NGX_HTTP_PATCH, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_update },

    { NGX_HTTP_DASHBOARDS_OBJECT, ngx_null_string,
      NGX_HTTP_DELETE, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_destroy },

    { NGX_HTTP_DASHBOARDS_ME, ngx_null_string,
      NGX_HTTP_DASHBOARDS_GET, NGX_HTTP_DASHBOARDS_READ, "user",
      ngx_http_dashboards_me },

    /* PostHog checks no scope here: every key may read itself */

    { NGX_HTTP_DASHBOARDS_KEY_CURRENT, ngx_null_string,
      NGX_HTTP_DASHBOARDS_GET, NGX_HTTP_DASHBOARDS_ANY, "personal_api_key",
      ngx_http_dashboards_key_current },

    { NGX_HTTP_DASHBOARDS_PROJECT, ngx_null_string,
      NGX_HTTP_DASHBOARDS_GET, NGX_HTTP_DASHBOARDS_READ, "project",
      ngx_http_dashboards_project },

    { NGX_HTTP_DASHBOARDS_OBJECT_ACTION, ngx_string("create_text_tile"),
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_create_text_tile },

    { NGX_HTTP_DASHBOARDS_OBJECT_ACTION, ngx_string("update_text_tile"),
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_update_text_tile },

    { NGX_HTTP_DASHBOARDS_OBJECT_ACTION, ngx_string("delete_tile"),
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_delete_tile },

    { NGX_HTTP_DASHBOARDS_OBJECT_ACTION, ngx_string("copy_tile"),
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_copy_tile },

    { NGX_HTTP_DASHBOARDS_OBJECT_ACTION, ngx_string("move_tile"),
      NGX_HTTP_POST|NGX_HTTP_PATCH, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_move_tile },

    /* PostHog: @action(required_scopes=["query:read"]) */

    { NGX_HTTP_DASHBOARDS_OBJECT_ACTION, ngx_string("run_insights"),
      NGX_HTTP_DASHBOARDS_GET, NGX_HTTP_DASHBOARDS_READ, "query",
      ngx_http_dashboards_run_insights },

    { NGX_HTTP_DASHBOARDS_OBJECT_ACTION, ngx_string("reorder_tiles"),
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_WRITE, "dashboard",
      ngx_http_dashboards_reorder_tiles },

    /* no declared scope in PostHog: dashboard:write here (README.md) */

    { NGX_HTTP_DASHBOARDS_COLLECTION_ACTION, ngx_string("bulk_update_tags"),
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_NO_SCOPE, "dashboard",
      ngx_http_dashboards_bulk_update_tags },

    { NGX_HTTP_DASHBOARDS_COLLECTION_ACTION,
      ngx_string("create_from_template_json"),
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_NO_SCOPE, "dashboard",
      ngx_http_dashboards_from_template_json },

    { NGX_HTTP_DASHBOARDS_COLLECTION_ACTION,
      ngx_string("create_unlisted_dashboard"),
      NGX_HTTP_POST, NGX_HTTP_DASHBOARDS_NO_SCOPE, "dashboard",
      ngx_http_dashboards_create_unlisted },

    { 0, ngx_null_string, 0, 0, NULL, NULL }
};


ngx_int_t
ngx_http_dashboards_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   format, *host;
    ngx_pool_cleanup_t         *cln;
    ngx_http_dashboards_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_dashboards_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->project_id = -1;
    ctx->object_id = -1;
    ctx->status = NGX_HTTP_OK;
    ctx->authenticated = ngx_http_dashboards_proceed;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_dashboards_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_dashboards_module);

    /*
     * Django's CommonMiddleware reads the host of every request before the
     * URL is resolved, and get_host() refuses a host that is not a domain
     * name (with an optional port) or an IP literal: DisallowedHost, 400;
     * the host also ends up in the next/previous URLs of the list
     */

    host = r->headers_in.host ? &r->headers_in.host->value
                              : &r->headers_in.server;

    if (host->len && !ngx_http_dashboards_valid_host(host)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_dashboards_fail(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", "invalid_host",
                                        "Invalid HTTP_HOST header. The "
                                        "domain name provided is not valid "
                                        "according to RFC 1034/1035.", NULL);
    }

    /*
     * a CORS preflight: PostHog's CorsMiddleware (django-cors-headers)
     * answers it before authentication and routing, 200 with no body; the
     * CORS headers themselves are nginx's add_header (conf-examples/)
     */

    if (r->method == NGX_HTTP_OPTIONS && ngx_http_dashboards_preflight(r)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_dashboards_send_empty(r, NGX_HTTP_OK);
    }

    rc = ngx_http_dashboards_route(r, ctx);

    if (rc != NGX_OK) {
        /* unknown path: answered before authentication, as Django does */

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_dashboards_not_found(r);
    }

    /* ?format=json (the default) or txt; DRF answers 404 to others */

    rc = ngx_http_dashboards_arg(r, "format", &format);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        if (format.len == 3 && ngx_strncmp(format.data, "txt", 3) == 0) {
            ctx->format_txt = 1;

        } else if (format.len != 4
                   || ngx_strncmp(format.data, "json", 4) != 0)
        {
            rc = ngx_http_discard_request_body(r);
            if (rc != NGX_OK) {
                return rc;
            }

            return ngx_http_dashboards_not_found(r);
        }
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_dashboards_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * /api/projects/:project_id/dashboards[/:id[/:action]]/ (or environments),
 * /api/projects/:project_id/, /api/users/@me/,
 * /api/personal_api_keys/@current/
 */

static ngx_int_t
ngx_http_dashboards_route(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char                       *p, *last, *start;
    ngx_str_t                     seg[NGX_HTTP_DASHBOARDS_MAX_SEGMENTS];
    ngx_str_t                     action;
    ngx_uint_t                    n, family, i;
    ngx_http_dashboards_route_t  *rt;

    p = r->uri.data;
    last = p + r->uri.len;

    if (r->uri.len < 5 || ngx_strncmp(p, "/api/", 5) != 0) {
        return NGX_DECLINED;
    }

    p += 5;
    n = 0;

    while (p < last) {
        start = p;

        while (p < last && *p != '/') {
            p++;
        }

        if (p == start) {
            /* empty segment: only a trailing slash is fine */
            if (p + 1 < last) {
                return NGX_DECLINED;
            }

            p++;
            continue;
        }

        if (n == NGX_HTTP_DASHBOARDS_MAX_SEGMENTS) {
            return NGX_DECLINED;
        }

        seg[n].data = start;
        seg[n].len = p - start;
        n++;

        if (p < last) {
            p++;     /* the slash */
        }
    }

    ngx_str_null(&action);
    family = 0;

#define seg_is(i, s)                                                          \
    (seg[i].len == sizeof(s) - 1                                              \
     && ngx_strncmp(seg[i].data, s, sizeof(s) - 1) == 0)

    if (n == 2 && seg_is(0, "users") && seg_is(1, "@me")) {
        family = NGX_HTTP_DASHBOARDS_ME;

    } else if (n == 2 && seg_is(0, "personal_api_keys")
               && seg_is(1, "@current"))
    {
        family = NGX_HTTP_DASHBOARDS_KEY_CURRENT;

    } else if (n == 2 && seg_is(0, "projects")) {
        family = NGX_HTTP_DASHBOARDS_PROJECT;
        ctx->project = seg[1];

    } else if (n >= 3 && (seg_is(0, "projects") || seg_is(0, "environments"))
               && seg_is(2, "dashboards"))
    {
        ctx->project = seg[1];

        if (n == 3) {
            family = NGX_HTTP_DASHBOARDS_COLLECTION;

        } else {
            for (i = 0; i < seg[3].len; i++) {
                if (seg[3].data[i] < '0' || seg[3].data[i] > '9') {
                    break;
                }
            }

            if (i == seg[3].len) {
                ctx->object = seg[3];
                ctx->object_id = ngx_atoi(seg[3].data, seg[3].len);
                if (ctx->object_id == NGX_ERROR
                    || ctx->object_id > NGX_HTTP_DASHBOARDS_MAX_ID)
                {
                    return NGX_DECLINED;
                }

                if (n == 4) {
                    family = NGX_HTTP_DASHBOARDS_OBJECT;

                } else {
                    family = NGX_HTTP_DASHBOARDS_OBJECT_ACTION;
                    action.data = seg[4].data;
                    action.len = seg[n - 1].data + seg[n - 1].len
                                 - seg[4].data;
                }

            } else {
                family = NGX_HTTP_DASHBOARDS_COLLECTION_ACTION;
                action.data = seg[3].data;
                action.len = seg[n - 1].data + seg[n - 1].len - seg[3].data;
            }
        }
    }

#undef seg_is

    if (family == 0) {
        return NGX_DECLINED;
    }

    /* the first route of the path; the method is checked after auth */

    for (rt = ngx_http_dashboards_routes; rt->family; rt++) {
        if (rt->family != family
            || rt->action.len != action.len
            || ngx_strncmp(rt->action.data, action.data, action.len) != 0)
        {
            continue;
        }

        if (ctx->route == NULL) {
            ctx->route = rt;
        }

        if (rt->methods & r->method) {
            ctx->route = rt;
            ctx->method_allowed = 1;
            break;
        }
    }

    if (ctx->route == NULL) {
        return NGX_DECLINED;
    }

    /* DRF's APIView.options(): the view's metadata, on every route */

    if (r->method == NGX_HTTP_OPTIONS) {
        ctx->options = 1;
        ctx->method_allowed = 1;
    }

    return NGX_OK;
}


static void
ngx_http_dashboards_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_dashboards_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    /* a client that goes away ends the request; the pool keeps its link */
    r->read_event_handler = ngx_http_test_reading;

    rc = ngx_http_dashboards_read_body(r, ctx);

    if (rc == NGX_OK) {
        rc = ngx_http_dashboards_authenticate(r, ctx);

        if (rc == NGX_OK) {
            rc = ngx_http_dashboards_proceed(r, ctx);
        }
    }

    ngx_http_dashboards_finish(r, rc);
}


/*
 * collects the body and parses it as JSON; a parse error is kept and
 * answered after authentication, as DRF parses lazily
 */

static ngx_int_t
ngx_http_dashboards_read_body(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char                          *data, *p;
    size_t                           len;
    ssize_t                          n;
    ngx_buf_t                       *b;
    ngx_str_t                        err, *ct;
    ngx_chain_t                     *cl;
    ngx_http_dashboards_loc_conf_t  *dlcf;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    data = ngx_pnalloc(r->pool, len);
    if (data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n == NGX_ERROR) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            p += n;

        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    len = p - data;

    ct = r->headers_in.content_type ? &r->headers_in.content_type->value
                                    : NULL;

    if (ct && ct->len && ngx_strlcasestrn(ct->data, ct->data + ct->len,
                                          (u_char *) "json", 4 - 1)
                         == NULL)
    {
        ctx->body_error = NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
        ctx->body_error_text.data = ngx_pnalloc(r->pool, ct->len + 40);
        if (ctx->body_error_text.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->body_error_text.len =
            ngx_sprintf(ctx->body_error_text.data,
                        "Unsupported media type \"%V\" in request.", ct)
            - ctx->body_error_text.data;

        return NGX_OK;
    }

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

    ctx->body = ngx_http_dashboards_parse(r, data, len, dlcf->max_depth,
                                          &err);
    if (ctx->body == NULL) {
        ctx->body_error = NGX_HTTP_BAD_REQUEST;
        ctx->body_error_text = err;
    }

    return NGX_OK;
}


/* authenticated: method, project, scopes, then the endpoint */

ngx_int_t
ngx_http_dashboards_proceed(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char                       *p, *last;
    ngx_int_t                     rc;
    ngx_str_t                     detail;
    ngx_http_dashboards_route_t  *rt;

    rt = ctx->route;

    if (!ctx->method_allowed) {
        detail.data = ngx_pnalloc(r->pool, r->method_name.len + 32);
        if (detail.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        detail.len = ngx_sprintf(detail.data, "Method \"%V\" not allowed.",
                                 &r->method_name)
                     - detail.data;

        return ngx_http_dashboards_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                              "invalid_request",
                                              "method_not_allowed", &detail,
                                              NULL);
    }

    /* the project: an integer or "@current" */

    if (ctx->project.len) {
        if (ctx->project.len == 8
            && ngx_strncmp(ctx->project.data, "@current", 8) == 0)
        {
            ctx->project_id = ctx->auth.current_team_id;

        } else {
            ctx->project_id = ngx_atoi(ctx->project.data, ctx->project.len);
        }

        if (ctx->project_id < 0
            || ctx->project_id > NGX_HTTP_DASHBOARDS_MAX_ID)
        {
            return ngx_http_dashboards_fail(r, NGX_HTTP_NOT_FOUND,
                                            "invalid_request", "not_found",
                                            "Project not found.", NULL);
        }

        p = ngx_sprintf(ctx->project_arg, "%i", ctx->project_id);
        *p = '\0';
    }

    rc = ngx_http_dashboards_check_scope(r, ctx);
    if (rc != NGX_DECLINED) {
        /* refused and answered */
        return rc;
    }

    /* DRF parses the body lazily, and the metadata never reads it */

    if (ctx->body_error && !ctx->options) {
        if (ctx->body_error == NGX_HTTP_UNSUPPORTED_MEDIA_TYPE) {
            return ngx_http_dashboards_send_error(r,
                                                  ctx->body_error,
                                                  "invalid_request",
                                                  "unsupported_media_type",
                                                  &ctx->body_error_text,
                                                  NULL);
        }

        return ngx_http_dashboards_send_error(r, ctx->body_error,
                                              "invalid_request",
                                              "parse_error",
                                              &ctx->body_error_text, NULL);
    }

    p = ngx_sprintf(ctx->user_id, "%i", ctx->auth.user_id);
    *p = '\0';

    if (ctx->object_id >= 0) {
        p = ngx_sprintf(ctx->object_arg, "%i", ctx->object_id);
        *p = '\0';
    }

    /*
     * the key's organizations as a NUL-terminated parameter; legacy keys
     * without scopes are not restricted (PostHog skips the check for them)
     */

    if (ctx->auth.scopes.len == 0) {
        ctx->auth.scoped_orgs.len = 0;
    }

    ctx->scoped_orgs.data = ngx_pnalloc(r->pool,
                                        ctx->auth.scoped_orgs.len + 1);
    if (ctx->scoped_orgs.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_cpymem(ctx->scoped_orgs.data, ctx->auth.scoped_orgs.data,
                      ctx->auth.scoped_orgs.len);
    *last = '\0';
    ctx->scoped_orgs.len = ctx->auth.scoped_orgs.len;

    if (ctx->options) {
        return ngx_http_dashboards_options(r, ctx);
    }

    return rt->handler(r, ctx);
}


/* as PostHog: scoped teams, then the scope itself; NGX_DECLINED: passed */

static ngx_int_t
ngx_http_dashboards_check_scope(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char                          *p;
    size_t                           len;
    ngx_str_t                        detail;
    ngx_uint_t                       scope;
    ngx_http_dashboards_route_t     *rt;
    ngx_http_dashboards_loc_conf_t  *dlcf;
    u_char                           need[64], write[64];
    u_char                           team[NGX_INT_T_LEN];

    rt = ctx->route;
    scope = rt->scope;

    /*
     * OPTIONS: PostHog's APIScopePermission asks for "<object>:read"
     * unless the action declares its own scopes (the write actions here)
     */

    if (ctx->options && scope != NGX_HTTP_DASHBOARDS_ANY
        && (scope == NGX_HTTP_DASHBOARDS_NO_SCOPE
            || rt->family != NGX_HTTP_DASHBOARDS_OBJECT_ACTION))
    {
        scope = NGX_HTTP_DASHBOARDS_READ;
    }

    /* legacy keys without scopes may do anything */

    if (ctx->auth.scopes.len == 0 || scope == NGX_HTTP_DASHBOARDS_ANY) {
        return NGX_DECLINED;
    }

    if (scope == NGX_HTTP_DASHBOARDS_NO_SCOPE) {
        dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

        if (dlcf->session_only_actions) {
            return ngx_http_dashboards_fail(r, NGX_HTTP_FORBIDDEN,
                "authentication_error", "permission_denied",
                "This action does not support personal API key access",
                NULL);
        }
    }

    if (ctx->project_id >= 0 && ctx->auth.scoped_teams.len) {
        len = ngx_sprintf(team, "%i", ctx->project_id) - team;

        if (!ngx_http_dashboards_in_list(&ctx->auth.scoped_teams, team, len))
        {
            detail.data = ngx_pnalloc(r->pool, 80 + NGX_INT_T_LEN);
            if (detail.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            detail.len = ngx_sprintf(detail.data, "API key does not have "
                                     "access to the requested project: "
                                     "ID %i.", ctx->project_id)
                         - detail.data;

            return ngx_http_dashboards_send_error(r, NGX_HTTP_FORBIDDEN,
                                                  "authentication_error",
                                                  "permission_denied",
                                                  &detail, NULL);
        }
    }

    if (ngx_http_dashboards_in_list(&ctx->auth.scopes, (u_char *) "*", 1)) {
        return NGX_DECLINED;
    }

    /* NO_SCOPE actions: dashboard:write, a difference listed in README.md */

    p = ngx_sprintf(need, "%s:%s", rt->scope_object,
                    scope == NGX_HTTP_DASHBOARDS_READ ? "read" : "write");
    len = p - need;

    if (ngx_http_dashboards_in_list(&ctx->auth.scopes, need, len)) {
        return NGX_DECLINED;
    }

    if (scope == NGX_HTTP_DASHBOARDS_READ) {
        p = ngx_sprintf(write, "%s:write", rt->scope_object);

        if (ngx_http_dashboards_in_list(&ctx->auth.scopes, write, p - write))
        {
            return NGX_DECLINED;
        }
    }

    detail.data = ngx_pnalloc(r->pool, len + 40);
    if (detail.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    detail.len = ngx_sprintf(detail.data,
                             "API key missing required scope '%*s'",
                             len, need)
                 - detail.data;

    return ngx_http_dashboards_send_error(r, NGX_HTTP_FORBIDDEN,
                                          "authentication_error",
                                          "permission_denied", &detail, NULL);
}


static ngx_int_t
ngx_http_dashboards_in_list(ngx_str_t *list, u_char *item, size_t len)
{
    u_char  *p, *last, *start;

    p = list->data;
    last = p + list->len;

    while (p < last) {
        start = p;

        while (p < last && *p != ',') {
            p++;
        }

        if ((size_t) (p - start) == len && ngx_strncmp(start, item, len) == 0)
        {
            return 1;
        }

        p++;
    }

    return 0;
}


ngx_int_t
ngx_http_dashboards_action(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, const ngx_http_dashboards_field_t *fields,
    ngx_uint_t stmt, ngx_uint_t status)
{
    char                        *text;
    size_t                       len;
    uint32_t                     cp;
    ngx_int_t                    rc;
    ngx_uint_t                   n;
    const char                  *body;
    ngx_http_dashboards_verr_t   err;

    if (fields) {
        rc = ngx_http_dashboards_body_param(r, ctx, fields, &body, &err);

        if (rc == NGX_DECLINED) {
            return ngx_http_dashboards_invalid(r, ctx, &err);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (ctx->body) {
        /* sent as it came: nothing jsonb refuses, numbers as written */

        switch (ngx_http_dashboards_json_bad(ctx->body, &cp)) {

        case 0:
            break;

        case 1:
            rc = ngx_http_dashboards_verr(r, &err,
                                          "null_characters_not_allowed",
                                          NULL, "Null characters are not "
                                          "allowed.");
            goto invalid;

        default:
            rc = ngx_http_dashboards_verr(r, &err,
                                          "surrogate_characters_not_allowed",
                                          NULL, "Surrogate characters are "
                                          "not allowed: U+%XD.", cp);
            goto invalid;
        }

        ngx_http_dashboards_json_raw_numbers(ctx->body);

        text = ngx_http_dashboards_print(r, ctx->body, &len);
        if (text == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        body = text;

    } else {
        body = "{}";
    }

    /* a query parameter refused before the body was read (insights.c) */

    if (ctx->query_invalid) {
        return ngx_http_dashboards_invalid(r, ctx, &ctx->verr);
    }

    ctx->status = status;

    ngx_http_dashboards_base_values(ctx);

    if (ctx->object_id >= 0) {
        ctx->query.values[3] = (const char *) ctx->object_arg;
        ctx->query.values[4] = body;
        n = 5;

    } else {
        ctx->query.values[3] = body;
        n = 4;
    }

    return ngx_http_dashboards_run(r, ctx, stmt, n,
                                   ctx->written_refresh
                                   ? ngx_http_dashboards_written
                                   : ngx_http_dashboards_json_done);

invalid:

    if (rc != NGX_DECLINED) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_dashboards_invalid(r, ctx, &err);
}


/*
 * PostHog checks the project and loads the object before it validates the
 * body: a bad body on a missing dashboard is a 404, on one the user may not
 * edit a 403; only then the validation error
 */

ngx_int_t
ngx_http_dashboards_invalid(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_http_dashboards_verr_t *err)
{
    cJSON      *deleted;
    ngx_int_t   restore;

    ctx->verr = *err;

    /* PATCH {"deleted": false} reaches a deleted dashboard (restore) */

    deleted = cJSON_IsObject(ctx->body)
              ? cJSON_GetObjectItemCaseSensitive(ctx->body, "deleted") : NULL;

    restore = deleted ? ngx_http_dashboards_is_false(deleted) : 0;

    ngx_http_dashboards_base_values(ctx);
    ctx->query.values[3] = (ctx->object_id >= 0)
                           ? (const char *) ctx->object_arg : NULL;
    ctx->query.values[4] = restore ? "true" : "false";

    return ngx_http_dashboards_run(r, ctx, NGX_HTTP_DASHBOARDS_SQL_CHECK_EDIT,
                                   5, ngx_http_dashboards_verr_done);
}


/* the object's checks passed: the validation error of ctx->verr */

void
ngx_http_dashboards_verr_done(ngx_http_request_t *r, PGresult *res)
{
    ngx_int_t                   rc;
    ngx_http_dashboards_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    rc = ngx_http_dashboards_send_verr(r, &ctx->verr);

    ngx_http_dashboards_finish(r, rc);
}


/* the parameters every project endpoint starts with: user, project, orgs */

void
ngx_http_dashboards_base_values(ngx_http_dashboards_ctx_t *ctx)
{
    ctx->query.values[0] = (const char *) ctx->user_id;
    ctx->query.values[1] = (const char *) ctx->project_arg;
    ctx->query.values[2] = (const char *) ctx->scoped_orgs.data;
}


/* most endpoints answer with the one JSON value their statement returns */

void
ngx_http_dashboards_json_done(ngx_http_request_t *r, PGresult *res)
{
    ngx_int_t                   rc;
    ngx_http_dashboards_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    if (ctx->status == NGX_HTTP_NO_CONTENT) {
        rc = ngx_http_dashboards_send_empty(r, NGX_HTTP_NO_CONTENT);

    } else {
        rc = ngx_http_dashboards_send_result(r, ctx->status, res, 0);
    }

    ngx_http_dashboards_finish(r, rc);
}


/* a CORS preflight names the method it asks for */

static ngx_int_t
ngx_http_dashboards_preflight(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Access-Control-Request-Method") - 1
            && ngx_strncasecmp(h[i].key.data,
                               (u_char *) "Access-Control-Request-Method",
                               sizeof("Access-Control-Request-Method") - 1)
               == 0)
        {
            return 1;
        }
    }
}


/*
 * OPTIONS after authentication and the scope: the project checks the
 * route's own statement would make (the object itself is not loaded:
 * DRF's SimpleMetadata only tries it for the "actions" it does not list
 * here), then the metadata
 */

static ngx_int_t
ngx_http_dashboards_options(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    switch (ctx->route->family) {

    case NGX_HTTP_DASHBOARDS_ME:
    case NGX_HTTP_DASHBOARDS_KEY_CURRENT:
        return ngx_http_dashboards_send_options(r);

    case NGX_HTTP_DASHBOARDS_PROJECT:
        ngx_http_dashboards_base_values(ctx);
        return ngx_http_dashboards_run(r, ctx,
                                       NGX_HTTP_DASHBOARDS_SQL_PROJECT, 3,
                                       ngx_http_dashboards_options_done);

    default:
        ngx_http_dashboards_base_values(ctx);
        return ngx_http_dashboards_run(r, ctx,
                                       NGX_HTTP_DASHBOARDS_SQL_ACCESS, 3,
                                       ngx_http_dashboards_options_done);
    }
}


/*
 * DRF's SimpleMetadata.determine_metadata(): the view's name (the class
 * name without "ViewSet" and the router's suffix, or the action's pretty
 * name), its docstring (none on PostHog's DashboardsViewSet), the media
 * types of its renderers (SafeJSONRenderer, ServerSentEventRenderer) and
 * of DRF's default parsers; the Allow header lists the route's methods
 */

static void
ngx_http_dashboards_options_done(ngx_http_request_t *r, PGresult *res)
{
    ngx_http_dashboards_finish(r, ngx_http_dashboards_send_options(r));
}


static ngx_int_t
ngx_http_dashboards_send_options(ngx_http_request_t *r)
{
    u_char                       *p, *body, *allow;
    size_t                        len;
    ngx_str_t                     name, action;
    ngx_uint_t                    methods, i;
    ngx_table_elt_t              *h;
    ngx_http_dashboards_ctx_t    *ctx;
    ngx_http_dashboards_route_t  *rt, *route;

    static const char  *renders_dashboards =
        "[\"application/json\",\"text/event-stream\"]";
    static const char  *renders_json = "[\"application/json\"]";

    static struct {
        ngx_uint_t   method;
        const char  *name;
    } names[] = {
        { NGX_HTTP_GET, "GET" },
        { NGX_HTTP_POST, "POST" },
        { NGX_HTTP_PUT, "PUT" },
        { NGX_HTTP_PATCH, "PATCH" },
        { NGX_HTTP_DELETE, "DELETE" },
        { NGX_HTTP_HEAD, "HEAD" },
        { NGX_HTTP_OPTIONS, "OPTIONS" }
    };

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);
    route = ctx->route;

    ngx_str_null(&action);

    switch (route->family) {

    case NGX_HTTP_DASHBOARDS_COLLECTION:
        ngx_str_set(&name, "Dashboards List");
        break;

    case NGX_HTTP_DASHBOARDS_OBJECT:
        ngx_str_set(&name, "Dashboards Instance");
        break;

    case NGX_HTTP_DASHBOARDS_ME:
        ngx_str_set(&name, "User Instance");
        break;

    case NGX_HTTP_DASHBOARDS_KEY_CURRENT:
        ngx_str_set(&name, "Personal API Key Instance");
        break;

    case NGX_HTTP_DASHBOARDS_PROJECT:
        ngx_str_set(&name, "Project Instance");
        break;

    default:
        /* Django's pretty_name() of the action: "Create text tile" */
        action = route->action;
        name.len = action.len;
        name.data = NULL;
        break;
    }

    /* the methods of every route of this path, in DRF's order */

    methods = NGX_HTTP_OPTIONS;

    for (rt = route; rt->family; rt++) {
        if (rt->family == route->family
            && rt->action.len == route->action.len
            && ngx_strncmp(rt->action.data, route->action.data,
                           route->action.len) == 0)
        {
            methods |= rt->methods;
        }
    }

    if (methods & NGX_HTTP_GET) {
        methods |= NGX_HTTP_HEAD;
    }

    allow = ngx_pnalloc(r->pool, sizeof("GET, POST, PUT, PATCH, DELETE, "
                                        "HEAD, OPTIONS"));
    len = sizeof("{\"name\":\"\",\"description\":\"\",\"renders\":,"
                 "\"parses\":[\"application/json\","
                 "\"application/x-www-form-urlencoded\","
                 "\"multipart/form-data\"]}")
          + name.len + ngx_strlen(renders_dashboards);
    body = ngx_pnalloc(r->pool, len);

    if (allow == NULL || body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = allow;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (methods & names[i].method) {
            p = ngx_sprintf(p, "%s%s", p == allow ? "" : ", ",
                            names[i].name);
        }
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = allow;
    h->value.len = p - allow;

    p = ngx_cpymem(body, "{\"name\":\"", sizeof("{\"name\":\"") - 1);

    if (name.data) {
        p = ngx_cpymem(p, name.data, name.len);

    } else {
        for (i = 0; i < action.len; i++) {
            *p++ = (action.data[i] == '_') ? ' '
                   : (i == 0) ? ngx_toupper(action.data[i]) : action.data[i];
        }
    }

    p = ngx_sprintf(p, "\",\"description\":\"\",\"renders\":%s,"
                    "\"parses\":[\"application/json\","
                    "\"application/x-www-form-urlencoded\","
                    "\"multipart/form-data\"]}",
                    /* the DashboardsViewSet routes come first */
                    route->family <= NGX_HTTP_DASHBOARDS_OBJECT_ACTION
                    ? renders_dashboards : renders_json);

    return ngx_http_dashboards_send_str(r, NGX_HTTP_OK, body, p - body);
}


/*
 * Django's split_domain_port(): the host, lowercased, must match
 * ^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9\.:]+\])(:[0-9]+)?$ and the domain
 * without one trailing dot must not be empty
 */

static ngx_int_t
ngx_http_dashboards_valid_host(ngx_str_t *host)
{
    u_char  *p, *last, *start, c;

    p = host->data;
    last = p + host->len;

#define host_hex(c)                                                           \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f'))

    if (p < last && *p == '[') {
        p++;

        while (p < last && host_hex(ngx_tolower(*p))) {
            p++;
        }

        if (p == last || *p != ':') {
            return 0;
        }

        start = ++p;

        while (p < last) {
            c = ngx_tolower(*p);

            if (!host_hex(c) && c != '.' && c != ':') {
                break;
            }

            p++;
        }

        if (p == start || p == last || *p != ']') {
            return 0;
        }

        p++;

    } else {
        start = p;

        while (p < last) {
            c = ngx_tolower(*p);

            if ((c < 'a' || c > 'z') && (c < '0' || c > '9')
                && c != '.' && c != '-')
            {
                break;
            }

            p++;
        }

        /* "." alone is no domain */

        if (p - start - (p > start && p[-1] == '.') == 0) {
            return 0;
        }
    }

#undef host_hex

    if (p == last) {
        return 1;
    }

    if (*p++ != ':' || p == last) {
        return 0;
    }

    while (p < last) {
        if (*p < '0' || *p > '9') {
            return 0;
        }

        p++;
    }

    return 1;
}


static void
ngx_http_dashboards_cleanup(void *data)
{
    ngx_http_dashboards_ctx_t *ctx = data;

    ngx_http_dashboards_request_cleanup(ctx);
}
