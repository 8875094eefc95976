-- 015_result_cache_results.sql: the results of a cached response in a json
-- column of their own.
--
-- A cached response is a jsonb object holding the JSON text of each value
-- (012_insight_results.sql says why).  A tile reads its fields on every
-- retrieve, and each text is cast to json, which parses it again (json_in):
-- for the results, the bulk of a response, that was about a tenth of the
-- instructions of a ten-insight dashboard served from the cache
-- (bench/RESULTS.md, "Trends engine (issue 7)").  A json column is read as
-- it is stored, and keeps the text as it came (the keys of the result rows
-- in PostHog's order).  The other values stay in the jsonb object: they
-- are short.
--
-- Beside them, the series of the query they were computed for
-- (ngx_dashboards_cached): the queries of one cache key differ only in
-- their series' custom_name, so while the series shown are those, the
-- results need no new names (NULL for the entries cached before: read).
--
-- Applied once (sql/migrate); the entries already cached are converted.
ALTER TABLE ngx_dashboards_result_cache ADD COLUMN IF NOT EXISTS results json;
ALTER TABLE ngx_dashboards_result_cache ADD COLUMN IF NOT EXISTS series jsonb;
UPDATE ngx_dashboards_result_cache
   SET results = (result ->> 'results')::json, result = result - 'results'
 WHERE result ? 'results';
