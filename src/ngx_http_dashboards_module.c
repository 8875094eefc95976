
/*
 * Copyright (C) ngx_dashboards authors
 *
 * The module object, its directives and configuration.
 */


#include "ngx_http_dashboards_module.h"


static void *ngx_http_dashboards_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_dashboards_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_dashboards_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_dashboards_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_http_dashboards_db_t *ngx_http_dashboards_find_db(ngx_conf_t *cf,
    ngx_str_t *name);
static char *ngx_http_dashboards_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_dashboards_database_line(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_dashboards_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_dashboards_events(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_dashboards_init_process(ngx_cycle_t *cycle);
static void ngx_http_dashboards_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_dashboards_commands[] = {

    { ngx_string("dashboards_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_dashboards_database,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dashboards_pass"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_dashboards_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dashboards_events"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_dashboards_events,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dashboards_queries_per_request"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_dashboards_loc_conf_t, queries),
      NULL },

    { ngx_string("dashboards_auth_cache_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_dashboards_loc_conf_t, auth_cache_ttl),
      NULL },

    { ngx_string("dashboards_session_only_actions"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_dashboards_loc_conf_t, session_only_actions),
      NULL },

    { ngx_string("dashboards_json_max_depth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_dashboards_loc_conf_t, max_depth),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_dashboards_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_dashboards_filter_init,       /* postconfiguration */

    ngx_http_dashboards_create_main_conf,  /* create main configuration */
    ngx_http_dashboards_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_dashboards_create_loc_conf,   /* create location configuration */
    ngx_http_dashboards_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_dashboards_module = {
    NGX_MODULE_V1,
    &ngx_http_dashboards_module_ctx,       /* module context */
    ngx_http_dashboards_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_dashboards_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_dashboards_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_dashboards_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_dashboards_main_conf_t  *dmcf;

    dmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_dashboards_main_conf_t));
    if (dmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&dmcf->dbs, cf->pool, 4,
                       sizeof(ngx_http_dashboards_db_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return dmcf;
}


static char *
ngx_http_dashboards_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_dashboards_main_conf_t *dmcf = conf;

    ngx_uint_t                 i;
    ngx_http_dashboards_db_t **dbs;

    if (NGX_HTTP_DASHBOARDS_SQL_COUNT > NGX_HTTP_DASHBOARDS_MAX_STMTS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "too many statements");
        return NGX_CONF_ERROR;
    }

    dbs = dmcf->dbs.elts;

    for (i = 0; i < dmcf->dbs.nelts; i++) {
        if (dbs[i]->primary == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no primary \"server\" in dashboards_database "
                          "\"%V\" used in %s:%ui",
                          &dbs[i]->name, dbs[i]->file, dbs[i]->line);
            return NGX_CONF_ERROR;
        }

        /*
         * once every location is read: a database that only
         * dashboards_events names runs insight computations, and with a
         * pool of about its server's cores the tiles of a dashboard wait
         * for one another's connections; a tile may then wait about as
         * long as a computation may take (README)
         */

        ngx_conf_init_msec_value(dbs[i]->queue_timeout,
                                 dbs[i]->by_events && !dbs[i]->by_pass
                                 ? dbs[i]->query_timeout : 5000);
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_dashboards_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_dashboards_loc_conf_t  *dlcf;

    dlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_dashboards_loc_conf_t));
    if (dlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     dlcf->db = NULL;
     *     dlcf->events = NULL;
     *     dlcf->server_errors = 0;
     */

    dlcf->queries = NGX_CONF_UNSET_UINT;
    dlcf->auth_cache_ttl = NGX_CONF_UNSET;
    dlcf->session_only_actions = NGX_CONF_UNSET;
    dlcf->max_depth = NGX_CONF_UNSET_UINT;

    return dlcf;
}


static char *
ngx_http_dashboards_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_dashboards_loc_conf_t *prev = parent;
    ngx_http_dashboards_loc_conf_t *conf = child;

    if (conf->db == NULL) {
        conf->db = prev->db;
    }

    if (conf->events == NULL) {
        conf->events = prev->events;
    }

    ngx_conf_merge_uint_value(conf->queries, prev->queries, 4);

    if (conf->queries == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"dashboards_queries_per_request\" must be "
                           "at least 1");
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_sec_value(conf->auth_cache_ttl, prev->auth_cache_ttl, 10);
    ngx_conf_merge_value(conf->session_only_actions,
                         prev->session_only_actions, 0);
    ngx_conf_merge_uint_value(conf->max_depth, prev->max_depth, 64);

    return NGX_CONF_OK;
}


static ngx_http_dashboards_db_t *
ngx_http_dashboards_find_db(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                        i;
    ngx_http_dashboards_db_t         *db, **dbp;
    ngx_http_dashboards_main_conf_t  *dmcf;

    dmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_dashboards_module);

    dbp = dmcf->dbs.elts;

    for (i = 0; i < dmcf->dbs.nelts; i++) {
        if (dbp[i]->name.len == name->len
            && ngx_strncmp(dbp[i]->name.data, name->data, name->len) == 0)
        {
            return dbp[i];
        }
    }

    db = ngx_pcalloc(cf->pool, sizeof(ngx_http_dashboards_db_t));
    if (db == NULL) {
        return NULL;
    }

    if (ngx_array_init(&db->servers, cf->pool, 2,
                       sizeof(ngx_http_dashboards_server_t))
        != NGX_OK)
    {
        return NULL;
    }

    db->name = *name;
    db->pool_size = NGX_CONF_UNSET_UINT;
    db->queue_size = NGX_CONF_UNSET_UINT;
    db->queue_timeout = NGX_CONF_UNSET_MSEC;
    db->connect_timeout = NGX_CONF_UNSET_MSEC;
    db->query_timeout = NGX_CONF_UNSET_MSEC;
    db->lock_timeout = NGX_CONF_UNSET_MSEC;
    db->keepalive_timeout = NGX_CONF_UNSET_MSEC;
    db->keepalive_time = NGX_CONF_UNSET_MSEC;
    db->keepalive_requests = NGX_CONF_UNSET_UINT;
    db->prepared = NGX_CONF_UNSET;
    db->statement_timeout = NGX_CONF_UNSET;
    db->file = cf->conf_file->file.name.data;
    db->line = cf->conf_file->line;

    dbp = ngx_array_push(&dmcf->dbs);
    if (dbp == NULL) {
        return NULL;
    }

    *dbp = db;

    return db;
}


static char *
ngx_http_dashboards_database(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                          *rv;
    ngx_str_t                     *value;
    ngx_uint_t                     i;
    ngx_conf_t                     save;
    ngx_http_dashboards_db_t      *db;
    ngx_http_dashboards_server_t  *s;

    value = cf->args->elts;

    db = ngx_http_dashboards_find_db(cf, &value[1]);
    if (db == NULL) {
        return NGX_CONF_ERROR;
    }

    if (db->servers.nelts) {
        return "is duplicate";
    }

    save = *cf;
    cf->handler = ngx_http_dashboards_database_line;
    cf->handler_conf = (char *) db;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    s = db->servers.elts;

    for (i = 0; i < db->servers.nelts; i++) {
        if (s[i].replica) {
            continue;
        }

        if (db->primary) {
            return "has more than one primary \"server\"";
        }

        db->primary = &s[i];
    }

    if (db->primary == NULL) {
        return "has no primary \"server\"";
    }

    ngx_conf_init_uint_value(db->pool_size, 8);
    ngx_conf_init_uint_value(db->queue_size, 256);
    ngx_conf_init_msec_value(db->connect_timeout, 5000);
    ngx_conf_init_msec_value(db->query_timeout, 30000);
    ngx_conf_init_msec_value(db->lock_timeout, 1000);

    /*
     * as nginx's upstream keepalive (keepalive_timeout 60s, keepalive_time
     * 1h), but more statements per connection than its 1000 requests: a
     * new connection costs a handshake, the version check and preparing
     * each statement again
     */
    ngx_conf_init_msec_value(db->keepalive_timeout, 60000);
    ngx_conf_init_msec_value(db->keepalive_time, 3600000);
    ngx_conf_init_uint_value(db->keepalive_requests, 10000);
    ngx_conf_init_value(db->prepared, 1);
    ngx_conf_init_value(db->statement_timeout, 1);

    if (db->pool_size == 0) {
        return "has \"pool_size 0\"";
    }

    for (i = 0; i < db->servers.nelts; i++) {
        rv = ngx_http_dashboards_conninfo(cf, &s[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_dashboards_database_line(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    ngx_int_t                      n;
    ngx_str_t                     *value, *name;
    ngx_flag_t                    *flag;
    ngx_msec_t                     ms, *msp;
    ngx_uint_t                     nargs;
    ngx_http_dashboards_db_t      *db;
    ngx_http_dashboards_server_t  *s;

    db = (ngx_http_dashboards_db_t *) cf->handler_conf;
    value = cf->args->elts;
    nargs = cf->args->nelts;
    name = &value[0];

    if (name->len == 6 && ngx_strncmp(name->data, "server", 6) == 0) {

        if (nargs != 2 && nargs != 3) {
            goto invalid_args;
        }

        s = ngx_array_push(&db->servers);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(s, sizeof(ngx_http_dashboards_server_t));

        /* values parsed from the configuration are NUL-terminated */
        s->conninfo = value[1];
        s->db = db;

        if (nargs == 3) {
            if (value[2].len == 7
                && ngx_strncmp(value[2].data, "replica", 7) == 0)
            {
                s->replica = 1;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\"", &value[2]);
                return NGX_CONF_ERROR;
            }
        }

        return NGX_CONF_OK;
    }

    if (nargs != 2) {
        goto invalid_args;
    }

    if (name->len == 9 && ngx_strncmp(name->data, "pool_size", 9) == 0) {
        n = ngx_atoi(value[1].data, value[1].len);
        if (n == NGX_ERROR || n == 0) {
            goto invalid_value;
        }
        db->pool_size = n;
        return NGX_CONF_OK;
    }

    if (name->len == 18
        && ngx_strncmp(name->data, "keepalive_requests", 18) == 0)
    {
        n = ngx_atoi(value[1].data, value[1].len);
        if (n == NGX_ERROR || n == 0) {
            goto invalid_value;
        }
        db->keepalive_requests = n;
        return NGX_CONF_OK;
    }

    if (name->len == 10 && ngx_strncmp(name->data, "queue_size", 10) == 0) {
        n = ngx_atoi(value[1].data, value[1].len);
        if (n == NGX_ERROR) {
            goto invalid_value;
        }
        db->queue_size = n;
        return NGX_CONF_OK;
    }

    flag = NULL;

    if (name->len == 19
        && ngx_strncmp(name->data, "prepared_statements", 19) == 0)
    {
        flag = &db->prepared;

    } else if (name->len == 17
               && ngx_strncmp(name->data, "statement_timeout", 17) == 0)
    {
        flag = &db->statement_timeout;
    }

    if (flag) {
        if (value[1].len == 2 && ngx_strncmp(value[1].data, "on", 2) == 0) {
            *flag = 1;

        } else if (value[1].len == 3
                   && ngx_strncmp(value[1].data, "off", 3) == 0)
        {
            *flag = 0;

        } else {
            goto invalid_value;
        }

        return NGX_CONF_OK;
    }

    if (name->len == 13 && ngx_strncmp(name->data, "queue_timeout", 13) == 0)
    {
        msp = &db->queue_timeout;

    } else if (name->len == 15
               && ngx_strncmp(name->data, "connect_timeout", 15) == 0)
    {
        msp = &db->connect_timeout;

    } else if (name->len == 13
               && ngx_strncmp(name->data, "query_timeout", 13) == 0)
    {
        msp = &db->query_timeout;

    } else if (name->len == 17
               && ngx_strncmp(name->data, "keepalive_timeout", 17) == 0)
    {
        msp = &db->keepalive_timeout;

    } else if (name->len == 14
               && ngx_strncmp(name->data, "keepalive_time", 14) == 0)
    {
        msp = &db->keepalive_time;

    } else if (name->len == 12
               && ngx_strncmp(name->data, "lock_timeout", 12) == 0)
    {
        if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
            db->lock_timeout = 0;
            return NGX_CONF_OK;
        }

        msp = &db->lock_timeout;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown directive \"%V\" in dashboards_database",
                           name);
        return NGX_CONF_ERROR;
    }

    ms = ngx_parse_time(&value[1], 0);
    if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
        goto invalid_value;
    }

    *msp = ms;

    return NGX_CONF_OK;

invalid_args:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid number of arguments in \"%V\"", name);
    return NGX_CONF_ERROR;

invalid_value:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\"", &value[1], name);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_dashboards_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_dashboards_loc_conf_t *dlcf = conf;

    ngx_str_t                       *value;
    ngx_http_core_loc_conf_t        *clcf;
    ngx_http_core_srv_conf_t        *cscf;
    ngx_http_dashboards_loc_conf_t  *slcf;

    if (dlcf->db) {
        return "is duplicate";
    }

    value = cf->args->elts;

    dlcf->db = ngx_http_dashboards_find_db(cf, &value[1]);
    if (dlcf->db == NULL) {
        return NGX_CONF_ERROR;
    }

    dlcf->db->by_pass = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_dashboards_handler;

    /*
     * the server's own configuration (not merged into its locations): the
     * errors nginx answers before a location is chosen get JSON bodies
     */

    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    slcf = cscf->ctx->loc_conf[ngx_http_dashboards_module.ctx_index];
    slcf->server_errors = 1;

    return NGX_CONF_OK;
}


