-- migrate:repeatable
-- 011_trends.sql: the TrendsQuery engine (PostHog's TrendsQueryRunner,
-- posthog/hogql_queries/insights/trends/) over the events in PostgreSQL.
--
-- Three stages, so that another events store (ClickHouse) can replace the
-- middle one without touching the others:
--   1. ngx_dashboards_trends_plan(team, query, now) -> jsonb: validation,
--      normalisation, date ranges and buckets in the team's timezone, the
--      compare period, breakdown settings, the `filter` dict.  Store-neutral
--      (only `date_from: "all"` asks the store for the earliest event).
--   2. ngx_dashboards_trends_aggregate(team, plan) -> jsonb: the PostgreSQL
--      store.  One dynamic statement per series (and compare period); every
--      value of the query reaches it as a bound parameter: the values sit in
--      one jsonb array ($1) and the statement reads them as ($1->>n), n being
--      a number this file generates.  Its result ("raw"):
--        [{"series": i, "previous": bool,
--          "rows": [{"breakdown_value": text|null, "data": [n, ..]}   -- time series
--                   {"breakdown_value": text|null, "total": n}]}]     -- total value
--      rows already ranked, limited and folded into the "other" marker as
--      PostHog's breakdown query does (trends/breakdown.py).
--   3. ngx_dashboards_trends_format(plan, raw) -> json: PostHog's result rows
--      (build_series_response), compare, cumulative, formulas.
-- ngx_dashboards_trends(team, query, now) chains the three.
--
-- Key order: everything returned to clients is `json` built with
-- ngx_dashboards_trends_obj (keys in the given order); `jsonb` is used only
-- inside (plan, raw), where order does not matter (the plan carries the
-- `filter` dict as json text).  Numbers: data of count
-- maths are integers, property maths and `count` are Python floats (8.0),
-- printed by ngx_dashboards_trends_num.

-- helpers ---------------------------------------------------------------------

-- 400 with PostHog's validation body (attr null)
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_invalid(p_detail text)
RETURNS void LANGUAGE sql AS $$
    SELECT ngx_dashboards_fail(400, 'validation_error', 'invalid_input', p_detail, NULL)
$$;

-- A json object whose keys come in the order given; a SQL NULL value leaves
-- its key out (JSON null is 'null'::json).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_obj(p_keys text[], p_vals json[])
RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('{' || coalesce(string_agg(to_json(k)::text || ':' || v::text, ',' ORDER BY i), '')
            || '}')::json
      FROM unnest(p_keys, p_vals) WITH ORDINALITY AS u(k, v, i)
     WHERE v IS NOT NULL
$$;

-- A json array of the values in their order (no array: []; a NULL: null),
-- written compactly like the objects above.  json_agg() writes ", " between
-- elements and a line break before each object; the module compacts every
-- answer (src/ngx_http_dashboards_compact.c), and texts that come compact
-- cost it least, the results most of all: they are most of a dashboard.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_arr(p_vals json[])
RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('[' || coalesce(array_to_string(p_vals::text[], ',', 'null'), '') || ']')::json
$$;

-- A number as PostHog (Python, orjson) prints it: an int, or a float with
-- Python's repr (30.0, 0.1, 1e+16); NaN and infinities print as null.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_num(p_value float8, p_float boolean)
RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE
        WHEN p_value IS NULL OR p_value = 'NaN'::float8
             OR p_value IN ('Infinity'::float8, '-Infinity'::float8) THEN 'null'
        WHEN NOT p_float THEN (p_value::numeric)::text
        WHEN p_value::text ~ '^-?[0-9]+$' THEN p_value::text || '.0'
        ELSE p_value::text END)::json
$$;

-- An event property value read as a number (ClickHouse toFloat: NULL when the
-- text is not a number, so aggregates ignore it).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_float(p_text text)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- (at most 200 characters and a two-digit exponent: always in float8's
    -- range, so no text can make the cast fail)
    SELECT CASE WHEN length(p_text) <= 200
                     AND p_text ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,2})?\s*$'
                THEN p_text::float8 END
$$;

-- A text read as a timestamp (date filters), NULL when it is not one.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_ts(p_text text)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_text IS NULL OR p_text !~ '^\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}' THEN
        RETURN NULL;
    END IF;
    RETURN p_text::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

