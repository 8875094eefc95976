#!/usr/bin/perl
# POST /api/projects/:id/dashboards/ (PostHog's DashboardSerializer.create)
#
# 201 with the detail shape, every writable field, tag normalisation,
# quick_filter_ids, the filters/variables quirk, use_dashboard (shared links
# and deep copies), use_template, validation errors, and that a refused
# create leaves no row behind.

use strict;
use warnings;
use utf8;
use Test::More;
use Time::HiRes qw(sleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Ordered qw(okeys @DETAIL_KEYS @USER_KEYS @TILE_KEYS);
use Dash::Errors qw(verr);

my $TS = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z$/;
my $T = JSON::PP::true;
my $F = JSON::PP::false;

my $t = Dash->new;
my $w = $t->world;                      # org admin, key '*'
my $P = $w->{project};
my $BASE = "/api/projects/$P/dashboards/";

sub create {
    my ($body, %o) = @_;
    my $project = delete $o{project} // $P;
    return $t->api(POST => "/api/projects/$project/dashboards/", (defined $body ? (body => $body) : ()), %o);
}

sub counts {
    return $t->sql_row(q{SELECT (SELECT count(*) FROM posthog_dashboard) AS dashboards,
                                (SELECT count(*) FROM posthog_tag) AS tags,
                                (SELECT count(*) FROM posthog_taggeditem) AS tagged,
                                (SELECT count(*) FROM posthog_dashboardtile) AS tiles,
                                (SELECT count(*) FROM posthog_text) AS texts,
                                (SELECT count(*) FROM posthog_dashboarditem) AS insights});
}

sub tag_names {
    my ($dashboard) = @_;
    return [ map { $_->[0] } @{ $t->sql(q{SELECT tg.name FROM posthog_taggeditem ti
                                            JOIN posthog_tag tg ON tg.id = ti.tag_id
                                           WHERE ti.dashboard_id = $1 ORDER BY tg.name}, $dashboard) } ];
}

my $me = $t->row(posthog_user => $w->{user});
my $ME = { id => $me->{id}, uuid => $me->{uuid}, distinct_id => $me->{distinct_id},
           first_name => $me->{first_name}, last_name => $me->{last_name}, email => $me->{email},
           is_email_verified => undef, hedgehog_config => undef, role_at_organization => undef };

# --- the simplest create ---------------------------------------------------------

subtest 'minimal create: 201 and the detail shape' => sub {
    my $r = create({ name => 'Growth' });
    is $r->{status}, 201, 'status 201';
    like $r->{content_type}, qr{^application/json}, 'JSON';
    is_deeply okeys($r->{raw}), \@DETAIL_KEYS, "keys in DashboardSerializer's order";
    is_deeply okeys($r->{raw}, 'created_by'), \@USER_KEYS, 'created_by keys in order';
    my $j = $r->{json};
    my $id = $j->{id};
    ok $id, 'id';
    like $j->{created_at}, $TS, 'created_at';
    is_deeply { %$j, created_at => 'X', id => 'X' }, {
        id => 'X', name => 'Growth', description => '', pinned => $F, created_at => 'X',
        created_by => $ME, last_accessed_at => undef, last_viewed_at => undef, is_shared => $F,
        deleted => $F, creation_mode => 'default', filters => {}, variables => {},
        breakdown_colors => [], data_color_theme_id => undef, tags => [], restriction_level => 21,
        effective_restriction_level => 21, effective_privilege_level => 37, user_access_level => 'manager',
        access_control_version => 'v2', last_refresh => undef, persisted_filters => undef,
        persisted_variables => undef, team_id => $P, quick_filter_ids => [], tiles => [],
        search_match_type => undef,
    }, 'values';

    my $row = $t->row(posthog_dashboard => $id);
    is_deeply { map { $_ => $row->{$_} } qw(name description team_id pinned created_by_id deleted filters
                                            variables breakdown_colors creation_mode restriction_level
                                            quick_filter_ids is_shared last_accessed_at last_refresh) },
        { name => 'Growth', description => '', team_id => $P, pinned => $F, created_by_id => $w->{user},
          deleted => $F, filters => {}, variables => {}, breakdown_colors => [], creation_mode => 'default',
          restriction_level => 21, quick_filter_ids => [], is_shared => $F, last_accessed_at => undef,
          last_refresh => undef }, 'row';
    ok $t->sql_value('SELECT abs(extract(epoch FROM now() - created_at)) < 60 FROM posthog_dashboard WHERE id = $1',
                     $id) eq 't', 'created_at is now';
    my $back = $t->api(GET => "$BASE$id/");
    is $back->{json}{created_at}, $j->{created_at}, 'created_at as stored';
};

subtest 'create without a body, or with {}' => sub {
    for my $body (undef, {}) {
        my $r = create($body);
        is $r->{status}, 201, (defined $body ? '{}' : 'no body') . ': 201';
        is $r->{json}{name}, undef, 'name null';
        is $r->{json}{description}, '', 'description ""';
        is $t->row(posthog_dashboard => $r->{json}{id})->{name}, undef, 'row name NULL';
    }
};

# --- writable fields -----------------------------------------------------------------

my $QF1 = $t->insert(posthog_quickfilter => { team_id => $P, name => 'Country' })->{id};
my $QF2 = $t->insert(posthog_quickfilter => { team_id => $P, name => 'Browser' })->{id};

subtest 'every writable field round-trips' => sub {
    # an existing tag of the team is reused, not duplicated
    my $old = $t->fixture_dashboard(team => $P, user => $w->{user}, tags => ['growth']);
    my $growth_tag = $t->sql_value(q{SELECT id FROM posthog_tag WHERE team_id = $1 AND name = 'growth'}, $P);
    my $before = counts();

    my $body = {
        name => 'Everything', description => 'All the fields', pinned => $T,
        tags => [ 'KPI ', ' kpi', 'Growth' ],
        breakdown_colors => [ { breakdownValue => 'Chrome', colorToken => 'preset-1' } ],
        restriction_level => 37,
        quick_filter_ids => [ uc $QF1, $QF2 ],
        filters => { date_from => '-7d', properties => [] },
        variables => { v1 => { code => 'x', variableId => 'abc' } },
    };
    my $r = create($body);
    is $r->{status}, 201, 'status 201' or diag $r->{raw};
    my $j = $r->{json};
    my $id = $j->{id};
    is_deeply okeys($r->{raw}), \@DETAIL_KEYS, 'keys in order';
    is $j->{name}, 'Everything', 'name';
    is $j->{description}, 'All the fields', 'description';
    is $j->{pinned}, $T, 'pinned';
    is_deeply $j->{tags}, [qw(growth kpi)], 'tags normalised: stripped, lower-cased, deduplicated, sorted';
    is_deeply $j->{breakdown_colors}, $body->{breakdown_colors}, 'breakdown_colors';
    is $j->{restriction_level}, 37, 'restriction_level';
    is $j->{access_control_version}, 'v1', 'access_control_version v1 above 21';
    is $j->{effective_restriction_level}, 21, 'effective 21 without the advanced permissions feature';
    is_deeply $j->{quick_filter_ids}, [ lc $QF1, $QF2 ], 'quick_filter_ids, canonical lower case';
    is_deeply $j->{filters}, $body->{filters}, 'filters';
    is_deeply $j->{persisted_filters}, $body->{filters}, 'persisted_filters';
    is_deeply $j->{variables}, $body->{variables}, 'variables';
    is_deeply $j->{persisted_variables}, $body->{variables}, 'persisted_variables';
    is $j->{creation_mode}, 'default', 'creation_mode default';
    is_deeply $j->{created_by}, $ME, 'created_by is the caller';

    my $row = $t->row(posthog_dashboard => $id);
    is_deeply { map { $_ => $row->{$_} } qw(name description pinned breakdown_colors restriction_level
                                            quick_filter_ids filters variables created_by_id creation_mode) },
        { name => 'Everything', description => 'All the fields', pinned => $T,
          breakdown_colors => $body->{breakdown_colors}, restriction_level => 37,
          quick_filter_ids => [ lc $QF1, $QF2 ], filters => $body->{filters}, variables => $body->{variables},
          created_by_id => $w->{user}, creation_mode => 'default' }, 'row';
    is_deeply tag_names($id), [qw(growth kpi)], 'posthog_taggeditem links';
    my $after = counts();
    is $after->{tags} - $before->{tags}, 1, 'one new posthog_tag row (kpi); growth reused';
    is $after->{tagged} - $before->{tagged}, 2, 'two posthog_taggeditem rows';
    is $t->sql_value(q{SELECT count(*) FROM posthog_tag WHERE team_id = $1 AND name = 'growth'}, $P), 1,
        'growth still once';
    is_deeply tag_names($old), ['growth'], 'the other dashboard keeps its tag';
    is $t->sql_value(q{SELECT tag_id FROM posthog_taggeditem WHERE dashboard_id = $1 AND tag_id = $2}, $id,
                     $growth_tag), $growth_tag, 'the existing tag row is linked';
    is $t->sql_value(q{SELECT team_id FROM posthog_tag WHERE name = 'kpi'}), $P, 'new tag in the team';

    my $g = $t->api(GET => "$BASE$id/");
    is_deeply [ @{ $g->{json} }{qw(name pinned tags quick_filter_ids filters variables breakdown_colors)} ],
        [ @$j{qw(name pinned tags quick_filter_ids filters variables breakdown_colors)} ], 'read back by GET';
};

subtest 'quick_filter_ids must exist in the team' => sub {
    my $before = counts();
    my $missing1 = '0b9f5c1e-1111-4aaa-8bbb-000000000001';
    my $missing2 = '0B9F5C1E-2222-4AAA-8BBB-000000000002';
    my $r = create({ name => 'QF', quick_filter_ids => [ $missing1, $QF1, $missing2 ] });
    is $r->{status}, 400, 'unknown ids: 400';
    is_deeply $r->{json}, verr('Quick filters not found: ' . $missing1 . ', ' . lc($missing2), 'quick_filter_ids'),
        'lists the missing ids (canonical form, given order)';

    my $other = $t->fixture_project(org => $w->{org});
    my $foreign = $t->insert(posthog_quickfilter => { team_id => $other })->{id};
    $r = create({ name => 'QF', quick_filter_ids => [$foreign] });
    is $r->{status}, 400, 'quick filter of another team: 400';
    is_deeply $r->{json}, verr("Quick filters not found: $foreign", 'quick_filter_ids'), 'body';

    $r = create({ name => 'QF', quick_filter_ids => ['not-a-uuid'] });
    is $r->{status}, 400, 'not a UUID: 400';
    is_deeply $r->{json}, verr('Invalid UUID: not-a-uuid', 'quick_filter_ids'), 'body';

    # ListField(child=CharField()): a number becomes a string, then fails as a UUID
    $r = create({ name => 'QF', quick_filter_ids => [5] });
    is $r->{status}, 400, 'a number: 400';
    is_deeply $r->{json}, verr('Invalid UUID: 5', 'quick_filter_ids'), 'body';

    is_deeply counts(), $before, 'nothing written by the refused creates';

    for my $v ([], undef) {
        $r = create({ name => 'QF ok', quick_filter_ids => $v });
        is $r->{status}, 201, (defined $v ? '[]' : 'null') . ': 201';
        is_deeply $r->{json}{quick_filter_ids}, [], 'quick_filter_ids []';
    }
    (my $bare = $QF2) =~ tr/-//d;
    $r = create({ name => 'QF hex', quick_filter_ids => [ uc $bare ] });
    is $r->{status}, 201, '32 hex digits accepted';
    is_deeply $r->{json}{quick_filter_ids}, [$QF2], 'normalised to the canonical form';
};

subtest 'filters and variables: {} ignored, dict stored, non-dict refused' => sub {
    my $r = create({ name => 'F0', filters => {}, variables => {} });
    is $r->{status}, 201, '{}: 201';
    is_deeply [ @{ $r->{json} }{qw(filters variables persisted_filters persisted_variables)} ],
        [ {}, {}, undef, undef ], '{}: empty, persisted null';
    is_deeply [ @{ $t->row(posthog_dashboard => $r->{json}{id}) }{qw(filters variables)} ], [ {}, {} ], 'row';

    for my $falsy ([], '', 0, undef, $F) {
        my $label = defined $falsy ? JSON::PP->new->allow_nonref->encode($falsy) : 'null';
        $r = create({ name => 'F falsy', filters => $falsy, variables => $falsy });
        is $r->{status}, 201, "falsy $label: ignored (201)";
        is_deeply [ @{ $r->{json} // {} }{qw(filters variables)} ], [ {}, {} ], "falsy $label: empty";
    }

    my $before = counts();
    for my $bad ([1], 'abc', 5, $T) {
        my $label = JSON::PP->new->allow_nonref->encode($bad);
        $r = create({ name => 'F bad', filters => $bad });
        is $r->{status}, 400, "filters $label: 400";
        is_deeply $r->{json}, verr('Filters must be a dictionary', undef), "filters $label: body";
        $r = create({ name => 'F bad', variables => $bad });
        is $r->{status}, 400, "variables $label: 400";
        is_deeply $r->{json}, verr('Filters must be a dictionary', undef), "variables $label: same message";
    }
    is_deeply counts(), $before, 'nothing written';
};

subtest 'field validation' => sub {
    my $before = counts();
    my @cases = (
        [ { name => 'x' x 401 }, verr('Ensure this field has no more than 400 characters.', 'name', 'max_length') ],
        [ { restriction_level => 30 }, verr('"30" is not a valid choice.', 'restriction_level', 'invalid_choice') ],
        [ { pinned => 'maybe' }, verr('Must be a valid boolean.', 'pinned') ],
        [ { description => undef }, verr('This field may not be null.', 'description', 'null') ],
        [ { tags => 'abc' }, verr('Expected a list of items but got type "str".', 'tags', 'not_a_list') ],
        [ [ 1, 2 ], verr('Invalid data. Expected a dictionary, but got list.', undef) ],
    );
    for my $c (@cases) {
        my $r = create($c->[0]);
        my $label = JSON::PP->new->canonical->encode($c->[0]);
        $label = substr($label, 0, 40) . '...' if length $label > 43;
        is $r->{status}, 400, "$label: 400";
        is_deeply $r->{json}, $c->[1], "$label: body";
    }
    my $r = create({ name => 'x' x 400, restriction_level => '37', pinned => 'true' });
    is $r->{status}, 201, '400 characters, "37", "true": accepted';
    is_deeply [ @{ $r->{json} }{qw(restriction_level pinned)} ], [ 37, $T ], 'coerced';
    is counts()->{dashboards}, $before->{dashboards} + 1, 'only that one row';
};

# --- use_dashboard ------------------------------------------------------------------------

my $SRC = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Source',
                                filters => { date_from => '-14d' }, variables => { v => { code => 'x' } },
                                breakdown_colors => [ { breakdownValue => 'a', colorToken => 'preset-2' } ],
                                quick_filter_ids => [ $QF1, '0b9f5c1e-3333-4aaa-8bbb-000000000003' ]);
my ($SRC_TEXT_TILE, $SRC_TEXT) = $t->fixture_text_tile(dashboard => $SRC, body => 'Hello',
                                                       layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } },
                                                       color => 'blue', show_description => 1);
