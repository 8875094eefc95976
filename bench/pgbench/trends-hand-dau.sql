-- bench/pgbench/trends-hand-dau.sql: the fastest statement written by hand
-- for what bench/pgbench/trends-engine-dau.sql computes: the daily count of
-- distinct persons that sent a $pageview over the last 30 days and today
-- (team 1, timezone UTC); a distinct id without a posthog_persondistinctid
-- row is a person of its own.  Each distinct id's days become the bits of
-- one bigint (bit i: day i of the 31), OR-ed per person; the persons are
-- then counted per byte value of their masks (4 bytes, at most 1,024 rows)
-- and each day adds the counts of the byte values that have its bit.  (It
-- replaced distinct (day, distinct id), then (day, person) pairs, as fast
-- as the engine's statement before it took the same way.)
SELECT json_agg(coalesce(c.n, 0) ORDER BY d.i)
  FROM generate_series(0, 30) d(i)
  LEFT JOIN (SELECT d.i, sum(((y.v >> (d.i % 8)) & 1) * y.n) AS n
               FROM (SELECT k, (a.m >> (8 * k)) & 255 AS v, count(*) AS n
                       FROM (SELECT bit_or(x.m) AS m
                               FROM (SELECT e.distinct_id AS did,
                                            bit_or(1::int8 << ((e."timestamp" AT TIME ZONE 'UTC')::date
                                                               - (now() AT TIME ZONE 'UTC')::date + 30)) AS m
                                       FROM posthog_event e
                                      WHERE e.team_id = 1 AND e.event = '$pageview'
                                        AND e."timestamp" >= (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '30 days') AT TIME ZONE 'UTC'
                                        AND e."timestamp" < (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC'
                                      GROUP BY 1) x
                               LEFT JOIN posthog_persondistinctid pdi
                                      ON pdi.team_id = 1 AND pdi.distinct_id = x.did
                              GROUP BY pdi.person_id, CASE WHEN pdi.person_id IS NULL THEN x.did END) a
                      CROSS JOIN generate_series(0, 3) k
                      GROUP BY 1, 2) y
               JOIN generate_series(0, 30) d(i) ON y.k = d.i / 8
              GROUP BY d.i) c ON c.i = d.i;
