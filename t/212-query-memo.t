#!/usr/bin/perl
# The effective query and cache key remembered per insight tile
# (ngx_dashboards_query_memo, sql/migrations/016_query_memo.sql): written by a
# retrieve whose ?refresh= may compute, never by one that reads the cache;
# used only when the tile's inputs (the insight's query, the dashboard's
# filters, the tile's filters_overrides, the team's timezone and week start)
# are those it was computed from, so a change by any writer shows at once.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use JSON::PP;

my $t = Dash->new(workers => 1);
my $w = $t->world;
my $T = $w->{team};
my $P = $w->{project};
my $J = JSON::PP->new->canonical;

sub trend {
    my ($event) = @_;
    return { kind => 'InsightVizNode', source => {
        kind => 'TrendsQuery', interval => 'day', dateRange => { date_from => '-2d' },
        series => [ { kind => 'EventsNode', event => $event, math => 'total' } ] } };
}

$t->sql(q{INSERT INTO posthog_event (team_id, event, distinct_id, "timestamp", properties)
          VALUES ($1, '$pageview', 'u1', now() - interval '1 minute', '{"$browser": "Firefox"}')}, $T);

my $d = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Memo');
my ($tile1, $i1) = $t->fixture_insight_tile(dashboard => $d,
    insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Pageviews',
                                   query => trend('$pageview')),
    layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
my ($tile2, $i2) = $t->fixture_insight_tile(dashboard => $d,
    insight => $t->fixture_insight(team => $T, user => $w->{user}, name => 'Sign-ups',
                                   query => trend('signed_up')),
    layouts => { sm => { x => 6, y => 0, w => 6, h => 5 } });
my $url = "/api/projects/$P/dashboards/$d/";

