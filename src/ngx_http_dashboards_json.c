
/*
 * Copyright (C) ngx_dashboards authors
 *
 * JSON in and out: parsing request bodies with limits, the response writer
 * into nginx buffers, and PostHog's error bodies.
 */


#include "ngx_http_dashboards_module.h"


static ngx_int_t ngx_http_dashboards_prescan(u_char *p, size_t len,
    ngx_uint_t max_depth, ngx_str_t *err, ngx_pool_t *pool);
static void ngx_http_dashboards_cjson_cleanup(void *data);
static void ngx_http_dashboards_free_cleanup(void *data);


static ngx_str_t  ngx_http_dashboards_json_type =
    ngx_string("application/json");


size_t
ngx_http_dashboards_json_escape_len(u_char *src, size_t len)
{
    size_t  n;

    n = 0;

    while (len--) {
        if (*src == '"' || *src == '\\') {
            n += 2;

        } else if (*src < 0x20) {
            n += 6;

        } else {
            n++;
        }

        src++;
    }

    return n;
}


u_char *
ngx_http_dashboards_json_escape(u_char *dst, u_char *src, size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    while (len--) {

        switch (*src) {

        case '"':
        case '\\':
            *dst++ = '\\';
            *dst++ = *src;
            break;

        case '\n':
            *dst++ = '\\';
            *dst++ = 'n';
            break;

        case '\r':
            *dst++ = '\\';
            *dst++ = 'r';
            break;

        case '\t':
            *dst++ = '\\';
            *dst++ = 't';
            break;

        default:
            if (*src < 0x20) {
                *dst++ = '\\';
                *dst++ = 'u';
                *dst++ = '0';
                *dst++ = '0';
                *dst++ = hex[*src >> 4];
                *dst++ = hex[*src & 0xf];

            } else {
                *dst++ = *src;
            }
        }

        src++;
    }

    return dst;
}


/*
 * copies JSON text without the white space outside strings: PostgreSQL's
 * json_build_object() writes "key" : value and json_agg() puts line breaks
 * between elements, while PostHog's renderer (DRF's JSONRenderer) writes
 * compact JSON; *state carries an open string across buffers
 */

u_char *
ngx_http_dashboards_json_compact(u_char *dst, u_char *src, size_t len,
    ngx_uint_t *state)
{
    u_char      c, *last;
    ngx_uint_t  st;

    st = *state;
    last = src + len;

    if (st == NGX_HTTP_DASHBOARDS_JSON_ESCAPE && src < last) {
        *dst++ = *src++;
        st = NGX_HTTP_DASHBOARDS_JSON_STRING;
    }

    while (src < last) {

        if (st == NGX_HTTP_DASHBOARDS_JSON_STRING) {

            /* a string: copied up to its closing quote */

            while (src < last) {
                c = *src++;
                *dst++ = c;

                if (c == '"') {
                    st = NGX_HTTP_DASHBOARDS_JSON_OUTSIDE;
                    break;
                }

                if (c == '\\') {
                    if (src == last) {
                        st = NGX_HTTP_DASHBOARDS_JSON_ESCAPE;
                        break;
                    }

                    *dst++ = *src++;
                }
            }

            continue;
        }

        /* outside strings: white space dropped up to the next string */

        while (src < last) {
            c = *src++;

            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                continue;
            }

            *dst++ = c;

            if (c == '"') {
                st = NGX_HTTP_DASHBOARDS_JSON_STRING;
                break;
            }
        }
    }

    *state = st;

    return dst;
}


