
/*
 * Copyright (C) ngx_dashboards authors
 *
 * The per-worker keepalive pools of PostgreSQL connections, one per
 * database server: idle connections (most recently used first) that expire
 * (keepalive_timeout, keepalive_requests, keepalive_time), a bounded wait
 * queue with a timeout, retries of statements a dying connection lost.
 * Modelled on ngx_http_upstream_keepalive_module: it knows nothing of HTTP.
 * A query comes with its statement, values and handler, and leaves with an
 * outcome (ngx_http_dashboards_outcome_e) given to that handler; the query
 * may belong to a request or to nobody (a computation that outlives its
 * request).
 */


#include "ngx_http_dashboards_module.h"


static ngx_http_dashboards_server_t *ngx_http_dashboards_pool_server(
    ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_pool_attach(ngx_http_dashboards_pgconn_t *pc,
    ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_pool_kick(ngx_http_dashboards_server_t *s);
static void ngx_http_dashboards_pool_dequeue(ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_pool_wait_timeout(ngx_event_t *ev);
static void ngx_http_dashboards_pool_event(ngx_http_dashboards_pgconn_t *pc,
    ngx_http_dashboards_pg_event_e ev, PGresult *res);
static void ngx_http_dashboards_pool_release(
    ngx_http_dashboards_pgconn_t *pc);
static void ngx_http_dashboards_pool_result(ngx_http_dashboards_pgconn_t *pc,
    PGresult *res);
static void ngx_http_dashboards_pool_failed(ngx_http_dashboards_pgconn_t *pc);
static void ngx_http_dashboards_pool_timeout(
    ngx_http_dashboards_pgconn_t *pc);
static void ngx_http_dashboards_pool_close(ngx_http_dashboards_pgconn_t *pc);
static void ngx_http_dashboards_pool_done(ngx_http_dashboards_query_t *q,
    ngx_http_dashboards_outcome_e outcome, PGresult *res);
static void ngx_http_dashboards_pool_retry_or_fail(
    ngx_http_dashboards_query_t *q, ngx_uint_t reused);
static void ngx_http_dashboards_pool_purge(ngx_http_dashboards_server_t *s);
static ngx_log_t *ngx_http_dashboards_pool_log(
    ngx_http_dashboards_query_t *q);


void
ngx_http_dashboards_pool_init(ngx_http_dashboards_server_t *s)
{
    ngx_queue_init(&s->idle);
    ngx_queue_init(&s->all);
    ngx_queue_init(&s->waiting);
    s->nconns = 0;
    s->nconnecting = 0;
    s->nwaiting = 0;
}


static ngx_log_t *
ngx_http_dashboards_pool_log(ngx_http_dashboards_query_t *q)
{
    return q->log ? q->log : ngx_cycle->log;
}


static ngx_http_dashboards_server_t *
ngx_http_dashboards_pool_server(ngx_http_dashboards_query_t *q)
{
    ngx_uint_t                     i, n;
    ngx_http_dashboards_db_t      *db;
    ngx_http_dashboards_server_t  *s;

    db = q->db;

    if (ngx_http_dashboards_stmts[q->stmt].read_only
        != NGX_HTTP_DASHBOARDS_REPLICA
        || db->servers.nelts == 1)
    {
        return db->primary;
    }

    /* reads go round-robin over the replicas */

    s = db->servers.elts;
    n = db->servers.nelts;

    for (i = 0; i < n; i++) {
        db->next_replica = (db->next_replica + 1) % n;

        if (s[db->next_replica].replica) {
            return &s[db->next_replica];
        }
    }

    return db->primary;
}


void
ngx_http_dashboards_pool_query(ngx_http_dashboards_query_t *q)
{
    ngx_queue_t                   *link;
    ngx_http_dashboards_db_t      *db;
    ngx_http_dashboards_pgconn_t  *pc;
    ngx_http_dashboards_server_t  *s;

    db = q->db;
    s = ngx_http_dashboards_pool_server(q);
    q->server = s;
    q->sent = 0;

    if (!ngx_queue_empty(&s->idle)) {
        link = ngx_queue_head(&s->idle);
        ngx_queue_remove(link);
        ngx_queue_init(link);

        pc = ngx_queue_data(link, ngx_http_dashboards_pgconn_t, queue);

        ngx_http_dashboards_pool_attach(pc, q);
        return;
    }

    if (s->nconns >= db->pool_size && s->nwaiting >= db->queue_size) {
        ngx_log_error(NGX_LOG_WARN, ngx_http_dashboards_pool_log(q), 0,
                      "dashboards: all %ui connections busy and %ui "
                      "queries waiting", s->nconns, s->nwaiting);

        ngx_http_dashboards_pool_done(q, NGX_HTTP_DASHBOARDS_Q_BUSY, NULL);
        return;
    }

    ngx_queue_insert_tail(&s->waiting, &q->wait);
    s->nwaiting++;
    q->waiting = 1;

    q->wait_timer.handler = ngx_http_dashboards_pool_wait_timeout;
    q->wait_timer.data = q;
    q->wait_timer.log = ngx_http_dashboards_pool_log(q);
    ngx_add_timer(&q->wait_timer, db->queue_timeout);

    ngx_http_dashboards_pool_kick(s);
}


static void
ngx_http_dashboards_pool_attach(ngx_http_dashboards_pgconn_t *pc,
    ngx_http_dashboards_query_t *q)
{
    ngx_http_dashboards_server_t  *s;

    if (!pc->fresh && ngx_http_dashboards_pg_alive(pc) != NGX_OK) {

        /*
         * the server closed this kept-alive connection while it was idle:
         * nothing was sent, so the statement, even a write, goes to
         * another connection; the idle ones likely died too
         */

        ngx_log_error(NGX_LOG_INFO, ngx_http_dashboards_pool_log(q), 0,
                      "dashboards: kept-alive PostgreSQL connection "
                      "closed by the server: %s", PQerrorMessage(pc->pg));

        s = pc->server;

        ngx_http_dashboards_pool_close(pc);
        ngx_http_dashboards_pool_purge(s);

        ngx_http_dashboards_pool_query(q);
        return;
    }

    pc->query = q;
    q->conn = pc;

    /* its log lines name the request */
    ngx_http_dashboards_pg_log(pc, q->log);

    if (ngx_http_dashboards_pg_send(pc) != NGX_OK) {
        ngx_http_dashboards_pool_failed(pc);
    }
}


/* open connections for waiting queries while the pool has room */

static void
ngx_http_dashboards_pool_kick(ngx_http_dashboards_server_t *s)
{
    ngx_queue_t                   *link;
    ngx_http_dashboards_pgconn_t  *pc;
    ngx_http_dashboards_query_t   *q;

    while (!ngx_queue_empty(&s->waiting)
           && s->nconns < s->db->pool_size
           && s->nconnecting < s->nwaiting)
    {
        if (ngx_http_dashboards_pg_connect(s, ngx_http_dashboards_pool_event,
                                           &pc, ngx_cycle->log)
            == NGX_OK)
        {
            ngx_queue_insert_tail(&s->all, &pc->all);
            ngx_queue_init(&pc->queue);
            s->nconns++;
            s->nconnecting++;
            continue;
        }

        link = ngx_queue_head(&s->waiting);
        q = ngx_queue_data(link, ngx_http_dashboards_query_t, wait);

        ngx_http_dashboards_pool_dequeue(q);
        ngx_http_dashboards_pool_done(q, NGX_HTTP_DASHBOARDS_Q_UNAVAILABLE,
                                      NULL);
    }
}


static void
ngx_http_dashboards_pool_dequeue(ngx_http_dashboards_query_t *q)
{
    if (!q->waiting) {
        return;
    }

    ngx_queue_remove(&q->wait);
    q->server->nwaiting--;
    q->waiting = 0;

    if (q->wait_timer.timer_set) {
        ngx_del_timer(&q->wait_timer);
    }
}


static void
ngx_http_dashboards_pool_wait_timeout(ngx_event_t *ev)
{
    ngx_http_dashboards_query_t  *q;

    q = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "dashboards: timed out waiting for a database connection");

    ngx_http_dashboards_pool_dequeue(q);
    ngx_http_dashboards_pool_done(q, NGX_HTTP_DASHBOARDS_Q_WAIT_TIMEOUT,
                                  NULL);
}


/* what a connection tells */

static void
ngx_http_dashboards_pool_event(ngx_http_dashboards_pgconn_t *pc,
    ngx_http_dashboards_pg_event_e ev, PGresult *res)
{
    ngx_http_dashboards_server_t  *s;

    switch (ev) {

    case NGX_HTTP_DASHBOARDS_PG_READY:
        ngx_http_dashboards_pool_release(pc);
        return;

    case NGX_HTTP_DASHBOARDS_PG_RESULT:
        ngx_http_dashboards_pool_result(pc, res);
        return;

    case NGX_HTTP_DASHBOARDS_PG_FAILED:
        ngx_http_dashboards_pool_failed(pc);
        return;

    case NGX_HTTP_DASHBOARDS_PG_TIMEDOUT:
        ngx_http_dashboards_pool_timeout(pc);
        return;

    default: /* NGX_HTTP_DASHBOARDS_PG_GONE */
        s = pc->server;
        ngx_http_dashboards_pool_close(pc);
        ngx_http_dashboards_pool_kick(s);
        return;
    }
}


/* a connection is connected, or finished its statement, and is healthy */

static void
ngx_http_dashboards_pool_release(ngx_http_dashboards_pgconn_t *pc)
{
    ngx_queue_t                   *link;
    ngx_http_dashboards_db_t      *db;
    ngx_http_dashboards_query_t   *q;
    ngx_http_dashboards_server_t  *s;

    s = pc->server;
    db = s->db;

    if (pc->connected == 0) {
        pc->connected = 1;
        s->nconnecting--;
    }

    pc->query = NULL;

    if (PQtransactionStatus(pc->pg) != PQTRANS_IDLE
        || PQstatus(pc->pg) != CONNECTION_OK
        || ngx_terminate || ngx_exiting
        || pc->requests >= db->keepalive_requests
        || ngx_current_msec - pc->started >= db->keepalive_time)
    {
        /* broken, or used enough (keepalive_requests, keepalive_time) */

        ngx_http_dashboards_pool_close(pc);
        ngx_http_dashboards_pool_kick(s);
        return;
    }

    if (!ngx_queue_empty(&s->waiting)) {
        link = ngx_queue_head(&s->waiting);
        q = ngx_queue_data(link, ngx_http_dashboards_query_t, wait);

        ngx_http_dashboards_pool_dequeue(q);
        ngx_http_dashboards_pool_attach(pc, q);
        return;
    }

    /* kept alive: it may die while idle, so a failure on it is retried */

    pc->fresh = 0;
    ngx_http_dashboards_pg_idle(pc, db->keepalive_timeout);
    ngx_queue_insert_head(&s->idle, &pc->queue);
}


/* the statement is complete */

static void
ngx_http_dashboards_pool_result(ngx_http_dashboards_pgconn_t *pc,
    PGresult *res)
{
    char                          *state;
    ngx_uint_t                     reused;
    ngx_http_dashboards_query_t   *q;
    ngx_http_dashboards_server_t  *s;

    s = pc->server;
    q = pc->query;
    reused = !pc->fresh;
    pc->fresh = 0;
    pc->query = NULL;

    if (q) {
        q->conn = NULL;
    }

    state = (PQresultStatus(res) == PGRES_FATAL_ERROR)
            ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(pc->pg) != CONNECTION_OK
        || (state && ngx_strncmp(state, "57P0", 4) == 0))
    {
        /* the connection is gone (e.g. pg_terminate_backend) */

        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "dashboards: PostgreSQL connection lost: %s",
                      PQresultErrorMessage(res));
        PQclear(res);

        ngx_http_dashboards_pool_close(pc);
        ngx_http_dashboards_pool_purge(s);
        ngx_http_dashboards_pool_kick(s);

        if (q) {
            ngx_http_dashboards_pool_retry_or_fail(q, reused);
        }

        return;
    }

    ngx_http_dashboards_pool_release(pc);

    if (q == NULL) {
        /* its query was cancelled meanwhile */
        PQclear(res);
        return;
    }

    ngx_http_dashboards_pool_done(q, state ? NGX_HTTP_DASHBOARDS_Q_SQL_ERROR
                                           : NGX_HTTP_DASHBOARDS_Q_OK,
                                  res);
}


