
/*
 * Copyright (C) ngx_dashboards authors
 *
 * ?format=txt: the JSON answer rendered as indented plain text, one
 * "key: value" per line, for people and language models (README.md,
 * "Differences from PostHog"; PostHog itself answers the concatenated
 * top-level keys).
 */


#include "ngx_http_dashboards_module.h"


/*
 * The text is written into a chain of fixed-size buffers (no buffer grows
 * and is copied), and it is at most twice the JSON's size plus 64 KB: a
 * deeply nested value indents every line by two spaces per level, so
 * without a bound a small answer could render into a text many times its
 * size. Past the bound the text ends with a line that says so.
 */

#define NGX_HTTP_DASHBOARDS_TEXT_CHUNK  32768
#define NGX_HTTP_DASHBOARDS_TEXT_EXTRA  65536

#define NGX_HTTP_DASHBOARDS_TEXT_TRUNCATED                                    \
    "\n[truncated: the text rendering stops at %uz bytes; "                   \
    "?format=json answers the whole]\n"


typedef struct {
    ngx_http_request_t           *request;
    ngx_chain_t                  *first;
    ngx_chain_t                 **last;
    ngx_buf_t                    *buf;
    size_t                        size;         /* written so far */
    size_t                        max;
    ngx_uint_t                    nbufs;
    unsigned                      truncated:1;
} ngx_http_dashboards_text_out_t;


static ngx_int_t ngx_http_dashboards_text_value(ngx_http_request_t *r,
    ngx_http_dashboards_text_out_t *out, cJSON *v, ngx_uint_t indent);
static ngx_int_t ngx_http_dashboards_text_object(ngx_http_request_t *r,
    ngx_http_dashboards_text_out_t *out, cJSON *obj, ngx_uint_t indent,
    ngx_uint_t skip_first);
static ngx_int_t ngx_http_dashboards_text_scalar(
    ngx_http_dashboards_text_out_t *out, cJSON *v, ngx_uint_t indent);
static ngx_int_t ngx_http_dashboards_text_put(
    ngx_http_dashboards_text_out_t *out, const char *s, size_t len);
static ngx_int_t ngx_http_dashboards_text_indent(
    ngx_http_dashboards_text_out_t *out, ngx_uint_t indent);
static ngx_int_t ngx_http_dashboards_text_bytes(
    ngx_http_dashboards_text_out_t *out, const char *s, size_t len,
    ngx_uint_t fill);
static ngx_uint_t ngx_http_dashboards_text_simple(cJSON *v);


/*
 * renders the JSON text in data into a chain of buffers (*out, *out_len
 * bytes); NGX_DECLINED: not JSON
 */

