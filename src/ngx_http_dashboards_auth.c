
/*
 * Copyright (C) ngx_dashboards authors
 *
 * Personal API keys: finding the key (Authorization header, body field,
 * query string), hashing it as PostHog stores it ("sha256$<hex>"), the
 * lookup, and a small per-worker cache of key -> user, scopes and teams.
 */


#include "ngx_http_dashboards_module.h"

#include <openssl/evp.h>


#define NGX_HTTP_DASHBOARDS_AUTH_SLOTS  512
#define NGX_HTTP_DASHBOARDS_AUTH_DATA   1024


typedef struct {
    u_char                        secure[NGX_HTTP_DASHBOARDS_SECURE_LEN + 1];
    time_t                        fetched;
    ngx_int_t                     user_id;
    ngx_int_t                     current_team_id;
    size_t                        scopes;
    size_t                        teams;
    size_t                        orgs;
    size_t                        key_id;
    u_char                        data[NGX_HTTP_DASHBOARDS_AUTH_DATA];
} ngx_http_dashboards_auth_entry_t;


static ngx_int_t ngx_http_dashboards_find_key(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
static ngx_http_dashboards_auth_entry_t *ngx_http_dashboards_auth_slot(
    ngx_http_request_t *r, u_char *secure);
static ngx_int_t ngx_http_dashboards_auth_from_cache(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
static void ngx_http_dashboards_auth_to_cache(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
static void ngx_http_dashboards_auth_done(ngx_http_request_t *r,
    PGresult *res);
static ngx_int_t ngx_http_dashboards_copy(ngx_http_request_t *r,
    ngx_str_t *dst, u_char *src, size_t len);
static ngx_int_t ngx_http_dashboards_unauthorized(ngx_http_request_t *r,
    const char *code, const char *detail);


void
ngx_http_dashboards_auth_init(ngx_cycle_t *cycle)
{
    ngx_http_dashboards_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_dashboards_module);

    dmcf->auth_cache = ngx_pcalloc(cycle->pool,
                                   sizeof(ngx_http_dashboards_auth_entry_t)
                                   * NGX_HTTP_DASHBOARDS_AUTH_SLOTS);
}


/*
 * NGX_OK: ctx->auth is filled; NGX_DONE: the lookup runs; otherwise the
 * request has been answered and rc is for ngx_http_finalize_request()
 */

ngx_int_t
ngx_http_dashboards_authenticate(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char        *p;
    ngx_int_t      rc;
    unsigned int   mdlen;
    u_char         md[EVP_MAX_MD_SIZE];

    rc = ngx_http_dashboards_find_key(r, ctx);

    if (ctx->body_error == NGX_HTTP_BAD_REQUEST
        && (rc != NGX_OK || ctx->key_source[0] != 'A'))
    {
        /* DRF parses the body looking for the key: the parse error wins */

        rc = ngx_http_dashboards_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request", "parse_error",
                                            &ctx->body_error_text, NULL);
        ngx_http_dashboards_finish(r, rc);
        return NGX_DONE;
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_dashboards_unauthorized(r, "not_authenticated",
                                              "Authentication credentials "
                                              "were not provided.");

        /* answered: the caller must not go on */
        ngx_http_dashboards_finish(r, rc);
        return NGX_DONE;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (EVP_Digest(ctx->key.data, ctx->key.len, md, &mdlen, EVP_sha256(),
                   NULL)
        != 1 || mdlen != 32)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "dashboards: EVP_Digest() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(ctx->secure, "sha256$", 7);
    p = ngx_hex_dump(p, md, mdlen);
    *p = '\0';

    if (ngx_http_dashboards_auth_from_cache(r, ctx) == NGX_OK) {
        return NGX_OK;
    }

    ctx->query.values[0] = (const char *) ctx->secure;

    return ngx_http_dashboards_run(r, ctx, NGX_HTTP_DASHBOARDS_SQL_AUTH, 1,
                                   ngx_http_dashboards_auth_done);
}


static ngx_int_t
ngx_http_dashboards_find_key(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char     *p, *last;
    cJSON      *item;
    ngx_int_t   rc;
    ngx_str_t   value;

    /* 1. Authorization: Bearer <key> */

    if (r->headers_in.authorization) {
        value = r->headers_in.authorization->value;
        p = value.data;
        last = p + value.len;

        if (value.len > 7 && ngx_strncmp(p, "Bearer", 6) == 0
            && (p[6] == ' ' || p[6] == '\t'))
        {
            p += 6;

            while (p < last && (*p == ' ' || *p == '\t')) {
                p++;
            }

            while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
                last--;
            }

            if (last - p >= 2) {
                ctx->key.data = p;
                ctx->key.len = last - p;
                ctx->key_source = "Authorization header";
                return NGX_OK;
            }
        }
    }

    /* 2. the body field */

    if (ctx->body && cJSON_IsObject(ctx->body)) {
        item = cJSON_GetObjectItemCaseSensitive(ctx->body,
                                                "personal_api_key");

        if (cJSON_IsString(item) && item->valuestring[0] != '\0') {
            /*
             * the whole key is hashed, a "\u0000" in it as the NUL it is
             * (a key cut there would match the key before it)
             */

            if (ngx_http_dashboards_utf8_clean(r->pool,
                                               (u_char *) item->valuestring,
                                               ngx_strlen(item->valuestring),
                                               &ctx->key)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            ctx->key_source = "body";
            return NGX_OK;
        }
    }

    /* 3. the query string */

    rc = ngx_http_dashboards_arg(r, "personal_api_key", &value);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_OK && value.len) {
        ctx->key = value;
        ctx->key_source = "query string";
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static void
ngx_http_dashboards_auth_done(ngx_http_request_t *r, PGresult *res)
{
    ngx_int_t                   rc;
    ngx_str_t                   detail;
    ngx_http_dashboards_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);


    if (PQntuples(res) != 1 || PQnfields(res) != 6) {
        detail.data = ngx_pnalloc(r->pool, 80);
        if (detail.data == NULL) {
            ngx_http_dashboards_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        detail.len = ngx_sprintf(detail.data, "Personal API key found in "
                                 "request %s is invalid.", ctx->key_source)
                     - detail.data;

        detail.data[detail.len] = '\0';

        rc = ngx_http_dashboards_unauthorized(r, "authentication_failed",
                                              (const char *) detail.data);
        ngx_http_dashboards_finish(r, rc);
        return;
    }

    /* the strings live in res as long as the request */

    ctx->auth.user_id = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                                 PQgetlength(res, 0, 0));

    ctx->auth.scopes.data = (u_char *) PQgetvalue(res, 0, 1);
    ctx->auth.scopes.len = PQgetlength(res, 0, 1);
    ctx->auth.scoped_teams.data = (u_char *) PQgetvalue(res, 0, 2);
    ctx->auth.scoped_teams.len = PQgetlength(res, 0, 2);
    ctx->auth.scoped_orgs.data = (u_char *) PQgetvalue(res, 0, 3);
    ctx->auth.scoped_orgs.len = PQgetlength(res, 0, 3);

    ctx->auth.current_team_id = PQgetisnull(res, 0, 4)
                                ? -1
                                : ngx_atoi((u_char *) PQgetvalue(res, 0, 4),
                                           PQgetlength(res, 0, 4));

    ctx->auth.key_id.data = (u_char *) PQgetvalue(res, 0, 5);
    ctx->auth.key_id.len = PQgetlength(res, 0, 5);

    if (ctx->auth.user_id == NGX_ERROR) {
        ngx_http_dashboards_finish(r, ngx_http_dashboards_server_error(r));
        return;
    }

    ngx_http_dashboards_auth_to_cache(r, ctx);

    /* the checks after authentication (handler.c) */
    rc = ctx->authenticated(r, ctx);

    ngx_http_dashboards_finish(r, rc);
}


static ngx_http_dashboards_auth_entry_t *
ngx_http_dashboards_auth_slot(ngx_http_request_t *r, u_char *secure)
{
    ngx_http_dashboards_auth_entry_t  *cache;
    ngx_http_dashboards_main_conf_t   *dmcf;

    dmcf = ngx_http_get_module_main_conf(r, ngx_http_dashboards_module);

    cache = dmcf->auth_cache;
    if (cache == NULL) {
        return NULL;
    }

    return &cache[ngx_crc32_short(secure, NGX_HTTP_DASHBOARDS_SECURE_LEN)
                  % NGX_HTTP_DASHBOARDS_AUTH_SLOTS];
}


static ngx_int_t
ngx_http_dashboards_auth_from_cache(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char                            *p;
    ngx_http_dashboards_loc_conf_t    *dlcf;
    ngx_http_dashboards_auth_entry_t  *e;

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

    if (dlcf->auth_cache_ttl <= 0) {
        return NGX_DECLINED;
    }

    e = ngx_http_dashboards_auth_slot(r, ctx->secure);

    if (e == NULL
        || ngx_memcmp(e->secure, ctx->secure, NGX_HTTP_DASHBOARDS_SECURE_LEN)
           != 0
        || ngx_time() - e->fetched >= dlcf->auth_cache_ttl)
    {
        return NGX_DECLINED;
    }

    /* copied: the slot may be reused while this request runs */

    p = e->data;

    if (ngx_http_dashboards_copy(r, &ctx->auth.scopes, p, e->scopes)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    p += e->scopes;

    if (ngx_http_dashboards_copy(r, &ctx->auth.scoped_teams, p, e->teams)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    p += e->teams;

    if (ngx_http_dashboards_copy(r, &ctx->auth.scoped_orgs, p, e->orgs)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    p += e->orgs;

    if (ngx_http_dashboards_copy(r, &ctx->auth.key_id, p, e->key_id)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ctx->auth.user_id = e->user_id;
    ctx->auth.current_team_id = e->current_team_id;

    return NGX_OK;
}


static void
ngx_http_dashboards_auth_to_cache(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char                            *p;
    ngx_http_dashboards_auth_t        *a;
    ngx_http_dashboards_loc_conf_t    *dlcf;
    ngx_http_dashboards_auth_entry_t  *e;

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

    if (dlcf->auth_cache_ttl <= 0) {
        return;
    }

    a = &ctx->auth;

    if (a->scopes.len + a->scoped_teams.len + a->scoped_orgs.len
        + a->key_id.len > NGX_HTTP_DASHBOARDS_AUTH_DATA)
    {
        return;
    }

    e = ngx_http_dashboards_auth_slot(r, ctx->secure);
    if (e == NULL) {
        return;
    }

    ngx_memcpy(e->secure, ctx->secure, NGX_HTTP_DASHBOARDS_SECURE_LEN + 1);
    e->fetched = ngx_time();
    e->user_id = a->user_id;
    e->current_team_id = a->current_team_id;

    p = ngx_cpymem(e->data, a->scopes.data, a->scopes.len);
    p = ngx_cpymem(p, a->scoped_teams.data, a->scoped_teams.len);
    p = ngx_cpymem(p, a->scoped_orgs.data, a->scoped_orgs.len);
    (void) ngx_cpymem(p, a->key_id.data, a->key_id.len);

    e->scopes = a->scopes.len;
    e->teams = a->scoped_teams.len;
    e->orgs = a->scoped_orgs.len;
    e->key_id = a->key_id.len;
}


static ngx_int_t
ngx_http_dashboards_copy(ngx_http_request_t *r, ngx_str_t *dst, u_char *src,
    size_t len)
{
    dst->len = len;

    if (len == 0) {
        dst->data = (u_char *) "";
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(r->pool, len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->data[len] = '\0';

    return NGX_OK;
}


/* 401 with the challenge DRF sends for token authentication */

static ngx_int_t
ngx_http_dashboards_unauthorized(ngx_http_request_t *r, const char *code,
    const char *detail)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    ngx_str_set(&h->value, "Bearer");
    r->headers_out.www_authenticate = h;

    return ngx_http_dashboards_fail(r, NGX_HTTP_UNAUTHORIZED,
                                    "authentication_error", code, detail,
                                    NULL);
}