/* the connection failed: connecting, sending or reading */

static void
ngx_http_dashboards_pool_failed(ngx_http_dashboards_pgconn_t *pc)
{
    ngx_uint_t                     reused, connecting;
    ngx_queue_t                   *link;
    ngx_http_dashboards_query_t   *q;
    ngx_http_dashboards_server_t  *s;

    s = pc->server;
    q = pc->query;
    reused = !pc->fresh;
    connecting = (pc->state == NGX_HTTP_DASHBOARDS_PG_CONNECTING
                  || pc->state == NGX_HTTP_DASHBOARDS_PG_CHECKING);

    pc->query = NULL;

    if (q) {
        q->conn = NULL;
    }

    ngx_http_dashboards_pool_close(pc);

    if (connecting && !ngx_queue_empty(&s->waiting)) {
        /* the query this connection was opened for gets the answer */

        link = ngx_queue_head(&s->waiting);
        q = ngx_queue_data(link, ngx_http_dashboards_query_t, wait);

        ngx_http_dashboards_pool_dequeue(q);
        ngx_http_dashboards_pool_kick(s);

        ngx_http_dashboards_pool_done(q, NGX_HTTP_DASHBOARDS_Q_UNAVAILABLE,
                                      NULL);
        return;
    }

    /* a kept-alive connection died: its idle siblings likely did too */

    ngx_http_dashboards_pool_purge(s);
    ngx_http_dashboards_pool_kick(s);

    if (q) {
        ngx_http_dashboards_pool_retry_or_fail(q, reused);
    }
}


