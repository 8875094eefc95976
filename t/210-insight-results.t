#!/usr/bin/perl
# Insight results through HTTP: a dashboard's insight tiles computed from
# posthog_event and served from the results cache according to ?refresh=
# (PostHog's execution modes), several tiles of one request computed side by
# side over the pool (bounded by dashboards_queries_per_request), background
# computations that outlive their request, per-tile errors that are never
# cached, 504 for a blocking computation past its timeout, team isolation,
# the dashboards_events server set, and run_insights.
# The numbers are computed by hand from the events inserted here.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Lock;
use Dash::Raw qw(send_request answered read_response);
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(sleep);

my $t = Dash->new(workers => 1, pool_size => 8);
my $w = $t->world;
my $T = $w->{team};
my $P = $w->{project};

# the days of a -2d range, today last (UTC: the team's timezone)
my @DAYS = map { strftime('%Y-%m-%d', gmtime(time - $_ * 86400)) } (2, 1, 0);

sub events {
    my ($team, @ev) = @_;    # [event, distinct_id, SQL timestamp expression]
    for my $e (@ev) {
        $t->sql(qq{INSERT INTO posthog_event (team_id, event, distinct_id, "timestamp", properties)
                   VALUES (\$1, \$2, \$3, $e->[2], '{}')}, $team, $e->[0], $e->[1]);
    }
}

my $today = q{date_trunc('day', now()) + interval '1 second'};
my $yesterday = q{date_trunc('day', now()) - interval '12 hours'};

events($T, ['$pageview', 'u1', $yesterday], ['$pageview', 'u1', $today],
           ['$pageview', 'u2', $today], ['signed_up', 'u2', $today]);

# another team's events are never counted
my $P2 = $t->fixture_project(org => $w->{org}, name => 'Other');
events($P2, (['$pageview', 'x', $today]) x 5);

