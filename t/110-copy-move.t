#!/usr/bin/perl
# copy_tile and move_tile (PostHog's actions and DashboardTile's
# copy_to_dashboard / prepare_move_to_dashboard; doc/CONTRACT.md "Tile
# actions, tags and templates").
#
#   POST {base}/:dest/copy_tile/ {"fromDashboardId", "tileId"}
#       200 with the destination's detail; the copy shares the insight/text
#       row; a soft-deleted copy on the destination is revived; every error
#       of PostHog's copy_tile in its order.
#   PATCH or POST {base}/:source/move_tile/ {"to_dashboard", "tile": {"id"}}
#       (older clients: "toDashboard"); 200 with the source's detail; a
#       soft-deleted copy on the destination is removed first; destination
#       permissions.
#
# Both: permission cases, and a failure midway that must leave nothing.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Actions qw(advanced_world dashboard_action permission_fixtures tile_boom boom_on boom_off);
use Dash::Errors qw(verr denied answer_is $SERVER_ERROR $NOT_FOUND);

my $t = Dash->new;
my $w = advanced_world($t);
my $P = $w->{project};
my $U = $w->{user};

# ---------------------------------------------------------------------------
# helpers

my $TRUE = JSON::PP::true;
my $FALSE = JSON::PP::false;

# $method {base}/:dashboard/:action/ ; project => other project id
sub act { dashboard_action($t, $P, @_) }
sub copy_tile { my ($dest, $from, $tile, %o) = @_; act(POST => $dest, 'copy_tile', { fromDashboardId => $from, tileId => $tile }, %o) }
sub move_tile { my ($src, $to, $tile, %o) = @_; act(POST => $src, 'move_tile', { to_dashboard => $to, tile => { id => $tile } }, %o) }

