
/*
 * Copyright (C) ngx_dashboards authors
 *
 * JSON in and out: parsing request bodies with limits, the response writer
 * into nginx buffers, and PostHog's error bodies.
 */


#include "ngx_http_dashboards_module.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>


/* padding after a rewritten escape: a byte valid UTF-8 never holds */
#define NGX_HTTP_DASHBOARDS_PAD  0xff


typedef struct {
    u_char                       *start;     /* the text as sent */
    u_char                       *copy;      /* with escapes rewritten */
    size_t                        len;
    ngx_uint_t                    max_depth;
    ngx_array_t                   numbers;   /* ngx_str_t, in text order */
    ngx_str_t                    *err;
    ngx_pool_t                   *pool;
} ngx_http_dashboards_scan_t;


typedef struct {
    cJSON                        *item;
    ngx_uint_t                    index;
} ngx_http_dashboards_member_t;


static ngx_int_t ngx_http_dashboards_prescan(ngx_http_dashboards_scan_t *s);
static ngx_int_t ngx_http_dashboards_json_fix(ngx_pool_t *pool, cJSON *item,
    ngx_str_t **num, ngx_str_t *last);
static void ngx_http_dashboards_unpad(char *str);
static ngx_int_t ngx_http_dashboards_json_dedup(ngx_pool_t *pool,
    cJSON *obj);
static int ngx_libc_cdecl ngx_http_dashboards_member_cmp(const void *one,
    const void *two);
static u_char *ngx_http_dashboards_number_end(u_char *p, u_char *last);
static ngx_int_t ngx_http_dashboards_rewrite(ngx_http_dashboards_scan_t *s,
    u_char *p, uint32_t u);
static void ngx_http_dashboards_json_pos(u_char *start, u_char *p,
    ngx_uint_t *line, ngx_uint_t *col, ngx_uint_t *ch);
static ngx_int_t ngx_http_dashboards_scan_error(
    ngx_http_dashboards_scan_t *s, const char *fmt, ...);
static void ngx_http_dashboards_cjson_cleanup(void *data);
static void ngx_http_dashboards_free_cleanup(void *data);


static ngx_str_t  ngx_http_dashboards_json_type =
    ngx_string("application/json");


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


ngx_int_t
ngx_http_dashboards_send_empty(ngx_http_request_t *r, ngx_uint_t status)
{
    r->headers_out.status = status;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
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
 * parses a request body as DRF's JSONParser does (Python's strict UTF-8
 * decoding, then json.load): valid UTF-8, bounded nesting, one JSON value
 * and nothing after it; the tree is freed with the request.
 *
 * Python keeps what cJSON cannot: a "\u0000" escape and a lone surrogate
 * ("\ud800") are valid JSON strings there.  They are rewritten before
 * cJSON sees them into bytes valid UTF-8 never holds (U+0000 as C0 80, a
 * surrogate as its 3-byte form ED A0 80 - ED BF BF), padded to the six
 * bytes of the escape so that offsets stay those of the text sent; the
 * padding is removed afterwards.  Such strings never reach PostgreSQL:
 * validation refuses them (ngx_http_dashboards_bad_char()).
 *
 * Each number keeps the text the client sent in valuestring (see
 * ngx_http_dashboards_number_text()); a key given twice keeps its first
 * place and its last value, as a Python dict does.
 */

