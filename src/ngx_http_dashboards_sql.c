
/*
 * Copyright (C) ngx_dashboards authors
 *
 * Every statement the module sends.  Each is prepared once per pooled
 * connection under its name (unless prepared_statements is off) and always
 * run with bound parameters.  The functions are installed by sql/migrations
 * (see doc/CONTRACT.md); one call is one statement, so one transaction.
 * They are named with their schema, so that no search_path needs to be
 * sent (poolers such as pgbouncer may refuse startup options); each of
 * them sets the search_path of the functions it calls (099_version.sql).
 *
 * read_only: 1 for a statement that changes nothing a client could see
 * twice (at most last_used_at or last_accessed_at), which the pool sends
 * again on a new connection when a kept-alive one dies before answering; a
 * write (0) is sent again only if it never reached the server, as it may
 * have committed; NGX_HTTP_DASHBOARDS_REPLICA for one that writes nothing
 * at all, which may also go to a replica.  The last field is the server
 * set: the location's database, or its dashboards_events one.
 */


#include "ngx_http_dashboards_module.h"


ngx_http_dashboards_stmt_t  ngx_http_dashboards_stmts[] = {

    /* NGX_HTTP_DASHBOARDS_SQL_AUTH */
    { "ngxd_auth",
      "SELECT user_id, scopes, scoped_teams, scoped_orgs, current_team_id,"
      " key_id FROM ngx_dashboards.ngx_dashboards_auth($1::text)", 1, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_LIST */
    { "ngxd_list",
      "SELECT count, results FROM"
      " ngx_dashboards.ngx_dashboards_list($1::int, $2::int, $3::text,"
      " $4::jsonb)", 4, NGX_HTTP_DASHBOARDS_REPLICA,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_CREATE */
    { "ngxd_create",
      "SELECT ngx_dashboards.ngx_dashboards_create($1::int, $2::int, $3::text,"
      " $4::jsonb)", 4, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_RETRIEVE */
    { "ngxd_retrieve",
      "SELECT ngx_dashboards.ngx_dashboards_retrieve($1::int, $2::int,"
      " $3::text, $4::int, $5::jsonb, $6::jsonb, $7::text, $8::jsonb,"
      " $9::jsonb)", 9, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_UPDATE */
    { "ngxd_update",
      "SELECT ngx_dashboards.ngx_dashboards_update($1::int, $2::int, $3::text,"
      " $4::int, $5::jsonb, $6::bool)", 6, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_ACCESS */
    { "ngxd_access",
      "SELECT ngx_dashboards.ngx_dashboards_access($1::int, $2::int,"
      " $3::text)", 3, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_ME */
    { "ngxd_me",
      "SELECT ngx_dashboards.ngx_dashboards_me($1::int)", 1, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_KEY_CURRENT */
    { "ngxd_key_current",
      "SELECT ngx_dashboards.ngx_dashboards_key_current($1::text)", 1, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_PROJECT */
    { "ngxd_project",
      "SELECT ngx_dashboards.ngx_dashboards_project($1::int, $2::int,"
      " $3::text)", 3, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_CREATE_TEXT_TILE */
    { "ngxd_create_text_tile",
      "SELECT ngx_dashboards.ngx_dashboards_create_text_tile("
      "$1::int, $2::int, $3::text, $4::int, $5::jsonb)", 5, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_UPDATE_TEXT_TILE */
    { "ngxd_update_text_tile",
      "SELECT ngx_dashboards.ngx_dashboards_update_text_tile("
      "$1::int, $2::int, $3::text, $4::int, $5::jsonb)", 5, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_DELETE_TILE */
    { "ngxd_delete_tile",
      "SELECT ngx_dashboards.ngx_dashboards_delete_tile("
      "$1::int, $2::int, $3::text, $4::int, $5::jsonb)", 5, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_COPY_TILE */
    { "ngxd_copy_tile",
      "SELECT ngx_dashboards.ngx_dashboards_copy_tile("
      "$1::int, $2::int, $3::text, $4::int, $5::jsonb)", 5, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_MOVE_TILE */
    { "ngxd_move_tile",
      "SELECT ngx_dashboards.ngx_dashboards_move_tile("
      "$1::int, $2::int, $3::text, $4::int, $5::jsonb)", 5, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_REORDER_TILES */
    { "ngxd_reorder_tiles",
      "SELECT ngx_dashboards.ngx_dashboards_reorder_tiles("
      "$1::int, $2::int, $3::text, $4::int, $5::jsonb)", 5, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_BULK_UPDATE_TAGS */
    { "ngxd_bulk_update_tags",
      "SELECT ngx_dashboards.ngx_dashboards_bulk_update_tags("
      "$1::int, $2::int, $3::text, $4::jsonb)", 4, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_FROM_TEMPLATE_JSON */
    { "ngxd_from_template_json",
      "SELECT ngx_dashboards.ngx_dashboards_create_from_template_json("
      "$1::int, $2::int, $3::text, $4::jsonb)", 4, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_CREATE_UNLISTED */
    { "ngxd_create_unlisted",
      "SELECT ngx_dashboards.ngx_dashboards_create_unlisted_dashboard("
      "$1::int, $2::int, $3::text, $4::jsonb)", 4, 0,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_CHECK_EDIT */
    { "ngxd_check_edit",
      "SELECT ngx_dashboards.ngx_dashboards_check_edit($1::int, $2::int,"
      " $3::text, $4::int, $5::bool)", 5, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_PLAN: the results a refresh computes */
    { "ngxd_insight_plan",
      "SELECT cache_key, team_id, query FROM"
      " ngx_dashboards.ngx_dashboards_insight_plan($1::int, $2::int,"
      " $3::text, $4::int, $5::jsonb, $6::jsonb, $7::text, $8::jsonb)", 8, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_COMPUTE: reads events only */
    { "ngxd_insight_compute",
      "SELECT r, r->>'error' FROM"
      " ngx_dashboards.ngx_dashboards_insight_compute($1::int, $2::jsonb,"
      " $3::text, $4::bool) r", 4, NGX_HTTP_DASHBOARDS_REPLICA,
      NGX_HTTP_DASHBOARDS_EVENTS },

    /* NGX_HTTP_DASHBOARDS_SQL_STORE: an upsert, harmless twice */
    { "ngxd_insight_store",
      "SELECT ngx_dashboards.ngx_dashboards_insight_store($1::int, $2::text,"
      " $3::json)", 3, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    /* NGX_HTTP_DASHBOARDS_SQL_RUN_INSIGHTS */
    { "ngxd_run_insights",
      "SELECT ngx_dashboards.ngx_dashboards_run_insights($1::int, $2::int,"
      " $3::text, $4::int, $5::jsonb, $6::jsonb, $7::text, $8::jsonb)", 8, 1,
      NGX_HTTP_DASHBOARDS_MAIN },

    { NULL, NULL, 0, 0, 0 }
};
