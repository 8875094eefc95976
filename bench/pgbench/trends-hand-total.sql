-- bench/pgbench/trends-hand-total.sql: the fastest statement written by hand
-- for what bench/pgbench/trends-engine-total.sql computes: the daily count of
-- $pageview over the last 30 days and today (31 days, team 1, timezone UTC).
SELECT json_agg(coalesce(x.c, 0) ORDER BY d.d)
  FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - interval '30 days',
                       date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') d(d)
  LEFT JOIN (SELECT date_trunc('day', e."timestamp" AT TIME ZONE 'UTC') AS b, count(*) AS c
               FROM posthog_event e
              WHERE e.team_id = 1 AND e.event = '$pageview'
                AND e."timestamp" >= (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '30 days') AT TIME ZONE 'UTC'
                AND e."timestamp" < (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC'
              GROUP BY 1) x ON x.b = d.d;
