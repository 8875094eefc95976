#!/usr/bin/perl
# The answers of the writes PostHog answers with a dashboard's detail (PATCH,
# PUT, copy_tile, move_tile, reorder_tiles) follow ?refresh= as a retrieve
# does: PostHog's DashboardSerializer serializes the tiles with the
# request's refresh mode.  force_cache (the default) reads the cache; a mode
# that computes answers with the results computed after the write.
# The numbers are computed by hand from the events inserted here.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use POSIX qw(strftime);

my $t = Dash->new(workers => 1);
my $w = $t->world;
my $T = $w->{team};
my $P = $w->{project};

# -2d at day interval (the team is in UTC): the day before yesterday, yesterday, today
$t->sql(q{INSERT INTO posthog_event (team_id, event, distinct_id, "timestamp", properties)
          SELECT $1, '$pageview', 'u' || k, date_trunc('day', now()) + interval '1 second', '{}'
            FROM generate_series(1, 3) k}, $T);
$t->sql(q{INSERT INTO posthog_event (team_id, event, distinct_id, "timestamp", properties)
          VALUES ($1, '$pageview', 'u9', date_trunc('day', now()) - interval '12 hours', '{}')}, $T);
my @DATA = (0, 1, 3);

sub trend {
    return { kind => 'InsightVizNode', source => {
        kind => 'TrendsQuery', interval => 'day', dateRange => { date_from => '-2d' },
        series => [ { kind => 'EventsNode', event => '$pageview', math => 'total' } ] } };
}

sub insight_tile {
    my ($d, $name, $x) = @_;
    return $t->fixture_insight_tile(dashboard => $d,
        insight => $t->fixture_insight(team => $T, user => $w->{user}, name => $name, query => trend()),
        layouts => { sm => { x => $x, y => 0, w => 6, h => 5 } });
}

my $base = "/api/projects/$P/dashboards";
sub call { my ($method, $path, $body) = @_; return $t->api($method => $path, body => $body) }
sub result_of {
    my ($r, $tile) = @_;
    my ($x) = grep { $_->{id} == $tile } @{ $r->{json}{tiles} // [] };
    return $x ? $x->{insight}{result} : 'no such tile';
}
sub clear_cache { $t->sql('DELETE FROM ngx_dashboards_result_cache WHERE team_id = $1', $T) }
sub cached { $t->sql_value('SELECT count(*) FROM ngx_dashboards_result_cache WHERE team_id = $1', $T) }

my $d = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Writes');
my ($tile1, $i1) = insight_tile($d, 'Pageviews', 0);
my $other = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Other');
my ($tile2, $i2) = insight_tile($other, 'Pageviews elsewhere', 0);

# PATCH: force_cache by default
my $r = call(PATCH => "$base/$d/", { name => 'Writes 2' });
is $r->{status}, 200, 'PATCH' or diag $r->{raw};
is result_of($r, $tile1), undef, 'PATCH without refresh: the cache (a miss)';
is cached(), 0, '... nothing computed';

# PATCH ?refresh=blocking: written, then computed
$r = call(PATCH => "$base/$d/?refresh=blocking", { name => 'Writes 3' });
is $r->{status}, 200, 'PATCH ?refresh=blocking' or diag $r->{raw};
is $r->{json}{name}, 'Writes 3', '... the answer shows the write';
is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $d), 'Writes 3', '... written';
is_deeply result_of($r, $tile1)->[0]{data}, \@DATA, '... the tile computed';
is cached(), 1, '... and cached';
my ($tile_obj) = grep { $_->{id} == $tile1 } @{ $r->{json}{tiles} };
ok !$tile_obj->{is_cached}, '... is_cached false (computed by this request)';

# a PATCH that changes what the tiles compute: the answer is computed after it
clear_cache();
$r = call(PATCH => "$base/$d/?refresh=force_blocking", { filters => { date_from => '-1d' } });
is $r->{status}, 200, 'PATCH filters ?refresh=force_blocking' or diag $r->{raw};
is_deeply result_of($r, $tile1)->[0]{data}, [1, 3], '... computed with the new filters (two days)';

