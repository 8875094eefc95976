#!/usr/bin/perl
# GET /api/projects/:id/dashboards/:id/ (PostHog's retrieve:
# DashboardSerializer, tiles in PostHog's order, restriction levels)
#
# The detail shape and its key order, tiles (order, hidden tiles, text and
# insight shapes), last_accessed_at, filters_override / variables_override,
# 404s, and the permission fields for every kind of user.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Ordered qw(okeys @DETAIL_KEYS @USER_KEYS @TILE_KEYS @TEXT_KEYS @INSIGHT_KEYS);
use Dash::Errors qw($NOT_FOUND);

my $TS = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z$/;
my $T = JSON::PP::true;
my $F = JSON::PP::false;

my $t = Dash->new;
my $w = $t->world;                      # org admin, key '*'
my $P = $w->{project};
my $BASE = "/api/projects/$P/dashboards/";

sub get {
    my ($id, $query, %o) = @_;
    my $project = delete $o{project} // $P;
    return $t->api(GET => "/api/projects/$project/dashboards/$id/" . (defined $query ? "?$query" : ''), %o);
}

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

sub user_json {
    my ($id) = @_;
    my $u = $t->row(posthog_user => $id);
    return { map { $_ => $u->{$_} } @USER_KEYS };
}

# --- the detail -------------------------------------------------------------------

subtest 'detail: keys, order and values' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Detail', description => 'About',
                                  pinned => 1, tags => [qw(zeta alpha)],
                                  filters => { date_from => '-30d' }, variables => { v => { code => 'v' } },
                                  breakdown_colors => [ { breakdownValue => 'x' } ],
                                  created_at => '2024-01-02 03:04:05.678901+00',
                                  last_refresh => '2024-01-03 00:00:00.5+00');
    my $r = get($d);
    is $r->{status}, 200, 'status 200';
    like $r->{content_type}, qr{^application/json}, 'JSON';
    is_deeply okeys($r->{raw}), \@DETAIL_KEYS, "keys in DashboardSerializer's order";
    is_deeply okeys($r->{raw}, 'created_by'), \@USER_KEYS, 'created_by keys in order';
    my $j = $r->{json};
    like $j->{last_accessed_at}, $TS, 'last_accessed_at set by the read';
    is_deeply { %$j, last_accessed_at => 'X' }, {
        id => $d, name => 'Detail', description => 'About', pinned => $T,
        created_at => '2024-01-02T03:04:05.678901Z', created_by => user_json($w->{user}),
        last_accessed_at => 'X', last_viewed_at => undef, is_shared => $F, deleted => $F,
        creation_mode => 'default', filters => { date_from => '-30d' }, variables => { v => { code => 'v' } },
        breakdown_colors => [ { breakdownValue => 'x' } ], data_color_theme_id => undef,
        tags => [qw(alpha zeta)], restriction_level => 21, effective_restriction_level => 21,
        effective_privilege_level => 37, user_access_level => 'manager', access_control_version => 'v2',
        last_refresh => '2024-01-03T00:00:00.500000Z', persisted_filters => { date_from => '-30d' },
        persisted_variables => { v => { code => 'v' } }, team_id => $P, quick_filter_ids => [], tiles => [],
        search_match_type => undef,
    }, 'values';

    # NULL name, creator and quick_filter_ids, a view log, a sharing configuration
    my $d2 = $t->fixture_dashboard(team => $P, user => undef, name => undef, quick_filter_ids => undef);
    $t->insert(posthog_filesystemviewlog => { team_id => $P, user_id => $w->{user}, type => 'dashboard',
                                              ref => "$d2", viewed_at => '2024-05-06 07:08:09.25+00' });
    $t->insert(posthog_sharingconfiguration => { team_id => $P, dashboard_id => $d2, enabled => 1 });
    $r = get($d2);
    is $r->{status}, 200, 'status';
    is_deeply [ @{ $r->{json} }{qw(name created_by quick_filter_ids last_viewed_at is_shared
                                   persisted_filters persisted_variables filters variables)} ],
        [ undef, undef, [], '2024-05-06T07:08:09.250000Z', $T, undef, undef, {}, {} ],
        'null name and creator, quick_filter_ids [], last_viewed_at, is_shared';

    $r = $t->api(GET => "$BASE$d2");
    is $r->{status}, 200, 'without the trailing slash';
};

