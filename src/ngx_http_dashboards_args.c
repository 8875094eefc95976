
/*
 * Copyright (C) ngx_dashboards authors
 *
 * The query string of a request, decoded once.
 */


#include "ngx_http_dashboards_module.h"


static ngx_int_t ngx_http_dashboards_unquote(ngx_pool_t *pool,
    ngx_str_t *src, ngx_uint_t latin1, u_char *tmp, ngx_str_t *dst);


/*
 * The query string, decoded once as Django's QueryDict does (parse_qsl with
 * keep_blank_values): fields split on '&', '+' is a space, %XX a byte, and
 * bytes that are not UTF-8 become U+FFFD (Python's "replace"); raw bytes
 * of a query string that is not UTF-8 as a whole are read as Latin-1.
 * Keys and values are NUL-terminated; a value may hold a NUL (%00).
 */

ngx_array_t *
ngx_http_dashboards_args(ngx_http_request_t *r)
{
    u_char                      *p, *last, *start, *eq, *tmp;
    size_t                       n, bad;
    ngx_str_t                    raw[2], *dst;
    ngx_uint_t                   k, latin1;
    const char                  *why;
    ngx_array_t                 *args;
    ngx_http_dashboards_ctx_t   *ctx;
    ngx_http_dashboards_qarg_t  *a;

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    if (ctx && ctx->args) {
        return ctx->args;
    }

    args = ngx_array_create(r->pool, 4, sizeof(ngx_http_dashboards_qarg_t));
    if (args == NULL) {
        return NULL;
    }

    p = r->args.data;
    last = p + r->args.len;

    latin1 = 0;

    while (p < last) {
        n = ngx_http_dashboards_utf8(p, last, &bad, &why);
        if (n == 0) {
            latin1 = 1;
            break;
        }

        p += n;
    }

    tmp = ngx_pnalloc(r->pool, r->args.len + 1);
    if (tmp == NULL) {
        return NULL;
    }

    p = r->args.data;

    while (p < last) {
        start = p;

        while (p < last && *p != '&') {
            p++;
        }

        if (p == start) {
            p++;
            continue;
        }

        eq = ngx_strlchr(start, p, '=');

        raw[0].data = start;
        raw[0].len = (eq ? eq : p) - start;
        raw[1].data = eq ? eq + 1 : p;
        raw[1].len = eq ? (size_t) (p - eq - 1) : 0;

        a = ngx_array_push(args);
        if (a == NULL) {
            return NULL;
        }

        for (k = 0; k < 2; k++) {
            dst = (k == 0) ? &a->key : &a->value;

            if (ngx_http_dashboards_unquote(r->pool, &raw[k], latin1, tmp,
                                            dst)
                != NGX_OK)
            {
                return NULL;
            }
        }

        if (p < last) {
            p++;
        }
    }

    if (ctx) {
        ctx->args = args;
    }

    return args;
}


/*
 * Python's unquote_plus(): a run of ASCII characters is unquoted into
 * bytes and those read as UTF-8, invalid ones replaced; other characters
 * stay as they are (UTF-8), or are Latin-1 ones
 */

static ngx_int_t
ngx_http_dashboards_unquote(ngx_pool_t *pool, ngx_str_t *src,
    ngx_uint_t latin1, u_char *tmp, ngx_str_t *dst)
{
    u_char      *s, *last, *d, *t, *q, c1, c2;
    size_t       n, bad;
    const char  *why;

    /* at most 3 bytes for each byte sent (%FF -> U+FFFD) */

    d = ngx_pnalloc(pool, 3 * src->len + 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    dst->data = d;

    s = src->data;
    last = s + src->len;

    while (s < last) {

        if (*s >= 0x80) {
            if (latin1) {
                *d++ = (u_char) (0xc0 | (*s >> 6));
                *d++ = (u_char) (0x80 | (*s & 0x3f));
                s++;

            } else {
                n = ngx_http_dashboards_utf8(s, last, &bad, &why);

                if (n == 0) {
                    /* not reached: the whole query string is UTF-8 */
                    *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
                    n = bad;

                } else {
                    d = ngx_cpymem(d, s, n);
                }

                s += n;
            }

            continue;
        }

        t = tmp;

        while (s < last && *s < 0x80) {
            if (*s == '+') {
                *t++ = ' ';
                s++;
                continue;
            }

            if (*s == '%' && last - s > 2) {
                c1 = ngx_tolower(s[1]);
                c2 = ngx_tolower(s[2]);

                if (((c1 >= '0' && c1 <= '9') || (c1 >= 'a' && c1 <= 'f'))
                    && ((c2 >= '0' && c2 <= '9') || (c2 >= 'a' && c2 <= 'f')))
                {
                    *t++ = (u_char) ngx_hextoi(s + 1, 2);
                    s += 3;
                    continue;
                }
            }

            *t++ = *s++;
        }

        for (q = tmp; q < t; q += n) {
            n = ngx_http_dashboards_utf8(q, t, &bad, &why);

            if (n) {
                d = ngx_cpymem(d, q, n);
                continue;
            }

            *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
            n = bad;
        }
    }

    dst->len = d - dst->data;
    *d = '\0';

    return NGX_OK;
}


/* a query parameter: the last one of that name, as QueryDict.get() */

ngx_int_t
ngx_http_dashboards_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_int_t   rc, found;
    ngx_str_t   v;
    ngx_uint_t  next;

    next = 0;
    found = 0;

    while ((rc = ngx_http_dashboards_arg_next(r, name, &next, &v)) == NGX_OK) {
        *value = v;
        found = 1;
    }

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    return found ? NGX_OK : NGX_DECLINED;
}


/* each of them in turn, as QueryDict.getlist(); *next starts at 0 */

ngx_int_t
ngx_http_dashboards_arg_next(ngx_http_request_t *r, const char *name,
    ngx_uint_t *next, ngx_str_t *value)
{
    size_t                       nlen;
    ngx_uint_t                   i;
    ngx_array_t                 *args;
    ngx_http_dashboards_qarg_t  *a;

    args = ngx_http_dashboards_args(r);
    if (args == NULL) {
        return NGX_ERROR;
    }

    nlen = ngx_strlen(name);
    a = args->elts;

    for (i = *next; i < args->nelts; i++) {
        if (a[i].key.len == nlen
            && ngx_strncmp(a[i].key.data, name, nlen) == 0)
        {
            *value = a[i].value;
            *next = i + 1;
            return NGX_OK;
        }
    }

    *next = args->nelts;

    return NGX_DECLINED;
}
