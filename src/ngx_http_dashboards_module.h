
/*
 * Copyright (C) ngx_dashboards authors
 */


#ifndef _NGX_HTTP_DASHBOARDS_MODULE_H_INCLUDED_
#define _NGX_HTTP_DASHBOARDS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <libpq-fe.h>
#include <cjson/cJSON.h>


#define NGX_HTTP_DASHBOARDS_SECURE_LEN   71      /* "sha256$" + 64 hex */
#define NGX_HTTP_DASHBOARDS_MAX_PARAMS   12
#define NGX_HTTP_DASHBOARDS_MAX_STMTS    64

/* scopes of the route table */
#define NGX_HTTP_DASHBOARDS_READ         1
#define NGX_HTTP_DASHBOARDS_WRITE        2
#define NGX_HTTP_DASHBOARDS_NO_SCOPE     3    /* write, or session only */
#define NGX_HTTP_DASHBOARDS_ANY          4    /* no scope needed */

#define NGX_HTTP_DASHBOARDS_MAX_ID       2147483647   /* PostgreSQL int */

/*
 * the version of the SQL functions this module needs: what
 * ngx_dashboards.ngx_dashboards_version() returns (sql/migrations/
 * 099_version.sql), checked once per new connection
 */
#define NGX_HTTP_DASHBOARDS_SQL_VERSION  "2"


typedef struct ngx_http_dashboards_db_s      ngx_http_dashboards_db_t;
typedef struct ngx_http_dashboards_server_s  ngx_http_dashboards_server_t;
typedef struct ngx_http_dashboards_pgconn_s  ngx_http_dashboards_pgconn_t;
typedef struct ngx_http_dashboards_query_s   ngx_http_dashboards_query_t;
typedef struct ngx_http_dashboards_ctx_s     ngx_http_dashboards_ctx_t;
typedef struct ngx_http_dashboards_route_s   ngx_http_dashboards_route_t;


/* the statements the module sends, see ngx_http_dashboards_sql.c */
typedef enum {
    NGX_HTTP_DASHBOARDS_SQL_AUTH = 0,
    NGX_HTTP_DASHBOARDS_SQL_LIST,
    NGX_HTTP_DASHBOARDS_SQL_CREATE,
    NGX_HTTP_DASHBOARDS_SQL_RETRIEVE,
    NGX_HTTP_DASHBOARDS_SQL_UPDATE,
    NGX_HTTP_DASHBOARDS_SQL_ACCESS,
    NGX_HTTP_DASHBOARDS_SQL_ME,
    NGX_HTTP_DASHBOARDS_SQL_KEY_CURRENT,
    NGX_HTTP_DASHBOARDS_SQL_PROJECT,
    NGX_HTTP_DASHBOARDS_SQL_CREATE_TEXT_TILE,
    NGX_HTTP_DASHBOARDS_SQL_UPDATE_TEXT_TILE,
    NGX_HTTP_DASHBOARDS_SQL_DELETE_TILE,
    NGX_HTTP_DASHBOARDS_SQL_COPY_TILE,
    NGX_HTTP_DASHBOARDS_SQL_MOVE_TILE,
    NGX_HTTP_DASHBOARDS_SQL_REORDER_TILES,
    NGX_HTTP_DASHBOARDS_SQL_BULK_UPDATE_TAGS,
    NGX_HTTP_DASHBOARDS_SQL_FROM_TEMPLATE_JSON,
    NGX_HTTP_DASHBOARDS_SQL_CREATE_UNLISTED,
    NGX_HTTP_DASHBOARDS_SQL_CHECK_EDIT,
    NGX_HTTP_DASHBOARDS_SQL_PLAN,
    NGX_HTTP_DASHBOARDS_SQL_COMPUTE,
    NGX_HTTP_DASHBOARDS_SQL_STORE,
    NGX_HTTP_DASHBOARDS_SQL_RUN_INSIGHTS,
    NGX_HTTP_DASHBOARDS_SQL_COUNT
} ngx_http_dashboards_sql_e;