# --- tiles ------------------------------------------------------------------------------

subtest 'tiles: order by layouts.sm (y, x), 100 when missing; order = index' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Tiles');
    my %tile;
    my %layouts = (
        T1 => { sm => { x => 6, y => 0, w => 6, h => 5 } },
        T2 => { sm => { x => 0, y => 0, w => 6, h => 5 } },
        T3 => { sm => { x => 99, y => 5 } },
        T4 => { sm => { y => 5 } },                     # x missing: 100
        T5 => { sm => { x => 101, y => 5 } },
        T6 => { sm => { x => 0, y => 99 } },
        T7 => {},                                       # (100, 100)
        T8 => { sm => { x => 0, y => 101 } },
        T9 => { xs => { x => 0, y => 0 } },             # no sm: (100, 100)
    );
    # inserted in a scrambled order
    for my $n (qw(T8 T5 T1 T7 T3 T2 T6 T4)) {
        $tile{$n} = $t->fixture_text_tile(dashboard => $d, body => $n, layouts => $layouts{$n});
    }
    # ties at (100, 100): stable over the DB order, insight."order" (NULLs last)
    my $i5 = $t->fixture_insight(team => $P, user => $w->{user}, name => 'I5', order => 5);
    my $i1 = $t->fixture_insight(team => $P, user => $w->{user}, name => 'I1', order => 1);
    $tile{I5} = $t->fixture_insight_tile(dashboard => $d, insight => $i5, layouts => {});
    $tile{I1} = $t->fixture_insight_tile(dashboard => $d, insight => $i1, layouts => $layouts{T9});

    my $r = get($d);
    is $r->{status}, 200, 'status';
    my @got = map { $_->{text} ? $_->{text}{body} : $_->{insight}{name} } @{ $r->{json}{tiles} };
    is_deeply \@got, [qw(T2 T1 T3 T4 T5 T6 I1 I5 T7 T8)], 'sorted';
    is_deeply [ map { $_->{order} } @{ $r->{json}{tiles} } ], [ 0 .. 9 ], 'order is the index';
    is_deeply [ map { $_->{id} } @{ $r->{json}{tiles} } ], [ @tile{qw(T2 T1 T3 T4 T5 T6 I1 I5 T7 T8)} ], 'tile ids';
    for my $i (0 .. 9) {
        is_deeply okeys($r->{raw}, 'tiles', $i), \@TILE_KEYS, "tile $i: keys in DashboardTileSerializer's order";
    }
};