# PUT too (an empty filters object is ignored, as PostHog's update does: reset here)
$t->sql(q{UPDATE posthog_dashboard SET filters = '{}' WHERE id = $1}, $d);
$r = call(PUT => "$base/$d/?refresh=force_blocking", { name => 'Writes 4' });
is $r->{status}, 200, 'PUT ?refresh=force_blocking' or diag $r->{raw};
is_deeply result_of($r, $tile1)->[0]{data}, \@DATA, '... computed';

# async: answered at once with the tile's query_status
clear_cache();
$r = call(PATCH => "$base/$d/?refresh=force_async", { name => 'Writes 5' });
is $r->{status}, 200, 'PATCH ?refresh=force_async' or diag $r->{raw};
($tile_obj) = grep { $_->{id} == $tile1 } @{ $r->{json}{tiles} };
ok $tile_obj->{insight}{query_status} && $tile_obj->{insight}{query_status}{query_async},
    '... query_status of a computation started';
ok $t->wait_until(sub { cached() == 1 }, timeout => 15), '... which fills the cache after the answer';

# a PATCH that deletes the dashboard answers its own statement (a retrieve would be a 404)
my $gone = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'Gone');
insight_tile($gone, 'Pageviews gone', 0);
$r = call(PATCH => "$base/$gone/?refresh=blocking", { deleted => JSON::PP::true });
is $r->{status}, 200, 'PATCH deleted ?refresh=blocking: 200' or diag $r->{raw};
ok $r->{json}{deleted}, '... the deleted dashboard';

# reorder_tiles
clear_cache();
my ($tile3) = $t->fixture_text_tile(dashboard => $d, body => 'note');
$r = call(POST => "$base/$d/reorder_tiles/?refresh=blocking", { tile_order => [$tile3, $tile1] });
is $r->{status}, 200, 'reorder_tiles ?refresh=blocking' or diag $r->{raw};
is_deeply result_of($r, $tile1)->[0]{data}, \@DATA, '... the insight tile computed';
is $r->{json}{tiles}[0]{id}, $tile3, '... in the new order';
clear_cache();
$r = call(POST => "$base/$d/reorder_tiles/", { tile_order => [$tile1] });
is $r->{status}, 200, 'reorder_tiles without refresh' or diag $r->{raw};
is result_of($r, $tile1), undef, '... the cache (a miss)';

# copy_tile: the destination's detail, computed
clear_cache();
$r = call(POST => "$base/$d/copy_tile/?refresh=blocking", { fromDashboardId => $other, tileId => $tile2 });
is $r->{status}, 200, 'copy_tile ?refresh=blocking' or diag $r->{raw};
my ($copy) = grep { $_->{insight} && $_->{insight}{id} == $i2 } @{ $r->{json}{tiles} };
ok $copy, '... the copy is on the destination';
is_deeply $copy && $copy->{insight}{result}[0]{data}, \@DATA, '... computed';

# move_tile: the source's detail, computed
clear_cache();
$r = call(PATCH => "$base/$d/move_tile/?refresh=blocking",
             { to_dashboard => $other, tile => { id => $tile3 } });
is $r->{status}, 200, 'move_tile ?refresh=blocking' or diag $r->{raw};
is $r->{json}{id}, $d, '... the source dashboard';
is_deeply result_of($r, $tile1)->[0]{data}, \@DATA, '... its insight tile computed';
ok !grep({ $_->{id} == $tile3 } @{ $r->{json}{tiles} }), '... without the moved tile';

# an error of the write is answered as before, nothing computed
clear_cache();
$r = call(POST => "$base/$d/reorder_tiles/?refresh=blocking", { tile_order => [999999] });
is $r->{status}, 404, 'reorder_tiles with an unknown tile ?refresh=blocking: 404' or diag $r->{raw};
is cached(), 0, '... nothing computed';

