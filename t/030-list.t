#!/usr/bin/perl
# GET /api/projects/:id/dashboards/ (PostHog's list: DashboardBasicSerializer,
# access levels)
#
# Pagination (count/next/previous, DRF LimitOffsetPagination and its URL
# rewriting), search, tags, creation_mode, exclude_generated, project
# scoping, ordering, the list item shape and its key order.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Ordered qw(okeys @LIST_KEYS @USER_KEYS);
my $TS = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z$/;

my $t = Dash->new;
my $w = $t->world;                      # org admin, key '*'
my $org = $w->{org};
my $port = $t->port;

sub base { "/api/projects/$_[0]/dashboards/" }
sub abs_base { "http://127.0.0.1:$port" . base($_[0]) }

sub list {
    my ($project, $query, %o) = @_;
    my $r = $t->api(GET => base($project) . (defined $query ? "?$query" : ''), %o);
    return $r;
}

sub names { [ map { $_->{name} } @{ $_[0]{json}{results} // [] } ] }

sub dash {
    my ($team, %o) = @_;
    return $t->fixture_dashboard(team => $team, user => $w->{user}, %o);
}

# --- empty project --------------------------------------------------------------

subtest 'empty list' => sub {
    my $p = $t->fixture_project(org => $org);
    my $r = list($p);
    is $r->{status}, 200, 'status 200';
    like $r->{content_type}, qr{^application/json}, 'JSON content type';
    is_deeply $r->{json}, { count => 0, next => undef, previous => undef, results => [] }, 'body';
    is_deeply okeys($r->{raw}), [qw(count next previous results)], 'top-level keys in order';
};

# --- pagination -------------------------------------------------------------------

my $PB = $t->fixture_project(org => $org);
$t->sql(q{
    INSERT INTO posthog_dashboard (name, description, team_id, pinned, created_at, created_by_id, deleted,
                                   filters, variables, breakdown_colors, creation_mode, restriction_level,
                                   quick_filter_ids, is_shared)
    SELECT format('Bulk %s', lpad(i::text, 3, '0')), '', $1, false, now(), $2, false,
           '{}', '{}', '[]', 'default', 21, '[]', false
      FROM generate_series(1, 105) i}, $PB, $w->{user});
my $AB = abs_base($PB);
my @BULK = map { sprintf 'Bulk %03d', $_ } 1 .. 105;

subtest 'default limit is 100' => sub {
    my $r = list($PB);
    is $r->{status}, 200, 'status';
    is $r->{json}{count}, 105, 'count';
    is scalar @{ $r->{json}{results} }, 100, '100 results';
    is_deeply names($r), [ @BULK[0 .. 99] ], 'first page in name order';
    is $r->{json}{next}, "$AB?limit=100&offset=100", 'next';
    is $r->{json}{previous}, undef, 'previous null';
};

subtest 'limit and offset' => sub {
    my $r = list($PB, 'limit=10&offset=20');
    is $r->{json}{count}, 105, 'count is the total';
    is_deeply names($r), [ @BULK[20 .. 29] ], 'page';
    is $r->{json}{next}, "$AB?limit=10&offset=30", 'next';
    is $r->{json}{previous}, "$AB?limit=10&offset=10", 'previous';

    $r = list($PB, 'offset=5&limit=10');
    is_deeply names($r), [ @BULK[5 .. 14] ], 'offset 5';
    is $r->{json}{next}, "$AB?limit=10&offset=15", 'next (params sorted by name)';
    is $r->{json}{previous}, "$AB?limit=10", 'previous drops offset when offset - limit < 0';

    $r = list($PB, 'limit=10&offset=10');
    is $r->{json}{previous}, "$AB?limit=10", 'previous drops offset when offset - limit = 0';

    $r = list($PB, 'limit=10&offset=100');
    is_deeply names($r), [ @BULK[100 .. 104] ], 'last page';
    is $r->{json}{next}, undef, 'next null on the last page';
    is $r->{json}{previous}, "$AB?limit=10&offset=90", 'previous';

    $r = list($PB, 'limit=10&offset=95');
    is $r->{json}{next}, undef, 'next null when offset + limit = count';

    $r = list($PB, 'offset=200');
    is $r->{status}, 200, 'offset past the end';
    is $r->{json}{count}, 105, 'count';
    is_deeply $r->{json}{results}, [], 'no results';
    is $r->{json}{next}, undef, 'next null';
    is $r->{json}{previous}, "$AB?limit=100&offset=100", 'previous';

    $r = list($PB, 'limit=1000');
    is scalar @{ $r->{json}{results} }, 105, 'no maximum limit';
    is $r->{json}{next}, undef, 'next null';
};

subtest 'invalid limit / offset fall back to the defaults' => sub {
    for my $q ('limit=abc', 'limit=0', 'limit=-5', 'limit=', 'limit=1.5') {
        my $r = list($PB, $q);
        is $r->{status}, 200, "$q: 200";
        is scalar @{ $r->{json}{results} // [] }, 100, "$q: 100 results";
        is $r->{json}{next}, "$AB?limit=100&offset=100", "$q: next carries the default limit";
    }
    for my $q ('offset=xyz', 'offset=-3', 'offset=') {
        my $r = list($PB, "limit=5&$q");
        is $r->{status}, 200, "$q: 200";
        is_deeply names($r), [ @BULK[0 .. 4] ], "$q: offset 0";
        is $r->{json}{previous}, undef, "$q: previous null";
        is $r->{json}{next}, "$AB?limit=5&offset=5", "$q: next";
    }
};

subtest 'next / previous keep the other parameters, sorted and url-encoded' => sub {
    # DRF replace_query_param(): parse_qs, set limit/offset, urlencode(sorted(...), doseq)
    my $r = list($PB, 'zeta=1&limit=3&alpha=x%2Fy+z&offset=3&q=%C3%A9');
    is $r->{status}, 200, 'status';
    is $r->{json}{next}, "$AB?alpha=x%2Fy+z&limit=3&offset=6&q=%C3%A9&zeta=1", 'next';
    is $r->{json}{previous}, "$AB?alpha=x%2Fy+z&limit=3&q=%C3%A9&zeta=1", 'previous without offset';

    $r = list($PB, 'x=2&limit=2&x=1&offset=4');
    is $r->{json}{next}, "$AB?limit=2&offset=6&x=2&x=1", 'repeated parameter keeps its values in order';
    is $r->{json}{previous}, "$AB?limit=2&offset=2&x=2&x=1", 'previous';

    $r = list($PB, 'search=bulk&limit=50');
    is $r->{json}{count}, 105, 'search matches all';
    is $r->{json}{next}, "$AB?limit=50&offset=50&search=bulk", 'search kept in next';
};

# --- search ----------------------------------------------------------------------------

my $PS = $t->fixture_project(org => $org);
my %S;
$S{overview}  = dash($PS, name => 'Revenue Overview');
$S{marketing} = dash($PS, name => 'Marketing', description => 'All about REVENUE growth');
$S{ops}       = dash($PS, name => 'Ops', pinned => 1, tags => ['revenue-kpi']);
$S{exact}     = dash($PS, name => 'revenue');
$S{sales}     = dash($PS, name => 'Sales', description => 'nothing', tags => ['sales']);
$S{pct}       = dash($PS, name => '100% real');
$S{under}     = dash($PS, name => 'a_b test');
$S{axb}       = dash($PS, name => 'axb test');
$S{deleted}   = dash($PS, name => 'Deleted revenue', deleted => 1);
$S{unlisted}  = dash($PS, name => 'Unlisted revenue', creation_mode => 'unlisted');

subtest 'search: name, description and tag names, case-insensitive' => sub {
    my $r = list($PS, 'search=revenue');
    is $r->{status}, 200, 'status';
    is $r->{json}{count}, 4, 'count';
    # exact (full-name) match first, then pinned, then name
    is_deeply names($r), ['revenue', 'Ops', 'Marketing', 'Revenue Overview'], 'matches and order';
    is_deeply [ map { $_->{search_match_type} } @{ $r->{json}{results} } ], [ ('exact') x 4 ],
        'search_match_type exact';

    $r = list($PS, 'search=REVENUE');
    is_deeply names($r), ['revenue', 'Ops', 'Marketing', 'Revenue Overview'], 'upper-case search';

    $r = list($PS, 'search=Kpi');
    is_deeply names($r), ['Ops'], 'tag name substring';

    $r = list($PS, 'search=about+rev');
    is_deeply names($r), ['Marketing'], 'description substring (with a space)';

    $r = list($PS, 'search=zzz');
    is $r->{json}{count}, 0, 'no match';
    is_deeply $r->{json}{results}, [], 'no results';
};

subtest 'search: % and _ are literal characters' => sub {
    my $r = list($PS, 'search=%25');
    is_deeply names($r), ['100% real'], '% matches only a literal %';
    $r = list($PS, 'search=a_b');
    is_deeply names($r), ['a_b test'], '_ matches only a literal _';
    $r = list($PS, 'search=_');
    is_deeply names($r), ['a_b test'], 'a lone _';
};

subtest 'search: empty, blank and padded terms' => sub {
    my $r = list($PS, 'search=');
    is $r->{json}{count}, 8, 'empty search: no filtering';
    is_deeply [ grep { defined } map { $_->{search_match_type} } @{ $r->{json}{results} } ], [],
        'empty search: search_match_type null';
    # PostHog strips the term (normalize_search_term) before matching; a
    # blank term then does not filter at all and leaves search_match_type null
    $r = list($PS, 'search=%20revenue%20');
    is_deeply names($r), ['revenue', 'Ops', 'Marketing', 'Revenue Overview'], 'padded term is stripped';
    $r = list($PS, 'search=%20%20');
    is $r->{json}{count}, 8, 'blank term: no filtering';
    is_deeply [ grep { defined } map { $_->{search_match_type} } @{ $r->{json}{results} // [] } ], [],
        'blank term: search_match_type null';
};

subtest 'search longer than 200 characters' => sub {
    my $err = { type => 'validation_error', code => 'invalid_input',
                detail => 'Search query must be 200 characters or fewer.', attr => 'search' };
    my $r = list($PS, 'search=' . ('a' x 201));
    is $r->{status}, 400, '201 characters: 400';
    is_deeply $r->{json}, $err, 'error body';
    is_deeply okeys($r->{raw}), [qw(type code detail attr)], 'error keys in order';

    $r = list($PS, 'search=' . ('a' x 200));
    is $r->{status}, 200, '200 characters: 200';
    is $r->{json}{count}, 0, 'no match';

    # characters, not bytes
    $r = list($PS, 'search=' . ('%C3%A9' x 200));
    is $r->{status}, 200, '200 two-byte characters: 200';
    $r = list($PS, 'search=' . ('%C3%A9' x 201));
    is $r->{status}, 400, '201 two-byte characters: 400';
    is_deeply $r->{json}, $err, 'error body';
};

subtest 'unlisted and deleted dashboards' => sub {
    my $r = list($PS);
    is $r->{json}{count}, 8, 'unlisted and deleted not listed';
    ok !(grep { $_ eq 'Deleted revenue' || $_ eq 'Unlisted revenue' } @{ names($r) }), 'neither name';
    $r = list($PS, 'creation_mode=unlisted');
    is_deeply names($r), ['Unlisted revenue'], 'creation_mode=unlisted lists them';
    $r = list($PS, 'creation_mode=unlisted&search=revenue');
    is_deeply names($r), ['Unlisted revenue'], 'with search';
    $t->sql('UPDATE posthog_dashboard SET creation_mode = $2 WHERE id = $1', $S{deleted}, 'unlisted');
    $r = list($PS, 'creation_mode=unlisted');
    is_deeply names($r), ['Unlisted revenue'], 'a deleted one never';
};

# --- tags ------------------------------------------------------------------------------------

my $PT = $t->fixture_project(org => $org);
dash($PT, name => 'Alpha', tags => [qw(a b)]);
dash($PT, name => 'Beta', tags => ['b']);
dash($PT, name => 'Gamma', tags => ['c']);
dash($PT, name => 'Delta', tags => ['KPI']);
dash($PT, name => 'Epsilon');

subtest 'tags filter' => sub {
    my $r = list($PT, 'tags=a');
    is_deeply names($r), ['Alpha'], 'one tag';
    $r = list($PT, 'tags=b');
    is_deeply names($r), [qw(Alpha Beta)], 'shared tag';
    $r = list($PT, 'tags=a&tags=b');
    is $r->{json}{count}, 2, 'any of: no duplicates in count';
    is_deeply names($r), [qw(Alpha Beta)], 'any of: no duplicates in results';
    $r = list($PT, 'tags=a&tags=c');
    is_deeply names($r), [qw(Alpha Gamma)], 'any of two';
    $r = list($PT, 'tags=kpi');
    is $r->{json}{count}, 0, 'exact names: kpi does not match KPI';
    $r = list($PT, 'tags=KPI');
    is_deeply names($r), ['Delta'], 'exact name';
    $r = list($PT, 'tags=nope');
    is $r->{json}{count}, 0, 'unknown tag';
    $r = list($PT, 'tags=b&limit=1');
    is $r->{json}{count}, 2, 'count with limit';
    is $r->{json}{next}, abs_base($PT) . '?limit=1&offset=1&tags=b', 'next keeps tags';

    $r = list($PT);
    my %tags = map { $_->{name} => $_->{tags} } @{ $r->{json}{results} };
    is_deeply \%tags, { Alpha => [qw(a b)], Beta => ['b'], Gamma => ['c'], Delta => ['KPI'], Epsilon => [] },
        'tags on the items ([] when none)';
};

# --- creation_mode, exclude_generated -----------------------------------------------------------

my $PM = $t->fixture_project(org => $org);
dash($PM, name => 'Default one');
dash($PM, name => 'Template one', creation_mode => 'template');
dash($PM, name => 'Dup one', creation_mode => 'duplicate');
dash($PM, name => 'Unlisted one', creation_mode => 'unlisted');
dash($PM, name => 'Generated Dashboard 1');
dash($PM, name => 'generated dashboard lower');
dash($PM, name => undef);
dash($PM, name => 'Deleted one', deleted => 1);

sub name_set { [ sort map { $_ // '(null)' } @{ names($_[0]) } ] }

subtest 'creation_mode filter' => sub {
    my $r = list($PM);
    is_deeply name_set($r), [ sort '(null)', 'Default one', 'Template one', 'Dup one',
                                   'Generated Dashboard 1', 'generated dashboard lower' ], 'default list';
    $r = list($PM, 'creation_mode=template');
    is_deeply names($r), ['Template one'], 'template';
    $r = list($PM, 'creation_mode=duplicate');
    is_deeply names($r), ['Dup one'], 'duplicate';
    $r = list($PM, 'creation_mode=default');
    is_deeply name_set($r), [ sort '(null)', 'Default one', 'Generated Dashboard 1',
                                   'generated dashboard lower' ], 'default';
    $r = list($PM, 'creation_mode=nope');
    is $r->{json}{count}, 0, 'unknown mode: nothing';
};

subtest 'exclude_generated' => sub {
    my $r = list($PM, 'exclude_generated=true');
    is_deeply name_set($r), [ sort '(null)', 'Default one', 'Template one', 'Dup one',
                                   'generated dashboard lower' ],
        'names starting with "Generated Dashboard" dropped (case-sensitive), NULL names kept';
    $r = list($PM, 'exclude_generated=false');
    is $r->{json}{count}, 6, 'false: nothing dropped';
};

# --- order, scoping ---------------------------------------------------------------------------------

my $PO = $t->fixture_project(org => $org);
dash($PO, name => 'Charlie', pinned => 1);
dash($PO, name => 'Alpha');
dash($PO, name => 'Bravo', pinned => 1);
dash($PO, name => 'Delta');

subtest 'order: pinned first, then name' => sub {
    my $r = list($PO);
    is_deeply names($r), [qw(Bravo Charlie Alpha Delta)], 'order';
    is_deeply [ map { $_->{pinned} ? 1 : 0 } @{ $r->{json}{results} } ], [ 1, 1, 0, 0 ], 'pinned flags';
};

subtest 'scoping: other projects never, other environments of the project always' => sub {
    my $env = $t->fixture_team(project => $PO);
    my $e = dash($env, name => 'Echo');
    my $o2 = $t->fixture_org;
    my $foreign_project = $t->fixture_project(org => $o2);
    dash($foreign_project, name => 'Foreign');
    my $other_project = $t->fixture_project(org => $org);
    dash($other_project, name => 'Sibling');

    my $r = list($PO);
    is_deeply names($r), [qw(Bravo Charlie Alpha Delta Echo)], 'environment dashboards listed';
    my ($echo) = grep { $_->{id} == $e } @{ $r->{json}{results} };
    is $echo->{team_id}, $env, 'team_id is the environment';
    for my $p ($PB, $PS, $PT, $PM, $PO) {
        my $all = list($p, 'limit=1000');
        ok !(grep { defined $_ && ($_ eq 'Foreign' || $_ eq 'Sibling') } @{ names($all) }),
            "project $p: no dashboards of other projects";
    }
    $r = list($foreign_project);
    is $r->{status}, 403, 'project of another organization: 403';
    is_deeply $r->{json}, { type => 'authentication_error', code => 'permission_denied',
                            detail => "You don't have access to the project.", attr => undef }, 'body';
};

# --- item shape ------------------------------------------------------------------------------------------

subtest 'list item: keys, order and values' => sub {
    my $p = $t->fixture_project(org => $org);
    my $creator = $t->fixture_user(org => $org, level => 1, first_name => 'Ada', last_name => 'Lovelace',
                                   is_email_verified => 1, role_at_organization => 'engineering',
                                   hedgehog_config => { color => 'blue' });
    my $d = $t->fixture_dashboard(team => $p, user => $creator, name => 'Shape', description => 'desc',
                                  tags => [qw(x a)],
                                  created_at => '2024-03-04 05:06:07.123456+00',
                                  last_accessed_at => '2024-03-05 01:02:03.5+00',
                                  last_refresh => '2024-03-06 00:00:00.000001+00');
    $t->insert(posthog_sharingconfiguration => { team_id => $p, dashboard_id => $d, enabled => 1 });
    $t->insert(posthog_filesystemviewlog => { team_id => $p, user_id => $w->{user}, type => 'dashboard',
                                              ref => "$d", viewed_at => '2024-03-07 08:09:10.25+00' });
    # someone else's view and another dashboard's view do not count
    $t->insert(posthog_filesystemviewlog => { team_id => $p, user_id => $creator, type => 'dashboard',
                                              ref => "$d", viewed_at => '2025-01-01 00:00:00+00' });
    my $bare = $t->fixture_dashboard(team => $p, user => undef, name => 'Zulu');
    $t->insert(posthog_sharingconfiguration => { team_id => $p, dashboard_id => $bare, enabled => 0 });

    my $r = list($p);
    is $r->{status}, 200, 'status';
    is_deeply okeys($r->{raw}, 'results', 0), \@LIST_KEYS, "item keys in DashboardBasicSerializer's order";
    is_deeply okeys($r->{raw}, 'results', 1), \@LIST_KEYS, 'second item keys';
    is_deeply okeys($r->{raw}, 'results', 0, 'created_by'), \@USER_KEYS, 'created_by keys in order';

    my $u = $t->row(posthog_user => $creator);
    my $item = $r->{json}{results}[0];
    is_deeply $item, {
        id => $d, name => 'Shape', description => 'desc', pinned => JSON::PP::false,
        created_at => '2024-03-04T05:06:07.123456Z',
        created_by => { id => $creator, uuid => $u->{uuid}, distinct_id => $u->{distinct_id},
                        first_name => 'Ada', last_name => 'Lovelace', email => $u->{email},
                        is_email_verified => JSON::PP::true, hedgehog_config => { color => 'blue' },
                        role_at_organization => 'engineering' },
        last_accessed_at => '2024-03-05T01:02:03.500000Z',
        last_viewed_at => '2024-03-07T08:09:10.250000Z',
        is_shared => JSON::PP::true, deleted => JSON::PP::false, creation_mode => 'default',
        tags => [qw(a x)], restriction_level => 21, effective_restriction_level => 21,
        effective_privilege_level => 37, user_access_level => 'manager', access_control_version => 'v2',
        last_refresh => '2024-03-06T00:00:00.000001Z', team_id => $p, search_match_type => undef,
    }, 'values (admin caller)';

    my $z = $r->{json}{results}[1];
    is $z->{name}, 'Zulu', 'second item';
    is $z->{created_by}, undef, 'created_by null without a creator';
    is $z->{is_shared}, JSON::PP::false, 'disabled sharing: is_shared false';
    is $z->{last_viewed_at}, undef, 'never viewed: last_viewed_at null';
    is $z->{last_accessed_at}, undef, 'last_accessed_at null';
    is_deeply $z->{tags}, [], 'tags []';
    like $z->{created_at}, $TS, 'created_at format';
    ok !exists $z->{tiles} && !exists $z->{filters}, 'no detail fields in the list';
};

# --- restrictions ----------------------------------------------------------------------------------------

subtest 'restricted dashboards are listed for plain members' => sub {
    my $adv = $t->world(no_default_key => 1,
        org => { available_product_features => [ { key => 'advanced_permissions', name => 'Advanced permissions' } ] });
    my $member = $t->fixture_user(org => $adv->{org}, level => 1);
    my $mkey = $t->fixture_key(user => $member, scopes => ['dashboard:read']);
    my $d = $t->fixture_dashboard(team => $adv->{team}, user => $adv->{user}, name => 'Locked',
                                  restriction_level => 37);
    my $open = $t->fixture_dashboard(team => $adv->{team}, user => $adv->{user}, name => 'Open');

    my $r = list($adv->{project}, undef, key => $mkey);
    is $r->{status}, 200, 'member: 200';
    is_deeply names($r), [qw(Locked Open)], 'the restricted dashboard is visible';
    my %by = map { $_->{name} => $_ } @{ $r->{json}{results} };
    is_deeply [ @{ $by{Locked} }{qw(restriction_level effective_restriction_level effective_privilege_level
                                     user_access_level access_control_version)} ],
        [ 37, 37, 21, 'editor', 'v1' ], 'restricted: member sees it read-only (v1; user_access_level is v2)';
    is_deeply [ @{ $by{Open} }{qw(restriction_level effective_restriction_level effective_privilege_level
                                   user_access_level access_control_version)} ],
        [ 21, 21, 37, 'editor', 'v2' ], 'open: member can edit';

    $r = list($adv->{project}, undef, key => $adv->{key});
    %by = map { $_->{name} => $_ } @{ $r->{json}{results} };
    is_deeply [ @{ $by{Locked} }{qw(effective_restriction_level effective_privilege_level user_access_level)} ],
        [ 37, 37, 'manager' ], 'creator (admin) can edit';

    # without the feature the restriction is not effective
    my $m2 = $t->fixture_user(org => $org, level => 1);
    my $k2 = $t->fixture_key(user => $m2);
    my $p = $t->fixture_project(org => $org);
    $t->fixture_dashboard(team => $p, user => $w->{user}, name => 'Locked', restriction_level => 37);
    $r = list($p, undef, key => $k2);
    is_deeply [ @{ $r->{json}{results}[0] }{qw(restriction_level effective_restriction_level
                                               effective_privilege_level user_access_level
                                               access_control_version)} ],
        [ 37, 21, 37, 'editor', 'v1' ], 'no advanced_permissions feature: effective level 21';
};

subtest 'read scope' => sub {
    my $k = $t->fixture_key(user => $w->{user}, scopes => ['dashboard:write']);
    is list($PO, undef, key => $k)->{status}, 200, 'dashboard:write satisfies dashboard:read';
    $k = $t->fixture_key(user => $w->{user}, scopes => ['insight:read']);
    my $r = list($PO, undef, key => $k);
    is $r->{status}, 403, 'other scope: 403';
    is_deeply $r->{json}, { type => 'authentication_error', code => 'permission_denied',
                            detail => "API key missing required scope 'dashboard:read'", attr => undef }, 'body';
};

done_testing;