subtest 'insight tiles: strings that need escaping come back as they were stored' => sub {
    # the insight and tile objects are joined from JSON texts
    # (sql/migrations/003_dashboard_json.sql): each string must be escaped
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Escapes');
    my $odd = qq{q"uote \\back\nline\ttab \x{01} snow\x{2603} </script>};
    my $i = $t->fixture_insight(team => $P, user => $w->{user}, name => $odd, derived_name => "d$odd",
                                description => "e$odd");
    my $tl = $t->fixture_insight_tile(dashboard => $d, insight => $i, color => "c$odd");
    my $r = get($d);
    is $r->{status}, 200, 'status' or diag $r->{raw};
    my ($x) = grep { $_->{id} == $tl } @{ $r->{json}{tiles} // [] };
    is $x->{insight}{name}, $odd, 'name';
    is $x->{insight}{derived_name}, "d$odd", 'derived_name';
    is $x->{insight}{description}, "e$odd", 'description';
    is $x->{color}, "c$odd", 'tile color';
};

subtest 'tiles: soft-deleted tiles and tiles of deleted insights are hidden' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Hidden');
    my $visible = $t->fixture_text_tile(dashboard => $d, body => 'visible');
    my $null_deleted = $t->fixture_text_tile(dashboard => $d, body => 'deleted NULL', deleted => undef);
    my $gone = $t->fixture_text_tile(dashboard => $d, body => 'gone', deleted => 1);
    my $ins_ok = $t->fixture_insight(team => $P, user => $w->{user}, name => 'Alive');
    my $ins_del = $t->fixture_insight(team => $P, user => $w->{user}, name => 'Dead', deleted => 1);
    my $t_ok = $t->fixture_insight_tile(dashboard => $d, insight => $ins_ok);
    my $t_del = $t->fixture_insight_tile(dashboard => $d, insight => $ins_del);
    my $t_gone = $t->fixture_insight_tile(dashboard => $d,
                                          insight => $t->fixture_insight(team => $P, name => 'Tile gone'),
                                          deleted => 1);
    my $r = get($d);
    is $r->{status}, 200, 'status';
    is_deeply [ sort { $a <=> $b } map { $_->{id} } @{ $r->{json}{tiles} } ],
        [ sort { $a <=> $b } $visible, $null_deleted, $t_ok ], 'only the live tiles';
};

subtest 'text tile shape' => sub {
    my $author = $t->fixture_user(org => $w->{org}, level => 1, first_name => 'Tex');
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Text');
    my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => "# Title\nbody", user => $author,
                                              layouts => { sm => { x => 0, y => 0, w => 12, h => 2 } },
                                              color => 'purple', show_description => 1,
                                              transparent_background => 0);
    $t->sql('UPDATE posthog_text SET last_modified_by_id = $2, last_modified_at = $3 WHERE id = $1',
            $text, $w->{user}, '2024-02-03 04:05:06.7+00');
    # the same text on another dashboard (listed), soft-deleted elsewhere and on a deleted dashboard (not listed)
    my $e = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Text 2');
    my $e_tile = $t->insert(posthog_dashboardtile => { dashboard_id => $e, text_id => $text, team_id => $P,
                                                       layouts => {}, deleted => 0 })->{id};
    my $f = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Text 3');
    $t->insert(posthog_dashboardtile => { dashboard_id => $f, text_id => $text, team_id => $P, layouts => {},
                                          deleted => 1 });
    my $g = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Text 4', deleted => 1);
    $t->insert(posthog_dashboardtile => { dashboard_id => $g, text_id => $text, team_id => $P, layouts => {},
                                          deleted => 0 });

    my $r = get($d);
    is $r->{status}, 200, 'status';
    is_deeply okeys($r->{raw}, 'tiles', 0), \@TILE_KEYS, 'tile keys in order';
    is_deeply okeys($r->{raw}, 'tiles', 0, 'text'), \@TEXT_KEYS, 'text keys in order';
    is_deeply okeys($r->{raw}, 'tiles', 0, 'text', 'created_by'), \@USER_KEYS, 'text created_by keys';
    my $tj = $r->{json}{tiles}[0];
    my @refs = sort { $a->{id} <=> $b->{id} } @{ $tj->{text}{dashboard_tiles} };
    is_deeply { %$tj, text => { %{ $tj->{text} }, dashboard_tiles => \@refs } }, {
        id => $tile, insight => undef,
        text => { id => $text, body => "# Title\nbody", created_by => user_json($author),
                  last_modified_at => '2024-02-03T04:05:06.700000Z', last_modified_by => user_json($w->{user}),
                  team => $P,
                  dashboard_tiles => [ { id => $tile, dashboard_id => $d, deleted => $F },
                                       { id => $e_tile, dashboard_id => $e, deleted => $F } ] },
        button_tile => undef, widget => undef,
        layouts => { sm => { x => 0, y => 0, w => 12, h => 2 } }, color => 'purple', filters_overrides => {},
        show_description => $T, transparent_background => $F, order => 0, last_refresh => undef,
        is_cached => $F,
    }, 'values';
};

