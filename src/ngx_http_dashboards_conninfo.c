
/*
 * Copyright (C) ngx_dashboards authors
 *
 * A server line's conninfo made ready for libpq when the configuration is
 * read: parsed once (an invalid one is a configuration error), the pool's
 * timeouts put in "options", and host names resolved, so that connecting
 * never waits on DNS in a worker.
 */


#include "ngx_http_dashboards_module.h"


#define NGX_HTTP_DASHBOARDS_HOST      0
#define NGX_HTTP_DASHBOARDS_HOSTADDR  1
#define NGX_HTTP_DASHBOARDS_PORT      2


/* one host to try: a name and one of its addresses, or a socket directory */
typedef struct {
    ngx_str_t                     host;
    ngx_str_t                     addr;         /* empty: libpq reads host */
    ngx_str_t                     port;         /* empty: the one port */
} ngx_http_dashboards_target_t;


static char *ngx_http_dashboards_conninfo_hosts(ngx_conf_t *cf,
    ngx_str_t *conninfo, PQconninfoOption *opts, const char **rep);
static char *ngx_http_dashboards_conninfo_host(ngx_conf_t *cf,
    ngx_str_t *conninfo, ngx_str_t *host, ngx_str_t *port,
    ngx_array_t *targets, ngx_uint_t *named);
static const char *ngx_http_dashboards_conninfo_join(ngx_pool_t *pool,
    ngx_array_t *targets, size_t offset);
static const char *ngx_http_dashboards_conninfo_val(PQconninfoOption *o,
    const char **rep);
static ngx_uint_t ngx_http_dashboards_list_next(const char **list,
    ngx_str_t *item);
static const char *ngx_http_dashboards_strdup(ngx_pool_t *pool,
    const char *src);


/*
 * the conninfo string, parsed once (an invalid one is a configuration
 * error), with its host names resolved (below); with statement_timeout on,
 * PostgreSQL itself cancels a statement at query_timeout, so a timed-out
 * request leaves nothing running; with lock_timeout, a statement waiting
 * for a row lock held elsewhere gives up (55P03), so one hot row cannot
 * hold every pooled connection: our options go first in "options", so an
 * operator's own setting wins
 */

char *
ngx_http_dashboards_conninfo(ngx_conf_t *cf, ngx_http_dashboards_server_t *s)
{
    char                      *err, *rv;
    u_char                    *p;
    size_t                     len;
    ngx_uint_t                 n, i;
    const char                *options, *val, *rep[3];
    PQconninfoOption          *opts, *o;
    ngx_http_dashboards_db_t  *db;

    db = s->db;
    err = NULL;

    opts = PQconninfoParse((const char *) s->conninfo.data, &err);

    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid conninfo \"%V\": %s", &s->conninfo,
                           err ? err : "out of memory");
        if (err) {
            PQfreemem(err);
        }

        return NGX_CONF_ERROR;
    }

    rv = ngx_http_dashboards_conninfo_hosts(cf, &s->conninfo, opts, rep);
    if (rv != NGX_CONF_OK) {
        PQconninfoFree(opts);
        return rv;
    }

    n = 0;
    options = NULL;

    for (o = opts; o->keyword; o++) {
        val = ngx_http_dashboards_conninfo_val(o, rep);

        if (val == NULL || val[0] == '\0') {
            continue;
        }

        if (ngx_strcmp(o->keyword, "options") == 0) {
            options = val;
            continue;
        }

        n++;
    }

    s->keywords = ngx_pcalloc(cf->pool, (n + 2) * sizeof(char *));
    s->values = ngx_pcalloc(cf->pool, (n + 2) * sizeof(char *));

    if (s->keywords == NULL || s->values == NULL) {
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    i = 0;

    for (o = opts; o->keyword; o++) {
        val = ngx_http_dashboards_conninfo_val(o, rep);

        if (val == NULL || val[0] == '\0'
            || ngx_strcmp(o->keyword, "options") == 0)
        {
            continue;
        }

        s->keywords[i] = ngx_http_dashboards_strdup(cf->pool, o->keyword);
        s->values[i] = ngx_http_dashboards_strdup(cf->pool, val);

        if (s->keywords[i] == NULL || s->values[i] == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        i++;
    }

    if (db->statement_timeout || db->lock_timeout || options) {
        len = sizeof("-c statement_timeout=ms ") + NGX_INT_T_LEN
              + sizeof("-c lock_timeout=ms ") + NGX_INT_T_LEN
              + (options ? ngx_strlen(options) : 0);

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            PQconninfoFree(opts);
            return NGX_CONF_ERROR;
        }

        s->keywords[i] = "options";
        s->values[i] = (const char *) p;

        if (db->statement_timeout) {
            p = ngx_sprintf(p, "-c statement_timeout=%Mms ",
                            db->query_timeout);
        }

        if (db->lock_timeout) {
            p = ngx_sprintf(p, "-c lock_timeout=%Mms ", db->lock_timeout);
        }

        if (options) {
            p = ngx_cpymem(p, options, ngx_strlen(options));
        }

        *p = '\0';
        i++;
    }

    s->keywords[i] = NULL;
    s->values[i] = NULL;

    PQconninfoFree(opts);

    return NGX_CONF_OK;
}