# --- the overrides of the query string shape a write's answer too ---------------------------
# (PostHog's filters_override_requested_by_client reads the request of any serializer call)

sub uq { my $s = shift; $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge; return $s }
my $OVR = 'filters_override=' . uq('{"date_from": "-1d"}');
sub stored_filters { $t->sql_value('SELECT filters::text FROM posthog_dashboard WHERE id = $1', shift) }

$t->sql(q{UPDATE posthog_dashboard SET filters = '{}' WHERE id = $1}, $d);
clear_cache();
$r = call(PATCH => "$base/$d/?refresh=blocking&$OVR", { name => 'Writes 6' });
is $r->{status}, 200, 'PATCH ?refresh=blocking&filters_override' or diag $r->{raw};
is_deeply result_of($r, $tile1)->[0]{data}, [1, 3], '... computed with the override (two days)';
is $r->{json}{filters}{date_from}, '-1d', '... which the answer shows as its filters';
is $r->{json}{persisted_filters}, undef, '... and does not store';
is stored_filters($d), '{}', '... (the row)';
is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $d), 'Writes 6', '... the write done';

# force_cache (the default) with an override: the override's cache entry, not the plain one
$r = call(PATCH => "$base/$d/?$OVR", { name => 'Writes 7' });
is $r->{status}, 200, 'PATCH ?filters_override (force_cache)' or diag $r->{raw};
is_deeply result_of($r, $tile1)->[0]{data}, [1, 3], '... the cached result of the override';
is $r->{json}{filters}{date_from}, '-1d', '... the override shown';
is cached(), 1, '... nothing computed';
$r = call(PATCH => "$base/$d/", { name => 'Writes 8' });
is result_of($r, $tile1), undef, '... without it: the plain key, a miss';
is_deeply $r->{json}{filters}, {}, '... and the stored filters';

# tile_filters_override on a tile action
clear_cache();
$r = call(POST => "$base/$d/reorder_tiles/?refresh=blocking&tile_filters_override="
                  . uq('{"date_from": "-1d"}'), { tile_order => [$tile1] });
is $r->{status}, 200, 'reorder_tiles ?tile_filters_override' or diag $r->{raw};
is_deeply result_of($r, $tile1)->[0]{data}, [1, 3], '... the tile computed with it';

# an override that is not a JSON object: 400 before anything is written; the object's checks first
for my $case ([PATCH => "$base/$d/", { name => 'Never' }],
              [POST => "$base/$d/reorder_tiles/", { tile_order => [$tile1] }]) {
    my ($m, $path, $body) = @$case;
    my $order = $t->sql_value(q{SELECT string_agg(id::text, ',' ORDER BY (layouts->'sm'->>'y')::int, (layouts->'sm'->>'x')::int, id)
                                  FROM posthog_dashboardtile WHERE dashboard_id = $1}, $d);
    $r = call($m => "$path?filters_override=" . uq('{"date_from": '), $body);
    is $r->{status}, 400, "$m $path with a broken filters_override: 400" or diag $r->{raw};
    is_deeply $r->{json}, { type => 'validation_error', code => 'invalid_input',
                            detail => 'Invalid JSON passed in filters_override parameter',
                            attr => 'filters_override' }, '... PostHog\'s error';
    is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $d), 'Writes 8', '... the name unchanged';
    is $t->sql_value(q{SELECT string_agg(id::text, ',' ORDER BY (layouts->'sm'->>'y')::int, (layouts->'sm'->>'x')::int, id)
                         FROM posthog_dashboardtile WHERE dashboard_id = $1}, $d), $order, '... the tiles unchanged';
}
$r = call(PATCH => "$base/999999/?variables_override=" . uq('[1]'), { name => 'x' });
is $r->{status}, 404, 'a broken override on a missing dashboard: 404 first' or diag $r->{raw};
$r = call(POST => "$base/999999/copy_tile/?variables_override=" . uq('[1]'), { fromDashboardId => $other, tileId => $tile2 });
is $r->{status}, 404, '... copy_tile too' or diag $r->{raw};
$r = call(POST => "$base/$d/copy_tile/?variables_override=" . uq('[1]'), {});
is $r->{status}, 400, 'a broken body and a broken override: 400' or diag $r->{raw};
is $r->{json}{attr}, 'fromDashboardId', '... the body\'s error first (the serializer\'s validation)';
$r = call(POST => "$base/$d/copy_tile/?variables_override=" . uq('[1]'), { fromDashboardId => $other, tileId => $tile2 });
is $r->{json}{attr}, 'variables_override', '... then the override\'s';
is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1 AND insight_id = $2', $d, $i2), 1,
    '... and nothing copied (the one copy of before)';

