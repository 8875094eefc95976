
/*
 * Copyright (C) ngx_dashboards authors
 *
 * The dashboards CRUD endpoints of PostHog's DashboardsViewSet: list, create,
 * retrieve, update (PUT, PATCH) and DELETE (always 405).
 */


#include "ngx_http_dashboards_module.h"


#define NGX_HTTP_DASHBOARDS_DEFAULT_LIMIT  100

#define S   NGX_HTTP_DASHBOARDS_T_STRING
#define I   NGX_HTTP_DASHBOARDS_T_INT
#define B   NGX_HTTP_DASHBOARDS_T_BOOL
#define N   NGX_HTTP_DASHBOARDS_F_NULL
#define BL  NGX_HTTP_DASHBOARDS_F_BLANK


static void ngx_http_dashboards_list_done(ngx_http_request_t *r,
    PGresult *res);
static ngx_int_t ngx_http_dashboards_page_url(ngx_http_request_t *r,
    ngx_array_t *args, ngx_int_t limit, ngx_int_t offset, ngx_str_t *url);
static ngx_int_t ngx_http_dashboards_parse_args(ngx_http_request_t *r,
    ngx_array_t *args);
static ngx_int_t ngx_http_dashboards_qarg_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_dashboards_null_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static u_char *ngx_http_dashboards_quote_plus(u_char *dst, ngx_str_t *src);
static ngx_int_t ngx_http_dashboards_positive_arg(ngx_http_request_t *r,
    const char *name, ngx_int_t strict, ngx_int_t def);
static ngx_int_t ngx_http_dashboards_read_values(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_uint_t stmt, ngx_uint_t nvalues,
    ngx_int_t *rcp);
static void ngx_http_dashboards_destroy_done(ngx_http_request_t *r,
    PGresult *res);


