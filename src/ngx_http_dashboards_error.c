
/*
 * Copyright (C) ngx_dashboards authors
 *
 * Every error body, in the shape of PostHog's exception handler
 * ({"type","code","detail","attr"}), and the one place where the outcome
 * of a statement becomes an HTTP answer: an error raised by our SQL
 * (SQLSTATE DBnnn, its message the body, doc/CONTRACT.md), PostgreSQL
 * unavailable or busy (503), too slow (504), anything else (500).
 */


#include "ngx_http_dashboards_module.h"


#define NGX_HTTP_DASHBOARDS_UNAVAILABLE_TEXT                                 \
    "The database is unavailable. Please try again later."
#define NGX_HTTP_DASHBOARDS_TIMEOUT_TEXT                                     \
    "The database did not answer in time."


/* detail and attr may carry what the client sent: valid UTF-8 out */

ngx_int_t
ngx_http_dashboards_error_body(ngx_pool_t *pool, const char *type,
    const char *code, ngx_str_t *detail, const char *attr, ngx_str_t *out)
{
    u_char     *p, *body;
    size_t      len;
    ngx_str_t   d, a;

    if (ngx_http_dashboards_utf8_clean(pool, detail->data, detail->len, &d)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_null(&a);

    if (attr
        && ngx_http_dashboards_utf8_clean(pool, (u_char *) attr,
                                          ngx_strlen(attr), &a)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = sizeof("{\"type\":\"\",\"code\":\"\",\"detail\":\"\",\"attr\":}")
          - 1 + ngx_strlen(type) + ngx_strlen(code)
          + d.len + ngx_escape_json(NULL, d.data, d.len)
          + (attr ? a.len + ngx_escape_json(NULL, a.data, a.len) + 2 : 4);

    body = ngx_pnalloc(pool, len);
    if (body == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(body, "{\"type\":\"%s\",\"code\":\"%s\",\"detail\":\"",
                    type, code);
    p = (u_char *) ngx_escape_json(p, d.data, d.len);
    p = ngx_cpymem(p, "\",\"attr\":", 9);

    if (attr) {
        *p++ = '"';
        p = (u_char *) ngx_escape_json(p, a.data, a.len);
        *p++ = '"';

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    *p++ = '}';

    out->data = body;
    out->len = p - body;

    return NGX_OK;
}


ngx_int_t
ngx_http_dashboards_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *code, ngx_str_t *detail, const char *attr)
{
    ngx_str_t  body;

    if (ngx_http_dashboards_error_body(r->pool, type, code, detail, attr,
                                       &body)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_dashboards_send_str(r, status, body.data, body.len);
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


/* a statement of the request did not give rows: the answer */

ngx_int_t
ngx_http_dashboards_send_outcome(ngx_http_request_t *r,
    ngx_http_dashboards_query_t *q)
{
    u_char      *msg;
    char        *state;
    ngx_int_t    status;
    const char  *name;

    name = ngx_http_dashboards_stmts[q->stmt].name;

    switch (q->outcome) {

    case NGX_HTTP_DASHBOARDS_Q_BUSY:
        return ngx_http_dashboards_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "server_error", "database_busy",
                   "Too many requests are waiting for a database "
                   "connection. Please try again later.", NULL);

    case NGX_HTTP_DASHBOARDS_Q_WAIT_TIMEOUT:
        return ngx_http_dashboards_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "server_error", "database_busy",
                   "Timed out waiting for a database connection. "
                   "Please try again later.", NULL);

    case NGX_HTTP_DASHBOARDS_Q_UNAVAILABLE:
        return ngx_http_dashboards_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "server_error", "database_unavailable",
                   NGX_HTTP_DASHBOARDS_UNAVAILABLE_TEXT, NULL);

    case NGX_HTTP_DASHBOARDS_Q_TIMEOUT:
        return ngx_http_dashboards_fail(r, NGX_HTTP_GATEWAY_TIME_OUT,
                   "server_error", "database_timeout",
                   NGX_HTTP_DASHBOARDS_TIMEOUT_TEXT, NULL);

    case NGX_HTTP_DASHBOARDS_Q_SQL_ERROR:
        break;

    default:
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "dashboards: statement \"%s\" has no error", name);
        return ngx_http_dashboards_server_error(r);
    }

    if (q->res == NULL) {
        return ngx_http_dashboards_server_error(r);
    }

    state = PQresultErrorField(q->res, PG_DIAG_SQLSTATE);
    msg = (u_char *) PQresultErrorField(q->res, PG_DIAG_MESSAGE_PRIMARY);

    if (state && state[0] == 'D' && state[1] == 'B' && msg) {

        /* refused by our SQL: the message is the JSON body */

        status = ngx_atoi((u_char *) state + 2, 3);
        if (status < 200 || status > 599) {
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_dashboards_send_str(r, status, msg,
                                            ngx_strlen(msg));
    }

    if (state && (ngx_strncmp(state, "08", 2) == 0
                  || ngx_strncmp(state, "53", 2) == 0
                  || ngx_strncmp(state, "57P", 3) == 0))
    {
        return ngx_http_dashboards_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "server_error", "database_unavailable",
                   NGX_HTTP_DASHBOARDS_UNAVAILABLE_TEXT, NULL);
    }

    if (state && ngx_strcmp(state, "57014") == 0) {
        return ngx_http_dashboards_fail(r, NGX_HTTP_GATEWAY_TIME_OUT,
                   "server_error", "database_timeout",
                   NGX_HTTP_DASHBOARDS_TIMEOUT_TEXT, NULL);
    }

    if (state && ngx_strcmp(state, "55P03") == 0) {

        /*
         * lock_timeout: another transaction holds a row this statement
         * must change; nothing was changed and the same request may well
         * succeed a moment later, so it is answered as a busy database
         * (503), as when the pool's queue is full, rather than as a
         * conflict with the object's state (409)
         */

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "dashboards: statement \"%s\" gave up waiting "
                      "for a lock: %s", name, msg ? (char *) msg : "");

        return ngx_http_dashboards_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "server_error", "database_busy",
                   "Another request is changing this object. "
                   "Please try again later.", NULL);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "dashboards: statement \"%s\" failed: %s",
                  name, PQresultErrorMessage(q->res));

    return ngx_http_dashboards_server_error(r);
}