subtest 'button and widget tile shapes' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Buttons');
    my $b = $t->insert(posthog_buttontile => { url => 'https://example.com/docs', text => 'Docs',
                                               placement => 'right', style => 'secondary',
                                               created_by_id => $w->{user}, team_id => $P,
                                               last_modified_at => '2024-03-04 05:06:07+00' });
    my $wd = $t->insert(posthog_dashboardwidget => { widget_type => 'experiment', name => 'Exp',
                                                     description => 'About it', config => { id => 7 },
                                                     last_modified_by_id => $w->{user}, team_id => $P,
                                                     last_modified_at => '2024-03-05 00:00:00.25+00' });
    my $bt = $t->insert(posthog_dashboardtile => { dashboard_id => $d, button_tile_id => $b->{id}, team_id => $P,
                                                   layouts => { sm => { x => 0, y => 0 } } })->{id};
    my $wt = $t->insert(posthog_dashboardtile => { dashboard_id => $d, widget_id => $wd->{id}, team_id => $P,
                                                   layouts => { sm => { x => 0, y => 1 } } })->{id};
    # the same widget on a deleted dashboard: not among its dashboard_tiles
    my $g = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Gone', deleted => 1);
    $t->insert(posthog_dashboardtile => { dashboard_id => $g, widget_id => $wd->{id}, team_id => $P, layouts => {} });

    my $r = get($d);
    is $r->{status}, 200, 'status';
    is_deeply okeys($r->{raw}, 'tiles', 0, 'button_tile'),
        [qw(id url text placement style created_by last_modified_at last_modified_by team dashboard_tiles)],
        'button keys in order';
    is_deeply okeys($r->{raw}, 'tiles', 1, 'widget'),
        [qw(id widget_type name description config created_by last_modified_at last_modified_by team
            dashboard_tiles)], 'widget keys in order';
    my ($t0, $t1) = @{ $r->{json}{tiles} };
    is_deeply [ $t0->{id}, $t0->{insight}, $t0->{text}, $t0->{widget}, $t0->{order} ], [ $bt, undef, undef, undef, 0 ],
        'button tile first, nothing else on it';
    is_deeply $t0->{button_tile}, {
        id => $b->{id}, url => 'https://example.com/docs', text => 'Docs', placement => 'right',
        style => 'secondary', created_by => user_json($w->{user}), last_modified_at => '2024-03-04T05:06:07Z',
        last_modified_by => undef, team => $P,
        dashboard_tiles => [ { id => $bt, dashboard_id => $d, deleted => undef } ],
    }, 'button values';
    is_deeply [ $t1->{id}, $t1->{insight}, $t1->{text}, $t1->{button_tile}, $t1->{order} ], [ $wt, undef, undef, undef, 1 ],
        'widget tile second';
    is_deeply $t1->{widget}, {
        id => $wd->{id}, widget_type => 'experiment', name => 'Exp', description => 'About it', config => { id => 7 },
        created_by => undef, last_modified_at => '2024-03-05T00:00:00.250000Z',
        last_modified_by => user_json($w->{user}), team => $P,
        dashboard_tiles => [ { id => $wt, dashboard_id => $d, deleted => undef } ],
    }, 'widget values';
};