cJSON *
ngx_http_dashboards_parse(ngx_http_request_t *r, u_char *data, size_t len,
    ngx_uint_t max_depth, ngx_str_t *err)
{
    u_char                      *p, *last, *text;
    cJSON                       *json;
    ngx_str_t                   *num;
    const char                  *end;
    ngx_pool_cleanup_t          *cln;
    ngx_http_dashboards_scan_t   s;

    s.start = data;
    s.copy = NULL;
    s.len = len;
    s.max_depth = max_depth;
    s.err = err;
    s.pool = r->pool;

    if (ngx_array_init(&s.numbers, r->pool, 8, sizeof(ngx_str_t))
        != NGX_OK)
    {
        ngx_str_set(err, "JSON parse error - out of memory");
        return NULL;
    }

    if (ngx_http_dashboards_prescan(&s) != NGX_OK) {
        return NULL;
    }

    text = s.copy ? s.copy : data;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_str_set(err, "JSON parse error - out of memory");
        return NULL;
    }

    end = NULL;
    json = cJSON_ParseWithLengthOpts((const char *) text, s.len, &end, 0);

    if (json == NULL) {
        end = cJSON_GetErrorPtr();
        if (end == NULL || (u_char *) end < text
            || (u_char *) end > text + s.len)
        {
            end = (const char *) text + s.len;
        }

        (void) ngx_http_dashboards_scan_error(&s, "Invalid JSON at char %uz",
                                              (size_t) ((u_char *) end
                                                        - text));
        return NULL;
    }

    cln->handler = ngx_http_dashboards_cjson_cleanup;
    cln->data = json;

    /* only white space may follow the value */

    last = text + s.len;

    for (p = (u_char *) end; p < last; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            (void) ngx_http_dashboards_scan_error(&s, "Extra data at char "
                                                  "%uz", (size_t) (p - text));
            return NULL;
        }
    }

    num = s.numbers.elts;

    if (ngx_http_dashboards_json_fix(r->pool, json, &num,
                                     num + s.numbers.nelts)
        != NGX_OK
        || num != (ngx_str_t *) s.numbers.elts + s.numbers.nelts)
    {
        ngx_str_set(err, "JSON parse error");
        return NULL;
    }

    return json;
}


static ngx_int_t
ngx_http_dashboards_prescan(ngx_http_dashboards_scan_t *s)
{
    u_char      *p, *last, *q, c;
    size_t       n, bad;
    uint32_t     u;
    ngx_str_t   *num;
    ngx_uint_t   depth, in_string, line, col, ch;
    const char  *why;

    p = s->start;
    last = p + s->len;
    depth = 0;
    in_string = 0;

    while (p < last) {
        c = *p;

        if (c >= 0x80) {
            n = ngx_http_dashboards_utf8(p, last, &bad, &why);

            if (n) {
                p += n;
                continue;
            }

            if (p + bad == last && why[0] == 'u') {
                /*
                 * "unexpected end of data": DRF reads the body through
                 * codecs' StreamReader, which drops a sequence cut short
                 * at the very end
                 */
                s->len = p - s->start;
                break;
            }

            if (bad == 1) {
                return ngx_http_dashboards_scan_error(s, "'utf-8' codec "
                           "can't decode byte 0x%02xd in position %uz: %s",
                           (int) c, (size_t) (p - s->start), why);
            }

            return ngx_http_dashboards_scan_error(s, "'utf-8' codec can't "
                       "decode bytes in position %uz-%uz: %s",
                       (size_t) (p - s->start),
                       (size_t) (p - s->start + bad - 1), why);
        }

        if (in_string) {

            if (c == '"') {
                in_string = 0;
                p++;
                continue;
            }

            if (c < 0x20) {
                ngx_http_dashboards_json_pos(s->start, p, &line, &col, &ch);

                return ngx_http_dashboards_scan_error(s, "Invalid control "
                           "character at: line %ui column %ui (char %ui)",
                           line, col, ch);
            }

            if (c != '\\') {
                p++;
                continue;
            }

            if (last - p >= 6 && p[1] == 'u') {
                u = (uint32_t) ngx_hextoi(p + 2, 4);

                if (u >= 0xd800 && u <= 0xdbff && last - p >= 12
                    && p[6] == '\\' && p[7] == 'u')
                {
                    n = (size_t) ngx_hextoi(p + 8, 4);

                    if (n >= 0xdc00 && n <= 0xdfff) {
                        /* a pair: one character, cJSON decodes it */
                        p += 12;
                        continue;
                    }
                }

                if (u == 0 || (u >= 0xd800 && u <= 0xdfff)) {
                    if (ngx_http_dashboards_rewrite(s, p, u) != NGX_OK) {
                        return NGX_ERROR;
                    }
                }

                if (u != (uint32_t) -1) {
                    p += 6;
                    continue;
                }
            }

            /* the backslash, and what it escapes when that is ASCII */

            p++;

            if (p < last && *p < 0x80) {
                p++;
            }

            continue;
        }

        switch (c) {

        case '"':
            in_string = 1;
            break;

        case '[':
        case '{':
            if (++depth > s->max_depth) {
                return ngx_http_dashboards_scan_error(s, "Nesting deeper "
                                                      "than %ui levels",
                                                      s->max_depth);
            }

            break;

        case ']':
        case '}':
            if (depth) {
                depth--;
            }

            break;

        case ' ':
        case '\t':
        case '\r':
        case '\n':
            break;

        case '-':
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            q = ngx_http_dashboards_number_end(p, last);

            if (q == NULL) {
                return ngx_http_dashboards_scan_error(s, "Invalid JSON at "
                                                      "char %uz",
                                                      (size_t) (p - s->start));
            }

            num = ngx_array_push(&s->numbers);
            if (num == NULL) {
                ngx_str_set(s->err, "JSON parse error - out of memory");
                return NGX_ERROR;
            }

            num->data = p;
            num->len = q - p;

            p = q;
            continue;

        default:
            /* Python allows four white space characters, cJSON all */

            if (c < 0x20) {
                return ngx_http_dashboards_scan_error(s, "Invalid JSON at "
                                                      "char %uz",
                                                      (size_t) (p - s->start));
            }
        }

        p++;
    }

    return NGX_OK;
}