static void
ngx_http_dashboards_pool_timeout(ngx_http_dashboards_pgconn_t *pc)
{
    ngx_http_dashboards_query_t   *q;
    ngx_http_dashboards_server_t  *s;

    s = pc->server;
    q = pc->query;
    pc->query = NULL;

    if (q) {
        q->conn = NULL;
    }

    ngx_http_dashboards_pool_close(pc);
    ngx_http_dashboards_pool_kick(s);

    if (q) {
        ngx_http_dashboards_pool_done(q, NGX_HTTP_DASHBOARDS_Q_TIMEOUT, NULL);
    }
}


/* the pool's bookkeeping, then the connection is closed */

static void
ngx_http_dashboards_pool_close(ngx_http_dashboards_pgconn_t *pc)
{
    ngx_http_dashboards_server_t  *s;

    s = pc->server;

    if (!pc->connected) {
        s->nconnecting--;
    }

    if (pc->query) {
        pc->query->conn = NULL;
        pc->query = NULL;
    }

    if (!ngx_queue_empty(&pc->queue)) {
        /* it was idle */
        ngx_queue_remove(&pc->queue);
    }

    ngx_queue_remove(&pc->all);
    s->nconns--;

    ngx_http_dashboards_pg_close(pc);
}


/* the worker exits */