subtest 'insight tile shape' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Insight');
    my $other = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Insight 2');
    my $query = { kind => 'InsightVizNode',
                  source => { kind => 'TrendsQuery',
                              series => [ { kind => 'EventsNode', event => '$pageview', name => '$pageview',
                                            math => 'total' } ],
                              interval => 'day', dateRange => { date_from => '-30d', date_to => undef } } };
    my $i = $t->fixture_insight(team => $P, user => $w->{user}, name => 'Pageviews', derived_name => 'PV',
                                description => 'Daily', query => $query, order => 3, favorited => 1,
                                created_at => '2024-01-01 00:00:00.1+00');
    $t->fixture_tag(insight => $i, team => $P, name => 'web');
    my ($tile) = $t->fixture_insight_tile(dashboard => $d, insight => $i,
                                          layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
    my ($tile2) = $t->fixture_insight_tile(dashboard => $other, insight => $i);

    my $r = get($d);
    is $r->{status}, 200, 'status';
    is_deeply okeys($r->{raw}, 'tiles', 0), \@TILE_KEYS, 'tile keys in order';
    my $keys = okeys($r->{raw}, 'tiles', 0, 'insight');
    is_deeply [ sort @{ $keys // [] } ], [ sort @INSIGHT_KEYS ], 'the insight keys of InsightSerializer';
    my $tj = $r->{json}{tiles}[0];
    is $tj->{text}, undef, 'text null';
    is $tj->{last_refresh}, undef, 'tile last_refresh (from the insight)';
    is $tj->{is_cached}, $F, 'tile is_cached (from the insight)';
    my $ij = $tj->{insight};
    my $row = $t->row(posthog_dashboarditem => $i);
    is_deeply [ @$ij{qw(id short_id name derived_name description order deleted favorited saved is_sample)} ],
        [ $i, $row->{short_id}, 'Pageviews', 'PV', 'Daily', 3, $F, $T, $T, $F ], 'identity and metadata';
    is_deeply [ sort { $a <=> $b } @{ $ij->{dashboards} } ], [ sort { $a <=> $b } $d, $other ], 'dashboards';
    is_deeply [ sort { $a->{id} <=> $b->{id} } @{ $ij->{dashboard_tiles} } ],
        [ { id => $tile, dashboard_id => $d, deleted => $F }, { id => $tile2, dashboard_id => $other, deleted => $F } ],
        'dashboard_tiles';
    is_deeply $ij->{tags}, ['web'], 'tags';
    is_deeply $ij->{created_by}, user_json($w->{user}), 'created_by';
    is $ij->{created_at}, '2024-01-01T00:00:00.100000Z', 'created_at';
    is $ij->{user_access_level}, 'manager', 'user_access_level';
    is_deeply [ @$ij{qw(effective_restriction_level effective_privilege_level)} ], [ 21, 37 ], 'permission levels';
};

subtest 'insight query in dashboard context: dashboard filters applied' => sub {
    my $query = { kind => 'InsightVizNode',
                  source => { kind => 'TrendsQuery', series => [ { kind => 'EventsNode', event => '$pageview' } ],
                              dateRange => { date_from => '-30d' } } };
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Filtered',
                                  filters => { date_from => '-7d' });
    my $i = $t->fixture_insight(team => $P, user => $w->{user}, name => 'Q', query => $query);
    $t->fixture_insight_tile(dashboard => $d, insight => $i, layouts => { sm => { x => 0, y => 0 } });
    my $j = $t->fixture_insight(team => $P, user => $w->{user}, name => 'Q tile', query => $query);
    $t->fixture_insight_tile(dashboard => $d, insight => $j, layouts => { sm => { x => 0, y => 5 } },
                             filters_overrides => { date_from => '-90d' });

    my $r = get($d);
    my ($qa, $qb) = map { $_->{insight}{query} } @{ $r->{json}{tiles} };
    is $qa->{source}{dateRange}{date_from}, '-7d', 'the dashboard date_from replaces the insight one';
    is $qb->{source}{dateRange}{date_from}, '-90d', 'non-empty tile filters_overrides replace the dashboard filters';
    is $t->row(posthog_dashboarditem => $i)->{query}{source}{dateRange}{date_from}, '-30d', 'stored query untouched';

    $r = get($d, 'filters_override=' . uri_escape('{"date_from":"-1d"}'));
    is $r->{json}{tiles}[0]{insight}{query}{source}{dateRange}{date_from}, '-1d', 'filters_override reaches the query';
};

# --- last_accessed_at ----------------------------------------------------------------------

subtest 'last_accessed_at: set on read, coalesced within a minute' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Accessed');
    is $t->row(posthog_dashboard => $d)->{last_accessed_at}, undef, 'NULL before';
    my $r = get($d);
    my $v1 = $t->sql_value(q{SELECT to_char(last_accessed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                               FROM posthog_dashboard WHERE id = $1}, $d);
    ok defined $v1, 'set by the first read';
    is $r->{json}{last_accessed_at}, $v1, 'the response shows the new value';
    is $t->sql_value('SELECT abs(extract(epoch FROM now() - last_accessed_at)) < 60 FROM posthog_dashboard
                       WHERE id = $1', $d), 't', 'and it is now';

    $r = get($d);
    is $r->{json}{last_accessed_at}, $v1, 'second read within a minute: same value';
    is $t->sql_value(q{SELECT to_char(last_accessed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                        FROM posthog_dashboard WHERE id = $1}, $d), $v1, 'row not rewritten';

    $t->sql(q{UPDATE posthog_dashboard SET last_accessed_at = '2020-01-01 00:00:00.5+00' WHERE id = $1}, $d);
    $r = get($d);
    isnt $r->{json}{last_accessed_at}, '2020-01-01T00:00:00.500000Z', 'an old value is refreshed';
    is $t->sql_value(q{SELECT last_accessed_at > now() - interval '1 minute' FROM posthog_dashboard WHERE id = $1},
                     $d), 't', 'row refreshed';
};

# --- overrides -----------------------------------------------------------------------------------

subtest 'filters_override / variables_override' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Overrides',
                                  filters => { date_from => '-30d', date_to => '-1d' },
                                  variables => { a => { code => 'a', value => 1 } });
    my $r = get($d, 'filters_override=' . uri_escape('{"date_from":"-7d","properties":[]}'));
    is $r->{status}, 200, 'status';
    is_deeply $r->{json}{filters}, { date_from => '-7d', date_to => '-1d', properties => [] }, 'filters merged';
    is_deeply $r->{json}{persisted_filters}, { date_from => '-30d', date_to => '-1d' }, 'persisted_filters: stored';
    is_deeply $t->row(posthog_dashboard => $d)->{filters}, { date_from => '-30d', date_to => '-1d' },
        'row untouched';

    $r = get($d, 'variables_override=' . uri_escape('{"b":{"code":"b","value":2}}'));
    is $r->{status}, 200, 'status';
    is_deeply $r->{json}{variables}, { a => { code => 'a', value => 1 }, b => { code => 'b', value => 2 } },
        'variables merged';
    is_deeply $r->{json}{persisted_variables}, { a => { code => 'a', value => 1 } }, 'persisted_variables: stored';
    is_deeply $r->{json}{filters}, { date_from => '-30d', date_to => '-1d' }, 'filters as stored';

    $r = get($d, 'filters_override=' . uri_escape('{}'));
    is_deeply $r->{json}{filters}, { date_from => '-30d', date_to => '-1d' }, '{} changes nothing';

    # an empty parameter is no override at all (PostHog: `if not raw_override`)
    $r = get($d, 'filters_override=&variables_override=');
    is $r->{status}, 200, 'empty parameters: 200';
    is_deeply $r->{json}{filters}, { date_from => '-30d', date_to => '-1d' }, 'empty parameters: stored filters';

    for my $bad ('{bad', 'not json', '{"a":') {
        $r = get($d, 'filters_override=' . uri_escape($bad));
        is $r->{status}, 400, "filters_override $bad: 400";
        is_deeply $r->{json}, { type => 'validation_error', code => 'invalid_input',
                                detail => 'Invalid JSON passed in filters_override parameter',
                                attr => 'filters_override' }, 'body';
        is_deeply okeys($r->{raw}), [qw(type code detail attr)], 'error keys in order';
        $r = get($d, 'variables_override=' . uri_escape($bad));
        is $r->{status}, 400, "variables_override $bad: 400";
        is_deeply $r->{json}, { type => 'validation_error', code => 'invalid_input',
                                detail => 'Invalid JSON passed in variables_override parameter',
                                attr => 'variables_override' }, 'body';
    }
};

# --- 404s ----------------------------------------------------------------------------------------------

subtest 'not found' => sub {
    my $deleted = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Deleted', deleted => 1);
    my $r = get($deleted);
    is $r->{status}, 404, 'deleted: 404';
    is_deeply $r->{json}, $NOT_FOUND, 'body';
    is_deeply okeys($r->{raw}), [qw(type code detail attr)], 'keys in order';
    is $t->row(posthog_dashboard => $deleted)->{last_accessed_at}, undef, 'deleted: last_accessed_at not written';

    my $sibling = $t->fixture_project(org => $w->{org});
    my $in_sibling = $t->fixture_dashboard(team => $sibling, user => $w->{user}, name => 'Sibling');
    $r = get($in_sibling);
    is $r->{status}, 404, 'dashboard of another project of the organization: 404';
    is_deeply $r->{json}, $NOT_FOUND, 'body';
    is get($in_sibling, undef, project => $sibling)->{status}, 200, 'but 200 under its own project';

    my $foreign_org = $t->fixture_org;
    my $foreign = $t->fixture_dashboard(team => $t->fixture_project(org => $foreign_org), name => 'Foreign');
    $r = get($foreign);
    is $r->{status}, 404, 'dashboard of another organization: 404';
    is_deeply $r->{json}, $NOT_FOUND, 'body';

    $r = get(99999999);
    is $r->{status}, 404, 'nonexistent: 404';
    is_deeply $r->{json}, $NOT_FOUND, 'body';

    # PostHog loads the dashboard before it reads the overrides: its 404 first
    $r = get(99999999, 'filters_override=' . uri_escape('{bad'));
    is $r->{status}, 404, 'nonexistent with a broken filters_override: 404 first';
    is_deeply $r->{json}, $NOT_FOUND, 'body';
    $r = get($foreign, 'variables_override=' . uri_escape('[1]'));
    is $r->{status}, 404, 'another organization\'s, with a broken variables_override: 404 first';
    $r = get($deleted, 'tile_filters_override=' . uri_escape('x'));
    is $r->{status}, 404, 'deleted, with a broken tile_filters_override: 404 first';

    my $env = $t->fixture_team(project => $P);
    my $in_env = $t->fixture_dashboard(team => $env, user => $w->{user}, name => 'Env');
    $r = get($in_env);
    is $r->{status}, 200, 'dashboard of another environment of the project: 200';
    is $r->{json}{team_id}, $env, 'team_id';
};

# --- permission fields -----------------------------------------------------------------------------------

sub levels {
    my ($r) = @_;
    return [ @{ $r->{json} // {} }{qw(restriction_level effective_restriction_level effective_privilege_level
                                      user_access_level access_control_version)} ];
}

