#!/usr/bin/perl
# Insight results in dashboard tiles (sql/migrations/012_insight_results.sql
# and the insight object of 003_dashboard_json.sql), called through psql as
# the module calls them: ngx_dashboards_insight_plan (what a ?refresh= mode
# computes), ngx_dashboards_insight_compute / _store (one query into the
# results cache), ngx_dashboards_retrieve (the tiles' result fields from the
# cache, as PostHog's InsightSerializer shows them on a hit, a stale entry,
# a miss, a failed or a started computation) and
# ngx_dashboards_run_insights with PostHog's text of trends results
# (ee/hogai/context/insight/format/trends.py).  Expectations computed by
# hand from the events inserted below.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Ordered qw(okeys);
use JSON::PP;

my $t = Dash->new(start => 0);
my $w = $t->world;
my $T = $w->{team};
my $U = $w->{user};
my $J = JSON::PP->new->canonical;
my ($TRUE, $FALSE) = (JSON::PP::true, JSON::PP::false);

$t->sql(q{UPDATE posthog_team SET timezone = 'UTC' WHERE id = $1}, $T);

# events: [event, distinct_id, timestamp, {properties}]
sub events {
    my (@ev) = @_;
    $t->sql(q{INSERT INTO posthog_event (team_id, event, distinct_id, "timestamp", properties)
              SELECT $1, x->>0, x->>1, (x->>2)::timestamptz,
                     CASE WHEN jsonb_typeof(x->3) = 'object' THEN x->3 ELSE '{}' END
                FROM jsonb_array_elements(($2::jsonb)->'e') x}, $T, { e => \@ev });
}
events(
    ['$pageview', 'u1', '2024-12-31T12:00:00Z'],
    ['$pageview', 'u1', '2025-01-01T01:00:00Z', { '$browser' => 'Chrome' }],
    ['$pageview', 'u1', '2025-01-01T02:00:00Z', { '$browser' => 'Chrome' }],
    ['$pageview', 'u2', '2025-01-01T03:00:00Z', { '$browser' => 'Safari' }],
    (map { ['$pageview', 'u2', "2025-01-02T1$_:00:00Z", { '$browser' => 'Chrome' }] } 1 .. 3),
    ['$pageview', 'u3', '2025-01-02T15:00:00Z'],
    ['$pageview', 'u3', '2025-01-02T16:00:00Z', { '$browser' => '' }],
    ['$pageview', 'u3', '2025-01-03T10:00:00Z', { '$browser' => 'Safari' }],
    ['$pageleave', 'u1', '2025-01-01T05:00:00Z'],
    ['$pageleave', 'u2', '2025-01-01T06:00:00Z'],
    ['$pageleave', 'u3', '2025-01-03T01:00:00Z'],
);

sub ev { my ($event, %o) = @_; return { kind => 'EventsNode', event => $event, math => 'total', %o } }
sub viz { my (%o) = @_; return { kind => 'InsightVizNode', source => { kind => 'TrendsQuery', %o } } }
my $RANGE = { date_from => '2025-01-01', date_to => '2025-01-03' };

sub dashboard { return $t->fixture_dashboard(team => $T, user => $U, @_) }
sub insight {
    my ($query, %o) = @_;
    return $t->fixture_insight(team => $T, user => $U, query => $query, %o);
}
sub tile {
    my ($d, $i, $y, %o) = @_;
    return scalar $t->fixture_insight_tile(dashboard => $d, insight => $i,
                                           layouts => { sm => { x => 0, y => $y, w => 6, h => 5 } }, %o);
}