sub trend {
    my ($event, %o) = @_;
    return { kind => 'InsightVizNode', source => {
        kind => 'TrendsQuery', interval => 'day', dateRange => { date_from => '-2d' },
        series => [ { kind => 'EventsNode', event => $event, math => $o{math} // 'total' } ],
        %{ $o{extra} // {} } } };
}

my $d = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Numbers');
my ($tile1, $i1) = $t->fixture_insight_tile(dashboard => $d,
    insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Pageviews',
                                   query => trend('$pageview')),
    layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
my ($tile2, $i2) = $t->fixture_insight_tile(dashboard => $d,
    insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Sign-ups',
                                   query => trend('signed_up')),
    layouts => { sm => { x => 6, y => 0, w => 6, h => 5 } });

my $url = "/api/projects/$P/dashboards/$d/";

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

sub tiles_of {
    my ($r) = @_;
    return { map { ($_->{id} => $_) } @{ $r->{json}{tiles} // [] } };
}

sub cache_rows {
    return $t->sql_value('SELECT count(*) FROM ngx_dashboards_result_cache WHERE team_id = $1', $T);
}

# ---------------------------------------------------------------------------
# force_cache (the default) on a miss: no result, filters_hash the key

my $r = $t->api(GET => $url);
is $r->{status}, 200, 'retrieve: 200' or diag $r->{raw};
my $tiles = tiles_of($r);
my $ins = $tiles->{$tile1}{insight};
is $ins->{result}, undef, 'cache miss: result null';
is $ins->{last_refresh}, undef, 'cache miss: last_refresh null';
ok !$ins->{is_cached}, 'cache miss: is_cached false';
like $ins->{filters_hash} // '', qr/^cache_[0-9a-f]{32}$/, 'cache miss: filters_hash is the cache key';
is cache_rows(), 0, 'nothing computed, nothing cached';
my $key1 = $ins->{filters_hash};

# ---------------------------------------------------------------------------
# blocking: computed, stored, in the answer

$r = $t->api(GET => "$url?refresh=blocking");
is $r->{status}, 200, 'refresh=blocking: 200' or diag $r->{raw};
$tiles = tiles_of($r);
$ins = $tiles->{$tile1}{insight};
is_deeply $ins->{result}[0]{data}, [0, 1, 2], 'pageviews per day, only this team\'s events';
is_deeply $ins->{result}[0]{days}, \@DAYS, 'the three days of -2d';
is $ins->{result}[0]{count}, 3, 'count 3';
is $ins->{result}[0]{label}, '$pageview', 'label';
is_deeply $tiles->{$tile2}{insight}{result}[0]{data}, [0, 0, 1], 'the second tile: sign-ups';
ok defined $ins->{last_refresh}, 'last_refresh set';
is $ins->{filters_hash}, $key1, 'the same cache key';
is cache_rows(), 2, 'both results cached';
my $first_refresh = $ins->{last_refresh};

# force_cache now serves them
$r = $t->api(GET => $url);
$ins = tiles_of($r)->{$tile1}{insight};
ok $ins->{is_cached}, 'then force_cache: is_cached true';
is_deeply $ins->{result}[0]{data}, [0, 1, 2], 'the cached numbers';
is tiles_of($r)->{$tile1}{is_cached}, JSON::PP::true, "the tile's is_cached too";

# a fresh entry is not recomputed by blocking
events($T, ['$pageview', 'u3', $today]);
$r = $t->api(GET => "$url?refresh=blocking");
$ins = tiles_of($r)->{$tile1}{insight};
is_deeply $ins->{result}[0]{data}, [0, 1, 2], 'blocking with a fresh entry: the cached numbers';
ok $ins->{is_cached}, 'is_cached';

# stale: force_cache returns it as is, blocking recomputes
$t->sql(q{UPDATE ngx_dashboards_result_cache
             SET cache_target_age = now() - interval '1 minute',
                 last_refresh = now() - interval '7 hours' WHERE team_id = $1}, $T);
$r = $t->api(GET => $url);
is_deeply tiles_of($r)->{$tile1}{insight}{result}[0]{data}, [0, 1, 2],
    'stale entry under force_cache: returned as is';
$r = $t->api(GET => "$url?refresh=blocking");
$ins = tiles_of($r)->{$tile1}{insight};
is_deeply $ins->{result}[0]{data}, [0, 1, 3], 'stale entry under blocking: recomputed';
ok !$ins->{is_cached}, 'freshly computed: is_cached false';

# force_blocking always computes
events($T, ['$pageview', 'u4', $today]);
$r = $t->api(GET => "$url?refresh=force_blocking");
is_deeply tiles_of($r)->{$tile1}{insight}{result}[0]{data}, [0, 1, 4], 'force_blocking recomputes';
$r = $t->api(GET => "$url?refresh=true");
is $r->{status}, 200, 'refresh=true (force_blocking)';

# ---------------------------------------------------------------------------
# async: answered at once, computed after the response

events($T, ['$pageview', 'u5', $today]);
$r = $t->api(GET => "$url?refresh=force_async");
is $r->{status}, 200, 'force_async: 200';
$ins = tiles_of($r)->{$tile1}{insight};
ok $ins->{query_status}, 'query_status on the tile';
ok $ins->{query_status}{query_async}, 'query_async true';
ok !$ins->{query_status}{complete}, 'complete false';
ok $t->wait_until(sub {
        my $x = tiles_of($t->api(GET => $url))->{$tile1}{insight}{result};
        $x && $x->[0]{data}[2] == 5 }, timeout => 20),
    'the background computation fills the cache after its response';

# ---------------------------------------------------------------------------
# per-tile errors: a kind the engine does not compute, never cached

my ($tile3, $i3) = $t->fixture_insight_tile(dashboard => $d,
    insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Funnel',
        query => { kind => 'InsightVizNode', source => { kind => 'FunnelsQuery',
                   series => [ { kind => 'EventsNode', event => '$pageview' } ] } }),
    layouts => { sm => { x => 0, y => 5, w => 6, h => 5 } });
my $before = cache_rows();
$r = $t->api(GET => "$url?refresh=force_blocking");
is $r->{status}, 200, 'a tile that cannot be computed: still 200' or diag $r->{raw};
$tiles = tiles_of($r);
is $tiles->{$tile3}{insight}{result}, undef, 'its result null';
ok $tiles->{$tile3}{insight}{query_status}{error}, 'query_status.error true';
like $tiles->{$tile3}{insight}{query_status}{error_message} // '', qr/FunnelsQuery/,
    'the message names the kind';
is_deeply $tiles->{$tile1}{insight}{result}[0]{data}, [0, 1, 5], 'the other tiles computed';
is cache_rows(), $before, 'the error is not cached';

# ---------------------------------------------------------------------------
# bad stored queries: a clear error on their tile, never a 500; a hostile
# property name is only a name

my $bad = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Bad queries');
my %bad;
my $y = 0;
for my $b (
    [ math => trend('$pageview', math => 'bogus') ],
    [ hours => trend('$pageview', extra => { interval => 'hour', dateRange => { date_from => '-10y' } }) ],
    [ hostile => trend('$pageview', extra => { properties => [ { type => 'event', operator => 'exact',
          key => q{a'"%_\\; DROP TABLE posthog_event; --}, value => q{x'); DROP TABLE posthog_event; --} } ] }) ],
) {
    ($bad{$b->[0]}) = $t->fixture_insight_tile(dashboard => $bad,
        insight => $t->fixture_insight(team => $T, user => $w->{user}, name => $b->[0], query => $b->[1]),
        layouts => { sm => { x => 0, y => $y++, w => 6, h => 1 } });
}
$r = $t->api(GET => "/api/projects/$P/dashboards/$bad/?refresh=force_blocking");
is $r->{status}, 200, 'bad stored queries: the dashboard answers 200' or diag $r->{raw};
$tiles = tiles_of($r);
for my $k (qw(math hours)) {
    my $i = $tiles->{$bad{$k}}{insight};
    is $i->{result}, undef, "$k: no result";
    ok $i->{query_status} && $i->{query_status}{error}, "$k: query_status.error";
    ok length($i->{query_status}{error_message} // '') > 10, "$k: with a message"
        and note "$k: $i->{query_status}{error_message}";
}
is_deeply $tiles->{$bad{hostile}}{insight}{result}[0]{data}, [0, 0, 0],
    'a property name full of quotes, % and SQL: computed, nothing matches';
is $t->sql_value('SELECT count(*) > 0 FROM posthog_event'), 't', 'and posthog_event is still there';

# ---------------------------------------------------------------------------
# the dashboard's filters, filters_override and the tile's filters_overrides
# make the computed query (and its cache key)

$t->sql(q{UPDATE posthog_dashboard SET filters = '{"date_from": "-1d"}' WHERE id = $1}, $d);
$r = $t->api(GET => "$url?refresh=blocking");
$ins = tiles_of($r)->{$tile1}{insight};
is_deeply $ins->{result}[0]{data}, [1, 5], "the dashboard's date_from -1d: two days";
is $ins->{query}{source}{dateRange}{date_from}, '-1d', 'the query shown is the one computed';
isnt $ins->{filters_hash}, $key1, 'another cache key';

$t->sql(q{UPDATE posthog_dashboardtile SET filters_overrides = '{"date_from": "-3d"}' WHERE id = $1}, $tile1);
$r = $t->api(GET => "$url?refresh=blocking");
is_deeply tiles_of($r)->{$tile1}{insight}{result}[0]{data}, [0, 0, 1, 5],
    "the tile's filters_overrides win over the dashboard's";
is_deeply tiles_of($r)->{$tile2}{insight}{result}[0]{data}, [0, 1],
    'the other tile keeps the dashboard\'s';
$t->sql(q{UPDATE posthog_dashboardtile SET filters_overrides = '{}' WHERE id = $1}, $tile1);
$t->sql(q{UPDATE posthog_dashboard SET filters = '{}' WHERE id = $1}, $d);

$r = $t->api(GET => "$url?refresh=blocking&filters_override=" . uri_escape('{"date_from":"-1d"}'));
is $r->{status}, 200, 'filters_override: 200' or diag $r->{raw};
is_deeply tiles_of($r)->{$tile1}{insight}{result}[0]{data}, [1, 5], 'filters_override -1d: two days';
$r = $t->api(GET => $url);
is tiles_of($r)->{$tile1}{insight}{filters_hash}, $key1, 'without it: the first key again';

# tile_filters_override: merged over every tile's filters_overrides
# ({**tile, **override}, PostHog's tile_filters_override_requested_by_client)
$t->sql(q{UPDATE posthog_dashboardtile SET filters_overrides = '{"date_from": "-3d", "interval": "day"}'
           WHERE id = $1}, $tile1);
$r = $t->api(GET => "$url?refresh=blocking&tile_filters_override=" . uri_escape('{"date_from":"-1d"}'));
is $r->{status}, 200, 'tile_filters_override: 200' or diag $r->{raw};
is_deeply tiles_of($r)->{$tile1}{insight}{result}[0]{data}, [1, 5],
    "tile_filters_override -1d over the tile's -3d: two days";
is_deeply tiles_of($r)->{$tile2}{insight}{result}[0]{data}, [0, 1], '... and over a tile without overrides';
is_deeply tiles_of($r)->{$tile1}{filters_overrides}, { date_from => '-3d', interval => 'day' },
    "... the tile still shows its own filters_overrides";
is tiles_of($r)->{$tile1}{insight}{query}{source}{dateRange}{date_from}, '-1d', '... the query shown is the computed one';
my $tfo_key = tiles_of($r)->{$tile1}{insight}{filters_hash};
$r = $t->api(GET => "$url?tile_filters_override=" . uri_escape('{"date_from":"-1d"}'));
is tiles_of($r)->{$tile1}{insight}{filters_hash}, $tfo_key, '... force_cache reads the same key';
ok tiles_of($r)->{$tile1}{insight}{is_cached}, '... from the cache';
$r = $t->api(GET => $url);
isnt tiles_of($r)->{$tile1}{insight}{filters_hash}, $tfo_key, 'without it: the tile\'s own key';
for my $bad ('{', '[1]', '"x"') {
    $r = $t->api(GET => "$url?tile_filters_override=" . uri_escape($bad));
    is $r->{status}, 400, "tile_filters_override $bad: 400";
    is_deeply $r->{json}, { type => 'validation_error', code => 'invalid_input',
                            detail => 'Invalid JSON passed in tile_filters_override parameter',
                            attr => 'tile_filters_override' }, '... in PostHog\'s shape';
}
$t->sql(q{UPDATE posthog_dashboardtile SET filters_overrides = '{}' WHERE id = $1}, $tile1);

# ---------------------------------------------------------------------------
# run_insights

my $ri = "/api/projects/$P/dashboards/$d/run_insights/";
$r = $t->api(GET => "$ri?output_format=json");
is $r->{status}, 200, 'run_insights json: 200' or diag $r->{raw};
my @res = @{ $r->{json}{results} // [] };
is scalar(@res), 3, 'three insight tiles';
is $res[0]{id}, $tile1, 'in tile order';
is_deeply [ sort keys %{ $res[0]{insight} } ], [qw(derived_name id name result short_id)],
    'the narrow insight';
is_deeply $res[0]{insight}{result}[0]{data}, [0, 1, 5], 'the cached numbers';

$r = $t->api(GET => $ri);
is $r->{status}, 200, 'run_insights optimized: 200';
is $r->{json}{results}[0]{insight}{result},
    "Date|\$pageview\n$DAYS[0]|0\n$DAYS[1]|1\n$DAYS[2]|5",
    'the text of a daily trend';

# a broken override: 400, but the dashboard's 404 first (PostHog loads it first)
$r = $t->api(GET => "$ri?filters_override=" . uri_escape('{'));
is $r->{status}, 400, 'run_insights with a broken filters_override: 400';
is_deeply $r->{json}, { type => 'validation_error', code => 'invalid_input',
                        detail => 'Invalid JSON passed in filters_override parameter',
                        attr => 'filters_override' }, '... in PostHog\'s shape';
$r = $t->api(GET => "/api/projects/$P/dashboards/99999999/run_insights/?filters_override=" . uri_escape('{'));
is $r->{status}, 404, '... on a dashboard that does not exist: 404';
my $cached_before = $t->sql_value('SELECT count(*) FROM ngx_dashboards_result_cache');
$r = $t->api(GET => "/api/projects/$P/dashboards/$d/?refresh=force_blocking&filters_override=" . uri_escape('{'));
is $r->{status}, 400, 'a retrieve with force_blocking and a broken override: 400';
is $t->sql_value('SELECT count(*) FROM ngx_dashboards_result_cache'), $cached_before, '... nothing computed';

my $read_key = $t->fixture_key(user => $w->{user}, scopes => ['dashboard:read']);
$r = $t->api(GET => $ri, key => $read_key);
is $r->{status}, 403, 'run_insights needs query:read';
my $query_key = $t->fixture_key(user => $w->{user}, scopes => ['query:read']);
is $t->api(GET => $ri, key => $query_key)->{status}, 200, 'with query:read: 200';

# ---------------------------------------------------------------------------
# the computations of one request run side by side, bounded per request,
# on the dashboards_events servers; a slow one does not hold the worker

my ($tile4) = $t->fixture_insight_tile(dashboard => $d,
    insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Leaves',
                                   query => trend('$pageleave')),
    layouts => { sm => { x => 6, y => 5, w => 6, h => 5 } });

sub events_locked {
    return Dash::Lock->new($t, { sql => 'LOCK TABLE posthog_event IN ACCESS EXCLUSIVE MODE' });
}

# the module's backends of the events servers waiting for the table
sub events_waiters {
    return $t->sql_value(q{SELECT count(*) FROM pg_stat_activity
                            WHERE datname = current_database() AND wait_event_type = 'Lock'
                              AND application_name = 'ngx_dashboards_events'});
}

sub events_block {
    my ($timeout, %o) = @_;
    return "dashboards_database events {\n"
         . "    server \"" . $t->conninfo(application_name => 'ngx_dashboards_events') . "\";\n"
         . ($o{pool_size} ? "    pool_size $o{pool_size};\n" : '')
         . "    query_timeout $timeout;\n    lock_timeout off;\n}\n";
}

for my $n (2, 4) {
    $t->reload(http_extra => events_block('30s'),
               location_extra => "dashboards_events events;\ndashboards_queries_per_request $n;");
    my $want = $n == 2 ? 2 : 3;
    my $lock = events_locked();
    my $s = send_request($t, GET => "$url?refresh=force_blocking");
    ok $t->wait_until(sub { events_waiters() >= $want }, timeout => 10),
        "queries_per_request $n: $want computations wait at once, on the dashboards_events servers";
    sleep 0.5;
    is events_waiters(), $want, "queries_per_request $n: not more";
    my $other = $t->api(GET => "/api/projects/$P/dashboards/");
    is $other->{status}, 200, "queries_per_request $n: another request on the worker answers meanwhile";
    ok !answered($s), "queries_per_request $n: while the blocking one still waits";
    $lock->release('ROLLBACK');
    my $br = read_response($s);
    is $br->{status}, 200, "queries_per_request $n: the blocking request answers once the events can be read"
        or diag $br->{raw};
    my $bt = tiles_of($br);
    is_deeply [ map { $bt->{$_}{insight}{result}[0]{data} } $tile1, $tile2, $tile4 ],
        [ [0, 1, 5], [0, 0, 1], [0, 0, 0] ], "queries_per_request $n: every tile's numbers, in place";
    is_deeply [ map { $_->{id} } @{ $br->{json}{tiles} } ], [ $tile1, $tile2, $tile3, $tile4 ],
        "queries_per_request $n: tiles in their order";
}

# a computation that runs beside others of its request is sent with
# p_side_by_side true (it then runs without PostgreSQL's parallel workers,
# t/200 section 18); one alone, or one at a time, with false.  Read from
# the statements the events servers log with their parameters.
SKIP: {
    skip 'the log of PostgreSQL is not known (t/run exports DASH_PGLOG)', 11
        unless defined $t->cluster->{log};
    $t->sql(qq{ALTER DATABASE "${\ $t->db}" SET log_statement = 'all'});
    my ($dx) = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Alone');
    $t->fixture_insight_tile(dashboard => $dx,
        insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Lone pageviews',
                                       query => trend('$pageview', math => 'dau')));
    my $sides = sub {
        my ($from) = @_;
        sleep 0.3;
        my $txt = $t->pg_log(from => $from);
        return [ sort map { /\$4 = '([^']*)'/ ? $1 : '?' }
                 $txt =~ /execute ngxd_insight_compute:[^\n]*\n[^\n]*DETAIL:\s+parameters: ([^\n]*)/g ];
    };
    for my $case ([4, $url, [qw(t t t t)], 'four tiles, 4 at a time'],
                  [1, $url, [qw(f f f f)], 'four tiles, one at a time'],
                  [4, "/api/projects/$P/dashboards/$dx/", ['f'], 'one tile']) {
        my ($n, $u, $want, $name) = @$case;
        $t->reload(http_extra => events_block('30s'),
                   location_extra => "dashboards_events events;\ndashboards_queries_per_request $n;");
        my $off = $t->pg_log_offset;
        my $r = $t->api(GET => "$u?refresh=force_blocking");
        is $r->{status}, 200, "side by side, $name: 200" or diag $r->{raw};
        is_deeply $sides->($off), $want, "side by side, $name: p_side_by_side";
    }
    my $off = $t->pg_log_offset;
    is $t->api(GET => "$url?refresh=force_async")->{status}, 200, 'side by side, in the background: 200';
    ok $t->wait_until(sub { @{ $sides->($off) } >= 4 }, timeout => 10), 'side by side, in the background: computed';
    is_deeply $sides->($off), [qw(t t t t)], 'side by side, in the background: p_side_by_side';
    $t->sql(qq{ALTER DATABASE "${\ $t->db}" RESET log_statement});
}

# a database that only dashboards_events names waits for a connection as
# long as its query_timeout when its queue_timeout is not set (README): with
# a pool of one, a dashboard's tiles wait for each other past the 5 s every
# other database waits; named by a dashboards_pass too, it keeps the 5 s
{
    for my $also_pass (0, 1) {
        my $name = $also_pass ? 'also a dashboards_pass database' : 'only the events database';
        $t->reload(http_extra => events_block('20s', pool_size => 1),
                   location_extra => "dashboards_events events;\ndashboards_queries_per_request 2;",
                   server_extra => $also_pass ? "location /other/ {\n    dashboards_pass events;\n}\n" : undef);
        my $lock = events_locked();
        my $s = send_request($t, GET => "$url?refresh=force_blocking");
        ok $t->wait_until(sub { events_waiters() >= 1 }, timeout => 10), "$name: a computation waits for the events";
        sleep 6;
        $lock->release('ROLLBACK');
        my $r = read_response($s);
        if ($also_pass) {
            is $r->{status}, 503, "$name: the tile behind it gave up after 5 s: 503" or diag $r->{raw};
            is $r->{json}{code}, 'database_busy', "$name: database_busy";
        } else {
            is $r->{status}, 200, "$name: the tiles behind it waited past 5 s: 200" or diag $r->{raw};
            my $bt = tiles_of($r);
            is_deeply [ map { $bt->{$_}{insight}{result}[0]{data} } $tile1, $tile2 ],
                [ [0, 1, 5], [0, 0, 1] ], "$name: every tile's numbers";
        }
    }
    $t->reload;
}

# the cached results are compressed with lz4 (019_result_cache_lz4.sql):
# those this server writes, and those written with pglz before it, which
# the migration rewrites; either way served as they were computed

{
    my $dl = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Hourly');
    $t->fixture_insight_tile(dashboard => $dl,
        insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Hourly pageviews',
            query => trend('$pageview', extra => { interval => 'hour',
                                                   dateRange => { date_from => '-7d' } })));
    my $lu = "/api/projects/$P/dashboards/$dl/";
    my $compression = sub {
        $t->sql_value(q{SELECT pg_column_compression(results) || ' ' || octet_length(results::text)
                          FROM ngx_dashboards_result_cache WHERE cache_key = $1}, $_[0]);
    };
    $r = $t->api(GET => "$lu?refresh=blocking");
    my $li = $r->{json}{tiles}[0]{insight};
    cmp_ok scalar @{ $li->{result}[0]{data} // [] }, '>', 7 * 24,
        'hourly over -7d: seven days of hours and today\'s' or diag $r->{raw};
    my $key = $li->{filters_hash};
    like $compression->($key), qr/^lz4 (\d{4,})$/, 'its results (kilobytes of text) stored with lz4';
    $t->sql(q{ALTER TABLE ngx_dashboards_result_cache ALTER COLUMN results SET COMPRESSION pglz});
    $t->sql(q{UPDATE ngx_dashboards_result_cache SET results = results::text::json WHERE cache_key = $1},
            $key);
    like $compression->($key), qr/^pglz /, 'an entry written with pglz (as before the migration)';
    open my $fh, '<', "$FindBin::Bin/../sql/migrations/019_result_cache_lz4.sql" or die $!;
    $t->sql(do { local $/; <$fh> });
    like $compression->($key), qr/^lz4 /, 'the migration writes it again with lz4';
    is $t->sql_value(q{SELECT attcompression FROM pg_attribute
                        WHERE attrelid = 'ngx_dashboards_result_cache'::regclass AND attname = 'results'}),
        'l', 'and the column compresses with lz4 again';
    my $again = $t->api(GET => $lu)->{json}{tiles}[0]{insight};
    ok $again->{is_cached}, 'served from the cache';
    is_deeply $again->{result}, $li->{result}, 'the same results as computed';
}

# a blocking computation past the events servers' query_timeout: 504, and
# nothing cached; async: answered at once, the failure only logged

$t->reload(http_extra => events_block('1s'),
           location_extra => "dashboards_events events;");
my $state = $t->sql_value(q{SELECT string_agg(cache_key || last_refresh, ',' ORDER BY cache_key)
                              FROM ngx_dashboards_result_cache WHERE team_id = $1}, $T);
{
    my $lock = events_locked();
    $r = $t->api(GET => "$url?refresh=force_blocking");
    is $r->{status}, 504, 'a computation past its timeout: 504' or diag $r->{raw};
    is $r->{json}{code}, 'database_timeout', 'database_timeout';
    my $from = $t->log_offset;
    $r = $t->api(GET => "$url?refresh=force_async");
    is $r->{status}, 200, 'force_async: answered at once';
    # three trends (the funnel's failure is logged at once)
    ok $t->wait_until(sub {
            my @l = $t->error_log(from => $from) =~ /background computation of cache_\w+ failed: [^\n]*statement timeout/g;
            @l >= 3 }, timeout => 15),
        'the background computations give up at the timeout, logged';
    $lock->release('ROLLBACK');
}
is $t->sql_value(q{SELECT string_agg(cache_key || last_refresh, ',' ORDER BY cache_key)
                     FROM ngx_dashboards_result_cache WHERE team_id = $1}, $T),
    $state, 'the cache is unchanged: errors are never cached';

done_testing;