# the answer is the detail of dashboard $d, as GET gives it (last_accessed_at
# aside: GET writes it)
sub is_detail_of {
    my ($r, $d, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $g = $t->api(GET => "/api/projects/$P/dashboards/$d/");
    my %a = %{ $r->{json} // {} };
    my %b = %{ $g->{json} // {} };
    delete @a{qw(last_accessed_at)};
    delete @b{qw(last_accessed_at)};
    is $a{id}, $d, "$name: detail of dashboard $d";
    is_deeply \%a, \%b, "$name: the same detail as GET";
}

sub snapshot { $t->snapshot(qw(posthog_dashboard posthog_dashboardtile posthog_text posthog_dashboarditem
                                 posthog_buttontile)) }

sub tile_row { $t->row(posthog_dashboardtile => $_[0]) }
sub tiles_of { [ map { $_->[0] } @{ $t->sql('SELECT id FROM posthog_dashboardtile WHERE dashboard_id = $1 ORDER BY id', $_[0]) } ] }

sub display { my $r = shift; return { map { $_ => $r->{$_} } qw(layouts color filters_overrides show_description transparent_background) } }

sub button_tile {
    my ($d) = @_;
    my $team = $t->row(posthog_dashboard => $d)->{team_id};
    my $b = $t->insert(posthog_buttontile => { url => 'https://example.com/', text => 'Go', team_id => $team });
    return $t->insert(posthog_dashboardtile => { dashboard_id => $d, button_tile_id => $b->{id}, team_id => $team,
                                                 layouts => {}, filters_overrides => {}, deleted => 0 })->{id};
}

tile_boom($t);

my %f = permission_fixtures($t, $w);
my ($member, $member_key, $read_key, $P2, $scoped_key, $org3, $P3, $u3, $ENV2) =
    @f{qw(member member_key read_key P2 scoped_key org3 P3 u3 ENV2)};

my $L1 = { sm => { x => 0, y => 0, w => 6, h => 5 }, xs => { x => 0, y => 0, w => 1, h => 5 } };
my $L2 = { sm => { x => 6, y => 3, w => 4, h => 2 } };

# ===========================================================================
# copy_tile

subtest 'copy_tile: an insight tile is shared, not deep-copied' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $ENV2, user => $U);     # other environment, same project
    my ($tile, $ins) = $t->fixture_insight_tile(dashboard => $src, layouts => $L1);
    $t->sql(q{UPDATE posthog_dashboardtile SET color = 'blue', filters_overrides = '{"date_from": "-7d"}',
                     show_description = true, transparent_background = false WHERE id = $1}, $tile);
    my $src_row = tile_row($tile);
    my $insights = $t->sql_rows('SELECT * FROM posthog_dashboarditem ORDER BY id');

    my $r = copy_tile($dest, $src, $tile);
    is $r->{status}, 200, 'status 200' or diag $r->{raw};
    is_detail_of $r, $dest, 'answer';
    my @new = @{ tiles_of($dest) };
    is scalar(@new), 1, 'one tile on the destination';
    my $copy = tile_row($new[0]);
    isnt $copy->{id}, $tile, 'a new tile row';
    is $copy->{insight_id}, $ins, 'it shows the same insight';
    is $copy->{team_id}, $ENV2, 'team = the destination team';
    is $copy->{deleted}, undef, 'deleted NULL';
    is_deeply display($copy), { layouts => $L1, color => 'blue', filters_overrides => { date_from => '-7d' },
                                show_description => $TRUE, transparent_background => $FALSE },
        'layouts, color, filters_overrides, show_description, transparent_background copied';
    is_deeply tile_row($tile), $src_row, 'source tile untouched';
    is_deeply $t->sql_rows('SELECT * FROM posthog_dashboarditem ORDER BY id'), $insights, 'no insight copied or changed';
    is_deeply [ map { $_->{insight}{id} } @{ $r->{json}{tiles} } ], [ $ins ], 'answer: the tile shows the insight';
    is_deeply [ sort { $a <=> $b } @{ $r->{json}{tiles}[0]{insight}{dashboards} } ], [ sort { $a <=> $b } $src, $dest ],
        'answer: the insight is on both dashboards';
};

subtest 'copy_tile: a text tile is shared, not deep-copied' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $P, user => $U);
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $src, body => 'shared words', layouts => $L2, color => 'green');
    my $texts = $t->sql_value('SELECT count(*) FROM posthog_text');

    my $r = copy_tile($dest, $src, $tile);
    is $r->{status}, 200, 'status 200' or diag $r->{raw};
    is_detail_of $r, $dest, 'answer';
    my ($copy) = @{ tiles_of($dest) };
    is tile_row($copy)->{text_id}, $text, 'the same text row';
    is $t->sql_value('SELECT count(*) FROM posthog_text'), $texts, 'no text copied';
    is_deeply tile_row($copy)->{layouts}, $L2, 'layouts copied';
    is tile_row($copy)->{color}, 'green', 'color copied';
    is_deeply [ sort { $a <=> $b } map { $_->{id} } @{ $r->{json}{tiles}[0]{text}{dashboard_tiles} } ],
        [ sort { $a <=> $b } $tile, $copy ], 'answer: text.dashboard_tiles lists both tiles';

    # one row: editing it through the copy shows on the source
    my $u = act(POST => $dest, 'update_text_tile', { tile_id => $copy, body => 'edited once' });
    is $u->{status}, 200, 'update through the copy' or diag $u->{raw};
    my $g = $t->api(GET => "/api/projects/$P/dashboards/$src/");
    is $g->{json}{tiles}[0]{text}{body}, 'edited once', 'the source shows the new body';
};

subtest 'copy_tile: a soft-deleted copy on the destination is revived' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $ENV2, user => $U);
    my ($tile, $ins) = $t->fixture_insight_tile(dashboard => $src, layouts => $L1);
    $t->sql(q{UPDATE posthog_dashboardtile SET color = 'red', show_description = true,
                     filters_overrides = '{"interval": "week"}' WHERE id = $1}, $tile);
    my $old = $t->fixture_insight_tile(dashboard => $dest, insight => $ins, layouts => $L2, deleted => 1,
                                       color => 'grey', team_id => $P);
    my ($ttile, $text) = $t->fixture_text_tile(dashboard => $src, body => 'again', layouts => $L2);
    my $oldtext = $t->fixture_text_tile(dashboard => $dest, layouts => $L1, deleted => 1);
    $t->sql('UPDATE posthog_dashboardtile SET text_id = $2 WHERE id = $1', $oldtext, $text);

    my $r = copy_tile($dest, $src, $tile);
    is $r->{status}, 200, 'insight: 200' or diag $r->{raw};
    is_deeply tiles_of($dest), [ sort { $a <=> $b } $old, $oldtext ], 'no new row: the old one is reused';
    my $row = tile_row($old);
    is $row->{deleted}, $FALSE, 'revived: deleted = false';
    is $row->{team_id}, $ENV2, 'team = the destination team';
    is_deeply display($row), { layouts => $L1, color => 'red', filters_overrides => { interval => 'week' },
                               show_description => $TRUE, transparent_background => undef },
        'display fields taken from the source tile';
    is_deeply [ map { $_->{id} } @{ $r->{json}{tiles} } ], [ $old ], 'answer: the revived tile';

    $r = copy_tile($dest, $src, $ttile);
    is $r->{status}, 200, 'text: 200' or diag $r->{raw};
    is_deeply tiles_of($dest), [ sort { $a <=> $b } $old, $oldtext ], 'still no new row';
    is tile_row($oldtext)->{deleted}, $FALSE, 'text tile revived';
    is_deeply tile_row($oldtext)->{layouts}, $L2, 'with the source layouts';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1 AND deleted IS NOT TRUE', $dest),
        2, 'both visible on the destination';
};

