#!/usr/bin/perl
# Insights inside a dashboard under PostHog's access rules (resource
# "insight" in ee_accesscontrol): an insight the user may not view stays on
# the dashboard as {"id", "short_id", "user_access_level": "none"} in every
# answer that shows tiles (InsightSerializer inside DashboardSerializer);
# the dashboard itself is still 200.  The insight's own user_access_level
# comes from the rules too.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(denied answer_is);
use Dash::Ordered qw(okeys);
use Dash::Access qw(acl_world member rule);

my $t = Dash->new;
my $w = acl_world($t);
my $P = $w->{project};
my $T = $w->{team};
my $u = member($t, $w);

my $D1 = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'D1');
my $D2 = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'D2');
my $I = $t->fixture_insight(team => $T, user => $w->{user}, name => 'Secret insight');
my $J = $t->fixture_insight(team => $T, user => $w->{user}, name => 'Open insight');
my $Mine = $t->fixture_insight(team => $T, user => $u->{user}, name => 'Mine');
my $tI = $t->fixture_insight_tile(dashboard => $D1, insight => $I, layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
my $tJ = $t->fixture_insight_tile(dashboard => $D1, insight => $J, layouts => { sm => { x => 6, y => 0, w => 6, h => 5 } });
my $tM = $t->fixture_insight_tile(dashboard => $D1, insight => $Mine, layouts => { sm => { x => 0, y => 5, w => 6, h => 5 } });
my $short = $t->sql_value('SELECT short_id FROM posthog_dashboarditem WHERE id = $1', $I);

sub get { $t->api(GET => "/api/projects/$P/dashboards/$_[0]/", key => $_[1] // $u->{key}) }
sub tile_of {
    my ($r, $tile) = @_;
    my ($x) = grep { $_->{id} == $tile } @{ $r->{json}{tiles} // [] };
    return $x;
}

my $r = get($D1);
is tile_of($r, $tI)->{insight}{user_access_level}, 'editor', 'no rules: editor';
is tile_of($r, $tM)->{insight}{user_access_level}, 'manager', 'own insight: manager';
my $plain_tile = tile_of($r, $tI);

rule($t, $T, 'insight', $I, 'none');

subtest '13: insight default none on I (a tile of D1)' => sub {
    my $r = get($D1);
    is $r->{status}, 200, 'the dashboard is still 200';
    my $x = tile_of($r, $tI);
    is_deeply $x->{insight}, { id => $I, short_id => $short, user_access_level => 'none' }, 'the reduced insight';
    my ($n) = grep { $r->{json}{tiles}[$_]{id} == $tI } 0 .. $#{ $r->{json}{tiles} };
    is_deeply okeys($r->{raw}, 'tiles', $n, 'insight'), [qw(id short_id user_access_level)], 'its key order';
    my %want = %$plain_tile;
    delete $want{insight};
    my %got = %$x;
    delete $got{insight};
    is_deeply \%got, \%want, 'the other keys of the tile are unchanged';
    is $x->{last_refresh}, undef, 'last_refresh null';
    ok !$x->{is_cached}, 'is_cached false';
    is tile_of($r, $tJ)->{insight}{name}, 'Open insight', 'the other insight is whole';
    is tile_of($r, $tM)->{insight}{name}, 'Mine', 'own insight is whole';
    unlike $r->{raw}, qr/Secret insight/, 'the hidden insight\'s name appears nowhere';

    my $a = get($D1, $w->{key});
    is tile_of($a, $tI)->{insight}{name}, 'Secret insight', 'the admin sees it';
    is tile_of($a, $tI)->{insight}{user_access_level}, 'manager', 'admin: manager';

    my $txt = $t->api(GET => "/api/projects/$P/dashboards/$D1/?format=txt", key => $u->{key});
    is $txt->{status}, 200, '?format=txt: 200';
    unlike $txt->{raw}, qr/Secret insight/, '?format=txt: the name appears nowhere';
};

subtest 'a member grant on the insight beats the default' => sub {
    my $g = rule($t, $T, 'insight', $I, 'viewer', member => $u);
    my $x = tile_of(get($D1), $tI);
    is $x->{insight}{name}, 'Secret insight', 'visible';
    is $x->{insight}{user_access_level}, 'viewer', 'as viewer';
    $t->sql('DELETE FROM ee_accesscontrol WHERE id = $1', $g);
};

subtest 'a rule on all insights' => sub {
    my $g = rule($t, $T, 'insight', undef, 'none');
    my $r = get($D1);
    is tile_of($r, $tJ)->{insight}{user_access_level}, 'none', 'the open insight is hidden too';
    is tile_of($r, $tM)->{insight}{user_access_level}, 'manager', 'not the own one';
    $t->sql('DELETE FROM ee_accesscontrol WHERE id = $1', $g);
};

subtest 'the tile actions answer with the reduced insight' => sub {
    my $hidden = { id => $I, short_id => $short, user_access_level => 'none' };
    my $r = $t->api(POST => "/api/projects/$P/dashboards/$D1/reorder_tiles/", key => $u->{key},
                    body => { tile_order => [ $tJ, $tI, $tM ] });
    is $r->{status}, 200, 'reorder_tiles: 200';
    is_deeply tile_of($r, $tI)->{insight}, $hidden, 'reorder_tiles answer';

    $r = $t->api(POST => "/api/projects/$P/dashboards/$D2/copy_tile/", key => $u->{key},
                 body => { fromDashboardId => $D1, tileId => $tI });
    is $r->{status}, 200, 'copy_tile: 200';
    my ($c) = grep { $_->{insight} && $_->{insight}{id} == $I } @{ $r->{json}{tiles} };
    is_deeply $c->{insight}, $hidden, 'copy_tile answer (the destination)';

    $r = $t->api(POST => "/api/projects/$P/dashboards/$D1/move_tile/", key => $u->{key},
                 body => { to_dashboard => $D2, tile => { id => $tJ } });
    is $r->{status}, 200, 'move_tile: 200';
    is_deeply tile_of($r, $tI)->{insight}, $hidden, 'move_tile answer (the source)';

    $r = $t->api(PATCH => "/api/projects/$P/dashboards/$D1/", key => $u->{key}, body => { name => 'D1 again' });
    is $r->{status}, 200, 'PATCH: 200';
    is_deeply tile_of($r, $tI)->{insight}, $hidden, 'PATCH answer';
};

subtest 'duplicating a dashboard does not copy an insight the user may not view' => sub {
    my $before = $t->sql_value('SELECT count(*) FROM posthog_dashboarditem');
    my $r = $t->api(POST => "/api/projects/$P/dashboards/", key => $u->{key},
                    body => { name => 'Dup', use_dashboard => $D1, duplicate_tiles => JSON::PP::true });
    answer_is $r, 403, denied('You do not have viewer access to this resource.'), 'duplicate_tiles';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboarditem'), $before, 'no insight copied';
    $r = $t->api(POST => "/api/projects/$P/dashboards/", key => $u->{key},
                 body => { name => 'Shared', use_dashboard => $D1 });
    is $r->{status}, 201, 'without duplicate_tiles the tiles are shared: 201';
    is_deeply tile_of($r, (grep { $_->{insight}{id} == $I } @{ $r->{json}{tiles} })[0]{id})->{insight},
        { id => $I, short_id => $short, user_access_level => 'none' }, 'and still hidden there';
};

subtest 'without access_control the insight rules are ignored' => sub {
    Dash::Access::set_features($t, $w->{org});
    my $x = tile_of(get($D1), $tI);
    is $x->{insight}{name}, 'Secret insight', 'whole';
    is $x->{insight}{user_access_level}, 'editor', 'editor';
};

done_testing;
