
/*
 * Copyright (C) ngx_dashboards authors
 *
 * Errors that nginx itself answers in an API location (a body over
 * client_max_body_size, a malformed request, a client body timeout...) get
 * a JSON body in PostHog's shape instead of nginx's HTML page. So do those
 * it answers before any location is chosen (a malformed request line or
 * header, a duplicate Authorization, headers or URI too large, a missing or
 * invalid Host, TRACE) in a server that has an API location.
 */


#include "ngx_http_dashboards_module.h"


static ngx_int_t ngx_http_dashboards_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_dashboards_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_dashboards_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_dashboards_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_dashboards_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                          d;
    ngx_uint_t                         status;
    const char                        *type, *code, *detail;
    ngx_http_dashboards_loc_conf_t    *dlcf;
    ngx_http_dashboards_ctx_t       *fctx;

    status = r->headers_out.status;

    if (status < NGX_HTTP_BAD_REQUEST || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

    /* server_errors: only in a server's own configuration (module.c) */

    if (dlcf == NULL || (dlcf->db == NULL && !dlcf->server_errors)
        || r->headers_out.content_type.len < 9
        || ngx_strncasecmp(r->headers_out.content_type.data,
                           (u_char *) "text/html", 9) != 0)
    {
        /* not an API location, or an answer the module wrote itself */
        return ngx_http_next_header_filter(r);
    }

    type = (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) ? "server_error"
                                                       : "invalid_request";
    code = "error";

    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        code = "parse_error";
        detail = "Malformed request.";
        break;

    case NGX_HTTP_NOT_FOUND:
        code = "not_found";
        detail = "Not found.";
        break;

    case NGX_HTTP_NOT_ALLOWED:
        /* TRACE: DRF's MethodNotAllowed, completed below */
        code = "method_not_allowed";
        detail = NULL;
        break;

    case NGX_HTTP_REQUEST_TIME_OUT:
        code = "request_timeout";
        detail = "The request was not received in time.";
        break;

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        code = "request_too_large";
        detail = "Request body is larger than the allowed maximum.";
        break;

    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
        code = "uri_too_long";
        detail = "Request URI is too long.";
        break;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        code = "service_unavailable";
        detail = "The service is unavailable. Please try again later.";
        break;

    default:
        if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
            detail = "A server error occurred.";

        } else {
            detail = "The request could not be processed.";
        }
    }

    fctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    if (fctx == NULL) {
        fctx = ngx_pcalloc(r->pool, sizeof(ngx_http_dashboards_ctx_t));
        if (fctx == NULL) {
            return NGX_ERROR;
        }

        ngx_http_set_ctx(r, fctx, ngx_http_dashboards_module);
    }

    if (detail) {
        d.data = (u_char *) detail;
        d.len = ngx_strlen(detail);

    } else {
        d.data = ngx_pnalloc(r->pool, r->method_name.len
                                      + sizeof("Method \"\" not allowed."));
        if (d.data == NULL) {
            return NGX_ERROR;
        }

        d.len = ngx_sprintf(d.data, "Method \"%V\" not allowed.",
                            &r->method_name)
                - d.data;
    }

    if (ngx_http_dashboards_error_body(r->pool, type, code, &d, NULL,
                                       &fctx->error_page)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = fctx->error_page.len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_dashboards_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                         *b;
    ngx_chain_t                       *cl, out;
    ngx_http_dashboards_ctx_t       *fctx;

    fctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    if (fctx == NULL || fctx->error_page.len == 0) {
        return ngx_http_next_body_filter(r, in);
    }

    /* nginx's HTML page is dropped */

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    if (fctx->error_sent || r->header_only) {
        return NGX_OK;
    }

    fctx->error_sent = 1;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = fctx->error_page.data;
    b->last = b->pos + fctx->error_page.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}
