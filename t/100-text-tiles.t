#!/usr/bin/perl
# Text tiles and tile deletion (PostHog's create_text_tile, update_text_tile
# and delete_tile actions with its layout compaction; doc/CONTRACT.md "Tile
# actions, tags and templates"):
#
#   POST {base}/:id/create_text_tile/   201 with the tile (tile serializer)
#   POST {base}/:id/update_text_tile/   200 with the tile, re-read
#   POST {base}/:id/delete_tile/        204, soft delete + layout compaction
#
# For each: the rows left in PostgreSQL, every validation error with its DRF
# body, 404s, permissions (read-only key, other project, restriction level
# 37 without privilege), a failure midway that must leave nothing behind,
# and (delete_tile) compaction tables computed by hand as PostHog compacts.

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

# POST {base}/:dashboard/:action/ ; project => other project id
sub act { dashboard_action($t, $P, POST => @_) }

# every row an action may touch
sub snapshot { $t->snapshot(qw(posthog_dashboard posthog_dashboardtile posthog_text posthog_dashboarditem
                                 posthog_tag posthog_taggeditem)) }

sub layouts_of { $t->sql_value('SELECT layouts::text FROM posthog_dashboardtile WHERE id = $1', $_[0]) }

sub tile_row { $t->row(posthog_dashboardtile => $_[0]) }

# a test trigger that makes a write fail once it reaches a tile coloured
# 'boom': an INSERT of such a tile, or an UPDATE that changes its layouts,
# dashboard or deleted flag
tile_boom($t);

my $TS = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z$/;    # microseconds only when not zero

# people and keys used by the permission cases
my %f = permission_fixtures($t, $w);
my ($member, $member_key, $read_key, $P2, $scoped_key, $org3, $P3, $u3, $ENV2) =
    @f{qw(member member_key read_key P2 scoped_key org3 P3 u3 ENV2)};

# the permission cases every endpoint shares; $call->($dashboard, %api_opts)
# must attempt the action, $rows->() count what the action would change
sub permission_cases {
    my ($name, $call, $rows) = @_;
    my $before = $rows->();

    my $locked = $t->fixture_dashboard(team => $P, user => $U, restriction_level => 37);
    my $deleted = $t->fixture_dashboard(team => $P, user => $U, deleted => 1);
    my $other = $t->fixture_dashboard(team => $P2, user => $U);
    my $d3 = $t->fixture_dashboard(team => $P3, user => $u3);
    my $open = $t->fixture_dashboard(team => $P, user => $U);

    answer_is $call->($open, key => $read_key), 403,
        denied("API key missing required scope 'dashboard:write'"), "$name, read-only key";
    answer_is $call->($open, key => $scoped_key), 403,
        denied("API key does not have access to the requested project: ID $P."), "$name, key scoped to another project";
    answer_is $call->($other), 404, $NOT_FOUND, "$name, dashboard of another project";
    answer_is $call->($d3, project => $P3), 403,
        denied("You don't have access to the project."), "$name, project of another organization";
    answer_is $call->($open, project => 999999), 404,
        { type => 'invalid_request', code => 'not_found', detail => 'Project not found.', attr => undef },
        "$name, no such project";
    answer_is $call->(999999), 404, $NOT_FOUND, "$name, no such dashboard";
    answer_is $call->($deleted), 404, $NOT_FOUND, "$name, deleted dashboard";
    answer_is $call->($locked, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), "$name, restriction level 37 without privilege";
    is_deeply $rows->(), $before, "$name: the refusals changed nothing";
    return { locked => $locked, open => $open };
}

# ===========================================================================
# create_text_tile

my $TILE_KEYS = [ sort qw(id insight text button_tile widget layouts color filters_overrides
                          show_description transparent_background order last_refresh is_cached) ];
my $TEXT_KEYS = [ sort qw(id body created_by last_modified_at last_modified_by team dashboard_tiles) ];