/*
 * host names resolved now, as nginx resolves an upstream's servers when it
 * reads the configuration: libpq would resolve them with a blocking
 * getaddrinfo() at every connection, and never resolves a hostaddr.  Each
 * name becomes one host entry per address, with the address in hostaddr
 * and the name kept in host (TLS verification, the server's messages);
 * socket directories and addresses stay as they are.  A new address takes
 * a reload, as for nginx's upstreams.  Nothing changes when the conninfo
 * has hostaddr, or no host name.  rep[]: the values that replace host,
 * hostaddr and port, NULL for none
 */

static char *
ngx_http_dashboards_conninfo_hosts(ngx_conf_t *cf, ngx_str_t *conninfo,
    PQconninfoOption *opts, const char **rep)
{
    char                          *rv;
    const char                    *hosts, *ports, *hostaddr, *h, *pt;
    ngx_str_t                      host, port;
    ngx_uint_t                     nhosts, nports, named;
    ngx_array_t                    targets;
    PQconninfoOption              *o;

    rep[NGX_HTTP_DASHBOARDS_HOST] = NULL;
    rep[NGX_HTTP_DASHBOARDS_HOSTADDR] = NULL;
    rep[NGX_HTTP_DASHBOARDS_PORT] = NULL;

    hosts = NULL;
    ports = NULL;
    hostaddr = NULL;

    for (o = opts; o->keyword; o++) {
        if (ngx_strcmp(o->keyword, "host") == 0) {
            hosts = o->val;

        } else if (ngx_strcmp(o->keyword, "port") == 0) {
            ports = o->val;

        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = o->val;
        }
    }

    if (hosts == NULL || hosts[0] == '\0'
        || (hostaddr && hostaddr[0] != '\0'))
    {
        return NGX_CONF_OK;
    }

    nhosts = 0;

    for (h = hosts; ngx_http_dashboards_list_next(&h, &host); /* void */) {
        nhosts++;
    }

    nports = 0;

    if (ports && ports[0] != '\0') {
        for (pt = ports; ngx_http_dashboards_list_next(&pt, &port); /* void */)
        {
            nports++;
        }
    }

    if (nports > 1 && nports != nhosts) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid conninfo \"%V\": could not match %ui "
                           "port numbers to %ui hosts", conninfo, nports,
                           nhosts);
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&targets, cf->temp_pool, nhosts,
                       sizeof(ngx_http_dashboards_target_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    named = 0;
    h = hosts;
    pt = ports;
    ngx_str_null(&port);

    while (ngx_http_dashboards_list_next(&h, &host)) {

        if (nports > 1) {
            (void) ngx_http_dashboards_list_next(&pt, &port);
        }

        rv = ngx_http_dashboards_conninfo_host(cf, conninfo, &host, &port,
                                               &targets, &named);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (named == 0) {
        return NGX_CONF_OK;
    }

    /* copied with the other values by ngx_http_dashboards_conninfo() */

    rep[NGX_HTTP_DASHBOARDS_HOST] = ngx_http_dashboards_conninfo_join(
               cf->temp_pool, &targets,
               offsetof(ngx_http_dashboards_target_t, host));
    rep[NGX_HTTP_DASHBOARDS_HOSTADDR] = ngx_http_dashboards_conninfo_join(
               cf->temp_pool, &targets,
               offsetof(ngx_http_dashboards_target_t, addr));

    if (nports > 1) {
        rep[NGX_HTTP_DASHBOARDS_PORT] = ngx_http_dashboards_conninfo_join(
               cf->temp_pool, &targets,
               offsetof(ngx_http_dashboards_target_t, port));
    }

    if (rep[NGX_HTTP_DASHBOARDS_HOST] == NULL
        || rep[NGX_HTTP_DASHBOARDS_HOSTADDR] == NULL
        || (nports > 1 && rep[NGX_HTTP_DASHBOARDS_PORT] == NULL))
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* one entry of host: its targets; *named counts the names resolved */

static char *
ngx_http_dashboards_conninfo_host(ngx_conf_t *cf, ngx_str_t *conninfo,
    ngx_str_t *host, ngx_str_t *port, ngx_array_t *targets,
    ngx_uint_t *named)
{
    u_char                        *p, *last;
    size_t                         len;
    ngx_url_t                      u;
    ngx_uint_t                     i;
    ngx_http_dashboards_target_t  *t;
    u_char                         text[NGX_SOCKADDR_STRLEN];
    u_char                         list[NGX_MAX_ERROR_STR];

    /* a socket directory (or an abstract socket), or libpq's default */

    if (host->len == 0 || host->data[0] == '/' || host->data[0] == '@') {
        t = ngx_array_push(targets);
        if (t == NULL) {
            return NGX_CONF_ERROR;
        }

        t->host = *host;
        ngx_str_null(&t->addr);
        t->port = *port;

        return NGX_CONF_OK;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.host = *host;
    u.port = 5432;          /* not used: only the addresses are */

    if (ngx_inet_resolve_host(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s of \"%V\" in conninfo \"%V\"",
                           u.err ? u.err : "host not found", host, conninfo);
        return NGX_CONF_ERROR;
    }

    p = list;
    last = list + sizeof(list);

    for (i = 0; i < u.naddrs; i++) {
        len = ngx_sock_ntop(u.addrs[i].sockaddr, u.addrs[i].socklen, text,
                            NGX_SOCKADDR_STRLEN, 0);

        t = ngx_array_push(targets);
        if (t == NULL) {
            return NGX_CONF_ERROR;
        }

        t->host = *host;
        t->addr.data = ngx_pnalloc(cf->temp_pool, len);
        if (t->addr.data == NULL) {
            return NGX_CONF_ERROR;
        }

        t->addr.len = len;
        ngx_memcpy(t->addr.data, text, len);
        t->port = *port;

        p = ngx_slprintf(p, last, "%s%*s", i ? ", " : "", len, text);
    }

    /* an address given as host: nothing was resolved */

    if (u.naddrs == 1 && (size_t) (p - list) == host->len
        && ngx_strncmp(list, host->data, host->len) == 0)
    {
        return NGX_CONF_OK;
    }

    (*named)++;

    ngx_conf_log_error(NGX_LOG_NOTICE, cf, 0,
                       "dashboards: host \"%V\" resolved to %*s; a change "
                       "of its addresses takes a reload", host,
                       (size_t) (p - list), list);

    return NGX_CONF_OK;
}


/*
 * one field of the targets (offset: host, addr or port) as libpq's
 * comma-separated list
 */

static const char *
ngx_http_dashboards_conninfo_join(ngx_pool_t *pool, ngx_array_t *targets,
    size_t offset)
{
    u_char                        *text, *p;
    size_t                         len;
    ngx_str_t                     *v;
    ngx_uint_t                     i;
    ngx_http_dashboards_target_t  *t;

    t = targets->elts;
    len = targets->nelts;

    for (i = 0; i < targets->nelts; i++) {
        v = (ngx_str_t *) ((u_char *) &t[i] + offset);
        len += v->len;
    }

    text = ngx_pnalloc(pool, len);
    if (text == NULL) {
        return NULL;
    }

    p = text;

    for (i = 0; i < targets->nelts; i++) {
        v = (ngx_str_t *) ((u_char *) &t[i] + offset);

        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, v->data, v->len);
    }

    *p = '\0';

    return (const char *) text;
}


/* an option's value, or the one that replaces it */

static const char *
ngx_http_dashboards_conninfo_val(PQconninfoOption *o, const char **rep)
{
    if (rep[NGX_HTTP_DASHBOARDS_HOST]
        && ngx_strcmp(o->keyword, "host") == 0)
    {
        return rep[NGX_HTTP_DASHBOARDS_HOST];
    }

    if (rep[NGX_HTTP_DASHBOARDS_HOSTADDR]
        && ngx_strcmp(o->keyword, "hostaddr") == 0)
    {
        return rep[NGX_HTTP_DASHBOARDS_HOSTADDR];
    }

    if (rep[NGX_HTTP_DASHBOARDS_PORT]
        && ngx_strcmp(o->keyword, "port") == 0)
    {
        return rep[NGX_HTTP_DASHBOARDS_PORT];
    }

    return o->val;
}


/*
 * the next item of a comma-separated list (libpq's host and port lists:
 * no quoting, empty items allowed): 1, or 0 at its end
 */

static ngx_uint_t
ngx_http_dashboards_list_next(const char **list, ngx_str_t *item)
{
    const char  *p, *start;

    p = *list;

    if (p == NULL) {
        return 0;
    }

    start = p;

    while (*p != '\0' && *p != ',') {
        p++;
    }

    item->data = (u_char *) start;
    item->len = (size_t) (p - start);

    *list = (*p == ',') ? p + 1 : NULL;

    return 1;
}


static const char *
ngx_http_dashboards_strdup(ngx_pool_t *pool, const char *src)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(src) + 1;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, src, len);

    return (const char *) p;
}