subtest 'copy_tile: every error, in order' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $P, user => $U);
    my $dead_dest = $t->fixture_dashboard(team => $P, user => $U, deleted => 1);
    my $dead_src = $t->fixture_dashboard(team => $P, user => $U, deleted => 1);
    my $far = $t->fixture_dashboard(team => $P2, user => $U);         # another project of the org
    my $far_tile = $t->fixture_text_tile(dashboard => $far, body => 'far');
    my $dead_src_tile = $t->fixture_text_tile(dashboard => $dead_src, body => 'dead');
    my $ins_tile = $t->fixture_insight_tile(dashboard => $src);
    my $text_tile = $t->fixture_text_tile(dashboard => $src, body => 'fine');
    my $gone = $t->fixture_text_tile(dashboard => $src, body => 'gone', deleted => 1);
    my $button = button_tile($src);
    # content already (not deleted) on the destination
    my ($dup_ins_tile, $dup_ins) = $t->fixture_insight_tile(dashboard => $src);
    $t->fixture_insight_tile(dashboard => $dest, insight => $dup_ins);
    my ($dup_text_tile, $dup_text) = $t->fixture_text_tile(dashboard => $src, body => 'twice');
    my $on_dest = $t->fixture_text_tile(dashboard => $dest, body => 'placeholder');
    $t->sql('UPDATE posthog_dashboardtile SET text_id = $2 WHERE id = $1', $on_dest, $dup_text);
    my $before = snapshot();

    my @cases = (
        # 1. destination deleted (before the same-dashboard check)
        [ $dead_dest, $dead_dest, 999999, 404, $NOT_FOUND, 'destination deleted, same as source' ],
        [ $dead_dest, $src, $ins_tile, 404, $NOT_FOUND, 'destination deleted' ],
        [ 999999, $src, $ins_tile, 404, $NOT_FOUND, 'no such destination' ],
        # 2. same dashboard (before the source and tile checks)
        [ $dest, $dest, 999999, 400, verr('Destination must be a different dashboard than the source.', undef),
          'source = destination, no such tile' ],
        # 3. source not in the project / deleted / missing (before the tile check)
        [ $dest, $far, $far_tile, 404, $NOT_FOUND, 'source in another project' ],
        [ $dest, $dead_src, $dead_src_tile, 404, $NOT_FOUND, 'source deleted' ],
        [ $dest, 999999, $ins_tile, 404, $NOT_FOUND, 'no such source' ],
        # 5. tile not on the source
        [ $dest, $src, $far_tile, 404, $NOT_FOUND, 'tile of another dashboard' ],
        [ $dest, $src, $gone, 404, $NOT_FOUND, 'soft-deleted tile' ],
        [ $dest, $src, 999999, 404, $NOT_FOUND, 'no such tile' ],
        # kinds of tile
        [ $dest, $src, $button, 400,
          verr('Only insight, text, and widget tiles can be copied between dashboards.', undef), 'button tile' ],
        [ $dest, $src, $dup_ins_tile, 400, verr('This insight is already on the destination dashboard.', undef),
          'insight already on the destination' ],
        [ $dest, $src, $dup_text_tile, 400, verr('This text card is already on the destination dashboard.', undef),
          'text already on the destination' ],
    );
    for my $c (@cases) {
        answer_is copy_tile($c->[0], $c->[1], $c->[2]), $c->[3], $c->[4], $c->[5];
    }

    # body types
    answer_is act(POST => $dest, 'copy_tile', {}), 400,
        verr('This field is required.', 'fromDashboardId', 'required'), 'empty body';
    answer_is act(POST => $dest, 'copy_tile', { fromDashboardId => $src }), 400,
        verr('This field is required.', 'tileId', 'required'), 'no tileId';
    answer_is act(POST => $dest, 'copy_tile', { fromDashboardId => 'src', tileId => $ins_tile }), 400,
        verr('A valid integer is required.', 'fromDashboardId'), 'fromDashboardId not an integer';
    answer_is act(POST => $dest, 'copy_tile', { from_dashboard_id => $src, tile_id => $ins_tile }), 400,
        verr('This field is required.', 'fromDashboardId', 'required'), 'snake_case names are not the fields';

    is_deeply snapshot(), $before, 'no error changed a row';
};