ngx_int_t
ngx_http_dashboards_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out)
{
    off_t                       len;
    u_char                     *p, *data;
    ngx_int_t                   rc;
    ngx_str_t                   type;
    ngx_uint_t                  state;
    ngx_chain_t                *cl, *text;
    ngx_http_dashboards_ctx_t  *ctx;

    type = ngx_http_dashboards_json_type;

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len) {
        /* one compact copy of the answer, whatever buffers it came in */

        data = ngx_pnalloc(r->pool, len);
        if (data == NULL) {
            return NGX_ERROR;
        }

        p = data;
        state = NGX_HTTP_DASHBOARDS_JSON_OUTSIDE;

        for (cl = out; cl; cl = cl->next) {
            p = ngx_http_dashboards_json_compact(p, cl->buf->pos,
                                                 cl->buf->last
                                                 - cl->buf->pos,
                                                 &state);
        }

        len = p - data;

        out->buf->pos = data;
        out->buf->last = p;
        out->buf->memory = 1;
        out->buf->temporary = 0;
        out->next = NULL;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    if (ctx && ctx->format_txt && len) {
        /* ?format=txt: the answer rendered as text into bounded buffers */

        rc = ngx_http_dashboards_text(r, out->buf->pos, (size_t) len, &text,
                                      &len);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            /* the JSON copy is not needed any more (a large allocation) */
            ngx_pfree(r->pool, out->buf->pos);

            out = text;
            ngx_str_set(&type, "text/plain; charset=utf-8");
        }
    }

    for (cl = out; cl; cl = cl->next) {
        if (cl->next == NULL) {
            cl->buf->last_buf = (r == r->main) ? 1 : 0;
            cl->buf->last_in_chain = 1;
        }
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (len || status != NGX_HTTP_NO_CONTENT) {
        r->headers_out.content_type = type;
        r->headers_out.content_type_len = type.len;
        r->headers_out.content_type_lowcase = NULL;
    }

    if (len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


ngx_int_t
ngx_http_dashboards_send_str(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (len == 0) {
        return ngx_http_dashboards_send_empty(r, status);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_dashboards_send(r, status, &out);
}


/* the bytes stay in the PGresult, which lives as long as the request */

ngx_int_t
ngx_http_dashboards_send_result(ngx_http_request_t *r, ngx_uint_t status,
    PGresult *res, int column)
{
    if (PQntuples(res) < 1 || PQnfields(res) <= column
        || PQgetisnull(res, 0, column))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "dashboards: statement returned no value");
        return ngx_http_dashboards_server_error(r);
    }

    return ngx_http_dashboards_send_str(r, status,
                                        (u_char *) PQgetvalue(res, 0, column),
                                        PQgetlength(res, 0, column));
}


ngx_int_t
ngx_http_dashboards_send_empty(ngx_http_request_t *r, ngx_uint_t status)
{
    r->headers_out.status = status;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


ngx_int_t
ngx_http_dashboards_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *code, ngx_str_t *detail, const char *attr)
{
    u_char  *p, *body;
    size_t   len;

    len = sizeof("{\"type\":\"\",\"code\":\"\",\"detail\":\"\",\"attr\":}")
          - 1 + ngx_strlen(type) + ngx_strlen(code)
          + ngx_http_dashboards_json_escape_len(detail->data, detail->len)
          + (attr ? ngx_http_dashboards_json_escape_len((u_char *) attr,
                                                        ngx_strlen(attr)) + 2
                  : 4);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(body, "{\"type\":\"%s\",\"code\":\"%s\",\"detail\":\"",
                    type, code);
    p = ngx_http_dashboards_json_escape(p, detail->data, detail->len);
    p = ngx_cpymem(p, "\",\"attr\":", 9);

    if (attr) {
        *p++ = '"';
        p = ngx_http_dashboards_json_escape(p, (u_char *) attr,
                                            ngx_strlen(attr));
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    *p++ = '}';

    return ngx_http_dashboards_send_str(r, status, body, p - body);
}


ngx_int_t
ngx_http_dashboards_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *code, const char *detail, const char *attr)
{
    ngx_str_t  d;

    d.data = (u_char *) detail;
    d.len = ngx_strlen(detail);

    return ngx_http_dashboards_send_error(r, status, type, code, &d, attr);
}


ngx_int_t
ngx_http_dashboards_not_found(ngx_http_request_t *r)
{
    return ngx_http_dashboards_fail(r, NGX_HTTP_NOT_FOUND, "invalid_request",
                                    "not_found", "Not found.", NULL);
}


ngx_int_t
ngx_http_dashboards_server_error(ngx_http_request_t *r)
{
    return ngx_http_dashboards_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "server_error", "error",
                                    "A server error occurred.", NULL);
}


/* prints compactly; the text is freed with the request */

