
/*
 * Copyright (C) ngx_dashboards authors
 *
 * One libpq connection driven by nginx events: connect, send, flush,
 * receive.  Only libpq's asynchronous API is used; the worker never waits.
 * It knows nothing of the pool or of HTTP: what happens is told to its
 * owner through pc->handler, and only the owner closes it (as
 * ngx_http_upstream_keepalive_module keeps connections for upstreams).
 *
 * The socket is registered level-triggered for reading (libpq may leave
 * bytes in the kernel buffer after PQconsumeInput, which an edge-triggered
 * registration would never report again) and for writing only while libpq
 * has something to flush or the connection handshake wants to write.
 */


#include "ngx_http_dashboards_module.h"


static ngx_int_t ngx_http_dashboards_pg_wrap(ngx_http_dashboards_pgconn_t *pc,
    ngx_log_t *log);
static void ngx_http_dashboards_pg_unwrap(ngx_http_dashboards_pgconn_t *pc,
    ngx_uint_t closed);
static ngx_int_t ngx_http_dashboards_pg_want_write(
    ngx_http_dashboards_pgconn_t *pc, ngx_uint_t on);
static void ngx_http_dashboards_pg_handler(ngx_event_t *ev);
static void ngx_http_dashboards_pg_poll(ngx_http_dashboards_pgconn_t *pc);
static void ngx_http_dashboards_pg_receive(ngx_http_dashboards_pgconn_t *pc);
static ngx_int_t ngx_http_dashboards_pg_flush(
    ngx_http_dashboards_pgconn_t *pc);
static void ngx_http_dashboards_pg_idle_event(
    ngx_http_dashboards_pgconn_t *pc);
static void ngx_http_dashboards_pg_tell(ngx_http_dashboards_pgconn_t *pc,
    ngx_http_dashboards_pg_event_e ev, PGresult *res);
static void ngx_http_dashboards_pg_failed(ngx_http_dashboards_pgconn_t *pc,
    const char *action);
static void ngx_http_dashboards_pg_notice(void *arg, const PGresult *res);
static ngx_int_t ngx_http_dashboards_pg_check(
    ngx_http_dashboards_pgconn_t *pc);
static void ngx_http_dashboards_pg_checked(ngx_http_dashboards_pgconn_t *pc,
    PGresult *res);


ngx_int_t
ngx_http_dashboards_pg_connect(ngx_http_dashboards_server_t *s,
    ngx_http_dashboards_pg_handler_pt handler,
    ngx_http_dashboards_pgconn_t **pcp, ngx_log_t *log)
{
    PGconn                        *pg;
    ngx_pool_t                    *pool;
    ngx_http_dashboards_pgconn_t  *pc;

    pg = PQconnectStartParams(s->keywords, s->values, 0);

    if (pg == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "dashboards: out of memory in PQconnectStart()");
        return NGX_ERROR;
    }

    if (PQstatus(pg) == CONNECTION_BAD || PQsetnonblocking(pg, 1) == -1) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "dashboards: connecting to PostgreSQL failed: %s",
                      PQerrorMessage(pg));
        PQfinish(pg);
        return NGX_ERROR;
    }

    pool = ngx_create_pool(512, ngx_cycle->log);
    if (pool == NULL) {
        PQfinish(pg);
        return NGX_ERROR;
    }

    pc = ngx_pcalloc(pool, sizeof(ngx_http_dashboards_pgconn_t));
    if (pc == NULL) {
        ngx_destroy_pool(pool);
        PQfinish(pg);
        return NGX_ERROR;
    }

    pc->pool = pool;
    pc->pg = pg;
    pc->server = s;
    pc->handler = handler;
    pc->log = ngx_cycle->log;
    pc->state = NGX_HTTP_DASHBOARDS_PG_CONNECTING;
    pc->fresh = 1;

    PQsetNoticeReceiver(pg, ngx_http_dashboards_pg_notice, pc);

    if (ngx_http_dashboards_pg_wrap(pc, pc->log) != NGX_OK) {
        PQfinish(pg);
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    /* libpq: after PQconnectStart, act as if polling returned WRITING */

    if (ngx_http_dashboards_pg_want_write(pc, 1) != NGX_OK) {
        ngx_http_dashboards_pg_unwrap(pc, 0);
        PQfinish(pg);
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ngx_add_timer(pc->c->read, s->db->connect_timeout);

    *pcp = pc;

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_pg_wrap(ngx_http_dashboards_pgconn_t *pc, ngx_log_t *log)
{
    int                fd;
    ngx_connection_t  *c;

    fd = PQsocket(pc->pg);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "dashboards: no libpq socket");
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = pc;
    c->shared = 1;         /* libpq owns and closes the socket */
    c->log = log;
    c->read->log = log;
    c->write->log = log;
    c->read->handler = ngx_http_dashboards_pg_handler;
    c->write->handler = ngx_http_dashboards_pg_handler;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    pc->c = c;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_free_connection(c);
        pc->c = NULL;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_dashboards_pg_unwrap(ngx_http_dashboards_pgconn_t *pc,
    ngx_uint_t closed)
{
    ngx_uint_t         flags;
    ngx_connection_t  *c;

    c = pc->c;
    if (c == NULL) {
        return;
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    /*
     * usually the socket is still open here (libpq closes it later), so
     * the events are removed from the kernel explicitly; when libpq has
     * already closed it, the kernel has forgotten it by itself
     */

    flags = closed ? NGX_CLOSE_EVENT : 0;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);

    pc->c = NULL;
}


static ngx_int_t
ngx_http_dashboards_pg_want_write(ngx_http_dashboards_pgconn_t *pc,
    ngx_uint_t on)
{
    ngx_event_t  *wev;

    wev = pc->c->write;

    if (on && !wev->active) {
        return ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }

    if (!on && wev->active) {
        return ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }

    return NGX_OK;
}


void
ngx_http_dashboards_pg_close(ngx_http_dashboards_pgconn_t *pc)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "dashboards: close PostgreSQL connection %p", pc);

    /* after an end of file libpq has closed the socket already */

    ngx_http_dashboards_pg_unwrap(pc, pc->c && (pc->pg == NULL
                                                || PQsocket(pc->pg)
                                                   != (int) pc->c->fd));

    if (pc->pg) {
        PQfinish(pc->pg);
        pc->pg = NULL;
    }

    if (pc->result) {
        PQclear(pc->result);
        pc->result = NULL;
    }

    ngx_destroy_pool(pc->pool);
}


