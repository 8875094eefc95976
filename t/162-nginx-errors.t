#!/usr/bin/perl
# Errors nginx answers itself, before any location is chosen, in a server
# with an API location: JSON in PostHog's shape instead of nginx's HTML page
# (src/ngx_http_dashboards_filter.c). Other locations of that server and
# other servers keep nginx's pages.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(is_error);

my $t = Dash->new(
    server_extra => "location /static/ {\n    return 404;\n}\n",
    http_extra   => "server {\n    listen 127.0.0.1:%%PORT_plain%%;\n"
                  . "    location / {\n        return 404;\n    }\n}\n",
);
my $w = $t->world;
my $P = $w->{project};
my $key = $w->{key};
my $path = "/api/projects/$P/dashboards/";

sub raw {
    my ($req, %o) = @_;
    return Dash::parse_response($t->http_raw($req, %o));
}

my $malformed = ['invalid_request', 'parse_error', 'Malformed request.', undef];

my $r = raw("GET $path HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer $key\r\n"
            . "Authorization: Bearer $key\r\nConnection: close\r\n\r\n");
is_error($r, 400, @$malformed, 'duplicate Authorization');

$r = raw("GET $path HTTP/1.1\r\nHost: localhost\r\nX-Big: " . ('a' x 9000)
         . "\r\nConnection: close\r\n\r\n");
is_error($r, 400, @$malformed, 'a header over large_client_header_buffers');

$r = raw("GET $path?x=" . ('a' x 9000) . " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is_error($r, 414, 'invalid_request', 'uri_too_long', 'Request URI is too long.', undef,
         'a request line over large_client_header_buffers');

$r = raw("GET $path HTTP/1.1\r\nAuthorization: Bearer $key\r\nConnection: close\r\n\r\n");
is_error($r, 400, @$malformed, 'HTTP/1.1 without Host');

$r = raw("GET /api/projects/$P/dash%00boards/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is_error($r, 400, @$malformed, '%00 in the path');

$r = raw("GET /api/../../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is_error($r, 400, @$malformed, 'a path above the root');

$r = raw("FOO BAR BAZ QUX\r\n\r\n");
is_error($r, 400, @$malformed, 'a malformed request line');

$r = raw("TRACE $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is_error($r, 405, 'invalid_request', 'method_not_allowed', 'Method "TRACE" not allowed.', undef,
         'TRACE');
is $r->{headers}{'content-length'}, length $r->{raw}, 'TRACE: Content-Length of the JSON body';

# HEAD: the headers only
my $raw = $t->http_raw("HEAD $path HTTP/1.1\r\nConnection: close\r\n\r\n");
like $raw, qr{^HTTP/1\.1 400 .*\r\nContent-Type: application/json\r\n}s, 'HEAD without Host: JSON headers';
like $raw, qr/\r\n\r\n\z/, 'HEAD without Host: no body';

# a path no location of the server matches: the server's own configuration
$r = raw("GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is_error($r, 404, 'invalid_request', 'not_found', 'Not found.', undef, 'a path no location matches');

# not the API: nginx's pages stay as they are
$r = raw("GET /static/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is $r->{status}, 404, 'another location of the server: 404';
like $r->{content_type}, qr{^text/html}, 'another location of the server: HTML';

$r = raw("TRACE / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
         port => $t->extra_port('plain'));
is $r->{status}, 405, 'a server without an API location: 405';
like $r->{content_type}, qr{^text/html}, 'a server without an API location: HTML';

$r = raw("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n", port => $t->extra_port('plain'));
is $r->{status}, 400, 'a server without an API location, no Host: 400';
like $r->{content_type}, qr{^text/html}, 'a server without an API location, no Host: HTML';

done_testing;
