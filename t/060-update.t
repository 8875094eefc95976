#!/usr/bin/perl
# PUT / PATCH /api/projects/:id/dashboards/:id/ (PostHog's
# DashboardSerializer.update, tags, restriction levels)
#
# Every writable field, PUT, tags, the tiles array, soft delete and restore,
# restriction levels and collaborators, scopes, validation, and atomicity:
# a refused update leaves every row as it was.

use strict;
use warnings;
use utf8;
use Test::More;
use Encode ();
use Time::HiRes qw(sleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Ordered qw(okeys @DETAIL_KEYS @TILE_KEYS);
use Dash::Errors qw(verr $NOT_FOUND);

my $T = JSON::PP::true;
my $F = JSON::PP::false;
my $NO_EDIT = { type => 'authentication_error', code => 'permission_denied',
                detail => "You don't have edit permissions for this dashboard.", attr => undef };
my $NO_RESTRICT = { type => 'authentication_error', code => 'permission_denied',
                    detail => 'Only the dashboard owner and project admins have the restriction rights '
                            . "required to change the dashboard's restriction level.", attr => undef };

my $t = Dash->new;
my $w = $t->world;                      # org admin, key '*'
my $P = $w->{project};

sub patch {
    my ($id, $body, %o) = @_;
    my $project = delete $o{project} // $P;
    my $method = delete $o{method} // 'PATCH';
    return $t->api($method => "/api/projects/$project/dashboards/$id/", body => $body, %o);
}

sub dash {
    my (%o) = @_;
    my $team = delete $o{team} // $P;
    my $user = exists $o{user} ? delete $o{user} : $w->{user};
    return $t->fixture_dashboard(team => $team, user => $user, %o);
}

sub drow { $t->row(posthog_dashboard => $_[0]) }

sub tag_names {
    my ($dashboard) = @_;
    return [ map { $_->[0] } @{ $t->sql(q{SELECT tg.name FROM posthog_taggeditem ti
                                            JOIN posthog_tag tg ON tg.id = ti.tag_id
                                           WHERE ti.dashboard_id = $1 ORDER BY tg.name}, $dashboard) } ];
}

sub tag_exists { $t->sql_value('SELECT count(*) FROM posthog_tag WHERE team_id = $1 AND name = $2', $_[0], $_[1]) }

# a picture of every row a dashboard update may touch (one query)
sub snapshot {
    my ($id) = @_;
    my $json = $t->sql_value(q{
        SELECT json_build_object(
            'dashboard', (SELECT row_to_json(d) FROM posthog_dashboard d WHERE d.id = $1),
            'tags', (SELECT coalesce(json_agg(tg.name ORDER BY tg.name), '[]') FROM posthog_taggeditem ti
                       JOIN posthog_tag tg ON tg.id = ti.tag_id WHERE ti.dashboard_id = $1),
            'all_tags', (SELECT coalesce(json_agg(tg ORDER BY tg.id), '[]') FROM posthog_tag tg),
            'tiles', (SELECT coalesce(json_agg(t ORDER BY t.id), '[]') FROM posthog_dashboardtile t
                       WHERE t.dashboard_id = $1),
            'texts', (SELECT coalesce(json_agg(x ORDER BY x.id), '[]') FROM posthog_text x),
            'insights', (SELECT coalesce(json_agg(json_build_object('id', i.id, 'deleted', i.deleted,
                                                                    'name', i.name) ORDER BY i.id), '[]')
                           FROM posthog_dashboarditem i))}, $id);
    return json_decode(Encode::encode_utf8($json));
}

# --- fields ---------------------------------------------------------------------------

my $QF = $t->insert(posthog_quickfilter => { team_id => $P, name => 'Country' })->{id};

subtest 'PATCH each writable field' => sub {
    my $d = dash(name => 'Before', description => 'old', tags => ['keep']);
    my @cases = (
        [ name => 'After', 'After' ],
        [ name => undef, undef ],
        [ description => 'new description', 'new description' ],
        [ description => '', '' ],
        [ pinned => $T, $T ],
        [ pinned => $F, $F ],
        [ breakdown_colors => [ { breakdownValue => 'a', colorToken => 'preset-3' } ],
          [ { breakdownValue => 'a', colorToken => 'preset-3' } ] ],
        [ breakdown_colors => { any => 'json' }, { any => 'json' } ],
        [ data_color_theme_id => 5, 5 ],
        [ data_color_theme_id => undef, undef ],
        [ restriction_level => 37, 37 ],
        [ restriction_level => 21, 21 ],
        [ quick_filter_ids => [ uc $QF ], [$QF] ],
        [ quick_filter_ids => [], [] ],
    );
    for my $c (@cases) {
        my ($field, $value, $want) = @$c;
        my $label = "$field = " . JSON::PP->new->allow_nonref->canonical->encode($value);
        my $before = drow($d);
        my $r = patch($d, { $field => $value });
        is $r->{status}, 200, "$label: 200" or diag $r->{raw};
        is_deeply $r->{json}{$field}, $want, "$label: response";
        my $after = drow($d);
        is_deeply $after->{$field}, $want, "$label: row";
        is_deeply { %$after, $field => 'X' }, { %$before, $field => 'X' }, "$label: nothing else changed";
    }
    my $r = patch($d, { name => 'Keys' });
    is_deeply okeys($r->{raw}), \@DETAIL_KEYS, "response keys in DashboardSerializer's order";
    is_deeply $r->{json}{tags}, ['keep'], 'tags untouched when absent';

    $r = patch($d, { last_accessed_at => '2024-01-02T03:04:05.123Z',
                     last_refresh => '2024-02-03T04:05:06.5+00:00' });
    is $r->{status}, 200, 'timestamps: 200';
    is $r->{json}{last_accessed_at}, '2024-01-02T03:04:05.123000Z', 'last_accessed_at';
    is $r->{json}{last_refresh}, '2024-02-03T04:05:06.500000Z', 'last_refresh';
    is $t->sql_value(q{SELECT last_refresh = '2024-02-03 04:05:06.5+00' FROM posthog_dashboard WHERE id = $1}, $d),
        't', 'row last_refresh';
};

subtest 'filters and variables' => sub {
    my $d = dash(name => 'F', filters => { date_from => '-30d' }, variables => { a => { code => 'a' } });
    my $r = patch($d, { filters => { date_from => '-7d' } });
    is $r->{status}, 200, 'dict: 200';
    is_deeply [ @{ $r->{json} }{qw(filters persisted_filters)} ], [ { date_from => '-7d' }, { date_from => '-7d' } ],
        'response';
    is_deeply drow($d)->{filters}, { date_from => '-7d' }, 'row';

    $r = patch($d, { filters => {}, variables => {} });
    is $r->{status}, 200, '{}: 200';
    is_deeply drow($d)->{filters}, { date_from => '-7d' }, '{} cannot clear filters';
    is_deeply drow($d)->{variables}, { a => { code => 'a' } }, '{} cannot clear variables';

    $r = patch($d, { variables => { b => { code => 'b' } } });
    is_deeply $r->{json}{variables}, { b => { code => 'b' } }, 'variables replaced';
    is_deeply drow($d)->{variables}, { b => { code => 'b' } }, 'row';

    my $before = snapshot($d);
    for my $field (qw(filters variables)) {
        for my $bad ([1], 'abc', 7) {
            my $label = "$field " . JSON::PP->new->allow_nonref->encode($bad);
            $r = patch($d, { $field => $bad, name => 'Not saved' });
            is $r->{status}, 400, "$label: 400";
            is_deeply $r->{json}, verr('Filters must be a dictionary', undef), "$label: body";
        }
    }
    is_deeply snapshot($d), $before, 'rows unchanged';
};

subtest 'PUT updates the fields sent' => sub {
    my $d = dash(name => 'Put me', description => 'd', pinned => 1, tags => ['t1'],
                 filters => { date_from => '-1d' });
    my $before = drow($d);
    my $r = patch($d, { name => 'Put done', description => 'new' }, method => 'PUT');
    is $r->{status}, 200, 'PUT: 200' or diag $r->{raw};
    is_deeply okeys($r->{raw}), \@DETAIL_KEYS, 'detail keys';
    is_deeply [ @{ $r->{json} }{qw(name description pinned tags filters)} ],
        [ 'Put done', 'new', $T, ['t1'], { date_from => '-1d' } ], 'response';
    is_deeply drow($d), { %$before, name => 'Put done', description => 'new' }, 'only the sent fields changed';

    $r = patch($d, { tags => ['t2'], pinned => $F }, method => 'PUT');
    is $r->{status}, 200, 'PUT tags: 200';
    is_deeply tag_names($d), ['t2'], 'tags replaced';
    is drow($d)->{pinned}, $F, 'pinned';

    $r = patch($d, {}, method => 'PUT');
    is $r->{status}, 200, 'PUT {}: 200';
    is drow($d)->{name}, 'Put done', 'nothing changed';
};

subtest 'tags replace the set; orphan tags are deleted' => sub {
    my $d = dash(name => 'Tagged', tags => [qw(a b shared)]);
    my $e = dash(name => 'Other', tags => ['shared']);
    my $r = patch($d, { tags => [ 'B ', 'c', 'C' ] });
    is $r->{status}, 200, 'status';
    is_deeply $r->{json}{tags}, [qw(b c)], 'response: normalised, sorted';
    is_deeply tag_names($d), [qw(b c)], 'links';
    is tag_exists($P, 'a'), 0, 'orphan tag a deleted';
    is tag_exists($P, 'shared'), 1, 'tag still used elsewhere kept';
    is_deeply tag_names($e), ['shared'], 'other dashboard keeps its tag';
    is tag_exists($P, 'c'), 1, 'new tag created';
    is $t->sql_value(q{SELECT count(*) FROM posthog_tag WHERE team_id = $1 AND name = 'b'}, $P), 1, 'b once';

    $r = patch($d, { tags => [] });
    is_deeply $r->{json}{tags}, [], 'tags []';
    is_deeply tag_names($d), [], 'no links';
    is tag_exists($P, 'b') + tag_exists($P, 'c'), 0, 'b and c deleted';
};

# --- tiles ---------------------------------------------------------------------------------

subtest 'tiles: display fields of existing tiles' => sub {
    my $d = dash(name => 'Tiles');
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => 'one');
    my ($itile, $insight) = $t->fixture_insight_tile(dashboard => $d);
    my $other_insight = $t->fixture_insight(team => $P, user => $w->{user});
    my $layouts = { sm => { x => 0, y => 3, w => 12, h => 2 }, xs => { x => 0, y => 0, w => 1, h => 2 } };
    my $r = patch($d, { tiles => [
        { id => $tile, layouts => $layouts, color => 'blue', show_description => $T,
          transparent_background => $T, order => 9, is_cached => $T },
        { id => $itile, insight => { id => $other_insight }, color => 'green',
          filters_overrides => { date_from => '-3d' } },
    ] });
    is $r->{status}, 200, 'status' or diag $r->{raw};
    my $row = $t->row(posthog_dashboardtile => $tile);
    is_deeply [ @$row{qw(layouts color show_description transparent_background text_id deleted)} ],
        [ $layouts, 'blue', $T, $T, $text, $F ], 'text tile row';
    $row = $t->row(posthog_dashboardtile => $itile);
    is_deeply [ @$row{qw(color filters_overrides insight_id)} ], [ 'green', { date_from => '-3d' }, $insight ],
        'insight tile row; the insight in the payload is ignored';
    my %by = map { $_->{id} => $_ } @{ $r->{json}{tiles} };
    is $by{$tile}{color}, 'blue', 'response shows the new color';
    is_deeply $by{$tile}{layouts}, $layouts, 'and layouts';
    is_deeply okeys($r->{raw}, 'tiles', 0), \@TILE_KEYS, 'tile keys in order';

    my $e = dash(name => 'Elsewhere');
    my $foreign_tile = $t->fixture_text_tile(dashboard => $e, body => 'elsewhere', color => 'red');
    my $count = $t->sql_value('SELECT count(*) FROM posthog_dashboardtile');
    $r = patch($d, { tiles => [ { id => 99999999, color => 'red' }, { id => $foreign_tile, color => 'pink' },
                                { insight => { id => $other_insight } },
                                { insight => { id => $other_insight }, color => 'x' } ] });
    is $r->{status}, 200, 'unknown ids, tiles of other dashboards, insights: 200';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile'), $count, 'no tile inserted';
    is $t->row(posthog_dashboardtile => $foreign_tile)->{color}, 'red', 'tile of another dashboard untouched';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE insight_id = $1', $other_insight), 0,
        'insight not attached';

    $r = patch($d, { tiles => [ { id => $tile, deleted => $T } ] });
    is $t->row(posthog_dashboardtile => $tile)->{deleted}, $T, 'tile soft-deleted';
    is_deeply [ map { $_->{id} } @{ $r->{json}{tiles} } ], [$itile], 'and hidden';
    $r = patch($d, { tiles => [ { id => $tile, deleted => $F } ] });
    is $t->row(posthog_dashboardtile => $tile)->{deleted}, $F, 'soft-deleted tiles can be revived';
    is scalar @{ $r->{json}{tiles} }, 2, 'visible again';
};

