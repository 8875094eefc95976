#!/usr/bin/perl
# Routing (PostHog's TeamAndOrgViewSetMixin), methods, content types and bad
# request bodies (drf-exceptions-hog's error bodies):
# what reaches which endpoint, what is answered before authentication, and
# that a refused request leaves PostgreSQL untouched.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(is_error);
use Dash::Raw qw(request);

my $t = Dash->new(location_extra => 'client_max_body_size 1k;');
my $w = $t->world;
my ($P, $ORG) = ($w->{project}, $w->{org});

# a second project in the same organization, an extra environment of $P
my $P2 = $t->fixture_project(org => $ORG, name => 'Second');
my $E  = $t->fixture_team(project => $P, name => 'Staging');

my $d1 = $t->fixture_dashboard(team => $P,  user => $w->{user}, name => 'Alpha');
my $de = $t->fixture_dashboard(team => $E,  user => $w->{user}, name => 'Alpha staging');
my $d2 = $t->fixture_dashboard(team => $P2, user => $w->{user}, name => 'Beta');
my ($tile) = $t->fixture_text_tile(dashboard => $d1, body => 'note');

# ---------------------------------------------------------------------------
# helpers

sub req { request($t, @_) }

sub is_json_ct {
    my ($r, $name) = @_;
    like $r->{content_type}, qr{^application/json(?:;|$)}, "$name: Content-Type application/json";
}

sub not_found { is_error($_[0], 404, 'invalid_request', 'not_found', 'Not found.', undef, $_[1]) }
sub project_not_found {
    is_error($_[0], 404, 'invalid_request', 'not_found', 'Project not found.', undef, $_[1]);
}

