#!/usr/bin/perl
# Personal API keys (PostHog's posthog/auth.py and posthog/permissions.py;
# README.md "Access control"): where the key is found and in
# which order, the stored sha256 form, inactive users, scopes, scoped teams
# and organizations, organization membership, last_used_at, and the
# per-worker key cache.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(is_error);
use Dash::Raw qw(request);
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(time sleep);

# the cache off for everything but the cache tests at the end, so that rows
# changed in the database take effect at once
my $t = Dash->new(auth_cache_ttl => 0);
my $w = $t->world;
my ($P, $ORG, $U) = ($w->{project}, $w->{org}, $w->{user});
my $KEY = $w->{key};

my $P2   = $t->fixture_project(org => $ORG, name => 'Second');
my $ORG2 = $t->fixture_org(name => 'Elsewhere');
my $P3   = $t->fixture_project(org => $ORG2, name => 'Elsewhere project');

my $d1 = $t->fixture_dashboard(team => $P, user => $U, name => 'Alpha');
my $base = "/api/projects/$P/dashboards";

# another member of the organization, to tell whose key a request used
my $U2 = $t->fixture_user(org => $ORG, level => 8, team => $P);
my $K2 = $t->fixture_key(user => $U2);

# ---------------------------------------------------------------------------
# helpers

sub req { request($t, @_) }

sub denied { is_error($_[0], 403, 'authentication_error', 'permission_denied', $_[1], undef, $_[2]) }

sub missing_scope { denied($_[0], "API key missing required scope '$_[1]'", $_[2]) }