# create: the new dashboard's detail, computed, with the override shown and not stored
clear_cache();
$r = call(POST => "$base/?refresh=blocking&$OVR", { name => 'Created', use_dashboard => $d });
is $r->{status}, 201, 'create ?refresh=blocking&filters_override: 201' or diag $r->{raw};
my $new = $r->{json}{id};
ok $new && $new != $d, '... a new dashboard';
is $r->{json}{name}, 'Created', '... its detail';
my ($ctile) = grep { $_->{insight} && $_->{insight}{id} == $i1 } @{ $r->{json}{tiles} // [] };
ok $ctile, '... with the source\'s insight tile';
is_deeply $ctile && $ctile->{insight}{result}[0]{data}, [1, 3], '... computed with the override';
is $r->{json}{filters}{date_from}, '-1d', '... shown';
is stored_filters($new), '{}', '... not stored';
$r = call(POST => "$base/?refresh=force_blocking", { name => 'Created 2', use_dashboard => $d });
is $r->{status}, 201, 'create ?refresh=force_blocking: 201' or diag $r->{raw};
($ctile) = grep { $_->{insight} && $_->{insight}{id} == $i1 } @{ $r->{json}{tiles} // [] };
is_deeply $ctile && $ctile->{insight}{result}[0]{data}, \@DATA, '... computed (three days)';
$r = call(POST => "$base/", { name => 'Created 3', use_dashboard => $d });
is $r->{status}, 201, 'create without refresh: 201' or diag $r->{raw};
($ctile) = grep { $_->{insight} && $_->{insight}{id} == $i1 } @{ $r->{json}{tiles} // [] };
is_deeply $ctile && $ctile->{insight}{result}[0]{data}, \@DATA, '... the cache (a hit)';
ok $ctile && $ctile->{is_cached}, '... is_cached';
$r = call(POST => "$base/?$OVR", { name => 'Created 4' });
is $r->{status}, 201, 'create ?filters_override without tiles: 201' or diag $r->{raw};
is $r->{json}{name}, 'Created 4', '... the detail of the one created';
ok $r->{json}{id} > $new, '... (a new id)';
is $t->sql_value('SELECT count(*) FROM posthog_dashboard WHERE name = $1', 'Created 4'), 1, '... once';

# the dashboards made from templates follow the same rules: a template's trend computed
$r = call(POST => "$base/create_from_template_json/?refresh=blocking&$OVR",
          { template => { template_name => 'T', dashboard_description => '', dashboard_filters => {},
                          tags => [], variables => [],
                          tiles => [ { type => 'INSIGHT', name => 'From a template', description => '',
                                       query => trend(), layouts => {} } ] } });
is $r->{status}, 200, 'create_from_template_json ?refresh=blocking&filters_override: 200' or diag $r->{raw};
is $r->{json}{filters}{date_from}, '-1d', '... the override shown';
my $made = $r->{json}{id};
ok $made && $t->sql_value('SELECT count(*) FROM posthog_dashboard WHERE id = $1', $made) == 1,
    '... the dashboard created';
is_deeply $r->{json}{tiles}[0]{insight}{result}[0]{data}, [1, 3], '... its trend computed with the override';

done_testing;