/*
 * the log of the request (or other user) the connection works for, so
 * that its lines name the request; the cycle's log while it is idle
 */

void
ngx_http_dashboards_pg_log(ngx_http_dashboards_pgconn_t *pc, ngx_log_t *log)
{
    pc->log = log ? log : ngx_cycle->log;

    if (pc->c) {
        pc->c->log = pc->log;
        pc->c->read->log = pc->log;
        pc->c->write->log = pc->log;
    }
}


/* kept alive: closed (GONE) after timeout without use */

void
ngx_http_dashboards_pg_idle(ngx_http_dashboards_pgconn_t *pc,
    ngx_msec_t timeout)
{
    ngx_http_dashboards_pg_log(pc, NULL);

    pc->c->idle = 1;

    if (pc->c->read->timer_set) {
        ngx_del_timer(pc->c->read);
    }

    ngx_add_timer(pc->c->read, timeout);
}


static void
ngx_http_dashboards_pg_tell(ngx_http_dashboards_pgconn_t *pc,
    ngx_http_dashboards_pg_event_e ev, PGresult *res)
{
    pc->handler(pc, ev, res);
}


static void
ngx_http_dashboards_pg_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_http_dashboards_pgconn_t  *pc;

    c = ev->data;
    pc = c->data;

    if (ev->timedout) {
        ev->timedout = 0;

        if (pc->state == NGX_HTTP_DASHBOARDS_PG_CONNECTING
            || pc->state == NGX_HTTP_DASHBOARDS_PG_CHECKING)
        {
            ngx_log_error(NGX_LOG_ERR, pc->log, NGX_ETIMEDOUT,
                          "dashboards: connecting to PostgreSQL timed out");
            ngx_http_dashboards_pg_failed(pc, NULL);
            return;
        }

        if (pc->state == NGX_HTTP_DASHBOARDS_PG_IDLE) {
            /* keepalive_timeout */
            ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_GONE,
                                        NULL);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, pc->log, NGX_ETIMEDOUT,
                      "dashboards: PostgreSQL query timed out");

        /*
         * libpq 15 can only cancel with the blocking PQcancel(): close the
         * connection instead; without statement_timeout the backend may
         * go on with the statement until it notices
         */

        ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_TIMEDOUT, NULL);
        return;
    }

    switch (pc->state) {

    case NGX_HTTP_DASHBOARDS_PG_CONNECTING:
        ngx_http_dashboards_pg_poll(pc);
        return;

    case NGX_HTTP_DASHBOARDS_PG_IDLE:
        if (c->close) {
            /* the worker is shutting down */
            ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_GONE,
                                        NULL);
            return;
        }

        if (ev->write) {
            (void) ngx_http_dashboards_pg_want_write(pc, 0);
            return;
        }

        ngx_http_dashboards_pg_idle_event(pc);
        return;

    default: /* CHECKING, PREPARING, EXECUTING */

        if (ngx_http_dashboards_pg_flush(pc) != NGX_OK) {
            ngx_http_dashboards_pg_failed(pc, "sending to");
            return;
        }

        if (!ev->write) {
            ngx_http_dashboards_pg_receive(pc);
        }

        return;
    }
}