sub invalid_key {
    my ($r, $source, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is_error($r, 401, 'authentication_error', 'authentication_failed',
             "Personal API key found in request $source is invalid.", undef, $name);
}

sub no_credentials {
    my ($r, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is_error($r, 401, 'authentication_error', 'not_authenticated',
             'Authentication credentials were not provided.', undef, $name);
    like $r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/, "$name: WWW-Authenticate: Bearer";
}

sub ok_status {
    my ($r, $status, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is $r->{status}, $status, "$name: $status" or diag $r->{raw};
}

sub db_state {
    return $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'count', posthog_taggeditem => 'count');
}

# a write that must be refused: the answer, and nothing changed in PostgreSQL
sub refused_write {
    my ($name, $code, $check) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $before = db_state();
    my $r = $code->();
    $check->($r, $name);
    is db_state(), $before, "$name: database unchanged";
}

sub created_by {
    my ($r) = @_;
    return $t->sql_value('SELECT created_by_id FROM posthog_dashboard WHERE id = $1', ($r->{json} // {})->{id} // 0);
}

# ---------------------------------------------------------------------------
# where the key is found

my $r = req(GET => "$base/");
ok_status($r, 200, 'key in the Authorization header');
is $r->{json}{count}, 1, 'header key: the list';

$r = req(GET => "$base/", headers => { Authorization => "Bearer   $KEY  " });
ok_status($r, 200, 'header key with extra white space (trimmed)');

$r = req(POST => "$base/", key => undef, body => { name => 'Via body', personal_api_key => $KEY });
ok_status($r, 201, 'key in the body field personal_api_key (create)');
is created_by($r), $U, 'body key: created by its user';
is $t->sql_value(q{SELECT count(*) FROM posthog_dashboard d WHERE strpos(row_to_json(d)::text, $1) > 0}, $KEY),
    0, 'body key: the key is not stored with the dashboard';

$r = req(PATCH => "$base/$d1/", key => undef, body => { description => 'via body', personal_api_key => $KEY });
ok_status($r, 200, 'key in the body field (PATCH)');
is $t->row(posthog_dashboard => $d1)->{description}, 'via body', 'body key PATCH: written';

$r = req(GET => "$base/?personal_api_key=$KEY", key => undef);
ok_status($r, 200, 'key in the query string');
is $r->{json}{count}, 2, 'query key: the list';

$r = req(POST => "$base/?personal_api_key=$KEY", key => undef, body => { name => 'Via query' });
ok_status($r, 201, 'key in the query string (create)');
is created_by($r), $U, 'query key: created by its user';

$r = req(GET => "$base/?limit=5&personal_api_key=$KEY&offset=0", key => undef);
ok_status($r, 200, 'query key among other parameters');

# ---------------------------------------------------------------------------
# precedence: header > body > query (the first found is the only one tried)

$r = req(POST => "$base/", key => $KEY, body => { name => 'Header wins', personal_api_key => $K2 });
ok_status($r, 201, 'header and body keys');
is created_by($r), $U, 'header and body keys: the header key is used';

$r = req(POST => "$base/?personal_api_key=$KEY", key => undef, body => { name => 'Body wins', personal_api_key => $K2 });
ok_status($r, 201, 'body and query keys');
is created_by($r), $U2, 'body and query keys: the body key is used';

$r = req(GET => "$base/?personal_api_key=$K2", key => $KEY);
ok_status($r, 200, 'header and query keys');

refused_write('invalid header key, valid body key',
    sub { req(POST => "$base/", key => 'phx_invalid', body => { name => 'x', personal_api_key => $KEY }) },
    sub { invalid_key($_[0], 'Authorization header', $_[1]) });
refused_write('invalid body key, valid query key',
    sub { req(POST => "$base/?personal_api_key=$KEY", key => undef, body => { name => 'x', personal_api_key => 'phx_invalid' }) },
    sub { invalid_key($_[0], 'body', $_[1]) });
invalid_key(req(GET => "$base/?personal_api_key=$KEY", key => 'phx_invalid'),
            'Authorization header', 'invalid header key, valid query key');
$r = req(POST => "$base/?personal_api_key=phx_invalid", key => $KEY, body => { name => 'Header over bad query' });
ok_status($r, 201, 'valid header key, invalid query key');
$r = req(POST => "$base/", key => $KEY, body => { name => 'Header over bad body', personal_api_key => 'phx_invalid' });
ok_status($r, 201, 'valid header key, invalid body key');

# ---------------------------------------------------------------------------
# invalid keys, no key

$r = req(GET => "$base/", key => 'phx_' . ('a' x 43));
invalid_key($r, 'Authorization header', 'invalid header key');
# DRF answers 401 (rather than 403) only because the authenticator names a
# WWW-Authenticate challenge, and then sends it with every 401 (RFC 7235 too)
like $r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/, 'invalid key: WWW-Authenticate: Bearer';
refused_write('invalid body key',
    sub { req(POST => "$base/", key => undef, body => { name => 'x', personal_api_key => 'phx_nope' }) },
    sub { invalid_key($_[0], 'body', $_[1]) });
invalid_key(req(GET => "$base/?personal_api_key=phx_nope", key => undef), 'query string', 'invalid query key');
invalid_key(req(GET => "/api/users/\@me/", key => 'phx_nope'), 'Authorization header', 'invalid key on /api/users/@me/');

{
    my $off = $t->log_offset;
    no_credentials(req(GET => "$base/", key => undef), 'no key');
    refused_write('no key, create', sub { req(POST => "$base/", key => undef, body => { name => 'x' }) },
                  \&no_credentials);
    refused_write('no key, PATCH', sub { req(PATCH => "$base/$d1/", key => undef, body => { name => 'x' }) },
                  \&no_credentials);
    no_credentials(req(GET => "$base/", headers => { Authorization => "Basic dXNlcjpwYXNz" }), 'Basic credentials');
    no_credentials(req(GET => "$base/", headers => { Authorization => 'Bearer' }), 'Bearer without a token');
    no_credentials(req(GET => "/api/users/\@me/", key => undef), 'no key on /api/users/@me/');
    # the 401 is the whole answer: nothing runs after it (a statement that
    # finishes later and tries to answer again logs "header already sent")
    my @again = grep { /header already sent/ } split /\n/, $t->error_log(from => $off);
    ok !@again, 'no key: the request ends with the 401' or diag join "\n", @again;
}

# inactive users
{
    my $u = $t->fixture_user(org => $ORG, level => 8, team => $P, active => 0);
    my $k = $t->fixture_key(user => $u);
    invalid_key(req(GET => "$base/", key => $k), 'Authorization header', 'key of an inactive user');
    refused_write('inactive user, create', sub { req(POST => "$base/", key => $k, body => { name => 'x' }) },
                  sub { invalid_key($_[0], 'Authorization header', $_[1]) });
    $t->sql('UPDATE posthog_user SET is_active = true WHERE id = $1', $u);
    ok_status(req(GET => "$base/", key => $k), 200, 'the same key once the user is active again');
}

# the stored form: sha256$<lowercase hex of the whole key>, nothing else
{
    my $plain = 'phx_' . Dash::random_string(43);
    my $k = $t->fixture_key(user => $U, key => $plain);
    ok_status(req(GET => "$base/", key => $plain), 200, 'key stored as sha256$hex');
    my $stored = $t->sql_value('SELECT secure_value FROM posthog_personalapikey WHERE id = $1', $t->key_id($plain));
    is $stored, 'sha256$' . sha256_hex($plain), 'fixture stores sha256$hex';
    invalid_key(req(GET => "$base/", key => $stored), 'Authorization header', 'the stored value is not a key');
    invalid_key(req(GET => "$base/", key => uc $plain), 'Authorization header', 'the key in another case');
    invalid_key(req(GET => "$base/", key => substr($plain, 4)), 'Authorization header', 'the key without its prefix');

    my $p2 = 'phx_' . Dash::random_string(43);
    $t->fixture_key(user => $U, key => $p2, secure_value => $p2);
    invalid_key(req(GET => "$base/", key => $p2), 'Authorization header', 'key stored in plain text does not match');

    my $p3 = 'phx_' . Dash::random_string(43);
    $t->fixture_key(user => $U, key => $p3, secure_value => 'sha256$' . uc sha256_hex($p3));
    invalid_key(req(GET => "$base/", key => $p3), 'Authorization header', 'upper-case hex does not match');

    my $p4 = 'phx_' . Dash::random_string(43);
    $t->fixture_key(user => $U, key => $p4, secure_value => undef, value => $p4);
    invalid_key(req(GET => "$base/", key => $p4), 'Authorization header', 'the deprecated value column is not used');

    # keys without the phx_ prefix are accepted when stored (legacy keys)
    my $p5 = Dash::random_string(40);
    $t->fixture_key(user => $U, key => $p5);
    ok_status(req(GET => "$base/", key => $p5), 200, 'legacy key without the phx_ prefix');
}

# ---------------------------------------------------------------------------
# scopes

{
    my $all = $t->fixture_key(user => $U, scopes => ['*']);
    ok_status(req(GET => "$base/", key => $all), 200, "scope '*': list");
    ok_status(req(GET => "$base/$d1/", key => $all), 200, "scope '*': retrieve");
    ok_status(req(POST => "$base/", key => $all, body => { name => 'star' }), 201, "scope '*': create");
    ok_status(req(PATCH => "$base/$d1/", key => $all, body => { description => 'star' }), 200, "scope '*': update");
    ok_status(req(GET => "/api/users/\@me/", key => $all), 200, "scope '*': /api/users/\@me/");
}

{
    my $ro = $t->fixture_key(user => $U, scopes => ['dashboard:read']);
    ok_status(req(GET => "$base/", key => $ro), 200, 'dashboard:read: list');
    ok_status(req(GET => "$base/$d1/", key => $ro), 200, 'dashboard:read: retrieve');
    ok_status(req(GET => "$base/?personal_api_key=$ro", key => undef), 200, 'dashboard:read: list, key in the query');

    my $name = $t->row(posthog_dashboard => $d1)->{name};
    refused_write('dashboard:read: PATCH',
        sub { req(PATCH => "$base/$d1/", key => $ro, body => { name => 'written by a read-only key' }) },
        sub { missing_scope($_[0], 'dashboard:write', $_[1]) });
    is $t->row(posthog_dashboard => $d1)->{name}, $name, 'dashboard:read: the name is unchanged';
    refused_write('dashboard:read: PUT',
        sub { req(PUT => "$base/$d1/", key => $ro, body => { name => 'written by a read-only key' }) },
        sub { missing_scope($_[0], 'dashboard:write', $_[1]) });
    refused_write('dashboard:read: POST',
        sub { req(POST => "$base/", key => $ro, body => { name => 'created by a read-only key' }) },
        sub { missing_scope($_[0], 'dashboard:write', $_[1]) });
    refused_write('dashboard:read: POST, key in the body',
        sub { req(POST => "$base/", key => undef, body => { name => 'created by a read-only key', personal_api_key => $ro }) },
        sub { missing_scope($_[0], 'dashboard:write', $_[1]) });
    is $t->sql_value(q{SELECT count(*) FROM posthog_dashboard WHERE name LIKE '%read-only key'}), 0,
        'dashboard:read: nothing was written';

    # has_permission runs before the object is loaded
    refused_write('dashboard:read: PATCH of a dashboard that does not exist',
        sub { req(PATCH => "$base/999999/", key => $ro, body => { name => 'x' }) },
        sub { missing_scope($_[0], 'dashboard:write', $_[1]) });
    # and for a dashboard of another project
    my $other = $t->fixture_dashboard(team => $P2, user => $U, name => 'Other');
    missing_scope(req(PATCH => "$base/$other/", key => $ro, body => { name => 'x' }), 'dashboard:write',
                  'dashboard:read: PATCH of a dashboard of another project');
    missing_scope(req(GET => "/api/users/\@me/", key => $ro), 'user:read', 'dashboard:read: /api/users/@me/');
}

{
    my $rw = $t->fixture_key(user => $U, scopes => ['dashboard:write']);
    ok_status(req(GET => "$base/", key => $rw), 200, 'dashboard:write satisfies dashboard:read: list');
    ok_status(req(GET => "$base/$d1/", key => $rw), 200, 'dashboard:write satisfies dashboard:read: retrieve');
    $r = req(PATCH => "$base/$d1/", key => $rw, body => { description => 'rw' });
    ok_status($r, 200, 'dashboard:write: PATCH');
    is $t->row(posthog_dashboard => $d1)->{description}, 'rw', 'dashboard:write: PATCH written';
    ok_status(req(POST => "$base/", key => $rw, body => { name => 'rw' }), 201, 'dashboard:write: create');
    missing_scope(req(GET => "/api/users/\@me/", key => $rw), 'user:read', 'dashboard:write: /api/users/@me/');
}

{
    my $ins = $t->fixture_key(user => $U, scopes => ['insight:read']);
    missing_scope(req(GET => "$base/", key => $ins), 'dashboard:read', 'insight:read: list');
    missing_scope(req(GET => "$base/$d1/", key => $ins), 'dashboard:read', 'insight:read: retrieve');
    missing_scope(req(GET => "$base/999999/", key => $ins), 'dashboard:read',
                  'insight:read: retrieve of a dashboard that does not exist (403, not 404)');
    refused_write('insight:read: create', sub { req(POST => "$base/", key => $ins, body => { name => 'x' }) },
                  sub { missing_scope($_[0], 'dashboard:write', $_[1]) });

    my $ins_w = $t->fixture_key(user => $U, scopes => ['insight:write']);
    missing_scope(req(GET => "$base/", key => $ins_w), 'dashboard:read', 'insight:write does not cover dashboards');

    my $bare = $t->fixture_key(user => $U, scopes => ['dashboard']);
    missing_scope(req(GET => "$base/", key => $bare), 'dashboard:read', "scope 'dashboard' without an action");

    my $mixed = $t->fixture_key(user => $U, scopes => ['insight:read', 'dashboard:write', 'user:read']);
    ok_status(req(POST => "$base/", key => $mixed, body => { name => 'mixed' }), 201, 'several scopes: create');
    ok_status(req(GET => "/api/users/\@me/", key => $mixed), 200, 'several scopes: /api/users/@me/');
}

# legacy keys: no scopes at all may do anything
{
    my $legacy = $t->fixture_key(user => $U, scopes => []);
    ok_status(req(GET => "$base/", key => $legacy), 200, 'scopes [] (legacy): list');
    ok_status(req(POST => "$base/", key => $legacy, body => { name => 'legacy' }), 201, 'scopes [] (legacy): create');
    ok_status(req(PATCH => "$base/$d1/", key => $legacy, body => { description => 'legacy' }), 200,
              'scopes [] (legacy): PATCH');
    ok_status(req(GET => "/api/users/\@me/", key => $legacy), 200, 'scopes [] (legacy): /api/users/@me/');

    my $null = $t->fixture_key(user => $U, scopes => ['*']);
    $t->sql('UPDATE posthog_personalapikey SET scopes = NULL WHERE id = $1', $t->key_id($null));
    ok_status(req(GET => "$base/", key => $null), 200, 'scopes NULL (legacy): list');
    ok_status(req(POST => "$base/", key => $null, body => { name => 'legacy null' }), 201, 'scopes NULL (legacy): create');
}

# /api/users/@me/ needs user:read (or user:write)
{
    my $ur = $t->fixture_key(user => $U, scopes => ['user:read']);
    ok_status(req(GET => "/api/users/\@me/", key => $ur), 200, 'user:read: /api/users/@me/');
    missing_scope(req(GET => "$base/", key => $ur), 'dashboard:read', 'user:read: no dashboards');
    my $uw = $t->fixture_key(user => $U, scopes => ['user:write']);
    ok_status(req(GET => "/api/users/\@me/", key => $uw), 200, 'user:write satisfies user:read');
}

# ---------------------------------------------------------------------------
# scoped teams and organizations, membership

{
    my $k = $t->fixture_key(user => $U, scopes => ['*'], scoped_teams => [$P2]);
    denied(req(GET => "$base/", key => $k), "API key does not have access to the requested project: ID $P.",
           'scoped_teams without the project: list');
    denied(req(GET => "$base/$d1/", key => $k), "API key does not have access to the requested project: ID $P.",
           'scoped_teams without the project: retrieve');
    refused_write('scoped_teams without the project: create',
        sub { req(POST => "$base/", key => $k, body => { name => 'outside the key\'s teams' }) },
        sub { denied($_[0], "API key does not have access to the requested project: ID $P.", $_[1]) });
    refused_write('scoped_teams without the project: PATCH',
        sub { req(PATCH => "$base/$d1/", key => $k, body => { name => 'outside the key\'s teams' }) },
        sub { denied($_[0], "API key does not have access to the requested project: ID $P.", $_[1]) });
    denied(req(GET => "/api/projects/\@current/dashboards/", key => $k),
           "API key does not have access to the requested project: ID $P.", 'scoped_teams: @current is checked too');
    ok_status(req(GET => "/api/projects/$P2/dashboards/", key => $k), 200, 'scoped_teams: the scoped project');
    ok_status(req(POST => "/api/projects/$P2/dashboards/", key => $k, body => { name => 'in P2' }), 201,
              'scoped_teams: create in the scoped project');

    my $both = $t->fixture_key(user => $U, scopes => ['*'], scoped_teams => [ $P2, $P ]);
    ok_status(req(GET => "$base/", key => $both), 200, 'scoped_teams containing the project');

    # scoped_teams with a limited scope: both checks apply
    my $ro = $t->fixture_key(user => $U, scopes => ['dashboard:read'], scoped_teams => [$P]);
    ok_status(req(GET => "$base/", key => $ro), 200, 'scoped_teams + dashboard:read: list');
    missing_scope(req(PATCH => "$base/$d1/", key => $ro, body => { name => 'x' }), 'dashboard:write',
                  'scoped_teams + dashboard:read: PATCH');
}

{
    my $k = $t->fixture_key(user => $U, scopes => ['*'], scoped_organizations => [$ORG2]);
    denied(req(GET => "$base/", key => $k), "API key does not have access to the requested organization: ID $ORG.",
           'scoped_organizations without the organization: list');
    refused_write('scoped_organizations without the organization: create',
        sub { req(POST => "$base/", key => $k, body => { name => 'outside the key\'s organizations' }) },
        sub { denied($_[0], "API key does not have access to the requested organization: ID $ORG.", $_[1]) });
    refused_write('scoped_organizations without the organization: PATCH',
        sub { req(PATCH => "$base/$d1/", key => $k, body => { name => 'outside the key\'s organizations' }) },
        sub { denied($_[0], "API key does not have access to the requested organization: ID $ORG.", $_[1]) });

    my $own = $t->fixture_key(user => $U, scopes => ['*'], scoped_organizations => [$ORG]);
    ok_status(req(GET => "$base/", key => $own), 200, 'scoped_organizations with the organization');
    my $two = $t->fixture_key(user => $U, scopes => ['*'], scoped_organizations => [ $ORG2, $ORG ]);
    ok_status(req(GET => "$base/", key => $two), 200, 'scoped_organizations listing two organizations');
}

{
    my $out = $t->fixture_user(org => $ORG2, level => 15, team => $P3);
    my $k = $t->fixture_key(user => $out);
    denied(req(GET => "$base/", key => $k), "You don't have access to the project.", 'non-member: list');
    denied(req(GET => "$base/$d1/", key => $k), "You don't have access to the project.", 'non-member: retrieve');
    refused_write('non-member: create', sub { req(POST => "$base/", key => $k, body => { name => 'intruder' }) },
                  sub { denied($_[0], "You don't have access to the project.", $_[1]) });
    refused_write('non-member: PATCH', sub { req(PATCH => "$base/$d1/", key => $k, body => { name => 'intruder' }) },
                  sub { denied($_[0], "You don't have access to the project.", $_[1]) });
    ok_status(req(GET => "/api/projects/$P3/dashboards/", key => $k), 200, "non-member of project $P: own project works");

    # membership removed: refused from the next request on
    my $m = $t->fixture_user(org => $ORG, level => 1, team => $P);
    my $km = $t->fixture_key(user => $m);
    ok_status(req(GET => "$base/", key => $km), 200, 'member: list');
    $t->sql('DELETE FROM posthog_organizationmembership WHERE user_id = $1', $m);
    denied(req(GET => "$base/", key => $km), "You don't have access to the project.", 'former member: list');
}

# ---------------------------------------------------------------------------
# last_used_at: set on first use, refreshed only when older than an hour

{
    my $k = $t->fixture_key(user => $U);
    my $id = $t->key_id($k);
    my $get = sub { $t->sql_value('SELECT last_used_at FROM posthog_personalapikey WHERE id = $1', $id) };
    is $get->(), undef, 'last_used_at: NULL before the first use';

    ok_status(req(GET => "$base/", key => $k), 200, 'last_used_at: first use');
    is $t->sql_value(q{SELECT last_used_at > now() - interval '1 minute' FROM posthog_personalapikey WHERE id = $1}, $id),
       't', 'last_used_at: set on first use';

    $t->sql(q{UPDATE posthog_personalapikey SET last_used_at = now() - interval '30 minutes' WHERE id = $1}, $id);
    my $before = $get->();
    ok_status(req(GET => "$base/", key => $k), 200, 'last_used_at 30 minutes old: request');
    ok_status(req(GET => "$base/$d1/", key => $k), 200, 'last_used_at 30 minutes old: another request');
    is $get->(), $before, 'last_used_at 30 minutes old: not updated';

    $t->sql(q{UPDATE posthog_personalapikey SET last_used_at = now() - interval '2 hours' WHERE id = $1}, $id);
    ok_status(req(GET => "$base/", key => $k), 200, 'last_used_at 2 hours old: request');
    is $t->sql_value(q{SELECT last_used_at > now() - interval '1 minute' FROM posthog_personalapikey WHERE id = $1}, $id),
       't', 'last_used_at 2 hours old: updated';

    # keys in the body and in the query string count as uses too
    $t->sql(q{UPDATE posthog_personalapikey SET last_used_at = NULL WHERE id = $1}, $id);
    ok_status(req(GET => "$base/?personal_api_key=$k", key => undef), 200, 'last_used_at: query key');
    isnt $get->(), undef, 'last_used_at: set by a query-string key';

    # another key's use does not touch it
    $t->sql(q{UPDATE posthog_personalapikey SET last_used_at = now() - interval '3 hours' WHERE id = $1}, $id);
    $before = $get->();
    ok_status(req(GET => "$base/", key => $KEY), 200, 'another key');
    is $get->(), $before, 'last_used_at: only the key used is updated';
}

# ---------------------------------------------------------------------------
# the key cache (README.md, the dashboards_auth_cache_ttl directive)

# ttl 0: a key deleted from the database stops working at once
{
    my $k = $t->fixture_key(user => $U);
    ok_status(req(GET => "$base/", key => $k), 200, 'ttl 0: key works');
    $t->sql('DELETE FROM posthog_personalapikey WHERE id = $1', $t->key_id($k));
    invalid_key(req(GET => "$base/", key => $k), 'Authorization header', 'ttl 0: deleted key refused at once');

    my $k2 = $t->fixture_key(user => $U, scopes => ['dashboard:write']);
    ok_status(req(GET => "$base/", key => $k2), 200, 'ttl 0: write key lists');
    $t->sql(q{UPDATE posthog_personalapikey SET scopes = '{insight:read}' WHERE id = $1}, $t->key_id($k2));
    missing_scope(req(GET => "$base/", key => $k2), 'dashboard:read', 'ttl 0: changed scopes apply at once');
}

# default ttl (10s): a revoked key keeps working until its cache entry expires
# (documented in README.md: the TTL bounds how long a revoked key works)
$t->reload(auth_cache_ttl => undef);
{
    my $k = $t->fixture_key(user => $U);
    ok_status(req(GET => "$base/", key => $k), 200, 'default ttl: key works');
    $t->sql('DELETE FROM posthog_personalapikey WHERE id = $1', $t->key_id($k));
    ok_status(req(GET => "$base/", key => $k), 200, 'default ttl: deleted key still served from the cache');

    # an invalid key is not cached as valid, a valid one does not make an invalid one pass
    invalid_key(req(GET => "$base/", key => $k . 'x'), 'Authorization header', 'default ttl: invalid key still refused');
}

# a short ttl: the cached entry expires
$t->reload(auth_cache_ttl => 2);
{
    my $k = $t->fixture_key(user => $U);
    my $t0 = time;
    ok_status(req(GET => "$base/", key => $k), 200, 'ttl 2s: key works');
    $t->sql('DELETE FROM posthog_personalapikey WHERE id = $1', $t->key_id($k));
    ok_status(req(GET => "$base/", key => $k), 200, 'ttl 2s: deleted key works within the ttl');
    sleep(2.2 - (time - $t0)) if time - $t0 < 2.2;
    invalid_key(req(GET => "$base/", key => $k), 'Authorization header', 'ttl 2s: deleted key refused after the ttl');
}

done_testing;