my ($SRC_INS_TILE, $SRC_INSIGHT) = $t->fixture_insight_tile(dashboard => $SRC,
                                                            layouts => { sm => { x => 6, y => 0, w => 6, h => 5 } });
$t->sql('UPDATE posthog_dashboarditem SET name = $2 WHERE id = $1', $SRC_INSIGHT, 'Pageviews');
my ($SRC_DEL_TILE) = $t->fixture_text_tile(dashboard => $SRC, body => 'Gone', deleted => 1);

subtest 'use_dashboard: shared links' => sub {
    my $before = counts();
    my $r = create({ name => 'Copy', use_dashboard => $SRC });
    is $r->{status}, 201, 'status 201' or diag $r->{raw};
    my $j = $r->{json};
    my $id = $j->{id};
    is $j->{creation_mode}, 'duplicate', 'creation_mode duplicate';
    is_deeply $j->{filters}, { date_from => '-14d' }, 'filters copied';
    is_deeply $j->{variables}, { v => { code => 'x' } }, 'variables copied';
    is_deeply $j->{breakdown_colors}, [ { breakdownValue => 'a', colorToken => 'preset-2' } ], 'breakdown_colors copied';
    is_deeply $j->{quick_filter_ids}, [$QF1], 'quick filters that still exist';
    is scalar @{ $j->{tiles} }, 2, 'two tiles (the soft-deleted one not copied)';
    is_deeply okeys($r->{raw}, 'tiles', 0), \@TILE_KEYS, 'tile keys in order';

    my $tiles = $t->sql_rows(q{SELECT id, text_id, insight_id, layouts, color, show_description, deleted
                                 FROM posthog_dashboardtile WHERE dashboard_id = $1 ORDER BY id}, $id);
    is scalar @$tiles, 2, 'two tile rows';
    my ($text_tile) = grep { defined $_->{text_id} } @$tiles;
    my ($ins_tile) = grep { defined $_->{insight_id} } @$tiles;
    is $text_tile->{text_id}, $SRC_TEXT, 'text tile shares the text row';
    is $ins_tile->{insight_id}, $SRC_INSIGHT, 'insight tile shares the insight row';
    ok !(grep { $_->{id} == $SRC_TEXT_TILE || $_->{id} == $SRC_INS_TILE } @$tiles), 'new tile rows';
    is_deeply $text_tile->{layouts}, { sm => { x => 0, y => 0, w => 6, h => 5 } }, 'layouts copied';
    is $text_tile->{color}, 'blue', 'color copied';
    is $text_tile->{show_description}, $T, 'show_description copied';
    ok !$text_tile->{deleted}, 'not deleted';
    my $after = counts();
    is $after->{texts}, $before->{texts}, 'no new posthog_text row';
    is $after->{insights}, $before->{insights}, 'no new insight row';
    is $after->{tiles} - $before->{tiles}, 2, 'two new tile rows';
    is_deeply [ map { $_->{text} ? $_->{text}{id} : $_->{insight}{id} } @{ $j->{tiles} } ],
        [ $SRC_TEXT, $SRC_INSIGHT ], 'response tiles, sorted by layout';
    is_deeply [ map { $_->{order} } @{ $j->{tiles} } ], [ 0, 1 ], 'order';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1', $SRC), 3,
        'source tiles untouched';

    $r = create({ name => 'Copy 2', use_dashboard => $SRC, filters => { date_from => '-1d' } });
    is $r->{status}, 201, 'with filters: 201';
    is_deeply $r->{json}{filters}, { date_from => '-1d' }, 'truthy body filters win over the source';
    $r = create({ name => 'Copy 3', use_dashboard => "$SRC", duplicate_tiles => $F });
    is $r->{status}, 201, 'use_dashboard as a string, duplicate_tiles false: 201';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1 AND text_id = $2',
                     $r->{json}{id}, $SRC_TEXT), 1, 'shared link again';
};