subtest 'permission fields with the advanced permissions feature' => sub {
    my $adv = $t->world(no_default_key => 1,
        org => { available_product_features => [ { key => 'advanced_permissions', name => 'Advanced permissions' } ] });
    my %u;
    $u{creator} = $t->fixture_user(org => $adv->{org}, level => 1);
    $u{admin} = $adv->{user};
    $u{member} = $t->fixture_user(org => $adv->{org}, level => 1);
    $u{editor} = $t->fixture_user(org => $adv->{org}, level => 1);
    $u{viewer} = $t->fixture_user(org => $adv->{org}, level => 1);
    my %k = map { $_ => ($_ eq 'admin' ? $adv->{key} : $t->fixture_key(user => $u{$_}, scopes => ['dashboard:read'])) }
            keys %u;
    my $locked = $t->fixture_dashboard(team => $adv->{team}, user => $u{creator}, name => 'Locked',
                                       restriction_level => 37);
    my $open = $t->fixture_dashboard(team => $adv->{team}, user => $u{creator}, name => 'Open');
    $t->insert(ee_dashboardprivilege => { dashboard_id => $locked, user_id => $u{editor}, level => 37 });
    $t->insert(ee_dashboardprivilege => { dashboard_id => $locked, user_id => $u{viewer}, level => 21 });
    $t->insert(ee_dashboardprivilege => { dashboard_id => $open, user_id => $u{viewer}, level => 21 });

    # user_access_level is the level of PostHog's access rules (default
    # editor); the v1 restriction shows in effective_privilege_level
    my %want = (
        creator => [ 37, 37, 37, 'manager', 'v1' ],
        admin   => [ 37, 37, 37, 'manager', 'v1' ],
        member  => [ 37, 37, 21, 'editor', 'v1' ],
        editor  => [ 37, 37, 37, 'editor', 'v1' ],
        viewer  => [ 37, 37, 21, 'editor', 'v1' ],
    );
    for my $who (qw(creator admin member editor viewer)) {
        my $r = get($locked, undef, project => $adv->{project}, key => $k{$who});
        is $r->{status}, 200, "$who: 200 (reading is always allowed)";
        is_deeply levels($r), $want{$who}, "$who: restricted dashboard";
    }
    is_deeply levels(get($open, undef, project => $adv->{project}, key => $k{member})),
        [ 21, 21, 37, 'editor', 'v2' ], 'member: open dashboard';
    is_deeply levels(get($open, undef, project => $adv->{project}, key => $k{viewer})),
        [ 21, 21, 37, 'editor', 'v2' ], 'a view privilege does not restrict an open dashboard';
};