static void
ngx_http_dashboards_pg_poll(ngx_http_dashboards_pgconn_t *pc)
{
    ngx_msec_t                 left;
    PostgresPollingStatusType  st;

    for ( ;; ) {

        /*
         * libpq may close its socket and open another one during any call
         * to PQconnectPoll() (the next host or address of the conninfo, a
         * retry without SSL), and the new socket often gets the number of
         * the old one: so the events are removed while the socket is
         * surely the one registered, and whatever socket libpq has
         * afterwards is registered anew
         */

        left = pc->server->db->connect_timeout;

        if (pc->c->read->timer_set) {
            left = pc->c->read->timer.key - ngx_current_msec;
            if ((ngx_msec_int_t) left <= 0) {
                left = 1;
            }
        }

        ngx_http_dashboards_pg_unwrap(pc, 0);

        st = PQconnectPoll(pc->pg);

        if (st == PGRES_POLLING_FAILED) {
            ngx_http_dashboards_pg_failed(pc, "connecting to");
            return;
        }

        if (ngx_http_dashboards_pg_wrap(pc, pc->log) != NGX_OK) {
            ngx_http_dashboards_pg_failed(pc, "connecting to");
            return;
        }

        ngx_add_timer(pc->c->read, left);

        switch (st) {

        case PGRES_POLLING_READING:
            if (ngx_http_dashboards_pg_want_write(pc, 0) != NGX_OK) {
                ngx_http_dashboards_pg_failed(pc, NULL);
            }
            return;

        case PGRES_POLLING_WRITING:
            if (ngx_http_dashboards_pg_want_write(pc, 1) != NGX_OK) {
                ngx_http_dashboards_pg_failed(pc, NULL);
            }
            return;

        case PGRES_POLLING_OK:

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                           "dashboards: connected to PostgreSQL %p", pc);

            /* connect_timeout goes on until the version is checked */

            if (ngx_http_dashboards_pg_check(pc) != NGX_OK) {
                ngx_http_dashboards_pg_failed(pc, "sending to");
            }

            return;

        case PGRES_POLLING_FAILED:
            ngx_http_dashboards_pg_failed(pc, "connecting to");
            return;

        default:
            /* PGRES_POLLING_ACTIVE: poll again */
            continue;
        }
    }
}


/*
 * a new connection asks for the version of the SQL functions before it
 * serves any request, so that functions of an older or newer migration are
 * never called with this module's statements
 */

static ngx_int_t
ngx_http_dashboards_pg_check(ngx_http_dashboards_pgconn_t *pc)
{
    if (!PQsendQueryParams(pc->pg,
                           "SELECT ngx_dashboards.ngx_dashboards_version()",
                           0, NULL, NULL, NULL, NULL, 0))
    {
        return NGX_ERROR;
    }

    pc->state = NGX_HTTP_DASHBOARDS_PG_CHECKING;

    return ngx_http_dashboards_pg_flush(pc);
}


static void
ngx_http_dashboards_pg_checked(ngx_http_dashboards_pgconn_t *pc,
    PGresult *res)
{
    char  *version;

    if (res == NULL) {
        ngx_http_dashboards_pg_failed(pc, "reading from");
        return;
    }

    if (PQresultStatus(res) == PGRES_TUPLES_OK
        && PQntuples(res) == 1 && PQnfields(res) == 1
        && !PQgetisnull(res, 0, 0))
    {
        version = PQgetvalue(res, 0, 0);

        if (ngx_strcmp(version, NGX_HTTP_DASHBOARDS_SQL_VERSION) == 0) {
            PQclear(res);

            if (pc->c->read->timer_set) {
                ngx_del_timer(pc->c->read);
            }

            pc->state = NGX_HTTP_DASHBOARDS_PG_IDLE;
            pc->started = ngx_current_msec;
            ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_READY,
                                        NULL);
            return;
        }

        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "dashboards: the SQL functions in the database are "
                      "version \"%s\", this module expects version \"%s\": "
                      "apply sql/migrate of the module's release",
                      version, NGX_HTTP_DASHBOARDS_SQL_VERSION);

    } else {
        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "dashboards: no version of the SQL functions in the "
                      "database (this module expects version \"%s\"; "
                      "apply sql/migrate of the module's release): %s",
                      NGX_HTTP_DASHBOARDS_SQL_VERSION,
                      PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                      ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                      : PQresStatus(PQresultStatus(res)));
    }

    PQclear(res);

    /* the query waiting for this connection is answered 503 */

    ngx_http_dashboards_pg_failed(pc, NULL);
}