sub names { [ sort map { $_->{name} } @{ $_[0]{json}{results} // [] } ] }

# every row a request could touch
sub db_state {
    return $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'rows',
                        posthog_text => 'count', posthog_tag => 'count', posthog_taggeditem => 'count');
}

my $base = "/api/projects/$P/dashboards";

# ---------------------------------------------------------------------------
# the collection, with and without the trailing slash; the environments alias

my $list = req(GET => "$base/");
is $list->{status}, 200, 'list: 200' or diag $list->{raw};
is_json_ct($list, 'list');
# every environment of the project is visible (PostHog: team__project_id)
is_deeply names($list), [ 'Alpha', 'Alpha staging' ], 'list: the dashboards of the project and its environments';
is $list->{json}{count}, 2, 'list: count';
is $list->{json}{next}, undef, 'list: next null';
is $list->{json}{previous}, undef, 'list: previous null';

my $r = req(GET => $base);
is $r->{status}, 200, 'list without trailing slash: 200';
is_deeply $r->{json}, $list->{json}, 'list without trailing slash: same answer';

$r = req(GET => "/api/environments/$P/dashboards/");
is $r->{status}, 200, 'environments alias: 200';
is_deeply $r->{json}, $list->{json}, 'environments alias: same answer as /projects/';

$r = req(GET => "/api/environments/$P/dashboards");
is $r->{status}, 200, 'environments alias without trailing slash: 200';
is_deeply $r->{json}, $list->{json}, 'environments alias without trailing slash: same answer';

# an environment id resolves to its team, whose project's dashboards are listed
$r = req(GET => "/api/environments/$E/dashboards/");
is $r->{status}, 200, 'environment id of a non-main environment: 200';
is_deeply names($r), [ 'Alpha', 'Alpha staging' ], 'environment id: the whole project is listed';

$r = req(GET => "/api/projects/$P2/dashboards/");
is_deeply names($r), [ 'Beta' ], 'the other project lists only its own dashboard';

# the object, with and without the trailing slash
for my $path ("$base/$d1/", "$base/$d1", "/api/environments/$P/dashboards/$d1/") {
    $r = req(GET => $path);
    is $r->{status}, 200, "GET $path: 200" or diag $r->{raw};
    is_json_ct($r, "GET $path");
    is $r->{json}{id}, $d1, "GET $path: the dashboard";
    is $r->{json}{name}, 'Alpha', "GET $path: its name";
}

# a dashboard of another project is not found through this project
not_found(req(GET => "$base/$d2/"), 'dashboard of another project');

# ---------------------------------------------------------------------------
# @current: the authenticated user's current team

$r = req(GET => "/api/projects/\@current/dashboards/");
is $r->{status}, 200, '@current: 200' or diag $r->{raw};
is_deeply names($r), names($list), '@current = the current team of the world user';
is $r->{json}{count}, 2, '@current: count';

{
    my $u = $t->fixture_user(org => $ORG, level => 1, team => $P2);
    my $k = $t->fixture_key(user => $u);
    $r = req(GET => "/api/projects/\@current/dashboards/", key => $k);
    is $r->{status}, 200, '@current of a user whose current team is the second project';
    is_deeply names($r), [ 'Beta' ], '@current: resolves to that project';
    $r = req(GET => "/api/projects/\@current/dashboards/$d2/", key => $k);
    is $r->{status}, 200, '@current on an object';
    is $r->{json}{id}, $d2, '@current on an object: the dashboard';
    $r = req(GET => "/api/environments/\@current/dashboards", key => $k);
    is_deeply names($r), [ 'Beta' ], '@current on the environments alias';
}

# PostHog's TeamAndOrgViewSetMixin: @current means the user's current team's
# PROJECT. A user whose current team is a non-main environment ($E of $P)
# creates through @current against the project's team ($P): team_id =
# project id, as PostHog's KLUDGE (the main environment of a project has the
# project's id).
{
    my $u = $t->fixture_user(org => $ORG, level => 1, team => $E);
    my $k = $t->fixture_key(user => $u);
    $r = req(POST => "/api/projects/\@current/dashboards/", key => $k, body => { name => 'Via current' });
    is $r->{status}, 201, '@current from an environment: create 201' or diag $r->{raw};
    my $id = $r->{json}{id} // 0;
    is $t->sql_value('SELECT team_id FROM posthog_dashboard WHERE id = $1', $id), $P,
        '@current from an environment: stored against the project\'s team';
    $t->sql('DELETE FROM posthog_dashboard WHERE id = $1', $id);
}

# PostHog's User.team falls back to the organization's first team (ordered by
# access_control, id) when current_team is NULL; @current follows it.
{
    my $u = $t->fixture_user(org => $ORG, level => 1);
    $t->sql('UPDATE posthog_user SET current_team_id = NULL, current_organization_id = $2 WHERE id = $1',
            $u, $ORG);
    my $k = $t->fixture_key(user => $u);
    $r = req(GET => "/api/projects/\@current/dashboards/", key => $k);
    is $r->{status}, 200, '@current without a current team: the organization\'s first team'
        or diag $r->{raw};
    is_deeply names($r), [ 'Alpha', 'Alpha staging' ], '@current without a current team: its dashboards';
}

# ---------------------------------------------------------------------------
# project ids that are not projects

for my $bad ('abc', '12abc', '1.5', '0x10', '@me', '%40current2', '1e3') {
    project_not_found(req(GET => "/api/projects/$bad/dashboards/"), "project id '$bad'");
}
project_not_found(req(GET => "/api/environments/abc/dashboards/"), 'environment id abc');
project_not_found(req(GET => "/api/projects/abc/dashboards/$d1/"), 'non-integer project id on an object');
project_not_found(req(GET => "/api/projects/999999/dashboards/"), 'project that does not exist');
project_not_found(req(GET => "/api/projects/0/dashboards/"), 'project 0');
project_not_found(req(GET => "/api/projects/999999/dashboards/$d1/"), 'object in a project that does not exist');
# integers beyond PostgreSQL's int4: still just a project that does not exist
project_not_found(req(GET => "/api/projects/2147483648/dashboards/"), 'project id 2^31');
project_not_found(req(GET => "/api/projects/99999999999999/dashboards/"), 'project id 99999999999999');

# ---------------------------------------------------------------------------
# unknown paths: a JSON 404 before authentication

for my $path ('/api/nope/', '/api/nope', "/api/projects/$P/nope/", "/api/projects/$P/dashboards/$d1/nope/",
              "/api/projects/$P/dashboards/$d1/1/", "/api/projects/$P/dashboard/",
              '/api/users/nope/', '/api/users/@me/x/')
{
    not_found(req(GET => $path, key => undef), "$path without a key");
}
not_found(req(GET => '/api/nope/', key => 'phx_not_a_key'), 'unknown path with an invalid key: 404, not 401');
not_found(req(POST => '/api/nope/', key => undef, body => '{"name":'), 'unknown path, POST with a broken body');

# a dashboard id segment that is neither an integer nor a known action
for my $seg ('abc', '1abc', '-1', '1.0', 'list') {
    not_found(req(GET => "$base/$seg/"), "dashboard segment '$seg'");
}
not_found(req(GET => "$base/abc/", key => undef), 'dashboard segment abc without a key');
not_found(req(GET => "$base/999999/"), 'dashboard that does not exist');
# out of int4 range: a dashboard that does not exist, not a server error
not_found(req(GET => "$base/2147483648/"), 'dashboard id 2^31');
not_found(req(GET => "$base/99999999999/"), 'dashboard id 99999999999');

# ---------------------------------------------------------------------------
# methods
#
# PostHog answers an unmapped method of a viewset route with DRF's 405 (a
# personal API key would get DRF's "does not support" 403 there, as the
# action is None; this module has no sessions and answers 405, DRF's answer
# to a method the route does not map).

my $state = db_state();

is_error(req(PUT => "$base/", body => { name => 'x' }), 405, 'invalid_request', 'method_not_allowed',
         'Method "PUT" not allowed.', undef, 'PUT on the collection');
is_error(req(PATCH => "$base/", body => { name => 'x' }), 405, 'invalid_request', 'method_not_allowed',
         'Method "PATCH" not allowed.', undef, 'PATCH on the collection');
is_error(req(DELETE => "$base/"), 405, 'invalid_request', 'method_not_allowed',
         'Method "DELETE" not allowed.', undef, 'DELETE on the collection');
is_error(req(POST => "$base/$d1/", body => { name => 'x' }), 405, 'invalid_request', 'method_not_allowed',
         'Method "POST" not allowed.', undef, 'POST on an object');
is_error(req(POST => "$base/$d1", body => { name => 'x' }), 405, 'invalid_request', 'method_not_allowed',
         'Method "POST" not allowed.', undef, 'POST on an object without trailing slash');
is_error(req(PUT => "/api/users/\@me/", body => {}), 405, 'invalid_request', 'method_not_allowed',
         'Method "PUT" not allowed.', undef, 'PUT on /api/users/@me/');

# authentication comes first (DRF runs initial() before the method dispatch)
is_error(req(PUT => "$base/", key => undef, body => { name => 'x' }), 401, 'authentication_error',
         'not_authenticated', 'Authentication credentials were not provided.', undef, 'PUT on the collection without a key');

is db_state(), $state, 'wrong methods left the database unchanged';

# HEAD works like GET, without a body
{
    my $get  = req(GET  => "$base/");
    my $head = req(HEAD => "$base/");
    is $head->{status}, 200, 'HEAD on the list: 200';
    is $head->{raw}, '', 'HEAD on the list: no body';
    is_json_ct($head, 'HEAD on the list');
    is $head->{headers}{'content-length'}, length($get->{raw}), 'HEAD: Content-Length of the GET body';

    $head = req(HEAD => $base);
    is $head->{status}, 200, 'HEAD without trailing slash: 200';
    is $head->{raw}, '', 'HEAD without trailing slash: no body';

    $head = req(HEAD => "$base/$d1/");
    is $head->{status}, 200, 'HEAD on an object: 200';
    is $head->{raw}, '', 'HEAD on an object: no body';

    $head = req(HEAD => "$base/999999/");
    is $head->{status}, 404, 'HEAD on a missing object: 404';
    is $head->{raw}, '', 'HEAD on a missing object: no body';

    $head = req(HEAD => "$base/", key => undef);
    is $head->{status}, 401, 'HEAD without a key: 401';
}

# DELETE on an object: 405 with an empty body, after authentication and the
# project checks (PostHog's ForbidDestroyModel)
{
    $state = db_state();
    $r = req(DELETE => "$base/$d1/");
    is $r->{status}, 405, 'DELETE on an object: 405';
    is $r->{raw}, '', 'DELETE on an object: empty body';
    is $r->{headers}{'content-length'} // 0, 0, 'DELETE on an object: Content-Length 0';

    $r = req(DELETE => "$base/$d1");
    is $r->{status}, 405, 'DELETE without trailing slash: 405';
    is $r->{raw}, '', 'DELETE without trailing slash: empty body';

    # the destroy action never loads the object
    $r = req(DELETE => "$base/999999/");
    is $r->{status}, 405, 'DELETE on a missing dashboard: 405';
    is $r->{raw}, '', 'DELETE on a missing dashboard: empty body';

    is_error(req(DELETE => "$base/$d1/", key => undef), 401, 'authentication_error', 'not_authenticated',
             'Authentication credentials were not provided.', undef, 'DELETE without a key');

    my $org2 = $t->fixture_org;
    my $outsider = $t->fixture_user(org => $org2, level => 15);
    my $ko = $t->fixture_key(user => $outsider);
    is_error(req(DELETE => "$base/$d1/", key => $ko), 403, 'authentication_error', 'permission_denied',
             "You don't have access to the project.", undef, 'DELETE by a non-member');

    project_not_found(req(DELETE => "/api/projects/999999/dashboards/$d1/"), 'DELETE in a missing project');

    is db_state(), $state, 'DELETE changed nothing';
    is $t->sql_value('SELECT deleted FROM posthog_dashboard WHERE id = $1', $d1), 'f', 'the dashboard is not deleted';
}

# ---------------------------------------------------------------------------
# bad request bodies (POST create unless said otherwise); none may write

sub refused {
    my ($name, $res, @expect) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $before = db_state();
    my $got = ref $res eq 'CODE' ? $res->() : $res;
    is_error($got, @expect, $name);
    is db_state(), $before, "$name: database unchanged";
}

my $parse = qr/^JSON parse error - \S/;

$state = db_state();

refused('malformed JSON', sub { req(POST => "$base/", body => '{"name":') },
        400, 'invalid_request', 'parse_error', $parse, undef);
refused('garbage after the value', sub { req(POST => "$base/", body => '{"name":"a"} x') },
        400, 'invalid_request', 'parse_error', $parse, undef);
refused('a bare word', sub { req(POST => "$base/", body => 'hello') },
        400, 'invalid_request', 'parse_error', $parse, undef);
refused('malformed JSON on PATCH', sub { req(PATCH => "$base/$d1/", body => '{"name":"x",}') },
        400, 'invalid_request', 'parse_error', $parse, undef);

refused('JSON array', sub { req(POST => "$base/", body => '[{"name":"a"}]') },
        400, 'validation_error', 'invalid_input', 'Invalid data. Expected a dictionary, but got list.', undef);
refused('JSON string', sub { req(POST => "$base/", body => '"abc"') },
        400, 'validation_error', 'invalid_input', 'Invalid data. Expected a dictionary, but got str.', undef);
refused('JSON array on PATCH', sub { req(PATCH => "$base/$d1/", body => '[]') },
        400, 'validation_error', 'invalid_input', 'Invalid data. Expected a dictionary, but got list.', undef);

# nesting: 64 levels parse (the error is then the field's), 65 do not
{
    my $nest = sub { my $n = shift; ('[' x $n) . (']' x $n) };
    refused('nesting of 64 levels parses', sub {
                req(POST => "$base/", body => '{"pinned":"maybe","breakdown_colors":' . $nest->(63) . '}') },
            400, 'validation_error', 'invalid_input', 'Must be a valid boolean.', 'pinned');
    refused('nesting of 65 levels', sub {
                req(POST => "$base/", body => '{"pinned":true,"breakdown_colors":' . $nest->(64) . '}') },
            400, 'invalid_request', 'parse_error', $parse, undef);
    refused('nesting of 200 levels', sub { req(POST => "$base/", body => $nest->(200)) },
            400, 'invalid_request', 'parse_error', $parse, undef);
    refused('nesting of 65 objects', sub {
                req(POST => "$base/", body => ('{"a":' x 65) . '1' . ('}' x 65)) },
            400, 'invalid_request', 'parse_error', $parse, undef);
}

# invalid UTF-8 (raw bytes, not Perl characters)
for my $case ([ 'a lone 0xFF byte',           "\xff" ],
              [ 'an overlong slash',           "\xc0\xaf" ],
              [ 'a UTF-8 encoded surrogate',   "\xed\xa0\x80" ],
              [ 'a truncated sequence',        "\xe2\x82" ],
              [ 'a code point above U+10FFFF', "\xf4\x90\x80\x80" ])
{
    my ($name, $bytes) = @$case;
    my $body = qq({"name":"bad $bytes here"});
    utf8::downgrade($body);
    refused("invalid UTF-8: $name", sub { req(POST => "$base/", body => $body) },
            400, 'invalid_request', 'parse_error', $parse, undef);
}

# client_max_body_size 1k: nginx refuses before the module reads the body;
# the answer must still be JSON in the API's shape (not nginx's HTML page)
for my $how ('Content-Length', 'chunked') {
    my $before = db_state();
    my $body = '{"name":"' . ('x' x 3000) . '"}';
    my $req = "POST $base/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . "Authorization: Bearer $w->{key}\r\nContent-Type: application/json\r\n";
    $req .= $how eq 'chunked'
        ? "Transfer-Encoding: chunked\r\n\r\n" . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body)
        : "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $res = Dash::parse_response($t->http_raw($req));
    is $res->{status}, 413, "body over client_max_body_size ($how): 413";
    is_json_ct($res, "413 ($how)");
    my $j = $res->{json};
    ok ref $j eq 'HASH', "413 ($how): the body is a JSON object" or diag $res->{raw};
    is_deeply [ sort keys %{ ref $j eq 'HASH' ? $j : {} } ], [qw(attr code detail type)],
        "413 ($how): {type, code, detail, attr}";
    is $j->{type}, 'invalid_request', "413 ($how): type invalid_request" if ref $j eq 'HASH';
    is $j->{attr}, undef, "413 ($how): attr null" if ref $j eq 'HASH';
    is db_state(), $before, "413 ($how): database unchanged";
}

# media types
refused('text/plain body', sub {
            req(POST => "$base/", body => '{"name":"x"}', headers => { 'Content-Type' => 'text/plain' }) },
        415, 'invalid_request', 'unsupported_media_type', 'Unsupported media type "text/plain" in request.', undef);
refused('text/plain body on PATCH', sub {
            req(PATCH => "$base/$d1/", body => 'name=x', headers => { 'Content-Type' => 'text/plain; charset=utf-8' }) },
        415, 'invalid_request', 'unsupported_media_type',
        'Unsupported media type "text/plain; charset=utf-8" in request.', undef);

# field types: the first error, with its attr
refused('name as a list', sub { req(POST => "$base/", body => { name => [1] }) },
        400, 'validation_error', 'invalid_input', 'Not a valid string.', 'name');
refused('name as an object', sub { req(POST => "$base/", body => { name => { a => 1 } }) },
        400, 'validation_error', 'invalid_input', 'Not a valid string.', 'name');
refused('name of 401 characters', sub { req(POST => "$base/", body => { name => 'n' x 401 }) },
        400, 'validation_error', 'max_length', 'Ensure this field has no more than 400 characters.', 'name');
refused('name of 401 two-byte characters', sub { req(POST => "$base/", body => { name => 'é' x 401 }) },
        400, 'validation_error', 'max_length', 'Ensure this field has no more than 400 characters.', 'name');
refused('pinned "maybe"', sub { req(POST => "$base/", body => { name => 'x', pinned => 'maybe' }) },
        400, 'validation_error', 'invalid_input', 'Must be a valid boolean.', 'pinned');
refused('pinned 2', sub { req(POST => "$base/", body => { pinned => 2 }) },
        400, 'validation_error', 'invalid_input', 'Must be a valid boolean.', 'pinned');
refused('restriction_level 5', sub { req(POST => "$base/", body => { name => 'x', restriction_level => 5 }) },
        400, 'validation_error', 'invalid_choice', '"5" is not a valid choice.', 'restriction_level');
refused('tiles[0].color as an object (PATCH)', sub {
            req(PATCH => "$base/$d1/", body => { name => 'changed', tiles => [ { id => $tile, color => { a => 1 } } ] }) },
        400, 'validation_error', 'invalid_input', 'Not a valid string.', 'tiles__0__color');
refused('name as a list (PATCH)', sub { req(PATCH => "$base/$d1/", body => { name => [ 'x' ] }) },
        400, 'validation_error', 'invalid_input', 'Not a valid string.', 'name');

is db_state(), $state, 'no refused body wrote anything';
is $t->row(posthog_dashboard => $d1)->{name}, 'Alpha', 'the dashboard kept its name';

# ---------------------------------------------------------------------------
# accepted: DRF-lenient values, media type parameters, trailing slash optional

{
    my $count = $t->sql_value('SELECT count(*) FROM posthog_dashboard');
    $r = req(POST => "$base/", body => { name => 'Lenient', pinned => 'true', data_color_theme_id => '5',
                                         restriction_level => '21' });
    is $r->{status}, 201, 'pinned "true", data_color_theme_id "5": 201' or diag $r->{raw};
    is_json_ct($r, 'create');
    ok $r->{json}{pinned} && JSON::PP::is_bool($r->{json}{pinned}), 'pinned "true" answered as true';
    like $r->{raw}, qr/"data_color_theme_id"\s*:\s*5\s*[,}]/, 'data_color_theme_id answered as the number 5';
    my $row = $t->row(posthog_dashboard => $r->{json}{id} // 0) // {};
    is $row->{name}, 'Lenient', 'row: name';
    ok $row->{pinned} && JSON::PP::is_bool($row->{pinned}), 'row: pinned true';
    is $row->{data_color_theme_id}, 5, 'row: data_color_theme_id 5';
    is $row->{restriction_level}, 21, 'row: restriction_level 21';
    is $row->{team_id}, $P, 'row: team';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboard'), $count + 1, 'one row added';

    $r = req(POST => $base, body => { name => 'No slash' },
             headers => { 'Content-Type' => 'application/json; charset=utf-8' });
    is $r->{status}, 201, 'POST without trailing slash, application/json; charset=utf-8: 201' or diag $r->{raw};
    is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $r->{json}{id} // 0), 'No slash',
        'stored';

    my $long = 'é' x 400;
    $r = req(POST => "$base/", body => { name => $long });
    is $r->{status}, 201, 'name of 400 two-byte characters: 201' or diag $r->{raw};
    is $r->{json}{name}, $long, 'answered intact';
    is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $r->{json}{id} // 0), $long,
        'stored intact';

    $r = req(POST => "/api/environments/$P/dashboards/", body => { name => 'Umsatz € ✓' });
    is $r->{status}, 201, 'create through the environments alias: 201';
    is $t->sql_value('SELECT name || team_id FROM posthog_dashboard WHERE id = $1', $r->{json}{id} // 0),
        "Umsatz € ✓$P", 'stored against the project, UTF-8 intact';

    # an empty body on create is an empty object
    $r = req(POST => "$base/", body => '');
    is $r->{status}, 201, 'create with no body: 201' or diag $r->{raw};
}

done_testing;