-- A local (team timezone) wall-clock time as orjson prints an aware datetime
-- with OPT_UTC_Z: offset `Z` when zero, else ±HH:MM; microseconds only when
-- not zero.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_iso(p_local timestamp, p_tz text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(p_local, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN extract(microseconds FROM p_local)::bigint % 1000000 <> 0
                THEN to_char(p_local, '.US') ELSE '' END
        || CASE WHEN o = interval '0' THEN 'Z'
                ELSE CASE WHEN o < interval '0' THEN '-' ELSE '+' END
                     || to_char(abs(extract(epoch FROM o))::int / 3600, 'FM00') || ':'
                     || to_char(abs(extract(epoch FROM o))::int % 3600 / 60, 'FM00') END
      FROM (SELECT p_local - ((p_local AT TIME ZONE p_tz) AT TIME ZONE 'UTC') AS o) s
$$;

-- Start of the interval containing a local time (toStartOfInterval in the
-- team's timezone; weeks start on Sunday (0) or Monday (1), week_start_day).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_start(p_local timestamp, p_interval text,
                                                       p_week_start int)
RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_interval
        WHEN 'week' THEN date_trunc('day', p_local)
             - ((extract(dow FROM p_local)::int + 7 - p_week_start) % 7) * interval '1 day'
        ELSE date_trunc(p_interval, p_local) END
$$;

CREATE OR REPLACE FUNCTION ngx_dashboards_trends_step(p_interval text)
RETURNS interval LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('1 ' || p_interval)::interval
$$;

-- PostHog's relative_date_parse_with_delta_mapping (posthog/utils.py) on a
-- local "now": an ISO date or datetime (naive = team timezone, with an offset
-- converted to it), else the first `-?N<kind>[Start|End]` found (h hours,
-- d days, w weeks, m months, M minutes, s seconds, q quarters of 13 weeks,
-- y years), subtracted as a relativedelta.  `relative` is false for an ISO
-- value; `days` is the mapping's day count (compare periods read it).
-- With p_truncate the result is cut to the hour when the mapping has hours,
-- else to the day.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_relative(
    p_input text, p_tz text, p_now timestamp, p_truncate boolean,
    OUT ts timestamp, OUT relative boolean, OUT hours boolean, OUT days int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    m text[];
    n int;
    v_y int; v_mo int; v_d int; v_months int := 0;
    v_abs_month int; v_abs_day int;
    v_time interval;
    v_delta interval := interval '0';
BEGIN
    relative := false; hours := false; days := NULL;
    IF p_input ~ '^\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}' THEN
        BEGIN
            IF p_input ~ '[T ][0-9]{1,2}:[0-9]{2}.*(Z|[+-][0-9]{2}(:?[0-9]{2})?)\s*$' THEN
                ts := p_input::timestamptz AT TIME ZONE p_tz;
            ELSE
                ts := p_input::timestamp;
            END IF;
        EXCEPTION WHEN others THEN
            PERFORM ngx_dashboards_trends_invalid(format('Invalid date: %s', p_input));
        END;
        RETURN;
    END IF;
    relative := true;
    ts := p_now;
    m := regexp_match(p_input, '-?([0-9]+)?([hdwmqysMHDWQY])(Start|End)?');
    IF m IS NOT NULL THEN
        n := CASE WHEN m[1] IS NULL THEN NULL
                  WHEN length(m[1]) > 6 THEN 999999 ELSE m[1]::int END;
        v_y := extract(year FROM p_now); v_mo := extract(month FROM p_now);
        v_d := extract(day FROM p_now);
        v_time := p_now - date_trunc('day', p_now);
        CASE m[2]
        WHEN 'h' THEN
            IF n IS NOT NULL THEN v_delta := n * interval '1 hour'; hours := true; END IF;
            IF m[3] = 'Start' THEN v_time := date_trunc('hour', v_time);
            ELSIF m[3] = 'End' THEN v_time := date_trunc('hour', v_time) + interval '59:59.999999';
            END IF;
        WHEN 'd' THEN
            IF n IS NOT NULL THEN v_delta := n * interval '1 day'; days := n; END IF;
            IF m[3] = 'Start' THEN v_time := interval '0';
            ELSIF m[3] = 'End' THEN v_time := interval '23:59:59.999999';
            END IF;
        WHEN 'w' THEN
            IF n IS NOT NULL THEN v_delta := n * interval '7 days'; END IF;
        WHEN 'm' THEN
            v_months := coalesce(n, 0);
            IF m[3] = 'Start' THEN v_abs_day := 1;
            ELSIF m[3] = 'End' THEN v_abs_day := 31;
            END IF;
        WHEN 'M' THEN
            IF n IS NOT NULL THEN v_delta := n * interval '1 minute'; END IF;
        WHEN 's' THEN
            IF n IS NOT NULL THEN v_delta := n * interval '1 second'; END IF;
        WHEN 'q' THEN
            IF n IS NOT NULL THEN v_delta := n * interval '91 days'; END IF;
        WHEN 'y' THEN
            v_months := 12 * coalesce(n, 0);
            IF m[3] = 'Start' THEN v_abs_month := 1; v_abs_day := 1;
            ELSIF m[3] = 'End' THEN v_abs_day := 31;
            END IF;
        ELSE
            NULL;   -- H D W Q Y match but map to nothing: now
        END CASE;
        -- relativedelta: absolute fields and months first (the day clamped to
        -- the target month), then the timedelta part
        v_mo := coalesce(v_abs_month, v_mo);
        n := v_y * 12 + v_mo - 1 - v_months;
        v_y := n / 12; v_mo := n % 12 + 1;
        v_d := least(coalesce(v_abs_day, v_d),
                     extract(day FROM make_date(v_y, v_mo, 1) + interval '1 month - 1 day')::int);
        ts := make_date(v_y, v_mo, v_d) + v_time - v_delta;
    END IF;
    IF p_truncate THEN
        ts := date_trunc(CASE WHEN hours THEN 'hour' ELSE 'day' END, ts);
    END IF;
EXCEPTION WHEN data_exception THEN
    -- a date out of PostgreSQL's range (e.g. -999999y)
    PERFORM ngx_dashboards_trends_invalid(format('Invalid date: %s', p_input));
END $$;

-- earliest event of the team (of these event names; a NULL element = all
-- events) after 1980-01-01, for date_from "all"; the PostgreSQL store's
-- answer to QueryDateRange's earliest-timestamp lookup
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_earliest(p_team_id int, p_events text[])
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(min(t), '1980-01-01T00:00:00Z'::timestamptz)
      FROM unnest(p_events) ev,
           LATERAL (SELECT e."timestamp" AS t FROM posthog_event e
                     WHERE e.team_id = p_team_id
                       AND e."timestamp" > '1980-01-01T00:00:00Z'
                       AND (ev IS NULL OR e.event = ev)
                     ORDER BY e."timestamp" LIMIT 1) f
$$;

-- plan ------------------------------------------------------------------------

-- Most buckets one series may have.  PostHog sets no explicit cap on the
-- number of intervals (ClickHouse builds the date array of any range, a
-- 10-year hour trend being ~88,000 points per row); we refuse more than
-- 10,000 buckets (a year at hour interval fits) with a 400 instead of
-- building rows of that size.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_max_buckets()
RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 10000 $$;

-- One period of a plan: the resolved bounds (local, as the labels and the
-- `filter` dict show them), the bounds events are filtered with (UTC,
-- second precision as HogQL prints them) and the bucket starts (local).
-- p_start_of_interval: the filter starts at the start of date_from's
-- interval (a day for weeks), else at date_from itself.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_period(
    p_from timestamp, p_to timestamp, p_interval text, p_week_start int, p_tz text,
    p_start_of_interval boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_first timestamp := ngx_dashboards_trends_start(p_from, p_interval, p_week_start);
    v_last timestamp := ngx_dashboards_trends_start(p_to, p_interval, p_week_start);
    v_filter_from timestamp;
    v_n float8;
BEGIN
    v_n := extract(epoch FROM v_last - v_first) / CASE p_interval
        WHEN 'minute' THEN 60 WHEN 'hour' THEN 3600 WHEN 'day' THEN 86400
        WHEN 'week' THEN 7 * 86400 ELSE 28 * 86400 END;
    IF v_n + 1 > ngx_dashboards_trends_max_buckets() THEN
        PERFORM ngx_dashboards_trends_invalid(format(
            'The date range has too many %s intervals (more than %s): choose a larger interval or a shorter range.',
            p_interval, ngx_dashboards_trends_max_buckets()));
    END IF;
    v_filter_from := CASE WHEN NOT p_start_of_interval THEN p_from
                          WHEN p_interval = 'week' THEN date_trunc('day', p_from)
                          ELSE v_first END;
    RETURN jsonb_build_object(
        'date_from', to_char(p_from, 'YYYY-MM-DD HH24:MI:SS.US'),
        'date_to', to_char(p_to, 'YYYY-MM-DD HH24:MI:SS.US'),
        'from', date_trunc('second', v_filter_from AT TIME ZONE p_tz),
        'to', date_trunc('second', p_to AT TIME ZONE p_tz),
        'buckets', (SELECT coalesce(jsonb_agg(to_char(b, 'YYYY-MM-DD HH24:MI:SS') ORDER BY b), '[]')
                      FROM generate_series(v_first, v_last,
                                           ngx_dashboards_trends_step(p_interval)) b));
END $$;

-- property filter values ----------------------------------------------------

-- A filter value read as Python's float() reads it (the bounds of between /
-- not_between): a number, a boolean (1, 0), a string holding one (spaces
-- around, digits grouped by single underscores, inf, nan); NULL where
-- float() raises.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_pyfloat(p_value jsonb)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text;
BEGIN
    CASE jsonb_typeof(p_value)
    WHEN 'number' THEN
        s := p_value::text;
    WHEN 'boolean' THEN
        RETURN CASE WHEN p_value = 'true'::jsonb THEN 1 ELSE 0 END;
    WHEN 'string' THEN
        s := btrim(p_value #>> '{}', E' \t\n\r\f\v');
        IF s ~* '^[-+]?(inf|infinity)$' THEN
            RETURN CASE WHEN s LIKE '-%' THEN '-Infinity' ELSE 'Infinity' END::float8;
        ELSIF s ~* '^[-+]?nan$' THEN
            RETURN 'NaN'::float8;
        ELSIF s !~ ('^[-+]?([0-9](_?[0-9])*(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)'
                    '([eE][-+]?[0-9](_?[0-9])*)?$') THEN
            RETURN NULL;
        END IF;
        s := replace(s, '_', '');
    ELSE
        RETURN NULL;
    END CASE;
    RETURN s::float8;
EXCEPTION WHEN numeric_value_out_of_range OR invalid_text_representation THEN
    -- beyond float8's range, where Python rounds to 0 or an infinity
    RETURN CASE WHEN s ~* 'e-' OR s ~ '^[-+]?0*\.' THEN '0'
                WHEN s LIKE '-%' THEN '-Infinity' ELSE 'Infinity' END::float8;
END $$;

-- A version part as Python's int() reads it (parse_semver in
-- posthog/hogql/property.py): ASCII digits, an optional +, single
-- underscores between digits, spaces around; NULL where int() raises.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_pyint(p_text text)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_text ~ '^\s*\+?[0-9](_?[0-9])*\s*$'
                THEN replace(btrim(p_text, E' \t\n\r\f\v+'), '_', '')::numeric END
$$;

-- PostHog's sortableSemver (posthog/hogql/functions/posthog.py): a strict
-- X.Y.Z (no leading zeros, an optional v before, a -pre-release or +build
-- after, spaces around) as [X, Y, Z]; anything else, a missing property
-- included, is NULL, so that every semver comparison with it is false (in
-- PostHog [NULL]: "invalid versions are excluded from every semver
-- filter").  A pre-release or build suffix does not take part.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_semver(p_text text)
RETURNS int8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN m IS NOT NULL
                     AND greatest(m[1]::numeric, m[2]::numeric, m[3]::numeric)
                         <= 9223372036854775807
                THEN ARRAY[m[1]::int8, m[2]::int8, m[3]::int8] END
      FROM (SELECT regexp_match(p_text, '^\s*v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.'
                                        '(0|[1-9][0-9]*)(?:[-+]\S*)?\s*$') AS m) x
$$;

-- The range of semver_tilde (~1.2.3: >= 1.2.3, < 1.3.0), semver_caret
-- (^1.2.3: < 2.0.0; ^0.2.3: < 0.3.0; ^0.0.3: < 0.0.4) and semver_wildcard
-- (1.*: >= 1.0.0, < 2.0.0; 1.2.*: >= 1.2.0, < 1.3.0; 1.2.3: >= 1.2.3.0,
-- < 1.2.4.0, which sortableSemver reads as no version: nothing matches) as
-- PostHog's _tilde_bounds, _caret_bounds and _wildcard_bounds build them
-- (posthog/hogql/property.py): [lower, upper] texts, the parts as given
-- and the raised one as a number.  A value that is not such a version is
-- PostHog's QueryError, a 400.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_semver_bounds(p_op text, p_value jsonb)
RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_name text := CASE p_op WHEN 'semver_tilde' THEN 'Tilde'
                             WHEN 'semver_caret' THEN 'Caret' ELSE 'Wildcard' END;
    v text;
    p text[];
    n numeric[];
BEGIN
    IF jsonb_typeof(p_value) IS DISTINCT FROM 'string' THEN
        PERFORM ngx_dashboards_trends_invalid(format(
            '%s operator requires a semver string value', v_name));
    END IF;
    v := p_value #>> '{}';
    IF p_op = 'semver_wildcard' THEN
        v := rtrim(v, '.*');
    END IF;
    -- Python's str.split: "" is [""]
    p := CASE WHEN split_part(v, '-', 1) = '' THEN ARRAY['']
              ELSE string_to_array(split_part(v, '-', 1), '.') END;
    IF p_op <> 'semver_wildcard' THEN
        p := ARRAY[p[1], coalesce(p[2], '0'), coalesce(p[3], '0')]
             || CASE WHEN cardinality(p) < 2 AND p_op = 'semver_tilde'
                     THEN ARRAY[NULL::text] ELSE '{}'::text[] END;
    ELSE
        p := p[1:3];
    END IF;
    n := ARRAY(SELECT ngx_dashboards_trends_pyint(x) FROM unnest(p) x);
    IF v = '' OR p[1] = '' OR array_position(n, NULL) IS NOT NULL THEN
        PERFORM ngx_dashboards_trends_invalid(format(
            '%s operator requires a valid semver string (e.g., ''1.2.3'')', v_name));
    END IF;
    RETURN CASE p_op
        WHEN 'semver_tilde' THEN
            ARRAY[array_to_string(p, '.'), p[1] || '.' || (n[2] + 1) || '.0']
        WHEN 'semver_caret' THEN
            ARRAY[array_to_string(p, '.'),
                  CASE WHEN n[1] > 0 THEN (n[1] + 1) || '.0.0'
                       WHEN n[2] > 0 THEN '0.' || (n[2] + 1) || '.0'
                       ELSE '0.0.' || (n[3] + 1) END]
        ELSE CASE cardinality(p)
            WHEN 1 THEN ARRAY[p[1] || '.0.0', (n[1] + 1) || '.0.0']
            WHEN 2 THEN ARRAY[p[1] || '.' || p[2] || '.0', p[1] || '.' || (n[2] + 1) || '.0']
            ELSE ARRAY[array_to_string(p, '.') || '.0',
                       p[1] || '.' || p[2] || '.' || (n[3] + 1) || '.0'] END
        END;
END $$;

-- The values operators check before anything runs (PostHog raises a
-- QueryError while building the query: a 400 here): between / not_between
-- take [min, max], two numbers, min <= max (_validate_between_values);
-- semver operators take version strings, each value of a list on its own
-- (an empty list matches everything, as for every operator).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_check_value(p_op text, p_value jsonb)
RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    a float8;
    b float8;
    x jsonb;
BEGIN
    IF p_op IN ('between', 'not_between') THEN
        IF jsonb_typeof(p_value) IS DISTINCT FROM 'array'
           OR jsonb_array_length(CASE WHEN jsonb_typeof(p_value) = 'array' THEN p_value END) <> 2 THEN
            PERFORM ngx_dashboards_trends_invalid(format(
                '%s operator requires a two-element array [min, max]', p_op));
        END IF;
        a := ngx_dashboards_trends_pyfloat(p_value->0);
        b := ngx_dashboards_trends_pyfloat(p_value->1);
        IF a IS NULL OR b IS NULL THEN
            PERFORM ngx_dashboards_trends_invalid(format(
                '%s operator requires numeric values', p_op));
        END IF;
        -- (Python: a NaN is never greater)
        IF a > b AND a <> 'NaN'::float8 THEN
            PERFORM ngx_dashboards_trends_invalid(format(
                '%s operator requires min value to be less than or equal to max value', p_op));
        END IF;
    ELSIF p_op LIKE 'semver\_%' THEN
        FOR x IN SELECT e FROM jsonb_array_elements(
                     CASE WHEN jsonb_typeof(p_value) = 'array' THEN p_value
                          ELSE jsonb_build_array(p_value) END) e LOOP
            IF p_op IN ('semver_tilde', 'semver_caret', 'semver_wildcard') THEN
                PERFORM ngx_dashboards_trends_semver_bounds(p_op, x);
            ELSIF jsonb_typeof(x) IS DISTINCT FROM 'string' THEN
                PERFORM ngx_dashboards_trends_invalid(format(
                    '%s operator requires a semver string value', p_op));
            END IF;
        END LOOP;
    END IF;
END $$;

-- A property filter list or group (PropertyGroupFilter) checked and brought
-- to one shape: {"type":"AND"|"OR","values":[filter | group]}; filters keep
-- their own keys.  Unsupported types and operators are a 400.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_props(p_props jsonb, p_what text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    v jsonb;
    v_out jsonb := '[]';
    v_type text;
    v_op text;
BEGIN
    IF p_props IS NULL OR jsonb_typeof(p_props) = 'null' THEN
        RETURN '{"type":"AND","values":[]}';
    END IF;
    IF jsonb_typeof(p_props) = 'array' THEN
        RETURN jsonb_build_object('type', 'AND', 'values', coalesce((
            SELECT jsonb_agg(ngx_dashboards_trends_props(x, p_what) ORDER BY i)
              FROM jsonb_array_elements(p_props) WITH ORDINALITY AS a(x, i)), '[]'));
    END IF;
    IF jsonb_typeof(p_props) <> 'object' THEN
        PERFORM ngx_dashboards_trends_invalid(format('Invalid %s: %s', p_what, p_props));
    END IF;
    IF p_props->>'type' IN ('AND', 'OR') AND p_props ? 'values' THEN
        IF jsonb_typeof(p_props->'values') <> 'array' THEN
            PERFORM ngx_dashboards_trends_invalid(format('Invalid %s: %s', p_what, p_props));
        END IF;
        FOR v IN SELECT x FROM jsonb_array_elements(p_props->'values') x LOOP
            v_out := v_out || jsonb_build_array(ngx_dashboards_trends_props(v, p_what));
        END LOOP;
        RETURN jsonb_build_object('type', p_props->>'type', 'values', v_out);
    END IF;
    v_type := coalesce(p_props->>'type', 'event');
    IF v_type NOT IN ('event', 'person') THEN
        PERFORM ngx_dashboards_trends_invalid(format(
            'Property filters of type "%s" are not supported here.', v_type));
    END IF;
    IF jsonb_typeof(p_props->'key') IS DISTINCT FROM 'string' THEN
        PERFORM ngx_dashboards_trends_invalid(format('Invalid %s: %s', p_what, p_props));
    END IF;
    v_op := coalesce(p_props->>'operator', 'exact');
    -- (icontains_multi and not_icontains_multi are feature flag operators:
    -- PostHog's property_to_expr has no expression for them either)
    IF v_op NOT IN ('exact', 'is_not', 'icontains', 'not_icontains', 'regex', 'not_regex',
                    'gt', 'gte', 'lt', 'lte', 'is_set', 'is_not_set', 'in', 'not_in',
                    'is_date_exact', 'is_date_after', 'is_date_before',
                    'between', 'not_between', 'min', 'max',
                    'semver_eq', 'semver_neq', 'semver_gt', 'semver_gte', 'semver_lt',
                    'semver_lte', 'semver_tilde', 'semver_caret', 'semver_wildcard') THEN
        PERFORM ngx_dashboards_trends_invalid(format(
            'The property filter operator "%s" is not supported here.', v_op));
    END IF;
    PERFORM ngx_dashboards_trends_check_value(v_op, coalesce(p_props->'value', 'null'));
    RETURN p_props || jsonb_build_object('type', v_type, 'operator', v_op);
END $$;

-- The schema defaults of TrendsFilter that PostHog's `filter` dict shows
-- for a query with a trendsFilter (posthog/schema.py, newest TrendsFilter).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_filter_defaults()
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT '{"aggregationAxisFormat": "numeric", "resultCustomizationBy": "value",
             "showAlertThresholdLines": false, "showLegend": false,
             "showMultipleYAxes": false, "showPercentStackView": false,
             "showValuesOnSeries": false, "smoothingIntervals": 1,
             "yAxisScaleType": "linear"}'::jsonb
$$;

-- An object's non-null keys as (key, json value) in code point order
-- (pydantic's field order of the generated models is alphabetical).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_sorted(p_obj jsonb)
RETURNS TABLE(k text, v json) LANGUAGE sql IMMUTABLE AS $$
    SELECT key, value::text::json FROM jsonb_each(p_obj)
     WHERE jsonb_typeof(value) <> 'null'
     ORDER BY key COLLATE "C"
$$;

CREATE OR REPLACE FUNCTION ngx_dashboards_trends_plan(p_team_id int, p_query jsonb,
                                                      p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    q jsonb := p_query;
    t record;
    v_tz text;
    v_ws int;
    v_now timestamp;
    v_qinterval text;
    v_interval text;
    v_display text;
    v_total boolean;
    v_exact boolean;
    v_tf jsonb;
    v_bf jsonb;
    v_dr jsonb;
    v_df text; v_dt text;
    v_explicit boolean;
    v_from timestamp; v_to timestamp;
    v_from_rel boolean := true; v_from_hours boolean := false; v_from_days int;
    v_to_rel boolean;
    r record;
    v_soi boolean;
    v_series jsonb := '[]';
    s jsonb;
    i int := 0;
    v_math text;
    v_kind text;
    v_label text;
    v_event text;
    v_steps jsonb;
    v_aname text;
    v_afound boolean;
    v_float boolean;
    v_events text[] := '{}';
    v_props jsonb;
    v_breakdown jsonb;
    v_formulas jsonb;
    v_compare boolean;
    v_prev jsonb;
    v_diff interval;
    v_pfrom timestamp; v_pto timestamp;
    v_keys text[]; v_vals json[];
    v_limit int;
BEGIN
    IF jsonb_typeof(q) IS DISTINCT FROM 'object' THEN
        PERFORM ngx_dashboards_trends_invalid('The query must be an object.');
    END IF;
    IF q->>'kind' = 'InsightVizNode' THEN
        q := q->'source';
        IF jsonb_typeof(q) IS DISTINCT FROM 'object' THEN
            PERFORM ngx_dashboards_trends_invalid('InsightVizNode has no source query.');
        END IF;
    END IF;
    IF (q->>'kind') IS DISTINCT FROM 'TrendsQuery' THEN
        PERFORM ngx_dashboards_trends_invalid(format(
            'Query kind "%s" is not supported here: only TrendsQuery insights are computed.',
            coalesce(q->>'kind', 'null')));
    END IF;

    SELECT tm.timezone, tm.week_start_day, tm.test_account_filters INTO t
      FROM posthog_team tm WHERE tm.id = p_team_id;
    IF NOT FOUND THEN
        PERFORM ngx_dashboards_fail(404, 'invalid_request', 'not_found', 'Project not found.', NULL);
    END IF;
    v_tz := coalesce(nullif(t.timezone, ''), 'UTC');
    v_ws := CASE WHEN t.week_start_day = 1 THEN 1 ELSE 0 END;
    v_now := p_now AT TIME ZONE v_tz;

    v_qinterval := coalesce(q->>'interval', 'day');
    IF v_qinterval NOT IN ('minute', 'hour', 'day', 'week', 'month') THEN
        PERFORM ngx_dashboards_trends_invalid(format('Unknown interval "%s".', v_qinterval));
    END IF;
    v_tf := CASE WHEN jsonb_typeof(q->'trendsFilter') = 'object' THEN q->'trendsFilter' END;
    v_bf := CASE WHEN jsonb_typeof(q->'breakdownFilter') = 'object' THEN q->'breakdownFilter' END;
    v_display := coalesce(v_tf->>'display', 'ActionsLineGraph');
    v_total := v_display IN ('BoldNumber', 'ActionsPie', 'ActionsBarValue', 'WorldMap',
                             'CalendarHeatmap', 'ActionsTable');
    v_exact := v_display = 'BoldNumber';
    -- total-value displays run over day buckets (QueryDateRange gets "day")
    v_interval := CASE WHEN v_total THEN 'day' ELSE v_qinterval END;

    -- series ------------------------------------------------------------------
    IF jsonb_typeof(q->'series') IS DISTINCT FROM 'array' OR jsonb_array_length(q->'series') = 0 THEN
        PERFORM ngx_dashboards_trends_invalid('A TrendsQuery needs at least one series.');
    END IF;
    FOR s IN SELECT x FROM jsonb_array_elements(q->'series') WITH ORDINALITY a(x, o) ORDER BY o LOOP
        v_kind := s->>'kind';
        v_event := NULL;
        v_afound := false; v_steps := NULL;
        IF v_kind = 'EventsNode' THEN
            IF jsonb_typeof(s->'event') NOT IN ('string', 'null') THEN
                PERFORM ngx_dashboards_trends_invalid(format('Invalid event of series %s.', i));
            END IF;
            v_event := s->>'event';
            v_label := coalesce(v_event, 'All events');
            v_events := v_events || v_event;
        ELSIF v_kind = 'ActionsNode' THEN
            IF jsonb_typeof(s->'id') IS DISTINCT FROM 'number' THEN
                PERFORM ngx_dashboards_trends_invalid(format('Invalid action id of series %s.', i));
            END IF;
            SELECT true, a.name, a.steps_json INTO v_afound, v_aname, v_steps
              FROM posthog_action a
             WHERE a.id = (s->>'id')::numeric AND a.team_id = p_team_id;
            v_label := CASE WHEN v_afound THEN coalesce(v_aname, '') END;
            v_events := v_events || NULL::text;
        ELSE
            PERFORM ngx_dashboards_trends_invalid(format(
                'Series of kind "%s" are not supported here.', coalesce(v_kind, 'null')));
        END IF;
        v_math := s->>'math';
        IF v_math IS NOT NULL AND v_math NOT IN ('total', 'dau', 'weekly_active', 'monthly_active',
                'unique_session', 'sum', 'avg', 'min', 'max', 'median', 'p75', 'p90', 'p95', 'p99') THEN
            PERFORM ngx_dashboards_trends_invalid(format('The math "%s" is not supported here.', v_math));
        END IF;
        -- convert_active_user_math_based_on_interval
        IF (v_math = 'weekly_active' AND v_qinterval IN ('week', 'month'))
           OR (v_math = 'monthly_active' AND v_qinterval = 'month') THEN
            v_math := 'dau';
        END IF;
        v_float := coalesce(v_math IN ('sum', 'avg', 'min', 'max', 'median', 'p75', 'p90', 'p95', 'p99'), false);
        IF v_float AND jsonb_typeof(s->'math_property') IS DISTINCT FROM 'string' THEN
            PERFORM ngx_dashboards_trends_invalid(format(
                'The math "%s" needs a math_property.', v_math));
        END IF;
        IF v_float AND coalesce(s->>'math_property_type', 'event_properties')
                       NOT IN ('event_properties', 'person_properties') THEN
            PERFORM ngx_dashboards_trends_invalid(format(
                'The math_property_type "%s" is not supported here.', s->>'math_property_type'));
        END IF;
        v_series := v_series || jsonb_build_array(jsonb_build_object(
            'index', i,
            'kind', v_kind,
            'event', v_event,
            'action_id', CASE WHEN v_kind = 'ActionsNode' THEN s->'id' END,
            'exists', v_label IS NOT NULL,
            'steps', CASE WHEN v_kind = 'ActionsNode' THEN coalesce(v_steps, '[]') END,
            'label', v_label,
            'id', CASE WHEN v_kind = 'ActionsNode' THEN v_label ELSE v_event END,
            'custom_name', s->'custom_name',
            'math', v_math,
            'float', v_float,
            'math_property', s->'math_property',
            'person_math', s->>'math_property_type' = 'person_properties',
            'math_hogql', s->'math_hogql',
            'math_group_type_index', s->'math_group_type_index',
            'properties', ngx_dashboards_trends_props(s->'properties', 'series properties')));
        i := i + 1;
    END LOOP;

    -- date range (QueryDateRange) -----------------------------------------------
    v_dr := CASE WHEN jsonb_typeof(q->'dateRange') = 'object' THEN q->'dateRange' ELSE '{}' END;
    v_df := CASE WHEN jsonb_typeof(v_dr->'date_from') = 'string' THEN v_dr->>'date_from' END;
    v_dt := CASE WHEN jsonb_typeof(v_dr->'date_to') = 'string' THEN v_dr->>'date_to' END;
    v_explicit := coalesce(v_dr->'explicitDate' = 'true'::jsonb, false);
    IF v_df = 'all' THEN
        v_from := ngx_dashboards_trends_earliest(p_team_id, v_events) AT TIME ZONE v_tz;
        v_from_rel := false;
    ELSIF v_df IS NOT NULL THEN
        r := ngx_dashboards_trends_relative(v_df, v_tz, v_now,
                                            NOT (v_interval = 'minute' OR v_exact));
        v_from := r.ts; v_from_rel := r.relative; v_from_hours := r.hours; v_from_days := r.days;
    ELSE
        v_from := date_trunc('day', v_now) - interval '7 days';
        v_from_days := 7;
    END IF;
    IF v_dt IS NOT NULL THEN
        r := ngx_dashboards_trends_relative(v_dt, v_tz, v_now, false);
        v_to := r.ts; v_to_rel := r.relative;
    ELSE
        v_to := v_now;
    END IF;
    IF v_exact AND v_dt IS NULL THEN
        NULL;   -- exactly now
    ELSIF NOT v_explicit THEN
        IF v_interval NOT IN ('hour', 'minute') THEN
            v_to := date_trunc('day', v_to) + interval '23:59:59.999999';
        ELSIF v_interval = 'hour' AND coalesce(v_to_rel, true) THEN
            v_to := date_trunc('hour', v_to) + interval '59:59.999999';
        ELSIF v_interval = 'minute' THEN
            v_to := date_trunc('minute', v_to) + interval '59.999999';
        END IF;
    END IF;
    v_soi := NOT (v_exact OR v_explicit
                  OR (v_interval IN ('hour', 'minute') AND v_from_rel)
                  OR (v_interval = 'day' AND v_from_hours));

    -- compare (get_compare_period_dates, QueryCompareToDateRange) ------------
    v_compare := coalesce(q->'compareFilter'->'compare' = 'true'::jsonb, false);
    IF v_compare AND jsonb_typeof(q->'compareFilter'->'compare_to') = 'string' THEN
        -- QueryCompareToDateRange: date_from moved by compare_to as
        -- relative_date_parse reads it with "now" = date_from (no
        -- truncation), date_to keeping the current period's length
        r := ngx_dashboards_trends_relative(q->'compareFilter'->>'compare_to', v_tz, v_from, false);
        v_pfrom := r.ts;
        v_pto := v_pfrom + (v_to - v_from);
        v_prev := ngx_dashboards_trends_period(v_pfrom, v_pto, v_interval, v_ws, v_tz, v_soi);
    ELSIF v_compare THEN
        v_diff := v_to - v_from;
        v_pfrom := v_from - v_diff;
        v_pto := v_from;
        IF v_interval = 'hour' THEN
            v_pfrom := date_trunc('day', v_pfrom) + (v_from - date_trunc('day', v_from));
            v_pto := date_trunc('hour', v_pfrom + v_diff) + (v_to - date_trunc('hour', v_to));
        ELSIF v_interval <> 'minute' THEN
            v_pfrom := date_trunc('day', v_pfrom) + (v_from - date_trunc('day', v_from));
            IF v_interval = 'day' AND coalesce(v_from_days, 0) <> 0 AND v_from_days % 7 = 0
               AND NOT coalesce(v_to_rel, false) THEN
                v_pfrom := v_pfrom + interval '1 day';
            END IF;
            v_pto := date_trunc('day', v_pfrom + v_diff) + (v_to - date_trunc('day', v_to));
        END IF;
        v_prev := ngx_dashboards_trends_period(v_pfrom, v_pto, v_interval, v_ws, v_tz, v_soi);
    END IF;

    -- properties: test accounts, then the query's ------------------------------
    v_props := jsonb_build_object('type', 'AND', 'values', jsonb_build_array(
        CASE WHEN q->'filterTestAccounts' = 'true'::jsonb
                  AND jsonb_typeof(t.test_account_filters) = 'array'
             THEN ngx_dashboards_trends_props(t.test_account_filters, 'test account filter')
             ELSE '{"type":"AND","values":[]}' END,
        ngx_dashboards_trends_props(q->'properties', 'properties')));

    -- breakdown ------------------------------------------------------------------
    IF jsonb_typeof(v_bf->'breakdowns') = 'array' AND jsonb_array_length(v_bf->'breakdowns') > 0 THEN
        PERFORM ngx_dashboards_trends_invalid('Multiple breakdowns are not supported here.');
    END IF;
    IF v_bf->'breakdown' IS NOT NULL AND jsonb_typeof(v_bf->'breakdown') <> 'null'
       AND v_bf->'breakdown' <> '""'::jsonb THEN
        IF jsonb_typeof(v_bf->'breakdown') <> 'string'
           OR coalesce(v_bf->>'breakdown_type', 'event') NOT IN ('event', 'person') THEN
            PERFORM ngx_dashboards_trends_invalid(format(
                'Breakdowns of type "%s" are not supported here: only event and person properties.',
                coalesce(v_bf->>'breakdown_type', 'event')));
        END IF;
        IF jsonb_typeof(v_bf->'breakdown_limit') = 'number'
           AND NOT (v_bf->'breakdown_limit')::numeric BETWEEN 1 AND 10000 THEN
            PERFORM ngx_dashboards_trends_invalid('breakdown_limit must be between 1 and 10000.');
        END IF;
        v_limit := CASE WHEN jsonb_typeof(v_bf->'breakdown_limit') = 'number'
                        THEN (v_bf->>'breakdown_limit')::numeric::int
                        WHEN v_display = 'WorldMap' THEN 250 ELSE 25 END;
        v_breakdown := jsonb_build_object(
            'property', v_bf->>'breakdown',
            'person', coalesce(v_bf->>'breakdown_type', 'event') = 'person',
            'limit', v_limit,
            'normalize_url', coalesce(v_bf->'breakdown_normalize_url' = 'true'::jsonb, false),
            'hide_other', coalesce(v_bf->'breakdown_hide_other_aggregation' = 'true'::jsonb, false));
    END IF;

    -- formulas: legacy formula / formulas become formulaNodes ------------------
    IF jsonb_typeof(v_tf->'formulaNodes') = 'array' AND jsonb_array_length(v_tf->'formulaNodes') > 0 THEN
        v_formulas := v_tf->'formulaNodes';
    ELSIF jsonb_typeof(v_tf->'formulas') = 'array' AND jsonb_array_length(v_tf->'formulas') > 0 THEN
        SELECT jsonb_agg(jsonb_build_object('formula', f) ORDER BY o) INTO v_formulas
          FROM jsonb_array_elements(v_tf->'formulas') WITH ORDINALITY a(f, o);
    ELSIF jsonb_typeof(v_tf->'formula') = 'string' AND v_tf->>'formula' <> '' THEN
        v_formulas := jsonb_build_array(jsonb_build_object('formula', v_tf->'formula'));
    END IF;
    IF v_formulas IS NOT NULL THEN
        SELECT jsonb_agg(jsonb_build_object(
                   'formula', f->'formula', 'custom_name', f->'custom_name',
                   'rpn', ngx_dashboards_trends_rpn(f->>'formula', jsonb_array_length(v_series)))
                   ORDER BY o)
          INTO v_formulas
          FROM jsonb_array_elements(v_formulas) WITH ORDINALITY a(f, o);
        v_tf := v_tf - 'formula' - 'formulas'
                || jsonb_build_object('formulaNodes', (SELECT jsonb_agg(
                       jsonb_strip_nulls(jsonb_build_object('formula', f->'formula',
                                                            'custom_name', f->'custom_name'))
                       ORDER BY o) FROM jsonb_array_elements(v_formulas) WITH ORDINALITY a(f, o)));
    END IF;

    -- the `filter` dict (_query_to_filter) --------------------------------------
    v_keys := ARRAY['insight', 'properties', 'filter_test_accounts', 'date_to', 'date_from',
                    'entity_type', 'sampling_factor', 'aggregation_group_type_index', 'interval'];
    v_vals := ARRAY['"TRENDS"'::json,
                    coalesce(nullif(q->'properties', 'null'::jsonb), '[]')::text::json,
                    coalesce(nullif(q->'filterTestAccounts', 'null'::jsonb), 'false')::text::json,
                    to_json(ngx_dashboards_trends_iso(v_to, v_tz)),
                    to_json(ngx_dashboards_trends_iso(v_from, v_tz)),
                    '"events"'::json,
                    nullif(q->'samplingFactor', 'null'::jsonb)::text::json,
                    nullif(q->'aggregation_group_type_index', 'null'::jsonb)::text::json,
                    to_json(v_qinterval)];
    IF v_tf IS NOT NULL THEN
        SELECT v_keys || array_agg(k), v_vals || array_agg(v) INTO v_keys, v_vals
          FROM ngx_dashboards_trends_sorted(ngx_dashboards_trends_filter_defaults()
                                            || (v_tf - 'formula' - 'formulas'));
    END IF;
    IF v_bf IS NOT NULL THEN
        SELECT v_keys || array_agg(k), v_vals || array_agg(v) INTO v_keys, v_vals
          FROM ngx_dashboards_trends_sorted('{"breakdown_type": "event"}'::jsonb
                                            || jsonb_strip_nulls(v_bf));
    END IF;

    RETURN jsonb_build_object(
        'team_id', p_team_id,
        'tz', v_tz,
        'week_start', v_ws,
        'interval', v_interval,
        'query_interval', v_qinterval,
        'display', v_display,
        'total_value', v_total,
        'cumulative', v_display = 'ActionsLineGraphCumulative',
        'current', ngx_dashboards_trends_period(v_from, v_to, v_interval, v_ws, v_tz, v_soi),
        'previous', v_prev,
        'series', v_series,
        'properties', v_props,
        'breakdown', v_breakdown,
        'formulas', v_formulas,
        'filter', ngx_dashboards_trends_obj(v_keys, v_vals)::text);
END $$;

-- formulas --------------------------------------------------------------------

-- A formula (posthog/hogql_queries/utils/formula_ast.py: Python arithmetic
-- over the series letters A, B, .. case-insensitive) checked and turned into
-- reverse Polish notation: [{"n": number} | {"s": series index} | {"o": op}],
-- ops + - * / % ** and the unary "neg" / "pos".  Python's precedence:
-- ** (right-associative, above a unary sign on its left), unary, * / %, + -.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_rpn(p_formula text, p_series int)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_tokens text[];
    v_tok text;
    v_out jsonb := '[]';
    v_ops text[] := '{}';
    v_top text;
    v_expect_operand boolean := true;
    v_depth int := 0;
    v_operands int := 0;
    v_prec jsonb := '{"+":1,"-":1,"*":2,"/":2,"%":2,"neg":3,"pos":3,"**":4}';
BEGIN
    IF p_formula IS NULL OR btrim(p_formula) = '' THEN
        PERFORM ngx_dashboards_trends_invalid('A formula may not be empty.');
    END IF;
    IF p_formula !~ '^[A-Za-z0-9.+*/%() \t-]*$' THEN
        PERFORM ngx_dashboards_trends_invalid(format('Invalid formula: %s', p_formula));
    END IF;
    IF p_formula ~ '[0-9.]{30}' THEN
        PERFORM ngx_dashboards_trends_invalid(format('Invalid formula: %s', p_formula));
    END IF;
    v_tokens := ARRAY(SELECT x[1] FROM regexp_matches(p_formula,
        '([0-9]+\.?[0-9]*|\.[0-9]+|[A-Za-z]+|\*\*|[-+*/%()])', 'g') x);
    FOREACH v_tok IN ARRAY v_tokens LOOP
        IF v_tok ~ '^[A-Za-z]+$' OR v_tok ~ '^[0-9.]' THEN
            IF NOT v_expect_operand THEN
                PERFORM ngx_dashboards_trends_invalid(format('Invalid formula: %s', p_formula));
            END IF;
            IF v_tok ~ '^[A-Za-z]+$' THEN
                IF length(v_tok) <> 1 OR ascii(upper(v_tok)) - 65 >= p_series THEN
                    PERFORM ngx_dashboards_trends_invalid(format(
                        'The formula %s uses %s, which is not a series of this query.', p_formula, v_tok));
                END IF;
                v_out := v_out || jsonb_build_array(jsonb_build_object('s', ascii(upper(v_tok)) - 65));
            ELSE
                v_out := v_out || jsonb_build_array(jsonb_build_object('n', v_tok::numeric));
            END IF;
            v_operands := v_operands + 1;
            v_expect_operand := false;
        ELSIF v_tok = '(' THEN
            IF NOT v_expect_operand THEN
                PERFORM ngx_dashboards_trends_invalid(format('Invalid formula: %s', p_formula));
            END IF;
            v_ops := v_ops || v_tok;
            v_depth := v_depth + 1;
        ELSIF v_tok = ')' THEN
            IF v_expect_operand OR v_depth = 0 THEN
                PERFORM ngx_dashboards_trends_invalid(format('Invalid formula: %s', p_formula));
            END IF;
            LOOP
                v_top := v_ops[cardinality(v_ops)];
                v_ops := v_ops[1:cardinality(v_ops) - 1];
                EXIT WHEN v_top = '(';
                v_out := v_out || jsonb_build_array(jsonb_build_object('o', v_top));
            END LOOP;
            v_depth := v_depth - 1;
        ELSIF v_expect_operand THEN
            IF v_tok NOT IN ('-', '+') THEN
                PERFORM ngx_dashboards_trends_invalid(format('Invalid formula: %s', p_formula));
            END IF;
            v_ops := v_ops || CASE v_tok WHEN '-' THEN 'neg' ELSE 'pos' END;
        ELSE
            LOOP
                v_top := v_ops[cardinality(v_ops)];
                EXIT WHEN v_top IS NULL OR v_top = '('
                    OR (v_prec->>v_top)::int < (v_prec->>v_tok)::int
                    OR ((v_prec->>v_top)::int = (v_prec->>v_tok)::int AND v_tok = '**');
                v_out := v_out || jsonb_build_array(jsonb_build_object('o', v_top));
                v_ops := v_ops[1:cardinality(v_ops) - 1];
            END LOOP;
            v_ops := v_ops || v_tok;
            v_expect_operand := true;
        END IF;
    END LOOP;
    IF v_expect_operand OR v_depth <> 0 OR v_operands = 0 THEN
        PERFORM ngx_dashboards_trends_invalid(format('Invalid formula: %s', p_formula));
    END IF;
    WHILE cardinality(v_ops) > 0 LOOP
        v_out := v_out || jsonb_build_array(jsonb_build_object('o', v_ops[cardinality(v_ops)]));
        v_ops := v_ops[1:cardinality(v_ops) - 1];
    END LOOP;
    RETURN v_out;
END $$;

-- One bucket of a formula: p_vals are the series' values, p_floats whether
-- each is a Python float.  Returns the value and whether it is a float
-- (ints stay ints through + - * % and ** with a non-negative exponent; /
-- gives a float).  Division (and modulo) by zero gives 0, as PostHog.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_eval(p_rpn jsonb, p_vals float8[],
                                                      p_floats boolean[],
                                                      OUT val float8, OUT is_float boolean)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    x jsonb;
    st float8[] := '{}';
    sf boolean[] := '{}';
    n int;
    a float8; b float8; af boolean; bf boolean;
    r float8; rf boolean;
BEGIN
    FOR x IN SELECT e FROM jsonb_array_elements(p_rpn) e LOOP
        IF x ? 'n' THEN
            st := st || (x->>'n')::float8;
            sf := sf || ((x->>'n') ~ '[.]');
        ELSIF x ? 's' THEN
            st := st || coalesce(p_vals[(x->>'s')::int + 1], 0);
            sf := sf || coalesce(p_floats[(x->>'s')::int + 1], false);
        ELSE
            n := cardinality(st);
            IF x->>'o' IN ('neg', 'pos') THEN
                IF x->>'o' = 'neg' THEN st[n] := -st[n]; END IF;
                CONTINUE;
            END IF;
            a := st[n - 1]; af := sf[n - 1]; b := st[n]; bf := sf[n];
            rf := af OR bf;
            CASE x->>'o'
            WHEN '+' THEN r := a + b;
            WHEN '-' THEN r := a - b;
            WHEN '*' THEN r := a * b;
            WHEN '/' THEN
                IF b = 0 THEN r := 0; rf := false; ELSE r := a / b; rf := true; END IF;
            WHEN '%' THEN
                -- Python's modulo takes the divisor's sign
                IF b = 0 THEN r := 0; rf := false; ELSE r := a - b * floor(a / b); END IF;
            ELSE
                BEGIN
                    r := power(a, b);
                EXCEPTION WHEN others THEN
                    r := 0;
                END;
                rf := rf OR b < 0;
            END CASE;
            st := st[1:n - 2] || r;
            sf := sf[1:n - 2] || rf;
        END IF;
    END LOOP;
    val := st[1];
    is_float := sf[1];
END $$;

-- aggregate: the PostgreSQL events store -------------------------------------

CREATE OR REPLACE FUNCTION ngx_dashboards_trends_null_marker()
RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT '$$_posthog_breakdown_null_$$'::text $f$;

CREATE OR REPLACE FUNCTION ngx_dashboards_trends_other_marker()
RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT '$$_posthog_breakdown_other_$$'::text $f$;

-- A value appended to the statement's parameter array; returns its
-- reference, ($1->>n) (text) or ($1->n) (jsonb).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_param(INOUT p_params jsonb, p_value jsonb,
                                                       p_json boolean, OUT ref text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_params || jsonb_build_array(p_value),
           format(CASE WHEN p_json THEN '($1->%s)' ELSE '($1->>%s)' END,
                  jsonb_array_length(p_params))
$$;

-- A numeric (float), date (ts) or version (semver) comparison of a
-- property with a value; false when either side is not a number (a date, a
-- version).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_cmp(p_kind text, p_prop text, p_op text,
                                                     p_ref text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format('coalesce(ngx_dashboards_trends_%s(%s) %s ngx_dashboards_trends_%s(%s), false)',
                  p_kind, p_prop, p_op, p_kind, p_ref)
$$;

-- SQL condition of one normalised property filter or group (see
-- ngx_dashboards_trends_props) over events `e` and persons `pp`, its values
-- appended to p_params.  PostHog's property_to_expr semantics
-- (posthog/hogql/property.py): a missing property (absent, JSON null or "")
-- is NULL; negative operators are true on it, the others false.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_cond(p_node jsonb, INOUT p_params jsonb,
                                                      OUT cond text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_parts text[] := '{}';
    c record;
    x jsonb;
    v_op text;
    v_prop text;
    v_val jsonb;
    v_ref text;
    v_one text;
    v_bounds text[];
BEGIN
    IF p_node ? 'values' AND p_node->>'type' IN ('AND', 'OR') THEN
        FOR x IN SELECT e FROM jsonb_array_elements(p_node->'values') e LOOP
            c := ngx_dashboards_trends_cond(x, p_params);
            p_params := c.p_params;
            v_parts := v_parts || c.cond;
        END LOOP;
        cond := CASE WHEN cardinality(v_parts) = 0 THEN 'true'
                     ELSE '(' || array_to_string(v_parts, ' ' || (p_node->>'type') || ' ') || ')' END;
        RETURN;
    END IF;
    v_op := p_node->>'operator';
    SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, p_node->'key', false);
    p_params := c.p_params;
    v_prop := format('nullif(%s.properties ->> %s, '''')',
                     CASE WHEN p_node->>'type' = 'person' THEN 'pp' ELSE 'e' END, c.ref);
    IF v_op = 'is_set' THEN
        cond := v_prop || ' IS NOT NULL';
        RETURN;
    ELSIF v_op = 'is_not_set' THEN
        cond := v_prop || ' IS NULL';
        RETURN;
    END IF;
    v_val := coalesce(p_node->'value', 'null');
    IF v_op IN ('between', 'not_between') THEN
        -- [min, max] (checked by ngx_dashboards_trends_props, read as the
        -- check reads them): prop >= min AND prop <= max, or prop < min OR
        -- prop > max; every comparison with a missing property is false
        -- (ifNull(..., 0)), so it is in neither
        SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, v_val->0, true);
        p_params := c.p_params;
        v_ref := c.ref;
        SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, v_val->1, true);
        p_params := c.p_params;
        v_one := 'coalesce(ngx_dashboards_trends_float(%1$s) %2$s '
                 'ngx_dashboards_trends_pyfloat(%3$s), false)';
        cond := CASE WHEN v_op = 'between'
            THEN format(v_one, v_prop, '>=', v_ref) || ' AND ' || format(v_one, v_prop, '<=', c.ref)
            ELSE format(v_one, v_prop, '<', v_ref) || ' OR ' || format(v_one, v_prop, '>', c.ref) END;
        cond := '(' || cond || ')';
        RETURN;
    END IF;
    IF jsonb_typeof(v_val) = 'array' THEN
        IF jsonb_array_length(v_val) = 0 THEN
            cond := 'true';
            RETURN;
        ELSIF jsonb_array_length(v_val) = 1 THEN
            v_val := v_val->0;
        END IF;
    END IF;
    IF jsonb_typeof(v_val) = 'array' AND v_op IN ('exact', 'in', 'is_not', 'not_in', 'is_date_exact') THEN
        SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, v_val, true);
        p_params := c.p_params;
        cond := CASE WHEN v_op IN ('is_not', 'not_in')
            THEN format('coalesce(%s <> ALL (ARRAY(SELECT jsonb_array_elements_text(%s))), true)', v_prop, c.ref)
            ELSE format('coalesce(%s = ANY (ARRAY(SELECT jsonb_array_elements_text(%s))), false)', v_prop, c.ref) END;
        RETURN;
    END IF;
    FOR x IN SELECT e FROM jsonb_array_elements(
                 CASE WHEN jsonb_typeof(v_val) = 'array' THEN v_val ELSE jsonb_build_array(v_val) END) e LOOP
        IF v_op IN ('semver_tilde', 'semver_caret', 'semver_wildcard') THEN
            -- lower <= version < upper, both bounds bound values
            v_bounds := ngx_dashboards_trends_semver_bounds(v_op, x);
            SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, to_jsonb(v_bounds[1]), false);
            p_params := c.p_params;
            v_ref := c.ref;
            SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, to_jsonb(v_bounds[2]), false);
            p_params := c.p_params;
            v_parts := v_parts || format('(%s AND %s)',
                ngx_dashboards_trends_cmp('semver', v_prop, '>=', v_ref),
                ngx_dashboards_trends_cmp('semver', v_prop, '<', c.ref));
            CONTINUE;
        END IF;
        SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, x, false);
        p_params := c.p_params;
        v_ref := c.ref;
        v_one := CASE v_op
            WHEN 'exact' THEN format('coalesce(%s = %s, false)', v_prop, v_ref)
            WHEN 'in' THEN format('coalesce(%s = %s, false)', v_prop, v_ref)
            WHEN 'is_date_exact' THEN format('coalesce(%s = %s, false)', v_prop, v_ref)
            WHEN 'is_not' THEN format('coalesce(%s <> %s, true)', v_prop, v_ref)
            WHEN 'not_in' THEN format('coalesce(%s <> %s, true)', v_prop, v_ref)
            WHEN 'icontains'
                THEN format('coalesce(%s ILIKE (''%%'' || %s || ''%%''), false)', v_prop, v_ref)
            WHEN 'not_icontains'
                THEN format('coalesce(%s NOT ILIKE (''%%'' || %s || ''%%''), true)', v_prop, v_ref)
            WHEN 'regex' THEN format('coalesce(%s ~ %s, false)', v_prop, v_ref)
            WHEN 'not_regex' THEN format('coalesce(NOT (%s ~ %s), true)', v_prop, v_ref)
            WHEN 'gt' THEN ngx_dashboards_trends_cmp('float', v_prop, '>', v_ref)
            WHEN 'gte' THEN ngx_dashboards_trends_cmp('float', v_prop, '>=', v_ref)
            WHEN 'lt' THEN ngx_dashboards_trends_cmp('float', v_prop, '<', v_ref)
            WHEN 'lte' THEN ngx_dashboards_trends_cmp('float', v_prop, '<=', v_ref)
            -- min and max are gte and lte (_expr_to_compare_op)
            WHEN 'min' THEN ngx_dashboards_trends_cmp('float', v_prop, '>=', v_ref)
            WHEN 'max' THEN ngx_dashboards_trends_cmp('float', v_prop, '<=', v_ref)
            -- sortableSemver(prop) <op> sortableSemver(value); a missing or
            -- invalid version is in no comparison, semver_neq included
            WHEN 'semver_eq' THEN ngx_dashboards_trends_cmp('semver', v_prop, '=', v_ref)
            WHEN 'semver_neq' THEN ngx_dashboards_trends_cmp('semver', v_prop, '<>', v_ref)
            WHEN 'semver_gt' THEN ngx_dashboards_trends_cmp('semver', v_prop, '>', v_ref)
            WHEN 'semver_gte' THEN ngx_dashboards_trends_cmp('semver', v_prop, '>=', v_ref)
            WHEN 'semver_lt' THEN ngx_dashboards_trends_cmp('semver', v_prop, '<', v_ref)
            WHEN 'semver_lte' THEN ngx_dashboards_trends_cmp('semver', v_prop, '<=', v_ref)
            WHEN 'is_date_after' THEN ngx_dashboards_trends_cmp('ts', v_prop, '>', v_ref)
            WHEN 'is_date_before' THEN ngx_dashboards_trends_cmp('ts', v_prop, '<', v_ref)
            END;
        v_parts := v_parts || v_one;
    END LOOP;
    cond := '(' || array_to_string(v_parts,
        CASE WHEN v_op IN ('not_icontains', 'not_regex', 'is_not', 'not_in') THEN ' AND ' ELSE ' OR ' END) || ')';
END $$;

-- SQL condition of an action (PostHog's action_to_expr): OR of its steps,
-- each the AND of its event name, its URL ($current_url: contains (LIKE,
-- case-sensitive), exact or regex) and its property filters.  Element
-- matching (selector, text, href, tag_name) is not supported here.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_action_cond(p_steps jsonb, INOUT p_params jsonb,
                                                             OUT cond text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    st jsonb;
    v_and text[];
    v_or text[] := '{}';
    c record;
    k record;
BEGIN
    FOR st IN SELECT e FROM jsonb_array_elements(
                  CASE WHEN jsonb_typeof(p_steps) = 'array' THEN p_steps ELSE '[]' END) e LOOP
        IF coalesce(st->>'selector', '') <> '' OR coalesce(st->>'text', '') <> ''
           OR coalesce(st->>'href', '') <> '' OR coalesce(st->>'tag_name', '') <> '' THEN
            PERFORM ngx_dashboards_trends_invalid(
                'Action steps that match page elements are not supported here.');
        END IF;
        v_and := '{}';
        IF coalesce(st->>'event', '') <> '' THEN
            SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, st->'event', false);
            p_params := c.p_params;
            v_and := v_and || format('e.event = %s', c.ref);
        END IF;
        IF coalesce(st->>'url', '') <> '' THEN
            SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, st->'url', false);
            p_params := c.p_params;
            v_and := v_and || CASE coalesce(st->>'url_matching', 'contains')
                WHEN 'exact' THEN format('coalesce(e.properties ->> ''$current_url'' = %s, false)', c.ref)
                WHEN 'regex' THEN format('coalesce(e.properties ->> ''$current_url'' ~ %s, false)', c.ref)
                ELSE format('coalesce(e.properties ->> ''$current_url'' LIKE (''%%'' || %s || ''%%''), false)', c.ref)
                END;
        END IF;
        IF jsonb_typeof(st->'properties') = 'array' THEN
            k := ngx_dashboards_trends_cond(ngx_dashboards_trends_props(st->'properties', 'action step properties'),
                                            p_params);
            p_params := k.p_params;
            v_and := v_and || k.cond;
        END IF;
        v_or := v_or || CASE WHEN cardinality(v_and) = 0 THEN 'true'
                             ELSE '(' || array_to_string(v_and, ' AND ') || ')' END;
    END LOOP;
    cond := CASE WHEN cardinality(v_or) = 0 THEN 'false'
                 ELSE '(' || array_to_string(v_or, ' OR ') || ')' END;
END $$;

-- The statement of one series over one period; executed with
-- USING params ($1 jsonb), team ($2), from ($3), to ($4), buckets ($5).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_statement(p_plan jsonb, p_series jsonb,
                                                           INOUT p_params jsonb, OUT sql text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_math text := coalesce(p_series->>'math', 'total');
    v_total boolean := (p_plan->>'total_value')::boolean;
    v_bd jsonb := CASE WHEN jsonb_typeof(p_plan->'breakdown') = 'object' THEN p_plan->'breakdown' END;
    v_where text[] := '{}';
    v_value text;
    v_agg text;
    v_bv text;
    v_bucket text;
    v_window text;
    v_person boolean;
    v_pp boolean;
    v_g text;
    v_lim text;
    v_distinct boolean := false;
    v_pid boolean := false;
    v_src text := 'ev';
    v_kb text;
    v_kbv text;
    v_q text;
    v_bits boolean := false;
    v_w int;
    v_span int;
    v_nw int;
    v_x text;
    v_a text;
    v_c text;
    v_word text;
    v_any text;
    c record;
BEGIN
    -- which events
    IF p_series->>'kind' = 'ActionsNode' THEN
        SELECT * INTO c FROM ngx_dashboards_trends_action_cond(p_series->'steps', p_params);
        p_params := c.p_params;
        v_where := v_where || c.cond;
    ELSIF p_series->>'event' IS NOT NULL THEN
        SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, p_series->'event', false);
        p_params := c.p_params;
        v_where := v_where || format('e.event = %s', c.ref);
    END IF;
    SELECT * INTO c FROM ngx_dashboards_trends_cond(p_plan->'properties', p_params);
    p_params := c.p_params;
    v_where := v_where || c.cond;
    SELECT * INTO c FROM ngx_dashboards_trends_cond(p_series->'properties', p_params);
    p_params := c.p_params;
    v_where := v_where || c.cond;

    -- the value each event contributes, and the per-bucket aggregate
    -- (aggregation_operations.py)
    -- distinct maths count the rows of u, the distinct (bucket, breakdown
    -- value, person or session) of ev (hash aggregates instead of a sort per
    -- bucket); a person is its posthog_persondistinctid.person_id, else its
    -- distinct id (pid NULL), looked up once per distinct id and bucket
    IF v_math IN ('dau', 'weekly_active', 'monthly_active') THEN
        v_value := 'e.distinct_id';
        v_agg := 'count(*)';
        v_distinct := true;
        v_pid := true;
    ELSIF v_math = 'unique_session' THEN
        v_value := 'coalesce(e.properties ->> ''$session_id'', '''')';
        v_agg := 'count(*)';
        v_distinct := true;
    ELSIF (p_series->>'float')::boolean THEN
        SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, p_series->'math_property', false);
        p_params := c.p_params;
        v_value := format('ngx_dashboards_trends_float(%s.properties ->> %s)',
                          CASE WHEN (p_series->>'person_math')::boolean THEN 'pp' ELSE 'e' END, c.ref);
        v_agg := CASE v_math
            WHEN 'sum' THEN 'coalesce(sum(v), 0)'
            WHEN 'avg' THEN 'coalesce(avg(v), 0)'
            WHEN 'min' THEN 'coalesce(min(v), 0)'
            WHEN 'max' THEN 'coalesce(max(v), 0)'
            ELSE format('coalesce(percentile_cont(%s) WITHIN GROUP (ORDER BY v), 0)',
                        CASE v_math WHEN 'median' THEN '0.5' WHEN 'p75' THEN '0.75'
                             WHEN 'p90' THEN '0.9' WHEN 'p95' THEN '0.95' ELSE '0.99' END)
            END;
    ELSE
        v_value := 'NULL::text';
        v_agg := 'count(*)';
    END IF;

    -- breakdown value (breakdown.py): missing, null or "" is the null marker
    IF v_bd IS NOT NULL THEN
        SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, v_bd->'property', false);
        p_params := c.p_params;
        v_bv := format('nullif(%s.properties ->> %s, '''')',
                       CASE WHEN (v_bd->>'person')::boolean THEN 'pp' ELSE 'e' END, c.ref);
        IF (v_bd->>'normalize_url')::boolean THEN
            v_bv := format('coalesce(nullif(rtrim(%s, ''/?#''), ''''), CASE WHEN %s IS NOT NULL THEN ''/'' END)',
                           v_bv, v_bv);
        END IF;
        v_bv := format('coalesce(%s, ($1->>3))', v_bv);
        SELECT * INTO c FROM ngx_dashboards_trends_param(p_params, v_bd->'limit', false);
        p_params := c.p_params;
        v_lim := c.ref || '::int';
    ELSE
        v_bv := 'NULL::text';
    END IF;

    v_w := CASE v_math WHEN 'weekly_active' THEN 7 WHEN 'monthly_active' THEN 30 ELSE 0 END;
    v_window := CASE WHEN v_w > 0 THEN v_w || ' days' END;
    -- weekly/monthly actives compare the event's day (hour) with the bucket
    v_bucket := CASE WHEN v_window IS NOT NULL
        THEN format('date_trunc(%L, e."timestamp" AT TIME ZONE ($1->>0))',
                    CASE WHEN p_plan->>'interval' IN ('hour', 'minute') THEN 'hour' ELSE 'day' END)
        ELSE 'ngx_dashboards_trends_start(e."timestamp" AT TIME ZONE ($1->>0), ($1->>1), ($1->>2)::int)' END;

    -- persons are joined to events only when a person property is read
    v_pp := array_to_string(v_where, ' ') LIKE '%pp.%'
            OR v_value LIKE '%pp.%' OR v_bv LIKE '%pp.%';
    v_person := v_pp;
    IF v_pid AND v_pp THEN
        v_value := 'pdi.person_id';
    END IF;

    -- Actors as bit masks: the persons' maths over buckets by time keep one
    -- bit per position and actor, set when the actor has an event in it (a
    -- bucket's ordinal; for weekly / monthly actives a day counted from w
    -- days before the first bucket, so that a bucket's window is the w
    -- positions ending at its own), in bigints m0, m1, .. of 64 positions
    -- each.  Events are grouped by distinct id and then by person (~170,000
    -- and ~130,000 groups on the 10M bench, against ~1,000,000 distinct
    -- (bucket, distinct id) and (bucket, person) pairs, a sort and a window
    -- join before): the bench's weekly_active took 4.6 s and takes ~1.8 s
    -- (bench/RESULTS.md).  Only when every position of both periods fits in
    -- 2 bigints (128 positions: a 90-day monthly_active by day; with more,
    -- sparse events took longer than the pairs), and not for minutes (nor
    -- hours for the weekly / monthly windows); other queries take the pairs
    -- below.
    IF v_pid AND NOT v_total AND p_plan->>'interval' IN ('hour', 'day', 'week', 'month')
       AND (v_window IS NULL OR p_plan->>'interval' <> 'hour') THEN
        SELECT max(CASE WHEN v_w > 0
                        THEN ((k->>-1)::timestamp::date - (k->>0)::timestamp::date) + v_w + 1
                        ELSE jsonb_array_length(k) END)
          INTO v_span
          FROM (VALUES (p_plan->'current'->'buckets'),
                       (CASE WHEN jsonb_typeof(p_plan->'previous') = 'object'
                             THEN p_plan->'previous'->'buckets' END)) b(k)
         WHERE jsonb_typeof(k) = 'array' AND jsonb_array_length(k) > 0;
        v_bits := v_span BETWEEN 1 AND 128;
    END IF;
    IF v_bits THEN
        -- a day's position straight from the local time (its date is its day)
        v_bucket := CASE
            WHEN v_w > 0 THEN format('(e."timestamp" AT TIME ZONE ($1->>0))::date - ($5[1])::date + %s', v_w)
            WHEN p_plan->>'interval' = 'day' THEN '(e."timestamp" AT TIME ZONE ($1->>0))::date - ($5[1])::date'
            WHEN p_plan->>'interval' = 'week' THEN format('((%s)::date - ($5[1])::date) / 7', v_bucket)
            WHEN p_plan->>'interval' = 'month'
                THEN format('((extract(year FROM %1$s) - extract(year FROM $5[1])) * 12'
                            ' + extract(month FROM %1$s) - extract(month FROM $5[1]))::int', v_bucket)
            ELSE format('(extract(epoch FROM %s - $5[1]) / 3600)::int', v_bucket) END;
        v_nw := (v_span + 63) / 64;
        -- x: a distinct id's words (a position out of them sets no bit); a:
        -- a person's; c: the positions each actor counts in, a window's w
        -- shifts carrying into the next word (the top bits of the word
        -- below, masked: >> keeps the sign)
        SELECT string_agg(format('bit_or(CASE WHEN b >> 6 = %s THEN 1::int8 << (b & 63) END) AS m%s', k, k), ', '
                          ORDER BY k),
               string_agg(format(CASE WHEN v_pp THEN 'coalesce(x.m%s, 0) AS m%s'
                                      ELSE 'coalesce(bit_or(x.m%s), 0) AS m%s' END, k, k), ', ' ORDER BY k),
               string_agg((SELECT string_agg(CASE WHEN j = 0 THEN format('m%s', k)
                                                  ELSE format('(m%s << %s)', k, j)
                                                       || CASE WHEN k > 0 THEN format(' | ((m%s >> %s) & %s)',
                                                                                      k - 1, 64 - j, (1::int8 << j) - 1)
                                                               ELSE '' END END, ' | ' ORDER BY j)
                             FROM generate_series(0, greatest(v_w, 1) - 1) j) || format(' AS m%s', k), ', ' ORDER BY k),
               CASE WHEN v_nw = 1 THEN 'c.m0'
                    ELSE 'CASE k / 8' || string_agg(format(' WHEN %s THEN c.m%s', k, k), '' ORDER BY k) || ' END' END,
               string_agg(format('m%s', k), ' | ' ORDER BY k)
          INTO v_x, v_a, v_c, v_word, v_any
          FROM generate_series(0, v_nw - 1) k;
    END IF;

    -- ev is read once, so the planner inlines it (no tuplestore of every
    -- event); u, which the weekly / monthly window reads twice, is
    -- materialized once it is deduplicated
    sql := 'WITH ev AS (SELECT ' || v_bucket || ' AS b, ' || v_value || ' AS v, '
        || CASE WHEN v_pid AND v_pp THEN 'e.distinct_id AS did, ' ELSE '' END
        || v_bv || ' AS bv FROM posthog_event e'
        || CASE WHEN v_person THEN
               ' LEFT JOIN posthog_persondistinctid pdi ON pdi.team_id = e.team_id'
               ' AND pdi.distinct_id = e.distinct_id' ELSE '' END
        || CASE WHEN v_pp THEN ' LEFT JOIN posthog_person pp ON pp.id = pdi.person_id' ELSE '' END
        || ' WHERE e.team_id = $2 AND e."timestamp" >= $3 AND e."timestamp" <= $4'
        || CASE WHEN cardinality(v_where) > 0 THEN ' AND ' || array_to_string(v_where, ' AND ') ELSE '' END
        || ')';
    IF v_bits THEN
        -- a: each actor's mask (per breakdown value); c: the positions it
        -- counts in (materialized: computed once, not once per byte); y: the
        -- actors counted per byte and byte value; g: for each bucket, the
        -- counts of the byte values that have its bit (no row where none
        -- has, as the pairs give)
        IF v_pp THEN
            sql := sql || ', x AS (SELECT bv, ' || v_x || ' FROM ev'
                || ' GROUP BY bv, v, CASE WHEN v IS NULL THEN did END)'
                || ', a AS (SELECT x.bv, ' || v_a || ' FROM x)';
        ELSE
            sql := sql || ', x AS (SELECT bv, v, ' || v_x || ' FROM ev GROUP BY bv, v)'
                || ', a AS (SELECT x.bv, ' || v_a || ' FROM x'
                || ' LEFT JOIN posthog_persondistinctid pdi ON pdi.team_id = $2 AND pdi.distinct_id = x.v'
                || ' GROUP BY x.bv, pdi.person_id, CASE WHEN pdi.person_id IS NULL THEN x.v END)';
        END IF;
        sql := sql || ', c AS MATERIALIZED (SELECT bv, ' || v_c || ' FROM a WHERE (' || v_any || ') <> 0)'
            || format(', y AS (SELECT bv, k, v, count(*)::int AS n FROM (SELECT c.bv, k,'
                      ' ((%s) >> (8 * (k %% 8))) & 255 AS v FROM c CROSS JOIN generate_series(0, %s) k) z'
                      ' WHERE v <> 0 GROUP BY 1, 2, 3)', v_word, (v_span - 1) / 8)
            || ', g AS (SELECT bv, b, val FROM (SELECT y.bv, d.b, sum(((y.v >> (d.q % 8)::int) & 1)::int * y.n) AS val'
            || ' FROM y JOIN (SELECT b, '
            || CASE WHEN v_w > 0 THEN format('d.b::date - ($5[1])::date + %s', v_w) ELSE 'd.i - 1' END
            || ' AS q FROM unnest($5) WITH ORDINALITY d(b, i)) d ON y.k = d.q / 8'
            || ' GROUP BY y.bv, d.b) s WHERE val > 0)';
    ELSIF v_distinct THEN
        -- u: (b, bv, pid, v) distinct; a total value has no bucket column.
        -- Without a breakdown (bv) or person (pid) the constant is added
        -- after the DISTINCT, keeping the hashed rows narrow.
        v_src := 'u';
        v_kb := CASE WHEN v_total THEN '' ELSE 'b, ' END;
        v_kbv := CASE WHEN v_bd IS NULL THEN '' ELSE 'bv, ' END;
        IF NOT v_pid THEN
            v_q := 'SELECT DISTINCT ' || v_kb || v_kbv || 'v FROM ev';
        ELSIF v_pp THEN
            v_q := 'SELECT DISTINCT ' || v_kb || v_kbv
                || 'v AS pid, CASE WHEN v IS NULL THEN did END AS v FROM ev';
        ELSE
            sql := sql || ', x AS (SELECT DISTINCT ' || v_kb || v_kbv || 'v FROM ev)';
            v_q := 'SELECT DISTINCT ' || v_kb || v_kbv
                || 'pdi.person_id AS pid, CASE WHEN pdi.person_id IS NULL THEN x.v END AS v'
                || ' FROM x LEFT JOIN posthog_persondistinctid pdi ON pdi.team_id = $2'
                || ' AND pdi.distinct_id = x.v';
        END IF;
        sql := sql || ', u AS (SELECT ' || v_kb
            || CASE WHEN v_bd IS NULL THEN 'NULL::text AS bv, ' ELSE 'bv, ' END
            || CASE WHEN v_pid THEN 'pid, ' ELSE 'NULL::bigint AS pid, ' END
            || 'v FROM (' || v_q || ') y)';
    END IF;

    IF v_total THEN
        -- one aggregate over the whole range (no date column)
        IF v_bd IS NULL THEN
            sql := sql || ' SELECT jsonb_build_array(jsonb_build_object(''breakdown_value'', NULL,'
                || ' ''total'', (SELECT ' || v_agg || ' FROM ' || v_src || ')))';
        ELSE
            sql := sql || ', g AS (SELECT bv, ' || v_agg || ' AS val FROM ' || v_src || ' GROUP BY bv)'
                || ', r AS (SELECT bv, val, row_number() OVER (ORDER BY val DESC, bv COLLATE "C") AS rn FROM g)'
                || ', m AS (SELECT CASE WHEN rn <= ' || v_lim || ' THEN bv ELSE ($1->>4) END AS bv,'
                || ' sum(val) AS val FROM r GROUP BY 1)'
                || ' SELECT coalesce(jsonb_agg(jsonb_build_object(''breakdown_value'', bv, ''total'', val)'
                || ' ORDER BY (bv = ($1->>4))::int * 2 + (bv = ($1->>3))::int, val DESC, bv COLLATE "C"),'
                || ' ''[]'') FROM m';
        END IF;
        RETURN;
    END IF;

    IF v_bits THEN
        v_g := '';
    ELSIF v_window IS NOT NULL THEN
        -- a row of u (an actor's day or hour) counts in the buckets whose
        -- window holds it, b <= bucket < b + window, less those its previous
        -- row (pb) already counted it in: each actor once per bucket without
        -- a DISTINCT over every (actor, bucket).  w maps each day (hour) of
        -- u to the buckets whose window holds it, so u joins it by equality.
        v_g := ', w AS (SELECT y.b AS ub, d.b FROM (SELECT DISTINCT b FROM u) y JOIN unnest($5) d(b)'
            || format(' ON y.b > d.b - interval %L AND y.b <= d.b)', v_window)
            || ', l AS (SELECT bv, b, lag(b) OVER (PARTITION BY bv, pid, v ORDER BY b) AS pb FROM u)'
            || ', g AS (SELECT l.bv, w.b, count(*) AS val FROM l JOIN w ON w.ub = l.b'
            || format(' WHERE l.pb IS NULL OR w.b >= l.pb + interval %L GROUP BY l.bv, w.b)', v_window);
    ELSE
        v_g := ', g AS (SELECT bv, b, ' || v_agg || ' AS val FROM ' || v_src || ' GROUP BY bv, b)';
    END IF;
    sql := sql || v_g;
    IF v_bd IS NULL THEN
        sql := sql || ' SELECT jsonb_build_array(jsonb_build_object(''breakdown_value'', NULL,'
            || ' ''data'', (SELECT coalesce(jsonb_agg(coalesce(g.val, 0) ORDER BY d.i), ''[]'')'
            || ' FROM unnest($5) WITH ORDINALITY d(b, i) LEFT JOIN g ON g.b = d.b)))';
    ELSE
        sql := sql
            || ', t AS (SELECT bv, sum(val) AS tot FROM g GROUP BY bv)'
            || ', r AS (SELECT bv, row_number() OVER (ORDER BY (bv = ($1->>3))::int, tot DESC,'
            || ' bv COLLATE "C") AS rn FROM t)'
            || ', m AS (SELECT CASE WHEN r.rn <= ' || v_lim || ' THEN g.bv ELSE ($1->>4) END AS bv,'
            || ' g.b, sum(g.val) AS val FROM g JOIN r USING (bv) GROUP BY 1, 2)'
            || ', o AS (SELECT k.bv, (SELECT coalesce(jsonb_agg(coalesce(m.val, 0) ORDER BY d.i), ''[]'')'
            || ' FROM unnest($5) WITH ORDINALITY d(b, i) LEFT JOIN m ON m.bv = k.bv AND m.b = d.b) AS data,'
            || ' k.tot FROM (SELECT bv, sum(val) AS tot FROM m GROUP BY bv) k)'
            || ' SELECT coalesce(jsonb_agg(jsonb_build_object(''breakdown_value'', bv, ''data'', data)'
            || ' ORDER BY (bv = ($1->>4))::int * 2 + (bv = ($1->>3))::int, tot DESC, bv COLLATE "C"),'
            || ' ''[]'') FROM o';
    END IF;
END $$;

-- Stage 2 over PostgreSQL: the raw aggregates of every series (current
-- period first, then the previous one when comparing), see the top of file.
-- jit off: on 10,000,000 events a weekly_active statement's cost passes
-- jit_inline_above_cost and compiling took 1.5 s of its 15 (bench/RESULTS.md)
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_aggregate(p_team_id int, p_plan jsonb)
RETURNS jsonb LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
    v_out jsonb := '[]';
    v_base jsonb;
    s jsonb;
    per text;
    p jsonb;
    st record;
    v_rows jsonb;
    v_from timestamptz;
    v_to timestamptz;
    v_math text;
BEGIN
    v_base := jsonb_build_array(p_plan->>'tz', p_plan->>'interval', p_plan->'week_start',
                                ngx_dashboards_trends_null_marker(),
                                ngx_dashboards_trends_other_marker());
    FOREACH per IN ARRAY CASE WHEN p_plan->'previous' IS NOT NULL
                                   AND jsonb_typeof(p_plan->'previous') = 'object'
                              THEN ARRAY['current', 'previous'] ELSE ARRAY['current'] END LOOP
        p := p_plan->per;
        FOR s IN SELECT x FROM jsonb_array_elements(p_plan->'series') x LOOP
            IF NOT (s->>'exists')::boolean THEN
                v_rows := '[]';
            ELSE
                SELECT * INTO st FROM ngx_dashboards_trends_statement(p_plan, s, v_base);
                v_from := (p->>'from')::timestamptz;
                v_to := (p->>'to')::timestamptz;
                v_math := s->>'math';
                IF v_math IN ('weekly_active', 'monthly_active') THEN
                    v_from := CASE WHEN (p_plan->>'total_value')::boolean THEN v_to ELSE v_from END
                              - CASE v_math WHEN 'weekly_active' THEN interval '7 days'
                                            ELSE interval '30 days' END;
                END IF;
                EXECUTE st.sql INTO v_rows
                    USING st.p_params, p_team_id, v_from, v_to,
                          ARRAY(SELECT b::timestamp FROM jsonb_array_elements_text(p->'buckets') b);
            END IF;
            v_out := v_out || jsonb_build_array(jsonb_build_object(
                'series', s->'index', 'previous', per = 'previous', 'rows', v_rows));
        END LOOP;
    END LOOP;
    RETURN v_out;
EXCEPTION WHEN invalid_regular_expression THEN
    PERFORM ngx_dashboards_trends_invalid(format('Invalid regular expression: %s', SQLERRM));
END $$;

-- format ----------------------------------------------------------------------

-- format_label_date (timestamp_utils.py): a bucket's label.  Week labels
-- span the bucket's week clipped to the period's dates, with an EN DASH.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_label(p_bucket timestamp, p_interval text,
                                                       p_from date, p_to date)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_interval IN ('hour', 'minute') THEN to_char(p_bucket, 'FMDD-Mon HH24:MI')
        WHEN p_interval = 'month' THEN to_char(p_bucket, 'Mon YYYY')
        WHEN p_interval <> 'week' THEN to_char(p_bucket, 'FMDD-Mon-YYYY')
        WHEN s = e THEN to_char(s, 'FMDD-Mon-YYYY')
        WHEN extract(year FROM s) <> extract(year FROM e)
            THEN to_char(s, 'FMDD-Mon-YYYY') || ' ' || U&'\2013' || ' ' || to_char(e, 'FMDD-Mon-YYYY')
        WHEN extract(month FROM s) <> extract(month FROM e)
            THEN to_char(s, 'FMDD-Mon') || ' ' || U&'\2013' || ' ' || to_char(e, 'FMDD-Mon')
        ELSE to_char(s, 'FMDD') || U&'\2013' || to_char(e, 'FMDD Mon') END
      FROM (SELECT greatest(p_bucket::date, p_from) AS s,
                   greatest(least(p_bucket::date + 6, p_to), greatest(p_bucket::date, p_from)) AS e) w
$$;

-- The axis of one period: labels, days and action.days (json arrays,
-- written compactly as ngx_dashboards_trends_arr says).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_axis(p_plan jsonb, p_period jsonb,
                                                      OUT labels json, OUT days json,
                                                      OUT action_days json)
LANGUAGE sql STABLE AS $$
    SELECT ngx_dashboards_trends_arr(array_agg(to_json(ngx_dashboards_trends_label(b, p_plan->>'interval',
                                 (p_period->>'date_from')::timestamp::date,
                                 (p_period->>'date_to')::timestamp::date)) ORDER BY i)),
           ngx_dashboards_trends_arr(array_agg(to_json(to_char(b, CASE WHEN p_plan->>'interval' IN ('hour', 'minute')
                                             THEN 'YYYY-MM-DD HH24:MI:SS' ELSE 'YYYY-MM-DD' END))
                             ORDER BY i)),
           ngx_dashboards_trends_arr(array_agg(to_json(ngx_dashboards_trends_iso(b, p_plan->>'tz')) ORDER BY i))
      FROM jsonb_array_elements_text(p_period->'buckets') WITH ORDINALITY a(t, i),
           LATERAL (SELECT t::timestamp AS b) x
$$;

-- A json array of numbers as float8[].
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_floats(p_arr jsonb)
RETURNS float8[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY(SELECT v::float8 FROM jsonb_array_elements_text(p_arr) WITH ORDINALITY a(v, o)
                  ORDER BY o)
$$;

-- A row's numbers as a json array.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_nums(p_vals float8[], p_floats boolean[])
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT ngx_dashboards_trends_arr(array_agg(ngx_dashboards_trends_num(v, f) ORDER BY i))
      FROM unnest(p_vals, p_floats) WITH ORDINALITY u(v, f, i)
$$;

-- Stage 3: PostHog's TrendsQueryResponse body from a plan and the raw
-- aggregates: {"hasMore", "resolved_date_range", "results"}.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_format(p_plan jsonb, p_raw jsonb)
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_total boolean := (p_plan->>'total_value')::boolean;
    v_bd boolean := jsonb_typeof(p_plan->'breakdown') = 'object';
    v_compare boolean := jsonb_typeof(p_plan->'previous') = 'object';
    v_cum boolean := (p_plan->>'cumulative')::boolean;
    v_nseries int := jsonb_array_length(p_plan->'series');
    v_other text := ngx_dashboards_trends_other_marker();
    v_null text := ngx_dashboards_trends_null_marker();
    v_filter json := (p_plan->>'filter')::json;
    v_items jsonb := '[]';
    v_out json[] := '{}';
    e jsonb; r jsonb; s jsonb; it jsonb; f jsonb;
    v_vals float8[]; v_fl boolean[];
    v_axis record; v_axis_prev record;
    v_ax record;
    v_label text;
    v_data json;
    v_count json;
    v_keys text[]; v_jv json[];
    v_more boolean := false;
    k int;
    per boolean;
    g record;
    v_res record;
    v_sv float8[]; v_sf boolean[];
    n int; j int; si int;
    v_tmp float8;
    v_tmpf boolean;
BEGIN
    v_axis := ngx_dashboards_trends_axis(p_plan, p_plan->'current');
    IF v_compare THEN
        v_axis_prev := ngx_dashboards_trends_axis(p_plan, p_plan->'previous');
    END IF;

    -- items: one per raw row, values as float8 arrays (cumulative applied)
    FOR e IN SELECT x FROM jsonb_array_elements(p_raw) x LOOP
        s := p_plan->'series'->((e->>'series')::int);
        FOR r IN SELECT x FROM jsonb_array_elements(e->'rows') x LOOP
            IF v_total THEN
                v_vals := ARRAY[(r->>'total')::float8];
            ELSE
                v_vals := ngx_dashboards_trends_floats(r->'data');
                IF v_cum THEN
                    v_vals := ARRAY(SELECT sum(v) OVER (ORDER BY o)
                                      FROM unnest(v_vals) WITH ORDINALITY u(v, o) ORDER BY o);
                END IF;
            END IF;
            v_label := s->>'label';
            IF v_bd THEN
                v_label := CASE WHEN v_nseries = 1 THEN r->>'breakdown_value'
                                ELSE v_label || ' - ' || (r->>'breakdown_value') END;
            END IF;
            v_items := v_items || jsonb_build_array(jsonb_build_object(
                's', (e->>'series')::int, 'prev', (e->>'previous')::boolean,
                'bv', r->'breakdown_value', 'vals', to_jsonb(v_vals),
                'float', (s->>'float')::boolean, 'label', v_label,
                'order', (e->>'series')::int, 'action', true));
        END LOOP;
    END LOOP;

    -- formulas (formula_ast.py): rows grouped by compare period and
    -- breakdown value, the series letters evaluated per bucket
    IF jsonb_typeof(p_plan->'formulas') = 'array' THEN
        DECLARE
            v_new jsonb := '[]';
        BEGIN
            k := 0;
            FOR f IN SELECT x FROM jsonb_array_elements(p_plan->'formulas') x LOOP
                FOR per IN SELECT unnest(CASE WHEN v_compare THEN ARRAY[false, true] ELSE ARRAY[false] END) LOOP
                    FOR g IN
                        SELECT i->'bv' AS bv, min((i->>'s')::int) AS first
                          FROM jsonb_array_elements(v_items) i
                         WHERE (i->>'prev')::boolean = per
                         GROUP BY i->'bv'
                    LOOP
                        it := (SELECT i FROM jsonb_array_elements(v_items) i
                                WHERE (i->>'prev')::boolean = per AND i->'bv' IS NOT DISTINCT FROM g.bv
                                  AND (i->>'s')::int = g.first);
                        n := jsonb_array_length(it->'vals');
                        v_vals := '{}'; v_fl := '{}';
                        FOR j IN 1 .. n LOOP
                            v_sv := array_fill(0::float8, ARRAY[v_nseries]);
                            v_sf := array_fill(false, ARRAY[v_nseries]);
                            FOR si IN 0 .. v_nseries - 1 LOOP
                                SELECT (i->'vals'->>(j - 1))::float8, (i->>'float')::boolean
                                  INTO v_tmp, v_tmpf
                                  FROM jsonb_array_elements(v_items) i
                                 WHERE (i->>'prev')::boolean = per AND i->'bv' IS NOT DISTINCT FROM g.bv
                                   AND (i->>'s')::int = si;
                                v_sv[si + 1] := coalesce(v_tmp, 0);
                                v_sf[si + 1] := coalesce(v_tmpf, false);
                                v_tmp := NULL; v_tmpf := NULL;
                            END LOOP;
                            v_res := ngx_dashboards_trends_eval(f->'rpn', v_sv, v_sf);
                            v_vals := v_vals || v_res.val;
                            v_fl := v_fl || (v_res.is_float OR v_total);
                        END LOOP;
                        v_new := v_new || jsonb_build_array(it || jsonb_build_object(
                            'vals', to_jsonb(v_vals), 'floats', to_jsonb(v_fl),
                            'label', coalesce(f->>'custom_name', 'Formula (' || (f->>'formula') || ')'),
                            'order', k, 'action', false, 'formula', true,
                            'sum', (SELECT sum(v) FROM unnest(v_vals) v)));
                    END LOOP;
                END LOOP;
                k := k + 1;
            END LOOP;
            -- breakdown formula rows: normal values, then null, then other;
            -- by total, descending
            SELECT coalesce(jsonb_agg(i ORDER BY (i->>'order')::int, (i->>'prev')::boolean,
                       CASE i->>'bv' WHEN v_other THEN 2 WHEN v_null THEN 1 ELSE 0 END,
                       (i->>'sum')::float8 DESC, i->>'bv' COLLATE "C"), '[]')
              INTO v_items FROM jsonb_array_elements(v_new) i;
        END;
    END IF;

    -- rows
    FOR it IN SELECT x FROM jsonb_array_elements(v_items) x LOOP
        IF it->>'bv' = v_other THEN
            v_more := true;
            CONTINUE WHEN (p_plan->'breakdown'->>'hide_other')::boolean;
        END IF;
        s := p_plan->'series'->((it->>'s')::int);
        per := (it->>'prev')::boolean;
        v_ax := CASE WHEN per THEN v_axis_prev ELSE v_axis END;
        v_vals := ngx_dashboards_trends_floats(it->'vals');
        v_fl := CASE WHEN it ? 'floats'
                     THEN ARRAY(SELECT v::boolean FROM jsonb_array_elements_text(it->'floats')
                                                       WITH ORDINALITY a(v, o) ORDER BY o)
                     ELSE array_fill((it->>'float')::boolean, ARRAY[cardinality(v_vals)]) END;
        IF v_total THEN
            IF (it->>'action')::boolean THEN
                v_keys := ARRAY['data', 'days', 'count', 'aggregated_value'];
                v_jv := ARRAY['[]'::json, '[]'::json, '0'::json,
                              ngx_dashboards_trends_num(v_vals[1], v_fl[1])];
            ELSE
                v_keys := ARRAY['data', 'days', 'count', 'aggregated_value'];
                v_jv := ARRAY['null'::json, '[]'::json, '0'::json,
                              ngx_dashboards_trends_num((SELECT sum(v) FROM unnest(v_vals) v), true)];
            END IF;
        ELSE
            v_data := ngx_dashboards_trends_nums(v_vals, v_fl);
            v_count := CASE WHEN v_cum AND (it->>'action')::boolean
                THEN ngx_dashboards_trends_num(v_vals[cardinality(v_vals)], v_fl[cardinality(v_fl)])
                ELSE ngx_dashboards_trends_num(coalesce((SELECT sum(v) FROM unnest(v_vals) v), 0), true) END;
            v_keys := ARRAY['data', 'labels', 'days', 'count'];
            v_jv := ARRAY[v_data, v_ax.labels, v_ax.days, v_count];
        END IF;
        v_keys := v_keys || ARRAY['label', 'filter', 'action', 'compare', 'compare_label',
                                  'breakdown_value', 'order'];
        v_jv := v_jv || ARRAY[
            coalesce(it->'label', 'null')::text::json,
            v_filter,
            CASE WHEN (it->>'action')::boolean THEN ngx_dashboards_trends_obj(
                ARRAY['days', 'id', 'type', 'order', 'name', 'custom_name', 'math', 'math_property',
                      'math_hogql', 'math_group_type_index', 'properties'],
                ARRAY[v_ax.action_days, coalesce(s->'id', 'null')::text::json, '"events"'::json,
                      to_json((s->>'index')::int), coalesce(s->'label', 'null')::text::json,
                      coalesce(s->'custom_name', 'null')::text::json,
                      coalesce(s->'math', 'null')::text::json,
                      coalesce(s->'math_property', 'null')::text::json,
                      coalesce(s->'math_hogql', 'null')::text::json,
                      coalesce(s->'math_group_type_index', 'null')::text::json, '{}'::json])
                 ELSE 'null'::json END,
            CASE WHEN v_compare THEN 'true'::json END,
            CASE WHEN v_compare THEN to_json(CASE WHEN per THEN 'previous' ELSE 'current' END) END,
            CASE WHEN v_bd THEN (it->'bv')::text::json END,
            to_json((it->>'order')::int)];
        v_out := v_out || ngx_dashboards_trends_obj(v_keys, v_jv);
    END LOOP;

    RETURN ngx_dashboards_trends_obj(
        ARRAY['hasMore', 'resolved_date_range', 'results'],
        ARRAY[to_json(v_more),
              ngx_dashboards_trends_obj(ARRAY['date_from', 'date_to'],
                  ARRAY[to_json(ngx_dashboards_trends_iso(
                            (p_plan->'current'->>'date_from')::timestamp, p_plan->>'tz')),
                        to_json(ngx_dashboards_trends_iso(
                            (p_plan->'current'->>'date_to')::timestamp, p_plan->>'tz'))]),
              ngx_dashboards_trends_arr(v_out)]);
END $$;

-- The whole computation: PostHog's TrendsQuery response body for a team.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends(p_team_id int, p_query jsonb,
                                                 p_now timestamptz DEFAULT now())
RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_plan jsonb := ngx_dashboards_trends_plan(p_team_id, p_query, p_now);
BEGIN
    RETURN ngx_dashboards_trends_format(v_plan, ngx_dashboards_trends_aggregate(p_team_id, v_plan));
END $$;

-- cache key, staleness --------------------------------------------------------

-- The results cache key of a query for a team: "cache_" + md5 of the
-- canonical cache payload (PostHog's QueryRunner.get_cache_payload:
-- query_runner, the query without `tags` and without the series'
-- custom_name, team_id, timezone, week_start_day, version 2).  The query
-- is the effective one (after dashboard and tile filters).  Canonical text
-- = jsonb's (keys sorted, fixed spacing); PostHog's exact byte string is not
-- reproduced, so the keys are ours, in PostHog's `cache_<32 hex>` form.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_cache_key(p_team_id int, p_query jsonb)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT 'cache_' || md5(jsonb_build_object(
               'query_runner', 'TrendsQueryRunner',
               'query', (SELECT q - 'tags' || CASE WHEN jsonb_typeof(q->'series') = 'array'
                            THEN jsonb_build_object('series', (
                                SELECT jsonb_agg(CASE WHEN jsonb_typeof(s) = 'object'
                                                      THEN s - 'custom_name' ELSE s END ORDER BY o)
                                  FROM jsonb_array_elements(q->'series') WITH ORDINALITY a(s, o)))
                            ELSE '{}' END
                           FROM (SELECT CASE WHEN p_query->>'kind' = 'InsightVizNode'
                                             THEN p_query->'source' ELSE p_query END AS q) x),
               'team_id', p_team_id,
               'timezone', t.timezone,
               'week_start_day', coalesce(t.week_start_day, 0),
               'version', 2)::text)
      FROM posthog_team t WHERE t.id = p_team_id
$$;

-- cache_target_age: last_refresh + the staleness threshold of the interval
-- (PostHog's staleness thresholds, DEFAULT and LAZY columns; "none" when the
-- query has no interval).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_target_age(p_interval text,
                                                            p_last_refresh timestamptz,
                                                            p_lazy boolean DEFAULT false)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT p_last_refresh + CASE coalesce(p_interval, 'none')
        WHEN 'minute' THEN CASE WHEN p_lazy THEN interval '15 minutes' ELSE interval '5 minutes' END
        WHEN 'hour' THEN CASE WHEN p_lazy THEN interval '2 hours' ELSE interval '1 hour' END
        WHEN 'week' THEN interval '1 day'
        WHEN 'month' THEN interval '2 days'
        ELSE CASE WHEN p_lazy THEN interval '12 hours' ELSE interval '6 hours' END END
$$;

-- A cached result is stale when now is past its target age, unless the
-- query's range ended before the result was computed (10 s margin).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_is_stale(p_date_to timestamptz,
                                                          p_last_refresh timestamptz,
                                                          p_target_age timestamptz,
                                                          p_now timestamptz DEFAULT now())
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT p_now > p_target_age
           AND NOT coalesce(p_date_to < p_last_refresh - interval '10 seconds', false)
$$;

-- How soon a client may ask again (next_allowed_client_refresh =
-- last_refresh + this): minute interval 1 min, hour interval or a range of
-- at most 7 days 3 min, else 15 min (posthog/caching/insights_api.py).
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_refresh_frequency(p_plan jsonb)
RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_plan->>'query_interval' = 'minute' THEN interval '1 minute'
        WHEN p_plan->>'query_interval' = 'hour'
             OR (p_plan->'current'->>'date_to')::timestamp
                - (p_plan->'current'->>'date_from')::timestamp <= interval '7 days'
            THEN interval '3 minutes'
        ELSE interval '15 minutes' END
$$;

-- dashboard and tile filters ----------------------------------------------------

-- Whether property filter p_b provably contradicts p_a: both are `exact`
-- filters of the same type and key and no value satisfies both.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_contradicts(p_a jsonb, p_b jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_typeof(p_a) = 'object' AND jsonb_typeof(p_b) = 'object'
       AND NOT (p_a ? 'values') AND NOT (p_b ? 'values')
       AND coalesce(p_a->>'type', 'event') = coalesce(p_b->>'type', 'event')
       AND p_a->'key' = p_b->'key'
       AND coalesce(p_a->>'operator', 'exact') = 'exact'
       AND coalesce(p_b->>'operator', 'exact') = 'exact'
       AND jsonb_typeof(p_a->'value') IS DISTINCT FROM 'null'
       AND jsonb_typeof(p_b->'value') IS DISTINCT FROM 'null'
       AND NOT EXISTS (
           SELECT 1
             FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(p_a->'value') = 'array'
                                                 THEN p_a->'value' ELSE jsonb_build_array(p_a->'value') END) x,
                  jsonb_array_elements_text(CASE WHEN jsonb_typeof(p_b->'value') = 'array'
                                                 THEN p_b->'value' ELSE jsonb_build_array(p_b->'value') END) y
            WHERE x = y)
$$;

-- The elements of a property list that no filter of p_by contradicts.
CREATE OR REPLACE FUNCTION ngx_dashboards_trends_uncontradicted(p_props jsonb, p_by jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_agg(p ORDER BY o), '[]')
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_props) = 'array' THEN p_props ELSE '[]' END)
           WITH ORDINALITY a(p, o)
     WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(
                           CASE WHEN jsonb_typeof(p_by) = 'array' THEN p_by ELSE '[]' END) b
                        WHERE ngx_dashboards_trends_contradicts(p, b))
$$;

-- The query a tile computes: the insight's query with the dashboard's
-- filters and the tile's filters_overrides applied, as PostHog's newest
-- apply_dashboard_filters / merge_filters_by_priority do.
--   Merge (when the tile has overrides): breakdown_filter, interval and
--   filterTestAccounts of the tile replace the dashboard's; a tile date_from
--   or date_to brings both bounds and explicitDate; properties stack
--   (dashboard first, minus those the tile's contradict, then the tile's).
--   Apply: the query's own property filters contradicted by an effective one
--   are dropped, the rest AND-ed with the effective ones in a group; a date
--   bound replaces both bounds; breakdown_filter, interval, filterTestAccounts
--   replace the query's; compare is turned off with date_from "all".
-- Other keys (__template_version, ...) are ignored.  InsightVizNode wrappers
-- are kept.
CREATE OR REPLACE FUNCTION ngx_dashboards_apply_dashboard_filters(p_query jsonb,
                                                                  p_dashboard_filters jsonb,
                                                                  p_tile_overrides jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d jsonb := CASE WHEN jsonb_typeof(p_dashboard_filters) = 'object' THEN p_dashboard_filters ELSE '{}' END;
    t jsonb := CASE WHEN jsonb_typeof(p_tile_overrides) = 'object' THEN p_tile_overrides ELSE '{}' END;
    q jsonb;
    k text;
    v_props jsonb;
    v_qprops jsonb;
    v_dr jsonb;
BEGIN
    IF jsonb_typeof(p_query) IS DISTINCT FROM 'object' THEN
        RETURN p_query;
    END IF;
    q := CASE WHEN p_query->>'kind' = 'InsightVizNode' THEN p_query->'source' ELSE p_query END;
    IF jsonb_typeof(q) IS DISTINCT FROM 'object' THEN
        RETURN p_query;
    END IF;

    IF t <> '{}' THEN
        FOREACH k IN ARRAY ARRAY['breakdown_filter', 'interval', 'filterTestAccounts'] LOOP
            IF jsonb_typeof(t->k) IS DISTINCT FROM 'null' AND t ? k THEN
                d := d || jsonb_build_object(k, t->k);
            END IF;
        END LOOP;
        IF ngx_dashboards_truthy(t->'date_from') OR ngx_dashboards_truthy(t->'date_to') THEN
            d := d || jsonb_build_object('date_from', t->'date_from', 'date_to', t->'date_to',
                                         'explicitDate', t->'explicitDate');
        END IF;
        IF jsonb_typeof(t->'properties') = 'array' AND jsonb_array_length(t->'properties') > 0 THEN
            d := d || jsonb_build_object('properties',
                ngx_dashboards_trends_uncontradicted(d->'properties', t->'properties')
                || (t->'properties'));
        END IF;
    END IF;

    v_props := CASE WHEN jsonb_typeof(d->'properties') = 'array' THEN d->'properties' ELSE '[]' END;
    IF jsonb_array_length(v_props) > 0 THEN
        v_qprops := q->'properties';
        IF jsonb_typeof(v_qprops) = 'array' THEN
            v_qprops := ngx_dashboards_trends_uncontradicted(v_qprops, v_props);
        END IF;
        IF (jsonb_typeof(v_qprops) = 'array' AND jsonb_array_length(v_qprops) > 0)
           OR (jsonb_typeof(v_qprops) = 'object' AND ngx_dashboards_truthy(v_qprops->'values')) THEN
            q := q || jsonb_build_object('properties', jsonb_build_object('type', 'AND', 'values',
                jsonb_build_array(
                    CASE WHEN jsonb_typeof(v_qprops) = 'array'
                         THEN jsonb_build_object('type', 'AND', 'values', v_qprops) ELSE v_qprops END,
                    jsonb_build_object('type', 'AND', 'values', v_props))));
        ELSE
            q := q || jsonb_build_object('properties', v_props);
        END IF;
    END IF;

    IF ngx_dashboards_truthy(d->'date_from') OR ngx_dashboards_truthy(d->'date_to') THEN
        v_dr := CASE WHEN jsonb_typeof(q->'dateRange') = 'object' THEN q->'dateRange' ELSE '{}' END;
        v_dr := v_dr || jsonb_build_object('date_from', coalesce(d->'date_from', 'null'),
                                           'date_to', coalesce(d->'date_to', 'null'));
        IF jsonb_typeof(d->'explicitDate') IN ('boolean') THEN
            v_dr := v_dr || jsonb_build_object('explicitDate', d->'explicitDate');
        END IF;
        q := q || jsonb_build_object('dateRange', v_dr);
    END IF;
    IF ngx_dashboards_truthy(d->'breakdown_filter') THEN
        q := q || jsonb_build_object('breakdownFilter', d->'breakdown_filter');
    END IF;
    IF jsonb_typeof(d->'interval') IS DISTINCT FROM 'null' AND d ? 'interval' THEN
        q := q || jsonb_build_object('interval', d->'interval');
    END IF;
    IF jsonb_typeof(d->'filterTestAccounts') IS DISTINCT FROM 'null' AND d ? 'filterTestAccounts' THEN
        q := q || jsonb_build_object('filterTestAccounts', d->'filterTestAccounts');
    END IF;
    IF d->>'date_from' = 'all' AND q->'compareFilter'->'compare' = 'true'::jsonb THEN
        q := jsonb_set(q, '{compareFilter,compare}', 'false');
    END IF;

    RETURN CASE WHEN p_query->>'kind' = 'InsightVizNode'
                THEN jsonb_set(p_query, '{source}', q) ELSE q END;
END $$;