subtest 'use_dashboard with duplicate_tiles: deep copies' => sub {
    my $before = counts();
    my $r = create({ name => 'Deep', use_dashboard => $SRC, duplicate_tiles => $T });
    is $r->{status}, 201, 'status 201' or diag $r->{raw};
    my $id = $r->{json}{id};
    my $tiles = $t->sql_rows(q{SELECT id, text_id, insight_id, layouts, color FROM posthog_dashboardtile
                                WHERE dashboard_id = $1 ORDER BY id}, $id);
    is scalar @$tiles, 2, 'two tiles';
    my ($text_tile) = grep { defined $_->{text_id} } @$tiles;
    my ($ins_tile) = grep { defined $_->{insight_id} } @$tiles;
    isnt $text_tile->{text_id}, $SRC_TEXT, 'a new text row';
    is $t->row(posthog_text => $text_tile->{text_id})->{body}, 'Hello', 'with the same body';
    isnt $ins_tile->{insight_id}, $SRC_INSIGHT, 'a new insight row';
    is $t->row(posthog_dashboarditem => $ins_tile->{insight_id})->{name}, 'Pageviews (Copy)', 'named "(Copy)"';
    is_deeply $ins_tile->{layouts}, { sm => { x => 6, y => 0, w => 6, h => 5 } }, 'layouts copied';
    is $text_tile->{color}, 'blue', 'color copied';
    my $after = counts();
    is $after->{texts} - $before->{texts}, 1, 'one new posthog_text';
    is $after->{insights} - $before->{insights}, 1, 'one new insight';
    is $t->row(posthog_text => $SRC_TEXT)->{body}, 'Hello', 'source text untouched';

    $r = create({ name => 'Deep 2', use_dashboard => $SRC, duplicate_tiles => 'yes' });
    is $r->{status}, 201, 'duplicate_tiles truthy string';
    isnt $t->sql_value('SELECT text_id FROM posthog_dashboardtile WHERE dashboard_id = $1 AND text_id IS NOT NULL',
                       $r->{json}{id}), $SRC_TEXT, 'deep copy';
};

