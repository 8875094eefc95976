
/*
 * Copyright (C) ngx_dashboards authors
 *
 * The per-worker keepalive pool of PostgreSQL connections, one per
 * database server: idle connections (most recently used first), a bounded
 * wait queue with a timeout, and the mapping of outcomes to HTTP statuses.
 * Modelled on ngx_http_upstream_keepalive_module.
 */


#include "ngx_http_dashboards_module.h"


static ngx_http_dashboards_server_t *ngx_http_dashboards_pool_server(
    ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_pool_attach(ngx_http_dashboards_pgconn_t *pc,
    ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_pool_kick(ngx_http_dashboards_server_t *s);
static void ngx_http_dashboards_pool_dequeue(ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_pool_wait_timeout(ngx_event_t *ev);
static void ngx_http_dashboards_pool_done(ngx_http_dashboards_query_t *q,
    PGresult *res, ngx_uint_t status, const char *code, const char *detail);
static void ngx_http_dashboards_pool_retry_or_fail(
    ngx_http_dashboards_query_t *q, ngx_uint_t reused);
static void ngx_http_dashboards_pool_clear(void *data);
static void ngx_http_dashboards_pool_purge(ngx_http_dashboards_server_t *s);


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


static ngx_http_dashboards_server_t *
ngx_http_dashboards_pool_server(ngx_http_dashboards_query_t *q)
{
    ngx_uint_t                     i, n;
    ngx_http_dashboards_db_t      *db;
    ngx_http_dashboards_server_t  *s;

    db = q->db;

    if (!q->read_only || db->servers.nelts == 1) {
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
        ngx_log_error(NGX_LOG_WARN, q->request->connection->log, 0,
                      "dashboards: all %ui connections busy and %ui "
                      "requests waiting", s->nconns, s->nwaiting);

        ngx_http_dashboards_pool_done(q, NULL, NGX_HTTP_SERVICE_UNAVAILABLE,
            "database_busy",
            "Too many requests are waiting for a database connection. "
            "Please try again later.");
        return;
    }

    ngx_queue_insert_tail(&s->waiting, &q->wait);
    s->nwaiting++;
    q->waiting = 1;

    q->wait_timer.handler = ngx_http_dashboards_pool_wait_timeout;
    q->wait_timer.data = q;
    q->wait_timer.log = q->request->connection->log;
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

        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "dashboards: kept-alive PostgreSQL connection "
                      "closed by the server: %s", PQerrorMessage(pc->pg));

        s = pc->server;

        ngx_http_dashboards_pg_close(pc);
        ngx_http_dashboards_pool_purge(s);

        ngx_http_dashboards_pool_query(q);
        return;
    }

    pc->query = q;
    pc->c->idle = 0;
    q->conn = pc;

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
        if (ngx_http_dashboards_pg_connect(s, &pc, ngx_cycle->log)
            == NGX_OK)
        {
            s->nconnecting++;
            continue;
        }

        link = ngx_queue_head(&s->waiting);
        q = ngx_queue_data(link, ngx_http_dashboards_query_t, wait);

        ngx_http_dashboards_pool_dequeue(q);
        ngx_http_dashboards_pool_done(q, NULL, NGX_HTTP_SERVICE_UNAVAILABLE,
            "database_unavailable",
            "The database is unavailable. Please try again later.");
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
    ngx_http_dashboards_pool_done(q, NULL, NGX_HTTP_SERVICE_UNAVAILABLE,
        "database_busy",
        "Timed out waiting for a database connection. "
        "Please try again later.");
}


/* a connection is connected, or finished its statement, and is healthy */

void
ngx_http_dashboards_pool_release(ngx_http_dashboards_pgconn_t *pc)
{
    ngx_queue_t                   *link;
    ngx_http_dashboards_query_t   *q;
    ngx_http_dashboards_server_t  *s;

    s = pc->server;

    if (pc->connected == 0) {
        pc->connected = 1;
        s->nconnecting--;
    }

    pc->query = NULL;

    if (PQtransactionStatus(pc->pg) != PQTRANS_IDLE
        || PQstatus(pc->pg) != CONNECTION_OK
        || ngx_terminate || ngx_exiting)
    {
        ngx_http_dashboards_pg_close(pc);
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
    pc->c->idle = 1;
    ngx_queue_insert_head(&s->idle, &pc->queue);
}


/* the statement is complete: res is the result, NULL if preparing failed */

void
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

    state = (res && PQresultStatus(res) == PGRES_FATAL_ERROR)
            ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (res == NULL
        || PQstatus(pc->pg) != CONNECTION_OK
        || (state && ngx_strncmp(state, "57P0", 4) == 0))
    {
        /* the connection is gone (e.g. pg_terminate_backend) */

        if (res) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "dashboards: PostgreSQL connection lost: %s",
                          PQresultErrorMessage(res));
            PQclear(res);
        }

        ngx_http_dashboards_pg_close(pc);
        ngx_http_dashboards_pool_purge(s);
        ngx_http_dashboards_pool_kick(s);

        if (q) {
            ngx_http_dashboards_pool_retry_or_fail(q, reused);
        }

        return;
    }

    ngx_http_dashboards_pool_release(pc);

    if (q == NULL) {
        PQclear(res);
        return;
    }

    ngx_http_dashboards_pool_done(q, res, 0, NULL, NULL);
}


/* the connection failed: connecting, sending or reading */