subtest 'create_text_tile: 201, the tile and its rows' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $r = act($d, 'create_text_tile', { body => "## KPIs\n\nweekly" });
    is $r->{status}, 201, 'status 201' or diag $r->{raw};
    my $j = $r->{json};
    is_deeply [ sort keys %$j ], $TILE_KEYS, 'tile keys';
    is_deeply [ sort keys %{ $j->{text} } ], $TEXT_KEYS, 'text keys';

    my $tile = tile_row($j->{id});
    ok $tile, 'the tile row exists';
    my $text = $t->row(posthog_text => $tile->{text_id});
    is $j->{text}{id}, $text->{id}, 'text id is the row linked to the tile';

    is_deeply { %$j, text => undef }, {
        id => $tile->{id}, insight => undef, text => undef, button_tile => undef, widget => undef,
        layouts => {}, color => undef, filters_overrides => {}, show_description => undef,
        transparent_background => undef, order => undef, last_refresh => undef, is_cached => $FALSE,
    }, 'tile fields (order null, layouts {})';
    my $tx = $j->{text};
    is $tx->{body}, "## KPIs\n\nweekly", 'text.body';
    is $tx->{created_by}{id}, $U, 'text.created_by is the caller';
    is $tx->{last_modified_by}, undef, 'text.last_modified_by null';
    like $tx->{last_modified_at}, $TS, 'text.last_modified_at';
    is $tx->{team}, $P, 'text.team';
    is_deeply $tx->{dashboard_tiles}, [ { id => $tile->{id}, dashboard_id => $d, deleted => undef } ],
        'text.dashboard_tiles';

    is_deeply { map { $_ => $tile->{$_} } qw(dashboard_id team_id layouts color deleted insight_id
                                              button_tile_id widget_id filters_overrides) },
        { dashboard_id => $d, team_id => $P, layouts => {}, color => undef, deleted => undef,
          insight_id => undef, button_tile_id => undef, widget_id => undef, filters_overrides => {} },
        'posthog_dashboardtile row';
    is_deeply { map { $_ => $text->{$_} } qw(body created_by_id last_modified_by_id team_id) },
        { body => "## KPIs\n\nweekly", created_by_id => $U, last_modified_by_id => undef, team_id => $P },
        'posthog_text row';
    ok defined $text->{last_modified_at}, 'posthog_text.last_modified_at set';

    my $g = $t->api(GET => "/api/projects/$P/dashboards/$d/");
    is_deeply [ map { $_->{id} } @{ $g->{json}{tiles} } ], [ $tile->{id} ], 'the tile is on the dashboard';
};

subtest 'create_text_tile: layouts, color, lengths, environments' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);

    # the layouts serializer keeps sm/xs and x/y/w/h only, integers coerced
    my $r = act($d, 'create_text_tile', {
        body => 'b', color => 'blue',
        layouts => { sm => { x => 0, y => '3', w => 12, h => 1, minW => 3, i => 'x' },
                     xs => { x => 0 }, lg => { x => 1, y => 1 } } });
    is $r->{status}, 201, 'layouts + color: 201' or diag $r->{raw};
    my $want = { sm => { x => 0, y => 3, w => 12, h => 1 }, xs => { x => 0 } };
    is_deeply $r->{json}{layouts}, $want, 'answer: layouts cleaned';
    is $r->{json}{color}, 'blue', 'answer: color';
    is_deeply tile_row($r->{json}{id})->{layouts}, $want, 'row: layouts cleaned';
    is tile_row($r->{json}{id})->{color}, 'blue', 'row: color';

    $r = act($d, 'create_text_tile', { body => 'c', color => '' });
    is $r->{status}, 201, 'blank color: 201' or diag $r->{raw};
    is tile_row($r->{json}{id})->{color}, '', 'blank color stored as given';

    $r = act($d, 'create_text_tile', { body => 'd', color => undef, layouts => {} });
    is $r->{status}, 201, 'null color, empty layouts: 201' or diag $r->{raw};
    is tile_row($r->{json}{id})->{color}, undef, 'null color';
    is_deeply tile_row($r->{json}{id})->{layouts}, {}, 'layouts {}';

    # 4000 characters (not bytes) is the limit
    $r = act($d, 'create_text_tile', { body => 'é' x 4000 });
    is $r->{status}, 201, '4000 two-byte characters: 201' or diag substr($r->{raw}, 0, 300);
    is $t->sql_value('SELECT char_length(x.body) FROM posthog_text x JOIN posthog_dashboardtile t
                       ON t.text_id = x.id WHERE t.id = $1', $r->{json}{id}), 4000, 'stored whole';
    $r = act($d, 'create_text_tile', { body => '  spaced  ' });
    is $r->{json}{text}{body}, '  spaced  ', 'body is not trimmed';

    # a dashboard of the project's second environment: rows go to its team
    my $de = $t->fixture_dashboard(team => $ENV2, user => $U);
    $r = act($de, 'create_text_tile', { body => 'env' });
    is $r->{status}, 201, 'dashboard of another environment of the project: 201' or diag $r->{raw};
    my $row = tile_row($r->{json}{id});
    is $row->{team_id}, $ENV2, 'tile team = the dashboard team';
    is $t->row(posthog_text => $row->{text_id})->{team_id}, $ENV2, 'text team = the dashboard team';
    is $r->{json}{text}{team}, $ENV2, 'answer: text.team';
};

