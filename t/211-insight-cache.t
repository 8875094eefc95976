#!/usr/bin/perl
# The insight results cache over time, through HTTP: expired entries are
# deleted by the statements that store results (a bounded number each time,
# never waiting for a row another session holds); a cached result shows the
# series' current custom_name (not part of the cache key).

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
                   (cache_key, team_id, result, last_refresh, cache_target_age, expires_at)
               VALUES (\$1, \$2, '{"results": "[]"}', now() - interval '8 days',
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
my $stored = $t->sql_value('SELECT result::text FROM ngx_dashboards_result_cache WHERE cache_key = $1', $key);

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
is $t->sql_value('SELECT result::text FROM ngx_dashboards_result_cache WHERE cache_key = $1', $key),
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

done_testing;