void
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

    ngx_http_dashboards_pg_close(pc);

    if (connecting && !ngx_queue_empty(&s->waiting)) {
        /* the query this connection was opened for gets the answer */

        link = ngx_queue_head(&s->waiting);
        q = ngx_queue_data(link, ngx_http_dashboards_query_t, wait);

        ngx_http_dashboards_pool_dequeue(q);
        ngx_http_dashboards_pool_kick(s);

        ngx_http_dashboards_pool_done(q, NULL, NGX_HTTP_SERVICE_UNAVAILABLE,
            "database_unavailable",
            "The database is unavailable. Please try again later.");
        return;
    }

    /* a kept-alive connection died: its idle siblings likely did too */

    ngx_http_dashboards_pool_purge(s);
    ngx_http_dashboards_pool_kick(s);

    if (q) {
        ngx_http_dashboards_pool_retry_or_fail(q, reused);
    }
}


void
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

    ngx_http_dashboards_pg_close(pc);
    ngx_http_dashboards_pool_kick(s);

    if (q) {
        ngx_http_dashboards_pool_done(q, NULL, NGX_HTTP_GATEWAY_TIME_OUT,
            "database_timeout",
            "The database did not answer in time.");
    }
}


/* bookkeeping for a connection that pg.c is closing */

void
ngx_http_dashboards_pool_closed(ngx_http_dashboards_pgconn_t *pc)
{
    ngx_http_dashboards_server_t  *s;

    s = pc->server;

    if (!pc->connected) {
        s->nconnecting--;
    }

    if (pc->result) {
        PQclear(pc->result);
        pc->result = NULL;
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
}


/* the request is going away */

void
ngx_http_dashboards_pool_cancel(ngx_http_dashboards_query_t *q)
{
    ngx_http_dashboards_pool_dequeue(q);

    if (q->conn) {
        /* the statement runs to its end; its result is then discarded */
        q->conn->query = NULL;
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

    ngx_http_dashboards_pool_done(q, NULL, NGX_HTTP_SERVICE_UNAVAILABLE,
        "database_unavailable",
        "The database is unavailable. Please try again later.");
}


static void
ngx_http_dashboards_pool_done(ngx_http_dashboards_query_t *q, PGresult *res,
    ngx_uint_t status, const char *code, const char *detail)
{
    u_char                *p, *msg;
    char                  *state;
    size_t                 len;
    ngx_str_t              body, *bp;
    ngx_connection_t      *c;
    ngx_pool_cleanup_t    *cln;
    ngx_http_request_t    *r;

    r = q->request;
    c = r->connection;
    bp = NULL;
    ngx_str_null(&body);

    if (res) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            PQclear(res);
            res = NULL;
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            cln->handler = ngx_http_dashboards_pool_clear;
            cln->data = res;
        }
    }

    if (res && PQresultStatus(res) != PGRES_TUPLES_OK
        && PQresultStatus(res) != PGRES_COMMAND_OK)
    {
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        msg = (u_char *) PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        if (state && state[0] == 'D' && state[1] == 'B' && msg) {
            /* refused by our SQL: the message is the JSON body */
            status = ngx_atoi((u_char *) state + 2, 3);
            if (status < 200 || status > 599) {
                status = NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            body.data = msg;
            body.len = ngx_strlen(msg);
            bp = &body;

        } else if (state && (ngx_strncmp(state, "08", 2) == 0
                             || ngx_strncmp(state, "53", 2) == 0
                             || ngx_strncmp(state, "57P", 3) == 0))
        {
            status = NGX_HTTP_SERVICE_UNAVAILABLE;
            code = "database_unavailable";
            detail = "The database is unavailable. Please try again later.";

        } else if (state && ngx_strcmp(state, "57014") == 0) {
            status = NGX_HTTP_GATEWAY_TIME_OUT;
            code = "database_timeout";
            detail = "The database did not answer in time.";

        } else if (state && ngx_strcmp(state, "55P03") == 0) {

            /*
             * lock_timeout: another transaction holds a row this statement
             * must change; nothing was changed and the same request may
             * well succeed a moment later, so it is answered as a busy
             * database (503), as when the pool's queue is full, rather
             * than as a conflict with the object's state (409)
             */

            ngx_log_error(NGX_LOG_WARN, c->log, 0,
                          "dashboards: statement \"%s\" gave up waiting "
                          "for a lock: %s",
                          ngx_http_dashboards_stmts[q->stmt].name,
                          msg ? (char *) msg : "");
            status = NGX_HTTP_SERVICE_UNAVAILABLE;
            code = "database_busy";
            detail = "Another request is changing this object. "
                     "Please try again later.";

        } else {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "dashboards: statement \"%s\" failed: %s",
                          ngx_http_dashboards_stmts[q->stmt].name,
                          PQresultErrorMessage(res));
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        res = NULL;
    }

    if (res == NULL && bp == NULL) {

        if (status == 0 || status == NGX_HTTP_INTERNAL_SERVER_ERROR) {
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;
            code = "error";
            detail = "A server error occurred.";
        }

        len = sizeof("{\"type\":\"server_error\",\"code\":\"\","
                     "\"detail\":\"\",\"attr\":null}") - 1
              + ngx_strlen(code) + ngx_strlen(detail);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            body.len = 0;

        } else {
            body.data = p;
            p = ngx_sprintf(p, "{\"type\":\"server_error\",\"code\":\"%s\","
                            "\"detail\":\"%s\",\"attr\":null}",
                            code, detail);
            body.len = p - body.data;
        }

        bp = &body;
    }

    if (res) {
        q->handler(r, res);

    } else {
        ngx_http_dashboards_finish(r, ngx_http_dashboards_send_str(r, status,
                                                                   bp->data,
                                                                   bp->len));
    }

    ngx_http_run_posted_requests(c);
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

        ngx_http_dashboards_pg_close(pc);
    }
}


static void
ngx_http_dashboards_pool_clear(void *data)
{
    PQclear(data);
}