subtest 'create_text_tile: validation errors' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $before = snapshot();
    my @cases = (
        [ {}, verr('This field is required.', 'body', 'required'), 'no body' ],
        [ { body => '' }, verr('This field may not be blank.', 'body', 'blank'), 'blank body' ],
        [ { body => undef }, verr('This field may not be null.', 'body', 'null'), 'null body' ],
        [ { body => 'x' x 4001 }, verr('Text body cannot exceed 4000 characters', 'body', 'max_length'), '4001 characters' ],
        [ { body => 'é' x 4001 }, verr('Text body cannot exceed 4000 characters', 'body', 'max_length'), '4001 two-byte characters' ],
        [ { body => ['x'] }, verr('Not a valid string.', 'body'), 'body a list' ],
        [ { body => 'ok', color => 'c' x 401 }, verr('Color cannot exceed 400 characters', 'color', 'max_length'), 'color too long' ],
        # a nested serializer given a non-object fails with a non-field error
        # inside it: drf-exceptions-hog joins the keys, non_field_errors included
        [ { body => 'ok', layouts => 'sm' },
          verr('Invalid data. Expected a dictionary, but got str.', 'layouts__non_field_errors'), 'layouts a string' ],
        [ { body => 'ok', layouts => { sm => [] } },
          verr('Invalid data. Expected a dictionary, but got list.', 'layouts__sm__non_field_errors'), 'layouts.sm a list' ],
        [ { body => 'ok', layouts => { sm => { x => 'a' } } }, verr('A valid integer is required.', 'layouts__sm__x'), 'layouts.sm.x not an integer' ],
        [ { body => 'ok', layouts => { xs => { h => 1.5 } } }, verr('A valid integer is required.', 'layouts__xs__h'), 'layouts.xs.h a fraction' ],
    );
    for my $c (@cases) {
        answer_is act($d, 'create_text_tile', $c->[0]), 400, $c->[1], $c->[2];
    }
    is_deeply snapshot(), $before, 'no row written by a refused request';
};