subtest 'use_dashboard refused' => sub {
    my $other = $t->fixture_project(org => $w->{org});
    my $foreign = $t->fixture_dashboard(team => $other, user => $w->{user}, name => 'Foreign');
    my $deleted = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Deleted', deleted => 1);
    my $before = counts();
    for my $c ([ $foreign, 'another project' ], [ $deleted, 'a deleted dashboard' ], [ 999999, 'nonexistent' ]) {
        my $r = create({ name => 'Bad copy', use_dashboard => $c->[0], tags => ['ghost'] });
        is $r->{status}, 400, "$c->[1]: 400";
        is_deeply $r->{json}, verr('Invalid value provided', 'use_dashboard'), "$c->[1]: body";
    }
    my $r = create({ name => 'Both', use_dashboard => $SRC, use_template => 'x' });
    is $r->{status}, 400, 'use_dashboard and use_template: 400';
    is_deeply $r->{json}, verr('`use_dashboard` and `use_template` cannot be used together', undef), 'body';
    is_deeply counts(), $before, 'nothing written';
    is $t->sql_value(q{SELECT count(*) FROM posthog_tag WHERE name = 'ghost'}), 0, 'no tag row';

    my $env = $t->fixture_team(project => $P);
    my $in_env = $t->fixture_dashboard(team => $env, user => $w->{user}, name => 'Env source');
    $r = create({ name => 'From env', use_dashboard => $in_env });
    is $r->{status}, 201, 'source in another environment of the project: 201';
};