static const ngx_int_t  ngx_http_dashboards_restriction_levels[] = {
    21, 37, 0
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_user_ref[] = {
    { "id", I, N, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_text_fields[] = {
    { "id", I, N, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "body", S, N|BL|NGX_HTTP_DASHBOARDS_F_NOTRIM, 4000, NULL, NULL,
      "Text body cannot exceed 4000 characters", NULL, 0, 0 },
    { "created_by", NGX_HTTP_DASHBOARDS_T_OBJECT, N, 0, NULL,
      ngx_http_dashboards_user_ref, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_tile_fields[] = {
    { "id", I, N, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "text", NGX_HTTP_DASHBOARDS_T_OBJECT, N, 0, NULL,
      ngx_http_dashboards_text_fields, NULL, NULL, 0, 0 },
    { "layouts", NGX_HTTP_DASHBOARDS_T_DICT, N, 0, NULL, NULL, NULL, NULL,
      0, NGX_HTTP_DASHBOARDS_MAX_LAYOUT_KEYS },
    { "color", S, N|BL, 400, NULL, NULL, NULL, NULL, 0, 0 },
    { "deleted", B, N, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "filters_overrides", NGX_HTTP_DASHBOARDS_T_DICT, N, 0, NULL, NULL,
      NULL, NULL, 0, 0 },
    { "show_description", B, N, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { "transparent_background", B, N, 0, NULL, NULL, NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_dup_fields[] = {
    { "id", I, NGX_HTTP_DASHBOARDS_F_REQUIRED, 0, NULL, NULL, NULL, NULL,
      0, 0 },
    { "layouts", NGX_HTTP_DASHBOARDS_T_DICT, N, 0, NULL, NULL, NULL, NULL,
      0, NGX_HTTP_DASHBOARDS_MAX_LAYOUT_KEYS },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


#define ngx_http_dashboards_common_fields                                     \
    { "name", S, N|BL, 400, NULL, NULL, NULL, NULL, 0, 0 },                   \
    { "description", S, BL, 0, NULL, NULL, NULL, NULL, 0, 0 },                \
    { "pinned", B, 0, 0, NULL, NULL, NULL, NULL, 0, 0 },                      \
    { "last_accessed_at", NGX_HTTP_DASHBOARDS_T_DATETIME, N, 0, NULL, NULL,   \
      NULL, NULL, 0, 0 },                                                     \
    { "deleted", B, 0, 0, NULL, NULL, NULL, NULL, 0, 0 },                     \
    { "breakdown_colors", NGX_HTTP_DASHBOARDS_T_ANY, N, 0, NULL, NULL,        \
      NULL, NULL, 0, 0 },                                                     \
    { "data_color_theme_id", I, N, 0, NULL, NULL, NULL, NULL, 0, 0 },         \
    { "tags", NGX_HTTP_DASHBOARDS_T_STRINGS, 0, 255, NULL, NULL, NULL, NULL,  \
      0, NGX_HTTP_DASHBOARDS_MAX_TAGS },                                      \
    { "restriction_level", I, 0, 0, ngx_http_dashboards_restriction_levels,   \
      NULL, NULL, NULL, 0, 0 },                                               \
    { "last_refresh", NGX_HTTP_DASHBOARDS_T_DATETIME, N, 0, NULL, NULL,       \
      NULL, NULL, 0, 0 },                                                     \
    { "quick_filter_ids", NGX_HTTP_DASHBOARDS_T_UUIDS, N, 0, NULL, NULL,      \
      NULL, NULL, 0, 0 },                                                     \
    { "use_template", S, BL, 0, NULL, NULL, NULL, NULL, 0, 0 },               \
    { "use_dashboard", I, N, 0, NULL, NULL, NULL, NULL, 0, 0 },               \
    { "delete_insights", B, 0, 0, NULL, NULL, NULL, NULL, 0, 0 },             \
    { "_create_in_folder", S, BL, 0, NULL, NULL, NULL, NULL, 0, 0 },          \
    { "filters", NGX_HTTP_DASHBOARDS_T_FILTERS, 0, 0, NULL, NULL,             \
      "Filters must be a dictionary", NULL, 0, 0 },                           \
    { "variables", NGX_HTTP_DASHBOARDS_T_FILTERS, 0, 0, NULL, NULL,           \
      "Filters must be a dictionary", NULL, 0, 0 }


static const ngx_http_dashboards_field_t  ngx_http_dashboards_create_fields[]
    = {
    ngx_http_dashboards_common_fields,
    { "duplicate_tiles", NGX_HTTP_DASHBOARDS_T_TRUTHY, 0, 0, NULL, NULL,
      NULL, NULL, 0, 0 },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


static const ngx_http_dashboards_field_t  ngx_http_dashboards_update_fields[]
    = {
    ngx_http_dashboards_common_fields,
    { "duplicate_tiles", NGX_HTTP_DASHBOARDS_T_OBJECTS, 0, 0, NULL,
      ngx_http_dashboards_dup_fields, NULL, NULL, 0,
      NGX_HTTP_DASHBOARDS_MAX_TILES },
    { "tiles", NGX_HTTP_DASHBOARDS_T_OBJECTS, 0, 0, NULL,
      ngx_http_dashboards_tile_fields, NULL, NULL, 0,
      NGX_HTTP_DASHBOARDS_MAX_TILES },
    { NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0 }
};


/* GET {base}/ */

ngx_int_t
ngx_http_dashboards_list(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    char        *text;
    u_char      *p;
    cJSON       *q, *tags;
    size_t       len, n;
    ngx_int_t    rc, nul, limit, offset;
    ngx_str_t    value;
    ngx_uint_t   next;

    limit = ngx_http_dashboards_positive_arg(r, "limit", 1,
                                             NGX_HTTP_DASHBOARDS_DEFAULT_LIMIT);
    offset = ngx_http_dashboards_positive_arg(r, "offset", 0, 0);

    if (limit == NGX_ERROR || offset == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = cJSON_CreateObject();
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* freed with the request through the printed copy's cleanup below */

    cJSON_AddNumberToObject(q, "limit", (double) limit);
    cJSON_AddNumberToObject(q, "offset", (double) offset);

    rc = ngx_http_dashboards_arg(r, "search", &value);

    if (rc == NGX_OK) {
        nul = ngx_http_dashboards_null_arg(r, "search", &value);
        if (nul != NGX_DECLINED) {
            cJSON_Delete(q);
            return nul;
        }

        n = 0;

        for (p = value.data; p < value.data + value.len; p++) {
            if ((*p & 0xc0) != 0x80) {
                n++;
            }
        }

        if (n > 200) {
            cJSON_Delete(q);
            return ngx_http_dashboards_fail(r, NGX_HTTP_BAD_REQUEST,
                                            "validation_error",
                                            "invalid_input",
                                            "Search query must be 200 "
                                            "characters or fewer.",
                                            "search");
        }

        cJSON_AddStringToObject(q, "search", (const char *) value.data);

    } else {
        cJSON_AddNullToObject(q, "search");
    }

    tags = cJSON_AddArrayToObject(q, "tags");
    next = 0;

    while (tags
           && ngx_http_dashboards_arg_next(r, "tags", &next, &value) == NGX_OK)
    {
        nul = ngx_http_dashboards_null_arg(r, "tags", &value);
        if (nul != NGX_DECLINED) {
            cJSON_Delete(q);
            return nul;
        }

        cJSON_AddItemToArray(tags,
                             cJSON_CreateString((const char *) value.data));
    }

    if (ngx_http_dashboards_arg(r, "creation_mode", &value) == NGX_OK) {
        nul = ngx_http_dashboards_null_arg(r, "creation_mode", &value);
        if (nul != NGX_DECLINED) {
            cJSON_Delete(q);
            return nul;
        }

        cJSON_AddStringToObject(q, "creation_mode",
                                (const char *) value.data);

    } else {
        cJSON_AddNullToObject(q, "creation_mode");
    }

    rc = ngx_http_dashboards_arg(r, "exclude_generated", &value);

    cJSON_AddBoolToObject(q, "exclude_generated",
                          rc == NGX_OK
                          && ((value.len == 4
                               && ngx_strncasecmp(value.data,
                                                  (u_char *) "true", 4) == 0)
                              || (value.len == 1 && value.data[0] == '1')));

    text = ngx_http_dashboards_print(r, q, &len);
    cJSON_Delete(q);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->list_limit = limit;
    ctx->list_offset = offset;

    ngx_http_dashboards_base_values(ctx);
    ctx->query.values[3] = text;

    return ngx_http_dashboards_run(r, ctx, NGX_HTTP_DASHBOARDS_SQL_LIST, 4,
                                   ngx_http_dashboards_list_done);
}


static void
ngx_http_dashboards_list_done(ngx_http_request_t *r, PGresult *res)
{
    u_char                     *p;
    ngx_int_t                   rc, count, limit, offset;
    ngx_buf_t                  *b, *rb, *tail;
    ngx_str_t                   next, prev;
    ngx_array_t                 args;
    ngx_chain_t                 out[3];
    ngx_http_dashboards_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);


    if (PQntuples(res) != 1 || PQnfields(res) != 2) {
        ngx_http_dashboards_finish(r, ngx_http_dashboards_server_error(r));
        return;
    }

    count = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                     PQgetlength(res, 0, 0));
    limit = ctx->list_limit;
    offset = ctx->list_offset;

    if (count == NGX_ERROR
        || ngx_array_init(&args, r->pool, 8,
                          sizeof(ngx_http_dashboards_qarg_t))
           != NGX_OK
        || ngx_http_dashboards_parse_args(r, &args) != NGX_OK)
    {
        ngx_http_dashboards_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_str_null(&next);
    ngx_str_null(&prev);

    if (offset + limit < count) {
        if (ngx_http_dashboards_page_url(r, &args, limit, offset + limit,
                                         &next)
            != NGX_OK)
        {
            ngx_http_dashboards_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (offset > 0) {
        if (ngx_http_dashboards_page_url(r, &args, limit,
                                         offset - limit > 0
                                         ? offset - limit : -1,
                                         &prev)
            != NGX_OK)
        {
            ngx_http_dashboards_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    b = ngx_create_temp_buf(r->pool, sizeof("{\"count\":,\"next\":,"
                                            "\"previous\":,\"results\":")
                                     + NGX_INT_T_LEN + next.len + prev.len
                                     + 16);
    rb = ngx_calloc_buf(r->pool);
    tail = ngx_calloc_buf(r->pool);

    if (b == NULL || rb == NULL || tail == NULL) {
        ngx_http_dashboards_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_sprintf(b->last, "{\"count\":%i,\"next\":", count);

    if (next.len) {
        p = ngx_sprintf(p, "\"%V\"", &next);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_cpymem(p, ",\"previous\":", 12);

    if (prev.len) {
        p = ngx_sprintf(p, "\"%V\"", &prev);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    b->last = ngx_cpymem(p, ",\"results\":", 11);

    /* the results array straight from PostgreSQL */

    rb->pos = (u_char *) PQgetvalue(res, 0, 1);
    rb->last = rb->pos + PQgetlength(res, 0, 1);
    rb->memory = 1;

    if (rb->last == rb->pos) {
        rb->pos = (u_char *) "[]";
        rb->last = rb->pos + 2;
    }

    tail->pos = (u_char *) "}";
    tail->last = tail->pos + 1;
    tail->memory = 1;

    out[0].buf = b;
    out[0].next = &out[1];
    out[1].buf = rb;
    out[1].next = &out[2];
    out[2].buf = tail;
    out[2].next = NULL;

    rc = ngx_http_dashboards_send(r, NGX_HTTP_OK, out);

    ngx_http_dashboards_finish(r, rc);
}


/*
 * DRF's replace_query_param(): the absolute URI with limit and offset set
 * (offset -1: removed), the parameters sorted by name and url-encoded
 */

static ngx_int_t
ngx_http_dashboards_page_url(ngx_http_request_t *r, ngx_array_t *args,
    ngx_int_t limit, ngx_int_t offset, ngx_str_t *url)
{
    u_char                      *p, *q;
    size_t                       len, path_len;
    ngx_str_t                    host, scheme, num;
    ngx_uint_t                   i, n, first;
    ngx_array_t                  all;
    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_dashboards_qarg_t  *a, *arg;
    u_char                       lbuf[NGX_INT_T_LEN], obuf[NGX_INT_T_LEN];

    if (ngx_array_init(&all, r->pool, args->nelts + 2,
                       sizeof(ngx_http_dashboards_qarg_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    a = args->elts;

    for (i = 0; i < args->nelts; i++) {
        if ((a[i].key.len == 5 && ngx_strncmp(a[i].key.data, "limit", 5) == 0)
            || (a[i].key.len == 6
                && ngx_strncmp(a[i].key.data, "offset", 6) == 0))
        {
            continue;
        }

        arg = ngx_array_push(&all);
        if (arg == NULL) {
            return NGX_ERROR;
        }

        *arg = a[i];
    }

    arg = ngx_array_push(&all);
    if (arg == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&arg->key, "limit");
    arg->value.data = lbuf;
    arg->value.len = ngx_sprintf(lbuf, "%i", limit) - lbuf;

    if (offset >= 0) {
        arg = ngx_array_push(&all);
        if (arg == NULL) {
            return NGX_ERROR;
        }

        ngx_str_set(&arg->key, "offset");
        arg->value.data = obuf;
        arg->value.len = ngx_sprintf(obuf, "%i", offset) - obuf;
    }

    /* ngx_sort() is stable: repeated names keep their values' order */

    a = all.elts;
    n = all.nelts;

    ngx_sort(a, n, sizeof(ngx_http_dashboards_qarg_t),
             ngx_http_dashboards_qarg_cmp);

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&scheme, "https");

    } else
#endif
    {
        ngx_str_set(&scheme, "http");
    }

    /* Django's get_host(): the Host header, else the server's name */

    if (r->headers_in.host) {
        host = r->headers_in.host->value;

    } else if (r->headers_in.server.len) {
        host = r->headers_in.server;

    } else {
        cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
        host = cscf->server_name;
    }

    p = r->unparsed_uri.data;
    q = ngx_strlchr(p, p + r->unparsed_uri.len, '?');
    path_len = q ? (size_t) (q - p) : r->unparsed_uri.len;

    /* the host was checked (handler.c), and is escaped all the same */

    len = scheme.len + 3
          + host.len + ngx_escape_json(NULL, host.data, host.len)
          + path_len + 1;

    for (i = 0; i < n; i++) {
        len += 3 * (a[i].key.len + a[i].value.len) + 2;
    }

    url->data = ngx_pnalloc(r->pool, len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(url->data, "%V://", &scheme);
    p = (u_char *) ngx_escape_json(p, host.data, host.len);

    /* the path is JSON-safe: no quotes or control characters in a URI */
    for (q = r->unparsed_uri.data; q < r->unparsed_uri.data + path_len; q++) {
        *p++ = (*q == '"' || *q == '\\' || *q < 0x20) ? '_' : *q;
    }

    first = 1;

    for (i = 0; i < n; i++) {
        *p++ = first ? '?' : '&';
        first = 0;

        p = ngx_http_dashboards_quote_plus(p, &a[i].key);
        *p++ = '=';
        num = a[i].value;
        p = ngx_http_dashboards_quote_plus(p, &num);
    }

    url->len = p - url->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_parse_args(ngx_http_request_t *r, ngx_array_t *args)
{
    ngx_uint_t                   i;
    ngx_array_t                 *all;
    ngx_http_dashboards_qarg_t  *a, *arg;

    all = ngx_http_dashboards_args(r);
    if (all == NULL) {
        return NGX_ERROR;
    }

    a = all->elts;

    for (i = 0; i < all->nelts; i++) {
        arg = ngx_array_push(args);
        if (arg == NULL) {
            return NGX_ERROR;
        }

        *arg = a[i];
    }

    return NGX_OK;
}


/*
 * a query parameter with U+0000 (%00): PostgreSQL's text cannot hold it
 * (PostHog answers 500), refused as DRF's string fields refuse it;
 * NGX_DECLINED: none, otherwise answered
 */

static ngx_int_t
ngx_http_dashboards_null_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    if (ngx_strlchr(value->data, value->data + value->len, '\0') == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_dashboards_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "validation_error",
                                    "null_characters_not_allowed",
                                    "Null characters are not allowed.", name);
}


static ngx_int_t
ngx_http_dashboards_qarg_cmp(const void *one, const void *two)
{
    ngx_int_t                    rc;
    ngx_http_dashboards_qarg_t  *a, *b;

    a = (ngx_http_dashboards_qarg_t *) one;
    b = (ngx_http_dashboards_qarg_t *) two;

    rc = ngx_strncmp(a->key.data, b->key.data, ngx_min(a->key.len,
                                                      b->key.len));
    if (rc != 0) {
        return rc;
    }

    return (int) a->key.len - (int) b->key.len;
}


/* Python's quote_plus(): unreserved kept, space as '+', the rest %XX */

static u_char *
ngx_http_dashboards_quote_plus(u_char *dst, ngx_str_t *src)
{
    u_char  *s, c;

    static u_char  hex[] = "0123456789ABCDEF";

    for (s = src->data; s < src->data + src->len; s++) {
        c = *s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'
            || c == '~')
        {
            *dst++ = c;

        } else if (c == ' ') {
            *dst++ = '+';

        } else {
            *dst++ = '%';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];
        }
    }

    return dst;
}


/* DRF's _positive_int(): an invalid value falls back to the default */

static ngx_int_t
ngx_http_dashboards_positive_arg(ngx_http_request_t *r, const char *name,
    ngx_int_t strict, ngx_int_t def)
{
    ngx_int_t  rc, n;
    ngx_str_t  value;

    rc = ngx_http_dashboards_arg(r, name, &value);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        return def;
    }

    n = ngx_atoi(value.data, value.len);

    if (n == NGX_ERROR || n > 1000000000 || (strict && n == 0)) {
        return def;
    }

    return n;
}


/* POST {base}/ */

ngx_int_t
ngx_http_dashboards_create(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    return ngx_http_dashboards_written_action(r, ctx,
               ngx_http_dashboards_create_fields,
               NGX_HTTP_DASHBOARDS_SQL_CREATE, NGX_HTTP_CREATED);
}


/* GET {base}/:id/ */

ngx_int_t
ngx_http_dashboards_retrieve(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ngx_http_dashboards_read_values(r, ctx,
                                        NGX_HTTP_DASHBOARDS_SQL_RETRIEVE, 9,
                                        &rc)
        != NGX_OK)
    {
        return rc;
    }

    return ngx_http_dashboards_insights(r, ctx,
                                        NGX_HTTP_DASHBOARDS_SQL_RETRIEVE, 9,
                                        1);
}


/*
 * GET {base}/:id/run_insights/: the insight tiles' results, as text for
 * an LLM (output_format "optimized", the default) or as computed
 */

ngx_int_t
ngx_http_dashboards_run_insights(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  format;

    if (ngx_http_dashboards_read_values(r, ctx,
                                        NGX_HTTP_DASHBOARDS_SQL_RUN_INSIGHTS,
                                        8, &rc)
        != NGX_OK)
    {
        return rc;
    }

    rc = ngx_http_dashboards_arg(r, "output_format", &format);
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* decoded values are NUL-terminated */
    ctx->query.values[6] = (rc == NGX_OK) ? (const char *) format.data : NULL;

    return ngx_http_dashboards_insights(r, ctx,
                                        NGX_HTTP_DASHBOARDS_SQL_RUN_INSIGHTS,
                                        8, 0);
}


/*
 * the values of a read of the detail (retrieve, run_insights: stmt and
 * its nvalues), with the overrides of the query string: NGX_OK, or
 * NGX_DECLINED with *rcp to return.  A broken override is PostHog's 400,
 * but PostHog loads the dashboard first: its 404 or 403 comes before, so
 * the statement runs without the overrides and computing nothing, and
 * the 400 is the answer when it succeeds
 */

static ngx_int_t
ngx_http_dashboards_read_values(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_uint_t stmt, ngx_uint_t nvalues,
    ngx_int_t *rcp)
{
    ngx_int_t  rc;

    rc = ngx_http_dashboards_overrides(r, ctx,
                                       stmt == NGX_HTTP_DASHBOARDS_SQL_RETRIEVE,
                                       &ctx->verr);

    if (rc == NGX_DECLINED) {
        ctx->overrides[0] = NULL;
        ctx->overrides[1] = NULL;
        ctx->overrides[2] = NULL;

        ngx_http_dashboards_detail_values(ctx);
        ctx->query.values[6] = NULL;            /* force_cache */
        ctx->query.values[7] = NULL;

        *rcp = ngx_http_dashboards_run(r, ctx, stmt, nvalues,
                                       ngx_http_dashboards_verr_done);
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        *rcp = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    ngx_http_dashboards_detail_values(ctx);

    return NGX_OK;
}


/* PUT and PATCH {base}/:id/ */

ngx_int_t
ngx_http_dashboards_update(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    cJSON                      *deleted;
    ngx_int_t                   rc;
    ngx_http_dashboards_verr_t  err;

    rc = ngx_http_dashboards_body_param(r, ctx,
                                        ngx_http_dashboards_update_fields,
                                        &ctx->query.values[4], &err);
    if (rc == NGX_DECLINED) {
        return ngx_http_dashboards_invalid(r, ctx, &err);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* those of the answer (insights.c), refused before anything is written */

    rc = ngx_http_dashboards_overrides(r, ctx, 1, &err);

    if (rc == NGX_DECLINED) {
        return ngx_http_dashboards_invalid(r, ctx, &err);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_dashboards_base_values(ctx);
    ctx->query.values[3] = (const char *) ctx->object_arg;
    ctx->query.values[5] = (r->method == NGX_HTTP_PATCH) ? "true" : "false";

    /*
     * the answer with ?refresh= (insights.c), unless the write deletes the
     * dashboard: a retrieve of it would then be a 404
     */

    deleted = cJSON_GetObjectItemCaseSensitive(ctx->body, "deleted");

    return ngx_http_dashboards_run(r, ctx, NGX_HTTP_DASHBOARDS_SQL_UPDATE, 6,
                                   cJSON_IsTrue(deleted)
                                   ? ngx_http_dashboards_json_done
                                   : ngx_http_dashboards_written);
}


/* DELETE {base}/:id/: the permission checks, then 405, no body (as PostHog) */

ngx_int_t
ngx_http_dashboards_destroy(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    ngx_http_dashboards_base_values(ctx);

    return ngx_http_dashboards_run(r, ctx, NGX_HTTP_DASHBOARDS_SQL_ACCESS, 3,
                                   ngx_http_dashboards_destroy_done);
}


static void
ngx_http_dashboards_destroy_done(ngx_http_request_t *r, PGresult *res)
{
    ngx_int_t  rc;

    rc = ngx_http_dashboards_send_empty(r, NGX_HTTP_NOT_ALLOWED);

    ngx_http_dashboards_finish(r, rc);
}