subtest 'copy_tile: permissions' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $P, user => $U);
    my $locked = $t->fixture_dashboard(team => $P, user => $U, restriction_level => 37);
    my $tile = $t->fixture_text_tile(dashboard => $src, body => 'p');
    my $locked_tile = $t->fixture_text_tile(dashboard => $locked, body => 'locked content');
    my $d3 = $t->fixture_dashboard(team => $P3, user => $u3);
    my $before = snapshot();

    answer_is copy_tile($dest, $src, $tile, key => $read_key), 403,
        denied("API key missing required scope 'dashboard:write'"), 'read-only key';
    answer_is copy_tile($dest, $src, $tile, key => $scoped_key), 403,
        denied("API key does not have access to the requested project: ID $P."), 'key scoped to another project';
    answer_is copy_tile($d3, $src, $tile, project => $P3), 403,
        denied("You don't have access to the project."), 'project of another organization';
    answer_is copy_tile($locked, $src, $tile, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), 'destination restricted (level 37), no privilege';
    answer_is copy_tile($locked, $locked, $tile, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."),
        'destination restricted and the same as the source: the permission comes first';
    is_deeply snapshot(), $before, 'the refusals changed nothing';

    # viewing the source is enough: copying out of a restricted dashboard works
    my $r = copy_tile($dest, $locked, $locked_tile, key => $member_key);
    is $r->{status}, 200, 'source restricted, destination editable: 200' or diag $r->{raw};
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1', $dest), 1, 'copied';

    # a collaborator with privilege 37 may copy into the restricted dashboard
    $t->insert(ee_dashboardprivilege => { dashboard_id => $locked, user_id => $member, level => 37 });
    $r = copy_tile($locked, $src, $tile, key => $member_key);
    is $r->{status}, 200, 'collaborator with privilege 37: 200' or diag $r->{raw};
};

subtest 'copy_tile: a failure midway leaves nothing' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $P, user => $U);
    my $tile = $t->fixture_insight_tile(dashboard => $src, layouts => $L1, color => 'boom');
    my $before = snapshot();
    boom_on($t);
    my $r = copy_tile($dest, $src, $tile);
    boom_off($t);
    answer_is $r, 500, $SERVER_ERROR, 'the copy INSERT fails';
    is_deeply snapshot(), $before, 'nothing written';
};

# ===========================================================================
# move_tile

subtest 'move_tile: POST moves the tile, answers with the source' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $ENV2, user => $U);
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $src, body => 'moving', layouts => $L1, color => 'blue');
    my $stay = $t->fixture_text_tile(dashboard => $src, body => 'staying', layouts => $L2);
    my $before = tile_row($tile);

    my $r = move_tile($src, $dest, $tile);
    is $r->{status}, 200, 'status 200' or diag $r->{raw};
    is_detail_of $r, $src, 'answer: the source dashboard';
    is_deeply [ map { $_->{id} } @{ $r->{json}{tiles} } ], [ $stay ], 'the source keeps the other tile only';
    my $row = tile_row($tile);
    is $row->{dashboard_id}, $dest, 'same tile row, now on the destination';
    is $row->{team_id}, $ENV2, 'team = the destination team';
    is_deeply { %$row, dashboard_id => undef, team_id => undef }, { %$before, dashboard_id => undef, team_id => undef },
        'nothing else about the tile changed';
    is $t->row(posthog_text => $text)->{body}, 'moving', 'text kept';
    my $g = $t->api(GET => "/api/projects/$P/dashboards/$dest/");
    is_deeply [ map { $_->{id} } @{ $g->{json}{tiles} } ], [ $tile ], 'the destination shows it';
};

