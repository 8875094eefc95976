
/*
 * Copyright (C) ngx_dashboards authors
 *
 * The statements of a request.  Each is a query of the pool (pool.c) with
 * the request's log; at most dashboards_queries_per_request of them are in
 * the pool at once (so that one dashboard cannot take a whole pool), the
 * others wait in the request's own list, in order.  An endpoint's single
 * statement (ngx_http_dashboards_run()) reaches its handler only with rows:
 * any other outcome is answered here, through ngx_http_dashboards_error.c.
 * Results live as long as the request.
 */


#include "ngx_http_dashboards_module.h"


static void ngx_http_dashboards_query_init(ngx_http_request_t *r,
    ngx_http_dashboards_query_t *q, ngx_uint_t stmt);
static void ngx_http_dashboards_request_done(ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_request_next(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
static void ngx_http_dashboards_request_clear(void *data);


/*
 * runs one statement of the statement table with ctx->query.values;
 * the handler gets the result and finalises the request
 */

ngx_int_t
ngx_http_dashboards_run(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_uint_t stmt, ngx_uint_t nvalues,
    ngx_http_dashboards_query_pt handler)
{
    ngx_http_dashboards_query_t  *q;

    if (nvalues != (ngx_uint_t) ngx_http_dashboards_stmts[stmt].nparams) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "dashboards: statement \"%s\" takes %d parameters",
                      ngx_http_dashboards_stmts[stmt].name,
                      ngx_http_dashboards_stmts[stmt].nparams);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = &ctx->query;

    ngx_http_dashboards_query_init(r, q, stmt);
    q->done = NULL;
    q->endpoint = handler;

    ngx_http_dashboards_query_start(r, q);

    return NGX_DONE;
}


/*
 * a statement among several of the request: the handler gets every
 * outcome (q->outcome, q->res) and answers nothing by itself
 */

ngx_http_dashboards_query_t *
ngx_http_dashboards_query_create(ngx_http_request_t *r, ngx_uint_t stmt,
    ngx_http_dashboards_query_handler_pt handler, void *data)
{
    ngx_http_dashboards_query_t  *q;

    q = ngx_pcalloc(r->pool, sizeof(ngx_http_dashboards_query_t));
    if (q == NULL) {
        return NULL;
    }

    ngx_http_dashboards_query_init(r, q, stmt);
    q->done = handler;
    q->endpoint = NULL;
    q->arg = data;

    return q;
}


/* a statement of the request, on its server set, logging with it */

static void
ngx_http_dashboards_query_init(ngx_http_request_t *r,
    ngx_http_dashboards_query_t *q, ngx_uint_t stmt)
{
    ngx_http_dashboards_loc_conf_t  *dlcf;

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

    q->db = ngx_http_dashboards_stmt_db(dlcf, stmt);
    q->stmt = stmt;
    q->handler = ngx_http_dashboards_request_done;
    q->data = r;
    q->log = r->connection->log;
    q->retries = 0;
}


/* the location's database, or its dashboards_events one */

ngx_http_dashboards_db_t *
ngx_http_dashboards_stmt_db(ngx_http_dashboards_loc_conf_t *dlcf,
    ngx_uint_t stmt)
{
    if (ngx_http_dashboards_stmts[stmt].set == NGX_HTTP_DASHBOARDS_EVENTS
        && dlcf->events)
    {
        return dlcf->events;
    }

    return dlcf->db;
}


void
ngx_http_dashboards_query_start(ngx_http_request_t *r,
    ngx_http_dashboards_query_t *q)
{
    ngx_http_dashboards_ctx_t       *ctx;
    ngx_http_dashboards_loc_conf_t  *dlcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);
    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

    if (ctx->queries.next == NULL) {
        ngx_queue_init(&ctx->queries);
        ngx_queue_init(&ctx->pending);
    }

    if (ctx->nqueries >= dlcf->queries) {
        ngx_queue_insert_tail(&ctx->pending, &q->link);
        return;
    }

    ctx->nqueries++;
    ngx_queue_insert_tail(&ctx->queries, &q->link);

    ngx_http_dashboards_pool_query(q);
}


static void
ngx_http_dashboards_request_done(ngx_http_dashboards_query_t *q)
{
    ngx_connection_t           *c;
    ngx_pool_cleanup_t         *cln;
    ngx_http_request_t         *r;
    ngx_http_dashboards_ctx_t  *ctx;

    r = q->data;
    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    ngx_queue_remove(&q->link);
    ctx->nqueries--;

    if (q->res) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            PQclear(q->res);
            q->res = NULL;
            q->outcome = NGX_HTTP_DASHBOARDS_Q_SQL_ERROR;

        } else {
            cln->handler = ngx_http_dashboards_request_clear;
            cln->data = q->res;
        }
    }

    ngx_http_dashboards_request_next(r, ctx);

    if (q->done) {
        q->done(q);

    } else if (q->outcome == NGX_HTTP_DASHBOARDS_Q_OK) {
        q->endpoint(r, q->res);

    } else {
        ngx_http_dashboards_finish(r, ngx_http_dashboards_send_outcome(r, q));
    }

    ngx_http_run_posted_requests(c);
}


/* the queries waiting for the request's share of the pool */

static void
ngx_http_dashboards_request_next(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx)
{
    ngx_queue_t                     *link;
    ngx_http_dashboards_query_t     *q;
    ngx_http_dashboards_loc_conf_t  *dlcf;

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

    while (!ngx_queue_empty(&ctx->pending) && ctx->nqueries < dlcf->queries) {
        link = ngx_queue_head(&ctx->pending);
        ngx_queue_remove(link);

        q = ngx_queue_data(link, ngx_http_dashboards_query_t, link);

        ctx->nqueries++;
        ngx_queue_insert_tail(&ctx->queries, &q->link);

        ngx_http_dashboards_pool_query(q);
    }
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


void
ngx_http_dashboards_finish(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


/* the request is going away: its queries are forgotten by the pool */

void
ngx_http_dashboards_request_cleanup(ngx_http_dashboards_ctx_t *ctx)
{
    ngx_queue_t                  *link;
    ngx_http_dashboards_query_t  *q;

    if (ctx->queries.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ctx->queries)) {
        link = ngx_queue_head(&ctx->queries);
        ngx_queue_remove(link);

        q = ngx_queue_data(link, ngx_http_dashboards_query_t, link);

        ngx_http_dashboards_pool_cancel(q);
    }

    ngx_queue_init(&ctx->pending);
    ctx->nqueries = 0;
}


static void
ngx_http_dashboards_request_clear(void *data)
{
    PQclear(data);
}