# the detail, decoded and raw
sub retrieve {
    my ($d, %o) = @_;
    my $raw = $t->sql_value('SELECT ngx_dashboards_retrieve($1, $2, $3, $4, $5::jsonb, NULL, $6, $7::jsonb)',
                            $U, $w->{project}, '', $d, $o{filters_override}, $o{refresh}, $o{outcomes});
    return ($J->decode($raw), $raw);
}
sub tile_of {
    my ($detail, $tile) = @_;
    my ($x) = grep { $_->{id} == $tile } @{ $detail->{tiles} };
    return $x;
}
sub iplan {
    my ($d, $refresh, %o) = @_;
    return $t->sql_rows('SELECT cache_key, team_id, query FROM ngx_dashboards_insight_plan($1, $2, $3, $4, $5::jsonb,
                         NULL, $6)', $U, $w->{project}, '', $d, $o{filters_override}, $refresh);
}
sub plan_keys { return [ map { $_->{cache_key} } @{ iplan(@_) } ] }
# computes and stores what the plan asks for; returns the keys
sub refresh {
    my ($d, $mode) = @_;
    my $rows = iplan($d, $mode // 'force_blocking');
    for my $r (@$rows) {
        $t->sql('SELECT ngx_dashboards_insight_store($1, $2, ngx_dashboards_insight_compute($1, $3::jsonb, $2))',
                $r->{team_id}, $r->{cache_key}, $r->{query});
    }
    return [ map { $_->{cache_key} } @$rows ];
}
sub key_of { $t->sql_value('SELECT ngx_dashboards_insight_cache_key($1, $2::jsonb)', $T, $_[0]) }
sub effective {
    my ($q, $df, $tf) = @_;
    return $J->decode($t->sql_value('SELECT ngx_dashboards_apply_dashboard_filters($1::jsonb, $2::jsonb, $3::jsonb)',
                                    $q, $df, $tf));
}
# a cache row written by hand, in the stored form: the JSON text of each value,
# the results in a json column of their own
sub cache_row {
    my ($key, %o) = @_;
    my $resp = $o{response};
    $t->sql(q{INSERT INTO ngx_dashboards_result_cache (cache_key, team_id, result, results, last_refresh,
                                                       cache_target_age, expires_at)
              VALUES ($1, $2, coalesce((SELECT jsonb_object_agg(key, value::text) FROM json_each($3::json)
                                         WHERE key <> 'results'), '{}'), $3::json -> 'results', $4, $5, $6)
              ON CONFLICT (cache_key) DO UPDATE SET result = EXCLUDED.result, results = EXCLUDED.results,
                  last_refresh = EXCLUDED.last_refresh,
                  cache_target_age = EXCLUDED.cache_target_age, expires_at = EXCLUDED.expires_at},
            $key, $T, ref $resp ? $J->encode($resp) : $resp, $o{last_refresh}, $o{target_age},
            $o{expires} // \ "now() + interval '7 days'");
}
sub cache_count { $t->sql_value('SELECT count(*) FROM ngx_dashboards_result_cache') }
sub compute {
    my ($q, $key) = @_;
    my $raw = $t->sql_value('SELECT ngx_dashboards_insight_compute($1, $2::jsonb, $3)', $T, $q, $key);
    return wantarray ? ($J->decode($raw), $raw) : $J->decode($raw);
}

my @MISS = qw(result hasMore columns last_refresh cache_target_age next_allowed_client_refresh timezone
              query_status hogql types resolved_date_range);
my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z$/;    # microseconds only when not zero

my $Q2 = viz(series => [ ev('$pageview'), ev('$pageleave') ], interval => 'day', dateRange => $RANGE);
my $ROWS2 = $J->decode($t->sql_value('SELECT ngx_dashboards_trends($1, $2::jsonb)', $T, $Q2))->{results};

# ---------------------------------------------------------------------------
subtest 'a miss: null result fields, filters_hash = the key the plan computes' => sub {
    my $d = dashboard(name => 'Miss');
    my $i = insight($Q2);
    my $tl = tile($d, $i, 0);
    my ($detail) = retrieve($d);
    my $x = tile_of($detail, $tl);
    my $in = $x->{insight};
    is $in->{$_}, undef, "$_ null" for @MISS;
    is $in->{is_cached}, $FALSE, 'is_cached false';
    like $in->{filters_hash}, qr/^cache_[0-9a-f]{32}$/, 'filters_hash: a cache key';
    is $in->{filters_hash}, key_of($Q2), 'the key of the insight query';
    is $in->{filters_hash}, $t->sql_value('SELECT ngx_dashboards_trends_cache_key($1, $2::jsonb)', $T, $Q2),
        "the trends engine's own key";
    is_deeply plan_keys($d, 'blocking'), [ $in->{filters_hash} ], 'the plan computes that key';
    for my $q ({ kind => 'TrendsQuery', series => [] },
               { kind => 'TrendsQuery', series => [ ev('a', custom_name => 'A'), 3 ], tags => { x => 1 } },
               viz(series => [ ev('a') ], tags => {}), viz()) {
        is key_of($q), $t->sql_value('SELECT ngx_dashboards_trends_cache_key($1, $2::jsonb)', $T, $q),
            'the engine key of ' . $J->encode($q);
    }
    isnt key_of(viz(series => [ ev('a', custom_name => 'A') ])), key_of(viz(series => [ ev('b') ])), 'keys differ';
    is key_of(viz(series => [ ev('a', custom_name => 'A') ])), key_of(viz(series => [ ev('a') ])),
        'custom_name is not part of the key';
    like key_of({ kind => 'FunnelsQuery', series => [] }), qr/^cache_[0-9a-f]{32}$/, 'a key for other kinds';
    isnt key_of({ kind => 'FunnelsQuery', series => [] }), key_of({ kind => 'TrendsQuery', series => [] }),
        '... of their own runner';
    is key_of({ series => [] }), undef, 'no kind: no key';
    is $x->{last_refresh}, undef, 'tile last_refresh null';
    is $x->{is_cached}, $FALSE, 'tile is_cached false';
    is_deeply plan_keys($d, undef), [], 'default refresh (force_cache): nothing to compute';
};

subtest 'compute + store, then a hit: the cached response in the tile' => sub {
    my $d = dashboard(name => 'Hit');
    my $i = insight($Q2);
    my $tl = tile($d, $i, 0);
    my $before = cache_count();
    my $keys = refresh($d);
    is scalar @$keys, 1, 'one key computed';
    is cache_count(), $before + 1, 'one cache row';
    my ($detail, $raw) = retrieve($d);
    my $x = tile_of($detail, $tl);
    my $in = $x->{insight};
    is $in->{filters_hash}, $keys->[0], 'filters_hash = the stored key';
    is_deeply $in->{result}, $ROWS2, 'result: the engine rows';
    is $in->{hasMore}, $FALSE, 'hasMore';
    is $in->{columns}, undef, 'columns null (trends)';
    like $in->{last_refresh}, $ISO, 'last_refresh';
    like $in->{cache_target_age}, $ISO, 'cache_target_age';
    like $in->{next_allowed_client_refresh}, $ISO, 'next_allowed_client_refresh';
    my ($lr, $ta, $na) = map { $t->sql_value('SELECT extract(epoch FROM $1::timestamptz)', $in->{$_}) }
        qw(last_refresh cache_target_age next_allowed_client_refresh);
    is $ta - $lr, 6 * 3600, 'target age: 6 h after the refresh (day interval)';
    is $na - $lr, 3 * 60, 'next allowed refresh: 3 min (a range of 3 days)';
    is $in->{is_cached}, $TRUE, 'is_cached true';
    is $in->{timezone}, 'UTC', "timezone: the cached response's";
    is $in->{query_status}, undef, 'query_status null';
    is_deeply $in->{resolved_date_range},
        { date_from => '2025-01-01T00:00:00Z', date_to => '2025-01-03T23:59:59.999999Z' }, 'resolved_date_range';
    is $x->{last_refresh}, $in->{last_refresh}, 'tile last_refresh = the insight';
    is $x->{is_cached}, $TRUE, 'tile is_cached = the insight';
    my $n = (grep { $detail->{tiles}[$_]{id} == $tl } 0 .. $#{ $detail->{tiles} })[0];
    is_deeply okeys($raw, 'tiles', $n, 'insight', 'result', 0),
        [qw(data labels days count label filter action order)], "result rows keep PostHog's key order";
    is_deeply okeys($raw, 'tiles', $n, 'insight', 'resolved_date_range'), [qw(date_from date_to)],
        'resolved_date_range key order';
    is_deeply plan_keys($d, 'blocking'), [], 'blocking: fresh, nothing to compute';
    is_deeply plan_keys($d, 'async'), [], 'async: fresh, nothing to compute';
    is_deeply plan_keys($d, 'force_async'), $keys, 'force_async: computed again';

    # the old six-argument call (the module before it passes refresh/outcomes)
    my $old = $J->decode($t->sql_value('SELECT ngx_dashboards_retrieve($1, $2, $3, $4, NULL, NULL)',
                                       $U, $w->{project}, '', $d));
    is_deeply tile_of($old, $tl)->{insight}{result}, $ROWS2, 'six-argument retrieve: the same result';
};

subtest 'timezone: the cached response unless a refresh is asked for' => sub {
    my $d = dashboard(name => 'Tz');
    my $i = insight($Q2);
    my $tl = tile($d, $i, 0);
    my $key = key_of($Q2);
    cache_row($key, response => { results => [], timezone => 'Asia/Tokyo', last_refresh => '2025-01-05T00:00:00.000000Z' },
              last_refresh => \ 'now()', target_age => \ "now() + interval '1 hour'");
    my %want = (undef => 'Asia/Tokyo', false => 'Asia/Tokyo', 0 => 'Asia/Tokyo', bogus => 'Asia/Tokyo',
                true => 'UTC', '' => 'UTC', force_cache => 'UTC', blocking => 'UTC', lazy_async => 'UTC');
    for my $r (sort keys %want) {
        my ($detail) = retrieve($d, refresh => $r eq 'undef' ? undef : $r);
        is tile_of($detail, $tl)->{insight}{timezone}, $want{$r}, "refresh=$r: $want{$r}";
    }
    my ($detail) = retrieve($d);
    is_deeply tile_of($detail, $tl)->{insight}{result}, [], 'result of the hand-written row';
    is tile_of($detail, $tl)->{insight}{last_refresh}, '2025-01-05T00:00:00.000000Z', 'its last_refresh';
};

subtest 'stale, lazy, expired and ended ranges' => sub {
    my $d = dashboard(name => 'Stale');
    my $i = insight($Q2);
    my $tl = tile($d, $i, 0);
    my $key = key_of($Q2);
    # an open range: date_to far ahead, so only the target age decides
    my $resp = { results => [ { x => 1 } ], timezone => 'UTC',
                 resolved_date_range => { date_from => '2025-01-01T00:00:00Z', date_to => '2999-01-01T00:00:00Z' } };
    my $row = sub {
        my ($age) = @_;
        cache_row($key, response => $resp, last_refresh => \ "now() - interval '$age'",
                  target_age => \ "now() - interval '$age' + interval '6 hours'");
    };
    $row->('2 days');
    my ($detail) = retrieve($d);
    is_deeply tile_of($detail, $tl)->{insight}{result}, [ { x => 1 } ], 'a stale entry is shown as it is';
    is tile_of($detail, $tl)->{insight}{is_cached}, $TRUE, 'is_cached true';
    is_deeply plan_keys($d, $_), [ $key ], "stale (2 days): $_ computes" for qw(blocking async lazy_async force_blocking);
    is_deeply plan_keys($d, $_), [], 'stale: ' . ($_ // 'no refresh') . ' computes nothing'
        for ('force_cache', 'false', 'nonsense', undef);

    $row->('7 hours');
    is_deeply plan_keys($d, 'blocking'), [ $key ], '7 h, day interval: stale by the DEFAULT threshold (6 h)';
    is_deeply plan_keys($d, 'lazy_async'), [], '... fresh by the LAZY one (12 h)';

    $row->('1 minute');
    is_deeply plan_keys($d, $_), [], "fresh: $_ computes nothing" for qw(blocking async lazy_async);
    is_deeply plan_keys($d, $_), [ $key ], "fresh: $_ computes" for ('force_blocking', 'force_async', 'true', '');

    # a range that ended before the refresh is never stale
    $resp->{resolved_date_range}{date_to} = '2025-01-03T23:59:59.999999Z';
    $row->('2 days');
    is_deeply plan_keys($d, 'blocking'), [], 'ended range: not stale after 2 days';

    # past expires_at: a miss
    cache_row($key, response => $resp, last_refresh => \ "now() - interval '8 days'",
              target_age => \ "now() - interval '8 days'", expires => \ "now() - interval '1 day'");
    ($detail) = retrieve($d);
    is tile_of($detail, $tl)->{insight}{result}, undef, 'expired: no result';
    is tile_of($detail, $tl)->{insight}{is_cached}, $FALSE, 'expired: not cached';
    is_deeply plan_keys($d, 'lazy_async'), [ $key ], 'expired: lazy_async computes';
};

subtest 'dashboard and tile filters: the query shown and its key' => sub {
    my $A = { key => '$browser', value => 'Chrome', operator => 'exact', type => 'event' };
    my $B = { key => '$os', value => 'Mac', operator => 'exact', type => 'event' };
    my $d = dashboard(name => 'Filtered', filters => { date_from => '-14d', properties => [ $A ] });
    my $i = insight($Q2);
    my $t1 = tile($d, $i, 0);
    my $i2 = insight($Q2);
    my $t2 = tile($d, $i2, 5, filters_overrides => { properties => [ $B ], date_from => '-3d' });
    my $i3 = insight($Q2);
    my $t3 = tile($d, $i3, 10, filters_overrides => { interval => 'week' });

    my ($detail) = retrieve($d);
    my ($q1, $q2, $q3) = map { tile_of($detail, $_)->{insight}{query} } $t1, $t2, $t3;
    is $q1->{source}{dateRange}{date_from}, '-14d', 'dashboard date_from';
    is $q1->{source}{dateRange}{date_to}, undef, '... with both bounds (date_to cleared)';
    is_deeply $q1->{source}{properties}, [ $A ], 'dashboard properties';
    is $q2->{source}{dateRange}{date_from}, '-3d', "the tile's date_from wins";
    is_deeply $q2->{source}{properties}, [ $A, $B ], "properties stack: the dashboard's, then the tile's";
    is $q3->{source}{interval}, 'week', "the tile's interval";
    is $q3->{source}{dateRange}{date_from}, '-14d', '... over the dashboard date_from';
    is_deeply $q1, effective($Q2, { date_from => '-14d', properties => [ $A ] }, {}),
        'shown = ngx_dashboards_apply_dashboard_filters';
    my @k = map { tile_of($detail, $_)->{insight}{filters_hash} } $t1, $t2, $t3;
    is $k[0], key_of($q1), 'filters_hash: the key of the query shown';
    isnt $k[0], key_of($Q2), '... not of the stored query';
    is scalar(keys %{ { map { $_ => 1 } @k } }), 3, 'three different keys';
    is_deeply plan_keys($d, 'blocking'), \@k, 'the plan: the same keys, in tile order (none computed yet)';
    # computed: the longest last time first, never computed before them (the module starts them in
    # this order, dashboards_queries_per_request at a time)
    refresh($d, 'force_blocking');
    is $t->sql_value(q{SELECT count(*) FROM ngx_dashboards_result_cache
                        WHERE cache_key = ANY ($1::text[]) AND compute_ms >= 0}, \@k), 3,
        'each computation\'s duration is kept';
    my %ms = ($k[0] => 5, $k[1] => 70, $k[2] => 20);
    $t->sql('UPDATE ngx_dashboards_result_cache SET compute_ms = $2 WHERE cache_key = $1', $_, $ms{$_}) for @k;
    is_deeply plan_keys($d, 'force_blocking'), [ @k[1, 2, 0] ], 'force_blocking: the longest first';
    $t->sql('UPDATE ngx_dashboards_result_cache SET compute_ms = NULL WHERE cache_key = $1', $k[0]);
    is_deeply plan_keys($d, 'force_blocking'), [ @k[0, 1, 2] ], '... a key never measured before them';
    $t->sql('UPDATE ngx_dashboards_result_cache SET compute_ms = 7 WHERE cache_key = ANY ($1::text[])', \@k);
    is_deeply plan_keys($d, 'force_blocking'), \@k, '... equal durations: tile order';
    is $t->row(posthog_dashboarditem => $i)->{query}{source}{dateRange}{date_from}, '2025-01-01', 'stored query untouched';

    # filters_override replaces the dashboard's filters (PostHog: filters_override if given, else
    # dashboard.filters), the tile overrides still apply
    ($detail) = retrieve($d, filters_override => { date_from => '-1d' });
    my $o1 = tile_of($detail, $t1)->{insight}{query};
    is $o1->{source}{dateRange}{date_from}, '-1d', 'filters_override: date_from';
    ok !exists $o1->{source}{properties}, "filters_override: the dashboard's properties are not applied";
    is tile_of($detail, $t2)->{insight}{query}{source}{dateRange}{date_from}, '-3d', 'tile overrides still win';
    is tile_of($detail, $t1)->{insight}{filters_hash}, key_of($o1), 'filters_hash follows the override';
    is_deeply [ map { $_->{query} } @{ iplan($d, 'force_blocking', filters_override => { date_from => '-1d' }) } ]->[0],
        $o1, 'the plan computes the overridden query';

    # two tiles whose effective queries are equal: one computation
    my $d2 = dashboard(name => 'Same');
    tile($d2, insight($Q2), 0);
    tile($d2, insight($Q2), 5);
    is scalar @{ plan_keys($d2, 'force_blocking') }, 1, 'equal queries: one row';
};

subtest 'outcomes of this request: error and started' => sub {
    my $d = dashboard(name => 'Outcomes');
    my $i = insight($Q2);
    my $tl = tile($d, $i, 0);
    refresh($d);
    my $key = key_of($Q2);

    my ($detail, $raw) = retrieve($d, refresh => 'blocking', outcomes => { $key => { error => 'boom: timeout' } });
    my $x = tile_of($detail, $tl);
    my $in = $x->{insight};
    is $in->{result}, undef, 'error: result null although the cache has one';
    is $in->{last_refresh}, undef, 'error: last_refresh null';
    is $in->{is_cached}, $FALSE, 'error: is_cached false';
    is $x->{last_refresh}, undef, 'error: tile last_refresh null';
    my $qs = $in->{query_status};
    like delete $qs->{id}, qr/^[0-9a-f]{32}$/, 'query_status id';
    like delete $qs->{end_time}, $ISO, 'query_status end_time';
    is_deeply $qs, { complete => $TRUE, dashboard_id => $d, error => $TRUE, error_message => 'boom: timeout',
                     expiration_time => undef, insight_id => $i, labels => undef, pickup_time => undef,
                     query_async => $TRUE, query_progress => undef, results => undef, start_time => undef,
                     task_id => undef, team_id => $T }, 'error: query_status';
    is_deeply okeys($raw, 'tiles', 0, 'insight', 'query_status'),
        [qw(complete dashboard_id end_time error error_message expiration_time id insight_id labels pickup_time
            query_async query_progress results start_time task_id team_id)], "QueryStatus key order";
    is $in->{filters_hash}, $key, 'error: filters_hash';

    ($detail) = retrieve($d, refresh => 'async', outcomes => { $key => { started => JSON::PP::true } });
    $in = tile_of($detail, $tl)->{insight};
    is_deeply $in->{result}, $ROWS2, 'started: the cached result stays';
    is $in->{is_cached}, $TRUE, 'started: is_cached';
    $qs = $in->{query_status};
    like delete $qs->{id}, qr/^[0-9a-f]{32}$/, 'started: id';
    like delete $qs->{start_time}, $ISO, 'started: start_time';
    is_deeply $qs, { complete => $FALSE, dashboard_id => $d, end_time => undef, error => $FALSE,
                     error_message => undef, expiration_time => undef, insight_id => $i, labels => undef,
                     pickup_time => undef, query_async => $TRUE, query_progress => undef, results => undef,
                     task_id => undef, team_id => $T }, 'started: query_status';
    ($detail) = retrieve($d, outcomes => { $key => { started => JSON::PP::true, id => 'abc',
                                                     start_time => '2025-01-01T00:00:00.000000Z' } });
    $qs = tile_of($detail, $tl)->{insight}{query_status};
    is_deeply [ @$qs{qw(id start_time)} ], [ 'abc', '2025-01-01T00:00:00.000000Z' ], "started: the caller's id";
    ($detail) = retrieve($d, outcomes => { other => { error => 'x' } });
    is tile_of($detail, $tl)->{insight}{query_status}, undef, "another key's outcome: nothing";
};

subtest 'compute: refusals become {"error"}, never a raised error' => sub {
    my ($r, $raw) = compute($Q2, 'cache_x');
    is_deeply okeys($raw), [qw(cache_key cache_target_age calculation_trigger error hasMore hogql is_cached
                               last_refresh modifiers next_allowed_client_refresh query_metadata query_status
                               resolved_date_range results timezone timings ngx_series ngx_ms)],
        'response keys (PostHog\'s, then the series computed and its duration, which the store keeps beside '
        . 'the entry)';
    is_deeply $r->{ngx_series}, $Q2->{source}{series} // $Q2->{series}, '... ngx_series: the query\'s series';
    like $r->{ngx_ms}, qr/^\d+$/, '... ngx_ms: whole milliseconds';
    is $r->{cache_key}, 'cache_x', 'cache_key as given';
    is $r->{is_cached}, $FALSE, 'is_cached false';
    is $r->{timezone}, 'UTC', 'timezone';
    is_deeply $r->{results}, $ROWS2, 'results';
    is_deeply scalar compute({ kind => 'FunnelsQuery', series => [] }), { error => 'FunnelsQuery is not supported here.' },
        'another kind';
    is_deeply scalar compute({ kind => 'InsightVizNode', source => { kind => 'RetentionQuery' } }),
        { error => 'RetentionQuery is not supported here.' }, 'another kind in an InsightVizNode';
    is_deeply scalar compute({ kind => 'InsightVizNode' }), { error => 'The insight has no query to compute.' },
        'no source';
    is_deeply scalar compute(viz(series => [ ev('$pageview', math => 'bogus') ], dateRange => $RANGE)),
        { error => 'The math "bogus" is not supported here.' }, 'unknown math';
    is_deeply scalar compute(viz(series => [ ev('$pageview') ], interval => 'fortnight')),
        { error => 'Unknown interval "fortnight".' }, 'unknown interval';
    my ($bad) = compute(viz(series => [ ev('$pageview') ], dateRange => $RANGE,
                           properties => [ { key => '$browser', value => '(', operator => 'regex', type => 'event' } ]));
    like $bad->{error}, qr/^Invalid regular expression/, 'invalid regex: an error';
    my $hostile = q{x'); DROP TABLE posthog_event; --"};
    my ($h) = compute(viz(series => [ ev('$pageview') ], dateRange => $RANGE,
                         properties => [ { key => $hostile, value => $hostile, operator => 'exact', type => 'event' } ],
                         breakdownFilter => { breakdown => $hostile, breakdown_type => 'event' }));
    ok !defined $h->{error}, 'hostile property name: computed, not refused' or diag $h->{error};
    is_deeply $h->{results}, [], 'hostile property name: matches nothing';
    ok $t->sql_value(q{SELECT count(*) FROM posthog_event}) > 0, 'events still there';
    my ($m) = compute(viz(series => [ ev('$pageview', math => 'sum', math_property => $hostile) ], dateRange => $RANGE));
    is_deeply [ map { $_->{data} } @{ $m->{results} } ], [ [ 0, 0, 0 ] ], 'hostile math_property: sums nothing';
};

subtest 'store: errors never cached, an older response never replaces a newer one' => sub {
    my $n = cache_count();
    $t->sql('SELECT ngx_dashboards_insight_store($1, $2, ngx_dashboards_insight_compute($1, $3::jsonb, $2))',
            $T, 'cache_err', { kind => 'FunnelsQuery' });
    $t->sql('SELECT ngx_dashboards_insight_store($1, $2, $3::json)', $T, 'cache_err', { error => 'x', results => [] });
    $t->sql('SELECT ngx_dashboards_insight_store($1, $2, $3::json)', $T, 'cache_err', '[1]');
    $t->sql('SELECT ngx_dashboards_insight_store($1, $2, NULL)', $T, 'cache_err');
    is cache_count(), $n, 'nothing stored';
    $t->sql('SELECT ngx_dashboards_insight_store($1, $2, $3::json)', $T, 'cache_order',
            { results => [1], last_refresh => '2025-01-02T00:00:00.000000Z', error => undef });
    $t->sql('SELECT ngx_dashboards_insight_store($1, $2, $3::json)', $T, 'cache_order',
            { results => [0], last_refresh => '2025-01-01T00:00:00.000000Z' });
    my $row = $t->sql_row(q{SELECT results::text AS r, last_refresh = '2025-01-02Z' AS lr,
                                   cache_target_age = '2025-01-02 06:00Z' AS ta,
                                   expires_at = '2025-01-09Z' AS ex
                              FROM ngx_dashboards_result_cache WHERE cache_key = 'cache_order'});
    is_deeply $J->decode($row->{r}), [1], 'the newer response stays';
    ok $row->{lr} && $row->{ta} && $row->{ex}, 'last_refresh, target age (6 h default), expiry (7 days)';
};

subtest 'store keeps the series computed; a read patches custom_name only when the series differ' => sub {
    my $series = [ ev('$pageview', custom_name => 'Views') ];
    my $rows = [ { data => [1], label => '$pageview', action => { id => '$pageview', custom_name => 'Views',
                                                                  order => 0 } } ];
    $t->sql('SELECT ngx_dashboards_insight_store($1, $2, $3::json)', $T, 'cache_series',
            { results => $rows, ngx_series => $series, last_refresh => '2030-01-01T00:00:00.000000Z' });
    my $row = $t->sql_row(q{SELECT series::text AS s, result ? 'ngx_series' AS in_result
                              FROM ngx_dashboards_result_cache WHERE cache_key = 'cache_series'});
    is_deeply $J->decode($row->{s}), $series, 'the series kept beside the entry';
    ok !$row->{in_result}, '... not among the response values';
    is $t->sql_value(q{SELECT compute_ms FROM ngx_dashboards_result_cache WHERE cache_key = 'cache_series'}),
        undef, 'no ngx_ms: no duration';
    $t->sql('SELECT ngx_dashboards_insight_store($1, $2, $3::json)', $T, 'cache_series',
            { results => $rows, ngx_series => $series, ngx_ms => 1234,
              last_refresh => '2030-01-01T00:00:01.000000Z' });
    $row = $t->sql_row(q{SELECT compute_ms, result ? 'ngx_ms' AS in_result
                           FROM ngx_dashboards_result_cache WHERE cache_key = 'cache_series'});
    is $row->{compute_ms}, 1234, 'the duration kept beside the entry';
    ok !$row->{in_result}, '... not among the response values';
    my $read = sub {
        my ($q) = @_;
        return $J->decode($t->sql_value(q{SELECT results::text FROM ngx_dashboards_cached('cache_series', $1, $2::jsonb)},
                                        $T, $q));
    };
    is $read->(viz(series => $series))->[0]{action}{custom_name}, 'Views', 'the same series: as computed';
    is $read->(viz(series => [ ev('$pageview', custom_name => 'Page views') ]))->[0]{action}{custom_name},
        'Page views', 'a renamed series: the new name';
    is $read->(viz(series => [ ev('$pageview') ]))->[0]{action}{custom_name}, undef, 'the name removed: null';
    # the results are not read while the series are those computed: a name
    # planted in them (no writer does that) stays
    $t->sql(q{UPDATE ngx_dashboards_result_cache SET results = replace(results::text, 'Views', 'Planted')::json
               WHERE cache_key = 'cache_series'});
    is $read->(viz(series => $series))->[0]{action}{custom_name}, 'Planted', 'the same series: not read';
    $t->sql(q{UPDATE ngx_dashboards_result_cache SET series = NULL WHERE cache_key = 'cache_series'});
    is $read->(viz(series => $series))->[0]{action}{custom_name}, 'Views', 'an entry without series: read';
    $t->sql(q{DELETE FROM ngx_dashboards_result_cache WHERE cache_key = 'cache_series'});
};

subtest 'plan: the checks of retrieve, read-only, viewable insights with a query' => sub {
    my $d = dashboard(name => 'Plan');
    my $text = $t->fixture_text_tile(dashboard => $d, body => 'hi', layouts => { sm => { x => 0, y => 0 } });
    my $i = insight($Q2);
    tile($d, $i, 5);
    tile($d, insight(undef), 10);
    my $acc = $t->row(posthog_dashboard => $d)->{last_accessed_at};
    is scalar @{ plan_keys($d, 'force_blocking') }, 1, 'the insight without a query is left out';
    is $t->row(posthog_dashboard => $d)->{last_accessed_at}, $acc, 'last_accessed_at untouched';
    my $fails = sub {
        my ($sql, @bind) = @_;
        my $got = eval { $t->sql($sql, @bind); 'ok' } // $@;
        return $got;
    };
    like $fails->('SELECT * FROM ngx_dashboards_insight_plan($1, $2, $3, $4, NULL, NULL, $5)',
                  $U, $w->{project}, '', 999999, 'force_blocking'), qr/Not found/, 'unknown dashboard: 404';
    like $fails->('SELECT ngx_dashboards_run_insights($1, $2, $3, $4, NULL, NULL, NULL, NULL)',
                  $U, $w->{project}, '', 999999), qr/Not found/, 'run_insights: 404';
    $t->sql('UPDATE posthog_dashboard SET deleted = true WHERE id = $1', $d);
    like $fails->('SELECT * FROM ngx_dashboards_insight_plan($1, $2, $3, $4, NULL, NULL, $5)',
                  $U, $w->{project}, '', $d, 'force_blocking'), qr/Not found/, 'deleted dashboard: 404';
    like $fails->('SELECT * FROM ngx_dashboards_insight_plan($1, $2, $3, $4, NULL, NULL, $5)',
                  $U, 999999, '', $d, 'force_blocking'), qr/Project not found/, 'unknown project';
};

# ---------------------------------------------------------------------------
# run_insights and the text of trends results

sub run_insights {
    my ($d, $format, $outcomes) = @_;
    my $raw = $t->sql_value('SELECT ngx_dashboards_run_insights($1, $2, $3, $4, NULL, NULL, $5, $6::jsonb)',
                            $U, $w->{project}, '', $d, $format, $outcomes);
    return ($J->decode($raw), $raw);
}
sub text_of { $t->sql_value('SELECT ngx_dashboards_trends_text($1::jsonb)', $J->encode($_[0])) }

subtest 'run_insights: shape, order, formats' => sub {
    my $d = dashboard(name => 'Run');
    $t->fixture_text_tile(dashboard => $d, body => 'first', layouts => { sm => { x => 0, y => 0 } });
    my $i = insight($Q2, name => 'Two series', derived_name => 'D');
    my $t1 = tile($d, $i, 5);
    tile($d, insight(undef), 7);
    my $bd = insight(viz(series => [ ev('$pageview') ], interval => 'day', dateRange => $RANGE,
                         breakdownFilter => { breakdown => '$browser', breakdown_type => 'event' }));
    my $t2 = tile($d, $bd, 10);
    my $cmp = insight(viz(series => [ ev('$pageview') ], interval => 'day',
                          dateRange => { date_from => '2025-01-02', date_to => '2025-01-03' },
                          compareFilter => { compare => JSON::PP::true }));
    my $t3 = tile($d, $cmp, 15);
    my $bold = insight(viz(series => [ ev('$pageview') ], dateRange => $RANGE,
                           trendsFilter => { display => 'BoldNumber' }));
    my $t4 = tile($d, $bold, 20);
    my $miss = insight(viz(series => [ ev('$pageleave') ], dateRange => $RANGE));
    my $t5 = tile($d, $miss, 25);

    my ($r) = run_insights($d);
    is_deeply $r->{results}[-1], { id => $t5, order => 6, last_refresh => undef, is_cached => $FALSE,
        insight => { id => $miss, short_id => $t->row(posthog_dashboarditem => $miss)->{short_id},
                     name => $t->row(posthog_dashboarditem => $miss)->{name},
                     derived_name => undef, result => undef } }, 'a miss: result null';
    my @computed = @{ refresh($d) };
    is scalar @computed, 5, 'five computations';
    $t->sql(q{DELETE FROM ngx_dashboards_result_cache WHERE cache_key = $1}, key_of($_))
        for viz(series => [ ev('$pageleave') ], dateRange => $RANGE);

    my $raw;
    ($r, $raw) = run_insights($d);
    is_deeply [ map { $_->{id} } @{ $r->{results} } ], [ $t1, $t2, $t3, $t4, $t5 ],
        'insight tiles with a query, in tile order';
    is_deeply [ map { $_->{order} } @{ $r->{results} } ], [ 1, 3, 4, 5, 6 ], 'order: the index among all tiles';
    is_deeply okeys($raw, 'results', 0), [qw(id insight order last_refresh is_cached)], 'item keys';
    is_deeply okeys($raw, 'results', 0, 'insight'), [qw(id short_id name derived_name result)], 'insight keys';
    is_deeply [ @{ $r->{results}[0]{insight} }{qw(id name derived_name)} ], [ $i, 'Two series', 'D' ], 'insight';
    my @text = map { $_->{insight}{result} } @{ $r->{results} };
    is $text[0], "Date|\$pageview|\$pageleave\n2025-01-01|3|2\n2025-01-02|5|0\n2025-01-03|1|1",
        'daily trend, two series';
    is $text[1], "Date|Chrome breakdown for the value `Chrome`|Safari breakdown for the value `Safari`"
        . "|None (i.e. no value) breakdown for the value `None (i.e. no value)`\n"
        . "2025-01-01|2|1|0\n2025-01-02|3|0|2\n2025-01-03|0|1|0", 'breakdown';
    is $text[2], "Previous period:\nDate|\$pageview\n2024-12-31|1\n2025-01-01|3\n\n"
        . "Current period:\nDate|\$pageview\n2025-01-02|5\n2025-01-03|1", 'compare';
    is $text[3], "Date range|Aggregated value for \$pageview\n2025-01-01T00:00:00Z to 2025-01-03T00:00:00Z|9",
        'BoldNumber';
    is $text[4], undef, 'a miss stays null';

    my ($j) = run_insights($d, 'json');
    is_deeply $j->{results}[0]{insight}{result}, $ROWS2, 'output_format json: the raw rows';
    ($j) = run_insights($d, 'optimized', { key_of(effective($Q2, {}, {})) => { error => 'boom' } });
    is $j->{results}[0]{insight}{result}, undef, 'a failed computation: null';
    is $j->{results}[1]{insight}{result}, $text[1], '... the others unchanged';
};

subtest 'text of trends results: labels, numbers, tables' => sub {
    my $row = sub { my (%o) = @_; return { label => '$pageview', days => [ '2025-01-01', '2025-01-02' ],
                                           data => [ 1, 2 ], action => { custom_name => undef }, %o } };
    is text_of([]), 'No data recorded for this time period.', 'no rows';
    is text_of([ $row->(data => [ 2.000001, undef ]), $row->(data => [ 1 / 3, 3.5 ]),
                 $row->(data => [ 8.0, 'abc' ]), $row->(data => [ -0.5, 1e20 ]) ]),
        "Date|\$pageview|\$pageview|\$pageview|\$pageview\n2025-01-01|2.|0.33333|8|-0.5\n"
        . "2025-01-02|N/A|3.5|abc|100000000000000000000", 'format_number';
    is text_of([ $row->(action => { custom_name => 'Views' }) ]), "Date|Views\n2025-01-01|1\n2025-01-02|2",
        'custom_name wins over the label';
    is text_of([ $row->(label => undef, action => undef) ]), "Date|\n2025-01-01|1\n2025-01-02|2",
        'a null label: an empty cell';
    is text_of([ $row->(breakdown_value => [ 'a', 1, JSON::PP::true ]),
                 $row->(label => 'x', breakdown_value => '$$_posthog_breakdown_other_$$') ]),
        "Date|\$pageview breakdown for the value `a, 1, True`"
        . "|x breakdown for the value `Other (i.e. all remaining values)`\n2025-01-01|1|1\n2025-01-02|2|2",
        'list breakdown values, the other marker';
    is text_of([ $row->(days => [ '2025-01-05 14:00:00' ], data => [ 7 ]) ]), "Date|\$pageview\n2025-01-05 14:00|7",
        'hour buckets without seconds';
    is text_of([ { label => 'a', aggregated_value => 2.5, action => undef, data => [] },
                 { label => 'b', aggregated_value => undef, action => { days => [] } } ]),
        "Date range|Aggregated value for a|Aggregated value for b\nAll time|2.5|N/A", 'aggregated without days';
    is text_of([ $row->(compare_label => 'current') ]), "Date|\$pageview\n2025-01-01|1\n2025-01-02|2",
        'only current rows: one table';
    my $short = [ $row->(data => [1]) ];
    is_deeply $J->decode($t->sql_value(q{SELECT ngx_dashboards_insight_text($1::jsonb, $2::json, NULL)},
                                       viz(series => []), $J->encode($short))),
        $short, 'rows it cannot read (a bucket without data): the raw result';
};

subtest 'through HTTP: GET retrieve shows the cached results' => sub {
    my $d = dashboard(name => 'HTTP');
    my $i = insight($Q2);
    my $tl = tile($d, $i, 0);
    my $i2 = insight(viz(series => [ ev('$pageleave') ], dateRange => $RANGE));
    my $t2 = tile($d, $i2, 5);
    my @keys = @{ refresh($d) };
    is scalar @keys, 2, 'two computed';
    my ($k2) = grep { $_ ne key_of($Q2) } @keys;
    $t->sql(q{DELETE FROM ngx_dashboards_result_cache WHERE cache_key = $1}, $k2);
    $t->start;
    my $r = $t->api(GET => "/api/projects/$w->{project}/dashboards/$d/");
    is $r->{status}, 200, 'status';
    my $x = tile_of($r->{json}, $tl);
    is_deeply $x->{insight}{result}, $ROWS2, 'result';
    is $x->{insight}{filters_hash}, key_of($Q2), 'filters_hash';
    is $x->{insight}{is_cached}, $TRUE, 'is_cached';
    like $x->{last_refresh}, $ISO, 'tile last_refresh';
    is $x->{is_cached}, $TRUE, 'tile is_cached';
    my $n = (grep { $r->{json}{tiles}[$_]{id} == $tl } 0 .. $#{ $r->{json}{tiles} })[0];
    is_deeply okeys($r->{raw}, 'tiles', $n, 'insight', 'result', 0),
        [qw(data labels days count label filter action order)], 'result row key order';
    my $y = tile_of($r->{json}, $t2)->{insight};
    is $y->{result}, undef, 'the other tile: a miss';
    is $y->{filters_hash}, key_of(viz(series => [ ev('$pageleave') ], dateRange => $RANGE)), '... with its key';
};

done_testing;