subtest 'move_tile: PATCH, and the older toDashboard' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $d1 = $t->fixture_dashboard(team => $P, user => $U);
    my $d2 = $t->fixture_dashboard(team => $P, user => $U);
    my $a = $t->fixture_text_tile(dashboard => $src, body => 'a');
    my $b = $t->fixture_text_tile(dashboard => $src, body => 'b');
    my $c = $t->fixture_insight_tile(dashboard => $src);

    my $r = act(PATCH => $src, 'move_tile', { to_dashboard => $d1, tile => { id => $a } });
    is $r->{status}, 200, 'PATCH to_dashboard: 200' or diag $r->{raw};
    is tile_row($a)->{dashboard_id}, $d1, 'moved';
    is $r->{json}{id}, $src, 'answer: the source';

    $r = act(PATCH => $src, 'move_tile', { toDashboard => $d2, tile => { id => $b } });
    is $r->{status}, 200, 'PATCH toDashboard: 200' or diag $r->{raw};
    is tile_row($b)->{dashboard_id}, $d2, 'moved by the old name';

    $r = act(POST => $src, 'move_tile', { toDashboard => $d2, to_dashboard => $d1, tile => { id => $c } });
    is $r->{status}, 200, 'both names: 200' or diag $r->{raw};
    is tile_row($c)->{dashboard_id}, $d1, 'to_dashboard wins';
    is_deeply $r->{json}{tiles}, [], 'the source is empty now';
};

subtest 'move_tile: a soft-deleted copy on the destination is removed' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $P, user => $U);
    my ($tile, $ins) = $t->fixture_insight_tile(dashboard => $src, layouts => $L1);
    my $stale = $t->fixture_insight_tile(dashboard => $dest, insight => $ins, layouts => $L2, deleted => 1);
    my $r = move_tile($src, $dest, $tile);
    is $r->{status}, 200, 'status 200' or diag $r->{raw};
    is tile_row($stale), undef, 'the soft-deleted row is gone (hard delete)';
    is_deeply tiles_of($dest), [ $tile ], 'the moved tile is the only row on the destination';
    is_deeply tile_row($tile)->{layouts}, $L1, 'with its own layouts';
};

subtest 'move_tile: errors' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $P, user => $U);
    my $dead = $t->fixture_dashboard(team => $P, user => $U, deleted => 1);
    my $far = $t->fixture_dashboard(team => $P2, user => $U);
    my $locked = $t->fixture_dashboard(team => $P, user => $U, restriction_level => 37);
    my ($tile, $ins) = $t->fixture_insight_tile(dashboard => $src);
    my $gone = $t->fixture_text_tile(dashboard => $src, body => 'gone', deleted => 1);
    my $on_dest = $t->fixture_text_tile(dashboard => $dest, body => 'd');
    my ($conflict_tile) = $t->fixture_insight_tile(dashboard => $dest, insight => $ins);
    my $free = $t->fixture_text_tile(dashboard => $src, body => 'free');
    my $before = snapshot();

    my @cases = (
        [ {}, 400, verr('This field is required.', 'to_dashboard', 'required'), 'empty body' ],
        [ { to_dashboard => $dest }, 400, verr('This field is required.', 'tile', 'required'), 'no tile' ],
        [ { to_dashboard => $dest, tile => {} }, 400, verr('This field is required.', 'tile__id', 'required'), 'tile without id' ],
        [ { to_dashboard => $dest, tile => { id => 'x' } }, 400, verr('A valid integer is required.', 'tile__id'), 'tile.id not an integer' ],
        [ { to_dashboard => 'd', tile => { id => $tile } }, 400, verr('A valid integer is required.', 'to_dashboard'), 'to_dashboard not an integer' ],
        [ { to_dashboard => $dest, tile => $tile }, 400,
          verr('Invalid data. Expected a dictionary, but got int.', 'tile__non_field_errors'), 'tile an integer' ],
        [ { to_dashboard => $dest, tile => { id => $on_dest } }, 404, $NOT_FOUND, 'tile on another dashboard' ],
        [ { to_dashboard => $dest, tile => { id => $gone } }, 404, $NOT_FOUND, 'soft-deleted tile' ],
        [ { to_dashboard => $dest, tile => { id => 999999 } }, 404, $NOT_FOUND, 'no such tile' ],
        [ { to_dashboard => $far, tile => { id => $free } }, 404, $NOT_FOUND, 'destination in another project' ],
        [ { to_dashboard => $dead, tile => { id => $free } }, 404, $NOT_FOUND, 'destination deleted' ],
        [ { to_dashboard => 999999, tile => { id => $free } }, 404, $NOT_FOUND, 'no such destination' ],
        [ { to_dashboard => $dest, tile => { id => $tile } }, 400, verr('Invalid request data for moving tile.', undef),
          'the same insight is on the destination (not deleted)' ],
    );
    for my $c (@cases) {
        answer_is act(POST => $src, 'move_tile', $c->[0]), $c->[1], $c->[2], $c->[3];
    }
    is_deeply snapshot(), $before, 'no error changed a row';
    is tile_row($conflict_tile)->{deleted}, $FALSE, 'the tile on the destination is still there';
};

