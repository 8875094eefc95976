-- 019_result_cache_lz4.sql: the cached results compressed with lz4.
--
-- A tile served from the cache reads its results (015_result_cache_results.sql)
-- on every retrieve, and most of them (1.5 to 11 kB of JSON text) are
-- stored compressed.  With PostgreSQL's default method, pglz, their
-- decompression was about 4 % of the instructions of a retrieve of ten
-- insight tiles; lz4 decompresses the same texts in a third of the
-- instructions (bench/RESULTS.md, "Fewer copies").  A PostgreSQL built
-- without lz4 keeps pglz: the error of SET COMPRESSION is caught, and
-- nothing else changes.
--
-- The entries already cached keep the method they were written with until
-- they are written again: those still served (not expired) are rewritten
-- here (a json value that goes through text comes back uncompressed, and
-- is compressed again with the column's method; the text is the same).
-- The expired ones are left to ngx_dashboards_cache_sweep.
--
-- Applied once (sql/migrate).
DO $$
BEGIN
    ALTER TABLE ngx_dashboards_result_cache ALTER COLUMN results SET COMPRESSION lz4;
    UPDATE ngx_dashboards_result_cache
       SET results = results::text::json
     WHERE pg_column_compression(results) = 'pglz' AND expires_at > now();
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'ngx_dashboards: this PostgreSQL has no lz4, the cached results stay compressed with pglz';
END $$;
