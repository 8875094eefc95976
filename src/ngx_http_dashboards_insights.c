
/*
 * Copyright (C) ngx_dashboards authors
 *
 * Insight results: the ?refresh= modes of a dashboard's retrieve, of
 * run_insights and of the writes answered with the dashboard (PostHog's
 * execution_mode_from_refresh), the overrides of the query string they
 * read, computing the tiles side by side over the pool, and computations
 * that outlive their request.
 *
 *   force_cache (the default): one statement; the SQL reads the cache.
 *   blocking, force_blocking: the plan statement names the results to
 *     compute (stale or missing ones, or all); each is computed (on the
 *     dashboards_events servers) and stored, at most
 *     dashboards_queries_per_request at once; then the answer's statement
 *     reads them from the cache.  A computation PostHog's engine refuses
 *     (an unsupported kind or math) is an error of its tile only; one past
 *     its timeout is a 504 for the whole request, as PostHog's blocking
 *     modes wait for every tile.
 *   async, lazy_async, force_async: the same computations start detached
 *     from the request, which is answered at once with query_status on
 *     those tiles; they fill the cache after it is gone.  A computation of
 *     a cache key already running in this worker is not started twice.
 *
 * Errors are never cached (ngx_dashboards_insight_store refuses them); the
 * failure of a background computation is stored as its key's query status,
 * which later async reads of that key show instead of computing it again
 * while it lasts (sql/migrations/012_insight_results.sql).
 */


#include "ngx_http_dashboards_module.h"


#define NGX_HTTP_DASHBOARDS_REFRESH_CACHE     0
#define NGX_HTTP_DASHBOARDS_REFRESH_BLOCKING  1
#define NGX_HTTP_DASHBOARDS_REFRESH_ASYNC     2


typedef struct {
    ngx_http_request_t           *request;
    ngx_uint_t                    stmt;         /* the answer's */
    ngx_uint_t                    nvalues;
    ngx_uint_t                    async;
    ngx_uint_t                    pending;      /* computations in flight */
    ngx_array_t                   outcomes;     /* outcome_t */
    PGresult                     *plan;
    unsigned                      answered:1;
} ngx_http_dashboards_refresh_t;


typedef struct {
    ngx_str_t                     cache_key;
    ngx_str_t                     error;        /* empty: started, computed */
} ngx_http_dashboards_outcome_t;


/* one result to compute for a request: its row of the plan */
typedef struct {
    ngx_http_dashboards_refresh_t  *refresh;
    ngx_int_t                       row;
    ngx_str_t                       key;        /* in the plan's result */
} ngx_http_dashboards_tile_t;


/* a computation that outlives its request, in its own memory pool */
typedef struct {
    ngx_pool_t                   *pool;
    ngx_http_dashboards_query_t   query;
    ngx_http_dashboards_db_t     *main;
    ngx_str_t                     cache_key;
    ngx_queue_t                   running;
} ngx_http_dashboards_detached_t;


static ngx_int_t ngx_http_dashboards_override(ngx_http_request_t *r,
    const char *name, const char **param, ngx_http_dashboards_verr_t *err);
static ngx_uint_t ngx_http_dashboards_refresh_mode(ngx_http_request_t *r,
    const char **raw);
static ngx_int_t ngx_http_dashboards_written_id(ngx_http_request_t *r,
    PGresult *res, ngx_http_dashboards_ctx_t *ctx);