subtest 'use_template' => sub {
    my $before = counts();
    my $r = create({ name => 'T', use_template => 'nope', tags => ['ghost2'] });
    is $r->{status}, 400, 'unknown template: 400';
    is_deeply $r->{json}, verr('Invalid template provided: nope', 'use_template'), 'body';
    is_deeply counts(), $before, 'no dashboard, no tag, no tile left behind';
    is $t->sql_value(q{SELECT count(*) FROM posthog_dashboard WHERE name = 'T'}), 0, 'no row named T';
    $r = create({ name => 'T2', use_template => '' });
    is $r->{status}, 201, 'empty use_template: ignored';
    is $r->{json}{creation_mode}, 'default', 'creation_mode default';
};

subtest 'a refused create leaves nothing behind' => sub {
    my $before = counts();
    my $r = create({ name => 'Ghost', tags => [ 'ghosttag', 'kpi' ],
                     quick_filter_ids => ['0b9f5c1e-4444-4aaa-8bbb-000000000004'] });
    is $r->{status}, 400, 'bad quick filter: 400';
    is_deeply counts(), $before, 'no dashboard, tag or tagged item';
    is $t->sql_value(q{SELECT count(*) FROM posthog_dashboard WHERE name = 'Ghost'}), 0, 'no Ghost';
    is $t->sql_value(q{SELECT count(*) FROM posthog_tag WHERE name = 'ghosttag'}), 0, 'no ghosttag';
};