char *
ngx_http_dashboards_print(ngx_http_request_t *r, cJSON *json, size_t *len)
{
    char                *text;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    text = cJSON_PrintUnformatted(json);
    if (text == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_dashboards_free_cleanup;
    cln->data = text;

    *len = ngx_strlen(text);

    return text;
}


/*
 * parses a request body: valid UTF-8, bounded nesting, one JSON value and
 * nothing after it; the tree is freed with the request
 */

cJSON *
ngx_http_dashboards_parse(ngx_http_request_t *r, u_char *data, size_t len,
    ngx_uint_t max_depth, ngx_str_t *err)
{
    u_char              *p, *last;
    cJSON               *json;
    const char          *end;
    ngx_pool_cleanup_t  *cln;

    if (ngx_http_dashboards_prescan(data, len, max_depth, err, r->pool)
        != NGX_OK)
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_str_set(err, "JSON parse error - out of memory");
        return NULL;
    }

    end = NULL;
    json = cJSON_ParseWithLengthOpts((const char *) data, len, &end, 0);

    if (json == NULL) {
        p = ngx_pnalloc(r->pool, 80);
        if (p == NULL) {
            ngx_str_set(err, "JSON parse error");
            return NULL;
        }

        end = cJSON_GetErrorPtr();
        if (end == NULL || (u_char *) end < data
            || (u_char *) end > data + len)
        {
            end = (const char *) data + len;
        }

        err->data = p;
        err->len = ngx_sprintf(p, "JSON parse error - Invalid JSON at "
                               "char %uz", (size_t) ((u_char *) end - data))
                   - p;
        return NULL;
    }

    cln->handler = ngx_http_dashboards_cjson_cleanup;
    cln->data = json;

    /* only white space may follow the value */

    last = data + len;

    for (p = (u_char *) end; p < last; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            err->data = ngx_pnalloc(r->pool, 80);
            if (err->data == NULL) {
                ngx_str_set(err, "JSON parse error");
                return NULL;
            }

            err->len = ngx_sprintf(err->data, "JSON parse error - Extra "
                                   "data at char %uz", (size_t) (p - data))
                       - err->data;
            return NULL;
        }
    }

    return json;
}


static ngx_int_t
ngx_http_dashboards_prescan(u_char *p, size_t len, ngx_uint_t max_depth,
    ngx_str_t *err, ngx_pool_t *pool)
{
    u_char      *start, *last;
    uint32_t     u;
    ngx_uint_t   depth, in_string;

    start = p;
    last = p + len;
    depth = 0;
    in_string = 0;

    while (p < last) {

        if (*p >= 0x80) {
            /* validate one UTF-8 sequence */
            u = ngx_utf8_decode(&p, last - p);

            if (u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
                goto bad_utf8;
            }

            continue;
        }

        if (in_string) {
            if (*p == '\\') {
                p += 2;
                continue;
            }

            if (*p == '"') {
                in_string = 0;
            }

            p++;
            continue;
        }

        switch (*p) {

        case '"':
            in_string = 1;
            break;

        case '[':
        case '{':
            if (++depth > max_depth) {
                err->data = ngx_pnalloc(pool, 80);
                if (err->data == NULL) {
                    ngx_str_set(err, "JSON parse error");
                    return NGX_ERROR;
                }

                err->len = ngx_sprintf(err->data, "JSON parse error - "
                                       "Nesting deeper than %ui levels",
                                       max_depth)
                           - err->data;
                return NGX_ERROR;
            }

            break;

        case ']':
        case '}':
            if (depth) {
                depth--;
            }

            break;
        }

        p++;
    }

    return NGX_OK;

bad_utf8:

    err->data = ngx_pnalloc(pool, 80);
    if (err->data == NULL) {
        ngx_str_set(err, "JSON parse error");
        return NGX_ERROR;
    }

    err->len = ngx_sprintf(err->data, "JSON parse error - Invalid UTF-8 "
                           "near char %uz", (size_t) (p - start))
               - err->data;

    return NGX_ERROR;
}


static void
ngx_http_dashboards_cjson_cleanup(void *data)
{
    cJSON_Delete(data);
}


static void
ngx_http_dashboards_free_cleanup(void *data)
{
    cJSON_free(data);
}
