-- bench/pgbench/trends-hand-dau.sql: the fastest statement written by hand
-- for what bench/pgbench/trends-engine-dau.sql computes: the daily count of
-- distinct persons that sent a $pageview over the last 30 days and today
-- (team 1, timezone UTC); a distinct id without a posthog_persondistinctid
-- row is a person of its own.  The (day, distinct id) pairs are made
-- distinct before the persons are looked up.
SELECT json_agg(coalesce(x.c, 0) ORDER BY d.d)
  FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - interval '30 days',
                       date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') d(d)
  LEFT JOIN (SELECT u.b, count(DISTINCT pdi.person_id)
                         + count(DISTINCT u.distinct_id) FILTER (WHERE pdi.person_id IS NULL) AS c
               FROM (SELECT DISTINCT date_trunc('day', e."timestamp" AT TIME ZONE 'UTC') AS b, e.distinct_id
                       FROM posthog_event e
                      WHERE e.team_id = 1 AND e.event = '$pageview'
                        AND e."timestamp" >= (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '30 days') AT TIME ZONE 'UTC'
                        AND e."timestamp" < (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC') u
               LEFT JOIN posthog_persondistinctid pdi
                      ON pdi.team_id = 1 AND pdi.distinct_id = u.distinct_id
              GROUP BY u.b) x ON x.b = d.d;