/* a statement the module may send: index into the statement table */
typedef struct {
    const char                   *name;
    const char                   *sql;
    int                           nparams;

    /*
     * changes nothing (but access timestamps): it may be sent again when
     * the connection dies before its answer, and to a replica; any other
     * statement is sent again only when it never reached the server
     */
    ngx_uint_t                    read_only;

    /* the server set: NGX_HTTP_DASHBOARDS_MAIN or _EVENTS */
    ngx_uint_t                    set;
} ngx_http_dashboards_stmt_t;

#define NGX_HTTP_DASHBOARDS_REPLICA      2    /* read_only, writes nothing */

#define NGX_HTTP_DASHBOARDS_MAIN         0
#define NGX_HTTP_DASHBOARDS_EVENTS       1    /* dashboards_events */


/* one "server" line of a dashboards_database block, and its per-worker pool */
struct ngx_http_dashboards_server_s {
    ngx_str_t                     conninfo;     /* NUL-terminated */
    const char                  **keywords;     /* parsed, for libpq */
    const char                  **values;
    ngx_flag_t                    replica;
    ngx_http_dashboards_db_t     *db;

    /* per worker state */
    ngx_queue_t                   idle;         /* idle connections */
    ngx_queue_t                   all;          /* every open connection */
    ngx_queue_t                   waiting;      /* queries waiting */
    ngx_uint_t                    nconns;
    ngx_uint_t                    nconnecting;
    ngx_uint_t                    nwaiting;
};


/* a dashboards_database block */
struct ngx_http_dashboards_db_s {
    ngx_str_t                     name;
    ngx_array_t                   servers;      /* server_t */
    ngx_http_dashboards_server_t *primary;
    ngx_uint_t                    next_replica;

    ngx_uint_t                    pool_size;
    ngx_uint_t                    queue_size;
    ngx_msec_t                    queue_timeout;
    ngx_msec_t                    connect_timeout;
    ngx_msec_t                    query_timeout;
    ngx_msec_t                    lock_timeout;     /* 0: off */
    ngx_msec_t                    keepalive_timeout;
    ngx_msec_t                    keepalive_time;
    ngx_uint_t                    keepalive_requests;
    ngx_flag_t                    prepared;
    ngx_flag_t                    statement_timeout;

    u_char                       *file;
    ngx_uint_t                    line;

    unsigned                      by_pass:1;    /* a dashboards_pass */
    unsigned                      by_events:1;  /* a dashboards_events */
};


typedef enum {
    NGX_HTTP_DASHBOARDS_PG_CONNECTING = 0,
    NGX_HTTP_DASHBOARDS_PG_CHECKING,            /* the functions' version */
    NGX_HTTP_DASHBOARDS_PG_IDLE,
    NGX_HTTP_DASHBOARDS_PG_PREPARING,
    NGX_HTTP_DASHBOARDS_PG_EXECUTING
} ngx_http_dashboards_pg_state_e;


typedef enum {
    NGX_HTTP_DASHBOARDS_PG_READY = 0,           /* connected, nothing to say */
    NGX_HTTP_DASHBOARDS_PG_RESULT,              /* a statement's result */
    NGX_HTTP_DASHBOARDS_PG_FAILED,              /* connect, send or read */
    NGX_HTTP_DASHBOARDS_PG_TIMEDOUT,            /* the statement's timer */
    NGX_HTTP_DASHBOARDS_PG_GONE                 /* an idle one closed/expired */
} ngx_http_dashboards_pg_event_e;


/*
 * what a connection tells its owner (the pool), which alone closes it: res
 * is the complete result of a statement (RESULT), NULL otherwise
 */