subtest 'move_tile: permissions on the source and the destination' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $P, user => $U);
    my $locked = $t->fixture_dashboard(team => $P, user => $U, restriction_level => 37);
    my $tile = $t->fixture_text_tile(dashboard => $src, body => 'm');
    my $locked_tile = $t->fixture_text_tile(dashboard => $locked, body => 'l');
    my $d3 = $t->fixture_dashboard(team => $P3, user => $u3);
    my $before = snapshot();

    answer_is move_tile($src, $dest, $tile, key => $read_key), 403,
        denied("API key missing required scope 'dashboard:write'"), 'read-only key';
    answer_is move_tile($src, $dest, $tile, key => $scoped_key), 403,
        denied("API key does not have access to the requested project: ID $P."), 'key scoped to another project';
    answer_is move_tile($d3, $dest, $tile, project => $P3), 403,
        denied("You don't have access to the project."), 'project of another organization';
    answer_is move_tile($locked, $dest, $locked_tile, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), 'source restricted, no privilege';
    answer_is move_tile($locked, 999999, 999999, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."),
        'source restricted, no such tile or destination: the source permission comes first';
    answer_is move_tile($src, $locked, 999999, key => $member_key), 404, $NOT_FOUND,
        'no such tile, destination restricted: the tile comes first';
    # the destination goes through the same object permission as the URL
    # dashboard (CanEditDashboard) before the explicit can_edit check, so
    # its message is the generic one
    answer_is move_tile($src, $locked, $tile, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), 'destination restricted, no privilege';
    is_deeply snapshot(), $before, 'the refusals changed nothing';

    $t->insert(ee_dashboardprivilege => { dashboard_id => $locked, user_id => $member, level => 37 });
    my $r = move_tile($src, $locked, $tile, key => $member_key);
    is $r->{status}, 200, 'collaborator with privilege 37 on the destination: 200' or diag $r->{raw};
    is tile_row($tile)->{dashboard_id}, $locked, 'moved';
    $r = move_tile($locked, $dest, $locked_tile, key => $member_key);
    is $r->{status}, 200, 'and out of it: 200' or diag $r->{raw};
    is tile_row($locked_tile)->{dashboard_id}, $dest, 'moved';
};

subtest 'move_tile: a failure midway leaves nothing' => sub {
    my $src = $t->fixture_dashboard(team => $P, user => $U);
    my $dest = $t->fixture_dashboard(team => $P, user => $U);
    my ($tile, $ins) = $t->fixture_insight_tile(dashboard => $src, layouts => $L1, color => 'boom');
    my $stale = $t->fixture_insight_tile(dashboard => $dest, insight => $ins, layouts => $L2, deleted => 1);
    my $before = snapshot();
    boom_on($t);
    my $r = move_tile($src, $dest, $tile);
    boom_off($t);
    answer_is $r, 500, $SERVER_ERROR, 'the UPDATE of the tile fails after the stale row was deleted';
    is_deeply snapshot(), $before, 'the stale row is back, the tile is still on the source';
    ok tile_row($stale), 'stale row present';
};

done_testing;
