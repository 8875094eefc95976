#!/usr/bin/perl
# The insight results cache over time, through HTTP: expired entries are
# deleted by the statements that store results (a bounded number each time,
# never waiting for a row another session holds); a cached result shows the
# series' current custom_name (not part of the cache key); a background
# computation that failed leaves its query status, which later async reads
# of that key show for 20 minutes instead of starting it again; a
# request's variables_override applies to HogQL insights' variables (the
# query shown and its cache key).

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Lock;
use Dash::Ordered qw(okeys);
use JSON::PP;

my $t = Dash->new(workers => 1);
my $w = $t->world;
my $T = $w->{team};
my $P = $w->{project};

$t->sql(q{INSERT INTO posthog_event (team_id, event, distinct_id, "timestamp", properties)
          VALUES ($1, '$pageview', 'u1', date_trunc('day', now()) + interval '1 second', '{}')}, $T);

sub trend {
    my (%o) = @_;
    return { kind => 'InsightVizNode', source => {
        kind => 'TrendsQuery', interval => 'day', dateRange => { date_from => '-2d' },
        series => $o{series} // [ { kind => 'EventsNode', event => '$pageview', math => 'total' } ] } };
}

my $d = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Cache');
my ($tile, $insight) = $t->fixture_insight_tile(dashboard => $d,
    insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Pageviews',
                                   query => trend()),
    layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
my $url = "/api/projects/$P/dashboards/$d/";

sub tile_insight {
    my ($r) = @_;
    my ($x) = grep { $_->{id} == $tile } @{ $r->{json}{tiles} // [] };
    return $x ? $x->{insight} : undef;
}

# ---------------------------------------------------------------------------
# expired entries are deleted by a store, a bounded number at a time

my $P2 = $t->fixture_project(org => $w->{org}, name => 'Other');

sub cache_entry {
    my ($key, $team, $expires) = @_;
    $t->sql(qq{INSERT INTO ngx_dashboards_result_cache
                   (cache_key, team_id, result, results, last_refresh, cache_target_age, expires_at)
               VALUES (\$1, \$2, '{}', '[]', now() - interval '8 days',
                       now() - interval '8 days', $expires)}, $key, $team);
}

sub keys_like {
    my ($pattern) = @_;
    return $t->sql_value('SELECT count(*) FROM ngx_dashboards_result_cache WHERE cache_key LIKE $1',
                         $pattern);
}

cache_entry("expired_$_", $_ % 2 ? $T : $P2, q{now() - interval '1 hour'}) for 1 .. 250;
cache_entry('live_other', $P2, q{now() + interval '1 day'});
cache_entry('live_expiring', $T, q{now() + interval '1 hour'});

my $r = $t->api(GET => "$url?refresh=blocking");
is $r->{status}, 200, 'a blocking refresh: 200' or diag $r->{raw};
ok tile_insight($r)->{result}, 'its result computed (and stored)';
is keys_like('expired_%'), 150, 'that store deleted 100 expired entries, of any team';
is keys_like('live_%'), 2, 'the entries not expired are kept';

$r = $t->api(GET => "$url?refresh=force_blocking");
is $r->{status}, 200, 'another computation: 200';
is keys_like('expired_%'), 50, '100 more';
$r = $t->api(GET => "$url?refresh=force_blocking");
is keys_like('expired_%'), 0, 'then the rest';
is keys_like('live_%'), 2, 'the live entries still there';
is $t->sql_value('SELECT count(*) FROM ngx_dashboards_result_cache WHERE team_id = $1 AND cache_key LIKE $2',
                 $T, 'cache\_%'), 1, "the insight's own entry stays";

# a read never deletes: only statements that store do
cache_entry('expired_read', $T, q{now() - interval '1 minute'});
$r = $t->api(GET => $url);
is $r->{status}, 200, 'force_cache: 200';
is keys_like('expired_read'), 1, 'a read leaves an expired entry alone';

# a row another session holds is skipped, not waited for
{
    my $lock = Dash::Lock->new($t, { sql => q{SELECT 1 FROM ngx_dashboards_result_cache
                                              WHERE cache_key = 'expired_read' FOR UPDATE} });
    cache_entry('expired_free', $T, q{now() - interval '1 minute'});
    $r = $t->api(GET => "$url?refresh=force_blocking");
    is $r->{status}, 200, 'a store while an expired entry is locked: 200' or diag $r->{raw};
    is keys_like('expired_free'), 0, 'the free expired entry deleted';
    is keys_like('expired_read'), 1, 'the locked one skipped';
    $lock->release('ROLLBACK');
}
$r = $t->api(GET => "$url?refresh=force_blocking");
is keys_like('expired_read'), 0, 'deleted by the next store';

# ---------------------------------------------------------------------------
# renaming a series: the cached result shows the new custom_name
# (QueryRunner.apply_series_custom_names), the key and the rest unchanged

my $named = trend(series => [
    { kind => 'EventsNode', event => '$pageview', math => 'total', custom_name => 'Views' },
    { kind => 'EventsNode', event => 'signed_up', math => 'total' } ]);
my $d2 = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Names');
my $i2 = $t->fixture_insight(team => $T, user => $w->{user}, name => 'Named', query => $named);
my ($tile2) = $t->fixture_insight_tile(dashboard => $d2, insight => $i2,
                                       layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
my $url2 = "/api/projects/$P/dashboards/$d2/";

sub named_insight {
    my ($r) = @_;
    return $r->{json}{tiles}[0]{insight};
}

$r = $t->api(GET => "$url2?refresh=blocking");
is $r->{status}, 200, 'computed: 200' or diag $r->{raw};
my $ins = named_insight($r);
is $ins->{result}[0]{action}{custom_name}, 'Views', 'the first series: its custom_name';
is $ins->{result}[1]{action}{custom_name}, undef, 'the second: none';
my $key = $ins->{filters_hash};
my $refreshed = $ins->{last_refresh};
my @row_keys = @{ okeys($r->{raw}, 'tiles', 0, 'insight', 'result', 0) };
my @action_keys = @{ okeys($r->{raw}, 'tiles', 0, 'insight', 'result', 0, 'action') };
my $stored = $t->sql_value('SELECT result::text || results::text FROM ngx_dashboards_result_cache
                            WHERE cache_key = $1', $key);

$named->{source}{series}[0]{custom_name} = 'Page views';
$named->{source}{series}[1]{custom_name} = 'Sign-ups';
$t->sql('UPDATE posthog_dashboarditem SET query = $1 WHERE id = $2', $named, $i2);

$r = $t->api(GET => $url2);
is $r->{status}, 200, 'renamed, force_cache: 200';
$ins = named_insight($r);
is $ins->{filters_hash}, $key, 'the same cache key';
ok $ins->{is_cached}, 'is_cached true: from the cache';
is $ins->{last_refresh}, $refreshed, 'not computed again';
is $ins->{result}[0]{action}{custom_name}, 'Page views', 'the first series: the new custom_name';
is $ins->{result}[1]{action}{custom_name}, 'Sign-ups', 'the second: its new custom_name';
is $ins->{result}[0]{label}, '$pageview', 'label: the event, as computed';
is_deeply $ins->{result}[0]{data}, [0, 0, 1], 'the numbers as cached';
is_deeply okeys($r->{raw}, 'tiles', 0, 'insight', 'result', 0), \@row_keys, 'the row keeps its key order';
is_deeply okeys($r->{raw}, 'tiles', 0, 'insight', 'result', 0, 'action'), \@action_keys,
    'the action keeps its key order';
is $t->sql_value('SELECT result::text || results::text FROM ngx_dashboards_result_cache
                   WHERE cache_key = $1', $key),
    $stored, 'a read writes nothing';

my $text = $t->api(GET => "/api/projects/$P/dashboards/$d2/run_insights/");
is $text->{status}, 200, 'run_insights: 200';
like $text->{json}{results}[0]{insight}{result} // '', qr/^Date\|Page views\|Sign-ups\n/,
    'run_insights: the text names the series by their new custom_name';

delete $named->{source}{series}[0]{custom_name};
$t->sql('UPDATE posthog_dashboarditem SET query = $1 WHERE id = $2', $named, $i2);
$r = $t->api(GET => $url2);
$ins = named_insight($r);
is $ins->{filters_hash}, $key, 'custom_name removed: the same key';
ok exists $ins->{result}[0]{action}{custom_name} && !defined $ins->{result}[0]{action}{custom_name},
    'custom_name removed: null';
is $ins->{result}[1]{action}{custom_name}, 'Sign-ups', 'the other series keeps its own';

delete $named->{source}{series}[1]{custom_name};
$t->sql('UPDATE posthog_dashboarditem SET query = $1 WHERE id = $2', $named, $i2);
$r = $t->api(GET => $url2);
$ins = named_insight($r);
is_deeply [ map { $_->{action}{custom_name} } @{ $ins->{result} } ], [ undef, undef ],
    'no series named: the cached name shown as null';

# a cached action without custom_name gets it last
my $bare = $t->sql_value(q{SELECT results::text FROM ngx_dashboards_result_cache WHERE cache_key = $1}, $key);
$bare =~ s/"custom_name"\s*:\s*(?:null|"[^"]*")\s*,\s*//g;
$t->sql(q{UPDATE ngx_dashboards_result_cache SET results = $1::json WHERE cache_key = $2}, $bare, $key);
$named->{source}{series}[1]{custom_name} = 'Sign-ups';
$t->sql('UPDATE posthog_dashboarditem SET query = $1 WHERE id = $2', $named, $i2);
$r = $t->api(GET => $url2);
is_deeply okeys($r->{raw}, 'tiles', 0, 'insight', 'result', 1, 'action'),
    [ (grep { $_ ne 'custom_name' } @action_keys), 'custom_name' ],
    'custom_name added last to an action without it';
is named_insight($r)->{result}[1]{action}{custom_name}, 'Sign-ups', 'with its name';
ok !exists named_insight($r)->{result}[0]{action}{custom_name}, 'an unnamed series adds nothing';

# ---------------------------------------------------------------------------
# a failed background computation: its status, shown by later async reads
# (PostHog's execute_process_query stores it; enqueue_process_query_task
# returns it for a key seen before; get_async_query_status hides a complete
# status from force_cache)

my $d3 = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Failures');
my $funnel = $t->fixture_insight(team => $T, user => $w->{user}, name => 'Funnel',
    query => { kind => 'InsightVizNode', source => { kind => 'FunnelsQuery',
               series => [ { kind => 'EventsNode', event => '$pageview' } ] } });
$t->fixture_insight_tile(dashboard => $d3, insight => $funnel,
                         layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
my $url3 = "/api/projects/$P/dashboards/$d3/";

sub status_rows {
    my ($k) = @_;
    return $t->sql_value('SELECT count(*) FROM ngx_dashboards_query_status WHERE cache_key = $1', $k);
}

my $from = $t->log_offset;
$r = $t->api(GET => "$url3?refresh=async");
is $r->{status}, 200, 'async: 200' or diag $r->{raw};
$ins = named_insight($r);
my $fkey = $ins->{filters_hash};
ok $ins->{query_status} && !$ins->{query_status}{complete}, 'async: started';
ok $t->wait_until(sub { status_rows($fkey) == 1 }, timeout => 15),
    'the background computation fails: its status stored';
like $t->error_log(from => $from), qr/background computation of \Q$fkey\E failed: FunnelsQuery/,
    'and logged';
is $t->sql_value('SELECT count(*) FROM ngx_dashboards_result_cache WHERE cache_key = $1', $fkey), 0,
    'nothing cached';

for my $mode (qw(async lazy_async)) {
    $from = $t->log_offset;
    $r = $t->api(GET => "$url3?refresh=$mode");
    is $r->{status}, 200, "then $mode: 200";
    $ins = named_insight($r);
    my $qs = $ins->{query_status} // {};
    is $ins->{result}, undef, "$mode: no result";
    is_deeply [ @$qs{qw(complete error error_message id query_async insight_id dashboard_id team_id)} ],
        [ JSON::PP::true, JSON::PP::true, 'FunnelsQuery is not supported here.', $fkey, JSON::PP::true,
          $funnel, $d3, $T ],
        "$mode: the stored status (complete, error, the engine's message)";
    like $qs->{end_time} // '', qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/, "$mode: its end_time";
    unlike $t->error_log(from => $from), qr/computing \Q$fkey\E in the background/,
        "$mode: not started again";
}
is_deeply okeys($r->{raw}, 'tiles', 0, 'insight', 'query_status'),
    [qw(complete dashboard_id end_time error error_message expiration_time id insight_id labels
        pickup_time query_async query_progress results start_time task_id team_id)],
    "QueryStatus's keys, in its order";

$r = $t->api(GET => $url3);
is named_insight($r)->{query_status}, undef, 'force_cache: no query_status (a complete status is hidden)';
$r = $t->api(GET => "$url3?refresh=blocking");
ok named_insight($r)->{query_status}{error}, "blocking: this request's own error";

# a failure without a message to show (a timeout): error_message null
$t->sql('SELECT ngx_dashboards_insight_store($1, $2, $3::json)', $T, $fkey, '{"error": true}');
$r = $t->api(GET => "$url3?refresh=async");
my $qs = named_insight($r)->{query_status};
ok $qs->{error} && exists $qs->{error_message} && !defined $qs->{error_message},
    'a failure without a message: error_message null';

# force_async always starts it again
$from = $t->log_offset;
$r = $t->api(GET => "$url3?refresh=force_async");
ok !named_insight($r)->{query_status}{complete}, 'force_async: started again';
like $t->error_log(from => $from), qr/computing \Q$fkey\E in the background/, 'force_async: computing';
ok $t->wait_until(sub { $t->sql_value(q{SELECT count(*) FROM ngx_dashboards_query_status
                                        WHERE cache_key = $1 AND error_message IS NOT NULL}, $fkey) == 1 },
                  timeout => 15), 'its failure stored again';

# past its 20 minutes: async starts it again
is $t->sql_value(q{SELECT expires_at - end_time FROM ngx_dashboards_query_status WHERE cache_key = $1}, $fkey),
    '00:20:00', 'a status lasts 20 minutes';
$t->sql(q{UPDATE ngx_dashboards_query_status SET expires_at = now() - interval '1 second'
           WHERE cache_key = $1}, $fkey);
$from = $t->log_offset;
$r = $t->api(GET => "$url3?refresh=async");
ok !named_insight($r)->{query_status}{complete}, 'an expired status: async starts it again';
like $t->error_log(from => $from), qr/computing \Q$fkey\E in the background/, 'computing';
ok $t->wait_until(sub { $t->sql_value(q{SELECT count(*) FROM ngx_dashboards_query_status
                                        WHERE cache_key = $1 AND expires_at > now()}, $fkey) == 1 },
                  timeout => 15), 'and its new failure stored';

# a result deletes its key's failed status; expired statuses are swept
$t->sql(q{INSERT INTO ngx_dashboards_query_status (cache_key, team_id, error_message, end_time, expires_at)
          VALUES ($1, $2, 'old', now(), now() + interval '20 minutes'),
                 ('status_expired', $2, NULL, now() - interval '1 hour', now() - interval '40 minutes')},
        $key, $T);
$r = $t->api(GET => "$url2?refresh=async");
ok !named_insight($r)->{query_status}, 'a key with a result and a failed status: async shows no status';
$r = $t->api(GET => "$url2?refresh=force_blocking");
is $r->{status}, 200, 'computed';
is status_rows($key), 0, 'its result stored: its failed status deleted';
is status_rows('status_expired'), 0, 'the expired status swept';
is status_rows($fkey), 1, 'the live one kept';

# async on a stale entry computes it again despite a failed status (PostHog
# requests that refresh), and the background result clears the status
$t->sql(q{INSERT INTO ngx_dashboards_query_status (cache_key, team_id, error_message, end_time, expires_at)
          VALUES ($1, $2, 'old', now(), now() + interval '20 minutes')}, $key, $T);
$t->sql(q{UPDATE ngx_dashboards_result_cache SET cache_target_age = now() - interval '1 minute',
                 last_refresh = now() - interval '7 hours' WHERE cache_key = $1}, $key);
$r = $t->api(GET => "$url2?refresh=lazy_async");
ok !named_insight($r)->{query_status}, 'lazy_async on a stale entry with a failed status: not started, no status';
$from = $t->log_offset;
$r = $t->api(GET => "$url2?refresh=async");
$qs = named_insight($r)->{query_status};
ok $qs && !$qs->{complete} && !$qs->{error}, 'async on a stale entry: started';
like $t->error_log(from => $from), qr/computing \Q$key\E in the background/, 'computing';
ok $t->wait_until(sub { status_rows($key) == 0 }, timeout => 15), 'its result stored: the status deleted';

# ---------------------------------------------------------------------------
# variables_override: a HogQL insight's variables, in the query shown and
# its key (apply_dashboard_variables_to_dict); other kinds unchanged

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

my $d4 = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Variables');
my $hogql = $t->fixture_insight(team => $T, user => $w->{user}, name => 'SQL',
    query => { kind => 'DataVisualizationNode', source => { kind => 'HogQLQuery',
               query => 'SELECT {variables.plan}, {variables.other}',
               variables => { v1 => { variableId => 'v1', code_name => 'plan', value => 'starter' },
                              v2 => { variableId => 'v2', code_name => 'other', value => 1 } } } });
my ($htile) = $t->fixture_insight_tile(dashboard => $d4, insight => $hogql,
                                       layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
my ($ttile) = $t->fixture_insight_tile(dashboard => $d4, insight => $insight,
                                       layouts => { sm => { x => 0, y => 5, w => 6, h => 5 } });
my $url4 = "/api/projects/$P/dashboards/$d4/";

sub tiles4 {
    my ($query) = @_;
    my $r = $t->api(GET => $url4 . ($query // ''));
    is $r->{status}, 200, 'variables: 200 ' . ($query // '') or diag $r->{raw};
    my %by = map { ($_->{id} => $_->{insight}) } @{ $r->{json}{tiles} // [] };
    return ($by{$htile}, $by{$ttile});
}

my ($h0, $t0) = tiles4();
is $h0->{query}{source}{variables}{v1}{value}, 'starter', 'without an override: the stored value';
my $override = '?variables_override='
    . uri_escape('{"v1": {"code_name": "ignored", "value": "enterprise"}, "nope": {"value": 3}}');
my ($h1, $t1) = tiles4($override);
is_deeply $h1->{query}{source}{variables},
    { v1 => { variableId => 'v1', code_name => 'plan', value => 'enterprise' },
      v2 => { variableId => 'v2', code_name => 'other', value => 1 } },
    'the override replaces the value of the variable it names (code_name kept); an unknown one is ignored';
is $h1->{query}{source}{query}, 'SELECT {variables.plan}, {variables.other}', 'the rest of the query as stored';
like $h1->{filters_hash} // '', qr/^cache_[0-9a-f]{32}$/, 'a cache key';
isnt $h1->{filters_hash}, $h0->{filters_hash}, 'another key than without the override';
is $t->sql_value('SELECT ngx_dashboards_insight_cache_key($1, $2::jsonb)', $T, $h1->{query}),
    $h1->{filters_hash}, "the key is the displayed query's";
is $t1->{filters_hash}, $t0->{filters_hash}, 'a trends insight: the same key';
is_deeply $t1->{query}, $t0->{query}, 'a trends insight: the same query';

my ($h2) = tiles4('?variables_override=' . uri_escape('{"nope": {"value": 3}}'));
is $h2->{filters_hash}, $h0->{filters_hash}, 'an override of no variable of the query: the same key';
($h2) = tiles4('?variables_override=' . uri_escape('{}'));
is $h2->{filters_hash}, $h0->{filters_hash}, 'an empty override: the same key';

# computed under the override: the engine's error, on the key shown
my ($h3) = tiles4($override . '&refresh=blocking');
is $h3->{filters_hash}, $h1->{filters_hash}, 'blocking: the same key as shown';
is $h3->{result}, undef, 'no result';
like $h3->{query_status}{error_message} // '', qr/is not supported here/,
    "the engine's error on that tile";

done_testing;