typedef void (*ngx_http_dashboards_pg_handler_pt)(
    ngx_http_dashboards_pgconn_t *pc, ngx_http_dashboards_pg_event_e ev,
    PGresult *res);


/* one libpq connection wrapped into an nginx connection */
struct ngx_http_dashboards_pgconn_s {
    PGconn                       *pg;
    ngx_pool_t                   *pool;
    PGresult                     *result;       /* collected so far */
    ngx_connection_t             *c;
    ngx_http_dashboards_server_t *server;
    ngx_http_dashboards_query_t  *query;        /* NULL when idle */
    ngx_queue_t                   queue;        /* in server->idle */
    ngx_queue_t                   all;          /* in server->all */
    ngx_http_dashboards_pg_state_e  state;
    ngx_http_dashboards_pg_handler_pt  handler;
    ngx_log_t                    *log;          /* its user's, or cycle's */
    ngx_msec_t                    started;      /* connected at */
    ngx_uint_t                    requests;     /* statements sent */
    uint64_t                      prepared;     /* bit per statement */
    ngx_uint_t                    stmt;         /* being prepared */
    unsigned                      fresh:1;      /* not yet used */
    unsigned                      connected:1;
    unsigned                      closing:1;    /* the server said FATAL */
};


/*
 * what became of a query: its handler reads q->outcome (and q->res); the
 * pool never answers a request: ngx_http_dashboards_request.c maps outcomes
 * to HTTP, ngx_http_dashboards_error.c writes the error bodies
 */
typedef enum {
    NGX_HTTP_DASHBOARDS_Q_OK = 0,               /* res: rows or command ok */
    NGX_HTTP_DASHBOARDS_Q_SQL_ERROR,            /* res: an error result */
    NGX_HTTP_DASHBOARDS_Q_TIMEOUT,              /* no answer in time */
    NGX_HTTP_DASHBOARDS_Q_UNAVAILABLE,          /* no connection, or lost */
    NGX_HTTP_DASHBOARDS_Q_BUSY,                 /* the wait queue is full */
    NGX_HTTP_DASHBOARDS_Q_WAIT_TIMEOUT          /* waited too long */
} ngx_http_dashboards_outcome_e;


/*
 * called once with the query's outcome; the handler owns q->res (PQclear()
 * it, or give it to a pool cleanup) and may free the query itself
 */
typedef void (*ngx_http_dashboards_query_handler_pt)(
    ngx_http_dashboards_query_t *q);


/*
 * called with the result of a successful statement of the request; a
 * failed one (an error raised by our SQL, PostgreSQL unavailable, a
 * timeout) is answered by ngx_http_dashboards_request.c with its JSON body
 * and never reaches the handler
 */
typedef void (*ngx_http_dashboards_query_pt)(ngx_http_request_t *r,
    PGresult *res);


struct ngx_http_dashboards_query_s {
    ngx_http_dashboards_db_t     *db;           /* the server set */
    ngx_uint_t                    stmt;
    const char                   *values[NGX_HTTP_DASHBOARDS_MAX_PARAMS];
    ngx_http_dashboards_query_handler_pt  handler;
    void                         *data;         /* the handler's */
    ngx_log_t                    *log;          /* a request's, or NULL */

    ngx_http_dashboards_outcome_e  outcome;
    PGresult                     *res;

    /* the pool's */
    ngx_http_dashboards_server_t *server;
    ngx_http_dashboards_pgconn_t *conn;
    ngx_queue_t                   wait;
    ngx_event_t                   wait_timer;
    ngx_uint_t                    retries;

    /* the request's (ngx_http_dashboards_request.c) */
    ngx_queue_t                   link;         /* in the request's lists */
    ngx_http_dashboards_query_handler_pt  done; /* any outcome, or: */
    void                         *arg;          /* done's own */
    ngx_http_dashboards_query_pt  endpoint;     /* rows; errors answered */

    unsigned                      waiting:1;
    unsigned                      sent:1;       /* may have reached PG */
};


