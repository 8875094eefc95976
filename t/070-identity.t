#!/usr/bin/perl
# What PostHog's SDKs and tools read before they touch dashboards:
# GET /api/users/@me/, GET /api/personal_api_keys/@current/ and
# GET /api/projects/:id/, compared with the fixture rows.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(is_error);
use Digest::SHA qw(sha256_hex);

my $t = Dash->new(auth_cache_ttl => 0);
my $w = $t->world(org => { name => 'Acme Analytics' });
my ($P, $ORG, $U, $KEY) = @$w{qw(project org user key)};

my $P2   = $t->fixture_project(org => $ORG, name => 'Second project');
my $E    = $t->fixture_team(project => $P, name => 'Staging');
my $ORG2 = $t->fixture_org(name => 'Other org');
my $P3   = $t->fixture_project(org => $ORG2, name => 'Other project');

$t->sql(q{UPDATE posthog_user SET first_name = 'Ada', last_name = 'Lovelace' WHERE id = $1}, $U);

sub get { $t->api(GET => @_) }

sub is_json_200 {
    my ($r, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is $r->{status}, 200, "$name: 200" or diag $r->{raw};
    like $r->{content_type}, qr{^application/json(?:;|$)}, "$name: Content-Type application/json";
    ok ref $r->{json} eq 'HASH', "$name: a JSON object";
}

# the keys of $h named in $keys
sub pick { my ($h, @keys) = @_; return { map { $_ => (ref $h eq 'HASH' ? $h->{$_} : undef) } @keys } }

# PostHog's (DRF's) timestamp form, from the database value
sub ts {
    my ($sql, @bind) = @_;
    return $t->sql_value(qq{SELECT to_char(($sql) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')}, @bind);
}

my $user = $t->row(posthog_user => $U);
my $team = $t->row(posthog_team => $P);
my $org  = $t->row(posthog_organization => $ORG);

# ---------------------------------------------------------------------------
# GET /api/users/@me/

my $r = get('/api/users/@me/');
is_json_200($r, '@me');
my $me = $r->{json} // {};

is_deeply pick($me, qw(id uuid distinct_id first_name last_name email)),
    { id => $U, uuid => $user->{uuid}, distinct_id => $user->{distinct_id}, first_name => 'Ada',
      last_name => 'Lovelace', email => $user->{email} },
    '@me: the user';
is_deeply pick($me->{team}, qw(id project_id organization api_token name)),
    { id => $P, project_id => $P, organization => $ORG, api_token => $team->{api_token}, name => $team->{name} },
    '@me: team (the current team)';
is_deeply pick($me->{organization}, qw(id name membership_level)),
    { id => $ORG, name => 'Acme Analytics', membership_level => 8 },
    '@me: organization (the current one, with the membership level)';
is ref $me->{organizations}, 'ARRAY', '@me: organizations is a list';
is_deeply [ map { pick($_, qw(id name membership_level)) } @{ $me->{organizations} // [] } ],
    [ { id => $ORG, name => 'Acme Analytics', membership_level => 8 } ],
    '@me: organizations';
ok !exists $me->{password}, '@me: no password';
unlike $r->{raw}, qr/\Q$KEY\E|sha256\$/, '@me: neither the key nor its stored form';

$r = get('/api/users/@me');
is_json_200($r, '@me without trailing slash');
is $r->{json}{id}, $U, '@me without trailing slash: the user';

$r = get("/api/users/\@me/?personal_api_key=$KEY", key => undef);
is_json_200($r, '@me with the key in the query string');
is $r->{json}{id}, $U, '@me with the key in the query string: the user';

# a user in two organizations, current team in the second project
{
    my $u = $t->fixture_user(org => $ORG, level => 1, team => $P2, first_name => 'Grace');
    $t->fixture_membership(org => $ORG2, user => $u, level => 15);
    my $k = $t->fixture_key(user => $u);
    my $row = $t->row(posthog_user => $u);
    $r = get('/api/users/@me/', key => $k);
    is_json_200($r, '@me of a member of two organizations');
    my $j = $r->{json} // {};
    is_deeply pick($j, qw(id uuid email first_name)),
        { id => $u, uuid => $row->{uuid}, email => $row->{email}, first_name => 'Grace' }, 'second user: the user';
    is_deeply pick($j->{team}, qw(id project_id organization name)),
        { id => $P2, project_id => $P2, organization => $ORG, name => 'Second project' },
        'second user: team is the second project';
    is_deeply pick($j->{organization}, qw(id name membership_level)),
        { id => $ORG, name => 'Acme Analytics', membership_level => 1 }, 'second user: organization, as a member';
    is_deeply { map { $_->{id} => $_->{membership_level} } @{ $j->{organizations} // [] } },
        { $ORG => 1, $ORG2 => 15 }, 'second user: both organizations with their levels';
    is_deeply [ sort map { $_->{name} } @{ $j->{organizations} // [] } ], [ 'Acme Analytics', 'Other org' ],
        'second user: organization names';
}

# a user whose current team is an extra environment
{
    my $u = $t->fixture_user(org => $ORG, level => 1, team => $E);
    my $k = $t->fixture_key(user => $u);
    $r = get('/api/users/@me/', key => $k);
    is_json_200($r, '@me with an environment as current team');
    is_deeply pick($r->{json}{team}, qw(id project_id name)), { id => $E, project_id => $P, name => 'Staging' },
        'environment as current team: team id is the environment, project_id its project';
}

# PostHog's User.team: with no current team, the current organization's first
# team (ordered by access_control, id) -- what SDKs read to find a project
{
    my $u = $t->fixture_user(org => $ORG, level => 1);
    $t->sql('UPDATE posthog_user SET current_team_id = NULL, current_organization_id = $2 WHERE id = $1', $u, $ORG);
    my $k = $t->fixture_key(user => $u);
    $r = get('/api/users/@me/', key => $k);
    is_json_200($r, '@me without a current team');
    is_deeply pick($r->{json}{team}, qw(id project_id)), { id => $P, project_id => $P },
        'no current team: the organization\'s first team';
    is $r->{json}{organization}{id}, $ORG, 'no current team: the current organization';
}

# ---------------------------------------------------------------------------
# GET /api/personal_api_keys/@current/

{
    # the world key: scope '*', no scoped teams or organizations
    $r = get('/api/personal_api_keys/@current/');
    is_json_200($r, '@current key of the world user');
    is $r->{json}{id}, $w->{key_id}, 'world key: its id';
    is $r->{json}{user_id}, $U, 'world key: user_id';
    is_deeply $r->{json}{scopes}, ['*'], "world key: scopes ['*']";
    ok !$r->{json}{scoped_teams} || !@{ $r->{json}{scoped_teams} }, 'world key: no scoped teams (null or [])';
    ok !$r->{json}{scoped_organizations} || !@{ $r->{json}{scoped_organizations} },
        'world key: no scoped organizations (null or [])';

    my $plain = 'phx_' . Dash::random_string(43);
    $t->fixture_key(user => $U, key => $plain, label => 'CI dashboards',
                    scopes => [ 'dashboard:read', 'personal_api_key:read' ], scoped_teams => [ $P, $P2 ],
                    scoped_organizations => [$ORG]);
    my $id = $t->key_id($plain);

    $r = get('/api/personal_api_keys/@current/', key => $plain);
    is_json_200($r, '@current key');
    my $j = $r->{json} // {};
    my $row = $t->row(posthog_personalapikey => $id);
    is_deeply pick($j, qw(id label mask_value user_id scopes scoped_teams scoped_organizations)),
        { id => $id, label => 'CI dashboards', mask_value => $row->{mask_value}, user_id => $U,
          scopes => [ 'dashboard:read', 'personal_api_key:read' ], scoped_teams => [ $P, $P2 ],
          scoped_organizations => [$ORG] },
        '@current key: id, label, mask_value, user_id, scopes, scoped_teams, scoped_organizations';
    is $row->{mask_value}, substr($plain, 0, 4) . '...' . substr($plain, -4), 'mask_value as the fixture stores it';
    like $j->{created_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, '@current key: created_at ISO 8601 UTC';
    is $j->{created_at}, ts('SELECT created_at FROM posthog_personalapikey WHERE id = $1', $id),
        '@current key: created_at of the row';
    ok defined $j->{last_used_at}, '@current key: last_used_at set by this very use';
    is $j->{last_used_at}, ts('SELECT last_used_at FROM posthog_personalapikey WHERE id = $1', $id),
        '@current key: last_used_at of the row';
    ok !exists $j->{secure_value}, '@current key: no secure_value';
    ok !defined $j->{value}, '@current key: no value';
    my $hex = sha256_hex($plain);
    unlike $r->{raw}, qr/\Q$plain\E|\Q$hex\E/, '@current key: neither the key nor its hash anywhere';

    $r = get('/api/personal_api_keys/@current', key => $plain);
    is $r->{status}, 200, '@current key without trailing slash: 200';
    is $r->{json}{id}, $id, '@current key without trailing slash: the key';

    $r = get("/api/personal_api_keys/\@current/?personal_api_key=$plain", key => undef);
    is $r->{status}, 200, '@current key, key in the query string: 200';
    is $r->{json}{id}, $id, '@current key, key in the query string: the key';

    # PostHog's serializer answers a legacy key's empty scopes as ["*"]
    # (to_representation: scopes or ["*"]) -- what it may do
    my $legacy = $t->fixture_key(user => $U, scopes => []);
    $r = get('/api/personal_api_keys/@current/', key => $legacy);
    is $r->{status}, 200, '@current legacy key: 200';
    is_deeply $r->{json}{scopes}, ['*'], "legacy key (scopes []): scopes answered as ['*']";

    is_error(get('/api/personal_api_keys/@current/', key => 'phx_nope'), 401, 'authentication_error',
             'authentication_failed', 'Personal API key found in request Authorization header is invalid.',
             undef, '@current with an invalid key');
    is_error(get('/api/personal_api_keys/@current/', key => undef), 401, 'authentication_error',
             'not_authenticated', 'Authentication credentials were not provided.', undef, '@current without a key');

    # no scope guards this endpoint in PostHog (PersonalAPIKeyViewSet has no
    # APIScopePermission; PersonalApiKeySelfAccessPermission only allows
    # retrieve of the key itself): a dashboard-only key reads its description
    my $ro = $t->fixture_key(user => $U, scopes => ['dashboard:read']);
    $r = get('/api/personal_api_keys/@current/', key => $ro);
    is $r->{status}, 200, '@current for a dashboard:read-only key: 200' or diag $r->{raw};
    is_deeply pick($r->{json}, qw(id scopes)), { id => $t->key_id($ro), scopes => ['dashboard:read'] },
        'dashboard:read-only key: its id and scopes';
}

# ---------------------------------------------------------------------------
# GET /api/projects/:id/

{
    my $project = $t->row(posthog_project => $P);
    $r = get("/api/projects/$P/");
    is_json_200($r, 'project');
    is_deeply pick($r->{json}, qw(id name organization api_token)),
        { id => $P, name => $project->{name}, organization => $ORG, api_token => $team->{api_token} },
        'project: id, name, organization, api_token';

    $r = get("/api/projects/$P");
    is $r->{status}, 200, 'project without trailing slash: 200';
    is $r->{json}{id}, $P, 'project without trailing slash: the project';

    $r = get("/api/projects/$P2/");
    is_deeply pick($r->{json}, qw(id name organization)), { id => $P2, name => 'Second project', organization => $ORG },
        'the second project';

    $r = get('/api/projects/@current/');
    is_json_200($r, 'project @current');
    is $r->{json}{id}, $P, 'project @current: the current team\'s project';

    my $u = $t->fixture_user(org => $ORG, level => 1, team => $E);
    my $k = $t->fixture_key(user => $u);
    $r = get('/api/projects/@current/', key => $k);
    is_deeply pick($r->{json}, qw(id name)), { id => $P, name => $project->{name} },
        'project @current of a user in an environment: the environment\'s project';

    my $pr = $t->fixture_key(user => $U, scopes => ['project:read']);
    is get("/api/projects/$P/", key => $pr)->{status}, 200, 'project:read: 200';

    my $ro = $t->fixture_key(user => $U, scopes => ['dashboard:read']);
    is_error(get("/api/projects/$P/", key => $ro), 403, 'authentication_error', 'permission_denied',
             "API key missing required scope 'project:read'", undef, 'project with a dashboard-only key');

    my $sk = $t->fixture_key(user => $U, scopes => ['*'], scoped_teams => [$P2]);
    is_error(get("/api/projects/$P/", key => $sk), 403, 'authentication_error', 'permission_denied',
             "API key does not have access to the requested project: ID $P.", undef, 'project outside the key\'s teams');
    is get("/api/projects/$P2/", key => $sk)->{status}, 200, 'project inside the key\'s teams: 200';

    is_error(get("/api/projects/$P/", key => undef), 401, 'authentication_error', 'not_authenticated',
             'Authentication credentials were not provided.', undef, 'project without a key');

    # ProjectViewSet.safely_get_object: get_object_or_404 over the projects
    # the user can see -> DRF's plain 404 "Not found." for a project that does
    # not exist, one of another organization, and a team id that is not a
    # project id (this route takes project ids, /environments/ takes teams)
    is_error(get('/api/projects/999999/'), 404, 'invalid_request', 'not_found', 'Not found.',
             undef, 'project that does not exist');
    is_error(get("/api/projects/$P3/"), 404, 'invalid_request', 'not_found', 'Not found.',
             undef, 'project of an organization the user is not in');
    is_error(get("/api/projects/$E/"), 404, 'invalid_request', 'not_found', 'Not found.',
             undef, 'an environment id is not a project id');
}

done_testing;