subtest 'create_text_tile: 404s and permissions' => sub {
    my $n = sub { $t->sql_value('SELECT (SELECT count(*) FROM posthog_dashboardtile) || \'/\' || (SELECT count(*) FROM posthog_text)') };
    my $ds = permission_cases('create_text_tile',
        sub { my ($d, %o) = @_; act($d, 'create_text_tile', { body => 'nope' }, %o) }, $n);

    # restriction level 37: the creator and a collaborator with privilege 37 may edit
    my $r = act($ds->{locked}, 'create_text_tile', { body => 'admin' });
    is $r->{status}, 201, 'restricted dashboard, organization admin: 201' or diag $r->{raw};
    $t->insert(ee_dashboardprivilege => { dashboard_id => $ds->{locked}, user_id => $member, level => 37 });
    $r = act($ds->{locked}, 'create_text_tile', { body => 'collaborator' }, key => $member_key);
    is $r->{status}, 201, 'restricted dashboard, collaborator with privilege 37: 201' or diag $r->{raw};
    is $t->row(posthog_text => tile_row($r->{json}{id})->{text_id})->{created_by_id}, $member, 'created by the collaborator';
    my $own = $t->fixture_dashboard(team => $P, user => $member, restriction_level => 37);
    $r = act($own, 'create_text_tile', { body => 'creator' }, key => $member_key);
    is $r->{status}, 201, 'restricted dashboard, its creator (a plain member): 201' or diag $r->{raw};
    my $viewer = $t->fixture_dashboard(team => $P, user => $U, restriction_level => 37);
    $t->insert(ee_dashboardprivilege => { dashboard_id => $viewer, user_id => $member, level => 21 });
    answer_is act($viewer, 'create_text_tile', { body => 'x' }, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), 'collaborator with privilege 21 only';

    # without the advanced-permissions feature, level 37 is not enforced
    my $org = $t->fixture_org;
    my $pp = $t->fixture_project(org => $org);
    my $admin = $t->fixture_user(org => $org, level => 8);
    my $mm = $t->fixture_user(org => $org, level => 1);
    my $mk = $t->fixture_key(user => $mm);
    my $ld = $t->fixture_dashboard(team => $pp, user => $admin, restriction_level => 37);
    $r = act($ld, 'create_text_tile', { body => 'x' }, key => $mk, project => $pp);
    is $r->{status}, 201, 'level 37 in an organization without the feature: 201' or diag $r->{raw};
};

subtest 'create_text_tile: a failure midway leaves nothing' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $before = snapshot();
    boom_on($t);
    my $r = act($d, 'create_text_tile', { body => 'never', color => 'boom' });
    boom_off($t);
    answer_is $r, 500, $SERVER_ERROR, 'the tile INSERT fails after the text INSERT';
    is_deeply snapshot(), $before, 'no posthog_text row left behind';
};

# ===========================================================================
# update_text_tile

subtest 'update_text_tile: 200, body, layouts replaced, color, modifier' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => 'old', user => $U, color => 'blue',
        layouts => { sm => { x => 0, y => 0, w => 6, h => 5 }, xs => { x => 0, y => 0, w => 1, h => 5 } });
    $t->sql(q{UPDATE posthog_text SET last_modified_at = '2020-01-01T00:00:00Z', last_modified_by_id = NULL
               WHERE id = $1}, $text);
    my $editor = $t->fixture_user(org => $w->{org}, level => 1);
    my $ek = $t->fixture_key(user => $editor);

    my $r = act($d, 'update_text_tile', { tile_id => $tile, body => 'new *body*',
                                          layouts => { sm => { x => 6, y => 2, w => 6, h => 3 } },
                                          color => 'green' }, key => $ek);
    is $r->{status}, 200, 'status 200' or diag $r->{raw};
    my $j = $r->{json};
    is_deeply [ sort keys %$j ], $TILE_KEYS, 'tile keys';
    is $j->{id}, $tile, 'the same tile';
    is $j->{text}{id}, $text, 'the same text';
    is $j->{text}{body}, 'new *body*', 'answer: body';
    is_deeply $j->{layouts}, { sm => { x => 6, y => 2, w => 6, h => 3 } }, 'answer: layouts replaced as a whole';
    is $j->{color}, 'green', 'answer: color';
    is $j->{order}, undef, 'answer: order null';
    is $j->{text}{created_by}{id}, $U, 'created_by kept';
    is $j->{text}{last_modified_by}{id}, $editor, 'last_modified_by = the caller';
    like $j->{text}{last_modified_at}, $TS, 'last_modified_at format';

    my $row = tile_row($tile);
    is_deeply $row->{layouts}, { sm => { x => 6, y => 2, w => 6, h => 3 } }, 'row: xs gone, sm replaced';
    is $row->{color}, 'green', 'row: color';
    my $tx = $t->row(posthog_text => $text);
    is_deeply [ @$tx{qw(body created_by_id last_modified_by_id)} ], [ 'new *body*', $U, $editor ], 'posthog_text row';
    is $t->sql_value(q{SELECT last_modified_at > now() - interval '1 minute' FROM posthog_text WHERE id = $1}, $text),
        't', 'last_modified_at is now';
};