void
ngx_http_dashboards_pool_close_all(ngx_http_dashboards_server_t *s)
{
    ngx_queue_t                   *link;
    ngx_http_dashboards_pgconn_t  *pc;

    if (s->all.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&s->all)) {
        link = ngx_queue_head(&s->all);
        pc = ngx_queue_data(link, ngx_http_dashboards_pgconn_t, all);
        ngx_http_dashboards_pool_close(pc);
    }
}


/* the query's owner (a request going away) no longer wants the outcome */

void
ngx_http_dashboards_pool_cancel(ngx_http_dashboards_query_t *q)
{
    ngx_http_dashboards_pool_dequeue(q);

    if (q->conn) {
        /* the statement runs to its end; its result is then discarded */
        q->conn->query = NULL;
        ngx_http_dashboards_pg_log(q->conn, NULL);
        q->conn = NULL;
    }
}


static void
ngx_http_dashboards_pool_retry_or_fail(ngx_http_dashboards_query_t *q,
    ngx_uint_t reused)
{
    if (reused && q->retries == 0
        && (!q->sent || ngx_http_dashboards_stmts[q->stmt].read_only))
    {
        /*
         * a kept-alive connection died before it answered (PostgreSQL
         * restarted, backend terminated): once more on a new one, unless
         * the statement is a write that reached the server, which may
         * have committed it before the connection died: a create or copy
         * sent again would run twice
         */
        q->retries++;
        ngx_http_dashboards_pool_query(q);
        return;
    }

    ngx_http_dashboards_pool_done(q, NGX_HTTP_DASHBOARDS_Q_UNAVAILABLE, NULL);
}


static void
ngx_http_dashboards_pool_done(ngx_http_dashboards_query_t *q,
    ngx_http_dashboards_outcome_e outcome, PGresult *res)
{
    q->outcome = outcome;
    q->res = res;

    /* the handler owns res, and may free q itself */

    q->handler(q);
}


/*
 * PostgreSQL restarted or backends were terminated: every idle connection
 * of the server is closed rather than found dead one request at a time
 */

static void
ngx_http_dashboards_pool_purge(ngx_http_dashboards_server_t *s)
{
    ngx_queue_t                   *link;
    ngx_http_dashboards_pgconn_t  *pc;

    while (!ngx_queue_empty(&s->idle)) {
        link = ngx_queue_last(&s->idle);
        pc = ngx_queue_data(link, ngx_http_dashboards_pgconn_t, queue);

        ngx_http_dashboards_pool_close(pc);
    }
}
