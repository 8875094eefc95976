
/*
 * Copyright (C) ngx_dashboards authors
 *
 * ?format=txt: the JSON answer rendered as indented plain text, one
 * "key: value" per line, for people and language models (DESIGN 6; PostHog
 * itself answers the concatenated top-level keys).
 */


#include "ngx_http_dashboards_module.h"


static ngx_int_t ngx_http_dashboards_text_value(ngx_http_request_t *r,
    ngx_array_t *out, cJSON *v, ngx_uint_t indent);
static ngx_int_t ngx_http_dashboards_text_object(ngx_http_request_t *r,
    ngx_array_t *out, cJSON *obj, ngx_uint_t indent, ngx_uint_t skip_first);
static ngx_int_t ngx_http_dashboards_text_scalar(ngx_array_t *out, cJSON *v,
    ngx_uint_t indent);
static ngx_int_t ngx_http_dashboards_text_put(ngx_array_t *out,
    const char *s, size_t len);
static ngx_int_t ngx_http_dashboards_text_indent(ngx_array_t *out,
    ngx_uint_t indent);
static ngx_uint_t ngx_http_dashboards_text_simple(cJSON *v);


/* renders the JSON text in data into *text; NGX_DECLINED: not JSON */

ngx_int_t
ngx_http_dashboards_text(ngx_http_request_t *r, u_char *data, size_t len,
    ngx_str_t *text)
{
    cJSON        *json;
    ngx_str_t     err;
    ngx_array_t   out;

    json = ngx_http_dashboards_parse(r, data, len, 512, &err);
    if (json == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_array_init(&out, r->pool, len + 64, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (cJSON_IsObject(json)) {
        if (ngx_http_dashboards_text_object(r, &out, json, 0, 0) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ngx_http_dashboards_text_value(r, &out, json, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    text->data = out.elts;
    text->len = out.nelts;

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_text_object(ngx_http_request_t *r, ngx_array_t *out,
    cJSON *obj, ngx_uint_t indent, ngx_uint_t skip_first)
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
ngx_http_dashboards_text_value(ngx_http_request_t *r, ngx_array_t *out,
    cJSON *v, ngx_uint_t indent)
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
ngx_http_dashboards_text_scalar(ngx_array_t *out, cJSON *v,
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
ngx_http_dashboards_text_put(ngx_array_t *out, const char *s, size_t len)
{
    u_char  *p;

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_array_push_n(out, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, s, len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_text_indent(ngx_array_t *out, ngx_uint_t indent)
{
    u_char  *p;

    if (indent == 0) {
        return NGX_OK;
    }

    p = ngx_array_push_n(out, indent);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memset(p, ' ', indent);

    return NGX_OK;
}
