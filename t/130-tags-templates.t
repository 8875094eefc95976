#!/usr/bin/perl
# Collection actions without a declared scope in PostHog (its
# bulk_update_tags, create_from_template_json and create_unlisted_dashboard;
# README.md "Differences from PostHog"; doc/CONTRACT.md "Tile actions, tags
# and templates"), and use_template on create:
#
#   POST {base}/bulk_update_tags/           200 {"updated", "skipped"}
#   POST {base}/create_from_template_json/  200 with the detail
#   POST {base}/create_unlisted_dashboard/  201 with the detail, 409, {"error"} 400s
#
# Accepted with dashboard:write here; "dashboards_session_only_actions on"
# restores PostHog's 403 for personal API keys.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Actions qw(advanced_world dashboard_action permission_fixtures);
use Dash::Errors qw(verr denied answer_is $SERVER_ERROR);

my $t = Dash->new;
my $w = advanced_world($t);
my $P = $w->{project};
my $U = $w->{user};

# ---------------------------------------------------------------------------
# helpers

my $TRUE = JSON::PP::true;
my $FALSE = JSON::PP::false;
my $SESSION_ONLY = { type => 'authentication_error', code => 'permission_denied',
                     detail => 'This action does not support personal API key access', attr => undef };

# POST {base}/:action/ ; project => other project id
sub collection { dashboard_action($t, $P, POST => undef, @_) }
sub bulk     { collection('bulk_update_tags', @_) }
sub from_json { collection('create_from_template_json', @_) }
sub unlisted { collection('create_unlisted_dashboard', @_) }

sub snapshot { $t->snapshot(qw(posthog_dashboard posthog_dashboardtile posthog_text posthog_dashboarditem
                                 posthog_tag posthog_taggeditem)) }

sub tags_of {
    return [ map { $_->[0] } @{ $t->sql(q{SELECT tg.name FROM posthog_taggeditem ti JOIN posthog_tag tg ON tg.id = ti.tag_id
                                          WHERE ti.dashboard_id = $1 ORDER BY tg.name}, $_[0]) } ];
}

sub team_tags {
    return [ map { $_->[0] } @{ $t->sql('SELECT name FROM posthog_tag WHERE team_id = $1 ORDER BY name', $_[0]) } ];
}