# --- who may create --------------------------------------------------------------------------

subtest 'permissions' => sub {
    my $member = $t->fixture_user(org => $w->{org}, level => 1);
    my $mkey = $t->fixture_key(user => $member);
    my $r = create({ name => 'By member' }, key => $mkey);
    is $r->{status}, 201, 'a plain member can create';
    is $r->{json}{created_by}{id}, $member, 'created_by is the member';
    is $r->{json}{user_access_level}, 'manager', 'creator is manager';
    is $t->row(posthog_dashboard => $r->{json}{id})->{created_by_id}, $member, 'row created_by_id';

    my $before = counts();
    my $rkey = $t->fixture_key(user => $w->{user}, scopes => ['dashboard:read']);
    $r = create({ name => 'Read only' }, key => $rkey);
    is $r->{status}, 403, 'read-only key: 403';
    is_deeply $r->{json}, { type => 'authentication_error', code => 'permission_denied',
                            detail => "API key missing required scope 'dashboard:write'", attr => undef }, 'body';
    $t->api(GET => $BASE);                       # let anything still running finish
    sleep 0.3;
    is $t->sql_value(q{SELECT count(*) FROM posthog_dashboard WHERE name = 'Read only'}), 0,
        'read-only key: no dashboard created';

    my $stranger = $t->fixture_user(org => $t->fixture_org, level => 8);
    my $skey = $t->fixture_key(user => $stranger);
    $r = create({ name => 'Stranger' }, key => $skey);
    is $r->{status}, 403, 'not a member of the organization: 403';
    is_deeply $r->{json}, { type => 'authentication_error', code => 'permission_denied',
                            detail => "You don't have access to the project.", attr => undef }, 'body';

    $r = create({ name => 'Nowhere' }, project => 999999);
    is $r->{status}, 404, 'unknown project: 404';
    is_deeply $r->{json}, { type => 'invalid_request', code => 'not_found', detail => 'Project not found.',
                            attr => undef }, 'body';
    # permission classes (and the project lookup) run before the serializer
    $r = create({ pinned => 'maybe' }, project => 999999);
    is $r->{status}, 404, 'unknown project with an invalid body: still 404';
    $r = create({ pinned => 'maybe' }, key => $skey);
    is $r->{status}, 403, 'no access with an invalid body: still 403';
    is_deeply counts(), $before, 'nothing written';
};

done_testing;