/* the authenticated key, as looked up or found in the worker cache */
typedef struct {
    ngx_int_t                     user_id;
    ngx_int_t                     current_team_id;
    ngx_str_t                     scopes;       /* comma-joined */
    ngx_str_t                     scoped_teams;
    ngx_str_t                     scoped_orgs;
    ngx_str_t                     key_id;
} ngx_http_dashboards_auth_t;


/* body validation (validate.c) */
#define NGX_HTTP_DASHBOARDS_T_STRING     1
#define NGX_HTTP_DASHBOARDS_T_INT        2
#define NGX_HTTP_DASHBOARDS_T_BOOL       3
#define NGX_HTTP_DASHBOARDS_T_DATETIME   4
#define NGX_HTTP_DASHBOARDS_T_ANY        5
#define NGX_HTTP_DASHBOARDS_T_DICT       6    /* any object (max_items keys) */
#define NGX_HTTP_DASHBOARDS_T_OBJECT     7    /* object of .children */
#define NGX_HTTP_DASHBOARDS_T_OBJECTS    8    /* list of .children */
#define NGX_HTTP_DASHBOARDS_T_STRINGS    9    /* list of strings */
#define NGX_HTTP_DASHBOARDS_T_UUIDS      10   /* list of UUID strings */
#define NGX_HTTP_DASHBOARDS_T_TRUTHY     11   /* any, sent as a boolean */
#define NGX_HTTP_DASHBOARDS_T_FILTERS    12   /* dict if truthy, else dropped */
#define NGX_HTTP_DASHBOARDS_T_INTS       13   /* list of integers */

/*
 * what one request may carry (PostHog has no such caps): the tiles of a PATCH
 * (tiles, duplicate_tiles), of reorder_tiles and of a template; the tags of
 * one object; the keys of one tile's layouts (PostHog's grid has two
 * breakpoints, sm and xs).  Their worst cases are timed by bench/worst-case;
 * sql/migrations/008_tags_templates.sql checks the same for templates.
 */
#define NGX_HTTP_DASHBOARDS_MAX_TILES        200
#define NGX_HTTP_DASHBOARDS_MAX_TAGS         100
#define NGX_HTTP_DASHBOARDS_MAX_LAYOUT_KEYS  10

#define NGX_HTTP_DASHBOARDS_F_NULL       1    /* null allowed */
#define NGX_HTTP_DASHBOARDS_F_BLANK      2    /* "" allowed */
#define NGX_HTTP_DASHBOARDS_F_REQUIRED   4
#define NGX_HTTP_DASHBOARDS_F_NOTRIM     8    /* keep white space */


typedef struct ngx_http_dashboards_field_s  ngx_http_dashboards_field_t;

struct ngx_http_dashboards_field_s {
    const char                         *name;
    ngx_uint_t                          type;
    ngx_uint_t                          flags;
    size_t                              max_len;
    const ngx_int_t                    *choices;   /* 0-terminated */
    const ngx_http_dashboards_field_t  *children;
    const char                         *message;   /* instead of default */
    const char *const                  *strings;   /* string choices */
    ngx_uint_t                          min_items;
    ngx_uint_t                          max_items;
};


/* a decoded query parameter (handler.c) */
typedef struct {
    ngx_str_t                           key;
    ngx_str_t                           value;
} ngx_http_dashboards_qarg_t;


typedef struct {
    const char                         *code;
    ngx_str_t                           detail;
    u_char                             *attr;       /* NULL: null */
} ngx_http_dashboards_verr_t;


typedef ngx_int_t (*ngx_http_dashboards_endpoint_pt)(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);


struct ngx_http_dashboards_route_s {
    ngx_uint_t                    family;       /* path shape */
    ngx_str_t                     action;       /* for action routes */
    ngx_uint_t                    methods;      /* NGX_HTTP_GET|... */
    ngx_uint_t                    scope;
    const char                   *scope_object; /* "dashboard", ... */
    ngx_http_dashboards_endpoint_pt  handler;
};