static void ngx_http_dashboards_plan_done(ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_compute_done(ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_store_done(ngx_http_dashboards_query_t *q);
static ngx_int_t ngx_http_dashboards_outcome(
    ngx_http_dashboards_refresh_t *rf, ngx_str_t *key, ngx_str_t *error);
static void ngx_http_dashboards_refresh_answer(
    ngx_http_dashboards_refresh_t *rf);
static ngx_int_t ngx_http_dashboards_refresh_going(
    ngx_http_dashboards_refresh_t *rf, ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_refresh_end(ngx_http_dashboards_refresh_t *rf,
    ngx_int_t rc);
static ngx_int_t ngx_http_dashboards_detach(ngx_http_request_t *r,
    PGresult *plan, ngx_int_t row);
static void ngx_http_dashboards_detached_computed(
    ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_detached_stored(
    ngx_http_dashboards_query_t *q);
static void ngx_http_dashboards_detached_end(
    ngx_http_dashboards_detached_t *dt);


/* the background computations of this worker, by cache key */
static ngx_queue_t  ngx_http_dashboards_running;


/*
 * the query parameters that change what a dashboard's tiles show, read as
 * PostHog's filters_override_requested_by_client and its kin read them on
 * every request that answers with tiles (a retrieve, run_insights, and the
 * writes answered with the detail): ctx->overrides[0..2], filters_override,
 * variables_override and with tiles tile_filters_override (merged over
 * every tile's filters_overrides, sql/migrations/003_dashboard_json.sql),
 * NULL when absent.  NGX_OK, NGX_DECLINED with *err for a 400, or
 * NGX_ERROR
 */

ngx_int_t
ngx_http_dashboards_overrides(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_uint_t tiles,
    ngx_http_dashboards_verr_t *err)
{
    ngx_int_t  rc;

    ctx->overrides[2] = NULL;

    rc = ngx_http_dashboards_override(r, "filters_override",
                                      &ctx->overrides[0], err);
    if (rc == NGX_OK) {
        rc = ngx_http_dashboards_override(r, "variables_override",
                                          &ctx->overrides[1], err);
    }

    if (rc == NGX_OK && tiles) {
        rc = ngx_http_dashboards_override(r, "tile_filters_override",
                                          &ctx->overrides[2], err);
    }

    return rc;
}


/*
 * values 0-5 and 8 of the detail's statements (retrieve, run_insights):
 * the user, the project, the organizations, the dashboard of the URL and
 * the overrides
 */

void
ngx_http_dashboards_detail_values(ngx_http_dashboards_ctx_t *ctx)
{
    ngx_http_dashboards_base_values(ctx);

    ctx->query.values[3] = (const char *) ctx->object_arg;
    ctx->query.values[4] = ctx->overrides[0];
    ctx->query.values[5] = ctx->overrides[1];
    ctx->query.values[8] = ctx->overrides[2];
}


/* a JSON object given as a query parameter; absent: NULL */

static ngx_int_t
ngx_http_dashboards_override(ngx_http_request_t *r, const char *name,
    const char **param, ngx_http_dashboards_verr_t *err)
{
    char       *text;
    cJSON      *json;
    size_t      len;
    uint32_t    cp;
    ngx_int_t   rc;
    ngx_str_t   value, perr, attr;

    *param = NULL;

    attr.data = (u_char *) name;
    attr.len = ngx_strlen(name);

    rc = ngx_http_dashboards_arg(r, name, &value);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK || value.len == 0) {
        /* absent or empty: no override */
        return NGX_OK;
    }

    json = ngx_http_dashboards_parse(r, value.data, value.len, 64, &perr);

    if (json == NULL || !cJSON_IsObject(json)) {
        return ngx_http_dashboards_verr(r, err, "invalid_input", &attr,
                                        "Invalid JSON passed in %s "
                                        "parameter", name);
    }

    /* "\u0000" or a lone "\ud800": valid to Python, not to jsonb */

    switch (ngx_http_dashboards_json_bad(json, &cp)) {

    case 1:
        return ngx_http_dashboards_verr(r, err, "null_characters_not_allowed",
                                        &attr, "Null characters are not "
                                        "allowed.");

    case 2:
        return ngx_http_dashboards_verr(r, err,
                                        "surrogate_characters_not_allowed",
                                        &attr, "Surrogate characters are not "
                                        "allowed: U+%XD.", cp);
    }

    ngx_http_dashboards_json_raw_numbers(json);

    text = ngx_http_dashboards_print(r, json, &len);
    if (text == NULL) {
        return NGX_ERROR;
    }

    *param = text;

    return NGX_OK;
}


/*
 * PostHog's execution_mode_from_refresh(): true, 1, yes or an empty value
 * force_blocking; false, 0, no or absent force_cache; the named modes;
 * anything else force_cache (sql/migrations/012_insight_results.sql
 * ngx_dashboards_refresh_mode() reads the same value the same way)
 */

static ngx_uint_t
ngx_http_dashboards_refresh_mode(ngx_http_request_t *r, const char **raw)
{
    ngx_str_t   v;
    ngx_uint_t  i;

    /* the true values in any case, the mode names as they are */

    static const struct {
        const char  *name;
        ngx_uint_t   mode;
        ngx_uint_t   nocase;
    } modes[] = {
        { "true", NGX_HTTP_DASHBOARDS_REFRESH_BLOCKING, 1 },
        { "1", NGX_HTTP_DASHBOARDS_REFRESH_BLOCKING, 1 },
        { "yes", NGX_HTTP_DASHBOARDS_REFRESH_BLOCKING, 1 },
        { "", NGX_HTTP_DASHBOARDS_REFRESH_BLOCKING, 1 },
        { "blocking", NGX_HTTP_DASHBOARDS_REFRESH_BLOCKING, 0 },
        { "force_blocking", NGX_HTTP_DASHBOARDS_REFRESH_BLOCKING, 0 },
        { "async", NGX_HTTP_DASHBOARDS_REFRESH_ASYNC, 0 },
        { "lazy_async", NGX_HTTP_DASHBOARDS_REFRESH_ASYNC, 0 },
        { "force_async", NGX_HTTP_DASHBOARDS_REFRESH_ASYNC, 0 },
        { NULL, 0, 0 }
    };

    *raw = NULL;

    if (ngx_http_dashboards_arg(r, "refresh", &v) != NGX_OK) {
        return NGX_HTTP_DASHBOARDS_REFRESH_CACHE;
    }

    if (ngx_strlen(v.data) != v.len) {
        /* a %00: no mode PostHog knows, and nothing PostgreSQL can hold */
        return NGX_HTTP_DASHBOARDS_REFRESH_CACHE;
    }

    /* decoded values are NUL-terminated */
    *raw = (const char *) v.data;

    for (i = 0; modes[i].name; i++) {
        if (v.len == ngx_strlen(modes[i].name)
            && (modes[i].nocase
                ? ngx_strncasecmp(v.data, (u_char *) modes[i].name, v.len)
                : ngx_strncmp(v.data, modes[i].name, v.len)) == 0)
        {
            return modes[i].mode;
        }
    }

    return NGX_HTTP_DASHBOARDS_REFRESH_CACHE;
}


/*
 * the answer's statement stmt takes ctx->query.values[0..5] (user,
 * project, organizations, dashboard, filters_override, variables_override),
 * [6] (the raw refresh value when refresh_value is set, else the caller's),
 * [7], the outcomes of the computations of this request, and, when nvalues
 * is 9 (retrieve), [8], tile_filters_override; the plan takes [0..5], the
 * raw refresh value and tile_filters_override (NULL without [8])
 */

ngx_int_t
ngx_http_dashboards_insights(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, ngx_uint_t stmt, ngx_uint_t nvalues,
    ngx_uint_t refresh_value)
{
    ngx_uint_t                      mode, i;
    const char                     *raw;
    ngx_http_dashboards_query_t    *q;
    ngx_http_dashboards_refresh_t  *rf;

    mode = ngx_http_dashboards_refresh_mode(r, &raw);

    if (refresh_value) {
        ctx->query.values[6] = raw;
    }

    ctx->query.values[7] = NULL;                 /* no outcomes */

    if (mode == NGX_HTTP_DASHBOARDS_REFRESH_CACHE) {
        return ngx_http_dashboards_run(r, ctx, stmt, nvalues,
                                       ngx_http_dashboards_json_done);
    }

    rf = ngx_pcalloc(r->pool, sizeof(ngx_http_dashboards_refresh_t));
    if (rf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_array_init(&rf->outcomes, r->pool, 4,
                       sizeof(ngx_http_dashboards_outcome_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rf->request = r;
    rf->stmt = stmt;
    rf->nvalues = nvalues;
    rf->async = (mode == NGX_HTTP_DASHBOARDS_REFRESH_ASYNC);

    q = ngx_http_dashboards_query_create(r, NGX_HTTP_DASHBOARDS_SQL_PLAN,
                                         ngx_http_dashboards_plan_done, rf);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < 6; i++) {
        q->values[i] = ctx->query.values[i];
    }

    q->values[6] = raw;
    q->values[7] = (nvalues > 8) ? ctx->query.values[8] : NULL;

    ngx_http_dashboards_query_start(r, q);

    return NGX_DONE;
}


/*
 * an action answered with a dashboard's detail (create, the dashboards made
 * from templates, copy_tile, move_tile, reorder_tiles): its answer follows
 * ?refresh= and the overrides (ngx_http_dashboards_written); a broken
 * override is answered after the body's own validation, before anything
 * is written
 */

ngx_int_t
ngx_http_dashboards_written_action(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, const ngx_http_dashboards_field_t *fields,
    ngx_uint_t stmt, ngx_uint_t status)
{
    ngx_int_t  rc;

    ctx->written_refresh = 1;

    rc = ngx_http_dashboards_overrides(r, ctx, 1, &ctx->verr);

    if (rc == NGX_DECLINED) {
        ctx->query_invalid = 1;

    } else if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_dashboards_action(r, ctx, fields, stmt, status);
}


/*
 * the answer of a write that PostHog answers with a dashboard's detail
 * (PATCH and PUT, and the actions of ngx_http_dashboards_written_action
 * above): DashboardSerializer serializes it with the request, its
 * ?refresh= and its overrides.  force_cache (the default) without
 * overrides answers the write's own statement, which reads the cache; with
 * either, the answer is, once the write has committed, what a retrieve of
 * the dashboard (of the URL, or the one created) answers with them
 */

void
ngx_http_dashboards_written(ngx_http_request_t *r, PGresult *res)
{
    const char                 *raw;
    ngx_http_dashboards_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);

    if (ngx_http_dashboards_refresh_mode(r, &raw)
        == NGX_HTTP_DASHBOARDS_REFRESH_CACHE
        && ctx->overrides[0] == NULL && ctx->overrides[1] == NULL
        && ctx->overrides[2] == NULL)
    {
        ngx_http_dashboards_json_done(r, res);
        return;
    }

    if (ctx->object_id < 0
        && ngx_http_dashboards_written_id(r, res, ctx) != NGX_OK)
    {
        ngx_http_dashboards_json_done(r, res);
        return;
    }

    ngx_http_dashboards_detail_values(ctx);

    ngx_http_dashboards_finish(r,
        ngx_http_dashboards_insights(r, ctx, NGX_HTTP_DASHBOARDS_SQL_RETRIEVE,
                                     9, 1));
}


/*
 * the id of a dashboard just created: the first key of its detail
 * (json_build_object's "id" : N, sql/migrations/003_dashboard_json.sql)
 */

static ngx_int_t
ngx_http_dashboards_written_id(ngx_http_request_t *r, PGresult *res,
    ngx_http_dashboards_ctx_t *ctx)
{
    u_char  *p, *digits;
    size_t   n;

    if (PQntuples(res) != 1 || PQnfields(res) != 1
        || PQgetisnull(res, 0, 0))
    {
        return NGX_DECLINED;
    }

    p = (u_char *) PQgetvalue(res, 0, 0);

    if (*p++ != '{') {
        goto unknown;
    }

    while (*p == ' ') {
        p++;
    }

    if (ngx_strncmp(p, "\"id\"", 4) != 0) {
        goto unknown;
    }

    p += 4;

    while (*p == ' ') {
        p++;
    }

    if (*p++ != ':') {
        goto unknown;
    }

    while (*p == ' ') {
        p++;
    }

    digits = p;

    while (*p >= '0' && *p <= '9') {
        p++;
    }

    n = (size_t) (p - digits);

    if (n == 0 || n > NGX_INT_T_LEN) {
        goto unknown;
    }

    *ngx_cpymem(ctx->object_arg, digits, n) = '\0';

    return NGX_OK;

unknown:

    ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                  "dashboards: a created dashboard's detail does not begin "
                  "with its id");

    return NGX_DECLINED;
}


static void
ngx_http_dashboards_plan_done(ngx_http_dashboards_query_t *q)
{
    ngx_int_t                        row, n;
    ngx_str_t                        key;
    const char                      *side;
    ngx_http_request_t              *r;
    ngx_http_dashboards_tile_t      *tile;
    ngx_http_dashboards_query_t     *cq;
    ngx_http_dashboards_refresh_t   *rf;
    ngx_http_dashboards_loc_conf_t  *dlcf;

    rf = q->arg;
    r = rf->request;

    if (ngx_http_dashboards_refresh_going(rf, q) != NGX_OK) {
        return;
    }

    if (PQnfields(q->res) != 3) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "dashboards: the plan has %d columns, not 3",
                      PQnfields(q->res));
        ngx_http_dashboards_refresh_end(rf,
                                        ngx_http_dashboards_server_error(r));
        return;
    }

    rf->plan = q->res;
    n = PQntuples(q->res);

    /*
     * more than one computation at a time: each without PostgreSQL's
     * parallel workers (ngx_dashboards_insight_compute)
     */

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);
    side = (n > 1 && dlcf->queries > 1) ? "t" : "f";

    /* one more than the computations: the answer waits for this loop */
    rf->pending = 1;

    for (row = 0; row < n && !rf->answered; row++) {

        key.data = (u_char *) PQgetvalue(q->res, row, 0);
        key.len = PQgetlength(q->res, row, 0);

        if (rf->async) {
            if (ngx_http_dashboards_detach(r, q->res, row) != NGX_OK
                || ngx_http_dashboards_outcome(rf, &key, NULL) != NGX_OK)
            {
                goto failed;
            }

            continue;
        }

        tile = ngx_palloc(r->pool, sizeof(ngx_http_dashboards_tile_t));
        if (tile == NULL) {
            goto failed;
        }

        tile->refresh = rf;
        tile->row = row;
        tile->key = key;

        cq = ngx_http_dashboards_query_create(r,
                                             NGX_HTTP_DASHBOARDS_SQL_COMPUTE,
                                             ngx_http_dashboards_compute_done,
                                             tile);
        if (cq == NULL) {
            goto failed;
        }

        /* team, query, cache key: they live in the plan's result */

        cq->values[0] = PQgetvalue(q->res, row, 1);
        cq->values[1] = PQgetvalue(q->res, row, 2);
        cq->values[2] = PQgetvalue(q->res, row, 0);
        cq->values[3] = side;

        rf->pending++;

        /*
         * the request's share of the pool takes them in tile order, the
         * rest wait in the request's queue
         */

        ngx_http_dashboards_query_start(r, cq);
    }

    if (rf->answered) {
        return;
    }

    if (--rf->pending == 0) {
        ngx_http_dashboards_refresh_answer(rf);
    }

    return;

failed:

    ngx_http_dashboards_refresh_end(rf, ngx_http_dashboards_server_error(r));
}