ngx_int_t
ngx_http_dashboards_pg_send(ngx_http_dashboards_pgconn_t *pc)
{
    int                           ok;
    uint64_t                      bit;
    ngx_http_dashboards_db_t     *db;
    ngx_http_dashboards_stmt_t   *stmt;
    ngx_http_dashboards_query_t  *q;

    q = pc->query;
    db = pc->server->db;
    stmt = &ngx_http_dashboards_stmts[q->stmt];
    bit = (uint64_t) 1 << q->stmt;

    if (db->prepared && !(pc->prepared & bit)) {
        ok = PQsendPrepare(pc->pg, stmt->name, stmt->sql, stmt->nparams,
                           NULL);
        pc->state = NGX_HTTP_DASHBOARDS_PG_PREPARING;
        pc->stmt = q->stmt;

    } else if (db->prepared) {
        ok = PQsendQueryPrepared(pc->pg, stmt->name, stmt->nparams,
                                 q->values, NULL, NULL, 0);
        pc->state = NGX_HTTP_DASHBOARDS_PG_EXECUTING;
        q->sent = 1;
        pc->requests++;

    } else {
        pc->requests++;
        ok = PQsendQueryParams(pc->pg, stmt->sql, stmt->nparams, NULL,
                               q->values, NULL, NULL, 0);
        pc->state = NGX_HTTP_DASHBOARDS_PG_EXECUTING;
        q->sent = 1;
    }

    if (!ok) {
        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "dashboards: sending to PostgreSQL failed: %s",
                      PQerrorMessage(pc->pg));
        return NGX_ERROR;
    }

    pc->c->idle = 0;

    if (pc->c->read->timer_set) {
        ngx_del_timer(pc->c->read);
    }

    /*
     * with statement_timeout PostgreSQL cancels the statement at
     * query_timeout (57014, answered 504, the connection stays); this
     * timer is the backstop for a server that does not answer at all
     */

    ngx_add_timer(pc->c->read, db->statement_timeout
                               ? db->query_timeout + 1000
                               : db->query_timeout);

    return ngx_http_dashboards_pg_flush(pc);
}


static ngx_int_t
ngx_http_dashboards_pg_flush(ngx_http_dashboards_pgconn_t *pc)
{
    int  rc;

    rc = PQflush(pc->pg);

    if (rc == -1) {
        return NGX_ERROR;
    }

    return ngx_http_dashboards_pg_want_write(pc, rc == 1);
}


