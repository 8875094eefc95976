/*
 * Copyright (C) ngx_dashboards authors
 *
 * Answers made compact: JSON text without the white space outside strings.
 * PostgreSQL's json_build_object() writes "key" : value, jsonb's output
 * writes "key": value and json_agg() puts line breaks between elements,
 * while PostHog's renderer (DRF's JSONRenderer) writes compact JSON.
 * Every answer goes through here once (ngx_http_dashboards_send).
 */


#include "ngx_http_dashboards_module.h"


/*
 * Where the compiler offers SSE2 (every x86-64), the text is read 64 bytes
 * at a time: one mask each of the quotes, backslashes and white space of
 * the block, the bytes in strings from the quotes' running parity, and the
 * white space outside them dropped between copies.  Most of an answer is
 * compact already (the cached results of 011_trends.sql, the objects of
 * 003_dashboard_json.sql), so most blocks are one copy.  A block with a
 * backslash (an escaped quote does not end a string) goes byte by byte.
 */

#if (defined __SSE2__ && defined __GNUC__)

#include <emmintrin.h>

#define NGX_HTTP_DASHBOARDS_BLOCKS  1

static uint64_t ngx_http_dashboards_compact_marks(u_char *p,
    uint64_t *quotes, uint64_t *escapes);

#endif

static u_char *ngx_http_dashboards_compact_bytes(u_char *dst, u_char *src,
    u_char *last, ngx_uint_t *state);


/*
 * dst has room for len bytes and is never ahead of src in the whole text;
 * *state carries an open string or escape across buffers
 */

u_char *
ngx_http_dashboards_json_compact(u_char *dst, u_char *src, size_t len,
    ngx_uint_t *state)
{
    u_char      *last;
#if (NGX_HTTP_DASHBOARDS_BLOCKS)
    u_char      *p;
    size_t       n;
    uint64_t     space, quotes, escapes, in, drop;
    ngx_uint_t   st;
#endif

    last = src + len;

#if (NGX_HTTP_DASHBOARDS_BLOCKS)

    st = *state;

    while (last - src >= 64) {

        if (st == NGX_HTTP_DASHBOARDS_JSON_ESCAPE) {
            *dst++ = *src++;
            st = NGX_HTTP_DASHBOARDS_JSON_STRING;
            continue;
        }

        space = ngx_http_dashboards_compact_marks(src, &quotes, &escapes);

        if (escapes) {
            dst = ngx_http_dashboards_compact_bytes(dst, src, src + 64, &st);
            src += 64;
            continue;
        }

        /*
         * bit i of the quotes' running parity: byte i is in a string
         * opened in this block (its opening quote included); flipped when
         * the block starts inside a string
         */

        in = quotes;
        in ^= in << 1;
        in ^= in << 2;
        in ^= in << 4;
        in ^= in << 8;
        in ^= in << 16;
        in ^= in << 32;

        if (st == NGX_HTTP_DASHBOARDS_JSON_STRING) {
            in = ~in;
        }

        st = (in >> 63) ? NGX_HTTP_DASHBOARDS_JSON_STRING
                        : NGX_HTTP_DASHBOARDS_JSON_OUTSIDE;

        drop = space & ~in;

        if (drop == 0) {
            dst = ngx_cpymem(dst, src, 64);
            src += 64;
            continue;
        }

        p = src;

        while (drop) {
            n = __builtin_ctzll(drop);
            dst = ngx_cpymem(dst, p, src + n - p);
            p = src + n + 1;
            drop &= drop - 1;
        }

        dst = ngx_cpymem(dst, p, src + 64 - p);
        src += 64;
    }

    *state = st;

#endif

    return ngx_http_dashboards_compact_bytes(dst, src, last, state);
}


#if (NGX_HTTP_DASHBOARDS_BLOCKS)

/* the white space of 64 bytes; their quotes and backslashes */

static uint64_t
ngx_http_dashboards_compact_marks(u_char *p, uint64_t *quotes,
    uint64_t *escapes)
{
    __m128i     v, sp;
    uint64_t    space;
    ngx_uint_t  i;

    space = 0;
    *quotes = 0;
    *escapes = 0;

    for (i = 0; i < 64; i += 16) {
        v = _mm_loadu_si128((__m128i *) (p + i));

        *quotes |= (uint64_t) (uint32_t) _mm_movemask_epi8(
                       _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))) << i;

        *escapes |= (uint64_t) (uint32_t) _mm_movemask_epi8(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))) << i;

        sp = _mm_or_si128(
                 _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                              _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                 _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                              _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'))));

        space |= (uint64_t) (uint32_t) _mm_movemask_epi8(sp) << i;
    }

    return space;
}

#endif


static u_char *
ngx_http_dashboards_compact_bytes(u_char *dst, u_char *src, u_char *last,
    ngx_uint_t *state)
{
    u_char      c;
    ngx_uint_t  st;

    st = *state;

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