subtest 'update_text_tile: absent fields unchanged, colour cleared' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $L = { sm => { x => 1, y => 2, w => 3, h => 4 } };
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => 'keep', user => $U, color => 'red', layouts => $L);
    $t->sql(q{UPDATE posthog_text SET last_modified_at = '2020-01-01T00:00:00Z' WHERE id = $1}, $text);

    my $r = act($d, 'update_text_tile', { tile_id => "$tile" });
    is $r->{status}, 200, 'only tile_id (as a string): 200' or diag $r->{raw};
    is $r->{json}{text}{body}, 'keep', 'body unchanged';
    is_deeply $r->{json}{layouts}, $L, 'layouts unchanged';
    is $r->{json}{color}, 'red', 'color unchanged';
    is $r->{json}{text}{last_modified_by}{id}, $U, 'last_modified_by set anyway';
    is $t->sql_value(q{SELECT last_modified_at > '2020-01-02' FROM posthog_text WHERE id = $1}, $text),
        't', 'last_modified_at moved anyway';

    $r = act($d, 'update_text_tile', { tile_id => $tile, color => '' });
    is $r->{status}, 200, 'color "": 200' or diag $r->{raw};
    is $r->{json}{color}, '', 'answer: color ""';
    is tile_row($tile)->{color}, '', 'row: color ""';
    $t->sql('UPDATE posthog_dashboardtile SET color = $2 WHERE id = $1', $tile, 'red');
    $r = act($d, 'update_text_tile', { tile_id => $tile, color => undef });
    is $r->{json}{color}, undef, 'color null clears';
    is tile_row($tile)->{color}, undef, 'row: color NULL';

    $r = act($d, 'update_text_tile', { tile_id => $tile, layouts => {} });
    is $r->{status}, 200, 'layouts {}: 200' or diag $r->{raw};
    is_deeply tile_row($tile)->{layouts}, {}, 'layouts replaced by {}';
};

subtest 'update_text_tile: validation errors and 404s' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $other = $t->fixture_dashboard(team => $P, user => $U);
    my $tile = $t->fixture_text_tile(dashboard => $d, body => 'x');
    my $elsewhere = $t->fixture_text_tile(dashboard => $other, body => 'y');
    my $gone = $t->fixture_text_tile(dashboard => $d, body => 'z', deleted => 1);
    my $ins = $t->fixture_insight_tile(dashboard => $d);
    my $before = snapshot();
    my @cases = (
        [ {}, 400, verr('This field is required.', 'tile_id', 'required'), 'no tile_id' ],
        [ { tile_id => 'abc' }, 400, verr('A valid integer is required.', 'tile_id'), 'tile_id not an integer' ],
        [ { tile_id => $tile, body => '' }, 400, verr('This field may not be blank.', 'body', 'blank'), 'blank body' ],
        [ { tile_id => $tile, body => undef }, 400, verr('This field may not be null.', 'body', 'null'), 'null body' ],
        [ { tile_id => $tile, body => 'x' x 4001 }, 400,
          verr('Text body cannot exceed 4000 characters', 'body', 'max_length'), 'body too long' ],
        [ { tile_id => $tile, color => 'c' x 401 }, 400,
          verr('Color cannot exceed 400 characters', 'color', 'max_length'), 'color too long' ],
        [ { tile_id => $tile, layouts => { sm => { w => 'wide' } } }, 400,
          verr('A valid integer is required.', 'layouts__sm__w'), 'layouts.sm.w not an integer' ],
        [ { tile_id => $elsewhere, body => 'b' }, 404, $NOT_FOUND, 'tile of another dashboard' ],
        [ { tile_id => $gone, body => 'b' }, 404, $NOT_FOUND, 'soft-deleted tile' ],
        [ { tile_id => 999999, body => 'b' }, 404, $NOT_FOUND, 'no such tile' ],
        [ { tile_id => $ins, body => 'b' }, 400, verr('Tile is not a text tile.', undef), 'insight tile' ],
    );
    for my $c (@cases) {
        answer_is act($d, 'update_text_tile', $c->[0]), $c->[1], $c->[2], $c->[3];
    }
    is_deeply snapshot(), $before, 'no row written by a refused request';
};

