-- bench/pgbench/trends-hand-dau.sql: the fastest statement written by hand
-- for what bench/pgbench/trends-engine-dau.sql computes: the daily count of
-- distinct persons that sent a $pageview over the last 30 days and today
-- (team 1, timezone UTC); a distinct id without a posthog_persondistinctid
-- row is a person of its own.  The (day, distinct id) pairs are made
-- distinct before the persons are looked up, then the (day, person) pairs,
-- counted per day (hash aggregates: count(DISTINCT) would sort each day).
SELECT json_agg(coalesce(x.c, 0) ORDER BY d.d)
  FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - interval '30 days',
                       date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') d(d)
  LEFT JOIN (SELECT p.b, count(*) AS c
               FROM (SELECT DISTINCT u.b, pdi.person_id,
                            CASE WHEN pdi.person_id IS NULL THEN u.distinct_id END AS did
                       FROM (SELECT DISTINCT date_trunc('day', e."timestamp" AT TIME ZONE 'UTC') AS b, e.distinct_id
                               FROM posthog_event e
                              WHERE e.team_id = 1 AND e.event = '$pageview'
                                AND e."timestamp" >= (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '30 days') AT TIME ZONE 'UTC'
                                AND e."timestamp" < (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC') u
                       LEFT JOIN posthog_persondistinctid pdi
                              ON pdi.team_id = 1 AND pdi.distinct_id = u.distinct_id) p
              GROUP BY p.b) x ON x.b = d.d;