# the answer is the detail of dashboard $d (GET writes last_accessed_at)
sub is_detail_of {
    my ($r, $d, $name, $project) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $g = $t->api(GET => '/api/projects/' . ($project // $P) . "/dashboards/$d/");
    my %a = %{ $r->{json} // {} };
    my %b = %{ $g->{json} // {} };
    delete $a{last_accessed_at};
    delete $b{last_accessed_at};
    is_deeply \%a, \%b, "$name: the dashboard detail";
}

sub unlisted_count {
    my ($team, $tag) = @_;
    return $t->sql_value(q{SELECT count(*) FROM posthog_dashboard d
                            WHERE d.team_id = $1 AND d.creation_mode = 'unlisted' AND NOT d.deleted
                              AND EXISTS (SELECT 1 FROM posthog_taggeditem ti JOIN posthog_tag tg ON tg.id = ti.tag_id
                                           WHERE ti.dashboard_id = d.id AND tg.name = $2)}, $team, $tag);
}

# a seeded template by tag, decoded
sub template_by_tag {
    return $t->sql_row(q{SELECT template_name, dashboard_description, dashboard_filters, tiles, tags
                           FROM posthog_dashboardtemplate WHERE $1 = ANY (tags) AND deleted IS NOT TRUE
                          ORDER BY created_at, id LIMIT 1}, $_[0]);
}

# the kinds and layouts of a list of tiles, order-free
sub tile_shapes {
    my ($tiles, $from_template) = @_;
    return [ sort map { $Dash::JSON->encode([ $from_template ? $_->{type} : ($_->{insight} ? 'INSIGHT' : 'TEXT'),
                                               $_->{layouts} // {} ]) } @$tiles ];
}

my %f = permission_fixtures($t, $w, write_key => 1, u3 => 0);
my ($member, $member_key, $read_key, $write_key, $P2, $scoped_key, $org3, $P3, $ENV2) =
    @f{qw(member member_key read_key write_key P2 scoped_key org3 P3 ENV2)};

# ===========================================================================
# bulk_update_tags

subtest 'bulk_update_tags: add, normalised, sorted' => sub {
    my $d1 = $t->fixture_dashboard(team => $P, user => $U, tags => ['a']);
    my $d2 = $t->fixture_dashboard(team => $P, user => $U);
    my $d3 = $t->fixture_dashboard(team => $P, user => $U, tags => [qw(c b)]);
    my $r = bulk({ ids => [ $d1, $d2, $d3 ], action => 'add', tags => [ ' New ', 'A', 'zeta', 'new' ] });
    answer_is $r, 200, { updated => [ { id => $d1, tags => [qw(a new zeta)] },
                                      { id => $d2, tags => [qw(a new zeta)] },
                                      { id => $d3, tags => [qw(a b c new zeta)] } ],
                         skipped => [] }, 'add';
    is_deeply [ map { tags_of($_) } $d1, $d2, $d3 ], [ [qw(a new zeta)], [qw(a new zeta)], [qw(a b c new zeta)] ], 'rows';
    is_deeply team_tags($P), [qw(a b c new zeta)], 'one posthog_tag row per name';

    $r = bulk({ ids => [ $d1 ], action => 'add', tags => ['zeta'] });
    answer_is $r, 200, { updated => [ { id => $d1, tags => [qw(a new zeta)] } ], skipped => [] }, 'adding a tag it has';
    is $t->sql_value('SELECT count(*) FROM posthog_taggeditem WHERE dashboard_id = $1', $d1), 3, 'no duplicate link';
};

subtest 'bulk_update_tags: remove and set' => sub {
    my $d1 = $t->fixture_dashboard(team => $P, user => $U, tags => [qw(keep drop1 drop2)]);
    my $d2 = $t->fixture_dashboard(team => $P, user => $U, tags => [qw(drop1)]);
    my $r = bulk({ ids => [ $d1, $d2 ], action => 'remove', tags => [ ' DROP1', 'drop2', 'never-there' ] });
    answer_is $r, 200, { updated => [ { id => $d1, tags => ['keep'] }, { id => $d2, tags => [] } ], skipped => [] }, 'remove';
    is_deeply [ tags_of($d1), tags_of($d2) ], [ ['keep'], [] ], 'rows';

    $r = bulk({ ids => [ $d1, $d2 ], action => 'set', tags => [ ' Y ', 'x', 'y' ] });
    answer_is $r, 200, { updated => [ { id => $d1, tags => [qw(x y)] }, { id => $d2, tags => [qw(x y)] } ], skipped => [] }, 'set';
    is_deeply [ tags_of($d1), tags_of($d2) ], [ [qw(x y)], [qw(x y)] ], 'rows: the old tags are gone';

    $r = bulk({ ids => [ $d2 ], action => 'set', tags => [] });
    answer_is $r, 200, { updated => [ { id => $d2, tags => [] } ], skipped => [] }, 'set to nothing';
    is_deeply tags_of($d2), [], 'no tags left';
};

subtest 'bulk_update_tags: orphan tags are cleaned up' => sub {
    my $p = $t->fixture_project(org => $w->{org});
    my $e1 = $t->fixture_dashboard(team => $p, user => $U, tags => [qw(solo shared)]);
    my $e2 = $t->fixture_dashboard(team => $p, user => $U, tags => [qw(shared)]);
    my $ins = $t->fixture_insight(team => $p, user => $U);
    $t->fixture_tag(team => $p, name => 'on-insight', insight => $ins);
    $t->fixture_tag(team => $p, name => 'unused');                         # an orphan already
    $t->fixture_tag(team => $P2, name => 'solo');                          # another team's orphan
    my $r = bulk({ ids => [ $e1 ], action => 'remove', tags => [qw(solo shared)] }, project => $p);
    answer_is $r, 200, { updated => [ { id => $e1, tags => [] } ], skipped => [] }, 'remove';
    is_deeply team_tags($p), [qw(on-insight shared)], "the team's unused tags are deleted, used ones kept";
    is_deeply team_tags($P2), ['solo'], "another team's tags untouched";
};

subtest 'bulk_update_tags: skipped (Not found, Permission denied)' => sub {
    my $ok = $t->fixture_dashboard(team => $P, user => $U, tags => ['t0']);
    my $env = $t->fixture_dashboard(team => $ENV2, user => $U);              # other environment, same project
    my $locked = $t->fixture_dashboard(team => $P, user => $U, restriction_level => 37, tags => ['t0']);
    my $dead = $t->fixture_dashboard(team => $P, user => $U, deleted => 1, tags => ['t0']);
    my $far = $t->fixture_dashboard(team => $P2, user => $U, tags => ['t0']);
    my $before = { map { $_ => tags_of($_) } $locked, $dead, $far };

    my $r = bulk({ ids => [ $ok, $env, $locked, $dead, $far, 999999 ], action => 'add', tags => ['m'] },
                 key => $member_key);
    is $r->{status}, 200, 'status 200' or diag $r->{raw};
    is_deeply $r->{json}{updated}, [ { id => $ok, tags => [qw(m t0)] }, { id => $env, tags => ['m'] } ], 'updated';
    # PostHog fixes no order for skipped: compared by id
    is_deeply [ sort { $a->{id} <=> $b->{id} } @{ $r->{json}{skipped} // [] } ],
        [ { id => $locked, reason => 'Permission denied' }, { id => $dead, reason => 'Not found' },
          { id => $far, reason => 'Not found' }, { id => 999999, reason => 'Not found' } ], 'skipped';
    is_deeply [ sort keys %{ $r->{json} } ], [qw(skipped updated)], 'two keys';
    is_deeply { map { $_ => tags_of($_) } $locked, $dead, $far }, $before, 'skipped dashboards keep their tags';
    is_deeply tags_of($ok), [qw(m t0)], 'row updated';
    is $t->sql_value(q{SELECT tg.team_id FROM posthog_taggeditem ti JOIN posthog_tag tg ON tg.id = ti.tag_id
                        WHERE ti.dashboard_id = $1}, $env), $ENV2, "the tag belongs to the dashboard's team";

    $r = bulk({ ids => [ $locked ], action => 'add', tags => ['m'] });
    answer_is $r, 200, { updated => [ { id => $locked, tags => [qw(m t0)] } ], skipped => [] },
        'the organization admin may tag the restricted dashboard';
    $t->insert(ee_dashboardprivilege => { dashboard_id => $locked, user_id => $member, level => 37 });
    $r = bulk({ ids => [ $locked ], action => 'remove', tags => ['m'] }, key => $member_key);
    answer_is $r, 200, { updated => [ { id => $locked, tags => ['t0'] } ], skipped => [] },
        'so may a collaborator with privilege 37';
};

subtest 'bulk_update_tags: validation errors and limits' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U, tags => ['v']);
    my $before = snapshot();
    my @cases = (
        [ {}, verr('This field is required.', 'ids', 'required'), 'empty body' ],
        [ { ids => [], action => 'add', tags => ['x'] },
          verr('Ensure this field has at least 1 elements.', 'ids', 'min_length'), 'no ids' ],
        [ { ids => [ 1 .. 501 ], action => 'add', tags => ['x'] },
          verr('Ensure this field has no more than 500 elements.', 'ids', 'max_length'), '501 ids' ],
        [ { ids => [ $d, 'x' ], action => 'add', tags => ['x'] }, verr('A valid integer is required.', 'ids__1'), 'a non-integer id' ],
        [ { ids => $d, action => 'add', tags => ['x'] },
          verr('Expected a list of items but got type "int".', 'ids', 'not_a_list'), 'ids not a list' ],
        [ { ids => [ $d ], tags => ['x'] }, verr('This field is required.', 'action', 'required'), 'no action' ],
        [ { ids => [ $d ], action => 'merge', tags => ['x'] }, verr('"merge" is not a valid choice.', 'action', 'invalid_choice'),
          'unknown action' ],
        [ { ids => [ $d ], action => 'add', tags => 'x' },
          verr('Expected a list of items but got type "str".', 'tags', 'not_a_list'), 'tags not a list' ],
        [ { ids => [ $d ], action => 'add' }, verr("tags must not be empty for action 'add'.", 'tags'), 'add without tags' ],
        [ { ids => [ $d ], action => 'add', tags => [] }, verr("tags must not be empty for action 'add'.", 'tags'), 'add, empty tags' ],
        [ { ids => [ $d ], action => 'remove', tags => [] }, verr("tags must not be empty for action 'remove'.", 'tags'),
          'remove, empty tags' ],
    );
    for my $c (@cases) {
        answer_is bulk($c->[0]), 400, $c->[1], $c->[2];
    }
    is_deeply snapshot(), $before, 'nothing changed';

    # 500 ids is the limit
    my @ids = ($d, 1_000_001 .. 1_000_499);
    my $r = bulk({ ids => \@ids, action => 'add', tags => ['five-hundred'] });
    is $r->{status}, 200, '500 ids: 200' or diag substr($r->{raw}, 0, 300);
    is_deeply $r->{json}{updated}, [ { id => $d, tags => [qw(five-hundred v)] } ], 'the one that exists is updated';
    is scalar(@{ $r->{json}{skipped} // [] }), 499, 'the others skipped';
    is scalar(grep { $_->{reason} eq 'Not found' } @{ $r->{json}{skipped} // [] }), 499, 'as Not found';
};

subtest 'bulk_update_tags: permissions' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U, tags => ['p']);
    my $d3 = $t->fixture_dashboard(team => $P3, user => $t->fixture_user(org => $org3, level => 8));
    my $before = snapshot();
    answer_is bulk({ ids => [ $d ], action => 'add', tags => ['x'] }, key => $read_key), 403,
        denied("API key missing required scope 'dashboard:write'"), 'read-only key';
    answer_is bulk({ ids => [ $d ], action => 'add', tags => ['x'] }, key => $scoped_key), 403,
        denied("API key does not have access to the requested project: ID $P."), 'key scoped to another project';
    answer_is bulk({ ids => [ $d3 ], action => 'add', tags => ['x'] }, project => $P3), 403,
        denied("You don't have access to the project."), 'project of another organization';
    answer_is bulk({ ids => [ $d ], action => 'add', tags => ['x'] }, project => 999999), 404,
        { type => 'invalid_request', code => 'not_found', detail => 'Project not found.', attr => undef }, 'no such project';
    is_deeply snapshot(), $before, 'the refusals changed nothing';
    my $r = bulk({ ids => [ $d ], action => 'add', tags => ['w'] }, key => $write_key);
    answer_is $r, 200, { updated => [ { id => $d, tags => [qw(p w)] } ], skipped => [] }, 'a dashboard:write key is enough';
};

subtest 'bulk_update_tags: a failure midway leaves nothing' => sub {
    my @d = map { $t->fixture_dashboard(team => $P, user => $U, tags => ['mid']) } 1 .. 3;
    $t->failing_trigger(test_boom_tag => "NEW.dashboard_id = $d[2]");
    my $before = snapshot();
    $t->trigger_on(test_boom_tag => 'posthog_taggeditem', 'INSERT');
    my $r = bulk({ ids => \@d, action => 'set', tags => [qw(brand-new other)] });
    $t->trigger_off(test_boom_tag => 'posthog_taggeditem');
    answer_is $r, 500, $SERVER_ERROR, 'the third dashboard cannot be tagged';
    is_deeply snapshot(), $before, 'the first two keep their tags, no tag created';
};

# ===========================================================================
# create_from_template_json

sub template_json {
    return {
        template_name => 'From JSON', dashboard_description => 'made from json',
        dashboard_filters => { date_from => '-14d' }, tags => [qw(json-tag second)], variables => [],
        tiles => [
            { type => 'TEXT', body => '# Hello', layouts => { sm => { x => 0, y => 0, w => 12, h => 1 } }, color => 'blue' },
            { type => 'INSIGHT', name => 'Pageviews', description => 'pv',
              query => { kind => 'InsightVizNode',
                         source => { kind => 'TrendsQuery', series => [ { kind => 'EventsNode', event => '$pageview' } ] } },
              layouts => { sm => { x => 0, y => 1, w => 6, h => 5 } }, color => undef },
            { type => 'INSIGHT', name => 'Legacy', description => 'old style',
              filters => { insight => 'TRENDS', events => [ { id => '$pageview' } ] },
              layouts => { sm => { x => 6, y => 1, w => 6, h => 5 } } },
        ],
        @_,
    };
}

subtest 'create_from_template_json: 200, the dashboard, tiles, tags, filters' => sub {
    my $r = from_json({ template => template_json(), creation_context => 'onboarding' });
    is $r->{status}, 200, 'status 200 (not 201)' or diag $r->{raw};
    my $j = $r->{json};
    my $d = $j->{id};
    ok $d, 'a dashboard id';
    is_detail_of $r, $d, 'answer';
    is_deeply { map { $_ => $j->{$_} } qw(name description filters tags creation_mode) },
        { name => 'From JSON', description => 'made from json', filters => { date_from => '-14d' },
          tags => [qw(json-tag second)], creation_mode => 'default' }, 'name, description, filters, tags, creation_mode';
    is scalar(@{ $j->{tiles} }), 3, 'three tiles';

    my $row = $t->row(posthog_dashboard => $d);
    is_deeply { map { $_ => $row->{$_} } qw(name description filters team_id created_by_id creation_mode deleted) },
        { name => 'From JSON', description => 'made from json', filters => { date_from => '-14d' }, team_id => $P,
          created_by_id => $U, creation_mode => 'default', deleted => $FALSE }, 'posthog_dashboard row';
    is_deeply tags_of($d), [qw(json-tag second)], 'tags';

    # (the insights' legacy filters are left out: PostHog versions differ there)
    my $tiles = $t->sql_rows(q{SELECT t.layouts, t.color, t.team_id, x.body, i.name, i.description, i.query,
                                      i.is_sample, i.deleted AS insight_deleted, i.team_id AS insight_team
                                 FROM posthog_dashboardtile t
                                 LEFT JOIN posthog_text x ON x.id = t.text_id
                                 LEFT JOIN posthog_dashboarditem i ON i.id = t.insight_id
                                WHERE t.dashboard_id = $1 ORDER BY t.id}, $d);
    my $tpl = template_json();
    is_deeply $tiles, [
        { layouts => $tpl->{tiles}[0]{layouts}, color => 'blue', team_id => $P, body => '# Hello',
          name => undef, description => undef, query => undef, is_sample => undef, insight_deleted => undef,
          insight_team => undef },
        { layouts => $tpl->{tiles}[1]{layouts}, color => undef, team_id => $P, body => undef,
          name => 'Pageviews', description => 'pv', query => $tpl->{tiles}[1]{query},
          is_sample => $TRUE, insight_deleted => $FALSE, insight_team => $P },
        { layouts => $tpl->{tiles}[2]{layouts}, color => undef, team_id => $P, body => undef,
          name => 'Legacy', description => 'old style', query => undef,
          is_sample => $TRUE, insight_deleted => $FALSE, insight_team => $P },
    ], 'tiles in template order: text, and sample insights';
};

subtest 'create_from_template_json: an invalid template names the field and leaves no dashboard' => sub {
    my $before = snapshot();
    my @cases = (
        [ {}, verr('This field is required.', 'template', 'required'), 'no template' ],
        [ { template => 'x' }, verr('Expected a dictionary of items but got type "str".', 'template', 'not_a_dict'),
          'template a string' ],
    );
    for my $c (@cases) {
        answer_is from_json($c->[0]), 400, $c->[1], $c->[2];
    }
    my $no_name = template_json();
    delete $no_name->{template_name};
    my @fields = (
        [ $no_name, 'template__template_name', 'template_name missing' ],
        [ template_json(template_name => 5), 'template__template_name', 'template_name a number' ],
        [ template_json(dashboard_filters => 'x'), 'template__dashboard_filters', 'dashboard_filters a string' ],
        [ template_json(tiles => []), 'template__tiles', 'no tiles' ],
        [ template_json(tiles => {}), 'template__tiles', 'tiles an object' ],
        [ template_json(tags => [ 1 ]), 'template__tags__0', 'a tag not a string' ],
        [ template_json(tiles => [ {} ]), 'template__tiles__0__type', 'a tile without type' ],
        # the first tile is fine and would be written first: nothing of it may stay
        [ template_json(tiles => [ template_json()->{tiles}[0], template_json()->{tiles}[1], { type => 'CHART' } ]),
          'template__tiles__2__type', 'the third tile of an unknown type' ],
    );
    for my $c (@fields) {
        my $r = from_json({ template => $c->[0] });
        is $r->{status}, 400, "$c->[2]: 400" or diag $r->{raw};
        is $r->{json}{type}, 'validation_error', "$c->[2]: validation_error";
        is $r->{json}{attr}, $c->[1], "$c->[2]: attr $c->[1]";
        like $r->{json}{detail} // '', qr/\S/, "$c->[2]: a detail";
    }
    is_deeply snapshot(), $before, 'no dashboard, tile, text, insight or tag row left';
};

subtest 'create_from_template_json: permissions' => sub {
    my $before = snapshot();
    answer_is from_json({ template => template_json() }, key => $read_key), 403,
        denied("API key missing required scope 'dashboard:write'"), 'read-only key';
    answer_is from_json({ template => template_json() }, project => $P3), 403,
        denied("You don't have access to the project."), 'project of another organization';
    answer_is from_json({ template => template_json() }, key => $scoped_key), 403,
        denied("API key does not have access to the requested project: ID $P."), 'key scoped to another project';
    is_deeply snapshot(), $before, 'nothing created';
    my $r = from_json({ template => template_json(template_name => 'By writer') }, key => $write_key);
    is $r->{status}, 200, 'a dashboard:write key is enough' or diag $r->{raw};
    is $r->{json}{name}, 'By writer', 'created';
};

# ===========================================================================
# create_unlisted_dashboard

subtest 'create_unlisted_dashboard: 201, then 409' => sub {
    my $tpl = template_by_tag('llm-analytics');
    ok $tpl, 'a seeded template has the tag llm-analytics' or return;
    my $r = unlisted({ tag => 'llm-analytics' });
    is $r->{status}, 201, 'status 201' or diag $r->{raw};
    my $j = $r->{json};
    my $d = $j->{id};
    is_detail_of $r, $d, 'answer';
    is_deeply { map { $_ => $j->{$_} } qw(name description filters creation_mode tags) },
        { name => $tpl->{template_name}, description => $tpl->{dashboard_description},
          filters => { %{ $tpl->{dashboard_filters} // {} }, __template_version => 1 },
          creation_mode => 'unlisted', tags => [ sort @{ $tpl->{tags} } ] },
        'name, description, filters (+ __template_version), creation_mode, tags from the template';
    is_deeply tile_shapes($j->{tiles}), tile_shapes($tpl->{tiles}, 1), "the template's tiles, kinds and layouts";
    my $row = $t->row(posthog_dashboard => $d);
    is_deeply [ @$row{qw(team_id created_by_id creation_mode deleted)} ], [ $P, $U, 'unlisted', $FALSE ], 'row';

    my $l = $t->api(GET => "/api/projects/$P/dashboards/?limit=1000");
    ok !grep({ $_->{id} == $d } @{ $l->{json}{results} }), 'not in the list';
    $l = $t->api(GET => "/api/projects/$P/dashboards/?creation_mode=unlisted");
    is_deeply [ map { $_->{id} } @{ $l->{json}{results} } ], [ $d ], 'listed with creation_mode=unlisted';

    my $before = snapshot();
    answer_is unlisted({ tag => 'llm-analytics' }), 409,
        { error => "Unlisted dashboard with tag 'llm-analytics' already exists" }, 'the second time';
    is_deeply snapshot(), $before, 'nothing created';

    my $m = template_by_tag('mcp-analytics');
    ok $m, 'a seeded template has the tag mcp-analytics';
    $r = unlisted({ tag => 'mcp-analytics' });
    is $r->{status}, 201, 'the other tag: 201' or diag $r->{raw};
    is $r->{json}{name}, $m->{template_name}, 'its template';
    is unlisted_count($P, 'llm-analytics') . '/' . unlisted_count($P, 'mcp-analytics'), '1/1', 'one of each';
};

subtest 'create_unlisted_dashboard: what does not count as existing' => sub {
    my $p = $t->fixture_project(org => $w->{org});
    my $env = $t->fixture_team(project => $p);
    $t->fixture_dashboard(team => $p, user => $U, creation_mode => 'unlisted', deleted => 1, tags => ['llm-analytics']);
    $t->fixture_dashboard(team => $p, user => $U, creation_mode => 'default', tags => ['llm-analytics']);
    $t->fixture_dashboard(team => $env, user => $U, creation_mode => 'unlisted', tags => ['llm-analytics']);
    $t->fixture_dashboard(team => $p, user => $U, creation_mode => 'unlisted', tags => ['mcp-analytics']);
    my $r = unlisted({ tag => 'llm-analytics' }, project => $p);
    is $r->{status}, 201, 'a deleted one, a listed one, one of another environment, one of another tag: 201'
        or diag $r->{raw};
    is unlisted_count($p, 'llm-analytics'), 1, 'one live unlisted llm-analytics dashboard in the team';
};

subtest 'create_unlisted_dashboard: {"error": ...} 400s' => sub {
    my $before = snapshot();
    my @cases = (
        [ undef, { error => 'tag is required' }, 'no body' ],
        [ {}, { error => 'tag is required' }, 'no tag' ],
        [ { tag => '' }, { error => 'tag is required' }, 'empty tag' ],
        [ { tag => undef }, { error => 'tag is required' }, 'null tag' ],
        [ { tag => 0 }, { error => 'tag is required' }, 'tag 0' ],
        [ { tag => $FALSE }, { error => 'tag is required' }, 'tag false' ],
        [ { tag => [] }, { error => 'tag is required' }, 'tag []' ],
        [ { tag => 'nope' }, { error => 'Unknown template tag: nope' }, 'unknown tag' ],
        [ { tag => 'LLM-Analytics' }, { error => 'Unknown template tag: LLM-Analytics' }, 'tags are case-sensitive' ],
        [ { tag => 'general' }, { error => 'Unknown template tag: general' }, 'a context that is not a tag' ],
        [ { tag => 5 }, { error => 'Unknown template tag: 5' }, 'a number' ],
        [ { tag => $TRUE }, { error => 'Unknown template tag: True' }, 'true (as Python prints it)' ],
    );
    for my $c (@cases) {
        answer_is unlisted($c->[0]), 400, $c->[1], $c->[2];
    }
    is_deeply snapshot(), $before, 'nothing created';
};

subtest 'create_unlisted_dashboard: permissions' => sub {
    my $p = $t->fixture_project(org => $w->{org});
    my $before = snapshot();
    answer_is unlisted({ tag => 'llm-analytics' }, key => $read_key, project => $p), 403,
        denied("API key missing required scope 'dashboard:write'"), 'read-only key';
    answer_is unlisted({ tag => 'llm-analytics' }, project => $P3), 403,
        denied("You don't have access to the project."), 'project of another organization';
    answer_is unlisted({ tag => 'llm-analytics' }, project => 999999), 404,
        { type => 'invalid_request', code => 'not_found', detail => 'Project not found.', attr => undef }, 'no such project';
    is_deeply snapshot(), $before, 'nothing created';
    my $r = unlisted({ tag => 'llm-analytics' }, key => $write_key, project => $p);
    is $r->{status}, 201, 'a dashboard:write key is enough' or diag $r->{raw};
};

subtest 'create_unlisted_dashboard: 8 parallel requests, exactly one 201' => sub {
    for my $tag (qw(mcp-analytics llm-analytics)) {
        my $p = $t->fixture_project(org => $w->{org});
        my $tpl = template_by_tag($tag);
        my $res = $t->burst(8, POST => "/api/projects/$p/dashboards/create_unlisted_dashboard/", body => { tag => $tag });
        my @st = sort map { $_->{status} // 'died' } @$res;
        is_deeply \@st, [ 201, (409) x 7 ], "$tag: one 201, seven 409" or diag explain [ map { $_->{raw} // $_->{died} } @$res ];
        is scalar(grep { ($_->{status} // 0) == 409
                         && $Dash::JSON->encode($_->{json} // {}) eq $Dash::JSON->encode({ error => "Unlisted dashboard with tag '$tag' already exists" }) } @$res),
            7, "$tag: the 409 bodies";
        is $t->sql_value(q{SELECT count(*) FROM posthog_dashboard WHERE team_id = $1 AND creation_mode = 'unlisted'}, $p),
            1, "$tag: one dashboard row";
        my ($ok) = grep { ($_->{status} // 0) == 201 } @$res;
        is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1', $ok->{json}{id} // 0),
            scalar(@{ $tpl->{tiles} }), "$tag: its tiles, once";
        is $t->sql_value('SELECT count(*) FROM posthog_dashboard WHERE team_id = $1', $p), 1, "$tag: no other dashboard row";
    }
};

subtest 'create_unlisted_dashboard: a failure midway leaves nothing' => sub {
    my $p = $t->fixture_project(org => $w->{org});
    $t->failing_trigger(test_boom_tile => "NEW.team_id = $p AND NEW.text_id IS NULL");
    my $before = snapshot();
    $t->trigger_on(test_boom_tile => 'posthog_dashboardtile', 'INSERT');
    my $r = unlisted({ tag => 'llm-analytics' }, project => $p);
    my $r2 = from_json({ template => template_json() }, project => $p);
    $t->trigger_off(test_boom_tile => 'posthog_dashboardtile');
    answer_is $r, 500, $SERVER_ERROR, 'create_unlisted_dashboard: the first insight tile cannot be written';
    answer_is $r2, 500, $SERVER_ERROR, 'create_from_template_json: the same';
    is_deeply snapshot(), $before, 'no dashboard, text, insight or tag row left';
    $r = unlisted({ tag => 'llm-analytics' }, project => $p);
    is $r->{status}, 201, 'and the tag is still free' or diag $r->{raw};
};

# ===========================================================================
# use_template on create with a seeded template

subtest 'create with use_template: a seeded template' => sub {
    my $seeded = $t->sql_rows(q{SELECT template_name, dashboard_description, dashboard_filters, tiles, tags
                                  FROM posthog_dashboardtemplate WHERE team_id IS NULL AND deleted IS NOT TRUE
                                 ORDER BY template_name});
    cmp_ok scalar(@$seeded), '>=', 2, 'the migrations seed templates';
    for my $tpl (@$seeded) {
        my $r = $t->api(POST => "/api/projects/$P/dashboards/", body => { use_template => $tpl->{template_name} });
        is $r->{status}, 201, "$tpl->{template_name}: 201" or diag $r->{raw};
        my $j = $r->{json};
        is_deeply { map { $_ => $j->{$_} } qw(name description filters creation_mode tags) },
            { name => $tpl->{template_name}, description => $tpl->{dashboard_description} // '',
              filters => $tpl->{dashboard_filters} // {}, creation_mode => 'template',
              tags => [ sort @{ $tpl->{tags} // [] } ] }, "$tpl->{template_name}: fields from the template";
        is_deeply tile_shapes($j->{tiles}), tile_shapes($tpl->{tiles}, 1), "$tpl->{template_name}: its tiles";
        is $t->sql_value(q{SELECT bool_and(i.is_sample) FROM posthog_dashboardtile t JOIN posthog_dashboarditem i
                            ON i.id = t.insight_id WHERE t.dashboard_id = $1}, $j->{id}),
            (grep({ $_->{type} eq 'INSIGHT' } @{ $tpl->{tiles} }) ? 't' : undef), "$tpl->{template_name}: sample insights";
    }
    my $name = $seeded->[0]{template_name};
    my $r = $t->api(POST => "/api/projects/$P/dashboards/", body => { name => 'Mine', use_template => $name });
    is $r->{status}, 201, 'with a name: 201' or diag $r->{raw};
    is $r->{json}{name}, 'Mine', 'the given name is kept';
    my $before = snapshot();
    answer_is $t->api(POST => "/api/projects/$P/dashboards/", body => { use_template => 'No such template' }), 400,
        verr('Invalid template provided: No such template', 'use_template'), 'unknown template';
    is_deeply snapshot(), $before, 'no row left';
};

# ===========================================================================
# dashboards_session_only_actions on: PostHog's refusal for API keys

subtest 'dashboards_session_only_actions on' => sub {
    $t->reload(location_extra => 'dashboards_session_only_actions on;');
    my $d = $t->fixture_dashboard(team => $P, user => $U, tags => ['s']);
    my $p = $t->fixture_project(org => $w->{org});
    my $before = snapshot();
    for my $key ($w->{key}, $write_key) {
        answer_is bulk({ ids => [ $d ], action => 'add', tags => ['x'] }, key => $key), 403, $SESSION_ONLY, 'bulk_update_tags';
        answer_is from_json({ template => template_json() }, key => $key), 403, $SESSION_ONLY, 'create_from_template_json';
        answer_is unlisted({ tag => 'llm-analytics' }, key => $key, project => $p), 403, $SESSION_ONLY,
            'create_unlisted_dashboard';
        answer_is unlisted({}, key => $key, project => $p), 403, $SESSION_ONLY, 'create_unlisted_dashboard, invalid body';
    }
    is_deeply snapshot(), $before, 'nothing changed';
    # actions with a declared scope are not affected
    my $r = $t->api(POST => "/api/projects/$P/dashboards/$d/create_text_tile/", body => { body => 'still fine' });
    is $r->{status}, 201, 'create_text_tile still works' or diag $r->{raw};
    $r = $t->api(GET => "/api/projects/$P/dashboards/");
    is $r->{status}, 200, 'list still works' or diag $r->{raw};

    $t->reload(location_extra => 'dashboards_session_only_actions off;');
    $r = bulk({ ids => [ $d ], action => 'add', tags => ['x'] });
    answer_is $r, 200, { updated => [ { id => $d, tags => [qw(s x)] } ], skipped => [] }, 'off again: accepted';
};

done_testing;