subtest 'update_text_tile: permissions' => sub {
    my $n = sub { $t->sql_rows('SELECT id, body, last_modified_by_id, last_modified_at FROM posthog_text ORDER BY id') };
    my %tiles;
    my $ds = permission_cases('update_text_tile', sub {
        my ($d, %o) = @_;
        my $tile = $tiles{$d} //= $t->sql_value('SELECT id FROM posthog_dashboardtile WHERE dashboard_id = $1 LIMIT 1', $d)
                               // 999998;
        act($d, 'update_text_tile', { tile_id => $tile, body => 'hacked' }, %o);
    }, $n);
    # the restricted dashboard with a tile of its own: still 403 for the member
    my $tile = $t->fixture_text_tile(dashboard => $ds->{locked}, body => 'mine');
    answer_is act($ds->{locked}, 'update_text_tile', { tile_id => $tile, body => 'hacked' }, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), 'restricted dashboard with the tile on it';
    is $t->row(posthog_text => tile_row($tile)->{text_id})->{body}, 'mine', 'body unchanged';
};

subtest 'update_text_tile: a failure midway leaves nothing' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $tile = $t->fixture_text_tile(dashboard => $d, body => 'before', color => 'boom',
                                      layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
    my $before = snapshot();
    boom_on($t);
    my $r = act($d, 'update_text_tile', { tile_id => $tile, body => 'after',
                                          layouts => { sm => { x => 6, y => 0, w => 6, h => 5 } } });
    boom_off($t);
    answer_is $r, 500, $SERVER_ERROR, 'the tile UPDATE fails after the text UPDATE';
    is_deeply snapshot(), $before, 'text body and modifier unchanged';
};

# ===========================================================================
# delete_tile

subtest 'delete_tile: 204, soft delete, content kept' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => 'bye');
    my ($itile, $insight) = $t->fixture_insight_tile(dashboard => $d);
    my $keep = $t->fixture_text_tile(dashboard => $d, body => 'stay');

    my $r = act($d, 'delete_tile', { tile_id => $tile });
    is $r->{status}, 204, 'text tile: 204' or diag $r->{raw};
    is $r->{raw}, '', 'no body';
    is tile_row($tile)->{deleted}, $TRUE, 'tile deleted = true';
    ok $t->row(posthog_text => $text), 'posthog_text row kept';

    $r = act($d, 'delete_tile', { tile_id => $itile });
    is $r->{status}, 204, 'insight tile: 204' or diag $r->{raw};
    is tile_row($itile)->{deleted}, $TRUE, 'insight tile deleted = true';
    is $t->row(posthog_dashboarditem => $insight)->{deleted}, $FALSE, 'insight itself not deleted';

    my $g = $t->api(GET => "/api/projects/$P/dashboards/$d/");
    is_deeply [ map { $_->{id} } @{ $g->{json}{tiles} } ], [ $keep ], 'only the other tile is left on the dashboard';
    is tile_row($keep)->{deleted}, $FALSE, 'other tile untouched';

    answer_is act($d, 'delete_tile', { tile_id => $tile }), 404, $NOT_FOUND, 'deleting it again: 404';
};

subtest 'delete_tile: validation errors and 404s' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $other = $t->fixture_dashboard(team => $P, user => $U);
    my $elsewhere = $t->fixture_text_tile(dashboard => $other, body => 'y');
    $t->fixture_text_tile(dashboard => $d, body => 'x');
    my $before = snapshot();
    answer_is act($d, 'delete_tile', {}), 400, verr('This field is required.', 'tile_id', 'required'), 'no tile_id';
    answer_is act($d, 'delete_tile', { tile_id => 'one' }), 400, verr('A valid integer is required.', 'tile_id'),
        'tile_id not an integer';
    answer_is act($d, 'delete_tile', { tile_id => undef }), 400, verr('This field may not be null.', 'tile_id', 'null'),
        'tile_id null';
    answer_is act($d, 'delete_tile', { tile_id => $elsewhere }), 404, $NOT_FOUND, 'tile of another dashboard';
    answer_is act($d, 'delete_tile', { tile_id => 999999 }), 404, $NOT_FOUND, 'no such tile';
    is_deeply snapshot(), $before, 'nothing changed';
};

