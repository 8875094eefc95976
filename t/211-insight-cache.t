#!/usr/bin/perl
# The insight results cache over time, through HTTP: expired entries are
# deleted by the statements that store results (a bounded number each time,
# never waiting for a row another session holds).

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Lock;
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

done_testing;
