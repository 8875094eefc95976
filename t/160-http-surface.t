#!/usr/bin/perl
# The HTTP surface: compact JSON as PostHog's renderer writes it, the Host
# header in next/previous, OPTIONS as DRF answers it.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(is_error);
use Dash::Raw;
use JSON::PP;

my $t = Dash->new;
my $w = $t->world;
my $P = $w->{project};

# the bytes outside JSON strings, the strings themselves
sub outside {
    my ($raw) = @_;
    my ($out, @str) = ('');
    while ($raw =~ /\G(?:("(?:[^"\\]|\\.)*")|([^"]+))/gcs) {
        if (defined $1) { push @str, $1; $out .= '""' } else { $out .= $2 }
    }
    return ($out, \@str);
}

sub is_compact {
    my ($r, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($out) = outside($r->{raw});
    unlike $out, qr/\s/, "$name: no white space outside strings"
        or diag substr($r->{raw}, 0, 300);
}

# -- compact JSON ------------------------------------------------------------

my $name = 'a : b, "c" : d';
my $desc = "x , y\n : z\t{ }";
my $filters = { 'k v' => 'a : b , c', n => [1, 2, { 'x y' => ' : ' }] };

my $r = $t->api(POST => "/api/projects/$P/dashboards/",
                body => { name => $name, description => $desc, filters => $filters });
is $r->{status}, 201, 'create: 201' or diag $r->{raw};
is_compact $r, 'create';
my $id = $r->{json}{id};
is $r->{json}{name}, $name, 'create: a name with spaces and colons intact';
is $r->{json}{description}, $desc, 'create: a description with white space intact';
is_deeply $r->{json}{filters}, $filters, 'create: filters intact';
like $r->{raw}, qr/"name":"a : b, \\"c\\" : d"/, 'create: the string bytes as written';

$t->fixture_text_tile(dashboard => $id, body => "line 1\n : line 2",
                      layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });

$r = $t->api(GET => "/api/projects/$P/dashboards/$id/");
is $r->{status}, 200, 'retrieve: 200';
is_compact $r, 'retrieve';
is $r->{json}{tiles}[0]{text}{body}, "line 1\n : line 2", 'retrieve: a text body intact';
is_deeply $r->{json}{filters}, $filters, 'retrieve: filters intact';
is $r->{headers}{'content-length'}, length $r->{raw}, 'retrieve: Content-Length of the compact body';

$t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'other one', tags => ['t a']);