subtest 'delete_tile: permissions' => sub {
    my $n = sub { $t->sql_rows('SELECT id, deleted, layouts FROM posthog_dashboardtile ORDER BY id') };
    my %tiles;
    my $ds = permission_cases('delete_tile', sub {
        my ($d, %o) = @_;
        my $tile = $tiles{$d} //= $t->sql_value('SELECT id FROM posthog_dashboardtile WHERE dashboard_id = $1 LIMIT 1', $d)
                               // 999998;
        act($d, 'delete_tile', { tile_id => $tile }, %o);
    }, $n);
    my $tile = $t->fixture_text_tile(dashboard => $ds->{locked}, body => 'mine');
    answer_is act($ds->{locked}, 'delete_tile', { tile_id => $tile }, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), 'restricted dashboard with the tile on it';
    is tile_row($tile)->{deleted}, $FALSE, 'tile not deleted';
};

# ---------------------------------------------------------------------------
# compaction (as PostHog's delete_tile does), computed by hand.  Per
# breakpoint the remaining tiles
# that have it are sorted by (y, x) with 100 for a missing value; rects use
# x 0, y 0, w 1, h 1 when missing; each tile drops to y = 0 and jumps to the
# lowest bottom edge of whatever it overlaps until it overlaps nothing; y is
# written only when it differs (missing y counts as 0); other keys stay.

sub R { my ($x, $y, $w, $h, %more) = @_; return { x => $x, y => $y, w => $w, h => $h, %more } }

my @COMPACTION = (
    {   name   => 'a tile moves up into the freed space',
        tiles  => { A => { sm => R(0, 0, 6, 5) }, B => { sm => R(6, 0, 6, 3) }, C => { sm => R(0, 5, 6, 4) } },
        delete => 'A',
        expect => { A => { sm => R(0, 0, 6, 5) }, B => { sm => R(6, 0, 6, 3) }, C => { sm => R(0, 0, 6, 4) } },
    },
    {   name   => 'a tile stops under the tile it would overlap',
        tiles  => { A => { sm => R(0, 0, 12, 2) }, B => { sm => R(0, 2, 6, 4) }, C => { sm => R(0, 6, 6, 3) },
                    D => { sm => R(6, 2, 6, 2) } },
        delete => 'B',
        expect => { A => { sm => R(0, 0, 12, 2) }, B => { sm => R(0, 2, 6, 4) }, C => { sm => R(0, 2, 6, 3) },
                    D => { sm => R(6, 2, 6, 2) } },
    },
    {   name   => 'jumps past each overlapped tile in turn; a later tile may land above earlier ones',
        # sorted P(0,0) Q(2,0) R(9,3) S(12,8) T(20,0); Q: 0 -> P -> 2 (unchanged);
        # R: 0 -> P -> 2 -> Q -> 5; S (h 2) fits at 0 right of P, above Q;
        # T: 0 -> P and S -> 2 -> Q -> 5 -> R -> 6
        tiles  => { P => { sm => R(0, 0, 6, 2) }, Q => { sm => R(0, 2, 12, 3) }, R => { sm => R(3, 9, 2, 1) },
                    S => { sm => R(8, 12, 4, 2) }, T => { sm => R(0, 20, 12, 1) }, Z => { sm => R(0, 5, 12, 4) } },
        delete => 'Z',
        expect => { P => { sm => R(0, 0, 6, 2) }, Q => { sm => R(0, 2, 12, 3) }, R => { sm => R(3, 5, 2, 1) },
                    S => { sm => R(8, 0, 4, 2) }, T => { sm => R(0, 6, 12, 1) }, Z => { sm => R(0, 5, 12, 4) } },
    },
    {   name   => 'sort defaults 100, rect defaults 0/1, y written only when it differs',
        # sorted A (3,0), B (y missing: 100,0), E ({}: 100,100) -- sorting B by its
        # rect y (0) would place B first.  A -> 0; B (rect y 0) overlaps A -> 2,
        # written; E (1x1 at 0,0) -> A -> 2 -> B -> 4, written as its only key
        tiles  => { A => { sm => R(0, 3, 12, 2) }, B => { sm => { x => 0, w => 12, h => 2 } },
                    E => { sm => {} }, C => { sm => R(0, 0, 12, 3) } },
        delete => 'C',
        expect => { A => { sm => R(0, 0, 12, 2) }, B => { sm => { x => 0, y => 2, w => 12, h => 2 } },
                    E => { sm => { y => 4 } }, C => { sm => R(0, 0, 12, 3) } },
    },
    {   name   => 'each breakpoint on its own; tiles without it skipped; other keys kept',
        tiles  => { A => { sm => R(0, 0, 12, 2), xs => R(0, 0, 1, 2) },
                    B => { sm => R(0, 2, 6, 3, minH => 2), xs => R(0, 5, 1, 3) },
                    C => { sm => R(6, 2, 6, 3) },
                    D => { xs => R(0, 2, 1, 3, i => 'd') },
                    E => {} },
        delete => 'A',
        expect => { A => { sm => R(0, 0, 12, 2), xs => R(0, 0, 1, 2) },
                    B => { sm => R(0, 0, 6, 3, minH => 2), xs => R(0, 3, 1, 3) },
                    C => { sm => R(6, 0, 6, 3) },
                    D => { xs => R(0, 0, 1, 3, i => 'd') },
                    E => {} },
    },
    {   name   => 'soft-deleted tiles neither block nor move',
        tiles  => { Old => { sm => R(0, 0, 12, 10) }, A => { sm => R(0, 10, 6, 2) }, B => { sm => R(0, 12, 6, 2) },
                    C => { sm => R(6, 10, 6, 1) } },
        deleted => ['Old'],
        delete => 'A',
        expect => { Old => { sm => R(0, 0, 12, 10) }, A => { sm => R(0, 10, 6, 2) }, B => { sm => R(0, 0, 6, 2) },
                    C => { sm => R(6, 0, 6, 1) } },
    },
    {   name   => 'nothing to compact',
        tiles  => { A => { sm => R(0, 0, 6, 5) }, B => { sm => R(6, 0, 6, 5) } },
        delete => 'B',
        expect => { A => { sm => R(0, 0, 6, 5) }, B => { sm => R(6, 0, 6, 5) } },
    },
);