subtest 'permission fields without the feature: 21 everywhere' => sub {
    my $creator = $t->fixture_user(org => $w->{org}, level => 1);
    my $member = $t->fixture_user(org => $w->{org}, level => 1);
    my $collab = $t->fixture_user(org => $w->{org}, level => 1);
    my $locked = $t->fixture_dashboard(team => $P, user => $creator, name => 'Locked', restriction_level => 37);
    $t->insert(ee_dashboardprivilege => { dashboard_id => $locked, user_id => $collab, level => 21 });
    is_deeply levels(get($locked, undef, key => $t->fixture_key(user => $creator))),
        [ 37, 21, 37, 'manager', 'v1' ], 'creator';
    is_deeply levels(get($locked)), [ 37, 21, 37, 'manager', 'v1' ], 'admin';
    is_deeply levels(get($locked, undef, key => $t->fixture_key(user => $member))),
        [ 37, 21, 37, 'editor', 'v1' ], 'member';
    is_deeply levels(get($locked, undef, key => $t->fixture_key(user => $collab))),
        [ 37, 21, 37, 'editor', 'v1' ], 'view-only collaborator';
};

subtest 'access' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Access');
    my $k = $t->fixture_key(user => $w->{user}, scopes => ['dashboard:write']);
    is get($d, undef, key => $k)->{status}, 200, 'dashboard:write reads';
    $k = $t->fixture_key(user => $w->{user}, scopes => ['insight:read']);
    my $r = get($d, undef, key => $k);
    is $r->{status}, 403, 'other scope: 403';
    is_deeply $r->{json}, { type => 'authentication_error', code => 'permission_denied',
                            detail => "API key missing required scope 'dashboard:read'", attr => undef }, 'body';
    my $stranger = $t->fixture_user(org => $t->fixture_org, level => 8);
    $r = get($d, undef, key => $t->fixture_key(user => $stranger));
    is $r->{status}, 403, 'not a member: 403';
    is_deeply $r->{json}, { type => 'authentication_error', code => 'permission_denied',
                            detail => "You don't have access to the project.", attr => undef }, 'body';
};

done_testing;