struct ngx_http_dashboards_ctx_s {
    ngx_http_dashboards_route_t  *route;
    ngx_str_t                     project;      /* as in the URL */
    ngx_int_t                     project_id;   /* resolved, -1 none */
    ngx_int_t                     object_id;    /* -1 none */
    ngx_str_t                     object;       /* as in the URL */

    cJSON                        *body;         /* NULL: no body */
    ngx_array_t                  *args;         /* qarg_t, decoded once */

    ngx_str_t                     key;
    const char                   *key_source;
    u_char                        secure[NGX_HTTP_DASHBOARDS_SECURE_LEN + 1];
    ngx_http_dashboards_auth_t    auth;

    ngx_http_dashboards_query_t   query;        /* the endpoint's one */
    ngx_queue_t                   queries;      /* in the pool */
    ngx_queue_t                   pending;      /* over the limit */
    ngx_uint_t                    nqueries;     /* in the pool */
    ngx_http_dashboards_endpoint_pt  authenticated;  /* after auth.c */
    ngx_uint_t                    status;       /* success status */
    ngx_int_t                     list_limit;
    ngx_int_t                     list_offset;

    u_char                        user_id[NGX_INT_T_LEN + 1];
    u_char                        project_arg[NGX_INT_T_LEN + 1];
    u_char                        object_arg[NGX_INT_T_LEN + 1];
    ngx_str_t                     scoped_orgs;  /* NUL-terminated */

    ngx_http_dashboards_verr_t    verr;         /* answered after checks */
    ngx_uint_t                    body_error;   /* status, 0 none */
    ngx_str_t                     body_error_text;

    ngx_str_t                     error_page;   /* filter.c */
    const char                   *overrides[3]; /* insights.c */

    unsigned                      error_sent:1;
    unsigned                      format_txt:1;
    unsigned                      method_allowed:1;
    unsigned                      options:1;
    unsigned                      written_refresh:1; /* insights.c */
    unsigned                      query_invalid:1;   /* verr, after body */
};


typedef struct {
    ngx_array_t                   dbs;          /* db_t * */
    void                         *auth_cache;   /* per worker */
} ngx_http_dashboards_main_conf_t;


typedef struct {
    ngx_http_dashboards_db_t     *db;
    ngx_http_dashboards_db_t     *events;       /* dashboards_events */
    ngx_uint_t                    queries;      /* per request, in flight */
    time_t                        auth_cache_ttl;
    ngx_flag_t                    session_only_actions;
    ngx_uint_t                    max_depth;
    ngx_flag_t                    server_errors; /* filter.c */
} ngx_http_dashboards_loc_conf_t;


extern ngx_module_t  ngx_http_dashboards_module;

extern ngx_http_dashboards_stmt_t  ngx_http_dashboards_stmts[];


/* handler.c */
ngx_int_t ngx_http_dashboards_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_dashboards_proceed(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);

/* request.c: the statements of a request, and their outcomes */
ngx_int_t ngx_http_dashboards_run(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_uint_t stmt, ngx_uint_t nvalues,
    ngx_http_dashboards_query_pt handler);
ngx_http_dashboards_query_t *ngx_http_dashboards_query_create(
    ngx_http_request_t *r, ngx_uint_t stmt,
    ngx_http_dashboards_query_handler_pt handler, void *data);
void ngx_http_dashboards_query_start(ngx_http_request_t *r,
    ngx_http_dashboards_query_t *q);
ngx_http_dashboards_db_t *ngx_http_dashboards_stmt_db(
    ngx_http_dashboards_loc_conf_t *dlcf, ngx_uint_t stmt);
void ngx_http_dashboards_finish(ngx_http_request_t *r, ngx_int_t rc);
ngx_int_t ngx_http_dashboards_send_result(ngx_http_request_t *r,
    ngx_uint_t status, PGresult *res, int column);