/* a result computed for the request: stored, or its tile's error */

static void
ngx_http_dashboards_compute_done(ngx_http_dashboards_query_t *q)
{
    ngx_str_t                       error;
    ngx_http_request_t             *r;
    ngx_http_dashboards_tile_t     *tile;
    ngx_http_dashboards_query_t    *sq;
    ngx_http_dashboards_refresh_t  *rf;

    tile = q->arg;
    rf = tile->refresh;
    r = rf->request;

    if (ngx_http_dashboards_refresh_going(rf, q) != NGX_OK) {
        return;
    }

    if (PQntuples(q->res) == 1 && PQnfields(q->res) == 2
        && !PQgetisnull(q->res, 0, 1))
    {
        /* refused by the engine: an error of this tile, never cached */

        error.data = (u_char *) PQgetvalue(q->res, 0, 1);
        error.len = PQgetlength(q->res, 0, 1);

        if (ngx_http_dashboards_outcome(rf, &tile->key, &error) != NGX_OK) {
            ngx_http_dashboards_refresh_end(rf,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        if (--rf->pending == 0) {
            ngx_http_dashboards_refresh_answer(rf);
        }

        return;
    }

    if (PQntuples(q->res) != 1 || PQgetisnull(q->res, 0, 0)) {
        ngx_http_dashboards_refresh_end(rf,
                                        ngx_http_dashboards_server_error(r));
        return;
    }

    sq = ngx_http_dashboards_query_create(r, NGX_HTTP_DASHBOARDS_SQL_STORE,
                                          ngx_http_dashboards_store_done,
                                          tile);
    if (sq == NULL) {
        ngx_http_dashboards_refresh_end(rf,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    sq->values[0] = PQgetvalue(rf->plan, tile->row, 1);
    sq->values[1] = PQgetvalue(rf->plan, tile->row, 0);
    sq->values[2] = PQgetvalue(q->res, 0, 0);

    ngx_http_dashboards_query_start(r, sq);
}


static void
ngx_http_dashboards_store_done(ngx_http_dashboards_query_t *q)
{
    ngx_http_dashboards_tile_t     *tile;
    ngx_http_dashboards_refresh_t  *rf;

    tile = q->arg;
    rf = tile->refresh;

    if (ngx_http_dashboards_refresh_going(rf, q) != NGX_OK) {
        return;
    }

    /* computed by this request: is_cached false, as in PostHog */

    if (ngx_http_dashboards_outcome(rf, &tile->key, NULL) != NGX_OK) {
        ngx_http_dashboards_refresh_end(rf,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (--rf->pending == 0) {
        ngx_http_dashboards_refresh_answer(rf);
    }
}


/* error NULL: computing in the background */

static ngx_int_t
ngx_http_dashboards_outcome(ngx_http_dashboards_refresh_t *rf,
    ngx_str_t *key, ngx_str_t *error)
{
    ngx_http_dashboards_outcome_t  *o;

    o = ngx_array_push(&rf->outcomes);
    if (o == NULL) {
        return NGX_ERROR;
    }

    o->cache_key = *key;

    if (error) {
        o->error = *error;

    } else {
        ngx_str_null(&o->error);
    }

    return NGX_OK;
}


/*
 * every computation is done: the answer's statement, with the outcomes as
 * {"<cache key>": {"error": "<message>"} | {"started": true}
 * | {"computed": true}, ...}
 */

static void
ngx_http_dashboards_refresh_answer(ngx_http_dashboards_refresh_t *rf)
{
    u_char                         *p;
    size_t                          len;
    ngx_int_t                       rc;
    ngx_str_t                       error;
    ngx_uint_t                      i;
    ngx_http_request_t             *r;
    ngx_http_dashboards_ctx_t      *ctx;
    ngx_http_dashboards_outcome_t  *o;

    r = rf->request;
    ctx = ngx_http_get_module_ctx(r, ngx_http_dashboards_module);
    o = rf->outcomes.elts;

    rf->answered = 1;

    if (rf->outcomes.nelts) {
        len = sizeof("{}");

        for (i = 0; i < rf->outcomes.nelts; i++) {

            /* the engine's messages may quote what the query holds */

            if (o[i].error.len) {
                if (ngx_http_dashboards_utf8_clean(r->pool, o[i].error.data,
                                                   o[i].error.len, &error)
                    != NGX_OK)
                {
                    ngx_http_dashboards_finish(r,
                                            NGX_HTTP_INTERNAL_SERVER_ERROR);
                    return;
                }

                o[i].error = error;
            }

            error = o[i].error;

            len += sizeof("\"\":{\"computed\":true},") + o[i].cache_key.len
                   + sizeof("{\"error\":\"\"}") + error.len
                   + ngx_escape_json(NULL, error.data, error.len);
        }

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            ngx_http_dashboards_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ctx->query.values[7] = (const char *) p;

        *p++ = '{';

        for (i = 0; i < rf->outcomes.nelts; i++) {
            if (i) {
                *p++ = ',';
            }

            *p++ = '"';
            p = (u_char *) ngx_escape_json(p, o[i].cache_key.data,
                                           o[i].cache_key.len);
            *p++ = '"';
            *p++ = ':';

            if (o[i].error.len == 0) {
                p = rf->async ? ngx_cpymem(p, "{\"started\":true}", 16)
                              : ngx_cpymem(p, "{\"computed\":true}", 17);
                continue;
            }

            p = ngx_cpymem(p, "{\"error\":\"", 10);
            p = (u_char *) ngx_escape_json(p, o[i].error.data,
                                           o[i].error.len);
            p = ngx_cpymem(p, "\"}", 2);
        }

        *p++ = '}';
        *p = '\0';
    }

    rc = ngx_http_dashboards_run(r, ctx, rf->stmt, rf->nvalues,
                                 ngx_http_dashboards_json_done);

    ngx_http_dashboards_finish(r, rc);
}


/*
 * a statement of the refresh is done: NGX_OK to go on with it; otherwise
 * the request was answered already, or is answered now with the outcome
 * (a 404 or 403 of the plan, a computation past its timeout: 504, the
 * database unavailable: 503)
 */

static ngx_int_t
ngx_http_dashboards_refresh_going(ngx_http_dashboards_refresh_t *rf,
    ngx_http_dashboards_query_t *q)
{
    if (rf->answered) {
        return NGX_DECLINED;
    }

    if (q->outcome != NGX_HTTP_DASHBOARDS_Q_OK) {
        ngx_http_dashboards_refresh_end(rf,
                        ngx_http_dashboards_send_outcome(rf->request, q));
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the request is answered: later outcomes of its statements are ignored */

static void
ngx_http_dashboards_refresh_end(ngx_http_dashboards_refresh_t *rf,
    ngx_int_t rc)
{
    rf->answered = 1;
    ngx_http_dashboards_finish(rf->request, rc);
}


/*
 * a computation for the async modes: the plan's row is copied into a pool
 * of its own, compute then store run with no request (their log lines go
 * to the cycle's log), and the pool is freed at the end
 */

static ngx_int_t
ngx_http_dashboards_detach(ngx_http_request_t *r, PGresult *plan,
    ngx_int_t row)
{
    size_t                            len;
    ngx_uint_t                        i;
    ngx_queue_t                      *link;
    ngx_pool_t                       *pool;
    ngx_http_dashboards_detached_t   *dt;
    ngx_http_dashboards_loc_conf_t   *dlcf;
    u_char                           *values[3];

    if (ngx_http_dashboards_running.next == NULL) {
        ngx_queue_init(&ngx_http_dashboards_running);
    }

    len = PQgetlength(plan, row, 0);

    /* this worker computes it already */

    for (link = ngx_queue_head(&ngx_http_dashboards_running);
         link != ngx_queue_sentinel(&ngx_http_dashboards_running);
         link = ngx_queue_next(link))
    {
        dt = ngx_queue_data(link, ngx_http_dashboards_detached_t, running);

        if (dt->cache_key.len == len
            && ngx_strncmp(dt->cache_key.data, PQgetvalue(plan, row, 0), len)
               == 0)
        {
            return NGX_OK;
        }
    }

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dashboards_module);

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    dt = ngx_pcalloc(pool, sizeof(ngx_http_dashboards_detached_t));
    if (dt == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    dt->pool = pool;
    dt->main = ngx_http_dashboards_stmt_db(dlcf, NGX_HTTP_DASHBOARDS_SQL_STORE);

    /* cache key, team, query */

    for (i = 0; i < 3; i++) {
        len = PQgetlength(plan, row, i);

        values[i] = ngx_pnalloc(pool, len + 1);
        if (values[i] == NULL) {
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }

        ngx_memcpy(values[i], PQgetvalue(plan, row, i), len + 1);
    }

    dt->cache_key.data = values[0];
    dt->cache_key.len = PQgetlength(plan, row, 0);

    dt->query.db = ngx_http_dashboards_stmt_db(dlcf,
                                               NGX_HTTP_DASHBOARDS_SQL_COMPUTE);
    dt->query.stmt = NGX_HTTP_DASHBOARDS_SQL_COMPUTE;
    dt->query.values[0] = (const char *) values[1];
    dt->query.values[1] = (const char *) values[2];
    dt->query.values[2] = (const char *) values[0];

    /* the others of the plan start at the same time */
    dt->query.values[3] = PQntuples(plan) > 1 ? "t" : "f";
    dt->query.handler = ngx_http_dashboards_detached_computed;
    dt->query.data = dt;

    ngx_queue_insert_tail(&ngx_http_dashboards_running, &dt->running);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "dashboards: computing %V in the background",
                   &dt->cache_key);

    ngx_http_dashboards_pool_query(&dt->query);

    return NGX_OK;
}


static void
ngx_http_dashboards_detached_computed(ngx_http_dashboards_query_t *q)
{
    char                            *why;
    const char                      *response;
    PGresult                        *res;
    ngx_http_dashboards_detached_t  *dt;

    dt = q->data;
    res = q->res;

    /*
     * a failure is stored too, as {"error": "<message>"} or, with no
     * message to show, {"error": true}: never cached, it is the query
     * status later async reads of the key show (PostHog's
     * execute_process_query stores an error status in Redis); nothing is
     * stored when the pool was too busy or the database is unavailable
     */

    response = "{\"error\":true}";

    if (q->outcome != NGX_HTTP_DASHBOARDS_Q_OK) {
        why = res ? PQresultErrorMessage(res)
                  : "the database did not answer in time, or is unavailable";

        if (q->outcome != NGX_HTTP_DASHBOARDS_Q_SQL_ERROR
            && q->outcome != NGX_HTTP_DASHBOARDS_Q_TIMEOUT)
        {
            response = NULL;
        }

    } else if (PQntuples(res) != 1 || PQnfields(res) != 2
               || PQgetisnull(res, 0, 0))
    {
        why = "no result";

    } else if (!PQgetisnull(res, 0, 1)) {
        why = PQgetvalue(res, 0, 1);        /* refused by the engine */
        response = PQgetvalue(res, 0, 0);

    } else {
        why = NULL;
        response = PQgetvalue(res, 0, 0);
    }

    if (why) {
        /* not cached: a later request computes it again */

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "dashboards: background computation of %V failed: %s",
                      &dt->cache_key, why);
    }

    if (response == NULL) {
        if (res) {
            PQclear(res);
        }

        ngx_http_dashboards_detached_end(dt);
        return;
    }

    /* the stored response lives in this result until the store is done */

    q->res = NULL;

    ngx_memzero(&dt->query.wait_timer, sizeof(ngx_event_t));

    dt->query.db = dt->main;
    dt->query.stmt = NGX_HTTP_DASHBOARDS_SQL_STORE;
    /* values[0], the team, stays */
    dt->query.values[1] = (const char *) dt->cache_key.data;
    dt->query.values[2] = response;
    dt->query.handler = ngx_http_dashboards_detached_stored;
    dt->query.arg = res;
    dt->query.retries = 0;

    ngx_http_dashboards_pool_query(&dt->query);
}


static void
ngx_http_dashboards_detached_stored(ngx_http_dashboards_query_t *q)
{
    ngx_http_dashboards_detached_t  *dt;

    dt = q->data;

    if (q->outcome != NGX_HTTP_DASHBOARDS_Q_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "dashboards: storing the background result of %V "
                      "failed", &dt->cache_key);
    }

    if (q->res) {
        PQclear(q->res);
    }

    if (q->arg) {
        PQclear(q->arg);
    }

    ngx_http_dashboards_detached_end(dt);
}


static void
ngx_http_dashboards_detached_end(ngx_http_dashboards_detached_t *dt)
{
    ngx_queue_remove(&dt->running);
    ngx_destroy_pool(dt->pool);
}