ngx_int_t
ngx_http_dashboards_text(ngx_http_request_t *r, u_char *data, size_t len,
    ngx_chain_t **out, off_t *out_len)
{
    u_char                          *p;
    cJSON                           *json;
    ngx_int_t                        rc;
    ngx_http_dashboards_text_out_t   t;
    u_char                           marker[sizeof(
                                         NGX_HTTP_DASHBOARDS_TEXT_TRUNCATED)
                                         + NGX_SIZE_T_LEN];

    /*
     * the answer is the module's own JSON: parsed here without the request
     * body's checks, and the tree is freed as soon as the text is written
     */

    json = cJSON_ParseWithLength((const char *) data, len);
    if (json == NULL) {
        return NGX_DECLINED;
    }

    ngx_memzero(&t, sizeof(ngx_http_dashboards_text_out_t));

    t.request = r;
    t.last = &t.first;
    t.max = 2 * len + NGX_HTTP_DASHBOARDS_TEXT_EXTRA;

    if (cJSON_IsObject(json)) {
        rc = ngx_http_dashboards_text_object(r, &t, json, 0, 0);

    } else {
        rc = ngx_http_dashboards_text_value(r, &t, json, 0);
    }

    cJSON_Delete(json);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (t.truncated) {
        p = ngx_sprintf(marker, NGX_HTTP_DASHBOARDS_TEXT_TRUNCATED, t.max);

        t.max += p - marker;
        t.truncated = 0;

        if (ngx_http_dashboards_text_put(&t, (char *) marker, p - marker)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (t.first == NULL) {
        return NGX_DECLINED;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "dashboards: text of %uz bytes in %ui buffers of %d",
                   t.size, t.nbufs, NGX_HTTP_DASHBOARDS_TEXT_CHUNK);

    *out = t.first;
    *out_len = t.size;

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_text_object(ngx_http_request_t *r,
    ngx_http_dashboards_text_out_t *out, cJSON *obj, ngx_uint_t indent,
    ngx_uint_t skip_first)
{
    cJSON  *v;

    if (obj->child == NULL) {
        if (ngx_http_dashboards_text_indent(out, skip_first ? 0 : indent)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_dashboards_text_put(out, "{}\n", 3);
    }

    cJSON_ArrayForEach(v, obj) {

        if (ngx_http_dashboards_text_indent(out, skip_first ? 0 : indent)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        skip_first = 0;

        if (ngx_http_dashboards_text_put(out, v->string,
                                         ngx_strlen(v->string))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ngx_http_dashboards_text_simple(v)) {
            if (ngx_http_dashboards_text_put(out, ": ", 2) != NGX_OK
                || ngx_http_dashboards_text_value(r, out, v, indent + 2)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_dashboards_text_put(out, ":\n", 2) != NGX_OK
            || ngx_http_dashboards_text_value(r, out, v, indent + 2)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_text_value(ngx_http_request_t *r,
    ngx_http_dashboards_text_out_t *out, cJSON *v, ngx_uint_t indent)
{
    cJSON  *el;

    if (cJSON_IsObject(v)) {
        if (v->child == NULL) {
            return ngx_http_dashboards_text_put(out, "{}\n", 3);
        }

        return ngx_http_dashboards_text_object(r, out, v, indent, 0);
    }

    if (!cJSON_IsArray(v)) {
        if (ngx_http_dashboards_text_scalar(out, v, indent) != NGX_OK) {
            return NGX_ERROR;
        }

        return ngx_http_dashboards_text_put(out, "\n", 1);
    }

    if (ngx_http_dashboards_text_simple(v)) {
        /* [] or a list of scalars on one line */

        if (v->child == NULL) {
            return ngx_http_dashboards_text_put(out, "[]\n", 3);
        }

        cJSON_ArrayForEach(el, v) {
            if (el != v->child
                && ngx_http_dashboards_text_put(out, ", ", 2) != NGX_OK)
            {
                return NGX_ERROR;
            }

            if (ngx_http_dashboards_text_scalar(out, el, indent) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return ngx_http_dashboards_text_put(out, "\n", 1);
    }

    cJSON_ArrayForEach(el, v) {
        if (ngx_http_dashboards_text_indent(out, indent) != NGX_OK
            || ngx_http_dashboards_text_put(out, "- ", 2) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (cJSON_IsObject(el)) {
            if (ngx_http_dashboards_text_object(r, out, el, indent + 2, 1)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        if (cJSON_IsArray(el)) {
            if (ngx_http_dashboards_text_put(out, "\n", 1) != NGX_OK
                || ngx_http_dashboards_text_value(r, out, el, indent + 2)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_dashboards_text_scalar(out, el, indent + 2) != NGX_OK
            || ngx_http_dashboards_text_put(out, "\n", 1) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a string's line breaks continue at the indentation */

static ngx_int_t
ngx_http_dashboards_text_scalar(ngx_http_dashboards_text_out_t *out, cJSON *v,
    ngx_uint_t indent)
{
    char    *s, *nl, buf[64];
    size_t   len;

    if (cJSON_IsString(v)) {
        s = v->valuestring;

        for ( ;; ) {
            nl = strchr(s, '\n');
            len = nl ? (size_t) (nl - s) : ngx_strlen(s);

            if (ngx_http_dashboards_text_put(out, s, len) != NGX_OK) {
                return NGX_ERROR;
            }

            if (nl == NULL) {
                return NGX_OK;
            }

            if (ngx_http_dashboards_text_put(out, "\n", 1) != NGX_OK
                || ngx_http_dashboards_text_indent(out, indent) != NGX_OK)
            {
                return NGX_ERROR;
            }

            s = nl + 1;
        }
    }

    if (cJSON_IsNull(v)) {
        return ngx_http_dashboards_text_put(out, "null", 4);
    }

    if (cJSON_IsBool(v)) {
        return cJSON_IsTrue(v) ? ngx_http_dashboards_text_put(out, "true", 4)
                               : ngx_http_dashboards_text_put(out, "false",
                                                              5);
    }

    /* the range first: casting an infinity or 1e300 is undefined */

    if (v->valuedouble > -9e18 && v->valuedouble < 9e18
        && v->valuedouble == (double) (int64_t) v->valuedouble)
    {
        len = ngx_sprintf((u_char *) buf, "%L", (int64_t) v->valuedouble)
              - (u_char *) buf;

    } else {
        len = snprintf(buf, sizeof(buf), "%.15g", v->valuedouble);
    }

    return ngx_http_dashboards_text_put(out, buf, len);
}


static ngx_uint_t
ngx_http_dashboards_text_simple(cJSON *v)
{
    cJSON  *el;

    if (cJSON_IsObject(v)) {
        return v->child == NULL;
    }

    if (!cJSON_IsArray(v)) {
        return 1;
    }

    cJSON_ArrayForEach(el, v) {
        if (cJSON_IsObject(el) || cJSON_IsArray(el)) {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_dashboards_text_put(ngx_http_dashboards_text_out_t *out,
    const char *s, size_t len)
{
    return ngx_http_dashboards_text_bytes(out, s, len, 0);
}


static ngx_int_t
ngx_http_dashboards_text_indent(ngx_http_dashboards_text_out_t *out,
    ngx_uint_t indent)
{
    return ngx_http_dashboards_text_bytes(out, NULL, indent, ' ');
}


/* len bytes of s (or of fill when s is NULL) into the chain */

static ngx_int_t
ngx_http_dashboards_text_bytes(ngx_http_dashboards_text_out_t *out,
    const char *s, size_t len, ngx_uint_t fill)
{
    size_t        n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (out->truncated) {
        return NGX_OK;
    }

    if (out->size + len > out->max) {
        len = out->max - out->size;
        out->truncated = 1;
    }

    while (len) {
        b = out->buf;

        if (b == NULL || b->last == b->end) {
            b = ngx_create_temp_buf(out->request->pool,
                                    NGX_HTTP_DASHBOARDS_TEXT_CHUNK);
            if (b == NULL) {
                return NGX_ERROR;
            }

            cl = ngx_alloc_chain_link(out->request->pool);
            if (cl == NULL) {
                return NGX_ERROR;
            }

            cl->buf = b;
            cl->next = NULL;
            *out->last = cl;
            out->last = &cl->next;
            out->buf = b;
            out->nbufs++;
        }

        n = ngx_min(len, (size_t) (b->end - b->last));

        if (s) {
            b->last = ngx_cpymem(b->last, s, n);
            s += n;

        } else {
            ngx_memset(b->last, fill, n);
            b->last += n;
        }

        out->size += n;
        len -= n;
    }

    return NGX_OK;
}