/*
 * dashboards_events <database>: the server set the statements that read
 * events (trends computations) go to, with its own timeouts and pool;
 * the location's dashboards_pass database when not given
 */

static char *
ngx_http_dashboards_events(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_dashboards_loc_conf_t *dlcf = conf;

    ngx_str_t  *value;

    if (dlcf->events) {
        return "is duplicate";
    }

    value = cf->args->elts;

    dlcf->events = ngx_http_dashboards_find_db(cf, &value[1]);
    if (dlcf->events == NULL) {
        return NGX_CONF_ERROR;
    }

    dlcf->events->by_events = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_dashboards_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                        i, j;
    ngx_http_dashboards_db_t        **dbs;
    ngx_http_dashboards_server_t     *s;
    ngx_http_dashboards_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_dashboards_module);
    if (dmcf == NULL) {
        return NGX_OK;
    }

    dbs = dmcf->dbs.elts;

    for (i = 0; i < dmcf->dbs.nelts; i++) {
        s = dbs[i]->servers.elts;

        for (j = 0; j < dbs[i]->servers.nelts; j++) {
            ngx_http_dashboards_pool_init(&s[j]);
        }
    }

    ngx_http_dashboards_auth_init(cycle);

    return NGX_OK;
}


static void
ngx_http_dashboards_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                        i, j;
    ngx_http_dashboards_db_t        **dbs;
    ngx_http_dashboards_server_t     *s;
    ngx_http_dashboards_main_conf_t  *dmcf;

    dmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_dashboards_module);
    if (dmcf == NULL) {
        return;
    }

    dbs = dmcf->dbs.elts;

    for (i = 0; i < dmcf->dbs.nelts; i++) {
        s = dbs[i]->servers.elts;

        for (j = 0; j < dbs[i]->servers.nelts; j++) {
            ngx_http_dashboards_pool_close_all(&s[j]);
        }
    }
}