static void
ngx_http_dashboards_pg_receive(ngx_http_dashboards_pgconn_t *pc)
{
    char                         *state;
    PGresult                     *res;
    ExecStatusType                st;
    ngx_http_dashboards_query_t  *q;

    if (!PQconsumeInput(pc->pg)) {
        ngx_http_dashboards_pg_failed(pc, "reading from");
        return;
    }

    for ( ;; ) {

        if (PQisBusy(pc->pg)) {
            return;
        }

        res = PQgetResult(pc->pg);

        if (res != NULL) {
            if (pc->result == NULL) {
                pc->result = res;

            } else if (PQresultStatus(res) == PGRES_FATAL_ERROR
                       && PQresultStatus(pc->result) != PGRES_FATAL_ERROR)
            {
                PQclear(pc->result);
                pc->result = res;

            } else {
                PQclear(res);
            }

            continue;
        }

        /* the statement is complete */

        res = pc->result;
        pc->result = NULL;
        q = pc->query;

        if (pc->state == NGX_HTTP_DASHBOARDS_PG_CHECKING) {
            ngx_http_dashboards_pg_checked(pc, res);
            return;
        }

        st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

        if (pc->state == NGX_HTTP_DASHBOARDS_PG_PREPARING) {

            if (st != PGRES_COMMAND_OK) {
                ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                              "dashboards: preparing statement failed: %s",
                              res ? PQresultErrorMessage(res)
                                  : PQerrorMessage(pc->pg));

                if (res == NULL) {
                    ngx_http_dashboards_pg_failed(pc, NULL);
                    return;
                }

                /* an SQL error: the query gets it, the connection stays */

                if (pc->c->read->timer_set) {
                    ngx_del_timer(pc->c->read);
                }

                pc->state = NGX_HTTP_DASHBOARDS_PG_IDLE;

                ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_RESULT,
                                            res);
                return;
            }

            PQclear(res);

            /* prepared, even if the request went away meanwhile */
            pc->prepared |= (uint64_t) 1 << pc->stmt;

            if (q == NULL) {
                if (pc->c->read->timer_set) {
                    ngx_del_timer(pc->c->read);
                }

                pc->state = NGX_HTTP_DASHBOARDS_PG_IDLE;
                ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_READY,
                                            NULL);
                return;
            }

            if (ngx_http_dashboards_pg_send(pc) != NGX_OK) {
                ngx_http_dashboards_pg_failed(pc, "sending to");
            }

            return;
        }

        if (st == PGRES_FATAL_ERROR && res) {
            state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

            if (state && ngx_strcmp(state, "26000") == 0 && q
                && q->retries++ == 0)
            {
                /* prepared statement lost (pgbouncer, DISCARD): again */
                PQclear(res);
                pc->prepared &= ~((uint64_t) 1 << q->stmt);

                if (ngx_http_dashboards_pg_send(pc) != NGX_OK) {
                    ngx_http_dashboards_pg_failed(pc, "sending to");
                }

                return;
            }
        }

        if (res == NULL) {
            /* no result at all: the connection broke */
            ngx_http_dashboards_pg_failed(pc, "reading from");
            return;
        }

        if (pc->c->read->timer_set) {
            ngx_del_timer(pc->c->read);
        }

        pc->state = NGX_HTTP_DASHBOARDS_PG_IDLE;

        ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_RESULT, res);
        return;
    }
}


/*
 * a kept-alive connection about to be used: whatever the server sent
 * while it was idle is read first, so that a connection the server has
 * already closed (a backend terminated, PostgreSQL restarted) is found
 * dead before the statement is sent, and the statement can safely go to
 * another connection
 */

ngx_int_t
ngx_http_dashboards_pg_alive(ngx_http_dashboards_pgconn_t *pc)
{
    PGresult  *res;

    if (!PQconsumeInput(pc->pg)) {
        return NGX_ERROR;
    }

    while (!PQisBusy(pc->pg)) {
        res = PQgetResult(pc->pg);
        if (res == NULL) {
            break;
        }

        PQclear(res);
    }

    /* a FATAL message may come before the end of the connection does */

    if (pc->closing || PQstatus(pc->pg) != CONNECTION_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_dashboards_pg_idle_event(ngx_http_dashboards_pgconn_t *pc)
{
    PGresult  *res;

    /* notices, parameter changes, or the server closing the connection */

    if (!PQconsumeInput(pc->pg) || PQstatus(pc->pg) != CONNECTION_OK) {
        ngx_log_error(NGX_LOG_INFO, pc->log, 0,
                      "dashboards: idle PostgreSQL connection closed: %s",
                      PQerrorMessage(pc->pg));
        ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_GONE, NULL);
        return;
    }

    while (!PQisBusy(pc->pg)) {
        res = PQgetResult(pc->pg);
        if (res == NULL) {
            break;
        }

        PQclear(res);
    }

    if (PQstatus(pc->pg) != CONNECTION_OK || pc->closing) {
        ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_GONE, NULL);
    }
}


/*
 * notices, and errors the server sends outside of a statement: a FATAL one
 * (pg_terminate_backend(), a shutdown) means the server is closing the
 * connection
 */

static void
ngx_http_dashboards_pg_notice(void *arg, const PGresult *res)
{
    char                          *severity, *msg;
    ngx_http_dashboards_pgconn_t  *pc;

    pc = arg;

    severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (severity
        && (ngx_strcmp(severity, "FATAL") == 0
            || ngx_strcmp(severity, "PANIC") == 0))
    {
        pc->closing = 1;
    }

    ngx_log_error(NGX_LOG_INFO, pc->log, 0,
                  "dashboards: PostgreSQL %s: %s",
                  severity ? severity : "NOTICE", msg ? msg : "");
}


static void
ngx_http_dashboards_pg_failed(ngx_http_dashboards_pgconn_t *pc,
    const char *action)
{
    if (action) {
        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "dashboards: %s PostgreSQL failed: %s", action,
                      pc->pg ? PQerrorMessage(pc->pg) : "");
    }

    ngx_http_dashboards_pg_tell(pc, NGX_HTTP_DASHBOARDS_PG_FAILED, NULL);
}