subtest 'tiles: text tiles' => sub {
    my $d = dash(name => 'Texts');
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => 'old body',
                                              user => $t->fixture_user(org => $w->{org}));
    my $texts = $t->sql_value('SELECT count(*) FROM posthog_text');

    # new text tiles
    my $r = patch($d, { tiles => [ { text => { body => 'x' } },
                                   { text => { body => 'placed' }, layouts => { sm => { x => 0, y => 9, w => 6, h => 2 } },
                                     color => 'white' } ] });
    is $r->{status}, 200, 'new text tiles: 200' or diag $r->{raw};
    is $t->sql_value('SELECT count(*) FROM posthog_text'), $texts + 2, 'two posthog_text rows';
    my $new = $t->sql_row(q{SELECT x.*, t.id AS tile_id, t.layouts, t.color, t.dashboard_id, t.team_id AS tile_team
                              FROM posthog_text x JOIN posthog_dashboardtile t ON t.text_id = x.id
                             WHERE x.body = 'x'});
    ok $new, 'the new text is on a tile';
    is_deeply [ @{ $new // {} }{qw(dashboard_id team_id tile_team created_by_id last_modified_by_id layouts color)} ],
        [ $d, $P, $P, $w->{user}, undef, {}, undef ], 'rows: caller is the author, layouts {}';
    my $placed = $t->sql_row(q{SELECT t.layouts, t.color FROM posthog_text x
                                 JOIN posthog_dashboardtile t ON t.text_id = x.id WHERE x.body = 'placed'});
    is_deeply $placed, { layouts => { sm => { x => 0, y => 9, w => 6, h => 2 } }, color => 'white' },
        'display fields given with the new text are stored';
    my ($nt) = grep { $_->{text} && $_->{text}{body} eq 'x' } @{ $r->{json}{tiles} // [] };
    ok $nt, 'the response carries the new tile';
    is $nt && $nt->{text}{created_by}{id}, $w->{user}, 'response text created_by';

    # update an existing text's body
    $r = patch($d, { tiles => [ { id => $tile, text => { id => $text, body => 'new body' } } ] });
    is $r->{status}, 200, 'update body: 200' or diag $r->{raw};
    my $x = $t->row(posthog_text => $text);
    is $x->{body}, 'new body', 'body updated in place';
    is_deeply [ @$x{qw(created_by_id last_modified_by_id)} ], [ $w->{user}, undef ],
        'created_by = caller, last_modified_by NULL (no created_by in the payload)';
    is $t->row(posthog_dashboardtile => $tile)->{text_id}, $text, 'same text on the same tile';
    is $t->sql_value('SELECT count(*) FROM posthog_text'), $texts + 2, 'no new text row';
    my ($ut) = grep { $_->{id} == $tile } @{ $r->{json}{tiles} // [] };
    is $ut && $ut->{text}{body}, 'new body', 'response';

    # errors: a text of another team; a text of this team not on this dashboard
    my $other_project = $t->fixture_project(org => $w->{org});
    my $od = dash(team => $other_project, name => 'Other team');
    my (undef, $foreign_text) = $t->fixture_text_tile(dashboard => $od, body => 'foreign');
    my $e = dash(name => 'Sister');
    my (undef, $sister_text) = $t->fixture_text_tile(dashboard => $e, body => 'sister');
    my $before = snapshot($d);
    $r = patch($d, { tiles => [ { id => $tile, text => { id => $foreign_text, body => 'y' } } ] });
    is $r->{status}, 400, 'text of another team: 400';
    is_deeply $r->{json}, verr('Text tile not found in this team.', 'text'), 'body';
    is $t->row(posthog_text => $foreign_text)->{body}, 'foreign', 'foreign text untouched';

    $r = patch($d, { tiles => [ { text => { id => $sister_text, body => 'stolen' } } ] });
    is $r->{status}, 400, 'text not on this dashboard: 400';
    is_deeply $r->{json}, verr('Text tile not found.', 'text'), 'body';
    is $t->row(posthog_text => $sister_text)->{body}, 'sister', 'untouched';
    is_deeply snapshot($d), $before, 'rows unchanged';
};

subtest 'duplicate_tiles in PATCH deep-copies' => sub {
    my $d = dash(name => 'Dup tiles');
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => 'dup me', color => 'blue');
    my $r = patch($d, { duplicate_tiles => [ { id => $tile, layouts => { sm => { x => 6, y => 0, w => 6, h => 5 } } } ] });
    is $r->{status}, 200, 'status' or diag $r->{raw};
    my $rows = $t->sql_rows('SELECT * FROM posthog_dashboardtile WHERE dashboard_id = $1 ORDER BY id', $d);
    is scalar @$rows, 2, 'two tiles';
    isnt $rows->[1]{text_id}, $text, 'a new text';
    is $t->row(posthog_text => $rows->[1]{text_id})->{body}, 'dup me', 'same body';
    is_deeply $rows->[1]{layouts}, { sm => { x => 6, y => 0, w => 6, h => 5 } }, 'the given layouts';
    is $rows->[1]{color}, 'blue', 'color copied';
};

# --- soft delete and restore ---------------------------------------------------------------------

subtest 'deleted: true soft-deletes the dashboard and its tiles' => sub {
    my $d = dash(name => 'Doomed');
    my ($t1) = $t->fixture_text_tile(dashboard => $d);
    my ($t2, $i2) = $t->fixture_insight_tile(dashboard => $d);
    my ($t3) = $t->fixture_text_tile(dashboard => $d, deleted => 1);
    $t->sql('UPDATE posthog_team SET primary_dashboard_id = $1 WHERE id = $2', $d, $P);

    my $r = patch($d, { deleted => $T });
    is $r->{status}, 200, 'status 200';
    is $r->{json}{deleted}, $T, 'response deleted true';
    is drow($d)->{deleted}, $T, 'row deleted';
    is_deeply $r->{json}{tiles}, [], 'response: no tiles (all soft-deleted)';
    is_deeply [ map { $_->{deleted} } @{ $t->sql_rows('SELECT deleted FROM posthog_dashboardtile
                                                       WHERE dashboard_id = $1 ORDER BY id', $d) } ],
        [ $T, $T, $T ], 'every tile deleted';
    is $t->row(posthog_dashboarditem => $i2)->{deleted}, $F, 'insight kept without delete_insights';
    is $t->row(posthog_team => $P)->{primary_dashboard_id}, undef, 'primary_dashboard cleared';

    $r = $t->api(GET => "/api/projects/$P/dashboards/$d/");
    is $r->{status}, 404, 'GET: 404';
    my $list = $t->api(GET => "/api/projects/$P/dashboards/?limit=1000");
    ok !(grep { $_->{id} == $d } @{ $list->{json}{results} }), 'not listed';
};

subtest 'deleted: true with delete_insights' => sub {
    my $d = dash(name => 'Doomed 2');
    my $e = dash(name => 'Keeper');
    my $f = dash(name => 'Former');
    my ($ta, $only) = $t->fixture_insight_tile(dashboard => $d);
    my ($tb, $shared) = $t->fixture_insight_tile(dashboard => $d);
    $t->fixture_insight_tile(dashboard => $e, insight => $shared);
    my ($tc, $was_shared) = $t->fixture_insight_tile(dashboard => $d);
    $t->fixture_insight_tile(dashboard => $f, insight => $was_shared, deleted => 1);
    my (undef, $text) = $t->fixture_text_tile(dashboard => $d);

    my $r = patch($d, { deleted => $T, delete_insights => $T });
    is $r->{status}, 200, 'status 200';
    is $t->row(posthog_dashboarditem => $only)->{deleted}, $T, 'insight only on this dashboard: deleted';
    is $t->row(posthog_dashboarditem => $shared)->{deleted}, $F, 'insight also on another dashboard: kept';
    is $t->row(posthog_dashboarditem => $was_shared)->{deleted}, $T,
        'insight whose other tile is soft-deleted: deleted';
    ok $t->row(posthog_text => $text), 'text rows stay';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1 AND deleted', $e), 0,
        'tiles of the other dashboard untouched';
};

subtest 'deleted: false restores; otherwise a deleted dashboard is 404' => sub {
    my $d = dash(name => 'Phoenix');
    my ($t1) = $t->fixture_text_tile(dashboard => $d);
    my ($t2, $ins) = $t->fixture_insight_tile(dashboard => $d);
    is patch($d, { deleted => $T, delete_insights => $T })->{status}, 200, 'deleted first';
    is $t->row(posthog_dashboarditem => $ins)->{deleted}, $T, 'with its insight';

    my $before = snapshot($d);
    for my $c ([ { name => 'Renamed' }, 'name' ], [ { deleted => $T }, 'deleted: true' ], [ {}, '{}' ],
               [ { deleted => 'yes' }, 'deleted: "yes"' ]) {
        my $r = patch($d, $c->[0]);
        is $r->{status}, 404, "PATCH $c->[1]: 404";
        is_deeply $r->{json}, $NOT_FOUND, "PATCH $c->[1]: body";
    }
    my $r = patch($d, { name => 'Renamed' }, method => 'PUT');
    is $r->{status}, 404, 'PUT without deleted: false: 404';
    is_deeply snapshot($d), $before, 'nothing changed';

    $r = patch($d, { deleted => $F, name => 'Risen' });
    is $r->{status}, 200, 'deleted: false: 200' or diag $r->{raw};
    is_deeply [ @{ $r->{json} }{qw(deleted name)} ], [ $F, 'Risen' ], 'response';
    is_deeply [ @{ drow($d) }{qw(deleted name)} ], [ $F, 'Risen' ], 'row restored and renamed';
    is_deeply [ map { $_->{deleted} } @{ $t->sql_rows('SELECT deleted FROM posthog_dashboardtile
                                                       WHERE dashboard_id = $1 ORDER BY id', $d) } ],
        [ $F, $F ], 'tiles restored';
    is $t->row(posthog_dashboarditem => $ins)->{deleted}, $F, 'insight restored';
    is scalar @{ $r->{json}{tiles} }, 2, 'tiles in the response';
    my ($text_tile) = grep { $_->{text} } @{ $r->{json}{tiles} };
    is_deeply $text_tile->{text}{dashboard_tiles}, [ { id => $t1, dashboard_id => $d, deleted => $F } ],
        'text.dashboard_tiles lists the restored tile';
    is $t->api(GET => "/api/projects/$P/dashboards/$d/")->{status}, 200, 'GET: 200 again';

    my $d2 = dash(name => 'Phoenix 2', deleted => 1);
    $r = patch($d2, { deleted => 'false' });
    is $r->{status}, 200, 'deleted: "false" restores too';
    is drow($d2)->{deleted}, $F, 'row';
};

# --- permissions ----------------------------------------------------------------------------------------------

subtest 'restricted dashboards (advanced permissions)' => sub {
    my $adv = $t->world(no_default_key => 1,
        org => { available_product_features => [ { key => 'advanced_permissions', name => 'Advanced permissions' } ] });
    my $AP = $adv->{project};
    my %u = (creator => $t->fixture_user(org => $adv->{org}, level => 1),
             member  => $t->fixture_user(org => $adv->{org}, level => 1),
             editor  => $t->fixture_user(org => $adv->{org}, level => 1),
             viewer  => $t->fixture_user(org => $adv->{org}, level => 1));
    my %k = map { $_ => $t->fixture_key(user => $u{$_}) } keys %u;
    $k{admin} = $adv->{key};
    my $d = dash(team => $AP, user => $u{creator}, name => 'Locked', restriction_level => 37, tags => ['locked']);
    my ($tile) = $t->fixture_text_tile(dashboard => $d, body => 'secret');
    $t->insert(ee_dashboardprivilege => { dashboard_id => $d, user_id => $u{editor}, level => 37 });
    $t->insert(ee_dashboardprivilege => { dashboard_id => $d, user_id => $u{viewer}, level => 21 });

    my $before = snapshot($d);
    for my $who (qw(member viewer)) {
        for my $body ({ name => 'Hacked' }, { tags => ['pwned'] }, { deleted => $T },
                      { tiles => [ { id => $tile, color => 'red' } ] }, { tiles => [ { text => { body => 'x' } } ] }) {
            my $label = "$who " . JSON::PP->new->canonical->encode($body);
            my $r = patch($d, $body, project => $AP, key => $k{$who});
            is $r->{status}, 403, "$label: 403";
            is_deeply $r->{json}, $NO_EDIT, "$label: body";
        }
        my $r = patch($d, { name => 'Hacked' }, project => $AP, key => $k{$who}, method => 'PUT');
        is $r->{status}, 403, "$who PUT: 403";
    }
    is_deeply snapshot($d), $before, 'nothing changed';

    my $r = patch($d, { name => 'By editor', tiles => [ { id => $tile, color => 'teal' } ] },
                  project => $AP, key => $k{editor});
    is $r->{status}, 200, 'collaborator with edit privilege: 200' or diag $r->{raw};
    is drow($d)->{name}, 'By editor', 'row changed';
    is $t->row(posthog_dashboardtile => $tile)->{color}, 'teal', 'tile changed';
    is_deeply [ @{ $r->{json} }{qw(effective_restriction_level effective_privilege_level user_access_level)} ],
        [ 37, 37, 'editor' ], 'levels';

    $before = snapshot($d);
    for my $level (21, 37) {
        $r = patch($d, { restriction_level => $level, name => 'No' }, project => $AP, key => $k{editor});
        is $r->{status}, 403, "collaborator changing restriction_level to $level: 403";
        is_deeply $r->{json}, $NO_RESTRICT, 'body';
    }
    is_deeply snapshot($d), $before, 'nothing changed';

    $r = patch($d, { restriction_level => 21 }, project => $AP, key => $k{creator});
    is $r->{status}, 200, 'creator lowers the restriction';
    is drow($d)->{restriction_level}, 21, 'row';
    $r = patch($d, { restriction_level => 37 }, project => $AP, key => $k{admin});
    is $r->{status}, 200, 'an admin raises it again';
    is drow($d)->{restriction_level}, 37, 'row';

    my $open = dash(team => $AP, user => $u{creator}, name => 'Open');
    $r = patch($open, { name => 'Open edited' }, project => $AP, key => $k{member});
    is $r->{status}, 200, 'member edits an open dashboard';
    $r = patch($open, { restriction_level => 37 }, project => $AP, key => $k{member});
    is $r->{status}, 403, 'member restricting it: 403';
    is_deeply $r->{json}, $NO_RESTRICT, 'body';
    is drow($open)->{restriction_level}, 21, 'row unchanged';
    $r = patch($open, { restriction_level => 21 }, project => $AP, key => $k{member});
    is $r->{status}, 403, 'even to the same level: 403';
};

subtest 'restriction without the feature' => sub {
    my $creator = $t->fixture_user(org => $w->{org}, level => 1);
    my $member = $t->fixture_user(org => $w->{org}, level => 1);
    my $mkey = $t->fixture_key(user => $member);
    my $d = dash(user => $creator, name => 'Nominal lock', restriction_level => 37);
    my $r = patch($d, { name => 'Member edit' }, key => $mkey);
    is $r->{status}, 200, 'member edits a 37 dashboard when the org lacks the feature';
    is drow($d)->{name}, 'Member edit', 'row';
    $r = patch($d, { restriction_level => 21 }, key => $mkey);
    is $r->{status}, 403, 'but cannot change its restriction level';
    is_deeply $r->{json}, $NO_RESTRICT, 'body';
    is drow($d)->{restriction_level}, 37, 'row unchanged';
};

subtest 'scopes and access' => sub {
    my $d = dash(name => 'Scoped');
    my $before = snapshot($d);
    my $rkey = $t->fixture_key(user => $w->{user}, scopes => ['dashboard:read']);
    for my $method (qw(PATCH PUT)) {
        my $r = patch($d, { name => 'Read only' }, key => $rkey, method => $method);
        is $r->{status}, 403, "$method with a read-only key: 403";
        is_deeply $r->{json}, { type => 'authentication_error', code => 'permission_denied',
                                detail => "API key missing required scope 'dashboard:write'", attr => undef }, 'body';
    }
    $t->api(GET => "/api/projects/$P/dashboards/$d/");     # let anything still running finish
    sleep 0.3;
    is drow($d)->{name}, 'Scoped', 'read-only key: row unchanged';
    $before->{dashboard}{last_accessed_at} = drow($d)->{last_accessed_at};
    is_deeply snapshot($d), $before, 'read-only key: nothing changed';

    my $stranger = $t->fixture_user(org => $t->fixture_org, level => 8);
    my $r = patch($d, { name => 'Stranger' }, key => $t->fixture_key(user => $stranger));
    is $r->{status}, 403, 'not a member: 403';
    is_deeply $r->{json}, { type => 'authentication_error', code => 'permission_denied',
                            detail => "You don't have access to the project.", attr => undef }, 'body';

    my $sibling = $t->fixture_project(org => $w->{org});
    my $sd = dash(team => $sibling, name => 'Sibling');
    $r = patch($sd, { name => 'Wrong project' });
    is $r->{status}, 404, 'dashboard of another project: 404';
    is_deeply $r->{json}, $NOT_FOUND, 'body';
    is drow($sd)->{name}, 'Sibling', 'row unchanged';
    $r = patch(99999999, { name => 'x' });
    is $r->{status}, 404, 'nonexistent: 404';
};

# --- validation ------------------------------------------------------------------------------------------------

subtest 'validation errors leave the row unchanged' => sub {
    my $d = dash(name => 'Valid', tags => ['v']);
    my ($tile) = $t->fixture_text_tile(dashboard => $d, body => 'v');
    my $before = snapshot($d);
    my @cases = (
        [ { name => 'x' x 401 }, verr('Ensure this field has no more than 400 characters.', 'name', 'max_length') ],
        [ { pinned => 'maybe', name => 'No' }, verr('Must be a valid boolean.', 'pinned') ],
        [ { restriction_level => 30 }, verr('"30" is not a valid choice.', 'restriction_level', 'invalid_choice') ],
        [ { description => undef }, verr('This field may not be null.', 'description', 'null') ],
        [ { pinned => undef }, verr('This field may not be null.', 'pinned', 'null') ],
        [ { quick_filter_ids => ['nope'], name => 'No' }, verr('Invalid UUID: nope', 'quick_filter_ids') ],
        [ { quick_filter_ids => ['0b9f5c1e-5555-4aaa-8bbb-000000000005'], name => 'No' },
          verr('Quick filters not found: 0b9f5c1e-5555-4aaa-8bbb-000000000005', 'quick_filter_ids') ],
        [ { last_refresh => 'yesterday' },
          verr('Datetime has wrong format. Use one of these formats instead: '
               . 'YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].', 'last_refresh') ],
        [ { tags => 'abc' }, verr('Expected a list of items but got type "str".', 'tags', 'not_a_list') ],
        [ [1], verr('Invalid data. Expected a dictionary, but got list.', undef) ],
    );
    for my $c (@cases) {
        my $label = JSON::PP->new->canonical->encode($c->[0]);
        $label = substr($label, 0, 50) . '...' if length $label > 53;
        my $r = patch($d, $c->[0]);
        is $r->{status}, 400, "$label: 400";
        is_deeply $r->{json}, $c->[1], "$label: body";
    }
    is_deeply snapshot($d), $before, 'rows unchanged';

    # DRF's update(): get_object() (404, then the object permission 403) runs
    # before the serializer validates the body
    my $r = patch(99999999, { pinned => 'maybe' });
    is $r->{status}, 404, 'nonexistent dashboard with an invalid body: 404';
    is_deeply $r->{json}, $NOT_FOUND, 'body';
    my $adv_org = $t->fixture_org(available_product_features => [ { key => 'advanced_permissions' } ]);
    my $ap = $t->fixture_project(org => $adv_org);
    my $owner = $t->fixture_user(org => $adv_org, level => 1);
    my $member = $t->fixture_user(org => $adv_org, level => 1);
    my $locked = dash(team => $ap, user => $owner, name => 'Locked', restriction_level => 37);
    $r = patch($locked, { pinned => 'maybe' }, project => $ap, key => $t->fixture_key(user => $member));
    is $r->{status}, 403, 'no edit permission with an invalid body: 403';
    is_deeply $r->{json}, $NO_EDIT, 'body';
    # a deleted dashboard is looked up only for a false-ish "deleted"; null is not one
    my $gone = dash(name => 'Gone', deleted => 1);
    $r = patch($gone, { deleted => undef });
    is $r->{status}, 404, 'deleted dashboard, "deleted": null: 404';
    is_deeply $r->{json}, $NOT_FOUND, 'body';
};

subtest 'atomicity: a failing tiles part undoes the whole update' => sub {
    my $d = dash(name => 'Atomic', description => 'same', tags => [qw(one two)]);
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => 'stays');
    my $other_project = $t->fixture_project(org => $w->{org});
    my (undef, $foreign_text) = $t->fixture_text_tile(dashboard => dash(team => $other_project), body => 'foreign');
    my $before = snapshot($d);

    my $r = patch($d, { name => 'Changed', description => 'changed', pinned => $T, tags => ['newtag'],
                        filters => { date_from => '-1d' },
                        tiles => [ { id => $tile, color => 'red', text => { id => $text, body => 'changed' } },
                                   { text => { body => 'brand new' } },
                                   { text => { id => $foreign_text, body => 'y' } } ] });
    is $r->{status}, 400, 'status 400';
    is_deeply $r->{json}, verr('Text tile not found in this team.', 'text'), 'body';
    is_deeply snapshot($d), $before, 'dashboard, tags, tiles and texts all unchanged';
    is tag_exists($P, 'newtag'), 0, 'no newtag row';
    is $t->sql_value(q{SELECT count(*) FROM posthog_text WHERE body = 'brand new'}), 0, 'no new text';
    is_deeply tag_names($d), [qw(one two)], 'tags as before';

    $r = patch($d, { name => 'Changed', deleted => $T, tiles => [ { text => { id => $foreign_text } } ] });
    is $r->{status}, 400, 'delete + bad tile: 400';
    is drow($d)->{deleted}, $F, 'not deleted';
    is $t->row(posthog_dashboardtile => $tile)->{deleted}, $F, 'tiles not deleted';
};

done_testing;