$r = $t->api(GET => "/api/projects/$P/dashboards/?limit=1");
is $r->{status}, 200, 'list: 200';
is_compact $r, 'list';
is $r->{json}{count}, 2, 'list: count';
like $r->{raw}, qr/^\{"count":2,"next":"http:/, 'list: compact from the first byte';

$r = $t->api(PATCH => "/api/projects/$P/dashboards/$id/", body => { name => 'renamed : x' });
is $r->{status}, 200, 'update: 200';
is_compact $r, 'update';
is $r->{json}{name}, 'renamed : x', 'update: name intact';

# The module compacts 64 bytes at a time (src/ngx_http_dashboards_compact.c):
# strings that start, end, hold an escape or white space at every offset of
# a block, strings longer than a block (a block wholly inside a string keeps
# its spaces), and jsonb's "key": value texts (the layouts) between them.
subtest 'compact JSON at every offset of a block' => sub {
    my $d = $t->api(POST => "/api/projects/$P/dashboards/", body => { name => 'blocks' });
    is $d->{status}, 201, 'create: 201' or return;
    my $id = $d->{json}{id};
    my (%body, %layouts);
    for my $k (0 .. 63) {
        my $b = $k % 2
            ? ('x' x $k) . (' spaced  words ' x ($k % 9 + 1))
            : ('x' x $k) . qq{ "q" \\ \\"e\\" \n\t end "odd one out} . ('y' x (64 - $k)) . (' z ' x 30);
        my $l = { sm => { x => 0, y => $k, w => 6, h => 5 },
                  ('k' x ($k % 5 + 1)) => [1, { 'a b' => ' : ' }] };
        my $tile = $t->fixture_text_tile(dashboard => $id, body => $b, layouts => $l);
        $body{$tile} = $b;
        $layouts{$tile} = $l;
    }
    my $r = $t->api(GET => "/api/projects/$P/dashboards/$id/");
    is $r->{status}, 200, 'retrieve: 200' or return;
    is_compact $r, 'retrieve';
    is scalar @{ $r->{json}{tiles} }, 64, '64 tiles';
    my ($bad, $canon) = (0, JSON::PP->new->canonical);
    for my $tile (@{ $r->{json}{tiles} }) {
        $bad++ unless defined $body{$tile->{id}} && $tile->{text}{body} eq $body{$tile->{id}};
        $bad++ unless $canon->encode($tile->{layouts}) eq $canon->encode($layouts{$tile->{id}} // {});
    }
    is $bad, 0, 'every body and layout as written';
    is $r->{headers}{'content-length'}, length $r->{raw}, 'Content-Length of the compact body';
};

# -- the Host header ---------------------------------------------------------

for my $host ('x","results":[],"z":"', 'ex_ample.com', 'a:b:c', 'host:port', '[::1', 'a.b:8o') {
    $r = Dash::Raw::request($t, GET => "/api/projects/$P/dashboards/?limit=1", headers => { Host => $host });
    is_error($r, 400, 'invalid_request', 'invalid_host',
             'Invalid HTTP_HOST header. The domain name provided is not valid according to RFC 1034/1035.',
             undef, "Host '$host'");
}

# nginx refuses some hosts itself (a slash, "..", white space, an empty
# name): JSON too (filter.c)
for my $host ('a/b', 'a..b', 'bad host', ':80') {
    $r = Dash::Raw::request($t, GET => "/api/projects/$P/dashboards/?limit=1", headers => { Host => $host });
    is_error($r, 400, 'invalid_request', 'parse_error', 'Malformed request.', undef, "Host '$host' (nginx)");
}

for my $host ('Example.COM', 'example.com:8080', 'example.com.', '[::1]:80', '127.0.0.1', 'a-b.c') {
    $r = Dash::Raw::request($t, GET => "/api/projects/$P/dashboards/?limit=1", headers => { Host => $host });
    is $r->{status}, 200, "Host '$host': 200";
    is $r->{json}{next}, "http://$host/api/projects/$P/dashboards/?limit=1&offset=1",
        "Host '$host': next as given";
}

# an unknown path is refused for its host first, as Django's CommonMiddleware does
$r = Dash::Raw::request($t, GET => "/api/nothing/", headers => { Host => 'a_b' });
is $r->{status}, 400, 'unknown path, bad host: 400';

# no Host at all (HTTP/1.0): nginx's server name
my $raw = $t->http_raw("GET /api/projects/$P/dashboards/?limit=1 HTTP/1.0\r\n"
                       . "Authorization: Bearer $w->{key}\r\n\r\n");
$r = Dash::parse_response($raw);
is $r->{status}, 200, 'HTTP/1.0 without Host: 200';
is $r->{json}{next}, "http://localhost/api/projects/$P/dashboards/?limit=1&offset=1",
    'HTTP/1.0 without Host: next with the server name (Django: SERVER_NAME)';

# -- OPTIONS -----------------------------------------------------------------

my $PARSES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'];
my $RENDERS = ['application/json', 'text/event-stream'];

sub options_is {
    my ($path, $name, $allow, $renders, $label) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $r = $t->api(OPTIONS => $path);
    is $r->{status}, 200, "$label: 200" or diag $r->{raw};
    like $r->{content_type}, qr{^application/json}, "$label: JSON";
    is $r->{raw}, qq({"name":"$name","description":"","renders":) . encode_json($renders)
                  . qq(,"parses":) . encode_json($PARSES) . '}', "$label: SimpleMetadata's body";
    is $r->{headers}{allow}, $allow, "$label: Allow";
}

my $base = "/api/projects/$P/dashboards";
my $state = $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'rows', posthog_text => 'rows');

options_is("$base/", 'Dashboards List', 'GET, POST, HEAD, OPTIONS', $RENDERS, 'OPTIONS on the collection');
options_is($base, 'Dashboards List', 'GET, POST, HEAD, OPTIONS', $RENDERS, 'OPTIONS without trailing slash');
options_is("$base/$id/", 'Dashboards Instance', 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS', $RENDERS,
           'OPTIONS on an object');
# the metadata does not load the object
options_is("$base/999999/", 'Dashboards Instance', 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS', $RENDERS,
           'OPTIONS on a missing object');
options_is("$base/$id/create_text_tile/", 'Create text tile', 'POST, OPTIONS', $RENDERS,
           'OPTIONS on an action');
options_is("$base/$id/move_tile/", 'Move tile', 'POST, PATCH, OPTIONS', $RENDERS, 'OPTIONS on move_tile');
options_is("$base/bulk_update_tags/", 'Bulk update tags', 'POST, OPTIONS', $RENDERS,
           'OPTIONS on a collection action');
options_is("/api/users/\@me/", 'User Instance', 'GET, HEAD, OPTIONS', ['application/json'],
           'OPTIONS on /api/users/@me/');
options_is("/api/projects/$P/", 'Project Instance', 'GET, HEAD, OPTIONS', ['application/json'],
           'OPTIONS on the project');

# a body is not parsed
$r = $t->api(OPTIONS => "$base/", body => '{bad', headers => { 'Content-Type' => 'application/json' });
is $r->{status}, 200, 'OPTIONS with a malformed body: 200';

# DRF's options() runs initial(): authentication, then the permissions
is_error($t->api(OPTIONS => "$base/", key => undef), 401, 'authentication_error', 'not_authenticated',
         'Authentication credentials were not provided.', undef, 'OPTIONS without a key');

my $uk = $t->fixture_key(user => $w->{user}, scopes => ['user:read']);
is_error($t->api(OPTIONS => "$base/", key => $uk), 403, 'authentication_error', 'permission_denied',
         "API key missing required scope 'dashboard:read'", undef, 'OPTIONS without dashboard:read');
is_error($t->api(OPTIONS => "$base/bulk_update_tags/", key => $uk), 403, 'authentication_error',
         'permission_denied', "API key missing required scope 'dashboard:read'", undef,
         'OPTIONS on an action without a declared scope: dashboard:read');

my $rk = $t->fixture_key(user => $w->{user}, scopes => ['dashboard:read']);
$r = $t->api(OPTIONS => "$base/", key => $rk);
is $r->{status}, 200, 'OPTIONS with dashboard:read: 200';
is_error($t->api(OPTIONS => "$base/$id/create_text_tile/", key => $rk), 403, 'authentication_error',
         'permission_denied', "API key missing required scope 'dashboard:write'", undef,
         'OPTIONS on an action that declares dashboard:write');

my $org2 = $t->fixture_org;
my $P2 = $t->fixture_project(org => $org2);
$r = $t->api(OPTIONS => "/api/projects/$P2/dashboards/");
my $g = $t->api(GET => "/api/projects/$P2/dashboards/");
is $r->{status}, $g->{status}, "OPTIONS on another organization's project: as GET ($g->{status})";
is_deeply $r->{json}, $g->{json}, "OPTIONS on another organization's project: GET's body";
isnt $r->{status}, 200, "OPTIONS on another organization's project: refused";

# an unknown path stays a 404
is_error($t->api(OPTIONS => "/api/projects/$P/nothing/"), 404, 'invalid_request', 'not_found', 'Not found.',
         undef, 'OPTIONS on an unknown path');

# a CORS preflight: answered before authentication, empty (CorsMiddleware)
$r = $t->api(OPTIONS => "$base/$id/", key => undef,
             headers => { Origin => 'https://app.example', 'Access-Control-Request-Method' => 'PATCH',
                          'Access-Control-Request-Headers' => 'authorization,content-type' });
is $r->{status}, 200, 'preflight: 200';
is $r->{raw}, '', 'preflight: no body';
is $r->{headers}{'content-length'}, 0, 'preflight: Content-Length 0';

is $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'rows', posthog_text => 'rows'), $state,
    'OPTIONS changed nothing';

done_testing;