sub insight_of {
    my ($r, $tile) = @_;
    my ($x) = grep { $_->{id} == $tile } @{ $r->{json}{tiles} // [] };
    return $x ? $x->{insight} : undef;
}
sub memo_rows {
    return $t->sql_value(q{SELECT count(*) FROM ngx_dashboards_query_memo WHERE dashboard_id = $1}, $d);
}
sub memo_key {
    my ($insight) = @_;
    return $t->sql_value(q{SELECT cache_key FROM ngx_dashboards_query_memo
                            WHERE dashboard_id = $1 AND insight_id = $2}, $d, $insight);
}
# what the SQL computes without the memo
sub computed_key {
    my ($insight) = @_;
    return $t->sql_value(q{SELECT ngx_dashboards.ngx_dashboards_insight_cache_key(i.team_id,
                                      ngx_dashboards.ngx_dashboards_apply_dashboard_filters(
                                          i.query, d.filters, t.filters_overrides))
                             FROM posthog_dashboardtile t JOIN posthog_dashboarditem i ON i.id = t.insight_id
                             JOIN posthog_dashboard d ON d.id = t.dashboard_id
                            WHERE t.dashboard_id = $1 AND t.insight_id = $2}, $d, $insight);
}

# reading the cache writes nothing
for my $q ('', '?refresh=force_cache', '?refresh=false') {
    my $r = $t->api(GET => "$url$q");
    is $r->{status}, 200, "GET $q" or diag $r->{raw};
}
is memo_rows(), 0, 'a retrieve that reads the cache remembers nothing';

# a refresh that may compute remembers each insight tile
my $r = $t->api(GET => "$url?refresh=blocking");
is $r->{status}, 200, 'blocking' or diag $r->{raw};
is memo_rows(), 2, 'blocking: both insight tiles remembered';
is memo_key($i1), insight_of($r, $tile1)->{filters_hash}, 'the remembered key is the tile\'s filters_hash';
is memo_key($i1), computed_key($i1), '... the key the SQL computes';
is_deeply $J->decode($t->sql_value(q{SELECT effective::text FROM ngx_dashboards_query_memo
                                      WHERE dashboard_id = $1 AND insight_id = $2}, $d, $i1)),
    insight_of($r, $tile1)->{query}, '... and the effective query the tile shows';
is_deeply $J->decode($t->sql_value(q{SELECT shown FROM ngx_dashboards_query_memo
                                      WHERE dashboard_id = $1 AND insight_id = $2}, $d, $i1)),
    insight_of($r, $tile1)->{query}, '... and its JSON text';

# the remembered text is what a retrieve shows; without it (older rows), the
# effective query's own
$t->sql(q{UPDATE ngx_dashboards_query_memo SET shown = '{"planted": [1, "x"]}'
           WHERE dashboard_id = $1 AND insight_id = $2}, $d, $i1);
$r = $t->api(GET => $url);
is_deeply insight_of($r, $tile1)->{query}, { planted => [ 1, 'x' ] }, 'force_cache shows the remembered text';
$t->sql(q{UPDATE ngx_dashboards_query_memo SET shown = NULL WHERE dashboard_id = $1 AND insight_id = $2},
        $d, $i1);
$r = $t->api(GET => $url);
is_deeply insight_of($r, $tile1)->{query}, $J->decode($t->sql_value(q{SELECT effective::text
                                                                       FROM ngx_dashboards_query_memo
                                                                      WHERE dashboard_id = $1
                                                                        AND insight_id = $2}, $d, $i1)),
    '... without it, the remembered query';

# the remembered key is what a retrieve reads (a planted key shows)
$t->sql(q{UPDATE ngx_dashboards_query_memo SET cache_key = 'cache_planted'
           WHERE dashboard_id = $1 AND insight_id = $2}, $d, $i1);
$r = $t->api(GET => $url);
is insight_of($r, $tile1)->{filters_hash}, 'cache_planted', 'force_cache reads the remembered key';
is insight_of($r, $tile1)->{result}, undef, '... and the cache under it (nothing)';
ok !insight_of($r, $tile1)->{is_cached}, '... is_cached false';

# a filters_override is another input: computed
$r = $t->api(GET => "$url?filters_override=" . '%7B%22date_from%22%3A%22-7d%22%7D');
is $r->{status}, 200, 'filters_override' or diag $r->{raw};
isnt insight_of($r, $tile1)->{filters_hash}, 'cache_planted', 'filters_override: not the remembered key';
is insight_of($r, $tile1)->{query}{source}{dateRange}{date_from}, '-7d', '... the overridden query';

# every input changed by another writer (plain SQL) is seen at once
my @changes = (
    [ 'the insight\'s query', sub {
        $t->sql(q{UPDATE posthog_dashboarditem SET query = jsonb_set(query, '{source,interval}', '"week"')
                   WHERE id = $1}, $i1) },
      sub { is $_[0]->{query}{source}{interval}, 'week', '... the new query shows' } ],
    [ 'the dashboard\'s filters', sub {
        $t->sql(q{UPDATE posthog_dashboard SET filters = '{"date_from": "-14d"}' WHERE id = $1}, $d) },
      sub { is $_[0]->{query}{source}{dateRange}{date_from}, '-14d', '... the dashboard\'s date shows' } ],
    [ 'the tile\'s filters_overrides', sub {
        $t->sql(q{UPDATE posthog_dashboardtile SET filters_overrides = '{"date_from": "-30d"}'
                   WHERE id = $1}, $tile1) },
      sub { is $_[0]->{query}{source}{dateRange}{date_from}, '-30d', '... the tile\'s date shows' } ],
    [ 'the team\'s timezone', sub {
        $t->sql(q{UPDATE posthog_team SET timezone = 'Europe/Paris' WHERE id = $1}, $T) },
      sub { } ],
    [ 'the team\'s week start', sub {
        $t->sql(q{UPDATE posthog_team SET week_start_day = 1 WHERE id = $1}, $T) },
      sub { } ],
);
for my $c (@changes) {
    my ($what, $change, $check) = @$c;
    # (a row whose inputs are the tile's is trusted: the planted key goes first)
    $t->sql(q{DELETE FROM ngx_dashboards_query_memo WHERE dashboard_id = $1}, $d);
    $r = $t->api(GET => "$url?refresh=blocking");      # remembered again
    is memo_key($i1), computed_key($i1), "$what: remembered before the change";
    $t->sql(q{UPDATE ngx_dashboards_query_memo SET cache_key = 'cache_planted'
               WHERE dashboard_id = $1 AND insight_id = $2}, $d, $i1);
    $change->();
    $r = $t->api(GET => $url);
    is $r->{status}, 200, "$what changed: force_cache" or diag $r->{raw};
    my $ins = insight_of($r, $tile1);
    is $ins->{filters_hash}, computed_key($i1), "$what changed: the key is computed again, not the remembered one";
    $check->($ins);
}

# a blocking refresh remembers the new inputs; a tile removed is forgotten
$r = $t->api(GET => "$url?refresh=blocking");
is memo_key($i1), computed_key($i1), 'remembered again after the changes';
$t->sql(q{UPDATE posthog_dashboardtile SET deleted = true WHERE id = $1}, $tile2);
$r = $t->api(GET => "$url?refresh=blocking");
is memo_rows(), 1, 'a soft-deleted tile is forgotten';
$t->sql(q{UPDATE posthog_dashboardtile SET deleted = NULL WHERE id = $1}, $tile2);
$r = $t->api(GET => "$url?refresh=blocking");
is memo_rows(), 2, '... and remembered again when restored';
$t->sql(q{DELETE FROM posthog_dashboardtile WHERE id = $1}, $tile2);
$r = $t->api(GET => "$url?refresh=blocking");
is memo_rows(), 1, 'a tile no longer on the dashboard is forgotten';

# sql/migrate forgets them all (the functions that computed them may change)
my $root = "$FindBin::Bin/..";
my $out = qx{$root/sql/migrate -h @{[ $t->pg_host ]} -p @{[ $t->pg_port ]} -U postgres -d @{[ $t->db ]} 2>&1};
is $?, 0, 'sql/migrate runs' or diag $out;
is memo_rows(), 0, 'sql/migrate empties the memo';

done_testing;