void ngx_http_dashboards_request_cleanup(ngx_http_dashboards_ctx_t *ctx);

/* args.c: the query string */
ngx_array_t *ngx_http_dashboards_args(ngx_http_request_t *r);
ngx_int_t ngx_http_dashboards_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_dashboards_arg_next(ngx_http_request_t *r,
    const char *name, ngx_uint_t *next, ngx_str_t *value);

/* text.c */
ngx_int_t ngx_http_dashboards_text(ngx_http_request_t *r, u_char *data,
    size_t len, ngx_chain_t **out, off_t *out_len);

/* filter.c */
ngx_int_t ngx_http_dashboards_filter_init(ngx_conf_t *cf);

/* conninfo.c: a server line's conninfo for libpq, when the conf is read */
char *ngx_http_dashboards_conninfo(ngx_conf_t *cf,
    ngx_http_dashboards_server_t *s);

/* pg.c: one connection, knows nothing of the pool or of HTTP */
ngx_int_t ngx_http_dashboards_pg_connect(ngx_http_dashboards_server_t *s,
    ngx_http_dashboards_pg_handler_pt handler,
    ngx_http_dashboards_pgconn_t **pcp, ngx_log_t *log);
ngx_int_t ngx_http_dashboards_pg_send(ngx_http_dashboards_pgconn_t *pc);
void ngx_http_dashboards_pg_close(ngx_http_dashboards_pgconn_t *pc);
ngx_int_t ngx_http_dashboards_pg_alive(ngx_http_dashboards_pgconn_t *pc);
void ngx_http_dashboards_pg_idle(ngx_http_dashboards_pgconn_t *pc,
    ngx_msec_t timeout);
void ngx_http_dashboards_pg_log(ngx_http_dashboards_pgconn_t *pc,
    ngx_log_t *log);

/* pool.c: the per-worker keepalive pools, knows nothing of HTTP */
void ngx_http_dashboards_pool_init(ngx_http_dashboards_server_t *s);
void ngx_http_dashboards_pool_query(ngx_http_dashboards_query_t *q);
void ngx_http_dashboards_pool_cancel(ngx_http_dashboards_query_t *q);
void ngx_http_dashboards_pool_close_all(ngx_http_dashboards_server_t *s);

/* error.c: outcomes to HTTP, and every error body */
ngx_int_t ngx_http_dashboards_error_body(ngx_pool_t *pool, const char *type,
    const char *code, ngx_str_t *detail, const char *attr, ngx_str_t *out);
ngx_int_t ngx_http_dashboards_send_outcome(ngx_http_request_t *r,
    ngx_http_dashboards_query_t *q);
ngx_int_t ngx_http_dashboards_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *code,
    ngx_str_t *detail, const char *attr);
ngx_int_t ngx_http_dashboards_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *code, const char *detail,
    const char *attr);
ngx_int_t ngx_http_dashboards_not_found(ngx_http_request_t *r);
ngx_int_t ngx_http_dashboards_server_error(ngx_http_request_t *r);

/* auth.c */
void ngx_http_dashboards_auth_init(ngx_cycle_t *cycle);
ngx_int_t ngx_http_dashboards_authenticate(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);

/* json.c */
size_t ngx_http_dashboards_utf8(u_char *p, u_char *last, size_t *bad,
    const char **why);
ngx_int_t ngx_http_dashboards_utf8_clean(ngx_pool_t *pool, u_char *src,
    size_t len, ngx_str_t *out);
ngx_uint_t ngx_http_dashboards_bad_char(u_char *s, size_t len,
    uint32_t *cp);
ngx_uint_t ngx_http_dashboards_json_bad(cJSON *item, uint32_t *cp);
void ngx_http_dashboards_json_raw_numbers(cJSON *item);
ngx_int_t ngx_http_dashboards_number_text(cJSON *item, u_char *buf,
    size_t size, ngx_str_t *out);