/*
 * one UTF-8 sequence as Python's strict decoder reads it: its length, or 0
 * with the length of the bad part (what Python reports, and replaces with
 * one U+FFFD) and the reason
 */

size_t
ngx_http_dashboards_utf8(u_char *p, u_char *last, size_t *bad,
    const char **why)
{
    u_char  c, lo, hi;
    size_t  n, i;

    c = *p;

    if (c < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;

        if (c == 0xe0) {
            lo = 0xa0;              /* overlong */

        } else if (c == 0xed) {
            hi = 0x9f;              /* surrogates */
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;

        if (c == 0xf0) {
            lo = 0x90;              /* overlong */

        } else if (c == 0xf4) {
            hi = 0x8f;              /* above U+10FFFF */
        }

    } else {
        *bad = 1;
        *why = "invalid start byte";
        return 0;
    }

    for (i = 1; i < n; i++) {
        if (p + i == last) {
            *bad = i;
            *why = "unexpected end of data";
            return 0;
        }

        if (p[i] < lo || p[i] > hi) {
            *bad = i;
            *why = "invalid continuation byte";
            return 0;
        }

        lo = 0x80;
        hi = 0xbf;
    }

    return n;
}


/*
 * text that may hold bytes the client sent, made valid UTF-8 for an
 * answer: the U+0000 of a parsed string (C0 80) as a real NUL (escaped on
 * output), anything else invalid as U+FFFD, Python's "replace"
 */

ngx_int_t
ngx_http_dashboards_utf8_clean(ngx_pool_t *pool, u_char *src, size_t len,
    ngx_str_t *out)
{
    u_char      *p, *last, *d;
    size_t       n, bad;
    const char  *why;

    last = src + len;

    for (p = src; p < last; p += n) {
        n = ngx_http_dashboards_utf8(p, last, &bad, &why);
        if (n == 0) {
            break;
        }
    }

    out->data = src;
    out->len = len;

    if (p == last) {
        return NGX_OK;
    }

    d = ngx_pnalloc(pool, 3 * len);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;
    d = ngx_cpymem(d, src, p - src);

    while (p < last) {
        n = ngx_http_dashboards_utf8(p, last, &bad, &why);

        if (n) {
            d = ngx_cpymem(d, p, n);
            p += n;
            continue;
        }

        if (p[0] == 0xc0 && p + 1 < last && p[1] == 0x80) {
            *d++ = '\0';
            p += 2;
            continue;
        }

        if (p[0] == 0xed && last - p > 2 && p[1] >= 0xa0 && p[1] <= 0xbf
            && (p[2] & 0xc0) == 0x80)
        {
            /* a lone surrogate of a parsed string: one character */
            bad = 3;
        }

        *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
        p += bad;
    }

    out->len = d - out->data;

    return NGX_OK;
}


/*
 * a parsed string (or the text of a query parameter) PostgreSQL cannot
 * take: 1 for U+0000, 2 for a lone surrogate (*cp), 0 for neither;
 * U+0000 wins as in DRF's CharField, whose null validator runs first
 */

ngx_uint_t
ngx_http_dashboards_bad_char(u_char *s, size_t len, uint32_t *cp)
{
    u_char      *p, *last;
    ngx_uint_t   found;

    last = s + len;
    found = 0;

    for (p = s; p < last; p++) {
        if (*p == 0xc0 || *p == '\0') {
            return 1;
        }

        if (!found && *p == 0xed && p + 2 < last && p[1] >= 0xa0) {
            *cp = ((p[0] & 0x0f) << 12) | ((p[1] & 0x3f) << 6)
                  | (p[2] & 0x3f);
            found = 2;
        }
    }

    return found;
}


/* the first such string, key or value, in a tree */

ngx_uint_t
ngx_http_dashboards_json_bad(cJSON *item, uint32_t *cp)
{
    cJSON       *c;
    ngx_uint_t   rc;

    if (item->string) {
        rc = ngx_http_dashboards_bad_char((u_char *) item->string,
                                          ngx_strlen(item->string), cp);
        if (rc) {
            return rc;
        }
    }

    if (cJSON_IsString(item)) {
        return ngx_http_dashboards_bad_char((u_char *) item->valuestring,
                                            ngx_strlen(item->valuestring),
                                            cp);
    }

    for (c = item->child; c; c = c->next) {
        rc = ngx_http_dashboards_json_bad(c, cp);
        if (rc) {
            return rc;
        }
    }

    return 0;
}


/*
 * JSON that goes to PostgreSQL as sent (dictionaries, the body of
 * create_unlisted_dashboard) is printed with each number as the client
 * wrote it: cJSON would print 0.1 + 0.2 or a 20-digit integer rounded
 */

void
ngx_http_dashboards_json_raw_numbers(cJSON *item)
{
    cJSON  *c;

    if (cJSON_IsNumber(item) && item->valuestring) {
        /* not what jsonb's numeric overflows on: cJSON prints null then */

        if (item->valuedouble <= DBL_MAX && item->valuedouble >= -DBL_MAX
            && (item->valuedouble != 0
                || strpbrk(item->valuestring, "eE") == NULL))
        {
            item->type = cJSON_Raw | (item->type & cJSON_StringIsConst);
        }

        return;
    }

    for (c = item->child; c; c = c->next) {
        ngx_http_dashboards_json_raw_numbers(c);
    }
}


/*
 * Python's str() of a parsed JSON number, what DRF's CharField stores:
 * an integer as written (Python's int is exact), "-0" as "0"; a float as
 * repr(float): the shortest digits that read back the same, "1.0",
 * "100.0" for 1e2, "1e+16", "1e-05", "inf" for 1e999
 */

ngx_int_t
ngx_http_dashboards_number_text(cJSON *item, u_char *buf, size_t size,
    ngx_str_t *out)
{
    u_char      *p, *s, *last, digits[20];
    double       d;
    ngx_int_t    e, decpt, k, i;
    ngx_uint_t   neg;
    char         tmp[40];

    if (item->valuestring) {
        s = (u_char *) item->valuestring;
        last = s + ngx_strlen(s);

        if (ngx_strlchr(s, last, '.') == NULL
            && ngx_strlchr(s, last, 'e') == NULL
            && ngx_strlchr(s, last, 'E') == NULL)
        {
            if (last - s == 2 && s[0] == '-' && s[1] == '0') {
                s++;
            }

            out->data = s;
            out->len = last - s;
            return NGX_OK;
        }

        d = strtod((char *) s, NULL);

    } else {
        d = item->valuedouble;

        if (d >= -9007199254740992.0 && d <= 9007199254740992.0
            && d == (double) (int64_t) d)
        {
            out->data = buf;
            out->len = ngx_sprintf(buf, "%L", (int64_t) d) - buf;
            return NGX_OK;
        }
    }

    if (size < 32) {
        return NGX_ERROR;
    }

    if (d != d) {
        ngx_str_set(out, "nan");
        return NGX_OK;
    }

    if (d > DBL_MAX || d < -DBL_MAX) {
        if (d > 0) {
            ngx_str_set(out, "inf");

        } else {
            ngx_str_set(out, "-inf");
        }

        return NGX_OK;
    }

    if (d == 0) {
        if (signbit(d)) {
            ngx_str_set(out, "-0.0");

        } else {
            ngx_str_set(out, "0.0");
        }

        return NGX_OK;
    }

    /* the shortest %e that reads back the same double */

    for (i = 1; i <= 17; i++) {
        snprintf(tmp, sizeof(tmp), "%.*e", (int) (i - 1), d);

        if (strtod(tmp, NULL) == d) {
            break;
        }
    }

    s = (u_char *) tmp;
    neg = 0;

    if (*s == '-') {
        neg = 1;
        s++;
    }

    k = 0;

    for ( /* void */ ; *s && *s != 'e'; s++) {
        if (*s >= '0' && *s <= '9') {
            digits[k++] = *s;
        }
    }

    e = (*s == 'e') ? ngx_atoi(s + 2, ngx_strlen(s + 2)) : 0;

    if (*s == 'e' && s[1] == '-') {
        e = -e;
    }

    while (k > 1 && digits[k - 1] == '0') {
        k--;
    }

    p = buf;

    if (neg) {
        *p++ = '-';
    }

    decpt = e + 1;

    if (e >= -4 && e < 16) {
        if (decpt <= 0) {
            *p++ = '0';
            *p++ = '.';

            for (i = 0; i < -decpt; i++) {
                *p++ = '0';
            }

            p = ngx_cpymem(p, digits, k);

        } else if (decpt >= k) {
            p = ngx_cpymem(p, digits, k);

            for (i = k; i < decpt; i++) {
                *p++ = '0';
            }

            *p++ = '.';
            *p++ = '0';

        } else {
            p = ngx_cpymem(p, digits, decpt);
            *p++ = '.';
            p = ngx_cpymem(p, digits + decpt, k - decpt);
        }

    } else {
        *p++ = digits[0];

        if (k > 1) {
            *p++ = '.';
            p = ngx_cpymem(p, digits + 1, k - 1);
        }

        p = ngx_sprintf(p, "e%c%02i", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }

    out->data = buf;
    out->len = p - buf;

    return NGX_OK;
}


/*
 * after cJSON: the padding out of strings and keys, the client's text of
 * each number (in text order, as the prescan found them), and the last
 * value of a repeated key in the place of its first
 */

static ngx_int_t
ngx_http_dashboards_json_fix(ngx_pool_t *pool, cJSON *item, ngx_str_t **num,
    ngx_str_t *last)
{
    char   *s;
    cJSON  *c;

    if (item->string) {
        ngx_http_dashboards_unpad(item->string);
    }

    if (cJSON_IsNumber(item)) {
        if (*num == last) {
            return NGX_ERROR;
        }

        s = cJSON_malloc((*num)->len + 1);
        if (s == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(s, (*num)->data, (*num)->len);
        s[(*num)->len] = '\0';

        item->valuestring = s;
        (*num)++;

        return NGX_OK;
    }

    if (cJSON_IsString(item)) {
        ngx_http_dashboards_unpad(item->valuestring);
        return NGX_OK;
    }

    for (c = item->child; c; c = c->next) {
        if (ngx_http_dashboards_json_fix(pool, c, num, last) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (cJSON_IsObject(item)) {
        return ngx_http_dashboards_json_dedup(pool, item);
    }

    return NGX_OK;
}


static void
ngx_http_dashboards_unpad(char *str)
{
    u_char  *p, *d;

    for (p = (u_char *) str; *p && *p != NGX_HTTP_DASHBOARDS_PAD; p++) {
        /* void */
    }

    for (d = p; *p; p++) {
        if (*p != NGX_HTTP_DASHBOARDS_PAD) {
            *d++ = *p;
        }
    }

    *d = '\0';
}


static ngx_int_t
ngx_http_dashboards_json_dedup(ngx_pool_t *pool, cJSON *obj)
{
    cJSON                          *c, *d, *value;
    ngx_uint_t                      n, i, j, k, dup;
    ngx_http_dashboards_member_t   *m;

    n = 0;
    dup = 0;

    for (c = obj->child; c; c = c->next) {
        n++;
    }

    if (n < 2) {
        return NGX_OK;
    }

    if (n <= 32) {
        for (c = obj->child; c && !dup; c = c->next) {
            for (d = c->next; d; d = d->next) {
                if (ngx_strcmp(c->string, d->string) == 0) {
                    dup = 1;
                    break;
                }
            }
        }

        if (!dup) {
            return NGX_OK;
        }
    }

    m = ngx_palloc(pool, n * sizeof(ngx_http_dashboards_member_t));
    if (m == NULL) {
        return NGX_ERROR;
    }

    i = 0;

    for (c = obj->child; c; c = c->next) {
        m[i].item = c;
        m[i].index = i;
        i++;
    }

    ngx_qsort(m, n, sizeof(ngx_http_dashboards_member_t),
              ngx_http_dashboards_member_cmp);

    for (i = 0; i < n; i = j) {
        for (j = i + 1;
             j < n && ngx_strcmp(m[j].item->string, m[i].item->string) == 0;
             j++)
        {
            /* void */
        }

        if (j - i == 1) {
            continue;
        }

        for (k = i + 1; k < j - 1; k++) {
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, m[k].item));
        }

        value = cJSON_DetachItemViaPointer(obj, m[j - 1].item);

        if (!cJSON_ReplaceItemViaPointer(obj, m[i].item, value)) {
            cJSON_Delete(value);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_dashboards_member_cmp(const void *one, const void *two)
{
    int                            rc;
    ngx_http_dashboards_member_t  *a, *b;

    a = (ngx_http_dashboards_member_t *) one;
    b = (ngx_http_dashboards_member_t *) two;

    rc = ngx_strcmp(a->item->string, b->item->string);

    if (rc != 0) {
        return rc;
    }

    return (a->index < b->index) ? -1 : 1;
}


/* Python's number grammar; NULL: not a number Python reads */

static u_char *
ngx_http_dashboards_number_end(u_char *p, u_char *last)
{
#define digit(p)  ((p) < last && *(p) >= '0' && *(p) <= '9')

    if (*p == '-') {
        p++;
    }

    if (!digit(p)) {
        return NULL;
    }

    if (*p == '0') {
        p++;

    } else {
        while (digit(p)) {
            p++;
        }
    }

    if (p < last && *p == '.') {
        p++;

        if (!digit(p)) {
            return NULL;
        }

        while (digit(p)) {
            p++;
        }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (!digit(p)) {
            return NULL;
        }

        while (digit(p)) {
            p++;
        }
    }

    /* "01", "1.2.3": Python stops and finds extra data */

    if (digit(p) || (p < last && (*p == '.' || *p == 'e' || *p == 'E'
                                  || *p == '+' || *p == '-')))
    {
        return NULL;
    }

    return p;

#undef digit
}


static ngx_int_t
ngx_http_dashboards_rewrite(ngx_http_dashboards_scan_t *s, u_char *p,
    uint32_t u)
{
    u_char  *d;
    size_t   n;

    if (s->copy == NULL) {
        s->copy = ngx_pnalloc(s->pool, s->len);
        if (s->copy == NULL) {
            ngx_str_set(s->err, "JSON parse error - out of memory");
            return NGX_ERROR;
        }

        ngx_memcpy(s->copy, s->start, s->len);
    }

    d = s->copy + (p - s->start);

    if (u == 0) {
        d[0] = 0xc0;
        d[1] = 0x80;
        n = 2;

    } else {
        d[0] = (u_char) (0xe0 | (u >> 12));
        d[1] = (u_char) (0x80 | ((u >> 6) & 0x3f));
        d[2] = (u_char) (0x80 | (u & 0x3f));
        n = 3;
    }

    ngx_memset(d + n, NGX_HTTP_DASHBOARDS_PAD, 6 - n);

    return NGX_OK;
}


/* Python's position of an error: line, column and character, from 1, 1, 0 */

static void
ngx_http_dashboards_json_pos(u_char *start, u_char *p, ngx_uint_t *line,
    ngx_uint_t *col, ngx_uint_t *ch)
{
    u_char      *q;
    ngx_uint_t   n, nl, seen;

    n = 0;
    nl = 0;
    seen = 0;
    *line = 1;

    for (q = start; q < p; q++) {
        if ((*q & 0xc0) == 0x80) {
            continue;
        }

        if (*q == '\n') {
            (*line)++;
            nl = n;
            seen = 1;
        }

        n++;
    }

    *ch = n;
    *col = seen ? n - nl : n + 1;
}


static ngx_int_t
ngx_http_dashboards_scan_error(ngx_http_dashboards_scan_t *s,
    const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;

    p = ngx_pnalloc(s->pool, 256);
    if (p == NULL) {
        ngx_str_set(s->err, "JSON parse error");
        return NGX_ERROR;
    }

    s->err->data = p;
    last = ngx_cpymem(p, "JSON parse error - ", 19);

    va_start(args, fmt);
    last = ngx_vslprintf(last, p + 256, fmt, args);
    va_end(args);

    s->err->len = last - p;

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