subtest 'delete_tile: compaction tables' => sub {
    for my $c (@COMPACTION) {
        my $d = $t->fixture_dashboard(team => $P, user => $U);
        my %id;
        my %dead = map { $_ => 1 } @{ $c->{deleted} // [] };
        for my $name (sort keys %{ $c->{tiles} }) {
            $id{$name} = $t->fixture_text_tile(dashboard => $d, body => $name, layouts => $c->{tiles}{$name},
                                                ($dead{$name} ? (deleted => 1) : ()));
        }
        my $r = act($d, 'delete_tile', { tile_id => $id{ $c->{delete} } });
        is $r->{status}, 204, "$c->{name}: 204" or diag $r->{raw};
        my %got = map { $_ => tile_row($id{$_})->{layouts} } keys %id;
        is_deeply \%got, $c->{expect}, "$c->{name}: layouts"
            or diag explain { got => \%got, want => $c->{expect} };
    }
};

subtest 'delete_tile: a failure midway leaves nothing' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $gone = $t->fixture_text_tile(dashboard => $d, body => 'top', layouts => { sm => R(0, 0, 12, 4) });
    my $mover = $t->fixture_text_tile(dashboard => $d, body => 'mover', color => 'boom', layouts => { sm => R(0, 4, 12, 2) });
    my $before = snapshot();
    boom_on($t);
    my $r = act($d, 'delete_tile', { tile_id => $gone });
    boom_off($t);
    answer_is $r, 500, $SERVER_ERROR, 'compaction fails after the soft delete';
    is_deeply snapshot(), $before, 'the tile is not deleted, no layout changed';
    is tile_row($gone)->{deleted}, $FALSE, 'tile still there';
};

done_testing;