ngx_int_t ngx_http_dashboards_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out);
ngx_int_t ngx_http_dashboards_send_str(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);
ngx_int_t ngx_http_dashboards_send_empty(ngx_http_request_t *r,
    ngx_uint_t status);
cJSON *ngx_http_dashboards_parse(ngx_http_request_t *r, u_char *data,
    size_t len, ngx_uint_t max_depth, ngx_str_t *err);
char *ngx_http_dashboards_print(ngx_http_request_t *r, cJSON *json,
    size_t *len);

/* compact.c: answers without the white space outside strings */
#define NGX_HTTP_DASHBOARDS_JSON_OUTSIDE  0
#define NGX_HTTP_DASHBOARDS_JSON_STRING   1
#define NGX_HTTP_DASHBOARDS_JSON_ESCAPE   2

u_char *ngx_http_dashboards_json_compact(u_char *dst, u_char *src,
    size_t len, ngx_uint_t *state);

/* validate.c */
ngx_int_t ngx_http_dashboards_validate(ngx_http_request_t *r, cJSON *in,
    const ngx_http_dashboards_field_t *fields, cJSON **out,
    ngx_http_dashboards_verr_t *err);
ngx_int_t ngx_http_dashboards_send_verr(ngx_http_request_t *r,
    ngx_http_dashboards_verr_t *err);
ngx_int_t ngx_http_dashboards_is_false(cJSON *item);
ngx_int_t ngx_http_dashboards_body_param(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, const ngx_http_dashboards_field_t *fields,
    const char **param, ngx_http_dashboards_verr_t *err);
ngx_int_t ngx_http_dashboards_verr(ngx_http_request_t *r,
    ngx_http_dashboards_verr_t *err, const char *code, ngx_str_t *attr,
    const char *fmt, ...);

/* endpoints */
ngx_int_t ngx_http_dashboards_list(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_create(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_retrieve(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_update(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_destroy(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_me(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_key_current(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_project(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);

ngx_int_t ngx_http_dashboards_create_text_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_update_text_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_delete_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_copy_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_move_tile(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_reorder_tiles(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_bulk_update_tags(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_from_template_json(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_create_unlisted(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);
ngx_int_t ngx_http_dashboards_run_insights(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx);

/* insights.c: ?refresh=, computing results, then stmt answers */
ngx_int_t ngx_http_dashboards_insights(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_uint_t stmt, ngx_uint_t nvalues,
    ngx_uint_t refresh_value);
ngx_int_t ngx_http_dashboards_written_action(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, const ngx_http_dashboards_field_t *fields,
    ngx_uint_t stmt, ngx_uint_t status);
void ngx_http_dashboards_written(ngx_http_request_t *r, PGresult *res);
ngx_int_t ngx_http_dashboards_overrides(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_uint_t tiles,
    ngx_http_dashboards_verr_t *err);
void ngx_http_dashboards_detail_values(ngx_http_dashboards_ctx_t *ctx);

/* a body that failed validation: checks the object first, then the error */
ngx_int_t ngx_http_dashboards_invalid(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_http_dashboards_verr_t *err);
void ngx_http_dashboards_verr_done(ngx_http_request_t *r, PGresult *res);

/* an action: the validated body (fields NULL: as sent) to one statement */
ngx_int_t ngx_http_dashboards_action(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, const ngx_http_dashboards_field_t *fields,
    ngx_uint_t stmt, ngx_uint_t status);

/* generic "one json column" answer used by most endpoints */
void ngx_http_dashboards_json_done(ngx_http_request_t *r, PGresult *res);
void ngx_http_dashboards_base_values(ngx_http_dashboards_ctx_t *ctx);


#endif /* _NGX_HTTP_DASHBOARDS_MODULE_H_INCLUDED_ */
